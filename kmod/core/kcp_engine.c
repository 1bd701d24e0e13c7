// SPDX-License-Identifier: GPL-2.0
/*
 * KCP ARQ engine, following kcp-go v5.6.1 (kcp.go) decision for decision so
 * that a peer cannot tell it from kcp-go on the wire. Deliberate departures
 * are marked "Unlike kcp-go" and are about memory bounds, not protocol.
 */
#include "kcp_engine.h"

#define KCP_ACKLIST_INIT	16
/*
 * kcp-go lets the ACK list grow without bound between two flushes. We
 * flush the list early when it reaches this size, which bounds memory
 * against duplicate floods and changes nothing for a well-behaved peer
 * (one interval of ACKs rarely exceeds a few hundred entries).
 */
#define KCP_ACKLIST_MAX		1024

#define kcp_seg_of(l)	((struct kcp_seg *)((char *)(l) - offsetof(struct kcp_seg, node)))

static inline void kcp_list_init(struct kcp_list *h)
{
	h->next = h;
	h->prev = h;
}

static inline bool kcp_list_empty(const struct kcp_list *h)
{
	return h->next == h;
}

static inline void kcp_list_insert(struct kcp_list *n, struct kcp_list *prev,
				   struct kcp_list *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

static inline void kcp_list_add_tail(struct kcp_list *n, struct kcp_list *h)
{
	kcp_list_insert(n, h->prev, h);
}

static inline void kcp_list_del(struct kcp_list *n)
{
	n->next->prev = n->prev;
	n->prev->next = n->next;
	n->next = n;
	n->prev = n;
}

static inline struct kcp_seg *kcp_first(const struct kcp_list *h)
{
	return kcp_seg_of(h->next);
}

static inline struct kcp_seg *kcp_last(const struct kcp_list *h)
{
	return kcp_seg_of(h->prev);
}

static inline u32 kcp_now(struct kcp_cb *kcp)
{
	return kcp->ops->clock(kcp);
}

static inline void kcp_trace(struct kcp_cb *kcp, enum kcp_seg_event ev,
			     u32 sn, u32 len)
{
	if (kcp_env_trace() && kcp->ops->seg)
		kcp->ops->seg(kcp, ev, sn, len);
}

static inline void kcp_stat(struct kcp_cb *kcp, enum kcp_stat idx, u32 n)
{
	if (!n)
		return;
	kcp->stats[idx] += n;
	if (kcp->ops->stat)
		kcp->ops->stat(kcp, idx, n);
}

/* A segment for the send (@rcv false) or receive side, charged to it. */
static struct kcp_seg *kcp_seg_new(struct kcp_cb *kcp, u32 cap, bool rcv,
				   bool may_sleep)
{
	u32 size = sizeof(struct kcp_seg) + cap;
	struct kcp_seg *seg;

	if (kcp->ops->mem_charge && !kcp->ops->mem_charge(kcp, rcv, size))
		return NULL;
	seg = kcp_env_seg_alloc(size, may_sleep);
	if (!seg) {
		if (kcp->ops->mem_uncharge)
			kcp->ops->mem_uncharge(kcp, rcv, size);
		return NULL;
	}
	memset(seg, 0, sizeof(*seg));
	kcp_list_init(&seg->node);
	seg->cap = (u16)cap;
	seg->rcv = rcv;
	return seg;
}

static void kcp_seg_free(struct kcp_cb *kcp, struct kcp_seg *seg)
{
	u32 size;

	if (!seg)
		return;
	size = sizeof(struct kcp_seg) + seg->cap;
	if (kcp->ops->mem_uncharge)
		kcp->ops->mem_uncharge(kcp, seg->rcv, size);
	kcp_env_seg_free(seg, size);
}

static void kcp_free_list(struct kcp_cb *kcp, struct kcp_list *h)
{
	while (!kcp_list_empty(h)) {
		struct kcp_seg *seg = kcp_first(h);

		kcp_list_del(&seg->node);
		kcp_seg_free(kcp, seg);
	}
}

void kcp_init(struct kcp_cb *kcp, u32 conv, const struct kcp_ops *ops)
{
	memset(kcp, 0, sizeof(*kcp));
	kcp->ops = ops;
	kcp->conv = conv;
	kcp->snd_wnd = KCP_WND_SND;
	kcp->rcv_wnd = KCP_WND_RCV;
	kcp->rmt_wnd = KCP_WND_RCV;
	kcp->mtu = KCP_MTU_DEF;
	kcp->mss = kcp->mtu - KCP_OVERHEAD;
	kcp->rx_rto = KCP_RTO_DEF;
	kcp->rx_minrto = KCP_RTO_MIN;
	kcp->interval = KCP_INTERVAL;
	kcp->ssthresh = KCP_THRESH_INIT;
	kcp->dead_link = KCP_DEADLINK_DEF;
	kcp_list_init(&kcp->snd_queue);
	kcp_list_init(&kcp->snd_buf);
	kcp_list_init(&kcp->rcv_queue);
	kcp_list_init(&kcp->rcv_buf);
	/*
	 * kcp-go's per-session timer fires once right at creation and that
	 * flush (which moves no data, cwnd being 0) leaves cwnd = 1 and
	 * incr = mss. Our sessions arm no timer while idle, so start there.
	 */
	kcp->cwnd = 1;
	kcp->incr = kcp->mss;
	kcp->peek_size = -1;
}

/* rcv_queue may have changed: publish what a whole-message read gets. */
static void kcp_publish_peek(struct kcp_cb *kcp)
{
	kcp_env_publish(kcp->peek_size, kcp_peeksize(kcp));
}

void kcp_end(struct kcp_cb *kcp)
{
	kcp_free_list(kcp, &kcp->snd_queue);
	kcp_free_list(kcp, &kcp->snd_buf);
	kcp_free_list(kcp, &kcp->rcv_buf);
	kcp->nsnd_que = 0;
	kcp->nsnd_buf = 0;
	kcp->nrcv_buf = 0;
	kcp->snd_bytes = 0;
	kcp->probe = 0;
	kcp_env_free(kcp->acklist);
	kcp->acklist = NULL;
	kcp->ackcount = 0;
	kcp->ackcap = 0;
}

void kcp_release(struct kcp_cb *kcp)
{
	kcp_end(kcp);
	kcp_free_list(kcp, &kcp->rcv_queue);
	kcp->nrcv_que = 0;
	kcp->rcv_off = 0;
	kcp->rcv_bytes = 0;
	kcp_publish_peek(kcp);
}

void kcp_shrink(struct kcp_cb *kcp)
{
	if (kcp->ackcount)
		return;
	kcp_env_free(kcp->acklist);
	kcp->acklist = NULL;
	kcp->ackcap = 0;
}

/*
 * The largest segment already queued must still fit a datagram, so the
 * segment size may only shrink while nothing is queued for sending.
 */
static bool kcp_mss_ok(const struct kcp_cb *kcp, u32 mss)
{
	return mss >= kcp->mss || (!kcp->nsnd_que && !kcp->nsnd_buf);
}

int kcp_set_mtu(struct kcp_cb *kcp, u32 mtu)
{
	if (mtu < KCP_MTU_MIN || mtu > KCP_MTU_MAX)
		return -EINVAL;
	if (kcp->reserved >= mtu - KCP_OVERHEAD)
		return -EINVAL;
	if (!kcp_mss_ok(kcp, mtu - KCP_OVERHEAD - kcp->reserved))
		return -EBUSY;
	kcp->mtu = mtu;
	kcp->mss = mtu - KCP_OVERHEAD - kcp->reserved;
	return 0;
}

int kcp_set_reserved(struct kcp_cb *kcp, u32 reserved)
{
	if (reserved >= kcp->mtu - KCP_OVERHEAD)
		return -EINVAL;
	if (!kcp_mss_ok(kcp, kcp->mtu - KCP_OVERHEAD - reserved))
		return -EBUSY;
	kcp->reserved = (u16)reserved;
	kcp->mss = kcp->mtu - KCP_OVERHEAD - reserved;
	/* kcp-go reserves header room before its first flush sets incr */
	if (!kcp->snd_nxt)
		kcp->incr = kcp->mss;
	return 0;
}

void kcp_set_nodelay(struct kcp_cb *kcp, int nodelay, int interval,
		     int resend, int nc)
{
	if (nodelay >= 0) {
		kcp->nodelay = (u32)nodelay;
		kcp->rx_minrto = nodelay ? KCP_RTO_NDL : KCP_RTO_MIN;
	}
	if (interval >= 0)
		kcp->interval = clamp_t(u32, (u32)interval, KCP_INTERVAL_MIN,
					KCP_INTERVAL_MAX);
	if (resend >= 0)
		kcp->fastresend = resend;
	if (nc >= 0)
		kcp->nocwnd = !!nc;
}

void kcp_set_wndsize(struct kcp_cb *kcp, u32 sndwnd, u32 rcvwnd)
{
	if (sndwnd)
		kcp->snd_wnd = min_t(u32, sndwnd, KCP_WND_MAX);
	if (rcvwnd)
		kcp->rcv_wnd = min_t(u32, rcvwnd, KCP_WND_MAX);
}

/* Stream mode: fill the last segment still waiting in snd_queue to mss. */
static int kcp_send_topup(struct kcp_cb *kcp, u32 len, kcp_copy_t copy,
			  void *arg)
{
	struct kcp_seg *seg;
	u32 room;
	int err;

	if (!kcp->nsnd_que)
		return 0;
	seg = kcp_last(&kcp->snd_queue);
	if (seg->fin)
		return 0;
	room = min_t(u32, seg->cap, kcp->mss);
	if (seg->len >= room)
		return 0;
	room = min_t(u32, room - seg->len, len);
	err = copy(arg, seg->data + seg->len, room);
	if (err)
		return err;
	seg->len += (u16)room;
	kcp->snd_bytes += room;
	return (int)room;
}

static void kcp_queue_send(struct kcp_cb *kcp, struct kcp_seg *seg)
{
	kcp_list_add_tail(&seg->node, &kcp->snd_queue);
	kcp->nsnd_que++;
	kcp->snd_bytes += seg->len;
}

/* Stream mode: segments of mss capacity so later writes can top them up. */
static int kcp_send_stream(struct kcp_cb *kcp, u32 len, kcp_copy_t copy,
			   void *arg, bool may_sleep)
{
	u32 done = 0;
	int n;

	n = kcp_send_topup(kcp, len, copy, arg);
	if (n < 0)
		return n;
	done = (u32)n;
	while (done < len) {
		u32 size = min_t(u32, len - done, kcp->mss);
		struct kcp_seg *seg = kcp_seg_new(kcp, kcp->mss, false,
						  may_sleep);
		int err;

		if (!seg)
			return done ? (int)done : -ENOMEM;
		err = copy(arg, seg->data, size);
		if (err) {
			kcp_seg_free(kcp, seg);
			return done ? (int)done : err;
		}
		seg->len = (u16)size;
		kcp_queue_send(kcp, seg);
		done += size;
	}
	return (int)done;
}

/* Message mode: all fragments or none, so a message is never torn. */
static int kcp_send_msg(struct kcp_cb *kcp, u32 len, kcp_copy_t copy,
			void *arg, bool may_sleep)
{
	struct kcp_list frags;
	u32 count, i, off = 0;
	int err = -ENOMEM;

	count = len <= kcp->mss ? 1 : (len + kcp->mss - 1) / kcp->mss;
	if (count > KCP_FRG_MAX)
		return -EMSGSIZE;
	kcp_list_init(&frags);
	for (i = 0; i < count; i++) {
		u32 size = min_t(u32, len - off, kcp->mss);
		struct kcp_seg *seg = kcp_seg_new(kcp, size, false, may_sleep);

		if (!seg) {
			err = -ENOMEM;
			goto fail;
		}
		kcp_list_add_tail(&seg->node, &frags);
		err = copy(arg, seg->data, size);
		if (err)
			goto fail;
		seg->len = (u16)size;
		seg->frg = (u8)(count - i - 1);
		off += size;
	}
	while (!kcp_list_empty(&frags)) {
		struct kcp_seg *seg = kcp_first(&frags);

		kcp_list_del(&seg->node);
		kcp_queue_send(kcp, seg);
	}
	return (int)len;
fail:
	kcp_free_list(kcp, &frags);
	return err;
}

int kcp_send(struct kcp_cb *kcp, u32 len, kcp_copy_t copy, void *arg,
	     bool may_sleep)
{
	/* kcp-go rejects empty sends: an empty PUSH would wedge its reader */
	if (!len)
		return -EINVAL;
	if (kcp->fin_sent)
		return -EPIPE;
	if (kcp->stream)
		return kcp_send_stream(kcp, len, copy, arg, may_sleep);
	return kcp_send_msg(kcp, len, copy, arg, may_sleep);
}

int kcp_send_fin(struct kcp_cb *kcp, bool may_sleep)
{
	struct kcp_seg *seg;

	if (!kcp->ext)
		return -EPROTO;
	if (kcp->fin_sent)
		return 0;
	seg = kcp_seg_new(kcp, 0, false, may_sleep);
	if (!seg)
		return -ENOMEM;
	seg->fin = 1;
	kcp_queue_send(kcp, seg);
	kcp->fin_sent = 1;
	return 0;
}

int kcp_peeksize(const struct kcp_cb *kcp)
{
	const struct kcp_list *pos;
	const struct kcp_seg *seg;
	int length = 0;

	if (kcp_list_empty(&kcp->rcv_queue))
		return -1;
	seg = kcp_first(&kcp->rcv_queue);
	if (seg->frg == 0)
		return seg->len - kcp->rcv_off;
	if (kcp->nrcv_que < (u32)seg->frg + 1)
		return -1;
	for (pos = kcp->rcv_queue.next; pos != &kcp->rcv_queue; pos = pos->next) {
		seg = kcp_seg_of(pos);
		length += seg->len;
		if (seg->frg == 0)
			break;
	}
	return length - (int)kcp->rcv_off;
}

/*
 * Whether an in-order segment can never reach the reader, so that it must
 * not hold a place in rcv_queue: a byte stream reader can never consume
 * an empty segment (kcp-go's Read wedges on them, spec 2.4), and a
 * message reader can never get a message whose first fragment says it
 * has more fragments than rcv_wnd (kcp_peeksize() waits for frg + 1
 * queued segments, more than the window ever lets in: both ends would
 * wait forever). Such a message is dropped whole, up to its frg 0.
 */
static bool kcp_rcv_drop(struct kcp_cb *kcp, const struct kcp_seg *seg)
{
	if (kcp->rcv_stream)
		return !seg->len;
	if (kcp->rcv_skip) {
		kcp->rcv_skip = seg->frg != 0;
		return true;
	}
	if (!kcp->exact && !kcp->rcv_mid && seg->frg >= kcp->rcv_wnd) {
		kcp->rcv_skip = 1;
		kcp_stat(kcp, KCP_STAT_IN_ERRORS, 1);
		return true;
	}
	kcp->rcv_mid = seg->frg != 0;
	return false;
}

/*
 * Move the in-order run at rcv_nxt from rcv_buf to rcv_queue. The peer's
 * FIN ends it: it takes its sn but no place in rcv_queue (the reader sees
 * end-of-file once the queue is empty), and nothing after it is the
 * stream's.
 */
static void kcp_move_rcv(struct kcp_cb *kcp)
{
	while (!kcp_list_empty(&kcp->rcv_buf) && !kcp->fin_rcvd) {
		struct kcp_seg *seg = kcp_first(&kcp->rcv_buf);

		if (seg->sn != kcp->rcv_nxt ||
		    (!seg->fin && kcp->nrcv_que >= kcp->rcv_wnd))
			break;
		kcp_list_del(&seg->node);
		kcp->nrcv_buf--;
		kcp->rcv_nxt++;
		if (seg->fin) {
			kcp->fin_rcvd = 1;
			kcp_seg_free(kcp, seg);
			break;
		}
		if (kcp_rcv_drop(kcp, seg)) {
			kcp_seg_free(kcp, seg);
			continue;
		}
		kcp_list_add_tail(&seg->node, &kcp->rcv_queue);
		kcp->nrcv_que++;
		kcp->rcv_bytes += seg->len;
	}
}

static void kcp_pop_rcv(struct kcp_cb *kcp)
{
	struct kcp_seg *seg = kcp_first(&kcp->rcv_queue);

	kcp_list_del(&seg->node);
	kcp->nrcv_que--;
	kcp->rcv_bytes -= seg->len - kcp->rcv_off;
	kcp->rcv_off = 0;
	kcp_seg_free(kcp, seg);
}

/* One whole message, as kcp-go's Recv; the part beyond @len is dropped. */
static int kcp_recv_msg(struct kcp_cb *kcp, u32 len, kcp_copy_t copy,
			void *arg, unsigned int flags, u32 *msglen)
{
	struct kcp_list *pos;
	u32 copied = 0, off = kcp->rcv_off, nsegs = 0;
	int size = kcp_peeksize(kcp);

	if (size < 0)
		return -EAGAIN;
	if (msglen)
		*msglen = (u32)size;
	for (pos = kcp->rcv_queue.next; pos != &kcp->rcv_queue; pos = pos->next) {
		struct kcp_seg *seg = kcp_seg_of(pos);
		u32 n = min_t(u32, seg->len - off, len - copied);

		if (n) {
			int err = copy(arg, seg->data + off, n);

			if (err)
				return err;
			copied += n;
		}
		off = 0;
		nsegs++;
		if (seg->frg == 0)
			break;
	}
	if (!(flags & KCP_RECV_PEEK))
		while (nsegs--)
			kcp_pop_rcv(kcp);
	return (int)copied;
}

/*
 * Byte-stream read across segments. Unlike kcp-go it does not wait for
 * all fragments of a message: for a byte stream the in-order bytes are
 * final, and waiting could deadlock when frg + 1 exceeds rcv_wnd.
 */
static int kcp_recv_stream(struct kcp_cb *kcp, u32 len, kcp_copy_t copy,
			   void *arg, unsigned int flags)
{
	struct kcp_list *pos = kcp->rcv_queue.next;
	u32 copied = 0, off = kcp->rcv_off;

	if (!kcp->rcv_bytes)
		return -EAGAIN;
	while (pos != &kcp->rcv_queue && copied < len) {
		struct kcp_seg *seg = kcp_seg_of(pos);
		u32 n = min_t(u32, seg->len - off, len - copied);
		int err = n ? copy(arg, seg->data + off, n) : 0;

		if (err)
			return copied ? (int)copied : err;
		copied += n;
		pos = pos->next;
		if (flags & KCP_RECV_PEEK) {
			off = 0;
			continue;
		}
		if (off + n == seg->len) {
			kcp_pop_rcv(kcp);
		} else {
			kcp->rcv_off += n;
			kcp->rcv_bytes -= n;
		}
		off = kcp->rcv_off;
	}
	/* Empty segments carry nothing a stream reader could see. */
	while (!(flags & KCP_RECV_PEEK) && kcp->nrcv_que &&
	       kcp_first(&kcp->rcv_queue)->len == kcp->rcv_off)
		kcp_pop_rcv(kcp);
	return (int)copied;
}

int kcp_recv(struct kcp_cb *kcp, u32 len, kcp_copy_t copy, void *arg,
	     unsigned int flags, u32 *msglen)
{
	bool fast_recover = kcp->nrcv_que >= kcp->rcv_wnd;
	int ret;

	if (flags & KCP_RECV_MSG)
		ret = kcp_recv_msg(kcp, len, copy, arg, flags, msglen);
	else
		ret = kcp_recv_stream(kcp, len, copy, arg, flags);
	if (flags & KCP_RECV_PEEK)
		return ret;
	/* a failed copy may follow empty segments already popped */
	kcp_publish_peek(kcp);
	if (ret < 0)
		return ret;
	kcp_move_rcv(kcp);
	kcp_publish_peek(kcp);
	/* The queue was full and is not now: tell the peer (WINS). */
	if (kcp->nrcv_que < kcp->rcv_wnd && fast_recover)
		kcp->probe |= KCP_ASK_TELL;
	return ret;
}

static void kcp_update_ack(struct kcp_cb *kcp, s32 rtt)
{
	u32 rto;

	if (kcp->rx_srtt == 0) {
		kcp->rx_srtt = rtt;
		kcp->rx_rttvar = rtt >> 1;
	} else {
		s32 delta = rtt - kcp->rx_srtt;

		kcp->rx_srtt += delta >> 3;
		if (delta < 0)
			delta = -delta;
		/* a sample below the expected range gets 1/8 of the weight */
		if (rtt < kcp->rx_srtt - kcp->rx_rttvar)
			kcp->rx_rttvar += (delta - kcp->rx_rttvar) >> 5;
		else
			kcp->rx_rttvar += (delta - kcp->rx_rttvar) >> 2;
	}
	rto = (u32)kcp->rx_srtt + max_t(u32, kcp->interval,
					(u32)kcp->rx_rttvar << 2);
	kcp->rx_rto = clamp_t(u32, rto, kcp->rx_minrto, KCP_RTO_MAX);
}

static void kcp_shrink_buf(struct kcp_cb *kcp)
{
	if (!kcp_list_empty(&kcp->snd_buf))
		kcp->snd_una = kcp_first(&kcp->snd_buf)->sn;
	else
		kcp->snd_una = kcp->snd_nxt;
}

static void kcp_drop_snd(struct kcp_cb *kcp, struct kcp_seg *seg)
{
	kcp_list_del(&seg->node);
	kcp->nsnd_buf--;
	kcp->snd_bytes -= seg->len;
	kcp_seg_free(kcp, seg);
}

static void kcp_parse_ack(struct kcp_cb *kcp, u32 sn)
{
	struct kcp_list *pos;

	if (kcp_timediff(sn, kcp->snd_una) < 0 ||
	    kcp_timediff(sn, kcp->snd_nxt) >= 0)
		return;
	for (pos = kcp->snd_buf.next; pos != &kcp->snd_buf; pos = pos->next) {
		struct kcp_seg *seg = kcp_seg_of(pos);

		/*
		 * kcp-go leaves an acked entry in place until una passes it:
		 * it still counts as in flight and keeps snd_una where it is.
		 */
		if (sn == seg->sn) {
			seg->acked = 1;
			break;
		}
		if (kcp_timediff(sn, seg->sn) < 0)
			break;
	}
}

static void kcp_parse_fastack(struct kcp_cb *kcp, u32 sn, u32 ts)
{
	struct kcp_list *pos;

	if (kcp_timediff(sn, kcp->snd_una) < 0 ||
	    kcp_timediff(sn, kcp->snd_nxt) >= 0)
		return;
	for (pos = kcp->snd_buf.next; pos != &kcp->snd_buf; pos = pos->next) {
		struct kcp_seg *seg = kcp_seg_of(pos);

		if (kcp_timediff(sn, seg->sn) < 0)
			break;
		if (sn != seg->sn && kcp_timediff(seg->ts, ts) <= 0)
			seg->fastack++;
	}
}

static u32 kcp_parse_una(struct kcp_cb *kcp, u32 una)
{
	u32 count = 0;

	while (!kcp_list_empty(&kcp->snd_buf)) {
		struct kcp_seg *seg = kcp_first(&kcp->snd_buf);

		if (kcp_timediff(una, seg->sn) <= 0)
			break;
		kcp_drop_snd(kcp, seg);
		count++;
	}
	return count;
}

static bool kcp_ack_push(struct kcp_cb *kcp, u32 sn, u32 ts)
{
	if (kcp->ackcount == KCP_ACKLIST_MAX)
		kcp_flush(kcp, true);
	if (kcp->ackcount == kcp->ackcap) {
		u32 cap = kcp->ackcap ? kcp->ackcap * 2 : KCP_ACKLIST_INIT;
		struct kcp_ack *list;

		list = kcp_env_alloc(cap * sizeof(*list), false);
		if (!list)
			return false;
		if (kcp->ackcount)
			memcpy(list, kcp->acklist,
			       kcp->ackcount * sizeof(*list));
		kcp_env_free(kcp->acklist);
		kcp->acklist = list;
		kcp->ackcap = cap;
	}
	kcp->acklist[kcp->ackcount].sn = sn;
	kcp->acklist[kcp->ackcount].ts = ts;
	kcp->ackcount++;
	return true;
}

/*
 * Where a new segment @sn goes in rcv_buf (searching from the tail, as
 * kcp-go does): returns the node to insert after, or NULL for a duplicate.
 */
static struct kcp_list *kcp_rcv_slot(struct kcp_cb *kcp, u32 sn)
{
	struct kcp_list *pos;

	for (pos = kcp->rcv_buf.prev; pos != &kcp->rcv_buf; pos = pos->prev) {
		struct kcp_seg *seg = kcp_seg_of(pos);

		if (seg->sn == sn)
			return NULL;
		if (kcp_timediff(sn, seg->sn) > 0)
			return pos;
	}
	return &kcp->rcv_buf;
}

/*
 * A PUSH inside the receive window. kcp-go acknowledges before storing;
 * we store first so that a segment we could not keep (no memory) is not
 * acknowledged either: the peer will simply send it again.
 */
static void kcp_input_push(struct kcp_cb *kcp, u32 sn, u32 ts, u8 frg,
			   const u8 *data, u32 len, bool regular, bool fin)
{
	struct kcp_list *slot = NULL;
	struct kcp_seg *seg = NULL;
	bool fresh = kcp_timediff(sn, kcp->rcv_nxt) >= 0;

	if (fresh) {
		slot = kcp_rcv_slot(kcp, sn);
		if (slot) {
			seg = kcp_seg_new(kcp, len, true, false);
			if (!seg) {
				kcp_stat(kcp, KCP_STAT_NOMEM, 1);
				return;
			}
			memcpy(seg->data, data, len);
			seg->len = (u16)len;
			seg->sn = sn;
			seg->ts = ts;
			seg->frg = frg;
			seg->fin = fin;
		}
	}
	if (!kcp_ack_push(kcp, sn, ts)) {
		kcp_seg_free(kcp, seg);
		kcp_stat(kcp, KCP_STAT_NOMEM, 1);
		return;
	}
	if (seg) {
		kcp_list_insert(&seg->node, slot, slot->next);
		kcp->nrcv_buf++;
		kcp_trace(kcp, KCP_SEG_RECV, sn, len);
	}
	if (fresh)
		kcp_move_rcv(kcp);
	if (regular && !seg)
		kcp_stat(kcp, KCP_STAT_REPEAT, 1);
}

static void kcp_grow_cwnd(struct kcp_cb *kcp)
{
	u32 mss = kcp->mss;

	if (kcp->cwnd >= kcp->rmt_wnd)
		return;
	if (kcp->cwnd < kcp->ssthresh) {
		kcp->cwnd++;
		kcp->incr += mss;
	} else {
		if (kcp->incr < mss)
			kcp->incr = mss;
		kcp->incr += (mss * mss) / kcp->incr + (mss / 16);
		if ((kcp->cwnd + 1) * mss <= kcp->incr)
			kcp->cwnd = mss ? (kcp->incr + mss - 1) / mss
					: kcp->incr + mss - 1;
	}
	if (kcp->cwnd > kcp->rmt_wnd) {
		kcp->cwnd = kcp->rmt_wnd;
		kcp->incr = kcp->rmt_wnd * mss;
	}
}

/*
 * A WASK or WINS whose ts is the marker comes from a peer that speaks
 * the extension (version in frg). kcp-go copies into a WASK/WINS the ts
 * of an ACK it wrote in the same flush, that is one of our own PUSH
 * timestamps, and those are never the marker (kcp_push_ts()).
 */
static void kcp_ext_marker(struct kcp_cb *kcp, u32 ts, u8 frg)
{
	if (kcp->ext_offer && ts == KCP_EXT_MAGIC && frg && !kcp->ext)
		kcp->ext = min_t(u8, frg, KCP_EXT_VERSION);
}

/* An extension command, from a peer that showed the marker only. */
static bool kcp_ext_cmd(const struct kcp_cb *kcp, u8 cmd, u8 frg, u32 len)
{
	if (!kcp->ext || len)
		return false;
	return cmd == KCP_CMD_RST || (cmd == KCP_CMD_FIN && !frg);
}

/*
 * A RST counts only if it could come from the peer: its sn (the peer's
 * snd_nxt) within our receive window and its una (the peer's rcv_nxt)
 * within what we have in flight, as TCP checks a RST's sequence number
 * (RFC 5961). A blind spoofer must guess conv and both.
 */
static void kcp_input_rst(struct kcp_cb *kcp, u32 sn, u32 una)
{
	if (kcp_timediff(sn, kcp->rcv_nxt) < 0 ||
	    kcp_timediff(sn, kcp->rcv_nxt + kcp->rcv_wnd) > 0 ||
	    kcp_timediff(una, kcp->snd_una) < 0 ||
	    kcp_timediff(una, kcp->snd_nxt) > 0) {
		kcp_stat(kcp, KCP_STAT_IN_ERRORS, 1);
		return;
	}
	kcp->rst_rcvd = 1;
}

/* Enough ACKs wait that the sender should hear them now (ack_early). */
static bool kcp_ack_due(const struct kcp_cb *kcp)
{
	return kcp->ack_early &&
	       kcp->ackcount >= clamp_t(u32, kcp->rcv_wnd / 16, 2, 32);
}

static int kcp_input_segs(struct kcp_cb *kcp, const u8 *data, u32 len,
			  bool regular, bool ack_nodelay)
{
	u32 prev_una = kcp->snd_una, latest = 0, in_segs = 0;
	bool acked = false, slid = false;

	if (len < KCP_OVERHEAD)
		goto err_short;

	while (len >= KCP_OVERHEAD) {
		u32 ts, sn, una, length;
		u16 wnd;
		u8 cmd, frg;

		if (kcp_get_le32(data) != kcp->conv)
			goto err_short;
		cmd = data[4];
		frg = data[5];
		wnd = kcp_get_le16(data + 6);
		ts = kcp_get_le32(data + 8);
		sn = kcp_get_le32(data + 12);
		una = kcp_get_le32(data + 16);
		length = kcp_get_le32(data + 20);
		data += KCP_OVERHEAD;
		len -= KCP_OVERHEAD;
		if (len < length) {
			kcp_stat(kcp, KCP_STAT_IN_ERRORS, 1);
			return KCP_IN_ELEN;
		}
		if ((cmd < KCP_CMD_PUSH || cmd > KCP_CMD_WINS) &&
		    !kcp_ext_cmd(kcp, cmd, frg, length)) {
			kcp_stat(kcp, KCP_STAT_IN_ERRORS, 1);
			return KCP_IN_ECMD;
		}
		if (cmd == KCP_CMD_RST) {
			/* the rest of the datagram is moot */
			kcp_input_rst(kcp, sn, una);
			break;
		}

		/*
		 * Unlike kcp-go: the peer cannot have received what we never
		 * sent, and trusting such an una would drop unacked data.
		 */
		if (kcp_timediff(una, kcp->snd_nxt) > 0 && !kcp->exact) {
			kcp_stat(kcp, KCP_STAT_IN_ERRORS, 1);
			return KCP_IN_EUNA;
		}
		/* only trust window updates from regular packets */
		if (regular)
			kcp->rmt_wnd = wnd;
		if (kcp_parse_una(kcp, una))
			slid = true;
		kcp_shrink_buf(kcp);

		if (cmd == KCP_CMD_ACK) {
			kcp_trace(kcp, KCP_SEG_ACK, sn, 0);
			kcp_parse_ack(kcp, sn);
			kcp_parse_fastack(kcp, sn, ts);
			acked = true;
			latest = ts;
		} else if (cmd == KCP_CMD_PUSH || cmd == KCP_CMD_FIN) {
			if (kcp_timediff(sn, kcp->rcv_nxt + kcp->rcv_wnd) < 0)
				kcp_input_push(kcp, sn, ts, frg, data, length,
					       regular, cmd == KCP_CMD_FIN);
			else if (regular)
				kcp_stat(kcp, KCP_STAT_REPEAT, 1);
		} else if (cmd == KCP_CMD_WASK) {
			kcp_ext_marker(kcp, ts, frg);
			kcp->probe |= KCP_ASK_TELL;
		} else {
			kcp_ext_marker(kcp, ts, frg);	/* KCP_CMD_WINS */
			if (kcp->wins_in != 0xFFFFFFFFu)
				kcp->wins_in++;
		}
		in_segs++;
		data += length;
		len -= length;
	}
	kcp_stat(kcp, KCP_STAT_IN_SEGS, in_segs);

	/* one RTT sample per datagram, from its last ACK; never from FEC */
	if (acked && regular) {
		s32 rtt = kcp_timediff(kcp_now(kcp), latest);

		if (rtt >= 0)
			kcp_update_ack(kcp, rtt);
	}
	if (!kcp->nocwnd && kcp_timediff(kcp->snd_una, prev_una) > 0)
		kcp_grow_cwnd(kcp);

	if (slid)
		kcp_flush(kcp, false);
	else if (kcp->ackcount && (ack_nodelay || kcp_ack_due(kcp)))
		kcp_flush(kcp, true);
	return 0;

err_short:
	kcp_stat(kcp, KCP_STAT_IN_ERRORS, 1);
	return KCP_IN_ESHORT;
}

int kcp_input(struct kcp_cb *kcp, const u8 *data, u32 len, bool regular,
	      bool ack_nodelay)
{
	int ret = kcp_input_segs(kcp, data, len, regular, ack_nodelay);

	/* segments before a bad one were taken: publish even on error */
	kcp_publish_peek(kcp);
	return ret;
}

bool kcp_input_valid(const u8 *data, u32 len, u32 conv)
{
	if (len < KCP_OVERHEAD)
		return false;
	while (len >= KCP_OVERHEAD) {
		u32 length = kcp_get_le32(data + 20);
		u8 cmd = data[4];

		if (kcp_get_le32(data) != conv || cmd < KCP_CMD_PUSH ||
		    cmd > KCP_CMD_WINS || len - KCP_OVERHEAD < length)
			return false;
		data += KCP_OVERHEAD + length;
		len -= KCP_OVERHEAD + length;
	}
	return true;
}

/* Datagram assembly state of one flush. */
struct kcp_out {
	u8 *buf;
	u32 used;
};

static void kcp_out_emit(struct kcp_cb *kcp, struct kcp_out *out)
{
	if (out->buf && out->used)
		kcp->ops->dgram_end(kcp, out->buf, out->used);
	out->buf = NULL;
	out->used = 0;
}

/* Room for @need bytes; NULL when the datagram could not be allocated. */
static u8 *kcp_out_space(struct kcp_cb *kcp, struct kcp_out *out, u32 need)
{
	if (out->buf && out->used + need > kcp->mtu - kcp->reserved)
		kcp_out_emit(kcp, out);
	if (!out->buf) {
		out->buf = kcp->ops->dgram_begin(kcp);
		out->used = 0;
		if (!out->buf)
			return NULL;
	}
	return out->buf + out->used;
}

static void kcp_encode(u8 *p, u32 conv, u8 cmd, u8 frg, u16 wnd, u32 ts,
		       u32 sn, u32 una, u32 len)
{
	kcp_put_le32(p, conv);
	p[4] = cmd;
	p[5] = frg;
	kcp_put_le16(p + 6, wnd);
	kcp_put_le32(p + 8, ts);
	kcp_put_le32(p + 12, sn);
	kcp_put_le32(p + 16, una);
	kcp_put_le32(p + 20, len);
}

/* Header-only segment (ACK, WASK, WINS) from the flush's template. */
static void kcp_out_ctl(struct kcp_cb *kcp, struct kcp_out *out, u8 cmd,
			u16 wnd, u32 ts, u32 sn)
{
	u8 *p = kcp_out_space(kcp, out, KCP_OVERHEAD);
	u8 frg = 0;

	if (!p)
		return;
	/* offering the extension: the marker instead of the template */
	if (kcp->ext_offer && (cmd == KCP_CMD_WASK || cmd == KCP_CMD_WINS)) {
		ts = KCP_EXT_MAGIC;
		sn = 0;
		frg = KCP_EXT_VERSION;
	}
	kcp_encode(p, kcp->conv, cmd, frg, wnd, ts, sn, kcp->rcv_nxt, 0);
	out->used += KCP_OVERHEAD;
	kcp_stat(kcp, KCP_STAT_OUT_SEGS, 1);
}

static void kcp_out_push(struct kcp_cb *kcp, struct kcp_out *out,
			 struct kcp_seg *seg, u16 wnd, u32 una)
{
	u32 need = KCP_OVERHEAD + seg->len;
	u8 *p;

	/* cannot happen while kcp_set_mtu() guards mss; never overflow */
	if (need > kcp->mtu - kcp->reserved)
		return;
	p = kcp_out_space(kcp, out, need);
	if (!p)
		return;
	kcp_encode(p, kcp->conv, seg->fin ? KCP_CMD_FIN : KCP_CMD_PUSH,
		   seg->frg, wnd, seg->ts, seg->sn, una, seg->len);
	memcpy(p + KCP_OVERHEAD, seg->data, seg->len);
	out->used += need;
	kcp_stat(kcp, KCP_STAT_OUT_SEGS, 1);
}

/*
 * The ts of a PUSH: the clock, but never the extension marker, which the
 * peer would echo in an ACK and so in kcp-go's WASK/WINS template (off by
 * one ms once every 49.7 days).
 */
static u32 kcp_push_ts(const struct kcp_cb *kcp, u32 now)
{
	return kcp->ext_offer && now == KCP_EXT_MAGIC ? now - 1 : now;
}

/* One datagram of one header-only segment, outside a flush. */
static void kcp_send_one(struct kcp_cb *kcp, u8 cmd, u8 frg, u32 ts, u32 sn)
{
	struct kcp_out out = { NULL, 0 };
	u8 *p = kcp_out_space(kcp, &out, KCP_OVERHEAD);

	if (!p)
		return;
	kcp_encode(p, kcp->conv, cmd, frg, (u16)kcp_wnd_unused(kcp), ts, sn,
		   kcp->rcv_nxt, 0);
	out.used += KCP_OVERHEAD;
	kcp_stat(kcp, KCP_STAT_OUT_SEGS, 1);
	kcp_out_emit(kcp, &out);
}

void kcp_send_rst(struct kcp_cb *kcp)
{
	if (kcp->ext)
		kcp_send_one(kcp, KCP_CMD_RST, KCP_EXT_VERSION, 0,
			     kcp->snd_nxt);
}

int kcp_timewait_input(struct kcp_cb *kcp, const u8 *data, u32 len)
{
	u32 ack_sn = 0, ack_ts = 0;
	bool ack = false;

	if (!kcp->ext)
		return 0;
	while (len >= KCP_OVERHEAD) {
		u32 length = kcp_get_le32(data + 20);
		u32 sn = kcp_get_le32(data + 12);
		u8 cmd = data[4];

		if (kcp_get_le32(data) != kcp->conv ||
		    len - KCP_OVERHEAD < length || cmd == KCP_CMD_RST)
			return 0;
		if (cmd == KCP_CMD_PUSH || cmd == KCP_CMD_FIN) {
			if (kcp_timediff(sn, kcp->rcv_nxt) >= 0) {
				kcp_send_rst(kcp);
				return KCP_CMD_RST;
			}
			ack = true;
			ack_sn = sn;
			ack_ts = kcp_get_le32(data + 8);
		}
		data += KCP_OVERHEAD + length;
		len -= KCP_OVERHEAD + length;
	}
	if (!ack)
		return 0;
	kcp_send_one(kcp, KCP_CMD_ACK, 0, ack_ts, ack_sn);
	return KCP_CMD_ACK;
}

/* Flush step 1: queued ACKs, skipping stale ones except the last. */
static void kcp_flush_acks(struct kcp_cb *kcp, struct kcp_out *out, u16 wnd,
			   u32 *ts, u32 *sn)
{
	u32 i;

	for (i = 0; i < kcp->ackcount; i++) {
		struct kcp_ack *ack = &kcp->acklist[i];

		if (kcp_timediff(ack->sn, kcp->rcv_nxt) >= 0 ||
		    i == kcp->ackcount - 1) {
			*sn = ack->sn;
			*ts = ack->ts;
			kcp_out_ctl(kcp, out, KCP_CMD_ACK, wnd, *ts, *sn);
		}
	}
	kcp->ackcount = 0;
}

/* Flush step 2: zero-window probing with exponential backoff. */
static void kcp_flush_probe(struct kcp_cb *kcp)
{
	u32 now;

	if (kcp->rmt_wnd != 0) {
		kcp->ts_probe = 0;
		kcp->probe_wait = 0;
		return;
	}
	now = kcp_now(kcp);
	if (kcp->probe_wait == 0) {
		kcp->probe_wait = KCP_PROBE_INIT;
		kcp->ts_probe = now + kcp->probe_wait;
	} else if (kcp_timediff(now, kcp->ts_probe) >= 0) {
		if (kcp->probe_wait < KCP_PROBE_INIT)
			kcp->probe_wait = KCP_PROBE_INIT;
		kcp->probe_wait += kcp->probe_wait / 2;
		if (kcp->probe_wait > KCP_PROBE_LIMIT)
			kcp->probe_wait = KCP_PROBE_LIMIT;
		kcp->ts_probe = now + kcp->probe_wait;
		kcp->probe |= KCP_ASK_SEND;
	}
}

/* Flush step 3: move what the window allows from snd_queue to snd_buf. */
static u32 kcp_flush_window(struct kcp_cb *kcp, u32 cwnd)
{
	u32 moved = 0;

	while (!kcp_list_empty(&kcp->snd_queue)) {
		struct kcp_seg *seg = kcp_first(&kcp->snd_queue);

		if (kcp_timediff(kcp->snd_nxt, kcp->snd_una + cwnd) >= 0)
			break;
		kcp_list_del(&seg->node);
		kcp_list_add_tail(&seg->node, &kcp->snd_buf);
		kcp->nsnd_que--;
		kcp->nsnd_buf++;
		seg->sn = kcp->snd_nxt++;
		moved++;
	}
	return moved;
}

struct kcp_xmit_count {
	u32 change, lost, fast, early;
};

/* Flush step 4's decision for one segment: send it now (and why), or 0. */
static enum kcp_seg_event kcp_should_send(struct kcp_cb *kcp,
					  struct kcp_seg *seg, u32 now,
					  u32 resent, u32 moved,
					  struct kcp_xmit_count *cnt)
{
	enum kcp_seg_event ev;

	if (seg->xmit == 0) {
		seg->rto = kcp->rx_rto;
		ev = KCP_SEG_SEND;
	} else if (seg->fastack >= resent) {
		seg->rto = kcp->rx_rto;
		cnt->change++;
		cnt->fast++;
		ev = KCP_SEG_FAST;
	} else if (seg->fastack > 0 && moved == 0) {
		/* early retransmit: skipped by a later ACK, nothing new */
		seg->rto = kcp->rx_rto;
		cnt->change++;
		cnt->early++;
		ev = KCP_SEG_EARLY;
	} else if (kcp_timediff(now, seg->resendts) >= 0) {
		seg->rto += kcp->nodelay ? kcp->rx_rto / 2 : kcp->rx_rto;
		cnt->lost++;
		ev = KCP_SEG_RTO;
	} else {
		return 0;
	}
	seg->fastack = 0;
	seg->resendts = now + seg->rto;
	return ev;
}

static void kcp_flush_cwnd(struct kcp_cb *kcp, u32 cwnd, u32 resent,
			   const struct kcp_xmit_count *cnt)
{
	if (cnt->change) {
		/* rate halving, RFC 6937; resent may wrap the sum, as kcp-go */
		kcp->ssthresh = max_t(u32, (kcp->snd_nxt - kcp->snd_una) / 2,
				      KCP_THRESH_MIN);
		kcp->cwnd = kcp->ssthresh + resent;
		kcp->incr = kcp->cwnd * kcp->mss;
	}
	if (cnt->lost) {
		kcp->ssthresh = max_t(u32, cwnd / 2, KCP_THRESH_MIN);
		kcp->cwnd = 1;
		kcp->incr = kcp->mss;
	}
	if (kcp->cwnd < 1) {
		kcp->cwnd = 1;
		kcp->incr = kcp->mss;
	}
}

/*
 * Unlike kcp-go: when every segment in flight has been ACKed one by one
 * but una does not move (the peer's queue was full and the WINS that
 * would carry the new una was lost), nothing would ever be sent again
 * and both ends would wait forever. Ask for the window (WASK) once per
 * rto in that state; the WINS answer carries una.
 */
static void kcp_flush_unstick(struct kcp_cb *kcp, u32 now, u32 unacked)
{
	if (kcp->exact || !kcp->nsnd_buf || unacked || !kcp->rmt_wnd) {
		kcp->ts_unstick = 0;
		return;
	}
	if (!kcp->ts_unstick) {
		kcp->ts_unstick = now + kcp->rx_rto;
	} else if (kcp_timediff(now, kcp->ts_unstick) >= 0) {
		kcp->probe |= KCP_ASK_SEND;
		kcp->ts_unstick = now + kcp->rx_rto;
	}
}

u32 kcp_flush(struct kcp_cb *kcp, bool ack_only)
{
	struct kcp_xmit_count cnt = { 0 };
	struct kcp_out out = { NULL, 0 };
	struct kcp_list *pos;
	u32 ts = 0, sn = 0, una = kcp->rcv_nxt, cwnd, resent, moved, now;
	u32 unacked = 0;
	enum kcp_seg_event ev;
	u16 wnd = (u16)kcp_wnd_unused(kcp);
	s32 minrto = (s32)kcp->interval;

	kcp_flush_acks(kcp, &out, wnd, &ts, &sn);
	if (ack_only) {
		kcp_out_emit(kcp, &out);
		return kcp->interval;
	}

	kcp_flush_probe(kcp);
	if (kcp->probe & KCP_ASK_SEND)
		kcp_out_ctl(kcp, &out, KCP_CMD_WASK, wnd, ts, sn);
	if (kcp->probe & KCP_ASK_TELL)
		kcp_out_ctl(kcp, &out, KCP_CMD_WINS, wnd, ts, sn);
	kcp->probe = 0;

	cwnd = min_t(u32, kcp->snd_wnd, kcp->rmt_wnd);
	if (!kcp->nocwnd)
		cwnd = min_t(u32, kcp->cwnd, cwnd);
	moved = kcp_flush_window(kcp, cwnd);

	resent = kcp->fastresend > 0 ? (u32)kcp->fastresend : 0xffffffffu;
	now = kcp_now(kcp);
	for (pos = kcp->snd_buf.next; pos != &kcp->snd_buf; pos = pos->next) {
		struct kcp_seg *seg = kcp_seg_of(pos);
		s32 rto;

		if (seg->acked)
			continue;
		unacked++;
		ev = kcp_should_send(kcp, seg, now, resent, moved, &cnt);
		if (ev) {
			kcp_trace(kcp, ev, seg->sn, seg->len);
			now = kcp_now(kcp);
			seg->xmit++;
			seg->ts = kcp_push_ts(kcp, now);
			kcp_out_push(kcp, &out, seg, wnd, una);
			if (seg->xmit >= kcp->dead_link)
				kcp->state = KCP_STATE_DEAD;
		}
		rto = kcp_timediff(seg->resendts, now);
		if (rto > 0 && rto < minrto)
			minrto = rto;
	}
	kcp_out_emit(kcp, &out);
	kcp_flush_unstick(kcp, now, unacked);

	kcp_stat(kcp, KCP_STAT_LOST, cnt.lost);
	kcp_stat(kcp, KCP_STAT_FAST_RETRANS, cnt.fast);
	kcp_stat(kcp, KCP_STAT_EARLY_RETRANS, cnt.early);
	if (!kcp->nocwnd)
		kcp_flush_cwnd(kcp, cwnd, resent, &cnt);
	return (u32)minrto;
}
