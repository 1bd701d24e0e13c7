#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: AF_KCP against kcp-go, TCP (cubic, bbr) and UDP, in one QEMU
# guest boot under the instruction-count clock: the issue's target set
# (size-bounded transfers on a clean link, repeated and interleaved, with
# the guest CPU per GB), then bulk goodput (1 and 8 streams) and paced
# request/response latency under netem, and memory/CPU of many idle
# sessions.
#
#   selftests/bench/bench.sh
#
# Environment:
#   BENCH=quick|full      quick: fewer and smaller target cells, one netem
#                         profile, 1K sessions (<= 15 min); full (default):
#                         every target cell, 4 profiles, 1K/10K/100K
#                         sessions (about an hour)
#   BENCH_ICOUNT=1        0: plain TCG (guest time = host time, parallel
#                         vCPUs, host load shows) instead of run-vm.sh
#                         --icount (guest time = instructions)
#   BENCH_KERNEL=6.12     guest kernel (run-vm.sh --kernel), e.g. 6.1
#   BENCH_MEM=MB          guest memory (default 1024 quick, 6144 full)
#   BENCH_OUT=DIR         output directory (default results/bench-<date>[-quick])
#   BENCH_CELLS, BENCH_XFER, BENCH_REPS, BENCH_XFER_TIMEOUT,
#   BENCH_UDP_RATE0, BENCH_PROFILES, BENCH_CONTENDERS, BENCH_TIME,
#   BENCH_RR, BENCH_SCALE, BENCH_HOLD, BENCH_ACTIVE_RATE,
#   BENCH_SKIP_TARGETS, BENCH_SKIP_NET, BENCH_SKIP_SCALE
#                         passed to the guest (see inguest.sh)
#
# Output: DIR/results.md, results.json, targets.md, *.png, host.txt, and
# DIR/raw/ (raw.txt: every record; logs/: every tool's output). Needs the
# module for the guest kernel and the tools: 'make modules' and
# selftests/bench/build.sh (run here) - 'make bench' does both.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
BENCH=${BENCH:-full}
KERNEL=${BENCH_KERNEL:-6.12}
ICOUNT=${BENCH_ICOUNT:-1}
T0=$EPOCHSECONDS

msg() {
	printf 'bench: %s\n' "$*" >&2
}

case $BENCH in
quick) mem=${BENCH_MEM:-1024} timeout=1800 ;;
full) mem=${BENCH_MEM:-6144} timeout=7200 ;;
*)
	msg "BENCH must be quick or full"
	exit 2
	;;
esac

# Plots want python3-matplotlib (or gnuplot); install one if neither is
# there. The report itself needs only python3.
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
if ! "$PY" -c 'import matplotlib' 2>/dev/null && ! command -v gnuplot >/dev/null; then
	msg "installing python3-matplotlib for the plots"
	if ! apt-get install -y -q python3-matplotlib >/dev/null 2>&1; then
		apt-get update -q >/dev/null 2>&1 || true
		apt-get install -y -q python3-matplotlib >/dev/null 2>&1 ||
			apt-get install -y -q gnuplot-nox >/dev/null 2>&1 ||
			msg "no plotting package could be installed: no plots"
	fi
fi

kver=$(selftests/vm/run-vm.sh --kernel "$KERNEL" --print-kernel)
ko=$TOP/build/$kver/kmod/kcp.ko
# the tree the module and tools are built from: commits made while the
# run goes on do not change what it measures
commit=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)
make -s -C "$TOP" "$ko" >/dev/null
selftests/bench/build.sh

out=${BENCH_OUT:-$TOP/selftests/bench/results/bench-$(date +%F)}
[[ $BENCH == quick && -z ${BENCH_OUT:-} ]] && out+=-quick
if [[ -e $out && -z ${BENCH_OUT:-} ]]; then
	n=2
	while [[ -e $out.$n ]]; do
		n=$((n + 1))
	done
	out=$out.$n
fi
mkdir -p "$out/raw"
out=$(cd "$out" && pwd)

envs=(--env "BENCH=$BENCH" --env "BENCH_ICOUNT=$ICOUNT")
for v in BENCH_CELLS BENCH_XFER BENCH_REPS BENCH_XFER_TIMEOUT \
	BENCH_UDP_RATE0 BENCH_PROFILES BENCH_CONTENDERS BENCH_TIME BENCH_RR \
	BENCH_SCALE BENCH_HOLD BENCH_ACTIVE_RATE; do
	[[ -n ${!v:-} ]] && envs+=(--env "$v=${!v}")
done
# Under the instruction-count clock guest time is guest instructions (1 ns
# each, idle skipped): goodput is bytes per instruction, whatever else the
# host runs. The vCPUs then take turns on one host thread, so a second
# vCPU adds no instructions per second: efficiency shows, parallelism not.
icount=()
[[ $ICOUNT == 0 ]] || icount=(--icount)

# Without --icount, other guests or builds on this host skew every number
# (TCG is CPU-bound): note them, and the load, before and after.
others() {
	pgrep -c '^qemu-system' || true
}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
others0=$(others)
if ((others0 > 0)) && [[ $ICOUNT == 0 ]]; then
	msg "warning: $others0 other QEMU process(es) running: the numbers will be noisy"
fi
msg "BENCH=$BENCH on $kver, ${mem} MiB guest${icount:+, icount}, results in ${out#"$TOP"/}"

# One guest boot per phase: the target set, the netem cells, the scale
# runs. QEMU 7.2's TCG under icount has crashed guests now and then (user
# RFLAGS with reserved bits set, then a #DB or a double fault in the
# kernel, during UDP sends, see README.md), so a phase whose guest died
# that way runs once more, from its start; the failed attempt's records
# stay in raw/PHASE.failed and host.txt says so.
declare -A skip=([targets]=${BENCH_SKIP_TARGETS:-0} [net]=${BENCH_SKIP_NET:-0}
	[scale]=${BENCH_SKIP_SCALE:-0})
phases=()
rc=0
for ph in targets net scale; do
	[[ ${skip[$ph]} == 1 ]] && continue
	penv=()
	for p in targets net scale; do
		[[ $p == "$ph" ]] || penv+=(--env "BENCH_SKIP_${p^^}=1")
	done
	for attempt in 1 2; do
		prc=0
		rm -rf "$out/raw/$ph"
		mkdir -p "$out/raw/$ph"
		msg "phase $ph, attempt $attempt"
		selftests/vm/run-vm.sh --kernel "$KERNEL" --mem "$mem" --smp 2 \
			"${icount[@]}" --timeout "$timeout" --results "$out/raw/$ph" \
			--log "$out/raw/serial-$ph.log" --insmod "$ko" "${envs[@]}" \
			"${penv[@]}" -- selftests/bench/inguest.sh || prc=$?
		# 122: a kernel problem in the serial log, 123: no exit status
		if [[ $prc != 122 && $prc != 123 ]] || ((attempt == 2)); then
			break
		fi
		why=$(grep -a -m1 -E 'WARNING:|BUG:|Oops|Kernel panic' \
			"$out/raw/serial-$ph.log" | tr -s ' \t' ' ') || why=
		msg "phase $ph: the guest died ($prc: ${why:-no exit status}); once more"
		phases+=("phase_${ph}_attempt1=exited $prc: ${why:-no exit status}")
		rm -rf "$out/raw/$ph.failed"
		mv "$out/raw/$ph" "$out/raw/$ph.failed"
		mv "$out/raw/serial-$ph.log" "$out/raw/serial-$ph.failed.log"
	done
	phases+=("phase_$ph=exited $prc")
	if [[ $prc != 0 ]]; then
		msg "phase $ph: the VM run exited $prc (see $out/raw/serial-$ph.log)"
		rc=$prc
	fi
done
# one record file for the report, the phases in order
for ph in targets net scale; do
	[[ -f $out/raw/$ph/raw.txt ]] && cat "$out/raw/$ph/raw.txt"
done >"$out/raw/raw.txt"

host_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
	echo "date=$(date -u '+%F %H:%M UTC')"
	echo "host_cpu=${host_cpu:-unknown}"
	echo "host_cpus=$(nproc)"
	echo "host_kernel=$(uname -r)"
	echo "commit=$commit"
	echo "wall_s=$((EPOCHSECONDS - T0))"
	echo "icount=$ICOUNT"
	# the crypto drivers the guest loaded and uses (inguest.sh load_crypto)
	sed -n '/^REC kind=crypto /{s//guest_crypto=/p;q}' "$out/raw/raw.txt"
	echo "vm_rc=$rc"
	((${#phases[@]} == 0)) || printf '%s\n' "${phases[@]}"
	echo "host_load_before=$load0"
	echo "host_load_after=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "other_qemu_before=$others0"
} >"$out/host.txt"
if [[ -s $out/raw/raw.txt ]]; then
	"$PY" selftests/bench/report.py "$out"
else
	msg "no records: nothing to report"
	exit 1
fi
msg "done in $((EPOCHSECONDS - T0)) s: ${out#"$TOP"/}/results.md, targets.md"
exit "$rc"
