// SPDX-License-Identifier: GPL-2.0
/*
 * Deterministic two-host network simulation around kcp_engine (see
 * netsim.h). The hosts behave like the kernel glue will: flush timers on a
 * shared interval grid armed only while kcp_busy(), an immediate flush
 * after each application send (kcp-go Write), kcp_input() for every
 * datagram, writers that block on the window like kcp-go Write and
 * readers that verify every byte and message boundary.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netsim.h"

#define NS_MSG_MAX_SEGS		KCP_FRG_MAX

enum ns_ev_type {
	NS_EV_DELIVER,
	NS_EV_TIMER,
	NS_EV_WRITE,
	NS_EV_READ,
};

struct ns_event {
	u64 at, seq, gen;
	enum ns_ev_type type;
	struct ns_host *host;	/* the host the event happens at */
	u32 len;
	u8 data[];
};

void ns_prbytes(u8 *buf, u32 len, u64 seed)
{
	struct ns_rng r = { seed };
	u64 v = 0;
	u32 i;

	for (i = 0; i < len; i++) {
		if (!(i & 7))
			v = ns_next(&r);
		buf[i] = (u8)(v >> (8 * (i & 7)));
	}
}

void ns_fail(struct netsim *ns, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ns->err[0])
		return;
	n = snprintf(ns->err, sizeof(ns->err), "t=%llu ms: ",
		     (unsigned long long)ns->now);
	va_start(ap, fmt);
	vsnprintf(ns->err + n, sizeof(ns->err) - n, fmt, ap);
	va_end(ap);
}

/* ---- event heap ---------------------------------------------------------- */

static bool ns_ev_before(const struct ns_event *a, const struct ns_event *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static struct ns_event *ns_ev_new(struct netsim *ns, u64 at,
				  enum ns_ev_type type, struct ns_host *h,
				  u32 len)
{
	struct ns_event *ev = malloc(sizeof(*ev) + len);

	if (!ev) {
		perror("malloc");
		abort();
	}
	ev->at = at;
	ev->seq = ns->seq++;
	ev->type = type;
	ev->host = h;
	ev->len = len;
	ev->gen = 0;
	return ev;
}

static void ns_push(struct netsim *ns, struct ns_event *ev)
{
	u32 i;

	if (ns->nheap == ns->heapcap) {
		ns->heapcap = ns->heapcap ? ns->heapcap * 2 : 256;
		ns->heap = realloc(ns->heap, ns->heapcap * sizeof(*ns->heap));
		if (!ns->heap) {
			perror("realloc");
			abort();
		}
	}
	i = ns->nheap++;
	while (i) {
		u32 p = (i - 1) / 2;

		if (!ns_ev_before(ev, ns->heap[p]))
			break;
		ns->heap[i] = ns->heap[p];
		i = p;
	}
	ns->heap[i] = ev;
}

static struct ns_event *ns_pop(struct netsim *ns)
{
	struct ns_event *top, *last;
	u32 i = 0;

	if (!ns->nheap)
		return NULL;
	top = ns->heap[0];
	last = ns->heap[--ns->nheap];
	for (;;) {
		u32 c = 2 * i + 1;

		if (c >= ns->nheap)
			break;
		if (c + 1 < ns->nheap && ns_ev_before(ns->heap[c + 1], ns->heap[c]))
			c++;
		if (!ns_ev_before(ns->heap[c], last))
			break;
		ns->heap[i] = ns->heap[c];
		i = c;
	}
	if (ns->nheap)
		ns->heap[i] = last;
	return top;
}

static void ns_schedule(struct netsim *ns, u64 at, enum ns_ev_type type,
			struct ns_host *h)
{
	ns_push(ns, ns_ev_new(ns, at, type, h, 0));
}

/* ---- checks ---------------------------------------------------------------- */

#define KSEG(l)	((const struct kcp_seg *)((const char *)(l) - \
					  offsetof(struct kcp_seg, node)))

static u32 ns_list_len(const struct kcp_list *h, u64 *bytes)
{
	const struct kcp_list *p;
	u32 n = 0;

	*bytes = 0;
	for (p = h->next; p != h; p = p->next) {
		n++;
		*bytes += KSEG(p)->len;
		if (n > 10000000)
			break;
	}
	return n;
}

bool ns_check_kcp(const struct kcp_cb *kcp, char *why, size_t sz)
{
	const struct kcp_list *p;
	u64 bq, bb, rq, rb;
	u32 nq = ns_list_len(&kcp->snd_queue, &bq);
	u32 nb = ns_list_len(&kcp->snd_buf, &bb);
	u32 nrq = ns_list_len(&kcp->rcv_queue, &rq);
	u32 nrb = ns_list_len(&kcp->rcv_buf, &rb);
	u32 sn, prev = 0;
	bool first = true;

#define BAD(...) do { snprintf(why, sz, __VA_ARGS__); return false; } while (0)
	if (nq != kcp->nsnd_que || nb != kcp->nsnd_buf ||
	    nrq != kcp->nrcv_que || nrb != kcp->nrcv_buf)
		BAD("list lengths %u/%u/%u/%u != counters %u/%u/%u/%u",
		    nq, nb, nrq, nrb, kcp->nsnd_que, kcp->nsnd_buf,
		    kcp->nrcv_que, kcp->nrcv_buf);
	if (bq + bb != kcp->snd_bytes)
		BAD("snd_bytes %u != %llu", kcp->snd_bytes,
		    (unsigned long long)(bq + bb));
	if (nrq && kcp->rcv_off > KSEG(kcp->rcv_queue.next)->len)
		BAD("rcv_off %u beyond head segment", kcp->rcv_off);
	if (rq - (nrq ? kcp->rcv_off : 0) != kcp->rcv_bytes)
		BAD("rcv_bytes %u != %llu", kcp->rcv_bytes,
		    (unsigned long long)(rq - kcp->rcv_off));
	if (kcp_timediff(kcp->snd_nxt, kcp->snd_una) < 0)
		BAD("snd_nxt %u before snd_una %u", kcp->snd_nxt, kcp->snd_una);
	if (kcp->snd_nxt - kcp->snd_una != nb)
		BAD("snd_buf holds %u segments, [una, nxt) = [%u, %u)", nb,
		    kcp->snd_una, kcp->snd_nxt);
	sn = kcp->snd_una;
	for (p = kcp->snd_buf.next; p != &kcp->snd_buf; p = p->next, sn++) {
		if (KSEG(p)->sn != sn)
			BAD("snd_buf sn %u where %u expected", KSEG(p)->sn, sn);
		if (KSEG(p)->len > KSEG(p)->cap || KSEG(p)->len > kcp->mss)
			BAD("snd_buf seg len %u cap %u mss %u", KSEG(p)->len,
			    KSEG(p)->cap, kcp->mss);
	}
	for (p = kcp->snd_queue.next; p != &kcp->snd_queue; p = p->next)
		if (KSEG(p)->len > KSEG(p)->cap || KSEG(p)->len > kcp->mss)
			BAD("snd_queue seg len %u cap %u mss %u", KSEG(p)->len,
			    KSEG(p)->cap, kcp->mss);
	for (p = kcp->rcv_buf.next; p != &kcp->rcv_buf; p = p->next) {
		sn = KSEG(p)->sn;
		if (kcp_timediff(sn, kcp->rcv_nxt) < 0 ||
		    kcp_timediff(sn, kcp->rcv_nxt + kcp->rcv_wnd) >= 0)
			BAD("rcv_buf sn %u outside [%u, +%u)", sn, kcp->rcv_nxt,
			    kcp->rcv_wnd);
		if (!first && kcp_timediff(sn, prev) <= 0)
			BAD("rcv_buf not sorted: %u after %u", sn, prev);
		prev = sn;
		first = false;
	}
	if (nrb && KSEG(kcp->rcv_buf.next)->sn == kcp->rcv_nxt &&
	    nrq < kcp->rcv_wnd)
		BAD("rcv_buf head %u is in order but not moved", kcp->rcv_nxt);
	if (nrq > kcp->rcv_wnd)
		BAD("rcv_queue %u > rcv_wnd %u", nrq, kcp->rcv_wnd);
	if (kcp->ackcount > kcp->ackcap)
		BAD("ackcount %u > ackcap %u", kcp->ackcount, kcp->ackcap);
	if (kcp->rx_rto > KCP_RTO_MAX || kcp->rx_rto < kcp->rx_minrto)
		BAD("rx_rto %u outside [%u, %u]", kcp->rx_rto, kcp->rx_minrto,
		    KCP_RTO_MAX);
	if (kcp->mss + KCP_OVERHEAD + kcp->reserved != kcp->mtu)
		BAD("mss %u + 24 + reserved %u != mtu %u", kcp->mss,
		    kcp->reserved, kcp->mtu);
#undef BAD
	return true;
}

bool ns_check_dgram(const u8 *p, u32 len, u32 conv, char *why, size_t sz)
{
	u32 off = 0;

	if (len < KCP_OVERHEAD) {
		snprintf(why, sz, "datagram of %u bytes", len);
		return false;
	}
	while (off < len) {
		u32 seglen;
		u8 cmd;

		if (len - off < KCP_OVERHEAD) {
			snprintf(why, sz, "%u trailing bytes", len - off);
			return false;
		}
		cmd = p[off + 4];
		seglen = kt_g32(p + off + 20);
		if (kt_g32(p + off) != conv ||
		    cmd < KCP_CMD_PUSH || cmd > KCP_CMD_WINS ||
		    seglen > len - off - KCP_OVERHEAD ||
		    (cmd != KCP_CMD_PUSH && seglen) ||
		    (cmd != KCP_CMD_PUSH && p[off + 5])) {
			snprintf(why, sz, "bad segment at %u: conv %08x cmd %u frg %u len %u",
				 off, kt_g32(p + off), cmd, p[off + 5],
				 seglen);
			return false;
		}
		if (cmd == KCP_CMD_PUSH && !seglen) {
			snprintf(why, sz, "empty PUSH at %u", off);
			return false;
		}
		off += KCP_OVERHEAD + seglen;
	}
	return true;
}

static void ns_check_host(struct ns_host *h, const char *where)
{
	char why[256];

	if (!h->ns->check_invariants || h->ns->err[0])
		return;
	if (!ns_check_kcp(&h->kcp, why, sizeof(why)))
		ns_fail(h->ns, "host %d after %s: %s", h->id, where, why);
}

int ns_membuf_from(void *arg, u8 *seg_data, u32 len)
{
	struct ns_membuf *m = arg;

	memcpy(seg_data, m->src + m->off, len);
	m->off += len;
	return 0;
}

int ns_membuf_to(void *arg, u8 *seg_data, u32 len)
{
	struct ns_membuf *m = arg;

	memcpy(m->dst + m->off, seg_data, len);
	m->off += len;
	return 0;
}

void ns_print_dgram(FILE *f, const u8 *p, u32 len)
{
	static const char *const cmds[] = { "PUSH", "ACK", "WASK", "WINS" };
	u32 off = 0;

	while (len - off >= KCP_OVERHEAD) {
		u8 cmd = p[off + 4];
		u32 seglen = kt_g32(p + off + 20);

		fprintf(f, " [%s sn=%u una=%u wnd=%u ts=%u frg=%u len=%u]",
			cmd >= KCP_CMD_PUSH && cmd <= KCP_CMD_WINS ?
			cmds[cmd - KCP_CMD_PUSH] : "?", kt_g32(p + off + 12),
			kt_g32(p + off + 16), kt_g16(p + off + 6),
			kt_g32(p + off + 8), p[off + 5], seglen);
		if (seglen > len - off - KCP_OVERHEAD)
			break;
		off += KCP_OVERHEAD + seglen;
	}
	fprintf(f, "\n");
}

/* ---- links --------------------------------------------------------------- */

static void ns_trace_drop(struct netsim *ns, const char *why)
{
	if (ns->trace)
		fprintf(ns->trace, "%llu:   -> dropped (%s)\n",
			(unsigned long long)ns->now, why);
}

static void ns_link_send(struct netsim *ns, int from, const u8 *data, u32 len)
{
	struct ns_link *l = &ns->link[from];
	struct ns_host *dst = &ns->host[1 - from];
	const struct ns_link_cfg *c = &l->cfg;
	u64 depart = ns->now, at;
	int copies = 1, i;
	u8 tmp[KCP_MTU_MAX];

	l->st.sent++;
	l->st.bytes += len;
	if (ns->trace) {
		fprintf(ns->trace, "%llu: %d tx %u:", (unsigned long long)ns->now,
			from, len);
		ns_print_dgram(ns->trace, data, len);
	}
	memcpy(tmp, data, len);
	if (l->tap && !l->tap(&ns->host[from], tmp, &len, l->tap_arg))
		return ns_trace_drop(ns, "tap");
	if (ns->now < l->burst_until) {
		l->st.burst_lost++;
		return ns_trace_drop(ns, "burst");
	}
	if (ns_ppm(&l->rng, c->burst_ppm)) {
		l->burst_until = ns->now + ns_range(&l->rng, 1, c->burst_ms ? c->burst_ms : 1);
		l->st.burst_lost++;
		return ns_trace_drop(ns, "burst");
	}
	if (ns_ppm(&l->rng, c->loss_ppm)) {
		l->st.lost++;
		return ns_trace_drop(ns, "loss");
	}
	if (c->bw) {
		u64 now_us = ns->now * 1000;
		u64 start = l->busy_us > now_us ? l->busy_us : now_us;
		u64 queued = (start - now_us) * c->bw / 1000;

		if (c->qlimit && queued + len > c->qlimit) {
			l->st.qdrop++;
			return ns_trace_drop(ns, "queue full");
		}
		l->busy_us = start + ((u64)len * 1000 + c->bw - 1) / c->bw;
		depart = (l->busy_us + 999) / 1000;
	}
	if (ns_ppm(&l->rng, c->dup_ppm)) {
		copies = 2;
		l->st.dup++;
	}
	if (ns_ppm(&l->rng, c->corrupt_ppm) && len) {
		tmp[ns_below(&l->rng, len)] ^= (u8)ns_range(&l->rng, 1, 255);
		l->st.corrupted++;
	}
	for (i = 0; i < copies; i++) {
		struct ns_event *ev;

		at = depart + c->delay + ns_below(&l->rng, c->jitter + 1);
		if (ns_ppm(&l->rng, c->reorder_ppm)) {
			at += c->reorder_delay;
			l->st.reordered++;
		}
		if (ns->trace)
			fprintf(ns->trace, "%llu:   -> arrives at %llu\n",
				(unsigned long long)ns->now, (unsigned long long)at);
		ev = ns_ev_new(ns, at, NS_EV_DELIVER, dst, len);
		memcpy(ev->data, tmp, len);
		ns_push(ns, ev);
	}
}

/* ---- host glue --------------------------------------------------------------- */

static struct ns_host *ns_host_of(struct kcp_cb *kcp)
{
	return (struct ns_host *)((char *)kcp - offsetof(struct ns_host, kcp));
}

static u32 ns_op_clock(struct kcp_cb *kcp)
{
	return ns_clock(ns_host_of(kcp)->ns);
}

static u8 *ns_op_dgram_begin(struct kcp_cb *kcp)
{
	struct ns_host *h = ns_host_of(kcp);

	if (h->tx_open) {
		ns_fail(h->ns, "host %d: dgram_begin while a datagram is open",
			h->id);
		return NULL;
	}
	if (ns_ppm(&h->rng, h->cfg.txfail_ppm)) {
		h->st.txfail++;
		return NULL;
	}
	h->tx_open = true;
	/* garbage, so the engine cannot rely on the buffer's contents */
	memset(h->txbuf, 0xa5, KCP_MTU_MAX);
	return h->txbuf + kcp->reserved;
}

static void ns_op_dgram_end(struct kcp_cb *kcp, u8 *buf, u32 len)
{
	struct ns_host *h = ns_host_of(kcp);
	char why[160];

	if (!h->tx_open || buf != h->txbuf + kcp->reserved) {
		ns_fail(h->ns, "host %d: dgram_end without matching begin", h->id);
		return;
	}
	h->tx_open = false;
	if (!len || len > kcp->mtu - kcp->reserved) {
		ns_fail(h->ns, "host %d: datagram of %u bytes (mtu %u reserved %u)",
			h->id, len, kcp->mtu, kcp->reserved);
		return;
	}
	if (!ns_check_dgram(buf, len, kcp->conv, why, sizeof(why))) {
		ns_fail(h->ns, "host %d: malformed datagram: %s", h->id, why);
		return;
	}
	h->st.dgrams++;
	h->st.dgram_bytes += len;
	ns_link_send(h->ns, h->id, buf, len);
}

static const struct kcp_ops ns_ops = {
	.clock = ns_op_clock,
	.dgram_begin = ns_op_dgram_begin,
	.dgram_end = ns_op_dgram_end,
};

/*
 * The module's timer (kmod/timer.c): arming never postpones a queued
 * expiry, only brings it forward. After input or a read, a busy session
 * is kicked to the next multiple of its interval on the ms clock (all
 * sessions share the grid); after a send or a tick it is re-armed after
 * the delay kcp_flush() returned, while busy.
 */
void ns_host_arm(struct ns_host *h, u64 at)
{
	struct ns_event *ev;

	if (h->timer_armed && h->timer_at <= at)
		return;
	h->timer_armed = true;
	h->timer_at = at;
	ev = ns_ev_new(h->ns, at, NS_EV_TIMER, h, 0);
	ev->gen = ++h->timer_gen;
	ns_push(h->ns, ev);
}

void ns_host_kick(struct ns_host *h)
{
	u32 iv = h->kcp.interval ? h->kcp.interval : 1;

	if (kcp_busy(&h->kcp))
		ns_host_arm(h, h->ns->now + iv - ns_clock(h->ns) % iv);
}

static void ns_host_note_dead(struct ns_host *h)
{
	if (h->kcp.state == KCP_STATE_DEAD && !h->st.dead_at)
		h->st.dead_at = h->ns->now ? h->ns->now : 1;
}

struct ns_copy {
	u64 seed, pos;
	u8 *buf;
};

static int ns_copy_in(void *arg, u8 *seg_data, u32 len)
{
	struct ns_copy *c = arg;
	u32 i;

	for (i = 0; i < len; i++)
		seg_data[i] = ns_stream_byte(c->seed, c->pos + i);
	c->pos += len;
	return 0;
}

static int ns_copy_out(void *arg, u8 *seg_data, u32 len)
{
	struct ns_copy *c = arg;

	memcpy(c->buf + c->pos, seg_data, len);
	c->pos += len;
	return 0;
}

static u32 ns_msg_limit(struct ns_host *h)
{
	struct ns_host *peer = &h->ns->host[1 - h->id];
	u64 lim = (u64)h->kcp.mss * min_t(u32, NS_MSG_MAX_SEGS, peer->kcp.rcv_wnd);

	if (h->cfg.msg_max && h->cfg.msg_max < lim)
		lim = h->cfg.msg_max;
	return (u32)lim;
}

static u32 ns_pick_msg(struct ns_host *h)
{
	u32 lim = ns_msg_limit(h), r = ns_below(&h->rng, 10);
	u32 hi = lim;

	if (r < 5)
		hi = min_t(u32, lim, h->kcp.mss);
	else if (r < 8)
		hi = min_t(u32, lim, 4 * h->kcp.mss);
	return ns_range(&h->rng, 1, hi);
}

static void ns_host_write(struct ns_host *h)
{
	struct netsim *ns = h->ns;
	struct kcp_cb *kcp = &h->kcp;

	while (!h->write_sleeping && h->sent < h->cfg.send_bytes &&
	       !ns->err[0]) {
		struct ns_copy c = { h->cfg.data_seed, h->sent, NULL };
		u64 left = h->cfg.send_bytes - h->sent;
		u32 len;
		int ret;

		if (kcp_waitsnd(kcp) >= min_t(u32, kcp->snd_wnd, kcp->rmt_wnd))
			break;	/* blocked like kcp-go Write */
		if (ns_ppm(&h->rng, h->cfg.write_pause_ppm)) {
			h->write_sleeping = true;
			ns_schedule(ns, ns->now + ns_range(&h->rng, 1,
				    h->cfg.write_pause_ms ? h->cfg.write_pause_ms : 1),
				    NS_EV_WRITE, h);
			break;
		}
		if (h->cfg.stream) {
			len = ns_range(&h->rng, 1, h->cfg.write_max ? h->cfg.write_max : kcp->mss);
		} else {
			if (!h->cur_msg)
				h->cur_msg = ns_pick_msg(h);
			len = h->cur_msg;
		}
		if (len > left)
			len = (u32)left;
		ret = kcp_send(kcp, len, ns_copy_in, &c, true);
		h->st.sends++;
		if (ret == -ENOMEM) {
			/* like a blocked writer retrying once memory is back */
			h->st.send_errs++;
			h->write_sleeping = true;
			ns_schedule(ns, ns->now + 1, NS_EV_WRITE, h);
			break;
		}
		if (ret <= 0 || (u32)ret > len || (!h->cfg.stream && (u32)ret != len)) {
			ns_fail(ns, "host %d: kcp_send(%u) = %d", h->id, len, ret);
			break;
		}
		if (!h->cfg.stream) {
			if (h->nmsgs == h->msgcap) {
				h->msgcap = h->msgcap ? h->msgcap * 2 : 64;
				h->msgs = realloc(h->msgs, h->msgcap * sizeof(*h->msgs));
				if (!h->msgs)
					abort();
			}
			h->msgs[h->nmsgs++] = len;
			h->cur_msg = 0;
		}
		h->sent += (u32)ret;
		if (kcp_waitsnd(kcp) > h->st.max_waitsnd)
			h->st.max_waitsnd = kcp_waitsnd(kcp);
		/* kcp-go Write / the module's sendmsg: flush now unless write_delay */
		if (!h->cfg.write_delay) {
			u32 delay = kcp_flush(kcp, false);

			h->st.flushes++;
			ns_host_note_dead(h);
			if (kcp_busy(kcp))
				ns_host_arm(h, ns->now + delay);
		} else {
			ns_host_kick(h);
		}
		ns_check_host(h, "send");
	}
}

static void ns_host_read(struct ns_host *h)
{
	struct netsim *ns = h->ns;
	struct ns_host *peer = &ns->host[1 - h->id];
	struct kcp_cb *kcp = &h->kcp;

	while (!h->read_sleeping && !ns->err[0]) {
		struct ns_copy c = { 0, 0, h->rbuf };
		u32 want, msglen = 0, i;
		int ret;

		if (h->cfg.stream) {
			want = ns_range(&h->rng, 1, h->cfg.read_max ? h->cfg.read_max : 4096);
			if (want > h->rbuf_size)
				want = h->rbuf_size;
			ret = kcp_recv(kcp, want, ns_copy_out, &c, 0, NULL);
			if (ret == -EAGAIN)
				break;
			if (ret <= 0 || (u32)ret > want || c.pos != (u32)ret) {
				ns_fail(ns, "host %d: stream kcp_recv(%u) = %d (copied %llu)",
					h->id, want, ret, (unsigned long long)c.pos);
				break;
			}
		} else {
			int ps = kcp_peeksize(kcp);
			u32 expect;

			if (ps < 0) {
				if (kcp_recv(kcp, h->rbuf_size, ns_copy_out, &c,
					     KCP_RECV_MSG, &msglen) != -EAGAIN)
					ns_fail(ns, "host %d: peeksize < 0 but recv works",
						h->id);
				break;
			}
			if (ns->no_verify || peer->cfg.stream) {
				ret = kcp_recv(kcp, h->rbuf_size, ns_copy_out, &c,
					       KCP_RECV_MSG, &msglen);
				if (ret != ps || msglen != (u32)ps) {
					ns_fail(ns, "host %d: peeksize %d, recv %d, msglen %u",
						h->id, ps, ret, msglen);
					break;
				}
				goto got;
			}
			if (h->msgs_rcvd >= peer->nmsgs) {
				ns_fail(ns, "host %d: message %u (%d bytes) never sent",
					h->id, h->msgs_rcvd, ps);
				break;
			}
			expect = peer->msgs[h->msgs_rcvd];
			ret = kcp_recv(kcp, h->rbuf_size, ns_copy_out, &c,
				       KCP_RECV_MSG, &msglen);
			if ((u32)ps != expect || ret != ps || msglen != expect ||
			    c.pos != expect) {
				ns_fail(ns, "host %d: message %u: peeksize %d, recv %d, msglen %u, expected %u",
					h->id, h->msgs_rcvd, ps, ret, msglen, expect);
				break;
			}
			h->msgs_rcvd++;
		}
got:
		for (i = 0; !ns->no_verify && i < (u32)ret; i++) {
			u8 e = ns_stream_byte(peer->cfg.data_seed, h->rcvd + i);

			if (h->rbuf[i] != e) {
				ns_fail(ns, "host %d: byte %llu is %02x, expected %02x",
					h->id, (unsigned long long)(h->rcvd + i),
					h->rbuf[i], e);
				return;
			}
		}
		h->rcvd += (u32)ret;
		h->st.reads++;
		if (!ns->no_verify && h->rcvd > peer->cfg.send_bytes) {
			ns_fail(ns, "host %d: read %llu bytes, only %llu sent", h->id,
				(unsigned long long)h->rcvd,
				(unsigned long long)peer->cfg.send_bytes);
			break;
		}
		ns_check_host(h, "recv");
		ns_host_kick(h);
		if (ns_ppm(&h->rng, h->cfg.read_stall_ppm)) {
			h->read_sleeping = true;
			ns_schedule(ns, ns->now + ns_range(&h->rng, 1,
				    h->cfg.read_stall_ms ? h->cfg.read_stall_ms : 1),
				    NS_EV_READ, h);
			break;
		}
	}
}

/* The application wakes up: read what it can, write what it may. */
void ns_host_pump(struct ns_host *h)
{
	ns_host_read(h);
	ns_host_write(h);
}

static void ns_host_event(struct netsim *ns, struct ns_event *ev)
{
	struct ns_host *h = ev->host;
	struct kcp_cb *kcp = &h->kcp;
	u32 delay;
	int ret;

	if (ev->type == NS_EV_TIMER &&
	    (!h->timer_armed || ev->gen != h->timer_gen))
		return;		/* superseded by an earlier expiry */
	if (ns->trace) {
		static const char *const names[] = { "rx", "timer", "write", "read" };

		fprintf(ns->trace, "%llu: %d %s", (unsigned long long)ns->now,
			h->id, names[ev->type]);
		if (ev->type == NS_EV_DELIVER)
			ns_print_dgram(ns->trace, ev->data, ev->len);
		else
			fprintf(ns->trace, " una=%u nxt=%u rcv_nxt=%u waitsnd=%u rmt_wnd=%u cwnd=%u que=%u/%u rcvbytes=%u\n",
				kcp->snd_una, kcp->snd_nxt, kcp->rcv_nxt,
				kcp_waitsnd(kcp), kcp->rmt_wnd, kcp->cwnd,
				kcp->nrcv_que, kcp->nrcv_buf, kcp->rcv_bytes);
	}
	switch (ev->type) {
	case NS_EV_DELIVER:
		h->st.inputs++;
		ret = kcp_input(kcp, ev->data, ev->len, true, h->cfg.ack_nodelay);
		if (ret) {
			h->st.input_errs++;
			if (!ns->link[1 - h->id].cfg.corrupt_ppm && !ns->link[1 - h->id].tap)
				ns_fail(ns, "host %d: kcp_input = %d on a clean link",
					h->id, ret);
		}
		ns_host_note_dead(h);
		ns_check_host(h, "input");
		ns_host_kick(h);	/* kcp_sk_after_rx() */
		break;
	case NS_EV_TIMER:
		h->timer_armed = false;
		h->st.timer_fires++;
		h->st.flushes++;
		delay = kcp_flush(kcp, false);
		ns_host_note_dead(h);
		if (delay == 0 || delay > kcp->interval)
			ns_fail(ns, "host %d: kcp_flush returned %u (interval %u)",
				h->id, delay, kcp->interval);
		ns_check_host(h, "flush");
		if (kcp_busy(kcp))
			ns_host_arm(h, ns->now + delay);
		else
			kcp_shrink(kcp);	/* kcp_timer_rearm(): idle */
		break;
	case NS_EV_WRITE:
		h->write_sleeping = false;
		break;
	case NS_EV_READ:
		h->read_sleeping = false;
		break;
	}
	ns_host_pump(h);
}

/* ---- setup / run --------------------------------------------------------------- */

static int ns_host_init(struct netsim *ns, int id, const struct ns_host_cfg *cfg)
{
	struct ns_host *h = &ns->host[id];
	struct kcp_cb *kcp = &h->kcp;

	memset(h, 0, sizeof(*h));
	h->ns = ns;
	h->id = id;
	h->cfg = *cfg;
	ns_seed(&h->rng, ns_next(&ns->rng));
	h->txbuf = malloc(KCP_MTU_MAX);
	kcp_init(kcp, cfg->conv, &ns_ops);
	if (cfg->reserved && kcp_set_reserved(kcp, cfg->reserved))
		return -1;
	if (cfg->mtu && kcp_set_mtu(kcp, cfg->mtu))
		return -1;
	kcp_set_nodelay(kcp, cfg->nodelay, cfg->interval, cfg->resend, cfg->nc);
	kcp_set_wndsize(kcp, cfg->snd_wnd, cfg->rcv_wnd);
	kcp->stream = cfg->stream;
	/* room for the largest message any peer could send */
	h->rbuf_size = KCP_MTU_MAX * KCP_FRG_MAX;
	h->rbuf = malloc(h->rbuf_size);
	if (!h->txbuf || !h->rbuf)
		abort();
	return 0;
}

int ns_init(struct netsim *ns, u64 seed, u32 clock_base,
	    const struct ns_host_cfg *h0, const struct ns_host_cfg *h1,
	    const struct ns_link_cfg *l01, const struct ns_link_cfg *l10)
{
	int i;

	memset(ns, 0, sizeof(*ns));
	ns_seed(&ns->rng, seed);
	ns->clock_base = clock_base;
	ns->check_invariants = true;
	for (i = 0; i < 2; i++) {
		ns->link[i].cfg = i ? *l10 : *l01;
		ns_seed(&ns->link[i].rng, ns_next(&ns->rng));
	}
	if (ns_host_init(ns, 0, h0) || ns_host_init(ns, 1, h1))
		return -1;
	return 0;
}

void ns_free(struct netsim *ns)
{
	struct ns_event *ev;
	int i;

	while ((ev = ns_pop(ns)))
		free(ev);
	free(ns->heap);
	ns->heap = NULL;
	ns->heapcap = 0;
	for (i = 0; i < 2; i++) {
		struct ns_host *h = &ns->host[i];

		if (!h->ns)
			continue;
		kcp_release(&h->kcp);
		free(h->txbuf);
		free(h->rbuf);
		free(h->msgs);
		h->txbuf = h->rbuf = NULL;
		h->msgs = NULL;
	}
}

void ns_start(struct netsim *ns)
{
	ns_schedule(ns, ns->now, NS_EV_WRITE, &ns->host[0]);
	ns_schedule(ns, ns->now, NS_EV_WRITE, &ns->host[1]);
}

u64 ns_next_event(const struct netsim *ns)
{
	return ns->nheap ? ns->heap[0]->at : ns->now;
}

bool ns_complete(const struct netsim *ns)
{
	int i;

	for (i = 0; i < 2; i++) {
		const struct ns_host *h = &ns->host[i], *peer = &ns->host[1 - i];

		if (h->sent != h->cfg.send_bytes || kcp_waitsnd(&h->kcp) ||
		    h->rcvd != peer->cfg.send_bytes ||
		    (!peer->cfg.stream && !h->cfg.stream && h->msgs_rcvd != peer->nmsgs))
			return false;
	}
	return true;
}

bool ns_run(struct netsim *ns, u64 until, u64 max_events)
{
	struct ns_event *ev;

	while (!ns->err[0] && !ns_complete(ns)) {
		if (ns->events >= max_events)
			return false;
		ev = ns_pop(ns);
		if (!ev)
			return false;
		if (ev->at > until) {
			ns_push(ns, ev);
			return false;
		}
		if (ev->at < ns->now) {
			ns_fail(ns, "time went backwards");
			free(ev);
			return false;
		}
		ns->now = ev->at;
		ns->events++;
		ns_host_event(ns, ev);
		free(ev);
	}
	return !ns->err[0] && ns_complete(ns);
}

bool ns_acked_una_stall(const struct netsim *ns, int i)
{
	const struct kcp_cb *kcp = &ns->host[i].kcp, *peer = &ns->host[1 - i].kcp;
	const struct kcp_list *p;

	if (!kcp->nsnd_buf || kcp_busy(peer) || peer->rcv_nxt != kcp->snd_nxt)
		return false;
	for (p = kcp->snd_buf.next; p != &kcp->snd_buf; p = p->next)
		if (!KSEG(p)->acked)
			return false;
	return true;
}

static void ns_describe_host(const struct ns_host *h, FILE *f)
{
	const struct ns_host_cfg *c = &h->cfg;

	fprintf(f, "#   host%d: conv=%08x mtu=%u reserved=%u nodelay=%d,%d,%d,%d wnd=%u/%u %s acknodelay=%d writedelay=%d txfail=%u send=%llu write_max=%u msg_max=%u pause=%u/%u read_max=%u stall=%u/%u\n",
		h->id, c->conv, h->kcp.mtu, h->kcp.reserved, c->nodelay,
		c->interval, c->resend, c->nc, c->snd_wnd, c->rcv_wnd,
		c->stream ? "stream" : "message", c->ack_nodelay,
		c->write_delay, c->txfail_ppm,
		(unsigned long long)c->send_bytes, c->write_max, c->msg_max,
		c->write_pause_ppm, c->write_pause_ms, c->read_max,
		c->read_stall_ppm, c->read_stall_ms);
	fprintf(f, "#     progress: sent=%llu rcvd(peer data)=%llu waitsnd=%u rmt_wnd=%u snd_una=%u snd_nxt=%u rcv_nxt=%u cwnd=%u rto=%u dgrams=%llu timer=%llu\n",
		(unsigned long long)h->sent, (unsigned long long)h->rcvd,
		kcp_waitsnd(&h->kcp), h->kcp.rmt_wnd, h->kcp.snd_una,
		h->kcp.snd_nxt, h->kcp.rcv_nxt, h->kcp.cwnd, h->kcp.rx_rto,
		(unsigned long long)h->st.dgrams,
		(unsigned long long)h->st.timer_fires);
}

static void ns_describe_link(const struct ns_link *l, int i, FILE *f)
{
	const struct ns_link_cfg *c = &l->cfg;

	fprintf(f, "#   link%d->%d: delay=%u jitter=%u loss=%u burst=%u/%u dup=%u reorder=%u/%u bw=%u qlimit=%u corrupt=%u | sent=%llu lost=%llu burst=%llu qdrop=%llu dup=%llu\n",
		i, 1 - i, c->delay, c->jitter, c->loss_ppm, c->burst_ppm,
		c->burst_ms, c->dup_ppm, c->reorder_ppm, c->reorder_delay,
		c->bw, c->qlimit, c->corrupt_ppm,
		(unsigned long long)l->st.sent, (unsigned long long)l->st.lost,
		(unsigned long long)l->st.burst_lost,
		(unsigned long long)l->st.qdrop, (unsigned long long)l->st.dup);
}

void ns_describe(const struct netsim *ns, FILE *f)
{
	fprintf(f, "#   clock_base=%u now=%llu events=%llu\n", ns->clock_base,
		(unsigned long long)ns->now, (unsigned long long)ns->events);
	ns_describe_host(&ns->host[0], f);
	ns_describe_host(&ns->host[1], f);
	ns_describe_link(&ns->link[0], 0, f);
	ns_describe_link(&ns->link[1], 1, f);
}
