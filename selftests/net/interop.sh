#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Interoperability with the real kcp-go (v5.6.1, Debian's package, built
# offline as selftests/peers/kcppeer): kernel client -> kcp-go echo server
# and kcp-go client -> kernel echo server, byte-exact, in stream and message
# mode, with kcp-go's default and kcptun's fast3 settings, on a clean and a
# lossy veth link between two network namespaces.
# Usage: interop.sh [quick]

. "$(dirname "$0")/lib.sh"

trap 'stop_server; ns_cleanup; rm -rf "$WORK"' EXIT
ns_setup

# one name netem kcpt-flags kcppeer-flags bytes
case_n=0
one() {
	local name=$1 netem=$2 kf=$3 gf=$4 bytes=$5 out id

	case_n=$((case_n + 1))
	id=case$case_n

	netem_set "$netem" || { not_ok "$name: netem"; return; }
	# shellcheck disable=SC2086
	if start_server "go-$id" in_a "$KCPPEER" -mode server \
		-addr "$ADDR_A:0" -role echo -idle 20 -timeout 300 $gf &&
	   run_client "k-$id" in_b "$KCPT" client -a "$ADDR_A:$SERVER_PORT" \
		-bytes "$bytes" -timeout 120 $kf; then
		ok "kernel client -> kcp-go server, $name ($(result_field "$LAST_OUT" goodput_kbps) kbit/s)"
	else
		not_ok "kernel client -> kcp-go server, $name"
	fi
	stop_server

	# shellcheck disable=SC2086
	if start_server "k-$id" in_a "$KCPT" server -a "$ADDR_A:0" \
		-sessions 1 -bytes "$bytes" -timeout 150 $kf &&
	   run_client "go-$id" in_b "$KCPPEER" -mode client \
		-addr "$ADDR_A:$SERVER_PORT" -bytes "$bytes" -timeout 120 $gf; then
		wait "$SERVER_PID"
		out=$(cat "$WORK/k-$id.out")
		if echo "$out" | grep -q '^RESULT ok=1'; then
			ok "kcp-go client -> kernel server, $name ($(result_field "$LAST_OUT" goodput_kbps) kbit/s)"
		else
			not_ok "kcp-go client -> kernel server, $name: server side"
			echo "$out" | tail -3 | sed 's/^/#   /'
		fi
		SERVER_PID=
	else
		not_ok "kcp-go client -> kernel server, $name"
	fi
	stop_server
}

FAST_K="-preset fast3 -wnd 256,256"
FAST_G="-preset fast3 -sndwnd 256 -rcvwnd 256"
LOSSY="delay 10ms 2ms loss 5%"

one "stream, kcp-go defaults, clean" "" "" "-stream" 262144
one "stream, fast3, clean" "" "$FAST_K" "-stream $FAST_G" 2097152
one "message, kcp-go defaults, clean" "" "-seq -msgsize 1000" "-msgsize 1000" 262144
one "message, fast3, 3000-byte messages, clean" "" \
	"-seq -msgsize 3000 $FAST_K" "-msgsize 3000 $FAST_G" 1048576
[ "${1:-}" = quick ] && { tap_end; exit; }
one "stream, fast3, 10ms 5% loss" "$LOSSY" "$FAST_K" "-stream $FAST_G" 1048576
one "stream, kcp-go defaults, 10ms 5% loss" "$LOSSY" "" "-stream" 131072
one "message, fast3, 10ms 5% loss" "$LOSSY" "-seq -msgsize 1000 $FAST_K" \
	"-msgsize 1000 $FAST_G" 524288
one "stream, fast3, kcptun mtu 1350 and windows 128:512, lossy" "$LOSSY" \
	"-preset fast3 -mtu 1350 -wnd 128,512" \
	"-stream -preset fast3 -mtu 1350 -sndwnd 128 -rcvwnd 512" 1048576
tap_end
