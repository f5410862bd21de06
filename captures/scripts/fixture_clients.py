#!/usr/bin/env python3
"""Clients for the HTTP fixtures (Python requests sessions and raw sockets).

    fixture_clients.py SCENARIO LOGFILE

Each scenario appends one JSON line per exchange it completed to LOGFILE:
{"method", "url", "status"} as the client saw them. The log is a second
witness beside tshark (see captures/README.md).
Servers: nginx on 127.0.0.1:18080 and [::1]:18080, fixture_servers.py http on
18081 and ws on 18082.
"""
import json
import os
import socket
import sys

NGINX = "http://127.0.0.1:18080"
PY = "http://127.0.0.1:18081"
UA = "mall-web/2.3.1 (fixtures; python-requests)"


class Log:
    def __init__(self, path):
        self.f = open(path, "a")

    def __call__(self, method, url, status):
        self.f.write(json.dumps({"method": method, "url": url, "status": status}) + "\n")
        self.f.flush()


def session(log):
    import requests
    s = requests.Session()
    s.headers["User-Agent"] = UA
    s.hooks["response"].append(lambda r, *a, **k: log(r.request.method, r.request.url, r.status_code))

    # One keep-alive connection to nginx.
    s.get(NGINX + "/api/v1/order", headers={"Method-Code": "M1001", "T-Code": "B123456789"})
    s.post(NGINX + "/api/v1/pay?id=10087", json={"orderId": "ORD000000012345", "amount": 12800,
                                               "method_code": "PAY01"})
    s.get(NGINX + "/api/v1/order", params={"method_code": "Q77", "q": "a b/ü", "id": "1"})
    s.get(NGINX + "/api/v1/goods/list", params={"page": "1"})
    s.post(NGINX + "/api/v1/refund", json={"orderId": "ORD000000012345", "amount": -1})
    s.delete(NGINX + "/api/v1/order/cancel?id=10089")
    s.get(NGINX + "/missing/path%20with%20space")
    # One keep-alive connection to the Python server.
    s.post(PY + "/api/echo", json={"data": {"Method_Code": "NESTED"}, "code": 0})
    s.post(PY + "/api/echo?x=1", data={"method_code": "FORM9", "user": "alice"})
    s.put(PY + "/api/echo", data=(p for p in [b'{"method_code":', b'"CHUNKED-REQ"}']),
          headers={"Content-Type": "application/json"})  # chunked request body
    s.get(PY + "/api/error")
    s.get(PY + "/api/order", headers={"method-code": "lower", "t_code": "x"})
    s.close()


def gzip_session(log):
    import requests
    s = requests.Session()  # sends Accept-Encoding: gzip, deflate
    s.headers["User-Agent"] = UA
    s.hooks["response"].append(lambda r, *a, **k: log(r.request.method, r.request.url, r.status_code))
    for path in ("/gzip/large.json", "/gzip/small.json", "/gzip/large.json?again=1"):
        r = s.get(NGINX + path)
        assert r.json()["code"] == 0
    s.close()


def large(log):
    import requests
    s = requests.Session()
    s.headers["User-Agent"] = UA
    s.hooks["response"].append(lambda r, *a, **k: log(r.request.method, r.request.url, r.status_code))
    r = s.get(NGINX + "/big.bin")
    assert len(r.content) == 300000, len(r.content)
    r = s.get(NGINX + "/api/v1/order")
    body = bytes((i * 7 + 3) & 0xFF for i in range(307200))
    r = s.post(PY + "/api/upload", data=body, headers={"Content-Type": "application/octet-stream"})
    assert r.json()["data"]["bytes"] == len(body)
    r = s.get(PY + "/api/large?bytes=300000")
    assert len(r.content) == 300000
    s.close()


def websocket(log):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from fixture_servers import make_frame, read_frame, ws_accept
    key = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's example key: fixed bytes
    sock = socket.create_connection(("127.0.0.1", 18082))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(("GET /ws/chat?room=1 HTTP/1.1\r\nHost: 127.0.0.1:18082\r\nUser-Agent: %s\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                  "Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:18082\r\n\r\n" % (UA, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)  # byte by byte: leave the frames after the 101 in the socket
    status = int(head.split(b" ", 2)[1])
    assert status == 101 and ws_accept(key).encode() in head
    log("GET", "http://127.0.0.1:18082/ws/chat?room=1", status)
    read_frame(sock)  # greeting
    mask = b"\x11\x22\x33\x44"
    # Frames whose payload looks like HTTP: a parser that keeps going after the
    # 101 would see requests here.
    messages = [(0x1, b"GET /not-http HTTP/1.1\r\nHost: x\r\n\r\n"),
                (0x1, b'{"method_code":"WS1","code":0}'),
                (0x2, bytes(range(256)) * 4),
                (0x9, b"ping")]
    for op, data in messages:
        sock.sendall(make_frame(op, data, mask=mask))
        read_frame(sock)
    sock.sendall(make_frame(0x1, b"HTTP/1.1 200 OK\r\n", mask=mask, fin=False))
    sock.sendall(make_frame(0x0, b"Content-Length: 0\r\n\r\n", mask=mask))
    read_frame(sock)
    read_frame(sock)
    sock.sendall(make_frame(0x8, (1000).to_bytes(2, "big"), mask=mask))
    read_frame(sock)
    sock.close()


def port_reuse(log):
    """Three connections from client port 30404 to nginx. The first two ask for
    Connection: close and read to EOF, so the server closes first and the client
    leaves no TIME_WAIT behind: the next connect reuses the same 4-tuple (the
    server's TIME_WAIT accepts a SYN with a higher sequence number, RFC 6191)."""
    import time
    for i, (path, close) in enumerate([("/api/v1/order", True), ("/api/v1/order/cancel", True),
                                       ("/api/v1/pay", False)]):
        if i:
            time.sleep(0.2)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 30404))
        sock.connect(("127.0.0.1", 18080))
        sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:18080\r\nUser-Agent: %s\r\n%s\r\n"
                      % (path, UA, "Connection: close\r\n" if close else "")).encode())
        data = b""
        while True:
            if not close and b"\r\n\r\n" in data:
                head, body = data.split(b"\r\n\r\n", 1)
                n = int(next(l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")))
                if len(body) >= n:
                    break
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        log("GET", NGINX + path, int(data.split(b" ", 2)[1]))
        sock.close()


def rst_mid_transfer(log):
    """Reads the first 60 KB of the 300 KB /big.bin, then closes with SO_LINGER 0:
    the kernel sends RST mid-transfer (RFC 9293 §3.6, abort). Then a normal
    request on a new connection."""
    import struct
    sock = socket.create_connection(("127.0.0.1", 18080))
    sock.sendall(("GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1:18080\r\nUser-Agent: %s\r\n\r\n" % UA).encode())
    data = b""
    while len(data) < 60000:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    log("GET", NGINX + "/big.bin", int(data.split(b" ", 2)[1]))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    import requests
    r = requests.get(NGINX + "/api/v1/order", headers={"User-Agent": UA})
    log("GET", r.request.url, r.status_code)


def main():
    scenario, logpath = sys.argv[1], sys.argv[2]
    {"session": session, "gzip": gzip_session, "large": large,
     "websocket": websocket, "port-reuse": port_reuse,
     "rst": rst_mid_transfer}[scenario](Log(logpath))


if __name__ == "__main__":
    main()
