// SPDX-License-Identifier: GPL-2.0
/*
 * The programs of hostile.sh: what an unprivileged user, a spoofing
 * remote host or a local policy does to AF_KCP (issue 14, findings 3-6
 * and 8-12). Every subcommand prints "PASS text" / "FAIL text" lines for
 * the checks it makes itself (hostile.sh turns them into TAP), "# ..."
 * comments and "RESULT k=v ..." lines for the checks the script makes.
 *
 *   hostile fecopt                    shard counts that must be EINVAL
 *   hostile reuse                     two SO_REUSEADDR listeners, 1 tunnel
 *   hostile server -a IP:PORT -mode sink|send|hold|acceptall [options]
 *   hostile client -a IP:PORT [options]
 *   hostile memhog -pairs N -wnd W -cap BYTES -secs S [-uid U]
 *   hostile memxfer -pairs N -wnd W -n BYTES [-secs S]
 *   hostile orphans -a IP:PORT -m M -cap BYTES
 *   hostile spoofirst -dst IP:PORT -n N -pps R -net A.B
 *   hostile icmp -dst IP -qsrc IP:PORT -qdst IP:PORT -conv C [-ext]
 */
#include "../lib/kcptest.h"
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <grp.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

#define SEED 0x5eed

static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf(ok ? "PASS " : "FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static bool flag(int argc, char **argv, const char *name)
{
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

static int addr_of(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	if (!s || kt_parse_addr(s, ss, len)) {
		fprintf(stderr, "bad address %s\n", s ? s : "(none)");
		exit(2);
	}
	return 0;
}

/* "a,b" */
static void pair_of(const char *s, unsigned int *a, unsigned int *b)
{
	if (sscanf(s, "%u,%u", a, b) != 2) {
		fprintf(stderr, "bad pair %s\n", s);
		exit(2);
	}
}

/* The socket options both ends of a test pair take from the command line. */
static int sock_opts(int fd, int argc, char **argv)
{
	const char *s;
	unsigned int a, b;

	s = kt_arg(argc, argv, "-preset", NULL);
	if (s && kt_setint(fd, KCP_PRESET, atoi(s)))
		return -1;
	s = kt_arg(argc, argv, "-wnd", NULL);
	if (s) {
		pair_of(s, &a, &b);
		if (kt_wnd(fd, a, b))
			return -1;
	}
	s = kt_arg(argc, argv, "-fec", NULL);
	if (s) {
		struct kcp_fec f;

		pair_of(s, &a, &b);
		f.data_shards = a;
		f.parity_shards = b;
		if (kt_setopt(fd, KCP_FEC, &f, sizeof(f)))
			return -1;
	}
	s = kt_arg(argc, argv, "-stream", NULL);
	if (s && kt_setint(fd, KCP_STREAM, atoi(s)))
		return -1;
	s = kt_arg(argc, argv, "-mark", NULL);
	if (s) {
		int mark = strtol(s, NULL, 0);

		if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
			return -1;
	}
	return 0;
}

static long slab_kb(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/* "KCP" line of /proc/net/protocols: sockets and memory (pages), -1 if none */
static void proto_line(long *sockets, long *mem)
{
	char line[512], name[32];
	FILE *f = fopen("/proc/net/protocols", "r");

	*sockets = -1;
	*mem = -1;
	while (f && fgets(line, sizeof(line), f)) {
		long size, so, m;

		if (sscanf(line, "%31s %ld %ld %ld", name, &size, &so, &m) == 4 &&
		    !strcmp(name, "KCP")) {
			*sockets = so;
			*mem = m;
			break;
		}
	}
	if (f)
		fclose(f);
}

static int drop_to(int uid)
{
	if (uid < 0)
		return 0;
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid)) {
		fprintf(stderr, "setuid %d: %s\n", uid, strerror(errno));
		return -1;
	}
	return 0;
}

static void raise_nofile(long n)
{
	struct rlimit r = { n, n };

	setrlimit(RLIMIT_NOFILE, &r);
}

/* ---- finding 8: FEC shard counts ---- */

static int cmd_fecopt(void)
{
	static const unsigned int bad[][2] = {
		{ 0xffffffff, 2 }, { 2, 0xffffffff }, { 300, 3 },
		{ 0x80000000, 0x80000000 }, { 254, 2 },
	};
	struct kcp_fec f = { 10, 3 };
	int fd;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r, e;

		fd = kt_socket(SOCK_STREAM);
		f.data_shards = bad[i][0];
		f.parity_shards = bad[i][1];
		r = kt_setopt(fd, KCP_FEC, &f, sizeof(f));
		e = errno;
		check(r < 0 && e == EINVAL,
		      "setsockopt(KCP_FEC, {%u, %u}): %s (want EINVAL)",
		      bad[i][0], bad[i][1], r ? strerror(e) : "succeeded");
		if (!r) {
			struct sockaddr_in a = kt_addr4("127.0.0.1", 9);

			r = connect(fd, (struct sockaddr *)&a, sizeof(a));
			printf("#   then connect(): %s\n",
			       r ? strerror(errno) : "succeeded");
		}
		close(fd);
	}
	fd = kt_socket(SOCK_STREAM);
	f.data_shards = 10;
	f.parity_shards = 3;
	check(!kt_setopt(fd, KCP_FEC, &f, sizeof(f)),
	      "setsockopt(KCP_FEC, {10, 3}) still works");
	close(fd);
	return 0;
}

/* ---- finding 9: two listeners on one adopted tunnel ---- */

static int recv_to(int fd, void *buf, size_t n, double secs)
{
	struct timeval tv = { (time_t)secs, (suseconds_t)((secs - (time_t)secs) * 1e6) };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return recv(fd, buf, n, 0);
}

static int accept_to(int l, double secs)
{
	struct pollfd p = { .fd = l, .events = POLLIN };

	if (poll(&p, 1, (int)(secs * 1000)) <= 0)
		return -1;
	return accept(l, NULL, NULL);
}

static int reuse_sock(int port, int *berr)
{
	struct sockaddr_in a = kt_addr4("127.0.0.1", port);
	int one = 1, fd = kt_socket(SOCK_STREAM);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	*berr = bind(fd, (struct sockaddr *)&a, sizeof(a)) ? errno : 0;
	return fd;
}

static int cmd_reuse(void)
{
	int port = 0, l0, c1, s1, a, b, c2, s2, ea, eb, la, lb;
	char buf[8];

	l0 = kt_listen(SOCK_STREAM, "127.0.0.1", &port);
	c1 = kt_connect(SOCK_STREAM, "127.0.0.1", port);
	if (l0 < 0 || c1 < 0 || send(c1, "x", 1, 0) != 1) {
		fail("reuse: first listener and client: %s", strerror(errno));
		return 1;
	}
	s1 = accept_to(l0, 5);
	if (s1 < 0 || recv_to(s1, buf, 1, 5) != 1) {
		fail("reuse: first child not accepted");
		return 1;
	}
	close(l0);	/* s1 keeps the UDP socket: the next bind adopts it */
	a = reuse_sock(port, &ea);
	b = reuse_sock(port, &eb);
	printf("# bind with SO_REUSEADDR: first %s, second %s\n",
	       ea ? strerror(ea) : "ok", eb ? strerror(eb) : "ok");
	la = ea ? -1 : listen(a, 16) ? errno : 0;
	lb = eb ? -1 : listen(b, 16) ? errno : 0;
	check(!ea && !la, "first SO_REUSEADDR listener on the adopted port: bind %s, listen %s",
	      ea ? strerror(ea) : "ok", la < 0 ? "-" : la ? strerror(la) : "ok");
	check(eb == EADDRINUSE || lb == EADDRINUSE,
	      "second SO_REUSEADDR listener on the same port: bind %s, listen %s (want EADDRINUSE)",
	      eb ? strerror(eb) : "ok", lb < 0 ? "-" : lb ? strerror(lb) : "ok");
	close(b);
	c2 = kt_connect(SOCK_STREAM, "127.0.0.1", port);
	if (c2 >= 0)
		send(c2, "y", 1, 0);
	s2 = accept_to(a, 5);
	check(s2 >= 0 && recv_to(s2, buf, 1, 5) == 1 && buf[0] == 'y',
	      "after the second one closed, the first listener still accepts new clients");
	check(send(c1, "z", 1, 0) == 1 && recv_to(s1, buf, 1, 5) == 1 &&
	      buf[0] == 'z', "the adopted session lives on");
	return 0;
}

/* ---- server ---- */

static int listen_on(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l = kt_socket(SOCK_STREAM);

	addr_of(kt_arg(argc, argv, "-a", NULL), &ss, &len);
	if (l < 0 || sock_opts(l, argc, argv) ||
	    bind(l, (struct sockaddr *)&ss, len) ||
	    listen(l, atoi(kt_arg(argc, argv, "-backlog", "128")))) {
		perror("listener");
		exit(1);
	}
	printf("LISTEN %d\n", kt_port_of(l));
	fflush(stdout);
	return l;
}

/*
 * acceptall: accept everything, read and drop, close on EOF or error
 * (a session that expires goes away with the socket).
 */
static int server_acceptall(int l)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = l };
	static char buf[65536];
	long accepted = 0, closed = 0;

	raise_nofile(200000);
	fcntl(l, F_SETFL, O_NONBLOCK);
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	for (;;) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, 1000);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == l) {
				int c;

				while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					struct epoll_event e = { .events = EPOLLIN | EPOLLRDHUP,
								 .data.fd = c };

					accepted++;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
				}
				continue;
			}
			for (;;) {
				ssize_t r = recv(fd, buf, sizeof(buf), 0);

				if (r > 0)
					continue;
				if (r < 0 && errno == EAGAIN &&
				    !(evs[i].events & (EPOLLERR | EPOLLHUP)))
					break;
				close(fd);
				closed++;
				break;
			}
		}
		if (n == 0)
			printf("# acceptall: accepted %ld closed %ld\n", accepted,
			       closed);
	}
	return 0;
}

static int cmd_server(int argc, char **argv)
{
	const char *mode = kt_arg(argc, argv, "-mode", "sink");
	long n = atol(kt_arg(argc, argv, "-n", "1048576"));
	int l = listen_on(argc, argv), c;
	static uint8_t buf[65536];

	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(mode, "acceptall"))
		return server_acceptall(l);
	if (!strcmp(mode, "hold")) {
		/* accept everything, never read */
		for (;;)
			if (accept(l, NULL, NULL) < 0 && errno != EINTR)
				return 1;
	}
	c = accept(l, NULL, NULL);
	if (c < 0) {
		perror("accept");
		return 1;
	}
	printf("ACCEPTED\n");
	fflush(stdout);
	if (!strcmp(mode, "sink")) {
		double t0 = kt_now();
		bool same;
		long got = kt_recv_stream(c, SEED, n, &same);

		printf("RESULT ok=%d got=%ld intact=%d secs=%.2f err=%s\n",
		       got == n && same, got, same, kt_now() - t0,
		       got < 0 ? strerror(-got) : "none");
		fflush(stdout);
		if (got == n && same)
			send(c, "K", 1, MSG_NOSIGNAL);
		/* then read and drop until the peer goes */
		while (recv(c, buf, sizeof(buf), 0) > 0)
			;
		pause();
		return 0;
	}
	if (!strcmp(mode, "send")) {
		/* -delay S: a slow app, silent for S s before it answers */
		double delay = atof(kt_arg(argc, argv, "-delay", "0"));
		long r;

		if (recv(c, buf, 1, 0) != 1)
			return 1;
		if (delay > 0)
			usleep((useconds_t)(delay * 1e6));
		r = kt_send_stream(c, SEED, n, 65536);
		printf("RESULT sent=%ld\n", r);
		fflush(stdout);
		while (recv(c, buf, sizeof(buf), 0) > 0)
			;
		pause();
		return 0;
	}
	fprintf(stderr, "unknown mode %s\n", mode);
	return 2;
}

/* ---- client ---- */

static int raw_fd = -1;

/* One spoofed UDP datagram from @src to @dst (raw IPv4, checksum 0). */
static int spoof4(const struct sockaddr_in *src, const struct sockaddr_in *dst,
		  const void *data, int len)
{
	uint8_t b[1600];

	if (raw_fd < 0)
		raw_fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (raw_fd < 0)
		return -1;
	kt_udp4_hdr(b, src->sin_addr.s_addr, src->sin_port, dst, len);
	memcpy(b + 28, data, len);
	return sendto(raw_fd, b, 28 + len, 0, (const struct sockaddr *)dst,
		      sizeof(*dst));
}

/* Finding 4a: junk from the session's own address; 5: FEC parity. */
static int spoof_kind(const char *kind, const struct sockaddr_in *me,
		      const struct sockaddr_in *peer, int count)
{
	static const uint8_t bad_cmds[] = { 0, 80, 85, 255 };
	uint8_t b[64];
	int sent = 0;

	for (int i = 0; i < count; i++) {
		int len = 24;

		memset(b, 0, sizeof(b));
		if (!strcmp(kind, "junk")) {
			uint32_t conv = 0x10000000u + i * 7919;

			if (i % 2)	/* sn 0, another conv, invalid cmd */
				kt_seg_hdr(b, conv, bad_cmds[i / 2 % 4], 0, 32,
					   0, 0, 0, 0);
			else		/* a PUSH whose length lies */
				kt_seg_hdr(b, conv, KCP_CMD_PUSH, 0, 32, 0, 0,
					   0, 1000 + i);
		} else {
			/* parity with the seqid of a data slot (10/3) */
			len = 48;
			kt_p32(b, (uint32_t)(i * 13));
			kt_p16(b + 4, 0xf2);
			kt_p16(b + 6, 40);
		}
		if (spoof4(me, peer, b, len) == 28 + len)
			sent++;
		usleep(2000);
	}
	return sent;
}

static long snmp_get(const char *file, const char *key)
{
	char line[256], name[64];
	long v = -1, x;
	FILE *f;

	if (!file)
		return -1;
	f = fopen(file, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld", name, &x) == 2 && !strcmp(name, key))
			v = x;
	if (f)
		fclose(f);
	return v;
}

struct writer {
	int fd;
	long n, done;
	int err;
	bool one_write;
};

static void *writer_fn(void *p)
{
	struct writer *w = p;

	if (w->one_write) {
		uint8_t *buf = malloc(w->n);
		struct kt_rng r;
		ssize_t k;

		kt_rng_init(&r, SEED);
		kt_rng_fill(&r, buf, w->n);
		k = send(w->fd, buf, w->n, MSG_NOSIGNAL);
		printf("# one write(%ld): %s%zd\n", w->n, k < 0 ? strerror(errno) : "",
		       k);
		if (k < 0)
			w->err = errno;
		else
			w->done = k;
		free(buf);
		return NULL;
	}
	/* in steps, so that the spoofer knows how far the transfer is */
	{
		static uint8_t buf[16384];
		struct kt_rng r;
		long done = 0;

		kt_rng_init(&r, SEED);
		while (done < w->n) {
			long want = w->n - done < (long)sizeof(buf) ?
				    w->n - done : (long)sizeof(buf);
			long off = 0;

			kt_rng_fill(&r, buf, want);
			while (off < want) {
				ssize_t k = send(w->fd, buf + off, want - off,
						 MSG_NOSIGNAL);

				if (k < 0 && errno == EINTR)
					continue;
				if (k < 0) {
					w->err = errno;
					__atomic_store_n(&w->done, done + off,
							 __ATOMIC_RELEASE);
					return NULL;
				}
				off += k;
			}
			done += want;
			__atomic_store_n(&w->done, done, __ATOMIC_RELEASE);
		}
	}
	return NULL;
}

static int cmd_client(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	long n = atol(kt_arg(argc, argv, "-n", "1048576"));
	double timeout = atof(kt_arg(argc, argv, "-timeout", "60")), t0;
	const char *spoof = kt_arg(argc, argv, "-spoof", NULL);
	const char *snmp = kt_arg(argc, argv, "-snmp", NULL);
	const char *go = kt_arg(argc, argv, "-go", NULL);
	int uid = atoi(kt_arg(argc, argv, "-uid", "-1"));
	int fd, rc;
	char k = 0;

	signal(SIGPIPE, SIG_IGN);
	addr_of(kt_arg(argc, argv, "-a", NULL), &ss, &len);
	if (drop_to(uid))
		return 1;
	fd = kt_socket(SOCK_STREAM);
	if (fd < 0 || sock_opts(fd, argc, argv)) {
		printf("RESULT ok=0 err=%s stage=socket\n", strerror(errno));
		return 1;
	}
	/*
	 * kcp-go's Dial: what is tested is what the peer (or the network)
	 * does to a session, also one whose peer never answered (as TCP's
	 * SYN-SENT), not connect()'s wait for an answer.
	 */
	kt_setint(fd, KCP_CONNECT_TIMEOUT, 0);
	t0 = kt_now();
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		printf("RESULT ok=0 err=%s stage=connect\n", strerror(errno));
		return 1;
	}
	printf("PORT %d\n", kt_port_of(fd));
	fflush(stdout);

	if (flag(argc, argv, "-filter")) {
		/* finding 12c: a socket filter that drops everything */
		struct sock_filter code[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
		struct sock_fprog prog = { 1, code };
		static uint8_t buf[65536];
		long got = 0;
		ssize_t r;

		if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
			       sizeof(prog))) {
			printf("RESULT filter=0 err=%s\n", strerror(errno));
			return 1;
		}
		send(fd, "h", 1, 0);
		while ((r = recv_to(fd, buf, sizeof(buf), 3)) > 0)
			got += r;
		printf("RESULT filter=1 got=%ld\n", got);
		return 0;
	}
	if (flag(argc, argv, "-recvtest")) {
		/* finding 10: MSG_WAITALL against a plain loop of reads */
		uint8_t *buf = malloc(n), *want = malloc(n);
		struct timeval tv = { (time_t)timeout, 0 };
		struct kt_rng r;
		double tw, tl;
		ssize_t got;
		long off = 0;

		kt_rng_init(&r, SEED);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		send(fd, "g", 1, 0);
		t0 = kt_now();
		got = recv(fd, buf, n, MSG_WAITALL);
		tw = kt_now() - t0;
		kt_rng_fill(&r, want, n);
		printf("RESULT kind=waitall got=%zd intact=%d secs=%.2f\n", got,
		       got == n && !memcmp(buf, want, n), tw);
		fflush(stdout);
		/* the stream goes on where the first read stopped */
		kt_rng_init(&r, SEED);
		if (got > 0)
			kt_rng_fill(&r, want, got);
		t0 = kt_now();
		while (off < n) {
			got = recv(fd, buf + off, n - off, 0);
			if (got <= 0)
				break;
			off += got;
		}
		tl = kt_now() - t0;
		kt_rng_fill(&r, want, n);
		printf("RESULT kind=loop got=%ld intact=%d secs=%.2f\n", off,
		       off == n && !memcmp(buf, want, n), tl);
		return 0;
	}
	if (flag(argc, argv, "-soerr")) {
		/* finding 6b: what an ICMP error left in SO_ERROR */
		struct kcp_info ki;
		socklen_t il = sizeof(ki);
		int e = 0;

		send(fd, "hello", 5, 0);
		usleep(200000);
		getsockopt(fd, SOL_KCP, KCP_INFO, &ki, &il);
		printf("READY conv=%u\n", ki.kcpi_conv);
		fflush(stdout);
		while (go && access(go, F_OK) && kt_now() - t0 < timeout)
			usleep(20000);
		il = sizeof(e);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &il);
		printf("RESULT soerr=%d (%s)\n", e, strerror(e));
		return 0;
	}
	if (flag(argc, argv, "-linger")) {
		/* finding 6: establish, wait for @go, then leave data behind */
		static uint8_t buf[65536];
		struct kcp_info ki;
		socklen_t il = sizeof(ki);

		send(fd, "hello", 5, 0);
		usleep(500000);
		getsockopt(fd, SOL_KCP, KCP_INFO, &ki, &il);
		printf("ESTABLISHED conv=%u\n", ki.kcpi_conv);
		fflush(stdout);
		while (go && access(go, F_OK))
			usleep(50000);
		fcntl(fd, F_SETFL, O_NONBLOCK);
		memset(buf, 'L', sizeof(buf));
		send(fd, buf, sizeof(buf), 0);
		close(fd);
		printf("CLOSED\n");
		return 0;
	}
	if (flag(argc, argv, "-trickle")) {
		/* a real peer that keeps talking, slowly */
		long sent = 0;
		int err = 0;

		while (kt_now() - t0 < timeout) {
			if (send(fd, "ping-ping-ping!!", 16, MSG_NOSIGNAL) != 16) {
				err = errno;
				break;
			}
			sent += 16;
			usleep(500000);
		}
		printf("RESULT ok=%d sent=%ld err=%s\n", !err, sent,
		       err ? strerror(err) : "none");
		return 0;
	}

	/* the default: send @n bytes of the stream, wait for the 'K' */
	{
		struct writer w = { .fd = fd, .n = n,
				    .one_write = flag(argc, argv, "-onewrite") };
		long spoof_at = atol(kt_arg(argc, argv, "-spoofat", "0"));
		long r0 = -1, r1 = -1, rep0, rep1;
		pthread_t th;
		int spoofed = 0;

		/* connected: let the script change the rules first */
		while (go && access(go, F_OK) && kt_now() - t0 < timeout)
			usleep(20000);
		t0 = kt_now();
		rep0 = snmp_get(snmp, "SessionReplaced");
		pthread_create(&th, NULL, writer_fn, &w);
		if (spoof) {
			struct sockaddr_in me = kt_addr4("0.0.0.0", 0), *peer;
			socklen_t ml = sizeof(me);

			getsockname(fd, (struct sockaddr *)&me, &ml);
			peer = (struct sockaddr_in *)&ss;
			while (kt_now() - t0 < timeout && !w.err &&
			       __atomic_load_n(&w.done, __ATOMIC_ACQUIRE) <
			       spoof_at)
				usleep(10000);
			spoofed = spoof_kind(spoof, &me, peer,
					     atoi(kt_arg(argc, argv, "-count", "20")));
			printf("# spoofed %d %s datagrams from %s:%d after %.1f s\n",
			       spoofed, spoof, inet_ntoa(me.sin_addr),
			       ntohs(me.sin_port), kt_now() - t0);
			/*
			 * Right after the spoof: a fast guest moves the rest
			 * of the transfer in a few hundred ms, and recoveries
			 * counted then would hide a decoder stuck in MISMATCH.
			 */
			usleep(20000);
			r0 = snmp_get(snmp, "FECRecovered");
			fflush(stdout);
		}
		pthread_join(th, NULL);
		rc = w.done != n ? -1 : recv_to(fd, &k, 1, timeout - (kt_now() - t0) > 1 ?
			     timeout - (kt_now() - t0) : 1);
		r1 = snmp_get(snmp, "FECRecovered");
		rep1 = snmp_get(snmp, "SessionReplaced");
		printf("RESULT ok=%d sent=%ld err=%s ack=%d secs=%.2f spoofed=%d fec_recovered_at_spoof=%ld fec_recovered_end=%ld replaced=%ld\n",
		       !w.err && w.done == n && rc == 1 && k == 'K', w.done,
		       w.err ? strerror(w.err) : w.done != n ? "short_write" :
		       rc < 0 ? strerror(errno) : "none",
		       rc == 1 && k == 'K', kt_now() - t0, spoofed, r0, r1,
		       rep1 - rep0);
	}
	close(fd);
	return 0;
}

/* ---- finding 3: memory ---- */

struct mi {
	unsigned int v[SK_MEMINFO_VARS];
	int rcvbuf, sndbuf;
};

static void meminfo(int fd, struct mi *m)
{
	socklen_t l = sizeof(m->v);

	memset(m, 0, sizeof(*m));
	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, m->v, &l))
		memset(m->v, 0xff, sizeof(m->v));
	l = sizeof(int);
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &m->rcvbuf, &l);
	l = sizeof(int);
	getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &m->sndbuf, &l);
}

static int make_pairs(int argc, char **argv, int npairs, int *cl, int *sv)
{
	int port = 0, l;

	l = kt_socket(SOCK_STREAM);
	{
		struct sockaddr_in a = kt_addr4("127.0.0.1", 0);

		if (l < 0 || sock_opts(l, argc, argv) ||
		    bind(l, (struct sockaddr *)&a, sizeof(a)) ||
		    listen(l, npairs + 8)) {
			printf("# listener: %s\n", strerror(errno));
			return -1;
		}
		port = kt_port_of(l);
	}
	for (int i = 0; i < npairs; i++) {
		struct sockaddr_in a = kt_addr4("127.0.0.1", port);

		cl[i] = kt_socket(SOCK_STREAM);
		if (cl[i] < 0 || sock_opts(cl[i], argc, argv) ||
		    connect(cl[i], (struct sockaddr *)&a, sizeof(a)) ||
		    send(cl[i], "p", 1, 0) != 1) {
			printf("# pair %d: %s\n", i, strerror(errno));
			return -1;
		}
		sv[i] = accept_to(l, 10);
		if (sv[i] < 0) {
			printf("# pair %d not accepted\n", i);
			return -1;
		}
		{
			char c;

			recv_to(sv[i], &c, 1, 5);
		}
	}
	close(l);
	return 0;
}

/*
 * Pairs over loopback whose readers never read; the writers write without
 * blocking until EAGAIN, @cap bytes or @secs. Then hold until SIGTERM.
 */
static volatile sig_atomic_t got_term;

static void on_term(int s)
{
	got_term = 1;
}

static int cmd_memhog(int argc, char **argv)
{
	int npairs = atoi(kt_arg(argc, argv, "-pairs", "32"));
	long cap = atol(kt_arg(argc, argv, "-cap", "4194304"));
	double secs = atof(kt_arg(argc, argv, "-secs", "10")), t0;
	int uid = atoi(kt_arg(argc, argv, "-uid", "-1"));
	int *cl = calloc(npairs, sizeof(int)), *sv = calloc(npairs, sizeof(int));
	long *wr = calloc(npairs, sizeof(long)), total = 0, base, slab;
	int *eagain = calloc(npairs, sizeof(int)), *other = calloc(npairs, sizeof(int));
	int n_eagain = 0, n_cap = 0, n_other = 0, bad_r = 0, bad_w = 0;
	long sum_bufs = 0, max_rmem = 0, max_wq = 0, over_r = 0, over_w = 0;
	static uint8_t buf[65536];

	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(4096);
	if (drop_to(uid))
		return 1;
	base = slab_kb();
	if (make_pairs(argc, argv, npairs, cl, sv)) {
		fail("memhog: %d pairs could not be made", npairs);
		return 1;
	}
	for (int i = 0; i < npairs; i++)
		fcntl(cl[i], F_SETFL, O_NONBLOCK);
	memset(buf, 'M', sizeof(buf));
	t0 = kt_now();
	/* until every writer is stuck (EAGAIN 20 times running) or capped */
	for (;;) {
		int busy = 0;

		for (int i = 0; i < npairs; i++) {
			ssize_t w;

			if (wr[i] >= cap || eagain[i] >= 20 || other[i])
				continue;
			busy++;
			w = send(cl[i], buf, sizeof(buf), 0);
			if (w > 0) {
				wr[i] += w;
				eagain[i] = 0;
			} else if (errno == EAGAIN || errno == ENOBUFS) {
				eagain[i]++;
			} else {
				other[i] = errno;
			}
		}
		if (!busy || kt_now() - t0 > secs)
			break;
		usleep(5000);
	}
	usleep(500000);	/* let what is in flight land */
	for (int i = 0; i < npairs; i++) {
		struct mi r, w;
		ssize_t x = send(cl[i], buf, sizeof(buf), 0);

		/* a writer still stuck now */
		if (x < 0 && (errno == EAGAIN || errno == ENOBUFS))
			n_eagain++;
		else if (x < 0)
			n_other++;
		else
			wr[i] += x;
		if (wr[i] >= cap)
			n_cap++;
		total += wr[i];
		meminfo(sv[i], &r);
		meminfo(cl[i], &w);
		sum_bufs += r.rcvbuf + w.sndbuf;
		if ((long)r.v[SK_MEMINFO_RMEM_ALLOC] > max_rmem)
			max_rmem = r.v[SK_MEMINFO_RMEM_ALLOC];
		if ((long)w.v[SK_MEMINFO_WMEM_QUEUED] > max_wq)
			max_wq = w.v[SK_MEMINFO_WMEM_QUEUED];
		/* one segment of slack: a 1500-byte datagram with its overhead */
		if (r.v[SK_MEMINFO_RMEM_ALLOC] > (unsigned int)r.rcvbuf + 8192) {
			bad_r++;
			over_r = r.v[SK_MEMINFO_RMEM_ALLOC] - (long)r.rcvbuf;
		}
		if (w.v[SK_MEMINFO_WMEM_QUEUED] > (unsigned int)w.sndbuf + 8192) {
			bad_w++;
			over_w = w.v[SK_MEMINFO_WMEM_QUEUED] - (long)w.sndbuf;
		}
		if (i < 2 || i == npairs - 1)
			printf("# pair %d: wrote %ld; reader rmem_alloc %u rcvbuf %d fwd_alloc %u; writer wmem_queued %u sndbuf %d fwd_alloc %u\n",
			       i, wr[i], r.v[SK_MEMINFO_RMEM_ALLOC], r.rcvbuf,
			       r.v[SK_MEMINFO_FWD_ALLOC], w.v[SK_MEMINFO_WMEM_QUEUED],
			       w.sndbuf, w.v[SK_MEMINFO_FWD_ALLOC]);
	}
	slab = slab_kb();
	printf("RESULT pairs=%d eagain=%d capped=%d other_err=%d written=%ld secs=%.1f slab_base_kb=%ld slab_kb=%ld slab_growth_kb=%ld bufs_kb=%ld max_rmem_alloc=%ld max_wmem_queued=%ld rmem_over=%d wmem_over=%d rmem_over_by=%ld wmem_over_by=%ld\n",
	       npairs, n_eagain, n_cap, n_other, total, kt_now() - t0, base,
	       slab, slab - base, sum_bufs / 1024, max_rmem, max_wq, bad_r,
	       bad_w, over_r, over_w);
	printf("HOLDING\n");
	fflush(stdout);
	while (!got_term)
		pause();
	return 0;
}

/*
 * Finding 3c: transfers under net.kcp.mem pressure. @pairs loopback
 * pairs, each sends @n bytes; readers read slowly. The main thread
 * samples /proc/net/protocols.
 */
struct xfer {
	int cl, sv;
	long n, got;
	bool same;
	int err;
};

static void *xfer_w(void *p)
{
	struct xfer *x = p;
	long r = kt_send_stream(x->cl, SEED, x->n, 16384);

	if (r < 0)
		x->err = -r;
	return NULL;
}

static void *xfer_r(void *p)
{
	struct xfer *x = p;
	struct kt_rng r;
	static __thread uint8_t buf[8192], want[8192];

	x->same = true;
	kt_rng_init(&r, SEED);
	while (x->got < x->n) {
		ssize_t k = recv(x->sv, buf, sizeof(buf), 0);

		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			break;
		}
		kt_rng_fill(&r, want, k);
		if (memcmp(buf, want, k))
			x->same = false;
		x->got += k;
		usleep(20000);
	}
	return NULL;
}

/*
 * Finding 3, FEC: parity shards that never complete a group wait in the
 * decoder. A loopback pair with FEC d/p; then @n parity datagrams of
 * 1400 bytes from the client's own address, one in each of @n groups:
 * the server's SO_MEMINFO must count them, within its SO_RCVBUF.
 */
static int cmd_fecfill(int argc, char **argv)
{
	int n = atoi(kt_arg(argc, argv, "-n", "300"));
	int rcvbuf = atoi(kt_arg(argc, argv, "-rcvbuf", "0"));
	struct sockaddr_in a = kt_addr4("127.0.0.1", 0), me, peer;
	socklen_t sl = sizeof(me);
	struct kcp_fec f = { 100, 50 };
	int port, l, c, s, sent = 0;
	long so, mem0, mem1, drop0, drop1;
	uint8_t b[1400];
	struct mi m0, m1;
	char x;

	l = kt_socket(SOCK_STREAM);
	c = kt_socket(SOCK_STREAM);
	if (l < 0 || c < 0 || kt_setopt(l, KCP_FEC, &f, sizeof(f)) ||
	    kt_setopt(c, KCP_FEC, &f, sizeof(f)) ||
	    (rcvbuf && setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				  sizeof(rcvbuf))) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 8)) {
		perror("fecfill: listener");
		return 1;
	}
	port = kt_port_of(l);
	peer = kt_addr4("127.0.0.1", port);
	if (connect(c, (struct sockaddr *)&peer, sizeof(peer)) ||
	    send(c, "x", 1, 0) != 1 || (s = accept_to(l, 5)) < 0 ||
	    recv_to(s, &x, 1, 5) != 1) {
		perror("fecfill: pair");
		return 1;
	}
	getsockname(c, (struct sockaddr *)&me, &sl);
	usleep(200000);
	meminfo(s, &m0);
	proto_line(&so, &mem0);
	drop0 = snmp_get("/proc/net/kcp_snmp", "RcvbufDrop");
	memset(b, 0, sizeof(b));
	for (int g = 0; g < n; g++) {
		/* the first parity slot of group g + 1000 (100 + 50 shards) */
		kt_p32(b, (uint32_t)((g + 1000) * 150 + 100));
		kt_p16(b + 4, 0xf2);
		if (spoof4(&me, &peer, b, sizeof(b)) == 28 + (int)sizeof(b))
			sent++;
		if (g % 32 == 31)
			usleep(1000);
	}
	usleep(300000);
	meminfo(s, &m1);
	proto_line(&so, &mem1);
	drop1 = snmp_get("/proc/net/kcp_snmp", "RcvbufDrop");
	printf("RESULT sent=%d rmem0=%u rmem1=%u rcvbuf=%d pages0=%ld pages1=%ld rcvbuf_drop=%ld\n",
	       sent, m0.v[SK_MEMINFO_RMEM_ALLOC], m1.v[SK_MEMINFO_RMEM_ALLOC],
	       m1.rcvbuf, mem0, mem1, drop1 - drop0);
	return 0;
}

static int cmd_memxfer(int argc, char **argv)
{
	int npairs = atoi(kt_arg(argc, argv, "-pairs", "8"));
	long n = atol(kt_arg(argc, argv, "-n", "1048576"));
	double secs = atof(kt_arg(argc, argv, "-secs", "90")), t0;
	int *cl = calloc(npairs, sizeof(int)), *sv = calloc(npairs, sizeof(int));
	struct xfer *x = calloc(npairs, sizeof(*x));
	pthread_t *tw = calloc(npairs, sizeof(*tw)), *tr = calloc(npairs, sizeof(*tr));
	long peak = -1, so, mem, samples = 0;
	int done = 0, ok = 0;

	signal(SIGPIPE, SIG_IGN);
	if (make_pairs(argc, argv, npairs, cl, sv)) {
		fail("memxfer: %d pairs could not be made", npairs);
		return 1;
	}
	t0 = kt_now();
	for (int i = 0; i < npairs; i++) {
		x[i] = (struct xfer){ .cl = cl[i], .sv = sv[i], .n = n };
		pthread_create(&tw[i], NULL, xfer_w, &x[i]);
		pthread_create(&tr[i], NULL, xfer_r, &x[i]);
	}
	while (kt_now() - t0 < secs) {
		proto_line(&so, &mem);
		samples++;
		if (mem > peak)
			peak = mem;
		if ((samples % 20) == 0)
			printf("# t=%.1f KCP memory %ld pages, sockets %ld\n",
			       kt_now() - t0, mem, so);
		done = 0;
		for (int i = 0; i < npairs; i++)
			done += x[i].got >= n || x[i].err;
		if (done == npairs)
			break;
		usleep(50000);
	}
	for (int i = 0; i < npairs; i++)
		if (x[i].got == n && x[i].same && !x[i].err)
			ok++;
	printf("RESULT pairs=%d complete=%d secs=%.1f peak_pages=%ld samples=%ld\n",
	       npairs, ok, kt_now() - t0, peak, samples);
	fflush(stdout);
	_exit(0);	/* threads may still be blocked */
}

/*
 * Finding 3d: M clients that close with unacknowledged data. All connect
 * first; once @go exists (the script made the path a black hole) each
 * writes what its window takes and closes.
 */
static int cmd_orphans(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int m = atoi(kt_arg(argc, argv, "-m", "12"));
	long cap = atol(kt_arg(argc, argv, "-cap", "262144"));
	const char *go = kt_arg(argc, argv, "-go", NULL);
	int *fds = calloc(m, sizeof(int)), made = 0;
	static uint8_t buf[16384];
	long total = 0;

	addr_of(kt_arg(argc, argv, "-a", NULL), &ss, &len);
	signal(SIGPIPE, SIG_IGN);
	memset(buf, 'O', sizeof(buf));
	for (int i = 0; i < m; i++) {
		fds[i] = kt_socket(SOCK_STREAM);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&ss, len) ||
		    send(fds[i], "o", 1, 0) != 1) {
			printf("# orphan %d: %s\n", i, strerror(errno));
			if (fds[i] >= 0)
				close(fds[i]);
			fds[i] = -1;
		}
	}
	printf("CONNECTED\n");
	fflush(stdout);
	while (go && access(go, F_OK))
		usleep(20000);
	for (int i = 0; i < m; i++) {
		long w = 0;

		if (fds[i] < 0)
			continue;
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
		while (w < cap) {
			ssize_t k = send(fds[i], buf, sizeof(buf), 0);

			if (k <= 0)
				break;
			w += k;
		}
		total += w;
		close(fds[i]);
		made++;
	}
	printf("RESULT closed=%d written=%ld\n", made, total);
	return 0;
}

/* ---- finding 4b: first datagrams from many spoofed sources ---- */

static int cmd_spoofirst(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	long n = atol(kt_arg(argc, argv, "-n", "20000"));
	long pps = atol(kt_arg(argc, argv, "-pps", "4000"));
	const char *net = kt_arg(argc, argv, "-net", "10.99");
	struct sockaddr_in *dst;
	double t0 = kt_now();
	long sent = 0;

	addr_of(kt_arg(argc, argv, "-dst", NULL), &ss, &len);
	dst = (struct sockaddr_in *)&ss;
	for (long i = 0; i < n; i++) {
		struct sockaddr_in src;
		char ip[32];
		uint8_t b[29];

		snprintf(ip, sizeof(ip), "%s.%ld.%ld", net, 1 + i / 250,
			 1 + i % 250);
		src = kt_addr4(ip, 10000 + (int)(i % 50000));
		/* kcp-go's first datagram: PUSH sn 0, una 0, a random conv */
		kt_seg_hdr(b, 0x01000000u + (uint32_t)i * 2654435761u,
			   KCP_CMD_PUSH, 0, 128, (uint32_t)i, 0, 0, 5);
		memcpy(b + 24, "hello", 5);
		if (spoof4(&src, dst, b, sizeof(b)) == 28 + (int)sizeof(b))
			sent++;
		else if (errno == ENOBUFS || errno == EAGAIN)
			usleep(1000);
		if (pps && i % 32 == 0) {
			double ahead = i / (double)pps - (kt_now() - t0);

			if (ahead > 0)
				usleep((useconds_t)(ahead * 1e6));
		}
	}
	printf("RESULT sent=%ld secs=%.1f\n", sent, kt_now() - t0);
	return 0;
}

/* ---- finding 6: forged ICMP errors ---- */

static uint16_t csum(const void *p, int len)
{
	const uint8_t *b = p;
	uint32_t s = 0;

	for (int i = 0; i + 1 < len; i += 2)
		s += b[i] << 8 | b[i + 1];
	if (len & 1)
		s += b[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons(~s);
}

static int cmd_icmp(int argc, char **argv)
{
	struct sockaddr_storage qs, qd, dss;
	socklen_t len;
	uint32_t conv = strtoul(kt_arg(argc, argv, "-conv", "0"), NULL, 0);
	int paylen = atoi(kt_arg(argc, argv, "-paylen", "24"));
	int count = atoi(kt_arg(argc, argv, "-count", "3"));
	bool ext = flag(argc, argv, "-ext");
	uint8_t pkt[256], pay[64];
	int n = 0, fd, sent = 0;

	addr_of(kt_arg(argc, argv, "-qsrc", NULL), &qs, &len);
	addr_of(kt_arg(argc, argv, "-qdst", NULL), &qd, &len);
	addr_of(kt_arg(argc, argv, "-dst", NULL), &dss, &len);
	/* the quoted KCP bytes: a segment header with @conv (or garbage) */
	memset(pay, 0, sizeof(pay));
	kt_seg_hdr(pay, conv, KCP_CMD_PUSH, 0, 32, 0, 0, 0, 0);
	if (paylen > (int)sizeof(pay))
		paylen = sizeof(pay);
	memset(pkt, 0, sizeof(pkt));
	if (qs.ss_family == AF_INET) {
		struct sockaddr_in *s = (void *)&qs, *d = (void *)&qd;
		struct icmphdr *ih = (void *)pkt;
		struct iphdr *ip = (void *)(pkt + 8);
		struct udphdr *uh = (void *)(pkt + 28);

		ih->type = ICMP_DEST_UNREACH;
		ih->code = ICMP_PORT_UNREACH;
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->tot_len = htons(28 + paylen);
		ip->saddr = s->sin_addr.s_addr;
		ip->daddr = d->sin_addr.s_addr;
		ip->check = csum(ip, 20);
		uh->source = s->sin_port;
		uh->dest = d->sin_port;
		uh->len = htons(8 + paylen);
		memcpy(pkt + 36, pay, paylen);
		n = 36 + paylen;
		ih->checksum = csum(pkt, n);
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	} else {
		struct sockaddr_in6 *s = (void *)&qs, *d = (void *)&qd;
		struct icmp6_hdr *ih = (void *)pkt;
		struct ip6_hdr *ip6 = (void *)(pkt + 8);
		uint8_t *opt = pkt + 48;
		int udp_off = 48 + (ext ? 8 : 0);
		struct udphdr *uh = (void *)(pkt + udp_off);

		ih->icmp6_type = ICMP6_DST_UNREACH;
		ih->icmp6_code = ICMP6_DST_UNREACH_NOPORT;
		ip6->ip6_flow = htonl(6 << 28);
		ip6->ip6_plen = htons((ext ? 8 : 0) + 8 + paylen);
		ip6->ip6_nxt = ext ? IPPROTO_DSTOPTS : IPPROTO_UDP;
		ip6->ip6_hlim = 64;
		ip6->ip6_src = s->sin6_addr;
		ip6->ip6_dst = d->sin6_addr;
		if (ext) {
			/* destination options: next UDP, 8 bytes, PadN */
			opt[0] = IPPROTO_UDP;
			opt[1] = 0;
			opt[2] = 1;
			opt[3] = 4;
		}
		uh->source = s->sin6_port;
		uh->dest = d->sin6_port;
		uh->len = htons(8 + paylen);
		memcpy(pkt + udp_off + 8, pay, paylen);
		n = udp_off + 8 + paylen;
		/* the kernel fills in the ICMPv6 checksum */
		fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	}
	if (fd < 0) {
		perror("raw icmp");
		return 1;
	}
	for (int i = 0; i < count; i++) {
		if (sendto(fd, pkt, n, 0, (struct sockaddr *)&dss,
			   dss.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
			   sizeof(struct sockaddr_in6)) == n)
			sent++;
		else
			perror("sendto icmp");
		usleep(100000);
	}
	printf("RESULT icmp_sent=%d bytes=%d\n", sent, n);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		goto usage;
	/*
	 * A watchdog: a socket call that blocks for good (a bug under test)
	 * must not hang the suite. Servers and memhog are killed by the
	 * script; everything else ends well before this.
	 */
	alarm(atoi(kt_arg(argc, argv, "-watchdog", "240")));
	if (!strcmp(argv[1], "fecopt"))
		return cmd_fecopt();
	if (!strcmp(argv[1], "reuse"))
		return cmd_reuse();
	if (!strcmp(argv[1], "server"))
		return cmd_server(argc, argv);
	if (!strcmp(argv[1], "client"))
		return cmd_client(argc, argv);
	if (!strcmp(argv[1], "memhog"))
		return cmd_memhog(argc, argv);
	if (!strcmp(argv[1], "memxfer"))
		return cmd_memxfer(argc, argv);
	if (!strcmp(argv[1], "fecfill"))
		return cmd_fecfill(argc, argv);
	if (!strcmp(argv[1], "orphans"))
		return cmd_orphans(argc, argv);
	if (!strcmp(argv[1], "spoofirst"))
		return cmd_spoofirst(argc, argv);
	if (!strcmp(argv[1], "icmp"))
		return cmd_icmp(argc, argv);
usage:
	fprintf(stderr, "usage: hostile fecopt|reuse|server|client|memhog|memxfer|fecfill|orphans|spoofirst|icmp ...\n");
	return 2;
}
