#!/usr/bin/env bash
# Replays the same captures with two channel-exporter binaries and compares what they print:
# the exposition, the exchange log and the summary's counts of every run must be byte-identical (a speed change
# must not change a result). Each capture is replayed twice, with and without an exchange log (without one, the
# HTTP observer hands exchanges to the metrics directly). Usage, from the repository's top:
#   Benchmarks/compare-replays.sh OLD_BINARY NEW_BINARY [WORK_DIR]
#   Benchmarks/compare-replays.sh --threads BINARY [WORK_DIR]
# The second form compares one binary's `--threads 1` (one pipeline) with `--threads 2` and `--threads 3`
# (a sharded replay must print exactly what one pipeline prints, exit status included).
# Captures: every pcap and pcapng under captures/http (all calls outgoing, then with inbound ports
# 80 and 8080; those of tls-decrypt with their key logs), captures/amqp and captures/formats, the
# parity captures with their configurations, and, when they exist in
# $BENCH_DATA (default /tmp/channel-exporter-bench), keepalive.pcap, close.pcap,
# keepalive1m.pcap and keepalive-mtu1500.pcap (capture-segmented.sh). Exit status 1 when anything differs.
set -uo pipefail
[ $# -ge 2 ] || { sed -n '2,14p' "$0"; exit 2; }
if [ "$1" = --threads ]; then
  sides=("t1|$2|--threads 1" "t2|$2|--threads 2" "t3|$2|--threads 3"); work=${3:-$(mktemp -d)}
else
  sides=("old|$1|" "new|$2|"); work=${3:-$(mktemp -d)}
fi
bench=${BENCH_DATA:-/tmp/channel-exporter-bench}
runs=()
for f in captures/http/*.pcap captures/http/*.pcapng captures/http/*/*.pcap captures/http/*/*.pcapng; do
  [ -f "$f" ] || continue
  n=$(basename "${f%.pcapng}" .pcap)
  keys=""; [ -f "${f%.pcap}.keylog" ] && keys=" --tls-keylog ${f%.pcap}.keylog"
  runs+=("http-$n|$f$keys" "http80-$n|$f$keys --inbound-port 80 --inbound-port 8080")
done
for f in captures/amqp/*.pcap captures/formats/*pcap*; do
  [ -f "$f" ] || continue
  runs+=("other-$(basename "$f")|$f --inbound-port 80")
done
for c in captures/parity/*.config.yaml; do
  n=$(basename "$c" .config.yaml)
  runs+=("parity-$n|captures/parity/$n.pcap --config.file $c")
done
# Budgets reached (the sharded replay's rerun with one pipeline): the adversarial captures with small bounds.
for f in captures/http/adversarial/*.pcap; do
  n=$(basename "$f" .pcap)
  runs+=("bounded-$n|$f --inbound-port 8080 --config.file Benchmarks/bounded.config.yaml")
done
[ -f "$bench/keepalive.pcap" ] && runs+=("keepalive|$bench/keepalive.pcap --inbound-port 8080" "keepalive-out|$bench/keepalive.pcap")
[ -f "$bench/close.pcap" ] && runs+=("close|$bench/close.pcap --inbound-port 8080")
[ -f "$bench/keepalive1m.pcap" ] && runs+=("keepalive1m|$bench/keepalive1m.pcap --inbound-port 80")
[ -f "$bench/keepalive-mtu1500.pcap" ] && runs+=("keepalive-mtu1500|$bench/keepalive-mtu1500.pcap --inbound-port 8080")

differ=0
for side in "${sides[@]}"; do mkdir -p "$work/${side%%|*}"; done
first=${sides[0]%%|*}
for run in "${runs[@]}"; do
  name=${run%%|*}; args=${run#*|}
  for entry in "${sides[@]}"; do
    side=${entry%%|*}; rest=${entry#*|}; bin=${rest%%|*}; extra=${rest#*|}
    # shellcheck disable=SC2086 # the arguments are words on purpose
    "$bin" replay $args $extra --syscode A123010101 --no-progress \
      --output "$work/$side/$name.prom" --exchanges "$work/$side/$name.jsonl" \
      > "$work/$side/$name.out" 2> "$work/$side/$name.err"
    echo $? > "$work/$side/$name.rc"
    # The summary without its first line (the replay's own speed).
    grep -v '^replayed ' "$work/$side/$name.out" > "$work/$side/$name.summary"
    # Again without an exchange log: the observer then hands exchanges to the metrics directly.
    "$bin" replay $args $extra --syscode A123010101 --no-progress \
      --output "$work/$side/$name.nolog.prom" > "$work/$side/$name.nolog.out" 2> "$work/$side/$name.nolog.err"
    echo $? > "$work/$side/$name.nolog.rc"
    grep -v '^replayed ' "$work/$side/$name.nolog.out" > "$work/$side/$name.nolog.summary"
    [ "$side" = "$first" ] && continue
    for ext in prom jsonl summary err rc nolog.prom nolog.summary nolog.err nolog.rc; do
      # (Neither there, as the exposition of a file refused: the same.)
      [ -e "$work/$first/$name.$ext" ] || [ -e "$work/$side/$name.$ext" ] || continue
      if ! cmp -s "$work/$first/$name.$ext" "$work/$side/$name.$ext"; then
        echo "differs: $name.$ext ($work/$first/$name.$ext vs $work/$side/$name.$ext)"; differ=1
      fi
    done
  done
done
echo "${#runs[@]} replays (each with and without an exchange log) by ${#sides[@]} sides compared in $work: $([ $differ = 0 ] && echo 'all identical' || echo 'DIFFERENCES above')"
exit $differ
