#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Loading the module: the family parameter (a number of a kernel family
# is refused with a message naming the free ones; a free number works),
# the module's own load line naming AF_KCP, its version and the number,
# and MODULE_VERSION. Unloads and reloads the module ($KCP_MODULE): run
# it when no AF_KCP socket is left (first, or after lifecycle). Prints TAP.

. "$(dirname "$0")/lib.sh"

trap 'rm -rf "$WORK"' EXIT

# the kernel log lines of the module since mark N (a line count)
klog_since() {
	dmesg | tail -n +"$(($1 + 1))" | grep -E '(^|\] )kcp: '
}
klog_mark() {
	dmesg | wc -l
}
# a socket of family $1 can be made and closed (python exit 0)
family_works() {
	python3 -c "import socket, sys
socket.socket(int(sys.argv[1]), socket.SOCK_STREAM).close()" "$1" 2>/dev/null
}

if [ -z "${KCP_MODULE:-}" ] || [ ! -e "$KCP_MODULE" ]; then
	not_ok "KCP_MODULE (${KCP_MODULE:-unset}) names no module file"
	tap_end
	exit
fi
ver=$(modinfo -F version "$KCP_MODULE")
[ -n "$ver" ] && ok "modinfo shows version $ver (MODULE_VERSION)" ||
	not_ok "modinfo shows no version"

# closed sockets of earlier suites may still linger (linger_ms 30 s,
# timewait_ms 3 s) and hold the module
for _ in $(seq 1 40); do
	rmmod kcp 2>/dev/null && break
	sleep 1
done
if [ -e /sys/module/kcp ]; then
	not_ok "rmmod kcp: AF_KCP sockets still held it after 40 s"
	tap_end
	exit
fi

# 40 is AF_VSOCK's, 2 AF_INET's, 46 is AF_MAX: refused, with a reason
for nr in 40 2 46; do
	m=$(klog_mark)
	if insmod "$KCP_MODULE" family=$nr 2> "$WORK/err"; then
		not_ok "insmod family=$nr succeeded"
		rmmod kcp
		continue
	fi
	line=$(klog_since "$m")
	case $nr in
	46) want='out of range 1\.\.45' ;;
	*) want="family=$nr belongs to a family of the kernel; use a free one: 12, 13, 14, 18, 19, 22, 23 or 25" ;;
	esac
	if grep -qE "$want" <<< "$line" && grep -qE 'Invalid (argument|parameters)' "$WORK/err"; then
		ok "insmod family=$nr refused (EINVAL): '${line#*kcp: }'"
	else
		not_ok "insmod family=$nr: error '$(cat "$WORK/err")', log '$line'"
	fi
done

# a free number: the load line names it, socket() works on it only
m=$(klog_mark)
if insmod "$KCP_MODULE" family=12; then
	line=$(klog_since "$m")
	if grep -q "kcp: AF_KCP $ver registered as socket family 12 (number of AF_DECnet, removed in 6.1)" <<< "$line" &&
		family_works 12 && ! family_works 25; then
		ok "family=12: load line '${line#*kcp: }', socket(12) works, socket(25) does not"
	else
		not_ok "family=12: log '$line'"
	fi
	[ "$(cat /sys/module/kcp/parameters/family)" = 12 ] &&
		ok "family=12 in /sys/module/kcp/parameters/family" ||
		not_ok "parameters/family reads $(cat /sys/module/kcp/parameters/family)"
	rmmod kcp || not_ok "rmmod after family=12"
else
	not_ok "insmod family=12 failed"
fi

# back to the default, as the harness loaded it
m=$(klog_mark)
if insmod "$KCP_MODULE"; then
	line=$(klog_since "$m")
	grep -q "kcp: AF_KCP $ver registered as socket family 25 (number of AF_WANPIPE, removed)" <<< "$line" &&
		family_works 25 &&
		ok "default: load line '${line#*kcp: }', socket(25) works" ||
		not_ok "default load: log '$line'"
else
	not_ok "insmod $KCP_MODULE (default family) failed"
fi
tap_end
