# SPDX-License-Identifier: GPL-2.0
"""AF_KCP sockets as ordinary Python socket objects.

Python's socket module cannot parse addresses of a family it does not
know: socket.socket(AF_KCP, SOCK_STREAM) is created, but bind() and
connect() fail with "bad family". An AF_KCP socket takes sockaddr_in and
sockaddr_in6 addresses, so this module creates the AF_KCP descriptor and
wraps it in a socket.socket of family AF_INET or AF_INET6: every method
(bind, connect, listen, accept, send, recv, settimeout, makefile, ...)
then works as on TCP, and accept() returns sockets of the same kind.

    import kcpsock
    srv = kcpsock.create_server(("", 4000), setup=kcpsock.fast3)
    c = kcpsock.create_connection(("192.0.2.1", 4000), setup=kcpsock.fast3)
    kcpsock.set_wndsize(c, 512, 512)
    print(kcpsock.info(c)["srtt"])

Options set on a listener are inherited by the sessions it accepts. See
Documentation/networking/kcp.rst ("Python, Go and Rust") for the rest.
"""

import errno
import hashlib
import os
import socket as _socket
import struct

__all__ = [
    "family", "socket", "create_connection", "create_server", "fromfd",
    "set_int", "get_int", "set_nodelay", "set_wndsize", "set_preset",
    "set_fec", "set_crypto", "kcptun_key", "set_keepalive", "info",
    "fast3", "SOL_KCP",
]

AF_KCP_DEFAULT = 25
SOL_KCP = 299

# SOL_KCP options (uapi/linux/kcp.h)
KCP_NODELAY = 1
KCP_WNDSIZE = 2
KCP_MTU = 3
KCP_STREAM = 4
KCP_ACK_NODELAY = 5
KCP_CONV = 6
KCP_FEC = 7
KCP_CRYPTO = 8
KCP_DEADLINK = 9
KCP_MINRTO = 10
KCP_IDLE_TIMEOUT = 11
KCP_INFO = 12
KCP_PRESET = 13
KCP_WRITE_DELAY = 14
KCP_LINGER_TIMEOUT = 15
KCP_REUSEPORT = 16
KCP_CONNECT_TIMEOUT = 17
KCP_SESSION_EXT = 18
KCP_KEEPIDLE = 19
KCP_KEEPINTVL = 20
KCP_KEEPCNT = 21

PRESETS = {"normal": 1, "fast": 2, "fast2": 3, "fast3": 4}

# enum kcp_cipher order, kcptun's names, key bytes kcptun uses
CIPHERS = [("null", 0), ("none", 0), ("aes", 32), ("aes-128", 16),
           ("aes-192", 24), ("salsa20", 32), ("blowfish", 32),
           ("twofish", 32), ("cast5", 16), ("3des", 24), ("tea", 16),
           ("xtea", 16), ("sm4", 16), ("xor", 32)]
KCP_KEY_MAX = 32

# struct kcp_info: 32 __u32, 16 __u64, then __u32 fields (newer modules
# append; the kernel says how many bytes it filled in kcpi_len)
_INFO_U32 = ("version len state conv mtu mss rto srtt rttvar minrto cwnd "
             "ssthresh snd_wnd rcv_wnd rmt_wnd snd_una snd_nxt rcv_nxt "
             "snd_queue snd_buf rcv_queue rcv_buf nodelay interval resend "
             "nc stream fec_data fec_parity cipher dead_link pad").split()
_INFO_U64 = ("in_segs out_segs retrans_segs fast_retrans early_retrans "
             "lost_segs repeat_segs in_errors in_pkts out_pkts bytes_in "
             "bytes_out fec_recovered fec_parity_in crypto_errors "
             "fec_errors").split()
_INFO_TAIL = "fec_state pad2 ext pad3".split()
_INFO_SIGNED = ("srtt", "rttvar")
_INFO_MAX = 4 * len(_INFO_U32) + 8 * len(_INFO_U64) + 4 * len(_INFO_TAIL)


def family():
    """The AF_KCP number in use (/sys/module/kcp/parameters/family)."""
    try:
        with open("/sys/module/kcp/parameters/family") as f:
            return int(f.read())
    except (OSError, ValueError):
        return AF_KCP_DEFAULT


def fromfd(fd, fam=_socket.AF_INET, type=_socket.SOCK_STREAM):
    """Wrap the AF_KCP descriptor @fd (taken over) as a socket.socket."""
    return _socket.socket(fam, type, 0, fileno=fd)


def socket(fam=_socket.AF_INET, type=_socket.SOCK_STREAM):
    """A new AF_KCP socket that Python treats as one of family @fam.

    @fam is AF_INET or AF_INET6 (the addresses it will take); @type is
    SOCK_STREAM (a byte stream, as TCP) or SOCK_SEQPACKET (messages).
    """
    if fam not in (_socket.AF_INET, _socket.AF_INET6):
        raise ValueError("AF_KCP takes AF_INET or AF_INET6 addresses")
    try:
        raw = _socket.socket(family(), type, 0)
    except OSError as e:
        if e.errno == errno.EAFNOSUPPORT:
            e.strerror += " (is the kcp module loaded?)"
        raise
    fd = raw.detach()
    try:
        return fromfd(fd, fam, type)
    except BaseException:
        os.close(fd)
        raise


def create_connection(address, timeout=_socket._GLOBAL_DEFAULT_TIMEOUT,
                      source_address=None, *, setup=None,
                      type=_socket.SOCK_STREAM):
    """As socket.create_connection(), over AF_KCP.

    @setup(sock), if given, runs before connect(): set SOL_KCP options
    there (presets, windows, FEC and ciphers must be set before).
    """
    host, port = address[:2]
    err = None
    for af, _, _, _, sa in _socket.getaddrinfo(host, port, 0,
                                                _socket.SOCK_STREAM):
        if af not in (_socket.AF_INET, _socket.AF_INET6):
            continue
        sock = None
        try:
            sock = socket(af, type)
            if timeout is not _socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if setup:
                setup(sock)
            if source_address:
                sock.bind(source_address)
            sock.connect(sa)
            return sock
        except OSError as e:
            err = e
            if sock is not None:
                sock.close()
    if err is not None:
        raise err
    raise OSError("getaddrinfo returns an empty list")


def create_server(address, *, family=_socket.AF_INET, backlog=None,
                  reuse_port=False, dualstack_ipv6=False, setup=None,
                  type=_socket.SOCK_STREAM):
    """As socket.create_server(), over AF_KCP.

    AF_KCP IPv6 sockets are IPv6-only: dualstack_ipv6 is refused (listen
    twice instead). reuse_port uses KCP_REUSEPORT (kernels >= 6.9 refuse
    SO_REUSEPORT for families other than inet). @setup(sock) runs before
    bind(); what it sets is inherited by the accepted sessions.
    """
    if dualstack_ipv6:
        raise ValueError("AF_KCP IPv6 sockets are IPv6-only")
    sock = socket(family, type)
    try:
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        if reuse_port:
            set_int(sock, KCP_REUSEPORT, 1)
        if setup:
            setup(sock)
        sock.bind(address)
        if backlog is None:
            sock.listen()
        else:
            sock.listen(backlog)
        return sock
    except BaseException:
        sock.close()
        raise


def set_int(sock, opt, value):
    """setsockopt(SOL_KCP, @opt) with an int."""
    sock.setsockopt(SOL_KCP, opt, int(value))


def get_int(sock, opt):
    """getsockopt(SOL_KCP, @opt) as an int."""
    return sock.getsockopt(SOL_KCP, opt)


def set_nodelay(sock, nodelay, interval, resend, nc):
    """KCP_NODELAY: kcp-go's SetNoDelay(); -1 keeps nodelay/interval."""
    sock.setsockopt(SOL_KCP, KCP_NODELAY,
                    struct.pack("=iiii", nodelay, interval, resend, nc))


def set_wndsize(sock, snd, rcv):
    """KCP_WNDSIZE in segments; 0 keeps the current value."""
    sock.setsockopt(SOL_KCP, KCP_WNDSIZE, struct.pack("=II", snd, rcv))


def set_preset(sock, name):
    """KCP_PRESET: kcptun's --mode, "normal", "fast", "fast2", "fast3"."""
    set_int(sock, KCP_PRESET, PRESETS[name] if isinstance(name, str)
            else name)


def fast3(sock):
    """A setup= for create_connection/create_server: kcptun's fast3."""
    set_preset(sock, "fast3")


def set_fec(sock, data_shards, parity_shards):
    """KCP_FEC (before connect()/listen()); 0, 0 is off."""
    sock.setsockopt(SOL_KCP, KCP_FEC,
                    struct.pack("=II", data_shards, parity_shards))


def kcptun_key(passphrase, cipher="aes"):
    """The key kcptun derives from @passphrase for @cipher (kcpctl key)."""
    if isinstance(passphrase, str):
        passphrase = passphrase.encode()
    n = dict(CIPHERS)[cipher]
    return hashlib.pbkdf2_hmac("sha1", passphrase, b"kcp-go", 4096, 32)[:n]


def set_crypto(sock, cipher, key):
    """KCP_CRYPTO (before connect()/listen()): @cipher by kcptun name,
    @key the key bytes (kcptun_key() derives them as kcptun does)."""
    names = [c[0] for c in CIPHERS]
    if len(key) > KCP_KEY_MAX:
        raise ValueError("key longer than %d bytes" % KCP_KEY_MAX)
    sock.setsockopt(SOL_KCP, KCP_CRYPTO,
                    struct.pack("=II32s", names.index(cipher), len(key),
                                bytes(key)))


def set_keepalive(sock, idle=None, intvl=None, cnt=None):
    """SO_KEEPALIVE on, with KCP_KEEPIDLE/KEEPINTVL (s) and KCP_KEEPCNT
    as TCP_KEEPIDLE/INTVL/CNT; an older module refuses these with
    ENOPROTOOPT."""
    sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_KEEPALIVE, 1)
    for opt, v in ((KCP_KEEPIDLE, idle), (KCP_KEEPINTVL, intvl),
                   (KCP_KEEPCNT, cnt)):
        if v is not None:
            set_int(sock, opt, v)


def info(sock):
    """KCP_INFO as a dict (names without the kcpi_ prefix); fields an
    older module does not fill are left out."""
    raw = sock.getsockopt(SOL_KCP, KCP_INFO, _INFO_MAX)
    fmt = "=%dI%dQ%dI" % (len(_INFO_U32), len(_INFO_U64), len(_INFO_TAIL))
    names = _INFO_U32 + _INFO_U64 + _INFO_TAIL
    got = len(raw)
    d = dict(zip(names, struct.unpack(fmt, raw + bytes(_INFO_MAX - got))))
    for k in _INFO_SIGNED:
        d[k] = struct.unpack("=i", struct.pack("=I", d[k]))[0]
    filled = min(d["len"], got)
    offset, out = 0, {}
    for k in names:
        size = 8 if k in _INFO_U64 else 4
        if offset + size <= filled and not k.startswith("pad"):
            out[k] = d[k]
        offset += size
    return out
