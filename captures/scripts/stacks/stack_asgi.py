"""The same routes as stack_wsgi.py as a bare ASGI app, for uvicorn (h11).
A body sent in several `http.response.body` messages without Content-Length is
chunked by uvicorn."""
import gzip
import json
import asyncio
from urllib.parse import parse_qs

from stack_wsgi import payload


def js(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


async def send_all(send, status, body, headers=(), more=()):
    hs = [(k.encode(), v.encode()) for k, v in headers]
    if not any(k.lower() == b"content-type" for k, _ in hs):
        hs.append((b"content-type", b"application/json"))
    if not more:
        hs.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": hs})
    if not more:
        await send({"type": "http.response.body", "body": body})
        return
    for piece in more:
        await send({"type": "http.response.body", "body": piece, "more_body": True})
        await asyncio.sleep(0.02)
    await send({"type": "http.response.body", "body": b""})


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    path, q = scope["path"], parse_qs(scope["query_string"].decode())
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    if path == "/api/order":
        await send_all(send, 200, js({"code": "0000", "msg": "ok", "orderId": "ORD000000012345"}))
    elif path == "/api/fail":
        await send_all(send, 500, js({"code": "E5001", "msg": "upstream failed"}))
    elif path == "/api/stream":
        n = int(q.get("n", ["4"])[0])
        await send_all(send, 200, b"", [("content-type", "application/x-ndjson")],
                       more=[json.dumps({"part": i}).encode() + b"\n" for i in range(n)])
    elif path == "/api/large":
        await send_all(send, 200, payload(int(q.get("bytes", ["65536"])[0])), [("content-type", "text/plain")])
    elif path == "/api/nocontent":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/api/etag":
        if headers.get("if-none-match") == '"v1"':
            await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", b'"v1"')]})
            await send({"type": "http.response.body", "body": b""})
        else:
            await send_all(send, 200, b'{"code":"0000","v":1}', [("etag", '"v1"')])
    elif path == "/api/echo":
        await send_all(send, 200, body, [("content-type", headers.get("content-type", "application/octet-stream"))])
    elif path == "/api/gzip":
        b = json.dumps({"code": "0000", "items": [{"id": i, "name": "item %d" % i} for i in range(200)]}).encode()
        await send_all(send, 200, gzip.compress(b, mtime=0), [("content-encoding", "gzip")])
    else:
        await send_all(send, 404, js({"code": "E404", "msg": "not found"}))
