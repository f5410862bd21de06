#!/usr/bin/env bash
# Records captures/http/reverse-proxy/: reverse proxies from Debian packages in front of a service on
# the same host (reverse-proxy/backend.py on 18130, JSON bodies with `code`), both legs in each
# capture. Apache httpd 2.4 (event MPM, mod_proxy_http pooling its backend connections, mod_deflate,
# mod_status, MaxKeepAliveRequests 5) on 18120 -> apache.pcap; HAProxy 2.6 on 18121 (http-reuse
# always) -> haproxy-reuse.pcap, and on 18122 (option http-server-close, option forwardfor) ->
# haproxy-close.pcap, each with HAProxy's own 503 (a backend without server) and 504 (timeout
# server 1s); Caddy 2.6 (encode gzip, reverse_proxy) on 18123 -> caddy.pcap; Jetty 9.4
# (ProxyServlet.Transparent and GzipHandler, reverse-proxy/JettyProxy.java) on 18124 -> jetty.pcap. Clients on each: `requests` (one Session; two Sessions
# taking turns), curl (a keep-alive chain with a gzip'd answer, Expect: 100-continue, HTTP/1.0,
# HEAD), ab (HTTP/1.0, with and without -k), wrk -c 8 for 2 s (wrk-log.lua logs every answer). Every
# call is logged in X.client.jsonl; tshark's pairs in X.tshark.jsonl (proxy-edge/tshark_pairs.py).
# Needs root (netns, capture), apache2, haproxy, caddy, jetty9, java, apache2-utils, wrk, curl, tcpdump, tshark,
# python3-requests. See captures/README.md ("Reverse proxies").
#
#   captures/scripts/make-reverse-proxy-fixture.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(dirname "$HERE")/http/reverse-proxy
NS=chx-h17-srv-rproxy
. "$HERE/fixture-lib.sh"

if [ "${CHX_RP_INNER:-}" != 1 ]; then
    if [ "$(id -u)" != 0 ]; then echo "make-reverse-proxy-fixture: needs root (network namespace, capture)" >&2; exit 1; fi
    fixture_install_missing apache2:apache2 haproxy:haproxy caddy:caddy java:default-jre-headless ab:apache2-utils wrk:wrk curl:curl \
        tcpdump:tcpdump tshark:tshark ethtool:ethtool requests:python3-requests
    [ -d /usr/share/jetty9/lib ] || { apt-get update; DEBIAN_FRONTEND=noninteractive apt-get install -y jetty9; }
    mkdir -p "$OUT"
    fixture_run_in_namespace "$NS" CHX_RP_INNER
    exit 0
fi

WORK=$(mktemp -d /tmp/chx-reverse-proxy.XXXXXX)
chmod 755 "$WORK"
export WORK
fixture_stop_at_exit
RP=$HERE/reverse-proxy
CURL=(-sS -o /dev/null -w '{"method":"%{method}","url":"%{url_effective}","status":%{http_code},"client":"curl"}\n')
python3 -c 'import json; print(json.dumps({"method_code": "RP02", "blob": "x" * 2450}))' > "$WORK/post-2500.json"

python3 "$RP/backend.py" 18130 2> "$WORK/backend.log" & PIDS+=($!)
apache2 -f "$RP/apache2.conf" -D FOREGROUND 2> "$WORK/apache2.log" & PIDS+=($!)
haproxy -db -f "$RP/haproxy.cfg" 2> "$WORK/haproxy.log" & PIDS+=($!)
XDG_DATA_HOME=$WORK XDG_CONFIG_HOME=$WORK caddy run --config "$RP/Caddyfile" --adapter caddyfile 2> "$WORK/caddy.log" & PIDS+=($!)
java -cp '/usr/share/jetty9/lib/*' "$RP/JettyProxy.java" 18124 http://127.0.0.1:18130 2> "$WORK/jetty.log" & PIDS+=($!)
fixture_wait_port 18130 18120 18121 18122 18123 18124

# ab N BASE PATH [-k]: HTTP/1.0, one request at a time; ab logs no exchange, so all N must be
# complete, none failed, none non-2xx: then N lines of 200.
ab_client() {
    local n=$1 url=$2$3; shift 3
    ab "$@" -n "$n" -c 1 "$url" > "$WORK/ab.out" 2>&1
    grep -q "^Complete requests: *$n\$" "$WORK/ab.out" && grep -q '^Failed requests: *0$' "$WORK/ab.out" \
        && ! grep -q '^Non-2xx' "$WORK/ab.out" || { cat "$WORK/ab.out" >&2; exit 1; }
    for _ in $(seq "$n"); do printf '{"method":"GET","url":"%s","status":200,"client":"ab"}\n' "$url" >> "$LOG"; done
}
# wrk -c 8 for 2 s, each answer logged; the requests in flight when wrk stops are not (no answer).
wrk_client() {
    rm -f "$WORK"/wrk.*
    wrk -t 2 -c 8 -d 2s -s "$RP/wrk-log.lua" "$1" -- "$WORK/wrk" "$2" > "$WORK/wrk.out"
    python3 "$RP/clients.py" "$LOG" "$1" wrk "$WORK"/wrk.[0-9]*
}
common() {
    local base=$1
    python3 "$RP/clients.py" "$LOG" "$base" session
    python3 "$RP/clients.py" "$LOG" "$base" alternate
    # one keep-alive connection: 7 calls, a gzip'd one among them (Apache closes after the 5th)
    curl "${CURL[@]}" "$base/api/order?c=1" --next "${CURL[@]}" "$base/api/fail?c=2" \
        --next "${CURL[@]}" --compressed "$base/api/big?c=3" --next "${CURL[@]}" "$base/api/order?c=4" \
        --next "${CURL[@]}" "$base/api/order?c=5" --next "${CURL[@]}" "$base/api/order?c=6" \
        --next "${CURL[@]}" "$base/api/order?c=7" >> "$LOG"
    # Expect: 100-continue on a 2500-byte body, then a GET on the same connection
    curl "${CURL[@]}" -H 'Expect: 100-continue' -H 'Content-Type: application/json' --data-binary "@$WORK/post-2500.json" \
        "$base/api/echo?c=expect" --next "${CURL[@]}" "$base/api/order?c=after-expect" >> "$LOG"
    curl "${CURL[@]}" -0 "$base/api/order?c=http10" >> "$LOG"
    curl "${CURL[@]}" -I "$base/api/order?c=head" >> "$LOG"
    ab_client 5 "$base" "/api/order?ab=close"
    ab_client 5 "$base" "/api/order?ab=keepalive" -k
    wrk_client "$base" "/api/order?wrk=1"
}

# ---------------------------------------------------------------- Apache
LOG=$OUT/apache.client.jsonl; : > "$LOG"
fixture_start_tcpdump "$OUT/apache.pcap" "tcp port 18120 or tcp port 18130"
common http://127.0.0.1:18120
curl "${CURL[@]}" "http://127.0.0.1:18120/server-status?auto" --next "${CURL[@]}" "http://127.0.0.1:18120/server-status" >> "$LOG"
sleep 1
fixture_stop_tcpdump "$OUT/apache.pcap"

# ---------------------------------------------------------------- HAProxy
for name in haproxy-reuse:18121 haproxy-close:18122; do
    port=${name#*:} name=${name%:*}
    base=http://127.0.0.1:$port
    LOG=$OUT/$name.client.jsonl; : > "$LOG"
    fixture_start_tcpdump "$OUT/$name.pcap" "tcp port $port or tcp port 18130"
    common $base
    # HAProxy's own answers: 503 (no server), 504 (the backend answers after 1.5 s, timeout server 1 s)
    python3 "$RP/clients.py" "$LOG" "$base" session /nobackend/x /api/order?after=503 /api/slow?ms=1500 /api/order?after=504
    sleep 1
    fixture_stop_tcpdump "$OUT/$name.pcap"
done

# ---------------------------------------------------------------- Caddy
LOG=$OUT/caddy.client.jsonl; : > "$LOG"
fixture_start_tcpdump "$OUT/caddy.pcap" "tcp port 18123 or tcp port 18130"
common http://127.0.0.1:18123
sleep 1
fixture_stop_tcpdump "$OUT/caddy.pcap"

# ---------------------------------------------------------------- Jetty
LOG=$OUT/jetty.client.jsonl; : > "$LOG"
fixture_start_tcpdump "$OUT/jetty.pcap" "tcp port 18124 or tcp port 18130"
common http://127.0.0.1:18124
sleep 1
fixture_stop_tcpdump "$OUT/jetty.pcap"

for name in apache haproxy-reuse haproxy-close caddy jetty; do
    python3 "$HERE/proxy-edge/tshark_pairs.py" "$OUT/$name.pcap" 18120-18130 > "$OUT/$name.tshark.jsonl"
done
