#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hostile users and hosts (issue 14, findings 3-6 and 8-12): what an
# unprivileged user, a host that spoofs datagrams or ICMP, and local
# policy (ip rule uidrange, nft owner match, socket filters) do to AF_KCP.
#   3  memory: a pair that never reads stays within its buffers (EAGAIN,
#      SO_MEMINFO, Slab), memory-cgroup charging, net.kcp.mem pressure,
#      net.kcp.max_orphans
#   4  junk from a session's own address does not end it; sessions made
#      by spoofed first datagrams expire (net.kcp.unconfirmed_timeout_ms)
#   5  spoofed FEC parity does not disable FEC recovery for good
#   6  a forged ICMP port unreachable does not end a lingering socket, a
#      genuine one does; ICMPv6 errors quoting extension headers parse
#   8  FEC shard counts that overflow are EINVAL
#   9  a second SO_REUSEADDR listener cannot steal an adopted tunnel
#   10 MSG_WAITALL larger than the window does not stall
#   11 KCP_STREAM=0 with a large window: one big write() goes through
#   12 uid routing (ip rule uidrange), nft meta mark with SO_MARK and
#      meta skuid (the AF_KCP socket owns its datagrams), SO_ATTACH_FILTER
# Every test fails on the module before these fixes (commit 7be2392),
# except the controls, which say so. The interface the fixes add:
# global (init_net) sysctls net.kcp.mem "min pressure max" (pages) and
# net.kcp.rmem/wmem "min default max" (bytes); per-namespace sysctls
# net.kcp.max_orphans and net.kcp.unconfirmed_timeout_ms; counters
# OrphanOverflow and UnconfirmedExpired in /proc/net/kcp_snmp; the KCP
# line of /proc/net/protocols (memory in pages); SO_MEMINFO.
# Usage: hostile.sh [quick] [TEST...]   (tests: f3a-e f4a-c f5 f6 f8 f9 f10
# f11 f12; f3 selects f3a-f3e, f4 f4a-f4c)

. "$(dirname "$0")/lib.sh"

H=${KCP_HOSTILE:-$TOP/build/net/hostile}
quick=
[ "${1:-}" = quick ] && { quick=1; shift; }
only=" $* "
SRV_PIDS=
CG=
SYSCTL_RESTORE=()
cleanup() {
	local i
	# shellcheck disable=SC2086
	kill $SRV_PIDS 2>/dev/null
	stop_server
	# newest first: the oldest entry of a name holds its original value
	for ((i = ${#SYSCTL_RESTORE[@]} - 1; i >= 0; i--)); do
		sysctl -qw "${SYSCTL_RESTORE[$i]}" 2>/dev/null
	done
	if [ -n "$CG" ]; then
		rmdir "$CG/hostile" 2>/dev/null
		umount "$CG" 2>/dev/null
	fi
	ns_cleanup
	rm -rf "$WORK"
}
trap cleanup EXIT
t_start=$(date +%s)
ns_setup
NOBODY=65534
OTHER=1000

# want f3a: selected by "f3a" or "f3" (or by no selection at all)
want() { [ "$only" = "  " ] || [[ $only == *" $1 "* ]] || [[ $only == *" ${1%[a-e]} "* ]]; }

# relay FILE: the helper's PASS/FAIL lines as TAP, its comments as such
relay() {
	local line
	while IFS= read -r line; do
		case $line in
		"PASS "*) ok "${line#PASS }" ;;
		"FAIL "*) not_ok "${line#FAIL }" ;;
		"#"*) echo "$line" ;;
		esac
	done < "$1"
}

# gsysctl NAME VALUE: set a global (init_net) sysctl, restored at exit
gsysctl() {
	local old
	old=$(sysctl -n "$1" 2>/dev/null | tr '\t' ' ') || return 1
	sysctl -qw "$1=$2" 2>/dev/null || return 1
	SYSCTL_RESTORE+=("$1=$old")
}

# snmp NS NAME: a counter of /proc/net/kcp_snmp in namespace a or b
snmp() {
	ip netns exec "$1" awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print -1 }' \
		/proc/net/kcp_snmp
}

# kcp_state NS FILE PORT: the state (hex) of the socket with local PORT
kcp_state() {
	ip netns exec "$1" awk -v p="$(printf '%04X' "$3")" \
		'NR > 1 { n = split($2, a, ":"); if (a[n] == p) { print $4; exit } }' "/proc/net/$2"
}

# lingers NS FILE PORT: the socket is in LINGER (04) in one of three reads
# 0.2 s apart, so that one read that misses it does not count as its end
lingers() {
	local i
	for i in 1 2 3; do
		[ "$(kcp_state "$@")" = 04 ] && return 0
		[ $i = 3 ] || sleep 0.2
	done
	return 1
}

# bg NAME CMD...: a background helper, its output in $WORK/NAME.out
bg() {
	local name=$1
	shift
	"$@" > "$WORK/$name.out" 2>&1 &
	BG_PID=$!
	SRV_PIDS="$SRV_PIDS $BG_PID"
}

# wait_line FILE REGEX SECS [PID]: until a line matches, SECS pass (by
# the clock: a process per step is slow under TCG) or PID is gone
wait_line() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
			grep -q "$2" "$1" 2>/dev/null
			return
		fi
		sleep 0.1
	done
	return 1
}

# res FILE KEY: KEY of FILE's last RESULT line
res() {
	parse_result "$1"
	echo "${R[$2]:-}"
}

# ---------------------------------------------------------------------
# 8: FEC shard counts
if want f8; then
	in_a "$H" fecopt > "$WORK/f8.out" 2>&1
	relay "$WORK/f8.out"
fi

# ---------------------------------------------------------------------
# 9: two SO_REUSEADDR listeners on the port of a closed listener whose
# accepted child keeps the UDP socket
if want f9; then
	in_a "$H" reuse > "$WORK/f9.out" 2>&1
	relay "$WORK/f9.out"
	grep -q '^PASS\|^FAIL' "$WORK/f9.out" || not_ok "reuse helper did not run"
fi

# ---------------------------------------------------------------------
# 11: message mode on a SOCK_STREAM socket with a 1024-segment window
if want f11; then
	n=$((1 << 20))
	opts=(-stream 0 -wnd "1024,1024" -preset 4)
	if start_server f11 in_a "$H" server -a "$ADDR_A:0" -mode sink -n $n "${opts[@]}"; then
		in_b "$H" client -a "$ADDR_A:$SERVER_PORT" -n $n -onewrite "${opts[@]}" \
			-timeout 60 > "$WORK/f11c.out" 2>&1
		grep '^#' "$WORK/f11c.out"
		[ "$(res "$WORK/f11c.out" ok)" = 1 ] && [ "$(res "$WORK/f11.out" intact)" = 1 ] &&
			ok "KCP_STREAM=0, snd_wnd 1024: one write() of 1 MiB sent whole, peer got it byte-exact" ||
			not_ok "KCP_STREAM=0, snd_wnd 1024: one write() of 1 MiB: $(grep ^RESULT "$WORK/f11c.out"); server: $(grep ^RESULT "$WORK/f11.out")"
		stop_server
	else
		not_ok "KCP_STREAM=0 server did not start"
	fi
fi

# ---------------------------------------------------------------------
# 10: MSG_WAITALL larger than the receive window (32, the default)
if want f10; then
	n=$((4 << 20))
	[ -n "$quick" ] && n=$((2 << 20))
	if start_server f10 in_a "$H" server -a "$ADDR_A:0" -mode send -n $((2 * n)) -preset 4; then
		in_b "$H" client -a "$ADDR_A:$SERVER_PORT" -n $n -recvtest -preset 4 \
			-timeout 30 > "$WORK/f10c.out" 2>&1
		w=$(grep 'kind=waitall' "$WORK/f10c.out")
		l=$(grep 'kind=loop' "$WORK/f10c.out")
		diag "waitall: ${w#RESULT }"
		diag "loop:    ${l#RESULT }"
		ws=$(kv "$w" secs 99)
		ls=$(kv "$l" secs 99)
		lim=$(echo "2 * $ls + 1" | bc)
		[ "$(echo "$lim < 2" | bc)" = 1 ] && lim=2
		[ "$(kv "$w" got)" = $n ] && [ "$(kv "$w" intact)" = 1 ] &&
			[ "$(echo "$ws <= $lim" | bc)" = 1 ] &&
			ok "recv($((n >> 20)) MiB, MSG_WAITALL) with rcv_wnd 32: $ws s, plain read loop $ls s (limit $lim s)" ||
			not_ok "recv($((n >> 20)) MiB, MSG_WAITALL) with rcv_wnd 32: got $(kv "$w" got 0) bytes in $ws s (plain read loop $ls s, limit $lim s): zero-window stall"
		stop_server
	else
		not_ok "MSG_WAITALL server did not start"
	fi
fi

# ---------------------------------------------------------------------
# 12: local policy
if want f12; then
	# (c) a drop-all socket filter
	if start_server f12c in_a "$H" server -a "$ADDR_A:0" -mode send -n 65536; then
		in_b "$H" client -a "$ADDR_A:$SERVER_PORT" -filter > "$WORK/f12c.out" 2>&1
		r=$(grep ^RESULT "$WORK/f12c.out")
		[ "$(kv "$r" filter)" = 1 ] && [ "$(kv "$r" got)" = 0 ] &&
			ok "SO_ATTACH_FILTER (drop all) on an AF_KCP socket: nothing of the peer's 64 KiB delivered" ||
			not_ok "SO_ATTACH_FILTER (drop all) on an AF_KCP socket: ${r#RESULT } (the filter is not run)"
		stop_server
	fi

	# (a) ip rule uidrange: uid $NOBODY's traffic to a goes to a blackhole.
	# The rule comes after connect(): connect() of the UDP socket already
	# looks the route up with the owner's uid, every datagram must too.
	for u in $OTHER $NOBODY; do
		if start_server "f12a$u" in_a "$H" server -a "$ADDR_A:0" -mode sink -n 65536; then
			rm -f "$WORK/go12"
			bg "f12a$u.c" in_b "$H" client -a "$ADDR_A:$SERVER_PORT" -n 65536 -uid "$u" \
				-preset 4 -go "$WORK/go12" -timeout 8
			wait_line "$WORK/f12a$u.c.out" '^PORT\|^RESULT' 10
			in_b ip route add blackhole "$ADDR_A/32" table 100
			in_b ip rule add uidrange $NOBODY-$NOBODY lookup 100 pref 100
			touch "$WORK/go12"
			wait "$BG_PID"
			eval "f12a_$u=\$(res \"\$WORK/f12a$u.c.out\" ok)"
			in_b ip rule del pref 100
			in_b ip route flush table 100
			stop_server
		fi
	done
	# shellcheck disable=SC2154
	if [ "$f12a_1000" != 1 ]; then
		not_ok "uid $OTHER's transfer (no rule for it) failed: $(grep ^RESULT "$WORK/f12a$OTHER.c.out")"
	elif [ "$f12a_65534" = 1 ]; then
		not_ok "ip rule uidrange $NOBODY lookup 100 (blackhole), added after connect(): uid $NOBODY's AF_KCP transfer still went through (flowi uid unset)"
	else
		ok "ip rule uidrange $NOBODY lookup 100 (blackhole), added after connect(): uid $NOBODY's AF_KCP transfer fails, uid $OTHER's works"
	fi

	# (b) netfilter on output: meta mark set with SO_MARK, and meta
	# skuid, which sees the owner of the AF_KCP socket (skb->sk), not
	# the kernel UDP socket that sends the datagrams.
	if ! command -v nft > /dev/null; then
		skip "nft rules on AF_KCP datagrams" "nft not installed (selftests/vm/deps.sh installs nftables)"
	elif ! { modprobe -q nf_tables 2>/dev/null; in_b nft add table inet hostile &&
		in_b nft add chain inet hostile out '{ type filter hook output priority 0; }'; }; then
		skip "nft rules on AF_KCP datagrams" "nf_tables not usable in this guest"
	else
		# nft_try NAME RULE CLIENT-ARGS...: RESULT ok of a 64 KiB transfer
		nft_try() {
			local name=$1 rule=$2 r
			shift 2
			start_server "$name" in_a "$H" server -a "$ADDR_A:0" -mode sink -n 65536 || return
			in_b nft flush chain inet hostile out
			# shellcheck disable=SC2086
			in_b nft add rule inet hostile out $rule udp dport "$SERVER_PORT" counter drop
			in_b "$H" client -a "$ADDR_A:$SERVER_PORT" -n 65536 -preset 4 -timeout 6 \
				"$@" > "$WORK/$name.c" 2>&1
			r=$(res "$WORK/$name.c" ok)
			diag "$name: $(in_b nft list chain inet hostile out | grep -o 'packets [0-9]*') matched '$rule', transfer ok=${r:-none}"
			stop_server
			echo "${r:-0}" > "$WORK/$name.r"
		}
		nft_try f12m "meta mark 0x4b43" -mark 0x4b43
		nft_try f12m0 "meta mark 0x4b43" -mark 0x4b44
		if [ "$(cat "$WORK/f12m0.r")" != 1 ]; then
			not_ok "a transfer with SO_MARK 0x4b44 failed under an nft rule for mark 0x4b43"
		elif [ "$(cat "$WORK/f12m.r")" = 1 ]; then
			not_ok "nft 'meta mark 0x4b43 drop' does not stop an AF_KCP socket with SO_MARK 0x4b43"
		else
			ok "nft 'meta mark 0x4b43 drop' stops the datagrams of an AF_KCP socket with SO_MARK 0x4b43 (0x4b44 passes)"
		fi
		nft_try f12u "meta skuid $NOBODY" -uid $NOBODY
		# control: the rule does match a plain UDP socket of that uid
		in_b nft flush chain inet hostile out
		in_b nft add rule inet hostile out meta skuid $NOBODY udp dport 9 counter drop
		in_b setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
			bash -c "echo x > /dev/udp/$ADDR_A/9" 2>/dev/null
		nft_ctl=$(in_b nft list chain inet hostile out | grep -o 'packets [0-9]*')
		diag "control: uid $NOBODY's plain UDP datagram: $nft_ctl matched the rule"
		in_b nft delete table inet hostile
		if [ "$nft_ctl" = "packets 0" ]; then
			skip "nft 'meta skuid $NOBODY' drop" "the rule does not even match a plain UDP socket of uid $NOBODY here"
		elif [ "$(cat "$WORK/f12u.r")" = 1 ]; then
			not_ok "nft 'meta skuid $NOBODY udp dport P drop' does not stop uid $NOBODY's AF_KCP datagrams"
		else
			ok "nft 'meta skuid $NOBODY udp dport P drop' stops uid $NOBODY's AF_KCP datagrams"
		fi
	fi
fi

# ---------------------------------------------------------------------
# 4a: junk from the session's own address during a 4 MiB transfer
if want f4a; then
	n=$((4 << 20))
	netem_set "delay 2ms"
	if start_server f4a in_a "$H" server -a "$ADDR_A:0" -mode sink -n $n -preset 2 -wnd 128,128; then
		in_b "$H" client -a "$ADDR_A:$SERVER_PORT" -n $n -preset 2 -wnd 128,128 \
			-spoof junk -spoofat $((n / 4)) -count 20 \
			-snmp "/proc/$SERVER_PID/net/kcp_snmp" -timeout 120 > "$WORK/f4a.c" 2>&1
		grep '^#' "$WORK/f4a.c"
		r=$(grep ^RESULT "$WORK/f4a.c")
		[ "$(kv "$r" ok)" = 1 ] && [ "$(res "$WORK/f4a.out" intact)" = 1 ] &&
			ok "4 MiB transfer intact (byte compare) through 20 spoofed 24-byte datagrams (sn 0, other conv, bad cmd / bad len) from the client's address" ||
			not_ok "4 MiB transfer through 20 spoofed junk datagrams from the client's address: ${r#RESULT }; server: $(grep ^RESULT "$WORK/f4a.out")"
		[ "$(kv "$r" replaced)" = 0 ] &&
			ok "SessionReplaced +0 for the spoofed junk" ||
			not_ok "SessionReplaced +$(kv "$r" replaced) for the spoofed junk: 24 bytes replaced a live session"
		stop_server
	else
		not_ok "spoofing test server did not start"
	fi
	netem_set ""
fi

# ---------------------------------------------------------------------
# 5: spoofed FEC parity to an established FEC 10/3 session under loss
if want f5; then
	# 4 MiB in quick mode too, spoofed after 1/8: after a contradicting
	# shard the decoder proves the shard counts anew (8 groups and more),
	# and on a fast guest a smaller rest of the transfer was over by then
	n=$((4 << 20))
	netem_set "loss 4%"
	opts=(-fec "10,3" -preset 4 -wnd "128,128")
	if start_server f5 in_a "$H" server -a "$ADDR_A:0" -mode sink -n $n "${opts[@]}"; then
		in_b "$H" client -a "$ADDR_A:$SERVER_PORT" -n $n "${opts[@]}" \
			-spoof fec -spoofat $((n / 8)) -count 3 \
			-snmp "/proc/$SERVER_PID/net/kcp_snmp" -timeout 150 > "$WORK/f5.c" 2>&1
		grep '^#' "$WORK/f5.c"
		r=$(grep ^RESULT "$WORK/f5.c")
		r0=$(kv "$r" fec_recovered_at_spoof -1)
		r1=$(kv "$r" fec_recovered_end -1)
		diag "FECRecovered: $r0 when the parity was spoofed, $r1 at the end"
		[ "$(kv "$r" ok)" = 1 ] && [ "$(res "$WORK/f5.out" intact)" = 1 ] &&
			ok "FEC 10/3 transfer under 4 % loss intact after 3 spoofed parity datagrams" ||
			not_ok "FEC 10/3 transfer after spoofed parity: ${r#RESULT }"
		[ "$r0" -ge 0 ] && [ "$r1" -gt "$r0" ] &&
			ok "FEC still recovers after the spoofed parity (FECRecovered $r0 -> $r1)" ||
			not_ok "FEC recovery stopped after 3 spoofed parity datagrams (FECRecovered $r0 -> $r1): decoder stuck in MISMATCH"
		stop_server
	else
		not_ok "FEC test server did not start"
	fi
	netem_set ""
fi

# ---------------------------------------------------------------------
# 6: ICMP errors to a lingering socket. linger_setup [6]: a client in b
# that closed with data left while nothing from a reaches b (netem loss
# 100 % on a's side), lingering: sets LPORT, LCONV, SPORT, LFILE. Forged
# ICMP errors are injected in b itself (to its own address: they arrive
# through lo), genuine ones come from a once it is reachable again.
icmp_in() {
	ip netns exec "$1" awk '$1 == "Icmp:" && $2 ~ /^[0-9]/ { printf "Icmp InMsgs %s InDestUnreachs %s", $2, $5 }
		$1 == "Icmp6InMsgs" || $1 == "Icmp6InDestUnreachs" { printf " %s %s", $1, $2 }' \
		/proc/net/snmp /proc/net/snmp6
}
# b's KCP counters that say why a session ended
why_gone() {
	ip netns exec "$NS_B" awk '$1 ~ /^(IcmpErrors|IcmpUnverified|DeadLink|LingerExpired|OrphanOverflow|SessionReplaced|KCPInErrors|InPkts)$/ { printf "%s %s ", $1, $2 }' \
		/proc/net/kcp_snmp
}
linger_setup() {
	local v6=$1 noserver=$2 srv cl
	LPORT=
	stop_server
	in_a tc qdisc del dev veth-a root 2>/dev/null
	srv=$ADDR_A
	[ -n "$v6" ] && srv="[$ADDR6_A]"
	LFILE=kcp
	[ -n "$v6" ] && LFILE=kcp6
	if [ -n "$noserver" ]; then
		# nobody on port 9: a's port unreachables wait behind the netem
		SPORT=9
		in_a tc qdisc add dev veth-a root netem loss 100% || return 1
	else
		# a server that never reads (nor sends): nothing of its own lingers
		start_server f6 in_a "$H" server -a "$srv:0" -mode hold || return 1
		SPORT=$SERVER_PORT
	fi
	rm -f "$WORK/go6"
	# fast3: retransmissions come often (the genuine ICMP)
	bg f6c in_b "$H" client -a "$srv:$SPORT" -linger -go "$WORK/go6" -preset 4
	cl=$BG_PID
	wait_line "$WORK/f6c.out" '^ESTABLISHED' 10 || { diag "f6 client: $(cat "$WORK/f6c.out")"; return 1; }
	LCONV=$(sed -n 's/^ESTABLISHED conv=//p' "$WORK/f6c.out")
	LPORT=$(sed -n 's/^PORT //p' "$WORK/f6c.out")
	if [ -z "$noserver" ]; then
		in_a tc qdisc add dev veth-a root netem loss 100% || return 1
	fi
	touch "$WORK/go6"
	wait "$cl"
	sleep 1
	lingers "$NS_B" $LFILE "$LPORT"
}
if want f6; then
	in_a sysctl -qw net.kcp.timewait_ms=0
	# fast3 backs off linearly: at the default dead_link (20) a session
	# in a black hole dies in a few seconds; here only ICMP may end it
	in_b sysctl -qw net.kcp.dead_link=1000
	# b must not need a's link address while a is silent: a failed
	# ARP/NDP would report host unreachable errors of its own
	mac=$(in_a cat /sys/class/net/veth-a/address)
	in_b ip neigh replace "$ADDR_A" lladdr "$mac" dev veth-b nud permanent
	in_b ip neigh replace "$ADDR6_A" lladdr "$mac" dev veth-b nud permanent
	if linger_setup; then
		# forged: right addresses and ports, wrong conv / no KCP bytes
		w0=$(why_gone)
		i0=$(icmp_in "$NS_B")
		in_b "$H" icmp -dst "$ADDR_B:0" -qsrc "$ADDR_B:$LPORT" -qdst "$ADDR_A:$SPORT" \
			-conv $((LCONV ^ 0x5a5a5a5a)) -count 3 > "$WORK/f6f.out" 2>&1
		in_b "$H" icmp -dst "$ADDR_B:0" -qsrc "$ADDR_B:$LPORT" -qdst "$ADDR_A:$SPORT" \
			-paylen 4 -conv 0xdeadbeef -count 3 >> "$WORK/f6f.out" 2>&1
		for t in 1 2 3; do
			sleep 0.3
			diag "  $t: $(in_b awk -v p="$(printf '%04X' "$LPORT")" 'NR > 1 { n = split($2, a, ":"); if (a[n] == p) print "st", $4, "snd_queue", $10, "snd_buf", $11, "rto", $14 }' /proc/net/kcp) $(why_gone)"
		done
		st=gone
		lingers "$NS_B" kcp "$LPORT" && st=04
		diag "6 forged ICMP sent ($(grep -c 'icmp_sent=3' "$WORK/f6f.out") of 2 runs whole); b before: $i0 $w0"
		diag "b after: $(icmp_in "$NS_B") $(why_gone)"
		if [ "$st" = 04 ]; then
			ok "forged ICMP port unreachable (right ports, wrong conv) leaves a lingering socket alone"
		else
			not_ok "forged ICMP port unreachable (right ports, wrong conv) ended a lingering socket (state now '${st:-gone}')"
		fi
	else
		not_ok "no lingering socket to forge ICMP against (state '$(kcp_state "$NS_B" kcp "$LPORT")' 1 s after close)"
	fi
	# genuine: the client sent to a port nobody has; once a is
	# reachable, its next retransmission meets a port unreachable
	if linger_setup "" noserver; then
		t1=$(date +%s.%N)
		in_a tc qdisc del dev veth-a root
		for _ in $(seq 1 100); do
			lingers "$NS_B" kcp "$LPORT" || break
			sleep 0.1
		done
		st=gone
		lingers "$NS_B" kcp "$LPORT" && st=04
		dt=$(echo "$(date +%s.%N) - $t1" | bc)
		diag "b after the genuine one: $(icmp_in "$NS_B") $(why_gone)"
		[ "$st" != 04 ] &&
			ok "a genuine port unreachable (nobody on the port) ends the lingering socket early (${dt%???????} s, linger_ms 30000)" ||
			not_ok "nobody on the port: the lingering socket still lingers after ${dt%???????} s"
	else
		not_ok "no lingering socket for the genuine port unreachable (state '$(kcp_state "$NS_B" kcp "$LPORT")' 1 s after close)"
	fi
	stop_server
	in_a tc qdisc del dev veth-a root 2>/dev/null

	# 6b: ICMPv6 quoting a destination-options header before UDP, with
	# the session's own conv: as good as a genuine port unreachable. To
	# a v6 client whose peer never answered (a is silent), it must show
	# in SO_ERROR (as TCP in SYN-SENT) once parsed at the right offset.
	in_a tc qdisc add dev veth-a root netem loss 100%
	# soerr6 NAME [-ext]: SO_ERROR of a fresh v6 client after the ICMPv6
	soerr6() {
		local cl r
		rm -f "$WORK/go6b"
		bg "$1.c" in_b "$H" client -a "[$ADDR6_A]:9" -soerr -go "$WORK/go6b" -timeout 20
		cl=$BG_PID
		if ! wait_line "$WORK/$1.c.out" '^READY' 10; then
			kill "$cl" 2>/dev/null
			echo "none"
			return
		fi
		in_b "$H" icmp -dst "[$ADDR6_B]:0" -qdst "[$ADDR6_A]:9" \
			-qsrc "[$ADDR6_B]:$(sed -n 's/^PORT //p' "$WORK/$1.c.out")" \
			-conv "$(sed -n 's/^READY conv=//p' "$WORK/$1.c.out")" $2 -count 1 > "$WORK/$1.out" 2>&1
		sleep 0.5
		touch "$WORK/go6b"
		wait "$cl"
		r=$(grep ^RESULT "$WORK/$1.c.out")
		kv "$r" soerr none
	}
	e=$(soerr6 f6b -ext)
	[ "$e" = 111 ] &&
		ok "ICMPv6 port unreachable quoting a destination-options header before UDP is parsed (SO_ERROR ECONNREFUSED)" ||
		not_ok "ICMPv6 port unreachable quoting a destination-options header before UDP: SO_ERROR $e (want 111 ECONNREFUSED): the UDP header is read right after the fixed header"
	e=$(soerr6 f6b0)
	[ "$e" = 111 ] &&
		ok "control: the same ICMPv6 without the extension header sets SO_ERROR ECONNREFUSED" ||
		not_ok "control: the same ICMPv6 without the extension header: SO_ERROR $e (want 111)"
	diag "b: $(icmp_in "$NS_B") $(why_gone)"
	stop_server
	in_a tc qdisc del dev veth-a root 2>/dev/null
	in_a sysctl -qw net.kcp.timewait_ms=3000
	in_b sysctl -qw net.kcp.dead_link=20
	in_b ip neigh del "$ADDR_A" dev veth-b
	in_b ip neigh del "$ADDR6_A" dev veth-b
fi

# ---------------------------------------------------------------------
# 3: memory
memhog_run() {	# NAME PREFIX-CMD... -- memhog args
	local name=$1 pid
	shift
	bg "$name" "$@"
	pid=$BG_PID
	wait_line "$WORK/$name.out" '^HOLDING\|^FAIL' 90 "$pid" ||
		diag "$name: no result ($(kill -0 "$pid" 2>/dev/null && echo 'none in 90 s' || echo 'the program died'))"
	MEMHOG_PID=$pid
}
if want f3a; then
	# (a) 32 pairs of uid 65534, windows 32768, writing without reading
	pairs=32
	cap=$((3 << 20))
	for s in rmem wmem; do
		gsysctl net.kcp.$s "4096 65536 262144" ||
			not_ok "net.kcp.$s missing (global sysctl \"min default max\")"
	done
	memhog_run f3a ip netns exec "$NS_A" "$H" memhog -pairs $pairs -wnd 32768,32768 \
		-cap $cap -secs 20 -uid $NOBODY
	grep '^#' "$WORK/f3a.out"
	r=$(grep ^RESULT "$WORK/f3a.out")
	diag "${r#RESULT }"
	read -r _ mem3 < <(awk '$1 == "KCP" { print $3, $4 }' /proc/net/protocols)
	diag "/proc/net/protocols KCP memory column: ${mem3:-none} pages"
	kill "$MEMHOG_PID" 2>/dev/null
	wait "$MEMHOG_PID" 2>/dev/null
	written=$(kv "$r" written 0)
	[ "$(kv "$r" eagain 0)" = $pairs ] &&
		ok "uid $NOBODY, $pairs pairs with windows 32768 that never read: every non-blocking writer gets EAGAIN ($((written / pairs / 1024)) KiB pinned per pair)" ||
		not_ok "uid $NOBODY, $pairs pairs with windows 32768 that never read: $(kv "$r" eagain 0) writers got EAGAIN, $(kv "$r" capped 0) wrote $((cap >> 20)) MiB without blocking"
	[ "$(kv "$r" max_rmem_alloc 0)" -gt 0 ] && [ "$(kv "$r" max_wmem_queued 0)" -gt 0 ] &&
		[ "$(kv "$r" rmem_over 1)" = 0 ] && [ "$(kv "$r" wmem_over 1)" = 0 ] &&
		ok "SO_MEMINFO: rmem_alloc (max $(kv "$r" max_rmem_alloc)) <= rcvbuf and wmem_queued (max $(kv "$r" max_wmem_queued)) <= sndbuf, + one segment (8 KiB)" ||
		not_ok "SO_MEMINFO: max rmem_alloc $(kv "$r" max_rmem_alloc) ($(kv "$r" rmem_over) over rcvbuf by $(kv "$r" rmem_over_by)), max wmem_queued $(kv "$r" max_wmem_queued) ($(kv "$r" wmem_over) over sndbuf by $(kv "$r" wmem_over_by)): not charged to the socket"
	bufs=$(kv "$r" bufs_kb 0)
	lim=$((bufs * 13 / 10 + 8192))
	grow=$(kv "$r" slab_growth_kb 999999)
	[ "$grow" -le "$lim" ] &&
		ok "Slab grew $grow kB for $pairs pairs: within 1.3 x their buffers ($bufs kB) + 8 MiB" ||
		not_ok "Slab grew $grow kB for $pairs pairs: over 1.3 x their buffers ($bufs kB) + 8 MiB = $lim kB"
fi

if want f3b; then
	# (b) the same in a memory cgroup with memory.max=32M
	CG=$WORK/cg
	mkdir -p "$CG"
	if ! mount -t cgroup2 none "$CG" 2>/dev/null; then
		skip "memory cgroup charging" "cannot mount cgroup2"
		CG=
	elif ! echo +memory > "$CG/cgroup.subtree_control" 2>/dev/null ||
		! mkdir "$CG/hostile" || ! echo 32M > "$CG/hostile/memory.max"; then
		skip "memory cgroup charging" "no memory controller"
	else
		echo 0 > "$CG/hostile/memory.swap.max" 2>/dev/null
		for s in rmem wmem; do
			gsysctl net.kcp.$s "4096 131072 4194304"
		done
		pairs=16
		cap=$((6 << 20))
		# the most socket memory charged while it runs: once the OOM
		# killer ends the program its sockets close, and with unread
		# data they reset, which frees it all at once
		echo 0 > "$WORK/f3b.sock"
		(while sleep 0.1; do
			v=$(awk '$1 == "sock" { print $2 }' "$CG/hostile/memory.stat")
			[ "${v:-0}" -gt "$(cat "$WORK/f3b.sock")" ] && echo "$v" > "$WORK/f3b.sock"
		done) &
		sampler=$!
		memhog_run f3b sh -c "echo \$\$ > $CG/hostile/cgroup.procs && exec ip netns exec $NS_A $H memhog -pairs $pairs -wnd 32768,32768 -cap $cap -secs 20 -uid $NOBODY"
		kill "$sampler" 2>/dev/null
		wait "$sampler" 2>/dev/null
		grep '^#' "$WORK/f3b.out"
		r=$(grep ^RESULT "$WORK/f3b.out")
		[ -n "$r" ] && diag "${r#RESULT }"
		sock=$(cat "$WORK/f3b.sock")
		cur=$(cat "$CG/hostile/memory.current")
		peak=$(cat "$CG/hostile/memory.peak" 2>/dev/null || echo "$cur")
		oom=$(awk '$1 == "oom_kill" { print $2 }' "$CG/hostile/memory.events")
		diag "cgroup: memory.current $cur, memory.peak $peak, memory.stat sock $sock, oom_kill $oom, Slab growth $(kv "$r" slab_growth_kb ?) kB"
		alive=0
		kill -0 "$MEMHOG_PID" 2>/dev/null && grep -q '^HOLDING' "$WORK/f3b.out" && alive=1
		kill "$MEMHOG_PID" 2>/dev/null
		wait "$MEMHOG_PID" 2>/dev/null
		[ "${sock:-0}" -gt $((1 << 20)) ] &&
			ok "memory cgroup charged for the KCP pairs: memory.stat sock up to $sock" ||
			not_ok "memory cgroup not charged: memory.stat sock ${sock:-none} while the pairs pinned $(kv "$r" slab_growth_kb) kB of Slab"
		# The writers stop: EAGAIN, or, as for TCP, the memcg OOM killer
		# (a socket charge in task context may invoke it at memory.max;
		# kcp.rst). Forced charges may overshoot the limit by a little.
		[ "$(kv "$r" capped 0)" = 0 ] &&
			{ [ "$(kv "$r" eagain 0)" = $pairs ] || [ "${oom:-0}" -gt 0 ]; } &&
			ok "in the 32M cgroup no writer wrote $((cap >> 20)) MiB: $(kv "$r" eagain 0) of $pairs got EAGAIN, oom_kill ${oom:-0}" ||
			not_ok "in the 32M cgroup $(kv "$r" eagain 0) of $pairs writers got EAGAIN/ENOBUFS, oom_kill ${oom:-0} ($(kv "$r" capped 0) wrote $((cap >> 20)) MiB unblocked)"
		[ "$peak" -le $((34 << 20)) ] &&
			ok "memory.peak $peak <= memory.max 32M + 2M (program alive $alive, oom_kill ${oom:-0})" ||
			not_ok "memory.peak $peak over memory.max 32M + 2M, oom_kill ${oom:-?}, program alive $alive"
		for _ in $(seq 1 20); do
			rmdir "$CG/hostile" 2>/dev/null && break
			sleep 0.2
		done
	fi
	[ -n "$CG" ] && umount "$CG" 2>/dev/null
	CG=
fi

if want f3c; then
	# (c) net.kcp.mem pressure
	for s in rmem wmem; do
		gsysctl net.kcp.$s "4096 65536 262144"
	done
	gsysctl net.kcp.mem "256 512 1024" ||
		not_ok "net.kcp.mem missing (global sysctl \"min pressure max\" in pages)"
	n=$((1 << 20))
	[ -n "$quick" ] && n=$((512 << 10))
	# f3b's writers that the cgroup's OOM killer ended leave orphans
	# lingering (up to linger_ms) with their memory, and net.kcp.mem is
	# global: start once they are gone, or they starve these transfers
	for _ in $(seq 1 120); do
		read -r so pg < <(awk '$1 == "KCP" { print $3, $4 }' /proc/net/protocols)
		[ "${pg:-0}" -le 16 ] && break
		sleep 0.5
	done
	diag "f3c starts with KCP memory ${pg:-?} pages, ${so:-?} sockets"
	in_a "$H" memxfer -pairs 8 -n $n -wnd 1024,1024 -preset 4 -secs 120 > "$WORK/f3c.out" 2>&1
	grep '^#' "$WORK/f3c.out" | tail -n 6
	r=$(grep ^RESULT "$WORK/f3c.out")
	pk=$(kv "$r" peak_pages -1)
	[ "$(kv "$r" complete 0)" = 8 ] &&
		ok "net.kcp.mem 256 512 1024: 8 transfers of $((n >> 10)) KiB complete byte-exact under pressure ($(kv "$r" secs) s)" ||
		not_ok "net.kcp.mem 256 512 1024: $(kv "$r" complete 0) of 8 transfers completed"
	[ "$pk" -ge 0 ] && [ "$pk" -le 1280 ] &&
		ok "KCP memory in /proc/net/protocols peaked at $pk pages (max 1024 + 25 %)" ||
		not_ok "KCP memory in /proc/net/protocols peaked at $pk pages (max 1024 + 25 %; -1: not accounted)"
fi

if want f3d; then
	# (d) orphans
	M=12 N=4
	in_b sysctl -qw net.kcp.linger_ms=10000 net.kcp.dead_link=1000
	if ! in_b sysctl -qw net.kcp.max_orphans=$N 2>/dev/null; then
		not_ok "net.kcp.max_orphans missing (per-namespace sysctl)"
	fi
	of0=$(snmp "$NS_B" OrphanOverflow)
	if start_server f3d in_a "$H" server -a "$ADDR_A:0" -mode hold; then
		rm -f "$WORK/go3d"
		bg f3d.c in_b timeout 60 "$H" orphans -a "$ADDR_A:$SERVER_PORT" -m $M -cap 262144 -go "$WORK/go3d"
		wait_line "$WORK/f3d.c.out" '^CONNECTED' 20
		sleep 0.5
		# a black hole: nothing b sends arrives any more
		in_b tc qdisc add dev veth-b root netem loss 100%
		touch "$WORK/go3d"
		wait "$BG_PID"
		sleep 0.5
		lg=$(in_b awk 'NR > 1 && $4 == "04"' /proc/net/kcp | wc -l)
		of1=$(snmp "$NS_B" OrphanOverflow)
		in_b awk 'NR > 1 && NR <= 4 { print "#   b:", $1, $2, $3, "state", $4, "snd_queue", $10, "snd_buf", $11 }' /proc/net/kcp
		in_a awk 'NR > 1 && NR <= 4 { print "#   a:", $1, $2, $3, "state", $4, "rcv_queue", $12, "rcv_buf", $13 }' /proc/net/kcp
		diag "b's counters: $(in_b awk '$2 != 0 { printf "%s %s ", $1, $2 }' /proc/net/kcp_snmp)"
		diag "closed $(res "$WORK/f3d.c.out" closed) sockets with $(res "$WORK/f3d.c.out" written) bytes unacknowledged (black hole): $lg lingering, OrphanOverflow $of0 -> $of1"
		[ "$lg" -le $N ] && [ "$of0" -ge 0 ] && [ $((of1 - of0)) -ge $((M - N)) ] &&
			ok "net.kcp.max_orphans $N: $M closed with data left, $lg linger, OrphanOverflow +$((of1 - of0))" ||
			not_ok "net.kcp.max_orphans $N: $M closed with data left, $lg linger (want <= $N), OrphanOverflow $of0 -> $of1"
		in_b tc qdisc del dev veth-b root
		stop_server
	else
		not_ok "orphan test server did not start"
	fi
	in_b sysctl -qw net.kcp.linger_ms=30000 net.kcp.dead_link=20
fi

if want f3e; then
	# (e) FEC: 300 parity shards that never complete a group, from the
	# client's own address, wait in the server's decoder: charged to its
	# receive memory, and no more than its SO_RCVBUF holds
	in_a "$H" fecfill -n 300 > "$WORK/f3e.out" 2>&1
	r=$(grep ^RESULT "$WORK/f3e.out")
	diag "f3e (default rcvbuf): ${r#RESULT }"
	held=$(($(kv "$r" rmem1 0) - $(kv "$r" rmem0 0)))
	# all 300 if the buffer holds them (f3a may have lowered rmem's max)
	want=$((290 * 1400))
	[ "$want" -gt $(($(kv "$r" rcvbuf 0) / 2)) ] && want=$(($(kv "$r" rcvbuf 0) / 2))
	[ "$(kv "$r" sent)" = 300 ] && [ "$held" -ge "$want" ] &&
		[ "$(kv "$r" rmem1 0)" -le "$(kv "$r" rcvbuf 0)" ] &&
		ok "FEC decoder: 300 waiting parity shards are receive memory (rmem_alloc +$held, rcvbuf $(kv "$r" rcvbuf))" ||
		not_ok "FEC decoder memory not charged to the socket: rmem_alloc +$held for 300 shards of 1400 bytes: ${r#RESULT } $(cat "$WORK/f3e.out" | grep -v ^RESULT)"
	in_a "$H" fecfill -n 300 -rcvbuf 65536 > "$WORK/f3e2.out" 2>&1
	r=$(grep ^RESULT "$WORK/f3e2.out")
	diag "f3e (SO_RCVBUF 65536): ${r#RESULT }"
	[ "$(kv "$r" rmem1 -1)" -ge 0 ] &&
		[ "$(kv "$r" rmem1)" -le $(($(kv "$r" rcvbuf 0) + 2048)) ] &&
		[ "$(kv "$r" rcvbuf_drop 0)" -gt 0 ] &&
		ok "FEC decoder: within SO_RCVBUF (rmem_alloc $(kv "$r" rmem1) of $(kv "$r" rcvbuf), RcvbufDrop +$(kv "$r" rcvbuf_drop))" ||
		not_ok "FEC decoder beyond SO_RCVBUF or not counted: ${r#RESULT }"
fi

# ---------------------------------------------------------------------
# 4b: 20,000 first datagrams from spoofed sources; the sessions expire
if want f4b; then
	NF=$([ -n "$quick" ] && echo 5000 || echo 20000)
	UT=5000
	if ! in_a sysctl -qw net.kcp.unconfirmed_timeout_ms=$UT 2>/dev/null; then
		not_ok "net.kcp.unconfirmed_timeout_ms missing (per-namespace sysctl)"
	fi
	in_a sysctl -qw net.core.somaxconn=65535
	in_a ip route add 10.99.0.0/16 via "$ADDR_B"	# replies go nowhere
	in_b sysctl -qw net.ipv4.ip_forward=0
	if start_server f4b in_a "$H" server -a "$ADDR_A:0" -mode acceptall -backlog 65535; then
		FPORT=$SERVER_PORT
		FPID=$SERVER_PID
		SERVER_PID=
		SRV_PIDS="$SRV_PIDS $FPID"
		ttl=$((UT / 1000 + 30))
		bg f4t in_b "$H" client -a "$ADDR_A:$FPORT" -trickle -timeout $ttl
		trickle=$BG_PID
		wait_line "$WORK/f4t.out" '^PORT' 10
		tport=$(sed -n 's/^PORT //p' "$WORK/f4t.out")
		sleep 1
		s0=$(snmp "$NS_A" Sessions)
		po0=$(snmp "$NS_A" PassiveOpens)
		ue0=$(snmp "$NS_A" UnconfirmedExpired)
		slab0=$(awk '$1 == "Slab:" { print $2 }' /proc/meminfo)
		bg f4s in_b "$H" spoofirst -dst "$ADDR_A:$FPORT" -n "$NF" -pps 4000 -net 10.99
		spoofer=$BG_PID
		curve=
		peak=0
		back=
		tend=
		tf0=$SECONDS
		while sleep 1; do
			el=$((SECONDS - tf0))
			s=$(snmp "$NS_A" Sessions)
			sl=$(awk '$1 == "Slab:" { print $2 }' /proc/meminfo)
			curve="$curve $el:$s"
			[ "$s" -gt "$peak" ] && peak=$s
			diag "t=${el}s sessions=$s slab_kb=$sl"
			if [ -z "$tend" ] && ! kill -0 "$spoofer" 2>/dev/null; then
				tend=$el
			fi
			if [ -n "$tend" ] && [ "$s" -le "$s0" ] && [ "$peak" -gt "$s0" ]; then
				back=$el
				break
			fi
			[ -n "$tend" ] && [ $((el - tend)) -ge $((UT / 1000 + 12)) ] && break
			[ "$el" -ge 200 ] && break
		done
		wait "$spoofer"
		diag "spoofer: $(grep ^RESULT "$WORK/f4s.out")"
		diag "Sessions curve (seconds:sessions from the flood's start):$curve"
		diag "a's counters: $(in_a awk '$1 ~ /^(PassiveOpens|AcceptOverflow|SessionLimit|SessionRateLimit|KCPInErrors|NoMem|TimeWaitDrop)$/ { printf "%s %s ", $1, $2 }' /proc/net/kcp_snmp)(not deltas)"
		po1=$(snmp "$NS_A" PassiveOpens)
		ue1=$(snmp "$NS_A" UnconfirmedExpired)
		made=$((po1 - po0))
		sleep 1
		slab1=$(awk '$1 == "Slab:" { print $2 }' /proc/meminfo)
		[ "$made" -gt 0 ] &&
			ok "$NF spoofed first datagrams made $made sessions (peak $peak in the namespace)" ||
			not_ok "$NF spoofed first datagrams made no session"
		if [ -n "$back" ]; then
			ok "the spoofed sessions expired: Sessions back to $s0 ${back} s after the flood began (flood $tend s, unconfirmed_timeout_ms $UT)"
		else
			not_ok "the spoofed sessions did not expire: Sessions $(snmp "$NS_A" Sessions) $((UT / 1000 + 12)) s after the flood (was $s0 before, unconfirmed_timeout_ms $UT)"
		fi
		[ "$ue0" -ge 0 ] && [ $((ue1 - ue0)) -ge $((made * 9 / 10)) ] && [ "$made" -gt 0 ] &&
			ok "UnconfirmedExpired +$((ue1 - ue0)) for $made sessions" ||
			not_ok "UnconfirmedExpired $ue0 -> $ue1 for $made sessions"
		[ $((slab1 - slab0)) -le 8192 ] &&
			ok "Slab back to baseline: $slab0 -> $slab1 kB (+8 MiB allowed)" ||
			not_ok "Slab not back to baseline: $slab0 -> $slab1 kB (+$(((slab1 - slab0) / 1024)) MiB) after the spoofed sessions"
		tst=$(in_a awk -v p="$(printf '%04X' "$tport")" \
			'NR > 1 { n = split($3, a, ":"); if (a[n] == p) { print $4; exit } }' /proc/net/kcp)
		wait "$trickle"
		tr=$(grep ^RESULT "$WORK/f4t.out")
		[ "$tst" = 01 ] && [ "$(kv "$tr" ok)" = 1 ] &&
			ok "a real peer that keeps talking is not expired (its session established all along, $(kv "$tr" sent) bytes sent)" ||
			not_ok "the real peer's session: state '${tst:-gone}', ${tr#RESULT }"
		kill "$FPID" 2>/dev/null
		wait "$FPID" 2>/dev/null
	else
		not_ok "acceptall server did not start"
	fi
	in_a ip route del 10.99.0.0/16 2>/dev/null
fi

# ---------------------------------------------------------------------
# 4c: the peer's answer to the first WASK is lost, then the peer waits
# in silence for a slow server: the session must outlive the
# unconfirmed timeout (the child asks again), not expire under it.
if want f4c; then
	UT=3000
	in_a sysctl -qw net.kcp.unconfirmed_timeout_ms=$UT
	if ! command -v nft > /dev/null || ! { modprobe -q nf_tables 2>/dev/null;
		in_b nft add table inet hostile4c 2>/dev/null; }; then
		skip "a lost WINS does not end a live session" "nf_tables not usable in this guest"
	elif start_server f4c in_a "$H" server -a "$ADDR_A:0" -mode send -n 65536 \
		-delay $((UT * 2 / 1000)); then
		# the first WINS (cmd 84 at UDP payload byte 4) b sends is dropped
		in_b nft add chain inet hostile4c out '{ type filter hook output priority 0; }'
		in_b nft add rule inet hostile4c out udp dport "$SERVER_PORT" \
			@th,96,8 0x54 quota until 100 bytes counter drop
		ue0=$(snmp "$NS_A" UnconfirmedExpired)
		in_b "$H" client -a "$ADDR_A:$SERVER_PORT" -recvtest -n 65536 \
			-timeout $((UT * 4 / 1000)) > "$WORK/f4c.c" 2>&1
		ue1=$(snmp "$NS_A" UnconfirmedExpired)
		dropped=$(in_b nft list chain inet hostile4c out | grep -o 'packets [0-9]*')
		in_b nft delete table inet hostile4c
		r=$(grep -m1 '^RESULT kind=waitall' "$WORK/f4c.c")
		diag "f4c: nft $dropped (the first WINS), UnconfirmedExpired $ue0 -> $ue1, client: ${r#RESULT }"
		if [ "$dropped" != "packets 1" ]; then
			not_ok "a lost WINS: the nft rule dropped '${dropped:-nothing}', not the first WINS"
		elif [ "$(kv "$r" intact)" = 1 ] && [ "$ue1" = "$ue0" ]; then
			ok "a lost WINS, then $((UT * 2 / 1000)) s of silence (unconfirmed_timeout_ms $UT): the child asked again and the 64 KiB answer arrived"
		else
			not_ok "a lost WINS ended a live session in its silence: ${r#RESULT }, UnconfirmedExpired $ue0 -> $ue1"
		fi
		stop_server
	else
		in_b nft delete table inet hostile4c
		not_ok "f4c server did not start"
	fi
	in_a sysctl -qw net.kcp.unconfirmed_timeout_ms=10000
fi

diag "hostile.sh took $(($(date +%s) - t_start)) s"
tap_end
