"""Roles of make-fragment-fixtures.sh: an HTTP/1.1 service and its clients, with bodies larger
than one segment in both directions (so full-size segments, the ones fragmented, go both ways).

    fragment_fixture.py server PORT
        HTTP/1.1 with keep-alive on every IPv4 and IPv6 address: GET /hello answers a small JSON
        body, GET /big?n=N a JSON body of N bytes, POST /upload reads its body and answers its size.
    fragment_fixture.py client URL LOG N
        N requests on one `requests` keep-alive session, in turn GET /hello, GET /big?n=20000 and
        POST /upload with a 20,000-byte JSON body, each logged as a JSON line in LOG.
"""
import json
import os
import sys

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tunnel_fixture  # noqa: E402  (its GET /hello and /big, and the dual-stack server)


class Handler(tunnel_fixture.Handler):
    def do_POST(self):
        received = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps({"code": 0, "received": len(received)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def client(url, log_path, count):
    session = requests.Session()
    upload = json.dumps({"code": 0, "fill": "y" * (20000 - 24)})
    with open(log_path, "a") as log:
        for i in range(count):
            headers = {"User-Agent": "fragment-client"}
            if i % 3 == 2:
                method, path = "POST", "/upload"
                headers["Content-Type"] = "application/json"
                response = session.post(url + path, data=upload, headers=headers, timeout=5)
            else:
                method, path = "GET", "/big?n=20000" if i % 3 else "/hello"
                response = session.get(url + path, headers=headers, timeout=5)
            log.write(json.dumps({"client": "requests", "method": method, "url": url + path,
                                  "status": response.status_code}) + "\n")
            log.flush()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        tunnel_fixture.DualStackServer(("::", int(sys.argv[2])), Handler).serve_forever()
    elif sys.argv[1] == "client":
        client(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("usage: fragment_fixture.py server PORT | client URL LOG N")
