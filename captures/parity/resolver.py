# Makes the stand-in host names resolve to 127.0.0.1 inside this process only.
#
# The partner table's host names (and its 10.x / 172.16.x addresses) must be
# written in the URLs the app calls, because the reference keys its partner
# table on the URL authority and our exporter on the Host header. Here every
# such name is answered with 127.0.0.1 by patching socket.getaddrinfo (no
# /etc/hosts change); any other name is refused, so nothing can leave loopback.
# The fixtures also run in a private network namespace whose only interface is lo.
import socket

LOOPBACK_NAMES = {
    "localhost",
    "b123010101.svc.local",
    "d002.youtu.realname.dzqd.cn",
    "d110.youtu.realname.dzqd.cn",
    "d004.youtu.realname.dzqd.cn",
    "d004.gzt.realname.dzqd.cn",
    "d005.gzt.realname.dzqd.cn",
    "d002.gzt.realname.dzqd.cn",
    "10.128.86.64",
    "10.130.219.20",
    "10.130.219.34",
    "10.148.247.1",
    "172.16.50.35",
    "172.16.5.9",
    "127.0.0.1",
}

_real_getaddrinfo = socket.getaddrinfo


def _loopback_getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    name = host.decode() if isinstance(host, bytes) else host
    if name.lower() not in LOOPBACK_NAMES:
        raise socket.gaierror(socket.EAI_NONAME, "parity resolver: %r is not a stand-in name" % (name,))
    results = _real_getaddrinfo("127.0.0.1", port, socket.AF_INET, type, proto, flags)
    for _family, _type, _proto, _canon, sockaddr in results:
        if sockaddr[0] != "127.0.0.1":   # belt and braces: loopback only
            raise socket.gaierror(socket.EAI_FAIL, "parity resolver: non-loopback result")
    return results


def install():
    socket.getaddrinfo = _loopback_getaddrinfo
