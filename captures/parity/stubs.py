# Stand-in partner servers: one keep-alive HTTP/1.1 server per port on 127.0.0.1.
#
# The reply is chosen by request headers so that the request's path, query and
# body stay free for the rules under test:
#   X-Stub-Reply: a name from replies.REPLIES or a random campaign's reply (default code_int0)
#   X-Stub-Status: HTTP status                   (default 200)
#   X-Stub-Delay-Ms: sleep before answering      (default 0)
#   X-Stub-Location: answer 302 with this Location, unless the request is already for it
#   X-Stub-Chunked: 1 -> the body is sent with Transfer-Encoding: chunked (two chunks)
# Usage: stubs.py PORT [PORT...]
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from replies import reply_encoded


class StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive: every reply has Content-Length
    server_version = "partner-stub"
    sys_version = ""

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        name = self.headers.get("X-Stub-Reply", "code_int0")
        body, content_type, encoding = reply_encoded(name)
        status = int(self.headers.get("X-Stub-Status", "200"))
        delay_ms = float(self.headers.get("X-Stub-Delay-Ms", "0"))
        if delay_ms:
            time.sleep(delay_ms / 1000.0)
        location = self.headers.get("X-Stub-Location")
        if location and self.path != location:
            status = 302
        self.send_response(status)
        if location and status == 302:
            self.send_header("Location", location)
        if content_type:
            self.send_header("Content-Type", content_type)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        if self.headers.get("X-Stub-Chunked") == "1":
            self.send_header("Transfer-Encoding", "chunked")
            half = len(body) // 2
            body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:]) if part)
            body += b"0\r\n\r\n"
        else:
            self.send_header("Content-Length", str(len(body)))
        # Head and body in one write: two small writes on a keep-alive connection
        # meet Nagle + delayed ACK and add ~40 ms (it shows on the wire and in-process alike).
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, fmt, *args):
        sys.stderr.write("stub:%d %s\n" % (self.server.server_address[1], fmt % args))


def main(ports):
    servers = []
    for port in ports:
        server = ThreadingHTTPServer(("127.0.0.1", port), StubHandler)
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("stubs listening on", ports, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main([int(p) for p in sys.argv[1:]])
