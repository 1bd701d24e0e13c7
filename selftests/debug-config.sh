#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Write the .config of the debug kernel that 'make check-debug' boots:
# Debian's 6.1 config, cut down to what the test VM uses (localmodconfig
# over the module list below), every remaining module built in, and the
# runtime checkers (KASAN, kmemleak, lockdep, UBSAN, debug objects, list
# and refcount checks) switched on.
#
#   selftests/debug-config.sh SRCDIR OBJDIR [BASE-CONFIG]
#
# SRCDIR is an unpacked linux-source-6.1, OBJDIR the O= build directory.
# selftests/debug.sh rebuilds the kernel whenever this file changes.

set -euo pipefail

src=$1
obj=$2
base=${3:-$(ls /boot/config-6.1.*-amd64 2>/dev/null | sort -V | tail -n 1)}
[[ -f $base ]] || { echo "debug-config: no base config (/boot/config-6.1.*-amd64)" >&2; exit 1; }

mkdir -p "$obj"
cp "$base" "$obj/.config"

# What a guest of selftests/vm/run-vm.sh loaded after the whole VM suite
# on Debian's 6.1 (lsmod), plus what the full suite and the benchmarks may
# ask for: ciphers of fec_crypto.sh, tcp_bbr.
cat >"$obj/lsmod.kcp" <<'EOF'
Module                  Size  Used by
sch_netem              24576  0
veth                   36864  0
reed_solomon           24576  0
ip6_udp_tunnel         20480  0
udp_tunnel             28672  0
9p                     81920  0
fscache               380928  0
netfs                  57344  0
9pnet_virtio           20480  0
9pnet                  98304  0
virtio_pci             24576  0
virtio_pci_legacy_dev  16384  0
virtio_pci_modern_dev  20480  0
virtio                 20480  0
virtio_ring            49152  0
tcp_bbr                20480  0
blowfish_generic       16384  0
blowfish_common        20480  0
twofish_generic        20480  0
twofish_common         24576  0
cast5_generic          20480  0
cast_common            16384  0
des_generic            16384  0
libdes                 24576  0
EOF

# localmodconfig keeps what Debian builds in and the listed modules.
# (yes dies of SIGPIPE when make is done: not a failure)
{ yes '' || true; } | make -s -C "$src" O="$obj" LSMOD="$obj/lsmod.kcp" \
	localmodconfig >"$obj/localmodconfig.log" 2>&1

# No modules to find at run time: the guest's modprobe looks in the host's
# /lib/modules, which has nothing for this kernel.
sed -i 's/=m$/=y/' "$obj/.config"

cfg() { "$src/scripts/config" --file "$obj/.config" "$@"; }

cfg --set-str LOCALVERSION -kcpdebug -d LOCALVERSION_AUTO \
	-d MODULE_SIG -d MODULE_SIG_ALL \
	--set-str SYSTEM_TRUSTED_KEYS '' --set-str SYSTEM_REVOCATION_KEYS '' \
	-d DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT -d DEBUG_INFO_DWARF4 \
	-d DEBUG_INFO_DWARF5 -e DEBUG_INFO_NONE -d DEBUG_INFO_BTF \
	-e KALLSYMS -e KALLSYMS_ALL

# What must be there for the VM (built in). udp_tunnel and reed_solomon
# are only selected by others: NET_FOU and PSTORE_RAM are small ones.
cfg -e NET_FOU -e PSTORE_RAM -e VIRTIO_PCI -e NET_9P -e NET_9P_VIRTIO -e 9P_FS -e VETH \
	-e NET_SCH_NETEM -e IPV6 -e TCP_CONG_BBR -e NET_UDP_TUNNEL \
	-e REED_SOLOMON -e CRYPTO_AES -e CRYPTO_DES -e CRYPTO_BLOWFISH \
	-e CRYPTO_TWOFISH -e CRYPTO_CAST5 -e CRYPTO_SHA1 -e CRYPTO_HMAC \
	-e DEBUG_FS -e MODULE_UNLOAD

# The accelerated drivers a real machine autoloads (a busybox guest has no
# udev): the AES cipher the module then uses is aesni_intel's, with its
# FPU sections in the send and receive paths, as in production.
cfg -e CRYPTO_AES_NI_INTEL -e CRYPTO_CRC32_PCLMUL -e CRYPTO_CRC32C_INTEL

# Memory: KASAN (generic, inline: faster under TCG), kmemleak with a pool
# for what is allocated before it starts, no automatic scans (debug.sh
# scans when the suite is done).
cfg -e KASAN -e KASAN_GENERIC -e KASAN_INLINE -d KASAN_OUTLINE \
	-e KASAN_VMALLOC -e KASAN_STACK \
	-e DEBUG_KMEMLEAK --set-val DEBUG_KMEMLEAK_MEM_POOL_SIZE 64000 \
	-d DEBUG_KMEMLEAK_DEFAULT_OFF -d DEBUG_KMEMLEAK_AUTO_SCAN \
	-d DEBUG_KMEMLEAK_TEST

# Locking: lockdep with room for a networking workload, atomic sleep.
cfg -e PROVE_LOCKING -e DEBUG_ATOMIC_SLEEP -e DEBUG_SPINLOCK \
	-e DEBUG_MUTEXES -e DEBUG_RWSEMS -e DEBUG_LOCK_ALLOC -e PROVE_RCU \
	--set-val LOCKDEP_BITS 17 --set-val LOCKDEP_CHAINS_BITS 18 \
	--set-val LOCKDEP_STACK_TRACE_BITS 20 \
	--set-val LOCKDEP_STACK_TRACE_HASH_BITS 16

# Undefined behaviour (no alignment checks: noisy on x86 by design).
cfg -e UBSAN -d UBSAN_TRAP -e UBSAN_BOUNDS -e UBSAN_SHIFT -e UBSAN_DIV_ZERO \
	-e UBSAN_UNREACHABLE -e UBSAN_BOOL -e UBSAN_ENUM -d UBSAN_ALIGNMENT \
	-e UBSAN_SANITIZE_ALL

# Object life cycles: timers and hrtimers (both under DEBUG_OBJECTS_TIMERS
# in 6.1, there is no DEBUG_OBJECTS_HRTIMERS), work items, RCU heads,
# freeing of active objects.
cfg -e DEBUG_OBJECTS -e DEBUG_OBJECTS_FREE -e DEBUG_OBJECTS_TIMERS \
	-e DEBUG_OBJECTS_WORK -e DEBUG_OBJECTS_RCU_HEAD \
	-e DEBUG_OBJECTS_PERCPU_COUNTER --set-val DEBUG_OBJECTS_ENABLE_DEFAULT 1

# Lists and reference counts. REFCOUNT_FULL is gone since 5.5: refcount_t
# always saturates and WARNs. The networking refcount trackers and
# DEBUG_NET's checks come on top.
cfg -e DEBUG_LIST -e DEBUG_PLIST -e DEBUG_SG -e DEBUG_NOTIFIERS \
	-e BUG_ON_DATA_CORRUPTION -e DEBUG_NET -e NET_DEV_REFCNT_TRACKER \
	-e NET_NS_REFCNT_TRACKER -e DEBUG_PREEMPT

make -s -C "$src" O="$obj" olddefconfig >>"$obj/localmodconfig.log" 2>&1

# Check that nothing asked for was dropped by a dependency.
missing=
for o in VIRTIO_PCI NET_9P_VIRTIO 9P_FS VETH NET_SCH_NETEM IPV6 NET_UDP_TUNNEL \
	REED_SOLOMON CRYPTO_DES CRYPTO_BLOWFISH CRYPTO_TWOFISH CRYPTO_CAST5 \
	KASAN KASAN_INLINE DEBUG_KMEMLEAK PROVE_LOCKING DEBUG_ATOMIC_SLEEP UBSAN \
	UBSAN_SANITIZE_ALL DEBUG_OBJECTS_TIMERS DEBUG_OBJECTS_WORK DEBUG_LIST \
	DEBUG_NET MODULE_UNLOAD DEBUG_FS CRYPTO_AES_NI_INTEL CRYPTO_CRC32_PCLMUL; do
	grep -qx "CONFIG_$o=y" "$obj/.config" || missing+=" $o"
done
if [[ -n $missing ]]; then
	echo "debug-config: not enabled:$missing" >&2
	exit 1
fi
grep -q '^CONFIG_IPV6=y' "$obj/.config"
echo "debug-config: $(grep -c '=y$' "$obj/.config") options built in, $(grep -c '=m$' "$obj/.config") modules"
