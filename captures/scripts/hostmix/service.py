# The service: Flask under gunicorn gthread (keep-alive), port 8080; outgoing calls to a stub (9001),
# through HAProxy send-proxy-v2 (9002 -> nginx proxy_protocol 9003) and HTTPS (9443).
import json, os, threading, time
import requests, urllib3
from flask import Flask, request, Response
urllib3.disable_warnings()
app = Flask(__name__)
LOG = os.environ.get("OUT_LOG", "/dev/shm/h15/out.jsonl")
local = threading.local()
counter = {"n": 0}
lock = threading.Lock()

def session():
    s = getattr(local, "s", None)
    if s is None:
        s = local.s = requests.Session()
    return s

def log(rec):
    with open(LOG, "a") as f:
        f.write(json.dumps(rec) + "\n")

def call(kind, url, fresh, **kw):
    t0 = time.time()
    try:
        r = (requests if fresh else session()).get(url, timeout=5, verify=False, **kw)
        st, code = r.status_code, r.json().get("code")
    except Exception as e:
        st, code = -1, str(e)[:80]
    log({"t0": t0, "t1": time.time(), "kind": kind, "fresh": fresh, "status": st, "code": code})

@app.route("/api/item")
def item():
    return Response(json.dumps({"code": "0000", "id": request.args.get("id"), "name": "widget"}), mimetype="application/json")

@app.route("/api/order", methods=["POST"])
def order():
    body = request.get_json(force=True)
    amt = body.get("amount", 0)
    if amt % 5 == 0:
        return Response(json.dumps({"code": "E100", "msg": "bad amount"}), status=400, mimetype="application/json")
    time.sleep(0.002 * (amt % 7))
    return Response(json.dumps({"code": "0000", "order": amt}), mimetype="application/json")

@app.route("/api/upload", methods=["POST"])
def upload():
    body = request.get_json(force=True)
    return Response(json.dumps({"code": "0001", "echo": body.get("blob", "")[:40000]}), mimetype="application/json")

@app.route("/api/proxy")
def proxy():
    with lock:
        counter["n"] += 1
        n = counter["n"]
    fresh = n % 10 == 0
    call("stub", "http://127.0.0.1:9001/stub.json", False, headers={"T-Code": "STUB"})
    call("ppv2", "http://127.0.0.1:9002/ppv2.json", fresh, headers={"T-Code": "PPV2"})
    call("tls", "https://127.0.0.1:9443/tls.json", fresh, headers={"T-Code": "TLS"})
    return Response(json.dumps({"code": "0000", "n": n}), mimetype="application/json")

@app.route("/healthcheck")
def health():
    return "ok"
