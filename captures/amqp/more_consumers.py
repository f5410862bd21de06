#!/usr/bin/env python3
"""More real RabbitMQ consumers for the AMQPObserver fixtures (make-more-fixtures.sh).

Patterns the first fixtures (consumers.py) do not cover: bodies larger than
frame_max, many channels on one connection, auto-ack consumers, global qos
with basic.recover, transactions, publisher confirms and basic.return on the
consumer's own channel, a server-sent basic.cancel, connection.blocked, a
broker restart mid-consume, kombu, aio-pika and AMQPStorm.

Records as consumers.py does (`records`: one per answer on the wire, end =
just before the answer is sent); `unanswered` holds messages a worker handled
whose answer never reached the wire (auto-ack, or the connection died), and
`notes` what else the clients did (publishes confirmed, messages returned).

usage: more_consumers.py SCENARIO PORT OUT.json
"""
import json
import os
import subprocess
import sys
import threading
import time

import amqp
import pika

from consumers import HOST, PikaWorkers, answer_pika, declare, main, pika_params, plan, publish, run_until

NOTES = {}
UNANSWERED = []


def big_plan(sleep_ms, answer, seq, size):
    body = json.loads(plan(sleep_ms, answer, seq))
    body["pad"] = "x" * size
    return json.dumps(body).encode()


def work_pika(ch, rec, q, tag, p, redelivered):
    """One message on a pika channel: the worker sleeps as told, answers, records."""
    start = time.time()
    time.sleep(p["sleep_ms"] / 1000.0)
    end = time.time()
    code, name = answer_pika(ch, tag, p["answer"], redelivered)
    rec.add(q, tag, code, start, end, name, redelivered)


def ctl(*args):
    node = os.environ["RABBITMQ_NODENAME"]
    subprocess.run(["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", node, *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def answer_amqp(ch, tag, answer):
    """py-amqp: sends the answer; returns the code. (py-amqp has no basic_nack: RabbitMQ's
    basic.nack is class 60 method 120: delivery-tag, bits multiple | requeue.)"""
    if answer == "ack":
        ch.basic_ack(tag)
        return 0
    if answer == "nack":
        ch.send_method(amqp.spec.Basic.Nack, "Lb", (tag, 0))
    else:
        ch.basic_reject(tag, requeue=False)
    return 1


def scenario_large_body(port, rec):
    """frame_max 4096 (the protocol's minimum) on both connections: each body of 4.2-12 KB
    is 2-3 body frames; with the namespace's MTU (make-more-fixtures.sh) frames straddle
    TCP segments."""
    q = "big"
    declare(port, [q])
    plans = [(150, "ack", 9000), (350, "nack", 12000), (150, "ack", 5000), (650, "reject", 4500),
             (350, "ack", 7000), (150, "ack", 4200)]
    pub = pika.BlockingConnection(pika.ConnectionParameters(host=HOST, port=port, frame_max=4096))
    pch = pub.channel()
    for i, (s, a, n) in enumerate(plans):
        pch.basic_publish("", q, big_plan(s, a, i, n))
    pub.close()
    conn = amqp.Connection(f"{HOST}:{port}", frame_max=4096)
    conn.connect()
    ch = conn.channel()
    ch.basic_qos(0, 2, False)
    state = dict(done=0)

    def cb(msg):
        p = json.loads(msg.body)
        tag = msg.delivery_info["delivery_tag"]
        start = time.time()
        time.sleep(p["sleep_ms"] / 1000.0)
        end = time.time()
        code = answer_amqp(ch, tag, p["answer"])
        rec.add(q, tag, code, start, end, p["answer"], False)
        state["done"] += 1

    ch.basic_consume(q, callback=cb)
    while state["done"] < len(plans):
        conn.drain_events(timeout=10)
    conn.close()


def scenario_channels_interleaved(port, rec):
    """One connection, six channels (one queue each, one worker each), deliveries interleaved."""
    queues = [f"chan{i}" for i in range(6)]
    declare(port, queues)
    conn = pika.BlockingConnection(pika_params(port))
    ws = [PikaWorkers(conn, q, k=1, prefetch=3, recorder=rec, expected=5) for q in queues]
    for j, q in enumerate(queues):
        plans = [plan([150, 350][(i + j) % 2], "ack" if (i + j) % 4 else "nack", i) for i in range(5)]
        threading.Thread(target=publish, args=(port, q, plans)).start()
    run_until(conn, lambda: all(w.finished() for w in ws))
    conn.close()


def scenario_auto_ack(port, rec):
    """Channel 1: an auto-ack consumer (nothing answers on the wire); channel 2: manual acks."""
    declare(port, ["auto", "manual"])
    conn = pika.BlockingConnection(pika_params(port))
    manual = PikaWorkers(conn, "manual", k=1, prefetch=2, recorder=rec, expected=4)
    auto_ch = conn.channel()
    inbox = []
    done = dict(n=0)

    def on_auto(ch, method, props, body):
        inbox.append((method.delivery_tag, json.loads(body)))

    def auto_worker():
        while done["n"] < 5:
            if not inbox:
                time.sleep(0.01)
                continue
            tag, p = inbox.pop(0)
            start = time.time()
            time.sleep(p["sleep_ms"] / 1000.0)
            UNANSWERED.append(dict(queue="auto", delivery_tag=tag, start=start, end=time.time(),
                                   why="auto-ack: the broker settled it when it sent it"))
            done["n"] += 1

    auto_ch.basic_consume("auto", on_auto, auto_ack=True)
    threading.Thread(target=auto_worker, daemon=True).start()
    threading.Thread(target=publish, args=(port, "auto", [plan(150, "ack", i) for i in range(5)])).start()
    threading.Thread(target=publish, args=(port, "manual", [plan(350, "ack" if i != 2 else "reject", i)
                                                            for i in range(4)])).start()
    run_until(conn, lambda: manual.finished() and done["n"] >= 5)
    conn.close()


def scenario_qos_recover(port, rec):
    """One channel, global qos 4, two consumers (queues rq1, rq2); after 3 answers,
    basic.recover(requeue) with 4 deliveries unanswered: they come back under new tags."""
    declare(port, ["rq1", "rq2"])
    publish(port, "rq1", [plan(150, "ack", i) for i in range(4)])
    publish(port, "rq2", [plan(350, "ack" if i != 1 else "nack", i) for i in range(4)])
    conn = pika.BlockingConnection(pika_params(port))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=4, global_qos=True)
    inbox = []
    for q in ("rq1", "rq2"):
        ch.basic_consume(q, lambda c, m, p, b, q=q: inbox.append((q, m.delivery_tag, m.redelivered, json.loads(b))))
    handled, old_max, recovered = 0, 0, False
    deadline = time.time() + 60
    while handled < 8 and time.time() < deadline:
        conn.process_data_events(time_limit=0.01)
        if handled == 3 and not recovered:
            t = time.time()
            while time.time() < t + 0.3:
                conn.process_data_events(time_limit=0.01)  # the whole window has arrived
            old_max = max(tag for _, tag, _, _ in inbox)
            NOTES["recovered_unanswered"] = len(inbox)
            inbox.clear()
            ch.basic_recover(requeue=True)
            recovered = True
            continue
        inbox[:] = [m for m in inbox if m[1] > old_max]
        if not inbox:
            continue
        q, tag, redelivered, p = inbox.pop(0)
        work_pika(ch, rec, q, tag, p, redelivered)
        handled += 1
    conn.close()


def scenario_transactions(port, rec):
    """tx.select; each answer is committed; one ack is rolled back and sent again
    (RabbitMQ discards a rolled-back ack: the message stays unacknowledged)."""
    q = "txq"
    declare(port, [q])
    plans = [(150, "ack"), (350, "ack_rollback"), (150, "nack"), (650, "ack"), (150, "reject"), (350, "ack")]
    conn = pika.BlockingConnection(pika_params(port))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=2)
    ch.tx_select()
    state = dict(done=0)
    rollbacks = []

    def on_message(c, method, props, body):
        p = json.loads(body)
        tag = method.delivery_tag
        start = time.time()
        time.sleep(p["sleep_ms"] / 1000.0)
        end = time.time()
        if p["answer"] == "ack_rollback":
            c.basic_ack(tag)
            c.tx_rollback()
            rollbacks.append(tag)
            c.basic_ack(tag)
            c.tx_commit()
            rec.add(q, tag, 0, start, end, "ack", method.redelivered)
        else:
            code, name = answer_pika(c, tag, p["answer"], method.redelivered)
            c.tx_commit()
            rec.add(q, tag, code, start, end, name, method.redelivered)
        state["done"] += 1

    ch.basic_consume(q, on_message)
    threading.Thread(target=publish, args=(port, q, [plan(s, a, i) for i, (s, a) in enumerate(plans)])).start()
    run_until(conn, lambda: state["done"] >= len(plans))
    NOTES["acks_rolled_back_then_sent_again"] = rollbacks
    conn.close()


def scenario_confirms_return(port, rec):
    """py-amqp, one channel that consumes (queue `work`) and, in confirm mode, publishes:
    each handled message is forwarded to `sink` (confirmed by the broker's basic.ack, whose
    tags 1, 2, 3... collide with the consumer's delivery tags) and, every other time, an
    unroutable mandatory message comes back as basic.return (then is confirmed)."""
    declare(port, ["work", "sink"])
    plans = [(150, "ack"), (350, "ack"), (150, "reject"), (650, "ack"), (150, "nack"), (350, "ack")]
    publish(port, "work", [plan(s, a, i) for i, (s, a) in enumerate(plans)])
    conn = amqp.Connection(f"{HOST}:{port}", confirm_publish=True)
    conn.connect()
    ch = conn.channel()
    ch.basic_qos(0, 1, False)
    returned = []
    ch.events["basic_return"].add(lambda *a: returned.append(a[1] if len(a) > 1 else a))
    state = dict(done=0, confirmed=0)

    def cb(msg):
        p = json.loads(msg.body)
        tag = msg.delivery_info["delivery_tag"]
        start = time.time()
        time.sleep(p["sleep_ms"] / 1000.0)
        ch.basic_publish(amqp.Message(msg.body), exchange="", routing_key="sink")
        state["confirmed"] += 1
        if state["done"] % 2 == 0:
            ch.basic_publish(amqp.Message(b"lost"), exchange="", routing_key="nowhere", mandatory=True)
            state["confirmed"] += 1
        end = time.time()
        code = answer_amqp(ch, tag, p["answer"])
        rec.add("work", tag, code, start, end, p["answer"], False)
        state["done"] += 1

    ch.basic_consume("work", callback=cb)
    while state["done"] < len(plans):
        conn.drain_events(timeout=10)
    NOTES["publishes_confirmed"] = state["confirmed"]
    NOTES["returned"] = len(returned)
    conn.close()


def scenario_server_cancel(port, rec):
    """Queue `doomed` is deleted (by another connection) while its consumer works on its 3rd
    message with 3 more prefetched: the broker sends basic.cancel; the consumer still answers
    what it holds, then consumes `survivor` on the same channel with the same consumer tag."""
    declare(port, ["doomed", "survivor"])
    publish(port, "doomed", [plan(150 if i != 2 else 650, "ack", i) for i in range(6)])
    publish(port, "survivor", [plan(350, "ack" if i != 1 else "reject", i) for i in range(3)])
    conn = pika.BlockingConnection(pika_params(port))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=3)
    inbox = []
    ch.basic_consume("doomed", lambda c, m, p, b: inbox.append(("doomed", m.delivery_tag, json.loads(b))),
                     consumer_tag="ctag")

    def delete_doomed():
        time.sleep(0.2)
        other = pika.BlockingConnection(pika_params(port))
        other.channel().queue_delete("doomed")
        other.close()

    handled, survivor = 0, False
    deadline = time.time() + 60
    while time.time() < deadline:
        conn.process_data_events(time_limit=0.01)
        if not inbox:
            if handled >= 5 and not survivor:
                # doomed: 2 handled, 1 at deletion, 2 still prefetched (prefetch 3) -> 5 in all
                ch.basic_consume("survivor", lambda c, m, p, b: inbox.append(("survivor", m.delivery_tag, json.loads(b))),
                                 consumer_tag="ctag")
                survivor = True
            if survivor and handled >= 8:
                break
            continue
        q, tag, p = inbox.pop(0)
        if handled == 2:
            deleter = threading.Thread(target=delete_doomed)
            deleter.start()
        start = time.time()
        time.sleep(p["sleep_ms"] / 1000.0)
        end = time.time()
        if handled == 2:
            deleter.join()
        code, name = answer_pika(ch, tag, p["answer"], False)
        rec.add(q, tag, code, start, end, name, False)
        handled += 1
    conn.close()


def scenario_blocked_restart(port, rec):
    """pika, heartbeat 2 s, idle 3 s first (heartbeats only); durable queue `durable`, prefetch 2.
    The consumer's connection also publishes: a memory alarm makes the broker send
    connection.blocked, then unblocked. During the 4th message the broker application
    restarts (stop_app: connection.close 320 to every client): that answer never reaches the
    wire; the consumer reconnects and gets it again (redelivered)."""
    q = "durable"
    conn = pika.BlockingConnection(pika_params(port))
    ch = conn.channel()
    ch.queue_declare(q, durable=True)
    ch.queue_purge(q)
    conn.close()
    persistent = pika.BasicProperties(delivery_mode=2)
    pub = pika.BlockingConnection(pika_params(port))
    pch = pub.channel()
    plans = [(150, "ack"), (350, "nack"), (150, "ack"), (650, "ack"), (150, "reject"), (350, "ack")]
    for i, (s, a) in enumerate(plans):
        pch.basic_publish("", q, plan(s, a, i), persistent)
    pub.close()
    done = set()
    restarted = dict(done=False)
    NOTES["blocked"] = 0
    while len(done) < len(plans):
        conn = pika.BlockingConnection(pika.ConnectionParameters(host=HOST, port=port, heartbeat=2))
        conn.add_on_connection_blocked_callback(lambda *a: NOTES.__setitem__("blocked", NOTES["blocked"] + 1))
        ch = conn.channel()
        if not restarted["done"]:
            t = time.time()
            while time.time() < t + 3:
                conn.process_data_events(time_limit=0.1)
        ch.basic_qos(prefetch_count=2)
        inbox = []
        ch.basic_consume(q, lambda c, m, p, b: inbox.append((m.delivery_tag, m.redelivered, json.loads(b))))
        try:
            while len(done) < len(plans):
                conn.process_data_events(time_limit=0.01)
                if not inbox:
                    continue
                tag, redelivered, p = inbox.pop(0)
                start = time.time()
                if len(done) == 1 and NOTES["blocked"] == 0:
                    ctl("set_vm_memory_high_watermark", "0.000001")
                    ch.basic_publish("", "nowhere", b"while blocked")
                    t = time.time()
                    while NOTES["blocked"] == 0 and time.time() < t + 5:
                        conn.process_data_events(time_limit=0.05)
                    ctl("set_vm_memory_high_watermark", "0.4")
                if len(done) == 3 and not restarted["done"]:
                    restarted["done"] = True
                    threading.Thread(target=lambda: (ctl("stop_app"), ctl("start_app"))).start()
                time.sleep(p["sleep_ms"] / 1000.0)
                end = time.time()
                if len(done) == 3 and restarted["done"] and not redelivered:
                    time.sleep(1.0)  # the broker is going down: this answer is lost with the connection
                code, name = answer_pika(ch, tag, p["answer"], False)
                rec.add(q, tag, code, start, end, name, redelivered)
                done.add(p["seq"])
        except (pika.exceptions.AMQPError, OSError) as e:
            UNANSWERED.append(dict(queue=q, delivery_tag=tag, start=start, end=time.time(),
                                   why=f"connection lost before the answer: {type(e).__name__}"))
            time.sleep(1.0)
            ctl("await_startup")
            continue
        conn.close()


def scenario_kombu(port, rec):
    """kombu Consumer, prefetch 3: message.ack(), message.reject(), message.requeue()."""
    import kombu
    q = "kq"
    declare(port, [q])
    plans = [(150, "ack"), (350, "requeue"), (150, "reject"), (650, "ack"), (150, "ack")]
    publish(port, q, [plan(s, a, i) for i, (s, a) in enumerate(plans)])
    done = dict(n=0)
    with kombu.Connection(f"amqp://guest:guest@{HOST}:{port}//") as conn:
        queue = kombu.Queue(q, routing_key=q, durable=False)

        def on_message(body, message):
            p = json.loads(body) if isinstance(body, (bytes, str)) else body
            tag = message.delivery_tag
            start = time.time()
            time.sleep(p["sleep_ms"] / 1000.0)
            end = time.time()
            answer = p["answer"]
            if answer == "requeue" and message.delivery_info.get("redelivered"):
                answer = "ack"
            if answer == "ack":
                message.ack()
                code = 0
            elif answer == "requeue":
                message.requeue()  # basic.reject requeue=true
                code = 1
            else:
                message.reject()
                code = 1
            rec.add(q, tag, code, start, end, answer, bool(message.delivery_info.get("redelivered")))
            done["n"] += 1

        with conn.Consumer(queue, callbacks=[on_message], accept=["json", "text/plain", "application/data"],
                           prefetch_count=3):
            while done["n"] < len(plans) + 1:
                conn.drain_events(timeout=10)


def scenario_aio_pika(port, rec):
    """aio-pika: channels in confirm mode (its default); message.process() acks on success and
    rejects on an exception; the consumer publishes on its own channel (confirmed)."""
    import asyncio

    import aio_pika

    q = "aioq"
    declare(port, [q, "aiosink"])
    plans = [(150, "ack"), (350, "fail"), (150, "ack"), (650, "ack"), (350, "nack")]
    publish(port, q, [plan(s, a, i) for i, (s, a) in enumerate(plans)])

    async def main():
        conn = await aio_pika.connect(f"amqp://guest:guest@{HOST}:{port}/")
        ch = await conn.channel()
        await ch.set_qos(prefetch_count=2)
        queue = await ch.get_queue(q)
        done = asyncio.Event()
        count = dict(n=0)

        async def on_message(message):
            p = json.loads(message.body)
            start = time.time()
            await asyncio.sleep(p["sleep_ms"] / 1000.0)
            await ch.default_exchange.publish(aio_pika.Message(message.body), routing_key="aiosink")
            end = time.time()
            if p["answer"] == "nack":
                await message.nack(requeue=False)
                code = 1
            else:
                try:
                    async with message.process(requeue=False):
                        if p["answer"] == "fail":
                            raise RuntimeError("worker failed")
                except RuntimeError:
                    pass
                code = 0 if p["answer"] == "ack" else 1
            rec.add(q, message.delivery_tag, code, start, end, p["answer"], message.redelivered)
            count["n"] += 1
            if count["n"] >= len(plans):
                done.set()

        # One message at a time (the k = 1 model): aio-pika runs callbacks concurrently otherwise.
        lock = asyncio.Lock()

        async def serial(message):
            async with lock:
                await on_message(message)

        await queue.consume(serial)
        await asyncio.wait_for(done.wait(), 60)
        await conn.close()

    asyncio.run(main())


def scenario_amqpstorm(port, rec):
    """AMQPStorm consumer, prefetch 2: ack, nack (requeue false), reject."""
    import amqpstorm
    q = "stormq"
    declare(port, [q])
    plans = [(150, "ack"), (350, "nack"), (650, "ack"), (150, "reject"), (350, "ack")]
    publish(port, q, [plan(s, a, i) for i, (s, a) in enumerate(plans)])
    conn = amqpstorm.Connection(HOST, "guest", "guest", port=port)
    ch = conn.channel()
    ch.basic.qos(prefetch_count=2)
    state = dict(n=0)

    def on_message(message):
        p = json.loads(message.body)
        start = time.time()
        time.sleep(p["sleep_ms"] / 1000.0)
        end = time.time()
        if p["answer"] == "ack":
            message.ack()
            code = 0
        elif p["answer"] == "nack":
            message.nack(requeue=False)
            code = 1
        else:
            message.reject(requeue=False)
            code = 1
        rec.add(q, message.delivery_tag, code, start, end, p["answer"], message.redelivered)
        state["n"] += 1
        if state["n"] >= len(plans):
            ch.stop_consuming()

    ch.basic.consume(on_message, q, no_ack=False)
    ch.start_consuming()
    ch.close()
    conn.close()


def scenario_celery(port, rec):
    """A real `celery worker` (solo pool: one task at a time, prefetch multiplier 2) consuming
    two queues on one channel: `celery-late` (acks_late: ack or reject after the task) and
    `celery-early` (Celery's default: ack when the task is received, before it runs, so the
    wire shows no end of the work). Pidbox and gossip consumers (auto-ack) run beside them."""
    import tempfile

    from celery_tasks import early, late
    log = tempfile.NamedTemporaryFile(prefix="celery-tasks.", suffix=".jsonl", delete=False).name
    env = dict(os.environ, CELERY_TASK_LOG=log, AMQP_FIXTURE_PORT=str(port))
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_tasks", "worker", "--pool=solo", "--concurrency=1",
         "-Q", "celery-early,celery-late", "--loglevel=WARNING", "-n", "fixtures@localhost"],
        env=env, cwd=os.path.dirname(os.path.abspath(__file__)))
    try:
        time.sleep(4)  # the worker connects, declares, mingles
        plans_late = [(150, "ack"), (350, "reject"), (650, "ack"), (150, "ack"), (350, "ack")]
        plans_early = [(150, "ack"), (650, "ack"), (350, "ack"), (150, "ack")]
        for i, (s, a) in enumerate(plans_late):
            late.apply_async((s, a, i))
        for i, (s, a) in enumerate(plans_early):
            early.apply_async((s, a, i))
        expected = len(plans_late) + len(plans_early)
        deadline = time.time() + 60
        while time.time() < deadline:
            with open(log) as f:
                lines = [json.loads(line) for line in f if line.strip()]
            if len(lines) >= expected:
                break
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        worker.terminate()  # warm shutdown: the worker closes its connection
        worker.wait(timeout=30)
    for r in lines:
        if r["queue"] == "celery-late":
            code = 1 if r["answer"] == "reject" else 0
            rec.add(r["queue"], r["delivery_tag"], code, r["start"], r["end"], r["answer"], False)
        else:
            UNANSWERED.append(dict(queue=r["queue"], delivery_tag=r["delivery_tag"], start=r["start"], end=r["end"],
                                   why="acks_late=False: acknowledged when received, before the task ran"))
    os.unlink(log)


def scenario_channel_errors(port, rec):
    """pika: a consumer acks a delivery twice, the broker closes the channel (406 unknown
    delivery tag) with two deliveries prefetched; a new channel (RabbitMQ numbers its
    deliveries from 1 again) gets them redelivered. Then a quorum queue consumed with
    arguments (x-priority), a nack-requeue redelivered by it, an auto-ack basic.get, and
    (py-amqp) channel.flow(active=false), which RabbitMQ refuses."""
    declare(port, ["edge", "edge-get"])
    conn = pika.BlockingConnection(pika_params(port))
    ch = conn.channel()
    ch.queue_delete("edge-quorum")
    ch.queue_declare("edge-quorum", durable=True, arguments={"x-queue-type": "quorum"})
    conn.close()
    publish(port, "edge", [plan([150, 350, 150][i], "ack", i) for i in range(3)])
    publish(port, "edge-get", [plan(150, "ack", 0)])
    publish(port, "edge-quorum", [plan(150, ["ack", "nack_requeue", "reject"][i], i) for i in range(3)])

    conn = pika.BlockingConnection(pika_params(port))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=3)
    inbox = []
    ch.basic_consume("edge", lambda c, m, p, b: inbox.append((m.delivery_tag, m.redelivered, json.loads(b))))
    while len(inbox) < 3:
        conn.process_data_events(time_limit=0.01)
    tag, redelivered, p = inbox.pop(0)
    start = time.time()
    time.sleep(p["sleep_ms"] / 1000.0)
    end = time.time()
    ch.basic_ack(tag)
    rec.add("edge", tag, 0, start, end, "ack", redelivered)
    ch.basic_ack(tag)  # again: PRECONDITION_FAILED, the broker closes the channel
    try:
        while ch.is_open:
            conn.process_data_events(time_limit=0.05)
    except pika.exceptions.ChannelClosedByBroker as e:
        NOTES["channel_closed_by_broker"] = e.reply_code
    NOTES["dropped_with_channel"] = len(inbox)
    inbox.clear()
    ch = conn.channel()
    NOTES["reopened_channel_number"] = ch.channel_number
    ch.basic_qos(prefetch_count=3)
    queues = dict(edge=2, **{"edge-quorum": 4})
    for q in queues:
        ch.basic_consume(q, lambda c, m, p, b, q=q: inbox.append((q, m.delivery_tag, m.redelivered, json.loads(b))),
                         arguments={"x-priority": 5} if q == "edge-quorum" else None)
    done = 0
    deadline = time.time() + 60
    while done < sum(queues.values()) and time.time() < deadline:
        conn.process_data_events(time_limit=0.01)
        if not inbox:
            continue
        q, tag, redelivered, p = inbox.pop(0)
        work_pika(ch, rec, q, tag, p, redelivered)
        done += 1
    method, props, body = ch.basic_get("edge-get", auto_ack=True)
    start = time.time()
    time.sleep(json.loads(body)["sleep_ms"] / 1000.0)
    UNANSWERED.append(dict(queue="edge-get", delivery_tag=method.delivery_tag, start=start, end=time.time(),
                           why="basic.get with no-ack"))
    conn.close()

    conn = amqp.Connection(f"{HOST}:{port}")
    conn.connect()
    ch = conn.channel()
    try:
        ch.flow(False)
        NOTES["flow"] = "accepted"
    except Exception as e:  # RabbitMQ does not implement flow(active=false) from clients
        NOTES["flow"] = f"{type(e).__name__}: {e}"
    try:
        conn.close()
    except Exception:
        pass


def scenario_lossy(port, rec):
    """channels-interleaved with real loss: nftables (in make-more-fixtures.sh's own network
    namespace only) drops 4 % of the TCP segments to and from the broker at the input hook,
    after tcpdump saw them: the capture holds each dropped segment and its retransmission."""
    table = "chx_h11_amqp_loss"
    if "chx-h11-amqp" not in subprocess.run(["ip", "netns", "identify"], capture_output=True, text=True).stdout:
        raise SystemExit("lossy: run inside make-more-fixtures.sh's network namespace")
    subprocess.run(["nft", "-f", "-"], check=True, text=True, input=f"""
        table inet {table} {{
            chain input {{
                type filter hook input priority 0; policy accept;
                tcp sport {port} meta length > 100 numgen random mod 100 < 4 drop
                tcp dport {port} meta length > 100 numgen random mod 100 < 4 drop
            }}
        }}""")
    try:
        scenario_channels_interleaved(port, rec)
    finally:
        subprocess.run(["nft", "delete", "table", "inet", table], check=False)


SCENARIOS = {
    "large-body": scenario_large_body,
    "channels-interleaved": scenario_channels_interleaved,
    "auto-ack": scenario_auto_ack,
    "qos-recover": scenario_qos_recover,
    "transactions": scenario_transactions,
    "confirms-return": scenario_confirms_return,
    "server-cancel": scenario_server_cancel,
    "blocked-restart": scenario_blocked_restart,
    "kombu": scenario_kombu,
    "aio-pika": scenario_aio_pika,
    "amqpstorm": scenario_amqpstorm,
    "celery": scenario_celery,
    "channel-errors": scenario_channel_errors,
    "lossy": scenario_lossy,
}

if __name__ == "__main__":
    main(SCENARIOS, lambda: dict(unanswered=UNANSWERED, notes=NOTES))
