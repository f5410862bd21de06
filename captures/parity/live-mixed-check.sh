#!/usr/bin/env bash
# The newest features live and together: HTTPS read with a growing (and once truncated) key log,
# calls inside CONNECT tunnels, IP fragments reassembled outside and inside a tunnel, against what
# the clients logged and against the real reference library's /metrics.
#
#   sudo captures/parity/live-mixed-check.sh EXPORTER [SECONDS]     (default 660; needs root)
#
# Four network namespaces (LIVE_MIXED_NS, default chx-h19-mx: -c, -r, -s, -p):
#   c  the client (live_mixed_drive.py drive), sockets without DF (ip_no_pmtu_disc=1), routed by r
#   r  a router and tunnel endpoint: an underlay veth of MTU 1500 to s carries a VXLAN device
#      (10.19.2.0/24, MTU 1500, routes `mtu lock 1500`: the kernel fragments every full-size outer
#      packet, both ways) and a second VXLAN device, VNI 20 (10.19.3.0/24, MTU 1400 on r's side:
#      r fragments c's full-size packets before they enter it, inner fragments; s answers through
#      it, MTU 1500, by a policy rule: outer fragments). (VXLAN only: this machine's kernel has
#      no geneve, gre or ipip module.) tcpdump on s's ub and gn counts the fragments that arrive.
#   s  the service: live_mixed_app.py (Flask + channel-exporter 1.2.2, waitress on :8080,
#      SSLKEYLOGFILE) and `EXPORTER run` on `any` with a config file (partners, tls.keylog_files);
#      live_mixed_drive.py scrape reads our /metrics every 3 s (counters never down, RSS)
#   p  the partner: nginx (TLS on 38087 and 443, plain on 9978 and 80) and squid on 3128 (CONNECT
#      and absolute-form); s reaches it over a veth, the proxy's own leg stays inside p
# SIGHUP to the exporter at a third of the run (config unchanged); the driver rotates the key log
# (copytruncate) halfway. At the end: the reference's /metrics, ours, promtool, and
# live_mixed_compare.py (exchanges, label sets, self-metrics, RSS). Files in LIVE_MIXED_OUT
# (default /tmp/live-mixed). Exits 1 when a comparison fails. Stops what it starts by PID.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[[ $# -ge 1 ]] || { echo "usage: $0 EXPORTER [SECONDS]" >&2; exit 2; }
EXPORTER=$(realpath "$1")
SECONDS_RUN=${2:-660}
OUT=${LIVE_MIXED_OUT:-/tmp/live-mixed}
VENV=${PARITY_VENV:-$HERE/.venv}
P=${LIVE_MIXED_NS:-chx-h19-mx}
C=$P-c R=$P-r S=$P-s Q=$P-p
PY="$VENV/bin/python"
PIDS=()
rm -rf "$OUT"; mkdir -p "$OUT/scrapes" "$OUT/www" "$OUT/tmp"; chmod 777 "$OUT" "$OUT/tmp"

cleanup() {
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill -TERM "${PIDS[i]}" 2>/dev/null || true; wait "${PIDS[i]}" 2>/dev/null || true
    done
    for ns in $C $R $S $Q; do ip netns del "$ns" 2>/dev/null || true; rm -rf "/etc/netns/$ns"; done
}
trap cleanup EXIT

if [[ ! -x "$PY" ]]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"

at() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
nooffload() { at "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true; }
veth() {  # NS1 DEV1 ADDR1 NS2 DEV2 ADDR2 MTU
    ip link add "$2" netns "$1" mtu "$7" type veth peer name "$5" netns "$4" mtu "$7"
    at "$1" ip addr add "$3" dev "$2"; at "$4" ip addr add "$6" dev "$5"
    at "$1" ip link set "$2" up; at "$4" ip link set "$5" up
    nooffload "$1" "$2"; nooffload "$4" "$5"
}
wait_port() {  # NS PORT
    for _ in $(seq 300); do at "$1" ss -ltn "sport = :$2" | grep -q LISTEN && return 0; sleep 0.1; done
    echo "nothing listens on $2 in $1" >&2; return 1
}

for ns in $C $R $S $Q; do ip netns del "$ns" 2>/dev/null || true; ip netns add "$ns"; at "$ns" ip link set lo up; done
veth $C eth0 10.19.1.2/24 $R c0 10.19.1.1/24 1500
veth $R ua 172.31.19.1/24 $S ub 172.31.19.2/24 1500
veth $S sp 10.19.5.1/24 $Q ps 10.19.5.2/24 1500
at $C ip route add default via 10.19.1.1
at $C sysctl -qw net.ipv4.ip_no_pmtu_disc=1
at $R sysctl -qw net.ipv4.ip_forward=1
at $R ip link add vx type vxlan id 19 local 172.31.19.1 remote 172.31.19.2 dstport 4789
at $S ip link add vx type vxlan id 19 local 172.31.19.2 remote 172.31.19.1 dstport 4789
at $R ip link add gn type vxlan id 20 local 172.31.19.1 remote 172.31.19.2 dstport 4789
at $S ip link add gn type vxlan id 20 local 172.31.19.2 remote 172.31.19.1 dstport 4789
# gn is 1400 on r's side only: s advertises an MSS of 1460, c sends full-size segments without DF,
# and r fragments them into gn (inner fragments); s's answers leave gn at 1500 (outer fragments).
at $R ip link set gn mtu 1400 up; at $S ip link set gn mtu 1500 up
for ns in $R $S; do
    at $ns ip link set vx mtu 1500 up
    nooffload $ns vx; nooffload $ns gn
done
at $R ip addr add 10.19.2.1/24 dev vx; at $S ip addr add 10.19.2.2/24 dev vx
at $R ip addr add 10.19.3.1/24 dev gn; at $S ip addr add 10.19.3.2/24 dev gn
at $R ip route replace 10.19.2.2/32 dev vx mtu lock 1500
at $S ip route add 10.19.1.0/24 via 10.19.2.1 dev vx mtu lock 1500
at $S ip route add 10.19.1.0/24 via 10.19.3.1 dev gn mtu lock 1500 table 119
at $S ip rule add from 10.19.3.2 lookup 119

mkdir -p /etc/netns/$S /etc/netns/$Q
echo "10.19.5.2 d002.youtu.realname.dzqd.cn d110.youtu.realname.dzqd.cn b123010101.svc.local" > /etc/netns/$S/hosts
echo "127.0.0.1 localhost d002.youtu.realname.dzqd.cn d110.youtu.realname.dzqd.cn b123010101.svc.local" > /etc/netns/$Q/hosts

# The partner and the proxy.
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=partner -keyout "$OUT/key.pem" -out "$OUT/cert.pem" \
    -addext "subjectAltName=DNS:d002.youtu.realname.dzqd.cn,DNS:b123010101.svc.local" 2>/dev/null
"$PY" -c 'import sys; open(sys.argv[1], "w").write("{\"code\": 0, \"pad\": \"%s\"}" % ("q" * 200000))' "$OUT/www/big"
cat > "$OUT/nginx.conf" <<NGINX
worker_processes 1;
user root;
daemon off;
pid $OUT/nginx.pid;
error_log $OUT/nginx-error.log;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $OUT/tmp;
    client_max_body_size 10m;
    default_type application/json;
    ssl_certificate $OUT/cert.pem;
    ssl_certificate_key $OUT/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 100000;
    keepalive_timeout 30s;
    server {
        listen 38087 ssl; listen 443 ssl; listen 9978; listen 80;
        location = /youtu/api/facecompare { return 200 '{"code":0}'; }
        location = /youtu/openliveapi/get_images_from_video { return 200 '{"errorcode":0}'; }
        location /youtu/unlisted { return 200 '{"code":"E2"}'; }
        location = /fail { return 500 '{"code":"E500"}'; }
        location = /pictureliveapi/facecompare { return 200 '{"code":0}'; }
        location /svc/ { return 200 '{"code":0}'; }
        location = /big { alias $OUT/www/big; }
    }
}
NGINX
cat > "$OUT/squid.conf" <<CONF
http_port 10.19.5.2:3128
visible_hostname proxy.local
pid_filename $OUT/squid.pid
access_log stdio:$OUT/squid-access.log
cache_log $OUT/squid-cache.log
cache_store_log none
coredump_dir $OUT/tmp
cache deny all
shutdown_lifetime 1 seconds
hosts_file /etc/hosts
dns_nameservers 127.0.0.1
acl tunnel_ports port 443 38087
acl CONNECT method CONNECT
http_access deny CONNECT !tunnel_ports
http_access allow all
CONF
touch "$OUT/squid-access.log" "$OUT/squid-cache.log"; chmod 666 "$OUT"/squid-*.log
ip netns exec $Q nginx -c "$OUT/nginx.conf" & PIDS+=($!)
ip netns exec $Q squid -N -d1 -f "$OUT/squid.conf" > "$OUT/squid.out" 2>&1 & SQUID=$!; PIDS+=($SQUID)
wait_port $Q 38087; wait_port $Q 3128

# Our exporter, then the service.
KEYLOG=$OUT/keys.log
cat > "$OUT/exporter.yaml" <<YAML
syscode: A123010101
listen: "127.0.0.1:9466"
interface: any
inbound:
  ports: [8080]
amqp:
  ports: []
limits:
  body_prefix_bytes: 1048576   # the reference reads whole bodies: 64 KiB would cut the 150-300 kB ones
tls:
  keylog_files: [$KEYLOG]
partners:   # the reference's built-in entries for the two partner hosts the service calls
  - hosts: ["d002.youtu.realname.dzqd.cn:38087", "172.16.50.35:9006"]
    partner: "1"
    actions: {"/youtu/openliveapi/livedetectonly": "805", "/actionliveapi/actionlive": "808",
              "/youtu/openliveapi/livegetfour": "801", "/youtu/openliveapi/facecomparewithwatermark": "806",
              "/youtu/api/facecompare": "807", "/youtu/openliveapi/get_images_from_video": "",
              "/serviceAgent/rest/external/singleIdInfo": "820", "/serviceAgent/rest/external/singleIdInfoImg": "820",
              "/serviceAgent/rest/fjcrm/post/core/server/checkIdCardBaseFace": "831",
              "/serviceAgent/rest/fjcrm/post/core/server/checkIdCardBase": "",
              "/core/server/checkIdcardBaseFace": "831", "/core/server/checkIdcardBase": ""}
  - hosts: ["d110.youtu.realname.dzqd.cn:9978", "172.16.50.35:9978"]
    partner: "1"
    actions: {"/pictureliveapi/facecompare": "807"}
YAML
"$EXPORTER" check-config "$OUT/exporter.yaml" > "$OUT/check-config.txt" 2>&1 || true
ip netns exec $S "$EXPORTER" run --config.file "$OUT/exporter.yaml" --exchanges "$OUT/exchanges.jsonl" \
    > "$OUT/exporter.log" 2>&1 & EXP=$!; PIDS+=($EXP)
wait_port $S 9466
# What the kernel fragmented, counted where it arrives: outer fragments on the underlay, inner
# ones on gn (headers only, -s 64).
ip netns exec $S tcpdump -i ub -n -s 64 -w "$OUT/outer-fragments.pcap" 'ip[6:2] & 0x3fff != 0' 2> "$OUT/tcpdump-ub.log" & PIDS+=($!)
ip netns exec $S tcpdump -i gn -n -s 64 -w "$OUT/inner-fragments.pcap" 'ip[6:2] & 0x3fff != 0' 2> "$OUT/tcpdump-gn.log" & PIDS+=($!)
DUMPS=("${PIDS[-2]}" "${PIDS[-1]}")
if [[ -n "${LIVE_MIXED_PCAP:-}" ]]; then   # for a replay of what the exporter saw: tcpdump on s's `any` too
    ip netns exec $S tcpdump -i any -n -s 0 -B 65536 -w "$OUT/s-any.pcap" "not port 9466" 2> "$OUT/tcpdump.log" & PIDS+=($!)
    for _ in $(seq 100); do grep -qs "listening on" "$OUT/tcpdump.log" && break; sleep 0.1; done
fi
(cd "$HERE" && SSLKEYLOGFILE=$KEYLOG exec ip netns exec $S "$PY" live_mixed_app.py "$OUT/calls.jsonl" \
    http://10.19.5.2:3128 > "$OUT/app.log" 2>&1) & APP=$!; PIDS+=($APP)
wait_port $S 8080
ip netns exec $S "$PY" "$HERE/live_mixed_drive.py" scrape "$OUT/scrapes" http://127.0.0.1:9466/metrics "$EXP" \
    "$OUT/scrapes/stop" > "$OUT/scraper.log" 2>&1 & SCRAPER=$!; PIDS+=($SCRAPER)

echo "== driving ${SECONDS_RUN}s of traffic ($(date -u +%H:%M:%S))"
ip netns exec $C "$PY" "$HERE/live_mixed_drive.py" drive "$OUT/client.jsonl" "$SECONDS_RUN" "$KEYLOG" \
    http://10.19.2.2:8080 http://10.19.3.2:8080 > "$OUT/driver.log" 2>&1 & DRIVER=$!; PIDS+=($DRIVER)
sleep $((SECONDS_RUN / 3))
kill -HUP "$EXP"; echo "   SIGHUP to the exporter at $(date -u +%H:%M:%S)"
wait "$DRIVER"
sleep 3     # the last answers and FINs, a capture wake-up
at $S curl -sS http://127.0.0.1:8080/metrics > "$OUT/reference.prom"
sleep 1
at $S curl -sS http://127.0.0.1:9466/metrics > "$OUT/ours.prom"
touch "$OUT/scrapes/stop"; wait "$SCRAPER"
promtool check metrics < "$OUT/ours.prom" > "$OUT/promtool.txt" 2>&1 && echo "   promtool check metrics: OK" \
    || { echo "   promtool check metrics: FAILED"; cat "$OUT/promtool.txt"; }
kill -TERM "$EXP"; wait "$EXP" || true
kill -INT "${DUMPS[@]}"; wait "${DUMPS[@]}" || true
echo "   fragments that reached s: outer $(tcpdump -r "$OUT/outer-fragments.pcap" -n 2>/dev/null | grep -c '^[0-9][0-9]:') (on ub), inner $(tcpdump -r "$OUT/inner-fragments.pcap" -n 2>/dev/null | grep -c '^[0-9][0-9]:') (on gn)"
# The app and squid stopped before the comparison: squid logs a CONNECT when its tunnel closes.
kill -TERM "$APP" "$SQUID"; wait "$APP" "$SQUID" || true
status=0
python3 "$HERE/live_mixed_compare.py" "$OUT" || status=1
grep -q . "$OUT/promtool.txt" && status=1
exit $status
