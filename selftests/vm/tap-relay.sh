# SPDX-License-Identifier: GPL-2.0
#
# Sourced by selftests/debug.sh and selftests/kernels.sh, which run the VM
# suite (selftests/net/run_all.sh under run-vm.sh) on other kernels: the
# programs it needs, and its TAP relayed into the caller's own numbering
# through the caller's ok() and not_ok().

# What the suites run from the host's build/ ('make userspace').
readonly VM_SUITE_TOOLS=(build/net/kcpt build/net/kcp_sock build/net/options
	build/net/attack build/net/races build/net/lifecycle build/net/session
	build/peers/kcppeer)

# Why run-vm.sh exited with RC (its RC_* codes), for a "not ok" line.
vm_rc_why() {
	case $1 in
	122) echo "kernel problem in the serial log" ;;
	123) echo "guest died without reporting" ;;
	124) echo "timeout" ;;
	125) echo "harness failure" ;;
	*) echo "a suite failed (exit $1)" ;;
	esac
}

# tap_relay PREFIX FILE: every "ok"/"not ok" line of FILE as one of ours,
# named "PREFIX<suite>: <description>". A "not ok ... # TODO" is a known
# difference, not a failure (TAP), and stays visible as such.
tap_relay() {
	local prefix=$1 file=$2 line suite=

	while IFS= read -r line; do
		case $line in
		'# suite '*) suite=${line#'# suite '} ;;
		'ok '*)
			line=${line#ok }
			ok "$prefix$suite: ${line#* - }"
			;;
		'not ok '*)
			line=${line#not ok }
			line=${line#* - }
			if [[ $line == *'# '[Tt][Oo][Dd][Oo]* ]]; then
				ok "$prefix$suite: $line"
			else
				not_ok "$prefix$suite: $line"
			fi
			;;
		esac
	done < <(grep -aE '^(# suite |ok |not ok )' "$file")
}

# vm_verdict WHAT RC SECS LOG: the run itself, clean or why not.
vm_verdict() {
	if (($2 == 0)); then
		ok "$1: kernel log clean (${3}s)"
	else
		not_ok "$1: $(vm_rc_why "$2") (${3}s; $4)"
	fi
}
