/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Invariants of one kcp_cb, checked by the engine fuzzers after every
 * step, and the validity of every datagram the engine emits.
 */
#ifndef _KCP_FUZZ_ENGINE_CHECK_H
#define _KCP_FUZZ_ENGINE_CHECK_H

#include "kcp_engine.h"
#include "fuzz_common.h"
#include "../lib/kcpwire.h"	/* the test side's codec, not kmod's */

/* What the harness allowed: the basis of the memory bound. */
struct eng_limits {
	u32 rcv_wnd;		/* the cb's rcv_wnd never changes in a run */
	u32 snd_segs;		/* most segments the harness lets it queue */
	size_t base_live;	/* fuzz_alloc.live before the cb existed */
	size_t extra;		/* other kmod/ memory the harness holds (FEC) */
};

/*
 * The checker is not under test: keep its loops out of the coverage map
 * (noinline: inlined into the harness they would be instrumented).
 */
#define ENG_NOCOV	__attribute__((noinline, no_sanitize("coverage")))

#define ENG_ACKLIST_MAX		1024	/* KCP_ACKLIST_MAX in kcp_engine.c */
#define ENG_SEG_MAX		(sizeof(struct kcp_seg) + KCP_MTU_MAX)

/*
 * Everything the engine may hold: two windows of received segments (out
 * of order and unread), the send queue the harness allowed, and the ACK
 * list (the old and the grown array live together while it grows).
 */
static inline size_t eng_mem_bound(const struct eng_limits *lim)
{
	return (2 * (size_t)lim->rcv_wnd + lim->snd_segs) * ENG_SEG_MAX +
	       3 * ENG_ACKLIST_MAX * sizeof(struct kcp_ack) + lim->extra;
}

static inline ENG_NOCOV u32 eng_list_len(const struct kcp_list *h)
{
	const struct kcp_list *pos;
	u32 n = 0;

	for (pos = h->next; pos != h; pos = pos->next) {
		FUZZ_CHECK(pos->next->prev == pos, "list links broken");
		n++;
	}
	return n;
}

#define eng_seg(l)	((const struct kcp_seg *)((const char *)(l) - \
			 offsetof(struct kcp_seg, node)))

static inline ENG_NOCOV void eng_check(const struct kcp_cb *kcp,
			     const struct eng_limits *lim)
{
	const struct kcp_list *pos;
	u64 bytes = 0, rbytes = 0;
	u32 n, sn;
	size_t mem;

	/* poll reads the published size without the lock: it must be true */
	FUZZ_CHECK(kcp->peek_size == kcp_peeksize(kcp),
		   "published peek_size %d differs from kcp_peeksize() %d (que %u)",
		   kcp->peek_size, kcp_peeksize(kcp), kcp->nrcv_que);
	FUZZ_CHECK(eng_list_len(&kcp->snd_queue) == kcp->nsnd_que,
		   "nsnd_que %u", kcp->nsnd_que);
	FUZZ_CHECK(eng_list_len(&kcp->snd_buf) == kcp->nsnd_buf,
		   "nsnd_buf %u", kcp->nsnd_buf);
	FUZZ_CHECK(eng_list_len(&kcp->rcv_queue) == kcp->nrcv_que,
		   "nrcv_que %u", kcp->nrcv_que);
	FUZZ_CHECK(eng_list_len(&kcp->rcv_buf) == kcp->nrcv_buf,
		   "nrcv_buf %u", kcp->nrcv_buf);

	/* send side: snd_buf is exactly sn snd_una..snd_nxt-1 */
	FUZZ_CHECK(kcp_timediff(kcp->snd_nxt, kcp->snd_una) >= 0,
		   "snd_una %u > snd_nxt %u", kcp->snd_una, kcp->snd_nxt);
	FUZZ_CHECK(kcp->snd_nxt - kcp->snd_una == kcp->nsnd_buf,
		   "snd_buf holds %u segments for [%u, %u)", kcp->nsnd_buf,
		   kcp->snd_una, kcp->snd_nxt);
	sn = kcp->snd_una;
	for (pos = kcp->snd_buf.next; pos != &kcp->snd_buf; pos = pos->next) {
		const struct kcp_seg *seg = eng_seg(pos);

		FUZZ_CHECK(seg->sn == sn, "snd_buf sn %u, expected %u",
			   seg->sn, sn);
		FUZZ_CHECK(seg->len <= seg->cap && seg->len <= kcp->mss,
			   "snd_buf seg len %u cap %u mss %u", seg->len,
			   seg->cap, kcp->mss);
		bytes += seg->len;
		sn++;
	}
	for (pos = kcp->snd_queue.next; pos != &kcp->snd_queue;
	     pos = pos->next) {
		const struct kcp_seg *seg = eng_seg(pos);

		FUZZ_CHECK(seg->len <= seg->cap && seg->len <= kcp->mss,
			   "snd_queue seg len %u cap %u mss %u", seg->len,
			   seg->cap, kcp->mss);
		FUZZ_CHECK(kcp->stream ? seg->frg == 0 : 1, "stream frg %u",
			   seg->frg);
		bytes += seg->len;
	}
	FUZZ_CHECK(bytes == kcp->snd_bytes, "snd_bytes %u, segments hold %llu",
		   kcp->snd_bytes, (unsigned long long)bytes);

	/* receive side */
	FUZZ_CHECK(kcp->nrcv_buf <= kcp->rcv_wnd, "nrcv_buf %u > rcv_wnd %u",
		   kcp->nrcv_buf, kcp->rcv_wnd);
	FUZZ_CHECK(kcp->nrcv_que <= kcp->rcv_wnd, "nrcv_que %u > rcv_wnd %u",
		   kcp->nrcv_que, kcp->rcv_wnd);
	n = 0;
	for (pos = kcp->rcv_buf.next; pos != &kcp->rcv_buf; pos = pos->next) {
		const struct kcp_seg *seg = eng_seg(pos);
		u32 off = seg->sn - kcp->rcv_nxt;

		FUZZ_CHECK(off < kcp->rcv_wnd,
			   "rcv_buf sn %u outside [%u, +%u)", seg->sn,
			   kcp->rcv_nxt, kcp->rcv_wnd);
		FUZZ_CHECK(!n || kcp_timediff(seg->sn, sn) > 0,
			   "rcv_buf not sorted: %u after %u", seg->sn, sn);
		FUZZ_CHECK(seg->len <= seg->cap &&
			   seg->len <= KCP_MTU_MAX - KCP_OVERHEAD,
			   "rcv_buf seg len %u cap %u", seg->len, seg->cap);
		sn = seg->sn;
		n++;
	}
	n = 0;
	for (pos = kcp->rcv_queue.next; pos != &kcp->rcv_queue;
	     pos = pos->next) {
		const struct kcp_seg *seg = eng_seg(pos);

		FUZZ_CHECK(seg->len <= seg->cap &&
			   seg->len <= KCP_MTU_MAX - KCP_OVERHEAD,
			   "rcv_queue seg len %u cap %u", seg->len, seg->cap);
		if (!n)
			FUZZ_CHECK(kcp->rcv_off <= seg->len,
				   "rcv_off %u beyond head len %u",
				   kcp->rcv_off, seg->len);
		rbytes += seg->len;
		n++;
	}
	FUZZ_CHECK(n || !kcp->rcv_off, "rcv_off %u with empty queue",
		   kcp->rcv_off);
	FUZZ_CHECK(rbytes - (n ? kcp->rcv_off : 0) == kcp->rcv_bytes,
		   "rcv_bytes %u, queue holds %llu unread", kcp->rcv_bytes,
		   (unsigned long long)(rbytes - kcp->rcv_off));

	FUZZ_CHECK(kcp->ackcount <= kcp->ackcap &&
		   kcp->ackcount <= ENG_ACKLIST_MAX,
		   "ackcount %u ackcap %u", kcp->ackcount, kcp->ackcap);
	FUZZ_CHECK(kcp->ackcap <= ENG_ACKLIST_MAX, "ackcap %u", kcp->ackcap);
	/* as kcp-go, NoDelay changes rx_minrto but not rx_rto itself */
	FUZZ_CHECK(kcp->rx_rto >= KCP_RTO_NDL && kcp->rx_rto <= KCP_RTO_MAX,
		   "rx_rto %u", kcp->rx_rto);
	FUZZ_CHECK(kcp->mss + KCP_OVERHEAD + kcp->reserved == kcp->mtu,
		   "mss %u mtu %u reserved %u", kcp->mss, kcp->mtu,
		   kcp->reserved);
	FUZZ_CHECK(kcp->rcv_wnd == lim->rcv_wnd, "rcv_wnd changed");

	mem = fuzz_alloc.live - lim->base_live;
	FUZZ_CHECK(mem <= eng_mem_bound(lim),
		   "engine holds %zu bytes, bound %zu (rcv_wnd %u, %u send segs)",
		   mem, eng_mem_bound(lim), lim->rcv_wnd, lim->snd_segs);
}

/*
 * An emitted datagram: non-empty, at most mtu - reserved bytes, and a
 * whole number of well-formed segments of our conv that a kcp-go peer
 * parses without error (FIN and RST only once the peer showed that it
 * speaks the session extension). Returns the number of PUSH segments.
 */
static inline ENG_NOCOV u32 eng_check_dgram(const struct kcp_cb *kcp, const u8 *p,
				  u32 len)
{
	u32 push = 0;

	FUZZ_CHECK(len > 0 && len <= kcp->mtu - kcp->reserved,
		   "datagram of %u bytes, mtu %u reserved %u", len, kcp->mtu,
		   kcp->reserved);
	while (len) {
		u32 slen;
		u8 cmd;

		FUZZ_CHECK(len >= KCP_OVERHEAD, "trailing %u bytes", len);
		FUZZ_CHECK(kt_g32(p) == kcp->conv, "conv %08x",
			   kt_g32(p));
		cmd = p[4];
		slen = kt_g32(p + 20);
		/* FIN and RST only to a peer that showed the marker */
		FUZZ_CHECK((cmd >= KCP_CMD_PUSH && cmd <= KCP_CMD_WINS) ||
			   (kcp->ext && (cmd == KCP_CMD_FIN ||
					 cmd == KCP_CMD_RST)),
			   "cmd %u (extension %u)", cmd, kcp->ext);
		/* the marker only from an engine that offers the extension */
		FUZZ_CHECK(kcp->ext_offer || kt_g32(p + 8) != KCP_EXT_MAGIC ||
			   (cmd != KCP_CMD_WASK && cmd != KCP_CMD_WINS),
			   "marker in a WASK/WINS without the offer");
		FUZZ_CHECK(slen <= len - KCP_OVERHEAD, "segment len %u of %u",
			   slen, len - KCP_OVERHEAD);
		if (cmd == KCP_CMD_PUSH) {
			FUZZ_CHECK(slen <= kcp->mss, "PUSH of %u > mss %u", slen,
				   kcp->mss);
			FUZZ_CHECK(slen > 0, "empty PUSH wedges kcp-go readers");
			FUZZ_CHECK(!kcp->stream || p[5] == 0,
				   "stream PUSH with frg %u", p[5]);
			push++;
		} else {
			FUZZ_CHECK(slen == 0, "cmd %u with %u payload bytes",
				   cmd, slen);
		}
		FUZZ_CHECK(kt_g16(p + 6) <= kcp->rcv_wnd,
			   "advertised wnd %u > rcv_wnd %u",
			   kt_g16(p + 6), kcp->rcv_wnd);
		p += KCP_OVERHEAD + slen;
		len -= KCP_OVERHEAD + slen;
	}
	return push;
}

#endif /* _KCP_FUZZ_ENGINE_CHECK_H */
