# SPDX-License-Identifier: GPL-2.0
#
# TAP for the shell scripts of selftests/, as lib/tap.h is for C: every
# result numbered in order, the plan last. Sourced by net/lib.sh (the
# in-VM suites), peers/selftest.sh, vm/selftest.sh, debug.sh, kernels.sh.
# TAP_PREFIX, if set, goes before every name.

tap_n=0
tap_fail=0

ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - ${TAP_PREFIX:-}$*"
}

not_ok() {
	tap_n=$((tap_n + 1))
	tap_fail=$((tap_fail + 1))
	echo "not ok $tap_n - ${TAP_PREFIX:-}$*"
}

skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - ${TAP_PREFIX:-}$1 # SKIP $2"
}

diag() {
	echo "# $*"
}

# tap_quote FILE...: the files' lines as TAP comments
tap_quote() {
	sed 's/^/# /' "$@"
}

# The plan; true if nothing failed.
tap_end() {
	echo "1..$tap_n"
	[ "$tap_fail" -eq 0 ]
}
