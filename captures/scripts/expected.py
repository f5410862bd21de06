#!/usr/bin/env python3
"""Expected outputs of the HTTP fixtures, from tshark, and captures/manifest.tsv.

    expected.py captures

For every fixture captures/http/X.pcap[ng], captures/http/damaged/X.pcap,
captures/http/loss/X.pcap and captures/http/stacks/X.pcap:
  X.streams.json  per TCP connection (tshark's stream index) and direction: the
                  byte count and SHA-256 of the reassembled payload, from
                  `tshark -qz follow,tcp,raw,N`
  X.http.json     tshark's HTTP requests and responses paired per connection
                  (see pair() for the rule), interim 1xx responses apart, and
                  the clients' own log of what they sent and got (X.client.jsonl)
Self-checks (printed, and written into the JSON files): damaged copies that keep
every byte (reordered, duplicated, seq-wrapped, VLAN-tagged) must give the same
streams and exchanges as their source; the clients' log must be found in
tshark's exchanges. Exit status 1 when a check that should hold does not.
"""
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from urllib.parse import urlsplit

SERVER_PORTS = {18080, 18081, 18082, 18083, 18084} | set(range(18090, 18103)) | {18110} | {18111, 18112, 18113} | {18120}
# stacks/ (18110: HAProxy's backend; 18111-18113: the client-* fixtures' servers); 18120: http_campaign.py's

COVERS = {
    "keepalive-curl": "curl keep-alive to nginx: GET/POST(JSON, form)/DELETE, query strings, Method-Code/T-Code headers, 200/400/404/405/500, 20 KB body",
    "keepalive-requests": "Python requests.Session to nginx and a Python server: JSON/form/chunked request bodies, percent-encoded query, JSON 'code' keys",
    "pipeline-wrk": "wrk pipelining: 3 requests per write, responses batched by nginx, 10 rounds on one connection (+ wrk's probe connection)",
    "chunked": "chunked responses with chunk extensions and a trailer (Python), nginx re-framing a close-delimited upstream as chunked (upstream connections included)",
    "chunked-split": "chunked framing split across segments (size line, data/CRLF, final CRLF alone) then a plain response on the same connection",
    "gzip": "nginx gzip on: Content-Encoding gzip, chunked, JSON (curl --compressed and requests)",
    "expect-100": "Expect: 100-continue with 100 Continue from nginx (proxying) and Python, nginx answering without 100 (return), large request bodies",
    "head": "HEAD responses with Content-Length and no body, followed by GETs on the same connection (nginx, Python)",
    "status-204": "204 No Content (nginx return, Python) followed by more requests on the connection",
    "status-304": "conditional GETs to nginx static files: If-None-Match / If-Modified-Since -> 304, then 200s",
    "close-delimited": "HTTP/1.0 responses without Content-Length ending at FIN (Python); curl -0 HTTP/1.0 request to nginx",
    "websocket": "WebSocket upgrade (101) then masked/unmasked frames, fragments, ping/pong, close; frame payloads that look like HTTP",
    "large-body": "300 KB response bodies (nginx sendfile, Python) and a 300 KB upload, ~1448-byte segments",
    "large-body-lo64k": "large-body on a loopback with MTU 65536 and TSO/GSO on: segments up to 64 KiB, as on a host's lo",
    "ipv6": "IPv6 loopback ([::1]) keep-alive to nginx",
    "port-reuse": "three connections on the same 4-tuple (client port 30404), server closes first",
    "any-sll2": "recorded with -i any: LINKTYPE_LINUX_SLL2",
    "h2-prior-knowledge": "HTTP/2 over cleartext with prior knowledge to nginx (18083): nghttp's three requests at "
                          "once on one connection, curl's POST on a second; curl HTTP/1.1 keep-alive to 18080 beside",
    "h2c-upgrade-curl": "curl --http2 to lighttpd: Upgrade: h2c accepted (101), the first request answered on "
                        "HTTP/2 stream 1, the second request HTTP/2 on the same connection",
    "upgrade-refused-pipelined": "http_campaign.py seed 211, its connection 14 (raw sockets): a PUT with Upgrade: h2c "
                                 "and a GET pipelined behind it, refused with 204; 103s, chunked gzip with trailers, "
                                 "HEAD answered 304 with Content-Length and 200 with Transfer-Encoding",
    "nanosecond": "pcap with nanosecond timestamps (magic a1b23c4d)",
    "pcapng": "pcapng (editcap -F pcapng of a pcap recording)",
    "large-body-reordered": "large-body with data segments swapped (out of order)",
    "large-body-duplicated": "large-body with data segments captured twice (retransmissions)",
    "large-body-dropped-body": "large-body with one data segment missing mid-body in each direction",
    "large-body-seqwrap": "large-body with sequence numbers wrapping 2^32 mid-transfer in every direction",
    "keepalive-curl-dropped-headers": "keepalive-curl with a whole request and a response's header segment missing",
    "keepalive-curl-midstream": "keepalive-curl starting mid-body of a response (no SYN)",
    "keepalive-curl-midstream-request": "keepalive-curl starting with a request (no SYN): the client speaks first",
    "keepalive-curl-syn-retransmitted": "keepalive-curl with the SYN retransmitted 1 s later",
    "rst-mid-transfer": "client aborts (RST) a 300 KB download after 60 KB; then a new connection",
    "keepalive-curl-snaplen96": "keepalive-curl with every packet cut to 96 bytes",
    "keepalive-curl-truncated": "keepalive-curl cut mid-record (truncated file)",
    "keepalive-curl-vlan": "keepalive-curl with 802.1Q tags",
    "keepalive-curl-qinq": "keepalive-curl with QinQ (802.1ad + 802.1Q) tags",
    "loss-keepalive": "3 % real loss on a veth (nftables drops, both ways): retransmissions (RTO, fast, TLP, spurious), curl/requests keep-alive, nginx closing after 20 requests, gzip, chunked, close-delimited, wrk pipelining",
    "loss-large": "2 % real loss on a veth: 300 KB download (nginx sendfile) and 300 KB upload, holes filled by SACK/fast retransmissions",
    "holes-wrk": "wrk -c8 captured with tcpdump -B 64: kernel drops, holes never filled (connections that lost something); spurious retransmissions of requests whose first copy was not captured",
    # stacks/ (make-stack-fixtures.sh); each one-stack fixture also has HTTP/1.0 requests (one without
    # keep-alive, a keep-alive one ending in a streamed body), an idle connection closed by the server's
    # keep-alive timeout, `Connection: close` on a 2nd request, curl with Expect: 100-continue and curl -0
    "gunicorn-sync": "gunicorn sync worker + Flask: no keep-alive (Connection: close on every response), generator "
                     "body chunked; requests (chunked upload, HEAD of a streamed body), curl",
    "gunicorn-gthread": "gunicorn gthread worker + Flask: keep-alive (1 s), generator body chunked, HEAD, 204, 304, "
                        "gzip from the app; requests, httpx, curl",
    "uvicorn": "uvicorn (h11, lower-case header names) bare ASGI app: keep-alive (1 s), streamed body chunked, 100 "
               "Continue on body read; httpx, requests, curl",
    "node": "Node http: keep-alive (1 s), maxRequestsPerSocket 6, res.write chunking, 102 + two 103 before a 200, "
            "trailers, 304 with Content-Length; Node http Agent (a chunked request with a trailer) and fetch (undici), "
            "requests, curl",
    "go": "Go net/http: Flusher chunking, 103 Early Hints, declared trailer, IdleTimeout 1 s, 100 Continue for Go's "
          "client (ExpectContinueTimeout), and after the body when the handler reads late; transparent gzip; Go "
          "client, Node http (chunked request with a trailer) and fetch, curl",
    "aiohttp": "aiohttp server: StreamResponse chunked, keepalive_timeout 1 s; aiohttp client, httpx, curl",
    "waitress": "waitress + Flask: keep-alive, channel_timeout 1 s, generator body chunked; its HEAD of a chunked "
                "body is followed by a stray last-chunk (0 CRLF CRLF) on the wire; requests, curl",
    "pipelined": "five requests in one write (GET, HEAD with Content-Length, POST with body, GET 500, conditional "
                 "GET 304) to each of the seven stacks; gunicorn sync answers the first and closes",
    "expect-early": "Expect: 100-continue to handlers that do not read the body: final answer without 100 (Go: and "
                    "close), the client never sends the body; curl to the seven stacks, Go's client to Go",
    # stacks/, the debian set (make-stack-fixtures.sh --debian); each web server fixture also has
    # Java's HttpClient, ab -k (HTTP/1.0 keep-alive), curl on static files (304, Range/206 and
    # multipart/byteranges, 416, HEAD, gzip, 80 KB download, 80 KB uploads with Expect and chunked) and a
    # request head that never ends (Apache and HAProxy: 408 after 5 s, a response without request)
    "apache": "Apache httpd 2.4 event MPM: routes through a CGI program (sent chunked though the program gives a "
              "Content-Length; close-delimited for HTTP/1.0, so ab -k gets no keep-alive there), a 500 closes the "
              "connection, static files, mod_deflate, KeepAliveTimeout 1 s; requests, Java (h2c declined), curl, ab",
    "lighttpd": "lighttpd 1.4: CGI routes (Content-Length kept, streamed body chunked), static files, mod_deflate, "
                "max-keep-alive-idle 1 s; requests, Java at HTTP/1.1, curl, ab",
    "h2c-lighttpd": "Java's HttpClient at its default version asks lighttpd for h2c: 101 Switching Protocols, then "
                    "HTTP/2 on the connection (the first request answered on stream 1); only the first request is HTTP/1.1",
    "haproxy": "HAProxy 2.6 reverse proxy (lower-case header names) in front of Apache: inbound calls on 18099 and "
               "HAProxy's own calls to the backend on 18110 in one capture; an answer of HAProxy's own "
               "(http-request return); requests, Java, curl, ab",
    "webrick": "Ruby WEBrick: keep-alive 1 s, chunked streamed body, no 100 Continue (Java's expectContinue waits, "
               "gives up and closes; WEBrick then answers 400 after the client's FIN); requests, Java, curl",
    "php": "PHP 8.2 built-in server (php -S): one request per connection (Connection: close), a streamed body "
           "close-delimited, a Host header in responses; requests, curl",
    # stacks/, the clients (make-client-fixtures.sh): each to Node (18111) and Go (18112) servers
    "client-go": "Go net/http client: pool, two calls at once, Accept-Encoding gzip added and inflated by the Transport, "
                 "HEAD, Expect: 100-continue, a body of unknown length sent chunked, a trailer, 500, an idle pooled "
                 "connection reused after 6 s",
    "client-go-pool": "Go net/http client, 15 bursts of 8 calls at once (default Transport): connections dialed for "
                      "a call that took another, pooled, first used 250 ms or more after their handshake",
    "client-node": "Node fetch (undici): keep-alive pool, gzip/br/deflate negotiated and inflated by undici, brotli "
                   "whatever is asked, HEAD, a ReadableStream body sent chunked, a trailer; http.Agent keep-alive",
    "client-ruby": "Ruby net/http: Net::HTTP.start keep-alive, its default Accept-Encoding (gzip negotiated), HEAD, "
                   "body_stream sent chunked, a trailer; Net::HTTP.get_response one-shot",
    "client-php": "PHP's http:// stream wrapper: a connection per call (Connection: close), GET/POST/HEAD",
    "client-wget": "GNU wget: several URLs on one kept connection per host, Accept-Encoding identity, 500, POST, "
                   "--spider (HEAD)",
    "client-java": "Java 17 HttpClient at its default version: Upgrade h2c asked on every request, Node and Go answer "
                   "in HTTP/1.1; chunked body, expectContinue",
    "client-java-h2c": "Java 17 HttpClient to lighttpd, which accepts h2c: 101, then HTTP/2 (only the first request "
                       "is HTTP/1.1)",
    "pipelined-debian": "five requests in one write (as pipelined) to Apache, lighttpd, HAProxy, WEBrick and php -S",
}

# Fixtures whose clients also spoke HTTP/2 (after an h2c upgrade): their log holds exchanges that are
# not HTTP/1.1, which tshark's HTTP view (and an HTTP/1.1 observer) cannot have.
CLIENT_LOG_BEYOND_HTTP1 = {"h2c-lighttpd", "h2-prior-knowledge", "h2c-upgrade-curl", "client-java-h2c"}

# Damaged copies that keep every payload byte: tshark's view must equal the source's.
LOSSLESS = {"large-body-reordered", "large-body-duplicated", "large-body-seqwrap", "keepalive-curl-syn-retransmitted",
            "keepalive-curl-vlan", "keepalive-curl-qinq"}

NOT_AUTHORITATIVE = {
    "chunked-split": {"http": "tshark 4.0 does not dissect a chunked response whose framing is split across "
                              "segments (see shared/bench/README.md): it reports those responses missing. "
                              "The client log (all 200) is the truth."},
    "rst-mid-transfer": {"http": "the aborted response never completes; tshark does not report it (the client "
                                 "saw its status line: 200)"},
    "large-body-dropped-body": {"streams": "bytes are missing; tshark's follow output simply omits them",
                                "http": "tshark's dissection past a hole is not a reference"},
    "keepalive-curl-dropped-headers": {"streams": "bytes are missing; tshark's follow output simply omits them",
                                       "http": "a request and a response header are missing; pairing past them is a judgment call"},
    "keepalive-curl-midstream": {"http": "the first response (mid-body) has no request in the file"},
    "keepalive-curl-snaplen96": {"streams": "only the first 96 bytes of each packet are in the file",
                                 "http": "payloads are cut; tshark's view is not a reference"},
    "keepalive-curl-truncated": {"http": "the last exchanges are cut off"},
    "pipelined": {"http": "tshark 4.0 reads the pipelined HEAD response's Content-Length as a body (it ties only the "
                          "first response of a frame to its request) and loses the responses after it; the "
                          "clients' log is the truth"},
    "pipelined-debian": {"http": "as for pipelined: tshark 4.0 reads the pipelined HEAD response's Content-Length as "
                                 "a body and loses the responses after it; the clients' log is the truth"},
    "upgrade-refused-pipelined": {"http": "tshark 4.0 pairs the 304 answering the first of two pipelined HEADs with "
                                          "the second and shows the 200 after it without a request; the truth "
                                          "(.truth.json: what both ends of http_campaign.py sent and checked) and "
                                          "the client log are the reference"},
    "h2c-lighttpd": {"http": "tshark 4.0 pairs the h2c upgrade request with the 101 Switching Protocols, which is not "
                             "its answer: that comes on HTTP/2 stream 1 (RFC 7540 §3.2), as the other 13 exchanges "
                             "do; the client's log is the truth, and an HTTP/1.1 observer sees the request unanswered"},
    "client-java-h2c": {"http": "as for h2c-lighttpd: tshark 4.0 pairs the h2c upgrade request with the 101 "
                                "Switching Protocols, which is not its answer (that comes on HTTP/2 stream 1)"},
    "h2c-upgrade-curl": {"http": "as for h2c-lighttpd: tshark 4.0 pairs the h2c upgrade request with the 101 "
                                 "Switching Protocols, which is not its answer (that comes on HTTP/2 stream 1); the "
                                 "client's log is the truth, and an HTTP/1.1 observer sees the request unanswered"},
    "webrick": {"http": "Java's client announces a body with Expect: 100-continue, WEBrick never sends 100, the client "
                        "gives up and closes without the body, WEBrick answers 400: tshark 4.0 waits for the body and "
                        "shows no request, the 400 without one; the clients' log (and that pair) is the truth"},
    "expect-early": {"http": "tshark 4.0 waits for the announced request body, which never comes (the server "
                             "answered first): it shows no request and the response without one; the clients' log "
                             "is the truth"},
    "holes-wrk": {"streams": "the kernel dropped packets from the capture; tshark's follow output omits the holes",
                  "http": "tshark pairs across holes (a request whose response was not captured with the next "
                          "response); ack_check lists which of its pairs the TCP acknowledgments confirm"},
}
PIPELINE_NOTE = ("tshark 4.0 names the request (http.request_in, response_for.uri) only for the first response of a "
                 "frame holding several pipelined responses; pairs here follow HTTP/1.1 order (RFC 9112 §9.3.2), "
                 "which agrees with tshark wherever tshark names a request")


def tshark(*args):
    return subprocess.run(["tshark", "-n", *args], check=False, capture_output=True, text=True).stdout


def endpoint_port(ep):
    return int(ep.rsplit(":", 1)[1])


def streams_of(path):
    out = tshark("-r", path, "-T", "fields", "-e", "tcp.stream")
    return sorted({int(x) for x in out.split() if x})


def follow(path, stream_ids):
    """{stream: (node0, node1, bytes0, bytes1)} from tshark's raw follow output."""
    result = {}
    for lo in range(0, len(stream_ids), 200):
        args = ["-r", path, "-q"]
        for n in stream_ids[lo:lo + 200]:
            args += ["-z", "follow,tcp,raw,%d" % n]
        text = tshark(*args)
        for block in text.split("=" * 67):
            m = re.search(r"Filter: tcp\.stream eq (\d+)\nNode 0: (.*)\nNode 1: (.*)\n", block)
            if not m:
                continue
            data = [bytearray(), bytearray()]
            for line in block[m.end():].split("\n"):
                if not line.strip():
                    continue
                node = 1 if line.startswith("\t") else 0
                data[node] += bytes.fromhex(line.strip())
            result[int(m.group(1))] = (m.group(2), m.group(3), bytes(data[0]), bytes(data[1]))
    return result


def digest(b):
    return {"bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}


def stream_table(path):
    ids = streams_of(path)
    conns = []
    for n, (n0, n1, d0, d1) in sorted(follow(path, ids).items()):
        if endpoint_port(n0) in SERVER_PORTS and endpoint_port(n1) not in SERVER_PORTS:
            client, server, c2s, s2c = n1, n0, d1, d0
        else:
            client, server, c2s, s2c = n0, n1, d0, d1
        conns.append({"stream": n, "client": client, "server": server,
                      "client_to_server": digest(c2s), "server_to_client": digest(s2c)})
    return conns


def find_all(obj, key, out):
    """Values of `key` anywhere under obj, in document order."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                out.extend(v if isinstance(v, list) else [v])
            else:
                find_all(v, key, out)
    elif isinstance(obj, list):
        for v in obj:
            find_all(v, key, out)
    return out


def prefs(path):
    """tshark 4.0 does not reassemble a PDU whose segments come out of order unless asked
    (tcp.reassemble_out_of_order defaults to FALSE): under real loss (http/loss/) a request
    body with a hole filled by a retransmission is then lost from its HTTP view. Not for
    holes-* (holes never filled): there tshark waits at the first hole for good and reports
    half of the exchanges."""
    if os.path.basename(path).startswith("loss-"):
        return ["-o", "tcp.reassemble_out_of_order:TRUE"]
    # tshark 4.0 gives tcp.port 57000 to IRC, and a client's ephemeral port may be 57000: the stacks'
    # server ports are said to be HTTP (one recording of gunicorn-gthread lost a connection so). The
    # loopback itself may drop under load (its backlog): the haproxy recording holds a 100 KB
    # response whose lost segments were retransmitted, out of order in the file.
    if os.path.basename(os.path.dirname(path)) == "stacks":
        return ["-o", "tcp.reassemble_out_of_order:TRUE", "-d", "tcp.port==18090-18113,http"]
    return []


def http_pdus(path):
    """tshark's HTTP messages in file order: dicts with frame, stream, kind and fields."""
    text = tshark("-r", path, *prefs(path), "-Y", "http", "-T", "json", "--no-duplicate-keys", "-J", "http tcp frame")
    # first frame of each reassembled PDU: a request starts in its first segment
    starts = {}
    for line in tshark("-r", path, *prefs(path), "-Y", "http.request", "-T", "fields",
                       "-e", "frame.number", "-e", "tcp.segment").splitlines():
        f, segs = line.split("\t")[:2]
        starts[int(f)] = min([int(f)] + [int(x) for x in segs.split(",") if x])
    pdus = []
    for pkt in json.loads(text or "[]"):
        layers = pkt["_source"]["layers"]
        frame = int(find_all(layers["frame"], "frame.number", [])[0])
        stream = int(find_all(layers["tcp"], "tcp.stream", [])[0])
        msgs = layers.get("http", [])
        for idx, h in enumerate(msgs if isinstance(msgs, list) else [msgs]):
            method = find_all(h, "http.request.method", [])
            code = find_all(h, "http.response.code", [])
            if method:
                uri = find_all(h, "http.request.uri", [])
                pdus.append({"kind": "request", "frame": frame, "index": idx, "stream": stream,
                             "start": starts.get(frame, frame) if idx == 0 else frame,
                             "method": method[0], "uri": uri[0] if uri else None})
            elif code:
                req_in = find_all(h, "http.request_in", [])
                pdus.append({"kind": "response", "frame": frame, "index": idx, "stream": stream,
                             "status": int(code[0]), "request_in": int(req_in[0]) if req_in else None})
    return pdus


def pair(pdus, conns):
    """Per connection, responses pair with requests in order (RFC 9112 §9.3.2). A response
    for which tshark names a request frame (http.request_in) pairs with the first unpaired
    request of that frame; requests skipped over stay unanswered. Otherwise it pairs with the
    next unpaired request if that request began in or before the response's frame, else it
    is a response without request. 1xx other than 101
    are interim and listed apart."""
    ends = {c["stream"]: (c["client"], c["server"]) for c in conns}
    exchanges, interim, orphans, checks = [], [], [], []
    by_stream = {}
    for p in pdus:
        by_stream.setdefault(p["stream"], []).append(p)
    for s, items in sorted(by_stream.items()):
        client, server = ends.get(s, (None, None))
        reqs = [p for p in items if p["kind"] == "request"]
        slots = [dict(stream=s, client=client, server=server, method=r["method"], uri=r["uri"], status=None,
                      request_frame=r["frame"], response_frame=None, request_start=r["start"]) for r in reqs]
        cursor = 0
        for r in [p for p in items if p["kind"] == "response"]:
            if 100 <= r["status"] < 200 and r["status"] != 101:
                interim.append({"stream": s, "status": r["status"], "frame": r["frame"]})
                continue
            target = None
            if r["request_in"] is not None:
                for i, slot in enumerate(slots):
                    if slot["request_frame"] == r["request_in"] and slot["status"] is None:
                        target = i
                        break
                if target is None:
                    checks.append("frame %d: tshark's request_in %d names no unpaired request" % (r["frame"], r["request_in"]))
                elif target < cursor:
                    checks.append("frame %d: tshark pairs with an earlier request than HTTP order" % r["frame"])
            else:
                while cursor < len(slots) and slots[cursor]["status"] is not None:
                    cursor += 1
                # a response cannot answer a request that begins after it (it may come
                # before the request's body ends: a server may answer early)
                if cursor < len(slots) and slots[cursor]["request_start"] <= r["frame"]:
                    target = cursor
            if target is None:
                orphans.append({"stream": s, "client": client, "server": server, "status": r["status"],
                                "response_frame": r["frame"]})
                continue
            slots[target]["status"] = r["status"]
            slots[target]["response_frame"] = r["frame"]
            cursor = target + 1
        for slot in slots:
            del slot["request_start"]
        exchanges.extend(slots)
    return exchanges, interim, orphans, checks


def ack_check(path, exchanges):
    """For traffic without pipelining (wrk without a script): a pair is confirmed when the
    response's last segment acknowledges exactly the end of the request's last segment (or
    one more: the client's FIN). Frame times (epoch, ns) let a test find the pair."""
    frames = {}
    for line in tshark("-r", path, "-T", "fields", "-e", "frame.number", "-e", "frame.time_epoch",
                       "-e", "tcp.seq_raw", "-e", "tcp.len", "-e", "tcp.ack_raw").splitlines():
        f, t, seq, ln, ack = line.split("\t")
        frames[int(f)] = (t, (int(seq) + int(ln)) % 2**32, int(ack))
    verified, mispaired = [], []
    for e in exchanges:
        if e["status"] is None:
            continue
        rq, rs = frames[e["request_frame"]], frames[e["response_frame"]]
        row = [e["request_frame"], e["response_frame"], rq[0], rs[0]]
        (verified if (rs[2] - rq[1]) % 2**32 in (0, 1) else mispaired).append(row)
    return {"rule": "response ACK == request end (or + 1, a FIN); [request frame, response frame, "
                    "request last segment time, response last segment time]",
            "verified": verified, "mispaired": mispaired}


def read_client_log(path):
    if not os.path.exists(path):
        return None
    entries = []
    for line in open(path):
        e = json.loads(line)
        u = urlsplit(e["url"])
        entries.append({"method": e["method"], "uri": u.path + ("?" + u.query if u.query else ""),
                        "status": e["status"]})
    return entries


def capinfo(path):
    out = subprocess.run(["capinfos", "-M", "-c", "-E", "-t", "-T", "-r", path], capture_output=True, text=True).stdout
    fields = out.strip().split("\t") if out.strip() else [path, "?", "?", "?"]
    fmt, enc, count = fields[1], fields[2], fields[3]
    magic = open(path, "rb").read(4)
    if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        fmt = "pcap-ns"
    elif magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"):
        fmt = "pcap-us"
    if not count.isdigit():  # truncated file: count what tshark reads
        count = str(len(tshark("-r", path, "-T", "fields", "-e", "frame.number").split()))
    return fmt, enc, int(count)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main():
    captures = sys.argv[1]
    version = tshark("--version").split("\n")[0]
    # multi-interface.pcapng (make-multi-interface-capture.sh) is checked against tshark by its own tests.
    files = sorted(f for f in glob.glob(os.path.join(captures, "http", "*.pcap*"))
                   if not f.endswith("multi-interface.pcapng")) + \
        sorted(glob.glob(os.path.join(captures, "http", "damaged", "*.pcap"))) + \
        sorted(glob.glob(os.path.join(captures, "http", "loss", "*.pcap"))) + \
        sorted(glob.glob(os.path.join(captures, "http", "stacks", "*.pcap")))
    results, failures, rows = {}, [], []
    for path in files:
        rel = os.path.relpath(path, captures)
        name = re.sub(r"\.pcap(ng)?$", "", os.path.basename(path))
        base = path[: -len(os.path.basename(path))] + name
        damaged = "/damaged/" in path
        source = json.load(open(base + ".damage.json"))["source"] if damaged else None
        conns = stream_table(path)
        exchanges, interim, orphans, checks = pair(http_pdus(path), conns)
        results[name] = (conns, exchanges)
        na = NOT_AUTHORITATIVE.get(name, {})
        notes = []
        # self-checks
        if name in LOSSLESS:
            src_name = re.sub(r"\.pcap$", "", os.path.basename(source))
            sc, se = results[src_name]
            strip = lambda xs: [{k: v for k, v in x.items() if not k.endswith("_frame")} for x in xs]
            same_streams, same_http = sc == conns, strip(se) == strip(exchanges)
            notes.append("streams equal to the source's: %s; exchanges equal: %s" % (same_streams, same_http))
            if not (same_streams and same_http):
                failures.append("%s: differs from %s" % (name, source))
        client_log = read_client_log(base + ".client.jsonl")
        matched = None
        if client_log is not None:
            have = Counter((e["method"], e["uri"], e["status"]) for e in exchanges)
            want = Counter((e["method"], e["uri"], e["status"]) for e in client_log)
            missing = want - have
            matched = sum(want.values()) - sum(missing.values())
            notes.append("client log: %d of %d exchanges found in tshark's pairs" % (matched, sum(want.values())))
            if missing and "http" not in na and name not in CLIENT_LOG_BEYOND_HTTP1:
                failures.append("%s: client log entries missing in tshark: %s" % (name, dict(missing)))
        if checks and "http" not in na and name != "pipeline-wrk":
            failures.append("%s: %s" % (name, checks))
        http_note = na.get("http") or (PIPELINE_NOTE if name == "pipeline-wrk" else None)
        if prefs(path):
            notes.append("tshark run with " + ", ".join(prefs(path)[1::2]))
        acks = ack_check(path, exchanges) if name.startswith("holes-") else None
        if acks is not None:
            notes.append("ack check: %d of tshark's pairs confirmed, %d mispaired"
                         % (len(acks["verified"]), len(acks["mispaired"])))
        common = {"fixture": rel, "tshark": version, "source": source}
        write_json(base + ".streams.json", {**common, "tshark_authoritative": "streams" not in na,
                                            "note": na.get("streams"), "connections": conns})
        write_json(base + ".http.json", {
            **common, "tshark_authoritative": "http" not in na, "note": http_note,
            "pairing": "per connection in HTTP order; a response tshark ties to a request frame pairs with "
                       "that frame's first unpaired request; status null = no response in tshark's view",
            "exchanges": exchanges, "interim_responses": interim, "responses_without_request": orphans,
            "tshark_pairing_disagreements": checks, "client_log": client_log, "checks": notes,
            **({"ack_check": acks} if acks is not None else {})})
        fmt, enc, count = capinfo(path)
        rows.append([rel, fmt, enc, str(count), str(len(conns)),
                     str(sum(1 for e in exchanges if e["status"] is not None)),
                     "yes" if "streams" not in na else "no", "yes" if "http" not in na else "no",
                     COVERS.get(name, ""), "; ".join(notes)])
        print("expected: %-36s %5d packets %3d conns %3d exchanges %s" % (rel, count, len(conns), len(exchanges), "; ".join(notes)))
    with open(os.path.join(captures, "manifest.tsv"), "w") as f:
        f.write("\t".join(["fixture", "format", "link_type", "packets", "connections", "paired_exchanges",
                           "tshark_streams_authoritative", "tshark_http_authoritative", "covers", "checks"]) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    for msg in failures:
        print("expected: CHECK FAILED: " + msg, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
