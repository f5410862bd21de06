// Go's net/http client as a service's outgoing calls, for make-client-fixtures.sh; logs one JSON
// line per exchange it completed ({"method","url","status"}) to LOG.
//
//	go run client_go.go LOG BASE...
//	go run client_go.go burst LOG BASE
//
// One http.Client (its Transport's pool) for all calls: a connection opened for the first call and
// reused; two calls at once (a second pooled connection); `Accept-Encoding: gzip` added and the
// body inflated by the Transport itself; HEAD; `Expect: 100-continue` (ExpectContinueTimeout 1 s);
// a request body of unknown length (an io.Pipe: sent chunked); a response with a trailer; then an
// idle pooled connection reused after IDLE seconds (the first BASE's; env CHX_IDLE, default 6).
//
// burst: a default Transport (2 idle connections kept per host), 15 rounds of 8 calls at once,
// 250 ms apart. A call that finds no idle connection dials one, but takes whichever is ready
// first: one freed by another call meanwhile, or its own. A dial it did not use goes to the pool
// (or is closed when the pool is full), and a later round's call is its first request, sent a
// round or more after the handshake.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

const echo = `{"method_code":"PAY01","orderId":"ORD000000012345","amount":12800}`

var (
	client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		ExpectContinueTimeout: time.Second, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute}}
	logMu   sync.Mutex
	logFile *os.File
)

func call(method, url string, body io.Reader, headers ...string) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		panic(err)
	}
	req.Header.Set("User-Agent", "mall-app/5.1.0 (go)")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil { // not logged: no response
		fmt.Fprintln(os.Stderr, "go:", method, url, err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	line, _ := json.Marshal(map[string]any{"method": method, "url": url, "status": resp.StatusCode})
	logMu.Lock()
	logFile.Write(append(line, '\n'))
	logMu.Unlock()
}

func burst(base string) {
	client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	for round := 0; round < 15; round++ {
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				call("GET", fmt.Sprintf("%s/api/order?burst=%d-%d", base, round, i), nil)
			}(i)
		}
		wg.Wait()
		time.Sleep(250 * time.Millisecond)
	}
}

func main() {
	var err error
	if os.Args[1] == "burst" {
		if logFile, err = os.OpenFile(os.Args[2], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err != nil {
			panic(err)
		}
		burst(os.Args[3])
		return
	}
	if logFile, err = os.OpenFile(os.Args[1], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err != nil {
		panic(err)
	}
	idle := 6
	if s := os.Getenv("CHX_IDLE"); s != "" {
		idle, _ = strconv.Atoi(s)
	}
	for _, base := range os.Args[2:] {
		call("GET", base+"/api/order?go=1", nil)
		call("GET", base+"/api/order?go=2", nil, "T-Code", "b123456789")
		var wg sync.WaitGroup
		for i := 0; i < 2; i++ {
			wg.Add(1)
			go func(i int) { defer wg.Done(); call("GET", base+"/api/stream?go=parallel"+strconv.Itoa(i), nil) }(i)
		}
		wg.Wait()
		call("GET", base+"/api/gzip?go=1", nil)
		call("HEAD", base+"/api/order?go=head", nil)
		call("POST", base+"/api/echo?go=expect", strings.NewReader(echo), "Content-Type", "application/json", "Expect", "100-continue")
		r, w := io.Pipe()
		go func() { w.Write([]byte(echo[:20])); time.Sleep(20 * time.Millisecond); w.Write([]byte(echo[20:])); w.Close() }()
		call("POST", base+"/api/echo?go=chunked", r, "Content-Type", "application/json")
		call("GET", base+"/api/trailer?go=1", nil)
		call("GET", base+"/api/fail?go=1", nil, "Method-Code", "FAIL01")
		call("GET", base+"/api/errorcode?go=1", nil)
	}
	time.Sleep(time.Duration(idle) * time.Second)
	call("GET", os.Args[2]+"/api/order?go=idle", nil)
}
