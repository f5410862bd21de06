#!/usr/bin/env python3
"""Mutates the real captures under captures/ at random and replays each mutant: the replay must
exit 0 or 1, never die of a signal or a trap (nothing a peer sends may crash the observer).

  captures/scripts/fuzz_replay.py BINARY SECONDS [SEED]
  e.g. captures/scripts/fuzz_replay.py .build/release/channel-exporter 600 7

Each mutant takes one classic-pcap fixture and applies 1-20 of: bytes of a TCP payload set to
random or HTTP/JSON-significant values, a byte of the IP/TCP headers changed, a record cut, two
records swapped, a record duplicated, a record removed (orig_len kept mostly, so cuts look like
snaplen). A capture with a key log beside it (http/tls-decrypt/) is replayed with it
(--tls-keylog), so that the records left alone authenticate. It is replayed with an exchange log, with and without inbound ports, AMQP fixtures with
their broker port; a third of them with the HTTP observer's kept-bytes bound cut to 64 KiB, so
that the paths past it run too. A crashing mutant is kept as crash-N.pcap in the working
directory, and its stderr printed. After each replay every connection has ended, so what the
observers' connections keep must be back to 0 (`--json`: the HTTP observer's kept bytes
`kept_bytes_at_end`, the AMQP observer's deliveries `outstanding_at_end` and split method frames
`buffered_bytes_at_end`): a mutant that leaves some (a path that does not give back what it
charged) is kept as leak-N.pcap. Standard library only; about 50 replays a second on 2 cores.

The first run (600 s, seed 7, 32,250 mutants) found the reassembler trapping on a segment exactly
2^31 ahead of the next expected byte (fixed in TCPSequence.distance).
"""
import os, random, subprocess, sys, glob, time, json
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fuzz_mutations import read, write, mutate
BIN = sys.argv[1]
seconds = float(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
files = sorted(glob.glob(os.path.join(ROOT, '**', '*.pcap'), recursive=True))
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
end = time.time() + seconds; runs = 0; crashes = 0; leaks = 0
with open('small-budget.yaml', 'w') as f:
    f.write('syscode: A123010101\nlimits:\n  max_http_kept_bytes_total: 65536\n')
while time.time() < end:
    src = rng.choice(files); hdr, recs = read(src)
    if not recs: continue
    recs = mutate(recs, rng)
    if not recs: continue
    out = 'case.pcap'
    write(out, hdr, recs, rng)
    args = [BIN, 'replay', out, '--syscode', 'A123010101', '--no-progress', '--output', '/dev/null', '--exchanges', '/dev/null', '--json']
    if rng.random() < 0.33: args += ['--config.file', 'small-budget.yaml']
    if rng.random() < 0.5: args += ['--inbound-port', '18080', '--inbound-port', '8080', '--inbound-port', '18090']
    if 'amqp' in src: args += ['--amqp-port', '5682']
    if os.path.exists(src[:-5] + '.keylog'): args += ['--tls-keylog', src[:-5] + '.keylog', '--inbound-port', '443', '--inbound-port', '8443']
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    runs += 1
    if p.returncode < 0 or p.returncode >= 128 or (p.returncode not in (0, 1)):
        crashes += 1
        keep = 'crash-%d.pcap' % crashes
        os.rename(out, keep)
        print('CRASH rc=%d src=%s kept=%s args=%s\n%s' % (p.returncode, src, keep, args[3:], p.stderr.decode()[-2000:]), flush=True)
        continue
    # `--json` writes the summary on stdout (this read stderr until session 18: no leak could be seen)
    out_text = p.stdout.decode(errors='replace')
    if p.returncode == 0 and '{' in out_text:
        summary = json.loads(out_text[out_text.index('{'):out_text.rindex('}') + 1])
        left = (summary['http']['kept_bytes_at_end'], summary['amqp']['outstanding_at_end'], summary['amqp']['buffered_bytes_at_end'])
        if left != (0, 0, 0):
            leaks += 1
            keep = 'leak-%d.pcap' % leaks
            os.rename(out, keep)
            print('LEAK %d bytes, %d deliveries, %d AMQP bytes src=%s kept=%s args=%s' % (left + (src, keep, args[3:])), flush=True)
print('runs', runs, 'crashes', crashes, 'leaks', leaks)
