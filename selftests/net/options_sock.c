// SPDX-License-Identifier: GPL-2.0
/* options: standard socket options on AF_KCP; SOCK_SEQPACKET message boundaries. */
#include "options.h"

/* ---- standard socket options ---- */

void test_so_bufs(void)
{
	struct prep_args a = PREP_INIT;
	struct peer p;
	char buf[1000];
	long dflt = 0, capped = 0;
	ssize_t w;
	struct kt_seg ack;
	struct dg d;
	struct kcp_info i;
	int v = 2800;
	/* segments that fit 16384, 8192 and 5600 bytes of buffer */
	int sq = (16384 + KT_SEG_TRUESIZE - 1) / KT_SEG_TRUESIZE;
	int r8 = 8192 / KT_SEG_TRUESIZE, r5 = 5600 / KT_SEG_TRUESIZE;

	memset(buf, 'b', sizeof(buf));
	a.nonblock = true;
	a.nd[0] = 0, a.nd[1] = 100, a.nd[2] = 0, a.nd[3] = 1;
	a.snd = 1024;
	peer_open(&p, SOCK_STREAM, prep, &a);
	while ((w = send(p.k, buf, sizeof(buf), 0)) > 0)
		dflt += w;
	peer_close(&p);
	a.sndbuf = 8192;	/* the kernel doubles it: 16384 */
	peer_open(&p, SOCK_STREAM, prep, &a);
	while ((w = send(p.k, buf, sizeof(buf), 0)) > 0)
		capped += w;
	/*
	 * Queued segments are charged their slab size (KT_SEG_TRUESIZE),
	 * full ones (stream mode) or one 1000-byte write each (messages);
	 * a send goes on while the queue is below the buffer.
	 */
	kt_result(errno == EAGAIN && capped <= sq * 1376 &&
		  capped >= 16384 / KT_SEG_TRUESIZE * 1000 && capped < dflt,
		  "SO_SNDBUF 8192 (16384): nonblocking send queues %ld bytes (at most %d segments) before EAGAIN (%ld without, window 32 segments)",
		  capped, sq, dflt);
	peer_close(&p);

	a = (struct prep_args)PREP_INIT;
	a.rcvbuf = 4096;	/* 8192: r8 segments of KT_SEG_TRUESIZE */
	a.ack_nodelay = 1;
	peer_open(&p, SOCK_STREAM, prep, &a);
	info(p.k, &i);
	peer_seg(&p, KCP_CMD_PUSH, 128, 1, 0, 0, "r", 1);
	ack.wnd = 0;
	wait_seg(&p, KCP_CMD_ACK, 0, 1000, &d, &ack);
	kt_result(i.kcpi_rcv_wnd == r8 && ack.wnd == r8 - 1,
		  "SO_RCVBUF 4096 (8192) before connect: rcv_wnd %u, ACK advertises %u (%d - 1 queued)",
		  i.kcpi_rcv_wnd, ack.wnd, r8);
	peer_close(&p);

	a.rcvbuf = 0;
	peer_open(&p, SOCK_STREAM, prep, &a);
	setsockopt(p.k, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));	/* 5600: r5 */
	peer_seg(&p, KCP_CMD_PUSH, 128, 1, 0, 0, "r", 1);
	ack.wnd = 0;
	wait_seg(&p, KCP_CMD_ACK, 0, 1000, &d, &ack);
	info(p.k, &i);
	kt_result(i.kcpi_rcv_wnd == r5 && ack.wnd == r5 - 1,
		  "SO_RCVBUF 2800 (5600) after connect: rcv_wnd %u, ACK advertises %u (%d - 1 queued)",
		  i.kcpi_rcv_wnd, ack.wnd, r5);
	peer_close(&p);
}

/*
 * (Lower bounds are loose: a TCG guest's jiffies, which socket timeouts
 * count, can run ahead of CLOCK_MONOTONIC by tens of ms.)
 */
void test_so_timeouts(void)
{
	struct timeval tv = { 0, 300000 };
	struct prep_args a = PREP_INIT;
	static char buf[200000];
	struct peer p;
	double t0, dt;
	ssize_t r;
	int err;

	peer_open(&p, SOCK_STREAM, NULL, NULL);
	setsockopt(p.k, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t0 = kt_now();
	r = recv(p.k, buf, 10, 0);
	err = errno;
	dt = kt_now() - t0;
	kt_result(r < 0 && err == EAGAIN && dt >= 0.2 && dt < 1.0,
		  "SO_RCVTIMEO 300 ms: recv -> EAGAIN after %.2f s", dt);
	peer_close(&p);

	a.nd[0] = 0, a.nd[1] = 100, a.nd[2] = 0, a.nd[3] = 1;
	peer_open(&p, SOCK_STREAM, prep, &a);
	setsockopt(p.k, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	t0 = kt_now();
	r = send(p.k, buf, sizeof(buf), 0);
	dt = kt_now() - t0;
	kt_result(r == 32 * 1376 && dt >= 0.2 && dt < 1.0,
		  "SO_SNDTIMEO 300 ms: a blocking send to a silent peer returns %zd (32 segments) after %.2f s",
		  r, dt);
	t0 = kt_now();
	r = send(p.k, buf, sizeof(buf), 0);
	err = errno;
	dt = kt_now() - t0;
	kt_result(r < 0 && err == EAGAIN && dt >= 0.2 && dt < 1.0,
		  "SO_SNDTIMEO 300 ms: the next send -> EAGAIN after %.2f s", dt);
	peer_close(&p);
}

struct rx_arg {
	int lfd;
	size_t n;
	long got;
	bool same;
	double t_done;
};

/* A slow reader: 4 KiB of test stream seed 7 every 40 ms. */
static void *rx_thread(void *p)
{
	struct rx_arg *r = p;
	struct timeval tv = { 5, 0 };
	int fd = accept(r->lfd, NULL, NULL);
	uint8_t buf[4096], want[4096];
	struct kt_rng rng;

	if (fd < 0) {
		r->got = -errno;
		return NULL;
	}
	kt_nodelay(fd, 1, 10, 2, 1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	kt_rng_init(&rng, 7);
	r->same = true;
	while (r->got < (long)r->n) {
		ssize_t k = recv(fd, buf, sizeof(buf), 0);

		if (k <= 0)
			break;
		kt_rng_fill(&rng, want, k);
		r->same &= !memcmp(buf, want, k);
		r->got += k;
		sleep_ms(40);
	}
	r->t_done = kt_now();
	close(fd);
	return NULL;
}

void test_so_linger(void)
{
	struct prep_args a = PREP_INIT;
	static struct dg ds[64];
	struct linger lg = { 1, 0 };
	struct peer p;
	double t0, dt;
	int n, lport, port = 0, lfd, c;
	pthread_t t;
	struct rx_arg r = { 0 };

	/* {1, 0}: discard at close, nothing more on the wire */
	a.nd[0] = 1, a.nd[1] = 10, a.nd[2] = 0, a.nd[3] = 1;
	peer_open(&p, SOCK_STREAM, prep, &a);
	lport = kt_port_of(p.k);
	send(p.k, "S", 1, 0);
	dg_recv(p.u, &ds[0], 1000);
	setsockopt(p.k, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	t0 = kt_now();
	close(p.k);
	dt = kt_now() - t0;
	p.k = -1;
	n = dg_collect(p.u, ds, 64, 700);
	kt_result(n == 0 && dt < 0.1,
		  "SO_LINGER {1,0}: close returns at once (%.3f s), no datagram after it (%d in 700 ms; rto 200)",
		  dt, n);
	kt_result(proc_state(lport, p.uport) < 0,
		  "SO_LINGER {1,0}: the socket is gone from /proc/net/kcp");
	peer_close(&p);

	/* {1, 1}: close waits up to 1 s for the peer's ACKs */
	lg.l_linger = 1;
	peer_open(&p, SOCK_STREAM, prep, &a);
	send(p.k, "S", 1, 0);
	setsockopt(p.k, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	t0 = kt_now();
	close(p.k);
	dt = kt_now() - t0;
	p.k = -1;
	kt_result(dt >= 0.8 && dt < 2.0,
		  "SO_LINGER {1,1} with a silent peer: close blocks %.2f s", dt);
	peer_close(&p);

	/*
	 * default: close() returns, the data still arrives. A slow reader
	 * with a small window (8) keeps the last of it unacknowledged until
	 * it has read most of it: a close that waited for the ACKs would
	 * last about as long as the delivery.
	 */
	lfd = kt_listen(SOCK_STREAM, LO, &port);
	kt_nodelay(lfd, 1, 10, 2, 1);
	kt_wnd(lfd, 8, 8);
	r.lfd = lfd;
	r.n = 100000;
	c = kt_connect(SOCK_STREAM, LO, port);
	kt_nodelay(c, 1, 10, 2, 1);
	pthread_create(&t, NULL, rx_thread, &r);
	kt_send_stream(c, 7, r.n, 65536);
	t0 = kt_now();
	close(c);
	dt = kt_now() - t0;
	pthread_join(t, NULL);
	kt_result(r.got == (long)r.n && r.same && dt < (r.t_done - t0) / 2,
		  "default linger: close right after a 100000-byte write to a slow reader returns in %.3f s, all %ld bytes arrive byte-exact %.3f s after it",
		  dt, r.got, r.t_done - t0);
	close(lfd);
}

/* ---- SOCK_SEQPACKET message boundaries ---- */

/* A connected SOCK_SEQPACKET pair on loopback, fast3, windows @snd/@rcv. */
static int seq_pair(int *c, int *a, unsigned int wnd_c, unsigned int wnd_a)
{
	int port = 0, lfd = kt_listen(SOCK_SEQPACKET, LO, &port);
	char h;

	*c = *a = -1;
	if (lfd < 0)
		return -1;
	kt_nodelay(lfd, 1, 10, 2, 1);
	kt_wnd(lfd, wnd_a, wnd_a);
	*c = kt_connect(SOCK_SEQPACKET, LO, port);
	if (*c >= 0) {
		kt_nodelay(*c, 1, 10, 2, 1);
		kt_wnd(*c, wnd_c, wnd_c);
		send(*c, "h", 1, 0);
		*a = accept(lfd, NULL, NULL);
	}
	close(lfd);
	if (*a < 0 || recv(*a, &h, 1, 0) != 1)
		return -1;
	return 0;
}

/* Byte @off of message @i: every message distinct, every offset too. */
static uint8_t msg_byte(int i, size_t off)
{
	return (uint8_t)(i * 131 + off * 7 + (off >> 8) * 13);
}

struct seq_tx {
	int fd, n, bad;
	const int *sizes;
	int err;
};

static void *seq_sender(void *p)
{
	struct seq_tx *t = p;
	static uint8_t b[400000];

	for (int i = 0; i < t->n; i++) {
		ssize_t w;

		for (int k = 0; k < t->sizes[i]; k++)
			b[k] = msg_byte(i, k);
		w = send(t->fd, b, t->sizes[i], 0);
		if (w != t->sizes[i]) {
			t->err = w < 0 ? errno : EIO;
			t->bad++;
			break;
		}
	}
	return NULL;
}

/*
 * Send @n messages of @sizes from @c, read them at @a: each recv must
 * return exactly one message (no MSG_TRUNC, MSG_EOR set) with its bytes.
 */
static int seq_exchange(int c, int a, const int *sizes, int n, char *why,
			size_t wlen)
{
	static uint8_t b[400000];
	struct timeval tv = { 5, 0 };
	struct seq_tx t = { c, n, 0, sizes, 0 };
	pthread_t th;
	int bad = 0;

	/* a lost message must fail the test, not hang it */
	setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	pthread_create(&th, NULL, seq_sender, &t);
	for (int i = 0; i < n; i++) {
		struct iovec iov = { b, sizeof(b) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t r = recvmsg(a, &mh, 0);
		int same = r == sizes[i];

		for (ssize_t k = 0; same && k < r; k++)
			same = b[k] == msg_byte(i, k);
		if (!same || (mh.msg_flags & MSG_TRUNC) ||
		    !(mh.msg_flags & MSG_EOR)) {
			if (!bad++)
				snprintf(why, wlen, "message %d of %d bytes: recv %zd%s%s",
					 i, sizes[i], r,
					 mh.msg_flags & MSG_TRUNC ? " MSG_TRUNC" : "",
					 r == sizes[i] ? " other bytes" : "");
			if (r <= 0)
				break;
		}
	}
	pthread_join(th, NULL);
	if (t.bad && !bad++)
		snprintf(why, wlen, "send: %s", strerror(t.err));
	return bad;
}

void test_seqpacket(void)
{
	static uint8_t zeros[256 * 1376];
	static int sizes[400];
	const int mss = 1376, lim = 32 * mss;
	int n = 0, c, a, bad, big[3], mid[2];
	uint32_t r = 12345;
	char why[160] = "";
	struct kcp_info i0, i1;
	double t0 = kt_now();

	/* edges around the header, the mss and every multiple of it */
	for (int v = 1; v <= 3; v++)
		sizes[n++] = v;
	sizes[n++] = 23, sizes[n++] = 24, sizes[n++] = 25;
	for (int k = 1; k <= 32; k++) {
		sizes[n++] = k * mss - 1;
		sizes[n++] = k * mss;
		if (k < 32)
			sizes[n++] = k * mss + 1;
	}
	/* and 150 sizes spread over 1 .. the window limit */
	for (int k = 0; k < 150; k++) {
		r = r * 1103515245 + 12345;
		sizes[n++] = 1 + (r >> 8) % lim;
	}
	if (seq_pair(&c, &a, 32, 32))
		return kt_result(0, "SOCK_SEQPACKET pair: %s", strerror(errno));
	bad = seq_exchange(c, a, sizes, n, why, sizeof(why));
	kt_result(!bad, "SOCK_SEQPACKET, window 32: %d messages of 1 .. %d bytes (every k x mss +-1) each arrive as one recv, bytes intact, MSG_EOR (%.1f s)%s%s",
		  n, lim, kt_now() - t0, bad ? ": " : "", why);
	kt_result(fails(send(c, zeros, lim + 1, 0), EMSGSIZE),
		  "SOCK_SEQPACKET, window 32: a message of %d bytes (33 segments) -> EMSGSIZE",
		  lim + 1);
	close(c);
	close(a);

	/* the frg byte caps a message at 255 fragments whatever the window */
	if (seq_pair(&c, &a, 300, 300))
		return kt_result(0, "SOCK_SEQPACKET pair: %s", strerror(errno));
	big[0] = 255 * mss;
	big[1] = 7;
	big[2] = 200 * mss + 5;
	why[0] = 0;
	t0 = kt_now();
	bad = seq_exchange(c, a, big, 3, why, sizeof(why));
	kt_result(!bad, "SOCK_SEQPACKET, window 300: messages of %d (255 fragments), 7 and %d bytes arrive whole (%.1f s)%s%s",
		  big[0], big[2], kt_now() - t0, bad ? ": " : "", why);
	kt_result(fails(send(c, zeros, 255 * mss + 1, 0), EMSGSIZE),
		  "SOCK_SEQPACKET, window 300: %d bytes (256 fragments) -> EMSGSIZE",
		  255 * mss + 1);
	close(c);
	close(a);

	/*
	 * A sender with a bigger window than the receiver: a message of more
	 * fragments than the receive window can never be read whole; it is
	 * dropped (counted as an input error), the next one arrives.
	 */
	if (seq_pair(&c, &a, 64, 32))
		return kt_result(0, "SOCK_SEQPACKET pair: %s", strerror(errno));
	info(a, &i0);
	{
		struct timeval tv = { 3, 0 };
		static uint8_t b[100000];
		ssize_t r1, r2;

		memset(b, 'x', sizeof(b));
		setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		/* (the receiver's window is full until it reads) */
		mid[0] = send(c, b, 32 * mss, 0);	/* fits: 32 fragments */
		r1 = recv(a, b, sizeof(b), 0);
		mid[1] = send(c, b, 33 * mss, 0);	/* 33 > rcv_wnd 32 */
		send(c, "after", 5, 0);
		r2 = recv(a, b, sizeof(b), 0);
		info(a, &i1);
		kt_result(mid[0] == 32 * mss && mid[1] == 33 * mss &&
			  r1 == 32 * mss && r2 == 5 && !memcmp(b, "after", 5) &&
			  i1.kcpi_in_errors == i0.kcpi_in_errors + 1,
			  "sender window 64, receiver 32: 32 fragments arrive (%zd), 33 are dropped whole and counted (in_errors %llu -> %llu), the next message arrives (%zd bytes)",
			  r1, (unsigned long long)i0.kcpi_in_errors,
			  (unsigned long long)i1.kcpi_in_errors, r2);
	}
	close(c);
	close(a);
}

/* Read @total bytes of stream seed 1 as messages: their sizes, as rle. */
int cmd_seqrecv(const char *ip, long total)
{
	int port = 0, lfd = kt_listen(SOCK_SEQPACKET, ip, &port), a;
	static uint8_t b[65536], want[65536];
	struct timeval tv = { 10, 0 };
	struct kt_rng rng;
	long got = 0, last = -1, run = 0;
	int same = 1;
	char out[4096] = "";
	size_t o = 0;

	if (lfd < 0)
		return 1;
	printf("LISTEN %d\n", port);
	a = accept(lfd, NULL, NULL);
	if (a < 0)
		return 1;
	kt_nodelay(a, 1, 10, 2, 1);
	setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	kt_rng_init(&rng, 1);
	while (got < total) {
		ssize_t r = recv(a, b, sizeof(b), 0);

		if (r <= 0)
			break;
		kt_rng_fill(&rng, want, r);
		same &= !memcmp(b, want, r);
		got += r;
		if (r == last) {
			run++;
			continue;
		}
		if (run && o < sizeof(out) - 64)
			o += snprintf(out + o, sizeof(out) - o, "%s%ldx%ld",
				      o ? "," : "", last, run);
		last = r;
		run = 1;
	}
	if (run && o < sizeof(out) - 64)
		snprintf(out + o, sizeof(out) - o, "%s%ldx%ld", o ? "," : "",
			 last, run);
	printf("SIZES %s\nRECV bytes=%ld intact=%d\n", out, got, same);
	close(a);
	close(lfd);
	return 0;
}

/* Messages of the given sizes, stream seed 1, to a kcp-go server. */
int cmd_seqsend(const char *ip, int port, int n, char **sz)
{
	int fd = kt_socket(SOCK_SEQPACKET), sent = 0;
	struct sockaddr_in a = kt_addr4(ip, port);
	static uint8_t b[400000];
	struct kt_rng rng;
	struct kcp_info i;
	long bytes = 0;

	kt_nodelay(fd, 1, 10, 2, 1);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return 1;
	kt_rng_init(&rng, 1);
	for (int k = 0; k < n; k++) {
		int len = atoi(sz[k]);

		kt_rng_fill(&rng, b, len);
		if (send(fd, b, len, 0) != len) {
			printf("SEND %d bytes: %s\n", len, strerror(errno));
			break;
		}
		sent++;
		bytes += len;
	}
	/* everything acknowledged before close */
	for (int k = 0; k < 1000; k++) {
		info(fd, &i);
		if (!i.kcpi_snd_buf && !i.kcpi_snd_queue)
			break;
		sleep_ms(10);
	}
	printf("SENT messages=%d bytes=%ld unacked=%u\n", sent, bytes,
	       i.kcpi_snd_buf + i.kcpi_snd_queue);
	close(fd);
	return 0;
}
