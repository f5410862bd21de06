#!/usr/bin/env bash
# Records the second set of AMQPObserver fixtures (more_consumers.py): bodies larger than
# frame_max, six channels on one connection, auto-ack, global qos + basic.recover,
# transactions, publisher confirms and basic.return on the consumer's channel, a
# server-sent basic.cancel, connection.blocked and a broker restart, kombu, aio-pika,
# AMQPStorm, a Celery worker. Same broker set-up, capture and derived files as make-fixtures.sh, which it
# runs with its own scenario list inside a network namespace of its own whose loopback
# has an Ethernet MTU (1500) and no segmentation offload: segments of at most 1448 bytes, so frames straddle TCP
# segments as they do between hosts (the host's lo, MTU 65536, sends whole messages).
# Root; idempotent; stops what it starts by PID and deletes the namespace.
set -euo pipefail
cd "$(dirname "$0")"
NS=${AMQP_FIXTURE_NETNS:-chx-h11-amqp}
MTU=${AMQP_FIXTURE_MTU:-1500}
# make-polyglot-fixtures.sh runs this with its own consumer script (AMQP_CONSUMERS) and scenarios.
CONSUMERS=${AMQP_CONSUMERS:-more_consumers.py}
[ "$CONSUMERS" != more_consumers.py ] || python3 -c "import pika, amqp, kombu, aio_pika, amqpstorm, celery" 2>/dev/null ||
    pip install -q pika amqp kombu aio-pika amqpstorm celery
command -v ip >/dev/null || { apt-get update -q && apt-get install -y -q iproute2; }
command -v ethtool >/dev/null || { apt-get update -q && apt-get install -y -q ethtool; }
command -v nft >/dev/null || { apt-get update -q && apt-get install -y -q nftables; }

ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
cleanup() {
    # Whatever is left in the namespace (epmd, started by the broker) was started by us.
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
ip netns exec "$NS" ip link set lo mtu "$MTU" up
# Without segmentation offload, tcpdump sees the segments the MTU allows, not 64 KB super-packets.
ip netns exec "$NS" ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
AMQP_SCENARIOS=${AMQP_SCENARIOS:-large-body channels-interleaved auto-ack qos-recover transactions confirms-return server-cancel blocked-restart kombu aio-pika amqpstorm celery channel-errors lossy} \
AMQP_CONSUMERS=$CONSUMERS ip netns exec "$NS" ./make-fixtures.sh
