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
#   run.sh campaign N TARGET...       like runs, in parts of FUZZ_PART
#                                     (1M) executions kept in $O/logs/T.parts:
#                                     a killed run resumes where it stopped
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

fuzz_one() {	# target seconds [runs [log]]: runs it, leaves $O/logs/T.{log,rc}
	local t=$1 secs=$2 runs=${3:--1} bin=$O/$1 corpus=$O/corpus/$1 art=$O/artifacts/$1
	local log=${4:-$O/logs/$1.log} seeds=$here/seeds/$t dirs rc
	mkdir -p "$corpus" "$art" "$O/logs"
	artifacts "$art" > "$O/logs/$t.before"
	dirs=("$corpus")
	[ -d "$seeds" ] && dirs+=("$seeds")
	date +%s > "$O/logs/$t.t0"
	"$bin" -max_total_time="$secs" -runs="$runs" -max_len="$(max_len "$t")" -timeout=60 \
		-rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$art/" \
		"${dirs[@]}" > "$log" 2>&1
	rc=$?
	echo "$rc" > "${log%.log}.rc"
	date +%s > "$O/logs/$t.t1"
}

# Executions of one libFuzzer log: its final count, or for a run that was
# killed the last progress line (a lower bound).
log_execs() {
	local n

	n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -n 1)
	[ -n "$n" ] || n=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1/p' "$1" | tail -n 1)
	echo "${n:-0}"
}

campaign_execs() {	# target: executions of every part so far
	local f sum=0

	for f in "$O/logs/$1.parts"/*.log; do
		[ -f "$f" ] && sum=$((sum + $(log_execs "$f")))
	done
	echo "$sum"
}

# A part that crashed; one stopped by a signal (libFuzzer's "run
# interrupted", or no rc at all when the shell went too) only ended early.
part_failed() {	# part.rc
	[ -f "$1" ] && [ "$(cat "$1")" != 0 ] &&
		! grep -q 'libFuzzer: run interrupted' "${1%.rc}.log"
}

failed_part() {	# dir: the first part that crashed, without .rc
	local f

	for f in "$1"/*.rc; do
		part_failed "$f" && { echo "${f%.rc}"; return; }
	done
}

# One campaign: parts of FUZZ_PART runs on the same corpus until N in all.
# A part that fails ends it; its log and rc stay, so a rerun reports it.
campaign_one() {	# target runs
	local t=$1 runs=$2 dir=$O/logs/$1.parts part=${FUZZ_PART:-1000000}
	local sofar k left

	mkdir -p "$dir"
	[ -z "$(failed_part "$dir")" ] || return
	sofar=$(campaign_execs "$t")
	while [ "$sofar" -lt "$runs" ]; do
		k=$(find "$dir" -name '*.log' | wc -l)
		k=$(printf '%03d' $((k + 1)))
		left=$((runs - sofar))
		[ "$left" -gt "$part" ] && left=$part
		fuzz_one "$t" 86400 "$left" "$dir/$k.log"
		part_failed "$dir/$k.rc" && return
		[ "$(cat "$dir/$k.rc")" = 0 ] || return	# interrupted
		sofar=$(campaign_execs "$t")
	done
}

campaign_report() {	# target runs
	local t=$1 runs=$2 dir=$O/logs/$1.parts execs parts bad

	execs=$(campaign_execs "$t")
	parts=$(find "$dir" -name '*.log' | wc -l)
	bad=$(failed_part "$dir")
	echo "FUZZ $t execs=$execs parts=$parts"
	if [ -n "$bad" ]; then
		tap 1 "$t: crashed in part $(basename "$bad") after $execs execs (exit $(cat "$bad.rc"))"
		why "$bad.log"
	elif [ "$execs" -lt "$runs" ]; then
		tap 1 "$t: $execs execs in $parts parts, fewer than $runs"
	else
		tap 0 "$t: $execs execs in $parts parts, no crash"
	fi
}

# jobs_each FN ARG... -- TARGET...: FN TARGET ARG... for every target,
# JOBS of them at once
jobs_each() {
	local fn=$1 args=() running=0 t

	shift
	while [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	shift
	for t in "$@"; do
		"$fn" "$t" "${args[@]}" &
		running=$((running + 1))
		if [ "$running" -ge "$JOBS" ]; then
			wait -n
			running=$((running - 1))
		fi
	done
	wait
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
	jobs_each fuzz_one "$secs" "$runs" -- "$@"
	for t in "$@"; do
		report_one "$t" "$secs" "$runs"
	done
	;;
campaign)
	runs=$1
	shift
	jobs_each campaign_one "$runs" -- "$@"
	for t in "$@"; do
		campaign_report "$t" "$runs"
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
	echo "usage: $0 fuzz SECONDS TARGET... | runs N TARGET... |" \
		"campaign N TARGET... | regress TARGET..." >&2
	exit 2
	;;
esac
echo "1..$n"
echo "$((n - failed)) passed, $failed failed"
[ "$failed" = 0 ]
