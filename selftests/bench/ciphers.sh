#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Per-cipher goodput relative to no crypto, in one guest (run by
# run-vm.sh): one bulk AF_KCP transfer per kcptun cipher over a clean
# veth, fast3, same size each. Prints a markdown table.
#   ciphers.sh [MIB]

. "$(dirname "$0")/../net/lib.sh"
trap 'stop_server; ns_cleanup; rm -rf "$WORK"' EXIT
ns_setup
mib=${1:-8}
base=
echo "| cipher | Mbit/s | vs no crypto (off) |"
echo "|---|---:|---:|"
for c in ${CIPHERS:-off none aes aes-128 aes-192 salsa20 blowfish twofish cast5 3des tea \
	xtea xor sm4}; do
	crypt=()
	[ "$c" != off ] && crypt=(-crypt "$c")
	start_server s in_a "$KCPT" server -a "$ADDR_A:0" -role sink \
		-preset fast3 -wnd 1024,1024 "${crypt[@]}" -bytes $((mib << 20)) \
		-timeout 60 || exit 1
	r=$(in_b "$KCPT" client -a "$ADDR_A:$SERVER_PORT" -role send \
		-preset fast3 -wnd 1024,1024 "${crypt[@]}" \
		-bytes $((mib << 20)) -timeout 60 > "$WORK/c.out" 2>&1; sed -n "s/^RESULT ok=1 .*goodput_kbps=\([0-9]*\).*/\1/p" "$WORK/c.out")
	stop_server
	[ -n "$r" ] || { echo "| $c | failed | |"; sed "s/^/# /" "$WORK/c.out" "$WORK/s.out" | head -5; continue; }
	[ -z "$base" ] && base=$r
	awk -v c="$c" -v r="$r" -v b="$base" \
		'BEGIN { printf "| %s | %.1f | %.2fx |\n", c, r / 1000, r / b }'
done
