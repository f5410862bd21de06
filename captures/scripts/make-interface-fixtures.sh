#!/usr/bin/env bash
# Short HTTP captures recorded on the interface types of real hosts, each with the clients' own
# count of statuses beside it (captures/http/interfaces/NAME.pcap and NAME.client.json):
#   tun-raw      a tun device (LINKTYPE_RAW: IP with no link header, as a VPN's), IPv4 and IPv6
#   tap-ethernet a tap device (Ethernet from a user-space forwarder), IPv4 and IPv6
#   macvlan      a macvlan device (bridge mode) over a veth
#   bridge-port  a port of a Linux bridge whose devices have no IP address
# Two namespaces (chx-ifx-s, chx-ifx-c), deleted at the end. Needs root, ip, tcpdump, python3.
# Usage: captures/scripts/make-interface-fixtures.sh [--force]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../http" && pwd)/interfaces
mkdir -p "$out"
if [[ "${1:-}" != --force ]] && ls "$out"/*.pcap >/dev/null 2>&1; then
    echo "$out already holds captures; --force to record them again" >&2
    exit 1
fi
S=chx-ifx-s C=chx-ifx-c X=chx-ifx-x
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for ns in $S $C $X; do ip netns del $ns 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Joins two tun (or tap) devices named t0, one in each namespace, copying packets between them.
cat > "$work/forward.py" <<'PY'
import ctypes, fcntl, os, select, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
mode = {"tun": 0x0001, "tap": 0x0002}[sys.argv[1]]
def enter(namespace):
    fd = os.open(f"/var/run/netns/{namespace}", os.O_RDONLY)
    assert libc.setns(fd, 0x40000000) == 0
    os.close(fd)
def device():
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"t0", mode | 0x1000))  # TUNSETIFF, IFF_NO_PI
    return fd
enter(sys.argv[2]); a = device()
enter(sys.argv[3]); b = device()
print("ready", flush=True)
peer = {a: b, b: a}
while True:
    for fd in select.select([a, b], [], [])[0]:
        data = os.read(fd, 65536)
        try:
            os.write(peer[fd], data)
        except OSError:  # the other end not up yet
            pass
PY

# GET /ok (200, code 0), GET /bad (400, code 40001), POST /up (200): keep-alive and not.
cat > "$work/server.py" <<'PY'
import http.server, json, socket
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, status, body):
        body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/ok":
            self.answer(200, {"code": 0, "data": "x" * 20000})
        else:
            self.answer(400, {"code": 40001})
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.answer(200, {"code": 0})
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
Server(("::", 8080), Handler).serve_forever()
PY

# The client's own count of statuses, as JSON: {"200": 8, "400": 4}.
cat > "$work/client.py" <<'PY'
import collections, http.client, json, sys
statuses = collections.Counter()
for host in sys.argv[1:]:
    keepalive = http.client.HTTPConnection(host, 8080, timeout=10)
    for _ in range(3):
        for method, path, body in (("GET", "/ok", None), ("POST", "/up", b'{"a": 1}'), ("GET", "/bad", None)):
            keepalive.request(method, path, body=body)
            response = keepalive.getresponse()
            response.read()
            statuses[str(response.status)] += 1
    keepalive.close()
    once = http.client.HTTPConnection(host, 8080, timeout=10)
    once.request("GET", "/ok", headers={"Connection": "close"})
    response = once.getresponse()
    response.read()
    statuses[str(response.status)] += 1
    once.close()
print(json.dumps(dict(sorted(statuses.items()))))
PY

fresh() {
    for ns in $S $C $X; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; ip -n $ns link set lo up; done
}
addresses() {  # namespace device last-octet
    ip -n "$1" addr add "10.99.0.$3/24" dev "$2"
    ip -n "$1" addr add "fd00:99::$3/64" dev "$2" nodad
    ip -n "$1" link set "$2" up
}
# record NAME SERVER-NS CAPTURE-NS DEVICE: the server in SERVER-NS, tcpdump on DEVICE in CAPTURE-NS.
record() {
    local name=$1 server_ns=$2 capture_ns=$3 device=$4
    ip netns exec "$server_ns" python3 "$work/server.py" & pids+=($!)
    local server=$!
    ip netns exec "$capture_ns" tcpdump -q -i "$device" -s 262144 -U -w "$out/$name.pcap" tcp port 8080 2>"$work/$name.tcpdump" &
    local dump=$!
    sleep 1.5
    ip netns exec $C python3 "$work/client.py" 10.99.0.1 fd00:99::1 > "$out/$name.client.json"
    sleep 1
    kill "$dump" "$server"
    wait "$dump" "$server" 2>/dev/null || true
    echo "$name: $(cat "$out/$name.client.json") $(grep -o 'packets captured.*\|[0-9]* packets captured' "$work/$name.tcpdump" | head -1)"
}

fresh
python3 "$work/forward.py" tun $S $C & pids+=($!)
sleep 1
addresses $S t0 1; addresses $C t0 2
record tun-raw $S $S t0
kill "${pids[0]}"; pids=()

fresh
python3 "$work/forward.py" tap $S $C & pids+=($!)
sleep 1
addresses $S t0 1; addresses $C t0 2
sleep 1
record tap-ethernet $S $S t0
kill "${pids[0]}"; pids=()

fresh
ip link add vp netns $X type veth peer name vc netns $C
ip -n $X link set vp up
ip -n $X link add link vp name mv type macvlan mode bridge
ip -n $X link set mv netns $S
addresses $S mv 1; addresses $C vc 2
sleep 1
record macvlan $S $S mv

fresh
ip -n $X link add br0 type bridge
ip link add p1 netns $X type veth peer name vc netns $C
ip link add p2 netns $X type veth peer name vs netns $S
for port in p1 p2; do ip -n $X link set $port master br0; ip -n $X link set $port up; done
ip -n $X link set br0 up
addresses $S vs 1; addresses $C vc 2
sleep 1
record bridge-port $S $X p1
