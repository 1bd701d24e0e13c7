#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the benchmark's own tools into ${O:-build/bench}: kbench and
# kcpscale (C, against uapi/linux/kcp.h) and kgob (Go, on Debian's kcp-go
# v5.6.1, offline in GOPATH mode exactly as selftests/peers/build.sh builds
# kcppeer). Each is rebuilt only when a source is newer than it.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${O:-$top/build/bench}
CC=${CC:-gcc}
GO=${GO:-go}
GOCODE=${GOCODE:-/usr/share/gocode}
CFLAGS=(-O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare
	-Wno-missing-field-initializers -Werror -pthread)

mkdir -p "$out"

# newer TARGET SRC...: true if TARGET is missing or older than a SRC
newer() {
	local t=$1 s
	shift
	[[ -e $t ]] || return 0
	for s in "$@"; do
		[[ $s -nt $t ]] && return 0
	done
	return 1
}

hdrs=("$top"/selftests/lib/*.h "$top/uapi/linux/kcp.h")
if newer "$out/kbench" "$here/kbench.c" "${hdrs[@]}" \
	"$top/tools/kcpctl/kcpkey.c" "$top/tools/kcpctl/kcpkey.h" \
	"$top/tools/kcpctl/kcpnames.h"; then
	echo "build.sh: kbench"
	"$CC" "${CFLAGS[@]}" -o "$out/kbench" "$here/kbench.c" \
		"$top/tools/kcpctl/kcpkey.c" -lcrypto -lm
fi
if newer "$out/kcpscale" "$here/kcpscale.c" "${hdrs[@]}" \
	"$top/tools/kcpctl/kcpnames.h"; then
	echo "build.sh: kcpscale"
	"$CC" "${CFLAGS[@]}" -o "$out/kcpscale" "$here/kcpscale.c" -lm
fi
if newer "$out/kgob" "$here/kgob/main.go" "$here/build.sh" \
	"$top"/selftests/lib/go/src/kcptest/*/*.go; then
	echo "build.sh: kgob"
	[[ -f $GOCODE/src/github.com/xtaci/kcp-go/sess.go ]] ||
		{ echo "build.sh: kcp-go not found (make deps)" >&2; exit 1; }
	mkdir -p "$out/gopath" "$top/build/go-cache"
	unset GOFLAGS GOROOT_FINAL GOBIN GOWORK
	export GO111MODULE=off GOPATH="$out/gopath:$top/selftests/lib/go:$GOCODE" \
		GOCACHE="$top/build/go-cache" GOENV=off GOPROXY=off GOSUMDB=off \
		GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=
	(cd "$here/kgob" && "$GO" build -trimpath -o "$out/kgob.tmp" .)
	mv -f "$out/kgob.tmp" "$out/kgob"
fi
