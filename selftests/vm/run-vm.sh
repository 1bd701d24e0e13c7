#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run ONE command inside a QEMU (TCG) guest booted from a Debian kernel and
# return its exit status. The guest sees the host root read-only over 9p,
# chroots into it, inserts udp_tunnel, ip6_udp_tunnel, reed_solomon (and
# their dependencies) and every --insmod module, then runs the command in the
# directory this script was called from. The serial log is scanned for kernel
# problems afterwards; any match fails the run even if the command passed.
#
# See usage() below, or run with --help.

set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
TOP=$(cd "$(dirname "$SELF")/../.." && pwd -P)
VMDIR=$TOP/build/vm
readonly SELF TOP VMDIR

# Harness exit codes; anything else is the command's own exit status.
readonly RC_KERNEL=122		# kernel problem found in the serial log
readonly RC_NOMARKER=123	# guest died without reporting an exit status
readonly RC_TIMEOUT=124		# --timeout expired, QEMU was killed
readonly RC_HARNESS=125		# usage error, setup or insmod failure

# Serial-log lines that fail a run: fixed strings, matched case-sensitively.
readonly KERNEL_PROBLEMS=(
	'WARNING:'
	'BUG:'
	'BUG '
	'Oops'
	'general protection'
	'refcount_t'
	'list_add corruption'
	'list_del corruption'
	'hung_task'
	'blocked for more than'
	'Kernel panic'
	'kmemleak'
	'unreferenced object'
	'UBSAN'
	'KASAN'
	'possible recursive locking'
	'inconsistent lock state'
	'sleeping function called from invalid context'
)
# Known-harmless lines that contain one of the strings above (extended
# regexes, matched against the whole line). Keep each one narrow.
readonly KERNEL_NOISE=(
	# The kernel echoing its own command line (it may name kmemleak=,
	# hung_task_* or similar options passed with --append).
	'^\[ *[0-9]+\.[0-9]+\] (Kernel )?[Cc]ommand line: '
	'^\[ *[0-9]+\.[0-9]+\] Unknown kernel command line parameters '
	# kmemleak's own status lines on debug kernels (leak reports read
	# "N new suspected memory leaks" and "unreferenced object").
	'^\[ *[0-9]+\.[0-9]+\] kmemleak: (Kernel memory leak detector (initialized|disabled)|Automatic memory scanning thread (started|ended))'
)

readonly GUEST_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
readonly GUEST_RESULTS=/run/kcp/results
readonly BASE_APPEND='console=ttyS0 panic_on_warn=1 oops=panic panic=-1 loglevel=4'
# Replay the whole kernel log on panic: a WARN() that panics the guest before
# the console shows KERN_WARNING lines is still quoted in the serial log.
readonly EXTRA_APPEND='panic_print=0x20'
# Kernel modules the guest needs before it can mount its root.
readonly BOOT_MODULES=(virtio_pci 9pnet_virtio 9p)
# Dependencies of the kcp module, inserted before every --insmod.
readonly DEP_MODULES=(udp_tunnel ip6_udp_tunnel reed_solomon)

usage() {
	cat <<EOF
Usage: ${0##*/} [OPTIONS] -- CMD [ARGS...]

Boot a Debian kernel in QEMU (TCG), insert the kcp dependencies and the given
modules, run CMD as root in the current directory (same path, host root
mounted read-only) and exit with CMD's exit status.

Options:
  --kernel K        release (6.1.0-56-amd64) or series alias 6.1, 6.12,
                    6.12-rt (newest installed /boot/vmlinuz-*); default 6.1
  --vmlinuz PATH    boot this kernel image instead (release read from it)
  --modroot DIR     its modules live in DIR/lib/modules or DIR/usr/lib/modules
                    (without --vmlinuz: kernel taken from DIR/boot)
  --timeout SECS    kill QEMU after SECS seconds (default 600)
  --results DIR     writable share, \$KCP_RESULTS in the guest
                    (default build/vm/results)
  --log FILE        serial log (default build/vm/serial-<kver>.log; the
                    previous one is kept as FILE.prev)
  --mem MB          guest memory (default 1024)
  --smp N           guest CPUs (default 2)
  --insmod PATH     insert this module after the dependencies (repeatable,
                    in order; its own 'depends' are inserted first)
  --append STR      extra kernel command line
  --env NAME=VALUE  export this in the guest (repeatable)
  --verbose         show the whole serial console (default: CMD's output)
  --quiet           show nothing of the serial console
  --no-pvh          boot the bzImage as it is (default: its uncompressed
                    vmlinux through the PVH entry, which boots faster)
  --icount          instruction-count clock (-icount shift=0,sleep=off):
                    one guest nanosecond per instruction, idle skipped, so
                    guest-timed goodput is bytes per instruction
  --print-kernel    print the resolved kernel release and exit
  -h, --help        this text

Guest environment: KCP_KVER=<release>, KCP_RESULTS=$GUEST_RESULTS,
HOME=/tmp; tmpfs on /run, /tmp, /var/tmp; stdin is /dev/null.

CMD's output (and kernel messages while it runs) goes to stdout, the
harness's own messages to stderr. Runs may go on concurrently; give each its
own --log if they boot the same kernel, and its own --results if their tests
write fixed names there.

Exit status: CMD's, or $RC_KERNEL kernel problem in the serial log (even if
CMD passed), $RC_NOMARKER guest died without reporting, $RC_TIMEOUT timeout,
$RC_HARNESS harness/setup/insmod failure.
EOF
}

msg() {
	printf 'run-vm: %s\n' "$*" >&2
}

die() {
	msg "error: $*"
	exit "$RC_HARNESS"
}

usage_error() {
	msg "$*"
	msg "try '${0##*/} --help'"
	exit "$RC_HARNESS"
}

# Microseconds since the epoch, from bash's EPOCHREALTIME.
now_us() {
	local t=${EPOCHREALTIME/[.,]/}

	echo $((10#$t))
}

# Seconds with one decimal from a microsecond interval.
secs() {
	printf '%d.%d' $(($1 / 1000000)) $(($1 % 1000000 / 100000))
}

# Release string of a bzImage, from its setup header (kernel_version field).
image_release() {
	local img=$1 off

	[[ $(dd if="$img" bs=1 skip=514 count=4 2>/dev/null) == HdrS ]] ||
		return 1
	off=$(od -An -t u2 -j 526 -N 2 "$img" | tr -d ' ')
	[[ $off =~ ^[0-9]+$ ]] || return 1
	dd if="$img" bs=1 skip=$((off + 512)) count=256 2>/dev/null |
		tr '\0' '\n' | sed -n '1s/ .*//p'
}

# Little-endian unsigned integer of SIZE bytes at OFFSET in FILE.
read_le() {
	od -An -t "u$3" -j "$2" -N "$3" -- "$1" | tr -d ' '
}

# Print an uncompressed vmlinux for bzImage IMG, cached in build/vm, to be
# booted through its PVH entry: this skips the decompression, which is slow
# under TCG (about 3.5 s for 6.1's XZ, 1 s for 6.12's ZSTD). The payload is
# located through the setup header and checked against the size the kernel
# appends to it. Prints nothing if that is not possible.
pvh_vmlinux() {
	local img=$1 out=$VMDIR/vmlinux-$KVER stamp sects off len size
	local tmp=$RUNDIR/vmlinux unpack

	stamp=$(stat -L -c '%n %s %Y' -- "$img")
	if [[ -s $out && -s $out.stamp && $(<"$out.stamp") == "$stamp" ]]; then
		echo "$out"
		return
	fi
	[[ $(dd if="$img" bs=1 skip=514 count=4 2>/dev/null) == HdrS ]] || return 0
	sects=$(read_le "$img" 497 1)
	((sects)) || sects=4
	off=$(( (sects + 1) * 512 + $(read_le "$img" 584 4) ))
	len=$(read_le "$img" 588 4)
	((len > 4)) || return 0
	size=$(read_le "$img" $((off + len - 4)) 4)
	case $(od -An -t x1 -j "$off" -N 4 -- "$img" | tr -d ' ') in
	fd377a58) unpack=(xz -dc) ;;
	28b52ffd) unpack=(zstd -qdc) ;;
	1f8b*) unpack=(gzip -dc) ;;
	*) return 0 ;;
	esac
	dd if="$img" iflag=skip_bytes,count_bytes skip="$off" count=$((len - 4)) \
		status=none | "${unpack[@]}" >"$tmp" 2>/dev/null || return 0
	[[ $(stat -c %s "$tmp") == "$size" ]] || return 0
	# XEN_ELFNOTE_PHYS32_ENTRY (18): the kernel has a PVH entry point.
	readelf -n "$tmp" 2>/dev/null | grep -q 'note type: (0x00000012)' || return 0
	mv -f "$tmp" "$out"
	printf '%s\n' "$stamp" >"$tmp.stamp"
	mv -f "$tmp.stamp" "$out.stamp"
	echo "$out"
}

# Newest release under BOOTDIR matching a series alias such as 6.12 or
# 6.12-rt (flavour amd64 or <suffix>-amd64), or the release itself.
resolve_release() {
	local bootdir=$1 want=$2 series flavour re f v

	if [[ -e $bootdir/vmlinuz-$want ]]; then
		echo "$want"
		return
	fi
	[[ $want =~ ^([0-9]+\.[0-9]+)(-([a-z]+))?$ ]] || return 0
	series=${BASH_REMATCH[1]}
	flavour=${BASH_REMATCH[3]:+${BASH_REMATCH[3]}-}amd64
	re="^${series//./\\.}\\.[0-9]+(-[0-9]+)?(\\+[a-z0-9.]+)?-$flavour\$"
	for f in "$bootdir"/vmlinuz-"$series".*; do
		v=${f#"$bootdir"/vmlinuz-}
		if [[ -e $f && $v =~ $re ]]; then
			echo "$v"
		fi
	done | sort -V | tail -n 1
}

# Module paths (deps first, each once) that modprobe would insert for the
# given module names; builtins are skipped.
show_depends() {
	local m out

	for m in "$@"; do
		out=$(modprobe -d "$MODPROBE_ROOT" -S "$KVER" --show-depends "$m" 2>&1) ||
			die "no module '$m' for $KVER under $MODDIR: $out"
		printf '%s\n' "$out"
	done | awk '$1 == "insmod" { sub(/^\/+/, "/", $2); if (!seen[$2]++) print $2 }'
}

# Copy or decompress module SRC to DST (a plain .ko).
unpack_module() {
	local src=$1 dst=$2

	case $src in
	*.ko.xz) xz -dc -- "$src" >"$dst" ;;
	*.ko.zst) zstd -qdc -- "$src" >"$dst" ;;
	*.ko.gz) gzip -dc -- "$src" >"$dst" ;;
	*) cp -- "$src" "$dst" ;;
	esac
}

# One newc cpio archive holding the character device dev/console (5, 1), so
# the kernel can open the console for /init without root privileges here.
console_cpio() {
	local name=dev/console

	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		1 $((8#020600)) 0 0 1 0 0 0 0 5 1 $((${#name} + 1)) 0
	printf '%s\0\0\0' "$name"		# 110 + 12 bytes, padded to 124
	name=TRAILER!!!
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		0 0 0 0 1 0 0 0 0 0 0 $((${#name} + 1)) 0
	printf '%s\0\0\0\0' "$name"		# 110 + 11 bytes, padded to 124
}

# /init of the initramfs (busybox sh). It loads the boot modules listed in
# /etc/kcp-vm-modules, mounts the shares and runs the job in a chroot.
read -r -d '' GUEST_INIT <<'EOF' || true
#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the kcp test VM, generated by selftests/vm/run-vm.sh.
/bin/busybox --install -s /bin
export PATH=/bin

fail() {
	echo "KCP-VM-ERROR=$*"
	sync
	poweroff -f
	exit 1
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do
	insmod "/lib/modules/$m" || fail "initramfs: insmod $m failed"
done </etc/kcp-vm-modules

nr=/newroot
o=trans=virtio,version=9p2000.L,msize=262144
# The read-only shares do not change during a run: let the guest cache them.
mount -t 9p -o "$o,ro,cache=loose" hostroot $nr || fail "cannot mount the host root over 9p"
mount -o bind $nr /hostview
mount -t tmpfs -o mode=0755 tmpfs $nr/run
mkdir -p $nr/run/lock $nr/run/kcp/job $nr/run/kcp/results
mount -t 9p -o "$o,ro,cache=loose" kcpjob $nr/run/kcp/job || fail "cannot mount the job share"
mount -t 9p -o "$o" kcpresults $nr/run/kcp/results || fail "cannot mount the results share"
. $nr/run/kcp/job/init.conf

for d in tmp:1777 var/tmp:1777 var/run:0755; do
	if [ -d $nr/${d%:*} ] && [ ! -L $nr/${d%:*} ]; then
		mount -t tmpfs -o mode=${d#*:} tmpfs $nr/${d%:*}
	fi
done
mount -t proc proc $nr/proc
mount -t sysfs sysfs $nr/sys
mount -t devtmpfs devtmpfs $nr/dev
mkdir -p $nr/dev/pts $nr/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $nr/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $nr/dev/shm
# what udev makes on any system: without /dev/fd, bash's process
# substitution <(...) reads nothing, silently
ln -sf /proc/self/fd $nr/dev/fd
ln -sf /proc/self/fd/0 $nr/dev/stdin
ln -sf /proc/self/fd/1 $nr/dev/stdout
ln -sf /proc/self/fd/2 $nr/dev/stderr
mount -t debugfs debugfs $nr/sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs $nr/sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 $nr/sys/fs/cgroup 2>/dev/null
mount -t bpf bpf $nr/sys/fs/bpf 2>/dev/null

# Keep the project visible if it lives below one of the tmpfs mounts.
case $KCP_VISIBLE in
/tmp/?* | /var/tmp/?* | /run/?* | /dev/?*)
	mkdir -p "$nr$KCP_VISIBLE"
	mount -o bind "/hostview$KCP_VISIBLE" "$nr$KCP_VISIBLE" ||
		fail "cannot make $KCP_VISIBLE visible"
	;;
esac

hostname kcp-vm
# The kernel runs its module loader in the initramfs, not in the chroot:
# hand requests (veth, netem, crypto ciphers...) to the host's modprobe.
mkdir -p /sbin
printf '#!/bin/busybox sh\nexec /bin/chroot %s /sbin/modprobe "$@"\n' $nr >/sbin/kcp-modprobe
chmod 755 /sbin/kcp-modprobe
echo /sbin/kcp-modprobe >/proc/sys/kernel/modprobe
# Show KERN_WARNING on the console from here on (WARN() prints at that level).
read -r lvl rest </proc/sys/kernel/printk
[ "$lvl" -ge 5 ] || echo 5 >/proc/sys/kernel/printk

status=$nr/run/kcp/results/.kcp-vm-status.$KCP_RUNID
job_fail() {
	echo "error $*" >"$status"
	fail "$*"
}
ip link set lo up || job_fail "cannot bring lo up"
# kcp dependencies, then the --insmod modules: "FILE HOST-PATH" per line.
while read -r f name; do
	out=$(insmod "$nr/run/kcp/job/mods/$f" 2>&1) ||
		job_fail "insmod $name failed: $out; dmesg: $(dmesg | tail -n 3 | tr '\n' '|')"
done <$nr/run/kcp/job/mods.list

env -i PATH="$KCP_PATH" HOME=/tmp TERM=dumb LANG=C.UTF-8 USER=root \
	LOGNAME=root SHELL=/bin/sh \
	chroot $nr /bin/sh /run/kcp/job/job.sh
rc=$?
[ -s "$status" ] || fail "job runner exited $rc without reporting a status"
sync
umount $nr/run/kcp/results 2>/dev/null
poweroff -f
EOF

# Body of the job script (POSIX sh, in the chroot, cwd /); main() prepends
# the environment, kcp_status, kcp_cwd and kcp_cmd (the command, quoted).
read -r -d '' JOB_BODY <<'EOF' || true
if ! cd -- "$kcp_cwd"; then
	printf 'error cannot cd to %s\n' "$kcp_cwd" >"$kcp_status"
	printf 'KCP-VM-ERROR=cannot cd to %s\n' "$kcp_cwd"
	exit 1
fi
read -r up idle </proc/uptime
printf 'KCP-VM-BEGIN uptime=%s\n' "$up"
(eval "$kcp_cmd") </dev/null
rc=$?
printf 'exit %d\n' "$rc" >"$kcp_status" ||
	printf 'KCP-VM-ERROR=cannot write %s\n' "$kcp_status"
printf 'KCP-VM-EXIT=%d\n' "$rc"
EOF

# Build (or reuse) the initramfs for the current kernel into $INITRD.
build_initramfs() {
	local mods=("$@") stamp stage m n=0 base list=

	stamp=$({
		printf '%s\n' "$GUEST_INIT"
		declare -f build_initramfs console_cpio unpack_module
		sha256sum /bin/busybox
		echo "$KVER"
		for m in "${mods[@]}"; do
			stat -L -c '%n %s %Y' "$m"
		done
	} | sha256sum | cut -d' ' -f1)
	if [[ -s $INITRD && -s $INITRD.stamp && $(<"$INITRD.stamp") == "$stamp" ]]; then
		return
	fi
	msg "building $(basename "$INITRD")"
	stage=$RUNDIR/initramfs
	mkdir -p "$stage"/{bin,dev,etc,proc,sys,tmp,newroot,hostview,lib/modules}
	cp /bin/busybox "$stage/bin/busybox"
	printf '%s\n' "$GUEST_INIT" >"$stage/init"
	chmod 0755 "$stage/init"
	for m in "${mods[@]}"; do
		base=$(basename "$m")
		base=$(printf '%02d-%s.ko' "$n" "${base%%.ko*}")
		n=$((n + 1))
		unpack_module "$m" "$stage/lib/modules/$base"
		list+=$base$'\n'
	done
	printf '%s' "$list" >"$stage/etc/kcp-vm-modules"
	{
		(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
			cpio -o -H newc -R 0:0 --quiet)
		console_cpio
	} | gzip -n -1 >"$RUNDIR/initramfs.cpio.gz"
	rm -rf "$stage"
	mv -f "$RUNDIR/initramfs.cpio.gz" "$INITRD"
	printf '%s\n' "$stamp" >"$RUNDIR/stamp"
	mv -f "$RUNDIR/stamp" "$INITRD.stamp"
}

# Quote a word for sh: 'it'\''s'.
sq() {
	printf "'%s'" "${1//\'/\'\\\'\'}"
}

# Escape a path for a QEMU option value (commas are doubled).
qemu_path() {
	printf '%s' "${1//,/,,}"
}

# Stop QEMU and the console reader when this script is interrupted.
# shellcheck disable=SC2317 # called by trap
on_signal() {
	trap - INT TERM HUP
	msg "interrupted, stopping QEMU"
	kill -TERM "$QEMU_PID" 2>/dev/null || true
	wait "$QEMU_PID" 2>/dev/null || true
	wait "$READER_PID" 2>/dev/null || true
	exit 130
}

# Read the serial console on stdin: strip CRs, copy it to fd 3 (the log),
# show the selected part on stdout and note when the command started. If
# stdout goes away, keep logging.
serial_reader() {
	local show=$1 line on=0

	trap '' PIPE
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line%$'\r'}
		printf '%s\n' "$line" >&3
		case $line in
		*KCP-VM-BEGIN*)
			now_us >"$RUNDIR/begin"
			on=1
			[[ $show == all ]] || continue
			;;
		*KCP-VM-EXIT=*)
			[[ $show == all ]] || continue
			;;
		*KCP-VM-ERROR=*)
			[[ $show == none ]] || printf '%s\n' "$line" 2>/dev/null || show=none
			continue
			;;
		*'reboot: Power down'*)
			[[ $show == all ]] || continue
			;;
		esac
		case $show in
		all) printf '%s\n' "$line" 2>/dev/null || show=none ;;
		cmd) ((!on)) || printf '%s\n' "$line" 2>/dev/null || show=none ;;
		esac
	done
	return 0
}

# Print "LINENO:line" for each serial-log line showing a kernel problem.
kernel_problems() {
	local pat=() noise=() p

	for p in "${KERNEL_PROBLEMS[@]}"; do
		pat+=(-e "$p")
	done
	# The noise regexes are anchored at the line; skip grep's "LINENO:".
	for p in "${KERNEL_NOISE[@]}"; do
		noise+=(-e "^[0-9]+:${p#^}")
	done
	grep -a -n -F "${pat[@]}" -- "$1" | grep -a -v -E "${noise[@]}" || true
}

tail_log() {
	msg "last ${2:-60} lines of $1:"
	tail -n "${2:-60}" -- "$1" | sed 's/^/  | /' >&2
}

main() {
	local kernel='' vmlinuz='' modroot='' timeout=600 results='' log=''
	local mem=1024 smp=2 append='' show=cmd print_kernel=0 pvh=1 icount=0
	local insmods=() envs=() opt val

	while (($#)); do
		opt=$1
		case $opt in
		--) shift; break ;;
		-h | --help) usage; exit 0 ;;
		--verbose) show=all; shift; continue ;;
		--quiet) show=none; shift; continue ;;
		--print-kernel) print_kernel=1; shift; continue ;;
		--no-pvh) pvh=0; shift; continue ;;
		--icount) icount=1; shift; continue ;;
		--*=*) val=${opt#*=}; opt=${opt%%=*}; shift ;;
		--*)
			(($# >= 2)) || usage_error "$opt needs an argument"
			val=$2
			shift 2
			;;
		*) usage_error "unexpected '$opt' (the command goes after --)" ;;
		esac
		case $opt in
		--kernel) kernel=$val ;;
		--vmlinuz) vmlinuz=$val ;;
		--modroot) modroot=$val ;;
		--timeout) timeout=$val ;;
		--results) results=$val ;;
		--log) log=$val ;;
		--mem) mem=$val ;;
		--smp) smp=$val ;;
		--insmod) insmods+=("$val") ;;
		--append) append+=" $val" ;;
		--env) envs+=("$val") ;;
		*) usage_error "unknown option $opt" ;;
		esac
	done
	[[ $timeout =~ ^[0-9]+$ && $timeout -gt 0 ]] || usage_error "bad --timeout '$timeout'"
	[[ $mem =~ ^[0-9]+$ ]] || usage_error "bad --mem '$mem'"
	[[ $smp =~ ^[0-9]+$ ]] || usage_error "bad --smp '$smp'"
	for val in "${envs[@]}"; do
		[[ $val =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || usage_error "bad --env '$val'"
	done

	# Which kernel, and where its modules live.
	local bootdir=/boot
	if [[ -n $modroot ]]; then
		[[ -d $modroot ]] || die "--modroot $modroot: no such directory"
		modroot=$(cd "$modroot" && pwd -P)
		bootdir=$modroot/boot
	fi
	if [[ -n $vmlinuz ]]; then
		[[ -r $vmlinuz ]] || die "--vmlinuz $vmlinuz: cannot read it"
		vmlinuz=$(readlink -f "$vmlinuz")
		KVER=$(image_release "$vmlinuz") || KVER=
		[[ -n $KVER ]] || KVER=$kernel
		[[ -n $KVER ]] ||
			die "cannot read the release from $vmlinuz; name it with --kernel"
	else
		if [[ -z $kernel && -n $modroot ]]; then
			kernel=$(find "$bootdir" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' 2>/dev/null |
				sed 's/^vmlinuz-//' | sort -V | tail -n 1)
		fi
		KVER=$(resolve_release "$bootdir" "${kernel:-6.1}")
		[[ -n $KVER ]] || die "no kernel '${kernel:-6.1}' in $bootdir"
		vmlinuz=$bootdir/vmlinuz-$KVER
	fi
	MODPROBE_ROOT=${modroot:-/}
	if [[ ! -d $MODPROBE_ROOT/lib/modules/$KVER && -d $MODPROBE_ROOT/usr/lib/modules/$KVER ]]; then
		MODPROBE_ROOT=${MODPROBE_ROOT%/}/usr
	fi
	MODDIR=${MODPROBE_ROOT%/}/lib/modules/$KVER
	[[ -f $MODDIR/modules.dep ]] || die "no $MODDIR/modules.dep (run depmod?)"
	if ((print_kernel)); then
		echo "$KVER"
		exit 0
	fi
	(($#)) || usage_error "no command given (put it after --)"
	local cmd=("$@")

	for val in qemu-system-x86_64 timeout cpio gzip xz zstd modprobe modinfo readelf; do
		command -v "$val" >/dev/null || die "$val not found (run make deps)"
	done
	[[ -x /bin/busybox ]] || die "/bin/busybox not found (install busybox-static)"

	mkdir -p "$VMDIR/tmp"
	RUNDIR=$(mktemp -d "$VMDIR/tmp/run-$KVER.XXXXXX")
	trap 'rm -rf "$RUNDIR"' EXIT
	local runid=${RUNDIR##*/}

	# Initramfs with the modules needed to mount the shares.
	local bootmods=()
	val=$(show_depends "${BOOT_MODULES[@]}")
	[[ -z $val ]] || mapfile -t bootmods <<<"$val"
	if [[ -z $modroot ]]; then
		INITRD=$VMDIR/initramfs-$KVER.cpio.gz
	else
		INITRD=$VMDIR/initramfs-$KVER-$(printf '%s' "$MODDIR" | sha256sum | cut -c1-8).cpio.gz
	fi
	build_initramfs "${bootmods[@]}"
	# Pin this version: a concurrent run may replace $INITRD.
	ln -f "$INITRD" "$RUNDIR/initrd" 2>/dev/null || cp "$INITRD" "$RUNDIR/initrd"

	local kimage=$vmlinuz
	if ((pvh)); then
		val=$(pvh_vmlinux "$vmlinuz")
		if [[ -n $val ]]; then
			ln -f "$val" "$RUNDIR/kernel" 2>/dev/null || cp "$val" "$RUNDIR/kernel"
			kimage=$RUNDIR/kernel
		fi
	fi

	# Modules for the job: dependencies, then --insmod ones. Copies go to
	# the job share so the guest sees them wherever they are on the host.
	local deps=() mdeps=() names=() m i=0 vm base
	for m in "${insmods[@]}"; do
		[[ -f $m ]] || die "--insmod $m: no such file"
		vm=$(modinfo -F vermagic "$m" 2>/dev/null) || die "--insmod $m: not a module"
		[[ ${vm%% *} == "$KVER" ]] ||
			die "--insmod $m: built for '${vm%% *}', not for $KVER"
		IFS=, read -r -a mdeps <<<"$(modinfo -F depends "$m")"
		deps+=("${mdeps[@]}")
	done
	val=$(show_depends "${DEP_MODULES[@]}" "${deps[@]}")
	[[ -z $val ]] || mapfile -t names <<<"$val"
	for m in "${insmods[@]}"; do
		names+=("$(readlink -f "$m")")
	done
	mkdir -p "$RUNDIR/job/mods"
	for m in "${names[@]}"; do
		base=${m##*/}
		base=$(printf '%02d-%s.ko' "$i" "${base%%.ko*}")
		i=$((i + 1))
		unpack_module "$m" "$RUNDIR/job/mods/$base"
		printf '%s %s\n' "$base" "$m" >>"$RUNDIR/job/mods.list"
	done
	touch "$RUNDIR/job/mods.list"

	# Results share and serial log.
	results=${results:-$VMDIR/results}
	mkdir -p "$results"
	results=$(cd "$results" && pwd -P)
	log=${log:-$VMDIR/serial-$KVER.log}
	mkdir -p "$(dirname "$log")"
	[[ ! -e $log ]] || mv -f -- "$log" "$log.prev"
	rm -f -- "$results/.kcp-vm-status.$runid"

	# The directory the command runs in, and what must stay visible.
	local cwd visible
	cwd=$(pwd -P)
	visible=$(git -C "$cwd" rev-parse --show-toplevel 2>/dev/null) || visible=$cwd

	{
		echo "KCP_RUNID=$(sq "$runid")"
		echo "KCP_VISIBLE=$(sq "$visible")"
		echo "KCP_PATH=$(sq "$GUEST_PATH")"
	} >"$RUNDIR/job/init.conf"
	{
		echo '# Generated by selftests/vm/run-vm.sh.'
		echo "export KCP_KVER=$(sq "$KVER") KCP_RESULTS=$(sq "$GUEST_RESULTS")"
		for val in "${envs[@]}"; do
			echo "export ${val%%=*}=$(sq "${val#*=}")"
		done
		echo "kcp_status=$(sq "$GUEST_RESULTS/.kcp-vm-status.$runid")"
		echo "kcp_cwd=$(sq "$cwd")"
		val=
		for m in "${cmd[@]}"; do
			val+=" $(sq "$m")"
		done
		echo "kcp_cmd=$(sq "${val# }")"
		printf '%s\n' "$JOB_BODY"
	} >"$RUNDIR/job/job.sh"

	local qemu=(
		qemu-system-x86_64 -accel tcg -cpu max -smp "$smp" -m "$mem"
		-nodefaults -no-reboot -display none -serial stdio -monitor none
		-kernel "$kimage" -initrd "$RUNDIR/initrd"
		-append "$BASE_APPEND $EXTRA_APPEND${append}"
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
		-virtfs "local,path=$(qemu_path "$results"),mount_tag=kcpresults,security_model=none"
		-virtfs "local,path=$(qemu_path "$RUNDIR/job"),mount_tag=kcpjob,security_model=none,readonly=on"
	)
	# guest time = instructions: 1 ns each, idle skipped (vm-notes.md)
	((icount)) && qemu+=(-icount 'shift=0,sleep=off')

	val=${cmd[*]}
	((${#val} <= 60)) || val=${val:0:57}...
	msg "$KVER: running '$val' (timeout ${timeout}s, log ${log#"$TOP"/})"
	local t0 t1 tb=0 qrc
	t0=$(now_us)
	# QEMU runs in the background so that a signal to this script (^C,
	# make interrupted) can stop it; the console comes through a FIFO.
	mkfifo "$RUNDIR/serial"
	serial_reader "$show" <"$RUNDIR/serial" 3>"$log" &
	READER_PID=$!
	timeout --kill-after=10 "$timeout" "${qemu[@]}" \
		</dev/null >"$RUNDIR/serial" 2>"$RUNDIR/qemu.err" &
	QEMU_PID=$!
	trap on_signal INT TERM HUP
	qrc=0
	wait "$QEMU_PID" || qrc=$?
	wait "$READER_PID" || true
	trap - INT TERM HUP
	t1=$(now_us)
	[[ ! -s $RUNDIR/begin ]] || tb=$(<"$RUNDIR/begin")

	# Collect the verdict.
	local marker status='' rc problems error timing
	marker=$(grep -a -o 'KCP-VM-EXIT=[0-9]\+' "$log" | tail -n 1 | cut -d= -f2) || true
	error=$(grep -a -o -m 1 'KCP-VM-ERROR=.*' "$log" | cut -d= -f2-) || true
	[[ ! -f $results/.kcp-vm-status.$runid ]] ||
		status=$(<"$results/.kcp-vm-status.$runid")
	rm -f -- "$results/.kcp-vm-status.$runid"
	problems=$(kernel_problems "$log")

	timing="total $(secs $((t1 - t0)))s"
	((tb == 0)) || timing="boot $(secs $((tb - t0)))s, $timing"

	if ((qrc == 124 || qrc == 137)); then
		msg "$KVER: TIMEOUT after ${timeout}s, QEMU killed ($timing)"
		rc=$RC_TIMEOUT
	elif [[ -n $problems ]]; then
		msg "$KVER: kernel problem in the serial log ($timing):"
		rc=$RC_KERNEL
	elif [[ -n $error ]]; then
		msg "$KVER: harness failure in the guest: $error ($timing)"
		rc=$RC_HARNESS
	elif [[ ! -s $log ]]; then
		msg "$KVER: QEMU failed (exit $qrc) before the guest printed anything"
		rc=$RC_HARNESS
	elif [[ -z $marker ]]; then
		msg "$KVER: guest ended without reporting an exit status (QEMU exit $qrc, $timing)"
		rc=$RC_NOMARKER
	elif [[ $status != "exit $marker" ]]; then
		msg "$KVER: exit status file says '$status' but the console says $marker"
		rc=$RC_HARNESS
	else
		rc=$marker
		msg "$KVER: command exited $rc ($timing)"
	fi
	if [[ -n $problems ]]; then
		# Quote each distinct line once (a panic replays the log).
		printf '%s\n' "$problems" | awk -v p="  ${log##*/}:" '
			{ l = $0; sub(/^[0-9]+:/, "", l) }
			!seen[l]++ && n++ < 10 { print p $0 }' >&2
		if [[ -n $marker ]]; then
			msg "(the command had exited $marker); serial log from the first match:"
			sed -n "${problems%%:*},+39p" -- "$log" | sed 's/^/  | /' >&2
		fi
	fi
	if [[ -n $error && $rc != "$RC_HARNESS" ]]; then
		msg "also a harness failure in the guest: $error"
	elif [[ -z $marker && -z $error && $rc == "$RC_KERNEL" ]]; then
		msg "the guest died (panic?) without reporting an exit status"
	fi
	if [[ -z $marker ]]; then
		if [[ -s $RUNDIR/qemu.err ]]; then
			msg "QEMU said:"
			sed 's/^/  | /' "$RUNDIR/qemu.err" >&2
		fi
		[[ ! -s $log ]] || tail_log "$log"
	fi
	exit "$rc"
}

main "$@"
