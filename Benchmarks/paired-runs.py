#!/usr/bin/env python3
"""Alternated paired runs: each command's wall and CPU time against the first's, round by round.

    python3 Benchmarks/paired-runs.py ROUNDS FILE PORT NAME=COMMAND...

Each round runs every command once (the order reversed every other round, after one warm-up round
that is not counted), so that a machine slowing down or speeding up weighs on all of them alike.
In COMMAND, {FILE} is FILE and {ARGS} is `replay FILE --syscode A123010101 --inbound-port PORT
--no-progress --output /dev/null`. For each command: the median wall time, its spread, the median
CPU time (user + system of the process and its threads), and the median of its time over the first
command's in the same round. Example, against the bare libpcap loop:

    python3 Benchmarks/paired-runs.py 15 $BENCH_DATA/keepalive.pcap 8080 \\
        "floor=$BENCH_DATA/pcapcount read {FILE}" "old=/tmp/old-channel-exporter {ARGS}" "new=.build/release/channel-exporter {ARGS}"
"""
import resource
import statistics
import subprocess
import sys
import time


def main() -> None:
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    rounds, path, port = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    commands = [argument.split("=", 1) for argument in sys.argv[4:]]
    replay = f"replay {path} --syscode A123010101 --inbound-port {port} --no-progress --output /dev/null"
    wall = {name: [] for name, _ in commands}
    cpu = {name: [] for name, _ in commands}
    for round in range(rounds + 1):
        for name, command in commands if round % 2 == 0 else commands[::-1]:
            words = command.replace("{ARGS}", replay).replace("{FILE}", path).split()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(words, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            elapsed = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if round > 0:
                wall[name].append(elapsed)
                cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    first = commands[0][0]
    for name, _ in commands:
        ratios = [mine / theirs for mine, theirs in zip(wall[name], wall[first])]
        print(
            f"{name:12s} wall median {statistics.median(wall[name]) * 1000:7.1f} ms"
            f" ({min(wall[name]) * 1000:.1f}-{max(wall[name]) * 1000:.1f})"
            f"  cpu median {statistics.median(cpu[name]) * 1000:7.1f} ms"
            f"  over {first}: median {statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})")


if __name__ == "__main__":
    main()
