#!/usr/bin/env python3
"""tshark's request/response pairs of a capture, as JSON lines sorted by request frame: the second
witness beside the clients' logs (captures/scripts/make-proxy-edge-fixture.sh).

    tshark_pairs.py CAPTURE [PORTS] > CAPTURE_BASENAME.tshark.jsonl   # PORTS: e.g. 18080-18094, decoded as HTTP

Each line: {"server_port", "method", "target", "host", "status"} (status null when tshark paired no
response with the request). Pairs come from tshark's `http.request_in`; every response in these
captures names its request (none is pipelined)."""
import json
import subprocess
import sys


def fields(capture, display, names):
    decode = ["-d", "tcp.port==%s,http" % sys.argv[2]] if len(sys.argv) > 2 else []
    out = subprocess.run(
        ["tshark", "-r", capture] + decode + ["-Y", display, "-T", "fields", "-E", "separator=\t"]
        + [a for n in names for a in ("-e", n)],
        check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def main():
    capture = sys.argv[1]
    requests = fields(capture, "http.request", ["frame.number", "tcp.dstport", "http.request.method", "http.request.uri", "http.host"])
    responses = fields(capture, "http.response", ["http.request_in", "http.response.code"])
    status = {}
    for request_in, code in responses:
        if request_in:
            status[int(request_in)] = int(code)
    for frame, port, method, uri, host in requests:
        print(json.dumps({"server_port": int(port), "method": method, "target": uri, "host": host or None,
                          "status": status.get(int(frame))}))


if __name__ == "__main__":
    main()
