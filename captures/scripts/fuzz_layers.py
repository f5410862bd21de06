#!/usr/bin/env python3
"""Structure-aware mutants of the TLS and IP-fragment fixtures, replayed like fuzz_replay.py's: the
replay must exit 0 or 1 within a time limit, never die of a signal or a trap.

  captures/scripts/fuzz_layers.py BINARY SECONDS [SEED] [tls|frag|both]

tls: a capture of http/tls-decrypt/ replayed with its own key log (--tls-keylog), so that records
left alone authenticate and the decryptor gets past them to what was changed. Edits at the record
layer of the TCP payloads (records found from each segment's start): a record length (0, +-1, 2^14
+ 256, + 2048, + 2049, 0xffff), a content type, a record version, a handshake message's type or
length, a ServerHello's cipher suite (TLS 1.3, 1.2 AEAD, CBC, unknown), its supported_versions value
or session id length, a ClientHello's random (its key is then not found); and records inserted
(TCP sequence numbers of the rest of the direction shifted, so the stream stays whole): a copy of a
protected record (a replay: its sequence number is wrong), ChangeCipherSpec, alerts (close_notify
and fatal), empty records, a KeyUpdate in the clear, a handshake record of junk, a header of
length 0xffff; a record overwritten in place by a run of empty records; records after the last
one (after close_notify).

frag: a capture of http/ whose IP packets (IPv4 and IPv6) are cut into fragments: in order,
shuffled, 8-byte pieces (past the 256-fragment bound), overlapping pieces with other bytes,
duplicates, MF set on the last, the last missing, a piece at an offset near 65,535 (past it too),
a length not a multiple of 8 before the end, IPv6 fragment headers after a hop-by-hop or
destination-options header, a fragment header in a fragment (fragments of fragments),
identifications shared between datagrams.

A crashing or hanging mutant is kept as layers-crash-N.pcap (with its key log path printed).
Standard library only.
"""
import glob, json, os, random, struct, subprocess, sys, time

BIN = sys.argv[1]
seconds = float(sys.argv[2])
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
MODE = sys.argv[4] if len(sys.argv) > 4 else 'both'
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TLS = [f for f in sorted(glob.glob(os.path.join(ROOT, 'http', 'tls-decrypt', '*.pcap')))
       if os.path.exists(f[:-5] + '.keylog')]
FRAG = sorted(glob.glob(os.path.join(ROOT, 'http', 'fragments', '*.pcap'))) + \
    sorted(glob.glob(os.path.join(ROOT, 'http', '*.pcap')))[:20]


def read(path):
    d = open(path, 'rb').read()
    recs, off = [], 24
    while off + 16 <= len(d):
        s, f, incl, orig = struct.unpack('<IIII', d[off:off + 16])
        recs.append([s, f, bytearray(d[off + 16:off + 16 + incl])])
        off += 16 + incl
    return d[:24], recs


def write(path, hdr, recs):
    with open(path, 'wb') as f:
        f.write(hdr[:16] + struct.pack('<I', 262144) + hdr[20:24])
        for s, fr, b in recs:
            f.write(struct.pack('<IIII', s, fr, len(b), len(b)))
            f.write(b)


def ip_of(b):
    """(ip offset, version) of an Ethernet frame (one VLAN tag allowed), or None."""
    if len(b) < 14:
        return None
    et, off = struct.unpack('!H', b[12:14])[0], 14
    if et == 0x8100 and len(b) >= 18:
        et, off = struct.unpack('!H', b[16:18])[0], 18
    if et == 0x0800 and len(b) >= off + 20:
        return off, 4
    if et == 0x86DD and len(b) >= off + 40:
        return off, 6
    return None


def tcp_of(b):
    """(flow key, tcp offset, payload offset, payload end) of a TCP segment, or None."""
    ip = ip_of(b)
    if not ip:
        return None
    off, v = ip
    if v == 4:
        ihl = (b[off] & 15) * 4
        if b[off + 9] != 6 or struct.unpack('!H', b[off + 6:off + 8])[0] & 0x3FFF:
            return None
        end = off + struct.unpack('!H', b[off + 2:off + 4])[0]
        src, dst, t = bytes(b[off + 12:off + 16]), bytes(b[off + 16:off + 20]), off + ihl
    else:
        if b[off + 6] != 6:
            return None
        end = off + 40 + struct.unpack('!H', b[off + 4:off + 6])[0]
        src, dst, t = bytes(b[off + 8:off + 24]), bytes(b[off + 24:off + 40]), off + 40
    if len(b) < t + 20:
        return None
    sport, dport = struct.unpack('!HH', b[t:t + 4])
    p = t + (b[t + 12] >> 4) * 4
    return (src, dst, sport, dport), t, p, min(end, len(b))


def set_ip_length(b, delta):
    off, v = ip_of(b)
    if v == 4:
        struct.pack_into('!H', b, off + 2, struct.unpack('!H', b[off + 2:off + 4])[0] + delta)
    else:
        struct.pack_into('!H', b, off + 4, struct.unpack('!H', b[off + 4:off + 6])[0] + delta)


def records_in(b, p, end):
    """Offsets of the TLS record headers found walking from the payload's start."""
    out = []
    while p + 5 <= end and 0x14 <= b[p] <= 0x17 and b[p + 1] == 3:
        out.append(p)
        p += 5 + struct.unpack('!H', b[p + 3:p + 5])[0]
    return out


def rec(t, body, v=0x0303):
    return bytes([t]) + struct.pack('!HH', v, len(body)) + body


def msg(t, body):
    return bytes([t]) + len(body).to_bytes(3, 'big') + body


def insert(recs, i, data):
    """Puts `data` in a new segment after segment i of its flow, shifting that direction's later sequence numbers."""
    s, fr, b = recs[i]
    key, t, p, end = tcp_of(b)
    nb = bytearray(b[:p]) + bytearray(data)
    set_ip_length(nb, len(data) - (end - p))
    seq = struct.unpack('!I', b[t + 4:t + 8])[0]
    struct.pack_into('!I', nb, t + 4, (seq + (end - p)) & 0xFFFFFFFF)
    for r in recs[i + 1:]:
        x = tcp_of(r[2])
        if x and x[0] == key:
            struct.pack_into('!I', r[2], x[1] + 4, (struct.unpack('!I', r[2][x[1] + 4:x[1] + 8])[0] + len(data)) & 0xFFFFFFFF)
    recs.insert(i + 1, [s, fr, nb])


def mutate_tls(recs):
    segs = [(i, tcp_of(r[2])) for i, r in enumerate(recs)]
    segs = [(i, x) for i, x in segs if x and x[3] > x[2]]
    if not segs:
        return
    for _ in range(rng.randint(1, 4)):
        i, (key, t, p, end) = rng.choice(segs)
        b = recs[i][2]
        heads = records_in(b, p, end)
        r = rng.random()
        if heads and r < 0.55:
            h = rng.choice(heads)
            length = struct.unpack('!H', b[h + 3:h + 5])[0]
            k = rng.random()
            if k < 0.2:
                struct.pack_into('!H', b, h + 3, rng.choice([0, 1, max(0, length - 1), min(0xFFFF, length + 1), 16640, 18432, 18433, 0xFFFF]))
            elif k < 0.3:
                b[h] = rng.choice([0x14, 0x15, 0x16, 0x17, 0x18, 0, 0xFF])
            elif k < 0.35:
                struct.pack_into('!H', b, h + 1, rng.choice([0x0300, 0x0301, 0x0304, 0, 0xFFFF]))
            elif b[h] == 0x16 and h + 9 <= end and k < 0.55:
                if rng.random() < 0.5:
                    b[h + 5] = rng.choice([0, 1, 2, 4, 8, 11, 20, 24, 255])
                else:
                    n = struct.unpack('!I', b'\0' + bytes(b[h + 6:h + 9]))[0]
                    b[h + 6:h + 9] = rng.choice([0, 1, max(0, n - 1), min(0xFFFFFF, n + 1), 0xFFFFFF, 0x10000, 0x4000]).to_bytes(3, 'big')
            elif b[h] == 0x16 and b[h + 5] == 2 and h + 9 + 35 <= end:
                sid = h + 9 + 34
                cs = sid + 1 + b[sid]
                k2 = rng.random()
                if k2 < 0.5 and cs + 2 <= end:
                    struct.pack_into('!H', b, cs, rng.choice([0x1301, 0x1302, 0x1303, 0x1304, 0x1305, 0xC02F, 0xC030, 0xCCA8,
                                                            0x009C, 0x009D, 0x002F, 0xC013, 0xC09C, 0, 0xFFFF]))
                elif k2 < 0.8:
                    at = bytes(b[cs:end]).find(b'\x00\x2b\x00\x02')
                    if at >= 0 and cs + at + 6 <= end:
                        struct.pack_into('!H', b, cs + at + 4, rng.choice([0x0303, 0x0304, 0x0302, 0x7F1C, 0xFFFF, 0]))
                else:
                    b[sid] = rng.choice([0, 32, 33, 255])
            elif b[h] == 0x16 and b[h + 5] == 1 and h + 9 + 34 <= end:
                j = h + 11 + rng.randrange(32)
                b[j] ^= 1 + rng.randrange(255)
            else:
                j = rng.randrange(h, min(end, h + 64))
                b[j] = rng.randrange(256)
        elif r < 0.9:
            protected = [recs[j][2][h:h + 5 + struct.unpack('!H', recs[j][2][h + 3:h + 5])[0]]
                         for j, x in segs for h in records_in(recs[j][2], x[2], x[3]) if recs[j][2][h] == 0x17]
            choice = rng.random()
            if choice < 0.3 and protected:
                data = bytes(rng.choice(protected)) * rng.randint(1, 3)
            elif choice < 0.4:
                data = rec(0x14, b'\x01') * rng.randint(1, 4)
            elif choice < 0.5:
                data = rec(0x15, rng.choice([b'\x01\x00', b'\x02\x28', b'\x02']))
            elif choice < 0.6:
                data = rec(rng.choice([0x14, 0x15, 0x16, 0x17]), b'') * rng.randint(1, 5000)
            elif choice < 0.7:
                data = rec(0x16, msg(24, b'\x01')) * rng.randint(1, 100)
            elif choice < 0.8:
                data = rec(0x16, bytes(rng.randrange(256) for _ in range(rng.randrange(300))))
            elif choice < 0.9:
                data = b'\x17\x03\x03\xff\xff' + bytes(rng.randrange(256) for _ in range(rng.randrange(2000)))
            else:
                data = rec(0x16, msg(2, b'\x03\x03' + bytes(32) + b'\x00\x13\x01\x00\x00\x06\x00\x2b\x00\x02\x03\x04'))
            # after a segment of this flow, or after the last one of its direction (after close_notify)
            same = [j for j, x in segs if x[0] == key]
            insert(recs, rng.choice([i, same[-1]]), data)
            segs = [(j, tcp_of(rr[2])) for j, rr in enumerate(recs)]
            segs = [(j, x) for j, x in segs if x and x[3] > x[2]]
        elif heads:
            h = rng.choice(heads)
            total = 5 + struct.unpack('!H', b[h + 3:h + 5])[0]
            if h + total <= end and total >= 10:
                n = total // 5
                flood = rec(0x17, b'') * (n - 1)
                b[h:h + total] = flood + rec(0x17, b'\0' * (total - len(flood) - 5))


def fragments_of(b, strategy):
    """The frames a frame's IP datagram is cut into (Ethernet header kept), or None."""
    ip = ip_of(b)
    if not ip:
        return None
    off, v = ip
    eth = bytes(b[:off])
    if v == 4:
        ihl = (b[off] & 15) * 4
        total = struct.unpack('!H', b[off + 2:off + 4])[0]
        if struct.unpack('!H', b[off + 6:off + 8])[0] & 0x3FFF or total > len(b) - off or total - ihl < 16:
            return None
        header, payload = bytes(b[off:off + ihl]), bytes(b[off + ihl:off + total])
        ident = rng.choice([rng.randrange(65536), 1, 0])
    else:
        plen = struct.unpack('!H', b[off + 4:off + 6])[0]
        if plen > len(b) - off - 40 or plen < 16:
            return None
        header, payload = bytes(b[off:off + 40]), bytes(b[off + 40:off + 40 + plen])
        ident = rng.choice([rng.randrange(2**32), 1, 0])
    n = len(payload)

    def frame(start, data, more):
        if v == 4:
            h = bytearray(header)
            struct.pack_into('!HHH', h, 2, len(h) + len(data), ident & 0xFFFF, (start // 8) & 0x1FFF | (0x2000 if more else 0))
            h[10:12] = b'\0\0'
            s = sum(struct.unpack('!%dH' % (len(h) // 2), bytes(h)))
            while s >> 16:
                s = (s & 0xFFFF) + (s >> 16)
            struct.pack_into('!H', h, 10, ~s & 0xFFFF)
            return bytearray(eth) + h + data
        h = bytearray(header)
        nxt = h[6]
        ext = b''
        first = 44
        if strategy == 'ext':
            # a hop-by-hop or destination-options header before the fragment header
            first = rng.choice([0, 60])
            ext = bytes([44, 0]) + bytes(6)
        frag = struct.pack('!BBHI', nxt, 0, (start // 8) << 3 | (1 if more else 0), ident)
        if strategy == 'nested':
            frag = struct.pack('!BBHI', 44, 0, 0, ident ^ 1) + frag  # a fragment header inside one
        h[6] = first if ext else 44
        struct.pack_into('!H', h, 4, len(ext) + len(frag) + len(data))
        return bytearray(eth) + h + ext + frag + data

    size = rng.choice([8, 16, 24, 64, 512, 1280])
    cuts = list(range(0, n, size))
    pieces = [(c, payload[c:c + size]) for c in cuts]
    out = [[c, d, c + len(d) < n] for c, d in pieces]
    if strategy == 'shuffle':
        rng.shuffle(out)
    elif strategy == 'overlap' and len(out) > 1:
        c, d, m = out[rng.randrange(len(out))]
        shift = rng.choice([-8, 8, 0])
        out.insert(rng.randrange(len(out) + 1), [max(0, c + shift), bytes(rng.randrange(256) for _ in d), m])
    elif strategy == 'duplicate':
        out.insert(rng.randrange(len(out) + 1), list(rng.choice(out)))
    elif strategy == 'mf-last':
        out[-1][2] = True
    elif strategy == 'no-last':
        out.pop()
    elif strategy == 'high':
        at = rng.choice([65528, 65520, 65536 - 8 * ((n + 7) // 8), 65535 - (65535 % 8)])
        out.insert(rng.randrange(len(out) + 1), [at, payload[:rng.choice([8, 16, 24])], rng.random() < 0.5])
    elif strategy == 'odd':
        if len(out) > 1:
            j = rng.randrange(len(out) - 1)
            out[j][1] = out[j][1][:-rng.randint(1, 7)]
    return [frame(c, d, m) for c, d, m in out]


STRATEGIES = ['order', 'shuffle', 'overlap', 'duplicate', 'mf-last', 'no-last', 'high', 'odd', 'ext', 'nested']


def mutate_frag(recs):
    candidates = [i for i, r in enumerate(recs) if ip_of(r[2])]
    if not candidates:
        return
    picked = sorted(rng.sample(candidates, min(len(candidates), rng.randint(1, 6))), reverse=True)
    for i in picked:
        frames = fragments_of(recs[i][2], rng.choice(STRATEGIES))
        if frames:
            s, fr, _ = recs[i]
            recs[i:i + 1] = [[s, fr, f] for f in frames]


end = time.time() + seconds
runs = crashes = 0
totals = {}
while time.time() < end:
    mode = MODE if MODE != 'both' else rng.choice(['tls', 'frag'])
    src = rng.choice(TLS if mode == 'tls' else FRAG)
    hdr, recs = read(src)
    if not recs:
        continue
    (mutate_tls if mode == 'tls' else mutate_frag)(recs)
    write('layers-case.pcap', hdr, recs)
    args = [BIN, 'replay', 'layers-case.pcap', '--syscode', 'A123010101', '--no-progress', '--json',
            '--output', '/dev/null', '--exchanges', '/dev/null']
    if mode == 'tls':
        args += ['--tls-keylog', src[:-5] + '.keylog']
    if rng.random() < 0.5:
        args += ['--inbound-port', '443', '--inbound-port', '8443', '--inbound-port', '18080', '--inbound-port', '8080']
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        rc, p = 'timeout', None
    runs += 1
    if rc not in (0, 1):
        crashes += 1
        keep = 'layers-crash-%d.pcap' % crashes
        os.rename('layers-case.pcap', keep)
        print('CRASH rc=%s mode=%s src=%s kept=%s args=%s\n%s' % (rc, mode, src, keep, args[3:], p.stderr[-2000:] if p else ''), flush=True)
        continue
    if rc == 0:
        try:
            s = json.loads(p.stdout)
        except ValueError:
            continue
        for k, v in list(s.get('tls_failures', {}).items()) + list(s.get('ip_fragments_dropped', {}).items()):
            totals[k] = totals.get(k, 0) + v
        for k in ('reassembled_datagrams', 'ip_fragments'):
            totals[k] = totals.get(k, 0) + s.get(k, 0)
        for k in ('records_decrypted', 'records_failed', 'decrypted_connections', 'resynchronisations', 'key_updates'):
            totals[k] = totals.get(k, 0) + s.get('tls', {}).get(k, 0)
print('runs', runs, 'crashes', crashes)
print(json.dumps(totals, sort_keys=True))
