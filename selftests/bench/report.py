#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# Turn the REC lines of selftests/bench/inguest.sh (DIR/raw/raw.txt) into
# DIR/results.json (every number), DIR/results.md (tables), DIR/targets.md
# (the targets, met or not, with the measured ratio) and PNG plots
# (python3-matplotlib; gnuplot as a fallback; none if neither is there).
#
#   report.py DIR        DIR/host.txt: "key=value" lines from bench.sh

import json
import math
import os
import shutil
import subprocess
import sys

NAMES = {
    "kcp": "AF_KCP",
    "kcp_sockbuf": "AF_KCP 4 MiB sockbuf",
    "kcp_fec": "AF_KCP FEC 10/3",
    "kcp_aes_fec": "AF_KCP aes+FEC 10/3",
    "kcpgo": "kcp-go",
    "kcpgo_fec": "kcp-go FEC 10/3",
    "kcpgo_aes_fec": "kcp-go aes+FEC 10/3",
    "tcp_cubic": "TCP cubic",
    "tcp_bbr": "TCP bbr",
    "udp": "raw UDP blast",
}
ORDER = list(NAMES)
PROFILE_NAMES = {
    "clean": "clean (no netem)",
    "rtt20_loss1": "20 ms RTT, 1 % loss",
    "rtt40_loss5": "40 ms RTT, 5 % loss",
    "rtt100_loss10_reorder": "100 ms RTT, 10 % loss, reordering",
}
# the kcp-go twin of each AF_KCP contender
GO_TWIN = {"kcp": "kcpgo", "kcp_sockbuf": "kcpgo", "kcp_fec": "kcpgo_fec", "kcp_aes_fec": "kcpgo_aes_fec"}


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
        self.profiles = [r["name"] for r in recs if r.get("kind") == "profile"]
        self.netem = {r["name"]: (r.get("netem") or "").replace("_", " ")
                      for r in recs if r.get("kind") == "profile"}
        self.cells = {}
        for r in recs:
            if r.get("kind") in ("bulk1", "bulk8", "rr"):
                self.cells[(r["profile"], r["contender"], r["kind"])] = r
        self.scale = [r for r in recs if r.get("kind") == "scale"]
        self.contenders = [c for c in ORDER
                           if any(k[1] == c for k in self.cells)]

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
    """% of a core above the baseline; noise below it shows as <= 0.1"""
    return "≤ 0.1" if cores * 100 < 0.1 else fmt(cores * 100, 1)


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
    lines = [f"# {title}", "",
             f"- date: {h.get('date', '?')}; mode: `BENCH={m.get('bench')}`; "
             f"wall time: {h.get('wall_s', d.end.get('wall_s', '?'))} s "
             f"(in the guest: {d.end.get('wall_s', '?')} s)",
             f"- guest kernel: {m.get('kernel')} (QEMU TCG, {m.get('guest_cpus')} vCPUs, "
             f"{int(m.get('guest_mem_kib', 0)) // 1024} MiB); module commit {h.get('commit', '?')}",
             f"- host CPU: {h.get('host_cpu', '?')} ({h.get('host_cpus', '?')} CPUs); "
             f"host load average before/after: {h.get('host_load_before', '?')} / "
             f"{h.get('host_load_after', '?')}; other QEMU processes at the start: "
             f"{h.get('other_qemu_before', '?')}",
             "- everything runs under TCG emulation, CPU-bound: absolute numbers mean little, "
             "ratios within this one VM run are what counts",
             ""]
    return lines


def settings(d):
    m = d.meta
    return [
        "## Settings", "",
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
        f"- raw UDP blast: {m.get('udp_size')}-byte datagrams sent with sendmmsg() as fast as "
        "the sender can (not paced); the receiver (4 MiB SO_RCVBUF) counts the UDP payload "
        "that reaches it: the ceiling of the link in this VM.",
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
        f"to after; CPU from /proc/stat over {m.get('hold_s')} s, minus the idle baseline "
        f"({fmt((d.baseline.get('idle_cores') or 0) * 100, 1)} % of a core); 1 % active = "
        f"1 % of the sessions each send a 64-byte message {m.get('active_rate')} times a "
        "second, echoed.",
        "",
    ]


def write_md(d, outdir, plots):
    L = header(d, "AF_KCP benchmarks")
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
    L += ["Tool outputs (KINFO lines: KCP_INFO/TCP_INFO per session) are in `raw/logs/`; "
          "`raw/raw.txt` has every record.", ""]
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(L))


def verdict(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def write_targets(d, outdir):
    rows = []

    def add(name, ok, measured):
        rows.append(f"| {name} | {verdict(ok)} | {measured} |")

    # clean bulk; AF_KCP as is, and with kcptun's --sockbuf if measured
    variants = [c for c in ("kcp", "kcp_sockbuf") if c in d.contenders]
    for c in variants:
        tag = "AF_KCP" if c == "kcp" else NAMES[c]
        for kind, label in (("bulk1", "1 stream"), ("bulk8", "8 streams")):
            k = d.mbps("clean", c, kind)
            g = d.mbps("clean", "kcpgo", kind)
            r = ratio(k, g)
            add(f"clean, {label}: {tag} ≥ 3× kcp-go", None if r is None else r >= 3,
                f"{fx(r)} ({fmt(k)} vs {fmt(g)} Mbit/s)")
            t, tn = d.best_tcp("clean", kind)
            r = ratio(k, t)
            add(f"clean, {label}: {tag} ≥ 0.5× TCP", None if r is None else r >= 0.5,
                f"{fx(r)} ({fmt(k)} vs {fmt(t)} Mbit/s, {NAMES.get(tn, 'TCP')}, the better TCP)")
            # the ceiling: the best UDP payload rate delivered, 1 or 8 senders
            us = [v for v in (d.mbps("clean", "udp", "bulk1"), d.mbps("clean", "udp", "bulk8"))
                  if v is not None]
            u = max(us) if us else None
            r = ratio(k, u)
            add(f"clean, {label}: {tag} ≥ 0.7× raw UDP", None if r is None else r >= 0.7,
                f"{fx(r)} ({fmt(k)} vs {fmt(u)} Mbit/s, the best raw UDP blast, 1 or 8 senders)")
    # 40 ms / 5 %
    prof = "rtt40_loss5"
    for c in variants:
        tag = "AF_KCP" if c == "kcp" else NAMES[c]
        for kind, label in (("bulk1", "1 stream"), ("bulk8", "8 streams")):
            k = d.mbps(prof, c, kind)
            t, tn = d.best_tcp(prof, kind)
            r = ratio(k, t)
            add(f"40 ms/5 %, {label}: {tag} goodput ≥ 3× TCP", None if r is None else r >= 3,
                f"{fx(r)} ({fmt(k)} vs {fmt(t)} Mbit/s, {NAMES.get(tn, 'TCP')}, the better TCP)")
    k99 = d.p(prof, "kcp", "p99_ms")
    t99, tn = d.best_tcp_p99(prof)
    r = ratio(k99, t99)
    add("40 ms/5 %: rr p99 ≤ 1/3 of TCP's", None if r is None else r <= 1 / 3,
        f"{fx(r)} ({fmt(k99, 2)} vs {fmt(t99, 2)} ms, {NAMES.get(tn, 'TCP')}, the better TCP)")
    g99 = d.p(prof, "kcpgo", "p99_ms")
    r = ratio(k99, g99)
    add("40 ms/5 %: rr p99 ≤ kcp-go's", None if r is None else r <= 1,
        f"{fx(r)} ({fmt(k99, 2)} vs {fmt(g99, 2)} ms)")
    # scale
    base = d.baseline.get("idle_cores") or 0
    af = [r for r in d.scale if r.get("impl") == "afkcp" and r.get("status") != "na"
          and r.get("up")]
    big = max(af, key=lambda r: r["sessions"]) if af else None
    if big:
        note = "" if big["sessions"] >= 100000 else \
            f" — measured at {big['sessions']} sessions, not 100K"
        idle = (big.get("idle_cores") or 0) - base
        add("100K idle sessions ≤ 2 % of one core",
            (idle <= 0.02) if big["sessions"] >= 100000 else None,
            f"{cpu_pct(idle)} % of a core at {big['up']} sessions "
            f"(baseline {fmt(base * 100, 1)} % subtracted){note}")
        kb = per_session(big, "kern_kib")
        add("100K idle sessions ≤ 4 KiB per session",
            (kb <= 4096) if big["sessions"] >= 100000 else None,
            f"{fmt(kb, 0)} B/session kernel memory at {big['up']} sessions{note}")
    else:
        add("100K idle sessions ≤ 2 % of one core", None, "not measured")
        add("100K idle sessions ≤ 4 KiB per session", None, "not measured")
    # FEC + aes cost
    for kind, label in (("bulk1", "1 stream"), ("bulk8", "8 streams")):
        for prof in ("clean",):
            p = d.mbps(prof, "kcp", kind)
            fa = d.mbps(prof, "kcp_aes_fec", kind)
            r = ratio(fa, p)
            st = d.status(prof, "kcp_aes_fec", kind)
            add(f"{prof}, {label}: FEC 10/3 + aes costs ≤ 30 % of plain goodput",
                None if r is None else r >= 0.7,
                f"{fx(r)} of plain ({fmt(fa)} vs {fmt(p)} Mbit/s)" if r is not None
                else f"AF_KCP aes+FEC {st}: KCP_FEC/KCP_CRYPTO not supported by the module yet")
    L = header(d, "AF_KCP benchmark targets")
    L += ["Evaluated from `results.json` of this run (ratios within one VM run; TCG). "
          "\"the better TCP\" = cubic or bbr, whichever is better on that measure, so a "
          "target against TCP is checked against the harder one.", "",
          "| target | verdict | measured |", "|---|---|---|"] + rows + [""]
    with open(os.path.join(outdir, "targets.md"), "w") as f:
        f.write("\n".join(L))


def plots_matplotlib(d, outdir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    made = []
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
        "note": "goodput_kbps in kbit/s; p*_ms null = lost (infinite); "
                "scale *_kib are deltas over all sessions, *_cores busy cores",
    }
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(js, f, indent=1, sort_keys=True)
    print(f"report: {outdir}/results.md, targets.md, results.json"
          + (", " + ", ".join(plots) if plots else ""))


if __name__ == "__main__":
    main()
