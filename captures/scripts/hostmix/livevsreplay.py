# livevsreplay.py RUNDIR: live exchange log vs the replay of the same window, matched per
# (client, server, path, status, completeness) by time within 1 ms.
import json, collections, sys
d = sys.argv[1]
times = {l.split()[0]: l.split()[1:] for l in open(f"{d}/times")}
for w in "AB":
    up = float(times[f"{w}_up"][0])
    def group(path):
        g = collections.defaultdict(list)
        for l in open(path):
            e = json.loads(l)
            g[(e["client"], e["server"], e.get("path"), e.get("status"), e.get("completeness"))].append(e.get("request_first_byte") or e.get("response_first_byte"))
        return g
    L, R = group(f"{d}/exchanges-{w}.jsonl"), group(f"{d}/replay-ex-{w}.jsonl")
    onlyL, onlyR = [], []
    for k in set(L) | set(R):
        a, b = sorted(L.get(k, [])), sorted(R.get(k, []))
        i = j = 0
        while i < len(a) and j < len(b):
            if abs(a[i] - b[j]) < 1e-3: i += 1; j += 1
            elif a[i] < b[j]: onlyL.append((a[i] - up, k)); i += 1
            else: onlyR.append((b[j] - up, k)); j += 1
        onlyL += [(t - up, k) for t in a[i:]]; onlyR += [(t - up, k) for t in b[j:]]
    print(w, "live", sum(map(len, L.values())), "replay", sum(map(len, R.values())), "only live", len(onlyL), "only replay", len(onlyR))
    for name, xs in (("only live", onlyL), ("only replay", onlyR)):
        for t, k in sorted(xs): print(f"    {name} {t:+.3f} {k}")
