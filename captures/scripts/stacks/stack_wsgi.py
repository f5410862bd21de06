"""The Flask app behind gunicorn (sync and gthread workers) and waitress.

Routes (the same on every stack, see README.md in captures/):
  GET  /api/order            200 JSON {"code":"0000",...}
  GET  /api/fail             500 JSON {"code":"E5001",...}
  GET  /api/stream?n=N       200, body from a generator: no Content-Length, so the
                             server picks the framing (chunked, or close-delimited)
  GET  /api/large?bytes=N    200, N bytes with Content-Length
  GET  /api/nocontent        204
  GET  /api/etag             200 with ETag "v1"; 304 when If-None-Match matches
  POST /api/echo             200, the request body back (JSON)
  GET  /api/gzip             200, Content-Encoding: gzip JSON
Every response is a fixed function of the request.
"""
import gzip
import json
import os
import sys
import time

from flask import Flask, Response, request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fixture_servers import payload  # noqa: E402  (the same body bytes as the other fixtures)

app = Flask(__name__)


def js(obj, status=200):
    return Response(json.dumps(obj, separators=(",", ":")), status=status, mimetype="application/json")


@app.route("/api/order", methods=["GET", "HEAD"])
def order():
    return js({"code": "0000", "msg": "ok", "orderId": "ORD000000012345"})


@app.route("/api/fail")
def fail():
    return js({"code": "E5001", "msg": "upstream failed"}, 500)


@app.route("/api/stream")
def stream():
    n = int(request.args.get("n", "4"))

    def gen():
        for i in range(n):
            yield json.dumps({"part": i}).encode() + b"\n"
            time.sleep(0.02)
    return Response(gen(), mimetype="application/x-ndjson")


@app.route("/api/large", methods=["GET", "HEAD"])
def large():
    return Response(payload(int(request.args.get("bytes", "65536"))), mimetype="text/plain")


@app.route("/api/nocontent", methods=["GET", "POST"])
def nocontent():
    return Response(status=204)


@app.route("/api/etag")
def etag():
    if request.headers.get("If-None-Match") == '"v1"':
        return Response(status=304, headers={"ETag": '"v1"'})
    return Response(b'{"code":"0000","v":1}', mimetype="application/json", headers={"ETag": '"v1"'})


@app.route("/api/echo", methods=["POST"])
def echo():
    body = request.get_data()
    return Response(body, mimetype=request.mimetype or "application/octet-stream")


@app.route("/api/gzip")
def gz():
    body = json.dumps({"code": "0000", "items": [{"id": i, "name": "item %d" % i} for i in range(200)]}).encode()
    return Response(gzip.compress(body, mtime=0), mimetype="application/json", headers={"Content-Encoding": "gzip"})
