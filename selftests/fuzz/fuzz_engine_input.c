// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: one KCP engine (kmod/kcp_engine.c) driven by the
 * input: a config block, then a sequence of operations (datagrams for
 * kcp_input, raw or built from fuzzer-chosen header fields, flushes, clock
 * steps, sends, reads, option changes). After every operation the cb's
 * invariants are checked (engine_check.h), and every emitted datagram
 * must be a valid kcp-go datagram of at most mtu - reserved bytes.
 *
 * Input layout (also written by gen/kcpcorpus for the seed corpus):
 *
 *   0      flags: 1 stream, 2 nodelay, 4 nocwnd, 8 ack_nodelay,
 *                 0x10 allocation failures, 0x20 dgram_begin failures,
 *                 0x40 windows x16, 0x80 rcv_stream (a SOCK_STREAM reader)
 *   1..2   mtu = 50 + LE16 % 1451
 *   3      reserved = {0, 8, 20, 28}[b & 3] (0 if it does not fit)
 *   4      snd_wnd = 1 + b       5   rcv_wnd = 1 + b
 *   6      interval = 20 * b     7   fastresend = b % 5; 0x80: ack_early
 *   8..11  conv LE32             12..15  initial clock LE32
 *   16..23 failure mask LE64 (bit i % 64: allocation i fails)
 *   then operations, each one byte (low nibble: kind, high: flags):
 *   0, 14  INPUT   LE16 length (% 1501), then that many bytes
 *   1  SEGS    {1, 3, 8, 40}[flags & 3] fuzzer-described segments, op_segs()
 *   2  FLUSH   3 FLUSH ack-only   4 CLOCK += LE16 (x100 if flags & 1)
 *   5  READ stream   6 READ message (LE16 length; flags & 1: peek)
 *   7  SEND LE16 length   8 SET_MTU LE16   9 NODELAY 4 bytes
 *   10 SHRINK   11 TICK (1 + flags) timer periods   12 PEEKSIZE
 *   13 SET_RESERVED {0, 8, 20, 28}[flags & 3]
 *   15 FLOOD   LE16 % 2048 header-only PUSHes (sn = rcv_nxt + byte % 64
 *              - 16), 62 to a datagram: grows and overflows the ACK list
 */
#include "fuzz_common.h"
#include "engine_check.h"

#define CFG_LEN		24
#define MAX_OPS		4096
#define RDBUF		(256 * KCP_MTU_MAX)

enum {
	F_STREAM = 1, F_NODELAY = 2, F_NOCWND = 4, F_ACKNODELAY = 8,
	F_FAILALLOC = 0x10, F_FAILBEGIN = 0x20, F_BIGWND = 0x40,
	F_RCVSTREAM = 0x80,
};

struct eng {
	struct kcp_cb kcp;	/* first: ops callbacks cast back */
	bool fin_seen;		/* the peer's FIN arrived at fin_nxt */
	u32 fin_nxt;
	u32 now;
	u8 *pending;		/* begun, not yet ended datagram */
	u64 begin_mask;
	u64 nbegin;
	u64 dgrams;
	u64 stats[KCP_STAT_MAX];	/* what the stat callback was told */
	struct eng_limits lim;
	u8 flags;
	/* memory charged through mem_charge, per side; refused beyond cap */
	u64 charged[2];
	u64 mem_cap;
};

static u8 rdbuf[RDBUF], rdbuf2[RDBUF];
static const u8 reserved_opts[4] = { 0, 8, 20, 28 };

static u32 op_clock(struct kcp_cb *kcp)
{
	return ((struct eng *)kcp)->now;
}

/* A buffer of exactly mtu - reserved bytes: ASan sees any overrun. */
static u8 *op_begin(struct kcp_cb *kcp)
{
	struct eng *e = (struct eng *)kcp;
	u64 i = e->nbegin++;

	FUZZ_CHECK(!e->pending, "dgram_begin while a datagram is open");
	if (e->begin_mask >> (i % 64) & 1)
		return NULL;
	e->pending = malloc(kcp->mtu - kcp->reserved);
	return e->pending;
}

static void op_end(struct kcp_cb *kcp, u8 *buf, u32 len)
{
	struct eng *e = (struct eng *)kcp;

	FUZZ_CHECK(buf && buf == e->pending, "dgram_end of an unknown buffer");
	eng_check_dgram(kcp, buf, len);
	free(e->pending);
	e->pending = NULL;
	e->dgrams++;
}

static void op_stat(struct kcp_cb *kcp, enum kcp_stat idx, u32 n)
{
	struct eng *e = (struct eng *)kcp;

	FUZZ_CHECK((unsigned int)idx < KCP_STAT_MAX && n, "stat %d += %u",
		   idx, n);
	e->stats[idx] += n;
}

/* As the kernel's socket accounting: refuse beyond a budget per side. */
static bool op_charge(struct kcp_cb *kcp, bool rcv, u32 size)
{
	struct eng *e = (struct eng *)kcp;

	FUZZ_CHECK(size >= sizeof(struct kcp_seg) &&
		   size <= sizeof(struct kcp_seg) + KCP_MTU_MAX,
		   "charge of %u bytes", size);
	if (e->charged[rcv] + size > e->mem_cap)
		return false;
	e->charged[rcv] += size;
	return true;
}

static void op_uncharge(struct kcp_cb *kcp, bool rcv, u32 size)
{
	struct eng *e = (struct eng *)kcp;

	FUZZ_CHECK(e->charged[rcv] >= size, "uncharge %u of %llu (%s)", size,
		   (unsigned long long)e->charged[rcv], rcv ? "rcv" : "snd");
	e->charged[rcv] -= size;
}

static ENG_NOCOV u64 seg_bytes(const struct kcp_list *h, bool rcv)
{
	const struct kcp_list *pos;
	u64 n = 0;

	for (pos = h->next; pos != h; pos = pos->next) {
		FUZZ_CHECK(eng_seg(pos)->rcv == rcv, "segment of the wrong side");
		n += sizeof(struct kcp_seg) + eng_seg(pos)->cap;
	}
	return n;
}

/* What is charged is exactly what the four queues hold. */
static ENG_NOCOV void check_charges(const struct eng *e)
{
	const struct kcp_cb *kcp = &e->kcp;

	FUZZ_CHECK(e->charged[0] == seg_bytes(&kcp->snd_queue, false) +
				    seg_bytes(&kcp->snd_buf, false),
		   "send charges %llu differ from the send queues",
		   (unsigned long long)e->charged[0]);
	FUZZ_CHECK(e->charged[1] == seg_bytes(&kcp->rcv_queue, true) +
				    seg_bytes(&kcp->rcv_buf, true),
		   "receive charges %llu differ from the receive queues",
		   (unsigned long long)e->charged[1]);
}

static const struct kcp_ops ops = {
	.clock = op_clock,
	.dgram_begin = op_begin,
	.dgram_end = op_end,
	.stat = op_stat,
	.mem_charge = op_charge,
	.mem_uncharge = op_uncharge,
};

/* Copies in and out of the harness's buffers, with optional -EFAULT. */
struct cursor {
	u8 *buf;
	u32 off, cap;
	int fault_after;	/* < 0: never */
	u64 seed;		/* send: pattern seed */
};

static int copy_out(void *arg, u8 *seg_data, u32 len)
{
	struct cursor *c = arg;

	FUZZ_CHECK(c->off + len <= c->cap, "read copy of %u at %u beyond %u",
		   len, c->off, c->cap);
	if (c->fault_after == 0)
		return -EFAULT;
	if (c->fault_after > 0)
		c->fault_after--;
	memcpy(c->buf + c->off, seg_data, len);
	c->off += len;
	return 0;
}

static int copy_in(void *arg, u8 *seg_data, u32 len)
{
	struct cursor *c = arg;

	FUZZ_CHECK(c->off + len <= c->cap, "send copy of %u at %u beyond %u",
		   len, c->off, c->cap);
	if (c->fault_after == 0)
		return -EFAULT;
	if (c->fault_after > 0)
		c->fault_after--;
	fuzz_fill(seg_data, c->seed, c->off, len);
	c->off += len;
	return 0;
}

/* Structural pre-check used by listeners (may not exist in this tree). */
bool kcp_input_valid(const u8 *data, u32 len, u32 conv) __attribute__((weak));

static void do_input(struct eng *e, const u8 *data, u32 len, bool regular,
		     bool ack_nodelay)
{
	/* a heap copy of exactly @len bytes: reads past it are caught */
	u8 *copy = malloc(len ? len : 1);
	int valid = -1, ret;

	memcpy(copy, data, len);
	if (kcp_input_valid)
		valid = kcp_input_valid(copy, len, e->kcp.conv);
	ret = kcp_input(&e->kcp, copy, len, regular, ack_nodelay);
	/* 0 or one of the KCP_IN_E* codes (-1 ... -4 so far) */
	FUZZ_CHECK(ret <= 0 && ret > -16, "kcp_input returned %d", ret);
	FUZZ_CHECK(len >= KCP_OVERHEAD || ret == KCP_IN_ESHORT,
		   "short datagram accepted");
	/* the listener's pre-check agrees with what input parses */
	if (valid == 1)
		FUZZ_CHECK(ret != KCP_IN_ESHORT && ret != KCP_IN_ELEN &&
			   ret != KCP_IN_ECMD,
			   "kcp_input_valid said yes, kcp_input %d", ret);
	else if (valid == 0 && !e->kcp.ext)
		FUZZ_CHECK(ret == KCP_IN_ESHORT || ret == KCP_IN_ELEN ||
			   ret == KCP_IN_ECMD || ret < KCP_IN_ECMD,
			   "kcp_input_valid said no, kcp_input %d", ret);
	free(copy);
}

static void op_input(struct eng *e, struct fin *f, u8 fl)
{
	size_t len;
	const u8 *p = fin_bytes(f, fin_u16(f) % (KCP_MTU_MAX + 1), &len);

	do_input(e, p, (u32)len, !(fl & 1),
		 (e->flags & F_ACKNODELAY) || (fl & 2));
}

/*
 * Segments described by the fuzzer relative to the engine's state, so
 * that in-window PUSHes and ACKs of outstanding data are easy to reach:
 *   t: cmd = 81 + t % 4; t & 4: frg byte follows; t & 8: absolute sn;
 *      t & 0x10: absolute una; t & 0x20: wrong conv; t & 0x40: LE16 len
 *   [frg] sn byte (or LE32) una byte (or LE32) wnd LE16 ts-age byte
 *   len byte (or LE16), payload (taken from the input)
 */
static void op_segs(struct eng *e, struct fin *f, u8 fl)
{
	struct kcp_cb *kcp = &e->kcp;
	u8 dgram[KCP_MTU_MAX];
	static const u8 nsegs[4] = { 1, 3, 8, 40 };
	u32 used = 0, nseg = nsegs[fl & 3], i;

	for (i = 0; i < nseg && used + KCP_OVERHEAD <= sizeof(dgram); i++) {
		u8 t = fin_u8(f), cmd = KCP_CMD_PUSH + t % 4, frg = 0;
		u32 sn, una, len, age, conv = kcp->conv;
		u8 *p = dgram + used;
		const u8 *pl;
		size_t got;
		u16 wnd;

		if (t & 4)
			frg = fin_u8(f);
		if (t & 8)
			sn = fin_u32(f);
		else if (cmd == KCP_CMD_PUSH)
			sn = kcp->rcv_nxt + (s8)fin_u8(f);
		else
			sn = kcp->snd_una + fin_u8(f) % (kcp->nsnd_buf + 2);
		if (t & 0x10)
			una = fin_u32(f);
		else
			una = kcp->snd_una + fin_u8(f) % (kcp->nsnd_buf + 2);
		wnd = fin_u16(f);
		/* an ACK's ts echoes one of our sends: somewhat in the past */
		age = fin_u8(f);
		age = (age & 0x80) ? (age & 0x7f) * 1000 : age;
		if (t & 0x20)
			conv ^= 1;
		len = (t & 0x40) ? fin_u16(f) : fin_u8(f);
		if (cmd != KCP_CMD_PUSH && !(t & 0x40))
			len = 0;
		len = min_t(u32, len, sizeof(dgram) - used - KCP_OVERHEAD);
		kt_seg_hdr(p, conv, cmd, frg, wnd, e->now - age, sn, una, len);
		pl = fin_bytes(f, len, &got);
		memcpy(p + KCP_OVERHEAD, pl, got);
		memset(p + KCP_OVERHEAD + got, 0xa5, len - got);
		used += KCP_OVERHEAD + len;
	}
	do_input(e, dgram, used, !(fl & 4),
		 (e->flags & F_ACKNODELAY) || (fl & 8));
}

/* Many in-window PUSHes, no flush in between: the ACK list fills up. */
static void op_flood(struct eng *e, struct fin *f, u8 fl)
{
	struct kcp_cb *kcp = &e->kcp;
	u32 n = fin_u16(f) % 2048, per = KCP_MTU_MAX / KCP_OVERHEAD, i;
	u8 dgram[KCP_MTU_MAX], sel = fin_u8(f);

	while (n) {
		u32 cnt = min(n, per);

		for (i = 0; i < cnt; i++) {
			u8 *p = dgram + i * KCP_OVERHEAD;

			kt_seg_hdr(p, kcp->conv, KCP_CMD_PUSH, 0, 32, e->now,
				   kcp->rcv_nxt + (sel + i) % 64 - 16,
				   kcp->snd_una, 0);
		}
		do_input(e, dgram, cnt * KCP_OVERHEAD, !(fl & 1), fl & 2);
		n -= cnt;
	}
}

static void op_read(struct eng *e, struct fin *f, u8 fl, bool msg)
{
	struct kcp_cb *kcp = &e->kcp;
	u32 len = fin_u16(f) % (RDBUF / 4) + (msg ? 0 : 1);
	unsigned int flags = (msg ? KCP_RECV_MSG : 0) |
			     ((fl & 1) ? KCP_RECV_PEEK : 0);
	struct cursor c = { .buf = rdbuf, .cap = len, .fault_after = -1 };
	u32 before = kcp->rcv_bytes, que = kcp->nrcv_que, msglen = ~0u;
	int peek = kcp_peeksize(kcp), ret;

	if (fl & 2)	/* the copy to the user faults after some segments */
		c.fault_after = (fl >> 2) & 3;
	if (fl & 8 && !(fl & 1) && !(fl & 2)) {
		/* peek first: the real read must return the same bytes */
		struct cursor pc = { .buf = rdbuf2, .cap = len,
				     .fault_after = -1 };
		int pret = kcp_recv(kcp, len, copy_out, &pc,
				    flags | KCP_RECV_PEEK, NULL);

		FUZZ_CHECK(kcp->rcv_bytes == before && kcp->nrcv_que == que,
			   "peek consumed data");
		ret = kcp_recv(kcp, len, copy_out, &c, flags, &msglen);
		FUZZ_CHECK(ret == pret, "peek %d, read %d", pret, ret);
		FUZZ_CHECK(ret < 0 || !memcmp(rdbuf, rdbuf2, ret),
			   "peeked bytes differ from read bytes");
	} else {
		ret = kcp_recv(kcp, len, copy_out, &c, flags, &msglen);
	}
	if (c.fault_after < 0 || ret != -EFAULT) {
		FUZZ_CHECK(ret >= 0 || ret == -EAGAIN, "kcp_recv: %d", ret);
		FUZZ_CHECK(ret < 0 || (u32)ret == c.off,
			   "returned %d, copied %u", ret, c.off);
	}
	if (!msg && c.fault_after < 0) {
		FUZZ_CHECK(before ? ret == (int)min(len, before) : ret == -EAGAIN,
			   "stream read of %u with %u readable returned %d",
			   len, before, ret);
	}
	if (msg && c.fault_after < 0) {
		FUZZ_CHECK(peek < 0 ? ret == -EAGAIN :
			   ret == (int)min_t(u32, len, (u32)peek),
			   "message read of %u, peeksize %d, returned %d",
			   len, peek, ret);
		FUZZ_CHECK(peek < 0 || (fl & 1) || msglen == (u32)peek,
			   "msglen %u, peeksize %d", msglen, peek);
	}
	if (fl & 1)
		FUZZ_CHECK(kcp->rcv_bytes == before && kcp->nrcv_que == que,
			   "peek consumed data");
	/*
	 * Liveness: a byte-stream reader told "nothing to read" must not
	 * leave segments it can never consume holding the receive window
	 * (empty PUSHes from an ikcp-style peer; fixed in e8b9406).
	 */
	if (kcp->rcv_stream && !msg && !(fl & 1) && ret == -EAGAIN &&
	    kcp->nrcv_que && !fuzz_tolerate("stream-empty-wedge"))
		FUZZ_CHECK(kcp->rcv_bytes,
			   "stream read: EAGAIN with %u unreadable segments queued (rcv_wnd %u)",
			   kcp->nrcv_que, kcp->rcv_wnd);
}

/*
 * The session extension: fl & 3 = 0 offer it (the next byte's bit 0:
 * and pretend the peer showed the marker), 1 queue a FIN, 2 send a RST,
 * 3 a FIN or RST segment near the engine's state (sn byte, una byte) or
 * with fl & 4 answer input bytes as a session in time-wait would.
 */
static void op_ext(struct eng *e, struct fin *f, u8 fl)
{
	struct kcp_cb *kcp = &e->kcp;
	u8 seg[KCP_OVERHEAD], t;
	const u8 *p;
	size_t len;
	int ret;

	switch (fl & 3) {
	case 0:
		/* as the engine: offered for good, spoken once seen */
		kcp->ext_offer = 1;
		if (fin_u8(f) & 1)
			kcp->ext = 1;
		break;
	case 1:
		ret = kcp_send_fin(kcp, true);
		FUZZ_CHECK(ret == 0 || (ret == -EPROTO && !kcp->ext) ||
			   ret == -ENOMEM, "kcp_send_fin: %d", ret);
		break;
	case 2:
		kcp_send_rst(kcp);
		break;
	default:
		if (fl & 4) {
			p = fin_bytes(f, fin_u16(f) % (KCP_MTU_MAX + 1), &len);
			ret = kcp_timewait_input(kcp, p, (u32)len);
			FUZZ_CHECK(ret == 0 || (kcp->ext && (ret == KCP_CMD_ACK ||
				   ret == KCP_CMD_RST)), "time-wait: %d", ret);
			break;
		}
		t = fin_u8(f);
		kcp_put_le32(seg, kcp->conv);
		seg[4] = t & 1 ? KCP_CMD_RST : KCP_CMD_FIN;
		seg[5] = t & 2 ? 1 : 0;
		kcp_put_le16(seg + 6, 32);
		kcp_put_le32(seg + 8, e->now);
		kcp_put_le32(seg + 12, kcp->rcv_nxt + (s8)fin_u8(f));
		kcp_put_le32(seg + 16, kcp->snd_una + (s8)fin_u8(f));
		kcp_put_le32(seg + 20, 0);
		do_input(e, seg, sizeof(seg), true, false);
		break;
	}
}

static void op_send(struct eng *e, struct fin *f, u8 fl)
{
	struct kcp_cb *kcp = &e->kcp;
	u32 wnd = min(kcp->snd_wnd, kcp->rmt_wnd);
	int room = (int)wnd - (int)kcp_waitsnd(kcp);
	u32 len = fin_u16(f), segs, bytes = kcp->snd_bytes;
	u32 que = kcp->nsnd_que;
	struct cursor c = { .cap = len, .fault_after = -1, .seed = e->dgrams };
	int ret;

	if (fl & 2)
		c.fault_after = (fl >> 2) & 3;
	/* after the FIN, sendmsg refuses before the engine (SEND_SHUTDOWN) */
	if (kcp->fin_sent) {
		ret = kcp_send(kcp, 1, copy_in, &c, true);
		FUZZ_CHECK(ret == -EPIPE, "send after FIN: %d", ret);
		return;
	}
	/* what af_kcp.c's sendmsg lets through (kcp_send_room) */
	if (room <= 0)
		return;
	if (kcp->stream) {
		len = min_t(u32, len, (u32)room * kcp->mss);
	} else {
		segs = len <= kcp->mss ? 1 : (len + kcp->mss - 1) / kcp->mss;
		if (segs > KCP_FRG_MAX || segs > kcp->snd_wnd)
			len = min_t(u32, KCP_FRG_MAX, kcp->snd_wnd) * kcp->mss;
	}
	c.cap = len;
	ret = kcp_send(kcp, len, copy_in, &c, true);
	if (!len) {
		FUZZ_CHECK(ret == -EINVAL, "empty send returned %d", ret);
		return;
	}
	if (ret < 0) {
		FUZZ_CHECK(ret == -EFAULT || ret == -ENOMEM,
			   "kcp_send: %d", ret);
		FUZZ_CHECK(kcp->nsnd_que == que || kcp->stream,
			   "failed message send queued segments");
		return;
	}
	/* finding send-msg-nomem: a later fragment's allocation failure */
	if (!ret && !kcp->stream && fuzz_tolerate("send-msg-nomem"))
		return;
	FUZZ_CHECK(kcp->stream ? (u32)ret <= len : (u32)ret == len,
		   "send of %u returned %d", len, ret);
	FUZZ_CHECK(kcp->snd_bytes == bytes + (u32)ret,
		   "snd_bytes grew by %u for %d", kcp->snd_bytes - bytes, ret);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static struct eng e;
	struct kcp_cb *kcp = &e.kcp;
	struct fin f;
	u8 cfg[CFG_LEN] = { 0 }, fl;
	u32 mtu, reserved, sndw, rcvw, nops = 0;
	u64 mask;
	size_t got;

	if (size < CFG_LEN)
		return 0;
	fin_init(&f, data, size);
	memcpy(cfg, fin_bytes(&f, CFG_LEN, &got), CFG_LEN);

	memset(&e, 0, sizeof(e));
	e.flags = cfg[0];
	mtu = KCP_MTU_MIN + kcp_get_le16(cfg + 1) % (KCP_MTU_MAX - KCP_MTU_MIN + 1);
	reserved = reserved_opts[cfg[3] & 3];
	if (reserved >= mtu - KCP_OVERHEAD)
		reserved = 0;
	sndw = 1 + cfg[4];
	rcvw = 1 + cfg[5];
	if (e.flags & F_BIGWND) {
		sndw *= 16;
		rcvw *= 16;
	}
	mask = (u64)kcp_get_le32(cfg + 16) | (u64)kcp_get_le32(cfg + 20) << 32;
	e.now = kcp_get_le32(cfg + 12);

	fuzz_alloc_reset(0);
	e.lim.base_live = fuzz_alloc.live;
	e.lim.rcv_wnd = rcvw;
	e.lim.snd_segs = 2 * sndw + 1;
	kcp_init(kcp, kcp_get_le32(cfg + 8), &ops);
	FUZZ_CHECK(kcp_set_mtu(kcp, mtu) == 0, "mtu %u refused", mtu);
	FUZZ_CHECK(kcp_set_reserved(kcp, reserved) == 0, "reserved refused");
	kcp_set_wndsize(kcp, sndw, rcvw);
	kcp_set_nodelay(kcp, !!(e.flags & F_NODELAY), cfg[6] * 20,
			cfg[7] % 5, !!(e.flags & F_NOCWND));
	kcp->ack_early = !!(cfg[7] & 0x80);
	kcp->stream = !!(e.flags & F_STREAM);
	kcp->rcv_stream = !!(e.flags & F_RCVSTREAM);
	if (e.flags & F_FAILALLOC)
		fuzz_alloc.fail_mask = mask;
	if (e.flags & F_FAILBEGIN)
		e.begin_mask = mask >> 7 | mask << 57;
	/* a small budget with F_FAILALLOC: the buffers fill before windows */
	e.mem_cap = e.flags & F_FAILALLOC ? 4096 + (mask & 0xffff) : ~0ULL;
	eng_check(kcp, &e.lim);

	while (!fin_empty(&f) && nops++ < MAX_OPS) {
		u8 op = fin_u8(&f);

		fl = op >> 4;
		switch (op & 15) {
		case 1:
			op_segs(&e, &f, fl);
			break;
		case 2:
			kcp_flush(kcp, false);
			break;
		case 3:
			kcp_flush(kcp, true);
			break;
		case 4:
			e.now += fin_u16(&f) * ((fl & 1) ? 100 : 1);
			break;
		case 5:
			op_read(&e, &f, fl, false);
			break;
		case 6:
			op_read(&e, &f, fl, true);
			break;
		case 7:
			op_send(&e, &f, fl);
			break;
		case 8: {
			u32 m = KCP_MTU_MIN + fin_u16(&f) %
				(KCP_MTU_MAX - KCP_MTU_MIN + 1);
			u32 mss = kcp->mss;
			int ret = kcp_set_mtu(kcp, m);

			FUZZ_CHECK(ret == 0 || ret == -EINVAL || ret == -EBUSY,
				   "kcp_set_mtu: %d", ret);
			FUZZ_CHECK(ret || kcp->mss >= mss || !kcp_waitsnd(kcp),
				   "mss shrank with data queued");
			break;
		}
		case 9: {
			u8 a = fin_u8(&f), b = fin_u8(&f), c = fin_u8(&f);

			fin_u8(&f);
			kcp_set_nodelay(kcp, (a & 1) ? (a >> 1) & 3 : -1,
					(a & 8) ? b * 20 : -1,
					(a & 16) ? c % 5 : -1,
					(a & 32) ? (a >> 6) & 1 : -1);
			break;
		}
		case 10:
			kcp_shrink(kcp);
			break;
		case 11: {
			u32 i;

			for (i = 0; i <= fl; i++) {
				u32 d = kcp_flush(kcp, false);

				FUZZ_CHECK(d <= kcp->interval,
					   "flush delay %u > interval %u", d,
					   kcp->interval);
				e.now += d;
			}
			break;
		}
		case 12: {
			int ps = kcp_peeksize(kcp);

			FUZZ_CHECK(ps >= -1 && (ps < 0 || kcp->nrcv_que),
				   "peeksize %d with %u queued", ps,
				   kcp->nrcv_que);
			break;
		}
		case 13: {
			int ret = kcp_set_reserved(kcp, reserved_opts[fl & 3]);

			FUZZ_CHECK(ret == 0 || ret == -EINVAL || ret == -EBUSY,
				   "kcp_set_reserved: %d", ret);
			break;
		}
		case 14:
			op_ext(&e, &f, fl);
			break;
		case 15:
			op_flood(&e, &f, fl);
			break;
		default:
			op_input(&e, &f, fl);
			break;
		}
		for (int k = 0; k < KCP_STAT_MAX; k++)
			FUZZ_CHECK(e.stats[k] == kcp->stats[k],
				   "stat %d: callback told %llu, cb counts %llu",
				   k, (unsigned long long)e.stats[k],
				   (unsigned long long)kcp->stats[k]);
		FUZZ_CHECK(!e.pending, "datagram begun but never ended");
		/* nothing after the peer's FIN belongs to the stream */
		if (kcp->fin_rcvd && !e.fin_seen) {
			e.fin_seen = true;
			e.fin_nxt = kcp->rcv_nxt;
		}
		FUZZ_CHECK(!e.fin_seen || kcp->rcv_nxt == e.fin_nxt,
			   "rcv_nxt moved past the FIN");
		eng_check(kcp, &e.lim);
		check_charges(&e);
	}

	/* whatever state it is in, release frees everything */
	fuzz_alloc.fail_mask = 0;
	kcp_release(kcp);
	FUZZ_CHECK(!e.charged[0] && !e.charged[1],
		   "charges not returned after kcp_release: snd %llu rcv %llu",
		   (unsigned long long)e.charged[0],
		   (unsigned long long)e.charged[1]);
	FUZZ_CHECK(fuzz_alloc.live == e.lim.base_live,
		   "%zu bytes still held after kcp_release",
		   fuzz_alloc.live - e.lim.base_live);
	return 0;
}
