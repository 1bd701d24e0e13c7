#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what the build and the VM tests need (used by 'make deps').
#
#   selftests/vm/deps.sh [--rt] [--debug] [--dry-run]
#
# Idempotent: asks dpkg what is missing and apt-installs only that, running
# 'apt-get update' only then; silent when nothing is missing (works offline).
# Kernels: bookworm's 6.1 (linux-image-amd64) and the newest 6.12.N+deb12
# that apt offers (bookworm-security, unsigned image + headers); --rt adds the
# matching 6.12 PREEMPT_RT flavour, --debug linux-source-6.1 (make
# check-debug builds its kernel from it). INITRD=No: nobody boots these
# initrds.

set -euo pipefail

readonly BASE_PKGS=(
	linux-image-amd64 linux-headers-amd64
	qemu-system-x86 busybox-static kmod cpio gzip xz-utils zstd iproute2
	nftables
	iperf3 golang-go golang-github-xtaci-kcp-dev
	golang-github-klauspost-reedsolomon-dev
	sparse libssl-dev python3 gcc make bc flex bison
	git shellcheck
	clang-14 libclang-rt-14-dev nettle-dev
	kcptun libsnappy-dev golang-github-xtaci-smux-dev
	golang-github-golang-snappy-dev
	ncat
	openssh-server openssh-client rsync netcat-openbsd curl
	debhelper dh-dkms debootstrap
)

rt=0
debug=0
dry=0
for arg; do
	case $arg in
	--rt) rt=1 ;;
	--debug) debug=1 ;;	# the source the debug kernel is built from
	--dry-run) dry=1 ;;
	-h | --help)
		sed -n '4,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
		exit 0
		;;
	*)
		echo "deps: unknown option $arg" >&2
		exit 2
		;;
	esac
done

# Print the given packages that are not installed (one dpkg-query call).
not_installed() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null |
		awk -v want="$*" '$1 == "ii" { ok[$2] = 1 }
		END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!ok[w[i]]) print w[i] }' ||
		true
}

# Newest N such that apt offers both the unsigned 6.12.N+deb12 image and
# its headers (amd64 flavour; the rt flavour comes with the same N).
newest_612() {
	apt-cache pkgnames linux- 2>/dev/null |
		sed -n 's/^linux-image-\(6\.12\.[0-9]*+deb12\)-amd64-unsigned$/i \1/p
			s/^linux-headers-\(6\.12\.[0-9]*+deb12\)-amd64$/h \1/p' |
		awk '{ n[$2]++ } END { for (v in n) if (n[v] == 2) print v }' |
		sort -V | tail -n 1
}

# Newest 6.12.N+deb12 image+headers pair already installed, if any.
installed_612() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' \
		'linux-image-6.12.*+deb12-amd64-unsigned' \
		'linux-headers-6.12.*+deb12-amd64' 2>/dev/null |
		sed -n 's/^ii  linux-image-\(6\.12\.[0-9]*+deb12\)-amd64-unsigned$/i \1/p
			s/^ii  linux-headers-\(6\.12\.[0-9]*+deb12\)-amd64$/h \1/p' |
		awk '{ n[$2]++ } END { for (v in n) if (n[v] == 2) print v }' |
		sort -V | tail -n 1
}

kernel_pkgs() {
	local v=$1

	echo "linux-image-$v-amd64-unsigned" "linux-headers-$v-amd64"
	if ((rt)); then
		echo "linux-image-$v-rt-amd64-unsigned" "linux-headers-$v-rt-amd64"
	fi
}

# Fills the global 'missing' from BASE_PKGS and the 6.12 kernel packages.
find_missing() {
	local v p pkgs=("${BASE_PKGS[@]}")

	((debug)) && pkgs+=(linux-source-6.1)
	v=$(newest_612)
	# No package lists (or none offer 6.12): settle for an installed one.
	[[ -n $v ]] || v=$(installed_612)
	if [[ -n $v ]]; then
		read -r -a p <<<"$(kernel_pkgs "$v" | tr '\n' ' ')"
		pkgs+=("${p[@]}")
	else
		pkgs+=("linux-image-6.12.N+deb12-amd64-unsigned")
	fi
	missing=()
	while read -r p; do
		missing+=("$p")
	done < <(not_installed "${pkgs[@]}")
}

missing=()
find_missing
((${#missing[@]})) || exit 0

export DEBIAN_FRONTEND=noninteractive
sudo=()
((EUID == 0)) || sudo=(sudo -E)
echo "deps: missing: ${missing[*]}; running apt-get update"
((dry)) && exit 0
"${sudo[@]}" apt-get update -qq
find_missing
if [[ " ${missing[*]} " == *' linux-image-6.12.N+deb12-amd64-unsigned '* ]]; then
	echo "deps: apt offers no linux-image-6.12.*+deb12-amd64-unsigned" \
		"(is bookworm-security configured?)" >&2
	exit 1
fi
((${#missing[@]})) || exit 0
echo "deps: installing: ${missing[*]}"
"${sudo[@]}" env INITRD=No apt-get install -y -q --no-install-recommends \
	"${missing[@]}"
