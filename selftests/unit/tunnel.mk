# SPDX-License-Identifier: GPL-2.0
#
# kcpctl tunnel's pure parts: snappy framing (against streams written by
# the real golang/snappy, gen/snappyvectors, built offline in GOPATH mode
# and run at test time), the smux frame codec, kcptun's flags and JSON.

.DEFAULT_GOAL := all

TUN_O := $(abspath $(O))
TUN_SRC := $(TOP)/tools/kcpctl
TUN_SNAPPY := /usr/share/gocode/src/github.com/golang/snappy
TUN_HAVE_GO := $(and $(shell command -v go 2>/dev/null),$(wildcard $(TUN_SNAPPY)/encode.go))
TUN_GOENV := GO111MODULE=off GOPATH=$(TUN_O)/gopath:/usr/share/gocode \
	GOCACHE=$(TUN_O)/gocache GOENV=off GOPROXY=off GOFLAGS=

TESTS += $(O)/test_tunnel

$(O)/test_tunnel: test_tunnel.c $(TUN_SRC)/snappyframe.c $(TUN_SRC)/snappyframe.h \
		$(TUN_SRC)/smux.h $(TUN_SRC)/tunnel_cfg.c $(TUN_SRC)/tunnel.h \
		../lib/tap.h tunnel.mk | $(O) $(O)/snappyvectors.txt
	$(CC) $(CFLAGS) -I$(TUN_SRC) \
		-DSNAPPY_VECTORS='"$(TUN_O)/snappyvectors.txt"' -o $@ \
		test_tunnel.c $(TUN_SRC)/snappyframe.c $(TUN_SRC)/tunnel_cfg.c \
		$(LDFLAGS) -lsnappy

ifneq ($(TUN_HAVE_GO),)
$(O)/snappyvectors: gen/snappyvectors/main.go $(wildcard $(TUN_SNAPPY)/*.go) | $(O)
	mkdir -p $(TUN_O)/gopath/src $(TUN_O)/gocache
	cd gen/snappyvectors && $(TUN_GOENV) go build -o $(TUN_O)/snappyvectors main.go

$(O)/snappyvectors.txt: $(O)/snappyvectors
	$< > $@.tmp && mv $@.tmp $@
else
$(O)/snappyvectors.txt: | $(O)
	echo "# SKIP go toolchain or golang/snappy source (golang-github-golang-snappy-dev) missing" > $@
endif
