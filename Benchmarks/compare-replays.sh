#!/usr/bin/env bash
# Replays the same captures with two channel-exporter binaries and compares what they print:
# the exposition, the exchange log and the summary's counts of every run must be byte-identical (a speed change
# must not change a result). Each capture is replayed twice, with and without an exchange log (without one, the
# HTTP observer hands exchanges to the metrics directly). Usage, from the repository's top:
#   Benchmarks/compare-replays.sh OLD_BINARY NEW_BINARY [WORK_DIR]
# Captures: every pcap and pcapng under captures/http (all calls outgoing, then with inbound ports
# 80 and 8080), the parity captures with their configurations, and, when they exist in
# $BENCH_DATA (default /tmp/channel-exporter-bench), keepalive.pcap, close.pcap and
# keepalive1m.pcap. Exit status 1 when anything differs.
set -uo pipefail
[ $# -ge 2 ] || { sed -n '2,9p' "$0"; exit 2; }
old=$1; new=$2; work=${3:-$(mktemp -d)}
bench=${BENCH_DATA:-/tmp/channel-exporter-bench}
runs=()
for f in captures/http/*.pcap captures/http/*.pcapng captures/http/*/*.pcap; do
  [ -f "$f" ] || continue
  n=$(basename "${f%.pcapng}" .pcap)
  runs+=("http-$n|$f" "http80-$n|$f --inbound-port 80 --inbound-port 8080")
done
for c in inbound outbound differences; do
  runs+=("parity-$c|captures/parity/$c.pcap --config.file captures/parity/$c.config.yaml")
done
[ -f "$bench/keepalive.pcap" ] && runs+=("keepalive|$bench/keepalive.pcap --inbound-port 8080" "keepalive-out|$bench/keepalive.pcap")
[ -f "$bench/close.pcap" ] && runs+=("close|$bench/close.pcap --inbound-port 8080")
[ -f "$bench/keepalive1m.pcap" ] && runs+=("keepalive1m|$bench/keepalive1m.pcap --inbound-port 80")

differ=0
for side in old new; do mkdir -p "$work/$side"; done
for run in "${runs[@]}"; do
  name=${run%%|*}; args=${run#*|}
  for side in old new; do
    bin=$old; [ $side = new ] && bin=$new
    # shellcheck disable=SC2086 # the arguments are words on purpose
    "$bin" replay $args --syscode A123010101 --no-progress \
      --output "$work/$side/$name.prom" --exchanges "$work/$side/$name.jsonl" \
      > "$work/$side/$name.out" 2> "$work/$side/$name.err"
    echo $? > "$work/$side/$name.rc"
    # The summary without its first line (the replay's own speed).
    grep -v '^replayed ' "$work/$side/$name.out" > "$work/$side/$name.summary"
    # Again without an exchange log: the observer then hands exchanges to the metrics directly.
    "$bin" replay $args --syscode A123010101 --no-progress \
      --output "$work/$side/$name.nolog.prom" > "$work/$side/$name.nolog.out" 2> "$work/$side/$name.nolog.err"
    echo $? > "$work/$side/$name.nolog.rc"
    grep -v '^replayed ' "$work/$side/$name.nolog.out" > "$work/$side/$name.nolog.summary"
  done
  for ext in prom jsonl summary rc nolog.prom nolog.summary nolog.rc; do
    if ! cmp -s "$work/old/$name.$ext" "$work/new/$name.$ext"; then
      echo "differs: $name.$ext ($work/old/$name.$ext vs $work/new/$name.$ext)"; differ=1
    fi
  done
done
echo "${#runs[@]} replays (each with and without an exchange log) compared in $work: $([ $differ = 0 ] && echo 'all identical' || echo 'DIFFERENCES above')"
exit $differ
