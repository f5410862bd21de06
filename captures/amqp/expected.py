#!/usr/bin/env python3
"""Expected consumer metrics from what the workers measured themselves.

usage: expected.py RECORDS.json > NAME.expected.txt

One line per (queue, code): the count, then the number of observations in
each bucket of the default consumer buckets (ms, `le` inclusive as in
Prometheus; not cumulative), the last column being +Inf. Also prints how
far each duration is from its nearest bucket edge, as a comment, so that a
reader can see the expectation does not sit on a knife's edge.
"""
import json
import sys
from collections import defaultdict

BUCKETS = [100, 200, 500, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000]


def bucket(ms):
    for i, le in enumerate(BUCKETS):
        if ms <= le:
            return i
    return len(BUCKETS)


records = json.load(open(sys.argv[1]))["records"]
rows = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
margin = min((min(abs(r["duration_ms"] - le) for le in BUCKETS) for r in records), default=0)
for r in records:
    rows[(r["queue"], r["code"])][bucket(r["duration_ms"])] += 1
print("# queue code count " + " ".join(f"le={le}" for le in BUCKETS) + " le=+Inf")
print(f"# from {len(records)} worker measurements; nearest bucket edge {margin:.1f} ms away")
for (q, code), counts in sorted(rows.items()):
    print(q, code, sum(counts), " ".join(map(str, counts)))
