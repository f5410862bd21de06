#!/usr/bin/env python3
"""Checks the parity fixtures themselves (not our exporter).

Usage: check_fixtures.py [SCENARIO ...]   (run with the fixture venv's python)

For each scenario, against <scenario>.pcap and <scenario>.expected.prom:
1. label sets: the reference's exposition holds exactly the label sets and
   counts that scenarios.py / plans.py say it should (so the fixture covers
   what we meant it to cover, and our reading of the reference is right);
2. pairing: tshark pairs every HTTP request with a response, and the numbers
   of inbound requests and outgoing calls are the ones driven;
3. timing: a minimal wire model (DESIGN.md latency rules: inbound = first
   response byte - last request byte; outgoing = last response byte - first
   request byte, or - SYN when the call opened the connection) puts the same
   number of observations in each bucket as the reference, per family, and
   the closest distance to a bucket edge is printed.
Prints a markdown summary (label sets and counts per family) for the README.
Exit status 1 when any check fails.
"""
import importlib
import os
import re
import struct
import subprocess
import sys
from collections import Counter, defaultdict
from urllib.parse import unquote

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import compare                      # noqa: E402
import random_campaign              # noqa: E402
from plans import PLANS, REFUSED_PORT, STUB_PORTS  # noqa: E402
from scenarios import DIFFERENCE_SCENARIOS, SCENARIOS  # noqa: E402


def steps_of(scenario):
    """The driven steps of a scenario, hand-written or a random campaign's."""
    return random_campaign.steps(scenario) if random_campaign.is_random(scenario) else SCENARIOS[scenario]


def plan_of(name):
    return random_campaign.plan(name) if random_campaign.is_random(name) else PLANS[name]

OUT = os.environ.get("PARITY_OUT", HERE)      # where make-fixtures.sh wrote the fixtures
SYSCODE = "A123010101"
INNER = SYSCODE + "_inner_metrics"
APP_PORT = 8080
EDGES_MS = (100, 200, 500, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000)
SKIPPED_PATHS = ("/healthcheck", "/metrics")


def reference_partner_hosts():
    """The partner table as the installed reference has it (keys = URL authority)."""
    module = importlib.import_module("channel_exporter.i channel_exporter")
    return set(module.partner_interface_config)


# ---------------------------------------------------------------- 1. label sets

def intended(scenario):
    """{family: Counter(labelset)} that the scenario is meant to produce."""
    fams = defaultdict(Counter)
    base = (("appid", SYSCODE[:4]), ("application", SYSCODE))
    for s in SCENARIOS[scenario]:
        if s["inner"] is not None:
            f_code, path, status, code, method_code = s["inner"]
            fams[INNER][tuple(sorted(base + (("f_code", f_code), ("path", path), ("uri", path),
                                             ("http_status", status), ("code", code),
                                             ("method_code", method_code))))] += 1
        if s["target"].startswith("/call/"):
            for c in PLANS[s["target"][len("/call/"):]]:
                if c["partner"] is not None:
                    partner, action, status, code = c["partner"]
                    fams["partner_http_metrics"][tuple(sorted(base + (
                        ("partner", partner), ("action_code", action), ("http_status", status),
                        ("code", code))))] += 1
                if c["external"] is None:        # the call raised: recorded nowhere
                    continue
                tcode, method_code, status = c["external"]
                key = tuple(sorted(base + (("call_type", "http"), ("tcode", tcode),
                                           ("method_code", method_code), ("status", status))))
                fams["external_calls"][key] += 1
                fams["external_call_duration_seconds"][key] += 1
    return fams


def check_label_sets(scenario, expected):
    problems = []
    want = intended(scenario)
    for fam in (INNER, "partner_http_metrics", "external_calls", "external_call_duration_seconds"):
        if fam not in expected:
            problems.append("family %s missing from the reference's exposition" % fam)
            continue
        ftype = expected[fam]["type"]
        got = Counter({k: int(compare._total(ftype, v)) for k, v in expected[fam]["series"].items()})
        for key in set(got) | set(want[fam]):
            if got[key] != want[fam][key]:
                problems.append("%s %s: reference %d, intended %d"
                                % (fam, compare._show(key), got[key], want[fam][key]))
    return problems


# ---------------------------------------------------------------- 2. pairing

def check_pairing(scenario, pcap):
    ports = [APP_PORT] + STUB_PORTS + [REFUSED_PORT]
    argv = ["tshark", "-2", "-r", pcap, "-Y", "http"]
    for p in ports:
        argv += ["-d", "tcp.port==%d,http" % p]
    argv += ["-T", "fields", "-E", "separator=/t", "-e", "tcp.dstport", "-e", "http.request",
             "-e", "http.response", "-e", "http.response_in", "-e", "http.request_in", "-e", "http.response.code",
             "-e", "tcp.stream"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    requests_by_port, unpaired, after_interim = Counter(), 0, set()
    for line in out.splitlines():
        dport, is_req, is_resp, resp_in, req_in, code, stream = (line.split("\t") + [""] * 7)[:7]
        # tshark pairs a request with its interim answer (100 Continue), not with the final one
        if is_resp and code.startswith("1"):
            after_interim.add(stream)
            continue
        if is_resp and not req_in and stream in after_interim:
            after_interim.discard(stream)
            continue
        if is_resp:
            after_interim.discard(stream)
        if is_req:
            requests_by_port["inbound" if int(dport) == APP_PORT else "outgoing"] += 1
            unpaired += not resp_in
        if is_resp:
            unpaired += not req_in
    steps = steps_of(scenario)
    calls = sum(c["wire_requests"] for s in steps if s["target"].startswith("/call/")
                for c in plan_of(s["target"][6:]))
    problems = []
    if unpaired:
        problems.append("tshark: %d requests/responses without their pair" % unpaired)
    if requests_by_port["inbound"] != len(steps):
        problems.append("tshark: %d inbound requests, %d driven" % (requests_by_port["inbound"], len(steps)))
    if requests_by_port["outgoing"] != calls:
        problems.append("tshark: %d outgoing requests, %d planned" % (requests_by_port["outgoing"], calls))
    return problems, requests_by_port


# ---------------------------------------------------------------- 3. timing on the wire

def read_pcap(path):
    """Yields (time_s, src, sport, dst, dport, flags, seq, payload) for IPv4/TCP on Ethernet."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    scale = {0xA1B2C3D4: 1e-6, 0xA1B23C4D: 1e-9}[magic]
    linktype = struct.unpack("<I", data[20:24])[0]
    assert linktype == 1, "expects Ethernet (tcpdump -i lo)"
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack("<IIII", data[off:off + 16])
        pkt = data[off + 16: off + 16 + incl]
        off += 16 + incl
        if struct.unpack("!H", pkt[12:14])[0] != 0x0800:
            continue
        ip = pkt[14:]
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        if ip[9] != 6:
            continue
        tcp = ip[ihl:total]
        sport, dport, seq = struct.unpack("!HHI", tcp[:8])
        doff = (tcp[12] >> 4) * 4
        yield (sec + frac * scale, ip[12:16], sport, ip[16:20], dport, tcp[13], seq, tcp[doff:])


REQUEST_LINE = re.compile(rb"[A-Z]+ \S+ HTTP/1\.[01]\r\n")


def wire_exchanges(pcap):
    """Sequential (non-pipelined) request/response pairs per connection, with their times."""
    conns = {}
    exchanges = []
    for t, src, sport, dst, dport, flags, seq, payload in read_pcap(pcap):
        fwd, rev = (src, sport, dst, dport), (dst, dport, src, sport)
        if flags & 0x02 and not flags & 0x10:                 # SYN: the sender is the client
            conns[fwd] = {"syn": t, "client": fwd, "next": {}, "current": None, "count": 0}
            continue
        conn = conns.get(fwd) or conns.get(rev)
        if conn is None or not payload:
            continue
        expected_seq = conn["next"].get(fwd)
        if expected_seq is not None and seq != expected_seq:
            continue                                          # retransmission / out of order
        conn["next"][fwd] = (seq + len(payload)) & 0xFFFFFFFF
        cur = conn["current"]
        if fwd == conn["client"]:
            # A new exchange starts with a request line: the rest of a body the server answered
            # early (a 100 Continue, a 308 before the body) still belongs to the current one.
            if cur is None or (cur["resp_first"] is not None and REQUEST_LINE.match(payload)):
                cur = {"req_first": t, "req_last": t, "req": bytearray(payload), "resp_first": None,
                       "resp_last": None, "resp": bytearray(), "syn": conn["syn"] if conn["count"] == 0 else None,
                       "server_port": conn["client"][3]}
                conn["current"] = cur
                conn["count"] += 1
                exchanges.append(cur)
            else:
                cur["req_last"] = t
                cur["req"] += payload
        elif cur is not None:
            if not cur["resp"] and payload.startswith(b"HTTP/1.1 1"):    # an interim 1xx head: not the answer
                end = payload.find(b"\r\n\r\n")
                payload = payload[end + 4:] if end >= 0 else b""
                if not payload:
                    continue
            if cur["resp_first"] is None:
                cur["resp_first"] = t
            cur["resp_last"] = t
            if len(cur["resp"]) < 4096:
                cur["resp"] += payload
    return exchanges


def bucket_of(ms):
    for edge in EDGES_MS:
        if ms <= edge:
            return edge
    return float("inf")


def wire_buckets(pcap, partner_hosts):
    """{family: Counter(bucket edge ms)} from the wire, plus the smallest distance to an edge (ms)."""
    fams = defaultdict(Counter)
    margin = (float("inf"), "")
    for ex in wire_exchanges(pcap):
        if ex["resp_first"] is None:        # no answer on the wire (e.g. a timed-out call)
            continue
        head = bytes(ex["req"]).split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        target = head[0].split(" ")[1]
        host = next((h.split(":", 1)[1].strip() for h in head[1:] if h.lower().startswith("host:")), "")
        status = int(bytes(ex["resp"][9:12]))
        if ex["server_port"] == APP_PORT:
            # request.path: waitress drops a raw fragment, Werkzeug makes "/" + path.lstrip("/")
            path = "/" + unquote(target.split("#", 1)[0].split("?", 1)[0]).lstrip("/")
            if status == 404 or path in SKIPPED_PATHS or form_parts_fail(bytes(ex["req"]), head, target):
                continue
            ms = (ex["resp_first"] - ex["req_last"]) * 1000
            families = [INNER]
        else:
            start = ex["syn"] if ex["syn"] is not None else ex["req_first"]
            ms = (ex["resp_last"] - start) * 1000
            families = ["external_call_duration_seconds"]
            if host in partner_hosts:
                families.append("partner_http_metrics")
        margin = min([margin] + [(abs(ms - e), "%s:%d%s took %.1f ms" % (host, ex["server_port"], target, ms))
                                 for e in EDGES_MS])
        for fam in families:
            fams[fam][bucket_of(ms)] += 1
    return fams, margin


def reference_buckets(expected, fam):
    """Non-cumulative bucket counts (edge in ms) summed over a family's label sets."""
    total = Counter()
    scale = 1000.0 if fam == "external_call_duration_seconds" else 1.0
    for series in expected[fam]["series"].values():
        previous = 0
        for le in sorted(series["buckets"]):
            count = series["buckets"][le][0]
            edge = le * scale if le != float("inf") else le
            edge = round(edge) if edge != float("inf") else edge
            if count - previous:
                total[edge] += int(count - previous)
            previous = count
    return total


def form_parts_fail(request, head, target):
    """A multipart body of more than Flask's MAX_FORM_PARTS (1,000) parts, no query argument, no
    Method-Code header: the reference's hooks fail on it and record nothing (scenario `edges`)."""
    fields = {h.split(":", 1)[0].replace("-", "").replace("_", "").lower(): h.split(":", 1)[1].strip()
              for h in reversed(head[1:]) if ":" in h}
    query = target.split("#", 1)[0].split("?", 1)[1] if "?" in target.split("#", 1)[0] else ""
    content_type = fields.get("contenttype", "")
    if fields.get("methodcode") or any(query.split("&")) or not content_type.lower().startswith("multipart/form-data"):
        return False
    boundary = content_type.split("boundary=", 1)[-1].strip('"').encode("latin-1")
    body = request.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in request else b""
    if body.count(b"--" + boundary + b"\r\n") > 1000:
        return True
    # a field without a name (werkzeug's key None) before any method_code field
    for part in body.split(b"--" + boundary + b"\r\n")[1:]:
        disposition = next((line for line in part.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
                            if line.lower().startswith(b"content-disposition:")), None)
        if disposition is None:
            return False        # werkzeug empties the form: recorded with ""
        if b"filename" in disposition:
            continue
        if b"name=" not in disposition:
            return True
        name = disposition.split(b"name=", 1)[1].split(b";", 1)[0].strip(b'" ')
        if name.replace(b"-", b"").replace(b"_", b"").lower() == b"methodcode":
            return False
    return False


def check_timing(pcap, expected, partner_hosts):
    problems = []
    wire, margin = wire_buckets(pcap, partner_hosts)
    for fam in (INNER, "partner_http_metrics", "external_call_duration_seconds"):
        ref = reference_buckets(expected, fam)
        if ref != wire[fam]:
            problems.append("timing %s: wire buckets %s, reference %s"
                            % (fam, dict(sorted(wire[fam].items())), dict(sorted(ref.items()))))
    return problems, margin


# ---------------------------------------------------------------- summary

def summary(scenario, expected):
    lines = ["| family | label sets | observations |", "|---|---:|---:|"]
    for fam in (INNER, "partner_http_metrics", "external_calls", "external_call_duration_seconds"):
        ftype = expected[fam]["type"]
        series = expected[fam]["series"]
        lines.append("| `%s` | %d | %d |" % (expected[fam]["name"], len(series),
                                             sum(int(compare._total(ftype, v)) for v in series.values())))
    return "\n".join(lines)


def detail(scenario, expected):
    lines = ["| family | labels (appid/application omitted) | count |", "|---|---|---:|"]
    for fam in (INNER, "partner_http_metrics", "external_calls"):
        ftype = expected[fam]["type"]
        for key, series in sorted(expected[fam]["series"].items()):
            labels = compare._show(key, width=10_000).replace("|", "\\|")
            lines.append("| `%s` | `%s` | %d |" % (expected[fam]["name"], labels,
                                                    int(compare._total(ftype, series))))
    return "\n".join(lines)


def main(scenarios):
    partner_hosts = reference_partner_hosts()
    failed = False
    report = []
    for scenario in scenarios:
        pcap = os.path.join(OUT, scenario + ".pcap")
        with open(os.path.join(OUT, scenario + ".expected.prom"), encoding="utf-8", newline="") as f:
            expected = compare.parse(f.read())
        # a random campaign has no intended label sets: the reference's scrape is the truth
        problems = [] if random_campaign.is_random(scenario) else check_label_sets(scenario, expected)
        pair_problems, by_port = check_pairing(scenario, pcap)
        timing_problems, margin = check_timing(pcap, expected, partner_hosts)
        notes = []
        if scenario in DIFFERENCE_SCENARIOS:      # the wire is known to differ here
            notes = timing_problems
            timing_problems = []
        problems += pair_problems + timing_problems
        size = os.path.getsize(pcap)
        margin, closest = margin
        print("== %s: %d inbound + %d outgoing exchanges, pcap %d bytes, closest bucket edge %.1f ms: %s"
              % (scenario, by_port["inbound"], by_port["outgoing"], size, margin,
                 "OK" if not problems else "%d PROBLEMS" % len(problems)))
        if margin < 20:
            print("   warning: %s, %.1f ms from a bucket edge; a re-run may move it" % (closest, margin))
        for p in problems:
            print("   " + p)
        for n in notes:
            print("   (expected difference) " + n)
        failed |= bool(problems)
        if random_campaign.is_random(scenario):      # label sets nobody chose: not in the README
            continue
        report.append("### `%s`\n\n%d inbound requests, %d outgoing calls; pcap %d bytes; closest "
                      "wire duration to a bucket edge: %.1f ms.\n\n%s\n\n<details><summary>All label sets"
                      "</summary>\n\n%s\n\n</details>\n"
                      % (scenario, by_port["inbound"], by_port["outgoing"], size, margin,
                         summary(scenario, expected), detail(scenario, expected)))
    os.makedirs(os.path.join(HERE, ".work"), exist_ok=True)
    with open(os.path.join(HERE, ".work", "summary.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(report))
    if set(scenarios) >= set(SCENARIOS):
        update_readme("\n".join(report))
    return 1 if failed else 0


BEGIN, END = "<!-- BEGIN GENERATED SUMMARY (check_fixtures.py) -->", "<!-- END GENERATED SUMMARY -->"


def update_readme(text):
    """Replaces the generated summary between the markers of README.md, if they are there."""
    path = os.path.join(HERE, "README.md")
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        readme = f.read()
    if BEGIN not in readme or END not in readme:
        return
    head, rest = readme.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + BEGIN + "\n\n" + text + "\n" + END + tail)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or list(SCENARIOS) + random_campaign.FIXTURES))
