#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The in-VM half of 'make demo' (selftests/demo/demo.sh boots the VM and
# runs this once, with the kcp module inserted). Two network namespaces
# joined by veth. The same random file goes from b to a over TCP, over
# AF_KCP and over the userspace kcp-go (build/peers/kcppeer), first on the
# clean link, then with netem on both ends (20 ms each way = 40 ms round
# trip, 5 % loss in each direction); then small paced request/response
# messages over TCP and AF_KCP (kcptun mode DEMO_MODE and fast3) on the
# lossy link. Prints bytes, times, goodput, SHA-256 checks, latency
# percentiles and a summary; exits non-zero if any transfer failed or any
# copy differs from the source.
#
# The tools' own output goes to /tmp/kcp-demo (in the guest), copied to
# $KCP_RESULTS/guest at the end.
#
# Knobs (environment, set by demo.sh): DEMO_SIZE_MIB (file size, default
# 8), DEMO_RR (requests per protocol, default 300), DEMO_RR_GAP (ms between
# requests, default 10), DEMO_MODE (kcptun mode: normal, fast, fast2,
# fast3; default fast), DEMO_CLEAN (0: skip the clean link), DEMO_KCPGO
# (0: skip kcp-go), DEMO_T0 (the host's start, epoch seconds: the clock of
# the [m:ss] marks), KCPT, KCPPEER (the tools).
#
# A process start costs about 0.35 s in the TCG guest: the waiting loops
# use bash builtins only.

set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP" || exit 1
WORK=/tmp/kcp-demo
rm -rf "$WORK"
# shellcheck source=SCRIPTDIR/../net/lib.sh
. "$TOP/selftests/net/lib.sh"
LOG=$WORK/demo.log
: >"$LOG"

num_or() {
	[[ ${1:-} =~ ^[1-9][0-9]*$ ]] && echo "$1" || echo "$2"
}
SIZE_MIB=$(num_or "${DEMO_SIZE_MIB:-}" 8)
SIZE=$((SIZE_MIB * 1048576))
RR_N=$(num_or "${DEMO_RR:-}" 300)
RR_GAP=$(num_or "${DEMO_RR_GAP:-}" 10)
RR_SIZE=64
DELAY_MS=20
LOSS_PCT=5
NETEM="delay ${DELAY_MS}ms loss ${LOSS_PCT}% limit 10000"

# kcptun's modes: nodelay, interval (ms), resend, nc
declare -A MODES=([normal]="0 40 2 1" [fast]="0 30 2 1" [fast2]="1 20 2 1"
	[fast3]="1 10 2 1")
MODE=${DEMO_MODE:-fast}
[[ -n ${MODES[$MODE]:-} ]] || MODE=fast
read -r ND_NODELAY ND_INTERVAL ND_RESEND ND_NC <<<"${MODES[$MODE]}"
WND=1024
MTU=1350
SOCKBUF=4194304
# kcptun's server defaults: --mode fast, --sndwnd 1024 --rcvwnd 1024,
# --mtu 1350, stream mode; kcp-go also gets kcptun's --sockbuf (4 MiB)
# shellcheck disable=SC2034 # used through namerefs (${p^^}_OPTS)
KCP_OPTS=(-preset "$MODE" -wnd "$WND,$WND" -mtu "$MTU")
# shellcheck disable=SC2034
TCP_OPTS=(-tcp)
# request/response also with kcptun's lowest-latency mode, unless that is
# $MODE already
# shellcheck disable=SC2034
K3_OPTS=(-preset fast3 -wnd "$WND,$WND" -mtu "$MTU")
KGO_OPTS=(-preset "$MODE" -sndwnd "$WND" -rcvwnd "$WND" -mtu "$MTU" -stream
	-sockbuf "$SOCKBUF")
NSA=(ip netns exec "$NS_A")
NSB=(ip netns exec "$NS_B")
SRC=$WORK/source.bin

KCPT=${KCPT:-$TOP/build/net/kcpt}
KCPPEER=${KCPPEER:-$TOP/build/peers/kcppeer}
PROTOS=(tcp kcp)
[[ ${DEMO_KCPGO:-1} != 0 && -x $KCPPEER ]] && PROTOS+=(kgo)
LINKS=(lossy)
[[ ${DEMO_CLEAN:-1} != 0 ]] && LINKS=(clean lossy)
declare -A LABEL=([tcp]=TCP [kcp]=AF_KCP [kgo]=kcp-go [k3]=AF_KCP)
RR_PROTOS=(tcp kcp)
[[ $MODE != fast3 ]] && RR_PROTOS+=(k3)
# the request/response rows name the KCP mode
declare -A RLABEL=([tcp]=TCP [kcp]="AF_KCP $MODE" [k3]="AF_KCP fast3")
declare -A LINK_TEXT=([clean]="veth as it is, no delay, no loss"
	[lossy]="$((2 * DELAY_MS)) ms round trip, ${LOSS_PCT} % loss each way")

T0=${DEMO_T0:-}
if ! [[ $T0 =~ ^[0-9]+$ ]] || ((EPOCHSECONDS < T0 || EPOCHSECONDS - T0 > 900)); then
	T0=$EPOCHSECONDS
fi
FAILED=0

# ------------------------------------------------------------------ output

# A step, with the time since the demo started.
step() {
	local s=$((EPOCHSECONDS - T0))

	printf '[%d:%02d] %s\n' $((s / 60)) $((s % 60)) "$*"
	printf '== %s %s\n' "$EPOCHREALTIME" "$*" >>"$LOG"
}

# A detail line under the current step.
detail() {
	printf '       %s\n' "$*"
}

# A timestamped note in the log only (where the time goes).
mark() {
	printf '   %s %s\n' "$EPOCHREALTIME" "$*" >>"$LOG"
}

fail() {
	printf '       FAILED: %s\n' "$*"
	printf 'FAILED: %s\n' "$*" >>"$LOG"
	FAILED=1
}

# The end of a log file, indented.
show_tail() {
	local file=$1 n=${2:-15}

	[[ -s $file ]] || return 0
	printf '       --- last lines of %s ---\n' "$file"
	tail -n "$n" -- "$file" | sed 's/^/       | /'
}

# ------------------------------------------------------------ arithmetic

# dec VAR NUM DEN PLACES: VAR = NUM/DEN rounded to PLACES decimals
dec() {
	local -n _v=$1
	local n=$2 d=$3 p=$4 s=1 q

	while ((p-- > 0)); do
		s=$((s * 10))
	done
	if ((d <= 0)); then
		_v='?'
		return
	fi
	q=$(((2 * n * s + d) / (2 * d)))
	if ((s == 1)); then
		_v=$q
	else
		printf -v _v '%d.%0*d' $((q / s)) $((${#s} - 1)) $((q % s))
	fi
}

# sig3 VAR NUM DEN: NUM/DEN with 3 significant digits (at least 0 places)
sig3() {
	local -n _s=$1

	dec _s "$2" "$3" 2
	[[ ${_s%.*} -ge 10 ]] && dec _s "$2" "$3" 1
	[[ ${_s%.*} -ge 100 ]] && dec _s "$2" "$3" 0
}

# to_int VAR "12.34" PLACES: VAR = 1234 for PLACES 2 (the tools print %.3f)
to_int() {
	local -n _i=$1
	local v=$2 places=$3 int frac

	int=${v%%.*}
	frac=${v#*.}
	[[ $v == *.* ]] || frac=
	while ((${#frac} < places)); do
		frac+=0
	done
	frac=${frac:0:places}
	_i=$((10#${int:-0} * 10 ** places + 10#${frac:-0}))
}

# ------------------------------------------------------- fork-free waits

# stop PID: TERM, then KILL, then reap
stop() {
	kill "$1" 2>/dev/null
	snooze 0.5
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# wait_listen FILE PID: PORT = the port of FILE's "LISTEN <port>" (kcpt) or
# "LISTEN <addr>:<port>" (kcppeer) line
wait_listen() {
	local file=$1 pid=$2 n=300 word

	PORT=
	while ((n-- > 0)); do
		while read -r word PORT; do
			PORT=${PORT##*:}
			[[ $word == LISTEN && $PORT =~ ^[0-9]+$ ]] && return 0
		done <"$file" 2>/dev/null
		PORT=
		alive "$pid" || return 1
		snooze 0.1
	done
	return 1
}

# sha256 VAR FILE
sha256() {
	local -n _h=$1
	local out

	out=$(sha256sum -- "$2" 2>>"$LOG") || out=
	_h=${out%% *}
	[[ $_h =~ ^[0-9a-f]{64}$ ]] || _h=unreadable
}

# ------------------------------------------------------------ the tests

# receiver_cmd PROTO OUT LIMIT / sender_cmd PROTO LIMIT: the receiver in a
# (listening on a free port, storing or checking what arrives), the sender
# in b (to $PORT); CMD is set.
receiver_cmd() {
	case $1 in
	tcp | kcp)
		local -n opts=${1^^}_OPTS
		CMD=("${NSA[@]}" "$KCPT" server "${opts[@]}" -a "$ADDR_A:0"
			-role sink -out "$2" -bytes "$SIZE" -sessions 1 -timeout 60)
		;;
	kgo)
		# checks the bytes against the stream of $SEED (= the file)
		# and prints their sha256. KCP has no FIN: the session ends
		# after -idle s without data (its time is to the last byte).
		# Generous: a loaded host can stall the emulated guest for
		# seconds, and a session that ends early fails the demo.
		CMD=("${NSA[@]}" "$KCPPEER" -mode server -addr "$ADDR_A:0"
			-role sink -bytes "$SIZE" -seed "$SEED" -sessions 1
			-idle 8 -timeout "$3" "${KGO_OPTS[@]}")
		;;
	esac
}

sender_cmd() {
	case $1 in
	tcp | kcp)
		local -n opts=${1^^}_OPTS
		CMD=("${NSB[@]}" "$KCPT" client "${opts[@]}" -a "$ADDR_A:$PORT"
			-role send -file "$SRC" -timeout 60)
		;;
	kgo)
		# kcppeer sends its test stream of $SEED: the file's bytes
		CMD=("${NSB[@]}" "$KCPPEER" -mode client -addr "$ADDR_A:$PORT"
			-role send -bytes "$SIZE" -seed "$SEED" -timeout "$2"
			"${KGO_OPTS[@]}")
		;;
	esac
}

# transfer LINK PROTO LIMIT: send the file from b to a. Sets, under the key
# LINK-PROTO: XFER_MS (the receiver's time from the first packet/accept to
# the last byte), XFER_BYTES, SHA (of the received copy) and VERDICT
# (intact, CORRUPTED or failed).
declare -A XFER_MS XFER_BYTES SHA VERDICT
transfer() {
	local link=$1 proto=$2 limit=$3 name=$1-$2 label=${LABEL[$2]}
	local srv=$WORK/$name-receiver.out cli=$WORK/$name-sender.out
	local out=$WORK/$name.bin spid cpid start next got now crc=0 t g line

	VERDICT[$name]=failed
	: >"$srv"
	receiver_cmd "$proto" "$out" "$limit"
	"${CMD[@]}" >"$srv" 2>&1 &
	spid=$!
	if ! wait_listen "$srv" "$spid"; then
		fail "the $label receiver did not start"
		show_tail "$srv"
		stop "$spid"
		return 1
	fi
	mark "$name: receiver listening on $PORT"
	sender_cmd "$proto" "$limit"
	"${CMD[@]}" >"$cli" 2>&1 &
	cpid=$!
	start=$EPOCHSECONDS
	next=$((start + 10))
	while alive "$spid"; do
		now=$EPOCHSECONDS
		if ((now - start >= limit)); then
			fail "$label: not done after $limit s"
			stop "$cpid"
			stop "$spid"
			show_tail "$srv" 5
			show_tail "$cli" 5
			return 1
		fi
		if ((now >= next)); then
			if [[ $proto == kgo ]]; then
				printf -v line '%3d s: still sending (kcp-go reports at the end)' \
					$((now - start))
			else
				got=$(stat -c %s -- "$out" 2>/dev/null) || got=0
				dec g "$got" 1048576 1
				printf -v line '%3d s: %4s MiB received (%d %%)' \
					$((now - start)) "$g" $((got * 100 / SIZE))
			fi
			detail "$line"
			next=$((next + 10))
		fi
		snooze 0.2
	done
	wait "$spid"
	mark "$name: receiver done"
	parse_result "$srv"
	if [[ ${R[ok]:-0} != 1 || ${R[bytes]:-} != "$SIZE" ]]; then
		[[ $proto == kgo && ${R[bytes]:-} == "$SIZE" ]] &&
			VERDICT[$name]=CORRUPTED
		fail "$label: the receiver got ${R[bytes]:-no} bytes of $SIZE${R[sha256]:+ (sha256 ${R[sha256]})}"
		show_tail "$srv"
		show_tail "$cli" 5
		stop "$cpid"
		return 1
	fi
	XFER_BYTES[$name]=${R[bytes]}
	to_int "XFER_MS[$name]" "${R[secs]}" 3
	((XFER_MS[$name] > 0)) || XFER_MS[$name]=1
	if [[ $proto == kgo ]]; then
		SHA[$name]=${R[sha256]:-}
	else
		sha256 "SHA[$name]" "$out"
		rm -f -- "$out"
		mark "$name: sha256 done"
	fi
	# the sender is done or waiting for the last acks: give it a moment
	for ((t = 0; t < 50; t++)); do
		alive "$cpid" || break
		snooze 0.2
	done
	if alive "$cpid"; then
		stop "$cpid"
		crc=timeout
	else
		wait "$cpid" || crc=$?
	fi
	mark "$name: sender done"
	parse_result "$cli"
	if [[ $crc != 0 || ${R[ok]:-0} != 1 ]]; then
		fail "$label: the sender failed (exit $crc)"
		show_tail "$cli"
		return 1
	fi
	if [[ ${SHA[$name]} == "${SHA[source]}" ]]; then
		VERDICT[$name]=intact
	else
		VERDICT[$name]=CORRUPTED
		fail "$label: the copy's sha256 ${SHA[$name]} differs from the source's"
	fi
	fmt_time t "${XFER_MS[$name]}"
	fmt_rate g "$name"
	printf -v line '%s bytes in %s = %s; sha256 %s' "${XFER_BYTES[$name]}" \
		"$t" "$g" "$([[ ${VERDICT[$name]} == intact ]] &&
			echo "matches the source" || echo "DIFFERS")"
	detail "$line"
	[[ ${VERDICT[$name]} == intact ]]
}

# rr_start PROTO: start RR_N paced RR_SIZE-byte exchanges from b to an echo
# server in a (kcpt -rr: one request at a time, the next RR_GAP ms after
# the answer); rr_end PROTO waits for them and sets P50[PROTO],
# P99[PROTO], PMAX[PROTO] (ms, as kcpt prints them).
declare -A P50 P99 PMAX RR_SPID RR_CPID
rr_start() {
	local p=$1 label=${RLABEL[$1]} spid
	local srv=$WORK/rr-$p-echo.out cli=$WORK/rr-$p-client.out
	local -n opts=${p^^}_OPTS

	: >"$srv"
	"${NSA[@]}" "$KCPT" server "${opts[@]}" -a "$ADDR_A:0" -role echo \
		-rr "$RR_N" -rrsize "$RR_SIZE" -sessions 1 -timeout 30 >"$srv" 2>&1 &
	spid=$!
	if ! wait_listen "$srv" "$spid"; then
		fail "the $label echo server did not start"
		show_tail "$srv"
		stop "$spid"
		return 1
	fi
	"${NSB[@]}" "$KCPT" client "${opts[@]}" -a "$ADDR_A:$PORT" -rr "$RR_N" \
		-rrsize "$RR_SIZE" -rrgap "$RR_GAP" -timeout 30 >"$cli" 2>&1 &
	RR_CPID[$p]=$!
	RR_SPID[$p]=$spid
	RR_T0=$EPOCHSECONDS
}

rr_end() {
	local p=$1 label=${RLABEL[$1]} n crc=0 limit
	local srv=$WORK/rr-$p-echo.out cli=$WORK/rr-$p-client.out
	local spid=${RR_SPID[$p]:-} cpid=${RR_CPID[$p]:-}

	[[ -n $cpid ]] || return 1
	# a generous bound: 200 ms per exchange
	limit=$((RR_N * (RR_GAP + 200) / 1000 + 30))
	while alive "$cpid" && ((EPOCHSECONDS - RR_T0 < limit)); do
		snooze 0.2
	done
	if alive "$cpid"; then
		fail "$label: requests not done after $limit s"
		stop "$cpid"
		stop "$spid"
		show_tail "$cli" 5
		return 1
	fi
	wait "$cpid" || crc=$?
	n=50
	while ((n-- > 0)) && alive "$spid"; do
		snooze 0.2
	done
	alive "$spid" && stop "$spid"
	wait "$spid" 2>/dev/null
	parse_result "$cli"
	if [[ $crc != 0 || ${R[ok]:-0} != 1 || -z ${R[p99_ms]:-} ]]; then
		fail "$label: request/response failed (exit $crc)"
		show_tail "$cli"
		show_tail "$srv" 5
		return 1
	fi
	P50[$p]=${R[p50_ms]}
	P99[$p]=${R[p99_ms]}
	PMAX[$p]=${R[max_ms]}
	return 0
}

# The namespaces of lib.sh (a: 10.9.0.1, b: 10.9.0.2), with fewer
# processes than its ns_setup (0.35 s each under TCG).
net_setup() {
	modprobe -q -a veth sch_netem 2>/dev/null
	# kcp-go's -sockbuf (kcptun's 4 MiB) is SO_RCVBUF/SO_SNDBUF, which
	# these cap without a word (default 208 KiB): let it have what it asks
	echo 8388608 >/proc/sys/net/core/rmem_max || return 1
	echo 8388608 >/proc/sys/net/core/wmem_max || return 1
	ip -batch - <<-EOF || return 1
		netns add $NS_A
		netns add $NS_B
		link add veth-a netns $NS_A type veth peer name veth-b netns $NS_B
	EOF
	ip -n "$NS_A" -batch - <<-EOF || return 1
		link set lo up
		addr add $ADDR_A/24 dev veth-a
		link set veth-a up
	EOF
	ip -n "$NS_B" -batch - <<-EOF || return 1
		link set lo up
		addr add $ADDR_B/24 dev veth-b
		link set veth-b up
	EOF
}

# netem_on NETEM: on both veth ends
netem_on() {
	# shellcheck disable=SC2086 # NETEM is a list of words
	tc -n "$NS_A" qdisc add dev veth-a root netem $1 &&
		tc -n "$NS_B" qdisc add dev veth-b root netem $1
}

# One short TCP and one short AF_KCP exchange on a clean link, both ends
# on CPU 0. The first TCP and UDP packets of a boot flip a few static keys
# (net_get_random_once): code patching that the emulated SMP guest has
# been seen to trip over (an int3 Oops in secure_tcp_seq_and_ts_off) when
# another vCPU runs that code at the same moment.
warm_up() {
	local p spid rc=0

	for p in tcp kcp; do
		local -n opts=${p^^}_OPTS
		: >"$WORK/warmup-$p-server.out"
		taskset -c 0 "${NSA[@]}" "$KCPT" server "${opts[@]}" -a "$ADDR_A:0" \
			-role echo -bytes 4096 -sessions 1 -timeout 20 \
			>"$WORK/warmup-$p-server.out" 2>&1 &
		spid=$!
		if ! wait_listen "$WORK/warmup-$p-server.out" "$spid"; then
			stop "$spid"
			return 1
		fi
		taskset -c 0 "${NSB[@]}" "$KCPT" client "${opts[@]}" \
			-a "$ADDR_A:$PORT" -role echo -bytes 4096 -timeout 20 \
			>"$WORK/warmup-$p-client.out" 2>&1 || rc=1
		wait "$spid" || rc=1
		unset -n opts
	done
	return $rc
}

# ----------------------------------------------------------- formatting

# fmt_time VAR MS: "0.41 s", "6.38 s", "61.3 s"
fmt_time() {
	local -n _c=$1

	sig3 _c "$2" 1000
	_c+=" s"
}

# fmt_rate VAR NAME: "1.09 Mbit/s", "10.5 Mbit/s", "216 Mbit/s" or "-"
fmt_rate() {
	local -n _c=$1
	local ms=${XFER_MS[$2]:-}

	if [[ -n $ms ]]; then
		sig3 _c $((XFER_BYTES[$2] * 8)) $((ms * 1000))
		_c+=" Mbit/s"
	else
		_c=-
	fi
}

# fmt_ms VAR "45.62": "45.6 ms", or "failed" if empty
fmt_ms() {
	local -n _c=$1
	local h

	if [[ -n ${2:-} ]]; then
		to_int h "$2" 2
		dec _c "$h" 100 1
		_c+=" ms"
	else
		_c=failed
	fi
}

# ratio VAR A B: A/B as "9.61x", "12.3x", "0.87x" (empty if either is 0)
ratio() {
	local -n _r=$1

	if (($2 <= 0 || $3 <= 0)); then
		_r=
		return
	fi
	sig3 _r "$2" "$3"
	_r+=x
}

# -------------------------------------------------------------- cleanup

# shellcheck disable=SC2317 # called by trap
cleanup() {
	[[ -n ${SNOOZE_FD:-} ]] && exec {SNOOZE_FD}>&-
	ns_cleanup
	if [[ -n ${KCP_RESULTS:-} && -d $KCP_RESULTS ]]; then
		rm -rf "$KCP_RESULTS/guest"
		mkdir -p "$KCP_RESULTS/guest" &&
			cp -- "$WORK"/*.out "$LOG" "$KCP_RESULTS/guest/" 2>/dev/null
	fi
}
trap cleanup EXIT

mkfifo "$WORK/snooze"
exec {SNOOZE_FD}<>"$WORK/snooze"

# ----------------------------------------------------------------- main

# set through namerefs (dec, to_int, fmt_*)
a='' b='' c='' r='' line='' RR_T0=0 PORT='' CMD=()

step "VM is up: kernel ${KCP_KVER:-$(uname -r)}, $(nproc) vCPUs (QEMU software emulation)."
if ! grep -q '^kcp ' /proc/modules || [[ ! -e /proc/net/kcp ]]; then
	fail "the kcp module is not loaded"
	exit 1
fi
if [[ ! -x $KCPT ]]; then
	fail "$KCPT is missing (make userspace)"
	exit 1
fi
detail "Module kcp is loaded: AF_KCP sockets are available" \
	"(family $(</sys/module/kcp/parameters/family))."

step "Creating two network namespaces joined by a virtual Ethernet cable..."
if ! net_setup >>"$LOG" 2>&1; then
	fail "could not set up the namespaces"
	show_tail "$LOG"
	exit 1
fi
mark "namespaces up"
if ! warm_up; then
	fail "a first short exchange over the clean link failed"
	for f in "$WORK"/warmup-*.out; do
		show_tail "$f" 5
	done
	exit 1
fi
detail "Receiver: namespace a ($ADDR_A); sender: namespace b ($ADDR_B)."

# The stream of kcppeer's generator: a random file that kcp-go's sender
# can reproduce byte for byte (kcppeer has no option to send a file).
SEED=$(((SRANDOM << 31 ^ SRANDOM) | 1))
if [[ " ${PROTOS[*]} " == *" kgo "* ]]; then
	step "Writing ${SIZE_MIB} MiB of pseudo-random bytes (xorshift64*, seed $SEED) to a file..."
	"$KCPPEER" -mode gen -bytes "$SIZE" -seed "$SEED" >"$SRC" 2>>"$LOG"
else
	step "Writing ${SIZE_MIB} MiB of random bytes to a file..."
	head -c "$SIZE" /dev/urandom >"$SRC" 2>>"$LOG"
fi
# shellcheck disable=SC2181
if (($? != 0)) || [[ $(stat -c %s -- "$SRC" 2>/dev/null) != "$SIZE" ]]; then
	fail "could not write $SRC"
	exit 1
fi
sha256 "SHA[source]" "$SRC"
detail "$SIZE bytes, sha256 ${SHA[source]}"

cc=
{ read -r cc </proc/sys/net/ipv4/tcp_congestion_control; } 2>/dev/null
for link in "${LINKS[@]}"; do
	if [[ $link == lossy ]]; then
		step "Making the link slow and lossy (tc netem on both ends of the cable)..."
		if ! netem_on "$NETEM" >>"$LOG" 2>&1; then
			fail "could not add netem"
			show_tail "$LOG"
			exit 1
		fi
		detail "Each way: ${DELAY_MS} ms delay, ${LOSS_PCT} % of the packets dropped" \
			"(netem $NETEM)."
		# (no process substitution: the guest has no /dev/fd)
		line=$(tc -n "$NS_A" qdisc show dev veth-a 2>>"$LOG")
		detail "tc qdisc show: ${line//$'\n'/; }"
	fi
	for p in "${PROTOS[@]}"; do
		case $p in
		tcp)
			what="TCP (${cc:-default} congestion control)"
			# TCP at 40 ms / 5 % makes 1-1.5 Mbit/s here
			limit=$((SIZE_MIB * 45 + 60))
			;;
		kcp)
			what="AF_KCP (the kernel module)"
			limit=$((SIZE_MIB * 10 + 60))
			;;
		kgo)
			what="kcp-go v5.6.1 (userspace, the library kcptun uses)"
			limit=$((SIZE_MIB * 10 + 60))
			;;
		esac
		[[ $link == lossy ]] || limit=90
		step "${link^} link: sending the file over $what..."
		transfer "$link" "$p" "$limit"
	done
done

# Both at once: they are light (a 64-byte message at a time), and this way
# they see the same moments of the emulated machine (and it saves time).
what="TCP and AF_KCP ($MODE mode)"
[[ " ${RR_PROTOS[*]} " == *" k3 "* ]] &&
	what="TCP, AF_KCP ($MODE mode) and AF_KCP (fast3 mode: nodelay 1, interval 10 ms)"
step "Measuring latency on the lossy link: $RR_N requests of $RR_SIZE bytes, over $what at once..."
detail "Each is echoed back; the next goes ${RR_GAP} ms after the answer."
started=
for p in "${RR_PROTOS[@]}"; do
	rr_start "$p" && started+=" $p"
done
for p in $started; do
	if rr_end "$p"; then
		fmt_ms a "${P50[$p]}"
		fmt_ms b "${P99[$p]}"
		fmt_ms c "${PMAX[$p]}"
		printf -v line '%-13s round trip p50 %8s, p99 %8s, max %8s' \
			"${RLABEL[$p]}:" "$a" "$b" "$c"
		detail "$line"
	fi
done

# ---------------------------------------------------------------- summary

row() {
	local line

	printf -v line '  %-8s %10s %9s %13s   %-10s %s' "$@"
	printf '%s\n' "${line%"${line##*[! ]}"}"
}

printf -v rule '%*s' 72 ''
rule=${rule// /-}
echo
echo "  $rule"
echo "  RESULTS (kernel ${KCP_KVER:-$(uname -r)}, QEMU TCG: compare the rows, not absolute speeds)"
echo "  File: $SIZE bytes. time = receiver's first packet to last byte;"
echo "  goodput = bytes x 8 / time; vs TCP = goodput / TCP's on the same link;"
echo "  data = sha256 of the received copy against the source's."
echo "  KCP (AF_KCP and kcp-go): kcptun --mode $MODE = nodelay $ND_NODELAY," \
	"interval $ND_INTERVAL ms,"
echo "  resend $ND_RESEND, nc $ND_NC; windows $WND/$WND segments; MTU $MTU; stream mode."
echo "  TCP: ${cc:-default}, TCP_NODELAY, default buffers."
for link in "${LINKS[@]}"; do
	echo
	echo "  ${link^} link: ${LINK_TEXT[$link]}"
	row protocol bytes time goodput data "vs TCP"
	for p in "${PROTOS[@]}"; do
		n=$link-$p
		if [[ -n ${XFER_MS[$n]:-} ]]; then
			fmt_time a "${XFER_MS[$n]}"
			fmt_rate b "$n"
			r=
			[[ $p != tcp && -n ${XFER_MS[$link-tcp]:-} ]] &&
				ratio r "${XFER_MS[$link-tcp]}" "${XFER_MS[$n]}"
			row "${LABEL[$p]}" "${XFER_BYTES[$n]}" "$a" "$b" \
				"${VERDICT[$n]}" "$r"
		else
			row "${LABEL[$p]}" - - - "${VERDICT[$n]:-failed}"
		fi
	done
done
echo
echo "  Request/response, lossy link ($RR_N x $RR_SIZE bytes, ${RR_GAP} ms apart):"
printf -v line '  %-13s %10s %10s %10s' protocol p50 p99 max
echo "$line"
for p in "${RR_PROTOS[@]}"; do
	fmt_ms a "${P50[$p]:-}"
	fmt_ms b "${P99[$p]:-}"
	fmt_ms c "${PMAX[$p]:-}"
	printf -v line '  %-13s %10s %10s %10s' "${RLABEL[$p]}" "$a" "$b" "$c"
	echo "$line"
done
echo "  $rule"
if [[ -n ${XFER_MS[lossy-tcp]:-} && -n ${XFER_MS[lossy-kcp]:-} ]]; then
	fmt_time a "${XFER_MS[lossy-kcp]}"
	fmt_time b "${XFER_MS[lossy-tcp]}"
	ratio r "${XFER_MS[lossy-tcp]}" "${XFER_MS[lossy-kcp]}"
	echo "  On the lossy link AF_KCP moved the file in $a, TCP in $b:" \
		"$r TCP's goodput."
	if [[ -n ${XFER_MS[lossy-kgo]:-} ]]; then
		fmt_time c "${XFER_MS[lossy-kgo]}"
		ratio r "${XFER_MS[lossy-kgo]}" "${XFER_MS[lossy-kcp]}"
		echo "  kcp-go took $c: AF_KCP had $r kcp-go's goodput."
	fi
fi
echo

if ((FAILED)); then
	echo "  Something FAILED (see above)."
	exit 1
fi
echo "  Every copy arrived complete and identical to the source."
exit 0
