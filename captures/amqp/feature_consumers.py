#!/usr/bin/env python3
"""RabbitMQ features real consumers use that the other fixtures do not (make-feature-fixtures.sh).

Quorum queues (x-delivery-count redeliveries, a delivery limit and dead-lettering, nack-requeue
loops, basic.get), stream queues consumed over AMQP 0-9-1 (x-stream-offset), consumer priorities,
single active consumer, exclusive consumers, direct reply-to RPC, field tables of every type pika
writes (in deliveries and in consume arguments) and bodies split over many body frames.

Each consumer has a connection (and a thread) of its own and handles its messages one at a time,
as a real single-worker consumer does; it records its own start and end (end = just before the
answer is sent) as consumers.py does. `unanswered` lists what a worker handled without an answer
on the wire (no-ack), `notes` what else the broker and the clients did.

usage: feature_consumers.py SCENARIO PORT OUT.json
"""
import datetime
import decimal
import json
import threading
import time

import pika

from consumers import HOST, main, plan, publish

NOTES = {}
UNANSWERED = []
LOCK = threading.Lock()


def note(key, value):
    with LOCK:
        NOTES.setdefault(key, []).append(value)


def params(port, **kw):
    return pika.ConnectionParameters(host=HOST, port=port, **kw)


def fresh(port, queue, arguments=None, durable=False):
    conn = pika.BlockingConnection(params(port))
    ch = conn.channel()
    ch.queue_delete(queue)
    ch.queue_declare(queue, durable=durable, arguments=arguments)
    conn.close()


def answer(ch, tag, how):
    """Sends the answer; returns the code (0 ack, 1 anything else) as the reference counts it."""
    if how == "ack":
        ch.basic_ack(tag)
        return 0
    if how == "nack":
        ch.basic_nack(tag, requeue=False)
    elif how == "nack_requeue":
        ch.basic_nack(tag, requeue=True)
    elif how == "reject":
        ch.basic_reject(tag, requeue=False)
    elif how == "reject_requeue":
        ch.basic_reject(tag, requeue=True)
    else:
        raise ValueError(how)
    return 1


class Consumer(threading.Thread):
    """One connection, one channel, one consumer, one worker: takes its messages in order,
    sleeps as each plan says and answers as `decide(plan, redelivered, headers)` says.
    Stops after `expected` answers, or when idle for `idle_s` after at least one."""

    def __init__(self, port, queue, rec, expected=None, prefetch=1, arguments=None, exclusive=False,
                 decide=None, after=None, idle_s=3.0, name=None, conn_kw=None, limit_s=60):
        super().__init__(daemon=True)
        self.port, self.queue, self.rec, self.expected = port, queue, rec, expected
        self.prefetch, self.arguments, self.exclusive = prefetch, arguments, exclusive
        self.decide = decide or (lambda p, redelivered, headers: p["answer"])
        self.after = after  # called with (self, answers so far) after each answer
        self.idle_s, self.limit_s = idle_s, limit_s
        self.label = name or queue
        self.conn_kw = conn_kw or {}
        self.answers = 0
        self.cancelled = False
        self.ready = threading.Event()
        self.error = None

    def run(self):
        try:
            self.loop()
        except Exception as e:  # recorded, the scenario decides
            self.error = f"{type(e).__name__}: {e}"
            note("consumer_errors", f"{self.label}: {self.error}")
            self.ready.set()

    def loop(self):
        self.conn = pika.BlockingConnection(params(self.port, **self.conn_kw))
        self.ch = self.conn.channel()
        self.ch.basic_qos(prefetch_count=self.prefetch)
        inbox = []
        self.tag = self.ch.basic_consume(
            self.queue, lambda c, m, p, b: inbox.append((m.delivery_tag, m.redelivered, p.headers or {}, b)),
            arguments=self.arguments, exclusive=self.exclusive)
        self.ready.set()
        last = time.time()
        deadline = time.time() + self.limit_s
        while time.time() < deadline:
            if self.expected is not None and self.answers >= self.expected:
                break
            if self.cancelled and not inbox:
                break
            if not inbox:
                self.conn.process_data_events(time_limit=0.01)
                if self.expected is None and self.answers and time.time() - last > self.idle_s:
                    break
                continue
            tag, redelivered, headers, body = inbox.pop(0)
            p = json.loads(body)
            for key in ("x-delivery-count", "x-stream-offset", "x-death"):
                if key in headers:
                    note(f"{self.label}_{key}", headers[key] if key != "x-death" else headers[key][0]["count"])
            how = self.decide(p, redelivered, headers)
            start = time.time()
            time.sleep(p["sleep_ms"] / 1000.0)
            end = time.time()
            try:
                code = answer(self.ch, tag, how)
            except pika.exceptions.AMQPError:
                # pika wrote the answer, then read the broker's close: RabbitMQ ignores it.
                UNANSWERED.append(dict(queue=self.queue, delivery_tag=tag, start=start, end=end,
                                       why=f"{how} sent after the broker closed the connection"))
                raise
            self.rec.add(self.queue, tag, code, start, end, how, redelivered)
            self.answers += 1
            last = time.time()
            if self.after:
                self.after(self, self.answers)
        self.conn.close()

    def cancel(self):
        self.ch.basic_cancel(self.tag)
        self.cancelled = True


def requeue_once(p, redelivered, headers):
    """nack_requeue / reject_requeue the first time, ack when it comes back; `requeue_always`
    nacks with requeue every time (a quorum queue's delivery limit ends the loop)."""
    if p["answer"] == "requeue_always":
        return "nack_requeue"
    if p["answer"] in ("nack_requeue", "reject_requeue") and redelivered:
        return "ack"
    return p["answer"]


class RpcServer(Consumer):
    """An RPC server: for each request, works, publishes the reply to the request's reply_to,
    then answers the request as its plan says (after a reply, as RPC servers do)."""

    def loop(self):
        self.conn = pika.BlockingConnection(params(self.port))
        self.ch = self.conn.channel()
        self.ch.basic_qos(prefetch_count=self.prefetch)
        inbox = []
        self.ch.basic_consume(self.queue, lambda c, m, p, b: inbox.append((m, p, b)))
        self.ready.set()
        while self.answers < self.expected:
            if not inbox:
                self.conn.process_data_events(time_limit=0.01)
                continue
            m, props, body = inbox.pop(0)
            p = json.loads(body)
            start = time.time()
            time.sleep(p["sleep_ms"] / 1000.0)
            end = time.time()
            self.ch.basic_publish("", props.reply_to, json.dumps(dict(seq=p["seq"], ok=p["answer"] == "ack")),
                                  pika.BasicProperties(correlation_id=props.correlation_id))
            code = answer(self.ch, m.delivery_tag, p["answer"])
            self.rec.add(self.queue, m.delivery_tag, code, start, end, p["answer"], m.redelivered)
            self.answers += 1
        self.conn.close()


def scenario_quorum_redelivery(port, rec):
    """Quorum queue `qq` (delivery limit 2, dead-lettered to `qq-dlq` through the default
    exchange): acks, a nack-requeue and a reject-requeue redelivered with x-delivery-count 1,
    one message nacked with requeue until the limit dead-letters it, a reject and a nack
    (dead-lettered at once). `qq-dlq` is consumed by another connection. Then basic.get on the
    quorum queue `qq-get`: ack, reject-requeue (got again with x-delivery-count), nack, get-empty."""
    fresh(port, "qq-dlq")
    fresh(port, "qq", {"x-queue-type": "quorum", "x-delivery-limit": 2, "x-dead-letter-exchange": "",
                       "x-dead-letter-routing-key": "qq-dlq"}, durable=True)
    fresh(port, "qq-get", {"x-queue-type": "quorum"}, durable=True)
    plans = [(150, "ack"), (350, "nack_requeue"), (150, "requeue_always"), (650, "reject"),
             (150, "reject_requeue"), (350, "nack"), (150, "ack")]
    dlq = Consumer(port, "qq-dlq", rec, prefetch=2, decide=lambda p, r, h: "ack", idle_s=4.0)
    qq = Consumer(port, "qq", rec, prefetch=2, decide=requeue_once, idle_s=4.0)
    dlq.start()
    qq.start()
    dlq.ready.wait(10)
    qq.ready.wait(10)
    publish(port, "qq", [plan(s, a, i) for i, (s, a) in enumerate(plans)], gap_s=0.05)
    qq.join()
    dlq.join()

    publish(port, "qq-get", [plan(s, a, i) for i, (s, a) in enumerate([(150, "ack"), (350, "reject_requeue"),
                                                                        (150, "nack")])])
    time.sleep(0.3)
    conn = pika.BlockingConnection(params(port))
    ch = conn.channel()
    while True:
        method, props, body = ch.basic_get("qq-get")
        if method is None:
            note("qq-get", "get-empty")
            break
        headers = props.headers or {}
        if "x-delivery-count" in headers:
            note("qq-get_x-delivery-count", headers["x-delivery-count"])
        p = json.loads(body)
        how = requeue_once(p, method.redelivered, headers)
        start = time.time()
        time.sleep(p["sleep_ms"] / 1000.0)
        end = time.time()
        code = answer(ch, method.delivery_tag, how)
        rec.add("qq-get", method.delivery_tag, code, start, end, how, method.redelivered)
    conn.close()


def scenario_stream_offset(port, rec):
    """Stream queue `sq` consumed over AMQP 0-9-1 (basic.qos required, manual acks): a consumer
    from x-stream-offset "first" (qos 3) acks all 12; one from offset 5 (qos 2, a connection of its
    own) acks 2, then nacks: RabbitMQ 3.10 closes the connection (540 NOT_IMPLEMENTED, a stream
    takes no nack or reject) with a delivery outstanding; it connects again from offset 8 and acks
    the rest. 8 messages before the consumers, 4 while they consume."""
    fresh(port, "sq", {"x-queue-type": "stream"}, durable=True)
    first = [(150, "ack"), (350, "ack"), (150, "nack"), (650, "ack"), (150, "ack"), (350, "ack"),
             (150, "ack"), (350, "ack")]
    later = [(150, "ack"), (650, "ack"), (150, "ack"), (350, "ack")]
    publish(port, "sq", [plan(s, a, i) for i, (s, a) in enumerate(first)])
    # Only sq-offset5 nacks (offset 7 is its third message); sq-first acks everything.
    a = Consumer(port, "sq", rec, expected=12, prefetch=3, arguments={"x-stream-offset": "first"}, name="sq-first",
                 decide=lambda p, r, h: "ack")
    b = Consumer(port, "sq", rec, expected=7, prefetch=2, arguments={"x-stream-offset": 5}, name="sq-offset5",
                 decide=lambda p, r, h: "nack" if h.get("x-stream-offset") == 7 else "ack")
    a.start()
    b.start()
    a.ready.wait(10)
    b.ready.wait(10)
    time.sleep(1.0)
    publish(port, "sq", [plan(s, ans, 8 + i) for i, (s, ans) in enumerate(later)], gap_s=0.3)
    b.join()
    note("sq", f"sq-offset5 answered {b.answers} before the broker closed its connection")
    again = Consumer(port, "sq", rec, expected=4, prefetch=2, arguments={"x-stream-offset": 8}, name="sq-offset8",
                     decide=lambda p, r, h: "ack")
    again.run()
    a.join()


def scenario_sac_priority(port, rec):
    """`sac` (x-single-active-consumer): consumer A answers 3, cancels; B, registered from the
    start, gets nothing until then and the other 5 after. `prio`: consumers with x-priority 10 and
    1 (prefetch 2 each, connections of their own). `excl`: an exclusive consumer; a second
    consumer on it is refused (403, channel closed)."""
    fresh(port, "sac", {"x-single-active-consumer": True})
    fresh(port, "prio")
    fresh(port, "excl")
    sac_plans = [(150, "ack"), (350, "ack"), (150, "nack"), (350, "ack"), (150, "reject"), (650, "ack"),
                 (150, "ack"), (350, "ack")]

    def cancel_after_3(c, n):
        if n == 3:
            c.cancel()
            note("sac", f"A cancelled at {time.time():.6f}")

    first_b = []
    a = Consumer(port, "sac", rec, prefetch=1, after=cancel_after_3, name="sac-A", limit_s=30)
    b = Consumer(port, "sac", rec, expected=5, prefetch=1, name="sac-B",
                 after=lambda c, n: first_b.append(time.time()) if n == 1 else None)
    a.start()
    a.ready.wait(10)
    b.start()
    b.ready.wait(10)
    publish(port, "sac", [plan(s, ans, i) for i, (s, ans) in enumerate(sac_plans)])
    a.join()
    b.join()
    note("sac", f"A answered {a.answers}, B answered {b.answers}")

    hi = Consumer(port, "prio", rec, prefetch=2, arguments={"x-priority": 10}, name="prio-10", idle_s=2.5)
    lo = Consumer(port, "prio", rec, prefetch=2, arguments={"x-priority": 1}, name="prio-1", idle_s=2.5)
    hi.start()
    lo.start()
    hi.ready.wait(10)
    lo.ready.wait(10)
    publish(port, "prio", [plan([150, 350, 650][i % 3], "ack" if i % 4 else "nack", i) for i in range(10)])
    hi.join()
    lo.join()
    note("prio", f"x-priority 10 answered {hi.answers}, x-priority 1 answered {lo.answers}")

    ex = Consumer(port, "excl", rec, expected=4, prefetch=2, exclusive=True, name="excl")
    ex.start()
    ex.ready.wait(10)
    intruder = Consumer(port, "excl", rec, expected=1, name="excl-intruder", limit_s=3)
    intruder.start()
    intruder.join()
    publish(port, "excl", [plan([150, 350][i % 2], "ack" if i != 2 else "reject", i) for i in range(4)])
    ex.join()


def scenario_direct_reply_to(port, rec):
    """RPC over direct reply-to: a server consumes `rpc` (prefetch 2, manual acks), publishes the
    reply to the request's reply_to and then acks (a bad request: reply, then reject); the client
    consumes `amq.rabbitmq.reply-to` with no-ack on its publishing channel, 2 requests in flight."""
    fresh(port, "rpc")

    requests = [(150, "ack"), (350, "ack"), (150, "reject"), (650, "ack"), (150, "ack"), (350, "nack"),
                (150, "ack"), (350, "ack")]
    server = RpcServer(port, "rpc", rec, expected=len(requests), prefetch=2, name="rpc-server")
    server.start()
    server.ready.wait(10)
    conn = pika.BlockingConnection(params(port))
    ch = conn.channel()
    replies = {}

    def on_reply(c, m, props, body):
        replies[props.correlation_id] = time.time()
        UNANSWERED.append(dict(queue="amq.rabbitmq.reply-to", delivery_tag=m.delivery_tag, start=time.time(),
                               end=time.time(), why="direct reply-to: consumed with no-ack"))

    ch.basic_consume("amq.rabbitmq.reply-to", on_reply, auto_ack=True)
    sent = 0
    deadline = time.time() + 60
    while len(replies) < len(requests) and time.time() < deadline:
        while sent < len(requests) and sent - len(replies) < 2:
            s, a = requests[sent]
            ch.basic_publish("", "rpc", plan(s, a, sent),
                             pika.BasicProperties(reply_to="amq.rabbitmq.reply-to", correlation_id=str(sent)))
            sent += 1
        conn.process_data_events(time_limit=0.01)
    note("rpc", f"{len(replies)} replies for {sent} requests")
    conn.close()
    server.join()


def scenario_rpc_chain(port, rec):
    """An RPC server that calls another service while it works, on its consuming channel: `front`
    (prefetch 3, manual acks, one worker) publishes a request to `back` with reply_to
    `amq.rabbitmq.reply-to`, consumed with no-ack on the same channel, waits for the reply, then
    answers its own request. RabbitMQ gives a direct reply-to delivery the channel's next delivery
    tag without using it up: the next `front` delivery carries the same tag."""
    fresh(port, "front")
    fresh(port, "back")

    # (front's own sleep, back's sleep, answer): totals of about 300, 650 and 1250 ms.
    plans = [(150, 150, "ack"), (500, 150, "ack"), (350, 300, "nack"), (150, 150, "ack"), (1100, 150, "ack"),
             (150, 150, "reject"), (500, 150, "ack"), (150, 150, "ack"), (350, 300, "ack")]
    back = RpcServer(port, "back", rec, expected=len(plans), name="back")
    back.start()
    back.ready.wait(10)
    conn = pika.BlockingConnection(params(port))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=3)
    inbox, replies = [], {}
    ch.basic_consume("amq.rabbitmq.reply-to",
                     lambda c, m, p, b: replies.__setitem__(p.correlation_id, m.delivery_tag), auto_ack=True)
    ch.basic_consume("front", lambda c, m, p, b: inbox.append((m.delivery_tag, m.redelivered, b)))
    publish(port, "front", [json.dumps(dict(sleep_ms=s, back_ms=b, answer=a, seq=i)).encode()
                            for i, (s, b, a) in enumerate(plans)])
    done = 0
    deadline = time.time() + 60
    while done < len(plans) and time.time() < deadline:
        if not inbox:
            conn.process_data_events(time_limit=0.01)
            continue
        tag, redelivered, body = inbox.pop(0)
        p = json.loads(body)
        start = time.time()
        time.sleep(p["sleep_ms"] / 1000.0)
        cid = f"r{p['seq']}"
        ch.basic_publish("", "back", plan(p["back_ms"], "ack", p["seq"]),
                         pika.BasicProperties(reply_to="amq.rabbitmq.reply-to", correlation_id=cid))
        while cid not in replies:
            conn.process_data_events(time_limit=0.005)
        note("reply_delivery_tags", f"front tag {tag}: reply tag {replies[cid]}")
        UNANSWERED.append(dict(queue="amq.rabbitmq.reply-to", delivery_tag=replies[cid], start=time.time(),
                               end=time.time(), why="direct reply-to: consumed with no-ack"))
        end = time.time()
        code = answer(ch, tag, p["answer"])
        rec.add("front", tag, code, start, end, p["answer"], redelivered)
        done += 1
    conn.close()
    back.join()


def scenario_consumer_timeout(port, rec):
    """RabbitMQ's consumer timeout (`consumer_timeout`, 30 min by default, set to 2 s here with
    rabbitmqctl eval; RabbitMQ 3.10 checks it once a minute): queue `slow`, prefetch 2, one worker in
    pika's own thread. Two messages of 150 ms are acked; the third takes 64 s: the broker closes the
    channel (406 PRECONDITION_FAILED, delivery acknowledgement timed out) while the worker works, with
    it and one more delivery unanswered. The worker's ack leaves after the broker's channel.close
    (pika has not read it yet), before pika's close-ok; RabbitMQ ignores it. A new channel gets both
    again (redelivered) and acks them, and the last message."""
    import os
    import subprocess
    subprocess.run(["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", os.environ["RABBITMQ_NODENAME"], "eval",
                    "application:set_env(rabbit, consumer_timeout, 2000)."], check=True, stdout=subprocess.DEVNULL)
    fresh(port, "slow")
    publish(port, "slow", [plan(s, "ack", i) for i, s in enumerate([150, 350, 150, 350, 150])])
    conn = pika.BlockingConnection(params(port))
    inbox = []

    def consume():
        ch = conn.channel()
        ch.basic_qos(prefetch_count=2)
        ch.basic_consume("slow", lambda c, m, p, b: inbox.append((m.delivery_tag, m.redelivered, json.loads(b))))
        return ch

    ch = consume()
    while len(rec.records) < 6:
        if not inbox:
            conn.process_data_events(time_limit=0.01)
            continue
        tag, redelivered, p = inbox.pop(0)
        start = time.time()
        time.sleep(64 if p["seq"] == 2 and not redelivered else p["sleep_ms"] / 1000.0)
        end = time.time()
        try:
            code = answer(ch, tag, "ack")
        except pika.exceptions.ChannelClosedByBroker as e:
            # The ack is on the wire (after the broker's close, before pika's close-ok): an answer.
            rec.add("slow", tag, 0, start, end, "ack", redelivered)
            note("slow", f"ack of tag {tag} sent after the broker's channel.close: {e.reply_code} {e.reply_text}")
            inbox.clear()
            ch = consume()
            continue
        rec.add("slow", tag, code, start, end, "ack", redelivered)
    conn.close()


def every_type(depth=2):
    """A field table with every value type pika writes: S, x, t, l, I, D, T, F, A, V."""
    table = {
        "long-string": ("é" * 600 + "z" * 400) if depth == 2 else "short",
        "bytes": bytes(range(256)) if depth == 2 else b"\x00\xff",
        "true": True, "false": False,
        "int": -123456, "long": 2 ** 40 + 7, "zero": 0,
        "decimal": decimal.Decimal("3.14159"), "decimal-int": decimal.Decimal("42"),
        "timestamp": datetime.datetime(2026, 11, 29, 23, 59, 59),
        "void": None,
        "array": [1, "two", True, None, decimal.Decimal("0.5"), [b"\x00\x01", {"in": "array"}], []],
        "empty-table": {},
    }
    if depth:
        table["nested"] = every_type(depth - 1)
    return table


def scenario_field_tables(port, rec):
    """Queue `tables`: deliveries whose headers are large tables of every field type, consumed
    with an arguments table of every type (and x-priority); queue `frames`: frame_max 4096 on
    both connections and bodies of 4.5-32 KB, 2-8 body frames each, consumed the same way."""
    fresh(port, "tables")
    fresh(port, "frames")
    conn = pika.BlockingConnection(params(port))
    ch = conn.channel()
    for i, (s, a) in enumerate([(150, "ack"), (350, "nack"), (150, "ack"), (650, "ack"), (350, "reject")]):
        headers = every_type()
        headers["seq"] = i
        ch.basic_publish("", "tables", plan(s, a, i), pika.BasicProperties(
            headers=headers, content_type="application/json", correlation_id=f"c{i}", message_id=f"m{i}",
            timestamp=int(time.time()), priority=3, delivery_mode=2, type="plan", user_id="guest", app_id="fixtures",
            expiration="600000", reply_to="nobody", content_encoding="identity"))
    conn.close()
    args = every_type(1)
    args["x-priority"] = 7
    Consumer(port, "tables", rec, expected=5, prefetch=2, arguments=args, name="tables").run()

    sizes = [(150, "ack", 5000), (350, "ack", 32000), (150, "nack", 10000), (650, "ack", 4500)]
    conn = pika.BlockingConnection(params(port, frame_max=4096))
    ch = conn.channel()
    for i, (s, a, n) in enumerate(sizes):
        body = json.loads(plan(s, a, i))
        body["pad"] = "x" * n
        ch.basic_publish("", "frames", json.dumps(body).encode())
    conn.close()
    Consumer(port, "frames", rec, expected=len(sizes), prefetch=2, name="frames",
             arguments={"x-priority": 1}, conn_kw=dict(frame_max=4096)).run()


SCENARIOS = {
    "quorum-redelivery": scenario_quorum_redelivery,
    "stream-offset": scenario_stream_offset,
    "sac-priority": scenario_sac_priority,
    "direct-reply-to": scenario_direct_reply_to,
    "field-tables": scenario_field_tables,
    "rpc-chain": scenario_rpc_chain,
    "consumer-timeout": scenario_consumer_timeout,
}

if __name__ == "__main__":
    main(SCENARIOS, lambda: dict(unanswered=UNANSWERED, notes=NOTES))
