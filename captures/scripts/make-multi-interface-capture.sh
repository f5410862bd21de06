#!/usr/bin/env bash
# Records captures/http/multi-interface.pcapng: one capture on two interfaces at once, as
# Wireshark and dumpcap write it (`dumpcap -i lo -i any`): a pcapng file with two interface
# descriptions of different link types (Ethernet for lo, Linux cooked for any), every packet
# in it twice, and the two interfaces' packets interleaved out of time order (each is written
# as its own buffer comes). libpcap refuses such a file at its second interface.
#
#   captures/scripts/make-multi-interface-capture.sh
#
# Runs in a private network namespace (chx-multi-interface) so that `any` sees only this
# traffic: fixture_servers.py on 127.0.0.1:18081, curl as the client (keep-alive, JSON bodies,
# chunked, an error). Needs root, dumpcap (tshark's), curl, python3.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(dirname "$HERE")/http/multi-interface.pcapng
NS=chx-multi-interface

if [ "${CHX_INNER:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || { echo "make-multi-interface-capture: needs root" >&2; exit 1; }
    ip netns add "$NS"
    trap 'ip netns delete "$NS"' EXIT
    ip netns exec "$NS" ip link set lo up
    CHX_INNER=1 ip netns exec "$NS" "$0"
    exit
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
python3 -u "$HERE/fixture_servers.py" http 18081 2>"$WORK/server.log" &
PIDS+=($!)
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18081/api/order && break; sleep 0.1; done

dumpcap -q -i lo -i any -f "tcp port 18081" -w "$OUT" 2>"$WORK/dumpcap.log" &
DUMPCAP=$!
PIDS+=($DUMPCAP)
sleep 1.5
U=http://127.0.0.1:18081
curl -sS -o /dev/null -A multi-if/1.0 "$U/api/order" --next -o /dev/null -A multi-if/1.0 \
    -H 'Content-Type: application/json' -d '{"method_code":"MI1"}' "$U/api/echo" \
    --next -o /dev/null -A multi-if/1.0 "$U/api/chunked"
curl -sS -o /dev/null -A multi-if/1.0 "$U/api/error" --next -o /dev/null -A multi-if/1.0 "$U/api/order?method_code=Q2"
sleep 1.5
kill -INT "$DUMPCAP"
wait "$DUMPCAP" || true
chmod 644 "$OUT"
echo "multi-interface.pcapng: $(capinfos -c "$OUT" | tail -1)"
