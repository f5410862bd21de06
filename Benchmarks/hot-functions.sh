#!/usr/bin/env bash
# The release build's hot functions, in the order the linker lays them out: each exchange runs
# through a few hundred functions (about 190 KiB of code) that, placed where their modules put them,
# share sets of the 4-way instruction cache and evict each other (cachegrind with this processor's
# caches, k1m-small.pcap: 83.5 simulated I1 misses an exchange; laid out together, 23.7). `make release`
# compiles every function into a section of its own and hands this file to gold
# (`--section-ordering-file`), which puts the sections it names first, in its order, the rest as before.
#
#   Benchmarks/hot-functions.sh BIN [OUT]     # BIN: a release build; OUT: Benchmarks/hot-functions.order
#   Benchmarks/hot-functions.sh --check BIN   # how many of the listed functions BIN has, and where
#
# Profiles BIN with callgrind (one pipeline, no read-ahead thread) on the first 150,000 packets of each
# bench capture found in $BENCH_DATA (default /tmp/channel-exporter-bench): keepalive.pcap, close.pcap,
# keepalive-mtu1500.pcap (real nginx + wrk traffic) and keepalive1m.pcap (synthetic, nothing repeats),
# and writes one `.text.SYMBOL` line per function whose instructions are at least 2 in 100,000 of a
# profile's (summed over the profiles: a function run about once in a hundred exchanges), the hottest
# first. Regenerate it after changes to the hot path: a function renamed or newly specialised is just
# not named (gold ignores names it does not find) and lies where its module puts it, as before.
# Needs valgrind and tcpdump (installed with apt-get when missing) and python3.
set -euo pipefail
[ "${1:-}" = -h ] || [ $# -lt 1 ] && { sed -n '2,18p' "$0"; exit 0; }
order=$(dirname "$0")/hot-functions.order
if [ "$1" = --check ]; then
  # A function the file names and the build lacks (renamed, or specialised anew) is just not placed.
  nm -S "$2" | python3 -c '
import sys
listed = [line.strip()[len(".text."):] for line in open(sys.argv[1]) if line.strip()]
placed = {}
for line in sys.stdin:
    fields = line.split()
    if len(fields) == 4 and fields[2] in "tT":
        placed[fields[3]] = (int(fields[0], 16), int(fields[1], 16))
found = sorted(placed[name] for name in listed if name in placed)
if not found:
    sys.exit(f"none of the {len(listed)} functions of {sys.argv[1]} is in the binary")
# The most of them within twice their size: those laid out together. The Swift standard library and
# runtime come as archives compiled without a section a function: theirs stay where they are.
size = sum(n for _, n in found)
together, first = 0, 0
for last in range(len(found)):
    while found[last][0] - found[first][0] > 2 * size:
        first += 1
    together = max(together, last - first + 1)
print(f"{len(found)} of {len(listed)} listed functions found ({size / 1024:,.0f} KiB of code); "
      f"{together} of them together within {2 * size / 1024:,.0f} KiB")
' "$order"
  exit
fi
binary=$1
out=${2:-$order}
bench=${BENCH_DATA:-/tmp/channel-exporter-bench}
packets=${PACKETS:-150000}
for tool in valgrind tcpdump; do
  command -v "$tool" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# valgrind 3.19 cannot read the Swift compiler's DWARF 5: profile a copy without it (symbols stay).
strip --strip-debug -o "$work/channel-exporter" "$binary"
# profile NAME CAPTURE PORT COUNT: callgrind's flat profile of a replay of CAPTURE's first COUNT packets.
profile() {
  tcpdump -r "$2" -c "$4" -w "$work/$1.pcap" 2>/dev/null
  CHANNEL_EXPORTER_READ_AHEAD=0 valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/$1.out" \
    "$work/channel-exporter" replay "$work/$1.pcap" --syscode A123010101 --inbound-port "$3" \
    --threads 1 --no-progress --output /dev/null >"$work/$1.log" 2>&1
  callgrind_annotate --threshold=100 "$work/$1.out" > "$work/$1.txt"
}
profiles=()
for entry in keepalive.pcap:8080 close.pcap:8080 keepalive-mtu1500.pcap:8080 keepalive1m.pcap:80; do
  capture=$bench/${entry%%:*} port=${entry##*:}
  [ -f "$capture" ] || { echo "skipped: no $capture" >&2; continue; }
  name=$(basename "$capture" .pcap)
  profile "$name" "$capture" "$port" "$packets"
  profiles+=("$work/$name.txt")
  echo "profiled $name ($packets packets)" >&2
  # What a run costs without traffic (start-up, the summary, the exposition): 10 packets of the first.
  [ -f "$work/start.txt" ] || profile start "$capture" "$port" 10
done
[ ${#profiles[@]} -gt 0 ] || { echo "no bench capture in $bench: see Benchmarks/README.md, Captures" >&2; exit 2; }
python3 - "$out" "$work/start.txt" "${profiles[@]}" <<'EOF'
import re, sys
out, start, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
# "  150,783,336 ( 7.53%)  ???:cejson_scan_keys_avx2 [/tmp/.../channel-exporter]"
line = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+)\s+\[(.+)\]$")
def costs(path):
    found = {}
    for text in open(path):
        m = line.match(text)
        if not m or not m.group(3).endswith("/channel-exporter"):
            continue  # the C library's own functions are not ours to place
        symbol = m.group(2).split(":", 1)[1].split("'")[0]  # "file:name", "'2" for recursion
        found[symbol] = found.get(symbol, 0) + int(m.group(1).replace(",", ""))
    return found
fixed = costs(start)
share = {}
for path in paths:
    # Only what grows with the traffic: the start's code, run once, would only crowd the hot code.
    grown = {s: c - fixed.get(s, 0) for s, c in costs(path).items() if c > 2 * fixed.get(s, 0)}
    total = sum(grown.values())
    for symbol, cost in grown.items():
        share[symbol] = share.get(symbol, 0.0) + cost / total
hot = [s for s, v in sorted(share.items(), key=lambda item: -item[1]) if v >= 2e-5 and not s.startswith("0x")]
with open(out, "w") as f:
    f.writelines(f".text.{symbol}\n" for symbol in hot)
print(f"{out}: {len(hot)} functions", file=sys.stderr)
EOF
