#!/usr/bin/env bash
# Records captures/http/tls/tls.pcap: HTTPS on a port the exporter takes for HTTP, beside
# plaintext HTTP/1.1 on another. nginx serves the fixture routes on 18080 (HTTP) and on 18443
# (TLS, a self-signed certificate made here); curl sends two requests on one TLS 1.3 connection
# and one on a TLS 1.2 connection, Python `http.client` one over TLS, and curl two over HTTP on
# one connection. A second capture of the same traffic, `tls-midstream.pcap`, begins late in
# the handshakes (as when the exporter starts while connections are open): made by editcap from
# the first, dropping the packets of each HTTPS connection before the client's first packet with
# an application data record (TLS 1.3: its Finished, after a ChangeCipherSpec record). Clients log what they got in
# tls.client.jsonl. See captures/README.md ("TLS"). Needs root (netns, capture), nginx (with
# the ssl module: nginx-light has it), openssl, curl, tcpdump, tshark, editcap.
#
#   captures/scripts/make-tls-fixture.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(dirname "$HERE")/http/tls
NS=chx-tls-fixture
. "$HERE/fixture-lib.sh"

if [ "${CHX_TLS_INNER:-}" != 1 ]; then
    if [ "$(id -u)" != 0 ]; then echo "make-tls-fixture: needs root (network namespace, capture)" >&2; exit 1; fi
    mkdir -p "$OUT"
    fixture_run_in_namespace "$NS" CHX_TLS_INNER
    # The mid-stream copy: every packet of an HTTPS connection before the client's first application
    # data record is dropped (the SYNs, most of the handshake); the plaintext connections stay whole.
    first=$(tshark -r "$OUT/tls.pcap" -d tcp.port==18443,tls -Y 'tcp.dstport == 18443 && (tls.record.content_type == 23 || tls.record.opaque_type == 23)' -T fields -e tcp.stream -e frame.number |
        sort -n -k1,1 -k2,2 | awk '!seen[$1]++ { print $1 " " $2 }')
    drop=$(tshark -r "$OUT/tls.pcap" -Y 'tcp.port == 18443' -T fields -e tcp.stream -e frame.number |
        awk -v first="$first" 'BEGIN { n = split(first, f, "\n"); for (i = 1; i <= n; i++) { split(f[i], p, " "); at[p[1]] = p[2] } }
            ($1 in at) && $2 < at[$1] { print $2 }' | paste -sd' ')
    editcap -F pcap "$OUT/tls.pcap" "$OUT/tls-midstream.pcap" $drop
    echo "tls-midstream.pcap: $(capinfos -c -M "$OUT/tls-midstream.pcap" | awk '/Number of packets/ { print $NF }') packets"
    exit 0
fi

WORK=$(mktemp -d /tmp/chx-tls-fixture.XXXXXX)
FMT='{"method":"%{method}","url":"%{url_effective}","status":%{http_code}}\n'
LOG=$OUT/tls.client.jsonl
fixture_stop_at_exit

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
fixture_nginx_conf <<CONF
    server { listen 127.0.0.1:18080; root $WORK/www; }
    server {
        listen 127.0.0.1:18443 ssl;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $WORK/www;
    }
CONF
chmod -R a+rX "$WORK"
nginx -p "$WORK/" -e error.log -c "$WORK/nginx.conf" & PIDS+=($!)
fixture_wait_port 18080 18443

fixture_start_tcpdump "$OUT/tls.pcap" 'tcp port 18080 or tcp port 18443'

: > "$LOG"
c=(-sS -k -o /dev/null -w "$FMT")
curl "${c[@]}" https://127.0.0.1:18443/small.json --next "${c[@]}" https://127.0.0.1:18443/large.json >> "$LOG"
curl "${c[@]}" --tlsv1.2 --tls-max 1.2 https://127.0.0.1:18443/small.json >> "$LOG"
python3 - "$LOG" <<'PY'
import http.client, json, ssl, sys
c = http.client.HTTPSConnection("127.0.0.1", 18443, context=ssl._create_unverified_context())
c.request("GET", "/large.json")
r = c.getresponse(); r.read()
open(sys.argv[1], "a").write(json.dumps({"method": "GET", "url": "https://127.0.0.1:18443/large.json", "status": r.status}) + "\n")
PY
curl "${c[@]}" http://127.0.0.1:18080/small.json --next "${c[@]}" http://127.0.0.1:18080/large.json >> "$LOG"

sleep 1
fixture_stop_tcpdump "$OUT/tls.pcap"
