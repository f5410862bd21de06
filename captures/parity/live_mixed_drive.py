#!/usr/bin/env python3
# The client and the scraper of live-mixed-check.sh (standard library and requests only).
#
#   live_mixed_drive.py drive LOG SECONDS KEYLOG TARGET...
#       Two client threads call the service at TARGET (http://ADDR:8080, one per tunnel) for SECONDS:
#       small and large requests and responses, statuses the reference records and one it does not
#       (404), /healthcheck, and /call/<kind> (the service's outgoing calls). Each exchange it got is
#       one JSON line in LOG (method, path, status, target). Halfway, traffic pauses and KEYLOG is
#       rotated as logrotate's copytruncate does (copied to KEYLOG.1, then truncated in place).
#   live_mixed_drive.py scrape DIR URL PID STOPFILE
#       Every 3 s until STOPFILE exists: GET URL (our /metrics), check that no counter or histogram
#       sample went down since the previous scrape, and write PID's resident set size. Writes
#       DIR/rss.tsv, DIR/decreases.txt, DIR/scrapes.txt (count) and keeps every 20th scrape and the last.
import json
import os
import random
import re
import shutil
import sys
import threading
import time
import urllib.request

KINDS = ["tls", "tls-proxy", "plain", "plain-proxy", "big", "other-tls"]


def step(rng):
    """One request: (method, path with query, headers, body)."""
    r = rng.random()
    n = rng.randrange(1, 50)
    if r < 0.20:
        return "GET", "/api/items/%d" % n, {"User-Agent": "mixed-client/%d" % n}, None
    if r < 0.30:
        return "GET", "/api/big?n=%d" % rng.choice([3000, 20000, 200000]), {}, None
    if r < 0.42:
        return "POST", "/api/upload", {"Content-Type": "application/json"}, \
            json.dumps({"method_code": "U%d" % (n % 3), "blob": "b" * rng.choice([5000, 40000, 300000])}).encode()
    if r < 0.48:
        return "PUT", "/api/items/%d" % n, {"X-Status": "201"}, b'{"k": 1}'
    if r < 0.52:
        return "DELETE", "/api/items/%d" % n, {"X-Status": "500"}, None
    if r < 0.56:
        return "GET", "/api/missing/%d" % n, {"X-Status": "404"}, None
    if r < 0.60:
        return "GET", "/healthcheck", {}, None
    return "POST", "/call/" + rng.choice(KINDS), {"Method-Code": "C%d" % (n % 4)}, None


def drive(log_path, seconds, keylog, targets):
    import requests
    log = open(log_path, "a")
    lock = threading.Lock()
    pause = threading.Event()          # set: the threads stop sending (the key log is rotated)
    idle = [threading.Event() for _ in range(2)]
    deadline = time.monotonic() + seconds

    def worker(index):
        rng = random.Random(1900 + index)
        session = None
        done = 0
        while time.monotonic() < deadline:
            if pause.is_set():
                idle[index].set()
                time.sleep(0.1)
                continue
            idle[index].clear()
            if session is None or rng.random() < 0.1:
                if session is not None:
                    session.close()
                session = requests.Session()
                session.trust_env = False
            method, path, headers, body = step(rng)
            target = rng.choice(targets)
            try:
                response = session.request(method, target + path, headers=headers, data=body, timeout=60)
                entry = {"method": method, "path": path.split("?")[0], "status": response.status_code,
                         "target": target}
            except Exception as error:      # logged, not compared: the exporter may have seen part of it
                entry = {"method": method, "path": path.split("?")[0], "error": type(error).__name__,
                         "target": target}
                session = None
            with lock:
                log.write(json.dumps(entry) + "\n")
                log.flush()
            done += 1
            time.sleep(rng.uniform(0.02, 0.25))
        idle[index].set()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(seconds / 2)
    pause.set()
    for event in idle:
        event.wait()
    time.sleep(1.5)                     # the exporter has read every key the last connections logged
    shutil.copyfile(keylog, keylog + ".1")
    with open(keylog, "r+") as f:
        f.truncate(0)
    sys.stderr.write("key log rotated (copytruncate) at %s\n" % time.strftime("%H:%M:%S"))
    time.sleep(1.0)
    pause.clear()
    for thread in threads:
        thread.join()


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)")


def monotonic_samples(text):
    """{(name, labels): value} of the counter and histogram samples (not _created) in an exposition."""
    kinds, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            kinds[name] = kind.strip()
            continue
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m or m.group(1).endswith("_created"):
            continue
        name = m.group(1)
        family = next((f for f in (name, re.sub(r"_(total|bucket|count|sum)$", "", name)) if f in kinds), None)
        if family is not None and kinds[family] in ("counter", "histogram"):
            samples[(name, m.group(2) or "")] = float(m.group(3))
    return samples


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def scrape(out, url, pid, stopfile):
    previous, count, decreases = {}, 0, []
    rss = open(os.path.join(out, "rss.tsv"), "w")
    rss.write("seconds\trss_kib\tseries\n")
    started = time.monotonic()
    while not os.path.exists(stopfile):
        text = urllib.request.urlopen(url, timeout=10).read().decode("utf-8")
        samples = monotonic_samples(text)
        for key, value in samples.items():
            if key in previous and value < previous[key]:
                decreases.append("scrape %d: %s%s %s -> %s" % (count, key[0], key[1], previous[key], value))
        missing = [k for k in previous if k not in samples]
        decreases.extend("scrape %d: %s%s disappeared" % (count, k[0], k[1]) for k in missing)
        previous = samples
        rss.write("%.1f\t%d\t%d\n" % (time.monotonic() - started, rss_kib(pid), len(samples)))
        rss.flush()
        if count % 20 == 0:
            open(os.path.join(out, "scrape-%03d.prom" % count), "w").write(text)
        open(os.path.join(out, "scrape-last.prom"), "w").write(text)
        count += 1
        time.sleep(3)
    open(os.path.join(out, "decreases.txt"), "w").write("".join(d + "\n" for d in decreases))
    open(os.path.join(out, "scrapes.txt"), "w").write("%d\n" % count)


if __name__ == "__main__":
    if sys.argv[1] == "drive":
        drive(sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5:])
    elif sys.argv[1] == "scrape":
        scrape(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        sys.exit("usage: live_mixed_drive.py drive|scrape ...")
