#!/usr/bin/env bash
# Regenerates the parity fixtures with the REAL reference library (channel-exporter 1.2.2).
#
#   captures/parity/make-fixtures.sh [SCENARIO ...]     (default: every scenario; needs root)
#
# SCENARIO is one of scenarios.py's or a random campaign, random-SEED-COUNT
# (random_campaign.py); PARITY_OUT=DIR writes the files there instead of here.
#
# For each scenario: <scenario>.pcap (tcpdump on lo), <scenario>.expected.prom (the
# reference's own /metrics, scraped after the capture stopped) and
# <scenario>.config.yaml (our exporter's config to replay it). Then
# check_fixtures.py checks them (label sets, tshark pairing, wire timing).
# Each scenario runs in a private network namespace (unshare --net) whose only
# interface is lo: no port clashes with anything else on the machine, and no
# packet can leave loopback. Set PARITY_NO_NETNS=1 to use the host's lo instead
# (ports 8080 and the stand-in partner ports must then be free).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${PARITY_VENV:-$HERE/.venv}"
WORK="$HERE/.work"
OUT="${PARITY_OUT:-$HERE}"
mkdir -p "$WORK" "$OUT"     # PARITY_OUT=/tmp/rc (the README's example) need not exist

if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"

for tool in tcpdump tshark; do
    if ! command -v "$tool" >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y "$tool"
    fi
done

if [[ $# -gt 0 ]]; then
    scenarios=("$@")
else
    mapfile -t scenarios < <(cd "$HERE" && "$VENV/bin/python" -c 'from scenarios import SCENARIOS; from random_campaign import FIXTURES; print("\n".join(list(SCENARIOS) + FIXTURES))')
fi

run_isolated() {
    if [[ "${PARITY_NO_NETNS:-}" == 1 ]]; then
        "$@"
    else
        unshare --net -- "$@"
    fi
}

for scenario in "${scenarios[@]}"; do
    echo "== recording $scenario"
    run_isolated "$VENV/bin/python" "$HERE/record.py" "$scenario" "$OUT" "$WORK" > "$WORK/$scenario.driver.log"
    cat > "$OUT/$scenario.config.yaml" <<YAML
# Our exporter's configuration to replay $scenario.pcap; the reference's exposition
# for the same traffic is $scenario.expected.prom (see README.md in this folder).
# partners: omitted on purpose -> the reference's built-in table.
syscode: A123010101
inbound:
  ports: [8080]
amqp:
  ports: []
buckets:
  inner:    [100, 200, 500, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000]
  external: [100, 200, 500, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000]
  consumer: [100, 200, 500, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000]
YAML
done

echo "== checking the fixtures"
"$VENV/bin/python" "$HERE/check_fixtures.py" "${scenarios[@]}"
echo "summary for README.md: $WORK/summary.md"
