#!/usr/bin/env bash
# Records the HTTP fixtures in captures/http/ from real servers and clients,
# then makes the damaged copies (damage.py) and the expected outputs
# (expected.py, from tshark), and checks tshark's streams against a reassembly
# of our own (check_streams.py). See captures/README.md.
#
#   captures/scripts/make-http-fixtures.sh [--force] [--keep-work]
#
# Refuses to run when captures/http/ already holds fixtures, unless --force
# (which deletes and rewrites them all).
#
# Everything runs inside a private network namespace (chx-http-fixtures) whose
# loopback has an MTU of 1500 and TSO/GSO/GRO off, so segments are the size a
# real Ethernet link gives (1448-byte payloads) instead of 64 KiB loopback
# super-packets, and nothing here can collide with other loopback traffic or
# ports on the host. Servers: nginx on 127.0.0.1:18080 and [::1]:18080,
# fixture_servers.py http on 18081, ws on 18082. Each scenario is captured
# with tcpdump on lo (or any) filtered to its ports; every process is started
# here and stopped by its PID. Needs root (netns, capture).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CAPTURES=$(dirname "$HERE")
OUT=$CAPTURES/http
NS=chx-http-fixtures

# ---------------------------------------------------------------- outer part
if [ "${CHX_FIXTURES_INNER:-}" != 1 ]; then
    FORCE=0 KEEP=0
    for arg in "$@"; do
        case $arg in
            --force) FORCE=1 ;;
            --keep-work) KEEP=1 ;;
            *) echo "usage: $0 [--force] [--keep-work]" >&2; exit 2 ;;
        esac
    done
    if [ "$(id -u)" != 0 ]; then echo "make-http-fixtures: needs root (network namespace, capture)" >&2; exit 1; fi
    if compgen -G "$OUT/*.pcap*" >/dev/null; then
        if [ $FORCE != 1 ]; then
            echo "make-http-fixtures: $OUT already holds fixtures; pass --force to replace them" >&2
            exit 1
        fi
        rm -rf "$OUT"
    fi
    mkdir -p "$OUT"

    need=()
    for tool in nginx:nginx-light tcpdump:tcpdump tshark:tshark editcap:tshark curl:curl wrk:wrk \
                python3:python3 ethtool:ethtool ip:iproute2; do
        command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
    done
    if [ ${#need[@]} -gt 0 ]; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
    fi
    # requests: Debian's package when python3 is Debian's (pip is refused there,
    # PEP 668), else pip.
    if ! python3 -c 'import requests' 2>/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y python3-requests || true
        python3 -c 'import requests' 2>/dev/null || python3 -m pip install requests
    fi

    ip netns del "$NS" 2>/dev/null || true
    ip netns add "$NS"
    trap 'ip netns del "$NS" 2>/dev/null || true' EXIT
    ip netns exec "$NS" ip link set lo mtu 1500 up
    ip netns exec "$NS" ethtool -K lo tso off gso off gro off >/dev/null
    ip netns exec "$NS" env CHX_FIXTURES_INNER=1 CHX_KEEP_WORK=$KEEP bash "$0"
    python3 "$HERE/damage.py" "$OUT"
    python3 "$HERE/expected.py" "$CAPTURES"
    python3 "$HERE/check_streams.py" "$CAPTURES"
    echo "make-http-fixtures: done; $(ls "$OUT" | grep -c '\.pcap') fixtures, $(du -sh "$OUT" | cut -f1)"
    exit 0
fi

# ---------------------------------------------------------------- inner part (in the netns)
WORK=$(mktemp -d /tmp/chx-http-fixtures.XXXXXX)
N=http://127.0.0.1:18080
P=http://127.0.0.1:18081
CURL_UA='mall-app/5.1.0 (curl)'
CURL_FMT='{"method":"%{method}","url":"%{url_effective}","status":%{http_code}}\n'
PIDS=()
TCPDUMP_PID=""

cleanup() {
    if [ -n "$TCPDUMP_PID" ]; then kill -INT "$TCPDUMP_PID" 2>/dev/null || true; wait "$TCPDUMP_PID" 2>/dev/null || true; fi
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "${CHX_KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Content: fixed bytes and fixed mtimes (ETag and Last-Modified derive from them).
mkdir -p "$WORK/www" "$WORK/tmp"
cp "$HERE/nginx/nginx.conf" "$WORK/nginx.conf"
python3 "$HERE/fixture_www.py" "$WORK/www"
touch -d '2023-11-14 22:13:20 UTC' "$WORK"/www/*
head -c 2500 "$WORK/www/large.json" > "$WORK/post-2500.json"
chmod -R a+rX "$WORK"

wait_port() {  # PORT: until something listens on it
    for _ in $(seq 100); do
        ss -ltn "sport = :$1" | grep -q LISTEN && return 0
        sleep 0.1
    done
    echo "make-http-fixtures: nothing listens on port $1" >&2; exit 1
}

nginx -p "$WORK/" -e error.log -c "$WORK/nginx.conf" &
PIDS+=($!)
python3 -u "$HERE/fixture_servers.py" http 18081 2>"$WORK/py-http.log" &
PIDS+=($!)
python3 -u "$HERE/fixture_servers.py" ws 18082 2>"$WORK/py-ws.log" &
PIDS+=($!)
wait_port 18080; wait_port 18081; wait_port 18082

# curl_chain LOG SEGMENT [--next SEGMENT]...: one curl process (one connection
# per host:port, kept alive across segments); each segment's result is logged.
curl_chain() {
    local log=$1; shift
    local seg=(-sS -o /dev/null -A "$CURL_UA" -w "$CURL_FMT")
    local args=("${seg[@]}")
    for a in "$@"; do
        if [ "$a" = --next ]; then args+=(--next "${seg[@]}"); else args+=("$a"); fi
    done
    curl "${args[@]}" >> "$log"
}

# record NAME IFACE FILTER [tcpdump option]... -- COMMAND...
# Writes $OUT/NAME.pcap (tcpdump -s 0) and $OUT/NAME.client.jsonl (the clients' log).
record() {
    local name=$1 iface=$2 filter=$3; shift 3
    local opts=()
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    local file=$OUT/$name.pcap log=$WORK/$name.tcpdump.log
    : > "$OUT/$name.client.jsonl"
    tcpdump -i "$iface" -n -Z root -s 0 -U --immediate-mode -B 32768 "${opts[@]}" -w "$file" "$filter" 2> "$log" &
    TCPDUMP_PID=$!
    for _ in $(seq 100); do grep -q 'listening on' "$log" && break; sleep 0.1; done
    grep -q 'listening on' "$log" || { echo "tcpdump did not start: $(cat "$log")" >&2; exit 1; }
    sleep 0.3
    CLIENT_LOG=$OUT/$name.client.jsonl "$@"
    sleep 1.2  # > libpcap's 1 s buffer timeout, in case --immediate-mode is not honoured
    kill -INT "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=""
    grep -q '^0 packets dropped by kernel' "$log" || { echo "$name: tcpdump dropped packets: $(cat "$log")" >&2; exit 1; }
    echo "$name: $(grep 'packets captured' "$log")"
}

# ---------------------------------------------------------------- scenarios
keepalive_curl() {
    curl_chain "$CLIENT_LOG" \
        -H 'Method-Code: M1001' -H 'T-Code: B123456789' "$N/api/v1/order" \
        --next -H 'Content-Type: application/json' \
            -d '{"orderId":"ORD000000012345","amount":12800,"method_code":"PAY01"}' "$N/api/v1/pay?id=10087" \
        --next "$N/api/v1/order?method_code=Q77&q=a%20b%2Fc" \
        --next "$N/api/v1/goods/list?page=1" \
        --next -H 'Content-Type: application/json' -d '{"orderId":"ORD000000012345","amount":-1}' "$N/api/v1/refund" \
        --next "$N/api/v1/order/cancel" \
        --next -X DELETE "$N/api/v1/order" \
        --next "$N/missing/p%C3%A4th"
    curl_chain "$CLIENT_LOG" -d 'method_code=FORM1&user=bob' "$N/api/v1/pay" --next "$N/api/v1/order"
}
keepalive_requests() { python3 "$HERE/fixture_clients.py" session "$CLIENT_LOG"; }
pipeline_wrk() {
    wrk -t1 -c1 -d2s -s "$HERE/wrk-pipeline.lua" "$N" -- 30 > "$WORK/wrk.txt"
    grep -E 'requests in' "$WORK/wrk.txt" | sed 's/^ */wrk: /'
}
chunked() {
    curl_chain "$CLIENT_LOG" "$P/api/chunked" --next "$P/api/chunked?again=1" --next "$P/api/order"
    # nginx proxies an upstream response without Content-Length: chunked to the client
    curl_chain "$CLIENT_LOG" "$N/proxy/api/close?n=7" --next "$N/proxy/api/chunked" --next "$N/api/v1/order"
}
chunked_split() { curl_chain "$CLIENT_LOG" "$P/api/chunked-split" --next "$P/api/order" --next "$P/api/chunked-split?2"; }
gzip_() {
    curl_chain "$CLIENT_LOG" --compressed "$N/gzip/large.json" --next --compressed "$N/gzip/small.json" \
        --next "$N/gzip/small.json"
    python3 "$HERE/fixture_clients.py" gzip "$CLIENT_LOG"
}
expect_100() {
    # curl 7.88 adds Expect: 100-continue by itself only for bodies over 1 MiB,
    # so it is asked for here. nginx answers 100 when it reads the body
    # (proxy_pass); for `return` it answers at once, without 100.
    local E='Expect: 100-continue' J='Content-Type: application/json'
    curl_chain "$CLIENT_LOG" -H "$E" -H "$J" --data-binary "@$WORK/post-2500.json" "$N/api/v1/upload" \
        --next -H "$E" -H "$J" -d '{"method_code":"E1"}' "$N/api/v1/upload" \
        --next -H "$E" -H "$J" --data-binary "@$WORK/post-2500.json" "$N/api/v1/pay" \
        --next "$N/api/v1/order"
    curl_chain "$CLIENT_LOG" -H "$E" -H "$J" --data-binary "@$WORK/post-2500.json" "$P/api/echo" \
        --next -H "$J" --data-binary "@$WORK/post-2500.json" "$P/api/echo?no-expect" \
        --next -H "$E" -H "$J" -d '{"method_code":"E2"}' "$P/api/echo"
}
head_() {
    curl_chain "$CLIENT_LOG" -I "$N/api/v1/order" --next "$N/api/v1/order" --next -I "$N/api/v1/goods/list" \
        --next -I "$N/api/v1/pay" --next "$N/api/v1/pay"
    curl_chain "$CLIENT_LOG" -I "$P/api/order" --next -I "$P/api/large?bytes=5000" --next "$P/api/order"
}
status_204() {
    curl_chain "$CLIENT_LOG" "$N/api/v1/nocontent" --next "$N/api/v1/order" --next -X POST "$N/api/v1/nocontent"
    curl_chain "$CLIENT_LOG" "$P/api/nocontent" --next "$P/api/order"
}
status_304() {
    curl_chain "$CLIENT_LOG" "$N/api/v1/goods/list" \
        --next -H "If-None-Match: $ETAG" "$N/api/v1/goods/list" \
        --next -H 'If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT' "$N/api/v1/goods/list" \
        --next -H 'If-Modified-Since: Mon, 13 Nov 2023 00:00:00 GMT' "$N/api/v1/order" \
        --next -H "If-None-Match: \"0-0\"" "$N/api/v1/order"
}
close_delimited() {
    curl_chain "$CLIENT_LOG" "$P/api/close?n=1"
    curl_chain "$CLIENT_LOG" "$P/api/close?n=2"
    curl_chain "$CLIENT_LOG" -0 "$N/api/v1/order"
}
websocket() { python3 "$HERE/fixture_clients.py" websocket "$CLIENT_LOG"; }
large_body() { python3 "$HERE/fixture_clients.py" large "$CLIENT_LOG"; }
ipv6() {
    curl_chain "$CLIENT_LOG" -6 -g "http://[::1]:18080/api/v1/order" \
        --next -6 -g -H 'Content-Type: application/json' -d '{"method_code":"V6"}' "http://[::1]:18080/api/v1/pay" \
        --next -6 -g "http://[::1]:18080/api/v1/goods/list"
}
short_mix() {
    curl_chain "$CLIENT_LOG" "$N/api/v1/order" --next -H 'Content-Type: application/json' -d '{"code":1}' "$N/api/v1/pay" \
        --next "$N/api/v1/goods/list"
    curl_chain "$CLIENT_LOG" "$P/api/chunked" --next "$P/api/error"
}
rst_mid_transfer() { python3 "$HERE/fixture_clients.py" rst "$CLIENT_LOG"; }
port_reuse() { python3 "$HERE/fixture_clients.py" port-reuse "$CLIENT_LOG"; }

ETAG=$(curl -sI "$N/api/v1/goods/list" | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" {print $2}')
[ -n "$ETAG" ] || { echo "no ETag from nginx" >&2; exit 1; }

P80=18080 P81=18081
BOTH="tcp port $P80 or tcp port $P81"
record keepalive-curl     lo "tcp port $P80" -- keepalive_curl
record keepalive-requests lo "$BOTH"         -- keepalive_requests
record pipeline-wrk       lo "tcp port $P80" -- pipeline_wrk
record chunked            lo "$BOTH"         -- chunked
record chunked-split      lo "tcp port $P81" -- chunked_split
record gzip               lo "tcp port $P80" -- gzip_
record expect-100         lo "$BOTH"         -- expect_100
record head               lo "$BOTH"         -- head_
record status-204         lo "$BOTH"         -- status_204
record status-304         lo "tcp port $P80" -- status_304
record close-delimited    lo "$BOTH"         -- close_delimited
record websocket          lo "tcp port 18082" -- websocket
record large-body         lo "$BOTH"         -- large_body
record ipv6               lo "tcp port $P80" -- ipv6
record port-reuse         lo "tcp port $P80" -- port_reuse
record rst-mid-transfer   lo "tcp port $P80" -- rst_mid_transfer
record any-sll2           any "$BOTH"        -- short_mix
record nanosecond         lo "$BOTH" --time-stamp-precision=nano -- short_mix
record pcapng-source      lo "$BOTH"         -- short_mix
editcap -F pcapng "$OUT/pcapng-source.pcap" "$OUT/pcapng.pcapng"
rm "$OUT/pcapng-source.pcap"
mv "$OUT/pcapng-source.client.jsonl" "$OUT/pcapng.client.jsonl"

# Last: the loopback as the host has it (MTU 65536, segmentation offloads on):
# the kernel hands tcpdump super-packets of up to 64 KiB, as in the benchmark
# captures of shared/bench.
ip link set lo mtu 65536
ethtool -K lo tso on gso on gro on >/dev/null
record large-body-lo64k   lo "$BOTH"         -- large_body
