#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# FEC and packet encryption, interoperating with the real kcp-go:
#  - FEC 10/3 and 3/2 at 10 % and 20 % loss, both directions, byte-exact,
#    with data shards rebuilt (FECRecovered > 0: FEC did work, not ARQ);
#  - kernel <-> kernel FEC under loss; a FEC-off receiver taking a FEC-on
#    sender; mismatched shard counts: byte-exact, nothing rebuilt;
#  - every kcptun cipher both ways, also with FEC 10/3 and loss; a wrong
#    key delivers nothing and is counted as InCsumErrors.
# Usage: fec_crypto.sh [quick]

. "$(dirname "$0")/lib.sh"

trap 'stop_server; ns_cleanup; rm -rf "$WORK"' EXIT
ns_setup
quick=${1:-}

snmp_a() { in_a awk -v k="$1" '$1 == k { print $2 }' /proc/net/kcp_snmp; }
snmp_b() { in_b awk -v k="$1" '$1 == k { print $2 }' /proc/net/kcp_snmp; }

FAST_K="-preset fast3 -wnd 512,512"
FAST_G="-preset fast3 -sndwnd 512 -rcvwnd 512 -stream"

# go_server_kernel_client NAME NETEM BYTES KFLAGS GFLAGS -> checks both
# directions: kcp-go server + kernel client, then kernel server + kcp-go
# client. Sets REC_K (kernel FECRecovered delta) and REC_G (kcp-go's).
interop() {
	local name=$1 netem=$2 bytes=$3 kf=$4 gf=$5 r0 out

	netem_set "$netem" || { not_ok "$name: netem"; return; }
	r0=$(snmp_b FECRecovered)
	# shellcheck disable=SC2086
	if start_server go in_a "$KCPPEER" -mode server -addr "$ADDR_A:0" \
		-role echo -idle 20 -timeout 300 $gf &&
	   run_client k in_b "$KCPT" client -a "$ADDR_A:$SERVER_PORT" \
		-bytes "$bytes" -timeout 150 $kf; then
		stop_server
		out=$(cat "$WORK/go.out")
		REC_G=$(result_field "$out" FECRecovered)
		REC_K=$(($(snmp_b FECRecovered) - r0))
		ok "kernel client -> kcp-go, $name (kernel rebuilt $REC_K, kcp-go $REC_G)"
	else
		stop_server
		not_ok "kernel client -> kcp-go, $name"
	fi
	r0=$(snmp_a FECRecovered)
	# shellcheck disable=SC2086
	if start_server k in_a "$KCPT" server -a "$ADDR_A:0" -sessions 1 \
		-bytes "$bytes" -timeout 200 $kf &&
	   run_client go in_b "$KCPPEER" -mode client \
		-addr "$ADDR_A:$SERVER_PORT" -bytes "$bytes" -timeout 150 $gf &&
	   wait "$SERVER_PID" && grep -q '^RESULT ok=1' "$WORK/k.out"; then
		SERVER_PID=
		REC_G2=$(result_field "$LAST_OUT" FECRecovered)
		REC_K2=$(($(snmp_a FECRecovered) - r0))
		ok "kcp-go client -> kernel, $name (kernel rebuilt $REC_K2, kcp-go $REC_G2)"
	else
		SERVER_PID=
		not_ok "kcp-go client -> kernel, $name"
	fi
	stop_server
}

rebuilt() {
	if [ "${REC_K:-0}" -gt 0 ] && [ "${REC_K2:-0}" -gt 0 ]; then
		ok "$1: the kernel rebuilt lost data shards in both runs"
	else
		not_ok "$1: kernel FECRecovered $REC_K / $REC_K2"
	fi
}

for fec in 10,3 3,2; do
	for loss in 10 20; do
		[ -n "$quick" ] && [ "$fec$loss" != "10,310" ] && continue
		name="FEC $fec, ${loss}% loss"
		interop "$name" "delay 5ms loss ${loss}%" $((512 << 10)) \
			"$FAST_K -fec $fec" \
			"$FAST_G -ds ${fec%,*} -ps ${fec#*,}"
		rebuilt "$name"
	done
done

# kernel <-> kernel
k2k() {
	local name=$1 netem=$2 sflags=$3 cflags=$4
	netem_set "$netem"
	# shellcheck disable=SC2086
	if start_server kk in_a "$KCPT" server -a "$ADDR_A:0" -sessions 1 \
		-bytes $((1 << 20)) -timeout 200 $FAST_K $sflags &&
	   run_client kk in_b "$KCPT" client -a "$ADDR_A:$SERVER_PORT" \
		-bytes $((1 << 20)) -timeout 150 $FAST_K $cflags &&
	   wait "$SERVER_PID" && grep -q '^RESULT ok=1' "$WORK/kk.out"; then
		ok "kernel <-> kernel, $name: 1 MiB each way byte-exact"
	else
		not_ok "kernel <-> kernel, $name"
	fi
	SERVER_PID=
	stop_server
}
ra=$(snmp_a FECRecovered)
k2k "FEC 10/3 both, 10% loss" "delay 5ms loss 10%" "-fec 10,3" "-fec 10,3"
[ $(($(snmp_a FECRecovered) - ra)) -gt 0 ] &&
	ok "kernel <-> kernel FEC rebuilt shards" || not_ok "no FEC recovery kernel <-> kernel"
k2k "client FEC 10/3, server FEC off, 5% loss" "delay 5ms loss 5%" "" "-fec 10,3"
ra=$(snmp_a FECRecovered)
rb=$(snmp_b FECRecovered)
k2k "mismatch: server 10/3, client 3/2, 10% loss" "delay 5ms loss 10%" \
	"-fec 10,3" "-fec 3,2"
d=$(($(snmp_a FECRecovered) - ra + $(snmp_b FECRecovered) - rb))
[ "$d" -eq 0 ] && ok "mismatched shard counts: nothing rebuilt (no guessing)" ||
	not_ok "mismatched shard counts rebuilt $d shards"

# kcp-go with FEC and a FEC-off kernel receiver
netem_set "delay 5ms loss 5%"
if start_server koff in_a "$KCPT" server -a "$ADDR_A:0" -sessions 1 \
	-bytes $((256 << 10)) -timeout 200 $FAST_K &&
   run_client goff in_b "$KCPPEER" -mode client -addr "$ADDR_A:$SERVER_PORT" \
	-bytes $((256 << 10)) -timeout 150 $FAST_G -ds 10 -ps 3; then
	ok "kcp-go client with FEC 10/3 -> kernel server with FEC off"
else
	not_ok "kcp-go FEC 10/3 -> kernel FEC off"
fi
SERVER_PID=
stop_server

# ciphers
CIPHERS="aes aes-128 aes-192 salsa20 blowfish twofish cast5 3des tea xtea sm4 xor none"
[ -n "$quick" ] && CIPHERS="aes salsa20 tea xor none"
netem_set ""
for c in $CIPHERS; do
	interop "cipher $c" "" $((64 << 10)) "-crypt $c $FAST_K" "-crypt $c $FAST_G"
done

# The same with the drivers a real machine autoloads (the guest has no
# udev): the kernel's multi-block CBC/ECB (AES-NI, the AVX and assembler
# drivers) then carry the CFB, and kcp-go must still read every byte.
ACCEL="aes-128 aes-192 blowfish twofish cast5 3des"
[ -n "$quick" ] && ACCEL="3des"
for m in aesni_intel des3_ede_x86_64 blowfish_x86_64 twofish_avx_x86_64 \
	cast5_avx_x86_64; do
	modprobe -q "$m" 2>/dev/null
done
for c in aes $ACCEL; do
	interop "cipher $c, accelerated drivers loaded" "" $((64 << 10)) \
		"-crypt $c $FAST_K" "-crypt $c $FAST_G"
done
if grep -q '^driver *: __cbc-aes-aesni' /proc/crypto; then
	drv=$(dmesg | sed -n 's/.*kcp: aes CFB through //p' | tail -1)
	if [ "$drv" = __cbc-aes-aesni ]; then
		ok "aes CFB runs through the AES-NI multi-block driver"
	else
		not_ok "aes CFB through '${drv:-the single-block route}', not __cbc-aes-aesni"
	fi
else
	skip "aes CFB through AES-NI" "no aesni_intel here"
fi

interop "aes + FEC 10/3, 10% loss" "delay 5ms loss 10%" $((256 << 10)) \
	"-crypt aes -fec 10,3 $FAST_K" "-crypt aes $FAST_G -ds 10 -ps 3"
rebuilt "aes + FEC 10/3"

# a wrong key delivers nothing, counted as checksum errors
netem_set ""
c0=$(snmp_a InCsumErrors)
start_server wk in_a "$KCPT" server -a "$ADDR_A:0" -sessions 1 \
	-timeout $((4 * SLOW)) -crypt aes -key right $FAST_K
in_b "$KCPT" client -a "$ADDR_A:$SERVER_PORT" -crypt aes -key wrong \
	-bytes 65536 -timeout $((3 * SLOW)) $FAST_K > "$WORK/wk.out" 2>&1
wait "$SERVER_PID"
SERVER_PID=
d=$(($(snmp_a InCsumErrors) - c0))
if ! grep -q '^RESULT ok=1' "$WORK/wk.out" && [ "$d" -gt 0 ] &&
   [ "$(in_a awk '$1 == "PassiveOpens" { print $2 }' /proc/net/kcp_snmp)" -ge 0 ]; then
	ok "wrong key: nothing delivered, $d datagrams counted as InCsumErrors"
else
	not_ok "wrong key: csum errors $d"
fi
tap_end
