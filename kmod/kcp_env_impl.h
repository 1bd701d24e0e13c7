/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's side of core/kcp_env.h: what the kernel-independent code in
 * core/ gets from the module. Found through Kbuild's -I$(src); the unit
 * tests and fuzzers have their own (selftests/lib/kcp_env_impl.h).
 */
#ifndef _KCP_ENV_IMPL_H
#define _KCP_ENV_IMPL_H

#ifndef __KERNEL__
#error "this is the module's environment: userspace builds use -I selftests/lib"
#endif

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

/* Engine segments, from kcp_seg_cache when they fit (mem.c). */
void *kcp_env_seg_alloc(size_t size, bool may_sleep);
void kcp_env_seg_free(void *p, size_t size);

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

#endif /* _KCP_ENV_IMPL_H */
