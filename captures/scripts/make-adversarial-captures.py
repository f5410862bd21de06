#!/usr/bin/env python3
"""Writes captures of traffic meant to make a passive observer keep memory: the bytes of attacks,
not of a real server (a real one would answer or close; these stop before it does).

  captures/scripts/make-adversarial-captures.py OUT_DIR [--scale N]

- pipelined-bodies.pcap: 12*N clients each pipeline 16 POSTs with a 4 KiB JSON body to port 8080;
  the server only acknowledges (it has not answered yet). An observer that keeps every waiting
  request's body prefix keeps all of them at once.
- split-heads.pcap: 64*N clients each send a 12 KiB request head in 1 KiB segments and never end
  it. An observer keeps each head until its end comes.
- long-labels.pcap: 100*N requests, each with its own 2 KB path and 2 KB Method-Code, answered
  200: each makes a series whose labels every line of the exposition repeats (12,000 of them
  made a 1 GB exposition before the label bytes of a family were bounded).

Ethernet/IPv4/TCP with handshakes and exact sequence numbers (checksums 0, as captures of
offloaded traffic have), microsecond timestamps, deterministic. `--scale` multiplies the
connections, for measuring memory (`--scale 40` writes about 40 MB and 24 MB).
"""
import os
import struct
import sys

SYN, PSH, ACK = 0x02, 0x08, 0x10
SERVER = bytes([10, 0, 0, 1])


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.usec = 1_700_000_000 * 1_000_000

    def packet(self, src, dst, sport, dport, seq, ack, flags, payload=b""):
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0, src, dst)
        frame = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp + payload
        self.usec += 7
        self.f.write(struct.pack("<IIII", self.usec // 1_000_000, self.usec % 1_000_000, len(frame), len(frame)))
        self.f.write(frame)

    def connection(self, index):
        """Opens client `index`'s connection; returns a function that sends bytes in segments."""
        client = bytes([10, 1, (index >> 8) & 255, index & 255])
        sport = 20000 + index
        state = {"c": 1000, "s": 5000}
        self.states = getattr(self, "states", {})
        self.states[index] = (client, sport, state)
        self.packet(client, SERVER, sport, 8080, state["c"], 0, SYN)
        self.packet(SERVER, client, 8080, sport, state["s"], state["c"] + 1, SYN | ACK)
        state["c"] += 1
        state["s"] += 1
        self.packet(client, SERVER, sport, 8080, state["c"], state["s"], ACK)

        def send(data, segment):
            for off in range(0, len(data), segment):
                chunk = data[off:off + segment]
                self.packet(client, SERVER, sport, 8080, state["c"], state["s"], ACK | PSH, chunk)
                state["c"] += len(chunk)
                self.packet(SERVER, client, 8080, sport, state["s"], state["c"], ACK)
        return send

    def answer(self, index, data):
        """Client `index`'s server answers `data` in one segment, and the client acknowledges it."""
        client, sport, state = self.states[index]
        self.packet(SERVER, client, 8080, sport, state["s"], state["c"], ACK | PSH, data)
        state["s"] += len(data)
        self.packet(client, SERVER, sport, 8080, state["c"], state["s"], ACK)

    def close(self):
        self.f.close()


def pipelined_bodies(path, clients):
    w = Writer(path)
    for c in range(clients):
        send = w.connection(c)
        for n in range(16):
            body = b'{"method_code":"P%d","pad":"' % n + b"x" * 4096 + b'"}'
            head = b"POST /api/orders/%d HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (n, len(body))
            send(head + body, 1448)
    w.close()


def split_heads(path, clients):
    w = Writer(path)
    for c in range(clients):
        send = w.connection(c)
        head = b"GET /api/search HTTP/1.1\r\nHost: shop\r\n" + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"y" * 90) for i in range(128))
        send(head[:12 * 1024], 1024)
    w.close()


def long_labels(path, requests):
    w = Writer(path)
    for c in range(requests):
        send = w.connection(c)
        target = b"/api/item/%06d/" % c + b"p" * 2000
        head = b"GET " + target + b" HTTP/1.1\r\nHost: shop\r\nMethod-Code: " + b"M%06d" % c + b"m" * 2000 + b"\r\n\r\n"
        send(head, 1448)
        body = b'{"code":"%06d"}' % c
        w.answer(c, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    w.close()


def main():
    out = sys.argv[1]
    scale = int(sys.argv[sys.argv.index("--scale") + 1]) if "--scale" in sys.argv else 1
    os.makedirs(out, exist_ok=True)
    pipelined_bodies(os.path.join(out, "pipelined-bodies.pcap"), 12 * scale)
    split_heads(os.path.join(out, "split-heads.pcap"), 64 * scale)
    long_labels(os.path.join(out, "long-labels.pcap"), 100 * scale)


if __name__ == "__main__":
    main()
