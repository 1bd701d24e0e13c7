// SPDX-License-Identifier: GPL-2.0
/*
 * Socket memory accounting, TCP's model: the segments a session keeps are
 * charged to its socket (received ones to sk_rmem_alloc against
 * SO_RCVBUF, sent and unacknowledged ones to sk_wmem_queued against
 * SO_SNDBUF), through sk_forward_alloc to the protocol's pages in
 * net.kcp.mem (pressure and hard limit, as tcp_mem) and to the socket's
 * memory cgroup. A socket's buffers start at net.kcp.rmem/wmem's default
 * and grow with the windows it is given, up to their max unless the user
 * set SO_RCVBUF/SO_SNDBUF (SO_*BUFFORCE, CAP_NET_ADMIN, goes beyond); a
 * window is never larger than its buffer holds. So no user and no peer
 * makes a session hold more than its buffers, and /proc/net/protocols,
 * SO_MEMINFO and memory.stat's "sock" show what it holds.
 */
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/percpu_counter.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <net/sock.h>

#include "compat.h"
#include "kcp.h"

static atomic_long_t kcp_memory_allocated;
static DEFINE_PER_CPU(int, kcp_memory_per_cpu_fw_alloc);
static struct percpu_counter kcp_sockets_allocated;
static unsigned long kcp_memory_pressure;

/* pages: no pressure below [0], pressure above [1], refused above [2] */
long sysctl_kcp_mem[3] __read_mostly;
/* bytes: guaranteed under pressure, a new socket's buffer, largest grown */
int sysctl_kcp_rmem[3] __read_mostly = { 4096, 131072, 4194304 };
int sysctl_kcp_wmem[3] __read_mostly = { 4096, 131072, 4194304 };

static void kcp_enter_memory_pressure(struct sock *sk)
{
	WRITE_ONCE(kcp_memory_pressure, 1);
}

static void kcp_leave_memory_pressure(struct sock *sk)
{
	WRITE_ONCE(kcp_memory_pressure, 0);
}

void kcp_mem_proto(struct proto *prot)
{
	prot->memory_allocated = &kcp_memory_allocated;
	prot->per_cpu_fw_alloc = &kcp_memory_per_cpu_fw_alloc;
	prot->sockets_allocated = &kcp_sockets_allocated;
	prot->memory_pressure = &kcp_memory_pressure;
	prot->enter_memory_pressure = kcp_enter_memory_pressure;
	prot->leave_memory_pressure = kcp_leave_memory_pressure;
	prot->sysctl_mem = sysctl_kcp_mem;
	prot->sysctl_rmem = sysctl_kcp_rmem;
	prot->sysctl_wmem = sysctl_kcp_wmem;
}

/*
 * Segments of a full datagram (up to 1500 bytes of MTU) come from their
 * own cache of 1536-byte objects, not kmalloc-2k: a quarter less memory
 * per segment, and fewer slab pages to allocate (and clear) as windows
 * fill and drain. And they are not zeroed: with init_on_alloc (Debian's
 * default) kmalloc clears all 2048 bytes of each, some 5 % of a bulk
 * transfer's instructions (perf, icount guest), while the engine sets a
 * segment's header and writes its payload (from the user or the
 * datagram) before reading either, and never reads past its length. A
 * cache with a constructor is what init_on_alloc leaves alone; the
 * constructor has nothing to set, kcp_seg_new() does it all.
 */
#define KCP_SEG_SLAB	1536
static struct kmem_cache *kcp_seg_cache;

static void kcp_seg_ctor(void *obj)
{
}

/* Only what kmalloc would round up to 2048: no segment takes more. */
static bool kcp_seg_slab(size_t size)
{
	return size > 1024 && size <= KCP_SEG_SLAB;
}

void *kcp_env_seg_alloc(size_t size, bool may_sleep)
{
	gfp_t gfp = may_sleep ? GFP_KERNEL : GFP_ATOMIC;

	if (kcp_seg_slab(size))
		return kmem_cache_alloc(kcp_seg_cache, gfp);
	return kmalloc(size, gfp);
}

void kcp_env_seg_free(void *p, size_t size)
{
	if (kcp_seg_slab(size))
		kmem_cache_free(kcp_seg_cache, p);
	else
		kfree(p);
}

/* The defaults tcp_init_mem() picks: 1/16 of the pages, 3/4 of it first. */
int kcp_mem_init(void)
{
	unsigned long limit = max(nr_free_buffer_pages() / 16, 128UL);
	int err;

	sysctl_kcp_mem[0] = limit / 4 * 3;
	sysctl_kcp_mem[1] = limit;
	sysctl_kcp_mem[2] = sysctl_kcp_mem[0] * 2;
	/* payloads are copied from and to user memory (hardened usercopy) */
	kcp_seg_cache = kmem_cache_create_usercopy("kcp_seg", KCP_SEG_SLAB, 0,
			SLAB_HWCACHE_ALIGN, offsetof(struct kcp_seg, data),
			KCP_SEG_SLAB - offsetof(struct kcp_seg, data),
			kcp_seg_ctor);
	if (!kcp_seg_cache)
		return -ENOMEM;
	err = percpu_counter_init(&kcp_sockets_allocated, 0, GFP_KERNEL);
	if (err)
		kmem_cache_destroy(kcp_seg_cache);
	return err;
}

void kcp_mem_exit(void)
{
	percpu_counter_destroy(&kcp_sockets_allocated);
	kmem_cache_destroy(kcp_seg_cache);
}

/* What the allocator really takes for @size bytes: charged, never less. */
static u32 kcp_truesize(u32 size)
{
	return kcp_seg_slab(size) ? KCP_SEG_SLAB : kmalloc_size_roundup(size);
}

/* What one full segment of this socket costs. */
u32 kcp_seg_truesize(const struct kcp_sock *ks)
{
	return kcp_truesize(sizeof(struct kcp_seg) + ks->kcp.mss);
}

/*
 * A listener's child is made in softirq, where the socket core gives it
 * no memory cgroup: it is charged to its listener's, whose owner made
 * the listening socket and so pays for what it accepts.
 */
void kcp_mem_sock_init(struct sock *sk, const struct sock *parent)
{
	sk->sk_sndbuf = READ_ONCE(sysctl_kcp_wmem[1]);
	sk->sk_rcvbuf = READ_ONCE(sysctl_kcp_rmem[1]);
	sk_sockets_allocated_inc(sk);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
#ifdef CONFIG_MEMCG
	if (parent && mem_cgroup_sockets_enabled && parent->sk_memcg &&
	    !sk->sk_memcg) {
		css_get(&parent->sk_memcg->css);
		sk->sk_memcg = parent->sk_memcg;
	}
#endif
}

/* Destructor: every segment was freed (and uncharged) before this. */
void kcp_mem_sock_destroy(struct sock *sk)
{
	WARN_ON_ONCE(atomic_read(&sk->sk_rmem_alloc));
	WARN_ON_ONCE(sk->sk_wmem_queued);
	sk_mem_reclaim_final(sk);
	sk_sockets_allocated_dec(sk);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
}

/* Room in SO_RCVBUF for @size more bytes of receive memory, or a drop. */
bool kcp_mem_rcv_room(struct sock *sk, u32 size)
{
	if (atomic_read(&sk->sk_rmem_alloc) + size <=
	    (unsigned int)READ_ONCE(sk->sk_rcvbuf))
		return true;
	KCP_INC_STATS(sock_net(sk), KCP_MIB_RCVBUF_DROP);
	return false;
}

/* Forward-allocate so that @size more bytes may be charged, or a refusal. */
bool kcp_mem_schedule(struct sock *sk, int size, int kind)
{
	int delta = size - sk->sk_forward_alloc;

	if (delta <= 0 || __sk_mem_schedule(sk, delta, kind))
		return true;
	KCP_INC_STATS(sock_net(sk), KCP_MIB_MEM_LIMIT);
	return false;
}

/*
 * Engine callback, socket locked: keep a segment of @size bytes. A
 * received one must fit SO_RCVBUF (a peer may send out of order up to
 * twice the window; what does not fit is dropped, not acknowledged, and
 * retransmitted); both must be allowed by net.kcp.mem and the cgroup.
 */
bool kcp_mem_charge(struct kcp_cb *kcp, bool rcv, u32 size)
{
	struct kcp_sock *ks = kcp_from_cb(kcp);
	struct sock *sk = &ks->sk;

	kcp_sk_assert_locked(ks);
	size = kcp_truesize(size);
	if ((rcv && !kcp_mem_rcv_room(sk, size)) ||
	    !kcp_mem_schedule(sk, size, rcv ? SK_MEM_RECV : SK_MEM_SEND))
		return false;
	if (rcv)
		atomic_add(size, &sk->sk_rmem_alloc);
	else
		sk_wmem_queued_add(sk, size);
	sk_mem_charge(sk, size);
	return true;
}

void kcp_mem_uncharge(struct kcp_cb *kcp, bool rcv, u32 size)
{
	struct sock *sk = &kcp_from_cb(kcp)->sk;

	size = kcp_truesize(size);
	if (rcv)
		atomic_sub(size, &sk->sk_rmem_alloc);
	else
		sk_wmem_queued_add(sk, -(int)size);
	sk_mem_uncharge(sk, size);
}

/*
 * A buffer for @wnd segments: grown to fit the window between the
 * sysctl's default and max, unless the user fixed it (SO_*BUF).
 */
static void kcp_buf_fit(struct sock *sk, int *buf, const int *sysctl, u32 wnd,
			u32 seg, int lock)
{
	u64 want = (u64)wnd * seg;

	if (sk->sk_userlocks & lock)
		return;
	want = clamp_t(u64, want, READ_ONCE(sysctl[1]), READ_ONCE(sysctl[2]));
	WRITE_ONCE(*buf, max_t(int, want, SOCK_MIN_RCVBUF));
}

/* Buffers for the windows just set; returns the receive window they hold. */
u32 kcp_mem_fit_windows(struct kcp_sock *ks, u32 snd_wnd, u32 rcv_wnd)
{
	struct sock *sk = &ks->sk;
	u32 seg = kcp_seg_truesize(ks), fec = 0;

	/* and the shards the FEC decoder may hold (fec.c), of about that size */
	if (ks->opts.fec_data && ks->opts.fec_parity)
		fec = KCP_FEC_RX_MULTI * (ks->opts.fec_data + ks->opts.fec_parity);
	kcp_buf_fit(sk, &sk->sk_sndbuf, sysctl_kcp_wmem, snd_wnd, seg,
		    SOCK_SNDBUF_LOCK);
	kcp_buf_fit(sk, &sk->sk_rcvbuf, sysctl_kcp_rmem, rcv_wnd + fec, seg,
		    SOCK_RCVBUF_LOCK);
	return clamp_t(u32, READ_ONCE(sk->sk_rcvbuf) / seg, 1, rcv_wnd);
}

/* Segments the send buffer still has room for (lockless: poll). */
int kcp_mem_snd_room(const struct kcp_sock *ks)
{
	int room = READ_ONCE(ks->sk.sk_sndbuf) -
		   READ_ONCE(ks->sk.sk_wmem_queued);

	return room > 0 ? DIV_ROUND_UP(room, kcp_seg_truesize(ks)) : 0;
}
