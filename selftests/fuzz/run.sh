#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs the fuzz targets built by the Makefile and prints TAP.
#
#   run.sh fuzz SECONDS TARGET...     fuzz each target SECONDS seconds with
#                                     its corpus ($O/corpus/T) and seeds/T
#   run.sh runs N TARGET...           fuzz each target for N executions
#                                     (at most FUZZ_MAX_SECONDS, 86400 s)
#   run.sh regress TARGET...          replay regress/* through every target
#                                     and seeds/T through target T, once
#
# Env: O (build dir, default ../../build/fuzz), FUZZ_JOBS (targets fuzzed
# at once, default 1), KCP_FUZZ_TOLERATE (known findings to step over, see
# README). Exit status: 0 when every line is ok.

set -u
here=$(cd "$(dirname "$0")" && pwd)
O=${O:-$here/../../build/fuzz}
JOBS=${FUZZ_JOBS:-1}
mode=$1
shift

# Input budget of each target: one datagram (crypt), a multi-datagram
# operation script (engine, FEC), or the channel decisions of a transfer.
max_len() {
	case $1 in
	fuzz_engine_input) echo 16384 ;;
	fuzz_engine_pair) echo 4096 ;;
	fuzz_fec_decode) echo 20000 ;;
	fuzz_crypt_open) echo 1600 ;;
	*) echo 4096 ;;
	esac
}

n=0
failed=0
tap() {	# ok(0/1) text
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

# The first lines that say why a run failed, as TAP comments.
why() {
	grep -E -m 6 'FUZZ_CHECK|^  [^ ]|ERROR: |runtime error|SUMMARY|Test unit written' "$1" |
		sed 's/^/# /'
}

artifacts() {
	find "$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
		-o -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null | sort
}

fuzz_one() {	# target seconds [runs]: runs it, leaves $O/logs/T.{log,rc}
	local t=$1 secs=$2 runs=${3:--1} bin=$O/$1 corpus=$O/corpus/$1 art=$O/artifacts/$1
	local log=$O/logs/$t.log seeds=$here/seeds/$t dirs rc
	mkdir -p "$corpus" "$art" "$O/logs"
	artifacts "$art" > "$O/logs/$t.before"
	dirs=("$corpus")
	[ -d "$seeds" ] && dirs+=("$seeds")
	date +%s > "$O/logs/$t.t0"
	"$bin" -max_total_time="$secs" -runs="$runs" -max_len="$(max_len "$t")" -timeout=60 \
		-rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$art/" \
		"${dirs[@]}" > "$log" 2>&1
	rc=$?
	echo "$rc" > "$O/logs/$t.rc"
	date +%s > "$O/logs/$t.t1"
}

report_one() {	# target seconds [runs]
	local t=$1 secs=$2 runs=${3:-} log=$O/logs/$1.log rc execs cov crashes new
	rc=$(cat "$O/logs/$t.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	new=$(artifacts "$O/artifacts/$t" | comm -13 "$O/logs/$t.before" -)
	crashes=$(printf '%s' "$new" | grep -c . || true)
	[ "$rc" != 0 ] && [ "$crashes" = 0 ] && crashes=1
	echo "FUZZ $t execs=${execs:-0} cov=${cov:-0} crashes=$crashes"
	if [ -n "$runs" ]; then
		secs=$(($(cat "$O/logs/$t.t1") - $(cat "$O/logs/$t.t0")))
		# the time limit must not end it before the count
		if [ "$rc" = 0 ] && [ "${execs:-0}" -lt "$runs" ]; then
			tap 1 "$t: ${execs:-0} execs in $secs s, fewer than $runs (FUZZ_MAX_SECONDS)"
			return
		fi
	fi
	if [ "$rc" = 0 ]; then
		tap 0 "$t: ${execs:-0} execs in $secs s, no crash"
	else
		tap 1 "$t: ${execs:-0} execs, crashed (exit $rc)"
		why "$log"
		printf '%s\n' "$new" | sed -n 's/^./# artifact: &/p'
	fi
}

case $mode in
fuzz | runs)
	if [ "$mode" = runs ]; then
		runs=$1
		secs=${FUZZ_MAX_SECONDS:-86400}
	else
		runs=
		secs=$1
	fi
	shift
	running=0
	for t in "$@"; do
		fuzz_one "$t" "$secs" "$runs" &
		running=$((running + 1))
		if [ "$running" -ge "$JOBS" ]; then
			wait -n
			running=$((running - 1))
		fi
	done
	wait
	for t in "$@"; do
		report_one "$t" "$secs" "$runs"
	done
	;;
regress)
	art=$O/artifacts/regress
	mkdir -p "$O/logs" "$art"
	mapfile -t files < <(find "$here/regress" -type f ! -name 'README*' 2>/dev/null | sort)
	for t in "$@"; do
		log=$O/logs/$t.regress.log
		if [ "${#files[@]}" = 0 ]; then
			echo "ok $((n + 1)) - $t: regress/ is empty # SKIP no reproducers committed"
			n=$((n + 1))
		else
			for f in "${files[@]}"; do
				"$O/$t" -runs=1 -artifact_prefix="$art/" "$f" \
					> "$log" 2>&1
				rc=$?
				tap "$rc" "$t < regress/${f#"$here"/regress/}"
				[ "$rc" = 0 ] || why "$log"
			done
		fi
		if [ -d "$here/seeds/$t" ]; then
			"$O/$t" -runs=1 -artifact_prefix="$art/" \
				"$here/seeds/$t"/* > "$log" 2>&1
			rc=$?
			tap "$rc" "$t < seeds/$t ($(ls "$here/seeds/$t" | wc -l) files)"
			[ "$rc" = 0 ] || why "$log"
		fi
	done
	;;
*)
	echo "usage: $0 fuzz SECONDS TARGET... | runs N TARGET... | regress TARGET..." >&2
	exit 2
	;;
esac
echo "1..$n"
echo "$((n - failed)) passed, $failed failed"
[ "$failed" = 0 ]
