# SPDX-License-Identifier: GPL-2.0
#
# Packet encryption suite: kmod/core/kcp_cipher.c and tools/kcpctl/kcpkey.c
# against vectors printed by the real kcp-go 5.6.1 (gen/cryptvectors, built
# offline in GOPATH mode from /usr/share/gocode and run at test time; the
# vectors are never committed). Needs libssl-dev; nettle-dev adds the
# Twofish reference, otherwise Twofish is reported as SKIP.
#
# make bench-crypt: MB/s of the module-implemented ciphers (not in check).

# Makefile includes the fragments before "all:"; keep "make" meaning all.
.DEFAULT_GOAL := all

CRYPT_O := $(abspath $(O))
CRYPT_SRCS := $(TOP)/kmod/core/kcp_cipher.c $(TOP)/tools/kcpctl/kcpkey.c $(ENV_USER)
CRYPT_HDRS := $(TOP)/kmod/core/kcp_cipher.h $(TOP)/kmod/core/kcp_salsa_x86.h $(ENV_HDRS) $(TOP)/uapi/linux/kcp.h \
	      $(TOP)/tools/kcpctl/kcpkey.h ../lib/tap.h ../lib/refcipher.h ../lib/hex.h
CRYPT_NETTLE := $(shell pkg-config --exists nettle 2>/dev/null && echo 1)
CRYPT_LIBS := -lcrypto $(if $(CRYPT_NETTLE),$(shell pkg-config --libs nettle))
CRYPT_DEFS := -I$(TOP)/uapi -DCRYPT_VECTORS='"$(CRYPT_O)/cryptvectors.txt"' \
	      $(if $(CRYPT_NETTLE),-DHAVE_NETTLE) -I$(TOP)/tools/kcpctl

# The kernel build is stricter than the test build: no VLAs, small frames,
# declarations first, prototypes; checked here without sanitizers.
CRYPT_KFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -Wsign-compare \
	-Wunused-parameter -Wvla -Wframe-larger-than=512 \
	-Wdeclaration-after-statement -Wmissing-prototypes \
	-Wstrict-prototypes -Wshadow -Wpointer-arith $(ENV_INC)

CRYPT_KCPGO := /usr/share/gocode/src/github.com/xtaci/kcp-go
CRYPT_HAVE_GO := $(and $(shell command -v go 2>/dev/null),$(wildcard $(CRYPT_KCPGO)/crypt.go))
CRYPT_GOENV := GO111MODULE=off GOPATH=$(CRYPT_O)/gopath:$(TOP)/selftests/lib/go:/usr/share/gocode \
	GOCACHE=$(CRYPT_O)/gocache GOENV=off GOPROXY=off GOFLAGS=

TESTS += $(O)/test_crypt

$(O)/kcp_cipher.kcheck.o: $(TOP)/kmod/core/kcp_cipher.c $(TOP)/kmod/core/kcp_cipher.h \
		$(ENV_HDRS) | $(O)
	$(CC) $(CRYPT_KFLAGS) -c -o $@ $<

$(O)/test_crypt: test_crypt.c $(CRYPT_SRCS) $(CRYPT_HDRS) \
		$(O)/kcp_cipher.kcheck.o crypt.mk | $(O) $(O)/cryptvectors.txt
	$(CC) $(CFLAGS) $(CRYPT_DEFS) -o $@ test_crypt.c $(CRYPT_SRCS) \
		$(LDFLAGS) $(CRYPT_LIBS)

ifneq ($(CRYPT_HAVE_GO),)
$(O)/cryptvectors: gen/cryptvectors/main.go $(wildcard $(CRYPT_KCPGO)/*.go) \
		$(wildcard $(TOP)/selftests/lib/go/src/kcptest/*/*.go) | $(O)
	mkdir -p $(CRYPT_O)/gopath/src $(CRYPT_O)/gocache
	cd gen/cryptvectors && $(CRYPT_GOENV) go build -o $(CRYPT_O)/cryptvectors main.go

$(O)/cryptvectors.txt: $(O)/cryptvectors
	$< > $@.tmp && mv $@.tmp $@
else
$(O)/cryptvectors.txt: | $(O)
	echo "# SKIP go toolchain or kcp-go source (golang-github-xtaci-kcp-dev) missing" > $@
endif

$(O)/bench_crypt: bench_crypt.c $(TOP)/kmod/core/kcp_cipher.c $(ENV_USER) \
		$(CRYPT_HDRS) | $(O)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror $(ENV_INC) -o $@ \
		bench_crypt.c $(TOP)/kmod/core/kcp_cipher.c $(ENV_USER) -lcrypto

bench-crypt: $(O)/bench_crypt
	$<

.PHONY: bench-crypt
