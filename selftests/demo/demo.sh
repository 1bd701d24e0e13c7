#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: AF_KCP against TCP (and the userspace kcp-go) on a clean and
# on a slow, lossy link, in one QEMU (TCG) guest boot. The guest half is
# selftests/demo/inguest.sh: two network namespaces joined by veth; the
# same random file over TCP, AF_KCP and kcp-go, first on the clean link,
# then with 20 ms delay and 5 % loss each way; then paced 64-byte
# request/response over TCP and AF_KCP (also in kcptun's fast3 mode);
# bytes, times, goodput, SHA-256 checks, latency percentiles and a
# summary. Takes about 3 minutes.
#
#   selftests/demo/demo.sh
#
# Environment:
#   DEMO_KERNEL=6.12      guest kernel (run-vm.sh --kernel), e.g. 6.1
#   DEMO_SIZE_MIB=8       size of the file
#   DEMO_MODE=fast        kcptun mode for AF_KCP and kcp-go: normal, fast,
#                         fast2, fast3
#   DEMO_CLEAN=1          0: skip the clean link
#   DEMO_KCPGO=1          0: skip kcp-go
#   DEMO_RR=300           request/response exchanges per protocol
#   DEMO_RR_GAP=10        ms between them
#   DEMO_MODULE=PATH      this kcp.ko instead of build/<release>/kmod/kcp.ko
#   DEMO_NO_BUILD=1       do not run make (use what is built)
#
# Builds (make, a no-op when up to date) the module for the guest kernel,
# build/net/kcpt and build/peers/kcppeer, then boots the VM. Logs go to
# build/demo/: run-vm.log (the harness and the build), serial.log (the
# guest's console), results/guest/ (every tool's output in the guest).
# Exit status: 0 if every transfer arrived complete with the source's
# SHA-256 and both latency runs completed; non-zero otherwise.

set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP" || exit 1
KERNEL=${DEMO_KERNEL:-6.12}
OUT=$TOP/build/demo
HLOG=$OUT/run-vm.log
T0=$EPOCHSECONDS

mkdir -p "$OUT" || exit 1
: >"$HLOG"

step() {
	local s=$((EPOCHSECONDS - T0))

	printf '[%d:%02d] %s\n' $((s / 60)) $((s % 60)) "$*"
}

# The end of a host log, indented.
show_tail() {
	[[ -s $1 ]] || return 0
	printf '       --- last lines of %s ---\n' "${1#"$TOP"/}"
	tail -n "${2:-20}" -- "$1" | sed 's/^/       | /'
}

# The guest's console, minus kernel messages ("[  12.345678] ..."): they
# stay in the serial log.
no_kernel_lines() {
	local line re='^\[ *[0-9]+\.[0-9]+\]'

	while IFS= read -r line; do
		[[ $line =~ $re ]] || printf '%s\n' "$line"
	done
}

DEMO_SIZE_MIB=${DEMO_SIZE_MIB:-8}
DEMO_RR=${DEMO_RR:-300}
DEMO_RR_GAP=${DEMO_RR_GAP:-10}
DEMO_MODE=${DEMO_MODE:-fast}
DEMO_CLEAN=${DEMO_CLEAN:-1}
DEMO_KCPGO=${DEMO_KCPGO:-1}
for v in DEMO_SIZE_MIB DEMO_RR DEMO_RR_GAP; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
		echo "demo: $v must be a positive integer" >&2
		exit 2
	fi
done
case $DEMO_MODE in
normal) nd="nodelay 0, interval 40 ms, resend 2, nc 1" ;;
fast) nd="nodelay 0, interval 30 ms, resend 2, nc 1" ;;
fast2) nd="nodelay 1, interval 20 ms, resend 2, nc 1" ;;
fast3) nd="nodelay 1, interval 10 ms, resend 2, nc 1" ;;
*)
	echo "demo: DEMO_MODE must be normal, fast, fast2 or fast3" >&2
	exit 2
	;;
esac

links="on a clean link, then on a slow and lossy one"
[[ $DEMO_CLEAN == 0 ]] && links="on a slow and lossy link"
rr="TCP and AF_KCP"
[[ $DEMO_MODE != fast3 ]] &&
	rr+=$'\n'"(in \"$DEMO_MODE\" mode, and in kcptun's lowest-latency mode fast3: nodelay 1,"$'\n'"interval 10 ms)"
kgo=
[[ $DEMO_KCPGO != 0 ]] &&
	kgo=$'\n  - kcp-go (the userspace Go library that kcptun uses), for reference,'
cat <<TEXT
AF_KCP demo: KCP (the ARQ protocol of kcptun) as a Linux socket family,
compared with TCP $links.

Inside a virtual machine, two network namespaces are joined by a virtual
Ethernet cable. The same ${DEMO_SIZE_MIB} MiB file is sent from one to the other over
  - TCP (the guest kernel's),
  - AF_KCP (this project's kernel module: socket(AF_KCP, SOCK_STREAM, 0)),$kgo
and every copy is checked against the source with SHA-256.
The lossy link delays every packet by 20 ms and drops 5 % of them, in each
direction (40 ms round trip). Then $DEMO_RR small request/response messages go
over $rr on the lossy link, to compare interactive latency.

KCP settings (AF_KCP and kcp-go alike): kcptun's "$DEMO_MODE" mode, that is
$nd (nc 1: no congestion window),
send and receive windows of 1024 segments, MTU 1350, stream mode.

The VM runs under QEMU software emulation (no KVM): absolute speeds are low,
compare the rows with each other.

TEXT

kver=$(selftests/vm/run-vm.sh --kernel "$KERNEL" --print-kernel 2>>"$HLOG")
if [[ -z $kver ]]; then
	step "No installed kernel matches DEMO_KERNEL=$KERNEL (see /boot; 'make deps')."
	show_tail "$HLOG"
	exit 1
fi
ko=${DEMO_MODULE:-$TOP/build/$kver/kmod/kcp.ko}
kcpt=$TOP/build/net/kcpt
kcppeer=$TOP/build/peers/kcppeer

targets=("$kcpt")
[[ -n ${DEMO_MODULE:-} ]] || targets+=("$ko")
[[ $DEMO_KCPGO == 0 ]] || targets+=("$kcppeer")
if [[ ${DEMO_NO_BUILD:-0} == 0 ]]; then
	step "Building the kcp module for $kver and the test tools (make)..."
	if ! make -s -j"$(nproc)" -C "$TOP" "${targets[@]}" >>"$HLOG" 2>&1; then
		step "The build failed."
		show_tail "$HLOG"
		exit 1
	fi
fi
for f in "${targets[@]}"; do
	if [[ ! -f $f ]]; then
		step "$f is missing."
		exit 1
	fi
done

envs=(--env "DEMO_T0=$T0" --env "DEMO_SIZE_MIB=$DEMO_SIZE_MIB"
	--env "DEMO_RR=$DEMO_RR" --env "DEMO_RR_GAP=$DEMO_RR_GAP"
	--env "DEMO_MODE=$DEMO_MODE" --env "DEMO_CLEAN=$DEMO_CLEAN"
	--env "DEMO_KCPGO=$DEMO_KCPGO" --env "KCPT=$kcpt"
	--env "KCPPEER=$kcppeer")
step "Booting a VM with kernel $kver (2 vCPUs, about 20-30 s)..."
selftests/vm/run-vm.sh --kernel "$kver" --smp 2 --mem 1024 --timeout 600 \
	--log "$OUT/serial.log" --results "$OUT/results" --insmod "$ko" \
	"${envs[@]}" -- selftests/demo/inguest.sh 2>>"$HLOG" | no_kernel_lines
rc=${PIPESTATUS[0]}

boot=$(sed -n 's/.*command exited [0-9]* (boot \([0-9.]*\)s,.*/\1/p' "$HLOG" | tail -n 1)
s=$((EPOCHSECONDS - T0))
case $rc in
0)
	step "All good. Wall time $((s / 60)) min $((s % 60)) s${boot:+ (VM boot ${boot} s)}."
	echo "Logs: build/demo/ (the tools' output in the guest: build/demo/results/guest/)."
	;;
122)
	step "The guest kernel logged a problem (WARNING/BUG/...) during the demo:"
	show_tail "$HLOG" 40
	echo "Full console: build/demo/serial.log"
	;;
123 | 124 | 125)
	step "The VM run failed (run-vm.sh exit $rc):"
	show_tail "$HLOG"
	show_tail "$OUT/serial.log"
	;;
*)
	step "The demo FAILED (exit $rc), wall time $((s / 60)) min $((s % 60)) s."
	echo "Logs: build/demo/run-vm.log, build/demo/serial.log, build/demo/results/guest/"
	;;
esac
exit "$rc"
