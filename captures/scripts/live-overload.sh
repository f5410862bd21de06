#!/usr/bin/env bash
# `channel-exporter run` when traffic comes faster than it can process: nginx in one network
# namespace, wrk in another, a veth pair between them, the exporter capturing in the server's
# namespace on its veth (or on `any`). One run is: a burst of wrk (many connections, answers of
# 137 B to 485 KB, 10 % POSTs with 200 B or 24 KiB bodies), then a calm phase of exactly N
# requests from a Python client, each phase scraped before and after. See Benchmarks/README.md
# "Live overload" for what it showed.
#
#   captures/scripts/live-overload.sh BINARY OUT        # as root; OUT keeps every file of the run
#
# Settings (environment):
#   BURST=20 CONNECTIONS=256 THREADS=2   wrk's burst (seconds, connections, threads)
#   CALM_N=1000 CALM_RATE=200            the calm phase: requests, requests per second
#   BUFFER_MIB=                          capture.buffer_size_mib (empty: the default, 32)
#   IFACE=h16s                           the capture interface (h16s, the server's veth, or any)
#   CPU_QUOTA=                           percent of one core the exporter may use (a cgroup v1
#                                        cpu quota: a busy host, or a Kubernetes CPU limit)
#   SIGNAL=none|hup|term                 sent to the exporter halfway through the burst; with
#                                        term the run ends there (the exit is timed)
#   RECORD=0|1                           1: tcpdump records the burst too (OUT/burst.pcap), and
#                                        the recording is replayed after: the counts and the CPU
#                                        of `replay` against live. About 330 MB/s: put OUT on a
#                                        tmpfs, and use CONNECTIONS=1 THREADS=1, or tcpdump itself
#                                        drops (its count is in OUT/tcpdump.log)
#   EXCHANGES=1                          0: no --exchanges log (no phantom-pair check)
#   ALSO="BINARY2 ..."                   more exporters capturing the same burst beside BINARY
#                                        (each its own port, 9167..., and files OUT/also-N-*),
#                                        for CPU compared on the same packets; with RECORD=1
#                                        each replays the recording too. Only BINARY is scraped
#                                        every 0.5 s: compare the capture threads (cpu.tsv)
#   TCPDUMP_BUFFER_KIB=65536             tcpdump's -B (with -B 1048576, 1 GiB, tcpdump wrote only
#                                        about 1.5 s of 3-5 s bursts here, and counted no drop)
#
# OUT gets: samples.tsv (every 0.5 s: seconds since start, scrape time, HTTP status, bytes of
# the scrape, RSS kB, exporter CPU ticks), m0/m1/m2.prom (before the burst, 3 s after it, 3 s
# after the calm phase), burst.prom (a scrape in the middle of the burst; it and m2.prom are
# checked with `promtool check metrics`, promtool-*.txt), wrk.txt, ss.txt (the capture socket as `ss -0 -e -m` and
# /proc/net/packet show it, mid-burst; the veth's own rx + tx packet counts over the burst are in
# run.json), exporter.log, exchanges.jsonl, nginx/access.log, run.json (the exporter's CPU per
# phase, nginx's log lines at each scrape, the final SIGTERM's time to exit), hup.json or
# term.json (the time from the signal to the reload seen in a scrape, or to the exit) and
# report.json (live_overload.py check: the deltas per phase, phantom pairs, nginx's counts);
# cpu.tsv: per exporter (BINARY, then ALSO's), over the burst and 3 s after it: complete exchanges
# counted, user and system CPU of the process, the capture thread's own run time
# (/proc/PID/schedstat) and its voluntary context switches (wake-ups), and µs per exchange.
# Namespaces chx-h16-load-s / chx-h16-load-c, veth h16s (10.16.16.1) / h16c (10.16.16.2); nginx,
# the exporter, tcpdump and the sampler are started here and stopped by their PIDs; the
# namespaces and the cgroup are removed at the end. Keep bursts short on a shared machine.
set -euo pipefail
[ $# -eq 2 ] || { sed -n '2,48p' "$0"; exit 2; }
binary=$(realpath "$1")
out=$(mkdir -p "$2" && realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
burst=${BURST:-20} connections=${CONNECTIONS:-256} threads=${THREADS:-2}
calm_n=${CALM_N:-1000} calm_rate=${CALM_RATE:-200}
iface=${IFACE:-h16s} signal_mid=${SIGNAL:-none} record=${RECORD:-0} exchanges=${EXCHANGES:-1}
S=chx-h16-load-s C=chx-h16-load-c
cgroup=/sys/fs/cgroup/cpu/chx-h16-load
for tool in ip nginx wrk curl promtool python3 ss; do command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }; done

nginx_pid= exporter_pid= sampler_pid= tcpdump_pid=
also=(${ALSO:-}) also_pids=()
stop_pid() { [ -n "$1" ] && kill -TERM "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; }
cleanup() {
  stop_pid "$sampler_pid"; stop_pid "$tcpdump_pid"; stop_pid "$exporter_pid"
  for p in "${also_pids[@]}"; do stop_pid "$p"; done
  stop_pid "$nginx_pid"
  ip netns del "$S" 2>/dev/null || true
  ip netns del "$C" 2>/dev/null || true
  [ -d "$cgroup" ] && rmdir "$cgroup" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$S"; ip netns add "$C"
ip -n "$S" link set lo up; ip -n "$C" link set lo up
ip link add h16s netns "$S" type veth peer name h16c netns "$C"
ip -n "$S" addr add 10.16.16.1/24 dev h16s; ip -n "$S" link set h16s up
ip -n "$C" addr add 10.16.16.2/24 dev h16c; ip -n "$C" link set h16c up

rm -rf "$out/nginx" "$out/www"
python3 "$here/live_overload.py" setup "$out"
ip netns exec "$S" nginx -p "$out/" -e nginx/error.log -c "$out/nginx.conf" &
nginx_pid=$!

{
  printf 'syscode: A123010101\nlisten: "127.0.0.1:9166"\ninterface: %s\n' "$iface"
  printf 'inbound:\n  ports: [8080]\n  skip_paths: [/healthcheck, /metrics]\n  skip_statuses: [404]\namqp:\n  ports: []\n'
  [ -n "${BUFFER_MIB:-}" ] && printf 'capture:\n  buffer_size_mib: %s\n' "$BUFFER_MIB"
  true
} > "$out/exporter.yaml"
exchange_args=()
[ "$exchanges" = 1 ] && { rm -f "$out/exchanges.jsonl"; exchange_args=(--exchanges "$out/exchanges.jsonl"); }
ip netns exec "$S" "$binary" run --config.file "$out/exporter.yaml" "${exchange_args[@]}" > "$out/exporter.log" 2>&1 &
exporter_pid=$!
if [ -n "${CPU_QUOTA:-}" ]; then
  mkdir -p "$cgroup"
  echo 100000 > "$cgroup/cpu.cfs_period_us"
  echo $((CPU_QUOTA * 1000)) > "$cgroup/cpu.cfs_quota_us"
  echo "$exporter_pid" > "$cgroup/cgroup.procs"
fi
for i in "${!also[@]}"; do
  sed "s/127.0.0.1:9166/127.0.0.1:$((9167 + i))/" "$out/exporter.yaml" > "$out/also-$i.yaml"
  also_args=(); [ "$exchanges" = 1 ] && { rm -f "$out/also-$i-exchanges.jsonl"; also_args=(--exchanges "$out/also-$i-exchanges.jsonl"); }
  ip netns exec "$S" "$(realpath "${also[$i]}")" run --config.file "$out/also-$i.yaml" "${also_args[@]}" > "$out/also-$i.log" 2>&1 &
  also_pids+=($!)
done
scrape_port() { ip netns exec "$S" curl -s --max-time 10 http://127.0.0.1:$1/metrics; }
complete() { awk '/^channel_exporter_http_exchanges_total\{kind="complete"\}/ { print $2 + 0 }'; }
# user and system ticks of the process, run time (ns) and voluntary switches of its main thread (the capture's)
cpu_sample() { echo "$(awk '{ print $14, $15 }' "/proc/$1/stat") $(awk '{ print $1 }' "/proc/$1/schedstat") $(awk '/^voluntary_ctxt/ { print $2 }' "/proc/$1/status")"; }
for i in "${!also[@]}"; do for _ in $(seq 100); do scrape_port $((9167 + i)) > /dev/null && break; sleep 0.1; done; done
scrape() { ip netns exec "$S" curl -s --max-time 10 -o "$1" -w '%{time_total}\t%{http_code}\t%{size_download}' http://127.0.0.1:9166/metrics; }
for _ in $(seq 100); do scrape /dev/null >/dev/null && break; sleep 0.1; done
for _ in $(seq 50); do ip netns exec "$C" curl -sf -o /dev/null http://10.16.16.1:8080/w/137.json && break; sleep 0.1; done

t0=$(date +%s.%N)
sampler() {
  while kill -0 "$exporter_pid" 2>/dev/null; do
    local line rss ticks
    line=$(scrape /dev/null || true)
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$exporter_pid/status" 2>/dev/null || echo -)
    ticks=$(awk '{ print $14 + $15 }' "/proc/$exporter_pid/stat" 2>/dev/null || echo -)
    printf '%.2f\t%s\t%s\t%s\n' "$(echo "$(date +%s.%N) - $t0" | bc)" "$line" "$rss" "$ticks"
    sleep 0.5
  done
}
sampler > "$out/samples.tsv" &
sampler_pid=$!
ticks() { awk '{ print $14 + $15 }' "/proc/$exporter_pid/stat"; }
system_ticks() { awk '{ print $15 }' "/proc/$exporter_pid/stat"; }

sleep 2
scrape "$out/m0.prom" > /dev/null
lines0=$(wc -l < "$out/nginx/access.log")
cpu0=$(ticks) sys0=$(system_ticks)
all_pids=("$exporter_pid" "${also_pids[@]}") all_ports=(9166) samples0=() done0=()
for i in "${!also[@]}"; do all_ports+=($((9167 + i))); done
for i in "${!all_pids[@]}"; do samples0+=("$(cpu_sample "${all_pids[$i]}")"); done0+=("$(scrape_port "${all_ports[$i]}" | complete)"); done
link_packets() { ip -n "$S" -s -j link show h16s | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["stats64"]; print(s["rx"]["packets"] + s["tx"]["packets"])'; }
link0=$(link_packets)
if [ "$record" = 1 ]; then
  ip netns exec "$S" tcpdump -i "$iface" -s 0 -B "${TCPDUMP_BUFFER_KIB:-65536}" -w "$out/burst.pcap" tcp port 8080 2> "$out/tcpdump.log" &
  tcpdump_pid=$!
  sleep 1
fi
ip netns exec "$C" wrk -t "$threads" -c "$connections" -d "${burst}s" --latency -s "$out/mix.lua" \
  http://10.16.16.1:8080 > "$out/wrk.txt" 2>&1 &
wrk_pid=$!
sleep "$(echo "$burst / 2" | bc -l)"
scrape "$out/burst.prom" > "$out/burst-scrape.txt"
{ ip netns exec "$S" ss -0 -e -m -p; echo; ip netns exec "$S" cat /proc/net/packet; } > "$out/ss.txt" 2>&1 || true
case "$signal_mid" in
  hup)
    cp "$out/exporter.yaml" "$out/exporter.yaml.tmp" && mv "$out/exporter.yaml.tmp" "$out/exporter.yaml"
    start=$(date +%s.%N)
    kill -HUP "$exporter_pid"
    # Until a scrape shows the reload (each scrape also takes time: an upper bound).
    for _ in $(seq 200); do
      ip netns exec "$S" curl -s --max-time 5 http://127.0.0.1:9166/metrics \
        | grep -q '^channel_exporter_config_reloads_total{result="success"} 1' && break
      sleep 0.02
    done
    printf '{"sighup_to_reload_seen_s": %.3f}\n' "$(echo "$(date +%s.%N) - $start" | bc)" | tee "$out/hup.json"
    ;;
  term)
    start=$(date +%s.%N)
    kill -TERM "$exporter_pid"
    rc=0; wait "$exporter_pid" || rc=$?
    end=$(date +%s.%N)
    exporter_pid=
    printf '{"sigterm_to_exit_s": %.3f, "exit_status": %d}\n' "$(echo "$end - $start" | bc)" "$rc" | tee "$out/term.json"
    wait "$wrk_pid" || true
    exit 0
    ;;
esac
wait "$wrk_pid" || true
if [ -n "$tcpdump_pid" ]; then
  # tcpdump lags behind a busy burst: stop it once its file has stopped growing.
  size=-1; while [ "$(stat -c %s "$out/burst.pcap")" != "$size" ]; do size=$(stat -c %s "$out/burst.pcap"); sleep 1; done
  stop_pid "$tcpdump_pid"; tcpdump_pid=
fi
sleep 3
cpu1=$(ticks) sys1=$(system_ticks)
hz=$(getconf CLK_TCK)
printf 'binary\tcomplete\tuser_s\tsystem_s\tcapture_thread_s\twakeups\tus_per_exchange_process\tus_per_exchange_capture_thread\n' > "$out/cpu.tsv"
for i in "${!all_pids[@]}"; do
  read -r u0 s0 r0 w0 <<< "${samples0[$i]}"; read -r u1 s1 r1 w1 <<< "$(cpu_sample "${all_pids[$i]}")"
  done1=$(scrape_port "${all_ports[$i]}" | complete)
  name=$binary; [ "$i" -gt 0 ] && name=$(realpath "${also[$((i - 1))]}")
  awk -v b="$name" -v n=$((${done1%.*} - ${done0[$i]%.*})) -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v r=$((r1 - r0)) -v w=$((w1 - w0)) -v hz="$hz" \
    'BEGIN { printf "%s\t%d\t%.2f\t%.2f\t%.3f\t%d\t%.2f\t%.2f\n", b, n, u / hz, s / hz, r / 1e9, w, (u + s) / hz / n * 1e6, r / 1e3 / n }' >> "$out/cpu.tsv"
done
column -t -s $'\t' "$out/cpu.tsv"
link1=$(link_packets)
scrape "$out/m1.prom" > /dev/null
sleep 1.2  # nginx flushes its log every second
lines1=$(wc -l < "$out/nginx/access.log")

calm_right=$(ip netns exec "$C" python3 "$here/live_overload.py" calm 10.16.16.1 8080 "$calm_n" "$calm_rate")
sleep 3
scrape "$out/m2.prom" > /dev/null
sleep 1.2
lines2=$(wc -l < "$out/nginx/access.log")
cpu2=$(ticks)

for f in burst m2; do promtool check metrics < "$out/$f.prom" > "$out/promtool-$f.txt" 2>&1 && echo "promtool $f: ok" || echo "promtool $f: FAILED (see promtool-$f.txt)"; done

start=$(date +%s.%N)
kill -TERM "$exporter_pid"; rc=0; wait "$exporter_pid" || rc=$?
end=$(date +%s.%N)
exporter_pid=
stop_pid "$sampler_pid"; sampler_pid=
for p in "${also_pids[@]}"; do stop_pid "$p"; done; also_pids=()
stop_pid "$nginx_pid"; nginx_pid=

cat > "$out/run.json" <<EOF
{"burst_s": $burst, "connections": $connections, "buffer_mib": "${BUFFER_MIB:-default}", "iface": "$iface",
 "cpu_quota": "${CPU_QUOTA:-none}", "signal": "$signal_mid",
 "nginx_lines": [$lines0, $lines1, $lines2], "veth_packets_burst": $((link1 - link0)), "calm_n": $calm_n, "calm_right": $calm_right,
 "cpu_s": [$(printf '%.2f' "$(echo "($cpu1 - $cpu0) / $hz" | bc -l)"), $(printf '%.2f' "$(echo "($cpu2 - $cpu1) / $hz" | bc -l)")],
 "burst_system_cpu_s": $(printf '%.2f' "$(echo "($sys1 - $sys0) / $hz" | bc -l)"),
 "sigterm_to_exit_s": $(printf '%.3f' "$(echo "$end - $start" | bc)"), "exit_status": $rc}
EOF
python3 "$here/live_overload.py" check "$out" | tee "$out/report.json"
if [ "$record" = 1 ]; then
  /usr/bin/time -f '{"replay_cpu_s": %U, "replay_sys_s": %S, "replay_wall_s": %e, "replay_max_rss_kb": %M}' \
    -o "$out/replay-time.json" "$binary" replay "$out/burst.pcap" --config.file "$out/exporter.yaml" \
    --output "$out/replay.prom" --exchanges "$out/replay-exchanges.jsonl" --json --no-progress > "$out/replay-summary.json"
  cat "$out/replay-time.json"
  for i in "${!also[@]}"; do
    /usr/bin/time -f '{"replay_cpu_s": %U, "replay_sys_s": %S, "replay_wall_s": %e, "replay_max_rss_kb": %M}' \
      -o "$out/also-$i-replay-time.json" "$(realpath "${also[$i]}")" replay "$out/burst.pcap" --config.file "$out/also-$i.yaml" \
      --output "$out/also-$i-replay.prom" --exchanges "$out/also-$i-replay-exchanges.jsonl" --json --no-progress \
      > "$out/also-$i-replay-summary.json"
    echo "${also[$i]}: $(cat "$out/also-$i-replay-time.json")"
  done
fi
