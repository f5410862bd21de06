# Sourced by capture-segmented.sh and live-load.sh (SEGMENTED=1): a network namespace whose loopback
# cuts traffic into Ethernet-sized segments, as a production capture sees it.
#
#   segmented_namespace NAME    # as root: adds NAME; its lo up with MTU 1500 and TSO/GSO/GRO off
#
# Without TSO/GSO the stack sends (and tcpdump sees) segments of one MSS (1,448 bytes with the
# timestamp option); without GRO none are merged on the way in. The caller deletes NAME.
segmented_namespace() {
  command -v ethtool >/dev/null || { echo "needs ethtool" >&2; return 2; }
  ip netns add "$1"
  ip netns exec "$1" ip link set lo mtu 1500 up
  ip netns exec "$1" ethtool -K lo tso off gso off gro off >/dev/null
}
