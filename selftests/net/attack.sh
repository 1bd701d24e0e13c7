#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hardening: a packet attack during a legitimate transfer. An aes-keyed
# fast3 session (attack client in b -> attack server in a,
# echo, 40 ms of netem delay on a's side) streams data until the flood
# is over, then checks that every byte came back intact (byte compare
# with the test stream). Meanwhile attack sends a
# bounded flood from namespace b at the aes listener and at a plain
# listener that never accepts: truncated, oversized, random, wrong-key,
# replayed (captured from the live session; from thousands of spoofed
# source ports and from the session's own address), valid first
# datagrams from thousands of spoofed ports, malformed KCP (bad cmd,
# len, una, mixed conv) and FEC. Checks: the transfer is byte-exact; the
# sessions the flood made stay within net.kcp.max_listener_sessions /
# max_sessions and peak kernel memory within what those limits allow;
# every dropped datagram is counted in /proc/net/kcp_snmp; all sockets
# are freed afterwards; the kernel log stays clean (run-vm.sh checks it).
# Usage: attack.sh [quick] [N [PPS]]

. "$(dirname "$0")/lib.sh"

FLOOD=${ATTACK:-$TOP/build/net/attack}
quick=
[ "${1:-}" = quick ] && { quick=1; shift; }
N=${1:-$([ -n "$quick" ] && echo 30000 || echo 120000)}
PPS=${2:-15000}
# the flood stops after this many seconds; a debug kernel (KASAN under
# TCG) sends a fifth of the datagrams in the same time: debug.sh raises it
SECS=${ATTACK_SECS:-100}
MIN=$((2 << 20))		# the legitimate session sends at least this
BACKLOG=64
LSESS=48			# net.kcp.max_listener_sessions
MAXSESS=80			# net.kcp.max_sessions
SAMPLER_PID=
LEGIT_PID=
HOLD_PID=
AES_PID=
trap 'kill $SAMPLER_PID $LEGIT_PID $HOLD_PID $AES_PID 2>/dev/null; ns_cleanup; rm -rf "$WORK"' EXIT
t0=$(date +%s)
ns_setup

# "NAME VALUE" counters of namespace a: kcp_snmp, Udp, Ip, softnet drops
counters() {
	local line i drops=0 d hdr vals ihdr ivals
	in_a cat /proc/net/kcp_snmp
	# shellcheck disable=SC2206
	while read -r line; do
		case $line in
		Udp:*[a-zA-Z]*) hdr=($line) ;;
		Udp:*) vals=($line) ;;
		Ip:*[a-zA-Z]*) ihdr=($line) ;;
		Ip:*) ivals=($line) ;;
		esac
	done <<< "$(in_a cat /proc/net/snmp)"
	for ((i = 1; i < ${#hdr[@]}; i++)); do echo "Udp${hdr[$i]} ${vals[$i]}"; done
	for ((i = 1; i < ${#ihdr[@]}; i++)); do echo "Ip${ihdr[$i]} ${ivals[$i]}"; done
	while read -r _ d _; do drops=$((drops + 16#$d)); done < /proc/net/softnet_stat
	echo "SoftnetDropped $drops"
}
declare -A C0 C1
load() {
	local -n arr=$1
	local k v
	# shellcheck disable=SC2034
	while read -r k v; do arr[$k]=$v; done <<< "$(counters)"
}
d() { echo $((${C1[$1]:-0} - ${C0[$1]:-0})); }
refcnt() { cat /sys/module/kcp/refcnt 2>/dev/null || echo 0; }

in_a sysctl -qw net.kcp.max_listener_sessions=$LSESS net.kcp.max_sessions=$MAXSESS ||
	not_ok "net.kcp limits not set"
ref0=$(refcnt)

# memory, sampled every 100 ms (Sessions: namespace a's)
$NSX_A "$FLOOD" sample > "$WORK/sample.out" 2>&1 &
SAMPLER_PID=$!
for _ in $(seq 1 100); do
	grep -q SAMPLING "$WORK/sample.out" 2>/dev/null && break
	sleep 0.05
done

# a listener that never accepts (plain), and the legitimate server (aes)
start_server hold in_a "$KCPT" server -a "$ADDR_A:0" -role hold \
	-backlog $BACKLOG -timeout $((SECS + 150)) || exit 1
HOLD_PID=$SERVER_PID HOLD_PORT=$SERVER_PORT
start_server aes in_a "$FLOOD" server -a "$ADDR_A:0" -backlog $BACKLOG || exit 1
AES_PID=$SERVER_PID AES_PORT=$SERVER_PORT
SERVER_PID=
# give replays something to be out of date against
in_a tc qdisc add dev veth-a root netem delay 40ms limit 100000 ||
	diag "no netem"

load C0
tl=$(date +%s.%N)
$NSX_B "$FLOOD" client -a "$ADDR_A:$AES_PORT" -stop "$WORK/flood.done" \
	-min $MIN -timeout $((SECS + 100)) > "$WORK/legit.out" 2>&1 &
LEGIT_PID=$!
sleep 0.5
tf=$(date +%s.%N)
$NSX_B "$FLOOD" flood -src $ADDR_B -aes "$ADDR_A:$AES_PORT" \
	-plain "$ADDR_A:$HOLD_PORT" -dev veth-b -n "$N" -pps "$PPS" \
	-secs "$SECS" -insession 1000 > "$WORK/flood.out" 2>&1
frc=$?
tfe=$(date +%s.%N)
touch "$WORK/flood.done"
sed 's/^/# /' "$WORK/flood.out"
[ $frc -eq 0 ] || not_ok "attack failed (exit $frc)"
wait $LEGIT_PID
lrc=$?
LEGIT_PID=
tle=$(date +%s.%N)
sleep 0.5
load C1

flood_s=$(echo "$tfe - $tf" | bc)
legit_s=$(echo "$tle - $tl" | bc)
legit=$(grep '^LEGIT' "$WORK/legit.out")
diag "legit: $legit"
sent_b=$(kv "$legit" sent 0)
if [ $lrc -eq 0 ] && [ "$(kv "$legit" ok 0)" = 1 ]; then
	ok "legitimate aes session: $sent_b bytes echoed intact through the flood (byte compare) in $legit_s s; flood $flood_s s"
else
	not_ok "legitimate aes session (exit $lrc): ${legit:-no result}"
	sed 's/^/#   /' "$WORK/legit.out" "$WORK/aes.out" | tail -n 8
fi
# the writer only stops once the flood is over (or on an error)
ws=$(kv "$legit" write_secs 0)
[ "$(echo "$ws + 0.5 >= $flood_s" | bc)" = 1 ] &&
	ok "the session was sending during the whole flood (writes for $ws s, flood $flood_s s)" ||
	not_ok "the session stopped sending after $ws s, before the flood ended ($flood_s s)"

# ---- what was sent, what was counted ----
sent() { awk -v k="$1" -v t="$2" '$1 == "SENT" && $2 == k && (t == "" || $3 == t) { s += $NF } END { print s + 0 }' "$WORK/flood.out"; }
total=$(sent total)
insess=$(sent replay_insession)
trunc=$(sent truncated)
over=$(sent oversize)
rnd_aes=$(sent random aes)
rnd_plain=$(sent random plain)
wrongkey=$(sent wrongkey)
replay=$(sent replay_spoofed)
first=$(sent first)
baduna=$(sent baduna)
malformed=$(($(sent badcmd) + $(sent badlen) + $(sent mixedconv)))
fecp=$(sent fec_parity)
fecbad=$(sent fec_bad)
spoofed=$(awk '$1 == "SPOOFED" { print $2 }' "$WORK/flood.out")
want_total=$([ -n "$quick" ] && echo 25000 || echo 100000)
[ "${total:-0}" -ge "$want_total" ] && ok "flood: $total datagrams in $flood_s s, $spoofed from spoofed source ports" ||
	not_ok "flood: only ${total:-0} datagrams sent (want $want_total)"
[ "$first" -ge $((total / 20)) ] && [ "$replay" -ge $((total / 20)) ] &&
	[ "$wrongkey" -ge $((total / 20)) ] && [ "$insess" -ge 100 ] &&
	ok "flood kinds: $first first datagrams and $replay replays from distinct ports, $wrongkey wrong-key, $insess replays from the session's own address" ||
	not_ok "flood kinds: first $first, replays $replay, wrong-key $wrongkey, in-session $insess"

all=
for k in $(printf '%s\n' "${!C1[@]}" | sort); do
	[ "$(d "$k")" != 0 ] && all="$all $k=$(d "$k")"
done
diag "namespace a counter deltas:$all"
created=$(($(d PassiveOpens) - 1))
lost=$(($(d SoftnetDropped) + $(d UdpInErrors) + $(d UdpRcvbufErrors) + $(d IpReasmFails)))
diag "before KCP: UDP InDatagrams $(d UdpInDatagrams), NoPorts $(d UdpNoPorts), lost before KCP $lost (softnet $(d SoftnetDropped), UDP InErrors $(d UdpInErrors), reassembly failures $(d IpReasmFails))"
[ "$(d UdpNoPorts)" -le $((total / 100)) ] &&
	ok "the flood met open ports: UDP NoPorts +$(d UdpNoPorts)" ||
	not_ok "UDP NoPorts +$(d UdpNoPorts): a listener went away during the flood"

# per kind: counter >= 90 % of what was sent
share() {	# NAME COUNTED SENT
	local name=$1 c=$2 s=$3
	if [ $((c * 10)) -ge $((s * 9)) ]; then
		ok "$name: $c counted for $s sent"
	else
		not_ok "$name: $c counted for $s sent (< 90 %)"
	fi
}
share "InOversize (datagrams > 1500 bytes)" "$(d InOversize)" "$over"
share "InTruncated (shorter than the crypto/KCP header)" "$(d InTruncated)" "$trunc"
share "InCsumErrors (wrong key, random bytes to the aes port)" "$(d InCsumErrors)" $((wrongkey + rnd_aes))
share "KCPInErrors (bad cmd/len, mixed conv, random bytes to the plain port)" "$(d KCPInErrors)" $((malformed + rnd_plain))
share "InNoSession + short FEC shards (FEC parity/short data shards from nobody)" "$(($(d InNoSession) + $(d InTruncated) - trunc))" $((fecp + fecbad))
share "SessionLimit/AcceptOverflow/SessionRateLimit (new peers beyond the limits; $created sessions made)" \
	"$(($(d AcceptOverflow) + $(d SessionLimit) + $(d SessionRateLimit)))" $((first + baduna + replay - created))
# (BacklogDrop is left out: it counts the legitimate session's datagrams
# too, dropped while its owner held the socket; KCP resends those)
diag "BacklogDrop +$(d BacklogDrop) (datagrams of busy sessions, legit included)"
counted=0
for k in InTruncated InOversize InCsumErrors KCPInErrors InNoSession AcceptOverflow \
	SessionLimit SessionRateLimit TimeWaitDrop FECMalformed NoMem; do
	counted=$((counted + $(d $k)))
done
expect=$((total - insess - created - lost))
share "all drops counted (non-legit $((total - insess)), minus $created sessions made and $lost lost before KCP)" \
	"$counted" "$expect"
[ "$counted" -le $((total - insess)) ] &&
	ok "no datagram counted twice ($counted drops <= $((total - insess)) hostile datagrams)" ||
	not_ok "$counted drops counted for $((total - insess)) hostile datagrams"

# ---- limits and memory ----
# established sessions per listener port, while they still exist
per_port() {
	in_a awk -v p="$(printf '%04X' "$1")" \
		'NR > 1 && $4 == "01" && substr($2, 10) == p { n++ } END { print n + 0 }' /proc/net/kcp
}
n_hold=$(per_port "$HOLD_PORT")
n_aes=$(per_port "$AES_PORT")
[ "$n_hold" -le $LSESS ] && [ "$n_aes" -le $LSESS ] && [ "$(d SessionLimit)" -gt 0 ] &&
	ok "net.kcp.max_listener_sessions $LSESS: sessions on the plain listener $n_hold, on the aes one $n_aes (legit included); SessionLimit +$(d SessionLimit)" ||
	not_ok "net.kcp.max_listener_sessions $LSESS: plain listener $n_hold sessions, aes $n_aes, SessionLimit +$(d SessionLimit)"
kill "$HOLD_PID" "$AES_PID" 2>/dev/null
wait "$HOLD_PID" "$AES_PID" 2>/dev/null
HOLD_PID=''
AES_PID=''
for _ in $(seq 1 60); do
	[ "$(in_a awk '$1 == "Sessions" { print $2 }' /proc/net/kcp_snmp)" = 0 ] &&
		[ "$(refcnt)" -le "$ref0" ] && break
	sleep 0.25
done
kill "$SAMPLER_PID"
wait "$SAMPLER_PID"
SAMPLER_PID=
base=$(grep '^BASE' "$WORK/sample.out")
peak=$(grep '^PEAK' "$WORK/sample.out")
last=$(grep '^LAST' "$WORK/sample.out")
samples=$(awk '$1 == "SAMPLES" { print $2 }' "$WORK/sample.out")
psess=$(kv "$peak" sessions 0)
[ "$psess" -le "$MAXSESS" ] && [ "$psess" -ge $((MAXSESS / 2)) ] &&
	ok "net.kcp.max_sessions $MAXSESS: peak $psess sessions in the namespace ($created made by the flood, $(d SessionReplaced) of them replacing an earlier one from the same port)" ||
	not_ok "net.kcp.max_sessions $MAXSESS: peak $psess sessions in the namespace ($created made by the flood)"
obj_b=$(kv "$peak" kcp_objsize 0)
slab_d=$(($(kv "$peak" slab_kb 0) - $(kv "$base" slab_kb 0)))
kmalloc_d=$(($(kv "$peak" kmalloc_kb 0) - $(kv "$base" kmalloc_kb 0)))
skb_d=$(($(kv "$peak" skbuff_kb 0) - $(kv "$base" skbuff_kb 0)))
avail_d=$(($(kv "$base" mem_available_kb 0) - $(kv "$peak" mem_available_kb 0)))
# What the limits allow: max_sessions sessions plus our own few, each
# its socket and a full receive window (32 segments of <= 2 KiB) and
# send window (32) of segments, 8 KiB of ACK list; the per-CPU input
# backlogs (netdev_max_backlog skbs of <= 4.5 KiB each); IP fragment
# reassembly (ipfrag_high_thresh); 8 MiB for everything else.
nsess=$((MAXSESS + 4))
ncpu=$(nproc)
backlog=$(cat /proc/sys/net/core/netdev_max_backlog)
frag_kb=$(($(in_a cat /proc/sys/net/ipv4/ipfrag_high_thresh) / 1024))
persess=$((obj_b / 1024 + 1 + 64 * 2 + 8))
limit=$((nsess * persess + ncpu * backlog * 9 / 2 + frag_kb + 8192))
diag "peak over $samples samples: Slab +$slab_d kB (kmalloc-* +$kmalloc_d kB, skbuff +$skb_d kB), AF_KCP sessions in a $psess, MemAvailable -$avail_d kB"
diag "limit: $nsess sessions x $persess kB (socket $obj_b B + 64 x 2 KiB windows + 8 KiB ACKs) + $ncpu x $backlog input skbs x 4.5 kB + reassembly $frag_kb kB + 8192 kB = $limit kB"
diag "base: ${base#BASE }"
diag "peak: ${peak#PEAK }"
diag "last: ${last#LAST }"
[ "${samples:-0}" -ge 10 ] && [ "$slab_d" -le "$limit" ] &&
	ok "peak Slab growth $slab_d kB within what the limits allow ($limit kB)" ||
	not_ok "peak Slab growth $slab_d kB over the limits' $limit kB (${samples:-0} samples)"
[ "$avail_d" -le $((limit + 65536)) ] &&
	ok "peak MemAvailable drop $avail_d kB (kernel limit $limit kB + 64 MiB for the programs)" ||
	not_ok "MemAvailable dropped $avail_d kB"
sess_left=$(in_a awk '$1 == "Sessions" { print $2 }' /proc/net/kcp_snmp)
lines=$(in_a tail -n +2 /proc/net/kcp | wc -l)
ref1=$(refcnt)
# (<=: a socket of an earlier suite may have been waiting for its last
# datagram to leave a queue when ref0 was read)
[ "$sess_left" = 0 ] && [ "$lines" = 0 ] && [ "$ref1" -le "$ref0" ] &&
	ok "every session freed afterwards (Sessions 0, /proc/net/kcp empty, module refcnt $ref1, was $ref0)" ||
	not_ok "after everything closed: Sessions $sess_left, $lines lines in /proc/net/kcp, module refcnt $ref1 (was $ref0)"

diag "attack.sh took $(($(date +%s) - t0)) s"
tap_end
