// Go's net/http client for the stack fixtures: one keep-alive connection,
// Expect: 100-continue on a large upload (sent only when the header is set and
// ExpectContinueTimeout > 0), transparent gzip, 103 then 200, trailers.
// One JSON line per exchange to LOG.
//
//	go run stack_client.go BASE LOG [early]
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	base, logPath := os.Args[1], os.Args[2]
	logf, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	tr := &http.Transport{ExpectContinueTimeout: 300 * time.Millisecond, MaxConnsPerHost: 1}
	c := &http.Client{Transport: tr}
	do := func(method, path string, body []byte, hdr map[string]string) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("User-Agent", "mall-app/5.1.0 (go)")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, method, path, err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		line, _ := json.Marshal(map[string]any{"method": method, "url": base + path, "status": resp.StatusCode})
		logf.Write(append(line, '\n'))
	}
	for i := 0; i < 3; i++ {
		do("GET", fmt.Sprintf("/api/order?i=%d", i), nil, nil)
	}
	big := []byte(`{"method_code":"UP01","blob":"` + strings.Repeat("x", 20000) + `"}`)
	do("POST", "/api/echo?expect=1", big, map[string]string{"Expect": "100-continue", "Content-Type": "application/json"})
	if len(os.Args) > 3 && os.Args[3] == "early" {
		// the handler never reads this body: Go's server answers without 100 Continue and closes
		do("POST", "/api/order?expect=ignored", big, map[string]string{"Expect": "100-continue", "Content-Type": "application/json"})
		do("GET", "/api/order?after=1", nil, nil)
		return
	}
	if strings.HasSuffix(base, ":18094") { // Go's own server: the 100 comes after the client gave up waiting
		do("POST", "/api/slow-echo", big, map[string]string{"Expect": "100-continue", "Content-Type": "application/json"})
	}
	do("GET", "/api/gzip", nil, nil)
	do("GET", "/api/hints", nil, nil)
	do("GET", "/api/trailer", nil, nil)
	do("HEAD", "/api/large?bytes=40000", nil, nil)
	do("GET", "/api/etag", nil, map[string]string{"If-None-Match": `"v1"`})
	do("GET", "/api/stream?n=3", nil, nil)
	do("GET", "/api/order?last=1", nil, nil)
}
