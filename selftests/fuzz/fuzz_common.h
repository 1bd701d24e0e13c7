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

/* Deterministic filler for payloads: xorshift64* keyed by @seed. */
static inline u8 fuzz_pattern(u64 seed, u64 i)
{
	u64 x = seed ^ (i * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (u8)x;
}

#endif /* _KCP_FUZZ_COMMON_H */
