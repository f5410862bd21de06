#!/usr/bin/env python3
"""Raw-socket clients for captures/scripts/make-server-edge-fixture.sh: several requests on one
connection, each answer read as a client reads it (1xx skipped, then Content-Length, chunked or
until close), each logged as {"method","url","status"}; a request the server never answered is
logged with "status": null and "error". What `requests` (http.client) and Node make of the same
answers is logged by their own runs ("client" names which).

    edge_clients.py LOG SCENARIO
"""
import json
import socket
import sys

FILLER = "v" * 490


class Connection:
    def __init__(self, port):
        self.port = port
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.data = b""

    def more(self):
        chunk = self.socket.recv(65536)
        if not chunk:
            raise EOFError("closed by the server")
        self.data += chunk

    def line(self):
        while b"\r\n" not in self.data:
            self.more()
        line, self.data = self.data.split(b"\r\n", 1)
        return line

    def take(self, n):
        while len(self.data) < n:
            self.more()
        taken, self.data = self.data[:n], self.data[n:]
        return taken

    def response(self, head_only=False):
        while True:
            status = int(self.line().split(b" ")[1])
            fields = {}
            while True:
                line = self.line()
                if not line:
                    break
                name, _, value = line.partition(b":")
                fields[name.strip().lower()] = value.strip()
            if status >= 200 or status == 101:
                break
        if head_only or status in (204, 304):
            return status
        if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
            while True:
                size = int(self.line().split(b";")[0], 16)
                self.take(size + 2) if size else None
                if size == 0:
                    while self.line():
                        pass
                    break
        elif b"content-length" in fields:
            self.take(int(fields[b"content-length"]))
        else:
            try:
                while True:
                    self.more()
            except EOFError:
                pass
        return status

    def exchange(self, log, method, target, fields=(), url=None, head_only=False):
        request = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (method, target, self.port)
        request += "".join("%s: %s\r\n" % f for f in fields) + "\r\n"
        url = url or "http://127.0.0.1:%d%s" % (self.port, target)
        try:
            self.socket.sendall(request.encode("latin-1"))
            status = self.response(head_only=head_only or method == "HEAD")
            entry = {"method": method, "url": url, "status": status}
        except (OSError, EOFError, ValueError, IndexError) as error:
            entry = {"method": method, "url": url, "status": None, "error": type(error).__name__}
        entry["client"] = "raw"
        log.write(json.dumps(entry) + "\n")
        log.flush()
        return entry["status"]


def options_star(log, ports):
    # `OPTIONS *` (RFC 9110 §9.3.7: the server as a whole), then an ordinary request on the connection.
    for port in ports:
        c = Connection(port)
        c.exchange(log, "OPTIONS", "*", url="http://127.0.0.1:%d*" % port)
        c.exchange(log, "GET", "/api/order" if port != 18080 else "/small.json")


def large_heads(log, ports):
    # Request heads near and past the observer's limits (64 KiB, 128 fields), each then followed by
    # an ordinary request on the same connection when the server keeps it.
    for port in ports:
        path = "/api/order" if port != 18080 else "/small.json"
        for name, count, size in (("big", 100, 490), ("many", 140, 10), ("huge", 140, 490)):
            c = Connection(port)
            fields = [("X-Filler-%03d" % i, "v" * size) for i in range(count)]
            if c.exchange(log, "GET", path + "?head=" + name, fields) is not None:
                c.exchange(log, "GET", path + "?after=" + name)


def both_lengths(log, port):
    c = Connection(port)
    for path in ("/both", "/plain", "/big-head", "/plain", "/many-fields", "/plain", "/huge-head", "/plain"):
        c.exchange(log, "GET", path)


def main():
    log = open(sys.argv[1], "a")
    scenario = sys.argv[2]
    if scenario == "options":
        options_star(log, [int(p) for p in sys.argv[3:]])
    elif scenario == "large-heads":
        large_heads(log, [int(p) for p in sys.argv[3:]])
    elif scenario == "both-lengths":
        both_lengths(log, int(sys.argv[3]))


if __name__ == "__main__":
    main()
