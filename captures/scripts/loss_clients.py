#!/usr/bin/env python3
"""Clients for the loss fixtures (captures/http/loss/, make-loss-fixtures.sh).

    loss_clients.py SCENARIO LOGFILE SERVER_IP

Like fixture_clients.py, each scenario appends one JSON line per exchange it
completed to LOGFILE ({"method", "url", "status"} as the client saw them), but
the servers are across a veth pair (nginx on SERVER_IP:18080 with
keepalive_requests 20, fixture_servers.py http on SERVER_IP:18081) and the
link drops a share of the segments, so every exchange here crosses real
retransmissions.
"""
import sys

from fixture_clients import Log

UA = "mall-web/2.3.1 (loss fixtures; python-requests)"


def session(log):
    import requests
    s = requests.Session()
    s.headers["User-Agent"] = UA
    s.hooks["response"].append(lambda r, *a, **k: log(r.request.method, r.request.url, r.status_code))
    return s


def keepalive(log, ip):
    """Many requests on one requests.Session: nginx closes the connection after
    20 (keepalive_requests), so the session reconnects; the Python server's
    chunked, close-delimited and echo routes in between."""
    nginx, py = "http://%s:18080" % ip, "http://%s:18081" % ip
    s = session(log)
    for i in range(45):
        k = i % 9
        if k == 0:
            s.get(nginx + "/api/v1/order", params={"i": str(i)}, headers={"Method-Code": "M1001"})
        elif k == 1:
            s.post(nginx + "/api/v1/pay?id=%d" % i, json={"orderId": "ORD000000012345", "amount": 12800,
                                                        "method_code": "PAY01"})
        elif k == 2:
            s.get(nginx + "/api/v1/goods/list", params={"page": str(i)})  # ~20 KB
        elif k == 3:
            s.post(nginx + "/api/v1/refund", json={"orderId": "ORD000000012345", "amount": -1})
        elif k == 4:
            s.get(nginx + "/api/v1/order/cancel?id=%d" % i)
        elif k == 5:
            s.get(nginx + "/missing/%d" % i)
        elif k == 6:
            r = s.get(nginx + "/gzip/large.json?i=%d" % i)  # gzip + chunked
            assert r.json()["code"] == 0
        elif k == 7:
            s.post(py + "/api/echo?i=%d" % i, json={"method_code": "E%d" % i, "pad": "p" * 3000})
        else:
            s.get(py + "/api/chunked?i=%d" % i)
    s.get(py + "/api/error")
    s.close()
    # HTTP/1.0 close-delimited responses: the server closes each connection.
    for n in (1, 2, 3):
        s = session(log)
        s.get(py + "/api/close?n=%d" % n)
        s.close()


def large(log, ip):
    """300 KB down from nginx (sendfile), then 300 KB up to Python, each on a keep-alive connection."""
    nginx, py = "http://%s:18080" % ip, "http://%s:18081" % ip
    s = session(log)
    r = s.get(nginx + "/big.bin")
    assert len(r.content) == 300000, len(r.content)
    s.get(nginx + "/api/v1/order")
    s.close()
    s = session(log)
    body = bytes((i * 7 + 3) & 0xFF for i in range(307200))
    r = s.post(py + "/api/upload", data=body, headers={"Content-Type": "application/octet-stream"})
    assert r.json()["data"]["bytes"] == len(body)
    s.close()


def slow(log, ip):
    """A slow reader with a small receive buffer: the window closes, the server
    sends zero-window probes, then partial segments as the window opens. Raw
    socket (requests cannot set SO_RCVBUF before connecting); keep-alive, two
    300 KB downloads (nginx, Python)."""
    import socket
    import time
    for port, path in ((18080, "/big.bin"), (18081, "/api/large?bytes=300000")):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((ip, port))
        for _ in range(2):
            sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: %s (slow)\r\n\r\n"
                          % (path, ip, port, UA)).encode())
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1)
            length = int([h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0])
            got, pause_at = 0, 65536
            while got < length:
                got += len(sock.recv(min(2048, length - got)))
                time.sleep(0.002)
                if got >= pause_at:  # long enough for the sender's probe timer (>= RTO, 200 ms)
                    time.sleep(0.7)
                    pause_at += 65536
            log("GET", "http://%s:%d%s" % (ip, port, path), int(head.split(b" ")[1]))
        sock.close()


def main():
    scenario, logpath, ip = sys.argv[1], sys.argv[2], sys.argv[3]
    {"keepalive": keepalive, "large": large, "slow": slow}[scenario](Log(logpath), ip)


if __name__ == "__main__":
    main()
