"""Classic pcap reading/writing and Ethernet/IPv4/IPv6/TCP field access, standard library only.

Used by damage.py. Reads pcap with microsecond or nanosecond timestamps in
either byte order; writes little-endian pcap with the same precision.
"""
import struct
from dataclasses import dataclass, field

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D
LINKTYPE_ETHERNET = 1


@dataclass
class Record:
    sec: int
    frac: int  # microseconds or nanoseconds, as the file's precision
    orig_len: int
    data: bytearray


@dataclass
class Capture:
    nanos: bool
    snaplen: int
    linktype: int
    records: list = field(default_factory=list)


def read(path, allow_truncated=False):
    """The whole file; with allow_truncated, the records before a cut-off last one."""
    raw = open(path, "rb").read()
    magic_le = struct.unpack_from("<I", raw, 0)[0]
    if magic_le in (MAGIC_US, MAGIC_NS):
        e = "<"
    elif struct.unpack_from(">I", raw, 0)[0] in (MAGIC_US, MAGIC_NS):
        e = ">"
    else:
        raise ValueError("%s: not a classic pcap file" % path)
    magic, _maj, _min, _tz, _sig, snaplen, linktype = struct.unpack_from(e + "IHHiIII", raw, 0)
    cap = Capture(nanos=magic == MAGIC_NS, snaplen=snaplen, linktype=linktype & 0x0FFFFFFF)
    off = 24
    while off + 16 <= len(raw):
        sec, frac, incl, orig = struct.unpack_from(e + "IIII", raw, off)
        off += 16
        if off + incl > len(raw):
            if allow_truncated:
                break
            raise ValueError("%s: truncated record at offset %d" % (path, off - 16))
        cap.records.append(Record(sec, frac, orig, bytearray(raw[off:off + incl])))
        off += incl
    return cap


def encode(cap):
    out = bytearray(struct.pack("<IHHiIII", MAGIC_NS if cap.nanos else MAGIC_US, 2, 4, 0, 0,
                                cap.snaplen, cap.linktype))
    for r in cap.records:
        out += struct.pack("<IIII", r.sec, r.frac, len(r.data), r.orig_len)
        out += r.data
    return out


def write(path, cap):
    with open(path, "wb") as f:
        f.write(encode(cap))


@dataclass
class TCPView:
    """Offsets of one Ethernet/IP/TCP packet's layers within Record.data."""
    ip_off: int
    version: int
    tcp_off: int
    payload_off: int
    payload_end: int
    src: tuple  # (ip bytes, port)
    dst: tuple

    def seq(self, d):
        return struct.unpack_from("!I", d, self.tcp_off + 4)[0]

    def ack(self, d):
        return struct.unpack_from("!I", d, self.tcp_off + 8)[0]

    def flags(self, d):
        return d[self.tcp_off + 13]

    def payload(self, d):
        return bytes(d[self.payload_off:self.payload_end])


LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276


def tcp_view(d, linktype=LINKTYPE_ETHERNET):
    """Parses Ethernet (with any 802.1Q/QinQ tags) or Linux cooked SLL/SLL2 /
    IPv4|IPv6 / TCP, else None."""
    if linktype == LINKTYPE_LINUX_SLL2:
        etype, off = struct.unpack_from("!H", d, 0)[0], 20
    elif linktype == LINKTYPE_LINUX_SLL:
        etype, off = struct.unpack_from("!H", d, 14)[0], 16
    else:
        off = 12
        etype = struct.unpack_from("!H", d, off)[0]
        off += 2
    while etype in (0x8100, 0x88A8):
        etype = struct.unpack_from("!H", d, off + 2)[0]
        off += 4
    if etype == 0x0800:
        ihl = (d[off] & 0x0F) * 4
        if d[off + 9] != 6:
            return None
        total = struct.unpack_from("!H", d, off + 2)[0]
        src_ip, dst_ip = bytes(d[off + 12:off + 16]), bytes(d[off + 16:off + 20])
        tcp = off + ihl
        end = off + total
        version = 4
    elif etype == 0x86DD:
        if d[off + 6] != 6:
            return None  # extension headers: not in these fixtures
        plen = struct.unpack_from("!H", d, off + 4)[0]
        src_ip, dst_ip = bytes(d[off + 8:off + 24]), bytes(d[off + 24:off + 40])
        tcp = off + 40
        end = tcp + plen
        version = 6
    else:
        return None
    sport, dport = struct.unpack_from("!HH", d, tcp)
    doff = (d[tcp + 12] >> 4) * 4
    return TCPView(off, version, tcp, tcp + doff, min(end, len(d)), (src_ip, sport), (dst_ip, dport))


def fix_tcp_checksum(d, v):
    """Recomputes the TCP checksum (RFC 793 §3.1 pseudo-header) after a rewrite."""
    seg = bytearray(d[v.tcp_off:v.payload_end])
    seg[16:18] = b"\0\0"
    if v.version == 4:
        pseudo = v.src[0] + v.dst[0] + struct.pack("!BBH", 0, 6, len(seg))
    else:
        pseudo = v.src[0] + v.dst[0] + struct.pack("!IxxxB", len(seg), 6)
    data = pseudo + seg + (b"\0" if len(seg) % 2 else b"")
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    struct.pack_into("!H", d, v.tcp_off + 16, ~s & 0xFFFF)
