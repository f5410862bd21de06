#!/usr/bin/env python3
"""Makes the damaged copies of the intact HTTP fixtures (standard library only).

    damage.py captures/http

Writes captures/http/damaged/NAME.pcap and NAME.damage.json (what was done,
naming the source frames by their 1-based frame numbers in the source file).
Deterministic: the same intact fixtures give the same damaged files.
"""
import copy
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapfile  # noqa: E402

SERVER_PORTS = {18080, 18081, 18082} | set(range(18090, 18103)) | {18110} | {18111, 18112, 18113}  # stacks/ (make-stack-fixtures.sh, make-client-fixtures.sh)


def endpoint_str(ep):
    ip, port = ep
    if len(ip) == 4:
        return "%s:%d" % (".".join(str(b) for b in ip), port)
    import ipaddress
    return "[%s]:%d" % (ipaddress.IPv6Address(ip), port)


class Packets:
    """The source capture with each record's TCP view and direction."""

    def __init__(self, path):
        self.path = path
        self.cap = pcapfile.read(path)
        self.views = [pcapfile.tcp_view(r.data) for r in self.cap.records]

    def is_to_server(self, i):
        return self.views[i].dst[1] in SERVER_PORTS

    def data_frames(self, pred=lambda i: True):
        return [i for i, v in enumerate(self.views) if v and v.payload_end > v.payload_off and pred(i)]

    def first(self, prefix, to_server=True, after=-1):
        """Index of the first data packet after `after` whose payload starts with prefix."""
        for i in self.data_frames():
            if i > after and self.is_to_server(i) == to_server and \
                    self.views[i].payload(self.cap.records[i].data).startswith(prefix):
                return i
        raise LookupError("%s: no packet starting with %r" % (self.path, prefix))

    def next_data(self, after, to_server):
        for i in self.data_frames():
            if i > after and self.is_to_server(i) == to_server:
                return i
        raise LookupError("no data packet after %d" % after)


def with_records(src, records, **changes):
    cap = copy.copy(src.cap)
    cap.records = records
    for k, v in changes.items():
        setattr(cap, k, v)
    return cap


def keep_timestamps(src, order):
    """Packets in a new order, each taking the timestamp of the slot it lands in
    (a capture shows reordering as out-of-order sequence numbers, not time)."""
    recs = []
    for slot, i in enumerate(order):
        r = src.cap.records[i]
        t = src.cap.records[slot] if slot < len(src.cap.records) else src.cap.records[-1]
        recs.append(pcapfile.Record(t.sec, t.frac, r.orig_len, bytearray(r.data)))
    return recs


# -- the damages -----------------------------------------------------------------
def reordered(src):
    """Swaps data segments with the next data segment of the same direction."""
    order = list(range(len(src.cap.records)))
    down = src.data_frames(lambda i: not src.is_to_server(i))
    up = src.data_frames(src.is_to_server)
    swaps = [(down[n], down[n + 1]) for n in (40, 41 + 60, 250)] + [(up[n], up[n + 3]) for n in (60,)]
    for a, b in swaps:
        order[a], order[b] = order[b], order[a]
    return keep_timestamps(src, order), {
        "what": "data segments swapped (each pair: the later one is now captured first)",
        "swapped_frames": [[a + 1, b + 1] for a, b in swaps]}


def duplicated(src):
    """Every 25th data segment captured twice: once right away, once 3 packets later."""
    recs, dups = [], []
    data = set(src.data_frames()[::25])
    pending = []
    for i, r in enumerate(src.cap.records):
        recs.append(copy.deepcopy(r))
        for p in [p for p in pending if p[0] == i]:
            recs.append(pcapfile.Record(r.sec, r.frac, p[1].orig_len, bytearray(p[1].data)))
        pending = [p for p in pending if p[0] != i]
        if i in data:
            recs.append(copy.deepcopy(r))
            pending.append((i + 3, r))
            dups.append(i + 1)
    return recs, {"what": "data segments repeated: an exact copy right after, another 3 packets later",
                  "duplicated_frames": dups}


def dropped_body(src):
    """Drops one segment in the middle of the 300 KB nginx body and one of the 300 KB upload."""
    req = src.first(b"GET /big.bin")
    down = [i for i in src.data_frames(lambda i: not src.is_to_server(i)) if i > req]
    upl = src.first(b"POST /api/upload")
    up = [i for i in src.data_frames(src.is_to_server) if i > upl]
    drop = {down[100], up[100]}
    recs = [copy.deepcopy(r) for i, r in enumerate(src.cap.records) if i not in drop]
    lost = [len(src.views[i].payload(src.cap.records[i].data)) for i in sorted(drop)]
    return recs, {"what": "one data segment dropped mid-body in each direction; later ACKs pass the hole",
                  "dropped_frames": [i + 1 for i in sorted(drop)], "dropped_payload_bytes": lost}


def dropped_headers(src):
    """Drops the segment holding the 3rd request and the first segment of the 4th response."""
    req3 = src.first(b"GET /api/v1/order?method_code=Q77")
    req4 = src.first(b"GET /api/v1/goods/list")
    resp4 = src.next_data(req4, to_server=False)
    drop = {req3, resp4}
    recs = [copy.deepcopy(r) for i, r in enumerate(src.cap.records) if i not in drop]
    return recs, {"what": "request 3 (whole, one segment) and the segment with response 4's headers dropped",
                  "dropped_frames": [i + 1 for i in sorted(drop)],
                  "dropped_payload_bytes": [len(src.views[i].payload(src.cap.records[i].data)) for i in sorted(drop)]}


def midstream(src):
    """The capture starts inside the 4th response's body (no SYN, no request for it)."""
    req4 = src.first(b"GET /api/v1/goods/list")
    first = src.next_data(src.next_data(req4, to_server=False), to_server=False)
    recs = [copy.deepcopy(r) for r in src.cap.records[first:]]
    return recs, {"what": "first packets removed: the capture begins mid-body of a response",
                  "first_kept_frame": first + 1, "removed_packets": first}


def midstream_request(src):
    """The capture starts with the 3rd request's segment: the client speaks first."""
    first = src.first(b"GET /api/v1/order?method_code=Q77")
    recs = [copy.deepcopy(r) for r in src.cap.records[first:]]
    return recs, {"what": "first packets removed: the capture begins with a request (no SYN)",
                  "first_kept_frame": first + 1, "removed_packets": first}


def syn_retransmitted(src):
    """The client's SYN captured again 1 s later, as when the first SYN (or its
    SYN-ACK) is lost; every later packet moves 1 s later too."""
    recs = []
    for i, r in enumerate(src.cap.records):
        shift = 1 if i > 0 else 0
        recs.append(pcapfile.Record(r.sec + shift, r.frac, r.orig_len, bytearray(r.data)))
        if i == 0:
            assert src.views[0].flags(r.data) & 0x12 == 0x02, "first packet is not a SYN"
            recs.append(pcapfile.Record(r.sec + 1, r.frac, r.orig_len, bytearray(r.data)))
    return recs, {"what": "the first SYN captured twice, 1 s apart (a SYN retransmission); later packets 1 s later",
                  "duplicated_frames": [1]}


def snaplen96(src):
    recs = [pcapfile.Record(r.sec, r.frac, r.orig_len, bytearray(r.data[:96])) for r in src.cap.records]
    return recs, {"what": "every packet cut to 96 captured bytes (orig_len kept), header snaplen 96",
                  "snaplen": 96}


def vlan(src, tags):
    """Inserts 802.1Q (TPID 0x8100) / QinQ (outer TPID 0x88A8) tags after the MACs."""
    raw = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in tags)
    recs = [pcapfile.Record(r.sec, r.frac, r.orig_len + len(raw), bytearray(r.data[:12] + raw + r.data[12:]))
            for r in src.cap.records]
    return recs, {"what": "VLAN tags inserted in every Ethernet frame",
                  "tags": [{"tpid": "0x%04x" % t, "vid": v} for t, v in tags]}


def seqwrap(src):
    """Shifts sequence numbers so that every direction with data wraps past 2^32 halfway
    through its bytes; acknowledgments (and SACK blocks) of the peer shift alike."""
    shifts, notes, sizes, isn = {}, [], {}, {}
    for i, v in enumerate(src.views):
        if not v:
            continue
        d = src.cap.records[i].data
        key = (v.src, v.dst)
        if key not in isn or v.flags(d) & 0x02:
            isn.setdefault(key, v.seq(d))
        sizes[key] = sizes.get(key, 0) + v.payload_end - v.payload_off
    for key, start in isn.items():
        # data begins at ISN+1; put the wrap at half the bytes of this direction
        half = max(sizes[key] // 2, 1)
        shifts[key] = (2 ** 32 - (start + 1 + half)) % 2 ** 32
        notes.append({"from": endpoint_str(key[0]), "to": endpoint_str(key[1]), "bytes": sizes[key],
                      "original_isn": start, "new_isn": (start + shifts[key]) % 2 ** 32,
                      "wraps_after_byte": half})
    recs = []
    for i, r in enumerate(src.cap.records):
        d = bytearray(r.data)
        v = src.views[i]
        if v:
            mine, peer = shifts.get((v.src, v.dst), 0), shifts.get((v.dst, v.src), 0)
            struct.pack_into("!I", d, v.tcp_off + 4, (v.seq(d) + mine) % 2 ** 32)
            if v.flags(d) & 0x10:
                struct.pack_into("!I", d, v.tcp_off + 8, (v.ack(d) + peer) % 2 ** 32)
            shift_sack(d, v, peer)
            pcapfile.fix_tcp_checksum(d, v)
        recs.append(pcapfile.Record(r.sec, r.frac, r.orig_len, d))
    return recs, {"what": "sequence and acknowledgment numbers shifted per direction so each wraps 2^32 "
                          "mid-transfer; TCP checksums recomputed", "directions": notes}


def shift_sack(d, v, delta):
    off, end = v.tcp_off + 20, v.payload_off
    while off < end:
        kind = d[off]
        if kind == 0:
            return
        if kind == 1:
            off += 1
            continue
        length = d[off + 1]
        if kind == 5:
            for b in range(off + 2, off + length, 4):
                struct.pack_into("!I", d, b, (struct.unpack_from("!I", d, b)[0] + delta) % 2 ** 32)
        off += max(length, 2)


def truncated_file(src_path):
    """The file cut in the middle of a record's packet bytes, at ~60 % of the file."""
    raw = open(src_path, "rb").read()
    cap = pcapfile.read(src_path)
    off, n = 24, 0
    for r in cap.records:
        if off > len(raw) * 0.6:
            break
        off += 16 + len(r.data)
        n += 1
    cut = off + 16 + len(cap.records[n].data) // 2
    return raw[:cut], {"what": "file cut in the middle of a record's packet data",
                       "complete_records": n, "cut_at_byte": cut, "source_bytes": len(raw)}


JOBS = [
    ("large-body-reordered", "large-body", reordered),
    ("large-body-duplicated", "large-body", duplicated),
    ("large-body-dropped-body", "large-body", dropped_body),
    ("large-body-seqwrap", "large-body", seqwrap),
    ("keepalive-curl-dropped-headers", "keepalive-curl", dropped_headers),
    ("keepalive-curl-midstream", "keepalive-curl", midstream),
    ("keepalive-curl-midstream-request", "keepalive-curl", midstream_request),
    ("keepalive-curl-syn-retransmitted", "keepalive-curl", syn_retransmitted),
    ("keepalive-curl-snaplen96", "keepalive-curl", snaplen96),
    ("keepalive-curl-vlan", "keepalive-curl", lambda s: vlan(s, [(0x8100, 100)])),
    ("keepalive-curl-qinq", "keepalive-curl", lambda s: vlan(s, [(0x88A8, 200), (0x8100, 100)])),
]


def main():
    http_dir = sys.argv[1]
    out = os.path.join(http_dir, "damaged")
    os.makedirs(out, exist_ok=True)
    cache = {}
    for name, source, fn in JOBS:
        if source not in cache:
            cache[source] = Packets(os.path.join(http_dir, source + ".pcap"))
        src = cache[source]
        recs, info = fn(src)
        changes = {"snaplen": 96} if fn is snaplen96 else {}
        pcapfile.write(os.path.join(out, name + ".pcap"), with_records(src, recs, **changes))
        info = {"source": "http/%s.pcap" % source, **info}
        with open(os.path.join(out, name + ".damage.json"), "w") as f:
            json.dump(info, f, indent=1)
            f.write("\n")
        print("damage: %s (%d packets)" % (name, len(recs)))
    raw, info = truncated_file(os.path.join(http_dir, "keepalive-curl.pcap"))
    with open(os.path.join(out, "keepalive-curl-truncated.pcap"), "wb") as f:
        f.write(raw)
    with open(os.path.join(out, "keepalive-curl-truncated.damage.json"), "w") as f:
        json.dump({"source": "http/keepalive-curl.pcap", **info}, f, indent=1)
        f.write("\n")
    print("damage: keepalive-curl-truncated (%d complete records)" % info["complete_records"])


if __name__ == "__main__":
    main()
