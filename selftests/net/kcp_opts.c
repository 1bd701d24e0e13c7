// SPDX-License-Identifier: GPL-2.0
/*
 * SOL_KCP and the standard socket options of AF_KCP: each option is set,
 * read back, checked for EINVAL/ENOPROTOOPT/EISCONN, and its effect is
 * shown, on the wire where possible: an AF_KCP socket is connected to a
 * plain UDP socket of this program, which parses what arrives (24-byte
 * little-endian KCP segments, FEC and crypto headers in front) and
 * answers with hand-made segments. Prints TAP.
 *
 *   kcp_opts [GROUP...]        the tests (all groups, or the ones named)
 *   kcp_opts defaults          key=value settings of a new socket
 *   kcp_opts wnd SND RCV       try KCP_WNDSIZE: prints ok or the errno
 *   kcp_opts firsts IP PORT N  valid first datagrams from N source ports
 *   kcp_opts timewait          ms a closed listener child stays in
 *                              /proc/net/kcp (state 07)
 *   kcp_opts lingervis         ms a closed client with unacked data
 *                              stays in /proc/net/kcp (state 04)
 *   kcp_opts seqrecv IP TOTAL  SOCK_SEQPACKET listener: reads TOTAL bytes
 *                              of test stream seed 1, prints the message
 *                              sizes (SIZES 1376x3,872x1,...)
 *   kcp_opts seqsend IP PORT SIZE...  SOCK_SEQPACKET messages of these
 *                              sizes (test stream seed 1)
 *   kcp_opts sendopts IP PORT NS DEV  one byte each from sockets with
 *                              no option, SO_MARK 0x77 before/after
 *                              connect, SO_BINDTODEVICE DEV; counts what
 *                              reached namespace NS (its Udp NoPorts)
 */
#include "../lib/kcptest.h"
#include "../../tools/kcpctl/kcpnames.h"
#include <sched.h>
#include <sys/ioctl.h>

#define LO "127.0.0.1"

/* ---- the fake peer: datagrams ---- */

struct dg {
	double t;
	int len;
	uint8_t b[2048];
};

/*
 * One datagram within @ms; returns its length, 0 on timeout. d->t is
 * when the kernel received it (SO_TIMESTAMPNS, on the kt_now() clock):
 * a stalled test process must not shift the gaps it measures.
 */
static int dg_recv(int u, struct dg *d, int ms)
{
	struct pollfd pfd = { .fd = u, .events = POLLIN };
	char cbuf[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { d->b, sizeof(d->b) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct timespec rt;
	struct cmsghdr *cm;

	if (ms < 0)
		ms = 0;
	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	d->len = recvmsg(u, &mh, MSG_DONTWAIT);
	d->t = kt_now();
	clock_gettime(CLOCK_REALTIME, &rt);
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			/* how long ago, by the same (realtime) clock */
			d->t -= (rt.tv_sec - ts.tv_sec) +
				(rt.tv_nsec - ts.tv_nsec) / 1e9;
		}
	}
	return d->len > 0 ? d->len : 0;
}

/*
 * Everything that arrives in the next @ms, by the kernel's arrival time:
 * a stalled test process still gets what was queued in time.
 */
static int dg_collect(int u, struct dg *ds, int max, int ms)
{
	double end = kt_now() + ms / 1000.0;
	int n = 0;

	while (n < max) {
		int left = (int)((end - kt_now()) * 1000);

		if (!dg_recv(u, &ds[n], left > 0 ? left : 0) || ds[n].t > end)
			break;
		n++;
	}
	return n;
}

static void dg_drain(int u)
{
	struct dg d;

	while (dg_recv(u, &d, 0))
		;
}

/* The plain UDP side of a test and the AF_KCP socket connected to it. */
struct peer {
	int u, uport;
	int k;
	struct sockaddr_in ka;
	uint32_t conv;
};

typedef void (*prep_t)(int fd, void *arg);

static int udp_bind(int *port)
{
	struct sockaddr_in a = kt_addr4(LO, 0);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	int big = 1 << 20, one = 1;

	if (u < 0 || bind(u, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	setsockopt(u, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(u, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	*port = kt_port_of(u);
	return u;
}

static int peer_open(struct peer *p, int type, prep_t prep, void *arg)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(p->conv);

	memset(p, 0, sizeof(*p));
	p->k = -1;
	p->u = udp_bind(&p->uport);
	if (p->u < 0)
		return -1;
	p->k = kt_socket(type);
	if (p->k < 0)
		return -1;
	if (prep)
		prep(p->k, arg);
	a = kt_addr4(LO, p->uport);
	if (connect(p->k, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	p->ka = kt_addr4(LO, kt_port_of(p->k));
	getsockopt(p->k, SOL_KCP, KCP_CONV, &p->conv, &len);
	return 0;
}

static void peer_close(struct peer *p)
{
	if (p->k >= 0)
		close(p->k);
	if (p->u >= 0)
		close(p->u);
	p->k = p->u = -1;
}

static void peer_tx(struct peer *p, const uint8_t *b, int n)
{
	sendto(p->u, b, n, 0, (struct sockaddr *)&p->ka, sizeof(p->ka));
}

/* A hand-made segment from the UDP side. */
static void peer_seg(struct peer *p, uint8_t cmd, uint16_t wnd, uint32_t ts,
		     uint32_t sn, uint32_t una, const void *data, uint32_t len)
{
	uint8_t b[1600];

	peer_tx(p, b, kt_seg_put(b, p->conv, cmd, wnd, ts, sn, una, data, len));
}

/* Wait up to @ms for a datagram holding segment @cmd/@sn (sn < 0: any). */
static bool wait_seg(struct peer *p, int cmd, long sn, int ms, struct dg *d,
		     struct kt_seg *out)
{
	double end = kt_now() + ms / 1000.0;
	struct kt_seg s[64];

	for (;;) {
		int left = (int)((end - kt_now()) * 1000), n;

		if (left <= 0 || !dg_recv(p->u, d, left))
			return false;
		n = kt_segs_parse(d->b, d->len, s, 64);
		for (int i = 0; i < n; i++) {
			if (s[i].cmd == cmd && (sn < 0 || s[i].sn == sn)) {
				if (out)
					*out = s[i];
				return true;
			}
		}
	}
}

/* ---- option helpers ---- */

static int getint(int fd, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(fd, SOL_KCP, opt, v, &len);
}

static int info(int fd, struct kcp_info *i)
{
	socklen_t len = sizeof(*i);

	memset(i, 0, sizeof(*i));
	return getsockopt(fd, SOL_KCP, KCP_INFO, i, &len);
}

/* The call failed with @err (and returned -1). */
static bool fails(int ret, int err)
{
	return ret < 0 && errno == err;
}

static const char *ename(int e)
{
	switch (e) {
	case 0: return "ok";
	case EINVAL: return "EINVAL";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EISCONN: return "EISCONN";
	case EBUSY: return "EBUSY";
	case EAGAIN: return "EAGAIN";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENETUNREACH: return "ENETUNREACH";
	default: return strerror(e);
	}
}

/* An option this kernel does not know: say so visibly, once. */
static bool unimplemented(int fd, int opt, const char *name)
{
	char buf[sizeof(struct kcp_info)];
	socklen_t len = sizeof(buf);
	int v = 0;

	if (getsockopt(fd, SOL_KCP, opt, buf, &len) == 0 || errno != ENOPROTOOPT)
		return false;
	/* write-only options answer ENOPROTOOPT to get: try set */
	if (setsockopt(fd, SOL_KCP, opt, &v, sizeof(v)) == 0 ||
	    errno != ENOPROTOOPT)
		return false;
	kt_skip("not implemented", "%s", name);
	return true;
}

static long snmp(const char *name)
{
	FILE *f = fopen("/proc/net/kcp_snmp", "r");
	char k[64];
	long v, r = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", k, &v) == 2)
		if (!strcmp(k, name))
			r = v;
	fclose(f);
	return r;
}

/* State (hex st column) of the /proc/net/kcp line with these ports, or -1. */
static int proc_state(int lport, int rport)
{
	FILE *f = fopen("/proc/net/kcp", "r");
	char line[1024];
	int st = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned int la, lp, ra, rp, s;

		if (sscanf(line, " %*u: %8X:%4X %8X:%4X %2X", &la, &lp, &ra, &rp,
			   &s) == 5 && (int)lp == lport &&
		    (rport < 0 || (int)rp == rport))
			st = s;
	}
	fclose(f);
	return st;
}

static void sleep_ms(int ms)
{
	usleep(ms * 1000);
}

/* ---- set / get / invalid ---- */

struct int_case {
	int opt;
	const char *name;
	int def;		/* default on a new SOCK_STREAM socket */
	int good[4], ngood;
	int bad[4], nbad;
};

static void test_int_options(void)
{
	static const struct int_case cases[] = {
		{ KCP_MTU, "KCP_MTU", 1400, { 50, 1500, 576 }, 3,
		  { 49, 1501, -1, 0 }, 4 },
		{ KCP_STREAM, "KCP_STREAM", 1, { 0, 1 }, 2, { 2, -1 }, 2 },
		{ KCP_DEADLINK, "KCP_DEADLINK", 20, { 1, 1000, 7 }, 3,
		  { 0, 1001, -1 }, 3 },
		{ KCP_MINRTO, "KCP_MINRTO", 100, { 1, 60000, 250 }, 3,
		  { 0, 60001, -5 }, 3 },
		{ KCP_IDLE_TIMEOUT, "KCP_IDLE_TIMEOUT", 0,
		  { 86400000, 1500, 0 }, 3, { -1, 86400001, INT32_MIN }, 3 },
		{ KCP_LINGER_TIMEOUT, "KCP_LINGER_TIMEOUT", 30000,
		  { 0, 86400000, 700 }, 3, { -1, 86400001 }, 2 },
		{ KCP_ACK_NODELAY, "KCP_ACK_NODELAY", 0, { 1, 0 }, 2, { 0 }, 0 },
		{ KCP_WRITE_DELAY, "KCP_WRITE_DELAY", 0, { 1, 0 }, 2, { 0 }, 0 },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct int_case *t = &cases[c];
		int fd = kt_socket(SOCK_STREAM), v = -12345, bad = 0;
		char why[256] = "";

		if (unimplemented(fd, t->opt, t->name)) {
			close(fd);
			continue;
		}
		getint(fd, t->opt, &v);
		kt_result(v == t->def, "%s default %d (got %d)", t->name,
			  t->def, v);
		for (int i = 0; i < t->ngood; i++) {
			v = -12345;
			if (kt_setint(fd, t->opt, t->good[i]) ||
			    getint(fd, t->opt, &v) || v != t->good[i]) {
				snprintf(why, sizeof(why), " (%d: %s, read %d)",
					 t->good[i], strerror(errno), v);
				bad++;
			}
		}
		kt_result(!bad, "%s set/get round trip of %d values%s",
			  t->name, t->ngood, why);
		if (t->nbad) {
			int before;

			getint(fd, t->opt, &before);
			bad = 0;
			for (int i = 0; i < t->nbad; i++) {
				int r = kt_setint(fd, t->opt, t->bad[i]);

				if (!fails(r, EINVAL)) {
					snprintf(why, sizeof(why), " (%d: %s)",
						 t->bad[i], r ? ename(errno) : "accepted");
					bad++;
				}
			}
			getint(fd, t->opt, &v);
			kt_result(!bad && v == before,
				  "%s out-of-range values -> EINVAL, value kept%s",
				  t->name, bad ? why : "");
		}
		close(fd);
	}

	/* booleans normalise, as SO_KEEPALIVE does */
	{
		int fd = kt_socket(SOCK_STREAM), v = -1;

		kt_setint(fd, KCP_ACK_NODELAY, 7);
		getint(fd, KCP_ACK_NODELAY, &v);
		kt_result(v == 1, "KCP_ACK_NODELAY 7 reads back as 1 (%d)", v);
		close(fd);
	}
	/* message boundaries are SOCK_SEQPACKET's: no stream mode there */
	{
		int fd = kt_socket(SOCK_SEQPACKET), v = -1;

		getint(fd, KCP_STREAM, &v);
		kt_result(v == 0, "SOCK_SEQPACKET: KCP_STREAM default 0 (%d)", v);
		kt_result(fails(kt_setint(fd, KCP_STREAM, 1), EINVAL),
			  "SOCK_SEQPACKET: KCP_STREAM 1 -> EINVAL");
		close(fd);
	}
	/* KCP_PRESET is write-only */
	{
		int fd = kt_socket(SOCK_STREAM), v, bad = 0;

		for (v = KCP_PRESET_NORMAL; v <= KCP_PRESET_FAST3; v++)
			bad += kt_setint(fd, KCP_PRESET, v) != 0;
		kt_result(!bad, "KCP_PRESET 1..4 accepted");
		kt_result(fails(kt_setint(fd, KCP_PRESET, 0), EINVAL) &&
			  fails(kt_setint(fd, KCP_PRESET, 5), EINVAL) &&
			  fails(kt_setint(fd, KCP_PRESET, -1), EINVAL),
			  "KCP_PRESET 0, 5, -1 -> EINVAL");
		kt_result(fails(getint(fd, KCP_PRESET, &v), ENOPROTOOPT),
			  "getsockopt(KCP_PRESET) -> ENOPROTOOPT (write-only)");
		close(fd);
	}
}

static void test_generic_errors(void)
{
	int fd = kt_socket(SOCK_STREAM), v = 1;
	socklen_t len = sizeof(v);
	short s = 1;
	struct kcp_info i;

	kt_result(fails(kt_setint(fd, 999, 1), ENOPROTOOPT),
		  "setsockopt(SOL_KCP, 999) -> ENOPROTOOPT");
	kt_result(fails(getsockopt(fd, SOL_KCP, 999, &v, &len), ENOPROTOOPT),
		  "getsockopt(SOL_KCP, 999) -> ENOPROTOOPT");
	kt_result(fails(kt_setopt(fd, KCP_MTU, &s, sizeof(s)), EINVAL),
		  "int option with optlen 2 -> EINVAL");
	len = 2;
	kt_result(fails(getsockopt(fd, SOL_KCP, KCP_MTU, &v, &len), EINVAL),
		  "getsockopt of an int option into 2 bytes -> EINVAL");
	kt_result(fails(kt_setopt(fd, KCP_INFO, &i, sizeof(i)), ENOPROTOOPT),
		  "setsockopt(KCP_INFO) -> ENOPROTOOPT (read-only)");
	len = (socklen_t)-1;
	kt_result(fails(getsockopt(fd, SOL_KCP, KCP_MTU, &v, &len), EINVAL),
		  "getsockopt with negative optlen -> EINVAL");
	close(fd);
}

static bool nd_is(int fd, int a, int b, int c, int d, char *why, size_t n)
{
	struct kcp_nodelay nd = { -9, -9, -9, -9 };
	socklen_t len = sizeof(nd);

	getsockopt(fd, SOL_KCP, KCP_NODELAY, &nd, &len);
	snprintf(why, n, "{%d,%d,%d,%d}", nd.nodelay, nd.interval, nd.resend,
		 nd.nc);
	return nd.nodelay == a && nd.interval == b && nd.resend == c &&
	       nd.nc == d && len == sizeof(nd);
}

static void test_nodelay_opt(void)
{
	int fd = kt_socket(SOCK_STREAM), v;
	char w[64];
	struct kcp_nodelay bad[] = {
		{ -2, 10, 0, 0 }, { 0, -2, 0, 0 }, { 0, 10, -2, 0 },
		{ 0, 10, 0, 2 }, { 0, 10, 0, -2 },
	};
	int nbad = 0;

	if (unimplemented(fd, KCP_NODELAY, "KCP_NODELAY")) {
		close(fd);
		return;
	}
	kt_result(nd_is(fd, 0, 100, 0, 0, w, sizeof(w)),
		  "KCP_NODELAY default {0,100,0,0} (kcp-go) %s", w);
	kt_nodelay(fd, 1, 20, 2, 1);
	kt_result(nd_is(fd, 1, 20, 2, 1, w, sizeof(w)),
		  "KCP_NODELAY {1,20,2,1} round trip %s", w);
	kt_nodelay(fd, -1, -1, -1, -1);
	kt_result(nd_is(fd, 1, 20, 2, 1, w, sizeof(w)),
		  "KCP_NODELAY -1 fields keep the values %s", w);
	kt_nodelay(fd, -1, 5, -1, -1);
	kt_result(nd_is(fd, 1, 10, 2, 1, w, sizeof(w)),
		  "KCP_NODELAY interval 5 clamped to 10 %s", w);
	kt_nodelay(fd, -1, 99999, -1, -1);
	kt_result(nd_is(fd, 1, 5000, 2, 1, w, sizeof(w)),
		  "KCP_NODELAY interval 99999 clamped to 5000 %s", w);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		nbad += !fails(kt_setopt(fd, KCP_NODELAY, &bad[i],
					 sizeof(bad[i])), EINVAL);
	kt_result(!nbad && nd_is(fd, 1, 5000, 2, 1, w, sizeof(w)),
		  "KCP_NODELAY with a field < -1 or nc > 1 -> EINVAL (%d accepted)",
		  nbad);
	kt_result(fails(kt_setopt(fd, KCP_NODELAY, &bad[0], 8), EINVAL),
		  "KCP_NODELAY with optlen 8 -> EINVAL");
	/* nodelay resets minrto, as kcp-go's NoDelay does */
	kt_setint(fd, KCP_MINRTO, 400);
	kt_nodelay(fd, -1, -1, -1, -1);
	getint(fd, KCP_MINRTO, &v);
	kt_result(v == 400, "KCP_NODELAY nodelay -1 keeps KCP_MINRTO (%d)", v);
	kt_nodelay(fd, 1, -1, -1, -1);
	getint(fd, KCP_MINRTO, &v);
	kt_result(v == 30, "KCP_NODELAY nodelay 1 resets KCP_MINRTO to 30 (%d)", v);
	kt_nodelay(fd, 0, -1, -1, -1);
	getint(fd, KCP_MINRTO, &v);
	kt_result(v == 100, "KCP_NODELAY nodelay 0 resets KCP_MINRTO to 100 (%d)", v);
	close(fd);
}

static bool wnd_is(int fd, unsigned int s, unsigned int r, char *why, size_t n)
{
	struct kcp_wndsize w = { 0, 0 };
	socklen_t len = sizeof(w);

	getsockopt(fd, SOL_KCP, KCP_WNDSIZE, &w, &len);
	snprintf(why, n, "{%u,%u}", w.snd, w.rcv);
	return w.snd == s && w.rcv == r;
}

static void test_wndsize_opt(void)
{
	int fd = kt_socket(SOCK_STREAM);
	char w[64];

	if (unimplemented(fd, KCP_WNDSIZE, "KCP_WNDSIZE")) {
		close(fd);
		return;
	}
	kt_result(wnd_is(fd, 32, 32, w, sizeof(w)),
		  "KCP_WNDSIZE default {32,32} (kcp-go) %s", w);
	kt_wnd(fd, 128, 256);
	kt_result(wnd_is(fd, 128, 256, w, sizeof(w)),
		  "KCP_WNDSIZE {128,256} round trip %s", w);
	kt_wnd(fd, 0, 512);
	kt_result(wnd_is(fd, 128, 512, w, sizeof(w)),
		  "KCP_WNDSIZE snd 0 keeps the send window %s", w);
	kt_result(fails(kt_wnd(fd, 32769, 0), EINVAL) &&
		  fails(kt_wnd(fd, 0, 32769), EINVAL) &&
		  fails(kt_wnd(fd, 100000, 100000), EINVAL) &&
		  wnd_is(fd, 128, 512, w, sizeof(w)),
		  "KCP_WNDSIZE beyond net.kcp.wnd_max (32768) -> EINVAL %s", w);
	kt_result(kt_wnd(fd, 32768, 32768) == 0 &&
		  wnd_is(fd, 32768, 32768, w, sizeof(w)),
		  "KCP_WNDSIZE {32768,32768} (= wnd_max) accepted %s", w);
	kt_result(fails(kt_setopt(fd, KCP_WNDSIZE, &(uint32_t){ 8 }, 4), EINVAL),
		  "KCP_WNDSIZE with optlen 4 -> EINVAL");
	close(fd);
}

static void test_conv_opt(void)
{
	int fd = kt_socket(SOCK_STREAM), port = 0, lfd;
	uint32_t conv = 0xC0FFEE01, got = 0;
	socklen_t len = sizeof(got);
	struct peer p;

	if (unimplemented(fd, KCP_CONV, "KCP_CONV")) {
		close(fd);
		return;
	}
	kt_setopt(fd, KCP_CONV, &conv, sizeof(conv));
	getsockopt(fd, SOL_KCP, KCP_CONV, &got, &len);
	kt_result(got == conv, "KCP_CONV round trip (%08x)", got);
	kt_result(fails(kt_setopt(fd, KCP_CONV, &conv, 2), EINVAL),
		  "KCP_CONV with optlen 2 -> EINVAL");
	close(fd);

	/* on the wire */
	{
		int k = kt_socket(SOCK_STREAM), u, uport;
		struct sockaddr_in a;
		struct dg d;
		struct kt_seg s[4];

		u = udp_bind(&uport);
		kt_setopt(k, KCP_CONV, &conv, sizeof(conv));
		a = kt_addr4(LO, uport);
		connect(k, (struct sockaddr *)&a, sizeof(a));
		send(k, "conv", 4, 0);
		kt_result(dg_recv(u, &d, 1000) &&
			  kt_segs_parse(d.b, d.len, s, 4) == 1 &&
			  s[0].conv == conv && s[0].cmd == KCP_CMD_PUSH &&
			  s[0].len == 4 && !memcmp(s[0].data, "conv", 4),
			  "KCP_CONV %08x is the conv on the wire", conv);
		kt_result(fails(kt_setopt(k, KCP_CONV, &conv, sizeof(conv)),
				EISCONN),
			  "KCP_CONV after connect -> EISCONN");
		close(k);
		close(u);
	}
	/* the default is random, and what getsockopt says */
	{
		struct dg d;
		struct kt_seg s[4];
		uint32_t c1;

		peer_open(&p, SOCK_STREAM, NULL, NULL);
		c1 = p.conv;
		send(p.k, "x", 1, 0);
		kt_result(dg_recv(p.u, &d, 1000) &&
			  kt_segs_parse(d.b, d.len, s, 4) == 1 &&
			  s[0].conv == p.conv,
			  "default conv: random, getsockopt gives the wire's (%08x)",
			  p.conv);
		peer_close(&p);
		peer_open(&p, SOCK_STREAM, NULL, NULL);
		kt_result(p.conv != c1, "two connects, two convs (%08x, %08x)",
			  c1, p.conv);
		peer_close(&p);
	}
	lfd = kt_listen(SOCK_STREAM, LO, &port);
	kt_result(fails(kt_setopt(lfd, KCP_CONV, &conv, sizeof(conv)), EISCONN),
		  "KCP_CONV on a listener -> EISCONN");
	close(lfd);
}

static void test_fec_opt(void)
{
	int fd = kt_socket(SOCK_STREAM), port = 0, lfd, nbad = 0;
	struct kcp_fec f = { 7, 7 }, bad[] = {
		{ 1, 0 }, { 0, 1 }, { 200, 56 }, { 255, 1 }, { 1, 255 },
	};
	socklen_t len = sizeof(f);

	if (unimplemented(fd, KCP_FEC, "KCP_FEC")) {
		close(fd);
		return;
	}
	getsockopt(fd, SOL_KCP, KCP_FEC, &f, &len);
	kt_result(f.data_shards == 0 && f.parity_shards == 0,
		  "KCP_FEC default off {0,0}");
	f = (struct kcp_fec){ 10, 3 };
	kt_setopt(fd, KCP_FEC, &f, sizeof(f));
	f = (struct kcp_fec){ 0, 0 };
	len = sizeof(f);
	getsockopt(fd, SOL_KCP, KCP_FEC, &f, &len);
	kt_result(f.data_shards == 10 && f.parity_shards == 3,
		  "KCP_FEC {10,3} round trip {%u,%u}", f.data_shards,
		  f.parity_shards);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		nbad += !fails(kt_setopt(fd, KCP_FEC, &bad[i], sizeof(bad[i])),
			       EINVAL);
	kt_result(!nbad, "KCP_FEC {1,0} {0,1} {200,56} {255,1} {1,255} -> EINVAL (%d accepted)",
		  nbad);
	f = (struct kcp_fec){ 254, 1 };
	kt_result(kt_setopt(fd, KCP_FEC, &f, sizeof(f)) == 0,
		  "KCP_FEC {254,1} (255 shards) accepted");
	f = (struct kcp_fec){ 0, 0 };
	kt_result(kt_setopt(fd, KCP_FEC, &f, sizeof(f)) == 0,
		  "KCP_FEC {0,0} turns it off");
	kt_result(fails(kt_setopt(fd, KCP_FEC, &f, 4), EINVAL),
		  "KCP_FEC with optlen 4 -> EINVAL");
	close(fd);

	lfd = kt_listen(SOCK_STREAM, LO, &port);
	f = (struct kcp_fec){ 3, 2 };
	kt_result(fails(kt_setopt(lfd, KCP_FEC, &f, sizeof(f)), EISCONN),
		  "KCP_FEC after listen -> EISCONN");
	close(lfd);
}

static void test_crypto_opt(void)
{
	int fd = kt_socket(SOCK_STREAM), bad = 0, leak = 0;
	struct kcp_crypto kc;
	socklen_t len = sizeof(kc);
	char why[128] = "";

	if (unimplemented(fd, KCP_CRYPTO, "KCP_CRYPTO")) {
		close(fd);
		return;
	}
	memset(&kc, 0x55, sizeof(kc));
	getsockopt(fd, SOL_KCP, KCP_CRYPTO, &kc, &len);
	kt_result(kc.cipher == KCP_CIPHER_NULL && kc.key_len == 0,
		  "KCP_CRYPTO default: no cipher");
	for (int c = 0; c < __KCP_CIPHER_MAX; c++) {
		memset(&kc, 0, sizeof(kc));
		kc.cipher = c;
		kc.key_len = kcp_cipher_names[c].key_len;
		memset(kc.key, 0xA5, kc.key_len);
		if (kt_setopt(fd, KCP_CRYPTO, &kc, sizeof(kc))) {
			snprintf(why, sizeof(why), " (cipher %d: %s)", c,
				 strerror(errno));
			bad++;
			continue;
		}
		memset(&kc, 0x77, sizeof(kc));
		len = sizeof(kc);
		getsockopt(fd, SOL_KCP, KCP_CRYPTO, &kc, &len);
		if (kc.cipher != (unsigned int)c ||
		    kc.key_len != kcp_cipher_names[c].key_len || len != sizeof(kc)) {
			snprintf(why, sizeof(why), " (cipher %d read %u/%u)", c,
				 kc.cipher, kc.key_len);
			bad++;
		}
		for (int i = 0; i < KCP_KEY_MAX; i++)
			leak += kc.key[i] != 0;
	}
	kt_result(!bad, "KCP_CRYPTO: all %d ciphers set, cipher and key_len read back%s",
		  __KCP_CIPHER_MAX, why);
	kt_result(!leak, "KCP_CRYPTO getsockopt returns an all-zero key (%d bytes not zero)",
		  leak);
	bad = 0;
	for (int c = KCP_CIPHER_AES; c < __KCP_CIPHER_MAX; c++) {
		memset(&kc, 0, sizeof(kc));
		kc.cipher = c;
		kc.key_len = kcp_cipher_names[c].key_len == 16 ? 32 : 16;
		bad += !fails(kt_setopt(fd, KCP_CRYPTO, &kc, sizeof(kc)), EINVAL);
	}
	kc = (struct kcp_crypto){ .cipher = KCP_CIPHER_NONE, .key_len = 33 };
	bad += !fails(kt_setopt(fd, KCP_CRYPTO, &kc, sizeof(kc)), EINVAL);
	kt_result(!bad, "KCP_CRYPTO with a wrong key_len -> EINVAL (%d accepted)", bad);
	kc = (struct kcp_crypto){ .cipher = __KCP_CIPHER_MAX, .key_len = 32 };
	kt_result(fails(kt_setopt(fd, KCP_CRYPTO, &kc, sizeof(kc)), EINVAL),
		  "KCP_CRYPTO cipher %d (unknown) -> EINVAL", __KCP_CIPHER_MAX);
	kc = (struct kcp_crypto){ .cipher = 1000, .key_len = 32 };
	kt_result(fails(kt_setopt(fd, KCP_CRYPTO, &kc, sizeof(kc)), EINVAL),
		  "KCP_CRYPTO cipher 1000 -> EINVAL");
	kt_result(fails(kt_setopt(fd, KCP_CRYPTO, &kc, 8), EINVAL),
		  "KCP_CRYPTO with optlen 8 -> EINVAL");
	close(fd);
}

static void test_info_opt(void)
{
	struct kcp_info i;
	unsigned char buf[sizeof(struct kcp_info) + 16];
	socklen_t len;
	struct peer p;
	int bad = 0;

	{
		int fd = kt_socket(SOCK_STREAM);

		info(fd, &i);
		kt_result(i.kcpi_version == KCP_INFO_VERSION &&
			  i.kcpi_len == sizeof(i) && i.kcpi_state == KCP_CLOSE,
			  "KCP_INFO of a new socket: version %u len %u state %u",
			  i.kcpi_version, i.kcpi_len, i.kcpi_state);
		memset(buf, 0xAA, sizeof(buf));
		len = 8;
		kt_result(getsockopt(fd, SOL_KCP, KCP_INFO, buf, &len) == 0 &&
			  len == 8 && kt_g32(buf) == KCP_INFO_VERSION &&
			  kt_g32(buf + 4) == sizeof(i) && buf[8] == 0xAA,
			  "KCP_INFO with optlen 8: 8 bytes (version, len), rest untouched");
		len = 0;
		kt_result(getsockopt(fd, SOL_KCP, KCP_INFO, buf, &len) == 0 &&
			  len == 0, "KCP_INFO with optlen 0: nothing, optlen 0");
		memset(buf, 0xAA, sizeof(buf));
		len = sizeof(buf);
		kt_result(getsockopt(fd, SOL_KCP, KCP_INFO, buf, &len) == 0 &&
			  len == sizeof(i) && buf[sizeof(i)] == 0xAA,
			  "KCP_INFO with a bigger optlen: optlen becomes %zu",
			  sizeof(i));
		close(fd);
	}
	if (peer_open(&p, SOCK_STREAM, NULL, NULL))
		return kt_result(0, "peer_open: %s", strerror(errno));
	send(p.k, "info", 4, 0);
	{
		struct dg d;

		dg_recv(p.u, &d, 1000);
	}
	info(p.k, &i);
	bad += i.kcpi_state != KCP_ESTABLISHED;
	bad += i.kcpi_conv != p.conv;
	bad += i.kcpi_mtu != 1400 || i.kcpi_mss != 1376;
	bad += i.kcpi_rto != 200 || i.kcpi_minrto != 100;
	bad += i.kcpi_snd_wnd != 32 || i.kcpi_rcv_wnd != 32;
	bad += i.kcpi_interval != 100 || i.kcpi_nodelay != 0;
	bad += i.kcpi_dead_link != 20 || i.kcpi_stream != 1;
	bad += i.kcpi_cipher != 0 || i.kcpi_fec_data != 0;
	bad += i.kcpi_snd_nxt != 1 || i.kcpi_snd_una != 0 ||
	       i.kcpi_snd_buf != 1;
	bad += i.kcpi_out_segs < 1 || i.kcpi_out_pkts < 1 ||
	       i.kcpi_bytes_out != 4;
	kt_result(!bad, "KCP_INFO after connect + 4 bytes: state %u conv %08x mtu %u mss %u rto %u minrto %u wnd %u/%u interval %u dead_link %u snd_nxt %u snd_buf %u out_segs %llu bytes_out %llu",
		  i.kcpi_state, i.kcpi_conv, i.kcpi_mtu, i.kcpi_mss,
		  i.kcpi_rto, i.kcpi_minrto, i.kcpi_snd_wnd, i.kcpi_rcv_wnd,
		  i.kcpi_interval, i.kcpi_dead_link, i.kcpi_snd_nxt,
		  i.kcpi_snd_buf, (unsigned long long)i.kcpi_out_segs,
		  (unsigned long long)i.kcpi_bytes_out);
	kt_result(proc_state(kt_port_of(p.k), p.uport) == KCP_ESTABLISHED,
		  "/proc/net/kcp lists the socket ESTABLISHED (01)");
	peer_close(&p);
}

/* ---- effects ---- */

struct prep_args {
	int nd[4];		/* KCP_NODELAY, nd[0] == -9: not set */
	int snd, rcv;		/* KCP_WNDSIZE, 0: not set */
	int mtu, stream, ack_nodelay, write_delay, deadlink, minrto;
	int idle, linger, rcvbuf, sndbuf;
	struct kcp_fec fec;
	struct kcp_crypto kc;
	bool nonblock;
};

#define PREP_INIT { .nd = { -9 }, .stream = -1, .ack_nodelay = -1, \
		    .write_delay = -1, .idle = -1, .linger = -1 }

static void prep(int fd, void *arg)
{
	struct prep_args *a = arg;

	if (a->nd[0] != -9)
		kt_nodelay(fd, a->nd[0], a->nd[1], a->nd[2], a->nd[3]);
	if (a->snd || a->rcv)
		kt_wnd(fd, a->snd, a->rcv);
	if (a->mtu)
		kt_setint(fd, KCP_MTU, a->mtu);
	if (a->stream >= 0)
		kt_setint(fd, KCP_STREAM, a->stream);
	if (a->ack_nodelay >= 0)
		kt_setint(fd, KCP_ACK_NODELAY, a->ack_nodelay);
	if (a->write_delay >= 0)
		kt_setint(fd, KCP_WRITE_DELAY, a->write_delay);
	if (a->deadlink)
		kt_setint(fd, KCP_DEADLINK, a->deadlink);
	if (a->minrto)
		kt_setint(fd, KCP_MINRTO, a->minrto);
	if (a->idle >= 0)
		kt_setint(fd, KCP_IDLE_TIMEOUT, a->idle);
	if (a->linger >= 0)
		kt_setint(fd, KCP_LINGER_TIMEOUT, a->linger);
	if (a->rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &a->rcvbuf, sizeof(int));
	if (a->sndbuf)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &a->sndbuf, sizeof(int));
	if (a->fec.data_shards)
		kt_setopt(fd, KCP_FEC, &a->fec, sizeof(a->fec));
	if (a->kc.cipher)
		kt_setopt(fd, KCP_CRYPTO, &a->kc, sizeof(a->kc));
	if (a->nonblock)
		fcntl(fd, F_SETFL, O_NONBLOCK);
}

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

static void test_mtu_wire(void)
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

static void test_stream_wire(void)
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

static void test_ack_nodelay_wire(void)
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

static void test_wndsize_wire(void)
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

static void test_nodelay_wire(void)
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

static void test_minrto_wire(void)
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

static void test_deadlink_wire(void)
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

static void test_idle_wire(void)
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

static void test_fec_wire(void)
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

static void test_crypto_wire(void)
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

static void test_presets(void)
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

static void test_linger_timeout_wire(void)
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

/* ---- standard socket options ---- */

static void test_so_bufs(void)
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
	 * full ones (stream mode) or one 1000-byte write each (messages).
	 */
	kt_result(errno == EAGAIN &&
		  capped <= 16384 / KT_SEG_TRUESIZE * 1376 &&
		  capped >= 16384 / KT_SEG_TRUESIZE * 1000 && capped < dflt,
		  "SO_SNDBUF 8192 (16384): nonblocking send queues %ld bytes (%d segments) before EAGAIN (%ld without, window 32 segments)",
		  capped, 16384 / KT_SEG_TRUESIZE, dflt);
	peer_close(&p);

	a = (struct prep_args)PREP_INIT;
	a.rcvbuf = 4096;	/* 8192: 4 segments of KT_SEG_TRUESIZE */
	a.ack_nodelay = 1;
	peer_open(&p, SOCK_STREAM, prep, &a);
	info(p.k, &i);
	peer_seg(&p, KCP_CMD_PUSH, 128, 1, 0, 0, "r", 1);
	ack.wnd = 0;
	wait_seg(&p, KCP_CMD_ACK, 0, 1000, &d, &ack);
	kt_result(i.kcpi_rcv_wnd == 4 && ack.wnd == 3,
		  "SO_RCVBUF 4096 (8192) before connect: rcv_wnd %u, ACK advertises %u (4 - 1 queued)",
		  i.kcpi_rcv_wnd, ack.wnd);
	peer_close(&p);

	a.rcvbuf = 0;
	peer_open(&p, SOCK_STREAM, prep, &a);
	setsockopt(p.k, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));	/* 5600: 2 */
	peer_seg(&p, KCP_CMD_PUSH, 128, 1, 0, 0, "r", 1);
	ack.wnd = 0;
	wait_seg(&p, KCP_CMD_ACK, 0, 1000, &d, &ack);
	info(p.k, &i);
	kt_result(i.kcpi_rcv_wnd == 2 && ack.wnd == 1,
		  "SO_RCVBUF 2800 (5600) after connect: rcv_wnd %u, ACK advertises %u (2 - 1 queued)",
		  i.kcpi_rcv_wnd, ack.wnd);
	peer_close(&p);
}

/*
 * (Lower bounds are loose: a TCG guest's jiffies, which socket timeouts
 * count, can run ahead of CLOCK_MONOTONIC by tens of ms.)
 */
static void test_so_timeouts(void)
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

static void test_so_linger(void)
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

static void test_seqpacket(void)
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
static int cmd_seqrecv(const char *ip, long total)
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
static int cmd_seqsend(const char *ip, int port, int n, char **sz)
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

/* ---- subcommands for options.sh ---- */

/* " NAME=VALUE" of one int option, for a line options.sh takes apart. */
static void print_int(int fd, int opt, const char *name)
{
	int v = -1;

	getint(fd, opt, &v);
	printf(" %s=%d", name, v);
}

static int cmd_defaults(void)
{
	int fd = kt_socket(SOCK_STREAM), sq = kt_socket(SOCK_SEQPACKET);
	struct kcp_nodelay nd;
	struct kcp_wndsize w;
	struct kcp_fec f;
	socklen_t len;

	if (fd < 0)
		return 1;
	len = sizeof(nd);
	getsockopt(fd, SOL_KCP, KCP_NODELAY, &nd, &len);
	printf("nodelay=%d interval=%d resend=%d nc=%d", nd.nodelay,
	       nd.interval, nd.resend, nd.nc);
	len = sizeof(w);
	getsockopt(fd, SOL_KCP, KCP_WNDSIZE, &w, &len);
	printf(" snd_wnd=%u rcv_wnd=%u", w.snd, w.rcv);
	print_int(fd, KCP_MTU, "mtu");
	print_int(fd, KCP_STREAM, "stream");
	print_int(sq, KCP_STREAM, "seq_stream");
	print_int(fd, KCP_ACK_NODELAY, "ack_nodelay");
	print_int(fd, KCP_DEADLINK, "dead_link");
	print_int(fd, KCP_MINRTO, "min_rto");
	print_int(fd, KCP_IDLE_TIMEOUT, "idle_timeout_ms");
	print_int(fd, KCP_LINGER_TIMEOUT, "linger_ms");
	len = sizeof(f);
	getsockopt(fd, SOL_KCP, KCP_FEC, &f, &len);
	printf(" fec_data=%u fec_parity=%u\n", f.data_shards, f.parity_shards);
	return 0;
}

static int cmd_wnd(int snd, int rcv)
{
	int fd = kt_socket(SOCK_STREAM);

	if (kt_wnd(fd, snd, rcv))
		printf("%s\n", ename(errno));
	else
		printf("ok\n");
	return 0;
}

/* A valid first datagram (PUSH sn 0) from @n fresh source ports. */
static int cmd_firsts(const char *ip, int port, int n)
{
	struct sockaddr_in a = kt_addr4(ip, port);
	uint8_t b[64];
	int sent = 0;

	srand(getpid());
	for (int i = 0; i < n; i++) {
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		uint32_t conv = (uint32_t)rand() * 2654435761u + i;
		int len = kt_seg_put(b, conv, KCP_CMD_PUSH, 32, 0, 0, 0, "hello", 5);

		if (u < 0)
			break;
		sent += sendto(u, b, len, 0, (struct sockaddr *)&a,
			       sizeof(a)) == len;
		close(u);
	}
	printf("SENT %d\n", sent);
	return 0;
}

/* How long a closed session's line stays in /proc/net/kcp. */
static double visible_for(int lport, int rport, int want_state, double max,
			  int *seen_state)
{
	double t0 = kt_now();

	*seen_state = proc_state(lport, rport);
	while (kt_now() - t0 < max) {
		int st = proc_state(lport, rport);

		if (st < 0)
			return kt_now() - t0;
		if (st == want_state)
			*seen_state = st;
		sleep_ms(20);
	}
	return -1;
}

static int cmd_timewait(void)
{
	int port = 0, lfd = kt_listen(SOCK_STREAM, LO, &port), c, s, st;
	char x;
	double t;

	c = kt_connect(SOCK_STREAM, LO, port);
	kt_nodelay(c, 1, 10, 2, 1);
	kt_nodelay(lfd, 1, 10, 2, 1);
	send(c, "t", 1, 0);
	s = accept(lfd, NULL, NULL);
	recv(s, &x, 1, 0);
	send(s, "u", 1, 0);
	recv(c, &x, 1, 0);
	sleep_ms(200);		/* every ACK in */
	close(s);
	t = visible_for(port, kt_port_of(c), KCP_CLOSE, 10, &st);
	printf("visible_ms=%.0f state=%02X\n", t * 1000, st);
	close(c);
	close(lfd);
	return 0;
}

static int cmd_lingervis(void)
{
	struct prep_args a = PREP_INIT;
	struct peer p;
	struct dg d;
	int lport, st;
	double t;

	a.nd[0] = 1, a.nd[1] = 10, a.nd[2] = 0, a.nd[3] = 1;
	a.deadlink = 1000;
	peer_open(&p, SOCK_STREAM, prep, &a);
	lport = kt_port_of(p.k);
	send(p.k, "L", 1, 0);
	dg_recv(p.u, &d, 1000);
	close(p.k);
	p.k = -1;
	t = visible_for(lport, p.uport, KCP_LINGER, 10, &st);
	printf("visible_ms=%.0f state=%02X\n", t * 1000, st);
	peer_close(&p);
	return 0;
}

/* Udp NoPorts of namespace @nsfd: datagrams to a port nobody has. */
static long udp_noports(int nsfd, int home)
{
	char h[512], v[512];
	long n = -1;
	FILE *f;

	if (setns(nsfd, CLONE_NEWNET))
		return -1;
	f = fopen("/proc/self/net/snmp", "r");
	while (f && fgets(h, sizeof(h), f)) {
		if (strncmp(h, "Udp: ", 5) || !fgets(v, sizeof(v), f))
			continue;
		if (sscanf(v, "Udp: %*s %ld", &n) != 1)
			n = -1;
		break;
	}
	if (f)
		fclose(f);
	setns(home, CLONE_NEWNET);
	return n;
}

/*
 * One byte to IP:PORT (in namespace @nsb, nobody listening) from a
 * socket with SO_MARK @mark before connect(), @mark2 after it (0: none)
 * and SO_BINDTODEVICE @dev ("-": none). Prints how many datagrams
 * reached @nsb, the OutNoRoute delta here and what the calls said.
 */
static void sendopt(const char *ip, int port, int nsb, int home, int mark,
		    int mark2, const char *dev)
{
	struct sockaddr_in a = kt_addr4(ip, port);
	struct linger lg = { 1, 0 };
	struct kcp_info i;
	int fd = kt_socket(SOCK_STREAM), e1 = 0, e2 = 0, ec = 0;
	long b0 = udp_noports(nsb, home), r0 = snmp("OutNoRoute");

	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		e1 = errno;
	if (strcmp(dev, "-") &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, strlen(dev) + 1))
		e2 = errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		ec = errno;
	if (mark2 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark2, sizeof(mark2)))
		e1 = errno;
	send(fd, "m", 1, 0);
	sleep_ms(250);
	info(fd, &i);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	printf("mark=%#x mark2=%#x dev=%s at_b=%ld noroute=%ld connect=%s mark_err=%s dev_err=%s out_pkts=%llu\n",
	       mark, mark2, dev, udp_noports(nsb, home) - b0,
	       snmp("OutNoRoute") - r0, ename(ec), ename(e1), ename(e2),
	       (unsigned long long)i.kcpi_out_pkts);
}

/* SO_MARK and SO_BINDTODEVICE cases, one line each (see options.sh). */
static int cmd_sendopts(const char *ip, int port, const char *nsb_name,
			const char *dev_none)
{
	char path[256];
	int nsb, home = open("/proc/self/ns/net", O_RDONLY);

	snprintf(path, sizeof(path), "/run/netns/%s", nsb_name);
	nsb = open(path, O_RDONLY);
	if (nsb < 0 || home < 0) {
		perror(path);
		return 1;
	}
	sendopt(ip, port, nsb, home, 0, 0, "-");
	sendopt(ip, port, nsb, home, 0x77, 0, "-");
	sendopt(ip, port, nsb, home, 0, 0x77, "-");
	sendopt(ip, port, nsb, home, 0, 0, dev_none);
	return 0;
}

static const struct {
	const char *name;
	void (*fn)(void);
} groups[] = {
	{ "errors", test_generic_errors },
	{ "ints", test_int_options },
	{ "nodelay", test_nodelay_opt },
	{ "wndsize", test_wndsize_opt },
	{ "conv", test_conv_opt },
	{ "fec", test_fec_opt },
	{ "crypto", test_crypto_opt },
	{ "info", test_info_opt },
	{ "presets", test_presets },
	{ "mtu_wire", test_mtu_wire },
	{ "stream_wire", test_stream_wire },
	{ "ack_wire", test_ack_nodelay_wire },
	{ "wnd_wire", test_wndsize_wire },
	{ "nodelay_wire", test_nodelay_wire },
	{ "minrto_wire", test_minrto_wire },
	{ "deadlink_wire", test_deadlink_wire },
	{ "idle_wire", test_idle_wire },
	{ "fec_wire", test_fec_wire },
	{ "crypto_wire", test_crypto_wire },
	{ "linger_wire", test_linger_timeout_wire },
	{ "so_bufs", test_so_bufs },
	{ "so_timeouts", test_so_timeouts },
	{ "so_linger", test_so_linger },
	{ "seqpacket", test_seqpacket },
};

int main(int argc, char **argv)
{
	int fd;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "defaults"))
		return cmd_defaults();
	if (argc > 3 && !strcmp(argv[1], "wnd"))
		return cmd_wnd(atoi(argv[2]), atoi(argv[3]));
	if (argc > 4 && !strcmp(argv[1], "firsts"))
		return cmd_firsts(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc > 1 && !strcmp(argv[1], "timewait"))
		return cmd_timewait();
	if (argc > 1 && !strcmp(argv[1], "lingervis"))
		return cmd_lingervis();
	if (argc > 3 && !strcmp(argv[1], "seqrecv"))
		return cmd_seqrecv(argv[2], atol(argv[3]));
	if (argc > 5 && !strcmp(argv[1], "sendopts"))
		return cmd_sendopts(argv[2], atoi(argv[3]), argv[4], argv[5]);
	if (argc > 4 && !strcmp(argv[1], "seqsend"))
		return cmd_seqsend(argv[2], atoi(argv[3]), argc - 4, argv + 4);

	/* a hang must end as a failure (options.sh: "did not finish") */
	alarm(300);
	fd = kt_socket(SOCK_STREAM);
	if (fd < 0) {
		printf("not ok 1 - socket(AF_KCP): %s\n1..1\n", strerror(errno));
		return 1;
	}
	close(fd);
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		bool want = argc < 2;
		double t0 = kt_now();

		for (int i = 1; i < argc; i++)
			want |= !strcmp(argv[i], groups[g].name);
		if (!want)
			continue;
		kt_diag("group %s", groups[g].name);
		groups[g].fn();
		kt_diag("group %s took %.1f s", groups[g].name, kt_now() - t0);
	}
	return kt_done();
}
