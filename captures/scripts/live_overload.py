#!/usr/bin/env python3
"""Helpers of live-overload.sh (see its header): the traffic's files, the calm client, the checks.

  live_overload.py setup WORK              nginx.conf, www/ and mix.lua (wrk's script) in WORK
  live_overload.py calm HOST PORT N RATE   N requests over 4 keep-alive connections at RATE/s;
                                           prints the count of answers whose size was right
  live_overload.py check WORK              the run's figures, from the files the script wrote

Every target names the size of its answer (GET /w/SIZE.json: a static file; POST /p/SIZE:
nginx's `return` after a request body, wrk's 200 B or 24 KiB, the calm client's 300 B), and no
two targets share a size, so a response the exporter paired with another request's shows in the
exchange log as a size that differs from its path's.
"""
import http.client
import json
import os
import random
import re
import sys
import time

# Sizes: small and large answers, every one distinct.
GET_SIZES = [137 + 211 * i for i in range(32)] + [20_000 + 31_013 * i for i in range(16)]
POST_SIZES = [91 + 13 * i for i in range(8)]


def body(size: int, code: int) -> bytes:
    head = '{"code":"%d","pad":"' % code
    tail = '"}'
    return (head + "x" * (size - len(head) - len(tail)) + tail).encode()


def post_literal(size: int, code: int) -> str:
    # nginx `return 200 '...'`: no quote or backslash inside.
    return body(size, code).decode()


def setup(work: str) -> None:
    www = os.path.join(work, "www", "w")
    os.makedirs(www, exist_ok=True)
    os.makedirs(os.path.join(work, "nginx", "tmp"), exist_ok=True)
    for k, size in enumerate(GET_SIZES):
        with open(os.path.join(www, f"{size}.json"), "wb") as f:
            f.write(body(size, k % 7))
    posts = "\n".join(
        f"        location = /p/{size} {{ return 200 '{post_literal(size, 100 + k)}'; }}"
        for k, size in enumerate(POST_SIZES))
    with open(os.path.join(work, "nginx.conf"), "w") as f:
        f.write(f"""daemon off;
master_process on;
worker_processes 1;
pid nginx/nginx.pid;
error_log nginx/error.log warn;
events {{ worker_connections 8192; }}
http {{
    log_format counts '$request_uri $status $body_bytes_sent $request_length';
    access_log nginx/access.log counts buffer=256k flush=1s;
    default_type application/json;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000;
    client_body_temp_path nginx/tmp/body;
    client_body_buffer_size 64k;
    proxy_temp_path nginx/tmp/proxy;
    fastcgi_temp_path nginx/tmp/fastcgi;
    uwsgi_temp_path nginx/tmp/uwsgi;
    scgi_temp_path nginx/tmp/scgi;
    server {{
        listen 8080 backlog=4096;
        root www;
{posts}
    }}
}}
""")
    # wrk: 90 % GETs (3 in 4 of them small), 10 % POSTs (half with a 24 KiB body).
    small = [s for s in GET_SIZES if s < 20_000]
    large = [s for s in GET_SIZES if s >= 20_000]
    with open(os.path.join(work, "mix.lua"), "w") as f:
        f.write("local small = {%s}\nlocal large = {%s}\nlocal posts = {%s}\n" % (
            ",".join(map(str, small)), ",".join(map(str, large)), ",".join(map(str, POST_SIZES))))
        f.write("""local short = string.rep("a", 200)
local long = string.rep("b", 24576)
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
   local r = math.random(100)
   if r <= 68 then
      return wrk.format("GET", "/w/" .. small[math.random(#small)] .. ".json")
   elseif r <= 90 then
      return wrk.format("GET", "/w/" .. large[math.random(#large)] .. ".json")
   else
      local b = (r % 2 == 0) and short or long
      return wrk.format("POST", "/p/" .. posts[math.random(#posts)], {["Content-Type"] = "text/plain"}, b)
   end
end
""")


def calm(host: str, port: int, n: int, rate: float) -> None:
    conns = [http.client.HTTPConnection(host, port, timeout=10) for _ in range(4)]
    right = 0
    start = time.monotonic()
    for i in range(n):
        c = conns[i % 4]
        if i % 10 == 9:
            size = random.choice(POST_SIZES)
            c.request("POST", f"/p/{size}", body=b"c" * 300, headers={"Content-Type": "text/plain"})
        else:
            size = random.choice(GET_SIZES)
            c.request("GET", f"/w/{size}.json")
        r = c.getresponse()
        data = r.read()
        right += r.status == 200 and len(data) == size
        delay = start + (i + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    for c in conns:
        c.close()
    print(right)


def expected_size(path: str):
    m = re.fullmatch(r"/w/(\d+)\.json|/p/(\d+)", path)
    return int(m.group(1) or m.group(2)) if m else None


def check(work: str) -> None:
    """Phantom pairs in the exchange log; nginx's answers by phase; prints JSON."""
    out = {}
    kinds = {}
    complete = phantom = 0
    examples = []
    with open(os.path.join(work, "exchanges.jsonl"), "rb") as f:
        for line in f:
            e = json.loads(line)
            kind = e.get("completeness")
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind != "complete":
                continue
            complete += 1
            size = expected_size(e.get("path") or "")
            if size is None or e.get("status") != 200 or e.get("response_body_bytes") != size:
                phantom += 1
                if len(examples) < 5:
                    examples.append(e)
    out["exchange_log"] = {"by_completeness": kinds, "complete_mismatched": phantom, "mismatch_examples": examples}
    with open(os.path.join(work, "run.json")) as f:
        run = json.load(f)
    out["run"] = run
    lines = open(os.path.join(work, "nginx", "access.log")).read().splitlines()
    l0, l1, l2 = run["nginx_lines"]
    for phase, part in (("burst", lines[l0:l1]), ("calm", lines[l1:l2])):
        statuses = {}
        for line in part:
            status = line.split()[1]
            statuses[status] = statuses.get(status, 0) + 1
        out[f"nginx_{phase}"] = statuses
    wrk = open(os.path.join(work, "wrk.txt")).read()
    m = re.search(r"(\d+) requests in ([\d.]+)s", wrk)
    out["wrk"] = {"requests": int(m.group(1)), "seconds": float(m.group(2)),
                  "errors": " ".join(re.findall(r"Socket errors:.*|Non-2xx.*", wrk))} if m else wrk
    m0, m1, m2 = (exposition(os.path.join(work, f"m{i}.prom")) for i in range(3))
    for phase, (a, b) in (("burst", (m0, m1)), ("calm", (m1, m2))):
        deltas = {k: b.get(k, 0) - a.get(k, 0) for k in sorted(set(a) | set(b)) if k.startswith(SELF) or k == INNER}
        out[f"delta_{phase}"] = {k: v for k, v in deltas.items() if v}
    samples = [l.split("\t") for l in open(os.path.join(work, "samples.tsv")).read().splitlines()]
    times = [float(s[1]) for s in samples if len(s) == 6 and s[2] == "200"]
    rss = [int(s[4]) for s in samples if len(s) == 6 and s[4].isdigit()]
    out["scrapes"] = {"count": len(samples), "ok": len(times), "max_s": max(times, default=None),
                      "median_s": sorted(times)[len(times) // 2] if times else None,
                      "over_1s": sum(t > 1 for t in times)}
    out["rss_kb"] = {"max": max(rss, default=None), "last": rss[-1] if rss else None, "first": rss[0] if rss else None}
    print(json.dumps(out, indent=1))


INNER = "A123010101_inner_metrics_count"
SELF = ("channel_exporter_capture_", "channel_exporter_packets_total", "channel_exporter_tcp_gap",
        "channel_exporter_http_exchanges", "channel_exporter_observations", "channel_exporter_flows_ended",
        "channel_exporter_http_anomalies", "channel_exporter_config_reloads")


def exposition(path: str) -> dict:
    """Series -> value; the inner histogram's _count summed over its label sets under INNER."""
    values = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        series, value = line.rsplit(" ", 1)
        if series.startswith(INNER + "{"):
            values[INNER] = values.get(INNER, 0) + float(value)
        else:
            values[series] = float(value)
    return values


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "setup":
        setup(sys.argv[2])
    elif command == "calm":
        calm(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    elif command == "check":
        check(sys.argv[2])
    else:
        sys.exit(__doc__)
