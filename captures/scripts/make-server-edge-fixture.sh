#!/usr/bin/env bash
# Records captures/http/proxy-edge/server-edge.pcap: answers of real servers the other fixtures do
# not hold, and what real clients make of them. In a namespace of its own (loopback MTU 1500,
# offloads off): nginx 1.22 on 18080 (static files; /up/ proxied to 18081 in HTTP/1.1), the raw
# server `proxy-edge/edge_server.py` on 18081 (a response with both Content-Length and chunked, heads
# of 51 and 71 KB, 146 fields), Node `http` (`stacks/stack_server.js`) on 18093, Go `net/http`
# (`stacks/stack_server.go`) on 18094, Go with a body size limit (`proxy-edge/edge_limit.go`) on
# 18095. Clients: curl `-0 -H 'Connection: keep-alive'` (HTTP/1.0
# keep-alive) and `ab -k` to nginx; raw sockets (`proxy-edge/edge_clients.py`) for `OPTIONS *` and
# request heads near and past the observer's limits (64 KiB, 128 fields) to nginx, Node and Go,
# each followed by an ordinary request on the same connection; the both-lengths response and the
# large response heads read by raw sockets, curl, `requests` and Node's client, and through nginx;
# uploads over the Go server's limit, with and without `Expect: 100-continue` (413 while sending).
# Clients log what they got in server-edge.client.jsonl ("status": null with an "error" when the
# call failed). See captures/README.md ("Forward proxies and server edges").
# Needs root (netns, capture), nginx, node, go, curl, ab, tcpdump, tshark, python3-requests.
#
#   captures/scripts/make-server-edge-fixture.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(dirname "$HERE")/http/proxy-edge
NS=chx-h17-px-edge
. "$HERE/fixture-lib.sh"

if [ "${CHX_EDGE_INNER:-}" != 1 ]; then
    if [ "$(id -u)" != 0 ]; then echo "make-server-edge-fixture: needs root (network namespace, capture)" >&2; exit 1; fi
    fixture_install_missing nginx:nginx-light node:nodejs go:golang-go ab:apache2-utils tcpdump:tcpdump tshark:tshark curl:curl ethtool:ethtool requests:python3-requests
    mkdir -p "$OUT"
    fixture_run_in_namespace "$NS" CHX_EDGE_INNER
    exit 0
fi

WORK=$(mktemp -d /tmp/chx-server-edge.XXXXXX)
LOG=$OUT/server-edge.client.jsonl
fixture_stop_at_exit

fixture_nginx_conf <<CONF
    server {
        listen 127.0.0.1:18080;
        root $WORK/www;
        keepalive_timeout 30;
        location /up/ {
            proxy_pass http://127.0.0.1:18081/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
CONF
chmod -R a+rX "$WORK"
(cd "$HERE/stacks" && GOCACHE=$WORK/gocache go build -o "$WORK/stack_server" stack_server.go)
(cd "$HERE/proxy-edge" && GOCACHE=$WORK/gocache go build -o "$WORK/edge_limit" edge_limit.go)
nginx -p "$WORK/" -e error.log -c "$WORK/nginx.conf" & PIDS+=($!)
python3 "$HERE/proxy-edge/edge_server.py" 18081 & PIDS+=($!)
node "$HERE/stacks/stack_server.js" 18093 30000 > "$WORK/node.log" 2>&1 & PIDS+=($!)
"$WORK/stack_server" 18094 30 > "$WORK/go.log" 2>&1 & PIDS+=($!)
"$WORK/edge_limit" 18095 > "$WORK/edge_limit.log" 2>&1 & PIDS+=($!)
fixture_wait_port 18080 18081 18093 18094 18095

fixture_start_tcpdump "$OUT/server-edge.pcap" 'tcp'

: > "$LOG"
c=(-sS -o /dev/null -w '{"method":"%{method}","url":"%{url_effective}","status":%{http_code},"client":"curl"}\n')
# HTTP/1.0 keep-alive: curl asks for it, nginx keeps the connection (one connection for three).
curl "${c[@]}" -0 -H 'Connection: keep-alive' http://127.0.0.1:18080/small.json \
    --next "${c[@]}" -0 -H 'Connection: keep-alive' http://127.0.0.1:18080/large.json \
    --next "${c[@]}" -0 -H 'Connection: keep-alive' -X POST -d '{"method_code":"M10"}' http://127.0.0.1:18080/small.json >> "$LOG"
ab -k -n 5 -c 1 http://127.0.0.1:18080/small.json > "$WORK/ab.out" 2>&1
grep -q '^Complete requests: *5$' "$WORK/ab.out" && grep -q '^Keep-Alive requests: *5$' "$WORK/ab.out" \
    && grep -q '^Failed requests: *0$' "$WORK/ab.out" || { cat "$WORK/ab.out" >&2; exit 1; }
for _ in 1 2 3 4 5; do echo '{"method":"GET","url":"http://127.0.0.1:18080/small.json","status":200,"client":"ab"}' >> "$LOG"; done

python3 "$HERE/proxy-edge/edge_clients.py" "$LOG" options 18080 18093 18094
python3 "$HERE/proxy-edge/edge_clients.py" "$LOG" large-heads 18080 18093 18094
python3 "$HERE/proxy-edge/edge_clients.py" "$LOG" both-lengths 18081
# The same answers as curl, requests and Node read them, and through nginx.
curl "${c[@]}" http://127.0.0.1:18081/both --next "${c[@]}" http://127.0.0.1:18081/plain \
    --next "${c[@]}" http://127.0.0.1:18081/huge-head --next "${c[@]}" http://127.0.0.1:18081/plain >> "$LOG" || true
curl "${c[@]}" http://127.0.0.1:18080/up/both --next "${c[@]}" http://127.0.0.1:18080/up/plain \
    --next "${c[@]}" http://127.0.0.1:18080/up/huge-head --next "${c[@]}" http://127.0.0.1:18080/up/plain >> "$LOG" || true
u=http://127.0.0.1:18081
python3 "$HERE/proxy-edge/edge_requests.py" "$LOG" get $u/both $u/plain $u/big-head $u/plain $u/many-fields $u/plain
node - "$LOG" <<'JS'
const http = require('http');
const fs = require('fs');
const log = process.argv[2];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = (path) => new Promise((resolve) => {
  const url = 'http://127.0.0.1:18081' + path;
  const entry = { method: 'GET', url, client: 'node' };
  http.get(url, { agent }, (res) => {
    res.resume();
    res.on('end', () => { entry.status = res.statusCode; resolve(entry); });
  }).on('error', (e) => { entry.status = null; entry.error = e.code || e.message; resolve(entry); });
});
(async () => {
  for (const path of ['/both', '/plain', '/big-head', '/plain']) {
    fs.appendFileSync(log, JSON.stringify(await get(path)) + '\n');
  }
  agent.destroy();
})();
JS

# A body over the server's limit (Go's MaxBytesReader, 4 KiB): curl waits for 100 Continue, sends
# the 64 KB body and gets 413 while sending; without Expect, curl and requests send at once; then
# an upload under the limit. Each on a connection of its own (Go closes after a 413).
head -c 65536 /dev/zero | tr '\0' 'a' > "$WORK/64k.txt"
for expect in 'Expect: 100-continue' 'Expect:'; do
    curl "${c[@]}" -H "$expect" -H 'Content-Type: text/plain' --data-binary @"$WORK/64k.txt" \
        http://127.0.0.1:18095/api/upload >> "$LOG" || true
done
python3 "$HERE/proxy-edge/edge_requests.py" "$LOG" post http://127.0.0.1:18095/api/upload "$WORK/64k.txt" 65536 1000

sleep 1
fixture_stop_tcpdump "$OUT/server-edge.pcap"
python3 "$HERE/proxy-edge/tshark_pairs.py" "$OUT/server-edge.pcap" 18080-18095 > "$OUT/server-edge.tshark.jsonl"
cp "$WORK/error.log" "$OUT/server-edge.nginx-error.log"
