#!/usr/bin/env python3
"""A service's outgoing calls through a forward proxy, made with `requests` (what the reference
library patches): one Session per proxy, plain HTTP (absolute-form targets) and HTTPS (a CONNECT
tunnel), each call logged as the caller saw it.

    proxy_clients.py LOG PROXY_URL [PROXY_URL...]    # "direct" for no proxy
"""
import json
import sys
import warnings

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

warnings.filterwarnings("ignore")  # the partner's self-signed certificate (verify=False)

HEADERS = {"User-Agent": "svc-order/1.0", "Method-Code": "MC1", "T-Code": "t01"}


def calls():
    yield "GET", "http://partner.example:8080/api/x?y=1", {"headers": HEADERS}
    yield "POST", "http://partner.example:8080/api/order", {"json": {"method_code": "MC2", "n": 1}}
    yield "GET", "http://partner.example:8080/api/fail", {"headers": {"T-Code": ""}}
    yield "GET", "http://a123020202.example:8080/api/zero", {}
    yield "GET", "http://partner.example:8080/api/quote?Method-Code=MC5", {}
    # Through the proxy these two share one CONNECT tunnel (the Session keeps it).
    yield "GET", "https://partner.example/api/x", {"headers": HEADERS}
    yield "GET", "https://partner.example/api/zero", {}


def main():
    log = open(sys.argv[1], "a")
    for proxy in sys.argv[2:]:
        session = requests.Session()
        # tinyproxy 1.11 closes its client connection after each response without saying so
        # (no `Connection: close`): a pooled connection may be closed as the next call goes out on
        # it. Retried inside the call (one call for the caller, and for the reference), as services
        # configure requests to do; on the wire, a request without response, then the call again.
        retry = HTTPAdapter(max_retries=Retry(total=2, allowed_methods=None, status_forcelist=[], raise_on_status=False))
        session.mount("http://", retry)
        session.mount("https://", retry)
        if proxy != "direct":
            session.proxies = {"http": proxy, "https": proxy}
        for method, url, options in calls():
            # verify per call: a Session's verify=False loses to REQUESTS_CA_BUNDLE from the environment.
            response = session.request(method, url, timeout=10, verify=False, **options)
            log.write(json.dumps({"method": method, "url": url, "status": response.status_code,
                                  "proxy": proxy.split("@")[-1].split("//")[-1]}) + "\n")
        session.close()
    log.close()


if __name__ == "__main__":
    main()
