// SPDX-License-Identifier: GPL-2.0
/*
 * The session extension of the engine (kcp.rst, "Session extension"):
 * the marker in WASK/WINS and who gets to see FIN and RST, FIN ordered
 * after the data and retransmitted until acknowledged, RST's validation,
 * the answers of a session in time-wait. Two engines joined by a queue
 * of datagrams that a test may drop or inspect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netsim.h"
#include "../lib/tap.h"
#include "../lib/kcpwire.h"

#define MAXD	4096
#define CHECK(cond, ...) kt_result(!!(cond), __VA_ARGS__)

struct end {
	struct kcp_cb kcp;
	struct pair *pair;
	int side;
	u8 buf[KCP_MTU_MAX];
	bool open;
};

struct dgram {
	int to;
	u32 len;
	u8 b[KCP_MTU_MAX];
};

struct pair {
	struct end e[2];
	u32 now;
	struct dgram q[MAXD];
	u32 nq;
	/* drop datagrams to side @drop_to holding a segment of @drop_cmd */
	int drop_to, drop_cmd, drops;
};

static struct end *end_of(struct kcp_cb *kcp)
{
	return (struct end *)((char *)kcp - offsetof(struct end, kcp));
}

static u32 p_clock(struct kcp_cb *kcp)
{
	return end_of(kcp)->pair->now;
}

static u8 *p_begin(struct kcp_cb *kcp)
{
	struct end *e = end_of(kcp);

	e->open = true;
	return e->buf;
}

static void p_end(struct kcp_cb *kcp, u8 *buf, u32 len)
{
	struct end *e = end_of(kcp);
	struct pair *p = e->pair;
	struct dgram *d;

	e->open = false;
	if (p->nq == MAXD || !len)
		return;
	d = &p->q[p->nq++];
	d->to = !e->side;
	d->len = len;
	memcpy(d->b, buf, len);
}

static const struct kcp_ops pair_ops = {
	.clock = p_clock,
	.dgram_begin = p_begin,
	.dgram_end = p_end,
};

/* Two engines with extension offers @a and @b, 1 ms apart. */
static struct pair *pair_new(bool a, bool b)
{
	struct pair *p = calloc(1, sizeof(*p));
	int i;

	p->now = 1000;
	p->drop_to = -1;
	for (i = 0; i < 2; i++) {
		kcp_init(&p->e[i].kcp, 0x1234, &pair_ops);
		kcp_set_nodelay(&p->e[i].kcp, 1, 10, 2, 1);
		p->e[i].pair = p;
		p->e[i].side = i;
	}
	p->e[0].kcp.ext_offer = a;
	p->e[1].kcp.ext_offer = b;
	return p;
}

static void pair_free(struct pair *p)
{
	kcp_release(&p->e[0].kcp);
	kcp_release(&p->e[1].kcp);
	free(p);
}

static bool dgram_has(const struct dgram *d, int cmd)
{
	struct kt_seg s[64];
	int i, n = kt_segs_parse(d->b, d->len, s, 64);

	for (i = 0; i < n; i++)
		if (s[i].cmd == cmd)
			return true;
	return false;
}

/* Segments of @cmd queued now (not yet delivered) toward side @to. */
static int queued(const struct pair *p, int to, int cmd, struct kt_seg *out)
{
	int k, c = 0;
	u32 i;

	for (i = 0; i < p->nq; i++) {
		struct kt_seg s[64];
		int n = kt_segs_parse(p->q[i].b, p->q[i].len, s, 64);

		if (p->q[i].to != to)
			continue;
		for (k = 0; k < n; k++)
			if (s[k].cmd == cmd) {
				if (out)
					*out = s[k];
				c++;
			}
	}
	return c;
}

/* Deliver what is queued (new datagrams wait for the next call). */
static void deliver(struct pair *p)
{
	u32 n = p->nq, i;
	static struct dgram d[MAXD];

	memcpy(d, p->q, n * sizeof(d[0]));
	p->nq = 0;
	for (i = 0; i < n; i++) {
		if (d[i].to == p->drop_to && dgram_has(&d[i], p->drop_cmd)) {
			p->drops++;
			continue;
		}
		kcp_input(&p->e[d[i].to].kcp, d[i].b, d[i].len, true, false);
	}
}

/* @ms of 10 ms steps: both flush, then their datagrams arrive. */
static void run(struct pair *p, u32 ms)
{
	u32 t;

	for (t = 0; t < ms; t += 10) {
		p->now += 10;
		kcp_flush(&p->e[0].kcp, false);
		kcp_flush(&p->e[1].kcp, false);
		deliver(p);
	}
}

static int send_bytes(struct end *e, u32 len, u64 seed)
{
	u8 *b = malloc(len);
	struct ns_membuf m = { b, NULL, 0 };
	u32 i;
	int n;

	for (i = 0; i < len; i++)
		b[i] = ns_stream_byte(seed, i);
	n = kcp_send(&e->kcp, len, ns_membuf_from, &m, true);
	free(b);
	return n;
}

/* Read everything readable; returns bytes that matched the stream. */
static u32 recv_all(struct end *e, u64 seed, u32 *off, bool *bad)
{
	u8 b[65536];
	u32 got = 0;
	int n, i;

	for (;;) {
		struct ns_membuf m = { NULL, b, 0 };

		n = kcp_recv(&e->kcp, sizeof(b), ns_membuf_to, &m,
			     e->kcp.stream ? 0 : KCP_RECV_MSG, NULL);
		if (n <= 0)
			break;
		for (i = 0; i < n; i++)
			if (b[i] != ns_stream_byte(seed, *off + i))
				*bad = true;
		*off += n;
		got += n;
	}
	return got;
}

/* Both ends exchange WASK/WINS. */
static void handshake(struct pair *p)
{
	p->e[0].kcp.probe |= KCP_ASK_SEND;
	run(p, 30);
}

static void test_marker(void)
{
	struct pair *p = pair_new(true, false);
	struct kt_seg s = { 0 };
	int n;

	p->e[0].kcp.probe |= KCP_ASK_SEND;
	kcp_flush(&p->e[0].kcp, false);
	n = queued(p, 1, KCP_CMD_WASK, &s);
	CHECK(n == 1 && s.ts == KCP_EXT_MAGIC &&
	      s.frg == KCP_EXT_VERSION && s.sn == 0 && s.una == 0,
	      "ext: an offering WASK carries the marker (ts %#x frg %u sn %u)",
	      s.ts, s.frg, s.sn);
	deliver(p);
	kcp_flush(&p->e[1].kcp, false);
	n = queued(p, 0, KCP_CMD_WINS, &s);
	CHECK(n == 1 && s.ts == 0 && s.frg == 0,
	      "ext: a peer that does not offer answers a plain WINS (ts %#x frg %u)",
	      s.ts, s.frg);
	deliver(p);
	CHECK(p->e[0].kcp.ext == 0 && p->e[1].kcp.ext == 0,
	      "ext: not spoken unless both offer (%u %u)", p->e[0].kcp.ext,
	      p->e[1].kcp.ext);
	pair_free(p);

	p = pair_new(true, true);
	handshake(p);
	CHECK(p->e[0].kcp.ext == KCP_EXT_VERSION &&
	      p->e[1].kcp.ext == KCP_EXT_VERSION,
	      "ext: both offer: both speak version %u", KCP_EXT_VERSION);
	pair_free(p);
}

/*
 * kcp-go's WASK/WINS copy the ts of an ACK of the same flush, one of our
 * PUSH timestamps: those must never equal the marker.
 */
static void test_marker_never_echoed(void)
{
	struct pair *p = pair_new(true, true);
	struct kt_seg s = { 0 };
	int n;

	p->now = KCP_EXT_MAGIC;
	send_bytes(&p->e[0], 100, 1);
	kcp_flush(&p->e[0].kcp, false);
	n = queued(p, 1, KCP_CMD_PUSH, &s);
	CHECK(n == 1 && s.ts == KCP_EXT_MAGIC - 1,
	      "ext: a PUSH sent when the clock is the marker carries ts %#x",
	      s.ts);
	pair_free(p);

	/* a WINS with the template's ts but not the marker's frg: no ext */
	p = pair_new(true, false);
	{
		u8 d[KCP_OVERHEAD];

		kt_seg_hdr(d, 0x1234, KCP_CMD_WINS, 0, 32, KCP_EXT_MAGIC, 5,
			   0, 0);
		kcp_input(&p->e[0].kcp, d, sizeof(d), true, false);
	}
	CHECK(p->e[0].kcp.ext == 0, "ext: ts alone (frg 0) is not the marker");
	pair_free(p);
}

/* FIN and RST from a peer that never showed the marker: KCPInErrors. */
static void test_ext_cmds_refused(void)
{
	struct pair *p = pair_new(true, false);
	u8 d[KCP_OVERHEAD];
	int r1, r2;

	kt_seg_hdr(d, 0x1234, KCP_CMD_FIN, 0, 32, 0, 0, 0, 0);
	r1 = kcp_input(&p->e[0].kcp, d, sizeof(d), true, false);
	kt_seg_hdr(d, 0x1234, KCP_CMD_RST, 1, 32, 0, 0, 0, 0);
	r2 = kcp_input(&p->e[0].kcp, d, sizeof(d), true, false);
	CHECK(r1 == KCP_IN_ECMD && r2 == KCP_IN_ECMD &&
	      !p->e[0].kcp.fin_rcvd && !p->e[0].kcp.rst_rcvd &&
	      p->e[0].kcp.stats[KCP_STAT_IN_ERRORS] == 2,
	      "ext: FIN and RST without the marker are unknown commands (%d %d)",
	      r1, r2);
	CHECK(kcp_send_fin(&p->e[0].kcp, true) == -EPROTO &&
	      !p->e[0].kcp.nsnd_que,
	      "ext: no FIN toward a peer without the extension");
	kcp_send_rst(&p->e[0].kcp);
	CHECK(p->nq == 0, "ext: no RST toward a peer without the extension");
	pair_free(p);
}

/* Data, then FIN, over a link that drops the first two FINs. */
static void test_fin(bool stream)
{
	struct pair *p = pair_new(true, true);
	u32 off = 0, got = 0, i;
	bool bad = false;
	int err;

	for (i = 0; i < 2; i++) {
		p->e[i].kcp.stream = stream;
		p->e[i].kcp.rcv_stream = stream;
		kcp_set_wndsize(&p->e[i].kcp, 128, 128);
	}
	handshake(p);
	send_bytes(&p->e[0], 50000, 7);
	err = kcp_send_fin(&p->e[0].kcp, true);
	CHECK(!err && kcp_send(&p->e[0].kcp, 1, ns_membuf_from, NULL, true) ==
	      -EPIPE, "fin %s: queued after the data; no send after it",
	      stream ? "stream" : "msg");
	p->drop_to = 1;
	p->drop_cmd = KCP_CMD_FIN;
	for (i = 0; i < 300 && p->drops < 2; i++) {
		run(p, 10);
		got += recv_all(&p->e[1], 7, &off, &bad);
	}
	p->drop_to = -1;
	for (i = 0; i < 300 && (!p->e[1].kcp.fin_rcvd ||
				kcp_waitsnd(&p->e[0].kcp)); i++) {
		run(p, 10);
		got += recv_all(&p->e[1], 7, &off, &bad);
	}
	CHECK(p->drops == 2 && p->e[1].kcp.fin_rcvd && got == 50000 && !bad &&
	      !kcp_waitsnd(&p->e[0].kcp) && !p->e[1].kcp.rcv_bytes,
	      "fin %s: 2 FINs lost, resent; all 50000 bytes, then end (got %u, fin %u, unacked %u)",
	      stream ? "stream" : "msg", got, p->e[1].kcp.fin_rcvd,
	      kcp_waitsnd(&p->e[0].kcp));
	/* half-close: the other way still flows */
	send_bytes(&p->e[1], 3000, 9);
	off = 0;
	got = 0;
	for (i = 0; i < 50 && got < 3000; i++) {
		run(p, 10);
		got += recv_all(&p->e[0], 9, &off, &bad);
	}
	CHECK(got == 3000 && !bad, "fin %s: the other direction still flows",
	      stream ? "stream" : "msg");
	pair_free(p);
}

/* The FIN waits in order: it takes effect only after a gap is filled. */
static void test_fin_in_order(void)
{
	struct pair *p = pair_new(true, true);
	u8 d[KCP_OVERHEAD + 10];

	handshake(p);
	/* sn 1 and the FIN (sn 2) before sn 0 */
	kt_seg_hdr(d, 0x1234, KCP_CMD_PUSH, 0, 32, 1, 1, 0, 10);
	memset(d + KCP_OVERHEAD, 'b', 10);
	kcp_input(&p->e[1].kcp, d, sizeof(d), true, false);
	kt_seg_hdr(d, 0x1234, KCP_CMD_FIN, 0, 32, 1, 2, 0, 0);
	kcp_input(&p->e[1].kcp, d, KCP_OVERHEAD, true, false);
	CHECK(!p->e[1].kcp.fin_rcvd && p->e[1].kcp.nrcv_buf == 2,
	      "fin: out of order it waits for the data before it");
	kt_seg_hdr(d, 0x1234, KCP_CMD_PUSH, 0, 32, 1, 0, 0, 10);
	memset(d + KCP_OVERHEAD, 'a', 10);
	kcp_input(&p->e[1].kcp, d, sizeof(d), true, false);
	CHECK(p->e[1].kcp.fin_rcvd && p->e[1].kcp.rcv_bytes == 20 &&
	      p->e[1].kcp.rcv_nxt == 3,
	      "fin: the gap filled, 20 bytes readable then end (rcv_nxt %u)",
	      p->e[1].kcp.rcv_nxt);
	/* data beyond the FIN is not the stream's */
	kt_seg_hdr(d, 0x1234, KCP_CMD_PUSH, 0, 32, 1, 3, 0, 10);
	kcp_input(&p->e[1].kcp, d, sizeof(d), true, false);
	CHECK(p->e[1].kcp.rcv_bytes == 20 && p->e[1].kcp.rcv_nxt == 3,
	      "fin: nothing after it is delivered");
	/* a FIN with data is malformed */
	kt_seg_hdr(d, 0x1234, KCP_CMD_FIN, 0, 32, 1, 3, 0, 10);
	CHECK(kcp_input(&p->e[0].kcp, d, sizeof(d), true, false) ==
	      KCP_IN_ECMD, "fin: one that carries data is refused");
	pair_free(p);
}

static void rst_in(struct pair *p, u32 sn, u32 una)
{
	u8 d[KCP_OVERHEAD];

	kt_seg_hdr(d, 0x1234, KCP_CMD_RST, 1, 0, 0, sn, una, 0);
	kcp_input(&p->e[1].kcp, d, sizeof(d), true, false);
}

static void test_rst(void)
{
	struct pair *p = pair_new(true, true);
	u32 wnd;

	handshake(p);
	send_bytes(&p->e[0], 5000, 3);
	send_bytes(&p->e[1], 5000, 4);
	run(p, 100);
	/* e[1] has rcv_nxt 4 (4 segments of e[0]) and snd_nxt 4 */
	wnd = p->e[1].kcp.rcv_wnd;
	rst_in(p, p->e[1].kcp.rcv_nxt + wnd + 1, p->e[1].kcp.snd_nxt);
	CHECK(!p->e[1].kcp.rst_rcvd, "rst: sn beyond the receive window: ignored");
	rst_in(p, p->e[1].kcp.rcv_nxt - 1, p->e[1].kcp.snd_nxt);
	CHECK(!p->e[1].kcp.rst_rcvd, "rst: sn before rcv_nxt: ignored");
	rst_in(p, p->e[1].kcp.rcv_nxt, p->e[1].kcp.snd_nxt + 1);
	CHECK(!p->e[1].kcp.rst_rcvd, "rst: una beyond what was sent: ignored");
	CHECK(p->e[1].kcp.stats[KCP_STAT_IN_ERRORS] == 3,
	      "rst: the 3 ignored are counted as input errors");
	kcp_send_rst(&p->e[0].kcp);
	deliver(p);
	CHECK(p->e[1].kcp.rst_rcvd, "rst: the peer's own RST is taken");
	pair_free(p);
}

static void test_timewait(void)
{
	struct pair *p = pair_new(true, true);
	struct kt_seg s = { 0 };
	u8 d[KCP_OVERHEAD + 10];
	u32 nxt;
	int r, n;

	handshake(p);
	send_bytes(&p->e[0], 10, 5);
	run(p, 50);
	nxt = p->e[1].kcp.rcv_nxt;
	kcp_release(&p->e[1].kcp);	/* e[1] ended: time-wait */
	p->nq = 0;
	kt_seg_hdr(d, 0x1234, KCP_CMD_PUSH, 0, 32, 77, nxt - 1, 0, 10);
	r = kcp_timewait_input(&p->e[1].kcp, d, sizeof(d));
	n = queued(p, 0, KCP_CMD_ACK, &s);
	CHECK(r == KCP_CMD_ACK && n == 1 &&
	      s.sn == nxt - 1 && s.ts == 77,
	      "time-wait: data it had is acknowledged (sn %u ts %u)", s.sn,
	      s.ts);
	p->nq = 0;
	kt_seg_hdr(d, 0x1234, KCP_CMD_FIN, 0, 32, 78, nxt, 0, 0);
	r = kcp_timewait_input(&p->e[1].kcp, d, KCP_OVERHEAD);
	CHECK(r == KCP_CMD_RST && queued(p, 0, KCP_CMD_RST, &s) == 1 &&
	      s.sn == p->e[1].kcp.snd_nxt && s.una == nxt,
	      "time-wait: new data or FIN is answered with a RST");
	p->nq = 0;
	kt_seg_hdr(d, 0x1234, KCP_CMD_RST, 1, 0, 0, 0, 0, 0);
	r = kcp_timewait_input(&p->e[1].kcp, d, KCP_OVERHEAD);
	CHECK(r == 0 && p->nq == 0, "time-wait: a RST is never answered");
	kt_seg_hdr(d, 0x4321, KCP_CMD_PUSH, 0, 32, 78, nxt, 0, 0);
	r = kcp_timewait_input(&p->e[1].kcp, d, KCP_OVERHEAD);
	CHECK(r == 0 && p->nq == 0, "time-wait: another conv is not answered");
	p->e[1].kcp.ext = 0;
	kt_seg_hdr(d, 0x1234, KCP_CMD_PUSH, 0, 32, 78, nxt, 0, 0);
	r = kcp_timewait_input(&p->e[1].kcp, d, KCP_OVERHEAD);
	CHECK(r == 0 && p->nq == 0,
	      "time-wait: nothing to a peer without the extension");
	pair_free(p);
}

int main(void)
{
	test_marker();
	test_marker_never_echoed();
	test_ext_cmds_refused();
	test_fin(true);
	test_fin(false);
	test_fin_in_order();
	test_rst();
	test_timewait();
	return kt_done();
}
