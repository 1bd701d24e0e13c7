#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest half of deb-test.sh: in the chroot CHROOT (packages installed,
# module built by DKMS for this kernel), modprobe kcp, then move 1 MiB
# from one TCP program to another, both under the packaged 'kcpctl run',
# and check it went over AF_KCP. The harness has already inserted the
# module's dependencies from the host; the chroot has only kcp. TAP.
#
#   deb-guest.sh CHROOT

CH=$1
PORT=7100
SIZE=1048576
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; }
in_ch() { chroot "$CH" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp "$@"; }

for m in proc sys dev tmp run; do
	case $m in
	proc) mount -t proc proc "$CH/proc" ;;
	sys) mount -t sysfs sysfs "$CH/sys" ;;
	dev) mount -t devtmpfs devtmpfs "$CH/dev" ;;
	*) mount -t tmpfs tmpfs "$CH/$m" ;;
	esac || { not_ok "mount $m in the chroot"; echo "1..$n"; exit 1; }
done
ip link set lo up

# kcp.rst's modprobe.d lines for another number: the options, and the
# alias the kernel's request_module("net-pf-12") resolves through
mount -t tmpfs tmpfs "$CH/etc/modprobe.d"
printf 'options kcp family=12\nalias net-pf-12 kcp\n' > "$CH/etc/modprobe.d/kcp.conf"
if in_ch modprobe net-pf-12 && [ "$(cat /sys/module/kcp/parameters/family)" = 12 ] &&
	python3 -c "import socket; socket.socket(12, socket.SOCK_STREAM).close()"; then
	ok "modprobe.d 'options kcp family=12' + 'alias net-pf-12 kcp': modprobe net-pf-12 loads kcp as family 12"
else
	not_ok "modprobe net-pf-12 with the modprobe.d lines of kcp.rst"
fi
rmmod kcp 2>/dev/null
umount "$CH/etc/modprobe.d"

if in_ch modprobe kcp; then
	line=$(dmesg | grep 'kcp: AF_KCP' | tail -n 1)
	ok "modprobe kcp (DKMS build): ${line#*kcp: }"
else
	not_ok "modprobe kcp in the chroot"
	echo "1..$n"
	exit 1
fi
mod=$(in_ch modinfo -n kcp)
[[ $mod == /lib/modules/$(uname -r)/updates/dkms/kcp.ko* ]] &&
	ok "the module loaded is DKMS's: $mod" || not_ok "modinfo -n kcp: $mod"

# the same bytes on both sides, no hashlib in python3-minimal
gen="data = bytes((i * 7 + i // 251) % 256 for i in range($SIZE))"
server="import socket
$gen
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.bind(('127.0.0.1', $PORT))
l.listen(1)
print('READY', flush=True)
c, _ = l.accept()
got = bytearray()
while len(got) < $SIZE:
    b = c.recv(65536)
    if not b:
        break
    got += b
print('RECEIVED', len(got), 'SAME' if got == data else 'DIFFERENT', flush=True)"
client="import socket
$gen
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect(('127.0.0.1', $PORT))
s.sendall(data)
print('SENT', len(data), flush=True)"

snmp() { awk -v k="$1" '$1 == k { print $2 }' "$CH/proc/net/kcp_snmp"; }
p0=$(snmp PassiveOpens) b0=$(snmp BytesReceived)
in_ch timeout 120 kcpctl run --ports $PORT --preset fast3 --wnd 256,256 -- \
	python3 -c "$server" > /tmp/server.out 2>&1 &
spid=$!
for _ in $(seq 1 100); do grep -q READY /tmp/server.out && break; sleep 0.1; done
in_ch timeout 60 kcpctl run --ports $PORT --preset fast3 --wnd 256,256 -- \
	python3 -c "$client" > /tmp/client.out 2>&1
wait $spid
p1=$(snmp PassiveOpens) b1=$(snmp BytesReceived)
if grep -q "RECEIVED $SIZE SAME" /tmp/server.out && grep -q "SENT $SIZE" /tmp/client.out &&
	[ $((p1 - p0)) -eq 1 ] && [ $((b1 - b0)) -ge $SIZE ]; then
	ok "1 MiB between two TCP programs under kcpctl run: intact, over AF_KCP (PassiveOpens +1, BytesReceived +$((b1 - b0)))"
else
	not_ok "transfer: server '$(tr '\n' ' ' < /tmp/server.out)', client '$(tr '\n' ' ' < /tmp/client.out)', PassiveOpens +$((p1 - p0)), BytesReceived +$((b1 - b0))"
fi
out=$(in_ch kcpctl stats PassiveOpens)
[[ $out =~ ^PassiveOpens\ +[1-9] ]] && ok "kcpctl stats: $out" || not_ok "kcpctl stats: $out"
echo "1..$n"
[ "$fail" -eq 0 ]
