#!/usr/bin/env bash
# Records captures/http/proxy-protocol/proxy-protocol.pcap: a service behind a load balancer that
# passes the client's address on with the PROXY protocol. HAProxy (mode tcp) forwards 18090 with
# `send-proxy` (v1, text) and 18091 with `send-proxy-v2` (binary) to nginx on 18081, which reads
# the header (`listen ... proxy_protocol`) and serves the fixture routes; curl sends two requests on
# one connection through each, and one POST through each with Python's `http.client`. The capture
# holds both hops: client to HAProxy (plain HTTP) and HAProxy to nginx (a PROXY header, then the
# same requests). Clients log what they got in proxy-protocol.client.jsonl. See captures/README.md
# ("PROXY protocol"). Needs root (netns, capture), haproxy, nginx, curl, tcpdump.
#
#   captures/scripts/make-proxy-protocol-fixture.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(dirname "$HERE")/http/proxy-protocol
NS=chx-proxy-protocol-fixture
. "$HERE/fixture-lib.sh"

if [ "${CHX_PROXY_INNER:-}" != 1 ]; then
    if [ "$(id -u)" != 0 ]; then echo "make-proxy-protocol-fixture: needs root (network namespace, capture)" >&2; exit 1; fi
    need=()
    for tool in haproxy:haproxy nginx:nginx-light tcpdump:tcpdump curl:curl ethtool:ethtool; do
        command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
    done
    if [ ${#need[@]} -gt 0 ]; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
    fi
    mkdir -p "$OUT"
    fixture_run_in_namespace "$NS" CHX_PROXY_INNER
    exit 0
fi

WORK=$(mktemp -d /tmp/chx-proxy-protocol.XXXXXX)
LOG=$OUT/proxy-protocol.client.jsonl
fixture_stop_at_exit

fixture_nginx_conf <<CONF
    server {
        listen 127.0.0.1:18081 proxy_protocol;
        root $WORK/www;
        # A POST to a static file is answered 405 by nginx: answer it with the small body instead.
        error_page 405 =200 \$uri;
    }
CONF
cat > "$WORK/haproxy.cfg" <<CONF
global
    maxconn 64
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend v1
    bind 127.0.0.1:18090
    default_backend nginx_v1
frontend v2
    bind 127.0.0.1:18091
    default_backend nginx_v2
backend nginx_v1
    server n 127.0.0.1:18081 send-proxy
backend nginx_v2
    server n 127.0.0.1:18081 send-proxy-v2
CONF
chmod -R a+rX "$WORK"
nginx -p "$WORK/" -e error.log -c "$WORK/nginx.conf" & PIDS+=($!)
haproxy -db -f "$WORK/haproxy.cfg" > "$WORK/haproxy.log" 2>&1 & PIDS+=($!)
fixture_wait_port 18081 18090 18091

fixture_start_tcpdump "$OUT/proxy-protocol.pcap" 'tcp port 18081 or tcp port 18090 or tcp port 18091'

: > "$LOG"
c=(-sS -o /dev/null -w '{"method":"%{method}","url":"%{url_effective}","status":%{http_code}}\n')
for port in 18090 18091; do
    curl "${c[@]}" "http://127.0.0.1:$port/small.json" --next "${c[@]}" "http://127.0.0.1:$port/large.json" >> "$LOG"
    python3 - "$LOG" "$port" <<'PY'
import http.client, json, sys
log, port = sys.argv[1], int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("POST", "/small.json", body=b'{"method_code":"PX1"}', headers={"Content-Type": "application/json"})
r = c.getresponse(); r.read()
open(log, "a").write(json.dumps({"method": "POST", "url": "http://127.0.0.1:%d/small.json" % port, "status": r.status}) + "\n")
PY
done

sleep 1
fixture_stop_tcpdump "$OUT/proxy-protocol.pcap"
