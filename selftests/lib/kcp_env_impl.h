/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace side of kmod/core/kcp_env.h, for the unit tests, fuzzers and
 * benchmarks that compile the kernel-independent sources of kmod/core/:
 * found through -I$(TOP)/selftests/lib in their Makefiles (the module has
 * its own, kmod/kcp_env_impl.h). Also the hooks only tests have
 * (kcp_env_fail_after, kcp_env_trace_on), defined in env_user.c.
 */
#ifndef _KCP_ENV_IMPL_H
#define _KCP_ENV_IMPL_H

#ifdef __KERNEL__
#error "the userspace environment: the module has its own in kmod/"
#endif

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
/* The kernel's static_assert(): the message is optional. */
#undef static_assert
#define static_assert(expr, ...)	__kcp_static_assert(expr, ##__VA_ARGS__, #expr)
#define __kcp_static_assert(expr, msg, ...)	_Static_assert(expr, msg)
#ifndef likely
#define __aligned(n)	__attribute__((aligned(n)))
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

/* The module keeps segments in a slab cache; here they are plain. */
static inline void *kcp_env_seg_alloc(size_t size, bool may_sleep)
{
	return kcp_env_alloc(size, may_sleep);
}

static inline void kcp_env_seg_free(void *p, size_t size)
{
	(void)size;
	kcp_env_free(p);
}

#define kcp_env_wipe(p, n)	memset(p, 0, n)
#define kcp_env_publish(x, v)	(*(volatile __typeof__(x) *)&(x) = (v))

/* Tests may turn the engine's segment events on. */
extern bool kcp_env_trace_on;

static inline bool kcp_env_trace(void)
{
	return kcp_env_trace_on;
}

#endif /* _KCP_ENV_IMPL_H */
