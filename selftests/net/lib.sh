#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers of the in-VM network tests: TAP output, two network
# namespaces joined by veth with optional netem, and starting/stopping
# test peers (kcpt: the kernel side; kcppeer: the real kcp-go).

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KCPT=${KCPT:-$TOP/build/net/kcpt}
KCPPEER=${KCPPEER:-$TOP/build/peers/kcppeer}
WORK=${WORK:-/tmp/kcptest.$$}
mkdir -p "$WORK"
# A debug kernel (KASAN, lockdep) under TCG runs about ten times slower
# while its clock does not: debug.sh sets KCP_SLOW, by which a test
# multiplies how long it waits for something to happen (never a bound
# that a check measures).
# shellcheck disable=SC2034 # used by the suites that source this
SLOW=${KCP_SLOW:-1}

# shellcheck source=selftests/lib/tap.sh
. "$TOP/selftests/lib/tap.sh"

# Two namespaces, a (10.9.0.1, fd09::1) and b (10.9.0.2, fd09::2).
NS_A=kcp-a-$$
NS_B=kcp-b-$$
ADDR_A=10.9.0.1
ADDR_B=10.9.0.2
ADDR6_A=fd09::1
ADDR6_B=fd09::2

ns_setup() {
	# the guest's kernel cannot autoload from the chroot: load explicitly
	modprobe -q veth 2>/dev/null
	modprobe -q sch_netem 2>/dev/null
	ip netns add "$NS_A"
	ip netns add "$NS_B"
	ip link add veth-a netns "$NS_A" type veth peer name veth-b netns "$NS_B"
	ip -n "$NS_A" addr add $ADDR_A/24 dev veth-a
	ip -n "$NS_B" addr add $ADDR_B/24 dev veth-b
	ip -n "$NS_A" addr add $ADDR6_A/64 dev veth-a nodad
	ip -n "$NS_B" addr add $ADDR6_B/64 dev veth-b nodad
	for ns in "$NS_A" "$NS_B"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_A" link set veth-a up
	ip -n "$NS_B" link set veth-b up
}

ns_cleanup() {
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	true
}

# netem on both directions: netem_set "delay 10ms loss 5%"; "" removes it.
netem_set() {
	local ns dev
	for ns in "$NS_A:veth-a" "$NS_B:veth-b"; do
		dev=${ns#*:}
		ns=${ns%%:*}
		ip netns exec "$ns" tc qdisc del dev "$dev" root 2>/dev/null
		if [ -n "$1" ]; then
			# shellcheck disable=SC2086
			ip netns exec "$ns" tc qdisc add dev "$dev" root netem $1 ||
				return 1
		fi
	done
}

# Fork-free helpers for scripts that measure (bench, demo), where a
# process per sleep or check would show up in the numbers.

# snooze SECS: sleep without a process, a read with a timeout on a FIFO
# nobody writes; the caller opens it: exec {SNOOZE_FD}<>"$WORK/snooze"
snooze() {
	read -rt "$1" -u "$SNOOZE_FD" _ || true
}

# alive PID: running (a zombie is not: bash reaps late when it runs only
# builtins)
alive() {
	local line=

	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	line=${line##*) }
	[[ $line != Z* && $line != X* ]]
}

# parse_result FILE: R[key]=value of the last "RESULT k=v ..." line of FILE
declare -A R
parse_result() {
	local line last='' w

	R=()
	while read -r line; do
		[[ $line == RESULT* ]] && last=$line
	done <"$1" 2>/dev/null
	for w in $last; do
		[[ $w == *=* ]] && R[${w%%=*}]=${w#*=}
	done
}

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }
# For background jobs: "$!" must be the program itself, not a subshell
# running a shell function (killing that would leave the program alive).
NSX_A="ip netns exec $NS_A"
NSX_B="ip netns exec $NS_B"

# start_server NAME CMD... : runs CMD in the background, waits for its
# "LISTEN <port>" line, sets SERVER_PID and SERVER_PORT.
start_server() {
	local name=$1 i
	shift
	case $1 in
	in_a) shift; set -- ip netns exec "$NS_A" "$@" ;;
	in_b) shift; set -- ip netns exec "$NS_B" "$@" ;;
	esac
	: > "$WORK/$name.out"
	"$@" > "$WORK/$name.out" 2>&1 &
	SERVER_PID=$!
	SERVER_PORT=
	for i in $(seq 1 200); do
		SERVER_PORT=$(sed -n 's/^LISTEN .*[^0-9]\([0-9][0-9]*\)$/\1/p;s/^LISTEN \([0-9][0-9]*\)$/\1/p' \
			"$WORK/$name.out" | head -1)
		[ -n "$SERVER_PORT" ] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	diag "server $name did not start:"
	sed 's/^/#   /' "$WORK/$name.out"
	return 1
}

stop_server() {
	[ -n "${SERVER_PID:-}" ] || return 0
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

# kv LINE KEY [DEFAULT]: KEY's value in a "k=v k=v" line (no process)
kv() {
	local l=" $1 "
	case $l in *" $2="*) l=${l#* $2=}; echo "${l%% *}" ;; *) echo "${3:-}" ;; esac
}

# The RESULT line's key=value, e.g. result_field "$out" goodput_kbps
result_field() {
	echo "$1" | grep '^RESULT' | tail -1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# run_client NAME CMD...: runs a client, its RESULT line must say ok=1.
run_client() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	LAST_OUT=$out
	if [ $rc -eq 0 ] && echo "$out" | grep -q '^RESULT ok=1'; then
		return 0
	fi
	diag "client $name failed (exit $rc):"
	echo "$out" | tail -5 | sed 's/^/#   /'
	return 1
}

# wait_log FILE PATTERN [SECS]: until FILE has a line with PATTERN (10 s);
# no process per try: the programs it waits for start on the same CPUs
wait_log() {
	local line n
	for ((n = 0; n < ${3:-10} * 20; n++)); do
		if [ -e "$1" ]; then
			while IFS= read -r line; do
				[[ $line == *"$2"* ]] && return 0
			done <"$1"
		fi
		snooze 0.05
	done
	return 1
}
