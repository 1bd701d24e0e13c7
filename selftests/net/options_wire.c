// SPDX-License-Identifier: GPL-2.0
/* options: the effect of each option on the wire, seen by the fake peer. */
#include "options.h"

/* ---- effects ---- */

/* Distinct PUSH segments (by sn) in @ds; fills @lens per sn up to 64. */
static int distinct_push(struct dg *ds, int n, int off, int *lens,
			 uint32_t *maxsn)
{
	uint64_t seen = 0;
	int k = 0;
	struct kt_seg s[64];

	*maxsn = 0;
	for (int i = 0; i < n; i++) {
		int m = kt_segs_parse(ds[i].b + off, ds[i].len - off, s, 64);

		for (int j = 0; j < m; j++) {
			if (s[j].cmd != KCP_CMD_PUSH || s[j].sn >= 64)
				continue;
			if (!(seen & (1ull << s[j].sn))) {
				seen |= 1ull << s[j].sn;
				if (lens)
					lens[s[j].sn] = s[j].len;
				k++;
			}
			if (s[j].sn > *maxsn)
				*maxsn = s[j].sn;
		}
	}
	return k;
}

void test_mtu_wire(void)
{
	struct prep_args a = PREP_INIT;
	static struct dg ds[64];
	char buf[5000];
	struct peer p;
	int n, full = 0, over = 0, maxlen = 0, lens[64] = { 0 }, total = 0, k;
	uint32_t maxsn;

	memset(buf, 'm', sizeof(buf));
	a.nd[0] = 0, a.nd[1] = 100, a.nd[2] = 0, a.nd[3] = 1;
	a.mtu = 300;
	peer_open(&p, SOCK_STREAM, prep, &a);
	kt_result(send(p.k, buf, 3000, MSG_DONTWAIT) == 3000,
		  "KCP_MTU 300: 3000 bytes queued");
	n = dg_collect(p.u, ds, 64, 150);
	for (int i = 0; i < n; i++) {
		full += ds[i].len == 300;
		over += ds[i].len > 300;
		if (ds[i].len > maxlen)
			maxlen = ds[i].len;
	}
	k = distinct_push(ds, n, 0, lens, &maxsn);
	for (int i = 0; i < 64; i++)
		total += lens[i];
	kt_result(n >= 11 && !over && full >= 10 && total == 3000 && k == 11,
		  "KCP_MTU 300 on the wire: %d datagrams, %d of exactly 300 bytes, none larger (max %d), 11 segments of mss 276 carry %d bytes",
		  n, full, maxlen, total);
	peer_close(&p);

	a.mtu = 0;
	peer_open(&p, SOCK_STREAM, prep, &a);
	send(p.k, buf, 5000, MSG_DONTWAIT);
	n = dg_collect(p.u, ds, 64, 150);
	maxlen = 0;
	for (int i = 0; i < n; i++)
		if (ds[i].len > maxlen)
			maxlen = ds[i].len;
	kt_result(maxlen == 1400, "default KCP_MTU: a 5000-byte write leaves in datagrams of 1400 bytes (max %d, %d datagrams)",
		  maxlen, n);
	/* the mss may not shrink under queued data; growing is fine */
	{
		int r = kt_setint(p.k, KCP_MTU, 500), e = errno, v = 0, r2;

		getint(p.k, KCP_MTU, &v);
		kt_result(r < 0 && e == EBUSY && v == 1400,
			  "KCP_MTU 500 with data in flight -> EBUSY, mtu stays %d (%s)",
			  v, r ? ename(e) : "accepted");
		r2 = kt_setint(p.k, KCP_MTU, 1500);
		getint(p.k, KCP_MTU, &v);
		kt_result(r2 == 0 && v == 1500,
			  "KCP_MTU 1500 with data in flight is fine (%d)", v);
	}
	peer_close(&p);
}

/* Two small writes: one coalesced segment, or two messages. */
static int two_writes(int stream, int write_delay, int *len0)
{
	struct prep_args a = PREP_INIT;
	static struct dg ds[64];
	struct peer p;
	int n, lens[64] = { 0 }, k;
	uint32_t maxsn;

	a.nd[0] = 0, a.nd[1] = 200, a.nd[2] = 0, a.nd[3] = 1;
	a.stream = stream;
	a.write_delay = write_delay;
	peer_open(&p, SOCK_STREAM, prep, &a);
	send(p.k, "abc", 3, 0);
	send(p.k, "def", 3, 0);
	n = dg_collect(p.u, ds, 64, 450);
	k = distinct_push(ds, n, 0, lens, &maxsn);
	*len0 = lens[0];
	peer_close(&p);
	return k;
}

void test_stream_wire(void)
{
	int k, l0;

	k = two_writes(1, 1, &l0);
	kt_result(k == 1 && l0 == 6,
		  "KCP_STREAM 1 + KCP_WRITE_DELAY 1: two 3-byte writes leave as one 6-byte segment (%d segments, first %d bytes)",
		  k, l0);
	k = two_writes(0, 1, &l0);
	kt_result(k == 2 && l0 == 3,
		  "KCP_STREAM 0 + KCP_WRITE_DELAY 1: two messages, two segments (%d segments, first %d bytes)",
		  k, l0);
	k = two_writes(1, 0, &l0);
	kt_result(k == 2 && l0 == 3,
		  "KCP_STREAM 1 + KCP_WRITE_DELAY 0: each write flushed at once (%d segments, first %d bytes)",
		  k, l0);
}

/* PUSH sn from the UDP side just after a tick of @iv ms; ms until its ACK. */
static double push_ack_delay(struct peer *p, uint32_t sn, int iv,
			     struct kt_seg *ack)
{
	struct dg d;
	double t0;

	for (int i = 0; i < 5000; i++) {
		long ms = (long)(kt_now() * 1000);

		if (ms % iv >= 5 && ms % iv < 10)
			break;
		usleep(500);
	}
	t0 = kt_now();
	peer_seg(p, KCP_CMD_PUSH, 128, 0x1000 + sn, sn, 0, "q", 1);
	if (!wait_seg(p, KCP_CMD_ACK, sn, 2 * iv + 1000, &d, ack))
		return -1;
	return (d.t - t0) * 1000;
}

void test_ack_nodelay_wire(void)
{
	struct prep_args a = PREP_INIT;
	struct peer p;
	struct kt_seg ack = { 0 };
	double d0, d1, d2 = -1, d3 = -1;
	int tries, sn;

	a.nd[0] = 0, a.nd[1] = 400, a.nd[2] = 0, a.nd[3] = 1;
	peer_open(&p, SOCK_STREAM, prep, &a);
	d0 = push_ack_delay(&p, 0, 400, &ack);
	kt_result(ack.ts == 0x1000 && ack.una == 1 && ack.conv == p.conv,
		  "ACK echoes ts, una = 1, conv (ts %x una %u)", ack.ts, ack.una);
	d1 = push_ack_delay(&p, 1, 400, NULL);
	kt_result(d0 >= 250 && d1 >= 250 && d0 < 700 && d1 < 700,
		  "KCP_ACK_NODELAY 0, interval 400: ACK waits for the next tick (%.0f, %.0f ms)",
		  d0, d1);
	kt_setint(p.k, KCP_ACK_NODELAY, 1);
	/* (a late guest timer is tried again; the tick would be ~400 ms) */
	for (tries = 1, sn = 2; tries <= 3; tries++, sn += 2) {
		d2 = push_ack_delay(&p, sn, 400, NULL);
		d3 = push_ack_delay(&p, sn + 1, 400, NULL);
		if (d2 >= 0 && d3 >= 0 && d2 < 100 && d3 < 100)
			break;
	}
	kt_result(d2 >= 0 && d3 >= 0 && d2 < 100 && d3 < 100,
		  "KCP_ACK_NODELAY 1 (set while connected): ACK at once (%.0f, %.0f ms, try %d)",
		  d2, d3, tries > 3 ? 3 : tries);
	peer_close(&p);
}

void test_wndsize_wire(void)
{
	struct prep_args a = PREP_INIT;
	static struct dg ds[64];
	struct peer p;
	struct kt_seg s[16], ack;
	uint8_t b[512];
	char buf[20000];
	int n = 0, wrong = 0, acks = 0, m;
	uint32_t maxsn;
	ssize_t w;

	a.rcv = 100;
	a.ack_nodelay = 1;
	peer_open(&p, SOCK_STREAM, prep, &a);
	for (int i = 0; i < 5; i++)
		n += kt_seg_put(b + n, p.conv, KCP_CMD_PUSH, 128, i, i, 0,
			     "0123456789", 10);
	peer_tx(&p, b, n);
	/* kcp-go sends the ACKs una covers only for the last segment */
	memset(&ack, 0, sizeof(ack));
	while (dg_recv(p.u, &ds[0], acks ? 100 : 1000)) {
		m = kt_segs_parse(ds[0].b, ds[0].len, s, 16);
		for (int j = 0; j < m; j++) {
			if (s[j].cmd != KCP_CMD_ACK)
				continue;
			acks++;
			wrong += s[j].wnd != 95;
			ack = s[j];
		}
	}
	kt_result(acks >= 1 && !wrong && ack.sn == 4 && ack.una == 5,
		  "KCP_WNDSIZE rcv 100, 5 segments unread: ACKs advertise wnd 95 (%d ACKs, %d other, last sn %u una %u)",
		  acks, wrong, ack.sn, ack.una);
	recv(p.k, buf, sizeof(buf), MSG_DONTWAIT);
	dg_drain(p.u);
	peer_seg(&p, KCP_CMD_PUSH, 128, 5, 5, 0, "x", 1);
	ack.wnd = 0;
	m = wait_seg(&p, KCP_CMD_ACK, 5, 1000, &ds[0], &ack);
	kt_result(m && ack.wnd == 99, "after reading: one queued, wnd 99 (%u)",
		  ack.wnd);
	recv(p.k, buf, sizeof(buf), MSG_DONTWAIT);
	kt_wnd(p.k, 0, 60);
	peer_seg(&p, KCP_CMD_PUSH, 128, 6, 6, 0, "y", 1);
	ack.wnd = 0;
	m = wait_seg(&p, KCP_CMD_ACK, 6, 1000, &ds[0], &ack);
	kt_result(m && ack.wnd == 59,
		  "KCP_WNDSIZE rcv 60 set while connected: wnd 59 (%u)", ack.wnd);
	peer_close(&p);

	/* send window: segments in flight */
	a = (struct prep_args)PREP_INIT;
	a.nd[0] = 0, a.nd[1] = 100, a.nd[2] = 0, a.nd[3] = 1;
	a.snd = 4;
	peer_open(&p, SOCK_STREAM, prep, &a);
	memset(buf, 's', sizeof(buf));
	w = send(p.k, buf, sizeof(buf), MSG_DONTWAIT);
	n = dg_collect(p.u, ds, 64, 150);
	m = distinct_push(ds, n, 0, NULL, &maxsn);
	kt_result(w == 4 * 1376 && m == 4 && maxsn == 3,
		  "KCP_WNDSIZE snd 4: a 20000-byte write queues %zd bytes (4 x mss), 4 segments sn 0..%u on the wire",
		  w, maxsn);
	peer_seg(&p, KCP_CMD_ACK, 128, ds[0].b[8], 3, 4, NULL, 0);
	sleep_ms(30);
	w = send(p.k, buf, sizeof(buf), MSG_DONTWAIT);
	n = dg_collect(p.u, ds, 64, 150);
	m = distinct_push(ds, n, 0, NULL, &maxsn);
	kt_result(w == 4 * 1376 && m == 4 && maxsn == 7,
		  "after the ACK (una 4): 4 more (%zd bytes, up to sn %u)", w,
		  maxsn);
	peer_close(&p);
}

/* Time between the first and each later transmission of PUSH @sn. */
static int xmit_gaps(struct peer *p, uint32_t sn, double *gaps, int want,
		     int ms)
{
	struct dg d;
	struct kt_seg s;
	double last = -1;
	int n = 0;

	while (n < want + 1) {
		if (!wait_seg(p, KCP_CMD_PUSH, sn, ms, &d, &s))
			break;
		if (last >= 0)
			gaps[n - 1] = (d.t - last) * 1000;
		last = d.t;
		n++;
	}
	return n - 1;
}

/* After one RTT sample (sn 0 acked at once): the retransmit gap of sn 1. */
static double rto_gap(struct prep_args *a, int *rto)
{
	struct peer p;
	struct dg d;
	struct kt_seg s;
	struct kcp_info i;
	double g[2] = { -1, -1 };

	peer_open(&p, SOCK_STREAM, prep, a);
	send(p.k, "x", 1, 0);
	if (wait_seg(&p, KCP_CMD_PUSH, 0, 1000, &d, &s))
		peer_seg(&p, KCP_CMD_ACK, 128, s.ts, 0, 1, NULL, 0);
	sleep_ms(50);
	info(p.k, &i);
	*rto = i.kcpi_rto;
	send(p.k, "y", 1, 0);
	xmit_gaps(&p, 1, g, 1, 2000);
	peer_close(&p);
	return g[0];
}

/*
 * rto_gap() until the gap is in [@lo, @hi] (at most 3 tries; *tries says
 * how many): a guest timer can be late, never early, so a gap over @hi
 * on a busy host is tried again; a wrong rto misses every time.
 */
static double rto_gap_in(struct prep_args *a, int *rto, double lo,
			 double hi, int *tries)
{
	double g = -1;

	for (*tries = 1; *tries <= 3; ++*tries) {
		g = rto_gap(a, rto);
		if (g >= lo && g <= hi)
			break;
	}
	if (*tries > 3)
		*tries = 3;
	return g;
}

/* Gaps @g match a, b, c (never early by more than 20 ms) better than y, z. */
static double dabs(double x)
{
	return x < 0 ? -x : x;
}

static bool gaps_fit(const double *g, int a, int b, int c, int y, int z)
{
	double e_model = dabs(g[0] - a) + dabs(g[1] - b) + dabs(g[2] - c);
	double e_other = dabs(g[0] - a) + dabs(g[1] - y) + dabs(g[2] - z);

	return g[0] >= a - 20 && g[1] >= b - 20 && g[2] >= c - 20 &&
	       e_model < e_other;
}

void test_nodelay_wire(void)
{
	struct prep_args a = PREP_INIT;
	struct peer p;
	double g0[3] = { 0 }, g1[3] = { 0 }, g;
	int rto, tries;

	/* interval: the rto after an RTT sample is srtt + interval */
	a.nd[0] = 1, a.nd[1] = 300, a.nd[2] = 0, a.nd[3] = 1;
	g = rto_gap_in(&a, &rto, 260, 480, &tries);
	kt_result(g >= 260 && g <= 480,
		  "KCP_NODELAY interval 300: rto %d ms, retransmission after %.0f ms (try %d)",
		  rto, g, tries);
	a.nd[1] = 40;
	g = rto_gap_in(&a, &rto, 25, 150, &tries);
	kt_result(g >= 25 && g <= 150,
		  "KCP_NODELAY interval 40: rto %d ms, retransmission after %.0f ms (try %d)",
		  rto, g, tries);

	/*
	 * nodelay: rto backoff x1 (0) or x0.5 (1) per retransmission. A
	 * busy host makes timers late, never early: each gap must reach its
	 * model's value and be closer to it than to the other model. One
	 * late timer can still make a gap look like the other model's, so
	 * a try that does not fit is repeated (up to 3): a wrong backoff
	 * fails every time.
	 */
	a.nd[1] = 10;
	for (int nd = 0; nd <= 1; nd++) {
		double *g = nd ? g1 : g0;
		int tries = 0, n = 0;
		bool fit = false;

		a.nd[0] = nd;
		while (!fit && tries < 3) {
			tries++;
			peer_open(&p, SOCK_STREAM, prep, &a);
			send(p.k, "n", 1, 0);
			n = xmit_gaps(&p, 0, g, 3, 1500);
			peer_close(&p);
			fit = n == 3 && (nd ? gaps_fit(g, 200, 300, 400, 400, 600) :
					 gaps_fit(g, 200, 400, 600, 300, 400));
		}
		kt_result(fit, "KCP_NODELAY nodelay %d to a silent peer: gaps %.0f %.0f %.0f ms (%s), try %d",
			  nd, g[0], g[1], g[2],
			  nd ? "200 300 400" : "200 400 600", tries);
	}


	/* resend: fast retransmit after N ACKs that skip a segment */
	for (int resend = 0; resend <= 2; resend += 2) {
		struct dg d;
		struct kt_seg s[3];
		struct kcp_info i;
		uint8_t b[64];
		double t0, dt = -1;
		int ok = 1;

		a.nd[0] = 0, a.nd[1] = 20, a.nd[2] = resend, a.nd[3] = 1;
		peer_open(&p, SOCK_STREAM, prep, &a);
		for (int k = 0; k < 3; k++) {
			send(p.k, "abc" + k, 1, 0);
			ok &= wait_seg(&p, KCP_CMD_PUSH, k, 1000, &d, &s[k]);
		}
		/* ACK sn 1 and 2 (una 0: sn 0 missing) in one datagram */
		kt_seg_put(b, p.conv, KCP_CMD_ACK, 128, s[1].ts, 1, 0, NULL, 0);
		kt_seg_put(b + 24, p.conv, KCP_CMD_ACK, 128, s[2].ts, 2, 0, NULL, 0);
		t0 = kt_now();
		peer_tx(&p, b, 48);
		if (wait_seg(&p, KCP_CMD_PUSH, 0, 1000, &d, NULL))
			dt = (d.t - t0) * 1000;
		info(p.k, &i);
		if (resend == 2)
			kt_result(ok && dt >= 0 && dt < 120 &&
				  i.kcpi_fast_retrans == 1 &&
				  i.kcpi_early_retrans == 0,
				  "KCP_NODELAY resend 2: sn 0 resent %.0f ms after 2 skipping ACKs (rto 200), fast_retrans %llu early %llu",
				  dt, (unsigned long long)i.kcpi_fast_retrans,
				  (unsigned long long)i.kcpi_early_retrans);
		else
			kt_result(ok && dt >= 0 && i.kcpi_fast_retrans == 0 &&
				  i.kcpi_early_retrans == 1,
				  "KCP_NODELAY resend 0: no fast retransmit (early retransmit after %.0f ms instead), fast_retrans %llu early %llu",
				  dt, (unsigned long long)i.kcpi_fast_retrans,
				  (unsigned long long)i.kcpi_early_retrans);
		peer_close(&p);
	}
}

void test_minrto_wire(void)
{
	struct prep_args a = PREP_INIT;
	double g;
	int rto, tries;

	a.nd[0] = 1, a.nd[1] = 10, a.nd[2] = 0, a.nd[3] = 1;
	g = rto_gap_in(&a, &rto, 0, 149, &tries);
	kt_result(g >= 0 && g < 150 && rto >= 30 && rto < 150,
		  "nodelay 1 (minrto 30): rto %d ms, retransmission after %.0f ms (try %d)",
		  rto, g, tries);
	a.minrto = 500;
	g = rto_gap_in(&a, &rto, 470, 680, &tries);
	kt_result(rto == 500 && g >= 470 && g <= 680,
		  "KCP_MINRTO 500: rto %d ms, retransmission after %.0f ms (try %d)",
		  rto, g, tries);
}

void test_deadlink_wire(void)
{
	struct prep_args a = PREP_INIT;
	static struct dg ds[64];
	struct pollfd pfd;
	struct peer p;
	long dead0 = snmp("DeadLink");
	double t0;
	char c;
	int n, m, err;
	ssize_t r;

	a.nd[0] = 1, a.nd[1] = 10, a.nd[2] = 0, a.nd[3] = 1;
	a.deadlink = 4;
	peer_open(&p, SOCK_STREAM, prep, &a);
	t0 = kt_now();
	send(p.k, "d", 1, 0);
	pfd = (struct pollfd){ .fd = p.k, .events = POLLIN };
	poll(&pfd, 1, 5000);
	r = recv(p.k, &c, 1, MSG_DONTWAIT);
	err = errno;
	kt_result(r < 0 && err == ETIMEDOUT,
		  "KCP_DEADLINK 4: recv -> ETIMEDOUT after %.2f s (%s)",
		  kt_now() - t0, r < 0 ? ename(err) : "data");
	n = dg_collect(p.u, ds, 64, 600);
	m = 0;
	for (int i = 0; i < n; i++) {
		struct kt_seg s[4];

		if (kt_segs_parse(ds[i].b, ds[i].len, s, 4) >= 1 &&
		    s[0].cmd == KCP_CMD_PUSH && s[0].sn == 0)
			m++;
	}
	kt_result(m == 4, "KCP_DEADLINK 4: the segment went out 4 times on the wire (%d)",
		  m);
	/* (>=: sockets of earlier tests may end meanwhile too) */
	kt_result(snmp("DeadLink") >= dead0 + 1, "DeadLink counted (%ld -> %ld)",
		  dead0, snmp("DeadLink"));
	kt_result(fails(send(p.k, "e", 1, MSG_NOSIGNAL), EPIPE),
		  "send after dead link -> EPIPE");
	peer_close(&p);
}

void test_idle_wire(void)
{
	struct prep_args a = PREP_INIT;
	struct timeval tv = { 4, 0 };
	struct peer p;
	struct dg d;
	struct kt_seg s;
	double t0;
	char c;
	ssize_t r;
	int err;

	/* a session that never sent or received anything */
	a.idle = 600;
	peer_open(&p, SOCK_STREAM, prep, &a);
	setsockopt(p.k, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t0 = kt_now();
	r = recv(p.k, &c, 1, 0);
	err = errno;
	kt_result(r < 0 && err == ETIMEDOUT && kt_now() - t0 < 2.0,
		  "KCP_IDLE_TIMEOUT 600 on a silent new session: recv -> ETIMEDOUT after %.2f s (%s)",
		  kt_now() - t0, r < 0 ? ename(err) : "data");
	peer_close(&p);

	/* after an exchange: measured from the last input */
	a.nd[0] = 0, a.nd[1] = 20, a.nd[2] = 0, a.nd[3] = 1;
	peer_open(&p, SOCK_STREAM, prep, &a);
	setsockopt(p.k, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	send(p.k, "i", 1, 0);
	if (wait_seg(&p, KCP_CMD_PUSH, 0, 1000, &d, &s))
		peer_seg(&p, KCP_CMD_ACK, 128, s.ts, 0, 1, NULL, 0);
	t0 = kt_now();
	/* keep it alive with input for 900 ms */
	for (int i = 0; i < 3; i++) {
		sleep_ms(300);
		peer_seg(&p, KCP_CMD_WINS, 128, 0, 0, 1, NULL, 0);
	}
	t0 = kt_now();
	r = recv(p.k, &c, 1, 0);
	err = errno;
	kt_result(r < 0 && err == ETIMEDOUT && kt_now() - t0 >= 0.4 &&
		  kt_now() - t0 < 1.5,
		  "KCP_IDLE_TIMEOUT 600 after input for 0.9 s: ETIMEDOUT %.2f s after the last datagram (%s)",
		  kt_now() - t0, r < 0 ? ename(err) : "data");
	peer_close(&p);

	/* set on an established session that is idle */
	a = (struct prep_args)PREP_INIT;
	peer_open(&p, SOCK_STREAM, prep, &a);
	setsockopt(p.k, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	kt_setint(p.k, KCP_IDLE_TIMEOUT, 500);
	t0 = kt_now();
	r = recv(p.k, &c, 1, 0);
	err = errno;
	kt_result(r < 0 && err == ETIMEDOUT && kt_now() - t0 < 2.0,
		  "KCP_IDLE_TIMEOUT 500 set on an idle established session: ETIMEDOUT after %.2f s (%s)",
		  kt_now() - t0, r < 0 ? ename(err) : "data");
	peer_close(&p);
}

void test_fec_wire(void)
{
	struct prep_args a = PREP_INIT;
	static struct dg ds[64];
	struct peer p;
	char flags[32] = "", why[64] = "";
	int n, bad = 0, sizebad = 0;
	uint32_t seq0;
	struct kt_seg s[4];
	struct kcp_info i;

	a.nd[0] = 0, a.nd[1] = 100, a.nd[2] = 0, a.nd[3] = 1;
	a.fec = (struct kcp_fec){ 3, 2 };
	peer_open(&p, SOCK_STREAM, prep, &a);
	kt_result(fails(kt_setopt(p.k, KCP_FEC, &a.fec, sizeof(a.fec)), EISCONN),
		  "KCP_FEC after connect -> EISCONN");
	info(p.k, &i);
	kt_result(i.kcpi_fec_data == 3 && i.kcpi_fec_parity == 2 &&
		  i.kcpi_mss == 1400 - 24 - 8,
		  "KCP_INFO: fec 3/2, mss %u (mtu - 24 - 8-byte FEC header)",
		  i.kcpi_mss);
	for (int k = 0; k < 6; k++) {
		send(p.k, "fecfec" + k, 1, 0);
		sleep_ms(5);
	}
	/*
	 * The 10 datagrams of 2 groups. A stalled guest may slip a resend
	 * (rto 200 ms) in between: FEC frames it like any data shard.
	 */
	n = dg_collect(p.u, ds, 10, 1000);
	seq0 = n ? kt_g32(ds[0].b) : 0;
	for (int k = 0; k < n && k < 30; k++) {
		uint16_t flag = kt_g16(ds[k].b + 4);

		flags[k] = flag == 0xF1 ? 'D' : flag == 0xF2 ? 'P' : '?';
		if (kt_g32(ds[k].b) != seq0 + k)
			bad++;
		if (flag == 0xF1) {
			if (kt_g16(ds[k].b + 6) != ds[k].len - 6 ||
			    kt_segs_parse(ds[k].b + 8, ds[k].len - 8, s, 4) != 1 ||
			    s[0].conv != p.conv || s[0].sn > 5)
				sizebad++;
		}
	}
	snprintf(why, sizeof(why), "seqid from %u, %d out of order", seq0, bad);
	kt_result(n == 10 && !strcmp(flags, "DDDPPDDDPP") && !bad && !sizebad,
		  "KCP_FEC 3/2 on the wire: 6 writes -> %s (%s, %d bad data headers)",
		  flags, why, sizebad);
	peer_close(&p);
}

void test_crypto_wire(void)
{
	struct prep_args a = PREP_INIT;
	struct peer p;
	struct dg d, d2;
	struct kt_seg s[4];
	struct kcp_info i;
	struct kcp_crypto kc;
	socklen_t len = sizeof(kc);
	int nz = 0;

	/* "none": nonce + CRC32, no encryption */
	a.kc.cipher = KCP_CIPHER_NONE;
	peer_open(&p, SOCK_STREAM, prep, &a);
	info(p.k, &i);
	send(p.k, "hello", 5, 0);
	d.len = 0;
	dg_recv(p.u, &d, 1000);
	kt_result(d.len == 20 + 24 + 5 &&
		  kt_g32(d.b + 16) == kt_crc32(d.b + 20, d.len - 20) &&
		  kt_segs_parse(d.b + 20, d.len - 20, s, 4) == 1 &&
		  s[0].conv == p.conv && !memcmp(s[0].data, "hello", 5),
		  "KCP_CRYPTO none: %d-byte datagram = 20-byte nonce+CRC32 header + segment, CRC matches",
		  d.len);
	kt_result(i.kcpi_cipher == KCP_CIPHER_NONE && i.kcpi_mss == 1400 - 24 - 20,
		  "KCP_INFO: cipher %u, mss %u (mtu - 24 - 20)", i.kcpi_cipher,
		  i.kcpi_mss);
	kt_result(fails(kt_setopt(p.k, KCP_CRYPTO, &a.kc, sizeof(a.kc)), EISCONN),
		  "KCP_CRYPTO after connect -> EISCONN");
	peer_close(&p);

	/* aes: the same 20 bytes more, nothing readable */
	a.kc.cipher = KCP_CIPHER_AES;
	a.kc.key_len = 32;
	for (int k = 0; k < 32; k++)
		a.kc.key[k] = 0x11 * k;
	peer_open(&p, SOCK_STREAM, prep, &a);
	memset(&kc, 0x55, sizeof(kc));
	getsockopt(p.k, SOL_KCP, KCP_CRYPTO, &kc, &len);
	for (int k = 0; k < KCP_KEY_MAX; k++)
		nz += kc.key[k] != 0;
	kt_result(kc.cipher == KCP_CIPHER_AES && kc.key_len == 32 && !nz,
		  "KCP_CRYPTO aes: getsockopt gives cipher %u key_len %u, key all zero",
		  kc.cipher, kc.key_len);
	send(p.k, "hello", 5, 0);
	dg_recv(p.u, &d, 1000);
	d2.len = 0;
	dg_recv(p.u, &d2, 600);	/* the retransmission, another nonce */
	kt_result(d.len == 49 && kt_g32(d.b + 20) != p.conv &&
		  !memmem(d.b, d.len, "hello", 5) &&
		  d2.len == 49 && memcmp(d.b, d2.b, 49),
		  "KCP_CRYPTO aes: 49-byte datagrams, conv and payload not in clear, a retransmission differs");
	peer_close(&p);

	/* both: crypto header, then FEC header */
	a.kc.cipher = KCP_CIPHER_NONE;
	a.kc.key_len = 0;
	a.fec = (struct kcp_fec){ 2, 1 };
	peer_open(&p, SOCK_STREAM, prep, &a);
	send(p.k, "z", 1, 0);
	d.len = 0;
	dg_recv(p.u, &d, 1000);
	kt_result(d.len == 20 + 8 + 24 + 1 &&
		  kt_g16(d.b + 24) == 0xF1 && kt_g32(d.b + 28) == p.conv,
		  "KCP_CRYPTO none + KCP_FEC: 20-byte crypto header, then FEC header 0xF1, then the segment (%d bytes)",
		  d.len);
	peer_close(&p);
}

void test_presets(void)
{
	static const int want[5][4] = {
		{ 0 }, { 0, 40, 2, 1 }, { 0, 30, 2, 1 }, { 1, 20, 2, 1 },
		{ 1, 10, 2, 1 },
	};

	for (int p = KCP_PRESET_NORMAL; p <= KCP_PRESET_FAST3; p++) {
		int fd = kt_socket(SOCK_STREAM), mr = -1;
		struct kcp_info i;
		char w[64];

		kt_setint(fd, KCP_MINRTO, 777);
		kt_setint(fd, KCP_PRESET, p);
		getint(fd, KCP_MINRTO, &mr);
		info(fd, &i);
		kt_result(nd_is(fd, want[p][0], want[p][1], want[p][2],
				want[p][3], w, sizeof(w)) &&
			  i.kcpi_nodelay == (unsigned int)want[p][0] &&
			  i.kcpi_interval == (unsigned int)want[p][1] &&
			  i.kcpi_resend == (unsigned int)want[p][2] &&
			  i.kcpi_nc == (unsigned int)want[p][3] &&
			  mr == (want[p][0] ? 30 : 100),
			  "KCP_PRESET %s: nodelay %s as kcptun --mode, minrto %d",
			  kcp_preset_names[p], w, mr);
		close(fd);
	}
}

void test_linger_timeout_wire(void)
{
	struct prep_args a = PREP_INIT;
	static struct dg ds[64];
	struct peer p;
	long exp0 = snmp("LingerExpired");
	double tc, last = 0;
	int n, st, lport;

	a.nd[0] = 1, a.nd[1] = 10, a.nd[2] = 0, a.nd[3] = 1;
	a.deadlink = 1000;
	a.linger = 700;
	peer_open(&p, SOCK_STREAM, prep, &a);
	lport = kt_port_of(p.k);
	send(p.k, "L", 1, 0);
	dg_recv(p.u, &ds[0], 1000);
	tc = kt_now();
	close(p.k);
	p.k = -1;
	sleep_ms(100);
	st = proc_state(lport, p.uport);
	n = dg_collect(p.u, ds, 64, 1800);
	for (int i = 0; i < n; i++)
		last = ds[i].t;
	kt_result(st == KCP_LINGER,
		  "closed with unacked data: /proc/net/kcp state %02X (04 = lingering)",
		  st);
	kt_result(n >= 2 && last - tc >= 0.3 && last - tc <= 0.75,
		  "KCP_LINGER_TIMEOUT 700: %d retransmissions after close, the last %.0f ms after it",
		  n, (last - tc) * 1000);
	/* (>=: sockets closed by earlier tests may expire meanwhile) */
	kt_result(snmp("LingerExpired") >= exp0 + 1 &&
		  proc_state(lport, p.uport) < 0,
		  "LingerExpired counted (%ld -> %ld), socket gone", exp0,
		  snmp("LingerExpired"));
	peer_close(&p);
}
