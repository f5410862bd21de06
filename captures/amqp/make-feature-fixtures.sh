#!/usr/bin/env bash
# Records the RabbitMQ-feature fixtures (feature_consumers.py): quorum queues (x-delivery-count,
# delivery limit, dead-lettering, basic.get), a stream queue consumed over AMQP 0-9-1
# (x-stream-offset), single active consumer, consumer priorities, an exclusive consumer, direct
# reply-to RPC (also from inside a consumer: rpc-chain), field tables of every type and bodies over many body frames. Runs
# make-more-fixtures.sh (its own network namespace, MTU 1500, no offloads; make-fixtures.sh's
# broker set-up, capture and derived files) with this consumer script. Root.
# `make-feature-fixtures.sh derive` makes only the damaged copies (end of this script) from the
# recorded captures. AMQP_FIXTURE_TMP puts the broker's temporary directory elsewhere than /tmp.
set -euo pipefail
cd "$(dirname "$0")"
PORT=5682
. ./amqp-fixture-lib.sh   # extract NAME: NAME.payloads.txt and NAME.methods.txt from NAME.pcap
delivers() { # NAME [FILTER]: frame numbers of the broker's basic.deliver packets matching FILTER
    tshark -r "$1.pcap" -d "tcp.port==$PORT,amqp" \
        -Y "amqp.method.class == 60 && amqp.method.method == 60 && tcp.srcport == $PORT${2:+ && $2}" -T fields -e frame.number
}
if [ "${1:-}" != derive ]; then
python3 -c "import pika" 2>/dev/null || pip install -q pika
AMQP_FIXTURE_NETNS=${AMQP_FIXTURE_NETNS:-chx-h17-amqp} \
AMQP_SCENARIOS=${AMQP_SCENARIOS:-quorum-redelivery stream-offset sac-priority direct-reply-to field-tables rpc-chain consumer-timeout} \
AMQP_CONSUMERS=feature_consumers.py ./make-more-fixtures.sh
fi
# Direct reply-to deliveries carry the channel's next delivery tag without using it up.
# NAME-midstream: the capture begins at the first basic.deliver (no basic.consume seen, as when the
# exporter starts after the service). rpc-chain-lost-deliver: the packet with the `front` delivery
# that follows the first reply (the same tag) removed: a gap in the broker's direction.
for name in rpc-chain direct-reply-to; do
    editcap -F nsecpcap -r "$name.pcap" "$name-midstream.pcap" "$(delivers "$name" | head -1)-1000000"
    extract "$name-midstream"
done
first_reply=$(delivers rpc-chain 'amqp.method.arguments.routing_key contains "amq.rabbitmq.reply-to"' | head -1)
lost=$(delivers rpc-chain "amqp.method.arguments.routing_key == \"front\" && frame.number > $first_reply" | head -1)
editcap -F nsecpcap rpc-chain.pcap rpc-chain-lost-deliver.pcap "$lost"
echo "$lost" > rpc-chain-lost-deliver.frames.txt
extract rpc-chain-lost-deliver
