#!/usr/bin/env python3
# The verdicts of live-mixed-check.sh, from the files it left in OUT (standard library only).
#
#   live_mixed_compare.py OUT
#
# 1. Exchanges: what the client (client.jsonl: inbound, port 8080) and the service (calls.jsonl:
#    outgoing) logged against our --exchanges log, as multisets of (method, path, status), with the
#    host for outgoing calls; our CONNECTs against squid's access log; /metrics scrapes left out.
# 2. Metrics: compare.py, ours (after the traffic) against the reference library's /metrics.
# 3. Self-metrics that say something was lost: capture drops, TLS decryption failures, fragments
#    dropped, TCP gaps, HTTP anomalies; and the fragments and tunnels seen (that they happened).
# 4. The scraper's findings: counters that went down, RSS over the run.
# Exit status 1 when exchanges differ, label sets differ, a counter went down, a decryption failed
# or a fragment was dropped.
import collections
import json
import os
import re
import subprocess
import sys

OUT = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
failed = []


def lines(name):
    path = os.path.join(OUT, name)
    return [json.loads(l) for l in open(path)] if os.path.exists(path) else []


def port(address):
    return int(address.rsplit(":", 1)[1])


def show_difference(what, expected, seen):
    missing, extra = expected - seen, seen - expected
    verdict = "equal" if not missing and not extra else "DIFFERENT"
    print("   %-44s %d logged, %d seen: %s" % (what + ":", sum(expected.values()), sum(seen.values()), verdict))
    for key, n in sorted(missing.items(), key=str)[:15]:
        print("      missing %dx %s" % (n, key))
    for key, n in sorted(extra.items(), key=str)[:15]:
        print("      extra   %dx %s" % (n, key))
    if missing or extra:
        failed.append(what)


print("== exchanges")
clients = lines("client.jsonl")
errors = [c for c in clients if "error" in c]
if errors:
    print("   client requests that raised (not compared): %d" % len(errors))
calls = lines("calls.jsonl")
ours = [e for e in lines("exchanges.jsonl") if e.get("path") != "/metrics"]
inbound = collections.Counter((e["method"], e["path"], e["status"]) for e in ours if port(e["server"]) == 8080)
connects = [e for e in ours if e["method"] == "CONNECT"]
outgoing = collections.Counter((e["method"], e["host"], e["path"], e["status"]) for e in ours
                               if port(e["server"]) != 8080 and e["method"] != "CONNECT")
show_difference("inbound (client log vs ours)",
                collections.Counter((c["method"], c["path"], c["status"]) for c in clients if "error" not in c), inbound)
show_difference("outgoing (service's log vs ours)",
                collections.Counter((c["method"], c["host"], c["path"], c["status"]) for c in calls), outgoing)
for via in ("direct", "proxy"):
    for tls in (True, False):
        n = sum(1 for c in calls if c["via"] == via and c["tls"] == tls)
        print("      service calls %-6s %-5s %d" % (via, "https" if tls else "http", n))
# Durations: the service's own time around each call (what the reference times, about) against
# ours, paired in order (the service makes one call at a time); which fall in different buckets.
ordered = sorted((e for e in ours if port(e["server"]) != 8080 and e["method"] != "CONNECT"),
                 key=lambda e: e["request_first_byte"])
edges = [100, 200, 500, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000]
bucket = lambda ms: next((i for i, edge in enumerate(edges) if ms <= edge), len(edges))
if len(ordered) == len(calls) and all((c["method"], c["path"]) == (e["method"], e["path"]) for c, e in zip(calls, ordered)):
    moved = [(c, e) for c, e in zip(calls, ordered) if "ms" in c and bucket(c["ms"]) != bucket(e["total_time_s"] * 1000)]
    shorter = sum(1 for c, e in moved if e["total_time_s"] * 1000 < c["ms"])
    print("   outgoing calls in another bucket than the service's own timing: %d of %d (%d ours shorter; %d of them "
          "the first call on their connection)" % (len(moved), len(calls), shorter,
                                                   sum(1 for _, e in moved if e["first_on_connection"])))
    for c, e in moved[:5]:
        print("      %s %s%s: service %.1f ms, ours %.1f ms, first on connection: %s" % (
            c["method"], c["host"], c["path"], c["ms"], e["total_time_s"] * 1000, e["first_on_connection"]))
else:
    print("   (calls and our outgoing exchanges not in the same order: durations not paired)")
squid = [l.split() for l in open(os.path.join(OUT, "squid-access.log"))]
squid_connects = sum(1 for f in squid if len(f) > 5 and f[5] == "CONNECT")
print("   %-44s squid logged %d, ours %d (statuses %s)" % ("CONNECTs:", squid_connects, len(connects),
      dict(collections.Counter(e["status"] for e in connects))))
if squid_connects != len(connects):
    failed.append("CONNECTs")
incomplete = collections.Counter(e.get("completeness") for e in ours)
print("   completeness of ours: %s; with a gap: %d" % (dict(incomplete), sum(1 for e in ours if e.get("saw_gap"))))

print("== metrics: ours vs the reference library")
result = subprocess.run([sys.executable, os.path.join(HERE, "compare.py"), os.path.join(OUT, "ours.prom"),
                         os.path.join(OUT, "reference.prom")], capture_output=True, text=True)
open(os.path.join(OUT, "compare.txt"), "w").write(result.stdout + result.stderr)
summary = [l for l in result.stdout.splitlines() if l.strip()]
for line in summary[-40:]:
    print("   " + line)
if result.returncode != 0:
    failed.append("metrics vs reference")

print("== self-metrics (ours, at the end; non-zero)")
sample = re.compile(r"^(channel_exporter_[a-z_]+)(\{[^}]*\})?\s+(\S+)")
watched = re.compile(r"drop|fail|gap|fragment|reassembled|tls_|tunnel|anomal|limit|truncated|overflow|refused|"
                     r"conflicting|decapsulated|config_reloads|back_in_time|negative|interruptions|skipped")
for line in open(os.path.join(OUT, "ours.prom")):
    m = sample.match(line)
    if not m or not watched.search(m.group(1)) or float(m.group(3)) == 0:
        continue
    print("   " + line.rstrip())
    if m.group(1) in ("channel_exporter_tls_decryption_failures_total", "channel_exporter_ip_fragments_dropped_total",
                      "channel_exporter_capture_dropped_packets_total"):
        failed.append(m.group(1) + (m.group(2) or ""))

print("== scrapes")
decreases = open(os.path.join(OUT, "scrapes", "decreases.txt")).read().splitlines()
print("   scrapes: %s, samples that went down or disappeared: %d" % (
    open(os.path.join(OUT, "scrapes", "scrapes.txt")).read().strip(), len(decreases)))
for d in decreases[:10]:
    print("      " + d)
if decreases:
    failed.append("counters went down")
rss = [l.split("\t") for l in open(os.path.join(OUT, "scrapes", "rss.tsv")).read().splitlines()[1:]]
rss = [(float(t), int(k), int(s)) for t, k, s in rss]
if rss:
    half = rss[len(rss) // 2:]
    n = len(half)
    mt = sum(t for t, _, _ in half) / n
    mk = sum(k for _, k, _ in half) / n
    var = sum((t - mt) ** 2 for t, _, _ in half) or 1.0
    slope = sum((t - mt) * (k - mk) for t, k, _ in half) / var * 60
    print("   RSS KiB: first %d, at 60 s %d, max %d, last %d; second half's trend %+.0f KiB/min; series %d -> %d" % (
        rss[0][1], next((k for t, k, _ in rss if t >= 60), rss[-1][1]), max(k for _, k, _ in rss), rss[-1][1],
        slope, rss[0][2], rss[-1][2]))

print("== %s" % ("FAILED: " + ", ".join(failed) if failed else "all equal"))
sys.exit(1 if failed else 0)
