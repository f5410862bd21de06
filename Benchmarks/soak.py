#!/usr/bin/env python3
"""Live soak test of `channel-exporter run --interface lo`: real servers, mixed traffic that
changes over time, a scrape every 30 s, and at the end the exporter's counts against what the
clients logged.

    Benchmarks/soak.py run --exporter .build/release/channel-exporter --out /tmp/soak
                           [--minutes 24] [--cycle 360] [--pause 180] [--tail 60] [--idle-timeout 60]
                           [--reload-every SECONDS]

As root. Run it in a network namespace of its own so that nobody else's loopback traffic is
counted (the comparison assumes every HTTP exchange on `lo` is ours):

    ip netns add chx-h13-soak && ip netns exec chx-h13-soak ip link set lo up
    ip netns exec chx-h13-soak Benchmarks/soak.py run --exporter ... --out /tmp/soak
    ip netns del chx-h13-soak

It starts (and stops by PID) nginx, two Python JSON servers (captures/scripts/fixture_servers.py
and `soak.py serve`), a second `soak.py serve` that is not an inbound port (the target of the
outgoing calls) and RabbitMQ (skipped with --no-amqp), then the exporter. Traffic runs in
cycles of --cycle seconds (keep-alive heavy, then connection churn, then errors and bursts),
for --minutes; then everything pauses for --pause seconds (idle connections must be expired:
--idle-timeout is written into the exporter's configuration), then --tail seconds of traffic.
Clients: keep-alive, one-shot and pipelined requests, large bodies over IPv6, stalled requests
(part of a head sent, then held open), sleepy keep-alive connections (a request every 1.2-1.7
idle timeouts), aborted requests (closed before the slow answer), outgoing calls with
T-Code/Method-Code, a pika publisher and consumer that acks, nacks and rejects.

--reload-every sends the exporter SIGHUP that often, the configuration written again with the
same settings: the counts must still equal the clients' (nothing in flight lost at a reload).

Writes into --out: timeline.tsv (one line per scrape), scrapes/NNNN.prom, tallies/*.json,
exporter.log, report.txt (the checks and the count comparison).
"""
import argparse
import collections
import http.client
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SYSCODE = "A123010101"
PORTS = dict(nginx=18180, fixture=18181, json=18182, outgoing=18183, amqp=18184, metrics=19166)
USER_AGENTS = [None, "curl/8.4.0", "python-requests/2.31.0", "okhttp/4.12.0 (Android 14; Pixel 8)",
               "Mozilla/5.0 (X11; Linux x86_64) soak", "svc-billing"]
METHOD_CODES = ["", "M0001", "M0002", "PAY.CREATE", "ORDER.QUERY"]
BODY_PREFIX_BYTES = 65536  # the exporter's default limits.body_prefix_bytes
RUN, PAUSE, STOP = 0, 1, 2


# -- servers -----------------------------------------------------------------------------------
def serve(port):
    """JSON server: /svc/status/NNN?code=C&delay_ms=D answers NNN with {"code": C}; POST
    /svc/submit answers the JSON body's `want_code` (200). Counts what it answered per
    (path, status) and writes it to $SOAK_SERVER_TALLY on SIGTERM."""
    import http.server
    import socketserver
    tally = collections.Counter()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def answer(self):
            path, _, query = self.path.partition("?")
            q = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
            body = b""
            if self.command == "POST":
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, code = 404, 40400
            if path.startswith("/svc/status/"):
                status, code = int(path.rsplit("/", 1)[1]), int(q.get("code", "0"))
            elif path == "/svc/submit":
                try:
                    status, code = 200, json.loads(body or b"{}").get("want_code", 0)
                except ValueError:  # a stalled client gave up mid-body: no answer
                    self.close_connection = True
                    return
            if "delay_ms" in q:
                time.sleep(int(q["delay_ms"]) / 1000)
            out = b"" if status in (204, 304) else json.dumps({"code": code, "message": "soak", "data": {"n": len(body)}}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if status not in (204, 304):
                self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            self.wfile.flush()
            with lock:
                tally[(path, status)] += 1

        do_GET = do_POST = answer

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 1024

        def handle_error(self, request, client_address):
            if not isinstance(sys.exc_info()[1], ConnectionError):  # aborted clients: expected
                super().handle_error(request, client_address)

    srv = Server(("127.0.0.1", port), Handler)

    def stop(*_):
        with lock:
            with open(os.environ["SOAK_SERVER_TALLY"], "w") as f:
                json.dump([[list(k), v] for k, v in sorted(tally.items())], f)
        threading.Thread(target=srv.shutdown).start()
    signal.signal(signal.SIGTERM, stop)
    srv.serve_forever()


NGINX_CONF = """daemon off;
master_process on;
worker_processes 1;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    default_type application/json;
    keepalive_timeout 65;
    client_header_timeout 60s;
    client_body_temp_path tmp; proxy_temp_path tmp; fastcgi_temp_path tmp; uwsgi_temp_path tmp; scgi_temp_path tmp;
    server {
        listen 127.0.0.1:%(port)d backlog=4096;
        root www;
        location = /api/v1/order { try_files /small.json =404; }
        location = /api/v1/goods/list { try_files /large.json =404; }
        location = /api/v1/pay { return 200 '{"code":0,"message":"ok","data":{"payId":"PAY20231114000123456"}}'; }
        location = /api/v1/refund { return 400 '{"code":40001,"message":"invalid parameter: amount","data":null}'; }
        location = /api/v1/order/cancel { return 500 '{"code":50001,"message":"internal error","data":null}'; }
        location = /healthcheck { return 200 '{"code":0}'; }
    }
}
"""


def start_nginx(work):
    root = os.path.join(work, "nginx")
    os.makedirs(os.path.join(root, "www"))
    os.makedirs(os.path.join(root, "tmp"))
    with open(os.path.join(root, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF % dict(port=PORTS["nginx"]))
    with open(os.path.join(root, "www", "small.json"), "w") as f:
        json.dump({"code": 0, "message": "ok", "data": {"orderId": "ORD000000012345", "amount": 12800}}, f)
    with open(os.path.join(root, "www", "large.json"), "w") as f:
        json.dump({"code": 0, "message": "ok", "data": [{"sku": "SKU%06d" % i, "qty": i % 7} for i in range(700)]}, f)
    return subprocess.Popen(["nginx", "-p", root + "/", "-e", "error.log", "-c", "nginx.conf"])


def start_rabbitmq(work):
    """The broker as make-fixtures.sh starts it (its own node name, ports and files)."""
    env = dict(os.environ, HOME=work, RABBITMQ_NODENAME="soak@localhost", RABBITMQ_MNESIA_BASE=work + "/mnesia",
               RABBITMQ_LOG_BASE=work + "/log", RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
               RABBITMQ_NODE_PORT=str(PORTS["amqp"]), RABBITMQ_DIST_PORT="25684",
               RABBITMQ_CONFIG_FILE=work + "/rabbitmq", RABBITMQ_ENABLED_PLUGINS_FILE=work + "/enabled_plugins",
               RABBITMQ_PID_FILE=work + "/rabbit.pid")
    open(work + "/enabled_plugins", "w").write("[].")
    open(work + "/rabbitmq.conf", "w").write("")
    proc = subprocess.Popen(["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=env,
                            stdout=open(work + "/rabbitmq.out", "w"), stderr=subprocess.STDOUT)
    ctl = ["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", "soak@localhost"]
    for _ in range(120):
        if proc.poll() is not None:
            raise SystemExit("rabbitmq exited; see %s/rabbitmq.out" % work)
        if subprocess.run(ctl + ["await_startup", "--timeout", "5"], env=env, capture_output=True).returncode == 0:
            return proc, env, ctl
        time.sleep(1)
    raise SystemExit("rabbitmq did not start")


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("nothing listens on %d" % port)


# -- clients -----------------------------------------------------------------------------------
def fcode(ua):
    return "None" if ua is None else (ua[:20] + "..." if len(ua) > 20 else ua)


def body_code(body):
    """The `code` label the reference gives a response body (top-level key only: our servers')."""
    try:
        doc = json.loads(body)
    except ValueError:
        return "-1"
    if not isinstance(doc, dict) or doc.get("code") is None:
        return ""
    return str(doc["code"])


class Worker:
    """A client process: paces itself by the phase of the cycle, counts what completed."""

    def __init__(self, name, ctl, t0, cycle, out):
        self.name, self.ctl, self.t0, self.cycle, self.out = name, ctl, t0, cycle, out
        self.tally = collections.Counter()
        self.rng = random.Random(name)

    def phase(self):
        """0 keep-alive heavy, 1 connection churn, 2 errors and bursts."""
        return int(((time.time() - self.t0) % self.cycle) / (self.cycle / 3))

    def pace(self, rates):
        """Sleeps 1/rate (rate by phase, with +-30 % jitter); False once stopped or paused."""
        rate = rates[self.phase()]
        time.sleep(self.rng.uniform(0.7, 1.3) / rate)
        return self.ctl.value == RUN

    def save(self):
        with open(os.path.join(self.out, "tallies", self.name + ".json"), "w") as f:
            json.dump([[list(k), v] for k, v in sorted(self.tally.items())], f)

    def inbound(self, conn, method, port_kind, path, query="", ua=None, mcode="", body=None, header_mcode=True, close=False):
        headers = {"Connection": "close"} if close else {}
        if ua is not None:
            headers["User-Agent"] = ua
        if mcode and header_mcode:
            headers["Method-Code"] = mcode
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path + ("?" + query if query else ""), body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.tally[("in", port_kind, path, str(resp.status), body_code(data), fcode(ua), mcode)] += 1
        return resp


def pick_nginx(rng, phase):
    errors = 0.3 if phase == 2 else 0.05
    r = rng.random()
    if r < errors / 2:
        return "/api/v1/refund"
    if r < errors:
        return "/api/v1/order/cancel"
    return rng.choice(["/api/v1/order", "/api/v1/order", "/api/v1/pay", "/api/v1/goods/list", "/healthcheck", "/api/v1/nothing"])


def pick_json(rng, phase):
    statuses = [200, 200, 200, 201, 204, 400, 401, 403, 409, 429, 500, 502, 503] if phase == 2 else [200, 200, 200, 200, 400, 500]
    status = rng.choice(statuses)
    return "/svc/status/%d" % status, "code=%d" % (0 if status < 400 else status * 100 + rng.randrange(3))


def keepalive_worker(w, conns=6):
    """Keep-alive connections to nginx and the JSON servers, round robin."""
    pool = [None] * conns
    while w.ctl.value != STOP:
        if w.ctl.value == PAUSE:
            for c in pool:
                c and c.close()
            pool = [None] * conns
            time.sleep(0.5)
            continue
        i = w.rng.randrange(conns)
        kind = ["nginx", "nginx", "json", "fixture", "nginx", "json"][i % 6]
        if pool[i] is None:
            pool[i] = http.client.HTTPConnection("127.0.0.1", PORTS[kind], timeout=10)
        ua, mc = w.rng.choice(USER_AGENTS), w.rng.choice(METHOD_CODES)
        try:
            if kind == "nginx":
                w.inbound(pool[i], "GET", kind, pick_nginx(w.rng, w.phase()), ua=ua, mcode=mc)
            elif kind == "json":
                if w.rng.random() < 0.3:
                    want = w.rng.choice([0, 0, 1001, None])
                    w.inbound(pool[i], "POST", kind, "/svc/submit", ua=ua, mcode=mc, header_mcode=False,
                              body=json.dumps({"method_code": mc or None, "want_code": want}))
                else:
                    path, query = pick_json(w.rng, w.phase())
                    w.inbound(pool[i], "GET", kind, path, query, ua=ua, mcode=mc)
            else:
                path = w.rng.choice(["/api/order", "/api/error", "/api/echo"])
                if path == "/api/echo":
                    w.inbound(pool[i], "POST", kind, path, ua=ua, mcode=mc, header_mcode=False,
                              body=json.dumps({"method_code": mc, "items": list(range(w.rng.randrange(50)))}))
                else:
                    w.inbound(pool[i], "GET", kind, path, query="method_code=%s" % mc if mc else "", ua=ua, mcode=mc,
                              header_mcode=False)
        except (OSError, http.client.HTTPException) as e:
            w.tally[("err", "keepalive", type(e).__name__)] += 1
            pool[i].close()
            pool[i] = None
        if not w.pace([300, 40, 120]):
            continue
    w.save()


def oneshot_worker(w):
    """One request per connection (Connection: close): the flows open, close and are many."""
    while w.ctl.value != STOP:
        if w.ctl.value == PAUSE:
            time.sleep(0.5)
            continue
        kind = w.rng.choice(["nginx", "nginx", "json", "fixture"])
        conn = http.client.HTTPConnection("127.0.0.1", PORTS[kind], timeout=10)
        ua, mc = w.rng.choice(USER_AGENTS), w.rng.choice(METHOD_CODES)
        try:
            if kind == "nginx":
                # half ask the server to close (its FIN first), half close themselves
                w.inbound(conn, "GET", kind, pick_nginx(w.rng, w.phase()), ua=ua, mcode=mc, close=w.rng.random() < 0.5)
            elif kind == "json":
                path, query = pick_json(w.rng, w.phase())
                w.inbound(conn, "GET", kind, path, query, ua=ua, mcode=mc)
            else:
                path = w.rng.choice(["/api/order", "/api/close", "/api/nocontent", "/api/chunked", "/api/missing"])
                w.inbound(conn, "GET", kind, path, ua=ua, mcode=mc)
        except (OSError, http.client.HTTPException) as e:
            w.tally[("err", "oneshot", type(e).__name__)] += 1
        conn.close()
        w.pace([10, 60, 30])
    w.save()


def stalled_worker(w, hold_max=150.0):
    """Connections that send part of a request and go quiet: some close after a while, one in
    five stays open until the end (the exporter's idle timeout must end those)."""
    held = []  # (deadline or None, socket)
    while w.ctl.value != STOP:
        now = time.time()
        for d, s in [h for h in held if h[0] is not None and h[0] < now]:
            s.close()
            w.tally[("stalled", "closed")] += 1
        held = [h for h in held if h[0] is None or h[0] >= now]
        if w.ctl.value == RUN:
            kind = w.rng.choice(["json", "fixture", "nginx", "outgoing"])
            try:
                s = socket.create_connection(("127.0.0.1", PORTS[kind]), timeout=5)
                part = w.rng.choice([b"GET /svc/status/200 HTTP/1.1\r\nHost: x\r\n",
                                     b"POST /svc/submit HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"want",
                                     b"GET /api/v1/ord"])
                s.sendall(part)
                kept = w.rng.random() < 0.2 and sum(1 for h in held if h[0] is None) < 60
                held.append((None if kept else now + w.rng.uniform(5, hold_max), s))
                w.tally[("stalled", "opened", "kept" if kept else "timed")] += 1
            except OSError as e:
                w.tally[("err", "stalled", type(e).__name__)] += 1
        time.sleep(2)
    for _, s in held:
        s.close()
    w.save()


def sleepy_worker(w, idle_timeout, conns=4):
    """Keep-alive connections that wait longer than the idle timeout between requests: the
    exporter expires the flow, then meets it again mid-stream."""
    pool = [http.client.HTTPConnection("127.0.0.1", PORTS["json"], timeout=10) for _ in range(conns)]
    due = [time.time() + w.rng.uniform(0, idle_timeout) for _ in range(conns)]
    while w.ctl.value != STOP:
        for i in range(conns):
            if w.ctl.value == RUN and time.time() >= due[i]:
                try:
                    w.inbound(pool[i], "GET", "json", "/svc/status/200", "code=0", ua="sleepy", mcode="SLEEPY")
                except (OSError, http.client.HTTPException) as e:
                    w.tally[("err", "sleepy", type(e).__name__)] += 1
                    pool[i].close()
                due[i] = time.time() + w.rng.uniform(1.2, 1.7) * idle_timeout
        time.sleep(0.5)
    for c in pool:
        c.close()
    w.save()


def read_response(f):
    """(status, headers, body) of one Content-Length framed response read from `f`."""
    status = int(f.readline().split()[1])
    headers = {}
    for line in iter(f.readline, b"\r\n"):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, f.read(int(headers.get("content-length", "0")))


def connection_loop(w, connect, step, rates, reconnect=0.0):
    """The loop of a client that holds one connection: `connect()` opens it (when there is none,
    and with probability `reconnect` before a step), `step(conn)` does one round on it and returns
    False when the connection is done; an error is counted and drops the connection. Closed while
    paused and at the end."""
    conn = None
    while w.ctl.value != STOP:
        if w.ctl.value == PAUSE:
            conn and conn.close()
            conn = None
            time.sleep(0.5)
            continue
        if conn is None or w.rng.random() < reconnect:
            conn and conn.close()
            conn = connect()
        try:
            if not step(conn):
                conn.close()
                conn = None
        except (OSError, ValueError, IndexError, http.client.HTTPException) as e:
            w.tally[("err", w.name, type(e).__name__)] += 1
            conn.close()
            conn = None
        w.pace(rates)
    conn and conn.close()
    w.save()


class Pipelined:
    """A socket to nginx with a reader over it."""

    def __init__(self):
        self.sock = socket.create_connection(("127.0.0.1", PORTS["nginx"]), timeout=10)
        self.f = self.sock.makefile("rb")

    def close(self):
        self.f.close()
        self.sock.close()


def pipeline_worker(w):
    """Pipelined requests to nginx (2-6 sent at once, then the answers read in order). nginx
    closes after its 1000th request: the requests behind that answer are never answered."""
    def step(conn):
        ua, mc = w.rng.choice(USER_AGENTS[1:]), w.rng.choice(METHOD_CODES)
        paths = [pick_nginx(w.rng, w.phase()) for _ in range(w.rng.randint(2, 6))]
        head = "Host: api\r\nUser-Agent: %s\r\n%s\r\n" % (ua, "Method-Code: %s\r\n" % mc if mc else "")
        conn.sock.sendall(b"".join(("GET %s HTTP/1.1\r\n%s" % (p, head)).encode() for p in paths))
        for path in paths:
            status, headers, body = read_response(conn.f)
            w.tally[("in", "nginx", path, str(status), body_code(body), fcode(ua), mc)] += 1
            if headers.get("connection") == "close":
                return False
        return True
    connection_loop(w, Pipelined, step, [20, 5, 10])


def bulk_worker(w):
    """Large bodies over IPv6 (the fixture server on ::1): responses up to 400 KB, uploads up
    to 200 KB (half of them announced with Expect: 100-continue)."""
    def step(conn):
        ua, mc = w.rng.choice(USER_AGENTS), w.rng.choice(METHOD_CODES)
        if w.rng.random() < 0.5:
            w.inbound(conn, "GET", "fixture", "/api/large", "bytes=%d" % w.rng.randrange(10000, 400000), ua=ua)
            return True
        body = json.dumps({"method_code": mc, "blob": "x" * w.rng.randrange(1000, 200000)})
        conn.putrequest("POST", "/api/echo")
        for k, v in [("User-Agent", ua), ("Content-Type", "application/json"), ("Content-Length", str(len(body)))] + \
                ([("Expect", "100-continue")] if w.rng.random() < 0.5 else []):
            v is not None and conn.putheader(k, v)
        conn.endheaders(body.encode())
        resp = conn.getresponse()
        # The exporter keeps a body prefix of limits.body_prefix_bytes (64 KiB) and does not parse
        # a cut one: past it the method_code in the body is not read (a documented bound).
        seen = mc if len(body) <= BODY_PREFIX_BYTES else ""
        w.tally[("in", "fixture", "/api/echo", str(resp.status), body_code(resp.read()), fcode(ua), seen)] += 1
        return True
    connection_loop(w, lambda: http.client.HTTPConnection("::1", PORTS["fixture"], timeout=20), step, [5, 5, 10])


def abort_worker(w):
    """Requests whose client closes before the (slow) answer: the server still writes it."""
    while w.ctl.value != STOP:
        if w.ctl.value == RUN:
            try:
                s = socket.create_connection(("127.0.0.1", PORTS["json"]), timeout=5)
                s.sendall(b"GET /svc/status/200?code=0&delay_ms=200 HTTP/1.1\r\nHost: x\r\nUser-Agent: aborter\r\n\r\n")
                time.sleep(0.05)
                s.close()
                w.tally[("aborted", "/svc/status/200")] += 1
            except OSError as e:
                w.tally[("err", "abort", type(e).__name__)] += 1
        time.sleep(w.rng.uniform(0.5, 1.5))
    w.save()


def outgoing_worker(w):
    """Outgoing calls (to a port that is not inbound), keep-alive and one-shot."""
    def step(conn):
        path, query = pick_json(w.rng, w.phase())
        headers = {}
        tcode = w.rng.choice([None, "", "b123456789", "X1"])
        if tcode is not None:
            headers["T-Code"] = tcode
        mc = w.rng.choice(METHOD_CODES)
        if mc:
            headers["Method-Code"] = mc
        conn.request("GET", path + "?" + query, headers=headers)
        resp = conn.getresponse()
        code = body_code(resp.read())  # read whatever the status: the connection goes on
        ok = resp.status < 400 and code == "0"
        w.tally[("out", (tcode or "").upper(), mc, "success" if ok else "error")] += 1
        return True
    connection_loop(w, lambda: http.client.HTTPConnection("127.0.0.1", PORTS["outgoing"], timeout=10), step, [20, 20, 40],
                    reconnect=0.2)


QUEUES = ["soak.orders", "soak.events"]


def amqp_sessions(w):
    """A fresh connection and channel (queues declared) for each stretch of traffic; none while
    paused (the old connection closed, so its flow ends); ends when the run stops."""
    import pika
    while w.ctl.value != STOP:
        if w.ctl.value == PAUSE:
            time.sleep(0.5)
            continue
        conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", PORTS["amqp"]))
        ch = conn.channel()
        for q in QUEUES:
            ch.queue_declare(q)
        yield conn, ch
        conn.close()


def amqp_publisher(w, published):
    for conn, ch in amqp_sessions(w):
        while w.ctl.value == RUN:
            q = w.rng.choice(QUEUES)
            outcome = w.rng.choice(["ack"] * 8 + ["nack", "reject"])
            ch.basic_publish("", q, outcome.encode())
            with published.get_lock():
                published.value += 1
            w.tally[("published", q, outcome)] += 1
            conn.process_data_events(0)
            w.pace([20, 50, 100])
    w.save()


def amqp_consumer(w, published):
    """One worker, prefetch 10; answers each message as its body says. While paused or at the end
    it drains what was published, then closes its connection."""
    answered = [0]
    for conn, ch in amqp_sessions(w):
        ch.basic_qos(prefetch_count=10)

        def on_message(ch, method, _props, body, q=None):
            time.sleep(w.rng.uniform(0.001, 0.01))
            if body == b"ack":
                ch.basic_ack(method.delivery_tag)
            elif body == b"nack":
                ch.basic_nack(method.delivery_tag, requeue=False)
            else:
                ch.basic_reject(method.delivery_tag, requeue=False)
            w.tally[("consumed", method.routing_key, "0" if body == b"ack" else "1")] += 1
            answered[0] += 1
        for q in QUEUES:
            ch.basic_consume(q, on_message)
        drain_until = None
        while True:
            conn.process_data_events(0.2)
            if w.ctl.value != RUN:
                drain_until = drain_until or time.time() + 30
                if answered[0] >= published.value or time.time() > drain_until:
                    break
    w.save()


# -- scraping and checks -----------------------------------------------------------------------
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)')


def parse_exposition(text):
    """{(name, labels-text): value} and {family: type}."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, fam, typ = line.split(" ", 3)
            types[fam] = typ
        elif line and not line.startswith("#"):
            m = SAMPLE.match(line)
            if m:
                samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return samples, types


def labels(text):
    return dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', text))


def family_of(name, types):
    for suffix in ("_bucket", "_count", "_sum", "_total", "_created"):
        if name.endswith(suffix) and name[: -len(suffix)] in types:
            return name[: -len(suffix)]
    return name


def proc_stats(pid):
    status = open("/proc/%d/status" % pid).read()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss, hwm, cpu


def one(samples, name, **want):
    total = 0.0
    for (n, lt), v in samples.items():
        if n == name and all(labels(lt).get(k) == x for k, x in want.items()):
            total += v
    return total


class Monitor:
    COLUMNS = ["t_s", "mode", "rss_kib", "hwm_kib", "cpu_s", "cpu_pct", "packets", "kernel_drops", "flows_active",
               "flows_opened", "ended_fin", "ended_reset", "ended_expired", "kept_bytes", "buffered_bytes",
               "amqp_outstanding", "exchanges", "req_without_resp", "http_anomalies", "series", "capture_up",
               "interruptions", "clock_steps", "back_in_time", "decapsulated", "promtool", "decreased"]

    def __init__(self, out, pid, t0):
        self.out, self.pid, self.t0 = out, pid, t0
        self.prev, self.prev_cpu, self.n = None, (time.time(), 0.0), 0
        self.problems = []
        os.makedirs(os.path.join(out, "scrapes"))
        self.tsv = open(os.path.join(out, "timeline.tsv"), "w")
        self.tsv.write("\t".join(self.COLUMNS) + "\n")

    def scrape(self, mode):
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % PORTS["metrics"], timeout=30).read().decode()
        self.n += 1
        path = os.path.join(self.out, "scrapes", "%04d.prom" % self.n)
        open(path, "w").write(text)
        check = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True)
        if check.returncode != 0:
            self.problems.append("scrape %d: promtool exit %d: %s" % (self.n, check.returncode, (check.stdout + check.stderr).decode()[:2000]))
        samples, types = parse_exposition(text)
        decreased = 0
        if self.prev:
            for key, old in self.prev[0].items():
                fam = family_of(key[0], types)
                if types.get(fam) in ("counter", "histogram") and not key[0].endswith("_created"):
                    new = samples.get(key)
                    if new is None or new < old:
                        decreased += 1
                        if decreased <= 5:
                            self.problems.append("scrape %d: %s%s went from %s to %s" % (self.n, key[0], key[1], old, new))
        self.prev = (samples, types)
        rss, hwm, cpu = proc_stats(self.pid)
        now = time.time()
        pct = 100 * (cpu - self.prev_cpu[1]) / max(now - self.prev_cpu[0], 1e-9)
        self.prev_cpu = (now, cpu)
        row = [round(now - self.t0), mode, rss, hwm, "%.1f" % cpu, "%.1f" % pct,
               one(samples, "channel_exporter_packets_total"),
               one(samples, "channel_exporter_capture_dropped_packets_total", where="kernel"),
               one(samples, "channel_exporter_flows_active"), one(samples, "channel_exporter_flows_opened_total"),
               one(samples, "channel_exporter_flows_ended_total", reason="fin"),
               one(samples, "channel_exporter_flows_ended_total", reason="reset"),
               one(samples, "channel_exporter_flows_ended_total", reason="expired"),
               one(samples, "channel_exporter_http_kept_bytes"), one(samples, "channel_exporter_tcp_buffered_bytes"),
               one(samples, "channel_exporter_amqp_outstanding_deliveries"),
               one(samples, "channel_exporter_http_exchanges_total", kind="complete"),
               one(samples, "channel_exporter_http_exchanges_total", kind="request_without_response"),
               one(samples, "channel_exporter_http_anomalies_total"), one(samples, "channel_exporter_series"),
               one(samples, "channel_exporter_capture_up"), one(samples, "channel_exporter_capture_interruptions_total"),
               one(samples, "channel_exporter_clock_steps_total"), one(samples, "channel_exporter_packets_back_in_time_total"),
               one(samples, "channel_exporter_decapsulated_packets_total"),
               check.returncode, decreased]
        self.tsv.write("\t".join(str(int(x)) if isinstance(x, float) else str(x) for x in row) + "\n")
        self.tsv.flush()
        return samples


def compare(samples, tallies, server_tallies):
    """The exporter's counts against the clients' (and the JSON servers') tallies."""
    lines = []
    inner = collections.Counter()
    for (n, lt), v in samples.items():
        if n == SYSCODE + "_inner_metrics_count":
            l = labels(lt)
            inner[(l["path"], l["http_status"], l["code"], l["f_code"], l["method_code"])] += int(v)
    want = collections.Counter()
    for k, v in tallies.items():
        if k[0] == "in" and k[2] not in ("/healthcheck",) and k[3] != "404":
            want[k[2:]] += v
    # The aborted requests are answered after their client closed: the head goes out, the client's
    # RST answers it and usually cuts the body off (then code -1; a cut inbound response is counted).
    aborted = sum(v for k, v in tallies.items() if k[0] == "aborted")
    cut = collections.Counter({k[2]: inner.pop(k) for k in list(inner) if k[3] == "aborter"})
    lines.append("aborted requests: clients %d, exporter %d (by code: %s)" % (aborted, sum(cut.values()), dict(cut)))
    if aborted != sum(cut.values()):
        lines.append("  MISMATCH aborted")
    lines.append("inbound, per (path, status, code, f_code, method_code): %d series expected, %d seen" % (len(want), len(inner)))
    by_path = collections.defaultdict(lambda: [0, 0])
    for k in sorted(set(want) | set(inner)):
        by_path[(k[0], k[1])][0] += want[k]
        by_path[(k[0], k[1])][1] += inner[k]
        if want[k] != inner[k]:
            lines.append("  MISMATCH %s: clients %d, exporter %d" % (k, want[k], inner[k]))
    lines.append("  %-28s %6s %9s %9s %7s" % ("path", "status", "clients", "exporter", "server"))
    for (p, s), (c, e) in sorted(by_path.items()):
        lines.append("  %-28s %6s %9d %9d %7s" % (p, s, c, e, server_tallies.get((p, int(s)), "")))
    lines.append("  total: clients %d, exporter %d" % (sum(want.values()), sum(inner.values())))
    ext = collections.Counter()
    for (n, lt), v in samples.items():
        if n == "external_calls_total":
            l = labels(lt)
            ext[(l["tcode"], l["method_code"], l["status"])] += int(v)
    got = collections.Counter({k[1:]: v for k, v in tallies.items() if k[0] == "out"})
    lines.append("outgoing, per (tcode, method_code, status): clients %d, exporter %d" % (sum(got.values()), sum(ext.values())))
    for k in sorted(set(got) | set(ext)):
        if got[k] != ext[k]:
            lines.append("  MISMATCH %s: clients %d, exporter %d" % (k, got[k], ext[k]))
    cons = collections.Counter()
    for (n, lt), v in samples.items():
        if n == SYSCODE + "_consumer_metrics_count":
            l = labels(lt)
            cons[(l["topic"], l["code"])] += int(v)
    done = collections.Counter({k[1:]: v for k, v in tallies.items() if k[0] == "consumed"})
    lines.append("consumer, per (queue, code): clients %d, exporter %d" % (sum(done.values()), sum(cons.values())))
    for k in sorted(set(done) | set(cons)):
        lines.append("  %s: consumer %d, exporter %d%s" % (k, done[k], cons[k], "" if done[k] == cons[k] else "  MISMATCH"))
    lines.append("client errors: %s" % {k[1:]: v for k, v in tallies.items() if k[0] == "err"})
    lines.append("stalled connections: %s" % {k[1:]: v for k, v in tallies.items() if k[0] == "stalled"})
    return lines


def read_tallies(directory):
    total = collections.Counter()
    for name in os.listdir(directory):
        for k, v in json.load(open(os.path.join(directory, name))):
            total[tuple(k)] += v
    return total


def run(args):
    out = os.path.abspath(args.out)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "tallies"))
    work = os.path.join(out, "work")
    os.makedirs(work)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    procs = []  # (name, Popen), stopped by PID in reverse order
    # `epmd -kill` stops the epmd of this network namespace (it talks to 127.0.0.1:4369): look
    # there, not with pgrep, which sees every namespace's (another run's epmd kept ours running).
    with socket.socket() as probe:
        epmd_running = probe.connect_ex(("127.0.0.1", 4369)) == 0
    rabbit = None

    def stop_all():
        for name, p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if rabbit:
            subprocess.run(rabbit[2] + ["stop"], env=rabbit[1], capture_output=True)
            if rabbit[0].poll() is None:
                rabbit[0].terminate()
            rabbit[0].wait()
            if not epmd_running:
                subprocess.run(["epmd", "-kill"], capture_output=True)

    try:
        procs.append(("nginx", start_nginx(work)))
        null = open(os.devnull, "w")
        procs.append(("fixture", subprocess.Popen([sys.executable, os.path.join(REPO, "captures/scripts/fixture_servers.py"),
                                                   "http", str(PORTS["fixture"])], stdout=null, stderr=null)))
        for kind in ("json", "outgoing"):
            env = dict(os.environ, SOAK_SERVER_TALLY=os.path.join(out, "server-%s.json" % kind))
            procs.append((kind, subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", str(PORTS[kind])], env=env)))
        if not args.no_amqp:
            rabbit = start_rabbitmq(work)
        for kind in ("nginx", "fixture", "json", "outgoing"):
            wait_port(PORTS[kind])
        config = os.path.join(out, "exporter.yaml")
        with open(config, "w") as f:
            f.write("syscode: %s\ninbound:\n  ports: [%d, %d, %d]\namqp:\n  ports: [%d]\nlimits:\n  idle_timeout_seconds: %d\n"
                    % (SYSCODE, PORTS["nginx"], PORTS["fixture"], PORTS["json"], PORTS["amqp"], args.idle_timeout))
        if args.pcap:
            procs.append(("tcpdump", subprocess.Popen(["tcpdump", "-i", "lo", "-s", "0", "-w", args.pcap, "-B", "65536", "tcp"],
                                                      stderr=open(os.path.join(out, "tcpdump.log"), "w"))))
            time.sleep(1)
        exporter = subprocess.Popen([os.path.abspath(args.exporter), "run", "--config.file", config, "--interface", "lo",
                                     "--web.listen-address", "127.0.0.1:%d" % PORTS["metrics"]]
                                    + (["--exchanges", args.exchanges] if args.exchanges else []),
                                    stdout=open(os.path.join(out, "exporter.log"), "w"), stderr=subprocess.STDOUT)
        procs.append(("exporter", exporter))
        wait_port(PORTS["metrics"])
        time.sleep(2)

        ctl, published = mp.Value("i", RUN), mp.Value("q", 0)
        t0 = time.time()
        specs = [("keepalive", keepalive_worker, ()), ("keepalive2", keepalive_worker, ()), ("oneshot", oneshot_worker, ()),
                 ("oneshot2", oneshot_worker, ()), ("stalled", stalled_worker, ()), ("sleepy", sleepy_worker, (args.idle_timeout,)),
                 ("abort", abort_worker, ()), ("outgoing", outgoing_worker, ()),
                 ("pipeline", pipeline_worker, ()), ("bulk", bulk_worker, ())]
        if not args.no_amqp:
            specs += [("publisher", amqp_publisher, (published,)), ("consumer", amqp_consumer, (published,))]
        workers = []
        for name, fn, extra in specs:
            p = mp.Process(target=fn, args=(Worker(name, ctl, t0, args.cycle, out),) + extra, name=name)
            p.start()
            workers.append(p)
        mon = Monitor(out, exporter.pid, t0)
        schedule = [(args.minutes * 60, RUN, "traffic"), (args.pause, PAUSE, "pause"), (args.tail, RUN, "tail")]
        next_scrape = time.time() + 30
        next_reload = time.time() + args.reload_every if args.reload_every > 0 else float("inf")
        reloads = 0
        for seconds, mode, label in schedule:
            ctl.value = mode
            end = time.time() + seconds
            while time.time() < end:
                time.sleep(max(0.0, min(end, next_scrape, next_reload) - time.time()))
                if time.time() >= next_reload:
                    # The same settings written again (a comment changes): the series and the
                    # connections in progress must both survive the reload.
                    reloads += 1
                    with open(config, "a") as f:
                        f.write("# reload %d\n" % reloads)
                    exporter.send_signal(signal.SIGHUP)
                    next_reload += args.reload_every
                if time.time() >= next_scrape:
                    mon.scrape(label)
                    next_scrape += 30
                if exporter.poll() is not None:
                    raise SystemExit("exporter exited with %s" % exporter.returncode)
        ctl.value = STOP
        for p in workers:
            p.join(120)
        time.sleep(3)  # the capture wakes every 250 ms; the last packets reach the counts
        samples = mon.scrape("end")
        for name in ("json", "outgoing"):
            p = dict(procs)[name]
            p.send_signal(signal.SIGTERM)
            p.wait(30)
        server = {}
        for k, v in json.load(open(os.path.join(out, "server-json.json"))):
            server[(k[0], k[1])] = v
        report = ["scrapes: %d, promtool failures and decreasing counters:" % mon.n] + (mon.problems or ["  none"])
        if reloads:
            done = int(one(samples, "channel_exporter_config_reloads_total", result="success"))
            report.append("reloads: %d sent, %d applied%s" % (reloads, done, "" if done == reloads else "  MISMATCH"))
        report += compare(samples, read_tallies(os.path.join(out, "tallies")), server)
        open(os.path.join(out, "report.txt"), "w").write("\n".join(report) + "\n")
        print("\n".join(report))
    finally:
        stop_all()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--exporter", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--minutes", type=float, default=24)
    r.add_argument("--cycle", type=float, default=360)
    r.add_argument("--pause", type=float, default=180)
    r.add_argument("--tail", type=float, default=60)
    r.add_argument("--idle-timeout", type=int, default=60)
    r.add_argument("--no-amqp", action="store_true")
    r.add_argument("--reload-every", type=float, default=0,
                   help="send the exporter SIGHUP every this many seconds (the same settings each time)")
    r.add_argument("--pcap", help="also capture everything with tcpdump into this file (to replay what happened)")
    r.add_argument("--exchanges", help="passed to the exporter: one JSON line per HTTP exchange")
    s = sub.add_parser("serve")
    s.add_argument("port", type=int)
    args = ap.parse_args()
    if args.cmd == "serve":
        serve(args.port)
    else:
        run(args)


if __name__ == "__main__":
    main()
