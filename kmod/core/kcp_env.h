/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few things the kernel-independent parts (engine, FEC codec, ciphers)
 * need from their environment: fixed-width types, memory, errno values and
 * little/big-endian byte access. The same sources are compiled into the
 * module and into the userspace unit tests and fuzzers; only this file
 * knows which one it is.
 */
#ifndef _KCP_ENV_H
#define _KCP_ENV_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/slab.h>
#include <linux/errno.h>
#include <linux/kernel.h>

/* Engine input runs in softirq; only process-context callers may sleep. */
static inline void *kcp_env_alloc(size_t size, bool may_sleep)
{
	return kmalloc(size, may_sleep ? GFP_KERNEL : GFP_ATOMIC);
}

static inline void *kcp_env_zalloc(size_t size, bool may_sleep)
{
	return kzalloc(size, may_sleep ? GFP_KERNEL : GFP_ATOMIC);
}

static inline void kcp_env_free(void *p)
{
	kfree(p);
}

/* Key material and plaintext copies must not outlive their owner. */
static inline void kcp_env_free_sensitive(void *p)
{
	kfree_sensitive(p);
}

#define kcp_env_wipe(p, n)	memzero_explicit(p, n)

/* A store that lockless readers (READ_ONCE) may see at any time. */
#define kcp_env_publish(x, v)	WRITE_ONCE(x, v)

/* Non-zero while the kcp:kcp_segment tracepoint is enabled (trace.c). */
extern int kcp_trace_users;

static inline bool kcp_env_trace(void)
{
	return unlikely(READ_ONCE(kcp_trace_users));
}

#else /* userspace: unit tests, fuzzers, benchmarks */

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include <errno.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#ifndef min
#define min(a, b)	((a) < (b) ? (a) : (b))
#define max(a, b)	((a) > (b) ? (a) : (b))
#endif
#ifndef min_t
#define min_t(t, a, b)	((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b)	((t)(a) > (t)(b) ? (t)(a) : (t)(b))
#endif
#ifndef clamp_t
#define clamp_t(t, v, lo, hi)	min_t(t, max_t(t, v, lo), hi)
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif
#ifndef likely
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#endif

/*
 * Tests can make allocations fail on purpose (kcp_env_fail_after) to prove
 * that every caller copes with allocation failure.
 */
extern long kcp_env_fail_after;

static inline void *kcp_env_alloc(size_t size, bool may_sleep)
{
	(void)may_sleep;
	if (kcp_env_fail_after == 0)
		return NULL;
	if (kcp_env_fail_after > 0)
		kcp_env_fail_after--;
	return malloc(size ? size : 1);
}

static inline void *kcp_env_zalloc(size_t size, bool may_sleep)
{
	void *p = kcp_env_alloc(size, may_sleep);

	if (p)
		memset(p, 0, size);
	return p;
}

static inline void kcp_env_free(void *p)
{
	free(p);
}

static inline void kcp_env_free_sensitive(void *p)
{
	free(p);
}

#define kcp_env_wipe(p, n)	memset(p, 0, n)
#define kcp_env_publish(x, v)	(*(volatile __typeof__(x) *)&(x) = (v))

/* Tests may turn the engine's segment events on. */
extern bool kcp_env_trace_on;

static inline bool kcp_env_trace(void)
{
	return kcp_env_trace_on;
}

#endif /* __KERNEL__ */

/* Wire integers are little-endian (kcp-go); ciphers use big-endian words. */
static inline u16 kcp_get_le16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

static inline u32 kcp_get_le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static inline void kcp_put_le16(u8 *p, u16 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

static inline void kcp_put_le32(u8 *p, u32 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
	p[2] = (u8)(v >> 16);
	p[3] = (u8)(v >> 24);
}

static inline u32 kcp_get_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | (u32)p[3];
}

static inline void kcp_put_be32(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 24);
	p[1] = (u8)(v >> 16);
	p[2] = (u8)(v >> 8);
	p[3] = (u8)v;
}

/* "a before b" on sequence numbers and ms timestamps, as kcp-go's _itimediff. */
static inline s32 kcp_timediff(u32 later, u32 earlier)
{
	return (s32)(later - earlier);
}

#endif /* _KCP_ENV_H */
