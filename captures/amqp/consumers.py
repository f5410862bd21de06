#!/usr/bin/env python3
"""Real RabbitMQ consumers for the AMQPObserver fixtures.

Each scenario publishes messages whose body says how long the worker sleeps
and how it answers, runs consumers (pika or py-amqp) that do exactly that,
and writes what the workers measured themselves (start and end of each
message, end = just before the answer is sent) to JSON. The expected
outputs are derived from these measurements, never from the capture.

usage: consumers.py SCENARIO PORT OUT.json
"""
import json
import queue as fifo
import socket
import sys
import threading
import time

import amqp  # py-amqp: lets the broker generate consumer tags
import pika

HOST = "127.0.0.1"


class Recorder:
    def __init__(self):
        self.records = []
        self.lock = threading.Lock()

    def add(self, queue, tag, code, start, end, answer, redelivered):
        with self.lock:
            self.records.append(dict(queue=queue, delivery_tag=tag, code=code, start=start, end=end,
                                     duration_ms=(end - start) * 1000.0, answer=answer,
                                     redelivered=redelivered))


def plan(sleep_ms, answer, seq):
    return json.dumps(dict(sleep_ms=sleep_ms, answer=answer, seq=seq)).encode()


def pika_params(port, heartbeat=None):
    return pika.ConnectionParameters(host=HOST, port=port, heartbeat=heartbeat)


def declare(port, queues):
    conn = pika.BlockingConnection(pika_params(port))
    ch = conn.channel()
    for q in queues:
        ch.queue_declare(q)
        ch.queue_purge(q)
    conn.close()


def publish(port, queue, plans, gap_s=0.0):
    """Publishes through the default exchange: the routing key names the queue."""
    conn = pika.BlockingConnection(pika_params(port))
    ch = conn.channel()
    for p in plans:
        ch.basic_publish(exchange="", routing_key=queue, body=p)
        if gap_s:
            time.sleep(gap_s)
    conn.close()


def answer_pika(ch, tag, answer, redelivered, multiple=False):
    """Sends the answer; returns (code, answer name)."""
    if answer == "nack_requeue" and redelivered:
        answer = "ack"
    if answer == "ack":
        ch.basic_ack(tag, multiple=multiple)
        return 0, "ack"
    if answer == "ack_multiple":
        ch.basic_ack(tag, multiple=True)
        return 0, "ack"
    if answer == "nack":
        ch.basic_nack(tag, multiple=multiple, requeue=False)
        return 1, "nack"
    if answer == "nack_requeue":
        ch.basic_nack(tag, multiple=multiple, requeue=True)
        return 1, "nack"
    if answer == "reject":
        ch.basic_reject(tag, requeue=False)
        return 1, "reject"
    raise ValueError(answer)


class PikaWorkers:
    """A channel consumed by k worker threads taking messages in FIFO order.

    A worker is busy from taking a message until its answer is handed to the
    connection thread; this is the k-worker model the observer assumes.
    """

    def __init__(self, conn, queue, k, prefetch, recorder, expected):
        self.conn, self.queue, self.recorder, self.expected = conn, queue, recorder, expected
        self.ch = conn.channel()
        self.ch.basic_qos(prefetch_count=prefetch)
        self.inbox = fifo.Queue()
        self.done = 0
        self.lock = threading.Lock()
        for _ in range(k):
            threading.Thread(target=self.work, daemon=True).start()
        self.ch.basic_consume(queue, self.on_message)

    def on_message(self, ch, method, props, body):
        self.inbox.put((method.delivery_tag, method.redelivered, json.loads(body)))

    def work(self):
        while True:
            tag, redelivered, p = self.inbox.get()
            if p["answer"] == "nack_requeue" and redelivered:
                p["answer"] = "ack"
            start = time.time()
            time.sleep(p["sleep_ms"] / 1000.0)
            end = time.time()
            answer = p["answer"]
            ev = threading.Event()

            def send():
                code, name = answer_pika(self.ch, tag, answer, redelivered)
                self.recorder.add(self.queue, tag, code, start, end, name, redelivered)
                ev.set()

            self.conn.add_callback_threadsafe(send)
            ev.wait()
            with self.lock:
                self.done += 1

    def finished(self):
        with self.lock:
            return self.done >= self.expected


def run_until(conn, predicate, limit_s=60):
    deadline = time.time() + limit_s
    while not predicate():
        if time.time() > deadline:
            raise SystemExit("scenario timed out")
        conn.process_data_events(time_limit=0.01)


def scenario_ack_nack_reject(port, rec):
    q = "orders"
    declare(port, [q])
    plans = [(150, "ack"), (350, "ack"), (650, "ack"), (150, "nack"), (350, "reject"),
             (150, "nack_requeue"), (650, "nack"), (150, "ack_multiple"), (350, "reject"), (150, "ack")]
    conn = pika.BlockingConnection(pika_params(port))
    # 11 answers: the nack_requeue message comes back once (redelivered) and is acked.
    w = PikaWorkers(conn, q, k=1, prefetch=1, recorder=rec, expected=len(plans) + 1)
    threading.Thread(target=publish, args=(port, q, [plan(s, a, i) for i, (s, a) in enumerate(plans)])).start()
    run_until(conn, w.finished)
    conn.close()


def scenario_prefetch_burst(port, rec):
    q = "burst"
    declare(port, [q])
    # heartbeat=1 so that heartbeat frames appear in the capture.
    conn = pika.BlockingConnection(pika_params(port, heartbeat=1))
    w = PikaWorkers(conn, q, k=1, prefetch=10, recorder=rec, expected=20)
    burst1 = [plan([150, 350][i % 2], "ack", i) for i in range(10)]
    burst2 = [plan([350, 150, 150][i % 3], "ack" if i != 4 else "nack", 10 + i) for i in range(10)]
    threading.Thread(target=publish, args=(port, q, burst1)).start()
    run_until(conn, lambda: w.done >= 10)
    t = time.time()
    run_until(conn, lambda: time.time() > t + 0.3)
    threading.Thread(target=publish, args=(port, q, burst2)).start()
    run_until(conn, w.finished)
    conn.close()


def scenario_multiple_ack(port, rec):
    """Batches of 3 handled together (3 workers), answered by one ack/nack with multiple=true."""
    q = "batch"
    declare(port, [q])
    conn = pika.BlockingConnection(pika_params(port))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=10)
    batches = [(150, "ack"), (350, "ack"), (650, "nack"), (150, "ack")]
    pending = []
    state = dict(done=0)

    def on_message(ch, method, props, body):
        pending.append(method.delivery_tag)
        if len(pending) < 3:
            return
        sleep_ms, answer = batches[state["done"] // 3]
        start = time.time()
        time.sleep(sleep_ms / 1000.0)
        end = time.time()
        if answer == "ack":
            ch.basic_ack(pending[-1], multiple=True)
        else:
            ch.basic_nack(pending[-1], multiple=True, requeue=False)
        for tag in pending:
            rec.add(q, tag, 0 if answer == "ack" else 1, start, end, answer, False)
        state["done"] += len(pending)
        pending.clear()

    ch.basic_consume(q, on_message)
    threading.Thread(target=publish, args=(port, q, [plan(0, "x", i) for i in range(12)])).start()
    run_until(conn, lambda: state["done"] >= 12)
    conn.close()


def scenario_two_queues_k2(port, rec):
    """One connection, two channels, each consumed by 2 worker threads."""
    declare(port, ["alpha", "beta"])
    conn = pika.BlockingConnection(pika_params(port))
    a = PikaWorkers(conn, "alpha", k=2, prefetch=4, recorder=rec, expected=8)
    b = PikaWorkers(conn, "beta", k=2, prefetch=4, recorder=rec, expected=8)
    pa = [plan([150, 650, 350, 150][i % 4], "ack" if i != 5 else "reject", i) for i in range(8)]
    pb = [plan([350, 150][i % 2], "ack" if i % 3 else "nack", i) for i in range(8)]
    threading.Thread(target=publish, args=(port, "alpha", pa)).start()
    threading.Thread(target=publish, args=(port, "beta", pb)).start()
    run_until(conn, lambda: a.finished() and b.finished())
    conn.close()


def scenario_get_poller(port, rec):
    """py-amqp basic.get poller: get-ok starts the work, get-empty means wait and poll again."""
    q = "polled"
    declare(port, [q])
    plans = [(150, "ack"), (350, "reject"), (650, "ack"), (150, "ack"), (350, "ack"), (150, "reject")]
    threading.Thread(target=publish, args=(port, q, [plan(s, a, i) for i, (s, a) in enumerate(plans)], 0.25)).start()
    conn = amqp.Connection(f"{HOST}:{port}")
    conn.connect()
    ch = conn.channel()
    done = 0
    deadline = time.time() + 60
    while done < len(plans) and time.time() < deadline:
        msg = ch.basic_get(q, no_ack=False)
        if msg is None:
            time.sleep(0.05)
            continue
        start = time.time()
        p = json.loads(msg.body)
        time.sleep(p["sleep_ms"] / 1000.0)
        end = time.time()
        tag = msg.delivery_info["delivery_tag"]
        if p["answer"] == "ack":
            ch.basic_ack(tag)
            rec.add(q, tag, 0, start, end, "ack", False)
        else:
            ch.basic_reject(tag, requeue=False)
            rec.add(q, tag, 1, start, end, "reject", False)
        done += 1
    conn.close()


def scenario_cancel_and_drop(port, rec):
    """Server-generated consumer tags (py-amqp sends an empty tag).

    Part 1: queue `cancelled`, prefetch 3: 3 messages handled, then basic.cancel
    and channel.close with the prefetched deliveries unanswered.
    Part 2: queue `dropped`, prefetch 4: 2 messages handled, then the TCP
    connection is closed without connection.close, deliveries outstanding.
    """
    declare(port, ["cancelled", "dropped"])
    publish(port, "cancelled", [plan(150, "ack", i) for i in range(8)])
    publish(port, "dropped", [plan(350, "ack", i) for i in range(6)])

    def consume(queue, prefetch, handle):
        conn = amqp.Connection(f"{HOST}:{port}")
        conn.connect()
        ch = conn.channel()
        ch.basic_qos(0, prefetch, False)
        state = dict(done=0, tag=None)

        def cb(msg):
            if state["done"] >= handle:
                return  # delivered after we decided to stop: left outstanding
            start = time.time()
            time.sleep(json.loads(msg.body)["sleep_ms"] / 1000.0)
            end = time.time()
            tag = msg.delivery_info["delivery_tag"]
            ch.basic_ack(tag)
            rec.add(queue, tag, 0, start, end, "ack", False)
            state["done"] += 1

        state["tag"] = ch.basic_consume(queue, consumer_tag="", callback=cb)
        while state["done"] < handle:
            conn.drain_events(timeout=10)
        return conn, ch, state["tag"]

    conn, ch, tag = consume("cancelled", 3, 3)
    ch.basic_cancel(tag)
    ch.close()
    conn.close()
    time.sleep(0.2)
    conn, ch, tag = consume("dropped", 4, 2)
    time.sleep(0.2)
    # Drop the TCP connection without connection.close.
    conn.transport.sock.shutdown(socket.SHUT_RDWR)
    conn.transport.sock.close()


SCENARIOS = {
    "ack-nack-reject": scenario_ack_nack_reject,
    "prefetch-burst": scenario_prefetch_burst,
    "multiple-ack": scenario_multiple_ack,
    "two-queues-k2": scenario_two_queues_k2,
    "get-poller": scenario_get_poller,
    "cancel-and-drop": scenario_cancel_and_drop,
}


def main(scenarios, extra=dict):
    """usage: SCRIPT SCENARIO PORT OUT.json; `extra()` adds top-level fields to OUT.json."""
    name, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rec = Recorder()
    scenarios[name](port, rec)
    rec.records.sort(key=lambda r: r["end"])
    with open(out, "w") as f:
        json.dump(dict(scenario=name, records=rec.records, **extra()), f, indent=1)
    print(f"{name}: {len(rec.records)} answers recorded, {extra()}")


if __name__ == "__main__":
    main(SCENARIOS)
