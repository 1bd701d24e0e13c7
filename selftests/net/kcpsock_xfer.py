#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kcpsock_xfer: one transfer between two AF_KCP endpoints made with
tools/python/kcpsock.py, checked with SHA-256 (selftests/net/langs.sh).

    kcpsock_xfer.py listen HOST PORT          accept one; "LISTEN port"
    kcpsock_xfer.py connect HOST PORT FILE    send FILE

The wire protocol is kcpnet_xfer's (Go): an 8-byte big-endian length,
the data, the receiver's 32-byte SHA-256 back. Each side prints
"RESULT ok=1 bytes=N sha256=HEX kcp=1 conn=socket.socket family=..."
(kcp=1: SO_DOMAIN is the module's family and KCP_INFO answers, which
only an AF_KCP socket does).
"""

import hashlib
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tools", "python"))
import kcpsock  # noqa: E402

TIMEOUT = 300


def fail(msg):
    print("RESULT ok=0 error=%r" % msg, flush=True)
    sys.exit(1)


def setup(sock):
    kcpsock.set_preset(sock, "fast3")
    kcpsock.set_wndsize(sock, 512, 512)


def describe(c):
    kcp = int(c.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) ==
              kcpsock.family() and kcpsock.info(c)["state"] == 1)
    return "kcp=%d conn=%s.%s family=%s local=%s peer=%s" % (
        kcp, type(c).__module__, type(c).__name__, c.family.name,
        c.getsockname()[1], c.getpeername()[1])


def recv_exactly(c, n, h=None):
    buf, got = [], 0
    while got < n:
        b = c.recv(min(n - got, 1 << 16))
        if not b:
            fail("end of stream after %d of %d bytes" % (got, n))
        got += len(b)
        if h:
            h.update(b)
        else:
            buf.append(b)
    return b"".join(buf)


def listen(host, port, fam):
    srv = kcpsock.create_server((host, port), family=fam, setup=setup)
    print("LISTEN %d" % srv.getsockname()[1], flush=True)
    c, _ = srv.accept()
    srv.close()
    c.settimeout(TIMEOUT)
    n = struct.unpack("!Q", recv_exactly(c, 8))[0]
    h = hashlib.sha256()
    recv_exactly(c, n, h)
    c.sendall(h.digest())
    print("RESULT ok=1 bytes=%d sha256=%s %s" % (n, h.hexdigest(),
                                                 describe(c)), flush=True)
    c.close()


def connect(host, port, path):
    with open(path, "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).digest()
    c = kcpsock.create_connection((host, port), timeout=TIMEOUT, setup=setup)
    c.sendall(struct.pack("!Q", len(data)))
    c.sendall(data)
    peer = recv_exactly(c, 32)
    if peer != digest:
        fail("the server's digest %s is not ours %s" % (peer.hex(),
                                                       digest.hex()))
    print("RESULT ok=1 bytes=%d sha256=%s %s" % (len(data), digest.hex(),
                                                 describe(c)), flush=True)
    c.close()


def main():
    try:
        if len(sys.argv) == 4 and sys.argv[1] == "listen":
            fam = socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET
            listen(sys.argv[2], int(sys.argv[3]), fam)
        elif len(sys.argv) == 5 and sys.argv[1] == "connect":
            connect(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        else:
            sys.exit(__doc__)
    except OSError as e:
        fail("%s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    main()
