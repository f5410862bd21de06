#!/usr/bin/env python3
"""The floods fuzz18 measured peak RSS with (captures/README.md, "Floods"): too large to keep, made
again in seconds. Standard library only.

  make-flood-captures.py tls-held OUT N R S [K]   N TLS 1.3 connections (ClientHello, ServerHello)
      whose key is never logged, each server then sending R segments of K records of S bytes; all
      open at once, within 1 s of packet time (replay with --tls-keylog naming any other key).
  make-flood-captures.py tls-hello OUT N S        N connections whose client sends one ClientHello
      record of about S bytes (a padding extension) and stays open.
  make-flood-captures.py fragments OUT N OFFSET SIZE   N fragments (MF set) of distinct IPv4
      datagrams that never complete, SIZE bytes at OFFSET.
  make-flood-captures.py dsb OUT MIB PATTERN      a pcapng with one Decryption Secrets Block (TLSK)
      of MIB MiB of PATTERN repeated (e.g. 'a\\n'), and one packet.
"""
import os, struct, sys

ETH = b'\x02' * 6 + b'\x04' * 6 + b'\x08\x00'


class Pcap:
    def __init__(self, path):
        self.f = open(path, 'wb')
        self.f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        self.n = 0

    def frame(self, d):
        self.n += 1
        self.f.write(struct.pack('<IIII', 1000 + self.n // 1000000, self.n % 1000000, len(d), len(d)))
        self.f.write(d)

    def tcp(self, src, dst, sport, dport, seq, ack, flags, payload):
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40 + len(payload), 0, 0, 64, 6, 0, src, dst)
        tcp = struct.pack('!HHIIBBHHH', sport, dport, seq & 0xffffffff, ack & 0xffffffff, 0x50, flags, 65535, 0, 0)
        self.frame(ETH + ip + tcp + payload)


def rec(typ, body): return bytes([typ, 3, 3]) + struct.pack('!H', len(body)) + body
def msg(typ, body): return bytes([typ]) + len(body).to_bytes(3, 'big') + body
def client(i): return bytes([10, 1 + ((i >> 16) & 0xff), (i >> 8) & 0xff, i & 0xff]), 10000 + i % 50000


def tls_held(out, n, r, s, k=1):
    p, conns, server = Pcap(out), [], bytes([10, 0, 0, 1])
    ext = b'\x00\x2b\x00\x02\x03\x04'
    for i in range(n):
        c, port = client(i)
        ch = rec(0x16, msg(1, b'\x03\x03' + os.urandom(32) + b'\x00\x00\x02\x13\x01\x01\x00\x00\x00'))
        sh = rec(0x16, msg(2, b'\x03\x03' + os.urandom(32) + b'\x00\x13\x01\x00' + struct.pack('!H', len(ext)) + ext))
        p.tcp(c, server, port, 443, 999, 0, 0x02, b'')
        p.tcp(server, c, 443, port, 4999, 1000, 0x12, b'')
        p.tcp(c, server, port, 443, 1000, 5000, 0x18, ch)
        p.tcp(server, c, 443, port, 5000, 1000 + len(ch), 0x18, sh)
        conns.append([c, port, 1000 + len(ch), 5000 + len(sh)])
    body = rec(0x17, b'\xaa' * s) * k
    for _ in range(r):
        for cc in conns:
            p.tcp(server, cc[0], 443, cc[1], cc[3], cc[2], 0x18, body)
            cc[3] += len(body)
    for c, port, cseq, sseq in conns:
        p.tcp(c, server, port, 443, cseq, sseq, 0x11, b'')
        p.tcp(server, c, 443, port, sseq, cseq + 1, 0x11, b'')


def tls_hello(out, n, s):
    p, server = Pcap(out), bytes([10, 0, 0, 1])
    for i in range(n):
        c, port = client(i)
        pad = s - 100
        ext = b'\x00\x15' + struct.pack('!H', pad) + b'\0' * pad
        ch = rec(0x16, msg(1, b'\x03\x03' + os.urandom(32) + b'\x00\x00\x02\x13\x01\x01\x00' + struct.pack('!H', len(ext)) + ext))
        p.tcp(c, server, port, 443, 999, 0, 0x02, b'')
        p.tcp(server, c, 443, port, 4999, 1000, 0x12, b'')
        p.tcp(c, server, port, 443, 1000, 5000, 0x18, ch)


def fragments(out, n, offset, size):
    p = Pcap(out)
    for i in range(n):
        src = bytes([10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff])
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + size, i & 0xffff, (offset // 8) | 0x2000, 64, 6, 0, src, bytes([10, 0, 0, 1]))
        p.frame(ETH + ip + b'\xab' * size)


def dsb(out, mib, pattern):
    def block(t, body):
        body += b'\0' * (-len(body) % 4)
        return struct.pack('<II', t, len(body) + 12) + body + struct.pack('<I', len(body) + 12)
    size = int(mib * 2**20)
    secrets = (pattern * (size // len(pattern) + 1))[:size]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, 0, 0, 64, 6, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    pkt = ETH + ip + struct.pack('!HHIIBBHHH', 1234, 80, 0, 0, 0x50, 2, 1024, 0, 0)
    with open(out, 'wb') as f:
        f.write(block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1)))
        f.write(block(1, struct.pack('<HHI', 1, 0, 65535)))
        f.write(block(10, struct.pack('<II', 0x544C534B, len(secrets)) + secrets))
        f.write(block(6, struct.pack('<IIIII', 0, 0, 0, len(pkt), len(pkt)) + pkt))


kind, out, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
if kind == 'tls-held':
    tls_held(out, *map(int, rest))
elif kind == 'tls-hello':
    tls_hello(out, *map(int, rest))
elif kind == 'fragments':
    fragments(out, *map(int, rest))
elif kind == 'dsb':
    dsb(out, float(rest[0]), rest[1].encode().decode('unicode_escape').encode())
else:
    sys.exit(__doc__)
