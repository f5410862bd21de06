#!/usr/bin/env bash
# Records captures/http/stacks/: HTTP/1.1 as other servers and clients speak it, then the
# expected outputs (expected.py, which rewrites captures/manifest.tsv for every fixture) and
# check_streams.py. See captures/README.md. Two sets, recorded apart:
#   core     gunicorn+Flask sync and gthread, uvicorn/h11, Node `http`, Go net/http, aiohttp,
#            waitress; clients requests, httpx, aiohttp, Node http and fetch, Go, curl, raw
#            sockets for pipelining and HTTP/1.0 (ports 18090-18096)
#   debian   servers from Debian packages: Apache httpd (CGI, static files, mod_deflate),
#            lighttpd, HAProxy in front of Apache, Ruby WEBrick, PHP's built-in server; clients
#            Java's HttpClient, ab, curl, requests, raw sockets (ports 18097-18102, 18110)
#
#   captures/scripts/make-stack-fixtures.sh [--force] [--keep-work] [--debian]
#
# Refuses to touch the set's fixtures in captures/http/stacks/ when they exist, unless --force
# (which replaces that set's fixtures only). Runs in a private network namespace
# (chx-h11-srv-stacks) whose loopback has MTU 1500 and TSO/GSO/GRO off, as make-http-fixtures.sh
# does. Servers all at once, each on its own port, started and stopped by PID; tcpdump filtered to
# the fixture's ports. Needs root; installs what is missing (apt: golang-go, nodejs, tcpdump,
# tshark, curl, ethtool, iproute2, and for --debian apache2, apache2-utils, lighttpd,
# lighttpd-mod-deflate, haproxy, ruby, ruby-webrick, php-cli, default-jdk-headless; pip: the
# Python servers and clients).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CAPTURES=$(dirname "$HERE")
OUT=$CAPTURES/http/stacks
NS=chx-h11-srv-stacks
PY=${PYTHON:-python3}
# the fixtures of the debian set (the core set is every other fixture in $OUT)
DEBIAN_FIXTURES=(apache lighttpd h2c-lighttpd haproxy webrick php pipelined-debian)

# ---------------------------------------------------------------- outer part
if [ "${CHX_STACKS_INNER:-}" != 1 ]; then
    FORCE=0 KEEP=0 SET=core
    for arg in "$@"; do
        case $arg in
            --force) FORCE=1 ;;
            --keep-work) KEEP=1 ;;
            --debian) SET=debian ;;
            *) echo "usage: $0 [--force] [--keep-work] [--debian]" >&2; exit 2 ;;
        esac
    done
    if [ "$(id -u)" != 0 ]; then echo "make-stack-fixtures: needs root (network namespace, capture)" >&2; exit 1; fi
    mkdir -p "$OUT"
    # the set's fixtures already there: the debian ones by name, the core ones are all the others
    names=()
    for f in "$OUT"/*.pcap; do
        [ -e "$f" ] || continue
        n=$(basename "$f" .pcap) debian=0
        for d in "${DEBIAN_FIXTURES[@]}"; do [ "$n" = "$d" ] && debian=1; done
        case $SET/$debian in debian/1|core/0) names+=("$n") ;; esac
    done
    if [ ${#names[@]} -gt 0 ]; then
        if [ $FORCE != 1 ]; then
            echo "make-stack-fixtures: $OUT already holds the $SET fixtures; pass --force to replace them" >&2
            exit 1
        fi
        for n in "${names[@]}"; do rm -f "$OUT/$n".*; done
    fi

    need=()
    for tool in go:golang-go node:nodejs tcpdump:tcpdump tshark:tshark capinfos:tshark curl:curl \
                ethtool:ethtool ip:iproute2 ss:iproute2; do
        command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
    done
    if [ $SET = debian ]; then
        for tool in apache2:apache2 ab:apache2-utils lighttpd:lighttpd haproxy:haproxy ruby:ruby php:php-cli \
                    java:default-jdk-headless; do
            command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
        done
        [ -e /usr/lib/lighttpd/mod_deflate.so ] || need+=(lighttpd-mod-deflate)
        ruby -e 'require "webrick"' 2>/dev/null || need+=(ruby-webrick)
    fi
    if [ ${#need[@]} -gt 0 ]; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
    fi
    mods=(flask gunicorn uvicorn aiohttp httpx waitress requests)
    # one `import a,b,c` (a pattern substitution on the array would work per element: no commas)
    if ! "$PY" -c "import $(IFS=,; echo "${mods[*]}")" 2>/dev/null; then
        # a Debian python3 refuses pip without --break-system-packages (PEP 668)
        "$PY" -m pip install "${mods[@]}" || "$PY" -m pip install --break-system-packages "${mods[@]}"
    fi

    ip netns del "$NS" 2>/dev/null || true
    ip netns add "$NS"
    trap 'ip netns del "$NS" 2>/dev/null || true' EXIT
    ip netns exec "$NS" ip link set lo mtu 1500 up
    ip netns exec "$NS" ethtool -K lo tso off gso off gro off >/dev/null
    ip netns exec "$NS" env CHX_STACKS_INNER=1 CHX_STACKS_SET=$SET CHX_KEEP_WORK=$KEEP bash "$0"
    "$PY" "$HERE/expected.py" "$CAPTURES"
    "$PY" "$HERE/check_streams.py" "$CAPTURES"
    echo "make-stack-fixtures: done; $(ls "$OUT" | grep -c '\.pcap$') fixtures, $(du -sh "$OUT" | cut -f1)"
    exit 0
fi

# ---------------------------------------------------------------- inner part (in the netns)
WORK=$(mktemp -d /tmp/chx-stack-fixtures.XXXXXX)
STACKS=$HERE/stacks
CURL_FMT='{"method":"%{method}","url":"%{url_effective}","status":%{http_code}}\n'
SERVER_PIDS=() TCPDUMP_PID=""

cleanup() {
    if [ -n "$TCPDUMP_PID" ]; then kill -INT "$TCPDUMP_PID" 2>/dev/null || true; wait "$TCPDUMP_PID" 2>/dev/null || true; fi
    for pid in "${SERVER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "${CHX_KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

"$PY" -c 'import json; print(json.dumps({"method_code": "UP01", "blob": "x" * 2450}))' > "$WORK/post-2500.json"

wait_port() {  # PORT: until something listens on it
    for _ in $(seq 100); do
        ss -ltn "sport = :$1" | grep -q LISTEN && return 0
        sleep 0.1
    done
    echo "make-stack-fixtures: nothing listens on port $1" >&2; exit 1
}

# start_server PORT COMMAND...: the server runs from stacks/ (for the Python imports)
start_server() {
    local port=$1; shift
    (cd "$STACKS" && exec "$@") 2> "$WORK/server-$port.log" &
    SERVER_PIDS+=($!)
    wait_port "$port"
}

# record NAME PORT|PORT+PORT2|all|debian -- COMMAND...: $OUT/NAME.pcap and $OUT/NAME.client.jsonl;
# PORT+PORT2 also captures PORT2 (HAProxy's backend), BASE is PORT's
record() {
    local name=$1 spec=$2 port=${2%%+*} filter; shift 3
    case $port in
        all) filter="tcp portrange 18090-18096" ;;
        debian) filter="tcp portrange 18097-18102" ;;
        *) filter="tcp port $port${spec#$port}"; filter=${filter/+/ or tcp port } ;;
    esac
    local file=$OUT/$name.pcap log=$WORK/$name.tcpdump.log
    : > "$OUT/$name.client.jsonl"
    tcpdump -i lo -n -Z root -s 0 -U --immediate-mode -B 32768 -w "$file" "$filter" 2> "$log" &
    TCPDUMP_PID=$!
    for _ in $(seq 100); do grep -q 'listening on' "$log" && break; sleep 0.1; done
    grep -q 'listening on' "$log" || { echo "tcpdump did not start: $(cat "$log")" >&2; exit 1; }
    sleep 0.3
    CLIENT_LOG=$OUT/$name.client.jsonl BASE=http://127.0.0.1:$port "$@"  # BASE unused by `all` scenarios
    sleep 1.2  # > libpcap's 1 s buffer timeout, in case --immediate-mode is not honoured
    kill -INT "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=""
    grep -q '^0 packets dropped by kernel' "$log" || { echo "$name: tcpdump dropped packets: $(cat "$log")" >&2; exit 1; }
    echo "$name: $(grep 'packets captured' "$log"), $(wc -l < "$OUT/$name.client.jsonl") client exchanges"
}

# ---------------------------------------------------------------- clients
py() { "$PY" "$STACKS/stack_clients.py" "$1" "$BASE" "$CLIENT_LOG"; }
node_client() { node "$STACKS/stack_client.js" "$BASE" "$CLIENT_LOG"; }
go_client() { "$WORK/go-client" "$BASE" "$CLIENT_LOG" "$@"; }
# curl: Expect: 100-continue on a 2500-byte upload (curl 7.88 adds it by itself
# only above 1 MiB), then a GET on the same connection; then an HTTP/1.0 GET.
curl_expect() {
    curl -sS -o /dev/null -w "$CURL_FMT" -H 'Expect: 100-continue' -H 'Content-Type: application/json' \
        --data-binary "@$WORK/post-2500.json" "$BASE/api/echo?curl=1" \
        --next -sS -o /dev/null -w "$CURL_FMT" "$BASE/api/order?curl=2" >> "$CLIENT_LOG"
    curl -0 -sS -o /dev/null -w "$CURL_FMT" "$BASE/api/order?curl=10" >> "$CLIENT_LOG"
}
# Expect on a route that does not take a POST (Flask: 405) or ignores the body (the
# others): the server may answer at once, with or without a 100 first, and may close;
# the client then sends no body (tshark 4.0 waits for it and never shows the request)
curl_early() {
    curl -sS -o /dev/null -w "$CURL_FMT" -H 'Expect: 100-continue' -H 'Content-Type: application/json' \
        --data-binary "@$WORK/post-2500.json" "$BASE/api/order?curl=early" \
        --next -sS -o /dev/null -w "$CURL_FMT" "$BASE/api/order?curl=after" >> "$CLIENT_LOG"
}
common() { py http10; py idle; py connclose; curl_expect; }
PORTS=(18090 18091 18092 18093 18094 18095 18096)
each_port() { local p; for p in "${PORTS[@]}"; do BASE=http://127.0.0.1:$p "$@"; done; }

# ---------------------------------------------------------------- the core set
if [ "${CHX_STACKS_SET:-core}" = core ]; then
export GOCACHE=$WORK/gocache GOPATH=$WORK/gopath GO111MODULE=off
go build -o "$WORK/go-server" "$STACKS/stack_server.go"
go build -o "$WORK/go-client" "$STACKS/stack_client.go"

# ---------------------------------------------------------------- servers (all at once)
start_server 18090 "$PY" -m gunicorn -b 127.0.0.1:18090 -w 1 --worker-class sync stack_wsgi:app
start_server 18091 "$PY" -m gunicorn -b 127.0.0.1:18091 -w 1 --worker-class gthread --threads 2 --keep-alive 1 stack_wsgi:app
start_server 18092 "$PY" -m uvicorn --host 127.0.0.1 --port 18092 --http h11 --timeout-keep-alive 1 --no-access-log stack_asgi:app
start_server 18093 node stack_server.js 18093
start_server 18094 "$WORK/go-server" 18094
start_server 18095 "$PY" stack_aiohttp.py 18095
start_server 18096 "$PY" -c 'import waitress, stack_wsgi; waitress.serve(stack_wsgi.app, host="127.0.0.1", port=18096, channel_timeout=1, cleanup_interval=1, threads=2)'

# ---------------------------------------------------------------- one fixture per stack
gunicorn_sync() { py requests; common; }
record gunicorn-sync 18090 -- gunicorn_sync
gunicorn_gthread() { py requests; py httpx; common; }
record gunicorn-gthread 18091 -- gunicorn_gthread
uvicorn_() { py httpx; py requests; common; }
record uvicorn 18092 -- uvicorn_
node_() { node_client; py requests; common; }
record node 18093 -- node_
go_() { go_client; node_client; common; }
record go 18094 -- go_
aiohttp_() { py aiohttp; py httpx; common; }
record aiohttp 18095 -- aiohttp_
waitress_() { py requests; common; }
record waitress 18096 -- waitress_

# ---------------------------------------------------------------- across stacks
# tshark 4.0 is not the reference for these two (see expected.py NOT_AUTHORITATIVE):
# a pipelined HEAD response (its Content-Length read as a body), a request whose
# announced body never comes.
record pipelined all -- each_port py pipeline
expect_early() { each_port curl_early; BASE=http://127.0.0.1:18094 go_client early; }
record expect-early all -- expect_early
fi

# ---------------------------------------------------------------- the debian set
if [ "${CHX_STACKS_SET:-core}" = debian ]; then
# Static files with fixed bytes and mtime (ETag and Last-Modified do not change between
# recordings), served by Apache and lighttpd (and through HAProxy); www-data (Apache's CGI
# daemon) must reach the work dir.
chmod 755 "$WORK"
mkdir -p "$WORK/www/static"
"$PY" - "$HERE" "$WORK/www/static" <<'PYEOF'
import json, sys
sys.path.insert(0, sys.argv[1])
from fixture_servers import payload
d = sys.argv[2]
open(d + "/data.json", "w").write(json.dumps({"code": "0000", "items": [{"id": i, "name": "item %d" % i} for i in range(100)]}))
open(d + "/large.txt", "wb").write(payload(80000))
PYEOF
touch -d 2026-01-01T00:00:00Z "$WORK/www/static/"*
"$PY" -c 'import sys; sys.stdout.buffer.write(b"u" * 80000)' > "$WORK/upload-80k.bin"
export WORK STACKS

start_server 18097 apache2 -f "$STACKS/apache2.conf" -D FOREGROUND  # and 18110, HAProxy's backend
wait_port 18110
start_server 18098 lighttpd -D -f "$STACKS/lighttpd.conf"
start_server 18099 haproxy -db -f "$STACKS/haproxy.cfg"
start_server 18101 ruby stack_webrick.rb 18101
start_server 18102 php -S 127.0.0.1:18102 stack_router.php

java_client() { java "$STACKS/StackClient.java" "$BASE" "$CLIENT_LOG" "$@"; }
# ab -k N PATH: HTTP/1.0 with `Connection: Keep-Alive`, one request at a time. ab logs no
# exchange, only counts: all N complete, none failed and no non-2xx -> N lines of 200.
ab_client() {
    local out; out=$(ab -k -n "$1" -c 1 "$BASE$2" 2>&1)
    if ! grep -q "^Complete requests: *$1\$" <<<"$out" || ! grep -q '^Failed requests: *0$' <<<"$out" \
        || grep -q '^Non-2xx' <<<"$out"; then
        echo "ab: $out" >&2; exit 1
    fi
    echo "ab $2: $(grep '^Keep-Alive requests' <<<"$out")"
    for _ in $(seq "$1"); do printf '{"method":"GET","url":"%s","status":200}\n' "$BASE$2" >> "$CLIENT_LOG"; done
}
# curl on one keep-alive connection: static file, If-Modified-Since -> 304, Range -> 206
# (one range, two ranges: multipart/byteranges), an unsatisfiable range -> 416, HEAD, gzip,
# an 80 KB download, 80 KB uploads with Expect: 100-continue and chunked (each longer than the
# observer's 64 KiB body prefix).
curl_static() {
    local w=(-sS -o /dev/null -w "$CURL_FMT")
    curl "${w[@]}" "$BASE/static/data.json" \
        --next "${w[@]}" -z 'Sat, 01 Aug 2026 00:00:00 GMT' "$BASE/static/data.json?ims=1" \
        --next "${w[@]}" -r 0-99 "$BASE/static/large.txt?range=1" \
        --next "${w[@]}" -r 0-9,100-109 "$BASE/static/large.txt?range=2" \
        --next "${w[@]}" -r 999999- "$BASE/static/large.txt?range=3" \
        --next "${w[@]}" -I "$BASE/static/large.txt?head=1" \
        --next "${w[@]}" --compressed "$BASE/static/data.json?gzip=1" \
        --next "${w[@]}" "$BASE/static/large.txt?download=1" \
        --next "${w[@]}" -H 'Expect: 100-continue' -H 'Content-Type: application/octet-stream' \
            --data-binary "@$WORK/upload-80k.bin" "$BASE/api/upload?expect=1" \
        --next "${w[@]}" -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' \
            --data-binary "@$WORK/upload-80k.bin" "$BASE/api/upload?chunked=1" \
        --next "${w[@]}" "$BASE/api/order?curl=last" >> "$CLIENT_LOG"
}
# Java's client asks every server for h2c; lighttpd accepts, so there it speaks HTTP/1.1 only, and
# its h2c upgrade is a fixture of its own
web_server() {
    py requests; java_client "$@"; common; curl_static; ab_client 10 "/api/order?ab=1"; ab_client 10 "/static/data.json?ab=2"
    py partial  # a request head that never ends: Apache and HAProxy answer 408 after 5 s, lighttpd closes
}
record apache 18097 -- web_server
record lighttpd 18098 -- web_server 1.1
record h2c-lighttpd 18098 -- java_client
haproxy_() {
    web_server
    curl -sS -o /dev/null -w "$CURL_FMT" "$BASE/api/local?curl=1" --next -sS -o /dev/null -w "$CURL_FMT" \
        "$BASE/api/order?curl=after-local" >> "$CLIENT_LOG"
}
record haproxy 18099+18110 -- haproxy_
webrick_() { py requests; java_client; common; }
record webrick 18101 -- webrick_
php_() { py requests; common; }
record php 18102 -- php_
PORTS=(18097 18098 18099 18101 18102)
record pipelined-debian debian -- each_port py pipeline
fi
