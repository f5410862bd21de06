#!/usr/bin/env bash
# Records captures/http/other-protocols/: the connections a service host also carries, which the
# exporter reads as HTTP because they are not to a broker port. Real servers and clients, each
# connection seen from its handshake:
#   Redis        redis-server 7, redis-cli (PING, a SET of a value holding an HTTP request and
#                one of a value holding an HTTP response, GETs of both) and redis-benchmark
#   PostgreSQL   postgres 15 (trust on 127.0.0.1), psql (an SSLRequest first, then the startup)
#   SSH          sshd and ssh with a key made here (server and client banners, key exchange)
#   SMTP         Python's smtpd (the server speaks first), smtplib sending one message
# beside plaintext HTTP/1.1 (Python's http.server, HTTP/1.1, two curl requests on one connection).
# `other-protocols-midstream.pcap` is the same traffic without the SYN and SYN-ACK of every
# connection (editcap), as when the exporter starts while they are open: there nothing shows
# where a connection begins, and its first bytes are searched for HTTP as before.
# `other-protocols.expected.json` holds what tshark counts in the capture: connections per port.
# See captures/README.md ("Other protocols"). Needs root (netns, capture), redis-server,
# postgresql, openssh-server/-client, python3, curl, tcpdump, tshark, editcap.
#
#   captures/scripts/make-other-protocols-fixture.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(dirname "$HERE")/http/other-protocols
NS=chx-other-protocols-fixture
. "$HERE/fixture-lib.sh"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

if [ "${CHX_OTHER_INNER:-}" != 1 ]; then
    if [ "$(id -u)" != 0 ]; then echo "make-other-protocols-fixture: needs root (network namespace, capture)" >&2; exit 1; fi
    need=()
    for tool in redis-server:redis-server sshd:openssh-server ssh:openssh-client tcpdump:tcpdump tshark:tshark \
                editcap:tshark curl:curl ethtool:ethtool; do
        command -v "${tool%%:*}" >/dev/null || [ -x "/usr/sbin/${tool%%:*}" ] || need+=("${tool#*:}")
    done
    [ -n "$PG_BIN" ] || need+=(postgresql)
    if [ ${#need[@]} -gt 0 ]; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
    fi
    mkdir -p "$OUT"
    fixture_run_in_namespace "$NS" CHX_OTHER_INNER
    # The mid-stream copy: every SYN (with or without ACK) dropped.
    drop=$(tshark -r "$OUT/other-protocols.pcap" -Y 'tcp.flags.syn == 1' -T fields -e frame.number | paste -sd' ')
    editcap -F pcap "$OUT/other-protocols.pcap" "$OUT/other-protocols-midstream.pcap" $drop
    # Connections per server port, by tshark (a connection = a SYN without ACK).
    tshark -r "$OUT/other-protocols.pcap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields -e tcp.dstport |
        sort -n | uniq -c | awk 'BEGIN { printf "{\"connections_by_port\": {" } { printf "%s\"%s\": %s", (NR > 1 ? ", " : ""), $2, $1 }
            END { printf "}}\n" }' > "$OUT/other-protocols.expected.json"
    cat "$OUT/other-protocols.expected.json"
    exit 0
fi

WORK=$(mktemp -d /tmp/chx-other-protocols.XXXXXX)
chmod 755 "$WORK"
PG_DATA="$WORK/pg"
fixture_stop_at_exit

# Servers: Redis 16379, PostgreSQL 15432, sshd 10022, SMTP 10025, HTTP 18080.
redis-server --port 16379 --bind 127.0.0.1 --save '' --appendonly no --daemonize no > "$WORK/redis.log" 2>&1 & PIDS+=($!)
mkdir -p "$PG_DATA" && chown postgres "$PG_DATA"
su postgres -s /bin/sh -c "$PG_BIN/initdb -D $PG_DATA -A trust -U postgres" > "$WORK/initdb.log" 2>&1
su postgres -s /bin/sh -c "exec $PG_BIN/postgres -D $PG_DATA -h 127.0.0.1 -p 15432 -k $PG_DATA" > "$WORK/pg.log" 2>&1 & PIDS+=($!)
ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/client_key"
cp "$WORK/client_key.pub" "$WORK/authorized_keys"
mkdir -p /run/sshd
/usr/sbin/sshd -D -p 10022 -o ListenAddress=127.0.0.1 -h "$WORK/host_key" -o AuthorizedKeysFile="$WORK/authorized_keys" \
    -o StrictModes=no -o PidFile="$WORK/sshd.pid" -o PermitRootLogin=prohibit-password > "$WORK/sshd.log" 2>&1 & PIDS+=($!)
python3 -W ignore -m smtpd -n -c DebuggingServer 127.0.0.1:10025 > "$WORK/smtp.log" 2>&1 & PIDS+=($!)
mkdir -p "$WORK/www" && printf '{"code":"0","message":"ok"}' > "$WORK/www/ok.json"
(cd "$WORK/www" && exec python3 -m http.server --protocol HTTP/1.1 --bind 127.0.0.1 18080) > "$WORK/http.log" 2>&1 & PIDS+=($!)
fixture_wait_port 16379 15432 10022 10025 18080

fixture_start_tcpdump "$OUT/other-protocols.pcap" \
    'tcp port 16379 or tcp port 15432 or tcp port 10022 or tcp port 10025 or tcp port 18080'

r=(redis-cli -h 127.0.0.1 -p 16379)
"${r[@]}" ping > /dev/null
printf 'GET /api/v1/order HTTP/1.1\r\nHost: shop\r\n\r\n' | "${r[@]}" -x set cached-request > /dev/null
printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' | "${r[@]}" -x set cached-response > /dev/null
"${r[@]}" get cached-request > /dev/null
"${r[@]}" get cached-response > /dev/null
redis-benchmark -h 127.0.0.1 -p 16379 -n 200 -c 2 -q -t ping,set,get > /dev/null
psql -h 127.0.0.1 -p 15432 -U postgres -Atc 'select 1' > /dev/null
psql "host=127.0.0.1 port=15432 user=postgres sslmode=disable" -Atc 'select 2' > /dev/null
ssh -p 10022 -i "$WORK/client_key" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    root@127.0.0.1 true 2> /dev/null
python3 - <<'PY'
import smtplib
with smtplib.SMTP("127.0.0.1", 10025) as s:
    s.sendmail("a@example.org", ["b@example.org"], "Subject: hi\r\n\r\nGET /x HTTP/1.1\r\n")
PY
c=(-sS -o /dev/null -w '{"method":"%{method}","url":"%{url_effective}","status":%{http_code}}\n')
curl "${c[@]}" http://127.0.0.1:18080/ok.json --next "${c[@]}" http://127.0.0.1:18080/ok.json > "$OUT/other-protocols.client.jsonl"

sleep 1
fixture_stop_tcpdump "$OUT/other-protocols.pcap"
# The postmaster by the PID in its pid file (`su`, in PIDS, does not pass SIGTERM on).
su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D $PG_DATA stop -m fast" > /dev/null
