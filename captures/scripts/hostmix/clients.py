# A keep-alive HTTP client (one requests.Session) at a steady rate, logging each request.
import json, random, sys, time, requests
cid, rate, log = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
rnd = random.Random(cid)
s = requests.Session()
blob = "x" * 40000
f = open(log, "a", buffering=1)
i = 0
while True:
    i += 1
    p = rnd.random()
    t0 = time.time()
    mc = ""
    try:
        if p < 0.40:
            path = "/api/item"; r = s.get("http://127.0.0.1:8080/api/item", params={"id": i})
        elif p < 0.65:
            path = "/api/order"; mc = "ORD1"; r = s.post("http://127.0.0.1:8080/api/order", json={"method_code": "ORD1", "amount": rnd.randrange(100)})
        elif p < 0.80:
            path = "/api/proxy"; mc = "PX1"; r = s.get("http://127.0.0.1:8080/api/proxy", headers={"Method-Code": "PX1"})
        elif p < 0.90:
            path = "/api/upload"; mc = "UP1"; r = s.post("http://127.0.0.1:8080/api/upload", json={"method_code": "UP1", "blob": blob})
        elif p < 0.95:
            path = "/healthcheck"; r = s.get("http://127.0.0.1:8080/healthcheck")
        else:
            path = "/api/missing"; r = s.get("http://127.0.0.1:8080/api/missing")
        st = r.status_code
        try:
            code = r.json().get("code")
        except Exception:
            code = None
    except Exception as e:
        st, code = -1, str(e)[:60]
    t1 = time.time()
    f.write(json.dumps({"c": cid, "t0": t0, "t1": t1, "path": path, "status": st, "code": code, "mc": mc}) + "\n")
    time.sleep(max(0, 1 / rate - (t1 - t0)) * rnd.uniform(0.5, 1.5))
