# SPDX-License-Identifier: GPL-2.0
#
# KCP engine suites: randomized two-engine transfers over a simulated
# network plus targeted kcp-go behaviour tests (test_engine), and the
# differential test against a test-time copy of the real kcp-go 5.6.1
# (test_engine_diff, driving the Go tracer built from gen/kcptrace).

# Makefile includes the fragments before "all:"; keep "make" meaning all.
.DEFAULT_GOAL := all

ENGINE_O := $(abspath $(O))
ENGINE_SRCS := $(TOP)/kmod/core/kcp_engine.c $(ENV_USER)
ENGINE_DEPS := $(ENGINE_SRCS) $(TOP)/kmod/core/kcp_engine.h $(ENV_HDRS) \
	       ../lib/tap.h ../lib/kcpwire.h ../lib/hex.h netsim.h netsim.c engine.mk

TESTS += $(O)/test_engine $(O)/test_engine_diff

$(O)/test_engine: test_engine.c $(ENGINE_DEPS) | $(O)
	$(CC) $(CFLAGS) -o $@ test_engine.c netsim.c $(ENGINE_SRCS) $(LDFLAGS)

# The Go tracer: kcp-go's kcp.go and snmp.go are copied (never modified in
# place) from the Debian package into a throwaway GOPATH under $(O), turned
# into package main with currentMs() reading a settable fake clock, and
# built offline in GOPATH mode. Without Go or the package the diff suite
# reports SKIP; with them, any failure here fails the build.
GO ?= go
KCPGO_SRC ?= /usr/share/gocode/src/github.com/xtaci/kcp-go
KCPTRACE_DIR := $(ENGINE_O)/kcptrace
KCPTRACE := $(KCPTRACE_DIR)/kcptrace
KCPTRACE_PKG := $(KCPTRACE_DIR)/src/kcptrace
HAVE_KCPGO := $(shell command -v $(GO) >/dev/null 2>&1 && test -f $(KCPGO_SRC)/kcp.go && echo y)

ifeq ($(HAVE_KCPGO),y)
$(KCPTRACE): gen/kcptrace/main.go gen/kcptrace/xmitbuf.go $(KCPGO_SRC)/kcp.go \
	     $(KCPGO_SRC)/snmp.go $(KCPGO_SRC)/sess.go engine.mk | $(O)
	rm -rf $(KCPTRACE_DIR)/src
	mkdir -p $(KCPTRACE_PKG)
	sed -e 's/^package kcp$$/package main/' \
	    -e 's/^func currentMs() uint32 {.*}$$/func currentMs() uint32 { return fakeNow }/' \
	    $(KCPGO_SRC)/kcp.go > $(KCPTRACE_PKG)/kcp.go
	grep -q '^func currentMs() uint32 { return fakeNow }$$' $(KCPTRACE_PKG)/kcp.go || \
		{ echo "engine.mk: currentMs() not found in $(KCPGO_SRC)/kcp.go" >&2; exit 1; }
	sed -e 's/^package kcp$$/package main/' $(KCPGO_SRC)/snmp.go > $(KCPTRACE_PKG)/snmp.go
	{ echo 'package main'; \
	  sed -n 's/^[[:space:]]*mtuLimit[[:space:]]*=[[:space:]]*\([0-9][0-9]*\).*$$/const mtuLimit = \1/p' \
		$(KCPGO_SRC)/sess.go; } > $(KCPTRACE_PKG)/mtulimit.go
	grep -q '^const mtuLimit = ' $(KCPTRACE_PKG)/mtulimit.go || \
		{ echo "engine.mk: mtuLimit not found in $(KCPGO_SRC)/sess.go" >&2; exit 1; }
	cp gen/kcptrace/main.go gen/kcptrace/xmitbuf.go $(KCPTRACE_PKG)/
	cd $(KCPTRACE_DIR) && GO111MODULE=off GOFLAGS= GOPROXY=off GOENV=off \
		GOPATH=$(KCPTRACE_DIR):/usr/share/gocode GOCACHE=$(KCPTRACE_DIR)/cache \
		$(GO) build -o $(KCPTRACE) kcptrace
KCPTRACE_DEP := $(KCPTRACE)
KCPTRACE_BIN := $(KCPTRACE)
KCPTRACE_SKIP :=
else
KCPTRACE_DEP :=
KCPTRACE_BIN :=
KCPTRACE_SKIP := no Go toolchain ($(GO)) or no kcp-go source at $(KCPGO_SRC)
endif

$(O)/test_engine_diff: test_engine_diff.c $(ENGINE_DEPS) $(KCPTRACE_DEP) | $(O)
	$(CC) $(CFLAGS) -DKCPTRACE_BIN='"$(KCPTRACE_BIN)"' -DKCPTRACE_SKIP='"$(KCPTRACE_SKIP)"' \
		-DENGINE_WORKDIR='"$(ENGINE_O)"' -o $@ test_engine_diff.c netsim.c $(ENGINE_SRCS) $(LDFLAGS)

# The session extension (FIN, RST, marker, time-wait) between two engines.
TESTS += $(O)/test_session

$(O)/test_session: test_session.c $(ENGINE_DEPS) | $(O)
	$(CC) $(CFLAGS) -o $@ test_session.c netsim.c $(ENGINE_SRCS) $(LDFLAGS)
