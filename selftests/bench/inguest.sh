#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The in-VM half of 'make bench' (selftests/bench/bench.sh boots the VM and
# runs this once). Two network namespaces joined by veth (selftests/net/
# lib.sh). First the target set: size-bounded transfers on the clean link
# (AF_KCP and kcp-go plain, FEC, ciphers; TCP cubic; paced UDP with and
# without GSO, swept over rates), repeated and interleaved, with the
# guest's instructions in each transfer's window (ftrace, busy.awk). Then,
# for each netem profile and contender, time-bounded bulk goodput (1 and 8
# parallel transfers) and paced request/response latency; then the scale
# runs: many idle sessions on one listener, AF_KCP against kcp-go.
# Every number goes to $KCP_RESULTS/raw.txt as one "REC key=value..." line,
# tool outputs to $KCP_RESULTS/logs/; bench.sh makes results.md/json,
# targets.md and the plots from them.
#
#   BENCH=quick|full (default full) selftests/bench/inguest.sh
#
# Knobs (defaults per BENCH in set_mode): BENCH_CELLS (target set),
# BENCH_XFER (bytes per transfer), BENCH_REPS, BENCH_XFER_TIMEOUT (s),
# BENCH_UDP_RATE0 (Mbit/s, first UDP rate step), BENCH_PROFILES,
# BENCH_CONTENDERS, BENCH_TIME (s per bulk window), BENCH_RR (records),
# BENCH_SCALE (session counts), BENCH_HOLD (s per CPU sample),
# BENCH_ACTIVE_RATE (messages/s per active session), BENCH_SKIP_TARGETS=1,
# BENCH_SKIP_NET=1, BENCH_SKIP_SCALE=1.
#
# A process start costs about 0.35 s in the TCG guest, so this script uses
# bash builtins for everything it can (no sleep, grep, awk, date in loops);
# kbench and kcpscale join the namespaces themselves (-netns). Under the
# icount clock the [mm:ss] marks are guest time, which skips idle time.

set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP" || exit 1
OUT=${KCP_RESULTS:-/tmp/kcpbench}
WORK=/tmp/kcpbench.$$
# shellcheck source=selftests/net/lib.sh
. "$TOP/selftests/net/lib.sh"
BIN=${BENCH_BIN:-$TOP/build/bench}
RAW=$OUT/raw.txt
LOGS=$OUT/logs
mkdir -p "$LOGS"
: >"$RAW"

BENCH=${BENCH:-full}
T_START=$EPOCHSECONDS
NCPU=$(nproc)
HZ=$(getconf CLK_TCK)

# netem per direction (on both veth ends): delay = RTT/2, loss each way;
# the 5 ms jitter of the last one reorders packets (netem keeps its queue
# sorted by send time).
declare -A NETEM=(
	[clean]=""
	[rtt20_loss1]="delay 10ms loss 1% limit 10000"
	[rtt40_loss5]="delay 20ms loss 5% limit 10000"
	[rtt100_loss10_reorder]="delay 50ms 5ms loss 10% limit 10000"
)

# kcptun server defaults: --mode fast, --sndwnd/--rcvwnd 1024, --mtu 1350
KOPTS=(-preset fast -wnd "1024,1024" -mtu 1350)
GOPTS=(-preset fast -sndwnd 1024 -rcvwnd 1024 -mtu 1350)
UDP_SIZE=1350

set_mode() {
	local profiles contenders t rr scale hold cells xfer
	case $BENCH in
	quick)
		cells="kcp kcp_aes_fec kcpgo kcpgo_aes_fec tcp_cubic udp_paced udp_gso"
		xfer=$((4 << 20))
		profiles="rtt40_loss5"
		contenders="kcp kcpgo tcp_cubic"
		t=2 rr=200 scale="1000" hold=3
		;;
	*)
		cells="kcp kcp_fec kcp_aes kcp_salsa20 kcp_aes_fec kcpgo kcpgo_fec kcpgo_aes kcpgo_salsa20 kcpgo_aes_fec tcp_cubic udp_paced udp_gso"
		xfer=$((16 << 20))
		profiles="clean rtt20_loss1 rtt40_loss5 rtt100_loss10_reorder"
		contenders="kcp kcp_fec kcp_aes_fec kcpgo kcpgo_fec kcpgo_aes_fec tcp_cubic tcp_bbr"
		t=5 rr=1000 scale="1000 10000 100000" hold=6
		;;
	esac
	TARGET_CELLS=${BENCH_CELLS:-$cells}
	XFER=${BENCH_XFER:-$xfer}
	REPS=${BENCH_REPS:-3}
	# guest seconds a transfer may take (the slowest: kcp-go aes+FEC)
	XFER_TIMEOUT=${BENCH_XFER_TIMEOUT:-120}
	UDP_RATE0=${BENCH_UDP_RATE0:-100}
	PROFILES=${BENCH_PROFILES:-$profiles}
	CONTENDERS=${BENCH_CONTENDERS:-$contenders}
	TIME=${BENCH_TIME:-$t}
	RR=${BENCH_RR:-$rr}
	SCALE=${BENCH_SCALE:-$scale}
	HOLD=${BENCH_HOLD:-$hold}
	ACTIVE_RATE=${BENCH_ACTIVE_RATE:-10}
	GRACE=1
	RRGAP=10
	DRAIN=5
}

# ---------------------------------------------------------- fork-free bits

progress() {
	local s=$((EPOCHSECONDS - T_START))

	printf '[%02d:%02d] %s\n' $((s / 60)) $((s % 60)) "$*"
}

rec() {
	echo "REC $*" >>"$RAW"
}

# fixed-point: fmt_milli VAR N -> "N/1000" with 3 decimals in VAR
fmt_milli() {
	local v=$2 sign=

	((v < 0)) && sign=- v=$((-v))
	printf -v "$1" '%s%d.%03d' "$sign" $((v / 1000)) $((v % 1000))
}

# CPU_S="busy total" jiffies of all CPUs
cpu_sample() {
	local _c u n s i io irq sirq st _r

	read -r _c u n s i io irq sirq st _r </proc/stat
	CPU_S="$((u + n + s + irq + sirq + st)) $((u + n + s + i + io + irq + sirq + st))"
}

# CORES = busy cores between samples $1 and $2 (1.000 = one core)
cpu_cores() {
	local b0 t0 b1 t1

	read -r b0 t0 <<<"$1"
	read -r b1 t1 <<<"$2"
	fmt_milli CORES $((t1 > t0 ? 1000 * NCPU * (b1 - b0) / (t1 - t0) : 0))
}

# PCPU = utime+stime jiffies of process $1
proc_cpu() {
	local -a f
	local line=

	{ read -r line <"/proc/$1/stat"; } 2>/dev/null
	line=${line##*) }
	read -r -a f <<<"$line"
	PCPU=$((${f[11]:-0} + ${f[12]:-0}))
}

# SNMP[Name]=value from /proc/PID/net/kcp_snmp (PID in the namespace)
declare -A SNMP
snmp_read() {
	local k v

	SNMP=()
	{
		while read -r k v; do
			SNMP[$k]=$v
		done <"/proc/$1/net/kcp_snmp"
	} 2>/dev/null
	net_drops "$1"
}

SNMP_KEYS="InPkts OutPkts RetransSegs FastRetransSegs EarlyRetransSegs LostSegs RepeatSegs BacklogDrop NoMem FECRecovered FECErrs InCsumErrors KCPInErrors AcceptOverflow IcmpErrors TimeWaitDrop InNoSession OutNoRoute"

# Drops below AF_KCP, from /proc/PID/net of the namespace: the UDP MIB
# (InErrors, RcvbufErrors, SndbufErrors) and the veth's rx/tx drops, plus
# the guest-wide softnet backlog drops. SNMP gets them as Udp*/Dev*/Softnet*.
net_drops() {
	local -a h v
	local line dev rest
	local -i i d=0

	{
		while read -r -a h && read -r -a v; do
			[[ ${h[0]} == Udp: ]] || continue
			for ((i = 1; i < ${#h[@]}; i++)); do
				case ${h[i]} in
				InErrors | RcvbufErrors | SndbufErrors)
					SNMP[Udp${h[i]}]=${v[i]} ;;
				esac
			done
		done <"/proc/$1/net/snmp"
		while read -r line; do
			[[ $line == veth-*:* ]] || continue
			rest=${line#*:}
			read -r -a v <<<"$rest"
			SNMP[DevRxDrop]=${v[3]}
			SNMP[DevTxDrop]=${v[11]}
		done <"/proc/$1/net/dev"
		while read -r -a v; do
			d+=$((16#${v[1]}))
		done </proc/net/softnet_stat
	} 2>/dev/null
	SNMP[SoftnetDrop]=$d
}
DROP_KEYS="UdpInErrors UdpRcvbufErrors UdpSndbufErrors DevRxDrop DevTxDrop SoftnetDrop"

# snmp_delta PREFIX BEFORE(assoc name) AFTER(assoc name): appends to DELTA
snmp_delta() {
	local -n b=$2 a=$3
	local k

	for k in $SNMP_KEYS $DROP_KEYS; do
		DELTA+=" $1$k=$((${a[$k]:-0} - ${b[$k]:-0}))"
	done
}

# copy FROM TO without a process
copy() {
	local l

	{
		while IFS= read -r l; do
			printf '%s\n' "$l"
		done <"$1" >"$2"
	} 2>/dev/null
}

# wait_line FILE PATTERN PID SECS: until a line of FILE matches the glob
# PATTERN (true), PID exits or SECS pass (false)
wait_line() {
	local file=$1 pat=$2 pid=$3 n=$(($4 * 10)) line

	while ((n-- > 0)); do
		while read -r line; do
			# shellcheck disable=SC2053 # PATTERN is a glob on purpose
			[[ $line == $pat ]] && return 0
		done <"$file"
		alive "$pid" || return 1
		snooze 0.1
	done
	return 1
}

# wait_pid PID SECS: wait for it to exit, kill it after SECS
wait_pid() {
	local pid=$1 n=$(($2 * 10))

	while ((n-- > 0)) && alive "$pid"; do
		snooze 0.1
	done
	if alive "$pid"; then
		kill "$pid" 2>/dev/null
		snooze 0.5
		kill -9 "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
}

# Sessions left in both namespaces: none within 10 s, or a note
kcp_quiesce() {
	local n=100 s=0

	while ((n-- > 0)); do
		snmp_read "$NSPID_A"
		s=${SNMP[Sessions]:-0}
		snmp_read "$NSPID_B"
		s=$((s + ${SNMP[Sessions]:-0}))
		((s == 0)) && return 0
		snooze 0.1
	done
	progress "  note: $s KCP sessions still alive after 10 s"
}

# mbit VAR KBPS: "12.3"
mbit() {
	local k=${2:-0}

	k=${k%.*}
	printf -v "$1" '%d.%d' $((k / 1000)) $((k % 1000 / 100))
}

# --------------------------------------------------------------- contenders

# contender_cmd NAME server|client NS: the command line into CMD, in NS
contender_cmd() {
	local c=$1 side=$2 ns=$3
	CMD=()
	case $c in
	kcp | kcp_sockbuf | kcp_fec | kcp_aes | kcp_salsa20 | kcp_aes_fec)
		CMD=("$BIN/kbench" "$side" -netns "$ns" -p kcp "${KOPTS[@]}")
		case $c in
		# kcptun's --sockbuf 4194304, as kcp-go gets it
		kcp_sockbuf) CMD+=(-rcvbuf 4194304 -sndbuf 4194304) ;;
		kcp_fec) CMD+=(-fec "10,3") ;;
		kcp_aes) CMD+=(-crypt aes) ;;
		kcp_salsa20) CMD+=(-crypt salsa20) ;;
		kcp_aes_fec) CMD+=(-fec "10,3" -crypt aes) ;;
		esac
		;;
	kcpgo | kcpgo_fec | kcpgo_aes | kcpgo_salsa20 | kcpgo_aes_fec)
		# kgob's -sockbuf default: kcptun's 4 MiB, SetReadBuffer and
		# SetWriteBuffer on the UDP socket
		CMD=(ip netns exec "$ns" "$BIN/kgob" "$side" "${GOPTS[@]}")
		case $c in
		kcpgo_fec) CMD+=(-ds 10 -ps 3) ;;
		kcpgo_aes) CMD+=(-crypt aes) ;;
		kcpgo_salsa20) CMD+=(-crypt salsa20) ;;
		kcpgo_aes_fec) CMD+=(-ds 10 -ps 3 -crypt aes) ;;
		esac
		;;
	tcp_cubic) CMD=("$BIN/kbench" "$side" -netns "$ns" -p tcp -cc cubic) ;;
	tcp_bbr) CMD=("$BIN/kbench" "$side" -netns "$ns" -p tcp -cc bbr) ;;
	udp | udp_paced) CMD=("$BIN/kbench" "$side" -netns "$ns" -p udp -size "$UDP_SIZE") ;;
	udp_gso)
		CMD=("$BIN/kbench" "$side" -netns "$ns" -p udp -size "$UDP_SIZE")
		if [ "$side" = server ]; then CMD+=(-gro); else CMD+=(-gso); fi
		;;
	esac
}

# NA = why a contender cannot run here (empty: it can)
contender_na() {
	NA=
	case $1 in
	kcp_fec) [ "$HAVE_FEC" = 1 ] || NA="KCP_FEC: ENOPROTOOPT" ;;
	kcp_aes) [ "$HAVE_AES" = 1 ] || NA="KCP_CRYPTO aes: ENOPROTOOPT" ;;
	kcp_salsa20) [ "$HAVE_SALSA20" = 1 ] || NA="KCP_CRYPTO salsa20: ENOPROTOOPT" ;;
	kcp_aes_fec) [ "$HAVE_FEC_CRYPTO" = 1 ] || NA="KCP_FEC/KCP_CRYPTO: ENOPROTOOPT" ;;
	tcp_bbr) [ "$HAVE_BBR" = 1 ] || NA="no tcp_bbr module" ;;
	esac
}

# run_pair TAG LIMIT: the server SRV (array) in a, once it listens the
# client CLI (array, "-a ADDR:PORT" appended) in b; waits LIMIT s for the
# client, 30 for the server. Logs in $LOGS/TAG.{server,client}.txt; DELTA
# = guest CPU, wall time, client exit and the counter deltas of both
# namespaces over the run. False if the server did not start.
# shellcheck disable=SC2034 # sa0 ... sb1 are read through namerefs
run_pair() {
	local tag=$1 limit=$2 spid cpid rc c0 t0 t1 g port
	local -A sa0 sb0 sa1 sb1

	: >"$LOGS/$tag.server.txt"
	"${SRV[@]}" -a "$ADDR_A:0" >"$LOGS/$tag.server.txt" 2>&1 &
	spid=$!
	if ! wait_line "$LOGS/$tag.server.txt" 'LISTEN *' "$spid" 60; then
		wait_pid "$spid" 1
		return 1
	fi
	while read -r g port; do
		[ "$g" = LISTEN ] && break
	done <"$LOGS/$tag.server.txt"
	snmp_read "$NSPID_A"
	for g in "${!SNMP[@]}"; do sa0[$g]=${SNMP[$g]}; done
	snmp_read "$NSPID_B"
	for g in "${!SNMP[@]}"; do sb0[$g]=${SNMP[$g]}; done
	cpu_sample
	c0=$CPU_S
	t0=${EPOCHREALTIME/./}
	"${CLI[@]}" -a "$ADDR_A:$port" >"$LOGS/$tag.client.txt" 2>&1 &
	cpid=$!
	wait_pid "$cpid" "$limit"
	rc=$?
	wait_pid "$spid" 30
	t1=${EPOCHREALTIME/./}
	cpu_sample
	snmp_read "$NSPID_A"
	for g in "${!SNMP[@]}"; do sa1[$g]=${SNMP[$g]}; done
	snmp_read "$NSPID_B"
	for g in "${!SNMP[@]}"; do sb1[$g]=${SNMP[$g]}; done
	cpu_cores "$c0" "$CPU_S"
	fmt_milli g $(((t1 - t0) / 1000))
	DELTA="cpu_cores=$CORES wall_s=$g client_rc=$rc"
	# every contender: the drop counters below KCP concern them all
	snmp_delta a_ sa0 sa1
	snmp_delta b_ sb0 sb1
	return 0
}

# One time-bounded measurement; KIND is bulk1, bulk8 or rr. Server in a,
# client in b: the data flows b -> a.
cell() {
	local prof=$1 c=$2 kind=$3 par=1 tag limit g st

	[ "$kind" = rr ] && [[ $c == udp* ]] && return
	tag=$prof.$c.$kind
	contender_na "$c"
	if [ -n "$NA" ]; then
		rec "kind=$kind profile=$prof contender=$c status=na why=${NA// /_}"
		progress "$prof $c $kind: n/a ($NA)"
		return
	fi
	[ "$kind" = bulk8 ] && par=8
	[[ $c == kcp* ]] && kcp_quiesce

	contender_cmd "$c" server "$NS_A"
	SRV=("${CMD[@]}")
	contender_cmd "$c" client "$NS_B"
	CLI=("${CMD[@]}")
	# a closed AF_KCP sender stops at once: nothing lingers into the
	# next cell (time-bounded: its unsent tail does not count anyway)
	[[ $c == kcp* && $c != kcpgo* ]] && CLI+=(-linger 0)
	if [ "$kind" = rr ]; then
		SRV+=(-role echo -n 1 -timeout 30 -idle 15)
		CLI+=(-role rr -rr "$RR" -rrsize 64 -rrgap "$RRGAP" -drain "$DRAIN")
		limit=$((RR * RRGAP / 1000 + DRAIN + 30))
	else
		SRV+=(-role sink -n "$par" -time "$TIME" -grace "$GRACE" -timeout 30)
		CLI+=(-role send -parallel "$par" -time "$TIME" -grace "$GRACE")
		[[ $c == udp* ]] && SRV+=(-rcvbuf 4194304)
		limit=$((${TIME%.*} + GRACE + 30))
		# the sink reads on past its window while the client sends
	fi
	if ! run_pair "$tag" "$limit"; then
		rec "kind=$kind profile=$prof contender=$c status=fail why=server_start"
		progress "$prof $c $kind: server did not start"
		return
	fi
	if [ "$kind" = rr ]; then
		parse_result "$LOGS/$tag.client.txt"
		st=fail
		[ "${R[ok]:-0}" = 1 ] && st=ok
		rec "kind=rr profile=$prof contender=$c status=$st" \
			"rr=${R[rr]:-} answered=${R[answered]:-} lost=${R[lost]:-}" \
			"p50_ms=${R[p50_ms]:-} p99_ms=${R[p99_ms]:-} p999_ms=${R[p999_ms]:-}" \
			"max_ms=${R[max_ms]:-} mean_ms=${R[mean_ms]:-} $DELTA"
		progress "$prof $c rr: p50 ${R[p50_ms]:-?} p99 ${R[p99_ms]:-?} p999 ${R[p999_ms]:-?} ms, lost ${R[lost]:-?}/$RR"
	else
		parse_result "$LOGS/$tag.client.txt"
		g=${R[offered_kbps]:-}
		parse_result "$LOGS/$tag.server.txt"
		st=fail
		[ "${R[ok]:-0}" = 1 ] && st=ok
		rec "kind=$kind profile=$prof contender=$c streams=$par status=$st" \
			"goodput_kbps=${R[goodput_kbps]:-} bytes=${R[bytes]:-}" \
			"window_s=${R[window_s]:-} per_session=${R[per_session]:-}" \
			"check=${R[check]:-} offered_kbps=$g $DELTA"
		mbit g "${R[goodput_kbps]:-0}"
		progress "$prof $c $kind: $g Mbit/s"
	fi
}

# ------------------------------------------------------------ busy tracing

# The guest's instructions in a transfer's timed window: under the icount
# clock, the time in it when any CPU was not idle (selftests/bench/
# busy.awk: /proc/stat counts both vCPUs busy while they take turns).
# From the power:cpu_idle events of ftrace, with markers the sink writes
# at its first and last byte (-marker); TRACE_REC gets the busy.awk line,
# empty values without tracefs or when the ring buffer overran. tracefs is
# mounted outside /sys: "ip netns exec" (kgob) mounts a /sys of its own.
TRACE=/run/kcpbench-tracing
trace_setup() {
	HAVE_TRACE=0
	mkdir -p $TRACE
	[ -e $TRACE/trace_marker ] || mount -t tracefs nodev $TRACE 2>/dev/null
	[ -w $TRACE/events/power/cpu_idle/enable ] || return 0
	echo 0 >$TRACE/tracing_on
	echo mono >$TRACE/trace_clock
	# about 500K events per CPU; a transfer makes a few thousand, a
	# scale hold with 10K idle kcp-go sessions tens of thousands
	echo 16384 >$TRACE/buffer_size_kb
	# Enabled once: every enable or disable patches kernel text, which
	# the emulated SMP guest has been seen to trip over (a #DB with TF
	# set in kernel mode, while the other vCPU ran a patched function).
	# tracing_on only starts and stops the recording.
	echo 1 >$TRACE/events/power/cpu_idle/enable || return 0
	HAVE_TRACE=1
}

trace_start() {
	local c

	((HAVE_TRACE)) || return 0
	echo 0 >$TRACE/tracing_on
	: >$TRACE/trace
	echo 1 >$TRACE/tracing_on
	# each CPU's state is known from the moment a task of it writes
	for ((c = 0; c < NCPU; c++)); do
		taskset -c "$c" sh -c "echo cpu_mark >$TRACE/trace_marker"
	done
}

trace_stop() {
	local c k v over=0

	TRACE_REC="trace_busy_s= trace_window_s="
	((HAVE_TRACE)) || return 0
	echo 0 >$TRACE/tracing_on
	for ((c = 0; c < NCPU; c++)); do
		while read -r k v; do
			[ "$k" = overrun: ] && over=$((over + v))
		done <"$TRACE/per_cpu/cpu$c/stats"
	done
	if ((over)); then
		TRACE_REC+=" trace_overrun=$over"
		return 0
	fi
	TRACE_REC=$(awk -f "$TOP/selftests/bench/busy.awk" "$TRACE/trace")
}

# hold_cpu: snooze HOLD s; CORES = the guest's busy cores over it (1.00000
# = one core: 1e9 instructions per second under icount) from the cpu_idle
# trace if there is tracefs, else from /proc/stat; STAT_CORES = /proc/
# stat's. Its busy times are tick samples: under icount they miss the short
# wakeups of idle sessions, and count both vCPUs while they take turns.
hold_cpu() {
	local c0 b w

	trace_start
	cpu_sample
	c0=$CPU_S
	((HAVE_TRACE)) && echo bench_first >"$TRACE/trace_marker"
	snooze "$HOLD"
	((HAVE_TRACE)) && echo bench_last >"$TRACE/trace_marker"
	cpu_sample
	trace_stop
	cpu_cores "$c0" "$CPU_S"
	STAT_CORES=$CORES
	b=${TRACE_REC#trace_busy_s=}
	w=${TRACE_REC#*trace_window_s=}
	fixed b "${b%% *}" 5
	fixed w "${w%% *}" 5
	if ((b >= 0 && w > 0)) && [[ $TRACE_REC == trace_busy_s=[0-9]* ]]; then
		b=$((100000 * b / w))
		printf -v CORES '%d.%05d' $((b / 100000)) $((b % 100000))
	fi
}

# ---------------------------------------------------------------- targets

# fixed VAR "12.3456" N: VAR = the value times 10^N, truncated (N = 1..6;
# empty or junk = 0); milli VAR "12.3456": VAR = 12345
fixed() {
	local v=${2:-0} n=$3 int frac

	[[ $v =~ ^[0-9]*(\.[0-9]*)?$ ]] || v=0
	int=${v%%.*}
	frac=
	[[ $v == *.* ]] && frac=${v#*.}
	frac=${frac}000000
	printf -v "$1" '%d' $((10#${int:-0} * 10 ** n + 10#${frac:0:n}))
}

milli() {
	fixed "$1" "$2" 3
}

# isqrt VAR N: VAR = floor(sqrt(N)), N >= 0
isqrt() {
	local n=$2 x y

	x=$n
	y=$(((x + 1) / 2))
	while ((y < x)); do
		x=$y
		y=$(((x + n / x) / 2))
	done
	printf -v "$1" '%d' "$x"
}

# xfer REP C [RATE]: one size-bounded transfer of XFER bytes from b to a
# (the targets set), RATE Mbit/s for a paced UDP sender. Records a
# "kind=xfer" line (kind=udprate for a UDP rate step) with the server's
# result: goodput over its window from the first byte to the last, the
# guest CPU in that window. X_OK, X_KBPS, X_LOSS (thousandths of a %)
# tell udp_sweep how it went.
xfer() {
	local rep=$1 c=$2 rate=${3:-} tag kind=xfer st instr

	tag=targets.$c.r$rep${rate:+.$rate}
	X_OK=0 X_KBPS=0 X_LOSS=0
	[[ $c == kcp* ]] && kcp_quiesce
	contender_cmd "$c" server "$NS_A"
	SRV=("${CMD[@]}" -role sink -n 1 -bytes "$XFER" -timeout "$XFER_TIMEOUT")
	((HAVE_TRACE)) && SRV+=(-marker "$TRACE/trace_marker")
	contender_cmd "$c" client "$NS_B"
	CLI=("${CMD[@]}" -role send -bytes "$XFER" -timeout "$XFER_TIMEOUT")
	if [[ $c == udp* ]]; then
		kind=udprate
		SRV+=(-rcvbuf 4194304 -idle 0.5)
		CLI+=(-rate "$rate")
	fi
	trace_start
	if ! run_pair "$tag" $((XFER_TIMEOUT + 30)); then
		trace_stop
		rec "kind=$kind set=targets rep=$rep contender=$c${rate:+ rate_mbit=$rate}" \
			"status=fail why=server_start"
		progress "targets rep $rep $c: server did not start"
		return 1
	fi
	trace_stop
	parse_result "$LOGS/$tag.server.txt"
	st=fail
	[[ ${R[ok]:-0} == 1 && $DELTA == *client_rc=0* ]] && st=ok
	[[ $st == ok ]] && X_OK=1
	X_KBPS=${R[goodput_kbps]:-0}
	milli X_LOSS "${R[loss_pct]:-0}"
	rec "kind=$kind set=targets rep=$rep contender=$c status=$st" \
		"${rate:+rate_mbit=$rate }goodput_kbps=${R[goodput_kbps]:-}" \
		"bytes=${R[bytes]:-} secs=${R[secs]:-} cpu_busy_s=${R[cpu_busy_s]:-}" \
		"cpu_total_s=${R[cpu_total_s]:-} check=${R[check]:-}" \
		"loss_pct=${R[loss_pct]:-} coalesced=${R[coalesced]:-} $TRACE_REC $DELTA"
	mbit g "$X_KBPS"
	instr=${TRACE_REC#trace_busy_s=}
	progress "targets rep $rep $c${rate:+ at $rate Mbit/s}: $g Mbit/s," \
		"instructions ${instr%% *} s, /proc/stat busy ${R[cpu_busy_s]:-?} s${R[loss_pct]:+, loss ${R[loss_pct]} %}"
	[[ $st == ok ]]
}

# udp_sweep REP C: paced UDP transfers of XFER bytes at rising rates: x1.5
# from UDP_RATE0 while a step passes (loss under 0.5 %, and at least 95 %
# of the rate delivered), then two geometric bisections between the last
# pass and the first failure (about 10 % resolution). The cell's goodput
# is the best delivered with less than 0.5 % loss, by any step.
udp_sweep() {
	local rep=$1 c=$2 rate=$UDP_RATE0 lo=0 hi=0 best=0 bestrate=0 n=0 pass
	local n_bisect=0

	while ((n < 14)); do
		n=$((n + 1))
		xfer "$rep" "$c" "$rate"
		pass=0
		if ((X_OK && X_LOSS < 500)); then
			if ((X_KBPS > best)); then
				best=$X_KBPS
				bestrate=$rate
			fi
			((X_KBPS * 100 >= rate * 1000 * 95)) && pass=1
		fi
		if ((pass)); then
			lo=$rate
		else
			hi=$rate
		fi
		if ((hi == 0)); then
			rate=$((rate * 3 / 2))
			continue
		fi
		# bisect twice, geometrically, between lo and hi
		if ((lo == 0 || hi <= lo * 21 / 20 || n_bisect >= 2)); then
			break
		fi
		isqrt rate $((lo * hi))
		n_bisect=$((n_bisect + 1))
	done
	rec "kind=sweep set=targets rep=$rep contender=$c best_kbps=$best" \
		"best_rate_mbit=$bestrate steps=$n last_pass_mbit=$lo first_fail_mbit=$hi"
	mbit g "$best"
	progress "targets rep $rep $c: best $g Mbit/s under 0.5 % loss ($n steps)"
}

# The issue's target table: clean link, 1 stream, kcptun fast, windows
# 1024/1024, MTU 1350, XFER bytes per transfer. Repetitions interleave
# (rep 1 of every cell, then rep 2, ...), so a slow phase of the guest
# or host touches every cell alike.
run_targets() {
	local rep c

	progress "targets: $TARGET_CELLS; $((XFER >> 20)) MiB each, $REPS repetitions"
	netem_set ""
	for ((rep = 1; rep <= REPS; rep++)); do
		for c in $TARGET_CELLS; do
			contender_na "$c"
			if [ -n "$NA" ]; then
				rec "kind=xfer set=targets rep=$rep contender=$c status=na why=${NA// /_}"
				continue
			fi
			case $c in
			udp_paced | udp_gso) udp_sweep "$rep" "$c" ;;
			*) xfer "$rep" "$c" ;;
			esac
		done
	done
}

run_net() {
	local prof c kind

	for prof in $PROFILES; do
		if ! netem_set "${NETEM[$prof]}"; then
			progress "netem '${NETEM[$prof]}' failed; skipping $prof"
			continue
		fi
		progress "profile $prof: netem '${NETEM[$prof]:-none}' on both ends"
		for kind in bulk1 bulk8 rr; do
			for c in $CONTENDERS; do
				cell "$prof" "$c" "$kind"
			done
		done
	done
	netem_set ""
}

# ------------------------------------------------------------------ scale

# MEM[Name]=kB from /proc/meminfo
declare -A MEM
mem_sample() {
	local k v _u

	MEM=()
	while read -r k v _u; do
		MEM[${k%:}]=$v
	done </proc/meminfo
}

# slab cache bytes into assoc $1
slab_sample() {
	local -n out=$1
	local name num size _r

	out=()
	{
		read -r _r
		read -r _r
		while read -r name _r num size _r; do
			out["$name"]=$((num * size))
		done
	} </proc/slabinfo 2>/dev/null
}

# RSS = VmRSS kB of process $1
rss_kib() {
	local k v _u

	RSS=0
	{
		while read -r k v _u; do
			[ "$k" = VmRSS: ] && RSS=$v
		done <"/proc/$1/status"
	} 2>/dev/null
}

# proc_cores VAR JIFFIES: cores of a process over HOLD
proc_cores() {
	fmt_milli "$1" $((1000 * $2 / HZ / HOLD))
}

# scale_run IMPL N: IMPL afkcp|kcpgo
scale_run() {
	local impl=$1 n=$2 spid gpid port up=0 acc=0 open_s='' open_limit
	local p0 g0 idle active idle_srv active_srv active_gen idle_stat active_stat
	local kern used anon rss slabtop srcs tag=scale.$1.$2 line w k
	local -A m0 m1 s0 s1

	# seconds to wait for all sessions to come up; then measure what is up
	open_limit=$((30 + n / 1000))
	kcp_quiesce
	: >"$WORK/ssrv.out"
	: >"$WORK/sgen.out"
	case $impl in
	afkcp)
		"$BIN/kcpscale" server -netns "$NS_A" -a "$ADDR_A:0" \
			-preset fast -wnd "1024,1024" -mtu 1350 -time 3600 \
			>"$WORK/ssrv.out" 2>&1 &
		;;
	kcpgo)
		ip netns exec "$NS_A" "$BIN/kgob" scale -a "$ADDR_A:0" \
			"${GOPTS[@]}" -time 3600 >"$WORK/ssrv.out" 2>&1 &
		;;
	esac
	spid=$!
	if ! wait_line "$WORK/ssrv.out" 'LISTEN *' "$spid" 60; then
		progress "  $impl server did not start"
		wait_pid "$spid" 1
		return
	fi
	while read -r w port; do
		[ "$w" = LISTEN ] && break
	done <"$WORK/ssrv.out"
	# ports 2000 and up, below the ephemeral range: 25000 per address
	srcs=$ADDR_B
	((n > 25000)) && srcs=$ADDR_B,$ADDR_B2,$ADDR_B3,$ADDR_B4
	"$BIN/kcpscale" gen -netns "$NS_B" -a "$ADDR_A:$port" -src "$srcs" \
		-port0 2000 -n "$n" -active 0.01 -rate "$ACTIVE_RATE" -size 64 \
		-time 3600 >"$WORK/sgen.out" 2>&1 &
	gpid=$!
	if ! wait_line "$WORK/sgen.out" 'READY *' "$gpid" 120; then
		progress "  generator did not start: $(<"$WORK/sgen.out")"
		wait_pid "$spid" 1
		return
	fi
	snooze 1
	mem_sample
	for k in "${!MEM[@]}"; do m0[$k]=${MEM[$k]}; done
	slab_sample s0
	rss_kib "$spid"
	rss=$RSS
	kill -USR1 "$gpid"
	w=$((EPOCHSECONDS + open_limit))
	while ((EPOCHSECONDS < w)); do
		acc=0
		while read -r line; do
			[[ $line == STAT\ accepted=* ]] || continue
			line=${line#STAT accepted=}
			acc=${line%% *}
		done <"$WORK/ssrv.out"
		open_s=
		while read -r line; do
			[[ $line == ALLUP* ]] && open_s=${line##*secs=}
		done <"$WORK/sgen.out"
		[ -n "$open_s" ] && ((acc >= n)) && break
		snooze 0.2
	done
	up=0
	while read -r line; do
		case $line in
		"UP "*) up=${line#UP } ;;
		"ALLUP "*) line=${line#ALLUP }; up=${line%% *} ;;
		esac
	done <"$WORK/sgen.out"
	progress "  $impl $n: $up sessions up, $acc accepted${open_s:+ in ${open_s}s}"
	snooze 2
	mem_sample
	for k in "${!MEM[@]}"; do m1[$k]=${MEM[$k]}; done
	slab_sample s1
	rss_kib "$spid"
	rss=$((RSS - rss))
	copy "/proc/$NSPID_A/net/kcp_snmp" "$LOGS/$tag.kcp_snmp.a.txt"
	copy "/proc/$NSPID_A/net/snmp" "$LOGS/$tag.snmp.a.txt"
	copy "/proc/$NSPID_B/net/snmp" "$LOGS/$tag.snmp.b.txt"

	# idle CPU
	proc_cpu "$spid"
	p0=$PCPU
	hold_cpu
	idle=$CORES idle_stat=$STAT_CORES
	proc_cpu "$spid"
	proc_cores idle_srv $((PCPU - p0))

	# 1 % active
	kill -USR2 "$gpid"
	snooze 1
	proc_cpu "$spid"
	p0=$PCPU
	proc_cpu "$gpid"
	g0=$PCPU
	hold_cpu
	active=$CORES active_stat=$STAT_CORES
	proc_cpu "$spid"
	proc_cores active_srv $((PCPU - p0))
	proc_cpu "$gpid"
	proc_cores active_gen $((PCPU - g0))

	kill -TERM "$gpid"
	wait_pid "$gpid" 20
	kill -TERM "$spid"
	wait_pid "$spid" 30
	copy "$WORK/sgen.out" "$LOGS/$tag.gen.txt"
	copy "$WORK/ssrv.out" "$LOGS/$tag.server.txt"

	kern=$((m1[Slab] - m0[Slab] + m1[KernelStack] - m0[KernelStack] +
		m1[PageTables] - m0[PageTables] + ${m1[Percpu]:-0} - ${m0[Percpu]:-0} +
		m1[VmallocUsed] - m0[VmallocUsed]))
	used=$((m0[MemFree] + m0[Buffers] + m0[Cached] -
		m1[MemFree] - m1[Buffers] - m1[Cached]))
	anon=$((m1[AnonPages] - m0[AnonPages]))
	# the slab caches that grew most, bytes per session
	slabtop=
	if ((up > 0)); then
		slabtop=$(for k in "${!s1[@]}"; do
			w=$((s1[$k] - ${s0[$k]:-0}))
			((w > 0)) && echo "$((w / up)) $k"
		done | sort -rn | head -6 | while read -r w k; do
			printf '%s:%s,' "$k" "$w"
		done)
	fi
	parse_result "$LOGS/$tag.gen.txt"
	rec "kind=scale impl=$impl sessions=$n up=$up accepted=$acc open_s=${open_s:-na}" \
		"kern_kib=$kern used_kib=$used anon_kib=$anon rss_kib=$rss" \
		"slab_kib=$((m1[Slab] - m0[Slab])) sunreclaim_kib=$((m1[SUnreclaim] - m0[SUnreclaim]))" \
		"idle_cores=$idle idle_server_cores=$idle_srv active_cores=$active" \
		"idle_cores_procstat=$idle_stat active_cores_procstat=$active_stat" \
		"active_server_cores=$active_srv active_gen_cores=$active_gen" \
		"active_rate=$ACTIVE_RATE hold_s=$HOLD gen_active=${R[active]:-}" \
		"gen_msgs=${R[msgs]:-} gen_echoes=${R[echoes]:-} gen_rtx=${R[rtx]:-}" \
		"gen_stalled=${R[stalled]:-} echo_p50_ms=${R[p50_ms]:-} echo_p99_ms=${R[p99_ms]:-}" \
		"slab_top=${slabtop:-none}"
	progress "  $impl $n: kernel $((up ? kern * 1024 / up : 0)) B/session, server RSS $((up ? rss * 1024 / up : 0)) B/session; CPU idle ${idle} cores, 1% active ${active} cores"
}

run_scale() {
	local n impl memkib need

	memkib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
	hold_cpu
	rec "kind=baseline idle_cores=$CORES idle_cores_procstat=$STAT_CORES hold_s=$HOLD"
	progress "scale: baseline guest CPU $CORES cores with nothing running"
	for n in $SCALE; do
		for impl in afkcp kcpgo; do
			# KiB a session may take, both ends counted: skip what
			# cannot fit in 80 % of the guest's memory
			need=16
			[ "$impl" = kcpgo ] && need=48
			if ((n * need > memkib * 8 / 10)); then
				rec "kind=scale impl=$impl sessions=$n status=na why=guest_memory"
				progress "scale $impl $n: skipped, needs more than $((memkib / 1024)) MiB (--mem)"
				continue
			fi
			progress "scale $impl: $n sessions"
			scale_run "$impl" "$n"
		done
	done
}

# ----------------------------------------------------------- crypto drivers

# A real machine's udev loads the CPU-accelerated crypto drivers when it
# boots; this busybox guest has none, and AF_KCP's "aes" would be
# aes-generic. Load the ones this kernel has (one that is absent or
# refuses the CPU is skipped) and record, for each algorithm of interest,
# the driver /proc/crypto gives the highest priority: the one
# crypto_alloc_*() picks.
CRYPTO_MODULES="aesni_intel crc32_pclmul crc32c_intel ghash_clmulni_intel
	sha1_ssse3 sha256_ssse3 sha512_ssse3"
CRYPTO_ALGS="aes crc32 crc32c ghash sha1 sha256 sha512"
load_crypto() {
	local m loaded='' missing='' line name='' drv='' pri=0 a drivers=''
	local -A best bestpri

	for m in $CRYPTO_MODULES; do
		if modprobe -q "$m" 2>/dev/null; then
			loaded+=${loaded:+,}$m
		else
			missing+=${missing:+,}$m
		fi
	done
	# blocks of "name : aes", "driver : aes-aesni", ..., "priority : 300"
	while IFS= read -r line; do
		case $line in
		name*) name=${line##*: } ;;
		driver*) drv=${line##*: } ;;
		priority*)
			pri=${line##*: }
			if ((pri > ${bestpri[$name]:--1})); then
				bestpri[$name]=$pri
				best[$name]=$drv
			fi
			;;
		esac
	done </proc/crypto
	for a in $CRYPTO_ALGS; do
		drivers+=" $a=${best[$a]:-none}"
	done
	copy /proc/crypto "$LOGS/proc_crypto.txt"
	rec "kind=crypto loaded=${loaded:-none} not_loaded=${missing:-none}$drivers"
	progress "crypto drivers:$drivers (loaded ${loaded:-none}; not loaded: ${missing:-none})"
}

# ------------------------------------------------------------------ main

cleanup() {
	local p

	for p in $(jobs -p); do
		kill "$p" 2>/dev/null
	done
	ns_cleanup
	rm -rf "$WORK"
}
trap cleanup EXIT

set_mode
mkdir -p "$WORK"
mkfifo "$WORK/snooze"
exec {SNOOZE_FD}<>"$WORK/snooze"
ns_setup
ADDR_B2=10.9.0.3
ADDR_B3=10.9.0.4
ADDR_B4=10.9.0.5
for a in "$ADDR_B2" "$ADDR_B3" "$ADDR_B4"; do
	ip -n "$NS_B" addr add "$a/24" dev veth-b
done
# a process in each namespace, to read its /proc/PID/net files
ip netns exec "$NS_A" sleep 86400 &
NSPID_A=$!
ip netns exec "$NS_B" sleep 86400 &
NSPID_B=$!
for ns in "$NS_A" "$NS_B"; do
	ip netns exec "$ns" sysctl -qw net.core.somaxconn=65535 \
		net.core.rmem_max=8388608 net.core.wmem_max=8388608 2>/dev/null
	# the scale test opens 100K sessions as fast as it can
	ip netns exec "$ns" sysctl -qw net.kcp.new_sessions_per_sec=0
done
# not per namespace: kcp-go's SetReadBuffer/SetWriteBuffer (SO_RCVBUF,
# SO_SNDBUF) are capped by these, silently; kcptun's 4 MiB must fit
sysctl -qw net.core.rmem_max=8388608 net.core.wmem_max=8388608 2>/dev/null
if (($(</proc/sys/net/core/rmem_max) < 4194304 || $(</proc/sys/net/core/wmem_max) < 4194304)); then
	progress "warning: net.core.rmem_max/wmem_max below 4 MiB: kcp-go gets less than kcptun's buffers"
fi

HAVE_BBR=0
modprobe tcp_bbr 2>/dev/null
[[ $(</proc/sys/net/ipv4/tcp_available_congestion_control) == *bbr* ]] && HAVE_BBR=1
# before the first AF_KCP socket asks the crypto API for "aes"
load_crypto
trace_setup
HAVE_FEC=0
HAVE_AES=0
HAVE_SALSA20=0
HAVE_FEC_CRYPTO=0
"$BIN/kbench" probe -fec "10,3" >/dev/null 2>&1 && HAVE_FEC=1
"$BIN/kbench" probe -crypt aes >/dev/null 2>&1 && HAVE_AES=1
"$BIN/kbench" probe -crypt salsa20 >/dev/null 2>&1 && HAVE_SALSA20=1
"$BIN/kbench" probe -fec "10,3" -crypt aes >/dev/null 2>&1 && HAVE_FEC_CRYPTO=1

cpu_model=
while IFS=: read -r k v; do
	[[ $k == model\ name* ]] && { cpu_model=${v# }; break; }
done </proc/cpuinfo
rec "kind=meta bench=$BENCH kernel=$(uname -r) guest_cpus=$NCPU" \
	"guest_mem_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)" \
	"guest_cpu=${cpu_model// /_}" \
	"have_bbr=$HAVE_BBR have_fec=$HAVE_FEC have_fec_crypto=$HAVE_FEC_CRYPTO" \
	"have_aes=$HAVE_AES have_salsa20=$HAVE_SALSA20 have_trace=$HAVE_TRACE" \
	"time_s=$TIME grace_s=$GRACE rr=$RR rrgap_ms=$RRGAP rrsize=64 drain_s=$DRAIN" \
	"scale=${SCALE// /,} hold_s=$HOLD active_rate=$ACTIVE_RATE udp_size=$UDP_SIZE" \
	"profiles=${PROFILES// /,} contenders=${CONTENDERS// /,}" \
	"xfer_bytes=$XFER reps=$REPS target_cells=${TARGET_CELLS// /,}" \
	"udp_rate0_mbit=$UDP_RATE0 icount=${BENCH_ICOUNT:-1}"
for p in $PROFILES; do
	rec "kind=profile name=$p netem=${NETEM[$p]// /_}"
done
progress "bench $BENCH on $(uname -r), $NCPU CPUs: bbr=$HAVE_BBR fec=$HAVE_FEC aes+fec=$HAVE_FEC_CRYPTO"

[ "${BENCH_SKIP_TARGETS:-0}" = 1 ] || run_targets
[ "${BENCH_SKIP_NET:-0}" = 1 ] || run_net
# UDP sockets still open (the tools all exited): a leak check
for ns in "$NS_A" "$NS_B"; do
	ip netns exec "$ns" ss -uanp >"$LOGS/udp_sockets.${ns%%-[0-9]*}.txt" 2>&1
done
[ "${BENCH_SKIP_SCALE:-0}" = 1 ] || run_scale
copy "/proc/$NSPID_A/net/kcp_snmp" "$LOGS/kcp_snmp.a.txt"
copy "/proc/$NSPID_B/net/kcp_snmp" "$LOGS/kcp_snmp.b.txt"
rec "kind=end wall_s=$((EPOCHSECONDS - T_START))"
progress "done"
