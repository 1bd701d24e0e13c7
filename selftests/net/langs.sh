#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# AF_KCP from language runtimes: the Python helper (tools/python/kcpsock.py)
# and the Go helper (tools/go/kcpnet) each carry 4 MiB between two AF_KCP
# endpoints in two namespaces, checked with SHA-256, Python to Python, Go
# to Go and across (IPv6), then under 20 ms delay and 5 % loss each way
# (not in quick mode). Every session must be AF_KCP (SO_DOMAIN and
# KCP_INFO on both ends) and no TCP socket may appear. Prints TAP.
#
#   selftests/net/langs.sh [quick]      (build first: make userspace)

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=selftests/net/lib.sh
source "$TOP/selftests/net/lib.sh"

PYX=$TOP/selftests/net/kcpsock_xfer.py
GOX=${KCPNET_XFER:-$TOP/build/net/kcpnet_xfer}
SIZE=$((4 << 20))
quick=${1:-}

trap 'stop_server; ns_cleanup; rm -rf "$WORK"' EXIT
ns_setup
head -c $SIZE /dev/urandom > "$WORK/data"
SUM=$(sha256sum "$WORK/data" | cut -d' ' -f1)

# server_cmd LANG ADDR / client_cmd LANG ADDR PORT: the command lines
server_cmd() {
	case $1 in
	py) echo python3 "$PYX" listen "$2" 0 ;;
	go) echo "$GOX" -listen "[$2]:0" ;;
	esac
}

client_cmd() {
	case $1 in
	py) echo python3 "$PYX" connect "$2" "$3" "$WORK/data" ;;
	go) echo "$GOX" -connect "[$2]:$3" -file "$WORK/data" ;;
	esac
}

# field LINE KEY: KEY's value in a RESULT line
field() {
	result_field "$1" "$2"
}

# xfer NAME SERVER-LANG CLIENT-LANG ADDR NETEM: server in a, client in b
xfer() {
	local name=$1 slang=$2 clang=$3 addr=$4 netem=$5 t0 t1 srv cli why=
	local -a scmd ccmd

	netem_set "$netem" || { not_ok "$name: netem"; return; }
	read -ra scmd <<< "$(server_cmd "$slang" "$addr")"
	if ! start_server "s$tap_n" in_a timeout 300 "${scmd[@]}"; then
		not_ok "$name: the $slang server did not start"
		return
	fi
	read -ra ccmd <<< "$(client_cmd "$clang" "$addr" "$SERVER_PORT")"
	t0=$(date +%s.%N)
	cli=$(in_b timeout 240 "${ccmd[@]}" 2>&1)
	t1=$(date +%s.%N)
	wait "$SERVER_PID"
	SERVER_PID=
	srv=$(cat "$WORK/s$tap_n.out")
	[[ $(field "$cli" ok) == 1 ]] || why="$why client failed;"
	[[ $(field "$srv" ok) == 1 ]] || why="$why server failed;"
	[[ $(field "$cli" sha256) == "$SUM" ]] || why="$why client sha256;"
	[[ $(field "$srv" sha256) == "$SUM" ]] || why="$why server sha256;"
	[[ $(field "$srv" bytes) == "$SIZE" ]] || why="$why server bytes;"
	[[ $(field "$cli" kcp) == 1 && $(field "$srv" kcp) == 1 ]] ||
		why="$why not AF_KCP;"
	[ -z "$(in_a ss -Htan)$(in_b ss -Htan)" ] || why="$why TCP sockets seen;"
	if [ -z "$why" ]; then
		ok "$name: 4 MiB, SHA-256 intact, AF_KCP both ends ($(field "$cli" conn), $(field "$srv" conn); $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s)"
	else
		not_ok "$name:$why"
		echo "$cli" | tail -3 | sed 's/^/#   client: /'
		echo "$srv" | tail -3 | sed 's/^/#   server: /'
	fi
}

if ! command -v python3 > /dev/null; then
	skip "Python helper transfers" "no python3"
	PY=
else
	PY=py
fi
if [ ! -x "$GOX" ]; then
	not_ok "$GOX missing (make userspace)"
	GO=
else
	GO=go
fi

[ -n "$PY" ] && xfer "python kcpsock -> python kcpsock, IPv4" py py "$ADDR_A" ""
[ -n "$GO" ] && xfer "go kcpnet -> go kcpnet, IPv4" go go "$ADDR_A" ""
if [ -n "$PY" ] && [ -n "$GO" ]; then
	xfer "go kcpnet client -> python kcpsock server, IPv6" py go "$ADDR6_A" ""
	xfer "python kcpsock client -> go kcpnet server, IPv6" go py "$ADDR6_A" ""
fi
if [ "$quick" != quick ]; then
	LOSSY="delay 20ms loss 5%"
	[ -n "$PY" ] && xfer "python kcpsock, 20 ms / 5 % loss each way" py py "$ADDR_A" "$LOSSY"
	[ -n "$GO" ] && xfer "go kcpnet, 20 ms / 5 % loss each way" go go "$ADDR_A" "$LOSSY"
	netem_set ""
fi

# The helpers refuse what AF_KCP cannot do, and report a missing module
if [ -n "$PY" ]; then
	out=$(python3 -c "
import socket, sys
sys.path.insert(0, '$TOP/tools/python')
import kcpsock
try:
    kcpsock.create_server(('::', 0), family=socket.AF_INET6, dualstack_ipv6=True)
    print('accepted')
except ValueError as e:
    print('refused:', e)
" 2>&1)
	if [ "$out" = "refused: AF_KCP IPv6 sockets are IPv6-only" ]; then
		ok "kcpsock.create_server(dualstack_ipv6=True) is refused"
	else
		not_ok "kcpsock.create_server(dualstack_ipv6=True) is refused: $out"
	fi
fi
tap_end
