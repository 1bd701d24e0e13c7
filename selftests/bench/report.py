#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# Turn the REC lines of selftests/bench/inguest.sh (DIR/raw/raw.txt) into
# DIR/results.json (every number), DIR/results.md (tables), DIR/targets.md
# (the targets from the medians of the repeated target set, met
# only if every repetition meets them) and PNG plots (python3-matplotlib;
# gnuplot as a fallback; none if neither is there).
#
#   report.py DIR        DIR/host.txt: "key=value" lines from bench.sh

import json
import math
import os
import shutil
import statistics
import subprocess
import sys

NAMES = {
    "kcp": "AF_KCP",
    "kcp_sockbuf": "AF_KCP 4 MiB sockbuf",
    "kcp_fec": "AF_KCP FEC 10/3",
    "kcp_aes": "AF_KCP aes",
    "kcp_salsa20": "AF_KCP salsa20",
    "kcp_aes_fec": "AF_KCP aes+FEC 10/3",
    "kcpgo": "kcp-go",
    "kcpgo_fec": "kcp-go FEC 10/3",
    "kcpgo_aes": "kcp-go aes",
    "kcpgo_salsa20": "kcp-go salsa20",
    "kcpgo_aes_fec": "kcp-go aes+FEC 10/3",
    "tcp_cubic": "TCP cubic",
    "tcp_bbr": "TCP bbr",
    "udp": "raw UDP blast (unpaced)",
    "udp_paced": "UDP paced (best rate, < 0.5 % loss)",
    "udp_gso": "UDP_SEGMENT + UDP_GRO paced (best rate, < 0.5 % loss)",
}
ORDER = list(NAMES)
PROFILE_NAMES = {
    "clean": "clean (no netem)",
    "rtt20_loss1": "20 ms RTT, 1 % loss",
    "rtt40_loss5": "40 ms RTT, 5 % loss",
    "rtt100_loss10_reorder": "100 ms RTT, 10 % loss, reordering",
}
# the kcp-go twin of each AF_KCP contender
GO_TWIN = {"kcp": "kcpgo", "kcp_sockbuf": "kcpgo", "kcp_fec": "kcpgo_fec", "kcp_aes": "kcpgo_aes",
           "kcp_salsa20": "kcpgo_salsa20", "kcp_aes_fec": "kcpgo_aes_fec"}
# a UDP rate step counts for the ceiling below this loss
UDP_MAX_LOSS_PCT = 0.5


def num(v):
    """A REC value as int/float, or the string itself ("inf" -> inf)."""
    if v is None:
        return None
    try:
        if v.lstrip("-").isdigit():
            return int(v)
        return float(v)
    except ValueError:
        return v


def parse(path):
    recs = []
    with open(path) as f:
        for line in f:
            if not line.startswith("REC "):
                continue
            r = {}
            for w in line.split()[1:]:
                if "=" in w:
                    k, v = w.split("=", 1)
                    r[k] = num(v) if v != "" else None
            recs.append(r)
    return recs


def fmt(v, nd=1):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if math.isinf(v):
        return "∞"
    return f"{v:.{nd}f}"


def ratio(a, b):
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):
        return None
    if b == 0:
        return math.inf if a > 0 else None
    return a / b


def fx(r):
    return "n/a" if r is None else ("∞" if math.isinf(r) else f"{r:.2f}×")


class Data:
    def __init__(self, recs, host):
        self.host = host
        self.meta = next((r for r in recs if r.get("kind") == "meta"), {})
        self.end = next((r for r in recs if r.get("kind") == "end"), {})
        self.baseline = next((r for r in recs if r.get("kind") == "baseline"), {})
        # each guest boot (phase) records the profiles: once each
        self.profiles = list(dict.fromkeys(r["name"] for r in recs if r.get("kind") == "profile"))
        self.netem = {r["name"]: (r.get("netem") or "").replace("_", " ")
                      for r in recs if r.get("kind") == "profile"}
        self.cells = {}
        for r in recs:
            if r.get("kind") in ("bulk1", "bulk8", "rr"):
                self.cells[(r["profile"], r["contender"], r["kind"])] = r
        self.scale = [r for r in recs if r.get("kind") == "scale"]
        self.contenders = [c for c in ORDER
                           if any(k[1] == c for k in self.cells)]
        # the target set: size-bounded transfers, repeated
        self.crypto = next((r for r in recs if r.get("kind") == "crypto"), {})
        self.xfers = [r for r in recs if r.get("kind") == "xfer" and r.get("set") == "targets"]
        self.udprates = [r for r in recs if r.get("kind") == "udprate"]
        self.reps = int(self.meta.get("reps") or 0)
        cells = str(self.meta.get("target_cells") or "")
        self.tcells = [c for c in cells.split(",") if c]

    def trep(self, c, rep):
        """Cell c's result in repetition rep: {ok, mbps, instr_gb, busy_gb,
        rate}, None if not run. UDP cells: the best rate step delivered with
        less than UDP_MAX_LOSS_PCT loss."""
        if c in ("udp_paced", "udp_gso"):
            steps = [r for r in self.udprates if r.get("contender") == c and r.get("rep") == rep]
            if not steps:
                return None
            good = [r for r in steps if r.get("status") == "ok"
                    and isinstance(r.get("loss_pct"), (int, float))
                    and r["loss_pct"] < UDP_MAX_LOSS_PCT]
            if not good:
                return {"ok": False}
            r = max(good, key=lambda r: r.get("goodput_kbps") or 0)
        else:
            r = next((r for r in self.xfers if r.get("contender") == c and r.get("rep") == rep), None)
            if r is None:
                return None
            if r.get("status") == "na":
                return {"ok": False, "na": r.get("why")}
            if r.get("status") != "ok":
                return {"ok": False}
        gb = (r.get("bytes") or 0) / 1e9

        def per_gb(k):
            v = r.get(k)
            return v / gb if isinstance(v, (int, float)) and gb else None
        return {"ok": True, "mbps": (r.get("goodput_kbps") or 0) / 1000.0,
                "instr_gb": per_gb("trace_busy_s"), "busy_gb": per_gb("cpu_busy_s"),
                "rate": r.get("rate_mbit")}

    def tvals(self, c, key="mbps"):
        """[value per repetition] of cell c, None where it failed"""
        out = []
        for rep in range(1, self.reps + 1):
            t = self.trep(c, rep)
            out.append(t.get(key) if t and t.get("ok") else None)
        return out

    def cell(self, prof, c, kind):
        return self.cells.get((prof, c, kind))

    def mbps(self, prof, c, kind):
        r = self.cell(prof, c, kind)
        if not r or r.get("status") != "ok" or r.get("goodput_kbps") is None:
            return None
        return r["goodput_kbps"] / 1000.0

    def p(self, prof, c, which):
        r = self.cell(prof, c, "rr")
        if not r or r.get("status") not in ("ok", "fail"):
            return None
        v = r.get(which)
        if v == "inf":
            return math.inf
        return v if isinstance(v, (int, float)) else None

    def best_tcp(self, prof, kind):
        """(value, name) of the better TCP, for goodput (max)"""
        best = (None, None)
        for c in ("tcp_cubic", "tcp_bbr"):
            v = self.mbps(prof, c, kind)
            if v is not None and (best[0] is None or v > best[0]):
                best = (v, c)
        return best

    def best_tcp_p99(self, prof):
        best = (None, None)
        for c in ("tcp_cubic", "tcp_bbr"):
            v = self.p(prof, c, "p99_ms")
            if v is not None and (best[0] is None or v < best[0]):
                best = (v, c)
        return best

    def status(self, prof, c, kind):
        r = self.cell(prof, c, kind)
        if not r:
            return "not run"
        if r.get("status") == "na":
            return "n/a"
        return r.get("status")


def goodput_table(d, prof):
    out = ["| contender | 1 stream Mbit/s | vs kcp-go | vs TCP cubic | vs TCP bbr "
           "| 8 streams Mbit/s | vs kcp-go | vs TCP cubic | vs TCP bbr |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in d.contenders:
        row = [NAMES[c]]
        for kind in ("bulk1", "bulk8"):
            v = d.mbps(prof, c, kind)
            st = d.status(prof, c, kind)
            row.append(fmt(v) if v is not None else st)
            twin = GO_TWIN.get(c, "kcpgo")
            row.append(fx(ratio(v, d.mbps(prof, twin, kind))) if c != twin else "—")
            row.append(fx(ratio(v, d.mbps(prof, "tcp_cubic", kind))) if c != "tcp_cubic" else "—")
            row.append(fx(ratio(v, d.mbps(prof, "tcp_bbr", kind))) if c != "tcp_bbr" else "—")
        out.append("| " + " | ".join(row) + " |")
    return out


def latency_table(d, prof):
    out = ["| contender | p50 ms | p99 ms | p999 ms | max ms | lost | p99 vs kcp-go | p99 vs TCP cubic |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for c in d.contenders:
        if c == "udp":
            continue
        r = d.cell(prof, c, "rr")
        if not r or r.get("status") == "na":
            out.append(f"| {NAMES[c]} | {d.status(prof, c, 'rr')} | | | | | | |")
            continue
        p99 = d.p(prof, c, "p99_ms")
        twin = GO_TWIN.get(c, "kcpgo")
        out.append("| " + " | ".join([
            NAMES[c] + ("" if r.get("status") == "ok" else " (failed)"),
            fmt(d.p(prof, c, "p50_ms"), 2), fmt(p99, 2),
            fmt(d.p(prof, c, "p999_ms"), 2), fmt(d.p(prof, c, "max_ms"), 2),
            f"{r.get('lost')}/{r.get('rr')}",
            fx(ratio(p99, d.p(prof, twin, "p99_ms"))) if c != twin else "—",
            fx(ratio(p99, d.p(prof, "tcp_cubic", "p99_ms"))) if c != "tcp_cubic" else "—",
        ]) + " |")
    return out


def per_session(r, key):
    up = r.get("up") or 0
    v = r.get(key)
    if not up or v is None:
        return None
    return v * 1024.0 / up


def cpu_pct(cores):
    """% of a core above the baseline; noise below it shows as < 0.01"""
    return "< 0.01" if cores * 100 < 0.01 else fmt(cores * 100, 2)


def scale_table(d):
    base = d.baseline.get("idle_cores") or 0
    out = ["| implementation | sessions | up | open s | kernel B/session | server RSS B/session "
           "| idle CPU % of a core | 1 % active CPU % | echo p50/p99 ms |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in d.scale:
        name = "AF_KCP" if r.get("impl") == "afkcp" else "kcp-go"
        if r.get("status") == "na":
            out.append(f"| {name} | {r.get('sessions')} | n/a ({r.get('why')}) | | | | | | |")
            continue
        idle = (r.get("idle_cores") or 0) - base
        act = (r.get("active_cores") or 0) - base
        out.append("| " + " | ".join([
            name, str(r.get("sessions")), str(r.get("up")), fmt(r.get("open_s"), 1),
            fmt(per_session(r, "kern_kib"), 0), fmt(per_session(r, "rss_kib"), 0),
            cpu_pct(idle), cpu_pct(act),
            f"{fmt(r.get('echo_p50_ms'), 1)}/{fmt(r.get('echo_p99_ms'), 1)}",
        ]) + " |")
    return out


# Drops below AF_KCP per test: the UDP MIB's, plus one veth drop count. A
# datagram the veth could not hand to the per-CPU backlog (more than
# netdev_max_backlog queued) is counted three times, as veth-b tx_dropped,
# veth-a rx_dropped and softnet "dropped": the largest of the three counts.
UDP_DROPS = ["a_UdpInErrors", "a_UdpRcvbufErrors", "b_UdpSndbufErrors"]
VETH_DROPS = ["a_DevRxDrop", "b_DevTxDrop", "a_SoftnetDrop"]


def lower_drops(r):
    udp = [r.get(k) for k in UDP_DROPS]
    veth = [r.get(k) for k in VETH_DROPS]
    if all(v is None for v in udp + veth):
        return None
    return (sum(v for v in udp if isinstance(v, (int, float))) +
            max([v for v in veth if isinstance(v, (int, float))] or [0]))


def counters_table(d):
    keys = ["b_OutPkts", "a_InPkts", "a_BacklogDrop", "a_TimeWaitDrop",
            "a_InNoSession", "lower_drops", "a_RepeatSegs",
            "b_RetransSegs", "b_FastRetransSegs", "b_LostSegs",
            "b_EarlyRetransSegs", "a_FECRecovered", "cpu_cores"]
    out = ["| profile | contender | test | " + " | ".join(k for k in keys) + " |",
           "|---|---|---|" + "---:|" * len(keys)]
    for (prof, c, kind), r in sorted(d.cells.items(),
                                     key=lambda kv: (d.profiles.index(kv[0][0])
                                                     if kv[0][0] in d.profiles else 9,
                                                     ORDER.index(kv[0][1]), kv[0][2])):
        if not c.startswith("kcp") or c.startswith("kcpgo") or r.get("status") == "na":
            continue
        r = dict(r, lower_drops=lower_drops(r))
        out.append(f"| {prof} | {NAMES[c]} | {kind} | " +
                   " | ".join(fmt(r.get(k), 2 if k == "cpu_cores" else 0) for k in keys) + " |")
    return out


def header(d, title):
    m, h = d.meta, d.host
    icount = str(m.get("icount", h.get("icount", "0"))) != "0"
    cr = d.crypto
    drivers = ", ".join(f"{a}: `{cr[a]}`" for a in
                        ("aes", "crc32", "crc32c", "ghash", "sha1", "sha256", "sha512") if a in cr)
    lines = [f"# {title}", "",
             f"- date: {h.get('date', '?')}; mode: `BENCH={m.get('bench')}`; "
             f"wall time on the host: {h.get('wall_s', '?')} s",
             f"- guest kernel: {m.get('kernel')} (QEMU TCG{', icount' if icount else ''}, "
             f"{m.get('guest_cpus')} vCPUs, {int(m.get('guest_mem_kib', 0)) // 1024} MiB); "
             f"commit {h.get('commit', '?')}",
             f"- host CPU: {h.get('host_cpu', '?')} ({h.get('host_cpus', '?')} CPUs); "
             f"host load average before/after: {h.get('host_load_before', '?')} / "
             f"{h.get('host_load_after', '?')}; other QEMU processes at the start: "
             f"{h.get('other_qemu_before', '?')}"
             + (" (icount: host load does not change the numbers)" if icount else ""),
             "- guest boots: " + "; ".join(f"{k[6:]}: {v}" for k, v in h.items()
                                             if k.startswith("phase_")) if any(
                 k.startswith("phase_") for k in h) else "- guest boots: one",
             f"- crypto drivers in use in the guest (highest priority in /proc/crypto, after "
             f"loading {str(cr.get('loaded', 'none')).replace(',', ', ')}): {drivers or 'not recorded'}",
             ]
    if icount:
        lines.append("- instruction-count clock (`run-vm.sh --icount`): guest time is guest "
                     "instructions (1 ns each; idle time skipped), so goodput is bytes per "
                     "instruction of the whole guest and the host's load does not move it. "
                     "The vCPUs take turns on one host thread: a second vCPU adds no "
                     "instructions per second, so efficiency shows here, parallelism does not. "
                     "Every instruction costs the same: a SIMD or AES-NI instruction counts "
                     "as much as an add.")
    else:
        lines.append("- plain TCG emulation, CPU-bound: absolute numbers mean little, ratios "
                     "within this one VM run are what counts")
    return lines + [""]


def settings(d):
    m = d.meta
    return [
        "## Time-bounded cells: settings", "",
        "- link: two network namespaces joined by veth; netem on both ends, delay = RTT/2 "
        "and the loss on each direction:",
        *[f"  - `{p}`: {('`' + d.netem[p] + '`') if d.netem.get(p) else 'none'}" for p in d.profiles],
        "- KCP (AF_KCP and kcp-go alike): kcptun `fast` (nodelay 0, interval 30, resend 2, nc 1), "
        "windows 1024/1024, MTU 1350 (kcptun's server defaults), stream mode; FEC 10/3 and aes "
        "(kcptun key derivation) where named. kcp-go is the real kcp-go v5.6.1 "
        "(Debian's, the one kcptun and kcppeer use) driven by `selftests/bench/kgob`, with "
        "kcptun's 4 MiB UDP socket buffers (`--sockbuf`); \"AF_KCP 4 MiB sockbuf\" gives "
        "AF_KCP the same as SO_RCVBUF/SO_SNDBUF.",
        "- TCP: `kbench -p tcp` with TCP_NODELAY, TCP_CONGESTION cubic or bbr, default buffers.",
        f"- raw UDP blast (only if in the contenders): {m.get('udp_size')}-byte datagrams sent "
        "with sendmmsg() as fast as the sender can (not paced); the receiver (4 MiB "
        "SO_RCVBUF) counts the UDP payload that reaches it. Not a ceiling: its sender is "
        "CPU-bound and overruns the receiver; the target set's paced UDP cells replace it.",
        f"- bulk: the client sends for {m.get('time_s')} s + {m.get('grace_s', 1)} s; goodput = "
        f"payload bytes the server received within {m.get('time_s')} s of the first one "
        "(all streams together for 8 streams), in Mbit/s.",
        f"- request/response: open loop, one {m.get('rrsize')}-byte record every "
        f"{m.get('rrgap_ms')} ms ({m.get('rr')} records) on one connection, echoed by the "
        "server; latency from send to the return of the record's last byte; records not back "
        f"within {m.get('drain_s')} s of the last send are lost (count as ∞).",
        f"- scale: one listener; a KCP load generator (`kcpscale gen`, one UDP socket per "
        "session, created before the baseline) opens N sessions with a 1-byte message each, "
        "the server echoes it; memory = deltas of /proc/meminfo (kernel = Slab + KernelStack + "
        "PageTables + Percpu + VmallocUsed) and of the server's VmRSS from before the sessions "
        f"to after; CPU: the time any vCPU was not idle over {m.get('hold_s')} s, from the "
        "power:cpu_idle trace (under icount 1e9 instructions per second are one core; "
        "/proc/stat's tick samples miss the short wakeups of idle sessions), minus the idle baseline "
        f"({fmt((d.baseline.get('idle_cores') or 0) * 100, 1)} % of a core); 1 % active = "
        f"1 % of the sessions each send a 64-byte message {m.get('active_rate')} times a "
        "second, echoed.",
        "",
    ]


def write_md(d, outdir, plots):
    L = header(d, "AF_KCP benchmarks")
    if d.tcells:
        L += ["## Target set: clean link, one stream, size-bounded", ""] + target_set_text(d)
        L += target_cells_table(d) + [""]
        if "targets.png" in plots:
            L += ["![targets](targets.png)", ""]
        L += ["Rate steps of the UDP cells:", ""] + sweep_table(d) + [""]
        L += ["The verdicts are in [targets.md](targets.md).", ""]
    if not d.profiles:
        L += ["(no netem profiles run)", ""]
    L += settings(d)
    L += ["## Goodput (Mbit/s)", "",
          "Ratios: AF_KCP rows against the kcp-go row with the same FEC/crypto; "
          "others against plain kcp-go.", ""]
    for prof in d.profiles:
        L += [f"### {PROFILE_NAMES.get(prof, prof)}", ""] + goodput_table(d, prof) + [""]
    if "goodput.png" in plots:
        L += ["![goodput](goodput.png)", ""]
    L += ["## Request/response latency (64 B records every 10 ms)", ""]
    for prof in d.profiles:
        L += [f"### {PROFILE_NAMES.get(prof, prof)}", ""] + latency_table(d, prof) + [""]
    if "latency.png" in plots:
        L += ["![latency](latency.png)", ""]
    L += ["## Scale: concurrent sessions on one listener", ""] + scale_table(d) + [""]
    L += ["Slab caches that grew most (bytes per session):", ""]
    for r in d.scale:
        if r.get("slab_top") and r.get("status") != "na":
            L.append(f"- {'AF_KCP' if r['impl'] == 'afkcp' else 'kcp-go'} "
                     f"{r['sessions']}: {str(r['slab_top']).rstrip(',').replace(',', ', ')}")
    L.append("")
    if "scale.png" in plots:
        L += ["![scale](scale.png)", ""]
    L += ["## AF_KCP counters per test", "",
          "From /proc/net/kcp_snmp (a = receiving/server namespace, b = sending/client "
          "namespace), deltas over the test; cpu_cores = guest CPU busy during it. "
          "Every datagram the sender counts out (b_OutPkts, data and ACKs of the "
          "transfer direction) is either counted in (a_InPkts) or in a drop column: "
          "BacklogDrop (socket owned by the reader, backlog full), TimeWaitDrop / "
          "InNoSession (the session had ended), lower_drops (UDP InErrors + "
          "RcvbufErrors + SndbufErrors, plus datagrams the veth dropped because the "
          "receiving CPU's backlog held netdev_max_backlog (1000) already: netem "
          "releases its delayed queue in bursts; from /proc/PID/net/{snmp,dev} and "
          "/proc/net/softnet_stat), or lost by netem.", ""]
    L += counters_table(d) + [""]
    L += ["Tool outputs (KINFO lines: KCP_INFO/TCP_INFO per session) are in "
          "`raw/PHASE/logs/` (targets, net, scale: one guest boot each); `raw/raw.txt` has "
          "every record.", ""]
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(L))


def verdict(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def med_range(vals, nd=1):
    """"median [min–max]" of the values that are not None"""
    ok = [v for v in vals if v is not None]
    if not ok:
        return "n/a"
    m = statistics.median(ok)
    if len(ok) == 1:
        return f"{m:.{nd}f}"
    return f"{m:.{nd}f} [{min(ok):.{nd}f}–{max(ok):.{nd}f}]"


def median(vals):
    ok = [v for v in vals if v is not None]
    return statistics.median(ok) if ok else None


def target_set_text(d):
    m = d.meta
    mib = (m.get("xfer_bytes") or 0) / 1048576
    return [
        f"One guest, veth, clean link (no netem), one stream, kcptun `fast` (nodelay 0, "
        f"interval 30, resend 2, nc 1), windows 1024/1024, MTU 1350, stream mode, "
        f"{mib:g} MiB per transfer; kcp-go gets kcptun's 4 MiB socket buffers. "
        f"{d.reps} repetitions, interleaved (repetition 1 of every cell, then 2, ...). "
        "Goodput: the receiver's bytes over its window from the first byte to the last; "
        "kbench (AF_KCP, TCP, UDP) and kgob (kcp-go) send the same precomputed data, "
        "compare every byte received with it in the window, and measure the same window.",
        "",
        "CPU per GB: **guest instructions** (in seconds: 1e9 instructions) in the window "
        "per GB delivered: the time any vCPU was not idle, from the power:cpu_idle trace "
        "(`busy.awk`). /proc/stat's busy time is shown too: under icount it counts a vCPU "
        "busy while the other one runs, so with both busy it is up to twice the "
        "instructions.",
        "",
        "UDP cells: a paced sender (`kbench -rate`, 32 datagrams of 1350 bytes per "
        "sendmmsg() or per UDP_SEGMENT buffer) swept over rates, x1.5 steps then two "
        "bisections; the receiver takes what is queued with recvmmsg(MSG_WAITFORONE) "
        "(4 MiB SO_RCVBUF; UDP_GRO for the GSO cell). Its goodput is the best delivered "
        "with less than 0.5 % loss in that repetition.",
        "",
    ]


def target_cells_table(d):
    out = ["| cell | reps ok | goodput Mbit/s: median [min–max] | per repetition | "
           "instructions s/GB: median [min–max] | /proc/stat busy s/GB: median [min–max] |",
           "|---|---:|---:|---|---:|---:|"]
    for c in d.tcells:
        reps = [d.trep(c, r) for r in range(1, d.reps + 1)]
        na = next((t.get("na") for t in reps if t and t.get("na")), None)
        if na:
            out.append(f"| {NAMES.get(c, c)} | n/a ({na}) | | | | |")
            continue
        nok = sum(1 for t in reps if t and t.get("ok"))
        per = []
        for t in reps:
            if not t or not t.get("ok"):
                per.append("failed" if t else "not run")
            elif t.get("rate"):
                per.append(f"{t['mbps']:.0f} (at {t['rate']})")
            else:
                per.append(f"{t['mbps']:.1f}")
        out.append("| " + " | ".join([
            NAMES.get(c, c), f"{nok}/{d.reps}", med_range(d.tvals(c)), ", ".join(per),
            med_range(d.tvals(c, "instr_gb"), 2), med_range(d.tvals(c, "busy_gb"), 2),
        ]) + " |")
    return out


def sweep_table(d):
    out = ["| cell | rep | rate Mbit/s → delivered Mbit/s (loss %, instructions s/GB) |",
           "|---|---:|---|"]
    for c in ("udp_paced", "udp_gso"):
        for rep in range(1, d.reps + 1):
            steps = [r for r in d.udprates if r.get("contender") == c and r.get("rep") == rep]
            if not steps:
                continue
            txt = []
            for r in steps:
                if r.get("status") != "ok":
                    txt.append(f"{r.get('rate_mbit')} → failed")
                    continue
                gb = (r.get("bytes") or 0) / 1e9
                ins = r.get("trace_busy_s")
                ins = f", {ins / gb:.2f}" if isinstance(ins, (int, float)) and gb else ""
                txt.append(f"{r.get('rate_mbit')} → {(r.get('goodput_kbps') or 0) / 1000:.0f} "
                           f"({fmt(r.get('loss_pct'), 2)}{ins})")
            out.append(f"| {NAMES.get(c, c).split(' (')[0]} | {rep} | {'; '.join(txt)} |")
    return out


# The targets on the target set: (name, numerator cell, denominator
# cell, required ratio; None = for reference only)
TARGETS = [
    ("plain: AF_KCP / kcp-go", "kcp", "kcpgo", 3.0),
    ("aes + FEC 10/3: AF_KCP / kcp-go", "kcp_aes_fec", "kcpgo_aes_fec", 3.0),
    ("aes + FEC 10/3 keeps of plain (AF_KCP)", "kcp_aes_fec", "kcp", 0.5),
    ("aes + FEC 10/3 keeps of plain (kcp-go's own, for reference)", "kcpgo_aes_fec", "kcpgo", None),
    ("FEC 10/3 keeps of plain (AF_KCP)", "kcp_fec", "kcp", 0.7),
    ("aes keeps of plain (AF_KCP)", "kcp_aes", "kcp", 0.7),
    ("salsa20 keeps of plain (AF_KCP)", "kcp_salsa20", "kcp", 0.6),
    ("plain AF_KCP / paced UDP, no GSO", "kcp", "udp_paced", 1.0),
    ("plain AF_KCP / UDP with UDP_SEGMENT", "kcp", "udp_gso", 0.4),
    ("plain AF_KCP / TCP cubic", "kcp", "tcp_cubic", 0.4),
]


def target_row(d, name, a, b, need):
    """One row of targets.md and its numbers for results.json"""
    va, vb = d.tvals(a), d.tvals(b)
    ia, ib = median(d.tvals(a, "instr_gb")), median(d.tvals(b, "instr_gb"))
    per = [x / y if x is not None and y else None for x, y in zip(va, vb)]
    labels = []
    for rep, p in enumerate(per, 1):
        ta, tb = d.trep(a, rep), d.trep(b, rep)
        labels.append(f"{p:.2f}" if p is not None else
                      "not run" if ta is None or tb is None else "failed")
    ma, mb = median(va), median(vb)
    r = ratio(ma, mb)
    ok_per = [p for p in per if p is not None]
    rng = f"{min(ok_per):.2f}–{max(ok_per):.2f}×" if ok_per else "n/a"
    if need is None:
        v = "reference"
    elif not d.reps or a not in d.tcells or b not in d.tcells:
        v = verdict(None)
    else:
        v = verdict(len(ok_per) == d.reps and all(p >= need for p in ok_per))
    row = "| " + " | ".join([
        name, "—" if need is None else f"≥ {need:g}×", fx(r), rng,
        ", ".join(labels),
        f"{fmt(ma)} vs {fmt(mb)}", f"{fmt(ia, 2)} vs {fmt(ib, 2)}", v]) + " |"
    js = {"target": name, "numerator": a, "denominator": b, "required": need,
          "ratio_of_medians": r, "per_rep": per, "goodput_mbps": [ma, mb],
          "instr_s_per_gb": [ia, ib], "verdict": v.strip("*")}
    return row, js


def idle_row(d):
    base = d.baseline.get("idle_cores") or 0
    af = [r for r in d.scale if r.get("impl") == "afkcp" and r.get("status") != "na"
          and r.get("up")]
    name = "idle sessions on one listener: 1M at ≤ 3 KiB each, ≤ 1 % of a core"
    if not af:
        return f"| {name} | | not measured | | | | | n/a |", {"target": name, "verdict": "n/a"}
    big = max(af, key=lambda r: r["sessions"])
    kb = per_session(big, "kern_kib")
    idle = (big.get("idle_cores") or 0) - base
    within = kb is not None and kb <= 3072 and idle <= 0.01
    if big["sessions"] >= 1000000:
        v = verdict(within)
    else:
        # not shown at 1M is not met; say whether the bounds hold so far
        v = (f"{verdict(False)} (1M not measured; at {big['up']}: "
             f"{'within both bounds' if within else 'above a bound already'})")
    row = (f"| {name} | 1M, ≤ 3072 B, ≤ 1 % | {fmt(kb, 0)} B/session, {cpu_pct(idle)} % of a core "
           f"| one run | at {big['up']} sessions (baseline {fmt(base * 100, 1)} % subtracted) | | | {v} |")
    return row, {"target": name, "sessions": big["up"], "bytes_per_session": kb,
                 "idle_core_fraction": idle, "verdict": v.strip("*")}


def target_rows(d):
    rows, js = [], []
    for name, a, b, need in TARGETS:
        r, j = target_row(d, name, a, b, need)
        rows.append(r)
        js.append(j)
    r, j = idle_row(d)
    return rows + [r], js + [j]


def write_targets(d, outdir):
    rows, _ = target_rows(d)
    L = header(d, "AF_KCP benchmark targets (issue 16)")
    L += target_set_text(d)
    L += ["Ratios of the cells' median goodputs; the range is that of the ratios within each "
          "repetition (same repetition, both cells); a target is met only when every "
          "repetition meets it. CPU: median guest instructions (s) per GB delivered.", "",
          "| target | required | median | range | per repetition | goodput medians, Mbit/s "
          "| instructions s/GB | verdict |",
          "|---|---|---:|---:|---|---|---|---|"] + rows + [""]
    L += ["Idle sessions: the scale runs of `results.md` (one run, not repeated); CPU above "
          "the idle baseline.", ""]
    with open(os.path.join(outdir, "targets.md"), "w") as f:
        f.write("\n".join(L))


def plots_matplotlib(d, outdir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    made = []
    # the target set: median goodput and instructions per GB, min-max bars
    cs = [c for c in d.tcells if median(d.tvals(c)) is not None]
    if cs:
        fig, axes = plt.subplots(1, 2, figsize=(12, 0.45 * len(cs) + 1.5), sharey=True)
        y = list(range(len(cs)))[::-1]
        for ax, key, label in ((axes[0], "mbps", "goodput, Mbit/s (log)"),
                               (axes[1], "instr_gb", "guest instructions per GB, s (log)")):
            med = [median(d.tvals(c, key)) or 0 for c in cs]
            lo = [m - min(v for v in d.tvals(c, key) if v is not None) if m else 0
                  for m, c in zip(med, cs)]
            hi = [max(v for v in d.tvals(c, key) if v is not None) - m if m else 0
                  for m, c in zip(med, cs)]
            ax.barh(y, med, xerr=[lo, hi], capsize=3,
                    color=["tab:blue" if c.startswith("kcp") and not c.startswith("kcpgo")
                           else "tab:orange" if c.startswith("kcpgo") else "tab:gray"
                           for c in cs])
            ax.set_xscale("log")
            ax.set_xlabel(label)
            ax.grid(axis="x", alpha=0.3)
        axes[0].set_yticks(y)
        axes[0].set_yticklabels([NAMES.get(c, c).split(" (")[0] for c in cs], fontsize=8)
        fig.suptitle(f"target set: median of {d.reps} repetitions, bars = min-max", fontsize=10)
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, "targets.png"), dpi=90)
        plt.close(fig)
        made.append("targets.png")
    if d.profiles:
        # goodput: one panel per stream count, bars per contender, grouped by profile
        fig, axes = plt.subplots(2, 1, figsize=(11, 8))
        for ax, kind in zip(axes, ("bulk1", "bulk8")):
            cs = [c for c in d.contenders
                  if any(d.mbps(p, c, k) is not None for p in d.profiles for k in ("bulk1", "bulk8"))]
            w = 0.8 / max(len(cs), 1)
            for i, c in enumerate(cs):
                vals = [d.mbps(p, c, kind) or 0 for p in d.profiles]
                ax.bar([j + i * w for j in range(len(d.profiles))], vals, w, label=NAMES[c])
            ax.set_xticks([j + 0.4 - w / 2 for j in range(len(d.profiles))])
            ax.set_xticklabels([PROFILE_NAMES.get(p, p) for p in d.profiles], fontsize=8)
            ax.set_yscale("log")
            ax.set_ylabel("goodput, Mbit/s (log)")
            ax.set_title(f"goodput, {'1 stream' if kind == 'bulk1' else '8 streams'}")
            ax.grid(axis="y", alpha=0.3)
        axes[0].legend(fontsize=7, ncol=3)
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, "goodput.png"), dpi=90)
        plt.close(fig)
        made.append("goodput.png")
        # latency
        fig, axes = plt.subplots(1, len(d.profiles), figsize=(4 * len(d.profiles) + 1, 4.5),
                                 squeeze=False)
        for ax, prof in zip(axes[0], d.profiles):
            cs = [c for c in d.contenders if c != "udp" and d.p(prof, c, "p50_ms") is not None]
            for i, c in enumerate(cs):
                vals = [d.p(prof, c, k) for k in ("p50_ms", "p99_ms", "p999_ms")]
                vals = [v if v is not None and not math.isinf(v) else float("nan") for v in vals]
                ax.plot(["p50", "p99", "p999"], vals, marker="o", label=NAMES[c])
            ax.set_yscale("log")
            ax.set_title(PROFILE_NAMES.get(prof, prof), fontsize=9)
            ax.set_ylabel("ms (log)")
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, "latency.png"), dpi=90)
        plt.close(fig)
        made.append("latency.png")
    # scale
    rs = [r for r in d.scale if r.get("status") != "na" and r.get("up")]
    if rs:
        base = d.baseline.get("idle_cores") or 0
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for impl, name in (("afkcp", "AF_KCP"), ("kcpgo", "kcp-go")):
            sel = sorted((r for r in rs if r["impl"] == impl), key=lambda r: r["sessions"])
            if not sel:
                continue
            x = [r["sessions"] for r in sel]
            mem = [(per_session(r, "kern_kib") or 0) + max(per_session(r, "rss_kib") or 0, 0)
                   for r in sel]
            axes[0].plot(x, mem, marker="o", label=name)
            axes[1].plot(x, [max((r.get("idle_cores") or 0) - base, 1e-4) * 100 for r in sel],
                         marker="o", label=f"{name} idle")
            axes[1].plot(x, [max((r.get("active_cores") or 0) - base, 1e-4) * 100 for r in sel],
                         marker="s", linestyle="--", label=f"{name} 1 % active")
        axes[0].set_title("memory per session (kernel + server RSS)")
        axes[0].set_ylabel("bytes")
        axes[1].set_title("guest CPU (baseline subtracted)")
        axes[1].set_ylabel("% of one core (log)")
        axes[1].set_yscale("log")
        for ax in axes:
            ax.set_xscale("log")
            ax.set_xlabel("sessions")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, "scale.png"), dpi=90)
        plt.close(fig)
        made.append("scale.png")
    return made


def plots_gnuplot(d, outdir):
    made = []
    dat = os.path.join(outdir, "goodput.dat")
    with open(dat, "w") as f:
        f.write("profile " + " ".join(f'"{NAMES[c]}"' for c in d.contenders) + "\n")
        for p in d.profiles:
            f.write(p + " " + " ".join(str(d.mbps(p, c, "bulk1") or 0)
                                       for c in d.contenders) + "\n")
    script = (f'set terminal png size 1000,500; set output "{outdir}/goodput.png";'
              'set style data histograms; set style fill solid; set logscale y;'
              'set key outside; set ylabel "Mbit/s, 1 stream";'
              f'plot for [i=2:{len(d.contenders) + 1}] "{dat}" using i:xtic(1) title columnhead')
    if subprocess.run(["gnuplot", "-e", script]).returncode == 0:
        made.append("goodput.png")
    os.unlink(dat)
    return made


def main():
    outdir = sys.argv[1]
    recs = parse(os.path.join(outdir, "raw", "raw.txt"))
    host = {}
    hp = os.path.join(outdir, "host.txt")
    if os.path.exists(hp):
        with open(hp) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    host[k] = v
    d = Data(recs, host)
    plots = []
    try:
        plots = plots_matplotlib(d, outdir)
    except ImportError:
        if shutil.which("gnuplot"):
            plots = plots_gnuplot(d, outdir)
        else:
            print("report: no python3-matplotlib or gnuplot: no plots", file=sys.stderr)
    write_md(d, outdir, plots)
    write_targets(d, outdir)

    def clean(v):
        return None if isinstance(v, float) and math.isinf(v) else v

    js = {
        "host": host, "meta": d.meta, "end": d.end, "baseline": d.baseline,
        "profiles": {p: d.netem.get(p, "") for p in d.profiles},
        "bulk": [{k: clean(v) for k, v in r.items()} for (p, c, kind), r in d.cells.items()
                 if kind != "rr"],
        "rr": [{k: clean(v) for k, v in r.items()} for (p, c, kind), r in d.cells.items()
               if kind == "rr"],
        "scale": d.scale,
        "crypto": d.crypto,
        "targets": {
            "cells": {c: [d.trep(c, r) for r in range(1, d.reps + 1)] for c in d.tcells},
            "xfer": d.xfers, "udp_steps": d.udprates, "rows": target_rows(d)[1],
        },
        "note": "goodput_kbps in kbit/s; p*_ms null = lost (infinite); "
                "scale *_kib are deltas over all sessions, *_cores busy cores; "
                "targets: mbps per repetition, instr_gb = guest instructions (s, 1e9) per GB, "
                "busy_gb = /proc/stat busy s per GB",
    }
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(js, f, indent=1, sort_keys=True)
    print(f"report: {outdir}/results.md, targets.md, results.json"
          + (", " + ", ".join(plots) if plots else ""))


if __name__ == "__main__":
    main()
