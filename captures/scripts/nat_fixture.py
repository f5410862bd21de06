"""Roles of make-nat-fixture.sh: the service in a container-like namespace, its partner, and the
client that calls the service through the host's published port.

    nat_fixture.py service PORT PARTNER_URL   # GET /hello answers; GET /call first calls the partner
    nat_fixture.py partner PORT
    nat_fixture.py client URL LOG N [PAUSE_FILE]
        N requests on one keep-alive session, half /hello and half /call, each logged as a JSON
        line in LOG; with PAUSE_FILE, after the first three it waits until that file exists
        (the recording of a capture that begins mid-connection starts meanwhile).
"""
import http.server
import json
import os
import sys
import time

import requests


def serve(port, partner_url):
    session = requests.Session()  # the service's keep-alive connection to its partner

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if partner_url and self.path.startswith("/call"):
                session.get(partner_url + "/v1/quote", headers={"T-Code": "P42"}, timeout=5).content
            code = 0 if partner_url is None else "0"
            body = json.dumps({"code": code, "path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    # One thread: the service's calls to its partner go one at a time over one connection.
    http.server.HTTPServer(("0.0.0.0", port), Handler).serve_forever()


def client(url, log_path, count, pause_file):
    session = requests.Session()
    with open(log_path, "a") as log:
        for i in range(count):
            if pause_file and i == 3:
                while not os.path.exists(pause_file):
                    time.sleep(0.05)
            path = "/call" if i % 2 else "/hello"
            response = session.get(url + path, headers={"User-Agent": "nat-client"}, timeout=5)
            log.write(json.dumps({"path": path, "status": response.status_code}) + "\n")
            log.flush()


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "service":
        serve(int(sys.argv[2]), sys.argv[3])
    elif role == "partner":
        serve(int(sys.argv[2]), None)
    else:
        client(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
