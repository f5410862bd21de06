"""Roles of k8s-node-check.sh (nat_fixture.py's servers and client, a thread a connection):

    k8s_node_fixture.py server PORT PARTNER_URL NAME
        a pod's service: GET /hello answers; GET /call first calls the partner (one keep-alive
        session a thread) with `T-Code: NAME`, so the outgoing metric's tcode label tells which pod
        called.
    k8s_node_fixture.py partner PORT LOG
        the external partner: answers every GET and logs it (T-Code, the caller's address) as a
        JSON line in LOG.
    k8s_node_fixture.py client URL LOG N AGENT [PAUSE_FILE]
        N requests on one `requests` keep-alive session, alternately /hello and /call, with
        `User-Agent: AGENT` (the inner metric's f_code label tells which path the call took),
        each logged as a JSON line in LOG; with PAUSE_FILE, after the first three it waits until
        that file exists (the exporters start meanwhile: the session is picked up mid-stream).
"""
import sys

import nat_fixture

if __name__ == "__main__":
    role = sys.argv[1]
    if role == "server":
        nat_fixture.serve(int(sys.argv[2]), sys.argv[3], tcode=sys.argv[4], threaded=True)
    elif role == "partner":
        nat_fixture.serve(int(sys.argv[2]), None, threaded=True, log_path=sys.argv[3])
    elif role == "client":
        nat_fixture.client(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[6] if len(sys.argv) > 6 else None,
                           agent=sys.argv[5])
    else:
        sys.exit(__doc__)
