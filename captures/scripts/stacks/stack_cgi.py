#!/usr/bin/env python3
"""The stack routes as a CGI/1.1 program, for Apache httpd (mod_cgid) and lighttpd (mod_cgi).

The same routes and bodies as stack_wsgi.py (see its docstring); the server, not this
program, frames the body: a response without Content-Length (`/api/stream`, written in
flushed parts) is chunked or close-delimited as the server decides, `/api/gzip` is plain
JSON that the server's own filter (mod_deflate, lighttpd's mod_deflate) compresses.
  POST /api/upload   200 JSON {"code":"0000","bytes":N}: a large body read and counted
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fixture_servers import payload  # noqa: E402  (the same body bytes as the other fixtures)

out = sys.stdout.buffer


def respond(status, body=b"", ctype="application/json", extra=()):
    head = "Status: %s\r\nContent-Type: %s\r\n" % (status, ctype)
    head += "".join("%s: %s\r\n" % kv for kv in extra)
    if body is not None:
        head += "Content-Length: %d\r\n" % len(body)
    out.write(head.encode() + b"\r\n" + (body or b""))
    out.flush()


def js(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def request_body():
    if not os.environ.get("CONTENT_LENGTH"):  # a chunked request: Apache passes it on until EOF
        return sys.stdin.buffer.read()
    n = int(os.environ["CONTENT_LENGTH"])
    data = b""
    while len(data) < n:
        part = sys.stdin.buffer.read(n - len(data))
        if not part:
            break
        data += part
    return data


uri = os.environ.get("REQUEST_URI", "/")
path, _, query = uri.partition("?")
args = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
method = os.environ.get("REQUEST_METHOD", "GET")

if path == "/api/order":
    respond("200 OK", js({"code": "0000", "msg": "ok", "orderId": "ORD000000012345"}))
elif path == "/api/fail":
    respond("500 Internal Server Error", js({"code": "E5001", "msg": "upstream failed"}))
elif path == "/api/stream":
    respond("200 OK", None, "application/x-ndjson")  # no length: the server frames it
    for i in range(int(args.get("n", "4"))):
        out.write(js({"part": i}) + b"\n")
        out.flush()
        time.sleep(0.02)
elif path == "/api/large":
    respond("200 OK", payload(int(args.get("bytes", "65536"))), "text/plain")
elif path == "/api/nocontent":
    respond("204 No Content", None, "text/plain")
elif path == "/api/etag":
    if os.environ.get("HTTP_IF_NONE_MATCH") == '"v1"':
        respond("304 Not Modified", None, "application/json", [("ETag", '"v1"')])
    else:
        respond("200 OK", b'{"code":"0000","v":1}', "application/json", [("ETag", '"v1"')])
elif path == "/api/echo" and method == "POST":
    respond("200 OK", request_body(), os.environ.get("CONTENT_TYPE") or "application/octet-stream")
elif path == "/api/upload" and method == "POST":
    respond("200 OK", js({"code": "0000", "bytes": len(request_body())}))
elif path == "/api/gzip":
    respond("200 OK", js({"code": "0000", "items": [{"id": i, "name": "item %d" % i} for i in range(200)]}))
else:
    respond("404 Not Found", js({"code": "E404", "msg": "no route"}))
