#!/usr/bin/env bash
# Records captures/http/proxy-edge/forward-proxy.pcap: a service's outgoing calls through forward
# (egress) proxies on the same host, as enterprises run them. squid 5 on 3128 (Basic proxy
# authentication, `cache deny all`) and tinyproxy 1.11 on 8888 in front of a partner
# (`proxy-edge/partner_server.py`: HTTP on 8080, HTTPS on 443, names partner.example and
# a123020202.example from the namespace's own hosts file). Clients: Python `requests` Sessions with
# `proxies=` (through squid with credentials, through tinyproxy, through squid without credentials:
# 407 for plain HTTP, a raised ProxyError for HTTPS; and direct, for comparison), Go's Transport with
# `http.ProxyURL`, curl `-x` (keep-alive with `Proxy-Connection`, HTTPS by CONNECT, `--proxytunnel`
# for plain HTTP, no credentials). Plain HTTP goes as absolute-form targets
# (`GET http://partner.example:8080/api/x?y=1`); HTTPS as `CONNECT partner.example:443`, then TLS.
# The capture holds both legs: the service to its proxy and the proxy to the partner. Clients log
# what they got in forward-proxy.client.jsonl. See captures/README.md ("Forward proxies").
# Needs root (netns, capture), squid, tinyproxy, go, curl, tcpdump, openssl, python3-requests.
#
#   captures/scripts/make-proxy-edge-fixture.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(dirname "$HERE")/http/proxy-edge
NS=chx-h17-px-fixture
. "$HERE/fixture-lib.sh"

if [ "${CHX_PX_INNER:-}" != 1 ]; then
    if [ "$(id -u)" != 0 ]; then echo "make-proxy-edge-fixture: needs root (network namespace, capture)" >&2; exit 1; fi
    fixture_install_missing squid:squid tinyproxy:tinyproxy go:golang-go tcpdump:tcpdump tshark:tshark curl:curl ethtool:ethtool openssl:openssl htpasswd:apache2-utils requests:python3-requests
    mkdir -p "$OUT"
    # The partner's names, in the namespace only.
    FIXTURE_HOSTS=$'127.0.0.1 localhost partner.example a123020202.example\n::1 localhost'
    fixture_run_in_namespace "$NS" CHX_PX_INNER
    exit 0
fi

WORK=$(mktemp -d /tmp/chx-proxy-edge.XXXXXX)
chmod 755 "$WORK"
mkdir -m 777 "$WORK/logs"
LOG=$OUT/forward-proxy.client.jsonl
fixture_stop_at_exit

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=partner.example \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
htpasswd -bc "$WORK/passwd" svc s3cret 2>/dev/null
chmod 644 "$WORK/passwd"

python3 "$HERE/proxy-edge/partner_server.py" 8080 443 "$WORK/cert.pem" "$WORK/key.pem" & PIDS+=($!)
fixture_start_squid "443 8080" "$WORK/passwd"
fixture_start_tinyproxy "443"
fixture_wait_port 8080 443 3128 8888
(cd "$HERE/proxy-edge" && GOCACHE=$WORK/gocache go build -o "$WORK/proxy_client" proxy_client.go)

fixture_start_tcpdump "$OUT/forward-proxy.pcap" 'tcp'

: > "$LOG"
python3 "$HERE/proxy-edge/proxy_clients.py" "$LOG" http://svc:s3cret@127.0.0.1:3128 http://127.0.0.1:8888 direct
"$WORK/proxy_client" "$LOG" http://svc:s3cret@127.0.0.1:3128
c=(-sS -o /dev/null -w '{"method":"%{method}","url":"%{url_effective}","status":%{http_code},"proxy":"PROXY"}\n')
curl_logged() {  # curl_logged PROXY ARGS...: curl's lines, with the proxy's address
    local proxy=$1
    shift
    curl "$@" | sed "s/\"PROXY\"/\"$proxy\"/" >> "$LOG"
}
squid=(-x http://127.0.0.1:3128 -U svc:s3cret)
curl_logged 127.0.0.1:3128 "${squid[@]}" "${c[@]}" -H 'User-Agent: svc-curl/1.0' -H 'Method-Code: MC4' 'http://partner.example:8080/api/x?y=3' \
    --next "${squid[@]}" "${c[@]}" -H 'T-Code: tcurl' 'http://partner.example:8080/api/zero'
curl_logged 127.0.0.1:3128 "${squid[@]}" "${c[@]}" -k https://partner.example/api/x --next "${squid[@]}" "${c[@]}" -k https://partner.example/api/quote
# Plain HTTP inside a CONNECT tunnel: the requests after the tunnel's 200 are origin-form, in clear.
curl_logged '127.0.0.1:3128","tunnel":"plain' "${squid[@]}" "${c[@]}" -p -H 'Method-Code: MC6' 'http://partner.example:8080/api/x?y=4' \
    --next "${squid[@]}" "${c[@]}" -p 'http://partner.example:8080/api/fail'
curl_logged 127.0.0.1:3128 -x http://127.0.0.1:3128 "${c[@]}" 'http://partner.example:8080/api/x?y=5'
# A Host header that is not the URL's authority: the proxy goes where the target says (RFC 9112 §3.2.2).
curl_logged 127.0.0.1:3128 "${squid[@]}" "${c[@]}" -H 'Host: alias.example:8080' 'http://partner.example:8080/api/x?y=7'
curl_logged 127.0.0.1:8888 -x http://127.0.0.1:8888 "${c[@]}" -H 'Method-Code: MC7' 'http://partner.example:8080/api/x?y=6' \
    --next -x http://127.0.0.1:8888 "${c[@]}" -k https://partner.example/api/zero
# Without credentials, HTTPS through squid: the CONNECT gets 407 and requests raises (nothing logged).
python3 - "$LOG" <<'PY' || true
import requests, sys, warnings
warnings.filterwarnings("ignore")
try:
    requests.get("https://partner.example/api/x", proxies={"https": "http://127.0.0.1:3128"}, verify=False, timeout=10)
except requests.exceptions.ProxyError as error:
    print("expected ProxyError:", type(error).__name__)
PY

sleep 1
fixture_stop_tcpdump "$OUT/forward-proxy.pcap"
install -m 644 "$WORK/logs/squid-access.log" "$OUT/forward-proxy.squid-access.log"
python3 "$HERE/proxy-edge/tshark_pairs.py" "$OUT/forward-proxy.pcap" > "$OUT/forward-proxy.tshark.jsonl"
