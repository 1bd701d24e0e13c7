#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-debug: the VM suite on a debug build of Debian's 6.1 kernel
# (KASAN, kmemleak, lockdep, UBSAN, debug objects, list and refcount
# checks; selftests/debug-config.sh), then a kmemleak scan. Prints TAP;
# the last line is "N passed, N failed".
#
#   selftests/debug.sh [--full] [--rebuild] [--build-only] [--no-build]
#                      [--timeout SECS] [--suites "NAME..."]
#
# The kernel is built once into build/debug-kernel/ (make -j$(nproc), long:
# run 'selftests/debug.sh --build-only' ahead) and rebuilt only when
# debug-config.sh, the base config, the source or the compiler change.
# Source: $KCP_KSRC, else /work/ksrc/linux-source-6.1, else
# /usr/src/linux-source-6.1.tar.xz unpacked under build/debug-kernel/.
# $KCP_DEBUG_DIR names another kernel directory (another checkout's:
# reused as it is when up to date); the module, the serial log and the
# results go to $KCP_DEBUG_OUT (default: that directory). --no-build fails
# instead of building when the kernel there is missing or out of date.
# --suites runs only the named suites of selftests/net/run_all.sh.
#
# In the guest the suites run in two halves with a kmemleak scan after
# each: the module's allocations are still symbolized before lifecycle.sh
# (and the module unload test of races.sh, run with it) unloads it. The
# races suite runs in its long mode (RACES_SECS, RACES_ROUNDS: default 30
# s per stress, 4 rounds). Leak suspects already present before the suite
# (boot) are cleared first and kept in results/kmemleak-boot.txt.
# A suspect fails the run unless KMEMLEAK_KNOWN below explains it as the
# kernel's own.

set -uo pipefail

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
TOP=$(cd "$HERE/.." && pwd -P)
D=${KCP_DEBUG_DIR:-$TOP/build/debug-kernel}
OBJ=$D/obj
OUT=${KCP_DEBUG_OUT:-$D}
readonly HERE TOP D OBJ OUT

# Kernel-internal kmemleak false positives seen on this kernel, one
# extended regex per entry, matched against the joined backtrace of a
# suspect (frames separated by spaces). Keep each narrow, say why.
readonly KMEMLEAK_KNOWN=(
)

# Slab caches compared before and after the suite (the kernel boots with
# slab_nomerge, so each has its own line in /proc/slabinfo): the AF_KCP
# sockets and their segments, the UDP sockets under them, skb heads.
readonly SLAB_CACHES=(KCP kcp_seg UDP UDPv6 skbuff_head_cache)

# The guest half: run in the VM by the host half below.
guest() {
	local quick=$1 only=$2 suites=() late=() s r=$KCP_RESULTS
	local km=/sys/kernel/debug/kmemleak

	# races.sh's unload test runs with lifecycle, after the first scan
	while read -r s; do
		[[ -z $only || " $only " == *" $s "* ]] || continue
		[[ $s != races && $s != lifecycle && $s != modload ]] ||
			late+=("$s")
		[[ $s == lifecycle || $s == modload ]] || suites+=("$s")
	done < <(sed -n 's/^run \([a-z_0-9]*\) .*/\1/p' selftests/net/run_all.sh)

	kmemleak_scan() {
		echo scan >$km
		sleep 6
		echo scan >$km
		cat $km >"$r/$1"
	}
	# Objects in use of the caches sockets live in: "NAME ACTIVE" lines.
	# Per-cpu slabs count as in use until a shrink gives them back.
	slab_snap() {
		local c

		for c in "${SLAB_CACHES[@]}"; do
			[[ ! -w /sys/kernel/slab/$c/shrink ]] || echo 1 >"/sys/kernel/slab/$c/shrink"
		done
		awk -v want=" ${SLAB_CACHES[*]} " \
			'index(want, " " $1 " ") { print $1, $2 }' /proc/slabinfo
	}
	# After the suite: wait (up to 60 s: time-wait tombstones, RCU) for
	# the KCP and kcp_seg caches to drain back to their counts before it.
	slab_settle() {
		local i

		for ((i = 0; i < 60; i++)); do
			slab_snap | awk 'NR == FNR { b[$1] = $2; next }
				($1 == "KCP" || $1 == "kcp_seg") && $2 > b[$1] { up = 1 }
				END { exit up }' "$r/slab-before.txt" - && break
			sleep 1
		done
		slab_snap >"$r/slab-after.txt"
	}
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	slab_snap >"$r/slab-before.txt"
	if [[ -w $km ]]; then
		# Suspects from boot: keep, then mark them reported.
		kmemleak_scan kmemleak-boot.txt
		echo clear >$km
	else
		echo "# no $km"
	fi
	date +%s >"$r/t-suite"
	((${#suites[@]} == 0)) ||
		RACES_SKIP=unload selftests/net/run_all.sh ${quick:+"$quick"} "${suites[@]}"
	slab_settle
	date +%s >"$r/t-scan1"
	[[ ! -w $km ]] || kmemleak_scan kmemleak-suite.txt
	date +%s >"$r/t-lifecycle"
	((${#late[@]} == 0)) ||
		RACES_ONLY=unload selftests/net/run_all.sh ${quick:+"$quick"} "${late[@]}"
	date +%s >"$r/t-scan2"
	[[ ! -w $km ]] || kmemleak_scan kmemleak-lifecycle.txt
	date +%s >"$r/t-end"
	dmesg >"$r/dmesg.txt"
	return 0
}

if [[ ${1:-} == --guest ]]; then
	cd "$TOP" || exit 1
	guest "${2:-}" "${3:-}"
	exit
fi

quick=quick
rebuild=0
build_only=0
no_build=0
only=
timeout=14400
while (($#)); do
	case $1 in
	--full) quick= ;;
	--rebuild) rebuild=1 ;;
	--build-only) build_only=1 ;;
	--no-build) no_build=1 ;;
	--timeout) timeout=$2; shift ;;
	--suites) only=$2; shift ;;
	-h | --help) sed -n '4,33s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) echo "debug: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

t0=$(date +%s)
stamp() { echo "# $(($(date +%s) - t0))s: $*" >&2; }
# shellcheck source=selftests/lib/tap.sh
. "$TOP/selftests/lib/tap.sh"
# shellcheck source=selftests/vm/tap-relay.sh
. "$TOP/selftests/vm/tap-relay.sh"
summary() {
	echo "1..$tap_n"
	echo "$((tap_n - tap_fail)) passed, $tap_fail failed"
	((tap_fail == 0))
	exit
}

mkdir -p "$D" "$OUT"

# --- the kernel --------------------------------------------------------

ksrc() {
	local s

	for s in ${KCP_KSRC:-} /work/ksrc/linux-source-6.1 "$D/src/linux-source-6.1"; do
		if [[ -f $s/Makefile && -f $s/scripts/kconfig/streamline_config.pl ]]; then
			echo "$s"
			return
		fi
	done
	[[ -f /usr/src/linux-source-6.1.tar.xz ]] || return 1
	mkdir -p "$D/src"
	tar -C "$D/src" -xf /usr/src/linux-source-6.1.tar.xz || return 1
	echo "$D/src/linux-source-6.1"
}

SRC=$(ksrc) || { echo "debug: no linux-source-6.1 (apt-get install linux-source-6.1)" >&2; exit 1; }
BASE=$(find /boot -maxdepth 1 -name 'config-6.1.*-amd64' 2>/dev/null | sort -V | tail -n 1)
[[ -n $BASE ]] || { echo "debug: no /boot/config-6.1.*-amd64" >&2; exit 1; }

# (contents and names, not paths: another checkout reuses the kernel)
want_stamp=$({
	sha256sum <"$HERE/debug-config.sh"
	echo "${BASE##*/}"
	sha256sum <"$BASE"
	head -c 4096 "$SRC/Makefile" | sha256sum
	stat -c '%n %s %Y' "$SRC/Makefile"
	gcc --version | head -n 1
} | sha256sum | cut -d' ' -f1)

build_kernel() {
	local rel

	stamp "building the debug kernel from $SRC (log: ${D#"$TOP"/}/build.log)"
	# Incremental: an interrupted or outdated build in $OBJ is continued
	# (kbuild rebuilds what the new .config changes); --rebuild starts over.
	((rebuild == 0)) || rm -rf "$OBJ"
	rm -rf "$D/modroot" "$D/vmlinuz" "$D/stamp"
	"$HERE/debug-config.sh" "$SRC" "$OBJ" "$BASE" >"$D/build.log" 2>&1 || return 1
	# The CPU is shared: build at the lowest priority.
	nice -n 19 make -C "$SRC" O="$OBJ" -j"$(nproc)" bzImage modules \
		>>"$D/build.log" 2>&1 || return 1
	rel=$(make -s -C "$SRC" O="$OBJ" kernelrelease) || return 1
	make -C "$SRC" O="$OBJ" INSTALL_MOD_PATH="$D/modroot" modules_install \
		>>"$D/build.log" 2>&1 || return 1
	# the harness reads modules.dep; depmod writes it even with no modules
	[[ -f $D/modroot/lib/modules/$rel/modules.dep ]] ||
		depmod -b "$D/modroot" "$rel" || return 1
	cp "$OBJ/arch/x86/boot/bzImage" "$D/vmlinuz"
	echo "$want_stamp" >"$D/stamp"
	stamp "debug kernel $rel built"
}

if ((rebuild)) || [[ ! -s $D/stamp || $(<"$D/stamp") != "$want_stamp" || ! -s $D/vmlinuz ]]; then
	if ((no_build)); then
		not_ok "debug kernel in $D missing or out of date (--no-build)"
		summary
	fi
	tb=$(date +%s)
	if build_kernel; then
		ok "debug kernel built ($(($(date +%s) - tb))s)"
	else
		not_ok "debug kernel build (see build/debug-kernel/build.log)"
		tail -n 30 "$D/build.log" >&2
		summary
	fi
else
	ok "debug kernel up to date ($(make -s -C "$SRC" O="$OBJ" kernelrelease))"
fi
((build_only)) && summary
REL=$(make -s -C "$SRC" O="$OBJ" kernelrelease)

# --- the module --------------------------------------------------------

# An out-of-tree copy, as the top Makefile does for each kernel; -g so
# that reports in our code resolve to lines (scripts/faddr2line kcp.ko).
KM=$OUT/kmod
rm -rf "$KM" && mkdir -p "$KM/core" "$OUT/uapi/linux"
for f in "$TOP"/kmod/*.c "$TOP"/kmod/*.h "$TOP"/kmod/core/*.c "$TOP"/kmod/core/*.h; do
	[[ $f == *.mod.c ]] || ln -sf "$f" "$KM/${f#"$TOP"/kmod/}"
done
cp "$TOP/kmod/Kbuild" "$KM/Kbuild"
ln -sf "$TOP/uapi/linux/kcp.h" "$OUT/uapi/linux/kcp.h"
if make -s -C "$OBJ" M="$KM" W=1 KCFLAGS=-g modules >"$OUT/kmod.log" 2>&1 &&
	! grep -q 'warning:' "$OUT/kmod.log"; then
	ok "module builds warning-free (W=1) against $REL"
else
	not_ok "module build against $REL (see ${OUT#"$TOP"/}/kmod.log)"
	cat "$OUT/kmod.log" >&2
	summary
fi

for f in "${VM_SUITE_TOOLS[@]}"; do
	[[ -x $TOP/$f ]] || { not_ok "$f missing (make userspace)"; summary; }
done

# --- the VM suite ------------------------------------------------------

RES=$OUT/results
rm -rf "$RES" && mkdir -p "$RES"
# panic_on_warn=0: go on after a report to collect them all (the serial
# log scan still fails the run); slow TCG + KASAN must not look like a
# soft lockup.
stamp "VM suite ($quick${quick:+ }without lifecycle, kmemleak scan, lifecycle, scan) on $REL, timeout ${timeout}s"
tv=$(date +%s)
# --no-pvh: QEMU ends at once, silently, on this kernel's PVH entry.
# acpi=noirq: the instrumented ACPI interpreter runs into its 30 s AML
# loop timeout three times evaluating the PCI _PRT (90 s of boot).
(cd "$TOP" && "$TOP/selftests/vm/run-vm.sh" --no-pvh --vmlinuz "$D/vmlinuz" \
	--modroot "$D/modroot" --mem 2048 --timeout "$timeout" \
	--log "$OUT/serial.log" --results "$RES" \
	--append "panic_on_warn=0 kasan_multi_shot watchdog_thresh=60 slab_nomerge log_buf_len=16M acpi=noirq" \
	--insmod "$KM/kcp.ko" --env "KCP_MODULE=$KM/kcp.ko" \
	--env ATTACK_SECS=600 --env RACES_SECS="${RACES_SECS:-30}" \
	--env KCP_UNCONFIRMED_MS=300000 --env KCP_DEAD_LINK=100 --env KCP_SLOW=5 \
	--env RACES_ROUNDS="${RACES_ROUNDS:-4}" -- \
	selftests/debug.sh --guest "$quick" "$only") >"$OUT/vm.tap" 2>"$OUT/vm.err"
vrc=$?
tvm=$(($(date +%s) - tv))
cat "$OUT/vm.err" >&2

# The suites' TAP, renumbered into ours.
tap_relay "" "$OUT/vm.tap"

vm_verdict "VM run on $REL" $vrc $tvm "${OUT#"$TOP"/}/serial.log"

# --- the whole kernel log ---------------------------------------------

# The console shows KERN_ERR and worse only (loglevel=4; reports of
# KASAN, UBSAN and BUG()s are there, run-vm.sh checks them), but lockdep,
# debug objects and WARN() report at KERN_WARNING and do not panic here:
# check the guest's dmesg for them. kmemleak's "N new suspected memory
# leaks" summaries are left to the kmemleak checks below.
readonly DMESG_PROBLEMS='WARNING:|BUG:|BUG |Oops|general protection|refcount_t|list_add corruption|list_del corruption|hung_task|blocked for more than|Kernel panic|UBSAN|KASAN|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|sleeping function called from invalid context|ODEBUG|DEBUG_LOCKS_WARN_ON|Objects remaining|unreferenced object|leak detector disabled|kmemleak: Cannot|pool empty'
if [[ -f $RES/dmesg.txt ]]; then
	bad=$(grep -aE "$DMESG_PROBLEMS" "$RES/dmesg.txt" |
		grep -avE '[Cc]ommand line: |kmemleak: [0-9]+ new suspected memory leaks')
	if [[ -z $bad ]]; then
		ok "guest dmesg (all levels): no lockdep, debug-objects, WARN, KASAN or UBSAN report"
	else
		not_ok "guest dmesg: $(wc -l <<<"$bad") problem lines (${RES#"$TOP"/}/dmesg.txt)"
		sed 's/^/# /' <<<"$bad" | head -n 40
	fi
else
	not_ok "guest dmesg: no copy (guest did not get there)"
fi

# --- kmemleak ----------------------------------------------------------

# Print one line per suspect: "size|comm|frame frame ...".
kmemleak_entries() {
	awk '
	function flush() { if (obj != "") print obj "|" comm "|" bt; obj = "" }
	/^unreferenced object/ { flush(); obj = $3 " " $4 " " $5; comm = ""; bt = ""; inbt = 0; next }
	/^  comm "/ { comm = $0; sub(/^  comm /, "", comm); next }
	/^  backtrace:/ { inbt = 1; next }
	inbt && /^    / { f = $0; sub(/^ +\[<[0-9a-f]+>\] /, "", f); sub(/^ +/, "", f); bt = bt (bt == "" ? "" : " ") f; next }
	END { flush() }' "$1"
}

check_kmemleak() {
	local file=$RES/$1 what=$2 e bt k ours=0 known=0 other=0

	if [[ ! -f $file ]]; then
		not_ok "kmemleak after $what: no report (guest did not get there)"
		return
	fi
	while IFS= read -r e; do
		bt=${e##*|}
		if [[ $bt == *'[kcp]'* || $bt =~ (^| )kcp_ ]]; then
			ours=$((ours + 1))
			continue
		fi
		for k in "${KMEMLEAK_KNOWN[@]}"; do
			if [[ $bt =~ $k ]]; then
				known=$((known + 1))
				continue 2
			fi
		done
		other=$((other + 1))
	done < <(kmemleak_entries "$file")
	if ((ours + other == 0)); then
		k=
		((known == 0)) || k=" ($known known kernel false positives)"
		ok "kmemleak after $what: no new suspects$k"
	else
		not_ok "kmemleak after $what: $ours suspects in kcp, $other elsewhere ($known known) - ${RES#"$TOP"/}/$1"
		sed 's/^/# /' "$file" | head -n 80
	fi
}

if [[ -f $RES/kmemleak-boot.txt ]]; then
	stamp "boot-time kmemleak suspects (cleared before the suite): $(grep -c '^unreferenced object' "$RES/kmemleak-boot.txt")"
fi
check_kmemleak kmemleak-suite.txt "the suite"
check_kmemleak kmemleak-lifecycle.txt "lifecycle (module unloaded and reloaded)"

# --- slab ---------------------------------------------------------------

# Objects in use per cache before and after the suite (lifecycle unloads
# the module, and with it the KCP cache, so it is not part of this).
if [[ -s $RES/slab-before.txt && -s $RES/slab-after.txt ]]; then
	deltas=$(awk 'NR == FNR { b[$1] = $2; next }
		{ printf "%s%s %+d (%d -> %d)", sep, $1, $2 - b[$1], b[$1], $2; sep = ", " }' \
		"$RES/slab-before.txt" "$RES/slab-after.txt")
	stamp "slab objects in use, before -> after the suite: $deltas"
	for c in KCP:sockets kcp_seg:segments; do
		kb=$(awk -v c="${c%%:*}" '$1 == c { print $2 }' "$RES/slab-before.txt")
		ka=$(awk -v c="${c%%:*}" '$1 == c { print $2 }' "$RES/slab-after.txt")
		if [[ -n $kb && -n $ka ]] && ((ka <= kb)); then
			ok "${c%%:*} ${c#*:} in the slab back to baseline after the suite ($kb -> $ka)"
		else
			not_ok "${c%%:*} ${c#*:} in the slab after the suite: ${ka:-?} (before ${kb:-?})"
		fi
	done
else
	not_ok "slab counts: no report (guest did not get there)"
fi

tg() { cat "$RES/t-$1" 2>/dev/null || echo 0; }
if [[ -f $RES/t-end ]]; then
	stamp "guest times: suite $(($(tg scan1) - $(tg suite)))s, scan $(($(tg lifecycle) - $(tg scan1)))s, lifecycle $(($(tg scan2) - $(tg lifecycle)))s, scan $(($(tg end) - $(tg scan2)))s"
fi
stamp "done (VM ${tvm}s)"
summary
