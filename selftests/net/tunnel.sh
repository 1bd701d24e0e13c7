#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kcpctl tunnel against the real kcptun 20210922 (Debian's kcptun-client
# and kcptun-server): real kcptun-client -> kcpctl tunnel server, and
# kcpctl tunnel client -> real kcptun-server, between two namespaces
# (servers and the TCP target in a, clients and the TCP application in
# b), with kcptun's defaults (aes, fast, FEC 10/3, snappy, smux 1),
# without compression, cipher and FEC, with smux v2 (and small smux
# buffers, so that flow control works), and from a JSON
# config; 1 and 8 TCP connections carrying data both ways, each checked
# with SHA-256 (build/net/tunpeer); a clean link and 20 ms / 5 % loss;
# end of file carried both ways; clean exit on SIGTERM.
# Then flags that cannot be honoured, and unknown ones, are refused.
# Usage: tunnel.sh [quick]

# shellcheck source=selftests/net/lib.sh
. "$(dirname "$0")/lib.sh"

KCPCTL=${KCPCTL:-$TOP/build/tools/kcpctl}
TUNPEER=${TUNPEER:-$TOP/build/net/tunpeer}
KCPTUN_CLIENT=${KCPTUN_CLIENT:-kcptun-client}
KCPTUN_SERVER=${KCPTUN_SERVER:-kcptun-server}
quick=${1:-}

TARGET_PID=
SRV_PID=
CLI_PID=

stop_all() {
	local p
	for p in $CLI_PID $SRV_PID $TARGET_PID; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	CLI_PID=
	SRV_PID=
	TARGET_PID=
}

trap 'stop_all; ns_cleanup; rm -rf "$WORK"' EXIT

if ! command -v "$KCPTUN_CLIENT" >/dev/null ||
   ! command -v "$KCPTUN_SERVER" >/dev/null; then
	not_ok "kcptun-client and kcptun-server installed (Debian kcptun)"
	tap_end
	exit
fi
ns_setup
# netem_set runs tc four times: only when the link is to change
NETEM_NOW=
netem() {
	[ "$1" = "$NETEM_NOW" ] && return 0
	NETEM_NOW=$1
	netem_set "$1"
}
mkfifo "$WORK/snooze"
exec {SNOOZE_FD}<>"$WORK/snooze"

# The TCP target in namespace a; sets TARGET_PORT.
start_target() {
	local n
	: >"$WORK/target.out"
	$NSX_A "$TUNPEER" serve 127.0.0.1:0 >"$WORK/target.out" 2>&1 &
	TARGET_PID=$!
	for ((n = 0; n < 100; n++)); do
		read -r TARGET_PORT <"$WORK/target.out"
		TARGET_PORT=${TARGET_PORT#LISTEN }
		[ -n "$TARGET_PORT" ] && return 0
		snooze 0.05
	done
	return 1
}

# stop_tunnel PID NAME LOG: SIGTERM must end kcpctl tunnel, status 0,
# within its 3 s of flushing (10 s: a loaded TCG host stalls guests)
stop_tunnel() {
	local pid=$1 name=$2 log=$3 rc n
	kill -TERM "$pid" 2>/dev/null
	for ((n = 0; n < 200; n++)); do
		alive "$pid" || break
		snooze 0.05
	done
	# not kill -0: bash may not have reaped the zombie yet
	if alive "$pid"; then
		kill -9 "$pid"
		wait "$pid" 2>/dev/null
		diag "$name: still running 10 s after SIGTERM"
		tail -n 3 "$log" | sed 's/^/#   /'
		return 1
	fi
	wait "$pid"
	rc=$?
	[ $rc -eq 0 ] || diag "$name: exit status $rc after SIGTERM"
	return $rc
}

case_n=0
PAIR=
PAIR_DIR=
# pair_start NAME DIR FLAGS...: a tunnel in namespaces a (server, target)
# and b (client). DIR k2t: kcptun-client -> kcpctl tunnel server; t2k:
# kcpctl tunnel client -> kcptun-server. FLAGS go to both ends; "-c
# FILE" is the kcpctl end's and JSON_FLAGS the kcptun end's equivalent.
# Each end starts once per configuration: a Go program takes seconds to
# start under TCG.
pair_start() {
	local name=$1 dir=$2 port
	local -a srv cli tflags kflags
	shift 2
	case_n=$((case_n + 1))
	port=$((29900 + case_n))
	PAIR=$name
	PAIR_DIR=$dir
	PAIR_T0=$SECONDS
	tflags=("$@")
	kflags=("$@")
	if [ "${1:-}" = -c ]; then
		kflags=("${JSON_FLAGS[@]}")
	fi
	netem ""
	start_target || { not_ok "$name: target did not start"; return 1; }
	if [ "$dir" = k2t ]; then
		srv=("$KCPCTL" tunnel server "${tflags[@]}")
		cli=("$KCPTUN_CLIENT" "${kflags[@]}")
	else
		srv=("$KCPTUN_SERVER" "${kflags[@]}")
		cli=("$KCPCTL" tunnel client "${tflags[@]}")
	fi
	$NSX_A "${srv[@]}" -l "$ADDR_A:$port" -t "127.0.0.1:$TARGET_PORT" \
		>"$WORK/srv-$case_n.log" 2>&1 &
	SRV_PID=$!
	$NSX_B "${cli[@]}" -l "127.0.0.1:12948" -r "$ADDR_A:$port" \
		>"$WORK/cli-$case_n.log" 2>&1 &
	CLI_PID=$!
	if ! wait_log "$WORK/srv-$case_n.log" "listening on" ||
	   ! wait_log "$WORK/cli-$case_n.log" "listening on"; then
		not_ok "$name: tunnel did not start"
		tail -3 "$WORK/srv-$case_n.log" "$WORK/cli-$case_n.log" |
			sed 's/^/#   /'
		stop_all
		return 1
	fi
	PAIR_UP=$((SECONDS - PAIR_T0))
}

# xfer WHAT CONNS BYTES [NETEM]: CONNS connections each carry BYTES each
# way through the running pair, SHA-256 checked
xfer() {
	local what=$1 conns=$2 bytes=$3 netem=${4:-} out rc res
	local name="$PAIR, $what"

	netem "$netem" || { not_ok "$name: netem"; return; }
	out=$(in_b "$TUNPEER" connect 127.0.0.1:12948 "$conns" "$bytes" \
		"$bytes" 240 2>&1)
	rc=$?
	res=$(echo "$out" | grep '^RESULT')
	if [ $rc -eq 0 ] && [[ $res == "RESULT ok=1"* ]]; then
		ok "$name ($(kv "$res" goodput_kbps) kbit/s, $(kv "$res" secs) s)"
	else
		not_ok "$name"
		echo "$out" | tail -4 | sed 's/^/#   /'
		tail -4 "$WORK/srv-$case_n.log" "$WORK/cli-$case_n.log" |
			sed 's/^/#   /'
	fi
}

# xfer_eof: the application's end of file reaches the target after all
# data (smux FIN) and comes back as end of file; the target's close
# reaches the application after all its data
xfer_eof() {
	local out n0 n1
	n0=$(grep -c '^EOF 100000$' "$WORK/target.out")
	out=$(in_b "$TUNPEER" eof 127.0.0.1:12948 100000 60 2>&1)
	n1=$(grep -c '^EOF 100000$' "$WORK/target.out")
	if [[ $out == "RESULT ok=1"* ]] && [ "$n1" -gt "$n0" ]; then
		ok "$PAIR, end of file both ways ($(kv "$out" secs) s)"
	else
		not_ok "$PAIR, end of file both ways (target saw $((n1 - n0)))"
		echo "$out" | tail -2 | sed 's/^/#   /'
		grep EOF "$WORK/target.out" | tail -2 | sed 's/^/#   /'
	fi
}

# pair_stop: kcpctl's end must leave at once, status 0, on SIGTERM
pair_stop() {
	local t1=$SECONDS what
	if [ "$PAIR_DIR" = k2t ]; then
		if stop_tunnel "$SRV_PID" "kcpctl tunnel server" \
			"$WORK/srv-$case_n.log"; then
			what="$((SECONDS - t1)) s; the pair: $PAIR_UP s to start"
			ok "$PAIR: kcpctl tunnel server exits on SIGTERM ($what, $((SECONDS - PAIR_T0)) s in all)"
		else
			not_ok "$PAIR: kcpctl tunnel server exits on SIGTERM"
		fi
		SRV_PID=
	else
		if stop_tunnel "$CLI_PID" "kcpctl tunnel client" \
			"$WORK/cli-$case_n.log"; then
			what="$((SECONDS - t1)) s; the pair: $PAIR_UP s to start"
			ok "$PAIR: kcpctl tunnel client exits on SIGTERM ($what, $((SECONDS - PAIR_T0)) s in all)"
		else
			not_ok "$PAIR: kcpctl tunnel client exits on SIGTERM"
		fi
		CLI_PID=
	fi
	stop_all
}

K2T="kcptun-client -> kcpctl tunnel server"
T2K="kcpctl tunnel client -> kcptun-server"

KEY=(--key "tunnel test key")
PLAIN=(--nocomp --crypt none --ds 0 --ps 0)
LOSSY="delay 20ms loss 5%"
if [ "$quick" = quick ]; then
	B1=131072 B8=32768 BL1=65536 BL8=16384
else
	B1=524288 B8=98304 BL1=196608 BL8=49152
fi

# The JSON config of the kcpctl end (not the defaults, a snmplog), and
# the same as flags for the kcptun end. A kcpctl client spreads the
# connections over two sessions, and opens new ones after 2 s; kcptun's
# server has no such flags, and a server ignores these keys as kcptun's
# JSON decoder does.
cat >"$WORK/tunnel.json" <<EOJ
{
	"key": "json key",
	"crypt": "aes-128",
	"mode": "fast2",
	"mtu": 1200,
	"sndwnd": 256,
	"rcvwnd": 512,
	"datashard": 5,
	"parityshard": 2,
	"smuxver": 2,
	"streambuf": 1048576,
	"keepalive": 5,
	"quiet": true,
	"snmplog": "$WORK/snmp-20060102.log",
	"snmpperiod": 1,
	"conn": 2,
	"autoexpire": 2
}
EOJ
JSON_FLAGS=(--key "json key" --crypt aes-128 --mode fast2 --mtu 1200
	--sndwnd 256 --rcvwnd 512 --ds 5 --ps 2 --smuxver 2
	--streambuf 1048576 --keepalive 5 --quiet)

for dir in k2t t2k; do
	if [ $dir = k2t ]; then d=$K2T; else d=$T2K; fi
	if pair_start "$d, kcptun defaults" $dir "${KEY[@]}"; then
		xfer "1 connection" 1 $B1
		xfer "8 connections" 8 $B8
		xfer "64 connections at once" 64 4096
		xfer_eof
		xfer "8 connections, 20ms 5% loss" 8 $BL8 "$LOSSY"
		pair_stop
	fi
	if pair_start "$d, --nocomp --crypt none --ds 0 --ps 0" $dir \
		"${PLAIN[@]}"; then
		xfer "1 connection" 1 $B1
		xfer "8 connections" 8 $B8
		pair_stop
	fi
	# small buffers: the token bucket and v2's stream windows at work
	if pair_start "$d, --smuxver 2 --smuxbuf 131072 --streambuf 32768" \
		$dir "${KEY[@]}" --smuxver 2 --smuxbuf 131072 \
		--streambuf 32768; then
		xfer "8 connections" 8 $B8
		xfer_eof
		xfer "1 connection, 20ms 5% loss" 1 $BL1 "$LOSSY"
		pair_stop
	fi
	if pair_start "$d, -c JSON config" $dir -c "$WORK/tunnel.json"; then
		xfer "1 connection" 1 $B1
		xfer "8 connections" 8 $B8
		pair_stop
	fi
done

# the kcpctl ends of the JSON cases wrote kcptun's --snmplog CSV
snmp=$(find "$WORK" -maxdepth 1 -name 'snmp-*.log' | head -1)
if [ -n "$snmp" ] && head -1 "$snmp" | grep -q '^Unix,BytesSent,BytesReceived,' &&
   [ "$(wc -l <"$snmp")" -ge 2 ] &&
   awk -F, 'NR > 1 && $2 > 0 { found = 1 } END { exit !found }' "$snmp"; then
	ok "--snmplog: CSV with kcp-go's header and counters (${snmp##*/})"
else
	not_ok "--snmplog: CSV with kcp-go's header and counters"
	[ -n "$snmp" ] && head -3 "$snmp" | sed 's/^/#   /'
fi

# refused flags: an error that names them, exit status 2, nothing started
refused() {
	local what=$1 out rc
	shift
	out=$("$KCPCTL" tunnel "$@" 2>&1 </dev/null)
	rc=$?
	if [ $rc -eq 2 ] && [[ $out == *"$what"* ]]; then
		ok "refused: kcpctl tunnel $* ($what)"
	else
		not_ok "refused: kcpctl tunnel $* (status $rc)"
		echo "$out" | head -3 | sed 's/^/#   /'
	fi
}
refused "flag provided but not defined: -bogus" server --bogus 1
refused "flag provided but not defined: -pprof" client --pprof
refused "--tcp is not supported" client --tcp
refused "--pprof is not supported" server --pprof
echo '{"tcp": true}' >"$WORK/tcp.json"
refused "--tcp is not supported" server -c "$WORK/tcp.json"
refused "unsupported smux version: 3" client --smuxver 3
tap_end
