#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send malformed, truncated, oversized and bogus KCP datagrams.

  badinput.py junk HOST PORT N        junk from fresh source ports
  badinput.py firsts HOST PORT N      valid first datagrams, N source ports
  badinput.py spoof SRC SPORT HOST PORT CONV N
                                      bogus segments with the right conv,
                                      from a live session's own address
Counts per kind are printed as "SENT kind n".
"""
import random
import socket
import struct
import sys

PUSH, ACK, WASK, WINS = 81, 82, 83, 84
rng = random.Random(7)


def seg(conv, cmd, sn=0, una=0, data=b"", length=None, frg=0, wnd=32, ts=0):
    n = len(data) if length is None else length
    return struct.pack("<IBBHIIII", conv, cmd, frg, wnd, ts, sn, una, n) + data


def junk_kinds():
    conv = rng.getrandbits(32)
    yield "truncated", bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 23)))
    yield "oversize", bytes(rng.getrandbits(8) for _ in range(rng.randint(1501, 1800)))
    yield "badcmd", seg(conv, rng.choice([0, 80, 85, 255]), data=b"x")
    yield "badlen", seg(conv, PUSH, data=b"abc", length=rng.randint(4, 1 << 31))
    yield "badlen2", seg(conv, PUSH, data=b"abc") + seg(conv, PUSH, sn=1, length=999)
    yield "mixedconv", seg(conv, PUSH, data=b"a") + seg(conv ^ 1, PUSH, sn=1, data=b"b")
    yield "parity", struct.pack("<IHH", 3, 0xF2, 0) + bytes(40)


def send_junk(host, port, n):
    sent = {}
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(16)]
    for i in range(n):
        for kind, pkt in junk_kinds():
            socks[i % len(socks)].sendto(pkt, (host, port))
            sent[kind] = sent.get(kind, 0) + 1
    return sent


def send_firsts(host, port, n):
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(seg(rng.getrandbits(32), PUSH, sn=0, data=b"hello"), (host, port))
        s.close()
    return {"first": n}


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_packet(src, sport, dst, dport, payload):
    ulen = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, ulen)
    hdr = struct.pack("!HHHH", sport, dport, ulen, 0)
    csum = checksum(pseudo + hdr + payload) or 0xFFFF
    hdr = struct.pack("!HHHH", sport, dport, ulen, csum)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, rng.getrandbits(16), 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip + hdr + payload


def send_spoof(src, sport, host, port, conv, n):
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sent = {}
    kinds = [
        ("badcmd", lambda: seg(conv, 99, data=b"zz")),
        ("badlen", lambda: seg(conv, PUSH, sn=rng.getrandbits(32), length=5000)),
        ("farsn", lambda: seg(conv, PUSH, sn=rng.getrandbits(31) + (1 << 20), data=b"far")),
        ("bogusuna", lambda: seg(conv, ACK, sn=1, una=rng.getrandbits(31) + (1 << 24))),
        ("wrongconv", lambda: seg(conv ^ 0x5A5A5A5A, PUSH, sn=5, data=b"q")),
        ("truncated", lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 23)))),
    ]
    for _ in range(n):
        for kind, make in kinds:
            raw.sendto(udp_packet(src, sport, host, port, make()), (host, 0))
            sent[kind] = sent.get(kind, 0) + 1
    return sent


def main():
    mode = sys.argv[1]
    if mode == "junk":
        sent = send_junk(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "firsts":
        sent = send_firsts(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "spoof":
        sent = send_spoof(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]),
                          int(sys.argv[6], 0), int(sys.argv[7]))
    else:
        sys.exit("unknown mode")
    for kind, count in sorted(sent.items()):
        print("SENT %s %d" % (kind, count))


if __name__ == "__main__":
    main()
