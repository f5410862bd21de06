#!/usr/bin/env python3
"""A randomized live HTTP/1.1 campaign with exact ground truth (standard library and tcpdump).

    http_campaign.py --binary BIN [--seeds 1-50 | --seed N] [--work DIR] [--keep] [--json]
                     [--connections N] [--no-tshark] [--port P] [--only 3,7] [--fixture DIR/NAME]

For each seed: a raw-socket HTTP/1.1 server and client in this process on 127.0.0.1 (ports the
kernel picks), `tcpdump -i lo` on the server's port (started before, stopped by PID after a short
settle), a few dozen connections, each a random but legal conversation (RFC 9110/9112) that
exercises framing: every method, targets with queries and percent-encoding, Content-Length and
chunked bodies both ways (random chunk sizes, chunk extensions, trailers), empty bodies, 1xx
interim responses (100 with and without Expect, 103 Early Hints), 204 and 304, HEAD answered
with Content-Length or Transfer-Encoding and no body, close-delimited responses (HTTP/1.0 and
`Connection: close` without a length), keep-alive, pipelining, header names in other cases and
with other spacing, gzip bodies, JSON bodies with a "code"; every message written in random
pieces (TCP_NODELAY, short sleeps): single bytes of a head, heads cut at or inside a CRLF, a
body's end and the next head in one segment.

Both sides follow one plan made from the seed beforehand: each side knows the exact bytes it must
receive and checks them, so the plan is the ground truth (written as SEED.truth.json: the
connection's endpoints, method, target, path, status, body sizes, interim responses). The capture
is then replayed with BIN (`replay --exchanges`, with `--inbound-port PORT`, without, and with it
over two pipelines, `--threads 2`) and every exchange compared with the truth; tshark's requests and final statuses per connection are
compared too, and where tshark differs from the truth that is reported as tshark's, not ours.

Exit status 0 when every replay matched the truth exactly, 1 on any mismatch (each printed with
its seed, so `--seed N --keep` reproduces it and keeps the capture), 2 on a campaign failure.
`--json` prints one summary object (seeds, exchanges in the truth, exchanges compared, mismatches,
tshark's disagreements) as the last line. `--port`, `--only` and `--fixture` make a small fixture
of a seed's connections (captures/README.md). A seed whose capture lost packets (the kernel's
drops, a loaded machine) is run again, up to three times. Needs root (or CAP_NET_RAW) for tcpdump.
More on what it draws: captures/README.md, "A randomized live campaign".
"""
import argparse
import gzip
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from urllib.parse import unquote

CRLF = b"\r\n"

# --- The plan -----------------------------------------------------------------------------------

REASONS = {100: "Continue", 103: "Early Hints", 200: "OK", 201: "Created", 202: "Accepted",
           204: "No Content", 301: "Moved Permanently", 304: "Not Modified", 400: "Bad Request",
           404: "Not Found", 409: "Conflict", 500: "Internal Server Error", 503: "Service Unavailable"}
SEGMENTS = ["api", "v1", "v2", "order", "pay", "goods", "list", "user", "42", "a b", "caf\u00e9",
            "x+y", "100%", "\u6f22\u5b57", "~tilde", "semi;colon", "eq=sign", "a/b"]
QUERY_KEYS = ["id", "page", "q", "method_code", "sort", "empty", "flag", "name"]
QUERY_VALUES = ["1", "10087", "a b", "caf\u00e9", "x&y", "=", "", "ORD-1", "%", "\u00fc/\u00e9"]


def pct(text, safe):
    """Percent-encodes `text` as UTF-8, keeping unreserved characters and `safe`."""
    out = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        if ch.isalnum() and byte < 128 or ch in "-._~" or ch in safe:
            out.append(ch)
        else:
            out.append("%%%02X" % byte if byte % 3 else "%%%02x" % byte)  # hex digits in either case
    return "".join(out)


def header(rng, name, value):
    """One field line: the name in its usual case or another, OWS around the value varied."""
    form = rng.random()
    if form < 0.15:
        name = name.lower()
    elif form < 0.25:
        name = name.upper()
    before = rng.choice([" ", " ", " ", "", "  ", "\t"])
    after = rng.choice(["", "", "", " ", "\t "])
    return f"{name}:{before}{value}{after}".encode("latin-1") + CRLF


def make_target(rng, method):
    if method == "OPTIONS" and rng.random() < 0.3:
        return "*"
    path = "/" + "/".join(pct(rng.choice(SEGMENTS), safe="") for _ in range(rng.randint(0, 4)))
    if rng.random() < 0.1:
        path = "/" + path  # `//api`: a client joining a base URL ending in `/`
    if rng.random() < 0.5:
        parts = []
        for _ in range(rng.randint(1, 4)):
            key = rng.choice(QUERY_KEYS)
            if key == "flag":
                parts.append(key)
            else:
                parts.append(key + "=" + pct(rng.choice(QUERY_VALUES), safe=""))
        path += "?" + "&".join(parts)
    elif rng.random() < 0.05:
        path += "?"  # an empty query
    return path


def flask_path(target):
    """The observer's `path` (Werkzeug's request.path): the target's path part percent-decoded as
    UTF-8, its leading `/`s made one (an absolute-form target's path, "/" when it has none)."""
    raw = target.split("?", 1)[0]
    if raw.startswith("http://"):
        raw = raw[len("http://"):].partition("/")[2]  # absolute-form: the path after the authority
    return "/" + unquote(raw, errors="replace").lstrip("/")


def json_body(rng, size_hint):
    code = rng.choice([0, 0, 0, 1, 200, -1, 40001, "E100", "0"])
    fields = {"code": code, "msg": rng.choice(["ok", "fail", "caf\u00e9", "x" * 10])}
    text = json.dumps(fields)
    if size_hint > len(text):
        fields["pad"] = "p" * (size_hint - len(text) - 10)
        text = json.dumps(fields)
    return text.encode("utf-8")


def body_bytes(rng):
    """A body: empty, small, or large enough to span several segments."""
    r = rng.random()
    if r < 0.15:
        return b""
    if r < 0.75:
        size = rng.randint(1, 600)
    elif r < 0.95:
        size = rng.randint(600, 6000)
    else:
        size = rng.randint(20000, 90000)
    if rng.random() < 0.7:
        return json_body(rng, size)
    return bytes(rng.choice(b"abcdefghij\n") for _ in range(size))


def chunked(rng, body):
    """`body` in chunked transfer coding: random chunk sizes, size in either case with leading
    zeros, chunk extensions, a last-chunk of one or more zeros and sometimes trailers."""
    out = bytearray()
    i = 0
    while i < len(body):
        n = min(len(body) - i, rng.choice([1, 2, 7, 16, 100, 511, 1024, 4000, 70000]))
        size = "%x" % n if rng.random() < 0.6 else "%X" % n
        if rng.random() < 0.1:
            size = "0" * rng.randint(1, 3) + size
        out += size.encode() + extension(rng) + CRLF + body[i:i + n] + CRLF
        i += n
    out += b"0" * rng.choice([1, 1, 1, 3]) + extension(rng) + CRLF
    if rng.random() < 0.3:
        for _ in range(rng.randint(1, 2)):
            out += header(rng, rng.choice(["X-Checksum", "Server-Timing", "X-Trailer"]), "abc%d" % rng.randint(0, 99))
    out += CRLF
    return bytes(out)


def extension(rng):
    r = rng.random()
    if r < 0.8:
        return b""
    return rng.choice([b";foo", b";name=value", b';q="quoted;str"', b" ;ws=1", b";a=1;b", b"\t; a = b",
                       b';e="x\\"y"'])


def transfer_encoding(rng, codings):
    """Transfer-Encoding with `codings` (the last is chunked): one field, OWS around its commas
    varied, or one field line per coding (a list split over lines, RFC 9110 §5.3)."""
    if len(codings) > 1 and rng.random() < 0.3:
        return [header(rng, "Transfer-Encoding", c) for c in codings]
    return [header(rng, "Transfer-Encoding", rng.choice([", ", ",", " , "]).join(codings))]


def shuffled(rng, fields):
    """The field lines in a random order, the Transfer-Encoding lines kept in theirs: split over
    lines, the list is read in order and chunked must stay the final coding."""
    order = list(range(len(fields)))
    rng.shuffle(order)
    coding = [i for i in range(len(fields)) if fields[i].lower().startswith(b"transfer-encoding:")]
    slots = [k for k, i in enumerate(order) if i in coding]
    for k, i in zip(slots, coding):
        order[k] = i
    return [fields[i] for i in order]


def length_text(rng, n):
    """A Content-Length value: its digits, sometimes with leading zeros (1*DIGIT, RFC 9110 §8.6)."""
    return "0" * rng.choice([0] * 9 + [1, 2]) + str(n)


def extra_fields(rng):
    """Fields nobody reads: odd but legal names (any tchar), empty values, long values, many."""
    fields = []
    r = rng.random()
    count = rng.randint(0, 3) if r < 0.9 else rng.randint(20, 60)
    for i in range(count):
        name = rng.choice(["X-Request-Id", "Cookie", "X_Underscore", "x-a!b#c$d", "Accept", "X-Empty",
                           "Cache-Control", "X-Forwarded-For", "Accept-Language"])
        if name == "X-Empty":
            value = ""
        elif name == "Cookie" and rng.random() < 0.3:
            value = "s=" + "c" * rng.randint(1000, 7000)
        else:
            value = "v%d, w=\"q\"; z" % rng.randint(0, 10 ** 6)
        fields.append(header(rng, name, value))
    return fields


def make_request(rng, index, port, pipelined, last):
    method = rng.choices(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "PROPFIND", "PURGE"],
                         weights=[30, 20, 8, 8, 12, 5, 6, 2, 2])[0]
    target = make_target(rng, method)
    if target != "*" and rng.random() < 0.08:
        # absolute-form (RFC 9112 §3.2.2): a server must accept it; an empty path is "/".
        target = rng.choice(["http://api.example.com", "http://127.0.0.1:%d" % port]) + (
            "" if target == "/" and rng.random() < 0.5 else target)
    # HTTP/1.0 (keep-alive asked for when more follow; never chunked, never Expect, no 1xx back).
    http10 = not pipelined and rng.random() < 0.08
    version = "HTTP/1.0" if http10 else "HTTP/1.1"
    head = f"{method} {target} {version}".encode("utf-8") + CRLF
    host = rng.choice([f"127.0.0.1:{port}", "localhost", "api.example.com"])
    fields = [header(rng, "Host", host)]
    if target.startswith("http://"):
        host = target[len("http://"):].split("/", 1)[0].split("?", 1)[0]  # RFC 9112 §3.2.2: not Host
    if rng.random() < 0.5:
        fields.append(header(rng, "User-Agent", rng.choice(["campaign/1.0", "curl/7.88.1"])))
    if rng.random() < 0.2:
        fields.append(header(rng, "Method-Code", "MC%d" % rng.randint(1, 9)))
    if rng.random() < 0.5:
        fields.append(header(rng, "Accept-Encoding", "gzip, deflate"))
    fields += extra_fields(rng)
    upgrade = rng.random() < 0.05
    if upgrade:
        # An upgrade the server declines (RFC 9110 §7.8: it answers as if not asked, no 101).
        protocol = rng.choice(["websocket", "h2c"])
        fields.append(header(rng, "Upgrade", protocol))
        fields.append(header(rng, "Connection", "Upgrade" + (", HTTP2-Settings" if protocol == "h2c" else "")))
        if protocol == "h2c":
            fields.append(header(rng, "HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"))
        else:
            fields.append(header(rng, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="))
            fields.append(header(rng, "Sec-WebSocket-Version", "13"))
    conditional = method in ("GET", "HEAD") and rng.random() < 0.15
    if conditional:
        fields.append(header(rng, "If-None-Match", '"v%d"' % rng.randint(1, 9)))
    if method in ("POST", "PUT", "PATCH", "PROPFIND"):
        has_body = rng.random() < 0.9
    else:
        has_body = method in ("DELETE", "OPTIONS", "GET", "PURGE") and rng.random() < 0.1
    body = body_bytes(rng) if has_body else b""
    framing = "none"
    wire_body = b""
    if has_body:
        framing = "length" if http10 else rng.choice(["length", "length", "chunked"])
        if framing == "chunked":
            fields.append(header(rng, "Transfer-Encoding", rng.choice(["chunked", "chunked", "Chunked"])))
            wire_body = chunked(rng, body)
        else:
            fields.append(header(rng, "Content-Length", length_text(rng, len(body))))
            wire_body = body
        fields.append(header(rng, "Content-Type", "application/json"))
    elif method != "GET" and method != "HEAD" and rng.random() < 0.5:
        fields.append(header(rng, "Content-Length", length_text(rng, 0)))  # an empty body said so
    expect = not pipelined and not http10 and len(body) > 0 and rng.random() < 0.3
    if expect:
        fields.append(header(rng, "Expect", rng.choice(["100-continue", "100-Continue"])))
    if http10:
        keep_alive = not last or rng.random() < 0.5
        if keep_alive:
            fields.append(header(rng, "Connection", rng.choice(["keep-alive", "Keep-Alive"])))
        close = not keep_alive
    else:
        close = last and rng.random() < 0.3
        if close:
            fields.append(header(rng, "Connection", rng.choice(["close", "Close"])))
    fields = shuffled(rng, fields)
    head += b"".join(fields) + CRLF
    return {"index": index, "method": method, "target": target, "host": host, "conditional": conditional,
            "request_head": head, "request_body": wire_body, "request_body_bytes": len(body),
            "request_framing": framing, "expect": expect, "request_close": close, "http10": http10,
            "upgrade": upgrade}


def status_line(rng, version, code):
    reason = REASONS.get(code, "Whatever")
    if rng.random() < 0.05:
        reason = ""  # an empty reason phrase keeps its SP (RFC 9112 §4)
    return f"{version} {code} {reason}".encode() + CRLF


def make_response(rng, ex, last, pipelined):
    method = ex["method"]
    http10 = ex["http10"]
    interim = []
    if ex["expect"]:
        interim.append(100)
    if not http10:  # no 1xx to an HTTP/1.0 client (RFC 9110 §15.2)
        if not pipelined and rng.random() < 0.12:
            interim.append(100)  # unsolicited (RFC 9110 §15.2: a client must accept it)
        if rng.random() < 0.15:
            interim += [103] * rng.randint(1, 2)
        if rng.random() < 0.04:
            interim.append(rng.choice([102, 150, 199]))  # unknown 1xx: interim all the same
    if ex["conditional"] and rng.random() < 0.7:
        status = 304
    elif method == "HEAD":
        status = rng.choice([200, 200, 404])
    elif method in ("DELETE", "PUT") and rng.random() < 0.4:
        status = 204
    else:
        status = rng.choices([200, 201, 202, 204, 205, 299, 301, 400, 404, 409, 500, 503, 599],
                             weights=[50, 5, 3, 5, 1, 1, 3, 5, 8, 2, 5, 3, 1])[0]
    interim_bytes = []
    for code in interim:
        msg = status_line(rng, "HTTP/1.1", code)
        if code == 103:
            msg += header(rng, "Link", "</style.css>; rel=preload; as=style")
        interim_bytes.append(msg + CRLF)

    bodyless = method == "HEAD" or status in (204, 304)
    body = b"" if bodyless or status == 205 else body_bytes(rng)
    fields = extra_fields(rng)
    encoding = False
    if body and rng.random() < 0.3:
        body = gzip.compress(body, mtime=0)
        encoding = True
        fields.append(header(rng, "Content-Encoding", "gzip"))
    if body or status == 200:
        fields.append(header(rng, "Content-Type", rng.choice(["application/json", "text/plain; charset=utf-8"])))
    version = "HTTP/1.1" if not http10 or rng.random() < 0.5 else "HTTP/1.0"
    framing = "length"
    close = ex["request_close"]
    if method == "HEAD" or status == 304:
        # The fields a GET would have had (RFC 9112 §6.1, §6.3): a length, or chunked (never to an
        # HTTP/1.0 client), and no body either way.
        framing = rng.choice(["length", "none"] + ([] if http10 else ["chunked"]))
        if framing == "length":
            # The length the GET's body would have had, however large.
            size = rng.randint(0, 5000) if rng.random() < 0.8 else rng.randint(10 ** 6, 10 ** 11)
            fields.append(header(rng, "Content-Length", length_text(rng, size)))
        elif framing == "chunked":
            fields += transfer_encoding(rng, rng.choice([["chunked"], ["gzip", "chunked"]]))
        wire = b""
    elif status == 204:
        framing = "none"
        wire = b""
    else:
        choices = ["length", "length"] + ([] if http10 else ["chunked", "gzip-chunked"])
        if last and not pipelined:
            choices += ["close-1.0", "close-1.1"]
        framing = rng.choice(choices)
        if framing == "length":
            fields.append(header(rng, "Content-Length", length_text(rng, len(body))))
            wire = body
        elif framing == "chunked":
            fields.append(header(rng, "Transfer-Encoding", "chunked"))
            wire = chunked(rng, body)
        elif framing == "gzip-chunked":
            # A transfer coding before chunked: the body on the wire (after de-chunking) is the
            # gzip stream, and that is its size.
            body = gzip.compress(body, mtime=0)
            fields += transfer_encoding(rng, ["gzip", "chunked"])
            wire = chunked(rng, body)
        else:
            wire = body
            close = True
            if framing == "close-1.0":
                version = "HTTP/1.0"
            else:
                fields.append(header(rng, "Connection", "close"))
    if close and framing != "close-1.0" and framing != "close-1.1":
        fields.append(header(rng, "Connection", "close"))
    elif http10 and not close:
        fields.append(header(rng, "Connection", "keep-alive"))
    if rng.random() < 0.3:
        fields.append(header(rng, "Server", "campaign"))
    fields = shuffled(rng, fields)
    final = status_line(rng, version, status) + b"".join(fields) + CRLF + wire
    ex.update({"status": status, "interim": interim, "interim_bytes": interim_bytes, "response": final,
               "response_head_length": len(final) - len(wire),
               "response_body_bytes": len(body), "response_framing": framing, "gzip": encoding,
               "server_closes": close})


def make_plan(rng, port, connections):
    plan = []
    for c in range(connections):
        pipelined = rng.random() < 0.3
        count = rng.choice([1, 1, 2, 3, 4, 6, 10]) if not pipelined else rng.randint(2, 8)
        exchanges = []
        for i in range(count):
            last = i == count - 1
            ex = make_request(rng, i, port, pipelined, last)
            make_response(rng, ex, last, pipelined)
            exchanges.append(ex)
            ex["split"] = None
            if ex["server_closes"]:
                break
            # How the server answers a request with a body when not pipelined: after the whole
            # request, or (`split`) after its head: the 100 the client's Expect waits for, or the
            # whole answer before the body (RFC 9112 §9.3: a server may answer early and go on
            # reading; the client goes on sending), as nginx's `return` does.
            ex["split"] = None
            if not pipelined and ex["request_body"]:
                if ex["expect"]:
                    ex["split"] = rng.choice(["100", "100", "whole"])
                elif rng.random() < 0.1:
                    ex["split"] = "whole"
        # Batches: what the client writes before it reads.
        batches = []
        i = 0
        while i < len(exchanges):
            n = rng.randint(2, 4) if pipelined else 1
            batches.append(list(range(i, min(i + n, len(exchanges)))))
            i += n
        batches = [part for batch in batches for part in within_upgrade_bound(exchanges, batch)]
        server_closes = exchanges[-1]["server_closes"]
        # Who ends it: the server as it said (or idle, unannounced), the client after the last
        # response, the client half-closing right after its last request, or the client's RST once
        # it has read everything.
        ending = "server" if server_closes else rng.choice(["client", "client", "server-idle", "client-early", "rst"])
        plan.append({"number": c, "pipelined": pipelined, "exchanges": exchanges, "batches": batches,
                     "ending": ending, "writes": writing_plan(rng, exchanges, batches),
                     "response_concatenated": rng.random() < 0.6})
    return plan


# The most the observer keeps of what a client sends behind an `Upgrade` request before the answer
# (docs/how-it-decides.md: 64 KiB a connection, as after a CONNECT); past it, it lets them go and
# resynchronises, a bound it keeps on purpose. Batches that would pass it are cut after the Upgrade
# request: the client then waits for the answer, as a careful client does.
UPGRADE_HELD_LIMIT = 64 << 10


def within_upgrade_bound(exchanges, batch):
    for k, i in enumerate(batch):
        behind = sum(len(exchanges[j]["request_head"]) + len(exchanges[j]["request_body"]) for j in batch[k + 1:])
        if exchanges[i]["upgrade"] and behind > UPGRADE_HELD_LIMIT - 1024:
            return [batch[:k + 1]] + within_upgrade_bound(exchanges, batch[k + 1:])
    return [batch]


# --- Cutting messages into writes ----------------------------------------------------------------

def cuts(rng, data, head_length):
    """Offsets to cut `data` (a message whose head is `head_length` bytes) at."""
    if not data:
        return []
    strategy = rng.choices(["whole", "head-bytes", "crlf", "random", "head-body"], weights=[30, 15, 20, 25, 10])[0]
    points = set()
    if strategy == "head-bytes":
        for k in range(1, min(head_length, rng.randint(1, 40)) + 1):
            points.add(k)
    elif strategy == "crlf":
        at = rng.choice([0, 1, 2, "mixed"])  # before the CR, between CR and LF, after the LF
        i = data.find(CRLF, 0, head_length)
        while i >= 0:
            points.add(i + (rng.randint(0, 2) if at == "mixed" else at))
            i = data.find(CRLF, i + 2, head_length)
    elif strategy == "random":
        for _ in range(rng.randint(1, 6)):
            points.add(rng.randint(1, len(data)))
    elif strategy == "head-body":
        points.add(head_length)
    return sorted(p for p in points if 0 < p < len(data))


def writes(rng, messages):
    """`messages` ([(bytes, head_length)]) as one list of (piece, sleep) writes: each message's cuts,
    and where two messages meet, sometimes no cut (a body's end and the next head in one write)."""
    pieces = []
    current = bytearray()
    for data, head_length in messages:
        start = 0
        for p in cuts(rng, data, head_length):
            current += data[start:p]
            pieces.append(bytes(current))
            current = bytearray()
            start = p
        current += data[start:]
        if rng.random() < 0.5:
            pieces.append(bytes(current))
            current = bytearray()
    if current:
        pieces.append(bytes(current))
    return [(p, rng.choice([0, 0, 0, 0.0003, 0.001, 0.002])) for p in pieces if p]


def writing_plan(rng, exchanges, batches):
    """Every write each side makes, decided up front so a seed is one conversation."""
    plan = {"client": [], "server": []}
    for batch in batches:
        if len(batch) == 1 and exchanges[batch[0]]["split"]:
            ex = exchanges[batch[0]]
            plan["client"].append(writes(rng, [(ex["request_head"], len(ex["request_head"]))]))
            plan["client"].append(writes(rng, [(ex["request_body"], 0)]))
            messages = [(b, len(b)) for b in ex["interim_bytes"]] + [(ex["response"], ex["response_head_length"])]
            first = 1 if ex["split"] == "100" else len(messages)
            plan["server"].append(writes(rng, messages[:first]))
            plan["server"].append(writes(rng, messages[first:]))
            continue
        plan["client"].append(writes(rng, [(exchanges[i]["request_head"] + exchanges[i]["request_body"],
                                            len(exchanges[i]["request_head"])) for i in batch]))
        responses = []
        for i in batch:
            responses.append([(b, len(b)) for b in exchanges[i]["interim_bytes"]]
                             + [(exchanges[i]["response"], exchanges[i]["response_head_length"])])
        # Answered all at once, or one by one as read (sequential batches are one exchange).
        plan["server"].append([writes(rng, r) for r in responses])
    return plan


# --- Both sides -----------------------------------------------------------------------------------

class CampaignError(Exception):
    pass


class CaptureIncomplete(CampaignError):
    """The kernel dropped packets from the capture (a loaded machine): the seed is run again."""


def send_all(sock, pieces):
    for piece, pause in pieces:
        sock.sendall(piece)
        if pause:
            time.sleep(pause)


def receive_exactly(sock, n, what):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(min(65536, n - len(data)))
        if not chunk:
            raise CampaignError(f"{what}: connection closed after {len(data)} of {n} bytes")
        data += chunk
    return bytes(data)


def receive_to_end(sock):
    data = bytearray()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(data)
        data += chunk


def expect_bytes(sock, expected, what):
    got = receive_exactly(sock, len(expected), what)
    if got != expected:
        raise CampaignError(f"{what}: bytes differ from the plan")


class Server:
    def __init__(self, port):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.plans = {}  # client port -> connection plan
        self.lock = threading.Lock()
        self.errors = []
        self.threads = []
        self.stopping = False
        self.acceptor = threading.Thread(target=self.accept_loop, daemon=True)
        self.acceptor.start()

    def expect(self, client_port, plan):
        with self.lock:
            self.plans[client_port] = plan

    def accept_loop(self):
        while True:
            try:
                sock, peer = self.listener.accept()
            except OSError:
                return
            if self.stopping:
                sock.close()
                return
            with self.lock:
                plan = self.plans.pop(peer[1], None)
            t = threading.Thread(target=self.serve, args=(sock, plan), daemon=True)
            t.start()
            self.threads.append(t)

    def serve(self, sock, plan):
        try:
            sock.settimeout(20)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if plan is None:
                raise CampaignError("a connection nobody planned")
            exchanges = plan["exchanges"]
            steps = iter(plan["writes"]["server"])
            for batch in plan["batches"]:
                if len(batch) == 1 and exchanges[batch[0]]["split"]:
                    ex = exchanges[batch[0]]
                    expect_bytes(sock, ex["request_head"], "server: request head")
                    send_all(sock, next(steps))
                    expect_bytes(sock, ex["request_body"], "server: request body")
                    send_all(sock, next(steps))
                    continue
                answers = next(steps)
                if plan["response_concatenated"]:
                    for i in batch:
                        ex = exchanges[i]
                        expect_bytes(sock, ex["request_head"] + ex["request_body"], "server: request")
                    send_all(sock, [w for answer in answers for w in answer])
                else:
                    for i, answer in zip(batch, answers):
                        ex = exchanges[i]
                        expect_bytes(sock, ex["request_head"] + ex["request_body"], "server: request")
                        send_all(sock, answer)
            if plan["ending"] in ("client", "client-early", "rst"):
                try:
                    rest = receive_to_end(sock)
                except ConnectionResetError:
                    rest = b"" if plan["ending"] == "rst" else b"reset"
                if rest:
                    raise CampaignError(f"server: {rest[:20]!r} after the last request")
            else:
                sock.shutdown(socket.SHUT_WR)
                receive_to_end(sock)
        except Exception as error:  # noqa: BLE001 - reported, the campaign fails
            with self.lock:
                self.errors.append(f"server, connection {plan and plan['number']}: {error!r}")
        finally:
            sock.close()

    def close(self):
        self.stopping = True
        self.listener.close()
        for t in self.threads:
            t.join(30)


def run_client(server, plan, truth, lock):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(20)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    client_port = sock.getsockname()[1]
    server.expect(client_port, plan)
    sock.connect(("127.0.0.1", server.port))
    try:
        exchanges = plan["exchanges"]
        steps = iter(plan["writes"]["client"])
        for number, batch in enumerate(plan["batches"]):
            last = number == len(plan["batches"]) - 1
            if len(batch) == 1 and exchanges[batch[0]]["split"]:
                ex = exchanges[batch[0]]
                whole = b"".join(ex["interim_bytes"]) + ex["response"]
                first = len(ex["interim_bytes"][0]) if ex["split"] == "100" else len(whole)
                send_all(sock, next(steps))
                expect_bytes(sock, whole[:first], "client: the answer before the body")
                send_all(sock, next(steps))
                answer = whole[first:]
            else:
                send_all(sock, next(steps))
                answer = b"".join(b"".join(exchanges[i]["interim_bytes"]) + exchanges[i]["response"] for i in batch)
            if last and plan["ending"] == "client-early":
                sock.shutdown(socket.SHUT_WR)
            expect_bytes(sock, answer, "client: responses")
        if plan["ending"] == "rst":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            if plan["ending"] == "client":
                sock.shutdown(socket.SHUT_WR)
            if receive_to_end(sock):
                raise CampaignError("client: bytes after the last response")
    finally:
        sock.close()
    with lock:
        for ex in plan["exchanges"]:
            truth.append({
                "connection": plan["number"], "client": f"127.0.0.1:{client_port}",
                "server": f"127.0.0.1:{server.port}", "index": ex["index"], "method": ex["method"],
                "target": ex["target"], "path": flask_path(ex["target"]), "host": ex["host"],
                "status": ex["status"], "first_on_connection": ex["index"] == 0,
                "interim": ex["interim"], "request_body_bytes": ex["request_body_bytes"],
                "response_body_bytes": ex["response_body_bytes"],
                "request_framing": ex["request_framing"], "response_framing": ex["response_framing"],
                "expect": ex["expect"], "split": ex["split"], "gzip": ex["gzip"], "pipelined": plan["pipelined"],
                "ending": plan["ending"]})


# --- One seed -------------------------------------------------------------------------------------

def capture_and_converse(seed, work, connections, port=0, only=None):
    """Runs the seed's plan (of it only the connections numbered in `only`, when given: the same
    conversations, for a small fixture) with the server on `port` (0: the kernel's pick)."""
    rng = random.Random(seed)
    server = Server(port)
    pcap = os.path.join(work, f"seed{seed}.pcap")
    tcpdump_log = open(os.path.join(work, f"seed{seed}.tcpdump.log"), "w+")
    tcpdump = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-s", "0", "-U", "--immediate-mode", "-B", "32768", "-w", pcap,
         f"tcp port {server.port}"], stdout=subprocess.DEVNULL, stderr=tcpdump_log)
    try:
        deadline = time.time() + 10
        while "listening on" not in open(tcpdump_log.name).read():
            if tcpdump.poll() is not None or time.time() > deadline:
                raise CampaignError("tcpdump did not start: " + open(tcpdump_log.name).read())
            time.sleep(0.02)
        plan = make_plan(rng, server.port, connections)
        if only is not None:
            plan = [c for c in plan if c["number"] in only]
        truth = []
        lock = threading.Lock()
        errors = []
        # Up to three connections at a time, so that their packets interleave in the capture.
        parallel = rng.randint(1, 3)
        queue = list(plan)

        def worker():
            while True:
                with lock:
                    if not queue:
                        return
                    connection = queue.pop(0)
                try:
                    run_client(server, connection, truth, lock)
                except Exception as error:  # noqa: BLE001 - reported, the campaign fails
                    with lock:
                        errors.append(f"client, connection {connection['number']}: {error!r}")
        workers = [threading.Thread(target=worker) for _ in range(parallel)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        server.close()
        errors += server.errors
        time.sleep(0.3)  # settle: the last FIN/ACKs reach the capture
    finally:
        tcpdump.send_signal(signal.SIGINT)
        try:
            tcpdump.wait(10)
        except subprocess.TimeoutExpired:
            tcpdump.kill()
            tcpdump.wait()
    log = open(tcpdump_log.name).read()
    if not re.search(r"^0 packets dropped by kernel$", log, re.MULTILINE):
        raise CaptureIncomplete(f"seed {seed}: tcpdump dropped packets: " + log.strip().replace("\n", "; "))
    planned = sum(len(c["exchanges"]) for c in plan)
    if not errors and len(truth) != planned:
        errors.append(f"{len(truth)} exchanges done of {planned} planned")
    if errors:
        raise CampaignError(f"seed {seed}: the conversation itself failed: {errors}")
    truth.sort(key=lambda e: (e["connection"], e["index"]))
    with open(os.path.join(work, f"seed{seed}.truth.json"), "w") as f:
        json.dump({"seed": seed, "server_port": server.port, "exchanges": truth}, f, indent=1)
    return pcap, server.port, truth


def replay(binary, pcap, out, inbound_port, threads):
    arguments = [binary, "replay", pcap, "--exchanges", out, "--no-progress", "--output", "/dev/null"]
    if inbound_port is not None:
        arguments += ["--inbound-port", str(inbound_port)]
    if threads is not None:
        arguments += ["--threads", str(threads)]
    result = subprocess.run(arguments, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise CampaignError(f"{' '.join(arguments)} exited {result.returncode}: {result.stderr}")
    with open(out) as f:
        return [json.loads(line) for line in f if line.strip()]


FIELDS = ["method", "target", "path", "host", "status", "request_body_bytes", "response_body_bytes",
          "first_on_connection"]


def compare(seed, label, truth, observed):
    """Exchange by exchange, per client endpoint in order: the mismatches, as lines."""
    mismatches = []
    by_client = {}
    for e in observed:
        by_client.setdefault(e["client"], []).append(e)
    expected_by_client = {}
    for t in truth:
        expected_by_client.setdefault(t["client"], []).append(t)
    compared = 0
    for client, expected in expected_by_client.items():
        got = by_client.pop(client, [])
        for i in range(max(len(expected), len(got))):
            t = expected[i] if i < len(expected) else None
            o = got[i] if i < len(got) else None
            where = f"seed {seed} [{label}] {client} exchange {i}"
            if t is None:
                mismatches.append(f"{where}: extra exchange {json.dumps({k: o.get(k) for k in FIELDS + ['completeness']})}")
                continue
            context = (f"(conn {t['connection']}, req {t['request_framing']}, resp {t['response_framing']}, "
                       f"interim {t['interim']}, pipelined {t['pipelined']}, ending {t['ending']})")
            if o is None:
                mismatches.append(f"{where}: missing {t['method']} {t['target']} -> {t['status']} {context}")
                continue
            compared += 1
            diffs = [f"{k}: truth {t[k]!r}, ours {o.get(k)!r}" for k in FIELDS if t[k] != o.get(k)]
            if o.get("completeness") != "complete":
                diffs.append(f"completeness {o.get('completeness')!r}")
            if o.get("saw_gap"):
                diffs.append("saw_gap")
            if o.get("server") != t["server"]:
                diffs.append(f"server: truth {t['server']}, ours {o.get('server')}")
            if diffs:
                mismatches.append(f"{where}: {'; '.join(diffs)} {context}")
    for client, got in by_client.items():
        for o in got:
            mismatches.append(f"seed {seed} [{label}] {client}: exchange on no planned connection "
                              f"{json.dumps({k: o.get(k) for k in FIELDS})}")
    return compared, mismatches


def tshark_check(seed, pcap, port, truth):
    """tshark's requests (method, URI) and final statuses per connection against the truth: the lines
    where tshark differs (tshark 4.0 is wrong on some legal framings; these are not our failures)."""
    result = subprocess.run(
        ["tshark", "-r", pcap, "-d", f"tcp.port=={port},http", "-Y", "http.request or http.response",
         "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=\x1f",
         "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "http.request.method",
         "-e", "http.request.uri", "-e", "http.response.code"],
        capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        return [f"seed {seed}: tshark failed: {result.stderr.strip()}"]
    seen = {}
    for line in result.stdout.splitlines():
        stream, src, dst, methods, uris, codes = (line.split("\t") + [""] * 6)[:6]
        client = src if int(dst) == port else dst
        entry = seen.setdefault(f"127.0.0.1:{client}", {"requests": [], "statuses": []})
        if methods:
            entry["requests"] += list(zip(methods.split("\x1f"), uris.split("\x1f")))
        if codes:
            entry["statuses"] += [int(c) for c in codes.split("\x1f") if not 100 <= int(c) < 200]
    disagreements = []
    by_client = {}
    for t in truth:
        by_client.setdefault(t["client"], []).append(t)
    for client, exchanges in by_client.items():
        s = seen.get(client, {"requests": [], "statuses": []})
        for what, theirs, ours in (("requests", s["requests"], [(t["method"], t["target"]) for t in exchanges]),
                                   ("statuses", s["statuses"], [t["status"] for t in exchanges])):
            if theirs == ours:
                continue
            # Where tshark departs from the truth, and the exchange before (the usual cause).
            at = next((i for i, (a, b) in enumerate(zip(theirs, ours)) if a != b), min(len(theirs), len(ours)))
            before = describe(exchanges[at - 1]) if at > 0 else "the connection's start"
            here = describe(exchanges[at]) if at < len(exchanges) else "nothing"
            cause = "after " + before.split(" [")[0]
            if at < len(exchanges) and what == "requests" and "method " in here:
                cause = f"at method {exchanges[at]['method']} (not an HTTP method to tshark 4.0)"
            disagreements.append({"line": f"seed {seed} {client}: tshark's {what} depart at exchange {at} "
                                          f"({len(theirs)} vs {len(ours)}): after {before}; at {here}",
                                  "cause": cause})
    return disagreements


def describe(t):
    """An exchange's framing in a few words (tshark's departures are tallied by the one before)."""
    if t["method"] == "HEAD":
        kind = f"HEAD answered with {t['response_framing']} framing fields"
    elif t["status"] in (204, 304):
        kind = f"{t['status']} ({t['response_framing']} fields)"
    elif t["request_framing"] == "chunked":
        kind = f"chunked request, {t['response_framing']} response"
    else:
        kind = f"{t['response_framing']} response"
    extra = []
    if t["interim"]:
        extra.append("interim " + ",".join(map(str, t["interim"])))
    if t["pipelined"]:
        extra.append("pipelined")
    if t["method"] not in ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"):
        extra.append(f"method {t['method']}")
    return kind + (f" [{', '.join(extra)}]" if extra else "")


def write_fixture(base, pcap, truth, seed, args):
    """A fixture from this seed's capture: the capture, the client's log (`{"method","url","status"}`
    a line, as fixture_clients.py writes) and the truth, named by `base`."""
    import shutil
    shutil.copyfile(pcap, base + ".pcap")
    with open(base + ".client.jsonl", "w") as f:
        for t in truth:
            url = t["target"] if t["target"].startswith("http://") else "http://" + t["server"] + t["target"]
            f.write(json.dumps({"method": t["method"], "url": url, "status": t["status"]}, separators=(",", ":")) + "\n")
    with open(base + ".truth.json", "w") as f:
        command = f"http_campaign.py --seed {seed} --connections {args.connections} --port {args.port} --only {args.only}"
        json.dump({"made_by": command, "exchanges": truth}, f, indent=1)
        f.write("\n")


def seeds_from(text):
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += range(int(a), int(b) + 1)
        else:
            out.append(int(part))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True, help="the channel-exporter executable")
    parser.add_argument("--seeds", default=None, help="e.g. 1-50 or 3,7,9")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--connections", type=int, default=30)
    parser.add_argument("--work", default=None, help="directory for captures and logs (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the captures of seeds that matched too")
    parser.add_argument("--no-tshark", action="store_true")
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    parser.add_argument("--port", type=int, default=0, help="the server's port (default: any free one)")
    parser.add_argument("--only", default=None, help="run only these connections of the plan (e.g. 1,4)")
    parser.add_argument("--fixture", default=None,
                        help="DIR/NAME: also write NAME.pcap, NAME.client.jsonl (what the client sent and got, "
                             "as the fixtures' client logs) and NAME.truth.json there (one seed)")
    args = parser.parse_args()
    seeds = [args.seed] if args.seed is not None else seeds_from(args.seeds or "1")
    work = args.work
    if work is None:
        import tempfile
        work = tempfile.mkdtemp(prefix="http-campaign.")
    os.makedirs(work, exist_ok=True)
    summary = {"seeds": [], "truth_exchanges": 0, "compared": 0, "mismatches": [], "tshark_disagreements": [],
               "work": work}
    for seed in seeds:
        try:
            only = None if args.only is None else {int(n) for n in args.only.split(",")}
            for attempt in range(3):
                try:
                    pcap, port, truth = capture_and_converse(seed, work, args.connections, args.port, only)
                    break
                except CaptureIncomplete as error:
                    if attempt == 2:
                        raise
                    print(f"{error}; again", file=sys.stderr)
        except CampaignError as error:
            print(f"CAMPAIGN FAILURE: {error}", file=sys.stderr)
            return 2
        failed = False
        # With the service's port and without (roles from the SYNs), and sharded over two pipelines.
        for label, inbound, threads in (("inbound-port", port, None), ("no-port", None, None),
                                        ("threads-2", port, 2)):
            out = os.path.join(work, f"seed{seed}.{label}.exchanges.jsonl")
            observed = replay(args.binary, pcap, out, inbound, threads)
            compared, mismatches = compare(seed, label, truth, observed)
            summary["truth_exchanges"] += len(truth)
            summary["compared"] += compared
            summary["mismatches"] += mismatches
            failed = failed or bool(mismatches)
            for m in mismatches:
                print("MISMATCH " + m)
        if args.fixture:
            write_fixture(args.fixture, pcap, truth, seed, args)
        disagreements = [] if args.no_tshark else tshark_check(seed, pcap, port, truth)
        summary["tshark_disagreements"] += disagreements
        for d in disagreements:
            print("TSHARK " + d["line"])
        summary["seeds"].append(seed)
        print(f"seed {seed}: {len(set(t['client'] for t in truth))} connections, {len(truth)} exchanges, "
              f"{'MISMATCH' if failed else 'ok'}, tshark differs on {len(disagreements)}", flush=True)
        if not failed and not args.keep:
            for name in os.listdir(work):
                if name.startswith(f"seed{seed}."):
                    os.remove(os.path.join(work, name))
    if summary["tshark_disagreements"]:
        print("tshark departs from the truth (by the exchange before, or an unknown method):")
        tally = {}
        for d in summary["tshark_disagreements"]:
            tally[d["cause"]] = tally.get(d["cause"], 0) + 1
        for cause, count in sorted(tally.items(), key=lambda kv: -kv[1]):
            print(f"  {count:5d}  {cause}")
    print(f"seeds {len(summary['seeds'])}, truth exchanges {summary['truth_exchanges']} (three replays each), "
          f"compared {summary['compared']}, mismatches {len(summary['mismatches'])}, "
          f"tshark disagreements {len(summary['tshark_disagreements'])}")
    if args.json:
        print(json.dumps({k: (len(v) if k in ('mismatches', 'tshark_disagreements') else v) for k, v in summary.items()}))
    return 1 if summary["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
