#!/usr/bin/env bash
# Records captures/http/tunnels/: a pod's HTTP traffic between two nodes through each kind of
# tunnel an overlay network or a host uses, made by the Linux kernel's own tunnel devices. Run as
# root (network namespaces, tcpdump, curl, python3 with requests).
#
# Namespaces: chx-h17-tun-a (the client's node), chx-h17-tun-b (the server's node) joined by a
# veth pair, the underlay (ua 172.31.0.1 / ub 172.31.0.2, fd17::1 / fd17::2); chx-h17-tun-pod, a
# pod on node b behind a veth (10.17.20.2, fd17:20::2; b routes for it), where
# tunnel_fixture.py serves on port 8080. For each tunnel kind, a device of that kind on both
# nodes (the kernel's driver; on a kernel without it, as on the machine that recorded these, a TUN
# or TAP device whose packets tunnel_endpoint.py sends in that tunnel's headers, see there), an overlay subnet on it, and node a's route to the pod through it; then a `requests`
# session (6 requests, every other one a 20 kB body) and curl (3 requests on one connection) call
# the pod, while tcpdump records on b's underlay device (KIND.underlay.pcap: the outer packets)
# and on b's tunnel device (KIND.inner.pcap: the same traffic without its tunnel). The clients'
# own log: KIND.client.jsonl. The kinds:
#   vxlan        VXLAN, VNI 42, UDP 4789, over IPv4
#   vxlan-8472   VXLAN, VNI 1, UDP 8472 (Linux's and flannel's default), over IPv6
#   geneve       Geneve, VNI 7, UDP 6081, every packet with a 4-byte option (collect_md on a)
#   gre          GRE with checksum, key and sequence numbers, carrying IPv4
#   gretap       GRE with a key carrying Ethernet (0x6558)
#   ip6gre       GRE over IPv6 carrying IPv6
#   ipip         IPv4 in IPv4 (Calico's IPIP mode)
#   sit          IPv6 in IPv4
#   ip6tnl       IPv4 in IPv6 (with the encapsulation limit option ip6tnl adds)
#   ip6ip6       IPv6 in IPv6
#   vxlan-in-gre VXLAN (VNI 99) whose underlay is the gre tunnel: two tunnels
# And vxlan-any.pcap: the vxlan kind recorded on `any` in namespace b, where each segment is seen
# three times (outer on ub, inner on the vxlan device, inner on the pod's veth); and
# vxlan-service-any.pcap: on `any` in node a, a client pod (chx-h17-tun-cpod) calling a Service
# address that node a DNATs to the pod through t-vxlan: each segment before the NAT, after it, and
# after it in VXLAN.
# expected.tsv: tshark's count of HTTP requests and responses in each capture (told that UDP 8472
# is VXLAN: it knows 4789 only; on `any` it counts some copies of a request again), and the clients'.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/../http/tunnels" && pwd)
A=chx-h17-tun-a
B=chx-h17-tun-b
POD=chx-h17-tun-pod
CPOD=chx-h17-tun-cpod
WORK=$(mktemp -d)
PIDS=()
DUMPS=()

cleanup() {
    for pid in "${DUMPS[@]}"; do kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    for ns in $A $B $POD $CPOD; do ip netns del $ns 2>/dev/null || true; done
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# (Background processes are started with `ip netns exec` itself, which becomes the process, so
# that $! is its PID: a function put in the background is a subshell, and stopping it left the
# process running.)
ina() { ip netns exec $A "$@"; }
inb() { ip netns exec $B "$@"; }
inpod() { ip netns exec $POD "$@"; }
# Segments of a real link's size: no segmentation or receive offload on any device.
nooffload() { ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true; }

for ns in $A $B $POD $CPOD; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; ip netns exec $ns ip link set lo up; done
ip link add ua netns $A type veth peer name ub netns $B
ina ip addr add 172.31.0.1/24 dev ua
inb ip addr add 172.31.0.2/24 dev ub
ina ip -6 addr add fd17::1/64 dev ua nodad
inb ip -6 addr add fd17::2/64 dev ub nodad
ina ip link set ua up
inb ip link set ub up
nooffload $A ua
nooffload $B ub
# The pod behind its veth on node b.
ip link add vpod netns $B type veth peer name eth0 netns $POD
inb ip addr add 10.17.20.1/24 dev vpod
inb ip -6 addr add fd17:20::1/64 dev vpod nodad
inb ip link set vpod up
inpod ip addr add 10.17.20.2/24 dev eth0
inpod ip -6 addr add fd17:20::2/64 dev eth0 nodad
inpod ip link set eth0 up
inpod ip route add default via 10.17.20.1
inpod ip -6 route add default via fd17:20::1
nooffload $B vpod
nooffload $POD eth0
inb sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

# addresses KIND SUBNET4 SUBNET6: a.1/b.2 of SUBNET4 (a /24 prefix like 10.17.1) and SUBNET6 (a
# /64 prefix like fd17:1) on device t-KIND of both nodes, which then goes up.
addresses() {
    local kind=$1 v4=$2 v6=$3
    ina ip addr add "$v4.1/24" dev "t-$kind"
    inb ip addr add "$v4.2/24" dev "t-$kind"
    ina ip -6 addr add "$v6::1/64" dev "t-$kind" nodad
    inb ip -6 addr add "$v6::2/64" dev "t-$kind" nodad
    # Room for the tunnel's headers in the underlay's 1500 bytes (and for VXLAN's 50 more in GRE),
    # so that no outer packet is fragmented (fragments were not reassembled when these were recorded).
    local mtu=1400
    [ "$kind" != vxlan-in-gre ] || mtu=1300
    ina ip link set "t-$kind" mtu $mtu up
    inb ip link set "t-$kind" mtu $mtu up
    nooffload $A "t-$kind"
    nooffload $B "t-$kind"
}

# pair KIND SUBNET4 SUBNET6 ARGS_A... -- ARGS_B...: a kernel tunnel device t-KIND on both nodes
# (`ip link add t-KIND ARGS`).
pair() {
    local kind=$1 v4=$2 v6=$3
    shift 3
    local args_a=()
    while [ "$1" != "--" ]; do args_a+=("$1"); shift; done
    shift
    ina ip link add "t-$kind" "${args_a[@]}"
    inb ip link add "t-$kind" "$@"
    addresses "$kind" "$v4" "$v6"
}

# userspace KIND SUBNET4 SUBNET6 UNDERLAY_A UNDERLAY_B: the tunnel in user space
# (tunnel_endpoint.py), for the kinds whose driver this kernel lacks.
userspace() {
    local kind=$1 v4=$2 v6=$3 ua=$4 ub=$5
    ip netns exec $A python3 "$HERE/tunnel_endpoint.py" "$kind" "t-$kind" "$ua" "$ub" & PIDS+=($!)
    ip netns exec $B python3 "$HERE/tunnel_endpoint.py" "$kind" "t-$kind" "$ub" "$ua" & PIDS+=($!)
    for _ in $(seq 100); do
        ina ip link show "t-$kind" >/dev/null 2>&1 && inb ip link show "t-$kind" >/dev/null 2>&1 && break
        sleep 0.1
    done
    addresses "$kind" "$v4" "$v6"
}

# A kind's driver when the kernel has it, else the same headers from user space.
tunnel() { # KIND SUBNET4 SUBNET6 UNDERLAY_A UNDERLAY_B IP_LINK_ARGS...
    local kind=$1 v4=$2 v6=$3 ua=$4 ub=$5
    shift 5
    if ip netns exec $A ip link add "probe-$kind" "$@" local "$ua" remote "$ub" 2>/dev/null; then
        ina ip link del "probe-$kind"
        pair "$kind" "$v4" "$v6" "$@" local "$ua" remote "$ub" -- "$@" local "$ub" remote "$ua"
        echo "$kind: the kernel's driver"
    else
        userspace "$kind" "$v4" "$v6" "$ua" "$ub"
        echo "$kind: user space (tunnel_endpoint.py; no driver in this kernel)"
    fi
    KINDS_DONE+=("$kind")
}

KINDS_DONE=()
pair vxlan 10.17.1 fd17:1 type vxlan id 42 local 172.31.0.1 remote 172.31.0.2 dstport 4789 dev ua -- \
    type vxlan id 42 local 172.31.0.2 remote 172.31.0.1 dstport 4789 dev ub
pair vxlan-8472 10.17.2 fd17:2 type vxlan id 1 local fd17::1 remote fd17::2 dstport 8472 dev ua -- \
    type vxlan id 1 local fd17::2 remote fd17::1 dstport 8472 dev ub
# (the kernel's geneve would send no option: its routes' lightweight encapsulation would, but the
# user-space one always does)
userspace geneve 10.17.3 fd17:3 172.31.0.1 172.31.0.2
tunnel gre 10.17.4 fd17:4 172.31.0.1 172.31.0.2 type gre key 17 csum seq
tunnel gretap 10.17.5 fd17:5 172.31.0.1 172.31.0.2 type gretap key 18
tunnel ip6gre 10.17.6 fd17:6 fd17::1 fd17::2 type ip6gre
tunnel ipip 10.17.7 fd17:7 172.31.0.1 172.31.0.2 type ipip
tunnel sit 10.17.8 fd17:8 172.31.0.1 172.31.0.2 type sit
tunnel ip6tnl 10.17.9 fd17:9 fd17::1 fd17::2 type ip6tnl mode ipip6
tunnel ip6ip6 10.17.10 fd17:10 fd17::1 fd17::2 type ip6tnl mode ip6ip6
pair vxlan-in-gre 10.17.11 fd17:11 type vxlan id 99 local 10.17.4.1 remote 10.17.4.2 dstport 4789 -- \
    type vxlan id 99 local 10.17.4.2 remote 10.17.4.1 dstport 4789

ip netns exec $POD python3 "$HERE/tunnel_fixture.py" server 8080 & PIDS+=($!)
for _ in $(seq 150); do inpod ss -ltn 'sport = :8080' | grep -q LISTEN && break; sleep 0.1; done

# route KIND FAMILY: node a's route to the pod through tun-KIND (the pod's IPv4 or IPv6 address).
route() {
    local kind=$1 family=$2 v4 v6
    v4=$(ina ip -4 -o addr show dev "t-$kind" | awk '{print $4}' | cut -d/ -f1)
    v6=$(ina ip -6 -o addr show dev "t-$kind" scope global | awk '{print $4}' | cut -d/ -f1)
    # Tunnels that carry Ethernet reach the pod through node b's address on them.
    local l2=""
    case $kind in vxlan*|gretap|geneve) l2=1 ;; esac
    if [ "$family" = 4 ]; then
        ina ip route replace 10.17.20.0/24 dev "t-$kind" src "$v4" ${l2:+via "${v4%.1}.2"}
        URL=http://10.17.20.2:8080
    else
        ina ip -6 route replace fd17:20::/64 dev "t-$kind" src "$v6" ${l2:+via "${v6%::1}::2"}
        URL=http://[fd17:20::2]:8080
    fi
}

dump() { # NS DEVICE FILE
    ip netns exec "$1" tcpdump -i "$2" -n -Z root -s 0 -B 32768 -U --immediate-mode -w "$3" 2> "$3.log" & DUMPS+=($!)
    for _ in $(seq 100); do grep -qs "listening on" "$3.log" && break; sleep 0.1; done
}
stop_dumps() {
    sleep 0.5
    for pid in "${DUMPS[@]}"; do kill -INT "$pid"; wait "$pid" || true; done
    DUMPS=()
}
clients() { # URL LOG
    ina python3 "$HERE/tunnel_fixture.py" client "$1" "$2" 6
    ina curl -s -o /dev/null -H 'User-Agent: tunnel-curl' \
        -w '{"client":"curl","url":"%{url_effective}","status":%{http_code}}\n' \
        "$1/hello" "$1/big?n=20000" "$1/hello" >> "$2"
}

[ "${ONLY:-}" = amqp ] || printf 'capture\ttshark_requests\ttshark_responses\tclient_requests\n' > "$OUT/expected.tsv"
record() { # KIND FAMILY
    local kind=$1 family=$2
    route "$kind" "$family"
    rm -f "$OUT/$kind.client.jsonl"
    # One exchange first: the neighbours and the tunnels' own state are settled before the recording.
    ina curl -s -o /dev/null --max-time 5 "$URL/hello"
    dump $B ub "$WORK/$kind.underlay.pcap"
    dump $B "t-$kind" "$WORK/$kind.inner.pcap"
    clients "$URL" "$OUT/$kind.client.jsonl"
    stop_dumps
    for part in underlay inner; do
        grep -q "^0 packets dropped by kernel" "$WORK/$kind.$part.pcap.log" || { cat "$WORK/$kind.$part.pcap.log" >&2; echo "tcpdump dropped packets" >&2; exit 1; }
        cp "$WORK/$kind.$part.pcap" "$OUT/$kind.$part.pcap"
        printf '%s\t%s\t%s\t%s\n' "$kind.$part.pcap" \
            "$(tshark -d udp.port==8472,vxlan -r "$OUT/$kind.$part.pcap" -Y http.request 2>/dev/null | wc -l)" \
            "$(tshark -d udp.port==8472,vxlan -r "$OUT/$kind.$part.pcap" -Y http.response 2>/dev/null | wc -l)" \
            "$(wc -l < "$OUT/$kind.client.jsonl")" >> "$OUT/expected.tsv"
        echo "$kind.$part.pcap: $(grep 'packets captured' "$WORK/$kind.$part.pcap.log")"
    done
}

if [ "${ONLY:-}" != amqp ]; then
record vxlan 4
record vxlan-8472 6
record geneve 4
record gre 4
record gretap 4
record ip6gre 6
record ipip 4
record sit 6
record ip6tnl 4
record ip6ip6 6
record vxlan-in-gre 4

# `any` on node b: every segment on ub (in VXLAN), on t-vxlan and on the pod's veth.
route vxlan 4
rm -f "$OUT/vxlan-any.client.jsonl"
dump $B any "$WORK/vxlan-any.pcap"
clients "$URL" "$OUT/vxlan-any.client.jsonl"
stop_dumps
cp "$WORK/vxlan-any.pcap" "$OUT/vxlan-any.pcap"
printf '%s\t%s\t%s\t%s\n' vxlan-any.pcap \
    "$(tshark -r "$OUT/vxlan-any.pcap" -Y http.request 2>/dev/null | wc -l)" \
    "$(tshark -r "$OUT/vxlan-any.pcap" -Y http.response 2>/dev/null | wc -l)" \
    "$(wc -l < "$OUT/vxlan-any.client.jsonl")" >> "$OUT/expected.tsv"

# A Service on the client's node: a client pod (10.17.30.2, behind a veth on node a) calls the
# Service address 10.96.0.10:80, which node a DNATs to the pod on node b (as kube-proxy does) and
# sends through t-vxlan. `any` on node a sees each segment three times: before the DNAT on the
# client pod's veth, after it on t-vxlan and, in VXLAN, on ua.
ip link add vcpod netns $A type veth peer name eth0 netns $CPOD
ina ip addr add 10.17.30.1/24 dev vcpod
ina ip link set vcpod up
ip netns exec $CPOD ip addr add 10.17.30.2/24 dev eth0
ip netns exec $CPOD ip link set eth0 up
ip netns exec $CPOD ip route add default via 10.17.30.1
nooffload $A vcpod
nooffload $CPOD eth0
ina sysctl -qw net.ipv4.ip_forward=1
inb ip route replace 10.17.30.0/24 via 10.17.1.1 dev t-vxlan
ina ip route replace 10.17.20.0/24 via 10.17.1.2 dev t-vxlan
ina nft -f - <<'NFT'
table ip nat {
    chain prerouting { type nat hook prerouting priority dstnat; ip daddr 10.96.0.10 tcp dport 80 dnat to 10.17.20.2:8080; }
}
NFT
rm -f "$OUT/vxlan-service-any.client.jsonl"
ip netns exec $CPOD curl -s -o /dev/null --max-time 5 http://10.96.0.10/hello
dump $A any "$WORK/vxlan-service-any.pcap"
ip netns exec $CPOD python3 "$HERE/tunnel_fixture.py" client http://10.96.0.10:80 "$OUT/vxlan-service-any.client.jsonl" 6
ip netns exec $CPOD curl -s -o /dev/null -H 'User-Agent: tunnel-curl' \
    -w '{"client":"curl","url":"%{url_effective}","status":%{http_code}}\n' \
    http://10.96.0.10/hello "http://10.96.0.10/big?n=20000" http://10.96.0.10/hello >> "$OUT/vxlan-service-any.client.jsonl"
stop_dumps
cp "$WORK/vxlan-service-any.pcap" "$OUT/vxlan-service-any.pcap"
printf '%s\t%s\t%s\t%s\n' vxlan-service-any.pcap \
    "$(tshark -r "$OUT/vxlan-service-any.pcap" -Y http.request 2>/dev/null | wc -l)" \
    "$(tshark -r "$OUT/vxlan-service-any.pcap" -Y http.response 2>/dev/null | wc -l)" \
    "$(wc -l < "$OUT/vxlan-service-any.client.jsonl")" >> "$OUT/expected.tsv"
cat "$OUT/expected.tsv"
fi

# AMQP through VXLAN (ONLY=amqp for this part alone): RabbitMQ in the pod, captures/amqp/consumers.py's
# ack-nack-reject scenario (pika) on node a, recorded on node b's underlay and vxlan device:
# amqp-vxlan.underlay.pcap, amqp-vxlan.inner.pcap, amqp-vxlan.workers.json (what the workers timed).
if [ "${ONLY:-}" = amqp ] || [ -n "${AMQP:-}" ]; then
    route vxlan 4
    RMQ=$WORK/rabbitmq
    mkdir -p "$RMQ"
    echo "[]." > "$RMQ/enabled_plugins"
    echo "loopback_users.guest = false" > "$RMQ/rabbitmq.conf"
    rabbit_env=(env HOME=$RMQ RABBITMQ_NODENAME=tun17@localhost RABBITMQ_MNESIA_BASE=$RMQ/mnesia
        RABBITMQ_LOG_BASE=$RMQ/log RABBITMQ_NODE_IP_ADDRESS=10.17.20.2 RABBITMQ_NODE_PORT=5672
        RABBITMQ_DIST_PORT=25672 RABBITMQ_CONFIG_FILE=$RMQ/rabbitmq RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ/enabled_plugins
        RABBITMQ_PID_FILE=$RMQ/rabbit.pid)
    ip netns exec $POD "${rabbit_env[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server > "$RMQ/server.out" 2>&1 & RABBIT=$!
    stop_rabbit() {
        local epmd
        epmd=$(for pid in $(ip netns pids $POD); do [ "$(cat /proc/$pid/comm 2>/dev/null)" = epmd ] && echo $pid; done || true)
        inpod "${rabbit_env[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -n tun17@localhost stop >/dev/null 2>&1 || kill "$RABBIT" || true
        wait "$RABBIT" 2>/dev/null || true
        [ -z "$epmd" ] || kill $epmd 2>/dev/null || true
    }
    trap 'stop_rabbit || true; cleanup' EXIT
    for _ in $(seq 120); do
        inpod "${rabbit_env[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -n tun17@localhost await_startup --timeout 5 >/dev/null 2>&1 && break
        sleep 1
    done
    dump $B ub "$WORK/amqp-vxlan.underlay.pcap"
    dump $B t-vxlan "$WORK/amqp-vxlan.inner.pcap"
    ina python3 -c "
import sys; sys.path.insert(0, '$HERE/../amqp'); import consumers
consumers.HOST = '10.17.20.2'; sys.argv = ['consumers.py', 'ack-nack-reject', '5672', '$OUT/amqp-vxlan.workers.json']
consumers.main(consumers.SCENARIOS)"
    stop_dumps
    for part in underlay inner; do cp "$WORK/amqp-vxlan.$part.pcap" "$OUT/"; echo "amqp-vxlan.$part.pcap: $(grep 'packets captured' "$WORK/amqp-vxlan.$part.pcap.log")"; done
fi
