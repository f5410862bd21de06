"""IPv6 fragments behind extension headers (make-ipv6-extension-fragments.sh), sent on the device argv[1].

1. The kernel's own: a UDP datagram of 3,000 bytes from a socket with IPV6_HOPOPTS: the kernel
   fragments it with the hop-by-hop header (unfragmentable) in front of each fragment header.
2. Crafted (scapy): a destination options header before the fragment header; hop-by-hop,
   destination options and routing headers before it (RFC 8200 §4.1's order).
3. ip6tnl and ip6gre as Linux sends them (the kernel this was made on has neither): a destination
   options header holding the tunnel encapsulation limit option (type 4, RFC 2473 §4.1.1) and a
   PadN, then the tunnel's payload: an inner IPv6 echo fragmented by its source; an inner IPv4
   echo fragmented, in GRE.
"""
import socket
import sys

from scapy.all import (GRE, ICMP, IP, Ether, HBHOptUnknown, ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, PadN, Raw, UDP, fragment,
                       fragment6, sendp)

device = sys.argv[1]
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, 54, bytes([0, 0, 1, 4, 0, 0, 0, 0]))  # IPV6_HOPOPTS: a PadN of 4
s.sendto(b"h" * 3000, ("fd19::2", 9999))


def send(packet):
    sendp(Ether(dst="ff:ff:ff:ff:ff:ff") / packet, iface=device, verbose=False)


udp = UDP(sport=5000, dport=9999) / Raw(b"d" * 3000)
before = [IPv6ExtHdrDestOpt(), IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting(addresses=[])]
for i, headers in enumerate(before):
    for f in fragment6(IPv6(src="fd19::1", dst="fd19::2") / headers / IPv6ExtHdrFragment(id=0x1900 + i) / udp, 1280):
        send(f)

limit = IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=4, optdata=b"\x04"), PadN(optdata=b"\x00")])
outer = IPv6(src="fd19::1", dst="fd19::2")
inner6 = IPv6(src="fd20::1", dst="fd20::2") / IPv6ExtHdrFragment(id=0x1920) / ICMPv6EchoRequest(data=b"i" * 3000)
for f in fragment6(inner6, 1400):
    send(outer / limit / f)
for f in fragment(IP(src="10.66.0.1", dst="10.66.0.2") / ICMP() / Raw(b"g" * 3000), 1400):
    send(outer / limit / GRE(proto=0x0800) / f)
