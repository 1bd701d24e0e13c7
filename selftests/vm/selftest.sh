#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Self-test of the VM harness (run-vm.sh) on one kernel; prints TAP.
#
#   selftests/vm/selftest.sh [--kernel K] [--vmlinuz PATH] [--modroot DIR]
#
# Builds the WARN-on-load test module (warnmod/) into build/vm/warnmod-<kver>
# and checks that a plain run passes, that the exit status, environment,
# results share and network namespaces work, that a kernel WARN fails the run
# with the WARNING line quoted, and that --timeout kills the guest. Runs for
# different kernels may go on concurrently.

set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
TOP=$(cd "$HERE/../.." && pwd -P)
RUNVM=$HERE/run-vm.sh
readonly HERE TOP RUNVM

kopts=()
while (($#)); do
	case $1 in
	--kernel | --vmlinuz | --modroot)
		(($# >= 2)) || { echo "selftest: $1 needs an argument" >&2; exit 2; }
		kopts+=("$1" "$2")
		shift 2
		;;
	-h | --help)
		sed -n '4,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
		exit 0
		;;
	*)
		echo "selftest: unknown option $1" >&2
		exit 2
		;;
	esac
done

KVER=$("$RUNVM" "${kopts[@]}" --print-kernel)
OUT=$TOP/build/vm/selftest-$KVER
WARNMOD=$TOP/build/vm/warnmod-$KVER
rm -rf "$OUT"
mkdir -p "$OUT/results"

# Kernel build tree for the test module.
kdir=${KDIR:-}
if [[ -z $kdir ]]; then
	root=/
	for ((i = 0; i < ${#kopts[@]}; i += 2)); do
		[[ ${kopts[i]} != --modroot ]] || root=${kopts[i + 1]}
	done
	for kdir in "${root%/}/lib/modules/$KVER/build" "${root%/}/usr/lib/modules/$KVER/build"; do
		[[ ! -d $kdir ]] || break
	done
fi

# shellcheck source=selftests/lib/tap.sh
. "$TOP/selftests/lib/tap.sh"
TAP_PREFIX="$KVER: "

# not_ok_log NAME [FILE]: not ok, with FILE (if there is one) quoted
not_ok_log() {
	not_ok "$1"
	if [[ -n ${2:-} && -f $2 ]]; then
		tap_quote "$2"
	fi
}

# vm NAME RUN-VM-ARGS...: run the harness, output to $OUT/NAME.out, status
# in $rc, serial log in $OUT/NAME.log.
vm() {
	local name=$1

	shift
	rc=0
	"$RUNVM" "${kopts[@]}" --results "$OUT/results" --log "$OUT/$name.log" \
		"$@" >"$OUT/$name.out" 2>&1 || rc=$?
	echo "rc=$rc" >>"$OUT/$name.out"
}

echo "1..5"

if make -s -C "$HERE/warnmod" KVER="$KVER" KDIR="$kdir" OUTDIR="$WARNMOD" \
	>"$OUT/build.out" 2>&1 && [[ -f $WARNMOD/kcp_warn_test.ko ]]; then
	ok "build warnmod"
else
	not_ok_log "build warnmod" "$OUT/build.out"
fi

vm plain -- true
if ((rc == 0)); then
	ok "plain 'true' run passes"
else
	not_ok_log "plain 'true' run passes (exit $rc)" "$OUT/plain.out"
fi

# shellcheck disable=SC2016 # expanded in the guest
vm status -- sh -c '
	test "$KCP_KVER" = "$1" || { echo "KCP_KVER=$KCP_KVER"; exit 1; }
	test "$(pwd -P)" = "$2" || { echo "cwd $(pwd -P)"; exit 1; }
	grep -q "^udp_tunnel " /proc/modules || exit 1
	grep -q "^reed_solomon " /proc/modules || exit 1
	ip netns add t && ip netns exec t ip link set lo up || exit 1
	echo ok >"$KCP_RESULTS/probe"
	exit 3' sh "$KVER" "$(pwd -P)"
if ((rc == 3)) && [[ $(cat "$OUT/results/probe" 2>/dev/null) == ok ]]; then
	ok "exit status 3, environment, deps, netns and results share"
else
	not_ok_log "exit status 3, environment, deps, netns and results share (exit $rc)" \
		"$OUT/status.out"
fi

if [[ -f $WARNMOD/kcp_warn_test.ko ]]; then
	vm warn --insmod "$WARNMOD/kcp_warn_test.ko" -- true
	if ((rc != 0 && rc != 124)) &&
		grep -q 'kernel problem' "$OUT/warn.out" &&
		grep -q 'WARNING: .*kcp_warn_test' "$OUT/warn.out"; then
		ok "WARN in a module fails the run, WARNING line quoted (exit $rc)"
	else
		not_ok_log "WARN in a module fails the run, WARNING line quoted (exit $rc)" \
			"$OUT/warn.out"
	fi
else
	not_ok "WARN in a module fails the run (no module built)"
fi

vm timeout --timeout 5 -- sleep 600
if ((rc == 124)); then
	ok "--timeout kills the guest, exit 124"
else
	not_ok_log "--timeout kills the guest, exit 124 (exit $rc)" "$OUT/timeout.out"
fi

echo "# $KVER: $((tap_n - tap_fail)) passed, $tap_fail failed"
((tap_fail == 0))
