// SPDX-License-Identifier: GPL-2.0
/*
 * SOL_KCP and the standard socket options of AF_KCP: each option is set,
 * read back, checked for EINVAL/ENOPROTOOPT/EISCONN, and its effect is
 * shown, on the wire where possible: an AF_KCP socket is connected to a
 * plain UDP socket of this program, which parses what arrives (24-byte
 * little-endian KCP segments, FEC and crypto headers in front) and
 * answers with hand-made segments. Prints TAP.
 *
 *   options [GROUP...]        the tests (all groups, or the ones named)
 *   options defaults          key=value settings of a new socket
 *   options wnd SND RCV       try KCP_WNDSIZE: prints ok or the errno
 *   options firsts IP PORT N  valid first datagrams from N source ports
 *   options timewait          ms a closed listener child stays in
 *                              /proc/net/kcp (state 07)
 *   options lingervis         ms a closed client with unacked data
 *                              stays in /proc/net/kcp (state 04)
 *   options seqrecv IP TOTAL  SOCK_SEQPACKET listener: reads TOTAL bytes
 *                              of test stream seed 1, prints the message
 *                              sizes (SIZES 1376x3,872x1,...)
 *   options seqsend IP PORT SIZE...  SOCK_SEQPACKET messages of these
 *                              sizes (test stream seed 1)
 *   options sendopts IP PORT NS DEV  one byte each from sockets with
 *                              no option, SO_MARK 0x77 before/after
 *                              connect, SO_BINDTODEVICE DEV; counts what
 *                              reached namespace NS (its Udp NoPorts)
 */
#include "options.h"

/* ---- helpers of the test groups ---- */

int getint(int fd, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(fd, SOL_KCP, opt, v, &len);
}

int info(int fd, struct kcp_info *i)
{
	socklen_t len = sizeof(*i);

	memset(i, 0, sizeof(*i));
	return getsockopt(fd, SOL_KCP, KCP_INFO, i, &len);
}

/* The call failed with @err (and returned -1). */
bool fails(int ret, int err)
{
	return ret < 0 && errno == err;
}

const char *ename(int e)
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
bool unimplemented(int fd, int opt, const char *name)
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

long snmp(const char *name)
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
int proc_state(int lport, int rport)
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

void sleep_ms(int ms)
{
	usleep(ms * 1000);
}

void prep(int fd, void *arg)
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
	/* the one byte alone: no WASK at connect(), no wait for an answer */
	kt_setint(fd, KCP_SESSION_EXT, 0);
	kt_setint(fd, KCP_CONNECT_TIMEOUT, 0);
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
