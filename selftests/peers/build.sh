#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build the kcp-go interop peer (selftests/peers/kcppeer) offline, in GOPATH
# mode against Debian's golang-github-xtaci-kcp-dev (kcp-go v5.6.1) under
# /usr/share/gocode. Output: ${O:-build/peers}/kcppeer, a static binary
# (CGO_ENABLED=0) that also runs inside the test VM.
#
# Usage: selftests/peers/build.sh [-f]      (-f: rebuild even if up to date)
# Env:   O=<outdir> (relative to the repository root), GO=<go binary>,
#        GOCODE=<Debian gocode root, default /usr/share/gocode>
#
# The binary is rebuilt only when it is missing or older than main.go, this
# script, or the kcp-go sources. Nothing here touches the network: module
# mode is off, GOPROXY=off, and GOFLAGS from the caller (e.g. -mod=mod) is
# dropped. The Go build cache lives under build/ so a read-only HOME is fine.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
O=${O:-build/peers}
case $O in
/*) out=$O ;;
*) out=$top/$O ;;
esac
GO=${GO:-go}
GOCODE=${GOCODE:-/usr/share/gocode}
src=$here/kcppeer
bin=$out/kcppeer
kcpgo=$GOCODE/src/github.com/xtaci/kcp-go

force=0
[ "${1:-}" = "-f" ] && force=1

die() {
	echo "build.sh: $*" >&2
	exit 1
}

command -v "$GO" >/dev/null 2>&1 ||
	die "Go toolchain '$GO' not found (install golang-go >= 1.19)"
[ -f "$kcpgo/sess.go" ] ||
	die "kcp-go sources not found in $kcpgo (install golang-github-xtaci-kcp-dev)"
[ -d "$GOCODE/src/golang.org/x/crypto/pbkdf2" ] ||
	die "golang.org/x/crypto/pbkdf2 not found under $GOCODE (install golang-golang-x-crypto-dev)"

# Up to date?
if [ $force = 0 ] && [ -x "$bin" ] &&
	[ -z "$(find "$src" "$here/build.sh" "$top/selftests/lib/go" "$kcpgo" -newer "$bin" -name '*.go' -o \
		-newer "$bin" -name build.sh 2>/dev/null | head -n 1)" ]; then
	echo "build.sh: $bin is up to date"
	exit 0
fi

mkdir -p "$out/gopath" "$top/build/go-cache"

# A clean, offline Go environment.
unset GOFLAGS GOROOT_FINAL GOBIN GOWORK 2>/dev/null || true
export GO111MODULE=off
export GOPATH="$out/gopath:$top/selftests/lib/go:$GOCODE"
export GOCACHE="$top/build/go-cache"
export GOENV=off
export GOPROXY=off
export GOSUMDB=off
export GOTOOLCHAIN=local
export CGO_ENABLED=0
export GOFLAGS=

cd "$src"
tmp=$bin.tmp.$$
trap 'rm -f "$tmp"' EXIT
"$GO" build -trimpath -o "$tmp" . ||
	die "go build failed (GOPATH=$GOPATH)"
mv -f "$tmp" "$bin"
trap - EXIT
echo "build.sh: built $bin ($("$GO" version | cut -d' ' -f3), kcp-go from $kcpgo)"
