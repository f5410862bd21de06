#!/usr/bin/env bash
# Records captures/http/snaplen/snaplen300.pcap: real traffic captured by tcpdump with
# `-s 300`, on a loopback at the host's defaults (MTU 65536, TSO/GSO/GRO on), so most
# segments are longer than the snaplen and lose their tail: request heads survive, some
# response heads (nginx's, with ETag and Last-Modified) are cut, bodies are cut. The same
# traffic is captured at the same time with `-s 0` (kept with --keep-work) to check the
# cut capture against. Clients log what they got in snaplen300.client.jsonl. See
# captures/README.md ("Snaplen"). Needs root (netns, capture).
#
#   captures/scripts/make-snaplen-fixture.sh [--keep-work]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(dirname "$HERE")/http/snaplen
NS=chx-snaplen-fixture

if [ "${CHX_SNAPLEN_INNER:-}" != 1 ]; then
    KEEP=0
    for arg in "$@"; do
        case $arg in --keep-work) KEEP=1 ;; *) echo "usage: $0 [--keep-work]" >&2; exit 2 ;; esac
    done
    if [ "$(id -u)" != 0 ]; then echo "make-snaplen-fixture: needs root (network namespace, capture)" >&2; exit 1; fi
    mkdir -p "$OUT"
    ip netns del "$NS" 2>/dev/null || true
    ip netns add "$NS"
    trap 'ip netns del "$NS" 2>/dev/null || true' EXIT
    ip netns exec "$NS" ip link set lo up    # MTU 65536, offloads on: the host's loopback
    ip netns exec "$NS" env CHX_SNAPLEN_INNER=1 CHX_KEEP_WORK=$KEEP bash "$0"
    exit 0
fi

WORK=$(mktemp -d /tmp/chx-snaplen-fixture.XXXXXX)
N=http://127.0.0.1:18080
P=http://127.0.0.1:18081
FMT='{"method":"%{method}","url":"%{url_effective}","status":%{http_code}}\n'
LOG=$OUT/snaplen300.client.jsonl
PIDS=() DUMPS=()
cleanup() {
    for pid in "${DUMPS[@]}"; do kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "${CHX_KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

mkdir -p "$WORK/www" "$WORK/tmp"
cp "$HERE/nginx/nginx.conf" "$WORK/nginx.conf"
python3 "$HERE/fixture_www.py" "$WORK/www"
touch -d '2023-11-14 22:13:20 UTC' "$WORK"/www/*
head -c 2500 "$WORK/www/large.json" > "$WORK/post-2500.json"
chmod -R a+rX "$WORK"
nginx -p "$WORK/" -e error.log -c "$WORK/nginx.conf" & PIDS+=($!)
python3 -u "$HERE/fixture_servers.py" http 18081 2>"$WORK/py-http.log" & PIDS+=($!)
for port in 18080 18081; do
    for _ in $(seq 100); do ss -ltn "sport = :$port" | grep -q LISTEN && break; sleep 0.1; done
done

: > "$LOG"
for snaplen in 300 0; do
    file=$OUT/snaplen300.pcap; [ $snaplen = 0 ] && file=$WORK/snaplen0.pcap
    tcpdump -i lo -n -Z root -s $snaplen -U --immediate-mode -B 32768 -w "$file" 'tcp port 18080 or tcp port 18081' \
        2> "$WORK/tcpdump-$snaplen.log" & DUMPS+=($!)
done
for snaplen in 300 0; do
    for _ in $(seq 100); do grep -q 'listening on' "$WORK/tcpdump-$snaplen.log" && break; sleep 0.1; done
done
sleep 0.3

c=(-sS -o /dev/null -w "$FMT")
curl "${c[@]}" "$N/api/v1/order" --next "${c[@]}" "$N/api/v1/goods/list" \
    --next "${c[@]}" -H 'Content-Type: application/json' -d '{"orderId":"ORD1","method_code":"PAY01"}' "$N/api/v1/pay" \
    --next "${c[@]}" "$N/api/v1/refund" --next "${c[@]}" --compressed "$N/gzip/large.json" \
    --next "${c[@]}" "$N/api/v1/order/cancel" >> "$LOG"
curl "${c[@]}" "$P/api/order" --next "${c[@]}" "$P/api/large?bytes=30000" \
    --next "${c[@]}" -H 'Expect: 100-continue' -H 'Content-Type: application/json' --data-binary "@$WORK/post-2500.json" "$P/api/echo" \
    --next "${c[@]}" "$P/api/chunked" --next "${c[@]}" "$P/api/error" >> "$LOG"
# A chunked request body from a generator (http.client), then a plain request on the connection.
python3 - "$LOG" <<'PY'
import http.client, json, sys
log = open(sys.argv[1], "a")
c = http.client.HTTPConnection("127.0.0.1", 18081)
def body():
    yield b'{"method_code":"CH1","pad":"'
    for _ in range(3):
        yield b"y" * 2000
    yield b'"}'
for method, url, data in (("POST", "/api/echo?chunked", body()), ("GET", "/api/order", None)):
    c.request(method, url, body=data, encode_chunked=data is not None, headers={"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    log.write(json.dumps({"method": method, "url": url, "status": r.status}) + "\n")
PY

sleep 1.2
for pid in "${DUMPS[@]}"; do kill -INT "$pid"; wait "$pid" || true; done
DUMPS=()
for snaplen in 300 0; do
    grep -q '^0 packets dropped by kernel' "$WORK/tcpdump-$snaplen.log" || { echo "tcpdump -s $snaplen dropped packets" >&2; exit 1; }
    echo "snaplen $snaplen: $(grep 'packets captured' "$WORK/tcpdump-$snaplen.log")"
done
