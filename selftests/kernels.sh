#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-kernels: build the module and run the VM suite on the kernels
# beyond 'make check': bookworm-security's 6.12 PREEMPT_RT flavour and the
# newest Debian sid kernel (7.x). Prints TAP; the last line is
# "N passed, N failed".
#
#   selftests/kernels.sh [--quick] [--refresh-sid] [--timeout SECS] [rt] [sid]
#
# rt:  linux-image-6.12.N+deb12-rt-amd64-unsigned + headers from the host
#      (selftests/vm/deps.sh --rt installs them); module built with the
#      host compiler as for 'make modules'.
# sid: a debootstrap chroot of sid in build/sid/root (minbase, gcc, make,
#      linux-headers-amd64, linux-image-amd64), made once and reused;
#      --refresh-sid upgrades it to the newest sid kernel. The module is
#      built inside it, with its compiler against its headers, and its
#      kernel boots with run-vm.sh --vmlinuz/--modroot. That guest finds
#      no modules of its own under the host's /lib/modules, so what the
#      suite would modprobe (veth, sch_netem, the cipher modules) is
#      inserted up front.
# The test programs (build/net, build/peers, build/tools) are the host's:
# the guest runs on the host's root. The whole suite, as 'make check'
# runs it (--quick: smaller transfers).

set -uo pipefail

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
TOP=$(cd "$HERE/.." && pwd -P)
RUNVM=$TOP/selftests/vm/run-vm.sh
OUT=$TOP/build/kernels
SID=$TOP/build/sid
R=$SID/root
readonly HERE TOP RUNVM OUT SID R

# Modules the suite loads with modprobe (lib.sh, crypto_alloc_*()); on the
# sid kernel they are inserted by the harness instead.
readonly SID_EXTRA_MODULES=(veth sch_netem des_generic blowfish_generic
	twofish_generic cast5_generic)
readonly SID_PACKAGES=(gcc make linux-headers-amd64 linux-image-amd64)
readonly APT_OPTS=(-o Acquire::Check-Valid-Until=false -o APT::Install-Recommends=false)

quick=
refresh=0
timeout=3600
which=()
while (($#)); do
	case $1 in
	--quick) quick=quick ;;
	--refresh-sid) refresh=1 ;;
	--timeout) timeout=$2; shift ;;
	rt | sid) which+=("$1") ;;
	-h | --help) sed -n '4,25s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) echo "kernels: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
((${#which[@]})) || which=(rt sid)

mkdir -p "$OUT"
t0=$(date +%s)
stamp() { echo "# $(($(date +%s) - t0))s: $*" >&2; }
# shellcheck source=selftests/lib/tap.sh
. "$TOP/selftests/lib/tap.sh"
# shellcheck source=selftests/vm/tap-relay.sh
. "$TOP/selftests/vm/tap-relay.sh"

for f in "${VM_SUITE_TOOLS[@]}"; do
	[[ -x $TOP/$f ]] || { echo "kernels: $f missing (make userspace)" >&2; exit 1; }
done

# Copy the module sources to DIR/kmod (with its core/) and DIR/uapi (real
# files: DIR may be inside the chroot). KCP_KMOD_DIR names another source
# directory for the sid build (to try changes before they land in kmod/).
copy_sources() {
	local dir=$1 src=${KCP_KMOD_DIR:-$TOP/kmod} f

	rm -rf "$dir"
	mkdir -p "$dir/kmod/core" "$dir/uapi/linux"
	for f in "$src"/*.c "$src"/*.h "$src/Kbuild" "$src"/core/*.c "$src"/core/*.h; do
		[[ $f == *.mod.c ]] || cp "$f" "$dir/kmod/${f#"$src"/}"
	done
	cp "$TOP/uapi/linux/kcp.h" "$dir/uapi/linux/"
}

# run_suite NAME KVER KO RUN-VM-ARGS...: the VM suite on one kernel, its
# TAP renumbered into ours with NAME in front.
run_suite() {
	local name=$1 kver=$2 ko=$3 vrc tv
	shift 3

	stamp "$name: VM suite ${quick:-full} on $kver (timeout ${timeout}s)"
	tv=$(date +%s)
	(cd "$TOP" && "$RUNVM" "$@" --timeout "$timeout" \
		--log "$OUT/serial-$kver.log" --results "$OUT/results-$kver" \
		--insmod "$ko" --env "KCP_MODULE=$ko" -- \
		selftests/net/run_all.sh $quick) >"$OUT/vm-$kver.tap" 2>"$OUT/vm-$kver.err"
	vrc=$?
	tv=$(($(date +%s) - tv))
	cat "$OUT/vm-$kver.err" >&2
	tap_relay "$name " "$OUT/vm-$kver.tap"
	vm_verdict "$name: VM run on $kver" $vrc $tv \
		"build/kernels/serial-$kver.log"
}

# --- 6.12 PREEMPT_RT ---------------------------------------------------

check_rt() {
	local kver ko log

	if ! "$TOP/selftests/vm/deps.sh" --rt >&2; then
		not_ok "rt: install the 6.12 rt kernel (selftests/vm/deps.sh --rt)"
		return
	fi
	kver=$("$RUNVM" --kernel 6.12-rt --print-kernel 2>/dev/null)
	if [[ -z $kver || ! -d /lib/modules/$kver/build ]]; then
		not_ok "rt: no 6.12 rt kernel with headers installed"
		return
	fi
	# the top Makefile's per-kernel out-of-tree build (W=1, -Werror)
	log=$OUT/build-$kver.log
	if make -s -C "$TOP" "$TOP/build/$kver/kmod/kcp.ko" >"$log" 2>&1 &&
		! grep -q 'warning:' "$log"; then
		ok "rt: module builds warning-free (W=1) for $kver"
	else
		not_ok "rt: module build for $kver (build/kernels/build-$kver.log)"
		cat "$log" >&2
		return
	fi
	ko=$TOP/build/$kver/kmod/kcp.ko
	run_suite rt "$kver" "$ko" --kernel "$kver"
}

# --- Debian sid (7.x) --------------------------------------------------

in_sid() {
	chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive INITRD=No LANG=C.UTF-8 "$@"
}

# objtool reads /proc; mounted only while something runs in the chroot.
sid_proc() {
	if [[ $1 == on ]]; then
		mountpoint -q "$R/proc" || mount -t proc proc "$R/proc"
	else
		! mountpoint -q "$R/proc" || umount "$R/proc"
	fi
}
trap 'sid_proc off 2>/dev/null' EXIT

make_sid() {
	local log=$SID/setup.log

	if [[ -f $SID/complete && $refresh == 0 ]]; then
		return 0
	fi
	command -v debootstrap >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2 ||
		return 1
	# $SID/base: debootstrap finished (the packages may still be missing)
	if [[ ! -f $SID/base ]]; then
		stamp "sid: debootstrap into ${R#"$TOP"/} (minbase; some minutes)"
		rm -rf "$R"
		mkdir -p "$SID"
		debootstrap --variant=minbase sid "$R" http://deb.debian.org/debian \
			>"$log" 2>&1 || { tail -n 20 "$log" >&2; return 1; }
		touch "$SID/base"
	fi
	stamp "sid: apt-get install ${SID_PACKAGES[*]}"
	sid_proc on
	{
		in_sid apt-get "${APT_OPTS[@]}" update &&
			in_sid apt-get "${APT_OPTS[@]}" -y -q install "${SID_PACKAGES[@]}" &&
			in_sid apt-get "${APT_OPTS[@]}" -y -q upgrade &&
			in_sid apt-get "${APT_OPTS[@]}" autoremove -y -q --purge &&
			in_sid apt-get clean
	} >>"$log" 2>&1
	local rc=$?
	sid_proc off
	((rc == 0)) || { tail -n 20 "$log" >&2; return 1; }
	date -u +%FT%TZ >"$SID/complete"
}

check_sid() {
	local kver img ko m p log gcc extra=()

	if ! make_sid; then
		not_ok "sid: chroot (build/sid/setup.log)"
		return
	fi
	# the image is /usr/lib/modules/KVER/vmlinuz (/boot/vmlinuz-KVER is
	# a copy or link of it that older packages made)
	kver=$(find "$R/usr/lib/modules" -mindepth 2 -maxdepth 2 -name vmlinuz \
		-printf '%h\n' 2>/dev/null | sed 's|.*/||' | sort -V | tail -n 1)
	img=$R/usr/lib/modules/$kver/vmlinuz
	if [[ -z $kver ]]; then
		kver=$(find "$R/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' 2>/dev/null |
			sed 's/^vmlinuz-//' | sort -V | tail -n 1)
		img=$R/boot/vmlinuz-$kver
	fi
	if [[ -z $kver || ! -r $img || ! -d $R/usr/src/linux-headers-$kver ]]; then
		not_ok "sid: no kernel with headers in the chroot"
		return
	fi
	gcc=$(in_sid gcc --version | head -n 1)
	copy_sources "$R/kcp-build"
	log=$OUT/build-$kver.log
	sid_proc on
	in_sid make -C "/usr/src/linux-headers-$kver" M=/kcp-build/kmod W=1 modules \
		>"$log" 2>&1
	local rc=$?
	sid_proc off
	if ((rc == 0)) && ! grep -q 'warning:' "$log"; then
		ok "sid: module builds warning-free (W=1) for $kver with $gcc"
	else
		not_ok "sid: module build for $kver with $gcc (build/kernels/build-$kver.log)"
		grep -E 'error|warning' "$log" >&2
		return
	fi
	mkdir -p "$TOP/build/$kver/kmod"
	ko=$TOP/build/$kver/kmod/kcp.ko
	cp "$R/kcp-build/kmod/kcp.ko" "$ko"
	for m in "${SID_EXTRA_MODULES[@]}"; do
		p=$(modinfo -b "$R/usr" -k "$kver" -n "$m" 2>/dev/null | tail -n 1)
		[[ -z $p || $p == '(builtin)' ]] || extra+=(--insmod "$p")
	done
	run_suite sid "$kver" "$ko" --vmlinuz "$img" \
		--modroot "$R" "${extra[@]}"
}

for w in "${which[@]}"; do
	"check_$w"
done
stamp "done"
echo "1..$tap_n"
echo "$((tap_n - tap_fail)) passed, $tap_fail failed"
((tap_fail == 0))
