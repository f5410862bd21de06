#!/usr/bin/env bash
# Records captures/http/connect-tunnel/: HTTPS and plain HTTP through CONNECT tunnels of forward
# (egress) proxies on the service's host, with the clients' TLS key log. squid on 3128 and tinyproxy
# on 8888 before a partner (nginx: TLS on 443 and 8443 with a self-signed certificate, plain HTTP on
# 80 and 8080) named partner.example and a123020202.example by the namespace's hosts file. Clients:
# Python `requests` Sessions with `proxies=` (keep-alive: several calls in one tunnel; a port 8443
# URL; a syscode host), curl `-x` for HTTPS (its key log too) and `-p` (`--proxytunnel`) for plain
# HTTP on 80 and 8080, one curl without SSLKEYLOGFILE (its tunnel's keys are not logged), and a
# CONNECT squid refuses (403). Each client logs what it got in tunnel.client.jsonl (method, URL,
# status, proxy, whether its keys were logged); tunnel.keylog is what the clients logged (the proxies'
# own TLS connections to the partner are not in it); tunnel.tshark.tsv is tshark's decrypted pairs
# (`-o tls.keylog_file:`): tcp stream, server port, method, URI, Host, status.
#
#   captures/scripts/make-connect-tunnel-fixture.sh     # as root; about 40 s (squid starts slowly)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(dirname "$HERE")/http/connect-tunnel
NS=${CONNECT_FIXTURE_NS:-chx-connect-fixture}
. "$HERE/fixture-lib.sh"

if [ "${CHX_CT_INNER:-}" != 1 ]; then
    if [ "$(id -u)" != 0 ]; then echo "make-connect-tunnel-fixture: needs root (network namespace, capture)" >&2; exit 1; fi
    fixture_install_missing squid:squid tinyproxy:tinyproxy nginx:nginx-light tcpdump:tcpdump tshark:tshark curl:curl \
        ethtool:ethtool openssl:openssl requests:python3-requests
    mkdir -p "$OUT"
    FIXTURE_HOSTS=$'127.0.0.1 localhost partner.example a123020202.example\n::1 localhost'
    fixture_run_in_namespace "$NS" CHX_CT_INNER
    exit 0
fi

WORK=$(mktemp -d /tmp/chx-connect-tunnel.XXXXXX)
chmod 755 "$WORK"
mkdir -m 777 "$WORK/logs"
mkdir -p "$WORK/tmp"
LOG=$OUT/tunnel.client.jsonl
KEYLOG=$OUT/tunnel.keylog
fixture_stop_at_exit

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=partner.example \
    -addext "subjectAltName=DNS:partner.example,DNS:a123020202.example" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
user root;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/logs/nginx-error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $WORK/tmp;
    default_type application/json;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 1000;
    server {
        listen 127.0.0.1:443 ssl;
        listen 127.0.0.1:8443 ssl;
        listen 127.0.0.1:80;
        listen 127.0.0.1:8080;
        server_name partner.example a123020202.example;
        location = /api/x { return 200 '{"code":0,"msg":"ok"}'; }
        location = /api/order { return 200 '{"code":0,"order":"A1"}'; }
        location = /api/zero { return 200 '{"errorcode":0}'; }
        location = /api/fail { return 500 '{"code":"E500"}'; }
    }
}
NGINX

nginx -c "$WORK/nginx.conf" -e "$WORK/logs/nginx-error.log" & PIDS+=($!)
fixture_start_squid "80 443 8080 8443"
fixture_start_tinyproxy "443 8443"
fixture_wait_port 443 8443 80 8080 3128 8888
sleep 1

fixture_start_tcpdump "$OUT/tunnel.pcap" 'tcp'
: > "$LOG"
rm -f "$KEYLOG"
export SSLKEYLOGFILE=$KEYLOG
python3 - "$LOG" <<'PY'
import json, sys, time, warnings, requests
warnings.filterwarnings("ignore")
log = open(sys.argv[1], "a")
def calls(proxy, plan):
    s = requests.Session()
    s.proxies = {"https": proxy, "http": proxy}
    s.verify = False
    for method, url, headers, body in plan:
        r = s.request(method, url, headers=headers, json=body, timeout=10, verify=False)
        log.write(json.dumps({"method": method, "url": url, "status": r.status_code, "proxy": proxy.split("//")[1],
                              "keys": True, "client": "requests"}) + "\n")
        log.flush()
        time.sleep(0.05)
    s.close()
squid, tiny = "http://127.0.0.1:3128", "http://127.0.0.1:8888"
calls(squid, [
    ("GET", "https://partner.example/api/x?y=1", {"User-Agent": "svc-requests/2", "Method-Code": "MC1", "T-Code": "t01"}, None),
    ("POST", "https://partner.example/api/order", {"T-Code": "t02"}, {"method_code": "MCB", "amount": 3}),
    ("GET", "https://partner.example/api/fail", {"Method-Code": "MC2"}, None),
])
calls(squid, [("GET", "https://partner.example:8443/api/x?y=2", {"Method-Code": "MC3"}, None)])
calls(tiny, [
    ("GET", "https://a123020202.example/api/zero", None, None),
    ("GET", "https://partner.example/api/x?y=3", {"Method-Code": "MC4"}, None),
])
PY
W='{"method":"%{method}","url":"%{url_effective}","status":%{http_code},"proxy":"PROXY","keys":KEYS,"client":"curl"}\n'
curl_logged() {  # curl_logged PROXY KEYS ARGS...: one curl run, its lines with the proxy's address
    local proxy=$1 keys=$2
    shift 2
    curl -sS "$@" | sed -e "s/\"PROXY\"/\"$proxy\"/" -e "s/KEYS/$keys/" >> "$LOG"
}
c=(-o /dev/null -w "$W")
sq=(-x http://127.0.0.1:3128)
# HTTPS through squid, two calls in one tunnel (curl keeps it), TLS 1.2 then a TLS 1.3 run.
curl_logged 127.0.0.1:3128 true "${sq[@]}" -k --tls-max 1.2 "${c[@]}" -H 'Method-Code: MC5' https://partner.example/api/x?y=4 \
    "${c[@]}" https://partner.example/api/zero
curl_logged 127.0.0.1:3128 true "${sq[@]}" -k "${c[@]}" https://partner.example:8443/api/order
# Plain HTTP inside the tunnel (--proxytunnel): to 8080, and to 80 (the URL without a port).
curl_logged 127.0.0.1:3128 true "${sq[@]}" -p "${c[@]}" -H 'Method-Code: MC6' 'http://partner.example:8080/api/x?y=5' \
    "${c[@]}" http://partner.example:8080/api/fail
curl_logged 127.0.0.1:3128 true "${sq[@]}" -p "${c[@]}" http://partner.example/api/x?y=6
# A client whose keys are not logged: its tunnel is TLS, counted no_key.
SSLKEYLOGFILE= curl_logged 127.0.0.1:8888 false -x http://127.0.0.1:8888 -k "${c[@]}" https://partner.example/api/x?y=7
# A CONNECT squid refuses (port 9443 not allowed): 403, curl fails (nothing logged: the call raised).
curl -sS -x http://127.0.0.1:3128 -k -o /dev/null https://partner.example:9443/api/x 2> "$WORK/logs/refused.txt" || true
grep -q 403 "$WORK/logs/refused.txt" || { echo "expected a 403 to the refused CONNECT:" >&2; cat "$WORK/logs/refused.txt" >&2; exit 1; }
unset SSLKEYLOGFILE
sleep 1
fixture_stop_tcpdump "$OUT/tunnel.pcap"
chmod 644 "$KEYLOG"
install -m 644 "$WORK/logs/squid-access.log" "$OUT/tunnel.squid-access.log"
tshark -r "$OUT/tunnel.pcap" -o "tls.keylog_file:$KEYLOG" -Y 'http.request or http.response' -T fields -E separator=/t \
    -e tcp.stream -e tcp.port -e http.request.method -e http.request.uri -e http.host -e http.response.code \
    > "$OUT/tunnel.tshark.tsv"

# Optimistic clients (connect-tunnel/optimistic_connect.py): the CONNECT and the TLS ClientHello in one
# send, before the proxy's answer, in a capture of their own: through squid and tinyproxy (200, then a
# GET inside), and a CONNECT squid refuses (403: the ClientHello is dropped with it).
OPT_LOG=$OUT/optimistic.client.jsonl
OPT_KEYLOG=$OUT/optimistic.keylog
fixture_start_tcpdump "$OUT/optimistic.pcap" 'tcp'
: > "$OPT_LOG"
rm -f "$OPT_KEYLOG"
for client in "3128 partner.example 443 /api/x?y=8" "8888 partner.example 443 /api/order" "3128 partner.example 8443 /api/x?y=9" \
    "3128 partner.example 9443 /api/x?y=10"; do
    # shellcheck disable=SC2086
    python3 "$HERE/connect-tunnel/optimistic_connect.py" "$OPT_LOG" "$OPT_KEYLOG" $client
    sleep 0.2
done
sleep 1
fixture_stop_tcpdump "$OUT/optimistic.pcap"
chmod 644 "$OPT_KEYLOG"
tshark -r "$OUT/optimistic.pcap" -o "tls.keylog_file:$OPT_KEYLOG" -Y 'http.request or http.response' -T fields -E separator=/t \
    -e tcp.stream -e tcp.port -e http.request.method -e http.request.uri -e http.host -e http.response.code \
    > "$OUT/optimistic.tshark.tsv"
echo "optimistic: $(wc -l < "$OPT_LOG") clients, tshark: $(wc -l < "$OUT/optimistic.tshark.tsv") lines"
echo "client log: $(wc -l < "$LOG") calls; key log: $(grep -c CLIENT_RANDOM "$KEYLOG") TLS 1.2 and $(grep -c CLIENT_HANDSHAKE_TRAFFIC_SECRET "$KEYLOG") TLS 1.3 connections; tshark: $(wc -l < "$OUT/tunnel.tshark.tsv") lines"
