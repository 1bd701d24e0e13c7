// SPDX-License-Identifier: GPL-2.0
/*
 * kcpctl_shim: a plain TCP program that checks, from the inside, what
 * libkcppreload.so promises. Run it as
 *
 *   kcpctl run --ports 7001-7002 -- kcpctl_shim
 *   kcpctl run -- kcpctl_shim              (other checks: all ports)
 *   kcpctl run --port-offset N -- kcpctl_shim   (the port offset)
 *
 * and it prints TAP (selftests/lib/tap.h), which kcpctl_test.sh relays
 * with a "shim:" prefix, and "DONE N failed" at the end. Whether a socket
 * really is AF_KCP is asked with getsockopt(SOL_KCP, KCP_INFO), which only
 * an AF_KCP socket answers (the shim makes SO_DOMAIN lie on purpose).
 */
#include "../lib/kcptest.h"
#include <linux/tcp.h>
#include <stddef.h>
#include <sys/un.h>

#define NTHREADS	4
#define NCONN		5
#define PORT_KCP6	7001	/* selected: dual-stack [::] listener */
#define PORT_KCP4	7002	/* selected: IPv4 listener */
#define PORT_TCP	7005	/* not selected */
#define PORT_OFF	7010	/* with --port-offset: TCP and UDP on one number */

static bool is_kcp(int fd, unsigned int *state)
{
	struct kcp_info ki;
	socklen_t len = sizeof(ki);

	if (getsockopt(fd, SOL_KCP, KCP_INFO, &ki, &len))
		return false;
	if (state)
		*state = ki.kcpi_state;
	return true;
}

static int intopt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, name, &v, &len))
		return -1000 - errno;
	return v;
}

static int listener6;
static int accepted, mapped_peers;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Accept NTHREADS * NCONN connections, answer "ping" with "pong". */
static void *server(void *arg)
{
	int i;

	for (i = 0; i < NTHREADS * NCONN; i++) {
		struct sockaddr_in6 peer;
		socklen_t len = sizeof(peer);
		char buf[8];
		int fd = accept4(listener6, (struct sockaddr *)&peer, &len,
				 SOCK_CLOEXEC);

		if (fd < 0)
			break;
		pthread_mutex_lock(&lock);
		accepted++;
		if (len == sizeof(peer) && peer.sin6_family == AF_INET6 &&
		    IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr))
			mapped_peers++;
		pthread_mutex_unlock(&lock);
		if (recv(fd, buf, 4, MSG_WAITALL) == 4 && !memcmp(buf, "ping", 4))
			send(fd, "pong", 4, MSG_NOSIGNAL);
		/* no FIN in AF_KCP: the client closes when it has the reply */
		close(fd);
	}
	return NULL;
}

struct client_res {
	int ok, kcp, nonblock, cloexec, nodelay, tcpinfo, maxseg, cong, tos;
	int rcvtimeo, domain, proto, name4;
};

static void *client(void *arg)
{
	struct client_res *r = arg;
	int i;

	for (i = 0; i < NCONN; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
				SOCK_CLOEXEC, IPPROTO_TCP);
		struct sockaddr_in a = kt_addr4("127.0.0.1", PORT_KCP6);
		struct timeval tv = { 7, 0 }, tv2;
		struct tcp_info ti;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		socklen_t len;
		int one = 1, tos = 0x10;
		char ca[16] = "", buf[4];
		struct sockaddr_in self;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) &&
		    errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		/*
		 * A non-blocking connect() may still be in progress (the
		 * peer's answer takes a while on a loaded machine), and
		 * send() would then fail with EAGAIN, as TCP's does: wait
		 * for it as a non-blocking client has to.
		 */
		pfd.events = POLLOUT;
		poll(&pfd, 1, 20000);
		pfd.events = POLLIN;
		r->kcp += is_kcp(fd, NULL);
		r->nonblock += !!(fcntl(fd, F_GETFL) & O_NONBLOCK);
		r->cloexec += !!(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		r->nodelay += !setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
					  sizeof(one));
		r->tos += !setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
		len = sizeof(tv2);
		r->rcvtimeo += !getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv2,
					   &len) && tv2.tv_sec == 7;
		r->domain += intopt(fd, SOL_SOCKET, SO_DOMAIN) == AF_INET;
		r->proto += intopt(fd, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_TCP;
		len = sizeof(self);
		r->name4 += !getsockname(fd, (struct sockaddr *)&self, &len) &&
			    self.sin_family == AF_INET && self.sin_port;
		if (send(fd, "ping", 4, MSG_NOSIGNAL) == 4 &&
		    poll(&pfd, 1, 20000) == 1 &&
		    recv(fd, buf, 4, MSG_WAITALL) == 4 &&
		    !memcmp(buf, "pong", 4))
			r->ok++;
		len = sizeof(ti);
		memset(&ti, 0, sizeof(ti));
		r->tcpinfo += !getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) &&
			      ti.tcpi_state == 1 && ti.tcpi_snd_mss > 0 &&
			      ti.tcpi_rto > 0;
		r->maxseg += intopt(fd, IPPROTO_TCP, TCP_MAXSEG) > 0;
		len = sizeof(ca);
		r->cong += !getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, ca,
				       &len) && !strcmp(ca, "kcp");
		close(fd);
	}
	return NULL;
}

static void test_threads(void)
{
	struct sockaddr_in6 any = kt_addr6("::", PORT_KCP6), name;
	struct client_res res[NTHREADS];
	pthread_t srv, cli[NTHREADS];
	socklen_t len = sizeof(name);
	unsigned int st = 0;
	int one = 1, i, n = NTHREADS * NCONN;
	struct client_res sum = { 0 };

	listener6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(listener6, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	kt_result(!bind(listener6, (struct sockaddr *)&any, sizeof(any)) &&
	       !listen(listener6, 64), "dual-stack [::]:%d listener", PORT_KCP6);
	i = is_kcp(listener6, &st);
	kt_result(i && st == KCP_LISTEN,
	       "the [::]:%d listener is AF_KCP, state LISTEN (%u)", PORT_KCP6,
	       st);
	kt_result(intopt(listener6, SOL_SOCKET, SO_DOMAIN) == AF_INET6 &&
	       intopt(listener6, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_TCP,
	       "SO_DOMAIN says AF_INET6, SO_PROTOCOL IPPROTO_TCP");
	kt_result(intopt(listener6, SOL_SOCKET, SO_REUSEADDR) == 1,
	       "SO_REUSEADDR set before bind() was carried over");
	kt_result(fcntl(listener6, F_GETFD) & FD_CLOEXEC,
	       "SOCK_CLOEXEC kept on the listener");
	kt_result(!getsockname(listener6, (struct sockaddr *)&name, &len) &&
	       len == sizeof(name) && name.sin6_family == AF_INET6 &&
	       ntohs(name.sin6_port) == PORT_KCP6,
	       "getsockname of the listener: AF_INET6 port %d", PORT_KCP6);

	memset(res, 0, sizeof(res));
	pthread_create(&srv, NULL, server, NULL);
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&cli[i], NULL, client, &res[i]);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(cli[i], NULL);
		sum.ok += res[i].ok;
		sum.kcp += res[i].kcp;
		sum.nonblock += res[i].nonblock;
		sum.cloexec += res[i].cloexec;
		sum.nodelay += res[i].nodelay;
		sum.tos += res[i].tos;
		sum.tcpinfo += res[i].tcpinfo;
		sum.maxseg += res[i].maxseg;
		sum.cong += res[i].cong;
		sum.rcvtimeo += res[i].rcvtimeo;
		sum.domain += res[i].domain;
		sum.proto += res[i].proto;
		sum.name4 += res[i].name4;
	}
	if (accepted < n)
		shutdown(listener6, SHUT_RDWR);
	pthread_join(srv, NULL);
	kt_result(sum.ok == n, "%d threads x %d connections: ping/pong %d/%d",
	       NTHREADS, NCONN, sum.ok, n);
	kt_result(sum.kcp == n, "every client socket is AF_KCP (%d/%d)", sum.kcp, n);
	kt_result(sum.nonblock == n && sum.cloexec == n,
	       "SOCK_NONBLOCK and SOCK_CLOEXEC kept (%d, %d of %d)",
	       sum.nonblock, sum.cloexec, n);
	kt_result(sum.rcvtimeo == n, "SO_RCVTIMEO set before connect() kept (%d)",
	       sum.rcvtimeo);
	kt_result(sum.nodelay == n && sum.tos == n,
	       "TCP_NODELAY and IP_TOS succeed (%d, %d)", sum.nodelay, sum.tos);
	kt_result(sum.tcpinfo == n && sum.maxseg == n && sum.cong == n,
	       "TCP_INFO (ESTABLISHED, mss, rto), TCP_MAXSEG, TCP_CONGESTION "
	       "'kcp' (%d, %d, %d)", sum.tcpinfo, sum.maxseg, sum.cong);
	kt_result(sum.domain == n && sum.proto == n && sum.name4 == n,
	       "SO_DOMAIN AF_INET, SO_PROTOCOL TCP, getsockname AF_INET");
	kt_result(accepted == n && mapped_peers == n,
	       "accept4 on [::] gives v4-mapped AF_INET6 peers (%d/%d)",
	       mapped_peers, accepted);
	close(listener6);
}

/* A port not in --ports stays TCP, both ends. */
static void test_unselected(void)
{
	struct sockaddr_in a = kt_addr4("127.0.0.1", PORT_TCP);
	int l = socket(AF_INET, SOCK_STREAM, 0), c, s, one = 1;
	char buf[4];

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	kt_result(!bind(l, (struct sockaddr *)&a, sizeof(a)) && !listen(l, 4) &&
	       !is_kcp(l, NULL), "port %d (not in --ports) listens on TCP",
	       PORT_TCP);
	c = socket(AF_INET, SOCK_STREAM, 0);
	kt_result(!connect(c, (struct sockaddr *)&a, sizeof(a)) && !is_kcp(c, NULL),
	       "connect to port %d stays TCP", PORT_TCP);
	s = accept(l, NULL, NULL);
	shutdown(c, SHUT_WR);
	kt_result(s >= 0 && recv(s, buf, sizeof(buf), 0) == 0,
	       "and TCP's EOF arrives");
	close(s);
	close(c);
	close(l);
}

/* bind(port 0) first: undecided until connect() to a selected port. */
static void test_bind_then_connect(void)
{
	struct sockaddr_in a = kt_addr4("127.0.0.1", PORT_KCP4);
	struct sockaddr_in any = kt_addr4("127.0.0.1", 0), self;
	socklen_t len = sizeof(self);
	int l = socket(AF_INET, SOCK_STREAM, 0), c, s;
	char buf[2];

	kt_result(!bind(l, (struct sockaddr *)&a, sizeof(a)) && !listen(l, 4) &&
	       is_kcp(l, NULL), "127.0.0.1:%d listener is AF_KCP", PORT_KCP4);
	c = socket(AF_INET, SOCK_STREAM, 0);
	kt_result(!bind(c, (struct sockaddr *)&any, sizeof(any)) &&
	       !is_kcp(c, NULL), "bind(127.0.0.1:0) with --ports: still TCP");
	kt_result(!connect(c, (struct sockaddr *)&a, sizeof(a)) && is_kcp(c, NULL) &&
	       !getsockname(c, (struct sockaddr *)&self, &len) &&
	       self.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
	       "connect to %d: AF_KCP, bound to 127.0.0.1 as asked", PORT_KCP4);
	send(c, "hi", 2, 0);
	s = accept(l, NULL, NULL);
	kt_result(s >= 0 && recv(s, buf, 2, MSG_WAITALL) == 2, "data arrives");
	close(s);
	close(c);
	close(l);
}

/* An fd number reused by a non-TCP socket is not touched. */
static void test_reuse(void)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd = socket(AF_INET, SOCK_STREAM, 0), l, u;
	socklen_t len;

	snprintf(un.sun_path + 1, sizeof(un.sun_path) - 1, "kcpctl_shim.%d",
		 getpid());
	len = offsetof(struct sockaddr_un, sun_path) + 1 +
	      strlen(un.sun_path + 1);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&un, len);
	listen(l, 1);
	close(fd);
	u = socket(AF_UNIX, SOCK_STREAM, 0);
	kt_result(u == fd && !connect(u, (struct sockaddr *)&un, len) &&
	       intopt(u, SOL_SOCKET, SO_DOMAIN) == AF_UNIX,
	       "a reused fd number (AF_UNIX now) is left alone");
	close(u);
	close(l);
}

/* Send a byte from @c, accept it on @l; both must be AF_KCP. */
static bool kcp_pair_works(int l, int c)
{
	char ch;
	int s;
	bool ok;

	if (send(c, "k", 1, MSG_NOSIGNAL) != 1)
		return false;
	s = accept(l, NULL, NULL);
	ok = s >= 0 && recv(s, &ch, 1, 0) == 1 && ch == 'k' &&
	     is_kcp(s, NULL) && is_kcp(c, NULL);
	if (s >= 0)
		close(s);
	return ok;
}

static int port_of(int fd)
{
	struct sockaddr_in6 a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	return ntohs(a.sin6_port);
}

/* Without --ports: port 0 binds and listen() without bind(). */
static void test_all_ports(void)
{
	struct sockaddr_in6 any6 = kt_addr6("::", 0), lo6 = kt_addr6("::1", 0);
	struct sockaddr_in lo4;
	int l, l6, c, port = 0;

	/* bind([::]:0) + listen(): dual-stack, reachable over IPv4 */
	l = socket(AF_INET6, SOCK_STREAM, 0);
	kt_result(!bind(l, (struct sockaddr *)&any6, sizeof(any6)) &&
	       !listen(l, 8) && is_kcp(l, NULL) && (port = port_of(l)) > 0,
	       "bind([::]:0) + listen(): AF_KCP on an ephemeral port");
	lo4 = kt_addr4("127.0.0.1", port);
	c = socket(AF_INET, SOCK_STREAM, 0);
	kt_result(!connect(c, (struct sockaddr *)&lo4, sizeof(lo4)) &&
	       kcp_pair_works(l, c), "IPv4 client to it over AF_KCP");
	close(c);
	close(l);

	/* bind([::]:0) + connect() to an IPv6 peer stays IPv6 */
	l6 = socket(AF_INET6, SOCK_STREAM, 0);
	kt_result(!bind(l6, (struct sockaddr *)&lo6, sizeof(lo6)) &&
	       !listen(l6, 8) && is_kcp(l6, NULL) &&
	       (port = port_of(l6)) > 0, "[::1]:0 listener is AF_KCP");
	lo6.sin6_port = htons(port);
	c = socket(AF_INET6, SOCK_STREAM, 0);
	kt_result(!bind(c, (struct sockaddr *)&any6, sizeof(any6)) &&
	       !connect(c, (struct sockaddr *)&lo6, sizeof(lo6)) &&
	       kcp_pair_works(l6, c),
	       "bind([::]:0) + connect([::1]:%d): AF_KCP over IPv6", port);
	close(c);

	/* v4-mapped destination from an AF_INET6 socket */
	close(l6);
	l = socket(AF_INET, SOCK_STREAM, 0);
	kt_result(!listen(l, 8) && is_kcp(l, NULL) && (port = port_of(l)) > 0,
	       "listen() without bind(): AF_KCP on an ephemeral port");
	lo6 = kt_addr6("::ffff:127.0.0.1", port);
	c = socket(AF_INET6, SOCK_STREAM, 0);
	{
		struct sockaddr_in6 peer;
		socklen_t len = sizeof(peer);

		kt_result(!connect(c, (struct sockaddr *)&lo6, sizeof(lo6)) &&
		       kcp_pair_works(l, c) &&
		       !getpeername(c, (struct sockaddr *)&peer, &len) &&
		       peer.sin6_family == AF_INET6 &&
		       IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr),
		       "AF_INET6 connect to ::ffff:127.0.0.1: AF_KCP over "
		       "IPv4, getpeername v4-mapped");
	}
	close(c);
	close(l);
}

/* getsockopt that must fail with @err */
static bool opt_fails(int fd, int level, int name, int err)
{
	int v;
	socklen_t len = sizeof(v);

	return getsockopt(fd, level, name, &v, &len) < 0 && errno == err;
}

static bool setopt_fails(int fd, int level, int name, int v, int err)
{
	return setsockopt(fd, level, name, &v, sizeof(v)) < 0 && errno == err;
}

static int read_int_file(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/*
 * The keepalive options: TCP_KEEPIDLE/INTVL/CNT are KCP_KEEPIDLE/INTVL/CNT
 * once the module has them. @l: a listener given TCP_KEEPIDLE 41 before
 * listen(), @c: a client given TCP_KEEPINTVL 7 before connect(), @s: the
 * session @l accepted.
 */
static void test_keepalive(int l, int c, int s)
{
	int v = 0, one = 1;
	socklen_t len = sizeof(v);

	kt_result(!setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) &&
		  intopt(c, SOL_SOCKET, SO_KEEPALIVE) == 1,
		  "SO_KEEPALIVE set and read back on AF_KCP");
	if (getsockopt(c, SOL_KCP, KCP_KEEPIDLE, &v, &len) < 0 &&
	    errno == ENOPROTOOPT) {
		const char *why = "the module has no KCP_KEEPIDLE (ENOPROTOOPT)";

		kt_skip(why, "TCP_KEEPIDLE set under the shim reads back from "
			"SOL_KCP KCP_KEEPIDLE");
		kt_skip(why, "TCP_KEEPINTVL before connect(), TCP_KEEPIDLE "
			"before listen() carried over to KCP_KEEP*");
		v = 33;
		kt_result(!setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &v,
				      sizeof(v)) &&
			  intopt(c, IPPROTO_TCP, TCP_KEEPIDLE) == 7200 &&
			  intopt(c, IPPROTO_TCP, TCP_KEEPCNT) == 9,
			  "without KCP_KEEP*: TCP_KEEPIDLE accepted without "
			  "effect, TCP's defaults read back (7200, 9)");
		return;
	}
	int r, ki, ti;

	/* values read before the results print: argument order is free */
	v = 33;
	r = setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v));
	ki = intopt(c, SOL_KCP, KCP_KEEPIDLE);
	ti = intopt(c, IPPROTO_TCP, TCP_KEEPIDLE);
	kt_result(!r && ki == 33 && ti == 33,
		  "TCP_KEEPIDLE 33 under the shim: SOL_KCP KCP_KEEPIDLE "
		  "reads %d, TCP_KEEPIDLE %d", ki, ti);
	v = 4;
	r = setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v));
	ki = intopt(c, SOL_KCP, KCP_KEEPCNT);
	kt_result(!r && ki == 4, "TCP_KEEPCNT 4 -> KCP_KEEPCNT %d", ki);
	kt_result(intopt(s, SOL_KCP, KCP_KEEPIDLE) == 41,
		  "the accepted session inherits the listener's KCP_KEEPIDLE "
		  "(%d, want 41), as TCP's do", intopt(s, SOL_KCP, KCP_KEEPIDLE));
	kt_result(intopt(c, SOL_KCP, KCP_KEEPINTVL) == 7 &&
		  intopt(l, SOL_KCP, KCP_KEEPIDLE) == 41,
		  "TCP_KEEPINTVL before connect() and TCP_KEEPIDLE before "
		  "listen() carried over to KCP_KEEP* (%d, %d)",
		  intopt(c, SOL_KCP, KCP_KEEPINTVL),
		  intopt(l, SOL_KCP, KCP_KEEPIDLE));
	kt_result(setopt_fails(c, IPPROTO_TCP, TCP_KEEPIDLE, 0, EINVAL) &&
		  setopt_fails(c, IPPROTO_TCP, TCP_KEEPCNT, 128, EINVAL) &&
		  intopt(c, SOL_KCP, KCP_KEEPIDLE) == 33,
		  "TCP_KEEPIDLE 0 and TCP_KEEPCNT 128: EINVAL as on TCP");
}

/* TCP's answers to TCP- and IP-level options on AF_KCP sockets. */
static void test_tcp_answers(void)
{
	struct sockaddr_in lo4;
	unsigned char buf[40];
	int ttl = read_int_file("/proc/sys/net/ipv4/ip_default_ttl");
	int l, c, s, v, port = 0, one = 1;
	socklen_t len, len2;
	char ch;

	l = socket(AF_INET, SOCK_STREAM, 0);
	v = 41;
	setsockopt(l, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v));
	kt_result(!listen(l, 4) && is_kcp(l, NULL) && (port = port_of(l)) > 0,
		  "options: an AF_KCP listener");
	lo4 = kt_addr4("127.0.0.1", port);
	c = socket(AF_INET, SOCK_STREAM, 0);
	v = 7;
	setsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(v));
	v = 0x10;
	setsockopt(c, IPPROTO_IP, IP_TOS, &v, sizeof(v));
	s = -1;
	if (!connect(c, (struct sockaddr *)&lo4, sizeof(lo4)) &&
	    send(c, "o", 1, MSG_NOSIGNAL) == 1)
		s = accept(l, NULL, NULL);
	kt_result(s >= 0 && recv(s, &ch, 1, 0) == 1 && is_kcp(c, NULL),
		  "options: an AF_KCP session");

	memset(buf, 0xa5, sizeof(buf));
	len = len2 = sizeof(buf);
	v = !getsockopt(c, IPPROTO_IP, IP_OPTIONS, buf, &len) &&
	    !getsockopt(s, IPPROTO_IP, IP_OPTIONS, buf, &len2);
	kt_result(v && len == 0 && len2 == 0 && buf[0] == 0xa5,
		  "getsockopt(IP_OPTIONS): success, length 0 (%u, %u), as "
		  "on TCP without options", len, len2);
	kt_result(setopt_fails(c, IPPROTO_IP, 99, 1, ENOPROTOOPT) &&
		  opt_fails(c, IPPROTO_IP, 99, ENOPROTOOPT) &&
		  setopt_fails(c, IPPROTO_TCP, 99, 1, ENOPROTOOPT) &&
		  opt_fails(c, IPPROTO_TCP, 99, ENOPROTOOPT),
		  "unknown IP and TCP options: ENOPROTOOPT, as on TCP");
	kt_result(setopt_fails(c, IPPROTO_TCP, TCP_MD5SIG, 0, ENOPROTOOPT) &&
		  setopt_fails(c, IPPROTO_IP, IP_MINTTL, 255, ENOPROTOOPT) &&
		  setsockopt(c, IPPROTO_TCP, TCP_ULP, "tls", 3) < 0,
		  "TCP_MD5SIG, IP_MINTTL, TCP_ULP \"tls\" fail: no "
		  "pretended protection or offload");
	kt_result(opt_fails(c, IPPROTO_IPV6, IPV6_V6ONLY, EOPNOTSUPP) &&
		  opt_fails(l, IPPROTO_IP, IP_MTU, ENOTCONN) &&
		  intopt(c, IPPROTO_IP, IP_MTU) > 576,
		  "IPv6 option of an AF_INET socket: EOPNOTSUPP; IP_MTU: "
		  "ENOTCONN on the listener, %d on the session",
		  intopt(c, IPPROTO_IP, IP_MTU));
	kt_result(intopt(c, IPPROTO_IP, IP_TTL) == ttl &&
		  setopt_fails(c, IPPROTO_IP, IP_TTL, 0, EINVAL) &&
		  setopt_fails(c, IPPROTO_TCP, TCP_MAXSEG, 20, EINVAL) &&
		  !setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)),
		  "IP_TTL reads ip_default_ttl (%d); IP_TTL 0 and TCP_MAXSEG "
		  "20: EINVAL; TCP_NODELAY succeeds", ttl);
	len = 1;
	buf[0] = 0;
	kt_result(!getsockopt(c, IPPROTO_IP, IP_TTL, buf, &len) && len == 1 &&
		  buf[0] == ttl,
		  "IP_TTL into a 1-byte buffer: one byte, as ip_getsockopt()");
	kt_result(intopt(c, IPPROTO_IP, IP_TOS) == 0x10,
		  "IP_TOS set before connect() carried over (0x%x)",
		  intopt(c, IPPROTO_IP, IP_TOS));
	test_keepalive(l, c, s);
	close(s);
	close(c);
	close(l);
}

/*
 * --port-offset N: a UDP socket and an AF_KCP listener on one port
 * number, the AF_KCP socket's UDP port moved by N, the program seeing
 * its own numbers on both ends.
 */
static void test_port_offset(int off)
{
	struct sockaddr_in a = kt_addr4("127.0.0.1", PORT_OFF);
	struct sockaddr_in w = kt_addr4("127.0.0.1", PORT_OFF + off);
	struct sockaddr_in b = kt_addr4("127.0.0.1", PORT_OFF + 2);
	struct sockaddr_in peer, self, name;
	socklen_t plen = sizeof(peer), slen = sizeof(self), nlen;
	int u, u2, l, c, c2, s, s2 = -1, one = 1;
	char ch = 0, dg[4];
	bool ok;

	u = socket(AF_INET, SOCK_DGRAM, 0);
	kt_result(!bind(u, (struct sockaddr *)&a, sizeof(a)),
		  "a UDP socket of the program bound to %d", PORT_OFF);
	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	nlen = sizeof(name);
	memset(&name, 0, sizeof(name));
	ok = !bind(l, (struct sockaddr *)&a, sizeof(a)) && !listen(l, 4) &&
	     is_kcp(l, NULL) &&
	     !getsockname(l, (struct sockaddr *)&name, &nlen);
	kt_result(ok && ntohs(name.sin_port) == PORT_OFF,
		  "and an AF_KCP listener on %d too (getsockname %d)",
		  PORT_OFF, ntohs(name.sin_port));
	u2 = socket(AF_INET, SOCK_DGRAM, 0);
	kt_result(bind(u2, (struct sockaddr *)&w, sizeof(w)) < 0 &&
		  errno == EADDRINUSE,
		  "its UDP port is %d + %d: bind there gives EADDRINUSE",
		  PORT_OFF, off);
	close(u2);

	c = socket(AF_INET, SOCK_STREAM, 0);
	nlen = sizeof(name);
	memset(&name, 0, sizeof(name));
	ok = !connect(c, (struct sockaddr *)&a, sizeof(a)) &&
	     is_kcp(c, NULL) && send(c, "o", 1, MSG_NOSIGNAL) == 1 &&
	     !getpeername(c, (struct sockaddr *)&name, &nlen);
	kt_result(ok && ntohs(name.sin_port) == PORT_OFF,
		  "connect to %d: AF_KCP, getpeername says %d", PORT_OFF,
		  ntohs(name.sin_port));
	s = accept(l, (struct sockaddr *)&peer, &plen);
	getsockname(c, (struct sockaddr *)&self, &slen);
	nlen = sizeof(name);
	memset(&name, 0, sizeof(name));
	ok = s >= 0 && recv(s, &ch, 1, 0) == 1 && ch == 'o' &&
	     !getsockname(s, (struct sockaddr *)&name, &nlen);
	kt_result(ok && peer.sin_port == self.sin_port &&
		  ntohs(name.sin_port) == PORT_OFF,
		  "accepted: data arrives, the peer's port is the one the "
		  "client sees as its own (%d, %d)", ntohs(peer.sin_port),
		  ntohs(self.sin_port));

	/* bound first (AF_KCP at bind()), then connect(): mapped too */
	c2 = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(c2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!bind(c2, (struct sockaddr *)&b, sizeof(b)) && is_kcp(c2, NULL) &&
	    !connect(c2, (struct sockaddr *)&a, sizeof(a)) &&
	    send(c2, "p", 1, MSG_NOSIGNAL) == 1) {
		plen = sizeof(peer);
		s2 = accept(l, (struct sockaddr *)&peer, &plen);
	}
	kt_result(s2 >= 0 && recv(s2, &ch, 1, 0) == 1 && ch == 'p' &&
		  ntohs(peer.sin_port) == PORT_OFF + 2,
		  "bind(%d) then connect(%d): AF_KCP, accepted from %d",
		  PORT_OFF + 2, PORT_OFF, ntohs(peer.sin_port));

	/* the program's own UDP on that number still works */
	u2 = socket(AF_INET, SOCK_DGRAM, 0);
	kt_result(sendto(u2, "dg", 2, 0, (struct sockaddr *)&a, sizeof(a)) == 2 &&
		  recv(u, dg, sizeof(dg), 0) == 2 && !memcmp(dg, "dg", 2),
		  "a datagram to UDP %d reaches the program's UDP socket",
		  PORT_OFF);
	close(u2);
	if (s2 >= 0)
		close(s2);
	close(c2);
	close(s);
	close(c);
	close(l);
	close(u);
}

int main(void)
{
	const char *ports = getenv("KCPCTL_PORTS");
	const char *off = getenv("KCPCTL_PORT_OFFSET");

	if (off && *off) {
		test_port_offset(atoi(off));
		printf("DONE %d failed\n", kt_failed);
		return kt_done();
	}
	if (!ports || !*ports) {
		test_all_ports();
		test_tcp_answers();
		printf("DONE %d failed\n", kt_failed);
		return kt_done();
	}
	test_threads();
	test_unselected();
	test_bind_then_connect();
	test_reuse();
	printf("DONE %d failed\n", kt_failed);
	return kt_done();
}
