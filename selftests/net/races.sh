#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Races and stress (selftests/net/races.c does the threads): paths that
# run concurrently with each other, each bounded in time. Results are
# checked here; a kernel report (use-after-free, GPF, lockdep, WARN) fails
# the VM run through the harness's serial-log scan.
#  - /proc/net/kcp{,6} readers (small reads) against short sessions
#    opening, transferring and closing, some lingering after close;
#  - SOCK_SEQPACKET: a poll() thread and a recv() thread on one socket
#    while the peer sends and closes, the session ending by idle timeout;
#  - close during transfers with FEC 10/3 and aes on both sides, netem loss;
#  - network namespaces deleted with sessions mid-transfer;
#  - shutdown(SHUT_RD) on a listener with children not yet accepted;
#  - aes + FEC 10/3 bulk transfers (kcptun fast, windows 1024, MTU 1350)
#    with aesni_intel loaded;
#  - module unload right after the last close, reloaded from $KCP_MODULE
#    (last: it unloads the module).
# Usage: races.sh [quick]. RACES_SECS (seconds per stress; default 5, quick
# 3) and RACES_ROUNDS (namespace, aes and unload rounds; default 2) make
# it longer: make check-debug sets them. RACES_ONLY="proc seqpoll
# shutrd closexfer netns aesni unload" runs only the ones named,
# RACES_SKIP="..." all but those.

# shellcheck source=selftests/net/lib.sh
. "$(dirname "$0")/lib.sh"

RACES=${RACES:-$TOP/build/net/races}
quick=${1:-}
if [ -n "$quick" ]; then
	secs=${RACES_SECS:-3}
	rounds=${RACES_ROUNDS:-2}
	bulk=$((1 << 20))
else
	secs=${RACES_SECS:-5}
	rounds=${RACES_ROUNDS:-2}
	bulk=$((2 << 20))
fi
[ -z "${RACES_SECS:-}" ] || bulk=$((4 << 20))
NS_R=kcp-r-$$
NS_X=kcp-x-$$
NS_Y=kcp-y-$$
pids=()

cleanup() {
	[ -z "${lockup_panic:-}" ] || echo "$lockup_panic" > /proc/sys/kernel/softlockup_panic
	[ ${#pids[@]} -eq 0 ] || kill -9 "${pids[@]}" 2>/dev/null
	stop_server
	ns_cleanup
	for ns in $NS_R $NS_X $NS_Y; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
# a reader spinning on a freed socket's lock must end the run, not hang it
lockup_panic=$(cat /proc/sys/kernel/softlockup_panic 2>/dev/null)
[ -z "$lockup_panic" ] || echo 1 > /proc/sys/kernel/softlockup_panic

diag "$secs s per stress, $rounds rounds"

# every AF_KCP socket holds a module reference
refcnt() { cat /sys/module/kcp/refcnt; }
# wait up to $2 seconds (default 60) until at most $1 sockets are left
settle() {
	local i

	for ((i = 0; i < ${2:-60} * 10; i++)); do
		[ "$(refcnt)" -le "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
base=$(refcnt)
want() {
	[ -z "${RACES_ONLY:-}" ] || [[ " $RACES_ONLY " == *" $1 "* ]] || return 1
	[[ " ${RACES_SKIP:-} " != *" $1 "* ]] || return 1
	diag "$1 (at ${SECONDS}s)"
}

# relay NAME CMD...: CMD prints TAP; its results become ours, named NAME.
# It must print at least one result and exit 0.
relay() {
	local name=$1 line n=0 rc
	shift
	"$@" > "$WORK/relay.out" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) n=$((n + 1)); ok "$name: ${line#ok * - }" ;;
		"not ok "*) n=$((n + 1)); not_ok "$name: ${line#not ok * - }" ;;
		"#"*) echo "$line" ;;
		1..*) ;;
		*) diag "$name: $line" ;;
		esac
	done < "$WORK/relay.out"
	if [ $n -eq 0 ] || { [ $rc -ne 0 ] && ! grep -q '^not ok' "$WORK/relay.out"; }; then
		not_ok "$name: exit status $rc, $n results"
	fi
}

# a namespace with only loopback
ns_lo() {
	ip netns add "$1" && ip -n "$1" link set lo up
}

# two namespaces $1 (10.9.0.1) and $2 (10.9.0.2) joined by veth, netem $3
# shellcheck disable=SC2086 # $3 is several words
ns_pair() {
	ip netns add "$1" && ip netns add "$2" &&
	ip link add veth-a netns "$1" type veth peer name veth-b netns "$2" &&
	ip -n "$1" addr add "$ADDR_A/24" dev veth-a &&
	ip -n "$2" addr add "$ADDR_B/24" dev veth-b &&
	ip -n "$1" link set veth-a up && ip -n "$2" link set veth-b up &&
	ip -n "$1" link set lo up && ip -n "$2" link set lo up &&
	ip netns exec "$1" tc qdisc add dev veth-a root netem $3 &&
	ip netns exec "$2" tc qdisc add dev veth-b root netem $3
}

# snmp NS NAME: a counter of /proc/net/kcp_snmp in namespace NS
# shellcheck disable=SC2016 # awk's own $1, $2
snmp() {
	ip netns exec "$1" awk -v k="$2" '$1 == k { print $2 }' /proc/net/kcp_snmp
}

# --- /proc/net/kcp readers against sessions coming and going ----------

modprobe -q veth 2>/dev/null
modprobe -q sch_netem 2>/dev/null
ns_lo $NS_R
want proc &&
	relay "proc readers vs session churn" ip netns exec $NS_R \
	timeout -s KILL $((secs * 4 + 60)) "$RACES" proc -t "$secs" -P 6 -linger 1000
want seqpoll &&
	relay "seqpacket poll/recv vs peer close" ip netns exec $NS_R \
	timeout -s KILL $((secs * 4 + 60)) "$RACES" seqpoll -t "$secs" -P 3
want shutrd &&
	relay "shutdown(SHUT_RD) on a listener" ip netns exec $NS_R \
	timeout -s KILL 120 "$RACES" shutrd -rounds "$rounds"
ip netns del $NS_R

# --- close during transfers, FEC 10/3 + aes, with loss -------------------

XF="-fec 10,3 -crypt aes -linger 2000"
closexfer() {
	ns_setup
	netem_set "delay 2ms loss 5%"
	# shellcheck disable=SC2086
	if start_server xs in_a "$RACES" server -a "$ADDR_A:0" -t 600 $XF; then
		# shellcheck disable=SC2086
		in_b timeout -s KILL $((secs * 4 + 60)) "$RACES" client \
			-a "$ADDR_A:$SERVER_PORT" -t "$secs" -P 8 $XF > "$WORK/xc.out" 2>&1
		# the last children end, then the server reports
		sleep 2
		kill -TERM "$SERVER_PID"
		wait "$SERVER_PID"
		SERVER_PID=
		parse_result "$WORK/xs.out"
		s=${R[sessions]:-0} f=${R[full]:-0} b=${R[bad]:-?}
		parse_result "$WORK/xc.out"
		if [ "${R[sessions]:-0}" -ge 8 ] && [ "$f" -gt 0 ] && [ "$b" = 0 ]; then
			ok "close during transfers, FEC 10/3 + aes, 5% loss: ${R[sessions]} sessions, server saw $s ($f whole, none corrupt)"
		else
			not_ok "close during transfers: client ${R[sessions]:-no} sessions, server $s (whole $f, corrupt $b)"
			tail -n 3 "$WORK/xs.out" "$WORK/xc.out" | sed 's/^/#   /'
		fi
	else
		not_ok "close during transfers: server did not start"
	fi
	ns_cleanup
	if settle "$base"; then
		ok "close during transfers: every socket freed"
	else
		not_ok "close during transfers: $(refcnt) sockets left (base $base)"
	fi
}
want closexfer && closexfer

# --- namespaces deleted with sessions mid-transfer ----------------------

want netns &&
for ((r = 0; r < rounds; r++)); do
	if ! ns_pair $NS_X $NS_Y "delay 2ms loss 3%"; then
		not_ok "netns deletion round $r: setup"
		break
	fi
	# shellcheck disable=SC2086
	ip netns exec $NS_X "$RACES" server -a "$ADDR_A:0" -t 120 $XF \
		> "$WORK/ns-s.out" 2>&1 &
	spid=$!
	for i in $(seq 1 100); do
		port=$(sed -n 's/^LISTEN //p' "$WORK/ns-s.out")
		[ -n "$port" ] && break
		sleep 0.05
	done
	# shellcheck disable=SC2086
	ip netns exec $NS_Y "$RACES" client -a "$ADDR_A:${port:-1}" -t 120 -P 8 \
		$XF > "$WORK/ns-c.out" 2>&1 &
	cpid=$!
	pids=("$spid" "$cpid")
	sleep 2
	live=$(snmp $NS_X CurrEstab)
	inb=$(snmp $NS_X InPkts)
	# both orders: the processes die first (their sessions linger as
	# orphans), or the namespaces go first with the processes inside
	{
		if ((r % 2 == 0)); then
			kill -9 "$spid" "$cpid"
			ip netns del $NS_X
			ip netns del $NS_Y
		else
			ip netns del $NS_X
			ip netns del $NS_Y
			sleep 0.5
			kill -9 "$spid" "$cpid"
		fi
		wait "$spid" "$cpid"
	} 2>/dev/null
	pids=()
	if [ "${live:-0}" -gt 0 ] && settle "$base"; then
		ok "netns deletion round $r: $live sessions mid-transfer ($inb datagrams in), all freed"
	else
		not_ok "netns deletion round $r: ${live:-no} sessions, $(refcnt) sockets left (base $base)"
	fi
done

# --- aes + FEC 10/3 bulk with aesni_intel (issue 14, finding 13) --------

# the reference count of the aes-aesni cipher in /proc/crypto, if loaded
aesni_ref() {
	awk '$1 == "driver" { d = $3 } $1 == "refcnt" && d == "aes-aesni" { print $3 }' /proc/crypto
}

aesni() {
	local r ref cpid BULK

	modprobe aesni_intel 2>/dev/null ||
		insmod "$(find /lib/modules/"$(uname -r)"/kernel/arch/x86/crypto \
			-name 'aesni-intel.ko*' | head -n 1)" 2>/dev/null
	if [ -z "$(aesni_ref)" ]; then
		not_ok "aesni_intel: no aes-aesni in /proc/crypto (modprobe aesni_intel failed)"
		return
	fi
	ns_setup
	BULK="-crypt aes -fec 10,3 -preset fast -wnd 1024,1024 -mtu 1350"
	for ((r = 0; r < rounds; r++)); do
		ref=
		# shellcheck disable=SC2086
		if start_server ab in_a "$KCPT" server -a "$ADDR_A:0" -role sink \
			-sessions 1 -bytes $bulk -seed $((r + 7)) -timeout 200 $BULK; then
			# shellcheck disable=SC2086
			$NSX_B "$KCPT" client -a "$ADDR_A:$SERVER_PORT" -role send \
				-bytes $bulk -seed $((r + 7)) -timeout 180 $BULK \
				> "$WORK/ab-c.out" 2>&1 &
			cpid=$!
			sleep 1
			ref=$(aesni_ref)
			wait $cpid
			wait "$SERVER_PID"
			SERVER_PID=
		fi
		parse_result "$WORK/ab.out"
		if [ "${R[ok]:-0}" = 1 ] && [ "${ref:-0}" -gt 1 ]; then
			ok "aes + FEC 10/3 bulk, fast, wnd 1024, MTU 1350, aesni in use (refcnt $ref): $((bulk >> 20)) MiB byte-exact, ${R[goodput_kbps]} kbit/s"
		else
			not_ok "aes + FEC 10/3 bulk round $r: server ok=${R[ok]:-?}, aes-aesni refcnt ${ref:-?}"
			tail -n 3 "$WORK/ab.out" "$WORK/ab-c.out" | sed 's/^/#   /'
		fi
	done
	ns_cleanup
}
want aesni && aesni

# --- module unload right after the last close (last: it unloads) -------

if ! want unload; then
	:
elif [ -z "${KCP_MODULE:-}" ] || [ ! -f "$KCP_MODULE" ]; then
	not_ok "unload after the last close: \$KCP_MODULE (${KCP_MODULE:-unset}) is no module file"
else
	ns_lo $NS_R
	relay "unload after the last close" ip netns exec $NS_R \
		timeout -s KILL $((rounds * 60 + 120)) "$RACES" unload \
		-module "$KCP_MODULE" -rounds $((rounds * 3)) -linger 500
	ip netns del $NS_R
	[ -e /sys/module/kcp ] || insmod "$KCP_MODULE" ||
		not_ok "module reload after the unload rounds"
fi
tap_end
