#!/usr/bin/env python3
"""Compares `<SYSCODE>_consumer_metrics` in expositions with what the workers measured.

usage: compare_polyglot.py WORKERS.json EXPOSITION [EXPOSITION...]
Each EXPOSITION is a file with the text of a `/metrics` scrape or of `channel-exporter replay`'s
output. Per (topic, code): count and per-bucket (not cumulative) counts of the default consumer
buckets, from the workers' own durations (as expected.py) and from each exposition; prints one
line per series and `equal` or the differences; exits 1 when any series differs.
"""
import json
import re
import sys
from collections import defaultdict

BUCKETS = [100, 200, 500, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000]  # as expected.py


def bucket(ms):
    return next((i for i, le in enumerate(BUCKETS) if ms <= le), len(BUCKETS))


SAMPLE = re.compile(r'^[A-Z][0-9]{9}_consumer_metrics_bucket\{(.*)\} ([0-9.e+]+)$')


def truth(path):
    rows = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
    for r in json.load(open(path))["records"]:
        rows[(r["queue"], str(r["code"]))][bucket(r["duration_ms"])] += 1
    return {k: v for k, v in rows.items()}


def exposition(path):
    cumulative = defaultdict(dict)
    for line in open(path):
        m = SAMPLE.match(line.strip())
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1)))
        cumulative[(labels["topic"], labels["code"])][labels["le"]] = float(m.group(2))
    rows = {}
    for key, les in cumulative.items():
        values = [les[f"{float(le)}"] for le in BUCKETS] + [les["+Inf"]]
        rows[key] = [int(values[0])] + [int(b - a) for a, b in zip(values, values[1:])]
    return rows


def main():
    want = truth(sys.argv[1])
    differ = False
    for path in sys.argv[2:]:
        got = exposition(path)
        for key in sorted(set(want) | set(got)):
            w, g = want.get(key), got.get(key)
            same = w == g
            differ |= not same
            print(f"{path}: {key[0]} code={key[1]} truth {sum(w) if w else 0} {w} exporter {sum(g) if g else 0} {g}"
                  f" {'equal' if same else 'DIFFERENT'}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
