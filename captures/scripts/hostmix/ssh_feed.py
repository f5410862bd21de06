# A long SSH session: 4 KiB to the remote `cat` every 0.1 s, its echo read back.
import os, subprocess, sys, threading, time
key = sys.argv[1]
p = subprocess.Popen(["ssh", "-p", "2222", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                      "-o", "UserKnownHostsFile=/dev/null", "root@127.0.0.1", "cat"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
def reader():
    n = 0
    while True:
        b = p.stdout.read1(65536)
        if not b: break
        n += len(b)
threading.Thread(target=reader, daemon=True).start()
while True:
    p.stdin.write(os.urandom(2048).hex().encode()[:4096]); p.stdin.flush()
    time.sleep(0.1)
