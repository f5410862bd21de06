# Records one parity scenario: stubs + app up, tcpdump on lo, drive traffic, stop capture, scrape.
#
# Usage (normally via make-fixtures.sh, inside a private network namespace):
#   record.py SCENARIO OUTDIR WORKDIR      (SCENARIO: scenarios.py's, or random-SEED-COUNT)
# Writes OUTDIR/SCENARIO.pcap and OUTDIR/SCENARIO.expected.prom. Every process it
# starts is stopped by its PID. The /metrics scrape that becomes the expected
# output is made after tcpdump has stopped, so it is not in the capture.
# PARITY_LIVE_METRICS=URL (live-check.sh): our exporter, capturing live on the same lo, is
# scraped into OUTDIR/SCENARIO.live.prom just before the reference, while the app, the
# stubs and their keep-alive connections are still up: what a Prometheus scrape would see.
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from plans import REFUSED_PORT, STUB_PORTS  # noqa: E402
import random_campaign                # noqa: E402
from scenarios import SCENARIOS       # noqa: E402

APP_PORT = 8080


def wait_for_port(port, deadline_s=20.0):
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("port %d did not open" % port)


def start(argv, log_path, env=None):
    log = open(log_path, "wb")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=HERE, env=env)


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_tcpdump(pcap_path, log_path):
    ports = [APP_PORT] + STUB_PORTS + [REFUSED_PORT]
    bpf = "tcp and (" + " or ".join("port %d" % p for p in ports) + ")"
    # -B: a 64 MiB kernel buffer; with the default one, bursts of 64 KiB bodies (random campaigns)
    # lost packets ("dropped by kernel"), and with them whole requests; main() checks the count.
    proc = start(["tcpdump", "-i", "lo", "-s", "0", "-n", "-U", "--immediate-mode", "-B", "65536", "-Z", "root",
                  "-w", pcap_path, bpf], log_path)
    start_t = time.monotonic()
    while time.monotonic() - start_t < 10:     # tcpdump says "listening on" once the capture is live
        with open(log_path, "rb") as f:
            if b"listening on" in f.read():
                time.sleep(0.3)
                return proc
        if proc.poll() is not None:
            raise SystemExit("tcpdump exited: " + open(log_path).read())
        time.sleep(0.05)
    raise SystemExit("tcpdump did not start")


def drive(steps):
    conn = None
    for s in steps:
        if conn is None or s["new_conn"]:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", APP_PORT, timeout=30)
        conn.putrequest(s["method"], s["target"], skip_accept_encoding=True)
        for name, value in s["headers"]:
            conn.putheader(name, value)
        chunked = any(n.lower() == "transfer-encoding" for n, _ in s["headers"])
        if not chunked and (s["body"] or s["method"] in ("POST", "PUT", "PATCH")):
            conn.putheader("Content-Length", str(len(s["body"])))
        conn.endheaders(s["body"] or None)
        response = conn.getresponse()
        response.read()
        print("%s %s -> %d" % (s["method"], s["target"], response.status), flush=True)
        time.sleep(0.02)    # keeps exchanges apart in the capture; irrelevant to the metrics
    if conn is not None:
        conn.close()


def main(scenario, outdir, workdir):
    os.makedirs(workdir, exist_ok=True)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=False)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONUNBUFFERED"] = "1"
    pcap = os.path.join(outdir, scenario + ".pcap")
    prom = os.path.join(outdir, scenario + ".expected.prom")
    stubs = start([sys.executable, "stubs.py"] + [str(p) for p in STUB_PORTS],
                  os.path.join(workdir, scenario + ".stubs.log"), env)
    app = start([sys.executable, "app.py"], os.path.join(workdir, scenario + ".app.log"), env)
    tcpdump = None
    try:
        for port in STUB_PORTS + [APP_PORT]:
            wait_for_port(port)
        tcpdump = start_tcpdump(pcap, os.path.join(workdir, scenario + ".tcpdump.log"))
        drive(random_campaign.steps(scenario) if random_campaign.is_random(scenario) else SCENARIOS[scenario])
        time.sleep(1.0)     # let the last FIN/ACKs reach the capture
        stop(tcpdump, signal.SIGINT)
        tcpdump = None
        with open(os.path.join(workdir, scenario + ".tcpdump.log")) as f:
            dropped = [line for line in f if "dropped by kernel" in line and not line.startswith("0 ")]
        if dropped:
            raise SystemExit("tcpdump lost packets (%s): record again" % dropped[0].strip())
        live_url = os.environ.get("PARITY_LIVE_METRICS")
        if live_url:
            with urllib.request.urlopen(live_url, timeout=10) as r:
                live = r.read()
            with open(os.path.join(outdir, scenario + ".live.prom"), "wb") as f:
                f.write(live)
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % APP_PORT, timeout=10) as r:
            exposition = r.read()
        with open(prom, "wb") as f:
            f.write(exposition)
    finally:
        if tcpdump is not None:
            stop(tcpdump, signal.SIGINT)
        stop(app)
        stop(stubs)
    print("wrote", pcap, prom)


if __name__ == "__main__":
    main(*sys.argv[1:4])
