#!/usr/bin/env bash
# Records the polyglot AMQPObserver fixtures: consumers written in Go (amqp091-go), Java
# (the RabbitMQ Java client), C (rabbitmq-c), Ruby (Bunny) and PHP (php-amqplib), from Debian's packages
# (polyglot/, driven by polyglot_consumers.py), against the same broker, in a network namespace
# of its own with an Ethernet MTU and no segmentation offload: make-more-fixtures.sh with
# another consumer script and scenario list. Builds the consumers into a temp dir first.
# Root; stops what it starts by PID and deletes the namespace. AMQP_LIVE_EXPORTER (see
# make-fixtures.sh) also runs a channel-exporter live during each scenario.
set -euo pipefail
cd "$(dirname "$0")"
pkgs=(golang-go golang-github-rabbitmq-amqp091-go-dev default-jdk-headless librabbitmq-client-java
      libslf4j-java librabbitmq-dev ruby-bunny php-cli php-amqplib gcc)
dpkg -s "${pkgs[@]}" >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q "${pkgs[@]}"; }
python3 -c "import pika, amqp" 2>/dev/null || pip install -q pika amqp

if [ -z "${POLYGLOT_BIN:-}" ]; then
    POLYGLOT_BIN=$(mktemp -d /tmp/polyglot-bin.XXXXXX)
    trap 'rm -rf "$POLYGLOT_BIN"' EXIT
fi
export POLYGLOT_BIN
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$POLYGLOT_BIN/gocache \
    go build -o "$POLYGLOT_BIN/go-consumer" polyglot/consumer.go
mkdir -p "$POLYGLOT_BIN/java"
javac -d "$POLYGLOT_BIN/java" -cp /usr/share/java/amqp-client.jar polyglot/Consumer.java
gcc -O2 -Wall -o "$POLYGLOT_BIN/c-consumer" polyglot/consumer.c -lrabbitmq

AMQP_FIXTURE_NETNS=${AMQP_FIXTURE_NETNS:-chx-h16-amqp} \
AMQP_SCENARIOS=${AMQP_SCENARIOS:-go-amqp091 go-batch java-client c-rabbitmq ruby-bunny php-amqplib} \
AMQP_CONSUMERS=polyglot_consumers.py ./make-more-fixtures.sh
