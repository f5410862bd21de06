#!/usr/bin/env python3
"""RabbitMQ consumers written in other languages than Python, for the polyglot fixtures
(make-polyglot-fixtures.sh). This script only declares the queues and publishes the plans
(pika); the consumer is a program in `polyglot/` (Go amqp091-go, Java amqp-client, C
rabbitmq-c, Ruby Bunny, PHP php-amqplib), the compiled ones built by make-polyglot-fixtures.sh
into $POLYGLOT_BIN, which records its own workers' start and end per message (end = just before the answer is
sent) in the same JSON as consumers.py: `records`, `unanswered`, `notes`.

Every client gets the same queues (its name as prefix), one channel each, one worker each:
  NAME-work    prefetch 4: ack, nack, reject, nack / reject with requeue (redelivered, then acked)
  NAME-side    prefetch 2, confirm mode on the consuming channel: each answered message is
               published again (to NAME-side-results) and confirmed by the broker
  NAME-cancel  prefetch 6: 2 answered, basic.cancel, then every delivery the library still
               hands over is answered (ack, nack, reject, reject with requeue)
  NAME-drop    a connection of its own, prefetch 4: 2 answered, then the TCP socket closed
               with deliveries unanswered
and `go-batch` (replayed with consumer_concurrency 3): batches of three handled by three
goroutines together, answered by one ack / nack with multiple=true; `go-ack-every` (not a
fixture: what the wire cannot tell): one worker acknowledging every third message with
multiple=true.

usage: polyglot_consumers.py SCENARIO PORT OUT.json
"""
import glob
import json
import os
import subprocess
import sys

from consumers import declare, plan, publish

BIN = os.environ.get("POLYGLOT_BIN", "/tmp/polyglot-bin")
HERE = os.path.dirname(os.path.abspath(__file__))

WORK = [(150, "ack"), (350, "nack"), (150, "reject"), (650, "nack_requeue"), (150, "reject_requeue"),
        (350, "ack"), (150, "ack"), (350, "ack")]
SIDE = [(350, "ack"), (150, "nack"), (350, "ack"), (150, "reject"), (150, "ack")]
CANCEL = [(150, "ack"), (350, "ack"), (150, "reject_requeue"), (150, "ack"), (350, "nack"),
          (150, "reject_requeue"), (150, "ack"), (350, "reject"), (150, "ack"), (150, "ack")]
DROP = [(150, "ack"), (350, "nack"), (150, "ack"), (150, "ack"), (350, "ack"), (150, "ack")]
BATCH = [(150, "ack"), (350, "ack"), (150, "ack"), (650, "ack"), (150, "ack"), (150, "nack"),
         (350, "ack"), (350, "ack"), (150, "ack")]

COMMANDS = {
    "go": [f"{BIN}/go-consumer"],
    "java": ["java", "-cp", f"{BIN}/java:/usr/share/java/amqp-client.jar:/usr/share/java/slf4j-api.jar:"
             "/usr/share/java/slf4j-nop.jar", "Consumer"],
    "c": [f"{BIN}/c-consumer"],
    "ruby": ["ruby", f"{HERE}/polyglot/consumer.rb"],
    "php": ["php", f"{HERE}/polyglot/consumer.php"],
}


def standard(client, port):
    """The standard queues and specs (see the module's documentation)."""
    p = f"{client}-"
    queues = {p + "work": WORK, p + "side": SIDE, p + "cancel": CANCEL, p + "drop": DROP}
    declare(port, list(queues) + [p + "side-results"])
    for q, plans in queues.items():
        publish(port, q, [plan(s, a, i) for i, (s, a) in enumerate(plans)])
    requeued = sum(a.endswith("_requeue") for _, a in WORK)
    return [f"{p}work:4:run:{len(WORK) + requeued}", f"{p}side:2:confirm:{len(SIDE)}", f"{p}cancel:6:cancel:2",
            f"{p}drop:4:drop:2"]


def run(client, port, specs, out):
    cmd = COMMANDS[client] + [str(port), out] + specs
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, timeout=120)


def main():
    name, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    client = name.split("-")[0]
    if name == "go-ack-every":
        declare(port, ["go-every"])
        publish(port, "go-every", [plan(s, "ack", i) for i, (s, _) in enumerate(BATCH)])
        specs = [f"go-every:6:every:3:{len(BATCH)}"]
    elif name == "go-batch":
        declare(port, ["go-batch"])
        publish(port, "go-batch", [plan(s, a, i) for i, (s, a) in enumerate(BATCH)])
        specs = [f"go-batch:6:batch:3:{len(BATCH)}"]
    else:
        specs = standard(client, port)
    for part in glob.glob(out + ".*"):
        os.remove(part)
    run(client, port, specs, out)
    data = dict(records=[], unanswered=[], notes={})
    # The C consumer writes one file per spec (OUT.N), the Ruby one its dropped connection's (OUT.drop).
    for path in ([out] if os.path.exists(out) else []) + sorted(glob.glob(out + ".*")):
        with open(path) as f:
            part = json.load(f)
        for key in ("records", "unanswered"):
            data[key] += part.get(key) or []
        data["notes"].update(part.get("notes") or {})
        if path != out:
            os.remove(path)
    data["records"].sort(key=lambda r: r["end"])
    data["scenario"] = name
    data["specs"] = specs
    with open(out, "w") as f:
        json.dump(data, f, indent=1)
    print(f"{name}: {len(data['records'])} answers recorded, notes {data.get('notes')}")


if __name__ == "__main__":
    main()
