#!/usr/bin/env python3
"""The service behind the reverse proxies (captures/scripts/make-reverse-proxy-fixture.sh): HTTP/1.1
keep-alive on PORT (one thread per connection), JSON bodies with the business code (`code`) the
metrics read. Every answer is a fixed function of the request.

    backend.py PORT

    /api/order      200 {"code":"0000",...}
    /api/fail       500 {"code":"E5001",...}
    /api/big        200, 6 KB of JSON (mod_deflate, Caddy's encode gzip: gzip'd and chunked)
    /api/slow?ms=N  200 after N ms (HAProxy's `timeout server` answers 504 first)
    /api/echo       201 {"code":"0000","bytes":N} for a POST (http.server answers Expect: 100-continue)
"""
import http.server
import json
import sys
import time
from urllib.parse import parse_qs, urlsplit


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rproxy-backend/1.0"

    def log_message(self, *args):
        pass

    def answer(self, status, document):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if self.command in ("POST", "PUT"):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n) if n else b""
        if url.path == "/api/order":
            self.answer(200, {"code": "0000", "order": "ORD0001", "via": self.headers.get("X-Forwarded-For")})
        elif url.path == "/api/fail":
            self.answer(500, {"code": "E5001", "message": "backend failure"})
        elif url.path == "/api/big":
            self.answer(200, {"code": "0000", "items": [{"id": i, "name": "item %04d" % i, "price": i * 3} for i in range(150)]})
        elif url.path == "/api/slow":
            time.sleep(int(query.get("ms", ["100"])[0]) / 1000)
            self.answer(200, {"code": "0000", "slow": True})
        elif url.path == "/api/echo" and self.command in ("POST", "PUT"):
            self.answer(201, {"code": "0000", "bytes": len(body)})
        else:
            self.answer(404, {"code": "E4040", "message": "not found"})

    do_GET = do_HEAD = do_POST = do_PUT = route


if __name__ == "__main__":
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
