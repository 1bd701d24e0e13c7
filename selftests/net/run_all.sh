#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every in-VM suite, in one guest boot. Each suite prints TAP after a
# "# suite NAME" line; the host counts the results (selftests/check.sh).
# The module is already inserted by the harness; KCP_MODULE names it so
# the lifecycle and modload suites can remove and re-insert it. Last,
# since they unload.
#   run_all.sh [quick] [SUITE...]

cd "$(dirname "$0")/../.." || exit 1
quick=
[ "${1:-}" = quick ] && { quick=quick; shift; }
want=" $* "
rc=0

run() {
	local name=$1
	shift
	if [ "$want" != "  " ] && [[ $want != *" $name "* ]]; then
		return
	fi
	echo "# suite $name"
	"$@" || rc=1
}

# Keep netfilter's input and output hook keys enabled for the whole boot.
# The session and hostile suites add and remove nft base chains, and each
# first add or last removal re-patches a jump label in ip_local_deliver()
# and ip_local_out() while the other vCPU runs through it. Under QEMU 7.2
# TCG that left both vCPUs spinning on that one instruction for good (the
# same skb in every soft-lockup sample for 900 s, RIP on the nf_hooks_needed
# NOP); a 6.12 boot died of the same race on a timer tracepoint. A base
# chain that stays registered in this namespace keeps those keys from
# flipping; packets in the test namespaces never traverse it.
if command -v nft >/dev/null; then
	nft -f - <<-EOF || echo "# could not pin the netfilter hook keys"
		table inet kcp_vm_pin {
			chain in { type filter hook input priority 0; }
			chain out { type filter hook output priority 0; }
		}
	EOF
fi

run sock build/net/kcp_sock
run k2k selftests/net/k2k.sh $quick
run interop selftests/net/interop.sh $quick
run fec_crypto selftests/net/fec_crypto.sh $quick
run badinput selftests/net/badinput.sh
run tunnel selftests/net/tunnel.sh $quick
run kcpctl selftests/net/kcpctl_test.sh
run langs selftests/net/langs.sh $quick
run options selftests/net/options.sh $quick
run attack selftests/net/attack.sh $quick
run hostile selftests/net/hostile.sh $quick
run races selftests/net/races.sh $quick
run session selftests/net/session.sh $quick
run lifecycle selftests/net/lifecycle.sh
run modload selftests/net/modload.sh
exit $rc
