#!/usr/bin/env python3
"""A seeded random consumer campaign against a real RabbitMQ broker, for checking
`<SYSCODE>_consumer_metrics` live and in replay against what the consumers record.

usage: random_consumers.py SEED PORT1 PORT2 REF_METRICS_PORT OUT_DIR

Three groups of consumers, each with its own truth:

* `ref*` queues (PORT1): the reference library itself (channel-exporter 1.2.2) hooking
  the `ctec_consumer` shim (/work/shared/reference/ctec_consumer_shim): one worker per
  channel, prefetch 1-20, heartbeat and frame_max at random. One consumer may cancel
  itself (pika rejects, requeue, what it had prefetched but not handed to the worker),
  one may drop its TCP connection with deliveries unanswered. Truth: the reference's own
  /metrics (OUT_DIR/reference.prom).
* `own*` queues (PORT1): pika connections with several channels (one worker thread each,
  answers through the connection thread), py-amqp with server-generated tags that drops
  its connection, kombu. Answers: ack, nack, reject, nack+requeue (then redelivered),
  ack/nack with multiple=true (covering only the worker's own tag: one worker, FIFO).
  Truth: the workers' own start/end (OUT_DIR/records.json, as expected.py reads).
* `bq*` queues (PORT2, meant for consumer_concurrency 3): a batch of three deliveries
  handled together and answered by one ack/nack with multiple=true (requeue sometimes).
  Truth: the workers' own records (same file).

Every message carries its plan in headers (so bodies can be empty): the worker's sleep
(mid-bucket: 50, 150, 350, 650, 900, 1250 ms, at least 45 ms from any default edge) and
its answer. Bodies: empty to well past frame_max (split into several body frames).
A separate publisher connection interleaves publishes with the consumption.
"""
import json
import os
import queue as fifo
import random
import socket
import sys
import threading
import time
import urllib.request

sys.modules["flask"] = None  # the reference then serves /metrics at once on its own port
sys.path.insert(0, "/work/shared/reference/ctec_consumer_shim")
import channel_exporter  # noqa: E402  (the reference; must come before the shim's import)
from ctec_consumer.dummy import ctec_consumer as shim  # noqa: E402

import amqp  # noqa: E402
import kombu  # noqa: E402
import pika  # noqa: E402

HOST = "127.0.0.1"
SYSCODE = "H150000015"
SLEEPS = [50, 150, 350, 650, 900, 1250]
FINAL_LIMIT_S = 240


class Recorder:
    def __init__(self):
        self.records, self.lock = [], threading.Lock()

    def add(self, queue, tag, code, start, end, answer, redelivered, who):
        with self.lock:
            self.records.append(dict(queue=queue, delivery_tag=tag, code=code, start=start, end=end,
                                     duration_ms=(end - start) * 1000.0, answer=answer,
                                     redelivered=redelivered, consumer=who))


class Finals:
    """Messages settled for good per queue (ack, nack/reject without requeue)."""

    def __init__(self):
        self.n, self.lock = {}, threading.Lock()

    def add(self, q, k=1):
        with self.lock:
            self.n[q] = self.n.get(q, 0) + k

    def get(self, q):
        with self.lock:
            return self.n.get(q, 0)


FINALS = Finals()
REC = Recorder()
LOG = []


def log(*a):
    LOG.append(f"{time.time():.3f} " + " ".join(map(str, a)))


def body_of(rnd, frame_max_hint):
    kind = rnd.random()
    if kind < 0.15:
        return b""
    if kind < 0.55:
        n = rnd.randint(1, 300)
    elif kind < 0.8:
        n = rnd.randint(1000, 6000)
    else:
        n = rnd.randint(frame_max_hint + 1, 3 * frame_max_hint + 500)
    return bytes(rnd.getrandbits(8) for _ in range(n)) if n < 2000 else os.urandom(n)


# ---------------------------------------------------------------- reference group (shim)

class RefConsumer(shim.Consumer):
    """The shim with two extra endings: cancel after N messages, or drop the TCP connection."""

    def __init__(self, *a, cancel_after=None, drop_after=None, name="", **kw):
        super().__init__(*a, **kw)
        self.cancel_after, self.drop_after, self.name = cancel_after, drop_after, name
        self.finished = threading.Event()
        self.dropped = False

    def _on_message(self, channel, basic_deliver, properties, body):
        if self.dropped:
            return  # already in pika's buffer when the connection was dropped: not handled
        REF_RUNS_CONTEXT.port = self._connection._impl._transport._sock.getsockname()[1]
        REF_RUNS_CONTEXT.tag = basic_deliver.delivery_tag
        super()._on_message(channel, basic_deliver, properties, body)
        if self.cancel_after is not None and self.handled == self.cancel_after:
            log(self.name, "cancel after", self.handled)
            channel.basic_cancel(basic_deliver.consumer_tag)  # pika rejects (requeue) the prefetched rest
        elif self.drop_after is not None and self.handled == self.drop_after:
            log(self.name, "drop after", self.handled)
            time.sleep(0.1)  # the last ack is on the wire (basic_ack flushes)
            sock = self._connection._impl._transport._sock
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            self.dropped = True

    def run_safely(self):
        try:
            self.run()
        except Exception as e:  # the dropped connection ends here
            log(self.name, "ended:", type(e).__name__)
        self.finished.set()


REF_RUNS_CONTEXT = threading.local()
REF_RUNS = []  # what the reference's workers did, for finding a difference (not the truth)


def ref_worker(queue):
    def worker(message):
        h = message.properties or {}
        start = time.time()
        time.sleep(h["sleep_ms"] / 1000.0)
        answer = h["answer"]
        REF_RUNS.append(dict(queue=queue, port=REF_RUNS_CONTEXT.port, delivery_tag=REF_RUNS_CONTEXT.tag,
                             redelivered=message.redelivered, start=start, end=time.time(), answer=answer,
                             seq=h["seq"]))
        if answer == "requeue" and message.redelivered:
            answer = "ack"
        if answer == "raise":
            FINALS.add(queue)
            raise RuntimeError("planned failure")
        if answer == "requeue":
            return shim.CONSUME_REDELIVER
        FINALS.add(queue)
        return shim.CONSUME_SUCCESS if answer == "ack" else shim.CONSUME_REJECT
    return worker


# ---------------------------------------------------------------- own-record group

# answer: (method, keyword arguments, code, final: the message is settled for good)
PIKA_ANSWERS = {
    "ack": ("basic_ack", {}, 0, True),
    "ack_multiple": ("basic_ack", dict(multiple=True), 0, True),
    "nack": ("basic_nack", dict(requeue=False), 1, True),
    "nack_multiple": ("basic_nack", dict(multiple=True, requeue=False), 1, True),
    "requeue": ("basic_nack", dict(requeue=True), 1, False),
    "reject_requeue": ("basic_reject", dict(requeue=True), 1, False),
    "reject": ("basic_reject", dict(requeue=False), 1, True),
}


def answer_pika(ch, tag, answer):
    """Returns (code, final)."""
    method, kwargs, code, final = PIKA_ANSWERS[answer]
    getattr(ch, method)(tag, **kwargs)
    return code, final


def sleep_as_planned(h, redelivered):
    """The worker's work: returns (answer, start, end); a requeue comes back once, then is acked."""
    answer = h["answer"]
    if answer in ("requeue", "reject_requeue") and redelivered:
        answer = "ack"
    start = time.time()
    time.sleep(h["sleep_ms"] / 1000.0)
    return answer, start, time.time()


class PikaChannelWorker:
    """One channel of a shared pika connection, consumed by one worker thread (FIFO)."""

    def __init__(self, conn, queue, prefetch, name):
        self.conn, self.queue, self.name = conn, queue, name
        self.ch = conn.channel()
        self.ch.basic_qos(prefetch_count=prefetch)
        self.inbox = fifo.Queue()
        threading.Thread(target=self.work, daemon=True).start()
        self.ch.basic_consume(queue, self.on_message)

    def on_message(self, ch, method, props, body):
        self.inbox.put((method.delivery_tag, method.redelivered, dict(props.headers)))

    def work(self):
        while True:
            tag, redelivered, h = self.inbox.get()
            answer, start, end = sleep_as_planned(h, redelivered)
            ev = threading.Event()

            def send():
                code, final = answer_pika(self.ch, tag, answer)
                REC.add(self.queue, tag, code, start, end, answer, redelivered, self.name)
                if final:
                    FINALS.add(self.queue)
                ev.set()

            self.conn.add_callback_threadsafe(send)
            ev.wait()


def run_pika_multichannel(port, queues, prefetches, heartbeat, frame_max, name, stop):
    conn = pika.BlockingConnection(pika.ConnectionParameters(host=HOST, port=port, heartbeat=heartbeat,
                                                             frame_max=frame_max))
    for i, (q, p) in enumerate(zip(queues, prefetches)):
        PikaChannelWorker(conn, q, p, f"{name}/ch{i + 1}")
    while not stop.is_set():
        conn.process_data_events(time_limit=0.02)
    conn.close()


def work_and_answer(queue, tag, redelivered, h, ack, requeue, reject, who):
    """One message on a single-threaded consumer (py-amqp, kombu): sleep as planned, answer with
    `ack()`, `requeue()` or `reject()` (multiple=true has no meaning here: plain answers)."""
    answer, start, end = sleep_as_planned(h, redelivered)
    if answer in ("ack", "ack_multiple"):
        ack()
        code, final = 0, True
    elif answer in ("requeue", "reject_requeue"):
        requeue()
        code, final = 1, False
    else:
        reject()
        code, final = 1, True
    REC.add(queue, tag, code, start, end, answer, redelivered, who)
    if final:
        FINALS.add(queue)


def run_pyamqp_dropper(port, queue, prefetch, heartbeat, drop_after, name):
    """py-amqp, server-generated consumer tag; after `drop_after` answers the TCP connection is
    closed without connection.close, prefetched deliveries unanswered."""
    conn = amqp.Connection(f"{HOST}:{port}", heartbeat=heartbeat)
    conn.connect()
    ch = conn.channel()
    ch.basic_qos(0, prefetch, False)
    state = dict(done=0)

    def cb(msg):
        if state["done"] >= drop_after:
            return
        h = msg.properties.get("application_headers", {})
        tag = msg.delivery_info["delivery_tag"]
        work_and_answer(queue, tag, msg.delivery_info["redelivered"], h, lambda: ch.basic_ack(tag),
                        lambda: ch.basic_reject(tag, requeue=True), lambda: ch.basic_reject(tag, requeue=False), name)
        state["done"] += 1

    ch.basic_consume(queue, consumer_tag="", callback=cb)
    while state["done"] < drop_after:
        try:
            conn.drain_events(timeout=0.5)
        except socket.timeout:
            pass
    time.sleep(0.3)
    log(name, "drop after", state["done"])
    conn.transport.sock.shutdown(socket.SHUT_RDWR)
    conn.transport.sock.close()


def run_kombu(port, queue, prefetch, heartbeat, name, stop):
    with kombu.Connection(f"pyamqp://guest:guest@{HOST}:{port}//", heartbeat=heartbeat) as conn:
        ch = conn.channel()
        q = kombu.Queue(queue, channel=ch, no_declare=True)

        def on_message(message):
            work_and_answer(queue, message.delivery_tag, message.delivery_info["redelivered"], message.headers,
                            message.ack, message.requeue, message.reject, name)

        with kombu.Consumer(ch, queues=[q], on_message=on_message,
                            prefetch_count=prefetch, no_ack=False):
            while not stop.is_set():
                try:
                    conn.drain_events(timeout=0.2)
                except socket.timeout:
                    pass


# ---------------------------------------------------------------- batch group (k = 3)

def run_batch(port, queue, prefetch, heartbeat, name, stop, rnd):
    conn = pika.BlockingConnection(pika.ConnectionParameters(host=HOST, port=port, heartbeat=heartbeat))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=prefetch)
    pending = []

    def on_message(ch, method, props, body):
        pending.append((method.delivery_tag, method.redelivered, dict(props.headers)))
        if len(pending) < 3:
            return
        start = time.time()
        time.sleep(max(h["sleep_ms"] for _, _, h in pending) / 1000.0)
        end = time.time()
        answer = pending[0][2]["answer"]
        if answer == "requeue" and any(r for _, r, _ in pending):
            answer = "ack"
        last = pending[-1][0]
        if answer == "ack":
            ch.basic_ack(last, multiple=True)
        else:
            ch.basic_nack(last, multiple=True, requeue=answer == "requeue")
        for tag, r, _ in pending:
            REC.add(queue, tag, 0 if answer == "ack" else 1, start, end, answer + "_multiple", r, name)
        if answer != "requeue":
            FINALS.add(queue, len(pending))
        pending.clear()

    ch.basic_consume(queue, on_message)
    while not stop.is_set():
        conn.process_data_events(time_limit=0.02)
    conn.close()


# ---------------------------------------------------------------- the campaign

def headers_of(rnd, answers, seq):
    return dict(sleep_ms=rnd.choice(SLEEPS), answer=rnd.choice(answers), seq=seq)


def main():
    seed, port1, port2, ref_port, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), \
        int(sys.argv[4]), sys.argv[5]
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(seed)
    channel_exporter.__init__(SYSCODE, default_metrics_port=ref_port)
    plan = dict(seed=seed, ref=[], own=[], batch=[], publishes={})

    # Queues and how many messages each gets.
    n_ref_q, n_own_q, n_batch_q = rnd.randint(2, 3), rnd.randint(3, 5), rnd.randint(1, 2)
    ref_qs = [f"ref{i}" for i in range(n_ref_q)]
    own_qs = [f"own{i}" for i in range(n_own_q)]
    batch_qs = [f"bq{i}" for i in range(n_batch_q)]
    for port, qs in ((port1, ref_qs + own_qs), (port2, batch_qs)):
        c = pika.BlockingConnection(pika.ConnectionParameters(host=HOST, port=port))
        ch = c.channel()
        for q in qs:
            ch.queue_declare(q)
            ch.queue_purge(q)
        c.close()

    # Messages: (port, queue, headers, body); the first third published before consumers start.
    msgs = []
    seq = 0
    for q in ref_qs:
        for _ in range(rnd.randint(12, 22)):
            msgs.append((port1, q, headers_of(rnd, ["ack"] * 4 + ["requeue", "reject", "raise"], seq)))
            seq += 1
    for q in own_qs:
        for _ in range(rnd.randint(10, 18)):
            msgs.append((port1, q, headers_of(rnd, ["ack"] * 3 + ["ack_multiple", "nack", "nack_multiple",
                                                                   "requeue", "reject", "reject_requeue"], seq)))
            seq += 1
    triples = []
    for q in batch_qs:
        for _ in range(rnd.randint(3, 5)):
            a = rnd.choice(["ack", "ack", "nack", "requeue"])
            triples.append([(port2, q, dict(sleep_ms=rnd.choice(SLEEPS), answer=a, seq=seq + i)) for i in range(3)])
            seq += 3
    rnd.shuffle(msgs)
    units = [[m] for m in msgs] + triples
    rnd.shuffle(units)
    totals = {}
    for u in units:
        for _, q, _ in u:
            totals[q] = totals.get(q, 0) + 1
    plan["publishes"] = totals

    pub_frame_max = rnd.choice([4096, 8192, 131072])
    pubs = {p: pika.BlockingConnection(pika.ConnectionParameters(host=HOST, port=p, frame_max=pub_frame_max))
            for p in (port1, port2)}
    pub_ch = {p: c.channel() for p, c in pubs.items()}

    def publish_unit(u):
        for port, q, h in u:
            body = body_of(rnd, rnd.choice([4096, 8192, 131072]))
            pub_ch[port].basic_publish("", q, body, pika.BasicProperties(headers=h))

    early = len(units) // 3
    for u in units[:early]:
        publish_unit(u)

    # Consumers.
    stop = threading.Event()
    threads = []
    ref_consumers = []
    for i, q in enumerate(ref_qs):
        for j in range(2 if i in (0, 1) or rnd.random() < 0.5 else 1):
            fm = rnd.choice([4096, 8192, 131072])
            hb = rnd.choice([2, 5, 30])
            prefetch = rnd.randint(1, 20)
            kw = {}
            if i == 0 and j == 0:
                kw = dict(cancel_after=rnd.randint(2, 5)) if seed % 2 else dict(drop_after=rnd.randint(2, 5))
            elif i == 1 and j == 0:
                kw = dict(drop_after=rnd.randint(2, 5)) if seed % 2 else dict(cancel_after=rnd.randint(2, 5))
            if "cancel_after" in kw:
                prefetch = rnd.randint(6, 20)  # deliveries still in pika's buffer at the cancel
            name = f"shim-{q}-{j}"
            c = RefConsumer(f"amqp://guest:guest@{HOST}:{port1}/%2F?frame_max={fm}", q, prefetch_count=prefetch,
                            heart_interval=hb, name=name, **kw)
            c.register_worker(ref_worker(q))
            ref_consumers.append(c)
            plan["ref"].append(dict(name=name, queue=q, prefetch=prefetch, heartbeat=hb, frame_max=fm, **kw))
            threads.append(threading.Thread(target=c.run_safely, daemon=True))

    # own: a pika connection with 2-4 channels; a py-amqp dropper on own0 (own0 also has a channel
    # on the pika connection, which gets the dropped deliveries again); kombu on the last queue.
    n_ch = min(len(own_qs) - 1, rnd.randint(2, 4))
    pika_qs = own_qs[:n_ch]
    prefetches = [rnd.randint(1, 20) for _ in pika_qs]
    hb, fm = rnd.choice([1, 2, 5, 60]), rnd.choice([4096, 8192, 131072])
    plan["own"].append(dict(name="pika-multi", queues=pika_qs, prefetch=prefetches, heartbeat=hb, frame_max=fm))
    threads.append(threading.Thread(target=run_pika_multichannel,
                                    args=(port1, pika_qs, prefetches, hb, fm, "pika-multi", stop), daemon=True))
    drop_after, dp = rnd.randint(2, 4), rnd.randint(3, 12)
    plan["own"].append(dict(name="pyamqp-drop", queues=["own0"], prefetch=dp, drop_after=drop_after))
    threads.append(threading.Thread(target=run_pyamqp_dropper,
                                    args=(port1, "own0", dp, 0, drop_after, "pyamqp-drop"), daemon=True))
    rest = own_qs[n_ch:]
    for q in rest:
        kp = rnd.randint(1, 20)
        plan["own"].append(dict(name=f"kombu-{q}", queues=[q], prefetch=kp))
        threads.append(threading.Thread(target=run_kombu, args=(port1, q, kp, 0, f"kombu-{q}", stop),
                                        daemon=True))
    for q in batch_qs:
        bp = rnd.choice([3, 6, 9, 12, 15, 18])
        plan["batch"].append(dict(name=f"batch-{q}", queue=q, prefetch=bp))
        threads.append(threading.Thread(target=run_batch,
                                        args=(port2, q, bp, rnd.choice([2, 5, 60]), f"batch-{q}", stop,
                                              random.Random(seed + 1)), daemon=True))
    for t in threads:
        t.start()

    # Interleaved publishes from the publisher connections, random gaps.
    for u in units[early:]:
        gap = rnd.choice([0, 0, 0.02, 0.1, 0.3])
        t_end = time.time() + gap
        while time.time() < t_end:
            for c in pubs.values():
                c.process_data_events(time_limit=0.01)
        publish_unit(u)
    for c in pubs.values():
        c.close()

    deadline = time.time() + FINAL_LIMIT_S
    while any(FINALS.get(q) < n for q, n in totals.items()):
        if time.time() > deadline:
            log("timed out:", {q: (FINALS.get(q), n) for q, n in totals.items()})
            break
        time.sleep(0.2)
    time.sleep(0.5)
    plan["finals"] = {q: FINALS.get(q) for q in totals}
    for c in ref_consumers:
        c.stop()
    stop.set()
    time.sleep(1.5)
    with urllib.request.urlopen(f"http://{HOST}:{ref_port}/metrics") as r:
        open(os.path.join(out, "reference.prom"), "wb").write(r.read())
    REC.records.sort(key=lambda r: r["end"])
    with open(os.path.join(out, "records.json"), "w") as f:
        json.dump(dict(scenario=f"random-{seed}", records=REC.records, plan=plan, log=LOG,
                       reference_runs=sorted(REF_RUNS, key=lambda r: r["end"])), f, indent=1)
    print(json.dumps(plan, indent=1))
    print("\n".join(LOG))
    print(f"{len(REC.records)} own records; reference scraped")


if __name__ == "__main__":
    main()
