"""The same routes as stack_wsgi.py on aiohttp's server.

    stack_aiohttp.py PORT
StreamResponse without a length is chunked; keepalive_timeout 1 s so an idle
connection is closed by the server within a scenario."""
import asyncio
import gzip
import json
import sys

from aiohttp import web

from stack_wsgi import payload


def js(obj, status=200):
    return web.Response(body=json.dumps(obj, separators=(",", ":")).encode(), status=status,
                        content_type="application/json")


async def order(req):
    return js({"code": "0000", "msg": "ok", "orderId": "ORD000000012345"})


async def fail(req):
    return js({"code": "E5001", "msg": "upstream failed"}, 500)


async def stream(req):
    resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await resp.prepare(req)
    for i in range(int(req.query.get("n", "4"))):
        await resp.write(json.dumps({"part": i}).encode() + b"\n")
        await asyncio.sleep(0.02)
    await resp.write_eof()
    return resp


async def large(req):
    return web.Response(body=payload(int(req.query.get("bytes", "65536"))), content_type="text/plain")


async def nocontent(req):
    return web.Response(status=204)


async def etag(req):
    if req.headers.get("If-None-Match") == '"v1"':
        return web.Response(status=304, headers={"ETag": '"v1"'})
    return web.Response(body=b'{"code":"0000","v":1}', content_type="application/json", headers={"ETag": '"v1"'})


async def echo(req):
    return web.Response(body=await req.read(), content_type=req.content_type)


async def gz(req):
    b = json.dumps({"code": "0000", "items": [{"id": i, "name": "item %d" % i} for i in range(200)]}).encode()
    return web.Response(body=gzip.compress(b, mtime=0), content_type="application/json",
                        headers={"Content-Encoding": "gzip"})


app = web.Application()
app.router.add_get("/api/order", order)
app.router.add_get("/api/fail", fail)
app.router.add_get("/api/stream", stream)
app.router.add_get("/api/large", large)
app.router.add_get("/api/nocontent", nocontent)
app.router.add_get("/api/etag", etag)
app.router.add_post("/api/echo", echo)
app.router.add_get("/api/gzip", gz)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), keepalive_timeout=1.0, print=None, access_log=None)
