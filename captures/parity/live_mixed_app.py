# The service of live-mixed-check.sh: a Flask app instrumented by the real channel-exporter 1.2.2,
# served by waitress on 0.0.0.0:8080, whose outgoing calls go to the partner namespace over HTTPS
# (directly and through squid's CONNECT tunnels), in plain HTTP (directly and through squid as an
# absolute-form request), some with large bodies. SSLKEYLOGFILE (set by the check) makes urllib3
# log every TLS connection's secrets. Each outgoing call is logged as one JSON line in CALLS_LOG:
# method, path, status, host, via, what the exporter's exchange log must hold.
#
#   python live_mixed_app.py CALLS_LOG PROXY_URL
# Routes:
#   /api/<path>    any method; X-Status sets the status, ?n=BYTES a body of that size; JSON {"code": 0}
#   /call/<kind>   makes the outgoing calls of KINDS[kind] (below); answers {"code": 0, "calls": N}
#   /healthcheck   not recorded by the reference
import json
import sys
import threading
import time
import warnings

import channel_exporter  # before the Flask app is created (it patches Flask.__init__)
import requests
from flask import Flask, Response, request

warnings.filterwarnings("ignore")       # the partner's certificate is self-signed: verify=False
app = Flask(__name__)
channel_exporter.__init__("A123010101")
CALLS_LOG = open(sys.argv[1], "a")
PROXY = sys.argv[2]
_log_lock = threading.Lock()

TLS_PARTNER = "https://d002.youtu.realname.dzqd.cn:38087"     # built-in partner "1", TLS
PLAIN_PARTNER = "http://d110.youtu.realname.dzqd.cn:9978"      # built-in partner "1", plaintext
TLS_OTHER = "https://b123010101.svc.local"                     # not a partner: tcode from the host
PLAIN_OTHER = "http://b123010101.svc.local"
BIG = "x" * 150_000

# kind -> [(method, url, headers, json body or None, via proxy?)]
KINDS = {
    "tls": [("GET", TLS_PARTNER + "/youtu/api/facecompare", {"Method-Code": "M1"}, None, False),
            ("POST", TLS_PARTNER + "/youtu/openliveapi/get_images_from_video", None, {"a": 1}, False),
            ("GET", TLS_PARTNER + "/youtu/unlisted?x=1", {"Method-Code": "M2"}, None, False),
            ("GET", TLS_PARTNER + "/fail", None, None, False),
            ("POST", TLS_PARTNER + "/youtu/unlisted", None, {"method_code": "MD"}, False)],
    "tls-proxy": [("GET", TLS_PARTNER + "/youtu/api/facecompare", None, None, True),
                  ("POST", TLS_PARTNER + "/youtu/unlisted", None, {"method_code": "MB"}, True),
                  ("GET", TLS_OTHER + "/svc/a", {"T-Code": "t9"}, None, True)],
    "plain": [("GET", PLAIN_PARTNER + "/pictureliveapi/facecompare", None, None, False),
              ("GET", PLAIN_OTHER + "/svc/b", {"Method-Code": "M3"}, None, False),
              ("POST", PLAIN_OTHER + "/svc/zero", None, {"k": "v"}, False)],
    "plain-proxy": [("GET", PLAIN_PARTNER + "/pictureliveapi/facecompare", None, None, True),
                    ("GET", PLAIN_OTHER + "/fail", None, None, True),
                    ("POST", PLAIN_OTHER + "/svc/post", None, {"method_code": "MP"}, True)],
    "big": [("POST", TLS_PARTNER + "/youtu/api/facecompare", None, {"blob": BIG}, False),
            ("GET", TLS_PARTNER + "/big", None, None, False),
            ("POST", TLS_PARTNER + "/youtu/unlisted", None, {"blob": BIG}, True),
            ("GET", TLS_OTHER + "/big", None, None, True),
            ("POST", PLAIN_OTHER + "/svc/zero", None, {"blob": BIG}, False)],
    "other-tls": [("GET", TLS_OTHER + "/svc/c", {"T-Code": ""}, None, False),
                  ("GET", TLS_OTHER + "/svc/d", None, None, False)],
}

# Keep-alive sessions (several calls on one connection or tunnel), one direct, one through the proxy;
# new sessions for every third /call, so that connections and tunnels open and close all along.
_direct = requests.Session()
_direct.trust_env = False
_proxied = requests.Session()
_proxied.trust_env = False
_proxied.proxies = {"https": PROXY, "http": PROXY}
_count = 0
_count_lock = threading.Lock()
_session_lock = threading.Lock()   # one /call at a time on the shared sessions (waitress has threads)


def _log(entry):
    with _log_lock:
        CALLS_LOG.write(json.dumps(entry) + "\n")
        CALLS_LOG.flush()


@app.route("/api/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def api(rest):
    n = int(request.args.get("n", "0"))
    request.get_data()
    body = '{"code": 0, "pad": "%s"}' % ("p" * n) if n else '{"code": 0}'
    return Response(body, status=int(request.headers.get("X-Status", "200")), mimetype="application/json")


@app.route("/call/<kind>", methods=["GET", "POST"])
def call(kind):
    global _count
    with _count_lock:
        _count += 1
        fresh = _count % 3 == 0
    made = 0
    with _session_lock:
        for method, url, headers, body, proxied in KINDS[kind]:
            if fresh:
                session = requests.Session()
                session.trust_env = False
                if proxied:
                    session.proxies = {"https": PROXY, "http": PROXY}
            else:
                session = _proxied if proxied else _direct
            started = time.monotonic()
            response = session.request(method, url, headers=headers, json=body, timeout=20, verify=False)
            response.content
            elapsed_ms = (time.monotonic() - started) * 1000    # about what the reference times
            if fresh:
                session.close()
            host, _, rest = url.split("//", 1)[1].partition("/")
            _log({"method": method, "path": "/" + rest.split("?")[0], "status": response.status_code,
                  "host": host, "via": "proxy" if proxied else "direct", "tls": url.startswith("https"),
                  "ms": round(elapsed_ms, 3)})
            made += 1
    return Response('{"code": 0, "calls": %d}' % made, mimetype="application/json")


@app.route("/healthcheck")
def healthcheck():
    return Response('{"code": 0}', mimetype="application/json")


if __name__ == "__main__":
    import waitress
    waitress.serve(app, host="0.0.0.0", port=8080, threads=4, ident="waitress")
