#!/usr/bin/env bash
# Records the AMQPObserver fixtures: a real RabbitMQ broker on loopback, real
# pika / py-amqp consumers, tcpdump on lo. Re-run from anywhere; writes into
# the directory of this script. Needs root (tcpdump, apt-get).
#
# For each scenario (see consumers.py) it writes:
#   NAME.pcap            the capture (snaplen 0, nanosecond timestamps)
#   NAME.workers.json    what the consumers measured themselves
#   NAME.expected.txt    per (queue, code): count and buckets (expected.py)
#   NAME.payloads.txt    per packet: frame, time, ports, seq, flags, payload hex
#                        (the unit tests replay these without a reassembler)
#   NAME.methods.txt     tshark's AMQP dissector: the method sequence
# and damaged copies of prefetch-burst (midstream, dropped segments).
# AMQP_SCENARIOS and AMQP_CONSUMERS (make-more-fixtures.sh) choose other scenarios and
# another consumer script; the damaged copies are made for consumers.py's set only.
# AMQP_LIVE_EXPORTER (a channel-exporter binary) also runs it live on lo during each scenario
# (consumer_concurrency AMQP_LIVE_CONCURRENCY, default 1) and writes its /metrics after the
# scenario to AMQP_LIVE_OUT/NAME.live.prom.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
PORT=${AMQP_FIXTURE_PORT:-5682}
DIST_PORT=${AMQP_FIXTURE_DIST_PORT:-25682}
NODE=fixtures@localhost
WORK=$(mktemp -d "${AMQP_FIXTURE_TMP:-/tmp}/amqp-fixtures.XXXXXX")

need() { command -v "$1" >/dev/null || { apt-get update -q && apt-get install -y -q "$2"; }; }
need rabbitmq-server rabbitmq-server
need tcpdump tcpdump
need tshark tshark
need editcap wireshark-common
python3 -c 'import pika, amqp' 2>/dev/null || pip install -q pika amqp
# make-more-fixtures.sh runs this script with its own scenario list and consumer script.
SCENARIOS=${AMQP_SCENARIOS:-ack-nack-reject prefetch-burst multiple-ack two-queues-k2 get-poller cancel-and-drop}
CONSUMERS=${AMQP_CONSUMERS:-consumers.py}

export HOME=$WORK   # the Erlang cookie lives here, for the server and rabbitmqctl alike
export RABBITMQ_NODENAME=$NODE
export RABBITMQ_MNESIA_BASE=$WORK/mnesia
export RABBITMQ_LOG_BASE=$WORK/log
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$PORT
export RABBITMQ_DIST_PORT=$DIST_PORT
export RABBITMQ_CONFIG_FILE=$WORK/rabbitmq        # .conf appended by rabbitmq
export RABBITMQ_ENABLED_PLUGINS_FILE=$WORK/enabled_plugins
export RABBITMQ_PID_FILE=$WORK/rabbit.pid
echo "[]." > "$WORK/enabled_plugins"
: > "$WORK/rabbitmq.conf"
CTL=/usr/lib/rabbitmq/bin/rabbitmqctl

# Erlang's port mapper daemon is started by the broker when none runs; then we stop it too.
EPMD_WAS_RUNNING=$(pgrep -x epmd || true)
/usr/lib/rabbitmq/bin/rabbitmq-server > "$WORK/server.out" 2>&1 &
SERVER_PID=$!
TCPDUMP_PID=
LIVE_PID=
cleanup() {
    [ -n "$TCPDUMP_PID" ] && kill -INT "$TCPDUMP_PID" 2>/dev/null || true
    [ -n "$LIVE_PID" ] && kill "$LIVE_PID" 2>/dev/null || true
    $CTL -n "$NODE" stop >/dev/null 2>&1 || kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    [ -z "$EPMD_WAS_RUNNING" ] && epmd -kill >/dev/null 2>&1 || true
    cp "$WORK/server.out" "${AMQP_FIXTURE_TMP:-/tmp}/amqp-fixtures-server.out" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 120); do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "broker exited" >&2; exit 1; }
    $CTL -n "$NODE" await_startup --timeout 5 >/dev/null 2>&1 && break
    sleep 1
done
echo "broker $NODE up on 127.0.0.1:$PORT (pid $SERVER_PID)"

. ./amqp-fixture-lib.sh   # extract NAME: NAME.payloads.txt and NAME.methods.txt from NAME.pcap

LIVE=${AMQP_LIVE_EXPORTER:-}
LIVE_LISTEN=127.0.0.1:${AMQP_LIVE_METRICS_PORT:-9186}
for name in $SCENARIOS; do
    if [ -n "$LIVE" ]; then
        printf 'syscode: A123010101\namqp:\n  ports: [%s]\n  consumer_concurrency: %s\n' \
            "$PORT" "${AMQP_LIVE_CONCURRENCY:-1}" > "$WORK/live.yaml"
        "$LIVE" run --config.file "$WORK/live.yaml" --interface lo --web.listen-address "$LIVE_LISTEN" \
            > "$AMQP_LIVE_OUT/$name.live.log" 2>&1 &
        LIVE_PID=$!
    fi
    tcpdump -i lo -s 0 -U --time-stamp-precision=nano -w "$name.pcap" "tcp port $PORT" 2>"$WORK/tcpdump.err" &
    TCPDUMP_PID=$!
    sleep 1
    python3 "$CONSUMERS" "$name" "$PORT" "$name.workers.json"
    sleep 1
    kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" || true; TCPDUMP_PID=
    if [ -n "$LIVE" ]; then
        curl -sf "http://$LIVE_LISTEN/metrics" > "$AMQP_LIVE_OUT/$name.live.prom"
        kill "$LIVE_PID"; wait "$LIVE_PID" || true; LIVE_PID=
    fi
    python3 expected.py "$name.workers.json" > "$name.expected.txt"
    extract "$name"
    echo "$name: $(wc -c < "$name.pcap") bytes, $(wc -l < "$name.payloads.txt") packets"
done

[ "$CONSUMERS" = consumers.py ] || { echo "done; port $PORT"; exit 0; }

# Damaged copies of prefetch-burst.
# midstream: the capture begins after basic.consume / consume-ok (just before
# the first basic.deliver): topics come from the default-exchange routing key.
first_deliver=$(tshark -r prefetch-burst.pcap -d "tcp.port==$PORT,amqp" \
    -Y 'amqp.method.class == 60 && amqp.method.method == 60' -T fields -e frame.number 2>/dev/null | head -1 || true)
editcap -r prefetch-burst.pcap prefetch-burst-midstream.pcap "$first_deliver-1000000"
extract prefetch-burst-midstream
# dropped: the middle packet carrying basic.deliver (broker -> consumer) and the
# middle packet carrying basic.ack (consumer -> broker) removed: a gap each way.
pick_middle() { # class method sender-filter
    tshark -r prefetch-burst.pcap -d "tcp.port==$PORT,amqp" -Y "amqp.method.class == $1 && amqp.method.method == $2 && $3" \
        -T fields -e frame.number 2>/dev/null | awk '{ f[NR] = $1 } END { print f[int((NR + 1) / 2)] }'
}
drop=("$(pick_middle 60 60 "tcp.srcport == $PORT")" "$(pick_middle 60 80 "tcp.dstport == $PORT")")
editcap prefetch-burst.pcap prefetch-burst-dropped.pcap "${drop[@]}"
echo "${drop[*]}" > prefetch-burst-dropped.frames.txt
extract prefetch-burst-dropped
# lost-deliver: only that broker packet removed (deliveries lost, all answers present).
editcap prefetch-burst.pcap prefetch-burst-lost-deliver.pcap "${drop[0]}"
extract prefetch-burst-lost-deliver
echo "done; port $PORT"
