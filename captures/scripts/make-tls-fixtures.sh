#!/usr/bin/env bash
# Records HTTPS fixtures for TLS decryption (captures/http/tls-decrypt/): nginx with a self-signed
# certificate (openssl) on 127.0.0.1:18443, curl and Python requests as clients with SSLKEYLOGFILE,
# TLS 1.3 with each AEAD suite, TLS 1.2 with ECDHE and RSA key exchange over AES-GCM and
# ChaCha20-Poly1305, two CBC suites (encrypt-then-MAC and MAC-then-encrypt), resumption, HTTP/2 by ALPN, an outgoing call to a
# partner host; then a pcapng with the key log injected as a Decryption Secrets Block (editcap) and
# a copy with one segment of a large response removed. Each scenario X leaves X.pcap, X.keylog (what
# the client logged), X.client.jsonl (what the client saw: method, path, status per request) and
# X.tshark.tsv (tshark's pairs decrypted with X.keylog: tcp.stream, request frame, response code).
#
#   captures/scripts/make-tls-fixtures.sh [--force]     # as root; about a minute
#
# Runs in a network namespace of its own (TLS_FIXTURE_NS, default chx-tls-fixtures), loopback MTU
# 1500 and offloads off, as the other fixtures (fixture-lib.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/../http" && pwd)/tls-decrypt
. "$HERE/fixture-lib.sh"

if [ -z "${TLS_FIXTURE_INNER:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
    if [ "${1:-}" != --force ] && ls "$OUT"/*.pcap >/dev/null 2>&1; then
        echo "$OUT already holds captures; --force to record them again" >&2
        exit 1
    fi
    fixture_install_missing nginx:nginx-light tcpdump:tcpdump tshark:tshark editcap:tshark curl:curl openssl:openssl \
        requests:python3-requests ethtool:ethtool
    mkdir -p "$OUT"
    rm -f "$OUT"/*.pcap "$OUT"/*.pcapng "$OUT"/*.keylog "$OUT"/*.jsonl "$OUT"/*.tsv
    fixture_run_in_namespace "${TLS_FIXTURE_NS:-chx-tls-fixtures}" TLS_FIXTURE_INNER
    exit 0
fi

WORK=$(mktemp -d)
fixture_stop_at_exit
PORT=18443
mkdir -p "$WORK/www" "$WORK/tmp"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 3650 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,DNS:partner.example,IP:127.0.0.1" 2>/dev/null
# A large body over many records (nginx writes 16 KiB records).
python3 -c "import sys; sys.stdout.write(''.join('%07d large body line\n' % i for i in range(12000)))" > "$WORK/www/large.txt"
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
user root;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $WORK/tmp;
    default_type application/json;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:AES128-GCM-SHA256:AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:@SECLEVEL=0';
    ssl_session_cache shared:SSL:1m;
    ssl_session_tickets on;
    keepalive_requests 1000;
    server {
        listen 127.0.0.1:$PORT ssl http2;
        server_name localhost partner.example;
        root $WORK/www;
        location = /small { return 200 '{"code":"0000","msg":"ok"}'; }
        location = /echo { return 200 '{"code":"0000","msg":"posted"}'; }
        location = /fail { return 500 '{"code":"E500","msg":"failed"}'; }
        location = /v1/verify { return 200 '{"code":"0000","msg":"verified"}'; }
        location = /large.txt { default_type text/plain; }
    }
}
NGINX
nginx -c "$WORK/nginx.conf" -e "$WORK/error.log" & PIDS+=($!)
fixture_wait_port $PORT

BASE=https://127.0.0.1:$PORT
# curl_json: curl's -w line per request as the client log.
W='{"method":"%{method}","url":"%{url_effective}","status":%{http_code},"http_version":"%{http_version}"}\n'

record() {  # record NAME COMMAND...: tcpdump around one client run, its key log in NAME.keylog.
    local name=$1
    shift
    rm -f "$OUT/$name.keylog"
    fixture_start_tcpdump "$OUT/$name.pcap" "tcp port $PORT"
    SSLKEYLOGFILE="$OUT/$name.keylog" "$@" > "$OUT/$name.client.jsonl"
    sleep 0.3
    fixture_stop_tcpdump "$OUT/$name.pcap"
}

curlx() {  # curlx OPTION... -- URL...: one curl, each body to /dev/null, its -w line per request
    local options=() urls=()
    while [ "$1" != -- ]; do options+=("$1"); shift; done
    shift
    for url in "$@"; do urls+=(-o /dev/null "$url"); done
    curl -sk -w "$W" "${options[@]}" "${urls[@]}"
}
keepalive() {  # three requests on one connection, the middle one a large body
    curlx "$@" -- "$BASE/small" "$BASE/large.txt" "$BASE/fail"
}
record tls13-aes128gcm keepalive --http1.1 --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256
record tls13-aes256gcm keepalive --http1.1 --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384
record tls13-chacha20 keepalive --http1.1 --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256
record tls12-ecdhe-aes128gcm keepalive --http1.1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256
record tls12-ecdhe-aes256gcm keepalive --http1.1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES256-GCM-SHA384
record tls12-ecdhe-chacha20 keepalive --http1.1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305
record tls12-rsa-aes128gcm keepalive --http1.1 --tlsv1.2 --tls-max 1.2 --ciphers AES128-GCM-SHA256
record tls12-cbc keepalive --http1.1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-SHA256
# A CBC suite with MAC-then-encrypt: OpenSSL offers encrypt_then_mac (RFC 7366) unless told not to
# (SSL_OP_NO_ENCRYPT_THEN_MAC, 1 << 19, which curl cannot set): Python's ssl with the option bit.
record tls12-cbc-sha384 python3 - "$BASE" <<'PY'
import http.client, json, ssl, sys, urllib.parse
base = urllib.parse.urlsplit(sys.argv[1])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_ciphers("ECDHE-RSA-AES256-SHA384:@SECLEVEL=0")
ctx.options |= 1 << 19
c = http.client.HTTPSConnection(base.hostname, base.port, context=ctx)
for path in ["/small", "/large.txt", "/fail"]:
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    print(json.dumps({"method": "GET", "url": sys.argv[1] + path, "status": r.status}))
PY
# Resumption: one curl, two connections (Connection: close), the second resumes the first's session.
resumed() { curlx -H 'Connection: close' "$@" -- "$BASE/small" "$BASE/small?again=1"; }
record tls13-resumption resumed --http1.1 --tlsv1.3
record tls12-resumption resumed --http1.1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256
# HTTP/2 chosen by ALPN: read as HTTP/2 (not decoded), as h2 in the clear is.
record h2-alpn curlx --http2 -- "$BASE/small" "$BASE/small?2"
# Python requests (urllib3 writes SSLKEYLOGFILE): a session, keep-alive, GET/POST/large.
record requests-keepalive python3 - "$BASE" <<'PY'
import json, sys, requests, urllib3
urllib3.disable_warnings()
base = sys.argv[1]
s = requests.Session()
for method, path, body in [("GET", "/small", None), ("POST", "/echo", {"amount": 12}), ("GET", "/large.txt", None), ("GET", "/fail", None)]:
    r = s.request(method, base + path, json=body, verify=False)
    print(json.dumps({"method": method, "url": base + path, "status": r.status_code, "bytes": len(r.content)}))
PY
# The service's outgoing call to a partner over HTTPS: Host partner.example:18443 (in the partner
# table of captures/http/tls-decrypt/partner.yaml).
record partner-call curlx --http1.1 --resolve partner.example:$PORT:127.0.0.1 \
    -H 'Content-Type: application/json' -d '{"id":1}' -- "https://partner.example:$PORT/v1/verify" "https://partner.example:$PORT/v1/verify"

# The key log carried in the capture file (pcapng Decryption Secrets Block).
editcap --inject-secrets "tls,$OUT/tls13-aes128gcm.keylog" "$OUT/tls13-aes128gcm.pcap" "$OUT/tls13-aes128gcm-dsb.pcapng"
editcap --inject-secrets "tls,$OUT/tls12-ecdhe-aes128gcm.keylog" "$OUT/tls12-ecdhe-aes128gcm.pcap" "$OUT/tls12-ecdhe-aes128gcm-dsb.pcapng"
# A lost segment: the 20th server→client segment with payload of the large response removed.
lost=$(tshark -r "$OUT/tls13-aes128gcm.pcap" -Y "tcp.srcport == $PORT && tcp.len > 1000" -T fields -e frame.number | sed -n 20p)
editcap -F pcap "$OUT/tls13-aes128gcm.pcap" "$OUT/tls13-lost-segment.pcap" "$lost"
cp "$OUT/tls13-aes128gcm.keylog" "$OUT/tls13-lost-segment.keylog"
cp "$OUT/tls13-aes128gcm.client.jsonl" "$OUT/tls13-lost-segment.client.jsonl"
echo "tls13-lost-segment.pcap: frame $lost removed"
# The same with CBC records (whose padding the reader cannot know for a record it did not see).
lost=$(tshark -r "$OUT/tls12-cbc-sha384.pcap" -Y "tcp.srcport == $PORT && tcp.len > 1000" -T fields -e frame.number | sed -n 20p)
editcap -F pcap "$OUT/tls12-cbc-sha384.pcap" "$OUT/tls12-cbc-lost-segment.pcap" "$lost"
cp "$OUT/tls12-cbc-sha384.keylog" "$OUT/tls12-cbc-lost-segment.keylog"
cp "$OUT/tls12-cbc-sha384.client.jsonl" "$OUT/tls12-cbc-lost-segment.client.jsonl"
echo "tls12-cbc-lost-segment.pcap: frame $lost removed"

for pcap in "$OUT"/*.pcap "$OUT"/*.pcapng; do
    name=$(basename "${pcap%.*}")
    keylog="$OUT/${name%-dsb}.keylog"
    tshark -r "$pcap" -o "tls.keylog_file:$keylog" -Y http.response -T fields -e tcp.stream -e http.request_in \
        -e http.response.code > "$OUT/$name.tshark.tsv"
done
chmod 644 "$OUT"/*
