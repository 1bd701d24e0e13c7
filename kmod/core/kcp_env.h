/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few things the kernel-independent code in core/ (engine, FEC codec,
 * ciphers) needs from its environment: fixed-width types, memory, errno
 * values, a lockless-publish store, the trace switch, and little/big-endian
 * byte access. The same sources are compiled into the module and into the
 * userspace unit tests and fuzzers. This header is the same for both; the
 * environment itself is "kcp_env_impl.h", of which there are two, chosen
 * by the include path (-I): kmod/kcp_env_impl.h for the module (Kbuild),
 * selftests/lib/kcp_env_impl.h for the tests and fuzzers (their
 * Makefiles). Nothing in core/ includes any other header.
 *
 * kcp_env_impl.h provides:
 *   u8..u64, s8..s64, bool, size_t, NULL, memcpy()/memset()/memcmp()/
 *   strcmp(), the E* errno values, min()/max()/min_t()/max_t()/clamp_t(),
 *   ARRAY_SIZE(), likely()/unlikely(), static_assert();
 *   void *kcp_env_alloc(size_t size, bool may_sleep);
 *   void *kcp_env_zalloc(size_t size, bool may_sleep);
 *   void kcp_env_free(void *p);
 *   void kcp_env_free_sensitive(void *p);	wipes before freeing
 *   void *kcp_env_seg_alloc(size_t size, bool may_sleep);
 *   void kcp_env_seg_free(void *p, size_t size);
 *					an engine segment, not zeroed: its
 *					header is set and its payload
 *					written before either is read
 *   kcp_env_wipe(p, n);			a memset() not optimised away
 *   kcp_env_publish(x, v);			a store lockless readers see
 *   bool kcp_env_trace(void);		true while segment events are wanted
 */
#ifndef _KCP_ENV_H
#define _KCP_ENV_H

#include "kcp_env_impl.h"

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
