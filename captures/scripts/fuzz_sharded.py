#!/usr/bin/env python3
"""Mutates the real captures under captures/ at random (fuzz_mutations.py, as fuzz_replay.py does) and
replays each mutant with one pipeline and with two or three threads: the sharded replay must print
exactly what one pipeline prints (docs/replay.md, "Several threads") for damaged traffic too — the
exposition, the exchange log, the summary (its timing line aside) and the exit status.

  captures/scripts/fuzz_sharded.py BINARY SECONDS [SEED]
  e.g. captures/scripts/fuzz_sharded.py .build/release/channel-exporter 600 7

Run in a scratch directory: a mutant whose outputs differ is kept there as differ-N.pcap, with the
arguments and the first differing output printed; `case*` files are rewritten each round. A third of
the mutants are replayed with small bounds (the HTTP observer's kept bytes, the connections), so
that a shard reaching its share, and the replay redone with one pipeline, is exercised too.
Standard library only.
"""
import glob, os, random, re, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fuzz_mutations import read, write, mutate

BIN = os.path.abspath(sys.argv[1])
seconds = float(sys.argv[2])
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
files = sorted(glob.glob(os.path.join(ROOT, '**', '*.pcap'), recursive=True))
# The timing line of the text summary ("replayed 1 file: N packets, M MB in T s (R packets/s)").
TIMING = re.compile(rb' in [0-9.]+ s \([0-9]+ packets/s\)')
with open('small-bounds.yaml', 'w') as f:
    f.write('syscode: A123010101\nlimits:\n  max_http_kept_bytes_total: 65536\n  max_connections: 48\n')


def replay(args, threads):
    """Exit status, exposition, exchange log and summary of one replay."""
    exposition, log = 'case-%d.prom' % threads, 'case-%d.jsonl' % threads
    for path in (exposition, log):
        if os.path.exists(path): os.remove(path)
    p = subprocess.run([BIN, 'replay', 'case.pcap', '--no-progress', '--output', exposition, '--exchanges', log,
                        '--threads', str(threads)] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    def contents(path):
        return open(path, 'rb').read() if os.path.exists(path) else None
    return {'status': p.returncode, 'exposition': contents(exposition), 'exchange log': contents(log),
            'summary': TIMING.sub(b'', p.stdout), 'errors': TIMING.sub(b'', p.stderr)}


end = time.time() + seconds; runs = 0; differ = 0; crashes = 0
while time.time() < end:
    src = rng.choice(files); hdr, recs = read(src)
    if not recs: continue
    recs = mutate(recs, rng)
    if not recs: continue
    write('case.pcap', hdr, recs, rng)
    args = ['--config.file', 'small-bounds.yaml'] if rng.random() < 0.33 else ['--syscode', 'A123010101']
    if rng.random() < 0.5: args += ['--inbound-port', '18080', '--inbound-port', '8080', '--inbound-port', '18090']
    if 'amqp' in src: args += ['--amqp-port', '5682']
    if os.path.exists(src[:-5] + '.keylog'): args += ['--tls-keylog', src[:-5] + '.keylog', '--inbound-port', '443', '--inbound-port', '8443']
    threads = rng.choice([2, 3])
    one, several = replay(args, 1), replay(args, threads)
    runs += 1
    if not (0 <= one['status'] <= 1) or not (0 <= several['status'] <= 1):
        crashes += 1
        keep = 'crash-%d.pcap' % crashes
        os.rename('case.pcap', keep)
        print('CRASH statuses %d/%d src=%s kept=%s args=%s' % (one['status'], several['status'], src, keep, args), flush=True)
        continue
    different = [name for name in one if one[name] != several[name]]
    if different:
        differ += 1
        keep = 'differ-%d.pcap' % differ
        os.rename('case.pcap', keep)
        print('DIFFER (%s) --threads %d src=%s kept=%s args=%s' % (', '.join(different), threads, src, keep, args), flush=True)
print('runs', runs, 'differ', differ, 'crashes', crashes)
