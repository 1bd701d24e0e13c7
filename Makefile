# SPDX-License-Identifier: GPL-2.0
#
# kcp: the KCP protocol (kcp-go compatible) as the Linux socket family
# AF_KCP. See README.md.
#
#   make              module for $(KVER) (kmod/kcp.ko) + userspace tools
#   make deps         install the Debian packages everything needs
#   make check        every test: host unit tests + VM suites on 6.1 and 6.12
#   make demo         AF_KCP vs TCP on a lossy link, in a VM
#   make bench        benchmarks (slow)
#   make install      module into /lib/modules/$(KVER)/updates + depmod, kcpctl,
#                     libkcppreload.so, kcpctl.8, linux/kcp.h (DESTDIR, PREFIX)
#   make uninstall    the same, removed
#   make deb          Debian packages kcp-dkms and kcpctl (build/deb/)
#   make check-deb    install them in a bookworm chroot, build with DKMS, test
#
# KVER/KDIR select the kernel to build against; the default is the newest
# installed Debian headers package (not uname -r: the build host's own
# kernel may not be able to load modules).

SHELL := /bin/bash
TOP := $(CURDIR)
B := $(TOP)/build

KVERS_ALL := $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | \
		sed 's|/usr/src/linux-headers-||' | sort -V)
KVER ?= $(lastword $(filter-out %-rt-amd64,$(KVERS_ALL)))
KDIR ?= /lib/modules/$(KVER)/build
# make check covers bookworm's 6.1 and the newest 6.12 (not -rt)
KVER_61 := $(lastword $(filter 6.1.%,$(KVERS_ALL)))
KVER_612 := $(lastword $(filter-out %-rt-amd64,$(filter 6.12.%,$(KVERS_ALL))))
CHECK_KVERS := $(strip $(KVER_61) $(KVER_612))

CC ?= gcc
USER_CFLAGS := -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers -Werror -pthread

# kmod/: the kernel glue; kmod/core/: the kernel-independent code
KMOD_C := $(filter-out %.mod.c,$(wildcard kmod/*.c kmod/core/*.c))
KMOD_H := $(wildcard kmod/*.h kmod/core/*.h)
KMOD_SRCS := $(KMOD_C) $(KMOD_H) kmod/Kbuild uapi/linux/kcp.h

.PHONY: all module modules userspace deps check check-quick demo bench \
	install uninstall clean print-check-kernels sparse unit check-kernels \
	check-debug bench-tunnel deb check-deb kcpnet-test

all: module userspace

# In-tree build for $(KVER): kmod/kcp.ko
module: $(KMOD_SRCS)
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 modules

# Out-of-tree copy per kernel, so several kernels can be built side by side:
# a tree of symlinks to the sources that mirrors kmod/ (real directories,
# so that the objects stay in build/). Links to files that are gone go.
$(B)/%/kmod/kcp.ko: $(KMOD_SRCS)
	@mkdir -p $(B)/$*/kmod/core $(B)/$*/uapi/linux
	@rm -f $(B)/$*/kmod/*.mod.c
	@find $(B)/$*/kmod -type l ! -exec test -e {} \; -delete
	@$(foreach f,$(KMOD_C) $(KMOD_H),ln -sf $(TOP)/$(f) $(B)/$*/$(f);)
	@cp kmod/Kbuild $(B)/$*/kmod/Kbuild
	@ln -sf $(TOP)/uapi/linux/kcp.h $(B)/$*/uapi/linux/kcp.h
	$(MAKE) -s -C /lib/modules/$*/build M=$(B)/$*/kmod W=1 modules

modules: $(foreach k,$(CHECK_KVERS),$(B)/$(k)/kmod/kcp.ko)

print-check-kernels:
	@echo $(CHECK_KVERS)

TESTLIB_H := $(wildcard selftests/lib/*.h)

$(B)/net/%: selftests/net/%.c $(TESTLIB_H) uapi/linux/kcp.h
	@mkdir -p $(B)/net
	$(CC) $(USER_CFLAGS) -o $@ $< $(if $(filter kcpt,$*),tools/kcpctl/kcpkey.c -lcrypto) \
		$(if $(filter tunpeer,$*),-lcrypto)

$(B)/net/kcpt: tools/kcpctl/kcpkey.c tools/kcpctl/kcpkey.h tools/kcpctl/kcpnames.h
# options: the program, its test groups and the fake peer of selftests/lib
OPTIONS_C := $(wildcard selftests/net/options*.c) selftests/lib/fakepeer.c
$(B)/net/options: $(OPTIONS_C) selftests/net/options.h $(TESTLIB_H) \
		tools/kcpctl/kcpnames.h uapi/linux/kcp.h
	@mkdir -p $(B)/net
	$(CC) $(USER_CFLAGS) -o $@ $(OPTIONS_C)

$(B)/peers/kcppeer: selftests/peers/kcppeer/main.go selftests/peers/build.sh
	O=$(B)/peers selftests/peers/build.sh

# Go in module mode, offline: tools/go/kcpnet and its test use only the
# standard library (the caller's GOFLAGS and proxy are not used)
GO_ENV := env GO111MODULE=on GOFLAGS= GOPROXY=off GOSUMDB=off GOENV=off \
	GOWORK=off GOTOOLCHAIN=local GOPATH=$(B)/gopath-mod \
	GOCACHE=$(B)/go-cache CGO_ENABLED=0
KCPNET_SRC := $(wildcard tools/go/kcpnet/*.go) tools/go/kcpnet/go.mod

$(B)/net/kcpnet_xfer: $(KCPNET_SRC) selftests/net/kcpnet_xfer/main.go \
		selftests/net/kcpnet_xfer/go.mod
	@mkdir -p $(B)/net
	cd selftests/net/kcpnet_xfer && $(GO_ENV) go build -trimpath -o $@ .

# host tests of tools/go/kcpnet (struct layout, address parsing)
kcpnet-test:
	cd tools/go/kcpnet && $(GO_ENV) go vet . && $(GO_ENV) go test .

userspace: $(B)/net/kcpt $(B)/net/kcp_sock $(B)/net/options \
	$(B)/net/kcpctl_hold $(B)/net/kcpctl_shim \
	$(B)/net/attack $(B)/net/hostile $(B)/net/races \
	$(B)/net/tunpeer $(B)/net/lifecycle $(B)/net/session \
	$(B)/peers/kcppeer $(B)/net/kcpnet_xfer
	$(MAKE) -C tools/kcpctl O=$(B)/tools

unit:
	$(MAKE) -C selftests/unit all

deps:
	selftests/vm/deps.sh

check: deps
	$(MAKE) modules userspace unit
	selftests/check.sh

# The same with smaller transfers: a quick loop while developing.
check-quick: modules userspace unit
	selftests/check.sh --quick

# The VM suite on 6.12-rt and on Debian sid's newest kernel (built in a
# debootstrap chroot of sid, kept in build/sid).
check-kernels: deps
	$(MAKE) userspace
	selftests/kernels.sh

# The VM suite on a KASAN/kmemleak/lockdep/UBSAN build of 6.1 (built once,
# kept in build/debug-kernel), then a kmemleak scan.
check-debug:
	selftests/vm/deps.sh --debug
	$(MAKE) userspace
	selftests/debug.sh

# demo.sh builds what it needs: the module for its guest kernel, kcpt, kcppeer
demo: deps
	selftests/demo/demo.sh

bench: deps
	$(MAKE) modules userspace
	selftests/bench/bench.sh

# kcptun-client -> kcptun-server against kcptun-client -> kcpctl tunnel
# server, under an instruction-count clock (BENCH=quick: smaller)
bench-tunnel: modules userspace
	@mkdir -p $(B)/bench
	selftests/vm/run-vm.sh --kernel 6.12 --icount --timeout 3600 \
		--results $(B)/bench --log $(B)/bench/serial-tunnel.log \
		--insmod $(B)/$(KVER_612)/kmod/kcp.ko -- \
		selftests/bench/tunnel.sh $(filter quick,$(BENCH)) | \
		tee $(B)/bench/tunnel.txt

sparse:
	$(MAKE) -C $(KDIR) M=$(TOP) C=2 W=1 modules

# DESTDIR stages everything (packaging); PREFIX is for the tools, header
# and man page. The module goes to /lib/modules/$(KVER)/updates/kmod/
# (kcp.ko, or kcp.ko.xz where the kernel compresses its modules). depmod
# runs only without DESTDIR: a staged tree gets no modules.* index files,
# which would list only kcp and replace the system's if packaged; the
# target runs depmod (a package's postinst does).
PREFIX ?= /usr/local
MODDIR = $(DESTDIR)/lib/modules/$(KVER)/updates
KCP_MODS = $(foreach s,.ko .ko.xz .ko.gz .ko.zst,$(MODDIR)/kmod/kcp$(s))
# Distribution headers carry no signing key: do not try (and fail) to sign.
KCP_NOSIGN = $(if $(wildcard $(KDIR)/certs/signing_key.x509),,CONFIG_MODULE_SIG_ALL=)

install: module
	$(MAKE) -C $(KDIR) M=$(TOP) INSTALL_MOD_DIR=updates $(KCP_NOSIGN) \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR) DEPMOD=true) \
		modules_install
	$(if $(DESTDIR),@echo "staged in $(DESTDIR): run 'depmod -a $(KVER)' on the target",depmod -a $(KVER))
	$(MAKE) -C tools/kcpctl O=$(B)/tools DESTDIR=$(DESTDIR) \
		PREFIX=$(PREFIX) install
	install -D -m 644 uapi/linux/kcp.h \
		$(DESTDIR)$(PREFIX)/include/linux/kcp.h

# With DESTDIR, index files an older 'make install' staged are removed
# with the module when no other module is left in that tree.
uninstall:
	rm -f $(KCP_MODS)
	rmdir $(MODDIR)/kmod $(MODDIR) 2>/dev/null || true
	$(if $(DESTDIR),if [ -d $(DESTDIR)/lib/modules/$(KVER) ] && \
		[ -z "$$(find $(DESTDIR)/lib/modules/$(KVER) -name '*.ko*' -print -quit)" ]; then \
		rm -f $(DESTDIR)/lib/modules/$(KVER)/modules.*; \
		rmdir $(DESTDIR)/lib/modules/$(KVER) $(DESTDIR)/lib/modules \
			$(DESTDIR)/lib 2>/dev/null || true; fi, \
		if [ -d /lib/modules/$(KVER) ]; then depmod -a $(KVER); fi)
	$(MAKE) -C tools/kcpctl DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) uninstall
	rm -f $(DESTDIR)$(PREFIX)/include/linux/kcp.h
	rmdir $(DESTDIR)$(PREFIX)/include/linux 2>/dev/null || true

# Debian packages kcp-dkms (module source, built by DKMS) and kcpctl, from
# the working tree (committed or not; untracked files included unless
# ignored) into build/deb/. Needs debhelper, dh-dkms, libssl-dev.
KCP_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
DEB_SRC := $(B)/deb/src/kcp-$(KCP_VERSION)

deb:
	@grep -q '^#define KCP_VERSION "$(KCP_VERSION)"$$' kmod/main.c || \
		{ echo "deb: kmod/main.c KCP_VERSION is not dkms.conf's $(KCP_VERSION)" >&2; exit 1; }
	@[ "$$(dpkg-parsechangelog -S Version)" = "$(KCP_VERSION)" ] || \
		{ echo "deb: debian/changelog is not at $(KCP_VERSION)" >&2; exit 1; }
	rm -rf $(B)/deb/src $(B)/deb/*.deb $(B)/deb/*.buildinfo $(B)/deb/*.changes
	mkdir -p $(DEB_SRC)
	git ls-files -z -c -o --exclude-standard | \
		grep -zv '^selftests/bench/results/' | \
		xargs -0 cp --parents -t $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc > ../build.log 2>&1 || \
		{ tail -30 ../build.log; exit 1; }
	mv $(B)/deb/src/*.deb $(B)/deb/
	@ls $(B)/deb/*.deb

# Check make install DESTDIR= and make uninstall, then install the
# packages into a Debian bookworm chroot (debootstrap, kept in
# build/deb/chroot-<kver>), build the module through DKMS there, load it
# in a VM of that kernel (6.1; DEB_KERNEL=6.12 for the other) and move a
# file over AF_KCP with kcpctl run. Not part of 'make check': 3-8 minutes
# on a busy machine, more on the first run (debootstrap, headers).
DEB_KERNEL ?= 6.1
check-deb: deb
	selftests/deb/deb-test.sh --kernel $(DEB_KERNEL)

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean 2>/dev/null
	rm -rf $(B)
