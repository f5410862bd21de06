// Go's net/http Transport through a forward proxy (captures/scripts/make-proxy-edge-fixture.sh):
// `Proxy: http.ProxyURL` with credentials in the proxy URL (Proxy-Authorization on every request
// and on CONNECT), plain HTTP and HTTPS calls on kept connections, each logged as the caller saw it.
//
//	go run proxy_client.go LOG PROXY_URL
package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	log, err := os.OpenFile(os.Args[1], os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		panic(err)
	}
	proxy, err := url.Parse(os.Args[2])
	if err != nil {
		panic(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy:           http.ProxyURL(proxy),
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	calls := []struct{ method, url, body string }{
		{"GET", "http://partner.example:8080/api/x?y=2", ""},
		{"POST", "http://partner.example:8080/api/order", `{"method_code":"MCGO"}`},
		{"GET", "http://partner.example:8080/api/quote", ""},
		{"GET", "https://partner.example/api/x", ""},
		{"GET", "https://partner.example/api/quote", ""},
	}
	for _, c := range calls {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		request, err := http.NewRequest(c.method, c.url, body)
		if err != nil {
			panic(err)
		}
		request.Header.Set("User-Agent", "svc-go/1.0")
		request.Header.Set("T-Code", "tgo")
		if body != nil {
			request.Header.Set("Content-Type", "application/json")
		}
		response, err := client.Do(request)
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, response.Body)
		response.Body.Close()
		line, _ := json.Marshal(map[string]any{"method": c.method, "url": c.url, "status": response.StatusCode, "proxy": proxy.Host})
		fmt.Fprintln(log, string(line))
	}
}
