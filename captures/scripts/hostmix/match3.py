# match3.py RUNDIR TAG: each keep-alive client's records matched, on the connection it uses, to the
# live exchange log (request first byte within [t0, t1]); prints the records inside [up, final]
# with no exchange, and the inbound exchanges with no record.
import bisect, collections, json, sys
d, tag = sys.argv[1], sys.argv[2]
times = {l.split()[0]: l.split()[1:] for l in open(f"{d}/times")}
up, fin = float(times[f"{tag}_up"][0]), float(times[f"{tag}_final"][0])
recs = collections.defaultdict(list)
for f in ("clients.jsonl", "curl.jsonl"):
    for l in open(f"{d}/{f}"):
        r = json.loads(l)
        if up - 1 < r["t0"] < fin + 1: recs[r["c"]].append(r)
ex = collections.defaultdict(list)
for l in open(f"{d}/exchanges-{tag}.jsonl"):
    e = json.loads(l)
    if e["server"].endswith(":8080"): ex[e["client"]].append(e)
unmatched_ex = set((p, i) for p, v in ex.items() for i in range(len(v)))
def match(rs, ports):
    miss = []
    idx = {p: sorted(range(len(ex[p])), key=lambda i: ex[p][i].get("request_first_byte") or 0) for p in ports}
    for r in rs:
        hit = None
        for p in ports:
            for i in idx[p]:
                t = ex[p][i].get("request_first_byte")
                if t and r["t0"] - 1e-4 <= t <= r["t1"] and (p, i) in unmatched_ex and ex[p][i]["path"] == r["path"]:
                    hit = (p, i); break
            if hit: break
        if hit: unmatched_ex.discard(hit)
        elif r["t0"] >= up and r["t1"] <= fin: miss.append(r)
    return miss
# client -> its ports: those whose exchanges fall inside its records most often
for c, rs in sorted(recs.items()):
    score = collections.Counter()
    for p, v in ex.items():
        ts = sorted(e.get("request_first_byte") or 0 for e in v)
        for r in rs[:200]:
            i = bisect.bisect_left(ts, r["t0"] - 1e-4)
            if i < len(ts) and ts[i] <= r["t1"]: score[p] += 1
    ports = [p for p, n in score.items() if c == 0 or n > 0.5 * min(200, len(rs))]
    if c == 0: ports = [p for p in ex if len(ex[p]) <= 3]
    miss = match(rs, ports)
    print(f"client {c}: {len(rs)} records, ports {ports[:3]}{'...' if len(ports) > 3 else ''} ({len(ports)}), inside without exchange: {len(miss)}")
    for r in miss: print(f"     {r['path']} {r['status']} t0-up={r['t0'] - up:+.3f} fin-t1={fin - r['t1']:+.3f}")
left = [ex[p][i] for p, i in unmatched_ex]
print("inbound exchanges with no record:", len(left), collections.Counter((e['completeness'], round((e.get('request_first_byte') or e.get('response_first_byte')) - up) if True else 0) for e in left))
