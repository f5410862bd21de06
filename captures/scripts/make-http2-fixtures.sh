#!/usr/bin/env bash
# Records the HTTP/2 fixtures in captures/http/: traffic an HTTP/1.1 observer must recognise
# as HTTP/2 and leave alone, beside HTTP/1.1 it must read as usual. See captures/README.md.
#
#   captures/scripts/make-http2-fixtures.sh [--force]
#
#   h2-prior-knowledge.pcap  nginx 1.22 with `listen 127.0.0.1:18083 http2` (HTTP/2 over
#                            cleartext with prior knowledge, RFC 9113 §3.3: the client's first
#                            bytes are the connection preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`,
#                            §3.4): nghttp, three requests at once on one connection; curl
#                            --http2-prior-knowledge, a POST on a second; and curl to the same
#                            routes in HTTP/1.1 on 18080, two requests on one connection.
#   h2c-upgrade-curl.pcap    curl --http2 to lighttpd 1.4 on 18084: `Upgrade: h2c` accepted
#                            (101 Switching Protocols, RFC 7540 §3.2), the first request answered
#                            on HTTP/2 stream 1, the second request HTTP/2 on the same connection.
#
# Runs in a network namespace of its own (default chx-http2-fixtures; CHX_NETNS names another),
# on its loopback with MTU 1500 and TSO/GSO/GRO off, as make-http-fixtures.sh. Then runs
# expected.py (which rewrites every expected file and manifest.tsv: the others must come out
# unchanged) and check_streams.py. Refuses to replace these two captures without --force.
# Needs root, nginx (with the http_v2 module: nginx-light has it), lighttpd, nghttp
# (nghttp2-client), curl (with nghttp2), tcpdump, tshark.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CAPTURES=$(dirname "$HERE")
OUT=$CAPTURES/http
NS=${CHX_NETNS:-chx-http2-fixtures}
NAMES=(h2-prior-knowledge h2c-upgrade-curl)
. "$HERE/fixture-lib.sh"

# ---------------------------------------------------------------- outer part
if [ "${CHX_HTTP2_INNER:-}" != 1 ]; then
    FORCE=0
    for arg in "$@"; do
        case $arg in
            --force) FORCE=1 ;;
            *) echo "usage: $0 [--force]" >&2; exit 2 ;;
        esac
    done
    [ "$(id -u)" = 0 ] || { echo "make-http2-fixtures: needs root (network namespace, capture)" >&2; exit 1; }
    for name in "${NAMES[@]}"; do
        if [ -e "$OUT/$name.pcap" ] && [ $FORCE != 1 ]; then
            echo "make-http2-fixtures: $OUT/$name.pcap exists; pass --force to replace it" >&2
            exit 1
        fi
    done
    curl --version | grep -q nghttp2 || { echo "make-http2-fixtures: curl without HTTP/2 (nghttp2)" >&2; exit 1; }
    nginx -V 2>&1 | grep -q http_v2_module || { echo "make-http2-fixtures: nginx without http_v2_module" >&2; exit 1; }
    need=()
    command -v lighttpd >/dev/null || need+=(lighttpd)
    command -v nghttp >/dev/null || need+=(nghttp2-client)
    [ ${#need[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"

    fixture_run_in_namespace "$NS" CHX_HTTP2_INNER
    python3 "$HERE/expected.py" "$CAPTURES"
    python3 "$HERE/check_streams.py" "$CAPTURES"
    exit 0
fi

# ---------------------------------------------------------------- inner part (in the netns)
WORK=$(mktemp -d /tmp/chx-http2-fixtures.XXXXXX)
CURL_UA='mall-app/5.1.0 (curl)'
CURL_FMT='{"method":"%{method}","url":"%{url_effective}","status":%{http_code}}\n'
fixture_stop_at_exit

mkdir -p "$WORK/www" "$WORK/tmp"
cp "$HERE/nginx/nginx-http2.conf" "$WORK/nginx-http2.conf"
python3 "$HERE/fixture_www.py" "$WORK/www"
touch -d '2023-11-14 22:13:20 UTC' "$WORK"/www/*
chmod -R a+rX "$WORK"
cat > "$WORK/lighttpd.conf" <<EOF
# lighttpd 1.4: HTTP/2 (server.h2proto) and the h2c upgrade are on by default.
server.port = 18084
server.bind = "127.0.0.1"
server.document-root = "$WORK/www"
server.errorlog = "$WORK/lighttpd-error.log"
server.pid-file = "$WORK/lighttpd.pid"
mimetype.assign = (".json" => "application/json")
EOF

nginx -p "$WORK/" -e error.log -c "$WORK/nginx-http2.conf" &
PIDS+=($!)
lighttpd -D -f "$WORK/lighttpd.conf" &
PIDS+=($!)
fixture_wait_port 18080 18083 18084

# record NAME FILTER -- COMMAND...: $OUT/NAME.pcap and $OUT/NAME.client.jsonl (curl's -w lines).
record() {
    local name=$1 filter=$2; shift 3
    local file=$OUT/$name.pcap log=$WORK/$name.tcpdump.log
    : > "$OUT/$name.client.jsonl"
    tcpdump -i lo -n -Z root -s 0 -U --immediate-mode -B 32768 -w "$file" "$filter" 2> "$log" &
    DUMP=$!
    for _ in $(seq 100); do grep -q 'listening on' "$log" && break; sleep 0.1; done
    grep -q 'listening on' "$log" || { echo "tcpdump did not start: $(cat "$log")" >&2; exit 1; }
    sleep 0.3
    CLIENT_LOG=$OUT/$name.client.jsonl "$@"
    sleep 1.2  # > libpcap's 1 s buffer timeout, in case --immediate-mode is not honoured
    kill -INT "$DUMP"
    wait "$DUMP" || true
    DUMP=""
    grep -q '^0 packets dropped by kernel' "$log" || { echo "$name: tcpdump dropped packets: $(cat "$log")" >&2; exit 1; }
    chmod 644 "$file" "$OUT/$name.client.jsonl"
    echo "$name: $(grep 'packets captured' "$log")"
}

# One curl process per connection: its URLs share the connection (HTTP/2 streams one after the
# other, or HTTP/1.1 keep-alive); every transfer's result is logged.
curl_one_connection() {  # CURL_OPTION... -- URL [URL...]
    local opts=()
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    local args=()
    for url in "$@"; do
        [ ${#args[@]} -gt 0 ] && args+=(--next)
        args+=(-sS -o /dev/null -A "$CURL_UA" -w "$CURL_FMT" "${opts[@]}" "$url")
    done
    curl "${args[@]}" >> "$CLIENT_LOG"
}

# nghttp's -v trace to the client log: each request it sent (HEADERS: :method, :path) with the
# :status received on its stream.
nghttp_log() {  # AUTHORITY < nghttp -v output
    python3 -c '
import json, re, sys
authority, streams, order, sid = sys.argv[1], {}, [], None
for line in sys.stdin:
    m = re.search(r"send HEADERS frame <.*stream_id=(\d+)>", line)
    if m:
        sid = int(m.group(1)); streams[sid] = {}; order.append(sid); continue
    m = re.match(r"\s+(:method|:path): (.*)", line)
    if m and sid is not None:
        streams[sid][m.group(1)] = m.group(2).strip(); continue
    sid = None if not line.startswith(" ") else sid
    m = re.search(r"recv \(stream_id=(\d+)\) :status: (\d+)", line)
    if m and int(m.group(1)) in streams:
        streams[int(m.group(1))]["status"] = int(m.group(2))
for n in order:
    s = streams[n]
    print(json.dumps({"method": s[":method"], "url": "http://%s%s" % (authority, s[":path"]),
                      "status": s.get("status", 0)}, separators=(",", ":")))
' "$1"
}

prior_knowledge() {
    local h2=http://127.0.0.1:18083 h1=http://127.0.0.1:18080
    # curl 7.88 (Debian 12) cannot send a second request on a prior-knowledge connection ("Error in
    # the HTTP2 framing layer", curl/curl#10634, fixed in 7.89): several requests on one connection
    # come from nghttp (nghttp2-client), which sends them at once on streams 1, 3, 5.
    nghttp -v -H "user-agent: ${CURL_UA/curl/nghttp}" "$h2/api/v1/order" "$h2/api/v1/goods/list" \
        "$h2/api/v1/nothing?method_code=NO1" > "$WORK/nghttp.log"
    nghttp_log 127.0.0.1:18083 < "$WORK/nghttp.log" >> "$CLIENT_LOG"
    sleep 0.2
    curl -sS -o /dev/null -A "$CURL_UA" -w "$CURL_FMT" --http2-prior-knowledge -H 'Content-Type: application/json' \
        -d '{"method_code":"PAY1","amount":12800}' "$h2/api/v1/pay" >> "$CLIENT_LOG"
    sleep 0.2
    curl_one_connection --http1.1 -- "$h1/api/v1/order" "$h1/api/v1/refund?method_code=RF1"
}

h2c_upgrade() {
    local u=http://127.0.0.1:18084
    curl_one_connection --http2 -- "$u/small.json" "$u/large.json"
}

record h2-prior-knowledge 'tcp port 18083 or tcp port 18080' -- prior_knowledge
record h2c-upgrade-curl 'tcp port 18084' -- h2c_upgrade
