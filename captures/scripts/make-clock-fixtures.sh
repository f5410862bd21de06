#!/usr/bin/env bash
# Records captures/http/clock/clock.pcap and makes from it copies whose timestamps jump as real
# ones do (captures/README.md, "Packet timestamps that jump"): a Python HTTP/1.1 server on 18081
# (an inbound port), Python `requests` sessions kept open all along (one fast call every 0.5 s,
# one call of 800 ms every second) and curl before and after, on a namespace's loopback (MTU
# 1500, offloads off). Then, at the first packet 2.2 s into the recording (a slow call is in
# flight, every session open):
#   step-back.pcap      editcap/mergecap: the rest shifted by -3600 s (a clock stepped back)
#   step-back-30s.pcap  the same by -30 s (an NTP step)
#   step-forward.pcap   the same by +3600 s (a clock stepped forward)
#   concatenated.pcap   mergecap -a of the recording with itself (time goes back at the seam)
#   zero.pcap           every timestamp 0 (clock_rewrite.py)
#   garbage.pcap        every timestamp random (clock_rewrite.py, seed 17)
#   reordered.pcap      neighbours of two connections less than 5 ms apart swapped in the file
#                       (clock_rewrite.py)
#   skewed-behind.pcapng, skewed-ahead.pcapng   pcapng of two interfaces, the connections taken
#                       in turn, the second interface's clock 10 s behind / ahead (clock_rewrite.py)
# and from captures/amqp/channels-interleaved.pcap (pika consumers on three channels), at its middle
# packet (deliveries outstanding):
#   amqp-step-back.pcap, amqp-step-forward.pcap   the rest shifted by -3600 s / +3600 s
# and clock.expected.json: what each classic copy's timestamps do, from the files themselves.
# Needs root (netns, capture), python3 with requests, curl, tcpdump, editcap, mergecap.
#
#   captures/scripts/make-clock-fixtures.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(dirname "$HERE")/http/clock
NS=chx-h17-clock
. "$HERE/fixture-lib.sh"

if [ "${CHX_CLOCK_INNER:-}" != 1 ]; then
    if [ "$(id -u)" != 0 ]; then echo "make-clock-fixtures: needs root (network namespace, capture)" >&2; exit 1; fi
    mkdir -p "$OUT"
    fixture_run_in_namespace "$NS" CHX_CLOCK_INNER
    cd "$OUT"
    # The step: at the first packet 2.2 s after the first one (editcap -B: before it, -A: from it on).
    start=$(python3 "$HERE/clock_rewrite.py" first-after clock.pcap 2.2)
    T=$(mktemp -d /tmp/chx-clock.XXXXXX)
    editcap -F pcap -B "$start" clock.pcap "$T/before.pcap"
    editcap -F pcap -A "$start" clock.pcap "$T/after.pcap"
    for step in -3600:step-back -30:step-back-30s 3600:step-forward; do
        editcap -F pcap -t "${step%%:*}" "$T/after.pcap" "$T/shifted.pcap"
        mergecap -F pcap -a -w "${step#*:}.pcap" "$T/before.pcap" "$T/shifted.pcap"
    done
    mergecap -F pcap -a -w concatenated.pcap clock.pcap clock.pcap
    AMQP=$(dirname "$HERE")/amqp/channels-interleaved.pcap
    middle=$(python3 "$HERE/clock_rewrite.py" middle "$AMQP")
    editcap -F pcap -B "$middle" "$AMQP" "$T/before.pcap"
    editcap -F pcap -A "$middle" "$AMQP" "$T/after.pcap"
    for step in -3600:amqp-step-back 3600:amqp-step-forward; do
        editcap -F pcap -t "${step%%:*}" "$T/after.pcap" "$T/shifted.pcap"
        mergecap -F pcap -a -w "${step#*:}.pcap" "$T/before.pcap" "$T/shifted.pcap"
    done
    rm -rf "$T"
    python3 "$HERE/clock_rewrite.py" zero clock.pcap zero.pcap
    python3 "$HERE/clock_rewrite.py" garbage clock.pcap garbage.pcap 17
    python3 "$HERE/clock_rewrite.py" reorder clock.pcap reordered.pcap 0.005
    python3 "$HERE/clock_rewrite.py" skew clock.pcap skewed-behind.pcapng -10
    python3 "$HERE/clock_rewrite.py" skew clock.pcap skewed-ahead.pcapng 10
    python3 "$HERE/clock_rewrite.py" describe clock.pcap step-back.pcap step-back-30s.pcap step-forward.pcap \
        concatenated.pcap zero.pcap garbage.pcap reordered.pcap amqp-step-back.pcap amqp-step-forward.pcap > clock.expected.json
    cat clock.expected.json
    exit 0
fi

WORK=$(mktemp -d /tmp/chx-clock-fixture.XXXXXX)
LOG=$OUT/clock.client.jsonl
FMT='{"method":"%{method}","url":"%{url_effective}","status":%{http_code}}\n'
fixture_stop_at_exit

cat > "$WORK/server.py" <<'PY'
import http.server, json, socketserver, sys, time
from urllib.parse import urlsplit, parse_qs

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/api/slow":
            time.sleep(int(parse_qs(url.query).get("ms", ["800"])[0]) / 1000)
        body = json.dumps({"code": 0, "message": "ok", "data": {"path": url.path}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
PY
python3 "$WORK/server.py" 18081 & PIDS+=($!)
fixture_wait_port 18081
fixture_start_tcpdump "$OUT/clock.pcap" 'tcp port 18081'

: > "$LOG"
c=(-sS -o /dev/null -w "$FMT")
curl "${c[@]}" http://127.0.0.1:18081/api/order --next "${c[@]}" http://127.0.0.1:18081/api/order?n=2 >> "$LOG"
python3 - "$LOG" <<'PY' &
import json, sys, threading, time, requests
log = open(sys.argv[1], "a")
lock = threading.Lock()
def hook(r, *args, **kwargs):
    with lock:
        log.write(json.dumps({"method": r.request.method, "url": r.url, "status": r.status_code}) + "\n")
        log.flush()
def fast():
    s = requests.Session(); s.hooks["response"].append(hook)
    for i in range(9):
        s.get("http://127.0.0.1:18081/api/order?i=%d" % i); time.sleep(0.5)
    s.close()
def slow():
    s = requests.Session(); s.hooks["response"].append(hook)
    for i in range(4):
        s.get("http://127.0.0.1:18081/api/slow?ms=800&i=%d" % i); time.sleep(0.2)
    s.close()
threads = [threading.Thread(target=fast), threading.Thread(target=slow)]
for t in threads: t.start()
for t in threads: t.join()
PY
wait $!
curl "${c[@]}" http://127.0.0.1:18081/api/order?n=3 --next "${c[@]}" http://127.0.0.1:18081/api/order?n=4 >> "$LOG"
sleep 0.5
fixture_stop_tcpdump "$OUT/clock.pcap"
