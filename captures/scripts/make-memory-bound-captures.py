#!/usr/bin/env python3
"""Writes captures that fill every memory bound of channel-exporter at once: replayed in order in
one run (`channel-exporter replay OUT/*.pcap` sorts them right: the names begin with their order),
nothing is answered or closed before the end, so every bound is full at the last packet.

  captures/scripts/make-memory-bound-captures.py OUT_DIR [--parts 1,2,...] [--connections N]
      [--request-head BYTES] [--amqp-consumers N] [--consumers-per-channel N] [--deliveries N]
      [--label-requests N] [--consumer-topics N]

1-labels.pcap: long-label series in the five families, on a few keep-alive connections, all
  answered: inbound (port 8080: own 2 KB path and 2 KB Method-Code), external_calls and
  external_call_duration_seconds (port 80: own 2 KB Method-Code and T-Code), partner_http_metrics
  (a partner-table host: own 2 KB body code): `--label-requests` each (default 3,000: past the
  4 MiB label bytes of each family); and the consumer family: `--consumer-topics` acked deliveries
  (default 12,000: past the 10,000 series), each with its own 255-byte queue as routing key.
2-http-connections.pcap: N client connections to port 8080 (default: 262,144 less those the
  later parts open, so no connection is evicted), each pipelining 64 minimal GETs nobody answers
  (the pending queue's bound) and then 1 KiB of a request head that never ends; with
  `--request-head BYTES`, one GET each whose head of that size is whole in one segment instead.
3-http-bodies.pcap: 400 connections each pipelining 64 unanswered POSTs with a 32 KiB JSON body
  (the kept bytes of body prefixes; the README's earlier measurement).
4-amqp.pcap: 64 AMQP connections (port 5672; frame_max 0 negotiated, so 1 MiB method frames), each
  opening channels with consumers (255-byte tags and queues; `--amqp-consumers` in all, default
  65,536, `--consumers-per-channel` a channel, default 1,024), then `--deliveries` unacked
  deliveries (default 1,048,576 + 1,024: past the total) with an unknown 255-byte consumer tag and
  a 255-byte routing key, then 1 MiB less a byte of a method frame that never ends (64 x 1 MiB:
  the split method frame bound).
5-out-of-order.pcap: 65 connections to port 8080 that lose their first byte and then send 4 MiB
  (the per-connection bound) in 32 KiB segments (65 x 4 MiB: past the 256 MiB total).

Ethernet/IPv4/TCP with handshakes and exact sequence numbers (checksums 0), microsecond
timestamps one microsecond apart (the whole set spans a few seconds of packet time: no idle
expiry, and the out-of-order part comes last, well within the 2 s a hole may wait), one clock
over all files, deterministic.
"""
import os
import struct
import sys

SYN, PSH, ACK = 0x02, 0x08, 0x10
HTTP_SERVER = bytes([10, 0, 0, 1])
EXTERNAL_SERVER = bytes([10, 0, 0, 2])
PARTNER_SERVER = bytes([172, 16, 50, 35])
BROKER = bytes([10, 0, 0, 3])
MAX_CONNECTIONS = 262_144
OOO_CONNECTIONS = 65
BODY_CONNECTIONS = 400
AMQP_CONNECTIONS = 64


class Clock:
    usec = 1_700_000_000 * 1_000_000


class Writer:
    def __init__(self, path, clock):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.clock = clock

    def packet(self, src, dst, sport, dport, seq, ack, flags, payload=b""):
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0, src, dst)
        frame = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp + payload
        self.clock.usec += 1
        usec = self.clock.usec
        self.f.write(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame), len(frame)))
        self.f.write(frame)

    def close(self):
        self.f.close()


class Connection:
    """One TCP connection with its handshake; `send` and `answer` write in-order data."""

    def __init__(self, w, client, sport, server, dport):
        self.w, self.client, self.sport, self.server, self.dport = w, client, sport, server, dport
        self.c, self.s = 1000, 5000
        w.packet(client, server, sport, dport, self.c, 0, SYN)
        w.packet(server, client, dport, sport, self.s, self.c + 1, SYN | ACK)
        self.c += 1
        self.s += 1
        w.packet(client, server, sport, dport, self.c, self.s, ACK)

    def send(self, data, segment=1448):
        for off in range(0, len(data), segment):
            chunk = data[off:off + segment]
            self.w.packet(self.client, self.server, self.sport, self.dport, self.c, self.s, ACK | PSH, chunk)
            self.c += len(chunk)

    def answer(self, data, segment=1448):
        for off in range(0, len(data), segment):
            chunk = data[off:off + segment]
            self.w.packet(self.server, self.client, self.dport, self.sport, self.s, self.c, ACK | PSH, chunk)
            self.s += len(chunk)

    def send_at(self, offset, data):
        """A client segment `offset` bytes beyond the next expected one (out of order)."""
        self.w.packet(self.client, self.server, self.sport, self.dport, self.c + offset, self.s, ACK | PSH, data)


def client_address(index):
    """A distinct client for each index (10.64.0.0/10), one port each."""
    return bytes([10, 64 + (index >> 16), (index >> 8) & 255, index & 255]), 20000 + index % 40000


# AMQP 0-9-1 frames (amqp0-9-1.xml)

def shortstr(b):
    return bytes([len(b)]) + b


def frame(kind, channel, payload):
    return struct.pack("!BHI", kind, channel, len(payload)) + payload + b"\xce"


def method(channel, class_id, method_id, arguments):
    return frame(1, channel, struct.pack("!HH", class_id, method_id) + arguments)


def content_header(channel):
    return frame(2, channel, struct.pack("!HHQH", 60, 0, 0, 0))


def deliver(channel, consumer_tag, tag, routing_key):
    return method(channel, 60, 60, shortstr(consumer_tag) + struct.pack("!QB", tag, 0) + shortstr(b"")
                  + shortstr(routing_key)) + content_header(channel)


def amqp_connection(w, client, sport):
    conn = Connection(w, client, sport, BROKER, 5672)
    conn.send(b"AMQP\x00\x00\x09\x01")
    conn.answer(method(0, 10, 30, struct.pack("!HIH", 2047, 0, 60)))  # connection.tune
    conn.send(method(0, 10, 31, struct.pack("!HIH", 2047, 0, 60)))  # tune-ok, frame_max 0: 1 MiB frames
    return conn


def in_segments(conn, frames, direction, segment=65000):
    """Packs frames back to back into large segments (as a busy connection's would be)."""
    out = bytearray()
    for f in frames:
        out += f
        if len(out) >= segment:
            direction(bytes(out[:segment]), segment)
            del out[:segment]
    if out:
        direction(bytes(out), segment)


# The parts

def labels(w, requests, topics):
    pad = b"p" * 2000
    inbound = Connection(w, bytes([10, 2, 0, 1]), 30001, HTTP_SERVER, 8080)
    external = Connection(w, bytes([10, 2, 0, 2]), 30002, EXTERNAL_SERVER, 80)
    partner = Connection(w, bytes([10, 2, 0, 3]), 30003, PARTNER_SERVER, 38087)
    for n in range(requests):
        inbound.send(b"GET /api/item/%06d/%s HTTP/1.1\r\nHost: shop\r\nMethod-Code: M%06d%s\r\n\r\n" % (n, pad, n, pad))
        body = b'{"code":"%06d"}' % n
        inbound.answer(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        external.send(b"GET /ext HTTP/1.1\r\nHost: ext.example\r\nMethod-Code: E%06d%s\r\nT-Code: T%06d%s\r\n\r\n" % (n, pad, n, pad))
        external.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        partner.send(b"GET /youtu/api/facecompare HTTP/1.1\r\nHost: d002.youtu.realname.dzqd.cn:38087\r\n\r\n")
        body = b'{"code":"C%06d%s"}' % (n, pad)
        partner.answer(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    consumer = amqp_connection(w, bytes([10, 2, 0, 4]), 30004)
    consumer.send(method(1, 20, 10, shortstr(b"")))  # channel.open
    for n in range(topics):
        queue = b"q%06d" % n + b"q" * 248
        consumer.answer(deliver(1, b"unknown-consumer", n + 1, queue))
        consumer.send(method(1, 60, 80, struct.pack("!QB", n + 1, 0)))  # basic.ack


def http_connections(w, count, first, head_bytes):
    gets = b"GET / HTTP/1.1\r\n\r\n" * 64
    if head_bytes:
        # One request each, whose head (in one segment, as offloading captures have it) is mostly path.
        pad = head_bytes - len(b"GET / HTTP/1.1\r\nMethod-Code: \r\n\r\n")
        gets = b"GET /%s HTTP/1.1\r\nMethod-Code: %s\r\n\r\n" % (b"p" * (pad // 2), b"m" * (pad - pad // 2))
    split = b"GET /api/search HTTP/1.1\r\nHost: shop\r\nX-Pad: " + b"y" * 1024
    for i in range(first, first + count):
        conn = Connection(w, *client_address(i), HTTP_SERVER, 8080)
        conn.send(gets, len(gets))
        conn.send(split[:1024], 1024)


def http_bodies(w, first):
    for i in range(first, first + BODY_CONNECTIONS):
        conn = Connection(w, *client_address(i), HTTP_SERVER, 8080)
        for n in range(64):
            body = b'{"method_code":"P%d","pad":"' % n + b"x" * 32768 + b'"}'
            conn.send(b"POST /api/orders/%d HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (n, len(body), body))


def amqp(w, first, consumers, deliveries, per_channel=1024):
    connections = [amqp_connection(w, *client_address(first + i)) for i in range(AMQP_CONNECTIONS)]
    # Consumers: `per_channel` a channel (1,024: the bound), channels 1, 2, ... of each connection in turn.
    per_connection = -(-consumers // AMQP_CONNECTIONS)
    for k, conn in enumerate(connections):
        mine = min(per_connection, max(0, consumers - k * per_connection))
        frames = []
        for n in range(mine):
            channel = 1 + n // per_channel
            if n % per_channel == 0:
                frames.append(method(channel, 20, 10, shortstr(b"")))
            tag = b"c%d.%d." % (k, n) + b"t" * 240
            queue = b"q%d.%d." % (k, n) + b"q" * 240
            # basic.consume: reserved, queue, tag, bits (no-wait), arguments (empty table)
            frames.append(method(channel, 60, 20, struct.pack("!H", 0) + shortstr(queue[:255]) + shortstr(tag[:255])
                                 + b"\x08" + struct.pack("!I", 0)))
        in_segments(conn, frames, conn.send)
    # Deliveries: 65,536 a channel at most, on channels 2001... of each connection in turn.
    per_connection = -(-deliveries // AMQP_CONNECTIONS)
    for k, conn in enumerate(connections):
        mine = min(per_connection, max(0, deliveries - k * per_connection))
        frames = []
        for n in range(mine):
            channel, tag = 2001 + n // 65536, 1 + n % 65536
            frames.append(deliver(channel, b"u%d.%d." % (k, n) + b"u" * 240, tag, b"r%d.%d." % (k, n) + b"r" * 240))
        in_segments(conn, frames, conn.answer)
    # A method frame of 1 MiB (frame_max 0) that never ends: all of it but its frame-end.
    size = (1 << 20) - 8
    for conn in connections:
        conn.send(struct.pack("!BHI", 1, 1, size) + struct.pack("!HH", 60, 40) + b"z" * (size - 4), 65000)


def out_of_order(w, first):
    piece = b"o" * 32768
    for i in range(first, first + OOO_CONNECTIONS):
        conn = Connection(w, *client_address(i), HTTP_SERVER, 8080)
        for n in range(127):  # 127 x (32 KiB + 64 bytes of overhead) fits the 4 MiB per connection
            conn.send_at(1 + n * len(piece), piece)


def option(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def main():
    out = sys.argv[1]
    others = BODY_CONNECTIONS + AMQP_CONNECTIONS + OOO_CONNECTIONS + 4
    connections = option("--connections", MAX_CONNECTIONS - others)
    consumers = option("--amqp-consumers", 65_536)
    deliveries = option("--deliveries", (1 << 20) + 1024)
    label_requests = option("--label-requests", 3000)
    consumer_topics = option("--consumer-topics", 12_000)
    head_bytes = option("--request-head", 0)
    per_channel = option("--consumers-per-channel", 1024)
    parts = [int(p) for p in sys.argv[sys.argv.index("--parts") + 1].split(",")] if "--parts" in sys.argv else [1, 2, 3, 4, 5]
    os.makedirs(out, exist_ok=True)
    clock = Clock()
    # Client indexes: the HTTP connections from 0, then bodies, AMQP, out-of-order after them.
    steps = [
        (1, "1-labels.pcap", lambda w: labels(w, label_requests, consumer_topics)),
        (2, "2-http-connections.pcap", lambda w: http_connections(w, connections, 0, head_bytes)),
        (3, "3-http-bodies.pcap", lambda w: http_bodies(w, connections)),
        (4, "4-amqp.pcap", lambda w: amqp(w, connections + BODY_CONNECTIONS, consumers, deliveries, per_channel)),
        (5, "5-out-of-order.pcap", lambda w: out_of_order(w, connections + BODY_CONNECTIONS + AMQP_CONNECTIONS)),
    ]
    for number, name, write in steps:
        if number not in parts:
            continue
        w = Writer(os.path.join(out, name), clock)
        write(w)
        w.close()


if __name__ == "__main__":
    main()
