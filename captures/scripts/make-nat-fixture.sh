#!/usr/bin/env bash
# Records captures/http/nat/: a service behind a NAT, as on a Docker host with a published port,
# captured on `any` in the host's namespace, where every connection is seen on both sides of the
# NAT (see NATCopyDetector). Run as root (network namespaces, nftables, tcpdump).
#
# (the namespaces: nat-topology.sh).
#
# nat.pcap: from the SYNs, two clients (10 and 6 requests on one keep-alive session each) call the
# service through 10.77.0.1:8080; every other request is /call, for which the service first calls its
# partner (10.77.0.2:9000, one keep-alive session): 16 inbound exchanges, 8 outgoing calls.
# nat-midstream.pcap: the recording starts after a client's third request, so its connection and the
# service's connection to its partner are picked up mid-stream: 7 inbound exchanges, 4 outgoing calls.
# The clients' own logs: nat.client.jsonl, nat-midstream.client.jsonl.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/../http/nat" && pwd)
. "$HERE/nat-topology.sh"
WORK=$(mktemp -d)
PIDS=()
DUMP=""

cleanup() {
    if [ -n "$DUMP" ]; then kill -INT "$DUMP" 2>/dev/null || true; wait "$DUMP" 2>/dev/null || true; fi
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    nat_topology_down
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

nat_topology_up

start_servers() { nat_start_servers; }
stop_servers() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    PIDS=()
}
start_dump() {
    ip netns exec $HOST tcpdump -i any -n -Z root -s 4096 -B 32768 -U --immediate-mode -w "$1" tcp 2> "$WORK/tcpdump.log" & DUMP=$!
    for _ in $(seq 100); do grep -q 'listening on' "$WORK/tcpdump.log" && break; sleep 0.1; done
    sleep 0.3
}
stop_dump() {
    sleep 0.3
    kill -INT "$DUMP"; wait "$DUMP" || true; DUMP=""
    grep -q '^0 packets dropped by kernel' "$WORK/tcpdump.log" || { cat "$WORK/tcpdump.log" >&2; echo "tcpdump dropped packets" >&2; exit 1; }
    echo "$(basename "$1"): $(grep 'packets captured' "$WORK/tcpdump.log")"
}
client() {
    ip netns exec $CLI python3 "$HERE/nat_fixture.py" client http://10.77.0.1:8080 "$@"
}

# From the SYNs.
rm -f "$OUT/nat.client.jsonl" "$OUT/nat-midstream.client.jsonl"
start_servers
start_dump "$OUT/nat.pcap"
client "$OUT/nat.client.jsonl" 10
client "$OUT/nat.client.jsonl" 6
stop_dump "$OUT/nat.pcap"
stop_servers

# Mid-stream: the client's session and the service's session to its partner are open before it.
start_servers
client "$OUT/nat-midstream.client.jsonl" 10 "$WORK/go" & CLIENT=$!
for _ in $(seq 100); do [ -s "$OUT/nat-midstream.client.jsonl" ] && [ "$(wc -l < "$OUT/nat-midstream.client.jsonl")" -ge 3 ] && break; sleep 0.1; done
start_dump "$OUT/nat-midstream.pcap"
touch "$WORK/go"
wait "$CLIENT"
stop_dump "$OUT/nat-midstream.pcap"
stop_servers
