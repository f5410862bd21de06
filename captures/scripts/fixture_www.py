#!/usr/bin/env python3
"""The servers' content for the HTTP fixtures: fixed bytes, so re-recordings carry the same bodies.

    fixture_www.py DIR    writes DIR/small.json (~300 B), DIR/large.json (~20 KB), DIR/big.bin (300,000 B)

Used by make-http-fixtures.sh and make-loss-fixtures.sh (which then fix the files' mtimes:
nginx's ETag and Last-Modified derive from them).
"""
import json
import sys

d = sys.argv[1]
small = {"code": 0, "message": "ok", "data": {
    "orderId": "ORD000000012345", "status": "PAID", "amount": 12800, "currency": "CNY",
    "items": [{"sku": "SKU000123", "qty": 2, "price": 6400}],
    "user": {"id": 10086, "level": "gold", "nick": "alice"},
    "createdAt": "2023-11-14T22:13:20Z", "traceId": "9f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f"}}
rows, i = [], 0
while len(json.dumps({"code": 0, "message": "ok", "data": {"page": 1, "list": rows}}, separators=(",", ":"))) < 20000:
    rows.append({"sku": "SKU%06d" % i, "name": "item %d" % i, "price": 100 + 37 * i % 9000, "stock": i * 7 % 500})
    i += 1
large = {"code": 0, "message": "ok", "data": {"page": 1, "list": rows}}
for name, obj in (("small.json", small), ("large.json", large)):
    with open(f"{d}/{name}", "w") as f:
        f.write(json.dumps(obj, separators=(",", ":")))
with open(f"{d}/big.bin", "wb") as f:
    f.write(bytes((i * 31 + (i >> 8)) & 0xFF for i in range(300000)))
