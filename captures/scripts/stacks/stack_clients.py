#!/usr/bin/env python3
"""Python clients for the stack fixtures; each logs one JSON line per exchange it
completed ({"method","url","status"}) to LOG.

    stack_clients.py MODE BASE LOG
MODE: requests | httpx | aiohttp   a keep-alive session over the stack routes
      pipeline                     five requests (GET, HEAD, POST, GET, conditional GET) in one write
      http10                       HTTP/1.0 requests (one connection each)
      idle                         a request, idle until the server closes, then one more
                                   request on the closed connection (answered by RST)
      connclose                    `Connection: close` on the 2nd request of a connection
      partial                      a request, then the start of a request head that never ends: the
                                   server's read timeout answers it (Apache, HAProxy: 408) or closes
"""
import http.client
import json
import socket
import sys
import time

MODE, BASE, LOG = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
HOSTPORT = BASE.split("//", 1)[1]
HOST, PORT = HOSTPORT.rsplit(":", 1)
PORT = int(PORT)
UA = {"User-Agent": "mall-app/5.1.0 (%s)" % MODE}
ECHO = {"method_code": "PAY01", "orderId": "ORD000000012345", "amount": 12800}


def log(method, url, status):
    with open(LOG, "a") as f:
        f.write(json.dumps({"method": method, "url": url, "status": status}) + "\n")


def run_requests():
    import requests
    s = requests.Session()
    s.headers.update(UA)
    s.hooks["response"].append(lambda r, *a, **k: log(r.request.method, r.request.url, r.status_code))
    for i in range(12):
        s.get(BASE + "/api/order?i=%d" % i)
    s.get(BASE + "/api/fail")
    s.get(BASE + "/api/missing")
    s.get(BASE + "/api/stream?n=5")
    s.get(BASE + "/api/large?bytes=40000")
    s.head(BASE + "/api/order")
    s.head(BASE + "/api/large?bytes=40000")
    s.get(BASE + "/api/nocontent")
    s.get(BASE + "/api/etag")
    s.get(BASE + "/api/etag", headers={"If-None-Match": '"v1"'})
    s.post(BASE + "/api/echo", json=ECHO)
    # no length known: requests sends Transfer-Encoding: chunked
    s.post(BASE + "/api/echo?chunked=1", data=(p for p in (b'{"method_code":', b'"CH01"}')),
           headers={"Content-Type": "application/json"})
    s.head(BASE + "/api/stream?n=2")  # HEAD of a streamed (unknown-length) body
    s.get(BASE + "/api/gzip")
    s.get(BASE + "/api/order?last=1")


def run_httpx():
    import httpx
    with httpx.Client(headers=UA, event_hooks={"response": [lambda r: log(r.request.method, str(r.request.url), r.status_code)]}) as c:
        for i in range(5):
            c.get(BASE + "/api/order?i=%d" % i)
        with c.stream("GET", BASE + "/api/stream?n=3") as r:
            for _ in r.iter_bytes():
                pass
        c.head(BASE + "/api/order")
        c.get(BASE + "/api/etag", headers={"If-None-Match": '"v1"'})
        c.get(BASE + "/api/nocontent")
        c.post(BASE + "/api/echo", json=ECHO)
        c.get(BASE + "/api/gzip")
        c.get(BASE + "/api/fail")


def run_aiohttp():
    import asyncio
    import aiohttp

    async def main():
        async with aiohttp.ClientSession(headers=UA) as s:
            async def go(method, path, **kw):
                async with s.request(method, BASE + path, **kw) as r:
                    await r.read()
                    log(method, BASE + path, r.status)
            for i in range(5):
                await go("GET", "/api/order?i=%d" % i)
            await go("GET", "/api/stream?n=3")
            await go("HEAD", "/api/order")
            await go("GET", "/api/etag", headers={"If-None-Match": '"v1"'})
            await go("GET", "/api/nocontent")
            await go("POST", "/api/echo", json=ECHO)
            await go("GET", "/api/gzip")
            await go("GET", "/api/fail")
    asyncio.run(main())


def connect():
    s = socket.create_connection((HOST, PORT))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class SharedReader:
    """One buffered reader for all responses of a connection (http.client makes a
    reader per response, which would swallow the next pipelined response)."""
    def __init__(self, sock):
        self.f = sock.makefile("rb")

    def makefile(self, *args, **kwargs):
        return self

    def __getattr__(self, name):
        return getattr(self.f, name)

    def close(self):
        pass


def read_responses(sock, requests_sent):
    """Read responses in order with http.client's parser; log each one read."""
    shared = SharedReader(sock)
    for method, path in requests_sent:
        r = http.client.HTTPResponse(shared, method=method)
        try:
            r.begin()
            r.read()
        except (http.client.HTTPException, OSError):
            return
        log(method, BASE + path, r.status)
        if r.will_close:
            return


def run_pipeline():
    """GET, HEAD (a length but no body), POST with a body, GET, conditional GET (304), in one write."""
    body = json.dumps(ECHO).encode()
    reqs = [("GET", "/api/order?p=1", b""), ("HEAD", "/api/large?p=2&bytes=3000", b""), ("POST", "/api/echo?p=3", body),
            ("GET", "/api/fail?p=4", b""), ("GET", "/api/etag?p=5", b"If-None-Match: \"v1\"\r\n")]
    sock = connect()
    data = b""
    for m, p, extra in reqs:
        data += b"%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: pipeline\r\n" % (m.encode(), p.encode(), HOSTPORT.encode())
        if m == "POST":
            data += b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(extra), extra)
        else:
            data += extra + b"\r\n"
    reqs = [(m, p) for m, p, _ in reqs]
    sock.sendall(data)  # one write: the server sees them pipelined
    read_responses(sock, reqs)
    sock.close()


def run_http10():
    for path in ("/api/order?v=10", "/api/stream?n=3"):
        sock = connect()
        sock.sendall(b"GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: http10\r\n\r\n" % (path.encode(), HOSTPORT.encode()))
        read_responses(sock, [("GET", path)])
        sock.close()
    # HTTP/1.0 keep-alive: the streamed body cannot be chunked for a 1.0 client
    sock = connect()
    shared = SharedReader(sock)
    for path in ("/api/order?ka10=1", "/api/order?ka10=2", "/api/stream?ka10=3&n=2"):
        sock.sendall(b"GET %s HTTP/1.0\r\nHost: %s\r\nConnection: keep-alive\r\nUser-Agent: http10\r\n\r\n"
                     % (path.encode(), HOSTPORT.encode()))
        r = http.client.HTTPResponse(shared, method="GET")
        try:
            r.begin()
            r.read()
        except (http.client.HTTPException, OSError):
            break
        log("GET", BASE + path, r.status)
        if r.will_close:
            break
    sock.close()


def run_idle():
    sock = connect()
    sock.sendall(b"GET /api/order?idle=1 HTTP/1.1\r\nHost: %s\r\nUser-Agent: idle\r\n\r\n" % HOSTPORT.encode())
    read_responses(sock, [("GET", "/api/order?idle=1")])
    sock.settimeout(5)
    try:
        closed = sock.recv(1) == b""  # the server's keep-alive timeout closes the connection
    except socket.timeout:
        closed = False
    print("idle: server closed the idle connection: %s" % closed, file=sys.stderr)
    if closed:
        # A client that reuses the connection without noticing the close (the keep-alive race):
        # the request reaches a closed socket, the server's stack answers RST, no HTTP response.
        try:
            sock.sendall(b"GET /api/order?stale=1 HTTP/1.1\r\nHost: %s\r\nUser-Agent: idle\r\n\r\n" % HOSTPORT.encode())
            time.sleep(0.2)
            sock.recv(1)
        except OSError:
            pass
    sock.close()


def run_connclose():
    c = http.client.HTTPConnection(HOST, PORT)
    for path, hdrs in (("/api/order?cc=1", {}), ("/api/order?cc=2", {"Connection": "close"}), ("/api/order?cc=3", {})):
        c.request("GET", path, headers={**UA, **hdrs})
        r = c.getresponse()
        r.read()
        log("GET", BASE + path, r.status)
    c.close()


def run_partial():
    """The partial head is not a request the client completed: not logged, whatever comes back."""
    sock = connect()
    sock.sendall(b"GET /api/order?partial=1 HTTP/1.1\r\nHost: %s\r\nUser-Agent: partial\r\n\r\n" % HOSTPORT.encode())
    read_responses(sock, [("GET", "/api/order?partial=1")])
    sock.sendall(b"GET /api/order?partial=2 HTTP/1.1\r\nHost: %s\r\n" % HOSTPORT.encode())
    sock.settimeout(10)
    answer = b""
    try:
        while True:
            part = sock.recv(4096)
            if not part:
                break
            answer += part
    except OSError:
        pass
    print("partial: after the partial head the server sent %r, then closed" % answer.split(b"\r\n", 1)[0], file=sys.stderr)
    sock.close()


{"requests": run_requests, "httpx": run_httpx, "aiohttp": run_aiohttp, "pipeline": run_pipeline,
 "http10": run_http10, "idle": run_idle, "connclose": run_connclose, "partial": run_partial}[MODE]()
