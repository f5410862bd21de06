#!/usr/bin/env python3
"""The partner a service calls through a forward proxy (captures/scripts/make-proxy-edge-fixture.sh):
HTTP/1.1 with keep-alive on PORT, and the same routes over TLS on TLS_PORT when a certificate is
given. JSON bodies carry the business code the metrics read (`code`).

    partner_server.py PORT [TLS_PORT CERT KEY]
"""
import http.server
import json
import ssl
import sys
import threading

ROUTES = {
    "/api/x": (200, {"code": "0000", "data": "x"}),
    "/api/zero": (200, {"code": 0}),
    "/api/fail": (500, {"code": "E5001"}),
    "/api/quote": (200, {"errorCode": 0, "quote": 42}),
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, document):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        # Nothing a proxy could serve from its cache: every call reaches the partner.
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in ROUTES:
            self.answer(*ROUTES[path])
        else:
            self.answer(404, {"code": "E404"})

    do_HEAD = do_GET

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        try:
            sent = json.loads(body)
        except ValueError:
            sent = None
        self.answer(201, {"code": 0, "received": sent})


def serve(server):
    server.serve_forever()


def main():
    port = int(sys.argv[1])
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)]
    if len(sys.argv) > 2:
        tls = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        tls.socket = context.wrap_socket(tls.socket, server_side=True)
        servers.append(tls)
    threads = [threading.Thread(target=serve, args=(s,), daemon=True) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
