#!/usr/bin/env bash
# Runs random_consumers.py (one seed) against a broker of its own in a network namespace of its
# own, with channel-exporter capturing live (two instances: PORT1 with consumer_concurrency 1,
# PORT2 with 3) and tcpdump recording the same traffic; then replays the capture and compares
# live, replay and the truth (compare_random.py). Root.
#   usage: run-random-campaign.sh SEED EXPORTER OUT_DIR [MTU]
# Stops what it starts by PID; deletes the namespace. Python: needs channel-exporter==1.2.2 and
# prometheus_client (the reference) next to pika, amqp and kombu: PYTHON names that interpreter.
set -euo pipefail
SEED=$1; CE=$2; OUT=$(realpath -m "$3"); MTU=${4:-1500}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}
NS=${NETNS:-chx-h15-amqp}
P1=5715; P2=5716; DIST=25715; REF=9715; E1=9716; E2=9717
NODE=h15rnd@localhost
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/amqp-random.XXXXXX)
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
X() { ip netns exec "$NS" "$@"; }
X ip link set lo mtu "$MTU" up
X ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true

export HOME=$WORK RABBITMQ_NODENAME=$NODE RABBITMQ_MNESIA_BASE=$WORK/mnesia RABBITMQ_LOG_BASE=$WORK/log
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$P1 RABBITMQ_DIST_PORT=$DIST
export RABBITMQ_CONFIG_FILE=$WORK/rabbitmq RABBITMQ_ENABLED_PLUGINS_FILE=$WORK/enabled_plugins
export RABBITMQ_PID_FILE=$WORK/rabbit.pid
echo "[]." > "$WORK/enabled_plugins"
printf 'listeners.tcp.1 = 127.0.0.1:%s\nlisteners.tcp.2 = 127.0.0.1:%s\n' $P1 $P2 > "$WORK/rabbitmq.conf"
CTL=/usr/lib/rabbitmq/bin/rabbitmqctl

for k in 1 3; do
    port=$([ $k = 1 ] && echo $P1 || echo $P2)
    cat > "$OUT/exporter-k$k.yaml" <<YAML
syscode: H150000015
interface: lo
amqp:
  ports: [$port]
  consumer_concurrency: $k
YAML
done

ip netns exec "$NS" /usr/lib/rabbitmq/bin/rabbitmq-server > "$WORK/server.out" 2>&1 &
SERVER_PID=$!
TCPDUMP_PID=; E1_PID=; E2_PID=
cleanup() {
    [ -n "$TCPDUMP_PID" ] && kill -INT "$TCPDUMP_PID" 2>/dev/null || true
    [ -n "$E1_PID" ] && kill "$E1_PID" 2>/dev/null || true
    [ -n "$E2_PID" ] && kill "$E2_PID" 2>/dev/null || true
    X $CTL -n "$NODE" stop >/dev/null 2>&1 || kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    # Whatever is left in the namespace (epmd, started by the broker) was started by us.
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    sleep 0.5
    ip netns del "$NS" 2>/dev/null || true
    cp "$WORK/server.out" "$OUT/server.out" 2>/dev/null || true
    cp -r "$WORK/log" "$OUT/broker-log" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 120); do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "broker exited" >&2; exit 1; }
    X $CTL -n "$NODE" await_startup --timeout 5 >/dev/null 2>&1 && break
    sleep 1
done
echo "broker $NODE up on $P1, $P2 (pid $SERVER_PID)"

ip netns exec "$NS" tcpdump -i lo -s 0 -U --time-stamp-precision=nano -w "$OUT/campaign.pcap" "tcp port $P1 or tcp port $P2" 2>"$OUT/tcpdump.err" &
TCPDUMP_PID=$!
ip netns exec "$NS" "$CE" run --config.file "$OUT/exporter-k1.yaml" --interface lo --web.listen-address 127.0.0.1:$E1 > "$OUT/exporter-k1.log" 2>&1 &
E1_PID=$!
ip netns exec "$NS" "$CE" run --config.file "$OUT/exporter-k3.yaml" --interface lo --web.listen-address 127.0.0.1:$E2 > "$OUT/exporter-k3.log" 2>&1 &
E2_PID=$!
sleep 2
X "$PY" "$HERE/random_consumers.py" "$SEED" $P1 $P2 $REF "$OUT" > "$OUT/campaign.out" 2>&1 || { echo "campaign failed"; tail -30 "$OUT/campaign.out"; }
sleep 2
X curl -s http://127.0.0.1:$E1/metrics > "$OUT/live-k1.prom"
X curl -s http://127.0.0.1:$E2/metrics > "$OUT/live-k3.prom"
kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" || true; TCPDUMP_PID=
kill "$E1_PID"; wait "$E1_PID" || true; E1_PID=
kill "$E2_PID"; wait "$E2_PID" || true; E2_PID=
for k in 1 3; do
    "$CE" replay "$OUT/campaign.pcap" --config.file "$OUT/exporter-k$k.yaml" --output "$OUT/replay-k$k.prom" --json --no-progress > "$OUT/replay-k$k.summary.json"
done
promtool check metrics < "$OUT/live-k1.prom" > "$OUT/promtool-k1.txt" 2>&1 || true
promtool check metrics < "$OUT/live-k3.prom" > "$OUT/promtool-k3.txt" 2>&1 || true
echo "pcap: $(stat -c %s "$OUT/campaign.pcap") bytes"
