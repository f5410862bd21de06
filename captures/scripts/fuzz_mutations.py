"""The mutations of the capture fuzzers (fuzz_replay.py, fuzz_sharded.py): a classic-pcap fixture
read into records, changed at random, written back. Standard library only."""
import struct


def read(path):
    """The file's header and its records [seconds, fraction, bytes, orig_len]; (None, None) for a file
    that is not classic pcap in this machine's byte order."""
    d = open(path, 'rb').read()
    magic = struct.unpack('<I', d[:4])[0]
    if magic not in (0xa1b2c3d4, 0xa1b23c4d): return None, None
    hdr = d[:24]; recs = []; off = 24
    while off + 16 <= len(d):
        ts1, ts2, incl, orig = struct.unpack('<IIII', d[off:off+16])
        recs.append([ts1, ts2, bytearray(d[off+16:off+16+incl]), orig]); off += 16 + incl
    return hdr, recs


def write(path, hdr, recs, rng):
    """The records as a pcap file; orig_len kept mostly (a cut record then looks like snaplen)."""
    with open(path, 'wb') as f:
        f.write(hdr)
        for ts1, ts2, b, orig in recs:
            f.write(struct.pack('<IIII', ts1, ts2, len(b), max(orig, len(b)) if rng.random() < 0.9 else len(b)))
            f.write(b)


def mutate(recs, rng):
    """1-20 of: bytes of a TCP payload set to random or HTTP/JSON-significant values, a byte of the
    IP/TCP headers changed, a record cut, two records swapped, a record duplicated, a record removed.
    The records left (possibly none)."""
    n = len(recs)
    for _ in range(rng.randint(1, 20)):
        r = rng.random(); i = rng.randrange(n)
        b = recs[i][2]
        if r < 0.5 and len(b) > 54:
            for _ in range(rng.randint(1, 8)):
                j = rng.randrange(54, len(b)); b[j] = rng.choice([rng.randrange(256), 0x0d, 0x0a, 0x20, 0x30, 0x3a, 0x22, 0x7b, 0x7d, 0xff, 0])
        elif r < 0.6 and len(b) > 14:
            j = rng.randrange(14, min(len(b), 60)); b[j] = rng.randrange(256)
        elif r < 0.7:
            del b[rng.randrange(len(b)+1):]
        elif r < 0.8:
            j = rng.randrange(n); recs[i], recs[j] = recs[j], recs[i]
        elif r < 0.9:
            recs.insert(rng.randrange(n), [recs[i][0], recs[i][1], bytearray(b), recs[i][3]]); n += 1
        else:
            del recs[i]; n -= 1
            if n == 0: break
    return recs
