"""One end of a tunnel in user space, for make-tunnel-fixtures.sh on kernels built without the
tunnel drivers (no gre, ipip, sit, ip6_tunnel, ip6_gre or geneve module): a TUN (or, for the
kinds that carry Ethernet, TAP) device whose packets are sent to the other end in the tunnel's
headers, built here to the RFCs as the Linux drivers build them, over a raw IP socket (the
kernel writes the outer IP header) or a UDP socket; what arrives is taken out and written to
the device. The traffic inside is the kernel's own TCP, real clients and a real server.

    tunnel_endpoint.py KIND DEVICE LOCAL REMOTE
        KIND: gre (checksum, key 17, sequence numbers; IPv4 or IPv6 inside), gretap (key 18,
        Ethernet inside), ip6gre (over IPv6), ipip, sit, ip6tnl (IPv4 in IPv6 with the tunnel
        encapsulation limit option, as ip6tnl sends it), ip6ip6 (the same, IPv6 inside),
        geneve (UDP 6081, VNI 7, one 4-byte option, Ethernet inside).
Runs until SIGTERM.
"""
import fcntl
import os
import select
import signal
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_TAP, IFF_NO_PI = 0x0001, 0x0002, 0x1000


def open_device(name, tap):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), (IFF_TAP if tap else IFF_TUN) | IFF_NO_PI))
    return fd


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethertype_of(packet):
    return 0x86DD if packet[0] >> 4 == 6 else 0x0800


class GRE:
    def __init__(self, key=None, csum=False, seq=False, ethernet=False):
        self.key, self.csum, self.seq, self.ethernet, self.sent = key, csum, seq, ethernet, 0

    def wrap(self, packet):
        flags = (0x8000 if self.csum else 0) | (0x2000 if self.key is not None else 0) | (0x1000 if self.seq else 0)
        proto = 0x6558 if self.ethernet else ethertype_of(packet)
        fields = b""
        if self.key is not None:
            fields += struct.pack("!I", self.key)
        if self.seq:
            fields += struct.pack("!I", self.sent)
            self.sent += 1
        if self.csum:
            header = struct.pack("!HH", flags, proto) + b"\0\0\0\0" + fields
            value = checksum(header + packet)
            return struct.pack("!HHHH", flags, proto, value, 0) + fields + packet
        return struct.pack("!HH", flags, proto) + fields + packet

    def unwrap(self, data):
        flags, _ = struct.unpack("!HH", data[:4])
        offset = 4 + 4 * bool(flags & 0x8000) + 4 * bool(flags & 0x2000) + 4 * bool(flags & 0x1000)
        return data[offset:]


class Plain:
    def wrap(self, packet):
        return packet

    def unwrap(self, data):
        return data


class Geneve:
    OPTION = struct.pack("!HBB", 0x0102, 0x01, 1) + bytes([0x0A, 0x0B, 0x0C, 0x0D])

    def wrap(self, frame):
        return struct.pack("!BBHI", len(self.OPTION) // 4, 0, 0x6558, 7 << 8) + self.OPTION + frame

    def unwrap(self, data):
        return data[8 + (data[0] & 0x3F) * 4:]


def main():
    kind, device, local, remote = sys.argv[1:5]
    v6 = ":" in local
    family = socket.AF_INET6 if v6 else socket.AF_INET
    tap = kind in ("gretap", "geneve")
    fd = open_device(device, tap)
    if kind == "geneve":
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((local, 6081))
        codec, destination = Geneve(), (remote, 6081)
    else:
        proto = {"gre": 47, "gretap": 47, "ip6gre": 47, "ipip": 4, "sit": 41, "ip6tnl": 4, "ip6ip6": 41}[kind]
        sock = socket.socket(family, socket.SOCK_RAW, proto)
        sock.bind((local, 0))
        codec = {"gre": GRE(key=17, csum=True, seq=True), "gretap": GRE(key=18, ethernet=True),
                 "ip6gre": GRE()}.get(kind, Plain())
        destination = (remote, 0)
        if kind in ("ip6tnl", "ip6ip6"):
            # RFC 2473 §5.1: a destination options header holding the tunnel encapsulation limit
            # (4, Linux's default), padded to 8 bytes (the next header and length bytes are the kernel's).
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, bytes([0, 0, 4, 1, 4, 1, 1, 0]))
    carried = {"ipip": 4, "ip6tnl": 4, "sit": 6, "ip6ip6": 6}.get(kind)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        ready, _, _ = select.select([fd, sock], [], [])
        if fd in ready:
            packet = os.read(fd, 65535)
            # IP in IP carries one family, as the drivers do (ipip and ip6tnl's ipip6 mode IPv4, sit
            # and ip6ip6 IPv6): the device's packets of the other (IPv6 neighbour discovery) stay.
            if carried and packet[0] >> 4 != carried:
                continue
            try:
                sock.sendto(codec.wrap(packet), destination)
            except OSError:
                pass  # no route yet, or too big: dropped
        if sock in ready:
            data, sender = sock.recvfrom(65535)
            if sender[0] != remote:
                continue
            if family == socket.AF_INET and kind != "geneve":
                data = data[(data[0] & 0x0F) * 4:]  # a raw IPv4 socket hands over the IP header too
            try:
                os.write(fd, codec.unwrap(data))
            except OSError:
                pass  # the device not up yet (EIO), or not a packet it takes (EINVAL): dropped, as a driver would


if __name__ == "__main__":
    main()
