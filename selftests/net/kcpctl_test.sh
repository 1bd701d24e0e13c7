#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kcpctl and libkcppreload.so, inside the VM with the module loaded:
# key derivation, counters, retuning a live socket from outside, the
# sysctls and the socket list (skipped while the module lacks them), and
# unmodified TCP programs (iperf3, curl + python http.server) over AF_KCP
# through "kcpctl run", with proof that no TCP was used, --ports
# leaving other ports on TCP, the shim's TCP answers to TCP/IP options
# (kcpctl_shim) and --port-offset (iperf3 -u). Prints TAP.
#
#   selftests/net/kcpctl_test.sh        (build first: make userspace)

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=selftests/net/lib.sh
source "$TOP/selftests/net/lib.sh"

TOOLS=${KCPCTL_TOOLS:-$TOP/build/tools}
K=$TOOLS/kcpctl
NET=${KCPCTL_TESTS:-$TOP/build/net}
HOLD=$NET/kcpctl_hold
SHIM=$NET/kcpctl_shim
T0=$(date +%s.%N)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

check() {	# check "name" CMD...: ok when CMD succeeds
	local name=$1
	shift
	if "$@"; then
		ok "$name"
	else
		not_ok "$name"
	fi
}

snmp() {
	awk -v n="$1" '$1 == n { print $2 }' /proc/net/kcp_snmp
}

# wait_for FILE REGEX [SECS]
wait_for() {
	local _
	for _ in $(seq 1 $((${3:-10} * 10))); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	diag "timed out waiting for '$2' in $1:"
	sed 's/^/#   /' "$1" 2>/dev/null | tail -5
	return 1
}

# wait_udp_port PORT: up to 5 s for a UDP socket on PORT (an AF_KCP
# listener's, which is how "kcpctl run" servers show up)
wait_udp_port() {
	local _
	for _ in $(seq 50); do
		[ -n "$(ss -Huln "sport = :$1")" ] && break
		sleep 0.1
	done
}

# json_check NAME PYTHON-EXPR JSON: a test that the expression on the
# parsed JSON 'd' is true. Run together by json_flush (python is slow to
# start under TCG), in order.
NJSON=0
json_check() {
	NJSON=$((NJSON + 1))
	printf '%s\n' "$3" > "$WORK/json.$NJSON"
	printf '%s\t%s\n' "$1" "$2" >> "$WORK/json.list"
}

json_flush() {
	local verdict name
	[ "$NJSON" -gt 0 ] || return 0
	python3 - "$WORK" > "$WORK/json.out" << 'PY'
import json, sys
work = sys.argv[1]
for i, line in enumerate(open(work + "/json.list"), 1):
    name, expr = line.rstrip("\n").split("\t", 1)
    try:
        d = json.load(open("%s/json.%d" % (work, i)))
        good = bool(eval(expr))
    except Exception as e:
        good = False
        name += " (%s)" % e
    print("%s\t%s" % ("ok" if good else "fail", name))
PY
	while IFS=$'\t' read -r verdict name; do
		if [ "$verdict" = ok ]; then ok "$name"; else not_ok "$name"; fi
	done < "$WORK/json.out"
	[ "$(wc -l < "$WORK/json.out")" -eq "$NJSON" ] ||
		not_ok "JSON checks: python3 ran $(wc -l < "$WORK/json.out") of $NJSON"
	NJSON=0
	rm -f "$WORK"/json.*
}

# No TCP socket of any state on port $1 (so no TCP was used there).
no_tcp_on() {
	[ -z "$(ss -Htan "( sport = :$1 or dport = :$1 )")" ]
}

if [ ! -x "$K" ] || [ ! -f "$TOOLS/libkcppreload.so" ] || [ ! -x "$HOLD" ] ||
   [ ! -x "$SHIM" ]; then
	not_ok "kcpctl, libkcppreload.so in $TOOLS, kcpctl_hold, kcpctl_shim in $NET (make userspace)"
	tap_end
	exit 1
fi

# ---- key ----
out=$("$K" key "it's a secrect")
check "key: kcptun default key -> 25d7d7bd... (spec 4.4)" \
	[ "$out" = 25d7d7bd51050742d8d791f2b653c6c8b2366b7e25a124cf7a2e12eaf4ffa444 ]
check "key: no passphrase is kcptun's default" \
	[ "$("$K" key 2>/dev/null)" = "$out" ]
check "key: aes-128 is pass[0:16], 3des pass[0:24], xor pass[0:32]" \
	[ "$("$K" key --crypt aes-128 "it's a secrect")" = "${out:0:32}" -a \
	  "$("$K" key --crypt 3des "it's a secrect")" = "${out:0:48}" -a \
	  "$("$K" key --crypt xor "it's a secrect")" = "$out" ]
err=$("$K" key --crypt rot13 x 2>&1)
check "key: unknown cipher is an error naming the known ones" \
	[ $? -ne 0 -a -n "$(echo "$err" | grep 'unknown cipher' )" -a \
	  -n "$(echo "$err" | grep 'salsa20')" ]

# ---- stats ----
out=$("$K" stats)
check "stats: shows CurrEstab, InPkts, OutPkts" \
	[ -n "$(echo "$out" | grep '^CurrEstab ')" -a \
	  -n "$(echo "$out" | grep '^InPkts ')" -a \
	  -n "$(echo "$out" | grep '^OutPkts ')" ]
check "stats: aligned (values right-aligned in one column)" \
	[ "$(echo "$out" | awk '{ print length($0) }' | sort -u | wc -l)" -eq 1 ]
check "stats: same counters as /proc/net/kcp_snmp" \
	[ "$(echo "$out" | awk '{ print $1 }')" = "$(awk '{ print $1 }' /proc/net/kcp_snmp)" ]
json_check "stats --json parses, has every counter" \
	"len(d) == $(wc -l < /proc/net/kcp_snmp) and 'BytesSent' in d" \
	"$("$K" stats --json)"
check "stats NAME: just that counter" \
	[ "$("$K" stats InPkts | awk '{ print $1 }')" = InPkts ]

# ---- a live socket retuned from outside ----
"$HOLD" > "$WORK/hold.out" 2>&1 &
PIDS+=("$!")
if wait_for "$WORK/hold.out" '^READY'; then
	HP=$(sed -n 's/^READY pid=\([0-9]*\).*/\1/p' "$WORK/hold.out")
	HC=$(sed -n 's/^READY.* client=\([0-9]*\).*/\1/p' "$WORK/hold.out")
	ok "kcpctl_hold holds an AF_KCP pair (pid $HP fd $HC)"
else
	not_ok "kcpctl_hold holds an AF_KCP pair"
	HP=0 HC=0
fi

hold_info() {	# the helper's own getsockopt view of its client socket
	local n
	n=$(grep -c '^INFO' "$WORK/hold.out")
	kill -USR1 "$HP"
	for _ in $(seq 50); do
		[ "$(grep -c '^INFO' "$WORK/hold.out")" -gt "$n" ] && break
		sleep 0.1
	done
	grep '^INFO' "$WORK/hold.out" | tail -1
}

out=$("$K" get --pid "$HP" --fd "$HC")
check "get --pid --fd: KCP_INFO of the live socket (state ESTAB)" \
	[ -n "$(echo "$out" | grep -E '^state +ESTAB$')" -a \
	  -n "$(echo "$out" | grep -E '^peer +127\.0\.0\.1:[0-9]+$')" ]
check "set --pid --fd nodelay=1,10,2,1 wnd=256,512" \
	"$K" set --pid "$HP" --fd "$HC" nodelay=1,10,2,1 wnd=256,512
info=$(hold_info)
check "the program sees nodelay 1 interval 10 resend 2 nc 1 wnd 256/512" \
	[ -n "$(echo "$info" | grep 'nodelay=1 interval=10 resend=2 nc=1 snd_wnd=256 rcv_wnd=512')" ]
diag "$info"
json_check "get --pid --fd --json agrees" \
	"d['nodelay'] == 1 and d['interval'] == 10 and d['snd_wnd'] == 256 and d['state_name'] == 'ESTAB'" \
	"$("$K" get --pid "$HP" --fd "$HC" --json)"
"$K" set --pid "$HP" --fd "$HC" preset=normal
info=$(hold_info)
check "set --pid --fd preset=normal -> nodelay 0 interval 40" \
	[ -n "$(echo "$info" | grep 'nodelay=0 interval=40 resend=2 nc=1')" ]
"$K" set --pid "$HP" --fd "$HC" interval=20 dead_link=50 ack_nodelay=1
info=$(hold_info)
out=$("$K" get --pid "$HP" --fd "$HC")
check "set --pid --fd interval=20 dead_link=50 ack_nodelay=1 keeps the rest" \
	[ -n "$(echo "$info" | grep 'nodelay=0 interval=20 resend=2 nc=1')" -a \
	  -n "$(echo "$out" | grep -E '^dead_link +50$')" -a \
	  -n "$(echo "$out" | grep -E '^ack_nodelay +1$')" ]
err=$("$K" set --pid "$HP" --fd "$HC" mtu=10 2>&1)
check "set --pid --fd mtu=10: error with the valid range" \
	[ $? -ne 0 -a -n "$(echo "$err" | grep '50\.\.1500')" ]
err=$("$K" set --pid "$HP" --fd "$HC" turbo=1 2>&1)
check "set --pid --fd: unknown option is an error" \
	[ $? -ne 0 -a -n "$(echo "$err" | grep "unknown socket option 'turbo'")" ]
err=$("$K" get --pid "$HP" --fd 0 2>&1)
check "get --pid --fd on a non-socket: clear error" \
	[ $? -ne 0 -a -n "$(echo "$err" | grep 'not a socket')" ]
err=$("$K" get --pid "$HP" --fd 999 2>&1)
check "get --pid --fd on a closed fd: clear error" \
	[ $? -ne 0 -a -n "$(echo "$err" | grep 'has no fd 999')" ]

# ---- the socket list parser, on a file in the interface's format ----
fake=$WORK/fakenet
mkdir -p "$fake"
ino=$(readlink "/proc/$HP/fd/$HC" | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')
hdr="  sl local_address rem_address st conv snd_wnd rcv_wnd rmt_wnd cwnd snd_queue snd_buf rcv_queue rcv_buf rto srtt rttvar mtu nodelay interval resend nc fec_data fec_parity cipher in_segs out_segs retrans_segs lost_segs uid inode"
{
	echo "$hdr"
	echo "   0: 00000000:1451 00000000:0000 0A 00000000 32 128 0 0 0 0 0 0 200 0 0 1400 1 10 2 1 0 0 0 0 0 0 0 0 1"
	echo "   1: 0100007F:1451 0200007F:9C40 01 1A2B3C4D 256 512 128 16 2 3 4 0 204 5 2 1350 1 10 2 1 10 3 2 100 120 4 1 0 ${ino:-2}"
} > "$fake/kcp"
{
	echo "$hdr"
	echo "   0: 00000000000000000000000001000000:1451 0000000000000000FFFF00000100007F:9C41 04 00000007 32 32 32 16 0 0 0 0 204 5 2 1400 0 40 2 1 0 0 13 1 2 0 0 0 3"
} > "$fake/kcp6"
out=$(KCPCTL_PROC_NET=$fake "$K" show -p)
echo "$out" | head -3 | sed 's/^/# /'
check "show (interface-format file): addresses, state, conv, mode, fec, cipher" \
	[ -n "$(echo "$out" | grep -E '^ESTAB +4 +5 +127\.0\.0\.1:5201 +127\.0\.0\.2:40000 +0x1a2b3c4d')" -a \
	  -n "$(echo "$out" | grep -E '^LISTEN .*0\.0\.0\.0:5201 +0\.0\.0\.0:\*')" -a \
	  -n "$(echo "$out" | grep -E '^LINGER .*\[::1\]:5201 +\[::ffff:127\.0\.0\.1\]:40001')" -a \
	  -n "$(echo "$out" | grep -F 'mode:1,10,2,1(fast3) fec:10/3 cipher:aes ')" -a \
	  -n "$(echo "$out" | grep -F 'cipher:xor')" ]
check "show -p finds the process by socket inode (users:((\"kcpctl_hold\",pid=$HP,fd=$HC)))" \
	[ -n "$(echo "$out" | grep -F "users:((\"kcpctl_hold\",pid=$HP,fd=$HC))")" ]
json_check "show --json -4 -p (interface-format file)" \
	"len(d) == 2 and d[1]['conv'] == 0x1a2b3c4d and d[1]['peer_port'] == 40000 and d[1]['users'][0]['pid'] == $HP" \
	"$(KCPCTL_PROC_NET=$fake "$K" show --json -4 -p)"

# a session that has sent and resent but heard nothing: flagged
mkdir -p "$fake/silent"
{
	echo "$hdr"
	echo "   0: 0100007F:9C42 0100007F:1451 01 00000009 32 32 32 4 0 3 0 0 800 0 0 1400 0 40 2 1 0 0 1 0 20 7 7 0 9"
} > "$fake/silent/kcp"
: > "$fake/silent/kcp6"
out=$(KCPCTL_PROC_NET=$fake/silent "$K" show)
check "show flags a session with segments sent and resent but none received" \
	[ -n "$(echo "$out" | grep -F '	 ! no reply from the peer (20 segments sent, 7 resent)')" ]

# ---- socket list (coming in the module) ----
if [ -e /proc/net/kcp ]; then
	out=$("$K" show -p)
	printf '%s\n' "$out" | sed 's/^/# sample: /'
	check "show -p: the held pair (ESTAB) and its process" \
		[ "$(echo "$out" | grep -c '^ESTAB.*kcpctl_hold')" -ge 2 ]
	json_check "show --json: ESTAB sockets with conv and windows" \
		"sum(1 for s in d if s['state'] == 'ESTAB' and 'conv' in s and 'rcv_wnd' in s) >= 2" \
		"$("$K" show --json)"
	check "show -l: listeners only" \
		[ -z "$("$K" show -l | tail -n +2 | grep -v -e '^LISTEN' -e '^	')" ]
else
	skip "show -p: the held pair and its process" "no /proc/net/kcp in this module"
	skip "show --json" "no /proc/net/kcp in this module"
	skip "show -l" "no /proc/net/kcp in this module"
	err=$("$K" show 2>&1)
	check "show without /proc/net/kcp: clear error" \
		[ $? -ne 0 -a -n "$(echo "$err" | grep 'not provided by the loaded kcp module')" ]
fi

# ---- the sysctl code, on a directory like /proc/sys/net/kcp ----
fsys=$WORK/fakesys
mkdir -p "$fsys"
for n in mtu nodelay interval resend nc snd_wnd zz_new; do echo 0 > "$fsys/$n"; done
out=$(KCPCTL_SYSCTL=$fsys "$K" get)
check "get (sysctl-like dir): interface order, unknown names last, aligned" \
	[ "$(echo "$out" | awk '{ print $1 }' | tr '\n' ' ')" = "nodelay interval resend nc snd_wnd mtu zz_new " -a \
	  "$(echo "$out" | awk '{ print length($0) }' | sort -u | wc -l)" -eq 1 ]
KCPCTL_SYSCTL=$fsys "$K" set preset=fast2 mtu=1200 > /dev/null
check "set preset=fast2 mtu=1200 (sysctl-like dir) writes nodelay/interval/resend/nc, mtu" \
	[ "$(cat "$fsys"/{nodelay,interval,resend,nc,mtu} | tr '\n' ' ')" = "1 20 2 1 1200 " ]
err=$(KCPCTL_SYSCTL=$fsys "$K" set mtu=1300 nope=1 2>&1)
check "set with one unknown name changes nothing" \
	[ $? -ne 0 -a "$(cat "$fsys/mtu")" = 1200 -a -n "$(echo "$err" | grep "unknown setting 'nope'")" ]
json_check "get --json (sysctl-like dir)" \
	"d == {'mtu': 1200, 'nc': 1}" "$(KCPCTL_SYSCTL=$fsys "$K" get --json mtu nc)"
# every value is checked before any is written: interval=5 is out of range
err=$(KCPCTL_SYSCTL=$fsys "$K" set mtu=1300 interval=5 2>&1)
check "set mtu=1300 interval=5: interval out of range 10..5000, mtu unchanged" \
	[ $? -ne 0 -a "$(cat "$fsys/mtu")" = 1200 -a "$(cat "$fsys/interval")" = 20 -a \
	  -n "$(echo "$err" | grep 'interval=5: out of range 10..5000; nothing changed')" ]
# a write the kernel refuses after others succeeded: those are undone
# (a read-only sysctl stands in for a setting this kcpctl has no range for)
ln -s /proc/sys/kernel/ngroups_max "$fsys/zz_ro"
err=$(KCPCTL_SYSCTL=$fsys "$K" set mtu=1300 nodelay=0 zz_ro=1 2>&1)
check "set mtu=1300 nodelay=0 zz_ro=1: zz_ro refused, mtu and nodelay restored" \
	[ $? -ne 0 -a "$(cat "$fsys/mtu") $(cat "$fsys/nodelay")" = "1200 1" -a \
	  -n "$(echo "$err" | grep 'nothing changed')" ]
rm "$fsys/zz_ro"
# windows: at most wnd_max (given in the same command, or the current one)
echo 32768 > "$fsys/wnd_max"
err=$(KCPCTL_SYSCTL=$fsys "$K" set snd_wnd=40000 2>&1)
check "set snd_wnd=40000 with wnd_max 32768: refused, nothing written" \
	[ $? -ne 0 -a "$(cat "$fsys/snd_wnd")" = 0 -a -n "$(echo "$err" | grep 'above wnd_max (32768)')" ]
KCPCTL_SYSCTL=$fsys "$K" set snd_wnd=40000 wnd_max=40000 > /dev/null
check "set snd_wnd=40000 wnd_max=40000: both written" \
	[ "$(cat "$fsys/snd_wnd") $(cat "$fsys/wnd_max")" = "40000 40000" ]
err=$(KCPCTL_SYSCTL=$fsys "$K" run --wnd 512,50000 -- true 2>&1)
check "run --wnd 512,50000 with wnd_max 40000: refused before starting" \
	[ $? -ne 0 -a -n "$(echo "$err" | grep 'above net.kcp.wnd_max (40000)')" ]

# ---- sysctls (coming in the module) ----
if [ -d /proc/sys/net/kcp ]; then
	out=$("$K" get)
	check "get: lists the defaults (nodelay, interval, mtu)" \
		[ -n "$(echo "$out" | grep -E '^nodelay +-?[0-9]+$')" -a \
		  -n "$(echo "$out" | grep -E '^mtu +[0-9]+$')" ]
	json_check "get --json NAME...: just those, parsed" \
		"sorted(d) == ['interval', 'nodelay']" \
		"$("$K" get --json nodelay interval)"
	saved=$("$K" get nodelay interval resend nc mtu | awk '{ printf "%s=%s ", $1, $2 }')
	"$K" set preset=fast3 > /dev/null
	check "set preset=fast3 -> nodelay 1 interval 10 resend 2 nc 1" \
		[ "$(cat /proc/sys/net/kcp/{nodelay,interval,resend,nc} | tr '\n' ' ')" = "1 10 2 1 " ]
	"$K" set mtu=1350 > /dev/null
	check "set mtu=1350" [ "$(cat /proc/sys/net/kcp/mtu)" = 1350 ]
	err=$("$K" set mtu=20 2>&1)
	check "set mtu=20: kernel rejects it, reported as out of range" \
		[ $? -ne 0 -a -n "$(echo "$err" | grep 'out of range')" ]
	err=$("$K" set bogus=1 2>&1)
	check "set bogus=1: unknown setting" \
		[ $? -ne 0 -a -n "$(echo "$err" | grep "unknown setting 'bogus'")" ]
	"$K" set mtu=1350 interval=33 > /dev/null
	err=$("$K" set mtu=1200 interval=5 2>&1)
	check "set mtu=1200 interval=5: refused, mtu stays 1350 (nothing written)" \
		[ $? -ne 0 -a "$(cat /proc/sys/net/kcp/mtu) $(cat /proc/sys/net/kcp/interval)" = "1350 33" ]
	wsaved=$("$K" get snd_wnd rcv_wnd wnd_max | awk '{ printf "%s=%s ", $1, $2 }')
	"$K" set wnd_max=32768 snd_wnd=32 > /dev/null
	err=$("$K" set mtu=1200 snd_wnd=40000 2>&1)
	check "set snd_wnd=40000 with wnd_max 32768: refused, mtu unchanged" \
		[ $? -ne 0 -a "$(cat /proc/sys/net/kcp/snd_wnd) $(cat /proc/sys/net/kcp/mtu)" = "32 1350" ]
	"$K" set wnd_max=40000 snd_wnd=40000 > /dev/null
	check "set wnd_max=40000 snd_wnd=40000: wnd_max written first" \
		[ "$(cat /proc/sys/net/kcp/snd_wnd) $(cat /proc/sys/net/kcp/wnd_max)" = "40000 40000" ]
	"$K" set snd_wnd=32 wnd_max=32768 > /dev/null
	check "set snd_wnd=32 wnd_max=32768: lowered in the order that works" \
		[ "$(cat /proc/sys/net/kcp/snd_wnd) $(cat /proc/sys/net/kcp/wnd_max)" = "32 32768" ]
	# shellcheck disable=SC2086
	"$K" set $wsaved > /dev/null
	# shellcheck disable=SC2086
	"$K" set $saved > /dev/null
else
	for t in "get lists defaults" "get --json" "set preset=fast3" \
		"set mtu" "set out of range" "set unknown" "set atomic" \
		"set snd_wnd above wnd_max" "set wnd_max first" "set wnd_max last"; do
		skip "$t" "no /proc/sys/net/kcp in this module"
	done
	err=$("$K" get 2>&1)
	check "get without /proc/sys/net/kcp: clear error" \
		[ $? -ne 0 -a -n "$(echo "$err" | grep 'not provided by the loaded kcp module')" ]
fi
kill "$HP" 2>/dev/null

# ---- kcpctl run: argument checks ----
err=$("$K" run --preset turbo -- true 2>&1)
check "run --preset turbo: error" [ $? -ne 0 -a -n "$(echo "$err" | grep 'unknown preset')" ]
err=$("$K" run --ports 0-5 -- true 2>&1)
check "run --ports 0-5: error" [ $? -ne 0 -a -n "$(echo "$err" | grep 'ports')" ]
"$K" run -- /nonexistent/prog 2>/dev/null
check "run of a missing program exits 127" [ $? -eq 127 ]
err=$("$K" run --port-offset 65535 -- true 2>&1)
check "run --port-offset 65535: error" \
	[ $? -ne 0 -a -n "$(echo "$err" | grep 'port-offset')" ]
check "run --port-offset 1000 sets KCPCTL_PORT_OFFSET=1000" \
	[ -n "$("$K" run --port-offset 1000 -- env | grep -x 'KCPCTL_PORT_OFFSET=1000')" ]
check "run sets LD_PRELOAD and the KCPCTL_* contract" \
	[ -n "$("$K" run --ports 5201,6000-6010 --preset fast2 --wnd 64,128 -- env |
		grep -e '^LD_PRELOAD=.*libkcppreload.so' -e '^KCPCTL_PORTS=5201,6000-6010$' \
		     -e '^KCPCTL_PRESET=fast2$' -e '^KCPCTL_WND=64,128$' -c | grep -x 4)" ]

# ---- the shim's promises, checked from inside a TCP program ----
# shim_run LABEL OUT KCPCTL-RUN-OPTION...: the shim's TAP, relayed
shim_run() {
	local label=$1 out=$WORK/$2 rc line
	shift 2
	timeout 60 "$K" run "$@" -- "$SHIM" > "$out" 2>&1
	rc=$?
	while read -r line; do
		case $line in
		"ok "*) ok "$label: ${line#ok * - }" ;;
		"not ok "*) not_ok "$label: ${line#not ok * - }" ;;
		esac
	done < "$out"
	check "kcpctl_shim under kcpctl run $* ran to the end (rc $rc)" \
		[ $rc -eq 0 -a -n "$(grep '^DONE 0 failed' "$out")" ]
	[ $rc -eq 0 ] || grep -v -e '^ok ' -e '^not ok ' "$out" | sed 's/^/#   /' | tail -5
}
shim_run "shim" shim.out --ports 7001-7002 --preset fast3
shim_run "shim, all ports" shim2.out --preset fast3
shim_run "shim, port offset" shim3.out --port-offset 1000 --preset fast3

# ---- iperf3 over AF_KCP ----
# iperf_server OUT PORT KCPCTL-RUN-OPTION...: "iperf3 -s -1 -p PORT" under
# kcpctl run in the background (pid in SP), output in $WORK/OUT; true once
# OUT shows $IPERF_WAIT (default: listening) within 10 s
iperf_server() {
	local out=$1 port=$2
	shift 2
	"$K" run "$@" -- iperf3 -s -1 -p "$port" --forceflush > "$WORK/$out" 2>&1 &
	SP=$!
	PIDS+=("$SP")
	wait_for "$WORK/$out" "${IPERF_WAIT:-Server listening}" 10
}
# shellcheck disable=SC2054
RUNOPT=(--preset fast3 --wnd 512,512)
if ! command -v iperf3 > /dev/null; then
	skip "iperf3 over AF_KCP" "no iperf3"
else
	P=5201
	iperf_server srv.out $P --ports $P "${RUNOPT[@]}"
	check "iperf3 -s under kcpctl run: no TCP listener on $P" no_tcp_on $P
	cp /proc/net/kcp_snmp "$WORK/snmp.before"
	"$K" stats OutPkts InBytes BytesSent > "$WORK/stats.before"
	t1=$(date +%s.%N)
	timeout 60 "$K" run --ports $P "${RUNOPT[@]}" -- \
		iperf3 -c 127.0.0.1 -p $P -n 2M -J > "$WORK/cli.json" 2> "$WORK/cli.err"
	rc=$?
	t2=$(date +%s.%N)
	# what the server got (as it reported it back to the client)
	recvd=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["end"]["sum_received"]["bytes"], max(i["streams"][0].get("snd_cwnd", 0) for i in d["intervals"]))' \
		< "$WORK/cli.json" 2>/dev/null)
	cwnd=${recvd#* } recvd=${recvd%% *}
	check "iperf3 -c -n 2M over AF_KCP completes (rc $rc, $(awk "BEGIN { printf \"%.1f\", $t2 - $t1 }") s, server got ${recvd:-?} bytes)" \
		[ $rc -eq 0 -a "${recvd:-0}" -ge 1048576 ]
	[ $rc -eq 0 ] || cat "$WORK/cli.err" "$WORK/cli.json" | sed 's/^/#   /' | tail -8
	timeout 10 tail --pid=$SP -f /dev/null
	wait $SP
	check "iperf3 -s -1 finished the test and exited 0" [ $? -eq 0 ]
	delta() {
		awk -v n="$1" '$1 == n { print $2 }' "$WORK/snmp.before" |
			{ read -r b; echo $(($(snmp "$1") - b)); }
	}
	# shellcheck disable=SC2046
	diag "kcp_snmp deltas:" $(paste -d' ' "$WORK/snmp.before" /proc/net/kcp_snmp |
		awk '$4 != $2 { printf "%s+%d ", $1, $4 - $2 }')
	# the bytes that arrived came in datagrams of at most 1400 bytes,
	# counted once in this namespace when sent and when received
	recvd=${recvd:-2097152}
	check "kcp_snmp: OutPkts, InPkts >= received/1400, InBytes >= received, BytesSent >= 2 MiB" \
		[ "$(delta OutPkts)" -ge $((recvd / 1400)) -a \
		  "$(delta InPkts)" -ge $((recvd / 1400)) -a \
		  "$(delta InBytes)" -ge "$recvd" -a "$(delta BytesSent)" -ge 2097152 ]
	"$K" stats OutPkts InBytes BytesSent > "$WORK/stats.after"
	"$K" stats | sed 's/^/# sample: /'
	check "kcpctl stats shows OutPkts, InBytes, BytesSent grown by the transfer" \
		[ "$(paste "$WORK/stats.before" "$WORK/stats.after" |
		     awk -v r="$recvd" '$1 == $3 && $4 - $2 >= ($1 == "OutPkts" ? int(r / 1400) : r) { n++ } END { print n }')" = 3 ]
	check "kcp_snmp: 2 KCP connections (control + data) were opened" \
		[ "$(delta ActiveOpens)" -eq 2 -a "$(delta PassiveOpens)" -eq 2 ]
	check "no TCP socket on port $P at any state (no TIME-WAIT either)" no_tcp_on $P
	check "iperf3 got TCP_INFO from the shim (snd_cwnd ${cwnd:-?})" \
		[ "${cwnd:-0}" -gt 0 ]

	# -N, -M and -w: the server sets these on a new listener after
	# closing the first one while the control connection holds the port
	P3=5205
	iperf_server srv3.out $P3 --ports $P3 "${RUNOPT[@]}"
	timeout 60 "$K" run --ports $P3 "${RUNOPT[@]}" -- \
		iperf3 -c 127.0.0.1 -p $P3 -n 1M -N -M 1200 -w 256K -J \
		> "$WORK/cli3.json" 2> "$WORK/cli3.err"
	rc=$?
	recvd=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bytes"])' \
		< "$WORK/cli3.json" 2>/dev/null)
	sent=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_sent"]["bytes"])' \
		< "$WORK/cli3.json" 2>/dev/null)
	# iperf3 -n ends the test (TEST_END, on the control connection)
	# once the client has written n bytes: with -w 256K up to a window
	# of them may still be on their way, and the server counts what it
	# had read by then (1005568 of 1048576 once, on a loaded host)
	check "iperf3 -c -N -M 1200 -w 256K -n 1M over AF_KCP completes (rc $rc, sent ${sent:-?}, server got ${recvd:-?} bytes)" \
		[ $rc -eq 0 -a "${sent:-0}" -ge 1048576 -a \
		  "${recvd:-0}" -ge $((1048576 - 262144)) ]
	[ $rc -eq 0 ] || cat "$WORK/cli3.err" "$WORK/cli3.json" | sed 's/^/#   /' | tail -8
	timeout 10 tail --pid=$SP -f /dev/null
	kill $SP 2>/dev/null

	# --ports leaves other ports to TCP
	P2=5203
	iperf_server srv2.out $P2 --ports $P "${RUNOPT[@]}"
	check "--ports $P: iperf3 -s -p $P2 listens on TCP" \
		[ -n "$(ss -Htln "sport = :$P2")" ]
	err=$("$K" get --pid $SP --fd 3 2>&1)
	check "get --pid --fd on a TCP socket: 'not an AF_KCP socket'" \
		[ $? -ne 0 -a -n "$(echo "$err" | grep 'not an AF_KCP socket')" ]
	b_act=$(snmp ActiveOpens) b_out=$(snmp OutPkts)
	timeout 60 "$K" run --ports $P "${RUNOPT[@]}" -- \
		iperf3 -c 127.0.0.1 -p $P2 -n 1M > "$WORK/cli2.out" 2>&1
	rc=$?
	check "--ports $P: iperf3 -c -p $P2 completes over TCP" \
		[ $rc -eq 0 -a -n "$(grep 'iperf Done' "$WORK/cli2.out")" ]
	check "--ports $P: no KCP traffic for port $P2, TCP sockets seen" \
		[ "$(snmp ActiveOpens)" -eq "$b_act" -a "$(snmp OutPkts)" -eq "$b_out" -a \
		  -n "$(ss -Htan "( sport = :$P2 or dport = :$P2 )")" ]
	wait $SP

	# iperf3 -u: the control connection (AF_KCP) and the UDP test stream
	# use one port number; --port-offset moves the AF_KCP one
	P5=5209
	iperf_server srv5.out $P5 --port-offset 1000 "${RUNOPT[@]}"
	timeout 60 "$K" run --port-offset 1000 "${RUNOPT[@]}" -- \
		iperf3 -u -b 4M -n 512K -c 127.0.0.1 -p $P5 -J \
		> "$WORK/cli5.json" 2> "$WORK/cli5.err"
	rc=$?
	recvd=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum"]["bytes"])' \
		< "$WORK/cli5.json" 2>/dev/null)
	no_tcp_on $P5 || rc="$rc tcp"
	check "iperf3 -u under kcpctl run --port-offset 1000: control over AF_KCP (UDP $((P5 + 1000))), test stream on UDP $P5 (rc $rc, ${recvd:-?} bytes)" \
		[ "$rc" = 0 -a "${recvd:-0}" -ge 524288 ]
	[ "$rc" = 0 ] || cat "$WORK/cli5.err" "$WORK/cli5.json" | sed 's/^/#   /' | tail -8
	wait $SP
	# without it the two collide (diagnostic only: what the offset is for)
	iperf_server srv6.out $P5 "${RUNOPT[@]}"
	timeout 15 "$K" run "${RUNOPT[@]}" -- iperf3 -u -b 4M -n 512K \
		-c 127.0.0.1 -p $P5 > "$WORK/cli6.out" 2>&1
	diag "iperf3 -u without --port-offset: rc $?, $(grep -m1 -i 'error' "$WORK/cli6.out" "$WORK/srv6.out" | head -1)"
	kill $SP 2>/dev/null
	wait $SP 2>/dev/null

	# IPv6 server and client (a dual-stack [::] server is IPv4 by default)
	P3=5205
	iperf_server srv3.out $P3 --dualstack v6 "${RUNOPT[@]}"
	timeout 60 "$K" run "${RUNOPT[@]}" -- iperf3 -c ::1 -p $P3 -n 1M \
		> "$WORK/cli3.out" 2>&1
	rc=$?
	no_tcp_on $P3 || rc=tcp
	check "iperf3 over AF_KCP on ::1 (--dualstack v6) completes" \
		[ "$rc" = 0 -a -n "$(grep 'iperf Done' "$WORK/cli3.out")" ]
	wait $SP

	# encryption and FEC (need KCP_CRYPTO / KCP_FEC in the module)
	P4=5207
	if IPERF_WAIT='Server listening|KCP_CRYPTO|KCP_FEC' iperf_server srv4.out $P4 \
		--ports $P4 --crypt aes-128 --key s3cret --fec 10,3 "${RUNOPT[@]}" &&
	   grep -qE 'setting KCP_(CRYPTO|FEC) failed.*ENOPROTOOPT' "$WORK/srv4.out"; then
		skip "iperf3 over AF_KCP with --crypt aes-128 --fec 10,3" \
			"module lacks $(grep -oE 'KCP_(CRYPTO|FEC)' "$WORK/srv4.out" | head -1)"
		check "run --crypt on a module without KCP_CRYPTO: the program fails with a clear message" \
			[ -n "$(grep -E 'kcppreload.*setting KCP_(CRYPTO|FEC) failed' "$WORK/srv4.out")" ]
	else
		timeout 60 "$K" run --ports $P4 --crypt aes-128 --key s3cret --fec 10,3 \
			"${RUNOPT[@]}" -- iperf3 -c 127.0.0.1 -p $P4 -n 1M > "$WORK/cli4.out" 2>&1
		rc=$?
		check "iperf3 over AF_KCP with --crypt aes-128 --fec 10,3" \
			[ $rc -eq 0 -a -n "$(grep 'iperf Done' "$WORK/cli4.out")" ]
		[ $rc -eq 0 ] || sed 's/^/#   /' "$WORK/cli4.out" | tail -5
	fi
	kill $SP 2>/dev/null
	wait $SP 2>/dev/null
fi

# ---- curl against python's http.server ----
if command -v curl > /dev/null && command -v python3 > /dev/null; then
	P=8000
	mkdir -p "$WORK/www"
	head -c 300000 /dev/urandom > "$WORK/www/blob"
	"$K" run "${RUNOPT[@]}" -- python3 -u -m http.server $P --bind 127.0.0.1 \
		--directory "$WORK/www" > "$WORK/py.out" 2>&1 &
	SP=$!
	PIDS+=("$SP")
	wait_for "$WORK/py.out" 'Serving HTTP' 20
	timeout 60 "$K" run "${RUNOPT[@]}" -- curl -sS -o "$WORK/got" \
		http://127.0.0.1:$P/blob 2> "$WORK/curl.err"
	rc=$?
	cmp -s "$WORK/got" "$WORK/www/blob" || rc="$rc differs"
	no_tcp_on $P || rc="$rc tcp"
	check "curl <- python3 -m http.server over AF_KCP: 300 kB byte-exact" \
		[ "$rc" = 0 ]
	[ "$rc" = 0 ] || sed 's/^/#   /' "$WORK/curl.err"
	kill $SP
	wait $SP 2>/dev/null
else
	skip "curl <- python3 http.server over AF_KCP" "no curl or python3"
fi

# ---- socat: no EOF over AF_KCP, its inactivity timeout ends it ----
if command -v socat > /dev/null; then
	P=6002
	timeout 20 "$K" run "${RUNOPT[@]}" -- socat -u -T 2 TCP-LISTEN:$P,bind=127.0.0.1 \
		CREATE:"$WORK/socat.out" &
	SP=$!
	PIDS+=("$SP")
	wait_udp_port $P
	timeout 20 "$K" run "${RUNOPT[@]}" -- socat -u OPEN:"$WORK/www/blob" \
		TCP:127.0.0.1:$P
	rc=$?
	wait $SP
	rc="$rc/$?"
	cmp -s "$WORK/socat.out" "$WORK/www/blob" || rc="$rc differs"
	check "socat -u -T 2 file transfer over AF_KCP ends by its timeout ($rc)" \
		[ "$rc" = 0/0 ]
else
	skip "socat file transfer over AF_KCP" "no socat"
fi

# py_peer OUT ROLE PORT KCPCTL-RUN-OPTION...: a small TCP program under
# "kcpctl run", in the background, its output in $WORK/OUT. Roles: server
# (accept, read once: READY), drain (accept, read to the end: READY),
# hello (connect, send 5 bytes: PORT <own port>), feed (connect, 40
# writes of 100 bytes 20 ms apart: SENT <own port>); then it stays 30 s
# (times SLOW).
py_peer() {
	local out=$1 role=$2 port=$3
	shift 3
	"$K" run "$@" -- python3 -c "import select, socket, sys, time
role, port, slow = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket()
if role in ('server', 'drain'):
    s.bind(('127.0.0.1', port)); s.listen(4); print('READY', flush=True)
    c, _ = s.accept()
    while c.recv(4096) and role == 'drain':
        pass
elif role == 'hello':
    # connect() waits for the peer's answer, which a wrong key never
    # gets: report the port while it waits
    s.setblocking(False); s.connect_ex(('127.0.0.1', port))
    print('PORT', s.getsockname()[1], flush=True)
    if select.select([], [s], [], 10 * slow)[1]:
        s.setblocking(True); s.send(b'hello')
else:
    s.connect(('127.0.0.1', port))
    for i in range(40):
        s.send(b'x' * 100); time.sleep(0.02)
    print('SENT', s.getsockname()[1], flush=True)
time.sleep(30 * slow)" "$role" "$port" "$SLOW" > "$WORK/$out" 2>&1 &
	PIDS+=($!)
}

# ---- kcpctl show: a wrong key on either side ----
# a server and a client with the key 'right', a client with 'wrong': the
# server drops the wrong one's datagrams (no session, no reply), and
# datagrams forged from the right client's port fail decryption on the
# server's session (a raw socket, as a peer with another key would send)
if command -v python3 > /dev/null; then
	P=6006
	py_peer ksrv.out server $P --ports $P --preset fast3 --crypt aes --key right
	wait_for "$WORK/ksrv.out" READY $((10 * SLOW))
	py_peer kgood.out hello $P --ports $P --preset fast3 --crypt aes --key right
	py_peer kbad.out hello $P --ports $P --preset fast3 --crypt aes --key wrong
	wait_for "$WORK/kgood.out" PORT $((10 * SLOW))
	wait_for "$WORK/kbad.out" PORT $((10 * SLOW))
	good=$(awk '/^PORT/ { print $2 }' "$WORK/kgood.out")
	bad=$(awk '/^PORT/ { print $2 }' "$WORK/kbad.out")
	python3 -c "import os, socket, struct, sys
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
for _ in range(5):
    p = os.urandom(64)
    r.sendto(struct.pack('!HHHH', int(sys.argv[1]), $P, 8 + len(p), 0) + p, ('127.0.0.1', 0))" "$good"
	sleep $((2 * SLOW))
	out=$("$K" show)
	printf '%s\n' "$out" | grep -A2 -E ":($P|$good|$bad) " | sed 's/^/# sample: /'
	json_check "show: the server's session with the right client has crypto_errors 5 and says why; the right client is not flagged" \
		"[(s['crypto_errors'], 'failed decryption' in s.get('warning', '')) for s in d if s['local_port'] == $P and s['peer_port'] == ${good:-0}] == [(5, True)] and [s.get('warning') for s in d if s['local_port'] == ${good:-0}] == [None]" \
		"$("$K" show --json)"
	json_check "show: the client with the wrong key: no reply from the peer" \
		"['no reply from the peer' in s.get('warning', '') for s in d if s['local_port'] == ${bad:-0}] == [True]" \
		"$("$K" show --json)"
	check "show (text): both flagged with '!' lines" \
		[ "$(echo "$out" | grep -c '^	 ! ')" -ge 2 ]
	kill "${PIDS[@]:(-3)}" 2>/dev/null
else
	skip "show: crypto errors flagged" "no python3"
	skip "show: no reply flagged" "no python3"
	skip "show: text flags" "no python3"
fi

# ---- kcpctl show: FEC shard counts that differ on the two ends ----
# a 10/3 server and a 2/1 client: each side's decoder sees the other's
# parity shards at positions its own counts reserve for data
if command -v python3 > /dev/null; then
	P=6008
	py_peer fsrv.out drain $P --ports $P --preset fast3 --fec 10,3
	wait_for "$WORK/fsrv.out" READY $((10 * SLOW))
	py_peer fcli.out feed $P --ports $P --preset fast3 --fec 2,1
	wait_for "$WORK/fcli.out" SENT $((20 * SLOW))
	cport=$(awk '/^SENT/ { print $2 }' "$WORK/fcli.out")
	"$K" show | grep -A2 -E ":($P|${cport:-0}) " | sed 's/^/# sample: /'
	json_check "show: FEC 10/3 against 2/1: the server's session has fec_state 3 (contradicted) and says why" \
		"[(s.get('fec_state'), 'FEC shards contradict' in s.get('warning', '')) for s in d if s['local_port'] == $P and s['peer_port'] == ${cport:-0}] == [(3, True)]" \
		"$("$K" show --json)"
	kill "${PIDS[@]:(-2)}" 2>/dev/null
else
	skip "show: FEC shard counts that differ flagged" "no python3"
fi

# ---- ncat: --send-only quits at the end of its input, -i ends the receiver ----
if command -v ncat > /dev/null; then
	P=6004
	timeout 20 "$K" run "${RUNOPT[@]}" -- ncat -l --recv-only -i 2s 127.0.0.1 $P \
		> "$WORK/ncat.out" 2> "$WORK/ncat.err" &
	SP=$!
	PIDS+=("$SP")
	wait_udp_port $P
	timeout 20 "$K" run "${RUNOPT[@]}" -- ncat --send-only 127.0.0.1 $P \
		< "$WORK/www/blob" 2>> "$WORK/ncat.err"
	rc=$?
	wait $SP
	rc="$rc/$?"
	cmp -s "$WORK/ncat.out" "$WORK/www/blob" || rc="$rc differs"
	# the receiver ends by its idle timeout (exit 1), not timeout(1)'s 124
	check "ncat --send-only -> ncat -l --recv-only -i 2s over AF_KCP: file intact, sender exits 0, receiver by its idle timeout ($rc)" \
		[ "${rc%%/*}" = 0 -a "${rc#*/}" != 124 -a "${rc% differs}" = "$rc" ]
	[ "${rc#*/}" = 0 ] || sed 's/^/#   /' "$WORK/ncat.err" | tail -4
else
	skip "ncat file transfer over AF_KCP" "no ncat"
fi

json_flush
diag "kcpctl_test: $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $T0 }") s"
tap_end
