#!/usr/bin/env python3
"""`requests` calls through the reverse proxies (captures/scripts/make-reverse-proxy-fixture.sh),
each logged as {"method","url","status","client":"requests"} ("status": null and "error" when the
call raised: the reference then records nothing).

    clients.py LOG BASE session [PATH...]   # one Session: GETs (POST for /api/echo...)
    clients.py LOG BASE alternate           # two Sessions taking turns (a proxy that shares its
                                            # backend connections gives both clients' calls one)
    clients.py LOG BASE wrk FILE...         # wrk's per-thread status files (wrk-log.lua) as log lines
"""
import json
import sys

import requests

DEFAULT = ["/api/order?n=1", "/api/fail", "/api/big", "/api/echo?n=2", "/api/order?n=3",
           "/api/slow?ms=100", "/api/missing", "/api/order?n=4"]


def call(log, session, base, path, client="requests"):
    method = "POST" if path.startswith("/api/echo") else "GET"
    url = base + path
    try:
        data = json.dumps({"method_code": "RP01", "blob": "y" * 300}) if method == "POST" else None
        status, error = session.request(method, url, data=data, timeout=5).status_code, None
    except requests.RequestException as e:
        status, error = None, type(e).__name__
    entry = {"method": method, "url": url, "status": status, "client": client}
    if error:
        entry["error"] = error
    log.write(json.dumps(entry) + "\n")
    log.flush()


def main():
    log, base, scenario = open(sys.argv[1], "a"), sys.argv[2], sys.argv[3]
    if scenario == "session":
        session = requests.Session()
        for path in sys.argv[4:] or DEFAULT:
            call(log, session, base, path)
    elif scenario == "alternate":
        a, b = requests.Session(), requests.Session()
        for i in range(4):
            call(log, a, base, "/api/order?alt=a%d" % i)
            call(log, b, base, "/api/order?alt=b%d" % i)
    elif scenario == "wrk":
        for name in sys.argv[4:]:
            for line in open(name):
                status, path = line.split()
                log.write(json.dumps({"method": "GET", "url": base + path, "status": int(status), "client": "wrk"}) + "\n")


if __name__ == "__main__":
    main()
