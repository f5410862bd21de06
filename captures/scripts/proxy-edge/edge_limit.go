// A body size limit as Go services set one (http.MaxBytesReader), for
// captures/scripts/make-server-edge-fixture.sh:
//
//	POST /api/upload  reads the body through MaxBytesReader(4 KiB): 201 JSON, or 413 JSON once
//	                  the body passes the limit (Go then closes the connection after the answer)
//	GET  /api/order   200 JSON
//
// Go's server writes `100 Continue` when the handler first reads the body of a request that asked
// for it, so a client waiting for it sends the body and gets the 413 while still sending.
//
//	go run edge_limit.go PORT
package main

import (
	"io"
	"net/http"
	"os"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/upload", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		w.Header().Set("Content-Type", "application/json")
		if _, err := io.ReadAll(r.Body); err != nil {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			io.WriteString(w, `{"code":"E4130","msg":"body too large"}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"code":"0000"}`)
	})
	mux.HandleFunc("/api/order", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"code":"0000"}`)
	})
	http.ListenAndServe("127.0.0.1:"+os.Args[1], mux)
}
