#!/bin/bash
# captures/http/fragments/ipv6-extension-headers.pcap: IPv6 fragments behind extension headers, and
# fragments inside ip6tnl/ip6gre packets behind their encapsulation limit option, recorded on a veth
# between two namespaces (as root; needs python3 with scapy). What the live capture filter must let
# through (ExporterConfiguration.fragmentFilter, tunnelFilter); see captures/README.md.
set -euo pipefail
OUT=$(cd "$(dirname "$0")/../http/fragments" && pwd)/ipv6-extension-headers.pcap
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
A=chx-h19-xa; B=chx-h19-xb
cleanup() { ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
ip netns add $A; ip netns add $B
ip link add va netns $A type veth peer name vb netns $B
ip -n $A addr add fd19::1/64 dev va nodad; ip -n $B addr add fd19::2/64 dev vb nodad
for ns in $A $B; do ip -n $ns link set lo up; done
ip -n $A link set va up; ip -n $B link set vb up
sleep 1
ip netns exec $B tcpdump -i vb -w "$WORK/all.pcap" -U -s 0 ip6 2>/dev/null &
TCPDUMP=$!
sleep 1.5
ip netns exec $A python3 "$HERE/ipv6_extension_fragments.py" va
sleep 1
kill $TCPDUMP; wait $TCPDUMP || true
# Only what was sent (not neighbour discovery, MLD, the port unreachable answer).
tcpdump -r "$WORK/all.pcap" -w "$OUT" 'src host fd19::1 and dst host fd19::2 and not (ip6[6] = 58)' 2>/dev/null
tcpdump -nr "$OUT" 2>/dev/null | wc -l
