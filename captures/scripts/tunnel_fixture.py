"""Roles of make-tunnel-fixtures.sh: a pod's HTTP service and the clients on the other node.

    tunnel_fixture.py server PORT
        HTTP/1.1 with keep-alive on every IPv4 and IPv6 address: GET /hello answers a small JSON
        body, GET /big?n=N a JSON body of N bytes (several segments).
    tunnel_fixture.py client URL LOG N
        N requests on one `requests` keep-alive session, alternately /hello and /big?n=20000,
        each logged as a JSON line in LOG.
"""
import http.server
import json
import socket
import socketserver
import sys

import requests


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path.startswith("/big"):
            n = int(self.path.split("n=", 1)[1])
            filler = "x" * max(0, n - 24)
            body = json.dumps({"code": 0, "fill": filler}).encode()
        else:
            body = json.dumps({"code": 0, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class DualStackServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def client(url, log_path, count):
    session = requests.Session()
    with open(log_path, "a") as log:
        for i in range(count):
            path = "/big?n=20000" if i % 2 else "/hello"
            response = session.get(url + path, headers={"User-Agent": "tunnel-client"}, timeout=5)
            log.write(json.dumps({"client": "requests", "url": url + path, "status": response.status_code,
                                  "bytes": len(response.content)}) + "\n")
            log.flush()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        DualStackServer(("::", int(sys.argv[2])), Handler).serve_forever()
    elif sys.argv[1] == "client":
        client(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("usage: tunnel_fixture.py server PORT | client URL LOG N")
