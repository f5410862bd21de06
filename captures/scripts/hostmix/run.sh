#!/usr/bin/env bash
# The live host-mix check of session 15 (other protocols, mid-stream pick-up, PROXY headers), run
# inside a network namespace of one's own whose loopback has MTU 1500 and no offloads:
#   ip netns add chx-h15-mix; ip netns exec chx-h15-mix ip link set lo mtu 1500 up
#   ip netns exec chx-h15-mix ethtool -K lo tso off gso off gro off
#   ip netns exec chx-h15-mix run.sh EXPORTER OUTDIR          # exporter restarted once
#   EXPS="old=BIN1 new=BIN2" ip netns exec chx-h15-mix run.sh - OUTDIR   # several at once, one window
# A Flask service under gunicorn (gthread, keep-alive) on 8080 with 4 keep-alive clients (clients.py,
# logged) and a curl POST every ~1.5 s; its outgoing calls to nginx (9001), through HAProxy
# send-proxy-v2 (9002) to nginx proxy_protocol (9003), and HTTPS (9443); a redis-py pool and a cache
# connection holding HTTP text (redis_pool.py), two psycopg2 connections (pg_loop.py) and an SSH
# session (ssh_feed.py), all open before the exporter starts; new redis-cli, psql and ssh
# connections all along. tcpdump records the whole run. Exporter 1 starts at +FIRST s and runs WIN s,
# exporter 2 starts GAP s later (or, with EXPS, all start at +FIRST s). Needs flask, gunicorn, redis,
# psycopg2 (pip), nginx, haproxy, redis-server, postgresql 15, openssh-server, tcpdump, curl.
# Then: analyze.py OUTDIR (inner metrics against the clients' logs, CPU, RSS, counters),
# match3.py OUTDIR A (each client request against the live exchange log), livevsreplay.py OUTDIR
# after replaying each window cut with editcap (see the report of branch hostmix15).
set -u
EXP=$1; OUT=$2; B=$(cd "$(dirname "$0")" && pwd)
FIRST=${FIRST:-30}; WIN=${WIN:-300}; GAP=${GAP:-5}
rm -rf "$OUT"; mkdir -p "$OUT"/{www,tmp,pg}; cd "$OUT"
PIDS=()
stop_all() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done; for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done; }
trap stop_all EXIT
echo '{"code":0,"msg":"stub"}' > www/stub.json; echo '{"code":0,"msg":"ppv2"}' > www/ppv2.json; echo '{"code":0,"msg":"tls"}' > www/tls.json
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=localhost 2>/dev/null
cat > nginx.conf <<CONF
worker_processes 1; daemon off; pid $OUT/nginx.pid;
events { worker_connections 512; }
http { access_log off; client_body_temp_path $OUT/tmp; default_type application/json; keepalive_timeout 120s; keepalive_requests 100000;
  server { listen 127.0.0.1:9001; root $OUT/www; }
  server { listen 127.0.0.1:9003 proxy_protocol; root $OUT/www; }
  server { listen 127.0.0.1:9443 ssl; ssl_certificate $OUT/cert.pem; ssl_certificate_key $OUT/key.pem; root $OUT/www; }
}
CONF
cat > haproxy.cfg <<CONF
global
    maxconn 256
defaults
    mode tcp
    timeout connect 5s
    timeout client 120s
    timeout server 120s
frontend f
    bind 127.0.0.1:9002
    default_backend b
backend b
    server n 127.0.0.1:9003 send-proxy-v2
CONF
cat > ce.yaml <<CONF
syscode: A123010101
inbound:
  ports: [8080]
  skip_paths: [/healthcheck, /metrics]
  skip_statuses: [404]
capture:
  filter: "not portrange 9166-9169"
CONF
chmod -R a+rX "$OUT"; chown postgres "$OUT/pg"
nginx -p "$OUT/" -e "$OUT/nginx.err" -c "$OUT/nginx.conf" & PIDS+=($!)
haproxy -db -f haproxy.cfg > haproxy.log 2>&1 & PIDS+=($!)
redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no > redis.log 2>&1 & PIDS+=($!)
su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/initdb -D $OUT/pg -A trust -U postgres" > initdb.log 2>&1
su postgres -s /bin/sh -c "exec /usr/lib/postgresql/15/bin/postgres -D $OUT/pg -h 127.0.0.1 -p 5432 -k $OUT/pg" > pg.log 2>&1 & PIDS+=($!)
ssh-keygen -q -t ed25519 -N '' -f host_key; ssh-keygen -q -t ed25519 -N '' -f client_key; cp client_key.pub authorized_keys
mkdir -p /run/sshd
/usr/sbin/sshd -D -p 2222 -o ListenAddress=127.0.0.1 -h "$OUT/host_key" -o AuthorizedKeysFile="$OUT/authorized_keys" \
  -o StrictModes=no -o PidFile="$OUT/sshd.pid" -o PermitRootLogin=prohibit-password > sshd.log 2>&1 & PIDS+=($!)
(cd $B && OUT_LOG=$OUT/out.jsonl exec gunicorn -w 1 -k gthread --threads 16 --keep-alive 120 -b 127.0.0.1:8080 service:app) > gunicorn.log 2>&1 & PIDS+=($!)
for port in 9001 9002 9003 9443 6379 5432 2222 8080; do
  for _ in $(seq 150); do ss -ltn "sport = :$port" | grep -q LISTEN && break; sleep 0.1; done
done
tcpdump -i lo -n -s 0 -B 65536 -w "$OUT/run.pcap" 'tcp and not portrange 9166-9169' 2> tcpdump.log & DUMP=$!
sleep 1
T=$(date +%s.%N); echo "clients_start $T" >> times
for c in 1 2 3 4; do python3 $B/clients.py $c 20 "$OUT/clients.jsonl" & PIDS+=($!); done
python3 $B/redis_pool.py ${REDIS_RATE:-100} & PIDS+=($!)
python3 $B/pg_loop.py ${PG_RATE:-50} & PIDS+=($!)
python3 $B/ssh_feed.py "$OUT/client_key" & PIDS+=($!)
# New short connections, from their SYN: redis-cli, psql, ssh, curl to the service (logged).
( i=0; while true; do i=$((i+1))
    redis-cli -h 127.0.0.1 -p 6379 set short:$i "GET /x HTTP/1.1" > /dev/null
    [ $((i % 2)) = 0 ] && psql -h 127.0.0.1 -p 5432 -U postgres -Atc "select $i" > /dev/null
    [ $((i % 15)) = 0 ] && ssh -p 2222 -i client_key -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1 'uname -a; head -c 20000 /dev/urandom | base64' > /dev/null 2>&1
    t0=$(date +%s.%N); st=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{"method_code":"CURL1","amount":3}' http://127.0.0.1:8080/api/order); t1=$(date +%s.%N)
    echo "{\"c\": 0, \"t0\": $t0, \"t1\": $t1, \"path\": \"/api/order\", \"status\": $st, \"code\": \"0000\", \"mc\": \"CURL1\"}" >> curl.jsonl
    sleep 1.5; done ) & PIDS+=($!)
# Exporter windows
monitor() { # PID TAG: every 10 s cpu ticks, rss, a scrape
  local pid=$1 tag=$2 n=0
  while kill -0 $pid 2>/dev/null; do
    n=$((n+1)); local now=$(date +%s.%N)
    local st=($(cut -d' ' -f14,15 /proc/$pid/stat 2>/dev/null)); local rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status 2>/dev/null)
    echo "$tag $now ${st[0]:-} ${st[1]:-} $rss" >> monitor.log
    curl -s -m 5 http://127.0.0.1:9166/metrics > scrape-$tag-$(printf %03d $n).prom
    sleep 10
  done
}
run_exporter() { # TAG SECONDS
  local tag=$1 secs=$2
  echo "${tag}_launch $(date +%s.%N)" >> times
  "$EXP" run --config.file ce.yaml --interface lo --web.listen-address 127.0.0.1:9166 --exchanges "exchanges-$tag.jsonl" > exporter-$tag.log 2>&1 & local ep=$!
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:9166/metrics && break; sleep 0.05; done
  echo "${tag}_up $(date +%s.%N) $ep $(cut -d' ' -f14,15 /proc/$ep/stat)" >> times
  monitor $ep $tag & local mp=$!
  sleep "$secs"
  kill $mp; wait $mp 2>/dev/null
  echo "${tag}_prefinal $(date +%s.%N)" >> times; curl -s http://127.0.0.1:9166/metrics > final-$tag.prom
  echo "${tag}_final $(date +%s.%N) $(cut -d' ' -f14,15 /proc/$ep/stat) $(awk '/VmHWM/{print $2}' /proc/$ep/status)" >> times
  kill -TERM $ep; wait $ep; echo "${tag}_exit $? $(date +%s.%N)" >> times
}
sleep "$FIRST"
if [ -z "${EXPS:-}" ]; then
  run_exporter A "$WIN"
  sleep "$GAP"
  run_exporter B "$WIN"
else
  # Several exporters at once on the same traffic: EXPS="tag=binary ..." (ports 9166, 9167, ...)
  port=9166; EPIDS=()
  for spec in $EXPS; do
    tag=${spec%%=*}; bin=${spec#*=}
    "$bin" run --config.file ce.yaml --interface lo --web.listen-address 127.0.0.1:$port --exchanges exchanges-$tag.jsonl > exporter-$tag.log 2>&1 & ep=$!
    EPIDS+=($ep); echo "$tag $port $ep" >> exporters; port=$((port+1))
  done
  sleep 2
  while read tag port ep; do echo "${tag}_up $(date +%s.%N) $ep $(cut -d' ' -f14,15 /proc/$ep/stat)" >> times; done < exporters
  for i in $(seq $((WIN / 10))); do
    sleep 10
    while read tag port ep; do echo "$tag $(date +%s.%N) $(cut -d' ' -f14,15 /proc/$ep/stat) $(awk '/VmRSS/{print $2}' /proc/$ep/status)" >> monitor.log; done < exporters
  done
  while read tag port ep; do
    echo "${tag}_prefinal $(date +%s.%N)" >> times; curl -s http://127.0.0.1:$port/metrics > final-$tag.prom
    echo "${tag}_final $(date +%s.%N) $(cut -d' ' -f14,15 /proc/$ep/stat) $(awk '/VmHWM/{print $2}' /proc/$ep/status)" >> times
  done < exporters
  for ep in "${EPIDS[@]}"; do kill -TERM $ep; wait $ep; echo "exit $ep $?" >> times; done
fi
sleep 10
echo "clients_stop $(date +%s.%N)" >> times
stop_all; PIDS=()
kill -INT $DUMP; wait $DUMP; cat tcpdump.log >> times
su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/pg_ctl -D $OUT/pg stop -m fast" > /dev/null
