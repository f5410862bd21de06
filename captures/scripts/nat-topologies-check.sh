#!/usr/bin/env bash
# Live checks of NAT copies on topologies nat-topology.sh does not build: `channel-exporter run
# --interface any` in the host namespace while tcpdump -i any records the same traffic there; the
# recording is then replayed. Prints, for each, the clients' own counts beside the exporter's
# (channel_exporter_observations_total by kind, nat copies), live and replayed. Run as root:
#   captures/scripts/nat-topologies-check.sh TOPOLOGY [BINARY]
# TOPOLOGY: hairpin | service | ipv6 | amqp | snat-ports | churn
#   hairpin     a container calls the host's published port that leads to another container on
#               the same bridge (DNAT and MASQUERADE of the same connection)
#   service     a Kubernetes-like Service: the service's outgoing calls to a virtual IP, DNAT'd to a
#               backend on the same port (:80) and on another (:81 → :8081); one keep-alive session
#               each open before the exporter starts (picked up mid-stream), then new ones
#   ipv6        the Docker-like DNAT of a published port and MASQUERADE, in ip6 nat
#   amqp        pika consumers reach RabbitMQ through a DNAT'd published port 5672
#   snat-ports  two containers' calls leave through `masquerade to :40000-40003`: every client port
#               is changed
#   churn       no NAT: ab -n 15000 -c 200 (a connection a request; CHURN_CLIENT=wrk: wrk -c 200
#               with Connection: close for 10 s) and 40 parallel curl loops over veths and a bridge
# KEEP=DIR keeps the recording and logs there.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/fixture-lib.sh"
TOPOLOGY=$1
BINARY=${2:-$HERE/../../.build/release/channel-exporter}
HOST=chx-h16-nat-h A=chx-h16-nat-a B=chx-h16-nat-b C=chx-h16-nat-c
WORK=${KEEP:-$(mktemp -d)}
mkdir -p "$WORK"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    for ns in $HOST $A $B $C; do ip netns del "$ns" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
inns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# namespaces: HOST with a bridge br0 (172.30.0.1/24, fd30::1/64) holding A, B, C's eth0
# (172.30.0.2-4, fd30::2-4), and a veth vh-out (10.77.0.1/24, fd77::1/64) to C when OUTSIDE=1
# (C is then outside: 10.77.0.2, fd77::2).
topology_up() {
    for ns in $HOST $A $B $C; do
        ip netns del "$ns" 2>/dev/null || true
        ip netns add "$ns"
        inns "$ns" ip link set lo up
    done
    inns $HOST ip link add br0 type bridge
    inns $HOST ip addr add 172.30.0.1/24 dev br0
    inns $HOST ip addr add fd30::1/64 dev br0 nodad
    inns $HOST ip link set br0 up
    local n=2
    for ns in $A $B $C; do
        if [ "$ns" = $C ] && [ "${OUTSIDE:-0}" = 1 ]; then
            ip link add vh-out netns $HOST type veth peer name eth0 netns $C
            inns $HOST ip addr add 10.77.0.1/24 dev vh-out
            inns $HOST ip addr add fd77::1/64 dev vh-out nodad
            inns $HOST ip link set vh-out up
            inns $C ip addr add 10.77.0.2/24 dev eth0
            inns $C ip addr add fd77::2/64 dev eth0 nodad
            inns $C ip link set eth0 up
            inns $C ip route add default via 10.77.0.1
            inns $C ip -6 route add default via fd77::1
            continue
        fi
        ip link add "vh-$n" netns $HOST type veth peer name eth0 netns "$ns"
        inns $HOST ip link set "vh-$n" master br0
        inns $HOST ip link set "vh-$n" up
        inns "$ns" ip addr add "172.30.0.$n/24" dev eth0
        inns "$ns" ip addr add "fd30::$n/64" dev eth0 nodad
        inns "$ns" ip link set eth0 up
        inns "$ns" ip route add default via 172.30.0.1
        inns "$ns" ip -6 route add default via fd30::1
        n=$((n + 1))
    done
    for ns in $HOST $A $B $C; do
        for link in $(inns "$ns" ls /sys/class/net); do
            inns "$ns" ethtool -K "$link" tso off gso off gro off >/dev/null 2>&1 || true
        done
    done
    inns $HOST sysctl -qw net.ipv4.ip_forward=1
    inns $HOST sysctl -qw net.ipv6.conf.all.forwarding=1
    sleep 1
}

listening() { inns "$1" ss -ltn "sport = :$2" | grep -q LISTEN; }
wait_listen() {
    for _ in $(seq 300); do listening "$1" "$2" && return; sleep 0.1; done
    echo "nothing listens on $1 :$2" >&2
    exit 1
}
http_server() { # NS PORT [PARTNER_URL]
    ip netns exec "$1" python3 "$HERE/nat_fixture.py" "$([ $# -gt 2 ] && echo service || echo partner)" "$2" ${3:+"$3"} & PIDS+=($!)
    wait_listen "$1" "$2"
}

record() { # FILTER: tcpdump -i any in HOST
    ip netns exec $HOST tcpdump -i any -s 0 -U -w "$WORK/any.pcap" "$1" 2>"$WORK/tcpdump.err" & TCPDUMP=$!
    PIDS+=("$TCPDUMP")
    for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
}
exporter() { # ARGS...
    ip netns exec $HOST "$BINARY" run --syscode A123010101 --interface any --web.listen-address 127.0.0.1:9176 "$@" \
        > "$WORK/exporter.log" 2>&1 & EXPORTER=$!
    PIDS+=("$EXPORTER")
    for _ in $(seq 100); do grep -q capturing "$WORK/exporter.log" && break; sleep 0.1; done
    sleep 2
}
finish() { # ARGS... (the exporter's, for the replay)
    sleep 1.5
    inns $HOST curl -s http://127.0.0.1:9176/metrics > "$WORK/live.prom"
    kill -INT "$TCPDUMP"; wait "$TCPDUMP" 2>/dev/null || true
    "$BINARY" replay "$WORK/any.pcap" --syscode A123010101 "$@" --output "$WORK/replay.prom" --no-progress \
        > "$WORK/replay.summary" 2>&1 || true
    sum() { grep "^$1_count{" "$2" | awk '{s += $2} END {print s + 0}'; }
    for run in live replay; do
        if [ $run = live ]; then
            copies=$(awk '/^channel_exporter_flows_nat_copies_total/ {print $2 + 0}' "$WORK/live.prom")
        else
            copies=$(grep -o '[0-9]* seen again behind a NAT' "$WORK/replay.summary" | cut -d' ' -f1 || true)
        fi
        printf '%-7s inner %s, outgoing %s, consumer %s, nat copies %s\n' "$run:" \
            "$(sum A123010101_inner_metrics "$WORK/$run.prom")" "$(sum external_call_duration_seconds "$WORK/$run.prom")" \
            "$(sum A123010101_consumer_metrics "$WORK/$run.prom")" "${copies:-0}"
    done
    grep -E '^(connections|tcp|http):' "$WORK/replay.summary"
}
lines() { cat "$@" 2>/dev/null | wc -l; }
calls() { cat "$@" 2>/dev/null | grep -c '/call' || true; }

# sessions: with `client` defined (nat_fixture.py's client of the service on :80), one session
# open before the exporter starts (picked up mid-stream) and three after it, then the counts.
sessions() {
    record "tcp"
    client "$WORK/before.jsonl" 10 "$WORK/go" & FIRST=$!
    for _ in $(seq 150); do [ "$(lines "$WORK/before.jsonl")" -ge 3 ] && break; sleep 0.1; done
    exporter --inbound-port 80
    touch "$WORK/go"
    wait "$FIRST"
    for _ in 1 2 3; do client "$WORK/after.jsonl" 8; done
    echo "clients: after the exporter started $(($(lines "$WORK/before.jsonl") - 3 + $(lines "$WORK/after.jsonl"))) requests ($(($(tail -n +4 "$WORK/before.jsonl" | grep -c /call) + $(calls "$WORK/after.jsonl"))) /call); whole recording $(lines "$WORK/before.jsonl" "$WORK/after.jsonl") ($(calls "$WORK/before.jsonl" "$WORK/after.jsonl") /call)"
    finish --inbound-port 80
}

case $TOPOLOGY in
hairpin)
    # A: the service :80 (its partner: C's :9000, no NAT on the bridge); B: the client, calling the
    # host's published 10.99.0.1:8080 (an address of the host, as a container calls the host's IP).
    topology_up
    inns $HOST ip addr add 10.99.0.1/32 dev lo
    inns $HOST nft -f - <<'NFT'
table ip nat {
    chain prerouting { type nat hook prerouting priority dstnat; ip daddr 10.99.0.1 tcp dport 8080 dnat to 172.30.0.2:80; }
    chain output { type nat hook output priority -100; ip daddr 10.99.0.1 tcp dport 8080 dnat to 172.30.0.2:80; }
    chain postrouting { type nat hook postrouting priority srcnat; ip saddr 172.30.0.0/24 ip daddr 172.30.0.2 tcp dport 80 oifname "br0" masquerade; }
}
NFT
    http_server $C 9000
    http_server $A 80 http://172.30.0.4:9000
    client() { inns $B python3 "$HERE/nat_fixture.py" client http://10.99.0.1:8080 "$@"; }
    sessions
    ;;
service)
    # A: the service :8000 (inbound), whose /call calls a Service's virtual IP; B: backend :80 and
    # :8081; C: the service's client. 10.96.0.10:80 → B:80 (same port); 10.96.0.11:80 → B:8081.
    topology_up
    inns $HOST nft -f - <<'NFT'
table ip nat {
    chain prerouting { type nat hook prerouting priority dstnat;
        ip daddr 10.96.0.10 tcp dport 80 dnat to 172.30.0.3:80;
        ip daddr 10.96.0.11 tcp dport 80 dnat to 172.30.0.3:8081; }
}
NFT
    http_server $B 80
    http_server $B 8081
    services() {
        ip netns exec $A python3 "$HERE/nat_fixture.py" service 8000 http://10.96.0.10 & SVC=($!)
        ip netns exec $A python3 "$HERE/nat_fixture.py" service 8001 http://10.96.0.11 & SVC+=($!)
        PIDS+=("${SVC[@]}")
        wait_listen $A 8000
        wait_listen $A 8001
    }
    services
    client() { inns $C python3 "$HERE/nat_fixture.py" client "$@"; }
    record "tcp"
    # One session to each service port open before the exporter: their keep-alive calls to the
    # Services (one session each in the service) are picked up mid-stream.
    client http://172.30.0.2:8000 "$WORK/before0.jsonl" 10 "$WORK/go" & F0=$!
    client http://172.30.0.2:8001 "$WORK/before1.jsonl" 10 "$WORK/go" & F1=$!
    for _ in $(seq 150); do [ "$(lines "$WORK/before0.jsonl")" -ge 3 ] && [ "$(lines "$WORK/before1.jsonl")" -ge 3 ] && break; sleep 0.1; done
    exporter --inbound-port 8000 --inbound-port 8001
    touch "$WORK/go"
    wait "$F0" "$F1"
    # New service processes: their sessions to the Services open from the SYN.
    kill -TERM "${SVC[@]}"; wait "${SVC[@]}" 2>/dev/null || true
    for _ in $(seq 50); do listening $A 8000 || listening $A 8001 || break; sleep 0.1; done
    services
    for _ in 1 2 3; do client http://172.30.0.2:8000 "$WORK/after0.jsonl" 6; client http://172.30.0.2:8001 "$WORK/after1.jsonl" 6; done
    for p in 0 1; do
        echo "clients :800$p: after the exporter started $(($(lines "$WORK/before$p.jsonl") - 3 + $(lines "$WORK/after$p.jsonl"))) requests ($(($(tail -n +4 "$WORK/before$p.jsonl" | grep -c /call) + $(calls "$WORK/after$p.jsonl"))) /call); whole recording $(lines "$WORK/before$p.jsonl" "$WORK/after$p.jsonl") ($(calls "$WORK/before$p.jsonl" "$WORK/after$p.jsonl") /call)"
    done
    finish --inbound-port 8000 --inbound-port 8001
    ;;
ipv6)
    # C outside (fd77::2, the client and the partner :9000); A the service [fd30::2]:80 published as
    # [fd77::1]:8080; the bridge's calls out masqueraded.
    OUTSIDE=1 topology_up
    inns $HOST nft -f - <<'NFT'
table ip6 nat {
    chain prerouting { type nat hook prerouting priority dstnat; ip6 daddr fd77::1 tcp dport 8080 dnat to [fd30::2]:80; }
    chain postrouting { type nat hook postrouting priority srcnat; ip6 saddr fd30::/64 oifname "vh-out" masquerade; }
}
NFT
    # nat_fixture.py's servers on "::" (it binds 0.0.0.0).
    serve6() { # NS PORT PARTNER_URL|""
        ip netns exec "$1" python3 -c "
import http.server, socket, sys
sys.path.insert(0, '$HERE')
class Server6(http.server.HTTPServer):
    address_family = socket.AF_INET6
    def __init__(self, address, handler): super().__init__(('::', address[1]), handler)
http.server.HTTPServer = Server6
import nat_fixture
nat_fixture.serve($2, '$3' or None)" & PIDS+=($!)
        wait_listen "$1" "$2"
    }
    serve6 $C 9000 ""
    serve6 $A 80 "http://[fd77::2]:9000"
    client() { inns $C python3 "$HERE/nat_fixture.py" client "http://[fd77::1]:8080" "$@"; }
    sessions
    ;;
snat-ports)
    # A and B (containers) call C outside (10.77.0.2:9000) through `masquerade to :40000-40003`:
    # every client port is changed; 4 ports for 2 clients' connections.
    OUTSIDE=1 topology_up
    inns $HOST nft -f - <<'NFT'
table ip nat {
    chain postrouting { type nat hook postrouting priority srcnat; ip saddr 172.30.0.0/24 oifname "vh-out" meta l4proto tcp masquerade to :40000-40003; }
}
NFT
    http_server $C 9000
    record "tcp"
    exporter --inbound-port 8000
    for round in 1 2 3 4 5; do
        for ns in $A $B; do
            ip netns exec $ns python3 "$HERE/nat_fixture.py" client http://10.77.0.2:9000 "$WORK/$ns.jsonl" 4 & R+=($!)
        done
        wait "${R[@]}"; R=()
    done
    echo "clients: $(lines "$WORK/$A.jsonl" "$WORK/$B.jsonl") requests on 10 connections"
    finish --inbound-port 8000
    ;;
churn)
    # No NAT: A Python's ThreadingHTTPServer on :80; B: ab or wrk, 200 at once; C: 40 curl loops.
    topology_up
    ip netns exec $A python3 -c '
import http.server, socketserver
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"{\"code\": 0}"
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
class S(http.server.ThreadingHTTPServer):
    request_queue_size = 1024
S(("0.0.0.0", 80), H).serve_forever()' & PIDS+=($!)
    wait_listen $A 80
    record "tcp port 80"
    exporter --inbound-port 80
    # wrk counts only the answers it read before its end; ab -n counts every one.
    if [ "${CHURN_CLIENT:-ab}" = wrk ]; then
        ip netns exec $B wrk -t 2 -c 200 -d 10s -H 'Connection: close' http://172.30.0.2/ > "$WORK/wrk.txt" 2>&1 & W=$!
    else
        ip netns exec $B ab -q -n 15000 -c 200 http://172.30.0.2/ > "$WORK/wrk.txt" 2>&1 & W=$!
    fi
    for n in $(seq 40); do
        ip netns exec $C bash -c 'ok=0; for i in $(seq 25); do curl -s -o /dev/null -w "%{http_code}\n" http://172.30.0.2/x; done' > "$WORK/curl$n.txt" & R+=($!)
    done
    wait "${R[@]}" "$W"
    grep -E 'requests in|Socket errors|Complete requests|Failed requests|Non-2xx' "$WORK/wrk.txt"
    echo "curl: $(cat "$WORK"/curl*.txt | grep -c '^200$') answered of $(cat "$WORK"/curl*.txt | wc -l)"
    finish --inbound-port 80
    ;;
amqp)
    # RabbitMQ in A (172.30.0.2:5672), published as 10.77.0.1:5672; captures/amqp/consumers.py's
    # scenarios (pika) run in C outside against the published port.
    OUTSIDE=1 topology_up
    inns $HOST nft -f - <<'NFT'
table ip nat {
    chain prerouting { type nat hook prerouting priority dstnat; ip daddr 10.77.0.1 tcp dport 5672 dnat to 172.30.0.2:5672; }
    chain postrouting { type nat hook postrouting priority srcnat; ip saddr 172.30.0.0/24 oifname "vh-out" masquerade; }
}
NFT
    fixture_rabbit_start $A natcheck 172.30.0.2 "$WORK/rabbitmq"
    trap 'fixture_rabbit_stop; cleanup' EXIT
    wait_listen $A 5672
    record "tcp port 5672"
    printf 'syscode: A123010101\namqp:\n  ports: [5672]\n' > "$WORK/amqp.yaml"
    ip netns exec $HOST "$BINARY" run --config.file "$WORK/amqp.yaml" --interface any --web.listen-address 127.0.0.1:9176 \
        > "$WORK/exporter.log" 2>&1 &
    EXPORTER=$!
    PIDS+=("$EXPORTER")
    for _ in $(seq 100); do grep -q capturing "$WORK/exporter.log" && break; sleep 0.1; done
    sleep 2
    for scenario in ${AMQP_SCENARIOS:-ack-nack-reject prefetch-burst two-queues-k2}; do
        ip netns exec $C python3 -c "
import sys; sys.path.insert(0, '$HERE/../amqp'); import consumers
consumers.HOST = '10.77.0.1'; sys.argv = ['consumers.py', '$scenario', '5672', '$WORK/$scenario.json']
consumers.main(consumers.SCENARIOS)"
    done
    echo "consumers: $(python3 -c "import json, glob; print(sum(len(json.load(open(f))['records']) for f in glob.glob('$WORK/*.json')))") answers recorded"
    finish --config.file "$WORK/amqp.yaml"
    ;;
esac
