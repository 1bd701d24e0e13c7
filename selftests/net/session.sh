#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# TCP session semantics between AF_KCP endpoints (issue 15): end-of-file,
# half-close, reset, connect() that waits for an answer, keepalive; and
# kcp-go peers seeing exactly the old wire behaviour. Two namespaces as
# in lib.sh: servers in a (10.9.0.1), clients in b. Prints TAP.
#
#  1. session.c's tests (half-close both ways, SOCK_SEQPACKET EOF,
#     ECONNREFUSED, ETIMEDOUT against a black hole, blocking and not,
#     SIGKILLed peers, SO_LINGER {1, 0} and unread data resetting the
#     peer, keepalive, KCP_INFO kcpi_ext, a fake peer's datagrams to a
#     time-wait entry);
#  2. kcp-go interop both ways: byte-exact, kcp-go's KCPInErrors and
#     InErrs 0 once the AF_KCP end has closed (kcp-go counts a segment
#     with an unknown cmd there: no extension segment reached it), and
#     kcpi_ext 0 on the AF_KCP end; keepalive of an idle AF_KCP client
#     answered by a kcp-go server, ETIMEDOUT once it is silenced;
#  3. unmodified programs under "kcpctl run" on both ends, 4 MiB of random
#     data, SHA-256 checked, on a clean link and with 20 ms delay and 5 %
#     loss each way: nc -N -> nc -l (both ending by themselves on EOF),
#     ssh running a command with the file on stdin, scp both ways, curl
#     fetching a close-delimited HTTP/1.0 response, rsync over ssh. Each
#     program's wall time is a TAP comment ("# nc clean 1.2 s").
#
# Tests that need the session extension are skipped ("no session
# extension in this module") when getsockopt(KCP_SESSION_EXT) answers
# ENOPROTOOPT. Environment:
#   SESSION_TCP=1    run parts 1 and 3 over plain TCP (session tests -tcp,
#                    the programs without kcpctl run): a control of the
#                    tests and the plumbing (sshd, keys, programs, checks)
#   SESSION_FORCE=1  run parts 1 and 3 even without the extension (part 3
#                    under kcpctl run): to see them fail there
#   SESSION_MIB=N    payload of part 3 (default 4)
#   SESSION_CONDS    the links of part 3 (default "clean lossy"; "none":
#                    no part 3)
#
# Usage: session.sh [quick]    (quick: kcp-go interop on the clean link only)

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=selftests/net/lib.sh
source "$TOP/selftests/net/lib.sh"

SESS=${KCP_SESSION:-$TOP/build/net/session}
K=${KCPCTL:-$TOP/build/tools/kcpctl}
QUICK=${1:-}
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	ns_cleanup
	rm -rf "$WORK"
}
trap cleanup EXIT

for f in "$SESS" "$K" "$KCPPEER"; do
	if [ ! -x "$f" ]; then
		not_ok "$f missing (make userspace)"
		tap_end
		exit 1
	fi
done
ns_setup
mkfifo "$WORK/snooze"
exec {SNOOZE_FD}<>"$WORK/snooze"

# ---- the module: session extension or not ----
probe=$("$SESS" probe)
diag "session probe: $probe"
case $probe in
"EXT none") HAVE_EXT=0 ;;
"EXT 1") HAVE_EXT=1 ;;
"EXT 0")
	HAVE_EXT=1
	diag "KCP_SESSION_EXT defaults to 0 (net.kcp.session_ext): the extension tests will fail"
	;;
*)
	not_ok "getsockopt(SOL_KCP, KCP_SESSION_EXT): $probe"
	HAVE_EXT=0
	;;
esac
NOEXT="no session extension in this module"

# secs_since T0: seconds since T0 (date +%s.%N), one decimal
secs_since() {
	awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}

# wait_exit PID SECS: PID's exit status once it ends (SECS at most, else
# it is killed: 124)
wait_exit() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		alive "$1" || break
		sleep 0.1
	done
	if alive "$1"; then
		kill "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1"
}

# ---- 1. session.c ----
netem_set ""
nft=()
if command -v nft > /dev/null && { modprobe -q nf_tables 2>/dev/null; in_a nft add table inet kcpsess &&
   in_a nft add chain inet kcpsess in '{ type filter hook input priority 0; }'; }; then
	nft=(-nft kcpsess)
else
	diag "nft not usable in $NS_A: the black-hole and keepalive tests will fail"
fi
topts=()
[ "${SESSION_TCP:-0}" = 1 ] && topts=(-tcp)
[ "${SESSION_FORCE:-0}" = 1 ] && topts+=(-force)
nc_tests=0
while IFS= read -r line; do
	case $line in
	"ok "*" # SKIP "*)
		line=${line#ok * - }
		skip "${line% # SKIP *}" "${line##* # SKIP }"
		;;
	"ok "*) ok "${line#ok * - }" ;;
	"not ok "*) not_ok "${line#not ok * - }" ;;
	"#"*) echo "$line" ;;
	1..*) nc_tests=${line#1..} ;;
	*) diag "$line" ;;
	esac
done < <(timeout -k 5 600 "$SESS" tests -A "$NS_A" -B "$NS_B" -a "$ADDR_A" "${nft[@]}" \
	"${topts[@]}" 2>&1)
[ "$nc_tests" -eq 15 ] || not_ok "session tests: the plan says $nc_tests tests, not 15 (crashed or cut short?)"

# ---- 2. kcp-go interop ----
# shellcheck disable=SC2054
FAST_K=(-preset fast3 -wnd 256,256)
FAST_G=(-stream -preset fast3 -sndwnd 256 -rcvwnd 256)

# go_check NAME KCPGO-OUT AFKCP-OUT BYTES: the TAP lines of one direction
go_check() {
	local name=$1 g=$2 k=$3 bytes=$4 gres kres info
	gres=$(grep '^RESULT' "$g" | tail -1)
	kres=$(grep '^RESULT' "$k" | tail -1)
	info=$(grep '^INFO' "$k" | tail -1)
	if [ "$(kv "$gres" ok)" = 1 ] && [ "$(kv "$kres" ok)" = 1 ] &&
	   [ "$(kv "$kres" bytes)" = "$bytes" ]; then
		ok "$name: $bytes bytes byte-exact ($(kv "$gres" goodput_kbps) kbit/s)"
	else
		not_ok "$name: $bytes bytes byte-exact"
		tail -n 3 "$g" "$k" | sed 's/^/#   /'
	fi
	if [ "$(kv "$gres" KCPInErrors x)" = 0 ] && [ "$(kv "$gres" InErrs x)" = 0 ] &&
	   [ "$(kv "$info" ext x)" = 0 ]; then
		ok "$name: kcp-go's KCPInErrors 0 and InErrs 0 after the AF_KCP close, kcpi_ext 0$([ "$(kv "$info" ext_field)" = 1 ] || echo ' (no kcpi_ext field in this module)')"
	else
		not_ok "$name: kcp-go's KCPInErrors $(kv "$gres" KCPInErrors none), InErrs $(kv "$gres" InErrs none) after the AF_KCP close (want 0), kcpi_ext $(kv "$info" ext none) (want 0)"
	fi
}

# go_pair NAME NETEM BYTES: both directions
go_pair() {
	local name=$1 bytes=$3
	netem_set "$2" || { not_ok "$name: netem"; return; }

	# AF_KCP client -> kcp-go server: a sink that ends 10 s after the
	# last data, so it sees what the AF_KCP end sends at its close (and
	# outlasts the 7 s zero-window probe wait: a kcp-go session has 32
	# segment windows until the server tunes it, the sender may stall)
	if start_server "gs" in_a "$KCPPEER" -mode server -addr "$ADDR_A:0" \
		-role sink -bytes "$bytes" -sessions 1 -idle 10 -timeout 150 \
		"${FAST_G[@]}"; then
		in_b timeout -k 5 120 "$SESS" send -a "$ADDR_A:$SERVER_PORT" \
			-bytes "$bytes" -timeout 110 "${FAST_K[@]}" > "$WORK/kc.out" 2>&1
		wait_exit "$SERVER_PID" 30
		SERVER_PID=
		go_check "AF_KCP client -> kcp-go server, $name" "$WORK/gs.out" \
			"$WORK/kc.out" "$bytes"
	else
		not_ok "AF_KCP client -> kcp-go server, $name: kcp-go server"
	fi
	stop_server

	# kcp-go client -> AF_KCP server; the client stays 3 s after its
	# data is acknowledged, while the AF_KCP server closes
	if start_server "ks" in_a timeout -k 5 150 "$SESS" recv -l "$ADDR_A:0" \
		-bytes "$bytes" -timeout 140 "${FAST_K[@]}"; then
		in_b timeout -k 5 150 "$KCPPEER" -mode client -addr "$ADDR_A:$SERVER_PORT" \
			-role send -bytes "$bytes" -timeout 120 -hold 3 "${FAST_G[@]}" \
			> "$WORK/gc.out" 2>&1
		wait_exit "$SERVER_PID" 30
		SERVER_PID=
		go_check "kcp-go client -> AF_KCP server, $name" "$WORK/gc.out" \
			"$WORK/ks.out" "$bytes"
	else
		not_ok "kcp-go client -> AF_KCP server, $name: AF_KCP server"
	fi
	stop_server
}

go_pair "clean" "" $((2 << 20))
[ "$QUICK" = quick ] || go_pair "20ms 5% loss" "delay 20ms loss 5%" $((1 << 20))

# AF_KCP client with SO_KEEPALIVE (idle 1, intvl 1, cnt 3) -> kcp-go echo
# server: kcp-go answers the WASK probes with WINS, so 5 idle seconds
# change nothing; then an nft rule in b drops what kcp-go sends (kcp-go
# still gets every probe: its KCPInErrors judge them all) and the client
# ends in ETIMEDOUT. The server idles out after 30 s only: it is ended
# with SIGTERM, which prints its RESULT (counters) too.
go_keepalive() {
	local name="AF_KCP client, SO_KEEPALIVE 1/1/3 -> kcp-go server" gres kres

	if [ $HAVE_EXT = 0 ] && [ "${SESSION_FORCE:-0}" != 1 ]; then
		skip "$name: alive after 5 idle s, silenced: ETIMEDOUT in 2.5-7 s" "$NOEXT"
		return
	fi
	if [ ${#nft[@]} = 0 ] || ! in_b nft add table inet kcpka ||
	   ! in_b nft add chain inet kcpka in '{ type filter hook input priority 0; }'; then
		not_ok "$name: nft not usable in $NS_B"
		return
	fi
	if start_server "gk" in_a "$KCPPEER" -mode server -addr "$ADDR_A:0" \
		-role echo -sessions 1 -idle 30 -timeout 60 "${FAST_G[@]}"; then
		in_b timeout -k 5 40 "$SESS" keepalive -a "$ADDR_A:$SERVER_PORT" \
			-nft kcpka -timeout 30 "${FAST_K[@]}" > "$WORK/kk.out" 2>&1
		stop_server
		gres=$(grep '^RESULT' "$WORK/gk.out" | tail -1)
		kres=$(grep '^KEEPALIVE' "$WORK/kk.out" | tail -1)
		if grep -q '^RESULT ok=1' "$WORK/kk.out"; then
			ok "$name: alive after 5 idle s, silenced: ${kres#* silent=}"
		else
			not_ok "$name: alive after 5 idle s, silenced: ETIMEDOUT in 2.5-7 s (${kres:-no result})"
			tail -n 3 "$WORK/kk.out" | sed 's/^/#   /'
		fi
		if [ "$(kv "$gres" KCPInErrors x)" = 0 ] && [ "$(kv "$gres" InErrs x)" = 0 ] &&
		   [ "$(kv "$(grep '^INFO' "$WORK/kk.out")" ext x)" = 0 ]; then
			ok "$name: kcp-go's KCPInErrors 0 and InErrs 0 after the probes, kcpi_ext 0"
		else
			not_ok "$name: kcp-go's KCPInErrors $(kv "$gres" KCPInErrors none), InErrs $(kv "$gres" InErrs none) (want 0), kcpi_ext $(kv "$(grep '^INFO' "$WORK/kk.out")" ext none) (want 0)"
		fi
	else
		not_ok "$name: kcp-go server"
	fi
	stop_server
	in_b nft delete table inet kcpka
}
netem_set ""
go_keepalive

# ---- 3. unmodified programs under kcpctl run ----
MIB=${SESSION_MIB:-4}
PAYLOAD=$WORK/payload
head -c $((MIB << 20)) /dev/urandom > "$PAYLOAD"
SUM=$(sha256sum < "$PAYLOAD")
SUM=${SUM%% *}
# shellcheck disable=SC2054
RUNOPT=(--preset fast3 --wnd 512,512)
P_NC=5555
P_SSH=2222
P_HTTP=8088
TRANSPORT=kcp
if [ "${SESSION_TCP:-0}" = 1 ]; then
	TRANSPORT=tcp
	diag "SESSION_TCP=1: the programs run over plain TCP (a control of the plumbing)"
elif [ $HAVE_EXT = 0 ] && [ "${SESSION_FORCE:-0}" = 1 ]; then
	diag "SESSION_FORCE=1: the programs run under kcpctl run without the extension"
elif [ $HAVE_EXT = 0 ]; then
	TRANSPORT=none
fi

# via PORT: the command prefix that puts a program's TCP on AF_KCP
via() {
	VIA=()
	[ $TRANSPORT = kcp ] && VIA=("$K" run --ports "$1" "${RUNOPT[@]}" --)
}

# wait_listen PORT: up to 10 s for a listener in a (UDP for AF_KCP)
wait_listen() {
	local i p=-Htln
	[ $TRANSPORT = kcp ] && p=-Huln
	for ((i = 0; i < 100; i++)); do
		[ -n "$(in_a ss "$p" "sport = :$1")" ] && return 0
		sleep 0.1
	done
	return 1
}

# sum_of FILE: its SHA-256
sum_of() {
	local s
	s=$(sha256sum < "$1" 2>/dev/null)
	echo "${s%% *}"
}

# verdict LABEL NAME COND RC SECS SUMOK [WHY]: the time comment ("# nc
# clean 1.2 s") and one TAP line: ok if RC is 0 and SUMOK 1
verdict() {
	local name="$1: $2, $3, $MIB MiB"
	[ $TRANSPORT = tcp ] && name="$name, TCP control"
	diag "$1 $3 $5 s"
	if [ "$4" = 0 ] && [ "$6" = 1 ]; then
		ok "$name ($5 s)"
	else
		not_ok "$name: exit $4, SHA-256 $([ "$6" = 1 ] && echo equal || echo differs)${7:+, $7} ($5 s)"
	fi
}

# both_rc CLIENT/SERVER: 0 if both are 0, else the pair
both_rc() {
	if [ "$1" = 0/0 ]; then echo 0; else echo "$1"; fi
}

prog_nc() {
	local cond=$1 bound=$2 sp rc src t0
	rm -f "$WORK/nc.out"
	via $P_NC
	$NSX_A timeout -k 5 $((bound + 20)) "${VIA[@]}" nc -l "$ADDR_A" $P_NC \
		< /dev/null > "$WORK/nc.out" 2> "$WORK/nc-l.err" &
	sp=$!
	PIDS+=("$sp")
	wait_listen $P_NC || diag "nc -l: no listener on $P_NC"
	t0=$(date +%s.%N)
	in_b timeout -k 5 "$bound" "${VIA[@]}" nc -N "$ADDR_A" $P_NC \
		< "$PAYLOAD" > /dev/null 2> "$WORK/nc.err"
	rc=$?
	wait_exit "$sp" 15
	src=$?
	verdict nc "nc -N -> nc -l, both exit by themselves on end-of-file" "$cond" \
		"$(both_rc "$rc/$src")" "$(secs_since "$t0")" \
		"$([ "$(sum_of "$WORK/nc.out")" = "$SUM" ] && echo 1)"
	[ "$rc/$src" = 0/0 ] || tail -n 3 "$WORK/nc.err" "$WORK/nc-l.err" | sed 's/^/#   /'
}

SSHD_UP=0	# 1: up, 2: failed to start
SSH_D=$WORK/ssh
sshd_start() {
	local sshd
	sshd=$(command -v sshd || echo /usr/sbin/sshd)
	if [ ! -x "$sshd" ] || ! command -v ssh > /dev/null; then
		diag "no sshd or ssh (openssh-server, openssh-client: selftests/vm/deps.sh)"
		return 1
	fi
	mkdir -p "$SSH_D" /run/sshd
	chmod 700 "$SSH_D"
	chmod 755 /run/sshd
	ssh-keygen -q -t ed25519 -N '' -C session-host -f "$SSH_D/host" &&
		ssh-keygen -q -t ed25519 -N '' -C session-user -f "$SSH_D/id" || return 1
	cp "$SSH_D/id.pub" "$SSH_D/authorized_keys"
	cat > "$SSH_D/sshd_config" <<-EOF
		ListenAddress $ADDR_A:$P_SSH
		HostKey $SSH_D/host
		PidFile $SSH_D/sshd.pid
		AuthorizedKeysFile $SSH_D/authorized_keys
		PermitRootLogin prohibit-password
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		UseDNS no
		PrintMotd no
		PrintLastLog no
		Subsystem sftp /usr/lib/openssh/sftp-server
		LogLevel VERBOSE
	EOF
	via $P_SSH
	$NSX_A "${VIA[@]}" "$sshd" -D -e -f "$SSH_D/sshd_config" > "$WORK/sshd.log" 2>&1 &
	PIDS+=("$!")
	if ! wait_log "$WORK/sshd.log" "Server listening on" 20 || ! wait_listen $P_SSH; then
		diag "sshd did not start:"
		tail -5 "$WORK/sshd.log" | sed 's/^/#   /'
		return 1
	fi
	diag "sshd listening on $ADDR_A:$P_SSH ($TRANSPORT)"
	SSHD_UP=1
}
SSHO=(-F /dev/null -i "$SSH_D/id" -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR
	-o ConnectTimeout=30)

# ssh_why: what sshd said about the last connections
ssh_why() {
	grep -E 'IP opts|error|fatal|Connection (closed|reset)|Disconnect' "$WORK/sshd.log" |
		tail -n 3 | sed 's/^/#   sshd: /'
}

prog_ssh() {
	local cond=$1 bound=$2 rc t0 got
	via $P_SSH
	t0=$(date +%s.%N)
	got=$(in_b timeout -k 5 "$bound" "${VIA[@]}" ssh "${SSHO[@]}" -p $P_SSH \
		"root@$ADDR_A" sha256sum < "$PAYLOAD" 2> "$WORK/ssh.err")
	rc=$?
	verdict ssh "ssh HOST sha256sum < file" "$cond" "$rc" "$(secs_since "$t0")" \
		"$([ "${got%% *}" = "$SUM" ] && echo 1)"
	[ $rc = 0 ] || { tail -n 3 "$WORK/ssh.err" | sed 's/^/#   /'; ssh_why; }
}

prog_scp() {
	local cond=$1 bound=$2 dir=$3 rc t0 src dst
	if [ "$dir" = up ]; then
		src=$PAYLOAD dst=root@$ADDR_A:$WORK/scp.up
	else
		src=root@$ADDR_A:$PAYLOAD dst=$WORK/scp.down
	fi
	rm -f "$WORK/scp.$dir"
	via $P_SSH
	t0=$(date +%s.%N)
	in_b timeout -k 5 "$bound" "${VIA[@]}" scp -q "${SSHO[@]}" -P $P_SSH \
		"$src" "$dst" > /dev/null 2> "$WORK/scp.err"
	rc=$?
	verdict "scp-$dir" "scp $([ "$dir" = up ] && echo 'FILE HOST:' || echo 'HOST:FILE .')" \
		"$cond" "$rc" "$(secs_since "$t0")" \
		"$([ "$(sum_of "$WORK/scp.$dir")" = "$SUM" ] && echo 1)"
	[ $rc = 0 ] || { tail -n 3 "$WORK/scp.err" | sed 's/^/#   /'; ssh_why; }
}

prog_rsync() {
	local cond=$1 bound=$2 rc t0
	rm -f "$WORK/rsync.dst"
	via $P_SSH
	t0=$(date +%s.%N)
	in_b timeout -k 5 "$bound" "${VIA[@]}" rsync -e "ssh ${SSHO[*]} -p $P_SSH" \
		"$PAYLOAD" "root@$ADDR_A:$WORK/rsync.dst" > /dev/null 2> "$WORK/rsync.err"
	rc=$?
	verdict rsync "rsync -e ssh FILE HOST:" "$cond" "$rc" "$(secs_since "$t0")" \
		"$([ "$(sum_of "$WORK/rsync.dst")" = "$SUM" ] && echo 1)"
	[ $rc = 0 ] || { tail -n 3 "$WORK/rsync.err" | sed 's/^/#   /'; ssh_why; }
}

prog_curl() {
	local cond=$1 bound=$2 rc src t0 sp
	rm -f "$WORK/curl.out"
	via $P_HTTP
	$NSX_A timeout -k 5 $((bound + 20)) "${VIA[@]}" "$SESS" httpd \
		-l "$ADDR_A:$P_HTTP" -file "$PAYLOAD" -timeout $((bound + 15)) \
		> "$WORK/httpd.out" 2>&1 &
	sp=$!
	PIDS+=("$sp")
	wait_log "$WORK/httpd.out" LISTEN 10 || diag "httpd did not start"
	t0=$(date +%s.%N)
	in_b timeout -k 5 "$bound" "${VIA[@]}" curl -sS --http1.0 -o "$WORK/curl.out" \
		"http://$ADDR_A:$P_HTTP/payload" 2> "$WORK/curl.err"
	rc=$?
	wait_exit "$sp" 15
	src=$?
	verdict curl "curl --http1.0 <- a close-delimited HTTP/1.0 response" "$cond" \
		"$(both_rc "$rc/$src")" "$(secs_since "$t0")" \
		"$([ "$(sum_of "$WORK/curl.out")" = "$SUM" ] && echo 1)" \
		"got $(stat -c %s "$WORK/curl.out" 2>/dev/null || echo 0) bytes"
	[ "$rc/$src" = 0/0 ] || tail -n 3 "$WORK/curl.err" "$WORK/httpd.out" | sed 's/^/#   /'
}

PROGS="nc ssh scp-up scp-down curl rsync"
for cond in ${SESSION_CONDS:-clean lossy}; do
	case $cond in
	clean | lossy) ;;
	none) continue ;;
	*)
		not_ok "SESSION_CONDS: unknown link '$cond' (clean, lossy or none)"
		continue
		;;
	esac
	# bounds: 4 MiB took up to 44 s clean and 68 s lossy over TCP (scp,
	# TCG guest on a busy 2-core host)
	netem=
	bound=$((30 + 25 * MIB))
	[ "$cond" = lossy ] && netem="delay 20ms loss 5%" bound=$((60 + 45 * MIB))
	netem_ok=1
	[ $TRANSPORT = none ] || netem_set "$netem" || netem_ok=0
	for p in $PROGS; do
		if [ $TRANSPORT = none ]; then
			skip "$p: $cond, $MIB MiB under kcpctl run" "$NOEXT"
			continue
		fi
		if [ $netem_ok = 0 ]; then
			not_ok "$p: $cond: netem '$netem' failed"
			continue
		fi
		case $p in
		ssh | scp-* | rsync)
			[ $SSHD_UP = 0 ] && { sshd_start || SSHD_UP=2; }
			[ $SSHD_UP = 1 ] ||
				{ not_ok "$p: $cond: sshd in $NS_A did not start"; continue; }
			;;
		esac
		case $p in
		nc) prog_nc "$cond" $bound ;;
		ssh) prog_ssh "$cond" $bound ;;
		scp-up) prog_scp "$cond" $bound up ;;
		scp-down) prog_scp "$cond" $bound down ;;
		curl) prog_curl "$cond" $bound ;;
		rsync) prog_rsync "$cond" $bound ;;
		esac
	done
done
tap_end
