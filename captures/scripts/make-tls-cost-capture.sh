#!/usr/bin/env bash
# Records a large HTTPS capture and its key log, and the same traffic in plaintext, to measure what
# TLS decryption costs (docs/tls-decryption.md, "Cost"). Not a fixture: the files are tens of MB and
# stay out of captures/.
#
#   captures/scripts/make-tls-cost-capture.sh OUTDIR [EXCHANGES]     # as root; about a minute
#
# nginx on a network namespace's loopback (MTU 1500, offloads off: fixture-lib.sh) serves the same
# locations on 18443 with TLS (1.3 with TLS_AES_128_GCM_SHA256 only, 1.2 with
# ECDHE-RSA-AES128-GCM-SHA256 only) and on 18080 in the clear. The same clients run twice: once
# against 18443 (OUTDIR/tls.pcap, and OUTDIR/tls.keylog from SSLKEYLOGFILE), once against 18080
# (OUTDIR/plain.pcap). Clients: 8 Python requests sessions at once, half of them limited to TLS 1.2,
# each EXCHANGES/8 keep-alive exchanges (default EXCHANGES 24000 per capture), a new connection
# every 200 exchanges; one exchange in ten a GET of a 20 KB JSON body, the rest small JSON GETs and
# POSTs (fixture_www.py's bodies). OUTDIR/*.client.txt counts what the clients did.
#
#   channel-exporter replay OUTDIR/tls.pcap --syscode A123010101 --inbound-port 18443 --tls-keylog OUTDIR/tls.keylog
#   channel-exporter replay OUTDIR/plain.pcap --syscode A123010101 --inbound-port 18080
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/fixture-lib.sh"

if [ -z "${TLS_COST_INNER:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
    [ $# -ge 1 ] || { echo "usage: $0 OUTDIR [EXCHANGES]" >&2; exit 1; }
    mkdir -p "$1"
    OUT=$(cd "$1" && pwd)
    fixture_install_missing nginx:nginx-light tcpdump:tcpdump openssl:openssl requests:python3-requests ethtool:ethtool
    rm -f "$OUT"/tls.pcap "$OUT"/plain.pcap "$OUT"/tls.keylog "$OUT"/*.client.txt
    fixture_run_in_namespace "${TLS_COST_NS:-chx-tls-cost}" TLS_COST_INNER TLS_COST_OUT="$OUT" TLS_COST_EXCHANGES="${2:-24000}"
    ls -l "$OUT"
    exit 0
fi

OUT=$TLS_COST_OUT
PER_CLIENT=$((TLS_COST_EXCHANGES / 8))
WORK=$(mktemp -d)
fixture_stop_at_exit
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 3650 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
LOCATIONS='
        location = /small.json { root '"$WORK"'/www; }
        location = /large.json { root '"$WORK"'/www; }
        location = /echo { return 200 '"'"'{"code":"0000","msg":"posted"}'"'"'; }'
fixture_nginx_conf <<NGINX
    keepalive_requests 100000;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    server {
        listen 127.0.0.1:18443 ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
        ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256;
        $LOCATIONS
    }
    server { listen 127.0.0.1:18080; $LOCATIONS }
NGINX
chmod -R a+rX "$WORK"    # nginx's worker runs as nobody
nginx -c "$WORK/nginx.conf" -e "$WORK/error.log" & PIDS+=($!)
fixture_wait_port 18443 18080

cat > "$WORK/client.py" <<'PY'
import ssl, sys, requests, urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.ssl_ import create_urllib3_context
urllib3.disable_warnings()
base, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
done = {"small": 0, "large": 0, "post": 0, "connections": 0}

class TLS12(HTTPAdapter):
    """TLS 1.2 at most, ECDHE with AES-128-GCM (urllib3's context writes SSLKEYLOGFILE)."""
    def init_poolmanager(self, *args, **kwargs):
        context = create_urllib3_context(ciphers="ECDHE-RSA-AES128-GCM-SHA256")
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        kwargs["ssl_context"] = context
        return super().init_poolmanager(*args, **kwargs)

s = None
for i in range(count):
    if i % 200 == 0:
        if s is not None:
            s.close()
        s = requests.Session()
        if seed % 2 == 0:
            s.mount("https://", TLS12())
        done["connections"] += 1
    k = (i * 7 + seed) % 10
    if k == 0:
        r = s.get(base + "/large.json", verify=False); done["large"] += 1
    elif k < 4:
        r = s.post(base + "/echo", json={"orderId": i, "amount": 100 + k}, verify=False); done["post"] += 1
    else:
        r = s.get(base + "/small.json", params={"i": i}, verify=False); done["small"] += 1
    assert r.status_code == 200, r.status_code
print(base, done)
PY

run_clients() {  # run_clients NAME URL: 8 sessions at once (the even ones TLS 1.2), tcpdump around them
    local name=$1 url=$2 clients=()
    fixture_start_tcpdump "$OUT/$name.pcap" "tcp port ${url##*:}"
    for seed in 1 2 3 4 5 6 7 8; do
        SSLKEYLOGFILE="$OUT/$name.keylog" python3 "$WORK/client.py" "$url" "$PER_CLIENT" "$seed" \
            >> "$OUT/$name.client.txt" & clients+=($!)
    done
    for pid in "${clients[@]}"; do wait "$pid"; done
    sleep 0.3
    fixture_stop_tcpdump "$OUT/$name.pcap"
}
run_clients tls https://127.0.0.1:18443
run_clients plain http://127.0.0.1:18080
rm -f "$OUT/plain.keylog"
chmod 644 "$OUT"/*
