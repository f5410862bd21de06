#!/usr/bin/env python3
"""Small servers for the HTTP fixtures: the framing cases nginx will not produce.

    fixture_servers.py http PORT   HTTP/1.1 server (keep-alive, chunked, 100-continue,
                                   close-delimited HTTP/1.0, 204, HEAD, large bodies)
    fixture_servers.py ws PORT     WebSocket (RFC 6455) echo server on raw sockets

Both listen on 127.0.0.1 and ::1 and run until SIGTERM/SIGINT. Every response is
a fixed function of the request, so a re-recording carries the same bytes (only
Date headers and TCP details change). Each response piece is its own write with
TCP_NODELAY and a short pause, so the pieces travel in their own segments: that
is the point of several routes (chunk framing split across segments).
"""
import base64
import hashlib
import http.server
import json
import signal
import socket
import socketserver
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

PAUSE = 0.02  # seconds between writes that must land in separate segments


def payload(n):
    """n deterministic printable bytes (a repeating numbered line pattern)."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += b"line %06d: the quick brown fox jumps over the lazy dog\n" % i
        i += 1
    return bytes(out[:n])


def js(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fixture-py/1.0"
    sys_version = ""

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        sys.stderr.write("http %s %s\n" % (self.address_string(), fmt % args))

    # -- helpers ---------------------------------------------------------
    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def send_fixed(self, status, body, ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def write_apart(self, *pieces):
        for i, p in enumerate(pieces):
            if i:
                time.sleep(PAUSE)
            self.wfile.write(p)
            self.wfile.flush()

    # -- routes ----------------------------------------------------------
    def route(self):
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        p = url.path
        if p == "/api/chunked":
            # RFC 9112 §7.1: chunk extension on one chunk, a trailer field at the end.
            body = [js({"code": 0, "message": "ok", "data": {"part": 1}})[:-1] + b",",
                    b'"filler":"' + b"x" * 700 + b'",',
                    b'"end":true}']
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Body-Sha256")
            self.end_headers()
            sha = hashlib.sha256(b"".join(body)).hexdigest().encode()
            self.write_apart(b"%x\r\n%s\r\n" % (len(body[0]), body[0]),
                             b"%x;ext=1;name=\"v\"\r\n%s\r\n" % (len(body[1]), body[1]),
                             b"%X\r\n%s\r\n" % (len(body[2]), body[2]),
                             b"0\r\nX-Body-Sha256: " + sha + b"\r\n\r\n")
        elif p == "/api/chunked-split":
            # Chunk framing cut at awkward places: inside the size line, between
            # the data and its CRLF, and the final CRLF alone in its own segment.
            body = js({"code": 0, "message": "split", "data": list(range(40))})
            a, b = body[:50], body[50:]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.write_apart(b"%x" % len(a), b"\r\n" + a, b"\r\n%x\r\n%s" % (len(b), b), b"\r\n",
                             b"0\r\n\r", b"\n")
        elif p == "/api/close":
            # HTTP/1.0 response without Content-Length: the body ends with the connection
            # (RFC 9112 §6.3 item 8).
            self.close_connection = True
            body = js({"code": 0, "message": "close-delimited", "data": {"n": int(q.get("n", ["1"])[0])}})
            head = (b"HTTP/1.0 200 OK\r\nServer: fixture-py/1.0\r\nDate: %s\r\n"
                    b"Content-Type: application/json\r\nConnection: close\r\n\r\n"
                    % self.date_time_string().encode())
            self.write_apart(head, body[:20], body[20:] + b"\n" + payload(3000))
        elif p == "/api/nocontent":
            self.send_response(204)
            self.end_headers()
        elif p == "/api/large":
            n = int(q.get("bytes", ["300000"])[0])
            body = payload(n)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            if self.command != "HEAD":
                for i in range(0, n, 16384):
                    self.wfile.write(body[i:i + 16384])
        elif p == "/api/error":
            self.send_fixed(500, js({"code": 50001, "message": "internal error", "data": None}))
        elif p in ("/api/echo", "/api/upload"):
            body = self.read_body() if self.command in ("POST", "PUT") else b""
            mc = self.headers.get("Method-Code")
            try:
                doc = json.loads(body) if body else None
            except ValueError:
                doc = None
            if isinstance(doc, dict):
                mc = doc.get("method_code", mc)
            self.send_fixed(200, js({"code": 0, "message": "ok", "data": {
                "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                "method_code": mc, "query": {k: v[0] for k, v in sorted(q.items())}}}))
        elif p == "/api/order":
            self.send_fixed(200, js({"code": 0, "message": "ok", "data": {"orderId": "ORD000000012345"}}))
        else:
            self.send_fixed(404, js({"code": 40400, "message": "not found", "data": None}))

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = route


class DualStackServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    address_family = socket.AF_INET6

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


# -- WebSocket (RFC 6455) ------------------------------------------------------
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def read_frame(sock):
    """One frame -> (fin, opcode, payload) with the mask removed (RFC 6455 §5.2)."""
    b0, b1 = recv_exact(sock, 2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(recv_exact(sock, 2), "big")
    elif n == 127:
        n = int.from_bytes(recv_exact(sock, 8), "big")
    mask = recv_exact(sock, 4) if b1 & 0x80 else None
    data = recv_exact(sock, n)
    if mask:
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
    return b0 >> 7, b0 & 0x0F, data


def make_frame(opcode, data, mask=None, fin=True):
    head = bytearray([(0x80 if fin else 0) | opcode])
    mbit = 0x80 if mask else 0
    if len(data) < 126:
        head.append(mbit | len(data))
    elif len(data) < 65536:
        head.append(mbit | 126)
        head += len(data).to_bytes(2, "big")
    else:
        head.append(mbit | 127)
        head += len(data).to_bytes(8, "big")
    if mask:
        head += mask
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
    return bytes(head) + data


def ws_accept(key):
    return base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()


class WSHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
        fields = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        key = fields.get("sec-websocket-key")
        if not key or fields.get("upgrade", "").lower() != "websocket":
            body = js({"code": 40000, "message": "not a websocket request", "data": None})
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            return
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % ws_accept(key)).encode())
        # Greeting sent by the server right after the 101, as chat servers do.
        sock.sendall(make_frame(0x1, b'{"code":0,"message":"welcome"}'))
        try:
            while True:
                fin, op, data = read_frame(sock)
                if op == 0x8:
                    sock.sendall(make_frame(0x8, data[:2]))
                    return
                if op == 0x9:
                    sock.sendall(make_frame(0xA, data))
                elif op in (0x1, 0x2, 0x0):
                    sock.sendall(make_frame(op, data, fin=bool(fin)))
        except (EOFError, ConnectionError):
            return


def main():
    kind, port = sys.argv[1], int(sys.argv[2])
    handler = Handler if kind == "http" else WSHandler
    srv = DualStackServer(("::", port), handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    print("listening %s %d" % (kind, port), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    srv.server_close()


if __name__ == "__main__":
    main()
