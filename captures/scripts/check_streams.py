#!/usr/bin/env python3
"""A second opinion on X.streams.json: reassembles each TCP connection of the
Ethernet pcap fixtures here (standard library only) and compares byte counts
and SHA-256 per direction with what tshark's follow gave.

    check_streams.py captures

Connections are keyed by 4-tuple; a SYN (without ACK) on a 4-tuple that has
had a FIN or RST starts a new connection, as tshark does. Payload is placed
by sequence number relative to the ISN (wrap-safe), so reordering and
duplicates do not matter; holes would, which is why only fixtures whose
streams tshark is authoritative for are checked. pcapng and SLL2 files are
skipped (pcapfile.py reads classic pcap: Ethernet, SLL, SLL2).
"""
import glob
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapfile  # noqa: E402
from damage import SERVER_PORTS, endpoint_str  # noqa: E402

SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10


class Direction:
    def __init__(self):
        self.isn = None
        self.pieces = {}

    def add(self, seq, flags, payload):
        if flags & SYN:
            self.isn = seq
            return
        if self.isn is None:
            self.isn = (seq - 1) % 2 ** 32  # no SYN seen: start at the first byte we see
        if payload:
            self.pieces[(seq - self.isn - 1) % 2 ** 32] = payload

    def data(self):
        out = bytearray()
        for off in sorted(self.pieces):
            p = self.pieces[off]
            if off > len(out):
                raise ValueError("hole at %d" % len(out))
            out += p[len(out) - off:]
        return bytes(out)


def reassemble(path):
    cap = pcapfile.read(path, allow_truncated=True)
    conns, current = [], {}
    for r in cap.records:
        v = pcapfile.tcp_view(r.data, cap.linktype)
        if not v:
            continue
        d = r.data
        flags = v.flags(d)
        key = frozenset([v.src, v.dst])
        c = current.get(key)
        if c is None or (flags & SYN and not flags & ACK and c["closed"]):
            c = {"ends": {}, "closed": False, "first": v.src}
            current[key] = c
            conns.append(c)
        if flags & (FIN | RST):
            c["closed"] = True
        c["ends"].setdefault(v.src, Direction()).add(v.seq(d), flags, v.payload(d))
    result = []
    for c in conns:
        a, b = list(c["ends"]) + [None] * (2 - len(c["ends"]))
        eps = [e for e in (a, b) if e]
        server = next((e for e in eps if e[1] in SERVER_PORTS), eps[-1])
        client = next((e for e in eps if e != server), None)
        get = lambda e: c["ends"][e].data() if e in c["ends"] else b""
        result.append({"client": endpoint_str(client) if client else None, "server": endpoint_str(server),
                       "client_to_server": digest(get(client)), "server_to_client": digest(get(server))})
    return result


def digest(b):
    return {"bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}


def main():
    captures = sys.argv[1]
    checked = equal = 0
    bad = []
    print("check_streams: skip pcapng files: %s" % ", ".join(
        os.path.basename(p) for p in sorted(glob.glob(os.path.join(captures, "http", "*.pcapng")))))
    for path in sorted(glob.glob(os.path.join(captures, "http", "*.pcap")) +
                       glob.glob(os.path.join(captures, "http", "damaged", "*.pcap")) +
                       glob.glob(os.path.join(captures, "http", "loss", "*.pcap")) +
                       glob.glob(os.path.join(captures, "http", "stacks", "*.pcap"))):
        exp = json.load(open(path[:-5] + ".streams.json"))
        if not exp["tshark_authoritative"]:
            continue
        try:
            mine = reassemble(path)
        except ValueError as e:
            print("check_streams: skip %s (%s)" % (os.path.relpath(path, captures), e))
            continue
        theirs = [{k: c[k] for k in ("client", "server", "client_to_server", "server_to_client")}
                  for c in exp["connections"]]
        # tshark lists a connection with no packets in either direction never; we list all
        for m, t in zip(mine, theirs):
            checked += 1
            if m == t:
                equal += 1
            else:
                bad.append((path, m, t))
        if len(mine) != len(theirs):
            bad.append((path, "connections", len(mine), len(theirs)))
    print("check_streams: %d connections compared, %d equal" % (checked, equal))
    for b in bad:
        print("check_streams: DIFFERENT:", b, file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
