#!/usr/bin/env bash
# Records captures/http/stacks/: HTTP/1.1 as other servers and clients speak it
# (gunicorn+Flask sync and gthread, uvicorn/h11, Node `http`, Go net/http,
# aiohttp, waitress; clients requests, httpx, aiohttp, Node http and fetch, Go,
# curl, raw sockets for pipelining and HTTP/1.0), then the expected outputs
# (expected.py, which rewrites captures/manifest.tsv for every fixture) and
# check_streams.py. See captures/README.md.
#
#   captures/scripts/make-stack-fixtures.sh [--force] [--keep-work]
#
# Refuses to touch captures/http/stacks/ when it holds captures, unless --force.
# Runs in a private network namespace (chx-h11-srv-stacks) whose loopback has
# MTU 1500 and TSO/GSO/GRO off, as make-http-fixtures.sh does. One server at a
# time, each on its own port (18090-18096), started and stopped by PID; tcpdump
# filtered to that port. Needs root; installs what is missing (apt: golang-go,
# nodejs, tcpdump, tshark, curl, ethtool, iproute2; pip: the Python servers and
# clients).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CAPTURES=$(dirname "$HERE")
OUT=$CAPTURES/http/stacks
NS=chx-h11-srv-stacks
PY=${PYTHON:-python3}

# ---------------------------------------------------------------- outer part
if [ "${CHX_STACKS_INNER:-}" != 1 ]; then
    FORCE=0 KEEP=0
    for arg in "$@"; do
        case $arg in
            --force) FORCE=1 ;;
            --keep-work) KEEP=1 ;;
            *) echo "usage: $0 [--force] [--keep-work]" >&2; exit 2 ;;
        esac
    done
    if [ "$(id -u)" != 0 ]; then echo "make-stack-fixtures: needs root (network namespace, capture)" >&2; exit 1; fi
    if compgen -G "$OUT/*.pcap" >/dev/null; then
        if [ $FORCE != 1 ]; then
            echo "make-stack-fixtures: $OUT already holds fixtures; pass --force to replace them" >&2
            exit 1
        fi
        rm -rf "$OUT"
    fi
    mkdir -p "$OUT"

    need=()
    for tool in go:golang-go node:nodejs tcpdump:tcpdump tshark:tshark capinfos:tshark curl:curl \
                ethtool:ethtool ip:iproute2 ss:iproute2; do
        command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
    done
    if [ ${#need[@]} -gt 0 ]; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
    fi
    mods=(flask gunicorn uvicorn aiohttp httpx waitress requests)
    if ! "$PY" -c "import ${mods[*]// /,}" 2>/dev/null; then
        # a Debian python3 refuses pip without --break-system-packages (PEP 668)
        "$PY" -m pip install "${mods[@]}" || "$PY" -m pip install --break-system-packages "${mods[@]}"
    fi

    ip netns del "$NS" 2>/dev/null || true
    ip netns add "$NS"
    trap 'ip netns del "$NS" 2>/dev/null || true' EXIT
    ip netns exec "$NS" ip link set lo mtu 1500 up
    ip netns exec "$NS" ethtool -K lo tso off gso off gro off >/dev/null
    ip netns exec "$NS" env CHX_STACKS_INNER=1 CHX_KEEP_WORK=$KEEP bash "$0"
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

export GOCACHE=$WORK/gocache GOPATH=$WORK/gopath GO111MODULE=off
go build -o "$WORK/go-server" "$STACKS/stack_server.go"
go build -o "$WORK/go-client" "$STACKS/stack_client.go"
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

# record NAME PORT|all -- COMMAND...: $OUT/NAME.pcap and $OUT/NAME.client.jsonl
record() {
    local name=$1 port=$2 filter; shift 3
    if [ "$port" = all ]; then filter="tcp portrange 18090-18096"; else filter="tcp port $port"; fi
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
