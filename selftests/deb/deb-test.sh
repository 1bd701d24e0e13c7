#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-deb: the packages of 'make deb' on a Debian bookworm system.
# In a debootstrap chroot (build/deb/chroot-KVER, made once, with dkms,
# gcc and the headers of the test kernel only): install kcp-dkms and
# kcpctl with apt, whose postinst builds the module through DKMS for that
# kernel (a chroot's kernel, not the host's), then boot it in a VM, load
# the module with the chroot's modprobe (first as family 12 through
# kcp.rst's modprobe.d lines) and move data between two TCP programs
# turned into AF_KCP by the packaged kcpctl and shim; last, purge the
# packages and check that nothing of them is left. Before all that, what
# 'make install DESTDIR=' stages and 'make uninstall' removes. Prints TAP.
#
#   selftests/deb/deb-test.sh [--kernel 6.1|6.12]   (make deb first)

set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1

kernel=6.1
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift ;;
	*) echo "deb-test: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

OUT=$TOP/build/deb
MIRROR=http://deb.debian.org/debian
KVER=$(selftests/vm/run-vm.sh --kernel "$kernel" --print-kernel) || exit 1
# one chroot per kernel: with only its headers there, the postinst builds
# the module once; all start from one debootstrap, kept as a tarball
CH=$OUT/chroot-$KVER
BASE=$OUT/bookworm-base.tar
VER=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
DEBS=("$OUT/kcp-dkms_${VER}_all.deb" "$OUT/kcpctl_${VER}_amd64.deb")
LOG=$OUT/deb-test.log
: > "$LOG"

n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; }
diag() { echo "# $*"; }
finish() { echo "1..$n"; [ "$fail" -eq 0 ]; exit; }
t0=$(date +%s)
stamp() { diag "$(($(date +%s) - t0))s: $*"; }

# chroot with /proc and /dev/pts, unmounted on exit (never rm -rf while
# anything is mounted below $CH)
MOUNTED=()
ch_mount() {
	mountpoint -q "$CH/proc" || { mount -t proc proc "$CH/proc" && MOUNTED+=("$CH/proc"); }
}
ch_umount() {
	local m
	for m in "${MOUNTED[@]}"; do umount "$m"; done
	MOUNTED=()
}
trap ch_umount EXIT
# INITRD=No: 6.12's headers pull in its image, whose initramfs nobody boots
in_ch() { chroot "$CH" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 INITRD=No "$@"; }

for d in "${DEBS[@]}"; do
	[ -f "$d" ] || { echo "deb-test: $d missing (make deb)" >&2; exit 1; }
done

# ---- make install DESTDIR=: a staging tree for other packaging ----
stage=$OUT/stage
rm -rf "$stage"
if make -s install KVER="$KVER" DESTDIR="$stage" >> "$LOG" 2>&1; then
	got=$(cd "$stage" && find . -type f | sort | tr '\n' ' ')
	want="./lib/modules/$KVER/updates/kmod/kcp.ko"
	[[ $got == "$want"* ]] &&
		[ "${got#"$want"* }" = "./usr/local/include/linux/kcp.h ./usr/local/lib/kcpctl/libkcppreload.so ./usr/local/sbin/kcpctl ./usr/local/share/man/man8/kcpctl.8 " ] &&
		ok "make install DESTDIR=: the module, kcpctl, shim, man page, header; no modules.* index files" ||
		not_ok "make install DESTDIR= staged: $got"
	# as an older make install left it: index files that list only kcp
	touch "$stage/lib/modules/$KVER/modules.dep" "$stage/lib/modules/$KVER/modules.alias"
	make -s uninstall KVER="$KVER" DESTDIR="$stage" >> "$LOG" 2>&1
	got=$(cd "$stage" && find . -type f)
	[ -z "$got" ] && [ ! -e "$stage/lib" ] &&
		ok "make uninstall DESTDIR=: no file left, old modules.* files included" ||
		not_ok "make uninstall DESTDIR= left: $got"
else
	not_ok "make install DESTDIR=$stage (see $LOG)"
fi
rm -rf "$stage"

# ---- the chroot: bookworm + dkms, gcc, make, python3, the headers ----
if [ ! -e "$CH/.kcp-base" ]; then
	if [ ! -s "$BASE" ]; then
		stamp "debootstrap bookworm into $BASE (once)"
		if [ -e "$OUT/base.new" ] && ! grep -q " $OUT/base.new/" /proc/mounts; then
			rm -rf "$OUT/base.new"
		fi
		debootstrap --variant=minbase bookworm "$OUT/base.new" "$MIRROR" >> "$LOG" 2>&1 ||
			{ not_ok "debootstrap bookworm (see $LOG)"; finish; }
		grep -q " $OUT/base.new/proc " /proc/mounts && umount "$OUT/base.new/proc"
		cat > "$OUT/base.new/etc/apt/sources.list" <<-EOS
		deb $MIRROR bookworm main
		deb $MIRROR bookworm-updates main
		deb http://deb.debian.org/debian-security bookworm-security main
		EOS
		tar -C "$OUT/base.new" -cf "$BASE.new" . && mv "$BASE.new" "$BASE" &&
			rm -rf "$OUT/base.new"
	fi
	stamp "chroot for $KVER from $BASE (once)"
	mkdir -p "$CH.new" && tar -C "$CH.new" -xf "$BASE" ||
		{ not_ok "unpack $BASE"; finish; }
	touch "$CH.new/.kcp-base"
	mv "$CH.new" "$CH"
fi
ch_mount
if [ ! -e "$CH/.kcp-headers-$KVER" ]; then
	stamp "apt: dkms, gcc, python3, linux-headers-$KVER in the chroot (once)"
	cp /etc/resolv.conf "$CH/etc/resolv.conf"
	{ in_ch apt-get update &&
	  in_ch apt-get install -y --no-install-recommends dkms gcc make kmod \
		python3-minimal "linux-headers-$KVER"; } >> "$LOG" 2>&1 ||
		{ not_ok "apt-get install dkms and linux-headers-$KVER in the chroot (see $LOG)"; finish; }
	touch "$CH/.kcp-headers-$KVER"
fi
# what an interrupted earlier run left
in_ch dpkg --purge kcp-dkms kcpctl >> "$LOG" 2>&1

# ---- install ----
stamp "apt-get install kcp-dkms kcpctl"
mkdir -p "$CH/tmp/kcpdeb"
cp "${DEBS[@]}" "$CH/tmp/kcpdeb/"
if in_ch apt-get install -y --no-install-recommends \
	"/tmp/kcpdeb/${DEBS[0]##*/}" "/tmp/kcpdeb/${DEBS[1]##*/}" >> "$LOG" 2>&1; then
	ok "apt-get install kcp-dkms_${VER}_all.deb kcpctl_${VER}_amd64.deb"
else
	not_ok "apt-get install of the packages (see $LOG)"
	finish
fi
rm -rf "$CH/tmp/kcpdeb"
missing=
for f in /usr/sbin/kcpctl /usr/lib/kcpctl/libkcppreload.so \
	/usr/share/man/man8/kcpctl.8.gz "/usr/src/kcp-$VER/dkms.conf" \
	"/usr/src/kcp-$VER/uapi/linux/kcp.h"; do
	[ -f "$CH$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && ok "installed: kcpctl, the shim, kcpctl.8, dkms.conf and the header" ||
	not_ok "not installed:$missing"
in_ch kcpctl key --crypt aes-128 "it's a secrect" > "$OUT/key.out" 2>&1 &&
	[ "$(cat "$OUT/key.out")" = "$(build/tools/kcpctl key --crypt aes-128 "it's a secrect")" ] &&
	ok "the packaged kcpctl runs (key --crypt aes-128: $(cat "$OUT/key.out"))" ||
	not_ok "packaged kcpctl key: $(cat "$OUT/key.out")"

# ---- DKMS built it: kcp-dkms's postinst builds for the kernels whose
# headers are there (in a chroot: not the host's running kernel); if its
# choice left KVER out, the hook a newly installed kernel runs builds it
how="kcp-dkms's postinst"
dstat() { in_ch dkms status -m kcp -v "$VER" -k "$KVER" 2>/dev/null; }
if [[ $(dstat) != *": installed" ]]; then
	how="the new-kernel hook (/etc/kernel/header_postinst.d/dkms)"
	in_ch /etc/kernel/header_postinst.d/dkms "$KVER" >> "$LOG" 2>&1
fi
st=$(dstat)
ko=$(cd "$CH" && ls lib/modules/"$KVER"/updates/dkms/kcp.ko* 2>/dev/null)
if [[ $st == "kcp/$VER, $KVER, x86_64: installed" ]] && [ -n "$ko" ]; then
	ok "DKMS ($how) built and installed /$ko for $KVER ('$st')"
else
	not_ok "DKMS build for $KVER: '$st', module '${ko:-none}' (see $LOG)"
	finish
fi
v=$(modinfo -F version "$CH/$ko")
[ "$v" = "$VER" ] && ok "modinfo: version $v" || not_ok "modinfo version '$v', want $VER"
dep=$(grep -c 'updates/dkms/kcp.ko' "$CH/lib/modules/$KVER/modules.dep")
[ "$dep" = 1 ] && ok "depmod: kcp in the chroot's modules.dep" ||
	not_ok "kcp in modules.dep $dep times"

# ---- load and use it in a VM of that kernel ----
stamp "VM: modprobe kcp from the chroot, a transfer through kcpctl run"
ch_umount
selftests/vm/run-vm.sh --kernel "$KVER" --timeout 600 \
	--log "$OUT/serial-$KVER.log" --results "$OUT/results" -- \
	selftests/deb/deb-guest.sh "$CH" > "$OUT/guest.out" 2>> "$LOG"
vrc=$?
while IFS= read -r l; do
	case $l in
	'ok '*) ok "guest: ${l#ok * - }" ;;
	'not ok '*) not_ok "guest: ${l#not ok * - }" ;;
	'# '*) echo "$l" ;;
	esac
done < "$OUT/guest.out"
[ "$vrc" -eq 0 ] && ok "VM run clean (kernel log, exit 0)" ||
	not_ok "VM run exit $vrc (see $OUT/serial-$KVER.log)"
ch_mount

# ---- purge: DKMS removes the module, nothing of the packages stays ----
stamp "apt-get purge"
in_ch apt-get purge -y kcp-dkms kcpctl >> "$LOG" 2>&1 ||
	not_ok "apt-get purge kcp-dkms kcpctl (see $LOG)"
left=$(cd "$CH" && ls -d usr/src/kcp-* var/lib/dkms/kcp usr/sbin/kcpctl \
	usr/lib/kcpctl lib/modules/"$KVER"/updates/dkms/kcp.ko* 2>/dev/null | tr '\n' ' ')
st=$(in_ch dkms status -m kcp 2>/dev/null)
[ -z "$left" ] && [ -z "$st" ] &&
	ok "apt-get purge: module, DKMS tree, sources, kcpctl and shim gone" ||
	not_ok "after purge: left '$left', dkms status '$st'"
stamp "done"
finish
