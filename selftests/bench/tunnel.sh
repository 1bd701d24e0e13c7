#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kcptun workload with the server side swapped (issue 17's benchmark):
# real kcptun-client -> real kcptun-server, then real kcptun-client ->
# kcpctl tunnel server, both with kcptun's defaults (aes, fast, FEC 10/3,
# snappy, smux 1), the same TCP transfers (tunpeer, both ways at once,
# SHA-256 checked). Meant for a guest with an instruction-count clock
# (run-vm.sh --icount, see bench-tunnel in the Makefile): guest seconds
# are then instructions, so goodput is bytes per instruction of the whole
# guest, and a process's CPU time (/proc/PID/stat) is the instructions it
# ran in its own context. Softirq work (the kernel's KCP) is charged to
# whatever runs when it happens, so the per-process split is indicative;
# the whole-guest figures are exact. Prints RESULT lines; a last pair
# without cipher, FEC and compression shows where the instructions go.
# Usage: tunnel.sh [quick]

# shellcheck source=selftests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"

KCPCTL=${KCPCTL:-$TOP/build/tools/kcpctl}
TUNPEER=${TUNPEER:-$TOP/build/net/tunpeer}
if [ "${1:-}" = quick ]; then
	B1=$((2 << 20)) B8=$((256 << 10))
else
	B1=$((8 << 20)) B8=$((1 << 20))
fi
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=()
}
trap 'cleanup; ns_cleanup; rm -rf "$WORK"' EXIT
ns_setup
mkfifo "$WORK/snooze"
exec {SNOOZE_FD}<>"$WORK/snooze"

# ticks PID: utime + stime of PID (clock ticks)
ticks() {
	local s f
	read -r s <"/proc/$1/stat"
	s=${s##*) }
	read -r -a f <<<"$s"
	echo $((f[11] + f[12]))
}

# busy: the guest's non-idle ticks (all CPUs)
busy() {
	local u n s q sq st
	# cpu user nice system idle iowait irq softirq steal
	read -r _ u n s _ _ q sq st _ </proc/stat
	echo $((u + n + s + q + sq + st))
}

# The CPU crypto drivers a real machine's udev loads at boot (this
# busybox guest has no udev): kcptun's Go AES uses AES-NI, and so does
# AF_KCP's "aes" once aesni_intel is there; crc32 likewise with PCLMUL.
for m in aesni_intel crc32_pclmul crc32c_intel; do
	modprobe -q "$m" 2>/dev/null
done
echo "# crypto drivers: $(awk '/^name/ { n = $3 } /^driver/ { d = $3 }
	/^priority/ { if ((n == "aes" || n == "crc32") && $3 > p[n]) {
		p[n] = $3; b[n] = d } }
	END { printf "aes=%s crc32=%s", b["aes"], b["crc32"] }' /proc/crypto)"

hz=$(getconf CLK_TCK)
port=29900
# run NAME SERVER-KIND CONNS BYTES [FLAGS...]: FLAGS for both ends
run() {
	local name=$1 kind=$2 conns=$3 bytes=$4 tp srv cli out res
	local b0 b1 s0 s1 c0 c1
	shift 4
	port=$((port + 1))
	$NSX_A "$TUNPEER" serve 127.0.0.1:0 >"$WORK/t-$port.out" 2>&1 &
	PIDS+=($!)
	wait_log "$WORK/t-$port.out" LISTEN 20
	read -r tp <"$WORK/t-$port.out"
	tp=${tp#LISTEN }
	if [ "$kind" = kcptun ]; then
		$NSX_A kcptun-server -l "$ADDR_A:$port" -t "127.0.0.1:$tp" \
			--quiet "$@" >"$WORK/s-$port.log" 2>&1 &
	else
		$NSX_A "$KCPCTL" tunnel server -l "$ADDR_A:$port" \
			-t "127.0.0.1:$tp" --quiet "$@" >"$WORK/s-$port.log" 2>&1 &
	fi
	srv=$!
	PIDS+=("$srv")
	$NSX_B kcptun-client -l 127.0.0.1:12948 -r "$ADDR_A:$port" --quiet \
		"$@" >"$WORK/c-$port.log" 2>&1 &
	cli=$!
	PIDS+=("$cli")
	wait_log "$WORK/s-$port.log" "listening on" 20 ||
		echo "# $name $kind: the server did not start"
	wait_log "$WORK/c-$port.log" "listening on" 20 ||
		echo "# $name $kind: the client did not start"
	# one small transfer first: the session exists, the key is derived
	in_b "$TUNPEER" connect 127.0.0.1:12948 1 1024 1024 120 >/dev/null
	b0=$(busy) s0=$(ticks "$srv") c0=$(ticks "$cli")
	out=$(in_b "$TUNPEER" connect 127.0.0.1:12948 "$conns" "$bytes" \
		"$bytes" 1200 2>&1)
	b1=$(busy) s1=$(ticks "$srv") c1=$(ticks "$cli")
	res=$(echo "$out" | grep '^RESULT')
	if [[ $res != "RESULT ok=1"* ]]; then
		echo "# $name $kind failed:"
		echo "$out" | tail -3 | sed 's/^/#   /'
		tail -n 5 "$WORK/s-$port.log" "$WORK/c-$port.log" |
			sed 's/^/#   /'
	fi
	echo "RESULT bench=tunnel name=$name server=$kind conns=$conns" \
	     "bytes_each_way=$bytes ok=$(kv "$res" ok)" \
	     "goodput_kbps=$(kv "$res" goodput_kbps) secs=$(kv "$res" secs)" \
	     "guest_busy_s=$(echo "scale=2; ($b1 - $b0) / $hz" | bc)" \
	     "server_cpu_s=$(echo "scale=2; ($s1 - $s0) / $hz" | bc)" \
	     "client_cpu_s=$(echo "scale=2; ($c1 - $c0) / $hz" | bc)"
	cleanup
}

for c in 1 8; do
	if [ $c = 1 ]; then b=$B1; else b=$B8; fi
	run "$c-conn" kcptun $c $b
	run "$c-conn" kcpctl $c $b
done
# not the issue's workload, a breakdown: without cipher, FEC and snappy
run "1-conn-plain" kcptun 1 "$B1" --crypt none --ds 0 --ps 0 --nocomp
run "1-conn-plain" kcpctl 1 "$B1" --crypt none --ds 0 --ps 0 --nocomp
