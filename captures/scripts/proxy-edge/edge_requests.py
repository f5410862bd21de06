#!/usr/bin/env python3
"""`requests` as the reference's services call (captures/scripts/make-server-edge-fixture.sh): one
Session, each call logged as {"method","url","status","client":"requests"}, with "status": null
and the exception's name as "error" when the call raised (the reference then records nothing).

    edge_requests.py LOG get URL...          # GETs on one Session
    edge_requests.py LOG post URL FILE N...  # POSTs of the file's first N bytes, a Session each
"""
import json
import sys

import requests


def call(log, session, method, url, **options):
    try:
        status, error = session.request(method, url, timeout=5, **options).status_code, None
    except requests.RequestException as e:
        status, error = None, type(e).__name__
    entry = {"method": method, "url": url, "status": status, "client": "requests"}
    if error:
        entry["error"] = error
    log.write(json.dumps(entry) + "\n")


def main():
    log, scenario = open(sys.argv[1], "a"), sys.argv[2]
    session = requests.Session()
    if scenario == "get":
        for url in sys.argv[3:]:
            call(log, session, "GET", url)
    elif scenario == "post":
        url, body = sys.argv[3], open(sys.argv[4], "rb").read()
        for n in sys.argv[5:]:
            call(log, requests.Session(), "POST", url, data=body[:int(n)])


if __name__ == "__main__":
    main()
