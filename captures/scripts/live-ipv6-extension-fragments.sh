#!/bin/bash
# captures/http/fragments/ipv6-extension-headers.pcap (15 packets, 5 datagrams) sent with tcpreplay on a
# veth; `channel-exporter run` (BINARY) captures the other end with the filter it installs in the
# kernel, and its self-metrics say what reached it. As root:  live-ipv6-extension-fragments.sh BINARY
BIN=$1
D=$(mktemp -d)
A=chx-h19-la; B=chx-h19-lb
ip netns add $A; ip netns add $B
ip link add va netns $A type veth peer name vb netns $B
ip -n $A link set va up; ip -n $B link set vb up; ip -n $B link set lo up
ip netns exec $B $BIN run --syscode A123010101 --interface vb --web.listen-address 127.0.0.1:19199 > $D/live.log 2>&1 &
PID=$!
sleep 3
ip netns exec $A tcpreplay -q -i va $(cd "$(dirname "$0")/.." && pwd)/http/fragments/ipv6-extension-headers.pcap > /dev/null 2>&1
sleep 2
ip netns exec $B curl -s 127.0.0.1:19199/metrics | grep -E "^channel_exporter_(packets_total|ip_fragments_total|reassembled_datagrams_total|capture_received_packets_total|ip_fragmented_datagrams_held|decapsulated_packets_total\{tunnel=\"(gre|ipv6_in_ipv6)\"\})"
kill $PID; wait $PID 2>/dev/null; rm -rf $D
ip netns del $A; ip netns del $B
