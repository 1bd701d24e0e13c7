/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared pieces of the libFuzzer targets: an input reader in the style of
 * FuzzedDataProvider (reads past the end give zeros), the counting
 * allocator the kmod/ sources are routed through (fuzz_alloc.h), and
 * FUZZ_CHECK, which aborts with a message so libFuzzer keeps the input.
 */
#ifndef _KCP_FUZZ_COMMON_H
#define _KCP_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include "kcp_env.h"

struct fin {
	const u8 *p;
	size_t n;
};

static inline void fin_init(struct fin *f, const u8 *p, size_t n)
{
	f->p = p;
	f->n = n;
}

static inline bool fin_empty(const struct fin *f)
{
	return !f->n;
}

static inline u8 fin_u8(struct fin *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline u16 fin_u16(struct fin *f)
{
	u16 lo = fin_u8(f);

	return lo | (u16)fin_u8(f) << 8;
}

static inline u32 fin_u32(struct fin *f)
{
	u32 lo = fin_u16(f);

	return lo | (u32)fin_u16(f) << 16;
}

/* Up to @want bytes in place; *@got says how many there were. */
static inline const u8 *fin_bytes(struct fin *f, size_t want, size_t *got)
{
	const u8 *p = f->p;

	if (want > f->n)
		want = f->n;
	f->p += want;
	f->n -= want;
	*got = want;
	return p;
}

/*
 * Counting allocator. live/peak are the bytes the kmod/ code holds (the
 * harness's own allocations are not counted). With a non-zero fail mask,
 * allocation number i fails when bit (i % 64) of the mask is set.
 */
struct fuzz_alloc_state {
	size_t live;
	size_t peak;
	u64 nalloc;
	u64 nfail;
	u64 fail_mask;
};

extern struct fuzz_alloc_state fuzz_alloc;

static inline void fuzz_alloc_reset(u64 fail_mask)
{
	fuzz_alloc.peak = fuzz_alloc.live;
	fuzz_alloc.nalloc = 0;
	fuzz_alloc.nfail = 0;
	fuzz_alloc.fail_mask = fail_mask;
}

void fuzz_die(const char *file, int line, const char *cond, const char *fmt,
	      ...) __attribute__((noreturn, format(printf, 4, 5)));

#define FUZZ_CHECK(cond, ...)						\
	do {								\
		if (!(cond))						\
			fuzz_die(__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)

/*
 * Known findings (reported, fix not yet applied) that a long campaign
 * wants to step over to reach new ones: KCP_FUZZ_TOLERATE is a
 * comma-separated list of finding ids (see README), or "all". Strict
 * (nothing tolerated) by default.
 */
bool fuzz_tolerate(const char *id);

/*
 * The harness's own byte loops (payload fill, compare, touch) are not
 * under test: their loop compares, traced per byte, cost more than the
 * code under test and tell the fuzzer nothing. ASan and UBSan still
 * check every access in them. noinline: inlined into an instrumented
 * caller, the loop would be instrumented as part of it.
 */
#define FUZZ_NOCOV	__attribute__((noinline, no_sanitize("coverage")))

/* Deterministic filler for payloads: xorshift64* keyed by @seed. */
static inline u8 fuzz_pattern(u64 seed, u64 i)
{
	u64 x = seed ^ (i * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (u8)x;
}

/* p[i] = fuzz_pattern(seed, off + i) for i < len. */
static inline FUZZ_NOCOV void fuzz_fill(u8 *p, u64 seed, u64 off, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = fuzz_pattern(seed, off + i);
}

/* The first i < len where p[i] != fuzz_pattern(seed, off + i), or len. */
static inline FUZZ_NOCOV size_t fuzz_mismatch(const u8 *p, u64 seed, u64 off,
					      size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != fuzz_pattern(seed, off + i))
			break;
	return i;
}

extern volatile u8 fuzz_sink;

/* Reads every byte of p[0..len) (ASan checks each) into a sink. */
static inline FUZZ_NOCOV void fuzz_touch(const u8 *p, size_t len)
{
	u8 x = 0;
	size_t i;

	for (i = 0; i < len; i++)
		x ^= p[i];
	fuzz_sink = x;
}

/* FUZZ_DEBUG set in the environment (read once). */
bool fuzz_debug(void);

#endif /* _KCP_FUZZ_COMMON_H */
