# Shared by the make-*-fixture(s).sh scripts that record in a network namespace of their own:
# sourced, not run. A script runs in two parts: the outer one (as root, on the host) makes the
# namespace and runs the script again inside it; the inner one starts servers, tcpdump and clients
# there, every process stopped by its PID.

# fixture_run_in_namespace NS INNER_VAR [NAME=VALUE]...: runs "$0" again inside namespace NS, with
# INNER_VAR=1 and the given variables set. NS is made afresh and deleted when the script exits. Its
# loopback has an Ethernet MTU (1500) and no segmentation offload, so segments are the size a real
# link gives (1448-byte payloads), not 64 KiB loopback super-packets, and nothing collides with other
# loopback traffic or ports on the host. With FIXTURE_HOSTS set, the namespace has its own hosts
# file holding it (`ip netns exec` mounts /etc/netns/NS/hosts over /etc/hosts), removed at exit.
fixture_run_in_namespace() {
    local ns=$1 inner=$2
    shift 2
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    FIXTURE_NS=$ns
    trap 'ip netns del "$FIXTURE_NS" 2>/dev/null || true; [ -z "${FIXTURE_HOSTS:-}" ] || rm -rf "/etc/netns/$FIXTURE_NS"' EXIT
    if [ -n "${FIXTURE_HOSTS:-}" ]; then
        mkdir -p "/etc/netns/$ns"
        printf '%s\n' "$FIXTURE_HOSTS" > "/etc/netns/$ns/hosts"
    fi
    ip netns exec "$ns" ip link set lo mtu 1500 up
    ip netns exec "$ns" ethtool -K lo tso off gso off gro off >/dev/null
    ip netns exec "$ns" env "$inner=1" "$@" bash "$0"
}

# fixture_install_missing TOOL:PACKAGE...: installs with apt the package of each TOOL not on the PATH
# (and python3-requests when Python cannot import requests and `requests` is among the TOOLs).
fixture_install_missing() {
    local need=() tool
    for tool in "$@"; do
        if [ "${tool%%:*}" = requests ]; then
            python3 -c 'import requests' 2>/dev/null || need+=("${tool#*:}")
        else
            command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
        fi
    done
    if [ ${#need[@]} -gt 0 ]; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
    fi
}

# fixture_stop_at_exit: in the inner part, at exit, stops tcpdump ($DUMP, with SIGINT so that it
# writes its last packets) and every process in the array PIDS, by PID, then deletes $WORK.
PIDS=()
DUMP=""
fixture_stop_at_exit() {
    trap fixture_stop EXIT
}
fixture_stop() {
    if [ -n "$DUMP" ]; then kill -INT "$DUMP" 2>/dev/null || true; wait "$DUMP" 2>/dev/null || true; fi
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "${WORK:-}" ]; then rm -rf "$WORK"; fi
}

# fixture_wait_port PORT...: until something listens on each PORT (15 s at most each).
fixture_wait_port() {
    local port
    for port in "$@"; do
        for _ in $(seq 150); do
            ss -ltn "sport = :$port" | grep -q LISTEN && continue 2
            sleep 0.1
        done
        echo "$(basename "$0"): nothing listens on port $port" >&2
        exit 1
    done
}

# fixture_start_tcpdump FILE FILTER: tcpdump on lo into FILE (whole packets, written as they come),
# its PID in DUMP, once it listens; fixture_stop_tcpdump stops it and fails when the kernel dropped any.
fixture_start_tcpdump() {
    tcpdump -i lo -n -Z root -s 0 -U --immediate-mode -w "$1" "$2" 2> "$WORK/tcpdump.log" & DUMP=$!
    for _ in $(seq 100); do grep -q 'listening on' "$WORK/tcpdump.log" && break; sleep 0.1; done
    sleep 0.3
}
fixture_stop_tcpdump() {
    kill -INT "$DUMP"; wait "$DUMP" || true; DUMP=""
    grep -q '^0 packets dropped by kernel' "$WORK/tcpdump.log" || { echo "tcpdump dropped packets" >&2; exit 1; }
    echo "$(basename "$1"): $(grep 'packets captured' "$WORK/tcpdump.log")"
}

# fixture_nginx_conf: writes $WORK/nginx.conf for nginx run in the foreground from $WORK (one
# worker, no access log, JSON by default), its `http` block holding the server blocks read from
# standard input; the fixture files are made in $WORK/www.
fixture_nginx_conf() {
    mkdir -p "$WORK/www" "$WORK/tmp"
    python3 "$HERE/fixture_www.py" "$WORK/www"
    {
        printf 'worker_processes 1;\ndaemon off;\npid %s/nginx.pid;\nevents { worker_connections 64; }\n' "$WORK"
        printf 'http {\n    access_log off;\n    client_body_temp_path %s/tmp;\n    default_type application/json;\n' "$WORK"
        cat
        printf '}\n'
    } > "$WORK/nginx.conf"
}

# fixture_rabbit_start NS NODENAME ADDRESS DIR: RabbitMQ (no plugins, guest allowed from other
# hosts) in namespace NS listening on ADDRESS:5672, node NODENAME@localhost, its files in DIR; returns
# once it has started, its PID in RABBIT. fixture_rabbit_stop stops it, and the epmd it started in NS.
fixture_rabbit_start() {
    local ns=$1 node=$2@localhost address=$3 dir=$4
    mkdir -p "$dir"
    echo "[]." > "$dir/enabled_plugins"
    echo "loopback_users.guest = false" > "$dir/rabbitmq.conf"
    RABBIT_NS=$ns RABBIT_NODE=$node
    RABBIT_ENV=(env HOME=$dir RABBITMQ_NODENAME=$node RABBITMQ_MNESIA_BASE=$dir/mnesia
        RABBITMQ_LOG_BASE=$dir/log RABBITMQ_NODE_IP_ADDRESS=$address RABBITMQ_NODE_PORT=5672
        RABBITMQ_DIST_PORT=25672 RABBITMQ_CONFIG_FILE=$dir/rabbitmq RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
        RABBITMQ_PID_FILE=$dir/rabbit.pid)
    ip netns exec "$ns" "${RABBIT_ENV[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server > "$dir/server.out" 2>&1 & RABBIT=$!
    for _ in $(seq 120); do
        ip netns exec "$ns" "${RABBIT_ENV[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -n "$node" await_startup --timeout 5 >/dev/null 2>&1 && return
        sleep 1
    done
    echo "$(basename "$0"): RabbitMQ did not start (see $dir/server.out)" >&2
    exit 1
}
fixture_rabbit_stop() {
    [ -n "${RABBIT:-}" ] || return 0
    local epmd
    epmd=$(for pid in $(ip netns pids "$RABBIT_NS"); do [ "$(cat /proc/$pid/comm 2>/dev/null)" = epmd ] && echo $pid; done || true)
    ip netns exec "$RABBIT_NS" "${RABBIT_ENV[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBIT_NODE" stop >/dev/null 2>&1 || kill "$RABBIT" || true
    wait "$RABBIT" 2>/dev/null || true
    [ -z "$epmd" ] || kill $epmd 2>/dev/null || true
    RABBIT=
}

# fixture_start_squid TUNNEL_PORTS [PASSWD]: squid as the fixtures' forward proxy, on 127.0.0.1:3128,
# its PID in PIDS: no cache, names from the namespace's hosts file, logs in $WORK/logs
# (squid-access.log is the one kept beside a capture), CONNECT only to TUNNEL_PORTS (space-separated).
# With PASSWD (an htpasswd file) every client must authenticate (Basic, realm "egress"), else every
# client is allowed. One configuration for make-connect-tunnel-fixture.sh and make-proxy-edge-fixture.sh
# (each wrote its own copy before).
fixture_start_squid() {
    local ports=$1 passwd=${2:-}
    {
        printf '%s\n' "http_port 127.0.0.1:3128" "visible_hostname proxy.local" "pid_filename $WORK/logs/squid.pid" \
            "access_log stdio:$WORK/logs/squid-access.log" "cache_log $WORK/logs/squid-cache.log" "cache_store_log none" \
            "coredump_dir $WORK/logs" "cache deny all" "hosts_file /etc/hosts" "dns_nameservers 127.0.0.1"
        if [ -n "$passwd" ]; then
            printf '%s\n' "auth_param basic program /usr/lib/squid/basic_ncsa_auth $passwd" "auth_param basic realm egress" \
                "acl authenticated proxy_auth REQUIRED"
        fi
        printf '%s\n' "acl tunnel_ports port $ports" "acl CONNECT method CONNECT" "http_access deny CONNECT !tunnel_ports"
        if [ -n "$passwd" ]; then
            printf '%s\n' "http_access allow authenticated" "http_access deny all"
        else
            printf '%s\n' "http_access allow all"
        fi
    } > "$WORK/squid.conf"
    squid -N -d1 -f "$WORK/squid.conf" > "$WORK/logs/squid.out" 2>&1 & PIDS+=($!)
}

# tinyproxy on 127.0.0.1:8888 (as `nobody`), CONNECT allowed to the ports given ("443 8443"),
# its log in $WORK/logs; written to $WORK/tinyproxy.conf and started, its PID added to PIDS.
fixture_start_tinyproxy() {
    local port
    {
        printf '%s\n' "User nobody" "Group nogroup" "Port 8888" "Listen 127.0.0.1" "Timeout 30" "LogLevel Info" \
            "LogFile \"$WORK/logs/tinyproxy.log\"" "MaxClients 20"
        for port in $1; do printf 'ConnectPort %s\n' "$port"; done
    } > "$WORK/tinyproxy.conf"
    tinyproxy -d -c "$WORK/tinyproxy.conf" > "$WORK/logs/tinyproxy.out" 2>&1 & PIDS+=($!)
}
