#!/usr/bin/env bash
# The shared bench's keep-alive traffic cut into Ethernet-sized segments: nginx driven by wrk (the
# shared bench's request mix and bodies, 64 connections) in a network namespace of its own whose
# loopback has MTU 1500 and no segmentation or receive offloads, captured there with tcpdump.
# On the host's `lo` (MTU 65,536, TSO/GSO on) a 20 KB body is one segment and the bench captures
# hold 2 packets an exchange; on a network a body comes in segments of at most 1,448 bytes (MSS
# 1,460 less the timestamp option), so this file has the segmentation a production capture has
# (every body over one segment reassembled and read across segments).
#
#   Benchmarks/capture-segmented.sh [REQUESTS [OUT]]   # as root; default 200000 requests
#
# Writes OUT, by default $BENCH_DATA/keepalive-mtu1500.pcap (BENCH_DATA: /tmp/channel-exporter-bench
# unless set), and its facts beside it (OUT with .facts.txt for .pcap: wrk's report, tcpdump's
# counters, the largest frame). `capture-segmented.sh 1000000 $BENCH_DATA/ka1m-mtu1500.pcap` records
# a million exchanges (1.9 GB).
# Fails when tcpdump dropped a packet, when a frame is larger than 1,514 bytes, or when the file
# holds fewer HTTP responses than wrk completed. Needs nginx-light, wrk, tcpdump, curl, ethtool
# and python3, and the bench's static files: run the shared bench's capture_real.sh once (it writes
# $BENCH_DATA/www). nginx, wrk and tcpdump are started here and stopped by their PIDs; the
# namespace is deleted on exit.
set -euo pipefail
[ "${1:-}" = -h ] && { sed -n '2,20p' "$0"; exit 0; }
requests=${1:-200000}
bench=${BENCH_DATA:-/tmp/channel-exporter-bench}
shared=${SHARED_BENCH:-$(cd "$(dirname "$0")/../../shared/bench" 2>/dev/null && pwd || echo /work/shared/bench)}
[ -f "$bench/www/small.json" ] || { echo "no $bench/www: run $shared/capture_real.sh first" >&2; exit 2; }
for tool in nginx wrk tcpdump curl ip python3; do command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }; done
out=${2:-$bench/keepalive-mtu1500.pcap}
facts=${out%.pcap}.facts.txt
ns=ce-segmented-$$
# `ip netns exec` execs the command: a PID taken after `&` is the program's own (a shell function's
# subshell would be in between, and a background subshell ignores SIGINT).
in_ns=(ip netns exec "$ns")
. "$(dirname "$0")/segmented-namespace.sh"

nginx_pid= tcpdump_pid= wrk_pid=
work=$(mktemp -d)
cleanup() {
  [ -n "$wrk_pid" ] && kill -TERM "$wrk_pid" 2>/dev/null && wait "$wrk_pid" 2>/dev/null
  [ -n "$tcpdump_pid" ] && kill -INT "$tcpdump_pid" 2>/dev/null && wait "$tcpdump_pid" 2>/dev/null
  [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
segmented_namespace "$ns"
mkdir -p "$bench/nginx/tmp"
"${in_ns[@]}" nginx -p "$bench/" -e nginx/error.log -c "$shared/nginx.conf" &
nginx_pid=$!
for _ in $(seq 100); do "${in_ns[@]}" curl -sf -o /dev/null http://127.0.0.1:8080/api/v1/order && break; sleep 0.1; done
"${in_ns[@]}" curl -sf -o /dev/null http://127.0.0.1:8080/api/v1/order

rm -f "$out.tmp"
"${in_ns[@]}" tcpdump -i lo -n -Z root -s 0 -B 262144 -w "$out.tmp" "tcp port 8080" 2> "$work/tcpdump.log" &
tcpdump_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/tcpdump.log" && break; sleep 0.1; done
sleep 0.5
# As capture_real.sh: each wrk thread stops after its share and says so in a file; then wrk gets
# SIGINT and reports the time it ran.
threads=2
"${in_ns[@]}" wrk -t $threads -c 64 -d 300s -s "$shared/wrk-mix.lua" http://127.0.0.1:8080 \
  -- $(( (requests + threads - 1) / threads )) "$work/done" > "$work/wrk.txt" &
wrk_pid=$!
while kill -0 "$wrk_pid" 2>/dev/null; do
  if [ -f "$work/done" ] && [ "$(wc -l < "$work/done")" -ge $threads ]; then kill -INT "$wrk_pid"; break; fi
  sleep 0.05
done
wait "$wrk_pid"; wrk_pid=
sleep 1
kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" || true; tcpdump_pid=
mv "$out.tmp" "$out"

completed=$(awk '/requests in/ { print $1 }' "$work/wrk.txt")
dropped=$(awk '/dropped by kernel/ { print $1 }' "$work/tcpdump.log")
captured=$(awk '/packets captured/ { print $1 }' "$work/tcpdump.log")
# The largest frame, and the segments that begin with a status line (nginx starts every answer in
# a segment of its own), read from the file's records here: tshark takes minutes on this file.
read -r largest responses < <(python3 - "$out" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    data = f.read()
assert struct.unpack_from("<I", data)[0] == 0xA1B2C3D4, "a little-endian microsecond pcap"
largest = responses = 0
at = 24
while at + 16 <= len(data):
    captured, length = struct.unpack_from("<II", data, at + 8)
    frame = data[at + 16:at + 16 + captured]
    at += 16 + captured
    largest = max(largest, length)
    ip = 14
    tcp = ip + (frame[ip] & 0x0F) * 4
    payload = tcp + (frame[tcp + 12] >> 4) * 4
    if frame[payload:payload + 9] == b"HTTP/1.1 ":
        responses += 1
print(largest, responses)
PY
)
{
  echo "# $(basename "$out"), $(date -u +%FT%TZ): nginx $(nginx -v 2>&1 | sed 's/.*\///'), wrk -t $threads -c 64, lo MTU 1500, tso/gso/gro off"
  echo "wrk: $(grep -E 'requests in|Requests/sec' "$work/wrk.txt" | tr -s ' ' | tr '\n' ' ')"
  echo "tcpdump: $captured packets captured, $dropped dropped by kernel"
  echo "largest frame: $largest bytes; segments that begin with a status line: $responses"
} | tee "$facts"
[ "$dropped" = 0 ] || { echo "capture-segmented: tcpdump dropped $dropped packets" >&2; exit 1; }
[ "$largest" -le 1514 ] || { echo "capture-segmented: a frame of $largest bytes (offloads still on?)" >&2; exit 1; }
[ "$responses" -ge "$completed" ] || { echo "capture-segmented: $responses responses in the file, wrk completed $completed" >&2; exit 1; }
