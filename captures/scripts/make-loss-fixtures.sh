#!/usr/bin/env bash
# Records HTTP traffic across a lossy link: real TCP stacks retransmitting
# (fast retransmit, SACK, RTO, tail-loss probes, spurious duplicates) and the
# capture filling every hole from the retransmissions. See captures/README.md.
#
#   captures/scripts/make-loss-fixtures.sh [--force] [--extra DIR] [--keep-work]
#
# Fixtures (captures/http/loss/, refused when it already holds captures,
# unless --force), then expected.py for all of captures/http:
#   loss-keepalive  3 % loss: curl keep-alive chain, requests sessions (nginx
#                   closing after 20 requests, gzip, chunked, close-delimited,
#                   echo), wrk pipelining, curl -0
#   loss-large      2 % loss: 300 KB download and 300 KB upload
#   holes-wrk       1 % loss, wrk -t2 -c8 -d3s captured with tcpdump -B 64, so
#                   the kernel drops packets: holes that are never filled (the
#                   connections that lost something, at most 10; wrk's summary
#                   in holes-wrk.wrk.json instead of a client log)
# --extra DIR also keeps, in DIR (too large to commit): holes-wrk-full (the
# whole recording), loss-wrk (5 % loss, wrk -t2 -c8 -d3s), loss-keepalive-5 and
# loss-large-5 (the same scenarios at 5 %), loss-slow (3 %: a slow reader with
# a 4 KiB receive buffer, so zero windows and window probes).
#
# Two network namespaces joined by a veth pair (MTU 1500, TSO/GSO/GRO off so
# segments carry at most 1448 bytes): chx-h11-loss-c (10.77.0.1) and
# chx-h11-loss-s (10.77.0.2: nginx on 18080, fixture_servers.py http on 18081).
# tc netem is not available on the kernel this was written on, so loss is
# made with nftables: `numgen random mod 100 < N drop` in each namespace's
# output hook, before the veth, so tcpdump on the server's veth never sees a
# dropped copy and the sender retransmits, and in the client's input hook
# (captured, then lost: the retransmission is a duplicate in the capture). No
# reordering or duplication by the link itself (no netem, no second path):
# those come from the retransmissions only. Every process is started here and
# stopped by its PID; the namespaces are deleted at the end. Needs root.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CAPTURES=$(dirname "$HERE")
OUT=$CAPTURES/http/loss
CLI=chx-h11-loss-c SRV=chx-h11-loss-s
CIP=10.77.0.1 SIP=10.77.0.2

FORCE=0 KEEP=0 EXTRA=""
while [ $# -gt 0 ]; do
    case $1 in
        --force) FORCE=1 ;;
        --keep-work) KEEP=1 ;;
        --extra) EXTRA=$2; shift ;;
        *) echo "usage: $0 [--force] [--extra DIR] [--keep-work]" >&2; exit 2 ;;
    esac
    shift
done
if [ "$(id -u)" != 0 ]; then echo "make-loss-fixtures: needs root (network namespaces, capture)" >&2; exit 1; fi
if compgen -G "$OUT/*.pcap" >/dev/null && [ $FORCE != 1 ]; then
    echo "make-loss-fixtures: $OUT already holds fixtures; pass --force to replace them" >&2
    exit 1
fi

need=()
for tool in nginx:nginx-light tcpdump:tcpdump tshark:tshark curl:curl wrk:wrk nft:nftables \
            python3:python3 ethtool:ethtool ip:iproute2 ss:iproute2; do
    command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
fi
if ! python3 -c 'import requests' 2>/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y python3-requests || true
    python3 -c 'import requests' 2>/dev/null || python3 -m pip install requests
fi

WORK=$(mktemp -d /tmp/chx-loss-fixtures.XXXXXX)
PIDS=()
TCPDUMP_PID=""
cleanup() {
    if [ -n "$TCPDUMP_PID" ]; then kill -TERM "$TCPDUMP_PID" 2>/dev/null || true; wait "$TCPDUMP_PID" 2>/dev/null || true; fi
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    ip netns del "$CLI" 2>/dev/null || true
    ip netns del "$SRV" 2>/dev/null || true
    if [ $KEEP = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- the link
ip netns del "$CLI" 2>/dev/null || true
ip netns del "$SRV" 2>/dev/null || true
ip netns add "$CLI"
ip netns add "$SRV"
ip link add chxl11c type veth peer name chxl11s
ip link set chxl11c netns "$CLI"
ip link set chxl11s netns "$SRV"
ip -n "$CLI" addr add $CIP/24 dev chxl11c
ip -n "$SRV" addr add $SIP/24 dev chxl11s
for pair in "$CLI chxl11c" "$SRV chxl11s"; do
    set -- $pair
    ip -n "$1" link set lo up
    # Offloads off is not enough: TCP still builds GSO super-packets that are
    # cut into segments only at the device, after netfilter, so one drop would
    # remove up to 44 segments. gso_max_segs 1 makes the stack send each
    # segment as its own packet, and the drops hit single segments.
    ip -n "$1" link set "$2" mtu 1500 gso_max_segs 1 up
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null
done
C() { ip netns exec "$CLI" "$@"; }
S() { ip netns exec "$SRV" "$@"; }
# (Processes stopped by PID are started with `ip netns exec` itself, not through
# these functions: with `S cmd &`, $! would be the subshell, not cmd.)

# set_loss PERCENT: drop that share of the TCP segments each side sends
# (output hook: the capture on the server's veth never sees them), and of the
# segments the client receives (input hook: captured, then lost, as loss
# downstream of a server-side observer is; the retransmissions are duplicates
# in the capture).
set_loss() {
    for ns in "$CLI" "$SRV"; do
        ip netns exec "$ns" nft delete table inet chxloss 2>/dev/null || true
        [ "$1" = 0 ] && continue
        local input=""
        [ "$ns" = "$CLI" ] && input="chain in { type filter hook input priority 0; policy accept;
            iifname != \"lo\" meta l4proto tcp numgen random mod 100 < $1 counter drop; }"
        ip netns exec "$ns" nft -f - <<EOF
table inet chxloss {
    chain out {
        type filter hook output priority 0; policy accept;
        oifname != "lo" meta l4proto tcp numgen random mod 100 < $1 counter drop
    }
    $input
}
EOF
    done
}
loss_counters() {  # dropped packets per side and hook, for the log
    printf 'dropped: client out %s, client in %s, server out %s' \
        $(ip netns exec "$CLI" nft list table inet chxloss | grep -o 'packets [0-9]*' | cut -d' ' -f2) \
        $(ip netns exec "$SRV" nft list table inet chxloss | grep -o 'packets [0-9]*' | cut -d' ' -f2)
    echo
}

# ---------------------------------------------------------------- servers (server namespace)
mkdir -p "$WORK/www" "$WORK/tmp"
# The fixtures' nginx.conf, listening on the veth address, and closing a
# keep-alive connection after 20 requests (nginx's default is 1000).
sed -e 's/listen 127.0.0.1:18080;/listen '$SIP':18080;/' -e '/listen \[::1\]:18080;/d' \
    -e 's/keepalive_timeout 65;/keepalive_timeout 65;\n    keepalive_requests 20;/' \
    "$HERE/nginx/nginx.conf" > "$WORK/nginx.conf"
grep -q "listen $SIP:18080;" "$WORK/nginx.conf"
python3 "$HERE/fixture_www.py" "$WORK/www"
touch -d '2023-11-14 22:13:20 UTC' "$WORK"/www/*
chmod -R a+rX "$WORK"

ip netns exec "$SRV" nginx -p "$WORK/" -e error.log -c "$WORK/nginx.conf" &
PIDS+=($!)
ip netns exec "$SRV" python3 -u "$HERE/fixture_servers.py" http 18081 2>"$WORK/py-http.log" &
PIDS+=($!)
for port in 18080 18081; do
    for _ in $(seq 100); do S ss -ltn "sport = :$port" | grep -q LISTEN && break; sleep 0.1; done
    S ss -ltn "sport = :$port" | grep -q LISTEN || { echo "make-loss-fixtures: nothing listens on $port" >&2; exit 1; }
done

# ---------------------------------------------------------------- recording
N=http://$SIP:18080
CURL_UA='mall-app/5.1.0 (curl)'
CURL_FMT='{"method":"%{method}","url":"%{url_effective}","status":%{http_code}}\n'

# record DIR NAME LOSS BUFFER_KIB FUNCTION: tcpdump on the server's veth into
# DIR/NAME.pcap while FUNCTION runs (in the client namespace, CLIENT_LOG set).
record() {
    local dir=$1 name=$2 loss=$3 buffer=$4 fn=$5
    local file=$dir/$name.pcap log=$WORK/$name.tcpdump.log
    mkdir -p "$dir"
    : > "$dir/$name.client.jsonl"
    set_loss "$loss"
    ip netns exec "$SRV" tcpdump -i chxl11s -n -Z root -s 0 -U --immediate-mode -B "$buffer" -w "$file" \
        'tcp port 18080 or tcp port 18081' 2> "$log" &
    TCPDUMP_PID=$!
    for _ in $(seq 100); do grep -q 'listening on' "$log" && break; sleep 0.1; done
    grep -q 'listening on' "$log" || { echo "tcpdump did not start: $(cat "$log")" >&2; exit 1; }
    sleep 0.3
    CLIENT_LOG=$dir/$name.client.jsonl "$fn"
    sleep 1.5  # retransmitted FINs, and libpcap's buffer timeout
    # -TERM, not -INT: a background job of a non-interactive shell ignores SIGINT.
    kill -TERM "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=""
    echo "$name ($loss % loss): $(grep 'packets captured' "$log"), $(grep 'dropped by kernel' "$log"); $(loss_counters)"
    if [ "$buffer" -ge 32768 ]; then
        grep -q '^0 packets dropped by kernel' "$log" || { echo "$name: tcpdump dropped packets: $(cat "$log")" >&2; exit 1; }
    fi
    set_loss 0
}

curl_chain() {  # LOG SEGMENT [--next SEGMENT]...: one curl process, keep-alive
    local log=$1; shift
    local seg=(-sS -o /dev/null -A "$CURL_UA" -w "$CURL_FMT")
    local args=("${seg[@]}")
    for a in "$@"; do
        if [ "$a" = --next ]; then args+=(--next "${seg[@]}"); else args+=("$a"); fi
    done
    C curl "${args[@]}" >> "$log"
}

loss_keepalive() {
    curl_chain "$CLIENT_LOG" -H 'Method-Code: M1001' "$N/api/v1/order" \
        --next -H 'Content-Type: application/json' -d '{"orderId":"ORD000000012345","method_code":"PAY01"}' "$N/api/v1/pay?id=1" \
        --next "$N/api/v1/goods/list?page=1" \
        --next --compressed "$N/gzip/large.json" \
        --next -H 'Content-Type: application/json' -d '{"amount":-1}' "$N/api/v1/refund" \
        --next "$N/api/v1/order/cancel" \
        --next -X DELETE "$N/api/v1/order" \
        --next "$N/api/v1/goods/list?page=2" \
        --next "$N/missing/x"
    C python3 "$HERE/loss_clients.py" keepalive "$CLIENT_LOG" $SIP
    # wrk's pipeline script: 3 requests per write, 6 rounds (18 < keepalive_requests).
    C wrk -t1 -c1 -d3s -s "$HERE/wrk-pipeline.lua" "$N" -- 18 > "$WORK/wrk-pipeline.txt"
    echo "wrk pipeline: $(grep -E 'requests in' "$WORK/wrk-pipeline.txt")"
    curl_chain "$CLIENT_LOG" -0 "$N/api/v1/order"
}
loss_large() { C python3 "$HERE/loss_clients.py" large "$CLIENT_LOG" $SIP; }
loss_slow() { C python3 "$HERE/loss_clients.py" slow "$CLIENT_LOG" $SIP; }
wrk_load() {
    C wrk -t2 -c8 -d3s "$N/api/v1/order" > "$WORK/wrk-load.txt"
    # wrk logs no exchange: its summary stands beside the capture instead of a client log.
    rm "$CLIENT_LOG"
    python3 - "$WORK/wrk-load.txt" "${CLIENT_LOG%.client.jsonl}.wrk.json" <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
summary = {"requests": int(re.search(r"(\d+) requests in", text).group(1)),
           "non_2xx_3xx": int((re.search(r"Non-2xx or 3xx responses: (\d+)", text) or [0, 0])[1]),
           "socket_errors": (re.search(r"Socket errors: (.*)", text) or [None, None])[1],
           "note": "wrk's summary: responses completed within -d (in-flight ones at the end are not counted)"}
json.dump(summary, open(sys.argv[2], "w"))
print("wrk:", summary)
EOF
}

record "$OUT" loss-keepalive 3 32768 loss_keepalive
record "$OUT" loss-large     2 32768 loss_large
# Real holes: tcpdump with a 64 KiB buffer under wrk -c8 load drops packets in
# the kernel (never filled: the receivers got them). The committed fixture
# keeps the whole of the connections that lost something, at most 10.
record "$WORK" holes-wrk-full 1 64 wrk_load
streams=$(tshark -r "$WORK/holes-wrk-full.pcap" -Y 'tcp.analysis.lost_segment or tcp.analysis.ack_lost_segment' \
          -T fields -e tcp.stream | sort -nu | head -10 | paste -sd, -)
[ -n "$streams" ] || { echo "make-loss-fixtures: holes-wrk-full has no holes; record again" >&2; exit 1; }
tshark -r "$WORK/holes-wrk-full.pcap" -Y "tcp.stream in {$streams}" -F pcap -w "$OUT/holes-wrk.pcap" 2>/dev/null
cp "$WORK/holes-wrk-full.wrk.json" "$OUT/holes-wrk.wrk.json"
echo "holes-wrk: tcp streams $streams of holes-wrk-full: $(capinfos -c "$OUT/holes-wrk.pcap" | awk '/Number of packets/ {print $NF}') packets"
if [ -n "$EXTRA" ]; then
    record "$EXTRA" loss-wrk  5 32768 wrk_load
    record "$EXTRA" loss-keepalive-5 5 32768 loss_keepalive
    record "$EXTRA" loss-large-5     5 32768 loss_large
    record "$EXTRA" loss-slow        3 32768 loss_slow
    cp "$WORK/holes-wrk-full.pcap" "$WORK/holes-wrk-full.wrk.json" "$EXTRA/"
fi
python3 "$HERE/expected.py" "$CAPTURES"
python3 "$HERE/check_streams.py" "$CAPTURES"
echo "make-loss-fixtures: done; $(du -sh "$OUT" | cut -f1) in $OUT"
