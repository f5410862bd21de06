# analyze.py RUNDIR: per exporter window, inner metrics vs the clients' logs, external calls vs the
# service's log, self counters, CPU and RSS.
import collections, glob, json, re, sys
d = sys.argv[1]
times = {}
for l in open(f"{d}/times"):
    p = l.split()
    if p and p[0].startswith(("A_", "B_", "clients")): times[p[0]] = p[1:]
times = {k: v for k, v in times.items()}
recs = [json.loads(l) for f in ("clients.jsonl", "curl.jsonl") for l in open(f"{d}/{f}")]
outs = [json.loads(l) for l in open(f"{d}/out.jsonl")]
HZ = 100
def prom(path):
    m = {}
    for l in open(path):
        if l.startswith("#") or not l.strip(): continue
        k, v = l.rsplit(" ", 1); m[k] = float(v)
    return m
def labels(k):
    return dict(re.findall(r'(\w+)="([^"]*)"', k))
for tag in "AB":
    launch = float(times[f"{tag}_launch"][0]); up = float(times[f"{tag}_up"][0])
    fin = float(times[f"{tag}_final"][0])
    # the final scrape began at `prefinal` (run2.sh); run.sh noted the time only after it: 0.1 s margin
    edge = float(times[f"{tag}_prefinal"][0]) if f"{tag}_prefinal" in times else fin - 0.1
    cpu0 = int(times[f"{tag}_up"][2]) + int(times[f"{tag}_up"][3])
    cpu1 = int(times[f"{tag}_final"][1]) + int(times[f"{tag}_final"][2])
    hwm = times[f"{tag}_final"][3]
    m = prom(f"{d}/final-{tag}.prom")
    print(f"== window {tag}: {fin - up:.1f} s (launch->up {up - launch:.3f} s); CPU {(cpu1 - cpu0) / HZ:.2f} s "
          f"({(cpu1 - cpu0) / HZ / (fin - up) * 100:.2f} % of a core), VmHWM {hwm} kB")
    for k, v in m.items():
        if re.match(r"channel_exporter_(other_protocol|tls_conn|proxy_protocol|http2|http_exchanges|capture_(received|dropped)|packets_total|flows_(opened|active)|http_kept)", k) or (k.startswith("channel_exporter_http_anomalies") and v):
            print(f"   {k} {v:g}")
    got = collections.Counter()
    for k, v in m.items():
        if k.startswith("A123010101_inner_metrics_count"):
            L = labels(k); got[(L["path"], L["http_status"], L["code"], L["method_code"])] += v
    exp, unsure = collections.Counter(), collections.Counter()
    for r in recs:
        if r["path"] == "/healthcheck" or r["status"] == 404: continue
        key = (r["path"], str(r["status"]), r["code"] or "", r["mc"])
        if r["t0"] >= up and r["t1"] <= edge: exp[key] += 1
        elif (r["t0"] < up and r["t1"] > launch) or (r["t0"] < fin and r["t1"] > edge): unsure[key] += 1
    print("   inner metrics: path status code method_code | exporter | clients inside | in flight at an edge")
    for key in sorted(set(got) | set(exp)):
        g, e, u = int(got[key]), exp[key], unsure[key]
        flag = "" if e <= g <= e + u else "  <-- MISMATCH"
        print(f"     {key} {g} {e} {u}{flag}")
    print(f"     total exporter {int(sum(got.values()))}, clients inside {sum(exp.values())}, in flight {sum(unsure.values())}")
    # outgoing calls
    gotx = collections.Counter(); 
    for k, v in m.items():
        if k.startswith("external_calls_total"):
            L = labels(k); gotx[(L["tcode"], L["status"])] += v
    expx, unx = collections.Counter(), collections.Counter()
    for o in outs:
        key = o["kind"]
        if o["t0"] >= up and o["t1"] <= edge: expx[key] += 1
        elif (o["t0"] < up and o["t1"] > launch) or (o["t0"] < fin and o["t1"] > edge): unx[key] += 1
    print(f"   external_calls_total: {dict(gotx)}; service log inside: {dict(expx)} (ppv2 is 2 hops), in flight {dict(unx)}")
    bad = [o for o in outs if o["status"] != 200]
    if bad: print("   failed outgoing calls:", len(bad), bad[:2])
