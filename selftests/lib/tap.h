/* SPDX-License-Identifier: GPL-2.0 */
/*
 * selftests/lib: what the test programs of selftests/ share (host unit
 * tests, fuzz targets, in-VM tests, benchmarks):
 *
 *   tap.h       TAP output (this file)
 *   kcpwire.h   a test-side KCP wire codec: the 24-byte segment header,
 *               written and parsed independently of kmod/ (the engine's
 *               own codec is what the tests check, so they must not use it)
 *   kcptest.h   in-VM helpers: the family in use, addresses, sockets, the
 *               data stream shared with the Go peer
 *   cli.h       command-line parsing, network namespaces and the KCP
 *               socket options of the peers (kcpt, kbench, kcpscale)
 *   refcipher.h OpenSSL/nettle single-block ciphers as references for
 *               kmod/kcp_cipher.c (unit and fuzz)
 *   hex.h       hex strings of test vectors and scripts
 *   fakepeer.c  a fake KCP peer on a UDP socket (selftests/net/options)
 *   tap.sh      TAP for the shell scripts
 *   go/         Go helpers of the kcp-go based programs (GOPATH mode)
 *
 * The kernel's own harness (tools/testing/selftests/kselftest.h and
 * kselftest_harness.h) was weighed against this small helper and not
 * taken, for three reasons:
 *  - availability: it is only in the kernel source (linux-source-6.1,
 *    a 138 MB tarball), which "make deps" installs only for make
 *    check-debug; the linux-headers packages the build needs do not
 *    carry it, and a copy in this tree is what the clean-up avoids;
 *  - shape: kselftest_harness.h runs every TEST() in a forked child with
 *    its own fixture, and prints the plan first; our suites are long
 *    sequences that share state on purpose (one fake peer, sockets kept
 *    across checks, kernel counters read before and after), several
 *    count their checks only as they go (one per cipher, per file line),
 *    and the host tests build with ASan/UBSan and libFuzzer, where a
 *    fork per test multiplies the cost;
 *  - size: what the suites need of TAP is the four functions below, in
 *    the format selftests/check.sh and selftests/net/lib.sh already
 *    count ("ok N - name", "# SKIP", "# TODO", the plan last).
 */
#ifndef _KT_TAP_H
#define _KT_TAP_H

#include <stdarg.h>
#include <stdio.h>

/* weak: one set of counters however many files of a program include this */
__attribute__((weak)) int kt_n, kt_failed, kt_skipped;

static inline __attribute__((format(printf, 2, 3)))
void kt_result(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++kt_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		kt_failed++;
}

static inline __attribute__((format(printf, 2, 3)))
void kt_skip(const char *why, const char *fmt, ...)
{
	va_list ap;

	printf("ok %d - ", ++kt_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", why);
	fflush(stdout);
	kt_skipped++;
}

#define kt_diag(...) do { printf("# " __VA_ARGS__); printf("\n"); fflush(stdout); } while (0)

/* The plan, last; the exit status: 1 if anything failed. */
static inline int kt_done(void)
{
	printf("1..%d\n", kt_n);
	return kt_failed ? 1 : 0;
}

#endif
