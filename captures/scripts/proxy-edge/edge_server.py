#!/usr/bin/env python3
"""A raw HTTP/1.1 server for what frameworks do not let a handler send (captures/scripts/
make-server-edge-fixture.sh): keep-alive, one thread per connection, every answer written as bytes.

    GET /both          200 with `Content-Length: 7` *and* `Transfer-Encoding: chunked`, chunked body
    GET /plain         200 JSON with Content-Length
    GET /big-head      200 with 100 filler fields of 500 bytes (a 52 KB head of 102 fields)
    GET /huge-head     200 with 140 filler fields of 500 bytes (a 72 KB head: over 64 KiB)
    GET /many-fields   200 with 140 filler fields of 20 bytes (a 5 KB head of 142 fields)
    anything else      404 JSON

    edge_server.py PORT
"""
import socket
import sys
import threading

BODY = b'{"code":"0000","v":1}'


def head(status, fields):
    lines = ["HTTP/1.1 %s" % status] + ["%s: %s" % f for f in fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def fillers(count, size):
    return [("X-Filler-%03d" % i, "f" * size) for i in range(count)]


def answer(path):
    json = [("Content-Type", "application/json")]
    if path == "/both":
        chunks = b"7\r\n" + BODY[:7] + b"\r\n" + b"%x\r\n" % (len(BODY) - 7) + BODY[7:] + b"\r\n0\r\n\r\n"
        return head("200 OK", json + [("Content-Length", "7"), ("Transfer-Encoding", "chunked")]) + chunks
    if path == "/plain":
        return head("200 OK", json + [("Content-Length", str(len(BODY)))]) + BODY
    filler = {"/big-head": (100, 500), "/huge-head": (140, 500), "/many-fields": (140, 20)}.get(path)
    if filler:
        return head("200 OK", json + fillers(*filler) + [("Content-Length", str(len(BODY)))]) + BODY
    body = b'{"code":"E404"}'
    return head("404 Not Found", json + [("Content-Length", str(len(body)))]) + body


def serve(connection):
    data = b""
    with connection:
        while True:
            while b"\r\n\r\n" not in data:
                more = connection.recv(65536)
                if not more:
                    return
                data += more
            request, data = data.split(b"\r\n\r\n", 1)
            lines = request.split(b"\r\n")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(data) < length:
                data += connection.recv(65536)
            data = data[length:]
            target = lines[0].split(b" ")[1].decode("latin-1")
            connection.sendall(answer(target.split("?")[0]))
            if any(l.lower() == b"connection: close" for l in lines[1:]):
                return


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[1])))
    listener.listen(16)
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=serve, args=(connection,), daemon=True).start()


if __name__ == "__main__":
    main()
