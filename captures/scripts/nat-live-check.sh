#!/usr/bin/env bash
# Live check of NAT copies: `channel-exporter run --interface any` in the host namespace of
# nat-topology.sh (a Docker-like DNAT and MASQUERADE), one client session open before the exporter
# starts (picked up mid-stream) and three after it; then one scrape of /metrics. Every exchange must
# count once: prints the clients' counts beside the inner and outgoing metrics' counts and
# channel_exporter_flows_nat_copies_total. Run as root from anywhere:
#   captures/scripts/nat-live-check.sh [BINARY]   (default: .build/release/channel-exporter)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BINARY=${1:-$HERE/../../.build/release/channel-exporter}
. "$HERE/nat-topology.sh"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    nat_topology_down
    rm -rf "$WORK"
}
trap cleanup EXIT
client() { ip netns exec $CLI python3 "$HERE/nat_fixture.py" client http://10.77.0.1:8080 "$@"; }

nat_topology_up
nat_start_servers
# The session open before the exporter: three requests, then it waits for $WORK/go.
client "$WORK/before.jsonl" 10 "$WORK/go" & FIRST=$!
for _ in $(seq 150); do [ -s "$WORK/before.jsonl" ] && [ "$(wc -l < "$WORK/before.jsonl")" -ge 3 ] && break; sleep 0.1; done
ip netns exec $HOST "$BINARY" run --syscode A123010101 --inbound-port 80 --interface any \
    --web.listen-address 127.0.0.1:9166 > "$WORK/exporter.log" 2>&1 & EXPORTER=$!
PIDS+=("$EXPORTER")
for _ in $(seq 100); do grep -q capturing "$WORK/exporter.log" && break; sleep 0.1; done
sleep 0.5
touch "$WORK/go"
wait "$FIRST"
for _ in 1 2 3; do client "$WORK/after.jsonl" 8; done
sleep 1.5
ip netns exec $HOST curl -s http://127.0.0.1:9166/metrics > "$WORK/metrics"
requests=$(( $(wc -l < "$WORK/before.jsonl") - 3 + $(wc -l < "$WORK/after.jsonl") ))
calls=$(( $(tail -n +4 "$WORK/before.jsonl" | grep -c '/call') + $(grep -c '/call' "$WORK/after.jsonl") ))
sum() { grep "^$1_count{" "$WORK/metrics" | awk '{s += $2} END {print s + 0}'; }
echo "clients: $requests requests after the exporter started, $calls of them /call"
echo "inner metrics: $(sum A123010101_inner_metrics); outgoing calls: $(sum external_call_duration_seconds)"
grep '^channel_exporter_flows_nat_copies_total' "$WORK/metrics"
