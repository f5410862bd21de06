# The service under observation: a Flask app instrumented by the real channel-exporter 1.2.2.
#
# Served by waitress on 127.0.0.1:8080 (keep-alive). The reference's own
# exposition is at /metrics on the same port (the library adds that route).
# Routes (the reply is chosen by headers, so path/query/body stay free for the rules):
#   /api/<path>      any method; X-Reply: replies.REPLIES name (or a random campaign's reply),
#                    X-Status, X-Delay-Ms, X-Chunked: 1 (no Content-Length: waitress chunks it)
#   /call/<plan>     makes the outgoing calls of plans.PLANS[plan] with requests
#   /healthcheck     not recorded by the reference
#   /boom            unhandled exception -> 500
#   /abort/<status>  flask.abort(status)
#   /redirect        302 to /api/target
#   /only-get        GET only (POST -> 405)
import sys
import time

import resolver

resolver.install()

import channel_exporter  # must come before the Flask app is created (patches Flask.__init__)
import requests
from flask import Flask, Response, abort, redirect, request

from plans import PLANS
import random_campaign
from replies import reply_encoded

app = Flask(__name__)
channel_exporter.__init__("A123010101")

shared_session = requests.Session()
shared_session.trust_env = False   # no proxy from the environment; the loopback stand-ins only


def _delay():
    delay_ms = float(request.headers.get("X-Delay-Ms", "0"))
    if delay_ms:
        time.sleep(delay_ms / 1000.0)


@app.route("/api/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def api(rest):
    _delay()
    name = request.headers.get("X-Reply", "code_int0")
    body, content_type, encoding = reply_encoded(name)
    if request.headers.get("X-Chunked") == "1":
        body = iter([body])     # a body of unknown length: waitress sends it chunked (HTTP/1.1)
    response = Response(body, status=int(request.headers.get("X-Status", "200")))
    if encoding:
        response.headers["Content-Encoding"] = encoding
    if content_type is None:
        del response.headers["Content-Type"]
    else:
        response.headers["Content-Type"] = content_type
    return response


# A /call handler's own duration is padded to this, so that its inner observation sits
# mid-bucket (200..500 ms) however long its fast calls took; X-Delay-Ms overrides.
CALL_PAD_TO_MS = 350


@app.route("/call/<plan>", methods=["GET", "POST"])
def call_plan(plan):
    started = time.monotonic()
    made = 0
    for spec in random_campaign.plan(plan) if random_campaign.is_random(plan) else PLANS[plan]:
        kwargs = dict(headers=spec["headers"], params=spec["params"], data=spec["data"],
                      json=spec["json"], files=spec["files"], timeout=spec["timeout"])
        try:
            if spec["session"] == "new":
                with requests.Session() as session:
                    session.trust_env = False
                    session.headers.update(spec["session_headers"] or {})
                    response = session.request(spec["method"], spec["url"], **kwargs)
            else:
                response = shared_session.request(spec["method"], spec["url"], **kwargs)
        except requests.RequestException as error:
            if not spec["raises"]:
                raise
            sys.stderr.write("call %s %s raised %s (expected)\n" % (spec["method"], spec["url"], type(error).__name__))
        else:
            sys.stderr.write("call %s %s -> %d\n" % (spec["method"], spec["url"], response.status_code))
        made += 1
    if "X-Delay-Ms" in request.headers:
        _delay()
    else:
        elapsed_ms = (time.monotonic() - started) * 1000
        if elapsed_ms > CALL_PAD_TO_MS - 30:
            sys.stderr.write("WARNING: /call/%s took %.0f ms, too close to the pad target\n" % (plan, elapsed_ms))
        sys.stderr.write("/call/%s: calls took %.0f ms\n" % (plan, elapsed_ms))
        time.sleep(max(0.0, CALL_PAD_TO_MS - elapsed_ms) / 1000.0)
    return Response('{"code": 0, "calls": %d}' % made, mimetype="application/json")


@app.route("/healthcheck")
def healthcheck():
    return Response('{"code": 0}', mimetype="application/json")


@app.route("/boom")
def boom():
    return 1 // 0


@app.route("/abort/<int:status>")
def abort_with(status):
    abort(status)


@app.route("/redirect")
def redirect_away():
    return redirect("/api/target")


@app.route("/only-get")
def only_get():
    return Response('{"code": 0}', mimetype="application/json")


if __name__ == "__main__":
    import waitress
    waitress.serve(app, host="127.0.0.1", port=8080, threads=4, ident="waitress")
