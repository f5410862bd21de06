"""Roles of make-nat-fixture.sh: the service in a container-like namespace, its partner, and the
client that calls the service through the host's published port.

    nat_fixture.py service PORT PARTNER_URL   # GET /hello answers; GET /call first calls the partner
    nat_fixture.py partner PORT
    nat_fixture.py client URL LOG N [PAUSE_FILE]
        N requests on one keep-alive session, half /hello and half /call, each logged as a JSON
        line in LOG; with PAUSE_FILE, after the first three it waits until that file exists
        (the recording of a capture that begins mid-connection starts meanwhile).
k8s_node_fixture.py uses `serve` and `client` with their other parameters.
"""
import http.server
import json
import os
import socketserver
import sys
import threading
import time

import requests


class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 256


def serve(port, partner_url, tcode="P42", threaded=False, log_path=None):
    """`threaded`: a thread a connection, each with its own keep-alive session to the partner;
    `log_path`: every request logged as a JSON line (its T-Code, the caller's address, the path)."""
    local = threading.local()  # the service's keep-alive connection(s) to its partner
    log = open(log_path, "a") if log_path else None
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if partner_url and self.path.startswith("/call"):
                if not hasattr(local, "session"):
                    local.session = requests.Session()
                local.session.get(partner_url + "/v1/quote", headers={"T-Code": tcode}, timeout=5).content
            if log:
                with lock:
                    log.write(json.dumps({"tcode": self.headers.get("T-Code"), "from": self.client_address[0],
                                          "path": self.path}) + "\n")
                    log.flush()
            code = 0 if partner_url is None else "0"
            body = json.dumps({"code": code, "path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    # Unthreaded: the service's calls to its partner go one at a time over one connection.
    (ThreadingServer if threaded else http.server.HTTPServer)(("0.0.0.0", port), Handler).serve_forever()


def client(url, log_path, count, pause_file, agent="nat-client"):
    session = requests.Session()
    with open(log_path, "a") as log:
        for i in range(count):
            if pause_file and i == 3:
                while not os.path.exists(pause_file):
                    time.sleep(0.05)
            path = "/call" if i % 2 else "/hello"
            response = session.get(url + path, headers={"User-Agent": agent}, timeout=5)
            log.write(json.dumps({"path": path, "status": response.status_code, "agent": agent}) + "\n")
            log.flush()


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "service":
        serve(int(sys.argv[2]), sys.argv[3])
    elif role == "partner":
        serve(int(sys.argv[2]), None)
    else:
        client(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
