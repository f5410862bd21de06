#!/usr/bin/env bash
# Records captures/http/stacks/client-*.pcap: HTTP clients of other languages as a service's
# outgoing calls (the exporter configured with no inbound port, every exchange is an outgoing call).
# Servers, all at once: Node `http` on 18111 (stack_server.js, keep-alive 30 s, plus
# /api/negotiate and /api/br: gzip, deflate and brotli bodies), Go net/http on 18112
# (stack_server.go, idle 30 s), lighttpd on 18113 (stacks/lighttpd.conf moved there: accepts
# h2c). One fixture per client, its log in client-NAME.client.jsonl:
#   client-go        Go net/http client (client_go.go) to Node and Go: pool, two calls at once,
#                    gzip asked for by the Transport, HEAD, Expect: 100-continue, a chunked body,
#                    a trailer, an idle pooled connection reused after 6 s
#   client-go-pool   the same client's bursts of 8 calls at once to Go: connections dialed for a
#                    call that took another one, pooled, and first used a round (250 ms) or more
#                    after their handshake
#   client-node      Node fetch (undici) and http.Agent keep-alive (client_node.mjs) to Node and Go
#   client-ruby      Ruby net/http (client_ruby.rb) to Node and Go
#   client-php       PHP's http:// stream wrapper (client_php.php) to Node and Go
#   client-wget      GNU wget, several URLs on one connection, a POST, --spider (HEAD)
#   client-java      Java 17 HttpClient at its default version (StackClient.java): asks Node and
#                    Go for h2c on every request; both answer in HTTP/1.1
#   client-java-h2c  the same to lighttpd, which accepts: 101, then HTTP/2
# Then expected.py and check_streams.py over everything. Needs root (netns, capture), go, node,
# ruby, php-cli, wget, java (default-jdk-headless), lighttpd, python3, tcpdump, tshark.
#
#   captures/scripts/make-client-fixtures.sh [--force]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CAPTURES=$(dirname "$HERE")
OUT=$CAPTURES/http/stacks
NS=chx-h16-http-clients
FIXTURES=(client-go client-go-pool client-node client-ruby client-php client-wget client-java client-java-h2c)
. "$HERE/fixture-lib.sh"

if [ "${CHX_CLIENTS_INNER:-}" != 1 ]; then
    if [ "$(id -u)" != 0 ]; then echo "make-client-fixtures: needs root (network namespace, capture)" >&2; exit 1; fi
    if [ -e "$OUT/client-go.pcap" ] && [ "${1:-}" != --force ]; then
        echo "make-client-fixtures: $OUT already holds the client fixtures; pass --force to replace them" >&2
        exit 1
    fi
    for n in "${FIXTURES[@]}"; do rm -f "$OUT/$n".*; done
    fixture_run_in_namespace "$NS" CHX_CLIENTS_INNER
    python3 "$HERE/expected.py" "$CAPTURES"
    python3 "$HERE/check_streams.py" "$CAPTURES"
    exit 0
fi

WORK=$(mktemp -d /tmp/chx-client-fixtures.XXXXXX)
STACKS=$HERE/stacks
fixture_stop_at_exit
export GOCACHE=$WORK/gocache GOPATH=$WORK/gopath GO111MODULE=off
go build -o "$WORK/go-server" "$STACKS/stack_server.go"
go build -o "$WORK/go-client" "$STACKS/client_go.go"

# lighttpd as for make-stack-fixtures.sh --debian (CGI routes), on 18113
chmod 755 "$WORK"
mkdir -p "$WORK/www"
sed 's/^server.port = 18098$/server.port = 18113/' "$STACKS/lighttpd.conf" > "$WORK/lighttpd.conf"
export WORK STACKS

(cd "$STACKS" && exec node stack_server.js 18111 30000) 2> "$WORK/node.log" & PIDS+=($!)
(cd "$STACKS" && exec "$WORK/go-server" 18112 30) 2> "$WORK/go.log" & PIDS+=($!)
lighttpd -D -f "$WORK/lighttpd.conf" 2> "$WORK/lighttpd.log" & PIDS+=($!)
fixture_wait_port 18111 18112 18113
NODE=http://127.0.0.1:18111 GO=http://127.0.0.1:18112

# record NAME COMMAND...: $OUT/NAME.pcap, the client's log in $LOG
record() {
    local name=$1; shift
    LOG=$OUT/$name.client.jsonl
    : > "$LOG"
    fixture_start_tcpdump "$OUT/$name.pcap" 'tcp portrange 18111-18113'
    "$@"
    sleep 1.2  # > libpcap's 1 s buffer timeout, in case --immediate-mode is not honoured
    fixture_stop_tcpdump "$OUT/$name.pcap"
    echo "$name: $(wc -l < "$LOG") client exchanges"
}

# wget URL...: one wget for several URLs (one kept connection per host); logs the last status
# line of each URL's response headers (-S), a 1xx before it left out.
wget_log() {
    wget -S -O /dev/null -U 'mall-app/5.1.0 (wget)' "$@" 2>&1 | tee -a "$WORK/wget.log" | awk -v method="${METHOD:-GET}" '
        /^--[0-9-]+ [0-9:]+--  / { if (url != "") print url " " status; url = $3; status = "" }
        /^  HTTP\/1\.[01] [0-9][0-9][0-9]/ { status = $2 }
        END { if (url != "") print url " " status }' |
        while read -r url status; do
            [ -n "$status" ] && printf '{"method":"%s","url":"%s","status":%s}\n' "${METHOD:-GET}" "$url" "$status" >> "$LOG"
        done
}
wget_() {
    wget_log "$NODE/api/order?wget=1" "$NODE/api/negotiate?wget=1" "$NODE/api/fail?wget=1" \
        "$NODE/api/trailer?wget=1" "$GO/api/order?wget=2" "$GO/api/errorcode?wget=1" || true
    METHOD=POST wget_log --header 'Content-Type: application/json' \
        --post-data '{"method_code":"PAY01","orderId":"ORD000000012345"}' "$GO/api/echo?wget=post" || true
    METHOD=HEAD wget_log --spider "$NODE/api/order?wget=spider" || true
}

record client-go env CHX_IDLE=6 "$WORK/go-client" "$OUT/client-go.client.jsonl" "$GO" "$NODE"
record client-go-pool "$WORK/go-client" burst "$OUT/client-go-pool.client.jsonl" "$GO"
record client-node node "$STACKS/client_node.mjs" "$OUT/client-node.client.jsonl" "$GO" "$NODE"
record client-ruby ruby "$STACKS/client_ruby.rb" "$OUT/client-ruby.client.jsonl" "$NODE" "$NODE"
record client-php php "$STACKS/client_php.php" "$OUT/client-php.client.jsonl" "$GO"
record client-wget wget_
java_() { java "$STACKS/StackClient.java" "$NODE" "$LOG"; java "$STACKS/StackClient.java" "$GO" "$LOG"; }
record client-java java_
record client-java-h2c java "$STACKS/StackClient.java" http://127.0.0.1:18113 "$OUT/client-java-h2c.client.jsonl"
