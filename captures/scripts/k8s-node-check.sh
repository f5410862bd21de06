#!/usr/bin/env bash
# A Kubernetes-like pair of nodes, checked end to end, live and replayed: `channel-exporter run
# --interface any` in each node's namespace (as deploy/daemonset.yaml runs it, configured with the
# pods' container ports), tcpdump -i any beside it; the recordings are then replayed. Prints, for
# each path a call takes, the clients' counts beside each node's exporter, live and replayed, and
# the label sets that differ between live and replay. Run as root:
#   captures/scripts/k8s-node-check.sh [BINARY]
# N=requests per session (default 20); AMQP=0 leaves RabbitMQ out; MIDSTREAM=1 adds two sessions
# open before the exporters (below); NODE_FILTER=1 gives each node's exporter (and tcpdump)
# `capture.filter: "not (tcp and host NODE_ADDRESS)"`; KEEP=DIR keeps the recordings and logs there; FIXTURE=DIR writes
# there nodeport.pcap (node n2's recording of the calls to its own NodePort alone) and
# nodeport.client.jsonl (those calls, as the clients logged them).
#
#   lan (bridge) ── eth0 192.168.77.1  node n1            eth0 192.168.77.2  node n2
#                   ── eth0 192.168.77.100 ext (partner :9000, NodePort client)
#   each node: cni0 10.244.N.1/24 with pods on veths, flannel.1 (VXLAN id 1, UDP 8472, 10.244.N.0/32,
#   route to the other node's 10.244.M.0/24 via 10.244.M.0 onlink, static neigh + fdb: flannel's)
#   n1 pods: p1 10.244.1.2 (clients, consumers), p2 10.244.1.3 (:8080)
#   n2 pods: q1 10.244.2.2 (:8080), q2 10.244.2.3 (:80), q3 10.244.2.4 (RabbitMQ :5672)
#   kube-proxy-like nftables on both nodes: Services 10.96.0.10:80 → q1:8080, 10.96.0.11:80 → q2:80,
#   10.96.0.12:5672 → q3:5672, 10.96.0.13:80 → p2:8080 (on n1: the client's bridge;
#   p2 calling it reaches itself: kube-proxy's hairpin masquerade, the bridge port in hairpin mode); NodePort :30080 on the node's address → q1:8080, masqueraded
#   fully-random (externalTrafficPolicy: Cluster), :30081 → q1:8080 without (Local; on n2 only);
#   flannel's masquerade fully-random of the pods'
#   calls leaving the cluster. Every pod's /call calls the partner with T-Code = the pod's name.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/fixture-lib.sh"
BINARY=${1:-$HERE/../../.build/release/channel-exporter}
N=${N:-20}
P=chx-h17-k8s
LAN=$P-lan N1=$P-n1 N2=$P-n2 EXT=$P-ext
PODS1=(p1 p2) PODS2=(q1 q2 q3)
WORK=${KEEP:-$(mktemp -d)}
mkdir -p "$WORK"
ALLNS=($LAN $N1 $N2 $EXT $P-p1 $P-p2 $P-q1 $P-q2 $P-q3)
cleanup() {
    fixture_rabbit_stop
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    for ns in "${ALLNS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
inns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

topology_up() {
    for ns in "${ALLNS[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
        ip netns add "$ns"
        inns "$ns" ip link set lo up
    done
    # The underlay: a switch joining both nodes and the outside.
    inns $LAN ip link add sw type bridge
    inns $LAN ip link set sw up
    local i=1
    for ns in $N1 $N2 $EXT; do
        local addr=192.168.77.$([ $ns = $EXT ] && echo 100 || echo $i)
        ip link add "u$i" netns $LAN type veth peer name eth0 netns "$ns"
        inns $LAN ip link set "u$i" master sw
        inns $LAN ip link set "u$i" up
        inns "$ns" ip addr add "$addr/24" dev eth0
        inns "$ns" ip link set eth0 up
        i=$((i + 1))
    done
    for n in 1 2; do
        local node=$P-n$n other=$((3 - n))
        inns "$node" sysctl -qw net.ipv4.ip_forward=1
        # Netfilter sees the bridge (br_netfilter), as Kubernetes requires.
        inns "$node" sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null \
            || echo "k8s-node-check.sh: no br_netfilter (modprobe br_netfilter): NodePort copies differ" >&2
        inns "$node" ip link add cni0 type bridge
        inns "$node" ip link set cni0 mtu 1450
        inns "$node" ip addr add "10.244.$n.1/24" dev cni0
        inns "$node" ip link set cni0 up
        # flannel's VXLAN backend: no learning, the other node's VTEP written in fdb and neigh.
        inns "$node" ip link add flannel.1 type vxlan id 1 local "192.168.77.$n" dev eth0 dstport 8472 nolearning
        inns "$node" ip link set flannel.1 address "02:42:00:00:0$n:00" mtu 1450
        inns "$node" ip addr add "10.244.$n.0/32" dev flannel.1
        inns "$node" ip link set flannel.1 up
        inns "$node" ip route add "10.244.$other.0/24" via "10.244.$other.0" dev flannel.1 onlink
        inns "$node" ip neigh add "10.244.$other.0" lladdr "02:42:00:00:0$other:00" dev flannel.1 nud permanent
        inns "$node" bridge fdb append "02:42:00:00:0$other:00" dev flannel.1 dst "192.168.77.$other"
        # kube-proxy's Services and NodePort, flannel's masquerade.
        inns "$node" nft -f - <<'NFT'
table ip nat {
    chain prerouting { type nat hook prerouting priority dstnat;
        ip daddr 10.96.0.10 tcp dport 80 dnat to 10.244.2.2:8080;
        ip daddr 10.96.0.11 tcp dport 80 dnat to 10.244.2.3:80;
        ip daddr 10.96.0.12 tcp dport 5672 dnat to 10.244.2.4:5672;
        ip daddr 10.96.0.13 tcp dport 80 dnat to 10.244.1.3:8080;
        fib daddr type local tcp dport 30080 meta mark set 0x4000 dnat to 10.244.2.2:8080;
        fib daddr type local tcp dport 30081 dnat to 10.244.2.2:8080; }
    chain postrouting { type nat hook postrouting priority srcnat;
        meta mark 0x4000 masquerade fully-random;
        ip saddr 10.244.1.3 ip daddr 10.244.1.3 tcp dport 8080 masquerade fully-random;
        ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 masquerade fully-random; }
}
NFT
    done
    local pods host ip
    for n in 1 2; do
        if [ $n = 1 ]; then pods=("${PODS1[@]}"); else pods=("${PODS2[@]}"); fi
        ip=2
        for pod in "${pods[@]}"; do
            ip link add "veth-$pod" netns $P-n$n mtu 1450 type veth peer name eth0 netns $P-$pod mtu 1450
            inns $P-n$n ip link set "veth-$pod" master cni0
            inns $P-n$n bridge link set dev "veth-$pod" hairpin on   # the CNI bridge plugin's hairpinMode
            inns $P-n$n ip link set "veth-$pod" up
            inns $P-$pod ip addr add "10.244.$n.$ip/24" dev eth0
            inns $P-$pod ip link set eth0 up
            inns $P-$pod ip route add default via "10.244.$n.1"
            ip=$((ip + 1))
        done
    done
    # Segments of a real link's size on every hop (veths offload by default).
    for ns in "${ALLNS[@]}"; do
        for link in $(inns "$ns" ls /sys/class/net); do
            inns "$ns" ethtool -K "$link" tso off gso off gro off >/dev/null 2>&1 || true
        done
    done
    sleep 1
}

wait_listen() {
    for _ in $(seq 300); do inns "$1" ss -ltn "sport = :$2" | grep -q LISTEN && return; sleep 0.1; done
    echo "nothing listens on $1 :$2" >&2
    exit 1
}
server() { # POD PORT
    ip netns exec $P-$1 python3 "$HERE/k8s_node_fixture.py" server "$2" http://192.168.77.100:9000 "$1" & PIDS+=($!)
    wait_listen $P-$1 "$2"
}

topology_up
# The exporter's configuration on every node: the pods' container ports (what a DaemonSet's
# ConfigMap would list), the broker's port.
for n in 1 2; do
    cat > "$WORK/node$n.yaml" <<YAML
syscode: A123010101
listen: "127.0.0.1:9166"
interface: any
inbound:
  ports: [80, 8080]
amqp:
  ports: [5672]
YAML
    # NODE_FILTER=1: TCP to or from the node's own underlay address left out (the copies that a
    # source NAT to it, or a NodePort on it, makes; the tunnels' UDP stays).
    [ "${NODE_FILTER:-0}" = 1 ] && printf 'capture:\n  filter: "not (tcp and host 192.168.77.%s)"\n' $n >> "$WORK/node$n.yaml"
done
ip netns exec $EXT python3 "$HERE/k8s_node_fixture.py" partner 9000 "$WORK/partner.jsonl" & PIDS+=($!)
wait_listen $EXT 9000
server p2 8080
server q1 8080
server q2 80
if [ "${AMQP:-1}" = 1 ]; then
    fixture_rabbit_start $P-q3 k8scheck 10.244.2.4 "$WORK/rabbitmq"
    wait_listen $P-q3 5672
fi

# MIDSTREAM=1: a keep-alive session to the Service and one to the remote NodePort are open before
# the exporters and tcpdump start (three requests each), picked up mid-stream; counted from then on.
if [ "${MIDSTREAM:-0}" = 1 ]; then
    ip netns exec $P-p1 python3 "$HERE/k8s_node_fixture.py" client http://10.96.0.10 "$WORK/clients.jsonl" "$N" mid-service-8080 "$WORK/go" & MID=($!)
    ip netns exec $EXT python3 "$HERE/k8s_node_fixture.py" client http://192.168.77.1:30080 "$WORK/clients.jsonl" "$N" mid-nodeport-remote "$WORK/go" & MID+=($!)
    for _ in $(seq 150); do [ "$(cat "$WORK/clients.jsonl" 2>/dev/null | wc -l)" -ge 6 ] && break; sleep 0.1; done
fi
for n in 1 2; do
    # replay reads every packet of its file: the recording takes the exporter's capture.filter.
    record_filter='not port 9166'
    [ "${NODE_FILTER:-0}" = 1 ] && record_filter="$record_filter and not (tcp and host 192.168.77.$n)"
    ip netns exec $P-n$n tcpdump -i any -s 0 -U -w "$WORK/n$n.pcap" "$record_filter" 2>"$WORK/tcpdump$n.err" & PIDS+=($!)
    eval "TCPDUMP$n=\$!"
    ip netns exec $P-n$n "$BINARY" run --config.file "$WORK/node$n.yaml" > "$WORK/exporter$n.log" 2>&1 & PIDS+=($!)
done
for n in 1 2; do
    for _ in $(seq 100); do grep -q listening "$WORK/tcpdump$n.err" && grep -q capturing "$WORK/exporter$n.log" && break; sleep 0.1; done
done
sleep 2
# What the clients and the partner logged before is not in the exporters' counts.
touch "$WORK/clients.jsonl"
wc -l < "$WORK/clients.jsonl" > "$WORK/clients.skip"
wc -l < "$WORK/partner.jsonl" > "$WORK/partner.skip"
if [ "${MIDSTREAM:-0}" = 1 ]; then touch "$WORK/go"; wait "${MID[@]}"; fi

client() { # NS URL AGENT [SESSIONS]
    local s
    for s in $(seq "${4:-3}"); do inns "$1" python3 "$HERE/k8s_node_fixture.py" client "$2" "$WORK/clients.jsonl" "$N" "$3"; done
}
client $P-p1 http://10.244.1.3:8080 same-node
client $P-p1 http://10.244.2.2:8080 cross-vxlan
client $P-p1 http://10.96.0.10 service-8080
client $P-p1 http://10.96.0.11 service-80
client $P-p1 http://10.96.0.13 service-local
client $P-p2 http://10.96.0.13 service-hairpin
client $EXT http://192.168.77.1:30080 nodeport-remote
client $EXT http://192.168.77.2:30080 nodeport-local
client $EXT http://192.168.77.2:30081 nodeport-etp-local
# A pod's own calls out (curl: a connection per request, then several on one).
for i in $(seq 10); do
    inns $P-p1 curl -s -o /dev/null -H 'T-Code: p1-direct' http://192.168.77.100:9000/v1/direct
done
inns $P-p1 curl -s -o /dev/null -H 'T-Code: p1-direct' http://192.168.77.100:9000/v1/direct?[1-10]
if [ "${AMQP:-1}" = 1 ]; then
    for scenario in ${AMQP_SCENARIOS:-ack-nack-reject prefetch-burst two-queues-k2}; do
        inns $P-p1 python3 -c "
import sys; sys.path.insert(0, '$HERE/../amqp'); import consumers
consumers.HOST = '10.96.0.12'; sys.argv = ['consumers.py', '$scenario', '5672', '$WORK/amqp-$scenario.json']
consumers.main(consumers.SCENARIOS)"
    done
fi
sleep 1.5
for n in 1 2; do
    inns $P-n$n curl -s http://127.0.0.1:9166/metrics > "$WORK/live$n.prom"
    eval "kill -INT \$TCPDUMP$n; wait \$TCPDUMP$n 2>/dev/null || true"
    "$BINARY" replay "$WORK/n$n.pcap" --config.file "$WORK/node$n.yaml" --output "$WORK/replay$n.prom" --no-progress \
        > "$WORK/replay$n.summary" 2>&1 || true
done
python3 - "$WORK" <<'PY'
import glob, json, re, sys
from collections import Counter
work = sys.argv[1]
skip = lambda name: int(open(f"{work}/{name}.skip").read())
clients = [json.loads(l) for l in open(f"{work}/clients.jsonl")][skip("clients"):]
partner = [json.loads(l) for l in open(f"{work}/partner.jsonl")][skip("partner"):]
consumers = sum(len(json.load(open(f))["records"]) for f in glob.glob(f"{work}/amqp-*.json"))
# Which node's exporter should see each path (the client's node and the server's).
nodes = {"same-node": {1}, "cross-vxlan": {1, 2}, "service-8080": {1, 2}, "service-80": {1, 2}, "service-local": {1}, "service-hairpin": {1},
         "nodeport-remote": {1, 2}, "nodeport-local": {2}, "nodeport-etp-local": {2},
         "mid-service-8080": {1, 2}, "mid-nodeport-remote": {1, 2}}
tnodes = {"P1-DIRECT": {1}, "P2": {1}, "Q1": {2}, "Q2": {2}}
agents = Counter(c["agent"] for c in clients if c["status"] == 200)
tcodes = Counter(p["tcode"].upper() for p in partner)
line = re.compile(r'^(\w+)_count\{(.*)\} (\S+)$')
def parse(path):
    inner, outgoing, consumer, labels = Counter(), Counter(), 0, set()
    for l in open(path):
        m = line.match(l)
        if not m: continue
        family, labs, value = m.group(1), m.group(2), float(m.group(3))
        d = dict(re.findall(r'(\w+)="([^"]*)"', labs))
        labels.add((family, labs))
        if family == "A123010101_inner_metrics": inner[d.get("f_code")] += value
        elif family == "external_call_duration_seconds": outgoing[d.get("tcode")] += value
        elif family == "A123010101_consumer_metrics": consumer += value
    return inner, outgoing, consumer, labels
res = {(run, n): parse(f"{work}/{run}{n}.prom") for run in ("live", "replay") for n in (1, 2)}
print(f"{'path':<26}{'clients':>8}{'n1 want':>9}{'n1 live':>9}{'n1 repl':>9}{'n2 want':>9}{'n2 live':>9}{'n2 repl':>9}")
def row(name, count, want, idx, key):
    cells = []
    for n in (1, 2):
        cells += [count if n in want else 0] + [int(res[(run, n)][idx].get(key, 0)) if idx < 2 else int(res[(run, n)][idx]) for run in ("live", "replay")]
    bad = any(cells[i] != cells[i - i % 3] for i in range(6))
    print(f"{name:<26}{count:>8}" + "".join(f"{c:>9}" for c in cells) + ("   <-- differs" if bad else ""))
for agent, want in nodes.items():
    if agent.startswith("mid-") and agent not in agents: continue
    row("inner " + agent, agents.get(agent, 0), want, 0, agent)
for tcode, want in tnodes.items():
    row("outgoing " + tcode, tcodes.get(tcode, 0), want, 1, tcode)
row("consumer (amqp)", consumers, {1, 2}, 2, None)
for n in (1, 2):
    for run in ("live", "replay"):
        inner, outgoing = res[(run, n)][0], res[(run, n)][1]
        for label in sorted(set(inner) - set(nodes)): print(f"n{n} {run}: inner f_code={label!r}: {int(inner[label])}")
        for label in sorted(set(outgoing) - set(tnodes)): print(f"n{n} {run}: outgoing tcode={label!r}: {int(outgoing[label])}")
    live, replay = res[("live", n)][3], res[("replay", n)][3]
    for l in sorted(live - replay): print(f"n{n} live only:   {l}")
    for l in sorted(replay - live): print(f"n{n} replay only: {l}")
PY
for n in 1 2; do
    echo "n$n live: nat copies $(awk '/^channel_exporter_flows_nat_copies_total/ {print $2 + 0}' "$WORK/live$n.prom")," \
        "decapsulated $(grep '^channel_exporter_decapsulated_packets_total' "$WORK/live$n.prom" | awk '{s += $2} END {print s + 0}')"
    grep -E '^(connections|tcp|http|amqp|tunnels|nat)' "$WORK/replay$n.summary" | sed "s/^/n$n replay: /"
done
if [ -n "${FIXTURE:-}" ]; then
    # The three copies of each connection: before the NAT, on the bridge between the MASQUERADE and
    # the DNAT undone (the server's packets), after both; no VXLAN, no partner.
    tcpdump -r "$WORK/n2.pcap" -w "$FIXTURE/nodeport.pcap" \
        'tcp and ((host 192.168.77.100 and (port 30080 or port 8080)) or host 10.244.2.1)' 2>/dev/null
    grep '"nodeport-local"' "$WORK/clients.jsonl" > "$FIXTURE/nodeport.client.jsonl"
fi
