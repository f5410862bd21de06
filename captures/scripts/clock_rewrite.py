#!/usr/bin/env python3
"""Timestamps of a classic pcap rewritten as broken clocks write them, and described.

    clock_rewrite.py first-after IN SECONDS      the time (epoch seconds) of the first packet SECONDS after the first
    clock_rewrite.py middle IN                   the time (epoch seconds) of the middle packet
    clock_rewrite.py zero IN OUT                 every timestamp 0
    clock_rewrite.py garbage IN OUT SEED         every timestamp random (0 .. 2^31-1 s, which libpcap reads as
                                                 positive: it takes the field as signed), reproducibly
    clock_rewrite.py reorder IN OUT GAP          neighbours of two connections less than GAP s apart swapped in
                                                 the file, each keeping its timestamp (a multi-queue capture's
                                                 disorder)
    clock_rewrite.py skew IN OUT SECONDS         pcapng of two interfaces, the connections taken in turn by
                                                 their first packet, the second interface's clock SECONDS off,
                                                 in the order of the recording (dumpcap on two interfaces, one
                                                 with a clock of its own: a NIC's hardware timestamps)
    clock_rewrite.py describe FILE...            JSON: per file, packets, the jumps back and forward, and what
                                                 a clock that never goes back nor leaps makes of them (the rule
                                                 README.md "Packet timestamps" states, written again here as a
                                                 second witness): packets back in time, steps back (> 2 s),
                                                 steps forward (> 600 s, a replay's limit)

Standard library only (pcapfile.py).
"""
import json
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapfile  # noqa: E402

LATE = 2_000_000_000
FORWARD = 600_000_000_000


def ns(cap, r):
    return r.sec * 1_000_000_000 + (r.frac if cap.nanos else r.frac * 1000)


def set_ns(cap, r, t):
    r.sec, rest = divmod(t, 1_000_000_000)
    r.frac = rest if cap.nanos else rest // 1000


def describe(path):
    cap = pcapfile.read(path)
    stamps = [ns(cap, r) for r in cap.records]
    back = sum(1 for a, b in zip(stamps, stamps[1:]) if b < a)
    forward_jumps = sum(1 for a, b in zip(stamps, stamps[1:]) if b - a > FORWARD)
    # The clock: offset, latest; a packet before the latest is late (given the latest), a step back
    # past LATE moves the offset; a jump past FORWARD ahead of the latest is a step forward. A packet
    # off by more than LATE either way that fits the latest time with the offset before the last
    # step goes back to that one (the offsets trade places).
    offset, previous, latest = 0, None, None
    late = steps_back = steps_forward = returns = 0
    for s in stamps:
        t = s + offset
        if latest is None:
            latest = t
            continue
        if previous is not None and (t < latest - LATE or t - latest > LATE):
            other = s + previous
            if latest - LATE <= other <= latest + LATE:
                offset, previous, t = previous, offset, other
                returns += 1
        if t < latest:
            late += 1
            if latest - t > LATE:
                steps_back += 1
                previous, offset = offset, offset + latest - t
        elif t - latest > FORWARD:
            steps_forward += 1
            previous, offset = offset, offset - (t - latest)
        else:
            latest = t
    return {"file": os.path.basename(path), "packets": len(stamps),
            "timestamps_going_back": back, "jumps_forward_over_600s": forward_jumps,
            "clock": {"packets_back_in_time": late, "steps_back": steps_back, "steps_forward": steps_forward,
                      "returns_to_previous_clock": returns}}


def write_skewed(cap, out, skew):
    """Little-endian pcapng, one section, two interfaces with nanosecond resolution."""
    def block(kind, body):
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
    blocks = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    for _ in range(2):
        opts = struct.pack("<HHB3x", 9, 1, 9) + b"\0" * 4  # if_tsresol 9, opt_endofopt
        blocks.append(block(1, struct.pack("<HHI", cap.linktype, 0, 262144) + opts))
    turn = {}
    for r in cap.records:
        v = pcapfile.tcp_view(r.data, cap.linktype)
        key = frozenset((v.src, v.dst))
        k = turn.setdefault(key, len(turn) % 2)
        t = ns(cap, r) + (skew if k == 1 else 0)
        blocks.append(block(6, struct.pack("<IIIII", k, t >> 32, t & 0xFFFFFFFF, len(r.data), r.orig_len) + r.data))
    open(out, "wb").write(b"".join(blocks))


def main():
    cmd = sys.argv[1]
    if cmd == "describe":
        print(json.dumps({"files": [describe(p) for p in sys.argv[2:]]}, indent=1))
        return
    cap = pcapfile.read(sys.argv[2])
    if cmd == "middle":
        print("%d.%09d" % divmod(ns(cap, cap.records[len(cap.records) // 2]), 1_000_000_000))
        return
    if cmd == "first-after":
        first = ns(cap, cap.records[0])
        limit = first + int(float(sys.argv[3]) * 1e9)
        at = next(ns(cap, r) for r in cap.records if ns(cap, r) >= limit)
        print("%d.%09d" % divmod(at, 1_000_000_000))
        return
    if cmd == "skew":
        write_skewed(cap, sys.argv[3], int(float(sys.argv[4]) * 1e9))
        return
    if cmd == "zero":
        for r in cap.records:
            set_ns(cap, r, 0)
    elif cmd == "garbage":
        rng = random.Random(int(sys.argv[4]))
        for r in cap.records:
            set_ns(cap, r, rng.randrange(0, 1 << 31) * 1_000_000_000 + rng.randrange(0, 1_000_000_000))
    elif cmd == "reorder":
        # Of two connections only: a NIC's receive-side scaling keeps a connection's packets on one
        # queue, so a multi-queue capture interleaves connections out of order, not one connection's.
        gap = int(float(sys.argv[4]) * 1e9)
        i, recs = 0, cap.records

        def connection(r):
            v = pcapfile.tcp_view(r.data, cap.linktype)
            return None if v is None else frozenset((v.src, v.dst))
        while i + 1 < len(recs):
            if 0 < ns(cap, recs[i + 1]) - ns(cap, recs[i]) < gap and connection(recs[i]) != connection(recs[i + 1]):
                recs[i], recs[i + 1] = recs[i + 1], recs[i]
                i += 2
            else:
                i += 1
    else:
        sys.exit("unknown command " + cmd)
    pcapfile.write(sys.argv[3], cap)


if __name__ == "__main__":
    main()
