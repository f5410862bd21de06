// The stack routes (see stack_wsgi.py) on Go's net/http, plus
//
//	GET /api/hints    103 Early Hints, then 200 JSON
//	GET /api/trailer  chunked body with a declared trailer (Trailer header)
//
// and for the clients' fixtures (make-client-fixtures.sh):
//
//	GET /api/errorcode  200 JSON with `errorCode: 0` and no `code` (a partner's code)
//
// Streaming via http.Flusher (chunked); IdleTimeout 1 s, or IDLE_SECONDS.
//
//	go run stack_server.go PORT [IDLE_SECONDS]
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

func payload(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %06d: the quick brown fox jumps over the lazy dog\n", i)
	}
	return b.Bytes()[:n]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/order", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"code": "0000", "msg": "ok", "orderId": "ORD000000012345"})
	})
	mux.HandleFunc("/api/fail", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 500, map[string]string{"code": "E5001", "msg": "upstream failed"})
	})
	mux.HandleFunc("/api/stream", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil {
			n = 4
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		for i := 0; i < n; i++ {
			fmt.Fprintf(w, "{\"part\": %d}\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
	})
	mux.HandleFunc("/api/large", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("bytes"))
		if err != nil {
			n = 65536
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(payload(n))
	})
	mux.HandleFunc("/api/nocontent", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	mux.HandleFunc("/api/etag", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(304)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"code":"0000","v":1}`))
	})
	mux.HandleFunc("/api/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	})
	mux.HandleFunc("/api/slow-echo", func(w http.ResponseWriter, r *http.Request) {
		// reads the body only after the client's ExpectContinueTimeout: the body comes unasked,
		// and Go still writes its 100 Continue when the handler starts reading, after the body
		time.Sleep(800 * time.Millisecond)
		b, _ := io.ReadAll(r.Body)
		writeJSON(w, 200, map[string]any{"code": "0000", "bytes": len(b)})
	})
	mux.HandleFunc("/api/gzip", func(w http.ResponseWriter, r *http.Request) {
		items := []map[string]any{}
		for i := 0; i < 200; i++ {
			items = append(items, map[string]any{"id": i, "name": fmt.Sprintf("item %d", i)})
		}
		b, _ := json.Marshal(map[string]any{"code": "0000", "items": items})
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(b)
		zw.Close()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(z.Bytes())
	})
	mux.HandleFunc("/api/hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		time.Sleep(20 * time.Millisecond)
		writeJSON(w, 200, map[string]string{"code": "0000", "msg": "hinted"})
	})
	mux.HandleFunc("/api/trailer", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"code":"0000",`))
		w.(http.Flusher).Flush()
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte(`"msg":"with trailer"}`))
		w.Header().Set("X-Checksum", "abc123")
	})
	mux.HandleFunc("/api/errorcode", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"errorCode": 0, "msg": "accepted"})
	})
	idle := time.Second
	if len(os.Args) > 2 {
		n, _ := strconv.Atoi(os.Args[2])
		idle = time.Duration(n) * time.Second
	}
	srv := &http.Server{Addr: "127.0.0.1:" + os.Args[1], Handler: mux, IdleTimeout: idle}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
