// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: two KCP engines (kmod/kcp_engine.c), optionally with
 * the FEC layer (kmod/kcp_fec.c) between them, transfer fixed payloads
 * over a simulated link whose fate for every datagram (deliver, drop,
 * duplicate, delay/reorder) the input decides. Once the input is used up
 * the link turns perfect, allocation failures stop, readers keep up, and
 * the transfer must complete byte for byte (stream) or message for
 * message (message mode) in bounded simulated time, unless an engine
 * declared its link dead (as the socket would, with ETIMEDOUT). Received
 * data must be a prefix of what was sent at every step, and both cbs'
 * invariants (engine_check.h) hold throughout.
 *
 * Input layout:
 *   0      flags: 1 stream, 2 FEC, 4 nodelay, 8 nocwnd, 0x10 ack_nodelay,
 *                 0x20 both directions, 0x40 slow reader, 0x80 alloc fail
 *   1, 2   mtu of A, B: 50 + b * 6 (at most 1500)
 *   3, 4   snd_wnd A, rcv_wnd B: 1 + b % 64      5, 6  same for B -> A
 *   7      interval = 10 + b     8  fastresend = b % 4; 0x80: ack_early
 *   9, 10  payload A -> B, B -> A: 1 + b * 24 bytes, at most 48 mss
 *   11     FEC d = 1 + b % 10, p = 1 + (b >> 4) % 4
 *   12     link latency 1 + b % 64 ms
 *   13     largest message: b % 8 + 1 mss; 0x80: the readers read the other
 *          way (byte stream from a message sender or messages from a
 *          stream sender; rcv_stream follows the reader)
 *   14..21 allocation failure mask LE64
 *   then one channel byte per datagram sent: & 3 == 0 deliver after the
 *   latency + (b >> 2) % 4, 1 drop, 2 duplicate (second copy + b >> 2 ms),
 *   3 delay by (b >> 2) * 5 ms
 */
#include "fuzz_common.h"
#include "engine_check.h"
#include "kcp_fec.h"
#include "rs_tables.h"

#define CFG_LEN		22
#define MAX_PKTS	4096
#define MAX_STEPS	400000			/* while the input lasts */
#define PERFECT_MS	(4 * 3600 * 1000u)	/* simulated time to finish */
/*
 * Steps once the link is perfect: enough to reach PERFECT_MS while both
 * sessions' timers fire every interval (>= 10 ms, as a busy session's
 * does during a long RTO backoff), and then some for the datagrams.
 */
#define PERFECT_STEPS	(2 * PERFECT_MS / 10 + 4 * MAX_PKTS)

enum {
	F_STREAM = 1, F_FEC = 2, F_NODELAY = 4, F_NOCWND = 8,
	F_ACKNODELAY = 0x10, F_BIDIR = 0x20, F_SLOWREAD = 0x40,
	F_FAILALLOC = 0x80,
};

struct side {
	struct kcp_cb kcp;	/* first: ops callbacks cast back */
	int idx;
	u8 *pending;		/* begun datagram (whole buffer) */
	bool armed;		/* the session timer (kmod/timer.c) */
	u32 expires;
	bool fec;
	struct kcp_fec_enc enc;
	struct kcp_fec_dec dec;
	struct eng_limits lim;
	/* what this side sends */
	u64 seed;
	u32 total, sent;
	u32 nmsg_sent;
	u32 msg_max;
	/* what this side received from the other */
	u32 rcvd;
	u32 nmsg_rcvd;
	u32 rcvd_msg_bytes;
	bool msg_reader;	/* reads messages (SOCK_SEQPACKET) */
};

struct pkt {
	u8 *buf;
	u16 len;
	u8 to;
	u32 at;
	u64 order;
};

static struct side sides[2];
static struct pkt wire[MAX_PKTS];
static u32 npkts;
static u64 porder;
static u32 now, latency;
static struct fin input;
static u8 flags;
static bool perfect;
static u8 rdbuf[256 * KCP_MTU_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (fuzz_rs_init())
		abort();
	return 0;
}

static u32 op_clock(struct kcp_cb *kcp)
{
	return now;
}

static u8 *op_begin(struct kcp_cb *kcp)
{
	struct side *s = (struct side *)kcp;

	FUZZ_CHECK(!s->pending, "dgram_begin while a datagram is open");
	/* exactly mtu bytes: reserved header room, then mtu - reserved */
	s->pending = malloc(kcp->mtu);
	return s->pending + kcp->reserved;
}

static void link_put(struct side *from, const u8 *buf, u32 len)
{
	u32 copies = 1, i, at = now + latency, at2 = at;

	if (!perfect) {
		u8 c = fin_u8(&input);

		if (fin_empty(&input)) {
			perfect = true;
			fuzz_alloc.fail_mask = 0;
		}
		switch (c & 3) {
		case 0:
			at += (c >> 2) % 4;
			break;
		case 1:
			copies = 0;
			break;
		case 2:
			copies = 2;
			at2 = at + (c >> 2);
			break;
		case 3:
			at += (c >> 2) * 5;
			break;
		}
	}
	if (fuzz_debug())
		fprintf(stderr, "%u: %c sends %u bytes, %u copies at %u\n", now,
			'A' + from->idx, len, copies, at);
	for (i = 0; i < copies && npkts < MAX_PKTS; i++) {
		struct pkt *p = &wire[npkts++];

		p->buf = malloc(len);
		memcpy(p->buf, buf, len);
		p->len = len;
		p->to = !from->idx;
		p->at = i ? at2 : at;
		p->order = porder++;
	}
}

static void op_end(struct kcp_cb *kcp, u8 *buf, u32 len)
{
	struct side *s = (struct side *)kcp;
	u8 *base = s->pending;
	int n, i;

	FUZZ_CHECK(base && buf == base + kcp->reserved,
		   "dgram_end of an unknown buffer");
	eng_check_dgram(kcp, buf, len);
	if (!s->fec) {
		link_put(s, buf, len);
	} else {
		n = kcp_fec_encode(&s->enc, base, len + KCP_FEC_HDR, false);
		FUZZ_CHECK(n >= 0, "kcp_fec_encode: %d", n);
		link_put(s, base, len + KCP_FEC_HDR);
		for (i = 0; i < n; i++) {
			u8 par[KCP_FEC_DGRAM_MAX];
			int plen = kcp_fec_enc_parity(&s->enc, i, par,
						      sizeof(par));

			FUZZ_CHECK(plen > 0 && plen <= (int)kcp->mtu,
				   "parity of %d bytes, mtu %u", plen, kcp->mtu);
			link_put(s, par, plen);
		}
	}
	free(base);
	s->pending = NULL;
}

static const struct kcp_ops ops = {
	.clock = op_clock,
	.dgram_begin = op_begin,
	.dgram_end = op_end,
};

struct cursor {
	u8 *buf;
	u64 seed;
	u32 off, cap;
};

static int copy_in(void *arg, u8 *seg_data, u32 len)
{
	struct cursor *c = arg;

	FUZZ_CHECK(c->off + len <= c->cap, "send copy beyond the buffer");
	fuzz_fill(seg_data, c->seed, c->off, len);
	c->off += len;
	return 0;
}

static int copy_out(void *arg, u8 *seg_data, u32 len)
{
	struct cursor *c = arg;

	FUZZ_CHECK(c->off + len <= c->cap, "read copy beyond the buffer");
	memcpy(c->buf + c->off, seg_data, len);
	c->off += len;
	return 0;
}

/* Message i of a side: its length (1 .. msg_max). */
static u32 msg_len(const struct side *s, u32 i)
{
	return 1 + (fuzz_pattern(s->seed ^ 0x5bd1e995, i) |
		    fuzz_pattern(s->seed, ~(u64)i) << 8) % s->msg_max;
}

static void app_write(struct side *s)
{
	struct kcp_cb *kcp = &s->kcp;

	while (s->sent < s->total) {
		u32 wnd = min(kcp->snd_wnd, kcp->rmt_wnd), len;
		int room = (int)wnd - (int)kcp_waitsnd(kcp), ret;
		struct cursor c = { .seed = s->seed, .off = s->sent };

		if (room <= 0)
			return;
		if (kcp->stream)
			len = min_t(u32, s->total - s->sent,
				    (u32)room * kcp->mss);
		else
			len = min(msg_len(s, s->nmsg_sent), s->total - s->sent);
		c.cap = s->sent + len;
		ret = kcp_send(kcp, len, copy_in, &c, true);
		if (ret < 0) {
			FUZZ_CHECK(ret == -ENOMEM && !perfect,
				   "kcp_send: %d", ret);
			return;
		}
		FUZZ_CHECK(ret > 0 && (kcp->stream || (u32)ret == len),
			   "send of %u returned %d", len, ret);
		s->sent += ret;
		if (!kcp->stream)
			s->nmsg_sent++;
	}
}

/* @s reads what @peer sent. */
static void app_read(struct side *s, const struct side *peer)
{
	struct kcp_cb *kcp = &s->kcp;
	u32 i;

	for (;;) {
		struct cursor c = { .buf = rdbuf, .cap = sizeof(rdbuf) };
		u32 msglen = 0;
		int ret = kcp_recv(kcp, sizeof(rdbuf), copy_out, &c,
				   s->msg_reader ? KCP_RECV_MSG : 0, &msglen);

		if (ret == -EAGAIN)
			return;
		FUZZ_CHECK(ret >= 0, "kcp_recv: %d", ret);
		FUZZ_CHECK(s->rcvd + ret <= peer->total,
			   "received %u + %d bytes of %u", s->rcvd, ret,
			   peer->total);
		i = fuzz_mismatch(rdbuf, peer->seed, s->rcvd, ret);
		FUZZ_CHECK(i == (u32)ret, "byte %u of the stream differs",
			   s->rcvd + i);
		if (s->msg_reader && !peer->kcp.stream) {
			/* message boundaries survive end to end */
			u32 want = min(msg_len(peer, s->nmsg_rcvd),
				       peer->total - s->rcvd);

			FUZZ_CHECK((u32)ret == want && msglen == want,
				   "message %u: %d bytes (msglen %u), sent %u",
				   s->nmsg_rcvd, ret, msglen, want);
			s->nmsg_rcvd++;
		}
		s->rcvd += ret;
		FUZZ_CHECK(ret || s->msg_reader, "stream read of 0 bytes");
	}
}

static void feed_kcp(struct side *s, const u8 *p, size_t len, bool regular)
{
	int ret = kcp_input(&s->kcp, p, len, regular,
			    !!(flags & F_ACKNODELAY));

	/* the peer is a correct engine: everything it sends parses */
	FUZZ_CHECK(ret == 0, "kcp_input of the peer's datagram: %d", ret);
}

static void deliver(struct pkt *p)
{
	struct side *s = &sides[p->to];
	const u8 *kcp;
	size_t kl;
	enum kcp_fec_kind kind = kcp_fec_parse(p->buf, p->len, &kcp, &kl);
	int n, i;

	if (fuzz_debug())
		fprintf(stderr, "%u: to %c len %u kind %d\n", now, 'A' + p->to,
			p->len, kind);
	FUZZ_CHECK(kind != KCP_FEC_BAD, "peer sent a bad FEC datagram");
	FUZZ_CHECK(s->fec ? kind != KCP_FEC_NONE : kind == KCP_FEC_NONE,
		   "FEC header %s", s->fec ? "missing" : "unexpected");
	if (kind == KCP_FEC_NONE || kind == KCP_FEC_DATA)
		feed_kcp(s, kcp, kl, true);
	if (!s->fec)
		return;
	n = kcp_fec_decode(&s->dec, p->buf, p->len, now, false);
	FUZZ_CHECK(n >= 0, "kcp_fec_decode: %d", n);
	for (i = 0; i < n; i++) {
		const u8 *r = kcp_fec_dec_recovered(&s->dec, i, &kl);

		FUZZ_CHECK(r, "recovered shard %d missing", i);
		/* a rebuilt shard is a datagram the peer really sent */
		if (kl)
			feed_kcp(s, r, kl, false);
	}
}

/* The session timer as kmod/timer.c runs it: an earlier expiry wins. */
static void timer_arm(struct side *s, u32 at)
{
	if (s->armed && kcp_timediff(s->expires, at) <= 0)
		return;
	s->armed = true;
	s->expires = at;
}

/* After input, a read or a write: kcp_sk_after_rx() / kcp_timer_kick(). */
static void timer_kick(struct side *s)
{
	u32 iv = s->kcp.interval;

	if (kcp_busy(&s->kcp))
		timer_arm(s, now + iv - now % iv);
}

/* kcp_sk_tick(): flush, re-arm while busy, shrink when idle. */
static void timer_fire(struct side *s)
{
	u32 delay;

	s->armed = false;
	delay = kcp_flush(&s->kcp, false);
	FUZZ_CHECK(delay <= s->kcp.interval, "flush delay %u > interval %u",
		   delay, s->kcp.interval);
	if (kcp_busy(&s->kcp))
		timer_arm(s, now + delay);
	else
		kcp_shrink(&s->kcp);
}

static bool side_done(const struct side *s, const struct side *peer)
{
	return s->sent == s->total && !kcp_waitsnd(&s->kcp) &&
	       peer->rcvd == s->total;
}

/*
 * The simulator's scheduling scans (harness bookkeeping, not under test,
 * kept out of the coverage map like engine_check.h's walks).
 * next_event(): the earliest armed timer or arrival; false if none.
 */
static FUZZ_NOCOV bool next_event(u32 *t)
{
	bool have = false;
	u32 i;

	for (i = 0; i < 2; i++) {
		if (!sides[i].armed)
			continue;
		if (!have || kcp_timediff(sides[i].expires, *t) < 0) {
			*t = sides[i].expires;
			have = true;
		}
	}
	for (i = 0; i < npkts; i++)
		if (!have || kcp_timediff(wire[i].at, *t) < 0) {
			*t = wire[i].at;
			have = true;
		}
	return have;
}

/* The datagram due first by now (time, then send order), or npkts. */
static FUZZ_NOCOV u32 next_due(void)
{
	u32 best = npkts, i;

	for (i = 0; i < npkts; i++)
		if (kcp_timediff(wire[i].at, now) <= 0 &&
		    (best == npkts ||
		     kcp_timediff(wire[i].at, wire[best].at) < 0 ||
		     (wire[i].at == wire[best].at &&
		      wire[i].order < wire[best].order)))
			best = i;
	return best;
}

static void setup_side(struct side *s, int idx, u8 mtu_b, u8 sndw_b,
		       u8 rcvw_b, u8 pay_b, u8 interval_b, u8 resend_b,
		       u32 d, u32 p, u8 msg_b, u32 conv)
{
	struct kcp_cb *kcp = &s->kcp;
	u32 mtu = min_t(u32, KCP_MTU_MIN + mtu_b * 6, KCP_MTU_MAX);

	memset(s, 0, sizeof(*s));
	s->idx = idx;
	s->fec = flags & F_FEC;
	kcp_init(kcp, conv, &ops);
	if (s->fec) {
		/* parity is as long as the longest data datagram: <= mtu */
		FUZZ_CHECK(!kcp_fec_enc_init(&s->enc, d, p) &&
			   !kcp_fec_dec_init(&s->dec, d, p), "FEC init");
		FUZZ_CHECK(!kcp_set_reserved(kcp, KCP_FEC_HDR), "reserved");
	}
	FUZZ_CHECK(!kcp_set_mtu(kcp, mtu), "mtu %u", mtu);
	kcp_set_wndsize(kcp, 1 + sndw_b % 64, 1 + rcvw_b % 64);
	kcp_set_nodelay(kcp, !!(flags & F_NODELAY), 10 + interval_b,
			resend_b % 4, !!(flags & F_NOCWND));
	kcp->ack_early = !!(resend_b & 0x80);
	kcp->stream = !!(flags & F_STREAM);
	s->msg_reader = !kcp->stream ^ !!(msg_b & 0x80);
	kcp->rcv_stream = !s->msg_reader;
	s->seed = 0x1234567 + idx * 0x9e3779b9ULL;
	/* enough segments for every window, not so many that runs crawl */
	s->total = min_t(u32, 1 + pay_b * 24, 48 * kcp->mss);
	s->msg_max = (1 + msg_b % 8) * kcp->mss;
	s->lim.rcv_wnd = kcp->rcv_wnd;
	s->lim.snd_segs = 2 * kcp->snd_wnd + 1;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	u8 cfg[CFG_LEN];
	size_t got, fec_bound = 0, total_bound;
	u32 d, p, step, perfect_since = 0, perfect_step = 0, i, conv;
	u64 mask;
	bool dead = false, done = false, in_perfect = false;

	if (size < CFG_LEN)
		return 0;
	fin_init(&input, data, size);
	memcpy(cfg, fin_bytes(&input, CFG_LEN, &got), CFG_LEN);
	flags = cfg[0];
	d = 1 + cfg[11] % 10;
	p = 1 + (cfg[11] >> 4) % 4;
	latency = 1 + cfg[12] % 64;
	mask = (u64)kcp_get_le32(cfg + 14) | (u64)kcp_get_le32(cfg + 18) << 32;
	conv = kcp_get_le32(cfg + 14) ^ 0x4b435021;
	now = 0xfffff000;	/* the clock wraps during the run */
	npkts = 0;
	porder = 0;
	perfect = fin_empty(&input);

	fuzz_alloc_reset(0);
	FUZZ_CHECK(fuzz_alloc.live == 0, "%zu bytes leaked earlier",
		   fuzz_alloc.live);
	setup_side(&sides[0], 0, cfg[1], cfg[3], cfg[6], cfg[9], cfg[7],
		   cfg[8], d, p, cfg[13], conv);
	setup_side(&sides[1], 1, cfg[2], cfg[5], cfg[4], cfg[10], cfg[7],
		   cfg[8], d, p, cfg[13], conv);
	/* a message must fit the receiver's window: frg + 1 <= rcv_wnd */
	for (i = 0; i < 2; i++) {
		struct side *s = &sides[i];
		u32 segs = min_t(u32, KCP_FRG_MAX,
				 min(s->kcp.snd_wnd, sides[!i].kcp.rcv_wnd));

		s->msg_max = min(s->msg_max, segs * s->kcp.mss);
	}
	if (!(flags & F_BIDIR))
		sides[1].total = 0;
	if (flags & F_FEC)	/* encoder + decoder of each side */
		fec_bound = 2 * (p * (KCP_FEC_SHARD_MAX + 16) + p * d + 64 +
				 16384 + (size_t)3 * (d + p + 1) *
				 (KCP_FEC_SHARD_MAX + 64) +
				 (size_t)d * KCP_FEC_SHARD_MAX);
	total_bound = eng_mem_bound(&sides[0].lim) +
		      eng_mem_bound(&sides[1].lim) + fec_bound;
	for (i = 0; i < 2; i++)
		sides[i].lim.extra = total_bound - eng_mem_bound(&sides[i].lim);
	if ((flags & F_FAILALLOC) && !perfect)
		fuzz_alloc.fail_mask = mask;

	for (step = 0; !done && !dead; step++) {
		if (in_perfect ? step - perfect_step >= PERFECT_STEPS :
				 step >= MAX_STEPS)
			break;
		bool have = false;
		u32 t = 0;

		/* the applications: write what the window takes, read all */
		for (i = 0; i < 2; i++) {
			struct side *s = &sides[i];

			app_write(s);
			if (!(flags & F_SLOWREAD) || perfect || !(step & 7))
				app_read(s, &sides[!i]);
			timer_kick(s);
		}
		/* the next event: a timer or a datagram arriving */
		have = next_event(&t);
		if (!have && !perfect) {
			/* e.g. a write failed for memory: the app tries again */
			perfect = true;
			fuzz_alloc.fail_mask = 0;
			continue;
		}
		if (!have) {
			done = side_done(&sides[0], &sides[1]) &&
			       side_done(&sides[1], &sides[0]);
			FUZZ_CHECK(done,
				   "stalled, no timer, nothing in flight: A sent %u/%u, B got %u; B sent %u/%u, A got %u",
				   sides[0].sent, sides[0].total, sides[1].rcvd,
				   sides[1].sent, sides[1].total, sides[0].rcvd);
			break;
		}
		if (kcp_timediff(t, now) > 0)
			now = t;
		/* deliver what is due, in (time, send order) order */
		for (;;) {
			u32 best = next_due();
			struct pkt pk;

			if (best == npkts)
				break;
			pk = wire[best];
			wire[best] = wire[--npkts];
			deliver(&pk);
			free(pk.buf);
			timer_kick(&sides[pk.to]);
		}
		for (i = 0; i < 2; i++)
			if (sides[i].armed &&
			    kcp_timediff(sides[i].expires, now) <= 0)
				timer_fire(&sides[i]);
		for (i = 0; i < 2; i++) {
			FUZZ_CHECK(!sides[i].pending, "datagram never ended");
			eng_check(&sides[i].kcp, &sides[i].lim);
			/* the socket ends a dead link (ETIMEDOUT) */
			if (sides[i].kcp.state == KCP_STATE_DEAD)
				dead = true;
		}
		if (perfect && !in_perfect) {
			in_perfect = true;
			perfect_since = now;
			perfect_step = step;
		}
		done = side_done(&sides[0], &sides[1]) &&
		       side_done(&sides[1], &sides[0]);
		FUZZ_CHECK(!in_perfect || dead || done ||
			   now - perfect_since < PERFECT_MS,
			   "stalled: A sent %u/%u, B got %u; B sent %u/%u, A got %u; waitsnd %u/%u rmt_wnd %u/%u",
			   sides[0].sent, sides[0].total, sides[1].rcvd,
			   sides[1].sent, sides[1].total, sides[0].rcvd,
			   kcp_waitsnd(&sides[0].kcp),
			   kcp_waitsnd(&sides[1].kcp), sides[0].kcp.rmt_wnd,
			   sides[1].kcp.rmt_wnd);
	}
	FUZZ_CHECK(done || dead || !in_perfect,
		   "transfer incomplete after %u steps", step);

	for (i = 0; i < npkts; i++)
		free(wire[i].buf);
	fuzz_alloc.fail_mask = 0;
	for (i = 0; i < 2; i++) {
		kcp_release(&sides[i].kcp);
		if (sides[i].fec) {
			kcp_fec_enc_destroy(&sides[i].enc);
			kcp_fec_dec_destroy(&sides[i].dec);
		}
	}
	FUZZ_CHECK(fuzz_alloc.live == 0, "%zu bytes held after release",
		   fuzz_alloc.live);
	return 0;
}
