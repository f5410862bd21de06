#!/usr/bin/env bash
# Records captures/http/fragments/: HTTP whose IP packets the kernel fragments on the way, as real
# hosts do. Run as root (network namespaces, tcpdump, tshark, curl, python3 with requests).
#
#   vxlan-frag      Two nodes (chx-h18-frag-a, chx-h18-frag-b) joined by a veth pair of MTU 1500
#                   (ua 172.31.18.1 / ub 172.31.18.2), a VXLAN device (VNI 42, UDP 4789) of MTU
#                   1500 on both: a full-size inner packet and VXLAN's 50 bytes do not fit the
#                   underlay, and Linux's vxlan device sets no DF, so the kernel fragments the
#                   outer UDP packet. Node a's route to b's overlay address is `mtu lock 1500`: the
#                   vxlan device would otherwise lower that route's path MTU at the first packet too
#                   big (skb_tunnel_check_pmtu) and TCP would send smaller segments from then on;
#                   the lock stands for a path whose MTU is not learnt (a forwarded pod's packets
#                   whose ICMP never reaches the pod, an MTU set by hand) and makes every full-size
#                   segment, both ways, two fragments. Recorded on b's underlay device
#                   (.underlay.pcap) and on its vxlan device (.inner.pcap: the same segments whole).
#   geneve6-frag    Geneve (UDP 6081, with a 4-byte option) over an IPv6 underlay (fd18::1 /
#                   fd18::2) between the same nodes, MTU 1500 inside: the kernel's vxlan device
#                   over IPv6 drops an outer packet too big for the underlay instead of fragmenting
#                   it (tried first: nothing larger than the path got through), so the tunnel is
#                   tunnel_endpoint.py's (a TAP device whose frames go out of a UDP socket), and the
#                   kernel fragments those UDP datagrams at the source (RFC 8200 §4.5), as it does
#                   any UDP datagram over IPv6 larger than the path.
#   nodf            TCP without DF crossing a smaller MTU: client (chx-h18-frag-c) —1500— router
#                   r1 —1000— router r2 —1500— server (chx-h18-frag-s), with
#                   net.ipv4.ip_no_pmtu_disc=1 in the client's and the server's namespaces (their
#                   sockets send without DF): r1 fragments the client's full-size segments, r2 the
#                   server's. Recorded on r1's device on the narrow link (both directions in
#                   fragments).
# In each, the server is fragment_fixture.py on port 8080 and the clients are a `requests` session
# (9 requests: GET /hello, GET a 20 kB answer, POST a 20 kB body, three times) and curl (3 requests
# on one connection, one a 20 kB POST), logged in NAME.client.jsonl (12 lines). expected.tsv:
# tshark's HTTP requests and responses (it reassembles IP fragments by default) and the clients'
# count; NAME.pairs.tsv: tshark's request/response pairs. Then fragment_damage.py writes the
# damaged copies of vxlan-frag.underlay.pcap.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$HERE/../http/fragments"
OUT=$(cd "$HERE/../http/fragments" && pwd)
A=chx-h18-frag-a
B=chx-h18-frag-b
C=chx-h18-frag-c
R1=chx-h18-frag-r1
R2=chx-h18-frag-r2
S=chx-h18-frag-s
ALL="$A $B $C $R1 $R2 $S"
WORK=$(mktemp -d)
PIDS=()
DUMPS=()

cleanup() {
    for pid in "${DUMPS[@]}"; do kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    for ns in $ALL; do ip netns del $ns 2>/dev/null || true; done
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# (Background processes are started with `ip netns exec` itself, so that $! is their PID.)
at() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# Segments of a real link's size: no segmentation or receive offload on any device.
nooffload() { ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true; }
# veth NS1 DEV1 ADDR1 NS2 DEV2 ADDR2 MTU: a veth pair, its addresses (with their prefix), its MTU.
veth() {
    ip link add "$2" netns "$1" mtu "$7" type veth peer name "$5" netns "$4" mtu "$7"
    at "$1" ip addr add "$3" dev "$2" nodad 2>/dev/null || at "$1" ip addr add "$3" dev "$2"
    at "$4" ip addr add "$6" dev "$5" nodad 2>/dev/null || at "$4" ip addr add "$6" dev "$5"
    at "$1" ip link set "$2" up
    at "$4" ip link set "$5" up
    nooffload "$1" "$2"
    nooffload "$4" "$5"
}

for ns in $ALL; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; at $ns ip link set lo up; done

# The overlay: two nodes, the underlay, a VXLAN device over IPv4 (not bound to the underlay
# device: with `dev`, the kernel refuses an MTU that leaves no room for VXLAN) and Geneve over IPv6.
veth $A ua 172.31.18.1/24 $B ub 172.31.18.2/24 1500
at $A ip -6 addr add fd18::1/64 dev ua nodad
at $B ip -6 addr add fd18::2/64 dev ub nodad
at $A ip link add t-vxlan type vxlan id 42 local 172.31.18.1 remote 172.31.18.2 dstport 4789
at $B ip link add t-vxlan type vxlan id 42 local 172.31.18.2 remote 172.31.18.1 dstport 4789
ip netns exec $A python3 "$HERE/tunnel_endpoint.py" geneve t-geneve6 fd18::1 fd18::2 & PIDS+=($!)
ip netns exec $B python3 "$HERE/tunnel_endpoint.py" geneve t-geneve6 fd18::2 fd18::1 & PIDS+=($!)
for _ in $(seq 100); do
    at $A ip link show t-geneve6 >/dev/null 2>&1 && at $B ip link show t-geneve6 >/dev/null 2>&1 && break
    sleep 0.1
done
for ns in $A $B; do
    for dev in t-vxlan t-geneve6; do at $ns ip link set $dev mtu 1500 up; nooffload $ns $dev; done
done
at $A ip addr add 10.18.1.1/24 dev t-vxlan
at $B ip addr add 10.18.1.2/24 dev t-vxlan
at $A ip addr add 10.18.2.1/24 dev t-geneve6
at $B ip addr add 10.18.2.2/24 dev t-geneve6
# Locked: the route's MTU stays the device's (see above), both ways.
at $A ip route add 10.18.1.2/32 dev t-vxlan mtu lock 1500
at $B ip route add 10.18.1.1/32 dev t-vxlan mtu lock 1500

# The narrow path: c —1500— r1 —1000— r2 —1500— s.
veth $C eth0 10.18.10.2/24 $R1 left 10.18.10.1/24 1500
veth $R1 mid 10.18.11.1/24 $R2 mid 10.18.11.2/24 1000
veth $R2 right 10.18.12.1/24 $S eth0 10.18.12.2/24 1500
at $C ip route add default via 10.18.10.1
at $S ip route add default via 10.18.12.1
at $R1 ip route add 10.18.12.0/24 via 10.18.11.2
at $R2 ip route add 10.18.10.0/24 via 10.18.11.1
for ns in $R1 $R2; do at $ns sysctl -qw net.ipv4.ip_forward=1; done
for ns in $C $S; do at $ns sysctl -qw net.ipv4.ip_no_pmtu_disc=1; done

ip netns exec $B python3 "$HERE/fragment_fixture.py" server 8080 & PIDS+=($!)
ip netns exec $S python3 "$HERE/fragment_fixture.py" server 8080 & PIDS+=($!)
for ns in $B $S; do
    for _ in $(seq 150); do at $ns ss -ltn 'sport = :8080' | grep -q LISTEN && break; sleep 0.1; done
done

dump() { # NS DEVICE FILE
    ip netns exec "$1" tcpdump -i "$2" -n -Z root -s 0 -B 32768 -U --immediate-mode -w "$3" 2> "$3.log" & DUMPS+=($!)
    for _ in $(seq 100); do grep -qs "listening on" "$3.log" && break; sleep 0.1; done
}
stop_dumps() {
    sleep 0.5
    for pid in "${DUMPS[@]}"; do kill -INT "$pid"; wait "$pid" || true; done
    DUMPS=()
}
clients() { # NS URL LOG
    at "$1" python3 "$HERE/fragment_fixture.py" client "$2" "$3" 9
    head -c 20000 /dev/zero | tr '\0' z > "$WORK/upload.txt"
    at "$1" curl -s -o /dev/null -H 'User-Agent: fragment-curl' \
        -w '{"client":"curl","method":"%{method}","url":"%{url_effective}","status":%{http_code}}\n' \
        "$2/hello" --next -s -o /dev/null -H 'User-Agent: fragment-curl' --data-binary "@$WORK/upload.txt" \
        -w '{"client":"curl","method":"%{method}","url":"%{url_effective}","status":%{http_code}}\n' "$2/upload" \
        --next -s -o /dev/null -H 'User-Agent: fragment-curl' \
        -w '{"client":"curl","method":"%{method}","url":"%{url_effective}","status":%{http_code}}\n' \
        "$2/big?n=20000" >> "$3"
}
# FILE.pairs.tsv: tshark's requests paired with their responses (http.request_in), one
# "METHOD<TAB>URI<TAB>STATUS" line each, sorted: what our exchanges must be.
pairs() { # FILE
    tshark -d udp.port==8472,vxlan -r "$1" -Y http.request -T fields -e frame.number -e http.request.method \
        -e http.request.uri 2>/dev/null > "$WORK/requests.tsv"
    tshark -d udp.port==8472,vxlan -r "$1" -Y http.response -T fields -e http.request_in -e http.response.code \
        2>/dev/null > "$WORK/responses.tsv"
    awk -F'\t' 'NR == FNR { request[$1] = $2 "\t" $3; next } { print request[$1] "\t" $2 }' \
        "$WORK/requests.tsv" "$WORK/responses.tsv" | LC_ALL=C sort > "${1%.pcap}.pairs.tsv"
}
expect() { # FILE CLIENT_LOG
    pairs "$1"
    printf '%s\t%s\t%s\t%s\n' "$(basename "$1")" \
        "$(tshark -d udp.port==8472,vxlan -r "$1" -Y http.request 2>/dev/null | wc -l)" \
        "$(tshark -d udp.port==8472,vxlan -r "$1" -Y http.response 2>/dev/null | wc -l)" \
        "$(wc -l < "$2")" >> "$OUT/expected.tsv"
}
checked() { # FILE: copied out when tcpdump dropped nothing
    grep -q "^0 packets dropped by kernel" "$1.log" || { cat "$1.log" >&2; echo "tcpdump dropped packets" >&2; exit 1; }
    cp "$1" "$OUT/"
    echo "$(basename "$1"): $(grep 'packets captured' "$1.log")"
}

printf 'capture\ttshark_requests\ttshark_responses\tclient_requests\n' > "$OUT/expected.tsv"
overlay() { # NAME URL DEVICE
    local name=$1 url=$2 dev=$3
    rm -f "$OUT/$name.client.jsonl"
    # One exchange first: neighbours settled before the recording.
    at $A curl -s -o /dev/null --max-time 5 "$url/hello"
    dump $B ub "$WORK/$name.underlay.pcap"
    dump $B "$dev" "$WORK/$name.inner.pcap"
    clients $A "$url" "$OUT/$name.client.jsonl"
    stop_dumps
    for part in underlay inner; do checked "$WORK/$name.$part.pcap"; expect "$OUT/$name.$part.pcap" "$OUT/$name.client.jsonl"; done
}
overlay vxlan-frag http://10.18.1.2:8080 t-vxlan
overlay geneve6-frag http://10.18.2.2:8080 t-geneve6

rm -f "$OUT/nodf.client.jsonl"
at $C curl -s -o /dev/null --max-time 5 http://10.18.12.2:8080/hello
dump $R1 mid "$WORK/nodf.pcap"
clients $C http://10.18.12.2:8080 "$OUT/nodf.client.jsonl"
stop_dumps
checked "$WORK/nodf.pcap"
expect "$OUT/nodf.pcap" "$OUT/nodf.client.jsonl"

python3 "$HERE/fragment_damage.py" "$OUT/vxlan-frag.underlay.pcap" "$OUT"
cat "$OUT/expected.tsv"
