# Sourced by make-nat-fixture.sh and nat-live-check.sh: a Docker host's NAT in three namespaces.
#
#   $CLI (10.77.0.2)                 $HOST                                $APP (172.30.0.2)
#   client, partner :9000  ── veth ── vh-cli 10.77.0.1 │ br0 172.30.0.1 ── veth ── service :80
#                                     DNAT 10.77.0.1:8080 → 172.30.0.2:80; MASQUERADE 172.30.0.0/24 out of vh-cli
HOST=chx-nat-host APP=chx-nat-app CLI=chx-nat-cli

# nat_topology_up: makes the three namespaces afresh (offloads off: segments of a real link's size).
nat_topology_up() {
    for ns in $HOST $APP $CLI; do
        ip netns del "$ns" 2>/dev/null || true
        ip netns add "$ns"
        ip netns exec "$ns" ip link set lo up
    done
    ip link add vh-app netns $HOST type veth peer name eth0 netns $APP
    ip link add vh-cli netns $HOST type veth peer name eth0 netns $CLI
    ip netns exec $HOST ip link add br0 type bridge
    ip netns exec $HOST ip link set vh-app master br0
    ip netns exec $HOST ip addr add 172.30.0.1/24 dev br0
    ip netns exec $HOST ip addr add 10.77.0.1/24 dev vh-cli
    for link in br0 vh-app vh-cli; do ip netns exec $HOST ip link set "$link" up; done
    ip netns exec $APP ip addr add 172.30.0.2/24 dev eth0
    ip netns exec $APP ip link set eth0 up
    ip netns exec $APP ip route add default via 172.30.0.1
    ip netns exec $CLI ip addr add 10.77.0.2/24 dev eth0
    ip netns exec $CLI ip link set eth0 up
    ip netns exec $CLI ip route add default via 10.77.0.1
    # Segments of a real link's size on every hop (veths offload by default).
    for ns in $HOST $APP $CLI; do
        for link in $(ip netns exec "$ns" ls /sys/class/net); do
            ip netns exec "$ns" ethtool -K "$link" tso off gso off gro off >/dev/null 2>&1 || true
        done
    done
    ip netns exec $HOST sysctl -qw net.ipv4.ip_forward=1
    # One table: DNAT of the published port, MASQUERADE of the containers' calls.
    ip netns exec $HOST nft -f - <<'NFT'
table ip nat {
    chain prerouting { type nat hook prerouting priority dstnat; tcp dport 8080 dnat to 172.30.0.2:80; }
    chain postrouting { type nat hook postrouting priority srcnat; ip saddr 172.30.0.0/24 oifname "vh-cli" masquerade; }
}
NFT
}

# nat_topology_down: deletes them.
nat_topology_down() {
    for ns in $HOST $APP $CLI; do ip netns del "$ns" 2>/dev/null || true; done
}

# nat_start_servers: the partner and the service (PIDs appended to PIDS), once they listen.
nat_start_servers() {
    ip netns exec $CLI python3 "$HERE/nat_fixture.py" partner 9000 & PIDS+=($!)
    ip netns exec $APP python3 "$HERE/nat_fixture.py" service 80 http://10.77.0.2:9000 & PIDS+=($!)
    for _ in $(seq 150); do
        ip netns exec $CLI ss -ltn 'sport = :9000' | grep -q LISTEN \
            && ip netns exec $APP ss -ltn 'sport = :80' | grep -q LISTEN && return
        sleep 0.1
    done
    echo "nat-topology.sh: servers did not start" >&2
    exit 1
}
