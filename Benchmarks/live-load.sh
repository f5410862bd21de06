#!/usr/bin/env bash
# Live capture under load: nginx on 127.0.0.1:8080 driven by wrk (the shared bench's request
# mix), watched by `channel-exporter run --interface lo`; for each binary given, one run of
# DURATION seconds, then what the exporter saw. Binaries are run in the order given, so
# alternate them (A B A B) to spread the machine's noise over both.
#
#   Benchmarks/live-load.sh BINARY [BINARY ...]          # as root, from the repository's top
#   DURATION=5 CONNECTIONS=64 Benchmarks/live-load.sh ...
#   SEGMENTED=1 Benchmarks/live-load.sh ...   # in a network namespace whose lo has MTU 1500 and
#                                               # no TSO/GSO/GRO (capture-segmented.sh's traffic)
#
# Needs nginx-light and wrk, and the bench's static files: run the shared bench's
# capture_real.sh once (it writes $BENCH_DATA/www, default /tmp/channel-exporter-bench).
# Prints per run: wrk's requests, the exporter's complete exchanges, kernel drops against
# packets received, and the CPU time the exporter used (user + system, from /proc).
# nginx and each exporter are started here and stopped by their PIDs.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,16p' "$0"; exit 2; }
bench=${BENCH_DATA:-/tmp/channel-exporter-bench}
shared=${SHARED_BENCH:-$(cd "$(dirname "$0")/../../shared/bench" 2>/dev/null && pwd || echo /work/shared/bench)}
duration=${DURATION:-5}
connections=${CONNECTIONS:-64}
port=19170
[ -f "$bench/www/small.json" ] || { echo "no $bench/www: run $shared/capture_real.sh first" >&2; exit 2; }
for tool in nginx wrk curl; do command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }; done

# Every program runs in `in_ns`: nothing (the host's lo), or a namespace of its own for SEGMENTED=1.
# `ip netns exec` execs the program, so a PID taken after `&` is the program's own.
in_ns=()
ns=
if [ "${SEGMENTED:-0}" = 1 ]; then
  . "$(dirname "$0")/segmented-namespace.sh"
  ns=ce-live-load-$$
  segmented_namespace "$ns" || { ip netns del "$ns" 2>/dev/null; exit 2; }
  in_ns=(ip netns exec "$ns")
fi

work=$(mktemp -d)
printf 'syscode: A123010101\ninbound:\n  ports: [8080]\namqp:\n  ports: []\n' > "$work/live.yaml"
mkdir -p "$bench/nginx/tmp"
"${in_ns[@]}" nginx -p "$bench/" -e nginx/error.log -c "$shared/nginx.conf" &
nginx_pid=$!
exporter_pid=
cleanup() {
  [ -n "$exporter_pid" ] && kill -TERM "$exporter_pid" 2>/dev/null && wait "$exporter_pid" 2>/dev/null
  kill -TERM "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$work"
  [ -z "$ns" ] || ip netns del "$ns"
}
trap cleanup EXIT
for _ in $(seq 50); do "${in_ns[@]}" curl -sf -o /dev/null http://127.0.0.1:8080/api/v1/order && break; sleep 0.1; done

sample() { awk -v name="$1" 'index($0, name) == 1 { print $2 }' <<<"$2"; }
ticks=$(getconf CLK_TCK)
for binary in "$@"; do
  "${in_ns[@]}" "$binary" run --config.file "$work/live.yaml" --interface lo --web.listen-address "127.0.0.1:$port" \
    > "$work/exporter.log" 2>&1 &
  exporter_pid=$!
  for _ in $(seq 100); do "${in_ns[@]}" curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" && break; sleep 0.1; done
  "${in_ns[@]}" wrk -t 2 -c "$connections" -d "${duration}s" -s "$shared/wrk-mix.lua" http://127.0.0.1:8080 -- 0 > "$work/wrk.txt" 2>&1
  sleep 2  # the last packets wait at most one wake-up interval (250 ms) in the capture
  metrics=$("${in_ns[@]}" curl -s "http://127.0.0.1:$port/metrics")
  cpu=$(awk -v t="$ticks" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$exporter_pid/stat")
  kill -TERM "$exporter_pid"; wait "$exporter_pid" || true
  exporter_pid=
  requests=$(awk '/requests in/ { print $1 }' "$work/wrk.txt")
  complete=$(sample 'channel_exporter_http_exchanges_total{kind="complete"}' "$metrics")
  drops=$(sample 'channel_exporter_capture_dropped_packets_total{where="kernel"}' "$metrics")
  received=$(sample 'channel_exporter_capture_received_packets_total' "$metrics")
  printf '%s: wrk %s requests; %s complete exchanges; kernel drops %s of %s packets received; exporter CPU %s s\n' \
    "$binary" "$requests" "$complete" "$drops" "$received" "$cpu"
done
