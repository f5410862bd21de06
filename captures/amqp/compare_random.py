#!/usr/bin/env python3
"""Compares `<SYSCODE>_consumer_metrics` per (topic, code) for a random_consumers.py campaign.

usage: compare_random.py OUT_DIR [LIVE_PREFIX REPLAY_PREFIX]   (default: live replay)

Truth: the reference's own /metrics (reference.prom) for `ref*` queues, the workers' records
(records.json, bucketed as expected.py does) for `own*` and `bq*`. Ours: live-k1.prom /
replay-k1.prom for the PORT1 queues (consumer_concurrency 1), live-k3.prom / replay-k3.prom for
`bq*` (3). Prints every series whose count or buckets differ, per comparison.
"""
import json
import os
import re
import sys

BUCKETS = [100, 200, 500, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000]
LINE = re.compile(r'^(\w+?)_consumer_metrics_bucket\{(.*)\} (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse(path):
    """{(topic, code): [non-cumulative counts per bucket incl. +Inf]}"""
    cum = {}
    for line in open(path):
        m = LINE.match(line.strip())
        if not m:
            continue
        labels = dict(LABEL.findall(m.group(2)))
        key = (labels["topic"], labels["code"])
        le = labels["le"]
        idx = len(BUCKETS) if le == "+Inf" else BUCKETS.index(int(float(le)))
        cum.setdefault(key, [0] * (len(BUCKETS) + 1))[idx] = int(float(m.group(3)))
    return {k: [v[0]] + [v[i] - v[i - 1] for i in range(1, len(v))] for k, v in cum.items()}


def bucket(ms):
    for i, le in enumerate(BUCKETS):
        if ms <= le:
            return i
    return len(BUCKETS)


def from_records(records):
    rows = {}
    for r in records:
        rows.setdefault((r["queue"], str(r["code"])), [0] * (len(BUCKETS) + 1))[bucket(r["duration_ms"])] += 1
    return rows


def show(v):
    return f"n={sum(v)} " + " ".join(f"{('+Inf' if i == len(BUCKETS) else BUCKETS[i])}:{c}" for i, c in enumerate(v) if c)


def main():
    d = sys.argv[1]
    prefixes = dict(live=sys.argv[2], replay=sys.argv[3]) if len(sys.argv) > 3 else dict(live="live", replay="replay")
    recs = json.load(open(os.path.join(d, "records.json")))["records"]
    ref = {k: v for k, v in parse(os.path.join(d, "reference.prom")).items() if k[0].startswith("ref")}
    truth = dict(ref)
    truth.update(from_records(recs))
    margin = min((min(abs(r["duration_ms"] - le) for le in BUCKETS) for r in recs), default=0)
    ours = {}
    for mode in ("live", "replay"):
        a = parse(os.path.join(d, f"{prefixes[mode]}-k1.prom"))
        b = parse(os.path.join(d, f"{prefixes[mode]}-k3.prom"))
        ours[mode] = {k: v for k, v in a.items() if not k[0].startswith("bq")}
        ours[mode].update({k: v for k, v in b.items() if k[0].startswith("bq")})
        # Any bq series in k1 or non-bq in k3 are the other instance's queues, not compared.
    result = {}
    print(f"records: {len(recs)} (nearest bucket edge {margin:.1f} ms); reference observations: "
          f"{sum(sum(v) for v in ref.values())}")
    for name, x, y in (("live vs truth", "live", "truth"), ("replay vs truth", "replay", "truth"),
                       ("live vs replay", "live", "replay")):
        X = ours[x] if x != "truth" else truth
        Y = ours[y] if y != "truth" else truth
        keys = sorted(set(X) | set(Y))
        bad = [k for k in keys if X.get(k, [0] * 14) != Y.get(k, [0] * 14)]
        cnt_bad = [k for k in keys if sum(X.get(k, [0])) != sum(Y.get(k, [0]))]
        result[name] = dict(series=len(keys), mismatched=len(bad), count_mismatched=len(cnt_bad),
                            observations=(sum(sum(v) for v in X.values()), sum(sum(v) for v in Y.values())))
        print(f"\n== {name}: {len(keys)} series, {len(bad)} differ ({len(cnt_bad)} in count); "
              f"observations {result[name]['observations'][0]} vs {result[name]['observations'][1]}")
        for k in bad:
            print(f"  {k[0]:>6} code={k[1]}  {x}: {show(X.get(k, [0] * 14))}  |  {y}: {show(Y.get(k, [0] * 14))}")
    print("\nall series (truth):")
    for k in sorted(truth):
        print(f"  {k[0]:>6} code={k[1]}  {show(truth[k])}")
    json.dump(result, open(os.path.join(d, f"compare-{prefixes['live']}-{prefixes['replay']}.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
