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
