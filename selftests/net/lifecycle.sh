#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Socket and module lifecycle: close during a transfer, close with unread
# data, a listener closed with a full accept queue, thousands of sockets
# opened and closed, a network namespace deleted with live sessions, and
# module unload refused while sockets exist, clean once they are gone
# (slab back to baseline, socket() then fails with EAFNOSUPPORT).
# Runs last: it unloads the module (and loads $KCP_MODULE again).

. "$(dirname "$0")/lib.sh"

trap 'stop_server; ns_cleanup; rm -rf "$WORK"' EXIT
ns_setup

# every AF_KCP socket holds a module reference: the count of live sockets
slab() { cat /sys/module/kcp/refcnt; }
# wait until at most $1 sockets are left (RCU frees, time-wait tombstones)
settle() {
	local i
	# closed sockets may linger up to linger_ms (30 s) when the peer is
	# silent, plus timewait_ms (3 s) for a listener's children
	for i in $(seq 1 400); do
		[ "$(slab)" -le "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
base=$(slab)
diag "module refcount baseline: $base"
# kernel memory: Slab (kB) and the AF_KCP socket cache's live objects
meminfo_slab() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }
kcp_objs() { awk '$1 == "KCP" { print $2 }' /proc/slabinfo; }
slab0=$(meminfo_slab)
diag "Slab baseline: $slab0 kB; KCP cache objects: $(kcp_objs)"

# close during a transfer (both ends killed mid-stream)
start_server s1 in_a "$KCPT" server -a "$ADDR_A:0" -preset fast3 \
	-sessions 0 -timeout 60 || exit 1
$NSX_B "$KCPT" client -a "$ADDR_A:$SERVER_PORT" -preset fast3 -sessions 8 \
	-parallel 8 -bytes $((64 << 20)) -timeout 60 > /dev/null 2>&1 &
cpid=$!
sleep 1.5
kill -9 $cpid
wait $cpid 2>/dev/null
stop_server
settle "$base" && ok "close during transfer: every socket freed" ||
	not_ok "close during transfer: $(slab) sockets left (base $base)"

# close with unread data, and a listener with a full accept queue
start_server s2 in_a "$KCPT" server -a "$ADDR_A:0" -role hold -backlog 16 \
	-timeout 3 || exit 1
in_b "$KCPT" client -a "$ADDR_A:$SERVER_PORT" -sessions 40 -parallel 40 \
	-bytes 20000 -timeout 2 > /dev/null 2>&1
wait "$SERVER_PID"
SERVER_PID=
settle "$base" && ok "listener closed with full accept queue, unread data: all freed" ||
	not_ok "listener with full queue: $(slab) sockets left (base $base)"

# thousands of sockets opened and closed
in_b python3 - "$(cat /sys/module/kcp/parameters/family)" <<'PY'
import socket, sys
fam = int(sys.argv[1])
for i in range(3000):
    s = socket.socket(fam, socket.SOCK_STREAM)
    if i % 3 == 0:
        s.setsockopt(299, 13, (4).to_bytes(4, "little"))
    s.close()
PY
settle "$base" && ok "3000 sockets opened and closed: none left" ||
	not_ok "open/close loop: $(slab) sockets left (base $base)"

# unload refused while a socket exists
rm -f "$WORK/ready"
python3 -c "
import socket, time, sys
s = socket.socket(int(open('/sys/module/kcp/parameters/family').read()), socket.SOCK_STREAM)
open(sys.argv[1], 'w').close()
time.sleep(3)
" "$WORK/ready" &
sockpid=$!
for i in $(seq 1 100); do [ -e "$WORK/ready" ] && break; sleep 0.1; done
if rmmod kcp 2>/dev/null; then
	not_ok "rmmod with a live socket succeeded"
else
	ok "rmmod refused while a socket exists"
fi
wait $sockpid

# A namespace deleted with 1000 live sessions, some of them sending: one
# program (lifecycle.c) holds an AF_KCP listener and 1000 AF_KCP clients
# of it in one epoll loop, so the count needs no thread per session.
LIFECYCLE=${LIFECYCLE:-$TOP/build/net/lifecycle}
NS_C=kcp-c-$$
NSESS=1000
ip netns add $NS_C
ip -n $NS_C link set lo up
# all 1000 at once: beyond the default new-session rate (1000/s)
ip netns exec $NS_C sysctl -qw net.kcp.new_sessions_per_sec=0
start_server hold ip netns exec $NS_C "$LIFECYCLE" hold -n $NSESS \
	-active 0.05 -rate 20 -size 64 -time 120 -preset fast
hpid=$SERVER_PID
SERVER_PID=
for i in $(seq 1 900); do grep -q '^ALLUP' "$WORK/hold.out" && break; sleep 0.1; done
sleep 1
live=$(ip netns exec $NS_C awk '$1 == "Sessions" { print $2 }' /proc/net/kcp_snmp)
diag "in the namespace before deleting it: Sessions $live, $(grep -c . "$WORK/hold.out") lines from lifecycle hold, last: $(tail -n 1 "$WORK/hold.out")"
kill -9 $hpid
ip netns del $NS_C
wait $hpid 2>/dev/null
if [ "${live:-0}" -ge $NSESS ] && settle "$base"; then
	ok "netns deleted with $live live sessions (5 % sending): all freed"
else
	not_ok "netns deletion: ${live:-no} sessions up of $NSESS, $(slab) sockets left (base $base)"
fi

# unload once everything is gone (earlier suites' closed sockets may
# still be lingering), then socket() fails, then load again
ns_cleanup
settle 0 || diag "$(slab) sockets still open before rmmod"
diag "Slab after the lifecycle tests: $(meminfo_slab) kB ($(($(meminfo_slab) - slab0)) kB vs baseline), KCP cache objects $(kcp_objs)"
if rmmod kcp; then
	ok "rmmod after all sockets closed"
else
	not_ok "rmmod after all sockets closed"
fi
if python3 -c "
import socket, errno, sys
try:
    socket.socket(25, socket.SOCK_STREAM)
except OSError as e:
    sys.exit(0 if e.errno == errno.EAFNOSUPPORT else 1)
sys.exit(1)"; then
	ok "socket(AF_KCP) after unload -> EAFNOSUPPORT"
else
	not_ok "socket(AF_KCP) after unload did not fail with EAFNOSUPPORT"
fi
if [ -n "${KCP_MODULE:-}" ] && insmod "$KCP_MODULE"; then
	python3 -c "
import socket
socket.socket(int(open('/sys/module/kcp/parameters/family').read()), socket.SOCK_STREAM).close()" &&
		ok "module loads again and socket() works" ||
		not_ok "socket() after reload"
else
	not_ok "reload of \$KCP_MODULE (${KCP_MODULE:-unset})"
fi
tap_end
