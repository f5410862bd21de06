#!/usr/bin/env bash
# Our exporter LIVE beside the real reference library, on fresh traffic (no fixture is used).
#
#   sudo captures/parity/live-check.sh EXPORTER [SCENARIO ...]
#        (default: the scenarios of parity-scenarios.txt; needs root: unshare, tcpdump, pcap)
#
# For each scenario, in a private network namespace (unshare --net, only lo):
# `EXPORTER run` captures lo live from before the traffic; record.py records the scenario
# as make-fixtures.sh does (pcap + the reference's /metrics) and scrapes our exporter
# just before the reference (SCENARIO.live.prom: app, stubs and keep-alive connections
# still up); 2 s after record.py ended (everything closed) ours is scraped again
# (SCENARIO.live-end.prom) and stopped by its PID. Then, outside: `EXPORTER replay` of
# the pcap (SCENARIO.replay.prom) and compare.py for live, live-end and replay against
# the reference, and live against replay; promtool checks the live scrape if installed.
# Exits 1 when any comparison mismatches. Files in PARITY_OUT (default /tmp/parity-live).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -ge 1 ]] || { echo "usage: $0 EXPORTER [SCENARIO ...]" >&2; exit 2; }
EXPORTER="$(realpath "$1")"; shift
VENV="${PARITY_VENV:-$HERE/.venv}"
OUT="${PARITY_OUT:-/tmp/parity-live}"
WORK="$OUT/work"
PORT=9466       # ours, on the namespace's own lo: the capture filter leaves this port out
# The parity configuration (make-fixtures.sh's): the defaults do the rest (buckets,
# skipped paths and statuses, the built-in partner table; no AMQP in this traffic).
SETTINGS=(--syscode A123010101 --inbound-port 8080)
mkdir -p "$WORK"

if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"

if [[ $# -gt 0 ]]; then
    scenarios=("$@")
else
    mapfile -t scenarios < <(grep -v '^#' "$HERE/parity-scenarios.txt" | grep .)
fi

# Runs inside the namespace: $1 scenario. Every process started here is stopped by its PID.
record_live() {
    local s="$1" pid i
    ip link set lo up
    "$EXPORTER" run "${SETTINGS[@]}" --interface lo --web.listen-address "127.0.0.1:$PORT" \
        --exchanges "$OUT/$s.live.jsonl" > "$WORK/$s.exporter.log" 2>&1 &
    pid=$!
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || { cat "$WORK/$s.exporter.log" >&2; return 1; }
        sleep 0.1
    done
    PARITY_LIVE_METRICS="http://127.0.0.1:$PORT/metrics" \
        "$VENV/bin/python" "$HERE/record.py" "$s" "$OUT" "$WORK" > "$WORK/$s.driver.log" || { kill "$pid"; return 1; }
    sleep 2         # the last FINs of the app's and stubs' connections, one capture wake-up (250 ms)
    "$VENV/bin/python" -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=10).read())' \
        "http://127.0.0.1:$PORT/metrics" > "$OUT/$s.live-end.prom"
    kill -TERM "$pid"
    wait "$pid"
}
export -f record_live
export EXPORTER VENV OUT WORK PORT HERE
export SETTINGS_TEXT="${SETTINGS[*]}"

status=0
compare() {     # $1 ours, $2 expected, $3 what
    local verdict
    if verdict="$(python3 "$HERE/compare.py" "$1" "$2" --quiet | tail -1)"; then
        printf "   %-34s %s\n" "$3:" "$verdict"
    else
        printf "   %-34s %s  <-- MISMATCH (python3 %s %s %s)\n" "$3:" "$verdict" "$HERE/compare.py" "$1" "$2"
        status=1
    fi
}

for s in "${scenarios[@]}"; do
    echo "== $s"
    # (bash -c: SETTINGS is an array, which export cannot carry; it is rebuilt from its text.)
    unshare --net -- bash -c 'SETTINGS=($SETTINGS_TEXT); record_live "$1"' _ "$s"
    "$EXPORTER" replay "$OUT/$s.pcap" "${SETTINGS[@]}" --output "$OUT/$s.replay.prom" > "$WORK/$s.replay.log"
    compare "$OUT/$s.live.prom" "$OUT/$s.expected.prom" "live vs reference"
    compare "$OUT/$s.live-end.prom" "$OUT/$s.expected.prom" "live after the end vs reference"
    compare "$OUT/$s.replay.prom" "$OUT/$s.expected.prom" "replay vs reference"
    compare "$OUT/$s.live.prom" "$OUT/$s.replay.prom" "live vs replay"
    if command -v promtool >/dev/null; then
        if promtool check metrics < "$OUT/$s.live.prom" > "$WORK/$s.promtool.log" 2>&1; then
            printf "   %-34s OK\n" "promtool check metrics (live):"
        else
            printf "   %-34s %s  <-- FAILED\n" "promtool check metrics (live):" "$(head -1 "$WORK/$s.promtool.log")"
            status=1
        fi
    fi
done
exit "$status"
