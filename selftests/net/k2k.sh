#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Kernel <-> kernel over veth between two namespaces: 8 MiB both ways at
# once (echo) on a clean link and under netem delay + loss + reordering,
# IPv6, message mode, 200 concurrent sessions on one listener, and
# servers that close() right after their last write under loss.
# Usage: k2k.sh [quick]

. "$(dirname "$0")/lib.sh"

trap 'stop_server; ns_cleanup; rm -rf "$WORK"' EXIT
ns_setup

BIG=$((8 << 20))
[ "${1:-}" = quick ] && BIG=$((1 << 20))
# A KASAN guest under TCG runs an order of magnitude slower while its
# clock does not: 200 sessions whose server app gets to them late would
# expire unconfirmed (10 s of a silent peer), and a starved end stays
# silent through 20 retransmissions (dead link). debug.sh allows for both.
[ -n "${KCP_UNCONFIRMED_MS:-}" ] &&
	in_a sysctl -qw net.kcp.unconfirmed_timeout_ms="$KCP_UNCONFIRMED_MS"
if [ -n "${KCP_DEAD_LINK:-}" ]; then
	in_a sysctl -qw net.kcp.dead_link="$KCP_DEAD_LINK"
	in_b sysctl -qw net.kcp.dead_link="$KCP_DEAD_LINK"
fi

# pair NAME NETEM SERVER-ADDR CLIENT-FLAGS...: kcpt echo server in a, client in b
pair() {
	local name=$1 netem=$2 addr=$3 out
	shift 3
	netem_set "$netem" || { not_ok "$name: netem"; return; }
	if start_server "s$tap_n" in_a "$KCPT" server -a "$addr:0" \
		-timeout $((300 * SLOW)) "$@" &&
	   run_client "c$tap_n" in_b "$KCPT" client \
		-a "$addr:$SERVER_PORT" -timeout $((240 * SLOW)) "$@"; then
		wait "$SERVER_PID"
		SERVER_PID=
		out=$(cat "$WORK/s$tap_n.out")
		if echo "$out" | grep -q '^RESULT ok=1'; then
			ok "$name ($(result_field "$LAST_OUT" goodput_kbps) kbit/s, $(result_field "$LAST_OUT" secs) s)"
		else
			not_ok "$name: server side"
			echo "$out" | tail -3 | sed 's/^/#   /'
			snmp_why
		fi
	else
		not_ok "$name"
		# the server's side of it: sessions it finished, how the rest ended
		echo "# server: $(grep -c '^SESSION.* ok=1' "$WORK/s$tap_n.out") sessions ok"
		grep -v '^SESSION.* ok=1' "$WORK/s$tap_n.out" | tail -4 | sed 's/^/#   /'
		snmp_why
	fi
	stop_server
}

# After a failure: the counters of both ends that say why sessions end
snmp_why() {
	local ns
	for ns in "$NS_A" "$NS_B"; do
		echo "# kcp_snmp of $ns: $(ip netns exec "$ns" awk '$2 != 0 &&
			$1 ~ /Unconfirmed|Overflow|Limit|Rate|Drop|DeadLink|NoMem|Replaced|Linger|Curr|Passive|Active/ {
			printf "%s=%s ", $1, $2 }' /proc/net/kcp_snmp)"
	done
}

# closing NAME NETEM BYTES WSIZE SESSIONS FLAGS...: each server session
# writes BYTES in WSIZE-byte send()s, close()s at once and the server
# exits; every client must still read all BYTES, byte-exact (issue 15:
# nothing lost at close). The clients' receive timeout bounds a failure.
closing() {
	local name=$1 netem=$2 bytes=$3 wsize=$4 n=$5 out
	shift 5
	netem_set "$netem" || { not_ok "$name: netem"; return; }
	if start_server "s$tap_n" in_a "$KCPT" server -a $ADDR_A:0 \
		-role source -bytes "$bytes" -msgsize "$wsize" -sessions "$n" \
		-timeout $((300 * SLOW)) "$@" &&
	   run_client "c$tap_n" in_b "$KCPT" client -a $ADDR_A:$SERVER_PORT \
		-role recv -bytes "$bytes" -sessions "$n" -parallel "$n" \
		-timeout $((60 * SLOW)) "$@"; then
		wait "$SERVER_PID"
		SERVER_PID=
		out=$(cat "$WORK/s$tap_n.out")
		if echo "$out" | grep -q '^RESULT ok=1'; then
			ok "$name ($(result_field "$LAST_OUT" secs) s)"
		else
			not_ok "$name: server side"
			echo "$out" | tail -3 | sed 's/^/#   /'
			snmp_why
		fi
	else
		not_ok "$name"
		snmp_why
	fi
	stop_server
}

FAST="-preset fast3 -wnd 1024,1024"
pair "8 MiB each way, clean veth, fast3" "" $ADDR_A $FAST -bytes $BIG
pair "8 MiB each way, 20ms delay 5% loss 25% reorder, fast3" \
	"delay 20ms 5ms loss 5% reorder 25% 50%" $ADDR_A $FAST -bytes $BIG
pair "1 MiB each way, 20ms delay 5% loss, kcp-go default settings" \
	"delay 20ms loss 5%" $ADDR_A -wnd 128,128 -bytes $((1 << 20))
pair "IPv6: 2 MiB each way, 10ms delay 3% loss" "delay 10ms loss 3%" \
	"[$ADDR6_A]" $FAST -bytes $((2 << 20))
pair "SOCK_SEQPACKET: 3000-byte messages, 10ms delay 3% loss" \
	"delay 10ms loss 3%" $ADDR_A -seq -msgsize 3000 $FAST -bytes $((1 << 20))
pair "200 concurrent sessions on one listener, 10ms delay 1% loss" \
	"delay 10ms loss 1%" $ADDR_A -preset fast3 -sessions 200 \
	-parallel 200 -bytes 16384
# Sizes that line up with neither a segment nor a page. With a 1024-segment
# window nearly all of it is still queued when close() returns, so the
# closed sockets carry the transfer; with kcp-go's 32 the tail is short.
CLOSE_BIG=$((4 << 20))
[ "${1:-}" = quick ] && CLOSE_BIG=$((1 << 20))
closing "4 servers close() after $((CLOSE_BIG + 4097)) bytes, 20ms delay 5% loss, fast3: all delivered" \
	"delay 20ms loss 5%" $((CLOSE_BIG + 4097)) 4093 4 $FAST
closing "3 servers close() after 262145 bytes, 20ms delay 5% loss, kcp-go default settings: all delivered" \
	"delay 20ms loss 5%" 262145 65537 3
tap_end
