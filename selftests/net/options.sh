#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Operability: every SOL_KCP option and the standard socket options
# (build/net/options: set, get, EINVAL/ENOPROTOOPT/EISCONN, the effect on the wire
# against a plain UDP socket), then the net.kcp.* sysctls: defaults of a
# new socket per network namespace, range checks, max_sessions,
# max_listener_sessions, new_sessions_per_sec, wnd_max, and how long
# closed sessions stay in /proc/net/kcp (timewait_ms, linger_ms), and
# SOCK_SEQPACKET against kcp-go's message mode.
# Usage: options.sh [quick]   (quick: without the range sweep of every
# sysctl and the timewait/linger timings)

. "$(dirname "$0")/lib.sh"

quick=
[ "${1:-}" = quick ] && quick=1

OPTS=${KCP_OPTS:-$TOP/build/net/options}
SYS=/proc/sys/net/kcp
HOLD_PID=
trap 'kill $HOLD_PID 2>/dev/null; stop_server; ip netns del "kcp-c-$$" 2>/dev/null; ns_cleanup; rm -rf "$WORK"' EXIT
ns_setup

# ---- the socket options: the options program's TAP, renumbered into ours ----
t0=$(date +%s)
in_a "$OPTS" > "$WORK/opts.out" 2>&1
rc=$?
while IFS= read -r line; do
	case $line in
	"ok "*) ok "${line#ok * - }" ;;
	"not ok "*) not_ok "${line#not ok * - }" ;;
	"1.."*) ;;
	*) echo "$line" ;;
	esac
done < "$WORK/opts.out"
grep -q '^1\.\.' "$WORK/opts.out" || not_ok "the options program did not finish (exit $rc)"
diag "the options program took $(($(date +%s) - t0)) s"

# ---- sysctls ----
# Under TCG every process costs: each step below runs in one process.
nsname() { case $1 in a) echo "$NS_A" ;; b) echo "$NS_B" ;; *) echo "$1" ;; esac; }
# in_ns NS FUNC ARGS...: a function of this script, run inside NS
in_ns() {
	local ns=$1 fn=$2
	shift 2
	ip netns exec "$(nsname "$ns")" bash -c \
		"$(declare -f "$fn"); SYS=$SYS; SYSCTLS='$SYSCTLS'; $fn \"\$@\"" _ "$@"
}
# "name value" for every net.kcp.* of the namespace
sc_dump() {
	local f v
	for f in "$SYS"/*; do
		read -r v < "$f"
		echo "${f##*/} $v"
	done
}
# sc_set_many NAME=VALUE...: prints "FAIL NAME=VALUE" for a refused write
sc_set_many() {
	local kv
	for kv; do
		{ echo "${kv#*=}" > "$SYS/${kv%%=*}"; } 2>/dev/null ||
			echo "FAIL $kv"
	done
}
# out-of-range writes fail with EINVAL and change nothing; the bounds
# are taken. One line per sysctl: "NAME" or "NAME problems...".
sc_range() {
	local name lo hi def v errs msg cur
	while read -r name lo hi def; do
		errs=
		for v in $((lo - 1)) $((hi + 1)) abc; do
			if { echo "$v" > "$SYS/$name"; } 2> /tmp/sc_err.$$; then
				errs="$errs $v:accepted"
			else
				read -r msg < /tmp/sc_err.$$
				[[ $msg == *"Invalid argument"* ]] ||
					errs="$errs $v:'$msg'"
			fi
			read -r cur < "$SYS/$name"
			[ "$cur" = "$def" ] || errs="$errs $v:changed"
		done
		for v in $lo $hi; do
			{ echo "$v" > "$SYS/$name"; } 2>/dev/null || errs="$errs $v:refused"
			read -r cur < "$SYS/$name"
			[ "$cur" = "$v" ] || errs="$errs $v:reads-$cur"
		done
		echo "$def" > "$SYS/$name"
		echo "$name$errs"
	done <<< "$SYSCTLS"
	rm -f /tmp/sc_err.$$
}
sc_set() { [ -z "$(in_ns "$1" sc_set_many "$2=$3")" ]; }
# SNMP counters of namespace a into SN[]
declare -A SN
snmp_snap() {
	local k v
	SN=()
	while read -r k v; do SN[$k]=$v; done <<< "$(in_a cat /proc/net/kcp_snmp)"
}
# dump_get DUMP NAME: NAME's value in "name value" lines
dump_get() {
	local k v
	while read -r k v; do
		[ "$k" = "$2" ] && { echo "$v"; return; }
	done <<< "$1"
}

# name lo hi default
SYSCTLS="nodelay 0 1 0
interval 10 5000 100
resend 0 65536 0
nc 0 1 0
snd_wnd 1 32768 32
rcv_wnd 1 32768 32
wnd_max 1 65535 32768
mtu 50 1500 1400
stream 0 1 1
ack_nodelay 0 1 0
ack_early 0 1 1
dead_link 1 1000 20
min_rto 0 60000 0
idle_timeout_ms 0 86400000 0
linger_ms 0 86400000 30000
timewait_ms 0 86400000 3000
unconfirmed_timeout_ms 0 86400000 10000
connect_timeout_ms 0 86400000 15000
session_ext 0 1 1
keepalive_time 1 32767 7200
keepalive_intvl 1 32767 75
keepalive_probes 1 127 9
max_orphans 0 16777216 4096
fec_data 0 254 0
fec_parity 0 254 0
max_sessions 0 16777216 1048576
max_listener_sessions 0 16777216 1048576
new_sessions_per_sec 0 16777216 1000"
ALL_DEFAULTS=$(echo "$SYSCTLS" | awk '{ print $1 "=" $4 }')
NSYSCTL=$(echo "$SYSCTLS" | wc -l)

if ! in_a test -d "$SYS"; then
	skip "net.kcp.* sysctls" "not implemented"
	tap_end
	exit
fi
# rate_burst N WHAT: first packets from N new peers against a limit of
# 5 new sessions per second (a burst of 5): 5..7 sessions, the rest counted
rate_burst() {
	local n=$1 what=$2 p r

	snap
	in_b "$OPTS" firsts $ADDR_A "$HOLD_PORT" "$n" > /dev/null
	sleep 0.2
	snmp_snap
	p=$(delta PassiveOpens) r=$(delta SessionRateLimit)
	[ "$p" -ge 5 ] && [ "$p" -le 7 ] && [ "$r" -eq $((n - p)) ] &&
		ok "net.kcp.new_sessions_per_sec 5: $what $n new peers -> $p sessions, SessionRateLimit +$r" ||
		not_ok "net.kcp.new_sessions_per_sec 5: $what $n new peers -> $p sessions, SessionRateLimit +$r"
}

t1=$(date +%s)

# defaults, in both namespaces
bad=
for ns in a b; do
	dump=$(in_ns $ns sc_dump)
	n=0
	while read -r name lo hi def; do
		v=$(dump_get "$dump" "$name")
		[ "$v" = "$def" ] || bad="$bad $ns:$name=$v(want $def)"
	done <<< "$SYSCTLS"
	while read -r name v; do n=$((n + 1)); done <<< "$dump"
	[ "$n" = "$NSYSCTL" ] || bad="$bad $ns:$n-entries"
done
[ -z "$bad" ] && ok "all $NSYSCTL net.kcp.* present with their defaults in both namespaces" ||
	not_ok "net.kcp.* defaults:$bad"

if [ -n "$quick" ]; then
	SYSCTLS_RANGE=$(echo "$SYSCTLS" | grep -E '^(interval|mtu|max_sessions) ')
else
	SYSCTLS_RANGE=$SYSCTLS
fi
RANGES=$(SYSCTLS=$SYSCTLS_RANGE in_ns a sc_range)
while read -r name lo hi def; do
	errs=$(dump_get "$RANGES" "$name")
	lohi="$((lo - 1)), $((hi + 1)) and abc -> EINVAL; $lo and $hi"
	grep_ok=
	while read -r k rest; do [ "$k" = "$name" ] && grep_ok=1; done <<< "$RANGES"
	[ -n "$grep_ok" ] && [ -z "$errs" ] && ok "net.kcp.$name: $lohi taken" ||
		not_ok "net.kcp.$name range: ${errs:-no answer}"
done <<< "$SYSCTLS_RANGE"

# a value set in a is a's new sockets' default, and only a's
DEFAULTS_B=$(in_b "$OPTS" defaults)
SET_A="nodelay=1 interval=33 resend=3 nc=1 snd_wnd=111 rcv_wnd=222 mtu=1000
ack_nodelay=1 dead_link=7 min_rto=77 idle_timeout_ms=4444 linger_ms=5555
fec_data=4 fec_parity=2 stream=0"
# shellcheck disable=SC2086
fail=$(in_ns a sc_set_many $SET_A)
[ -z "$fail" ] || not_ok "net.kcp.* writes refused: $fail"
DEFAULTS_A=$(in_a "$OPTS" defaults)
diag "new socket in a: $DEFAULTS_A"
for kv in $SET_A; do
	k=${kv%%=*}
	got=$(kv "$DEFAULTS_A" "$k")
	[ "$got" = "${kv#*=}" ] &&
		ok "net.kcp.$kv in a: a new socket in a starts with $k $got" ||
		not_ok "net.kcp.$kv in a: a new socket in a has $k $got"
done
got=$(kv "$DEFAULTS_A" seq_stream)
[ "$got" = 0 ] && ok "SOCK_SEQPACKET stays message mode (stream $got)" ||
	not_ok "SOCK_SEQPACKET stream $got"
DEFAULTS_B2=$(in_b "$OPTS" defaults)
dump=$(in_ns b sc_dump)
bad=
for kv in $SET_A; do
	[ "$(dump_get "$dump" "${kv%%=*}")" = "${kv#*=}" ] && bad="$bad ${kv%%=*}"
done
[ -z "$bad" ] && [ "$DEFAULTS_B2" = "$DEFAULTS_B" ] &&
	ok "namespace b sees none of it: its sysctls and new sockets keep the defaults" ||
	not_ok "namespace b affected:$bad / $DEFAULTS_B2"
diag "new socket in b: $DEFAULTS_B2"
[ "$(kv "$DEFAULTS_B2" interval)/$(kv "$DEFAULTS_B2" mtu)/$(kv "$DEFAULTS_B2" rcv_wnd)" = 100/1400/32 ] &&
	ok "a new socket in b: interval 100, mtu 1400, rcv_wnd 32 (kcp-go)" ||
	not_ok "a new socket in b: $DEFAULTS_B2"
ip netns add "kcp-c-$$"
got=$(ip netns exec "kcp-c-$$" cat $SYS/interval)
ip netns del "kcp-c-$$"
[ "$got" = 100 ] && ok "a namespace made afterwards starts from the defaults (interval $got)" ||
	not_ok "a new namespace inherits interval $got"
# shellcheck disable=SC2086
in_ns a sc_set_many $ALL_DEFAULTS
diag "sysctl defaults and ranges took $(($(date +%s) - t1)) s"

# wnd_max bounds KCP_WNDSIZE
sc_set a wnd_max 64
r1=$(in_a "$OPTS" wnd 64 64)
r2=$(in_a "$OPTS" wnd 65 0)
r3=$(in_a "$OPTS" wnd 0 65)
r4=$(in_b "$OPTS" wnd 65 65)
[ "$r1/$r2/$r3/$r4" = "ok/EINVAL/EINVAL/ok" ] &&
	ok "net.kcp.wnd_max 64: KCP_WNDSIZE 64/64 ok, snd 65 or rcv 65 -> EINVAL; b (32768) takes 65" ||
	not_ok "net.kcp.wnd_max 64: 64/64 $r1, 65/0 $r2, 0/65 $r3, b 65/65 $r4"
# ... and the default windows: a write above wnd_max is refused, and a
# wnd_max lowered below them caps what new sockets get
w1=$(in_ns a sc_set_many snd_wnd=65 rcv_wnd=65 snd_wnd=64 rcv_wnd=64 | tr '\n' ' ')
sc_set a wnd_max 40
d=$(in_a "$OPTS" defaults)
r1=$(in_a "$OPTS" wnd 40 40)
r2=$(in_a "$OPTS" wnd 41 0)
[ "$w1" = "FAIL snd_wnd=65 FAIL rcv_wnd=65 " ] &&
	[ "$(kv "$d" snd_wnd)/$(kv "$d" rcv_wnd)/$r1/$r2" = "40/40/ok/EINVAL" ] &&
	ok "net.kcp.snd_wnd/rcv_wnd: 65 above wnd_max 64 -> EINVAL; 64 taken, wnd_max then 40: a new socket has 40/40" ||
	not_ok "net.kcp.snd_wnd/rcv_wnd vs wnd_max: writes '$w1', new socket $(kv "$d" snd_wnd)/$(kv "$d" rcv_wnd), 40/40 $r1, 41 $r2"
in_ns a sc_set_many snd_wnd=32 rcv_wnd=32 wnd_max=32768 > /dev/null
sc_set a wnd_max 32768

# session limits: a listener that never accepts (backlog 64), new peers from b
hold_start() {
	start_server hold in_a "$KCPT" server -a "$ADDR_A:0" -role hold \
		-backlog 64 -timeout 120 || return 1
	HOLD_PORT=$SERVER_PORT
	HOLD_PID=$SERVER_PID
	SERVER_PID=
}
hold_stop() {
	kill "$HOLD_PID" 2>/dev/null
	wait "$HOLD_PID" 2>/dev/null
	HOLD_PID=
}
declare -A before
snap() { snmp_snap; for k in "${!SN[@]}"; do before[$k]=${SN[$k]}; done; }
# after snmp_snap: how much counter NAME grew since snap
delta() { echo $((${SN[$1]} - ${before[$1]})); }

t1=$(date +%s)
# one listener for all three: each limit is set relative to what it has
if hold_start; then
	# the "firsts" peers never answer: keep their sessions while counting
	# (a slow guest can take longer than unconfirmed_timeout_ms here)
	sc_set a unconfirmed_timeout_ms 0
	sc_set a max_listener_sessions 5
	snap
	sent=$(in_b "$OPTS" firsts $ADDR_A "$HOLD_PORT" 20)
	sleep 0.5
	snmp_snap
	p=$(delta PassiveOpens) l=$(delta SessionLimit)
	[ "$p" -eq 5 ] && [ "$l" -eq 15 ] &&
		ok "net.kcp.max_listener_sessions 5: 20 new peers ($sent) -> 5 sessions, SessionLimit +$l" ||
		not_ok "net.kcp.max_listener_sessions 5: 20 new peers ($sent) -> $p sessions, SessionLimit +$l"
	sc_set a max_listener_sessions 1048576

	cur=${SN[Sessions]}
	sc_set a max_sessions $((cur + 4))
	snap
	in_b "$OPTS" firsts $ADDR_A "$HOLD_PORT" 20 > /dev/null
	sleep 0.5
	snmp_snap
	p=$(delta PassiveOpens) l=$(delta SessionLimit) s=${SN[Sessions]}
	# (one of the $cur may end meanwhile: before the burst it frees a
	# place, p = 5; after it, Sessions ends one below the limit)
	[ "$p" -ge 4 ] && [ "$p" -le 5 ] && [ $((p + l)) -eq 20 ] &&
		[ "$s" -le $((cur + 4)) ] && [ "$s" -ge $((cur + 3)) ] &&
		ok "net.kcp.max_sessions $((cur + 4)) with $cur in the namespace: 20 new peers -> $p sessions (Sessions $s), SessionLimit +$l" ||
		not_ok "net.kcp.max_sessions $((cur + 4)) with $cur in the namespace: 20 new peers -> $p sessions (Sessions $s), SessionLimit +$l"
	sc_set a max_sessions 1048576

	sc_set a new_sessions_per_sec 5
	rate_burst 40 "a burst of"
	sleep 1.2
	rate_burst 20 "1.2 s later (refilled), a burst of"
	sc_set a new_sessions_per_sec 1000
	sc_set a unconfirmed_timeout_ms 10000
	hold_stop
else
	not_ok "kcpt hold server did not start"
fi
diag "session limits took $(($(date +%s) - t1)) s"

# ---- SO_MARK and SO_BINDTODEVICE reach the UDP datagrams ----
t1=$(date +%s)
# marked datagrams to b are unroutable; vx0 is a link with nobody on it
in_a ip rule add fwmark 0x77 lookup 77 &&
	in_a ip route add unreachable $ADDR_B table 77 &&
	in_a ip link add vx0 type veth peer name vx1 &&
	in_a ip link set vx0 up && in_a ip link set vx1 up ||
	diag "policy routing / second veth not set up"
# one options program run: plain, SO_MARK before / after connect, bound to vx0
# (no process substitution: the guest has no /dev/fd)
out=$(in_a "$OPTS" sendopts $ADDR_B 9 "$NS_B" vx0)
mapfile -t SO <<< "$out"
for l in "${SO[@]}"; do diag "$l"; done
at() { kv "${SO[$1]}" "$2"; }
[ "$(at 0 at_b)" -ge 1 ] && [ "$(at 0 noroute)" = 0 ] &&
	[ "$(at 1 connect)" = EHOSTUNREACH ] && [ "$(at 1 at_b)" = 0 ] &&
	[ "$(at 2 at_b)" = 0 ] && [ "$(at 2 noroute)" -ge 1 ] &&
	ok "SO_MARK 0x77 (ip rule fwmark 0x77: unreachable): set before connect -> EHOSTUNREACH; set after it, none of $(at 2 out_pkts) datagrams reaches b (OutNoRoute +$(at 2 noroute)); unmarked, $(at 0 at_b) reach b" ||
	not_ok "SO_MARK: ${SO[*]:0:3}"
[ "$(at 3 at_b)" = 0 ] && [ "$(at 0 at_b)" -ge 1 ] &&
	ok "SO_BINDTODEVICE vx0 (a veth with nobody on it): none of $(at 3 out_pkts) datagrams reaches b" ||
	not_ok "SO_BINDTODEVICE: ${SO[3]:-no answer}"
diag "SO_MARK/SO_BINDTODEVICE took $(($(date +%s) - t1)) s"

# ---- SOCK_SEQPACKET with kcp-go's message mode ----
t1=$(date +%s)
# kernel -> kcp-go: a multi-fragment message reaches a kcp-go Read whole
SIZES="1 1375 1376 1377 3000 5 10000 44032 20000 2752"
total=0 want=
for m in $SIZES; do total=$((total + m)); want="$want,${m}x1"; done
want=${want#,}
if start_server gosink in_a "$KCPPEER" -mode server -addr "$ADDR_A:0" \
	-role sink -v -idle 2 -sessions 1 -bytes $total -timeout 60; then
	snd=$(in_b "$OPTS" seqsend $ADDR_A "$SERVER_PORT" $SIZES)
	wait "$SERVER_PID"
	SERVER_PID=
	got=$(awk '$1 == "MSGSIZES" { print $3 }' "$WORK/gosink.out")
	res=$(grep '^RESULT' "$WORK/gosink.out")
	[ "$got" = "$want" ] && [ "$(kv "$res" ok)" = 1 ] &&
		ok "SOCK_SEQPACKET -> kcp-go message mode: $(echo $SIZES | wc -w) messages of 1 .. 44032 bytes (32 fragments), one kcp-go Read each, stream intact ($snd)" ||
		not_ok "SOCK_SEQPACKET -> kcp-go: kcp-go read $got, want $want ($snd; ${res:-no RESULT})"
else
	not_ok "kcp-go sink did not start"
fi
# kcp-go -> kernel: kcp-go's Write cuts at the mss, every piece a message
if start_server kseq in_a "$OPTS" seqrecv $ADDR_A 22000; then
	gout=$(in_b "$KCPPEER" -mode client -addr "$ADDR_A:$SERVER_PORT" \
		-role send -msgsize 5000 -bytes 22000 -timeout 30 2>&1 | grep '^RESULT')
	wait "$SERVER_PID"
	SERVER_PID=
	got=$(awk '$1 == "SIZES" { print $2 }' "$WORK/kseq.out")
	recv=$(grep '^RECV' "$WORK/kseq.out")
	want="1376x3,872x1,1376x3,872x1,1376x3,872x1,1376x3,872x1,1376x1,624x1"
	[ "$got" = "$want" ] && [ "$(kv "$recv" intact)" = 1 ] &&
		[ "$(kv "$recv" bytes)" = 22000 ] &&
		ok "kcp-go message mode -> SOCK_SEQPACKET: 5000-byte Writes arrive as messages $got (kcp-go splits at mss 1376), 22000 bytes intact" ||
		not_ok "kcp-go -> SOCK_SEQPACKET: messages $got, want $want ($recv; kcp-go ${gout:-no RESULT})"
else
	not_ok "options seqrecv did not start"
fi
diag "kcp-go message mode took $(($(date +%s) - t1)) s"

if [ -n "$quick" ]; then
	diag "options.sh took $(($(date +%s) - t0)) s"
	tap_end
	exit
fi
t1=$(date +%s)

# how long a closed session stays in /proc/net/kcp
sc_set a timewait_ms 1500
out=$(in_a "$OPTS" timewait)
ms=$(kv "$out" visible_ms)
[ "${ms%.*}" -ge 1300 ] && [ "${ms%.*}" -le 3500 ] && [ "$(kv "$out" state)" = 07 ] &&
	ok "net.kcp.timewait_ms 1500: a closed listener child stays in /proc/net/kcp as 07 for $ms ms" ||
	not_ok "net.kcp.timewait_ms 1500: $out"
sc_set a timewait_ms 0
out=$(in_a "$OPTS" timewait)
ms=$(kv "$out" visible_ms)
[ "${ms%.*}" -ge 0 ] && [ "${ms%.*}" -le 1000 ] &&
	ok "net.kcp.timewait_ms 0: the closed child is gone after $ms ms" ||
	not_ok "net.kcp.timewait_ms 0: $out"
sc_set a timewait_ms 3000
# (a busy host only makes it longer: the upper bounds are loose)
for l in 300 1500; do
	sc_set a linger_ms $l
	out=$(in_a "$OPTS" lingervis)
	ms=$(kv "$out" visible_ms)
	[ "${ms%.*}" -ge $((l - 150)) ] && [ "${ms%.*}" -le $((l + 1200)) ] &&
		[ "$(kv "$out" state)" = 04 ] &&
		ok "net.kcp.linger_ms $l: a closed socket with unacked data lingers (04) for $ms ms" ||
		not_ok "net.kcp.linger_ms $l: $out"
done
sc_set a linger_ms 30000
diag "timewait/linger took $(($(date +%s) - t1)) s"

diag "options.sh took $(($(date +%s) - t0)) s"
tap_end
