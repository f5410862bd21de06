"""An optimistic CONNECT client (make-connect-tunnel-fixture.sh): the CONNECT and the TLS ClientHello
in one send, before the proxy answers, as clients that save a round trip do. Then, on a 2xx, the rest
of the TLS handshake and one GET inside; on another answer, nothing more (the ClientHello was not
HTTP, and the proxy is free to drop it). Each attempt logs a line: method, URL, status, proxy.

    optimistic_connect.py LOG KEYLOG PROXY_PORT HOST PORT PATH
"""
import json
import socket
import ssl
import sys

log_path, keylog, proxy_port, host, port, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
context.keylog_filename = keylog
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = context.wrap_bio(incoming, outgoing, server_hostname=host)
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = outgoing.read()

sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=10)
connect = f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: optimistic/1\r\n\r\n".encode()
sock.sendall(connect + hello)  # one write: one segment with both
answer = b""
while b"\r\n\r\n" not in answer:
    data = sock.recv(65536)
    if not data:
        break
    answer += data
head, _, rest = answer.partition(b"\r\n\r\n")
status = int(head.split(b" ", 2)[1])
url = f"https://{host}" + ("" if port == 443 else f":{port}") + path
line = {"method": "GET", "url": url, "status": None, "proxy": f"127.0.0.1:{proxy_port}", "connect_status": status,
        "keys": True, "client": "optimistic"}
if 200 <= status < 300:
    incoming.write(rest)

    def pump():
        """Sends what TLS wrote; reads more for it (False at the end of the stream)."""
        out = outgoing.read()
        if out:
            sock.sendall(out)
        data = sock.recv(65536)
        if data:
            incoming.write(data)
        return bool(data)

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            if not pump():
                raise
    tls.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    sock.sendall(outgoing.read())
    response = b""
    while True:
        try:
            chunk = tls.read(65536)
            if not chunk:
                break
            response += chunk
        except ssl.SSLWantReadError:
            if not pump():
                break
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            break
    line["status"] = int(response.split(b" ", 2)[1])
sock.close()
with open(log_path, "a") as log:
    log.write(json.dumps(line) + "\n")
