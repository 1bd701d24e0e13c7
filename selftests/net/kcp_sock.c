// SPDX-License-Identifier: GPL-2.0
/*
 * Socket-API behaviour of AF_KCP on loopback: creation errnos, bind/
 * connect/listen/accept, data both ways, nonblocking I/O, poll/epoll,
 * timeouts, shutdown, close semantics, dead link, ICMP errors, bad
 * arguments, many connections, IPv6. Prints TAP.
 */
#include "../lib/kcptest.h"
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <linux/sockios.h>

#define LO4 "127.0.0.1"
#define LO6 "::1"

/* A connected pair over loopback: client fd and accepted fd. */
static int pair(int type, const char *ip, int *cfd, int *afd)
{
	int port = 0, lfd = kt_listen(type, ip, &port);

	*cfd = *afd = -1;
	if (lfd < 0)
		return -1;
	*cfd = kt_connect(type, ip, port);
	if (*cfd < 0 || send(*cfd, "h", 1, 0) != 1)
		goto fail;
	*afd = accept(lfd, NULL, NULL);
	if (*afd < 0)
		goto fail;
	{
		char c;

		if (recv(*afd, &c, 1, 0) != 1 || c != 'h')
			goto fail;
	}
	close(lfd);
	return 0;
fail:
	if (*cfd >= 0)
		close(*cfd);
	close(lfd);
	return -1;
}

static void fast(int fd)
{
	kt_nodelay(fd, 1, 10, 2, 1);
	kt_wnd(fd, 256, 256);
}

static void test_create(void)
{
	int fd;

	fd = kt_socket(SOCK_STREAM);
	kt_result(fd >= 0, "socket(AF_KCP, SOCK_STREAM, 0)");
	close(fd);
	fd = kt_socket(SOCK_SEQPACKET);
	kt_result(fd >= 0, "socket(AF_KCP, SOCK_SEQPACKET, 0)");
	close(fd);
	fd = kt_socket(SOCK_DGRAM);
	kt_result(fd < 0 && errno == ESOCKTNOSUPPORT,
		  "SOCK_DGRAM -> ESOCKTNOSUPPORT (%s)", strerror(errno));
	fd = socket(kt_family(), SOCK_STREAM, IPPROTO_TCP);
	kt_result(fd < 0 && errno == EPROTONOSUPPORT,
		  "IPPROTO_TCP -> EPROTONOSUPPORT (%s)", strerror(errno));
	fd = kt_socket(SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
	kt_result(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK),
		  "SOCK_NONBLOCK honoured");
	close(fd);
}

struct xfer {
	int fd;
	uint64_t seed;
	size_t n;
	long res;
	bool same;
};

static void *send_thread(void *p)
{
	struct xfer *x = p;

	x->res = kt_send_stream(x->fd, x->seed, x->n, 65536);
	return NULL;
}

static void *recv_thread(void *p)
{
	struct xfer *x = p;

	x->res = kt_recv_stream(x->fd, x->seed, x->n, &x->same);
	return NULL;
}

/* Both directions at once, byte-exact. */
static bool duplex(int a, int b, size_t n)
{
	struct xfer s1 = { a, 1, n, 0, 0 }, r1 = { b, 1, n, 0, 0 };
	struct xfer s2 = { b, 2, n, 0, 0 }, r2 = { a, 2, n, 0, 0 };
	pthread_t t[4];

	pthread_create(&t[0], NULL, send_thread, &s1);
	pthread_create(&t[1], NULL, recv_thread, &r1);
	pthread_create(&t[2], NULL, send_thread, &s2);
	pthread_create(&t[3], NULL, recv_thread, &r2);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	if (s1.res != (long)n || s2.res != (long)n)
		kt_diag("send results %ld %ld", s1.res, s2.res);
	if (r1.res != (long)n || r2.res != (long)n)
		kt_diag("recv results %ld %ld", r1.res, r2.res);
	return s1.res == (long)n && s2.res == (long)n &&
	       r1.res == (long)n && r2.res == (long)n && r1.same && r2.same;
}

static void test_transfer(const char *ip, size_t n)
{
	int c, a;
	double t0;
	bool ok;

	if (pair(SOCK_STREAM, ip, &c, &a)) {
		kt_result(0, "pair on %s: %s", ip, strerror(errno));
		return;
	}
	fast(c);
	fast(a);
	t0 = kt_now();
	ok = duplex(c, a, n);
	kt_result(ok, "%zu bytes each way on %s byte-exact (%.1f s)", n, ip,
		  kt_now() - t0);
	close(c);
	close(a);
}

static void test_names(void)
{
	int c, a, port = 0, lfd = kt_listen(SOCK_STREAM, LO4, &port);
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	kt_result(lfd >= 0 && port > 0, "listen on ephemeral port %d", port);
	c = kt_connect(SOCK_STREAM, LO4, port);
	kt_result(c >= 0, "connect to a listener");
	kt_result(getpeername(c, (struct sockaddr *)&sa, &len) == 0 &&
		  sa.sin_family == AF_INET && ntohs(sa.sin_port) == port,
		  "getpeername gives the server");
	len = sizeof(sa);
	kt_result(getsockname(c, (struct sockaddr *)&sa, &len) == 0 &&
		  sa.sin_family == AF_INET && sa.sin_port != 0,
		  "getsockname gives an ephemeral port");
	send(c, "x", 1, 0);
	len = sizeof(sa);
	a = accept(lfd, (struct sockaddr *)&sa, &len);
	kt_result(a >= 0 && len == sizeof(sa) && sa.sin_family == AF_INET,
		  "accept returns the peer address");
	len = sizeof(sa);
	kt_result(getpeername(lfd, (struct sockaddr *)&sa, &len) < 0 &&
		  errno == ENOTCONN, "getpeername on listener -> ENOTCONN");
	close(a);
	close(c);
	close(lfd);
}

static void test_nonblock(void)
{
	int c, a, port = 0, lfd = kt_listen(SOCK_STREAM, LO4, &port);
	char buf[16];

	fcntl(lfd, F_SETFL, O_NONBLOCK);
	kt_result(accept(lfd, NULL, NULL) < 0 && errno == EAGAIN,
		  "nonblocking accept with empty queue -> EAGAIN");
	close(lfd);
	if (pair(SOCK_STREAM, LO4, &c, &a))
		return kt_result(0, "pair");
	kt_result(recv(a, buf, sizeof(buf), MSG_DONTWAIT) < 0 &&
		  errno == EAGAIN, "recv MSG_DONTWAIT on empty -> EAGAIN");
	fcntl(a, F_SETFL, O_NONBLOCK);
	kt_result(read(a, buf, sizeof(buf)) < 0 && errno == EAGAIN,
		  "read O_NONBLOCK on empty -> EAGAIN");
	close(c);
	close(a);
}

/* Fill the window of a peer that never reads: send must say EAGAIN. */
static void test_send_eagain(void)
{
	int c, a, n = 0;
	char buf[4096] = { 0 };
	ssize_t w;

	if (pair(SOCK_STREAM, LO4, &c, &a))
		return kt_result(0, "pair");
	kt_wnd(c, 8, 8);
	kt_wnd(a, 8, 8);
	fcntl(c, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 10000; i++) {
		w = send(c, buf, sizeof(buf), 0);
		if (w < 0)
			break;
		n += w;
		usleep(1000);
	}
	kt_result(w < 0 && errno == EAGAIN && n > 0,
		  "nonblocking send fills the window then EAGAIN (%d bytes)", n);
	close(c);
	close(a);
}

static void test_epoll(void)
{
	int c, a, ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT }, out[4];
	int n;

	if (pair(SOCK_STREAM, LO4, &c, &a))
		return kt_result(0, "pair");
	ev.data.fd = a;
	epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev);
	n = epoll_wait(ep, out, 4, 100);
	kt_result(n == 1 && (out[0].events & EPOLLOUT) &&
		  !(out[0].events & EPOLLIN),
		  "idle connected socket: EPOLLOUT only (0x%x)",
		  n > 0 ? out[0].events : 0);
	send(c, "ping", 4, 0);
	ev.events = EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_MOD, a, &ev);
	n = epoll_wait(ep, out, 4, 2000);
	kt_result(n == 1 && (out[0].events & EPOLLIN),
		  "data arrives: EPOLLIN");
	{
		int avail = -1;

		ioctl(a, SIOCINQ, &avail);
		kt_result(avail == 4, "SIOCINQ counts unread bytes (%d)", avail);
	}
	close(c);
	close(a);
	close(ep);
}

static void test_rcvtimeo(void)
{
	struct timeval tv = { 0, 300000 };
	int c, a;
	double t0;
	char buf[8];
	ssize_t r;

	if (pair(SOCK_STREAM, LO4, &c, &a))
		return kt_result(0, "pair");
	setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t0 = kt_now();
	r = recv(a, buf, sizeof(buf), 0);
	t0 = kt_now() - t0;
	kt_result(r < 0 && errno == EAGAIN && t0 > 0.25 && t0 < 2.0,
		  "SO_RCVTIMEO 300 ms -> EAGAIN after %.2f s", t0);
	close(c);
	close(a);
}

static void test_peek_waitall(void)
{
	int c, a;
	char buf[16] = { 0 };
	ssize_t r;

	if (pair(SOCK_STREAM, LO4, &c, &a))
		return kt_result(0, "pair");
	fast(c);
	fast(a);
	send(c, "hello", 5, 0);
	r = recv(a, buf, sizeof(buf), MSG_PEEK);
	kt_result(r == 5 && !memcmp(buf, "hello", 5), "MSG_PEEK sees data");
	memset(buf, 0, sizeof(buf));
	send(c, "world", 5, 0);
	r = recv(a, buf, 10, MSG_WAITALL);
	kt_result(r == 10 && !memcmp(buf, "helloworld", 10),
		  "MSG_WAITALL collects across segments");
	close(c);
	close(a);
}

static void test_vectored(void)
{
	int c, a, in, out;
	char x[3] = "abc", y[4] = "defg", buf[64];
	struct iovec iov[2] = { { x, 3 }, { y, 4 } };
	ssize_t r;
	char path[] = "/tmp/kcp_sendfile_XXXXXX";

	if (pair(SOCK_STREAM, LO4, &c, &a))
		return kt_result(0, "pair");
	fast(c);
	fast(a);
	r = writev(c, iov, 2);
	kt_result(r == 7, "writev");
	memset(buf, 0, sizeof(buf));
	r = recv(a, buf, 7, MSG_WAITALL);
	kt_result(r == 7 && !memcmp(buf, "abcdefg", 7), "writev data arrives");
	in = mkstemp(path);
	out = write(in, "sendfile-data", 13);
	lseek(in, 0, SEEK_SET);
	r = sendfile(c, in, NULL, 13);
	kt_result(r == 13 && out == 13, "sendfile (%zd)", r);
	r = recv(a, buf, 13, MSG_WAITALL);
	kt_result(r == 13 && !memcmp(buf, "sendfile-data", 13),
		  "sendfile data arrives");
	close(in);
	unlink(path);
	close(c);
	close(a);
}

static void test_shutdown(void)
{
	int c, a;
	char buf[8];
	struct pollfd p;

	if (pair(SOCK_STREAM, LO4, &c, &a))
		return kt_result(0, "pair");
	kt_result(shutdown(c, SHUT_WR) == 0, "shutdown(SHUT_WR)");
	kt_result(send(c, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE,
		  "send after SHUT_WR -> EPIPE");
	kt_result(shutdown(a, SHUT_RD) == 0 && recv(a, buf, 8, 0) == 0,
		  "recv after SHUT_RD returns 0");
	p.fd = a;
	p.events = POLLIN;
	kt_result(poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP) == 0 &&
		  (p.revents & POLLIN), "poll after SHUT_RD: POLLIN");
	kt_result(shutdown(a, 7) < 0 && errno == EINVAL,
		  "shutdown(7) -> EINVAL");
	close(c);
	close(a);
	c = kt_socket(SOCK_STREAM);
	kt_result(shutdown(c, SHUT_RDWR) < 0 && errno == ENOTCONN,
		  "shutdown unconnected -> ENOTCONN");
	close(c);
}

/* close() right after write(): the background linger still delivers. */
static void test_close_delivers(void)
{
	int c, a;
	size_t n = 2 << 20;
	bool same;
	long got;
	double t0 = kt_now();

	if (pair(SOCK_STREAM, LO4, &c, &a))
		return kt_result(0, "pair");
	fast(c);
	fast(a);
	if (fork() == 0) {
		close(a);
		kt_send_stream(c, 7, n, 65536);
		close(c);
		_exit(0);
	}
	close(c);
	got = kt_recv_stream(a, 7, n, &same);
	wait(NULL);
	kt_result(got == (long)n && same,
		  "close() with unsent data: all %zu bytes delivered (%.1f s)",
		  n, kt_now() - t0);
	close(a);
}

static void test_dead_link(void)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0), c;
	struct sockaddr_in sa = kt_addr4(LO4, 0);
	char buf[8];
	ssize_t r;
	struct pollfd p;
	double t0;

	/* a plain UDP socket swallows everything and never answers */
	bind(u, (struct sockaddr *)&sa, sizeof(sa));
	c = kt_connect_plain(SOCK_STREAM, LO4, kt_port_of(u));
	kt_nodelay(c, 1, 10, 0, 1);
	kt_setint(c, KCP_DEADLINK, 5);
	kt_setint(c, KCP_MINRTO, 10);
	t0 = kt_now();
	send(c, "lost", 4, 0);
	p.fd = c;
	p.events = POLLIN;
	poll(&p, 1, 20000);
	kt_result(p.revents & POLLERR, "dead link raises POLLERR (%.1f s)",
		  kt_now() - t0);
	r = recv(c, buf, sizeof(buf), 0);
	kt_result(r < 0 && errno == ETIMEDOUT,
		  "then recv -> ETIMEDOUT (%s)", strerror(errno));
	r = send(c, "x", 1, MSG_NOSIGNAL);
	kt_result(r < 0 && errno == EPIPE, "then send -> EPIPE");
	close(c);
	close(u);
}

static void test_refused(void)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0), c, port;
	struct sockaddr_in sa = kt_addr4(LO4, 0);
	char buf[8];
	ssize_t r;

	/* a port that was just free: nobody listens there */
	bind(u, (struct sockaddr *)&sa, sizeof(sa));
	port = kt_port_of(u);
	close(u);
	/* connect() that waits for the peer fails, as TCP's */
	c = kt_socket(SOCK_STREAM);
	sa.sin_port = htons(port);
	r = connect(c, (struct sockaddr *)&sa, sizeof(sa));
	kt_result(r < 0 && errno == ECONNREFUSED,
		  "connect to a closed port -> ECONNREFUSED (%s)",
		  strerror(errno));
	close(c);
	/* as kcp-go's Dial: the call after the first datagram reports it */
	c = kt_connect_plain(SOCK_STREAM, LO4, port);
	kt_nodelay(c, 1, 10, 0, 1);
	send(c, "anyone", 6, 0);
	usleep(200000);
	r = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
	kt_result(r < 0 && errno == ECONNREFUSED,
		  "ICMP port unreachable -> ECONNREFUSED (%s)",
		  strerror(errno));
	r = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
	kt_result(r < 0 && errno == EAGAIN,
		  "the error is reported once, the socket goes on");
	close(c);
}

static void test_badargs(void)
{
	int fd = kt_socket(SOCK_STREAM), fd2, c, a;
	struct sockaddr_in sa = kt_addr4(LO4, 0);
	struct { unsigned short f; char p[20]; } un = { AF_UNIX, "" };
	char buf[8];
	int v;
	socklen_t len;

	kt_result(bind(fd, (struct sockaddr *)&sa, 4) < 0 && errno == EINVAL,
		  "bind with short sockaddr -> EINVAL");
	kt_result(bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0 &&
		  errno == EAFNOSUPPORT, "bind AF_UNIX address -> EAFNOSUPPORT");
	kt_result(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
		  "bind 127.0.0.1:0");
	kt_result(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		  errno == EINVAL, "second bind -> EINVAL");
	sa.sin_port = htons(kt_port_of(fd));
	fd2 = kt_socket(SOCK_STREAM);
	kt_result(bind(fd2, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		  errno == EADDRINUSE, "bind to a used port -> EADDRINUSE");
	close(fd2);
	kt_result(send(fd, "x", 1, MSG_NOSIGNAL) < 0 && errno == ENOTCONN,
		  "send unconnected -> ENOTCONN");
	kt_result(recv(fd, buf, 1, MSG_DONTWAIT) < 0 && errno == ENOTCONN,
		  "recv unconnected -> ENOTCONN");
	kt_result(accept(fd, NULL, NULL) < 0 && errno == EINVAL,
		  "accept on a non-listener -> EINVAL");
	close(fd);
	if (pair(SOCK_STREAM, LO4, &c, &a))
		return kt_result(0, "pair");
	sa = kt_addr4(LO4, 9);
	kt_result(connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		  errno == EISCONN, "connect twice -> EISCONN");
	kt_result(send(c, (void *)8, 100, MSG_NOSIGNAL) < 0 && errno == EFAULT,
		  "send from a bad pointer -> EFAULT");
	kt_result(send(c, "x", 1, MSG_OOB | MSG_NOSIGNAL) < 0 &&
		  errno == EOPNOTSUPP, "MSG_OOB -> EOPNOTSUPP");
	kt_result(listen(c, 5) < 0 && errno == EINVAL,
		  "listen on a connected socket -> EINVAL");
	v = 0;
	kt_result(kt_setint(c, KCP_MTU, 20) < 0 && errno == EINVAL,
		  "KCP_MTU 20 -> EINVAL");
	kt_result(kt_setint(c, KCP_MTU, 1501) < 0 && errno == EINVAL,
		  "KCP_MTU 1501 -> EINVAL");
	kt_result(kt_setint(c, 999, 1) < 0 && errno == ENOPROTOOPT,
		  "unknown SOL_KCP option -> ENOPROTOOPT");
	kt_result(kt_setint(c, KCP_CONV, 5) < 0 && errno == EISCONN,
		  "KCP_CONV after connect -> EISCONN");
	len = sizeof(v);
	kt_result(getsockopt(c, SOL_KCP, KCP_MTU, &v, &len) == 0 && v == 1400,
		  "KCP_MTU default 1400");
	kt_result(setsockopt(c, SOL_KCP, KCP_MTU, &v, 2) < 0 && errno == EINVAL,
		  "short optlen -> EINVAL");
	close(c);
	close(a);
}

static void test_options(void)
{
	int c, a;
	struct kcp_info info;
	struct kcp_nodelay nd;
	int v;
	socklen_t len = sizeof(info);
	unsigned int conv = 0xdeadbeef;

	c = kt_socket(SOCK_STREAM);
	kt_result(kt_setopt(c, KCP_CONV, &conv, sizeof(conv)) == 0,
		  "KCP_CONV before connect");
	close(c);
	if (pair(SOCK_STREAM, LO4, &c, &a))
		return kt_result(0, "pair");
	kt_result(kt_setint(c, KCP_PRESET, KCP_PRESET_FAST3) == 0,
		  "KCP_PRESET fast3");
	len = sizeof(nd);
	getsockopt(c, SOL_KCP, KCP_NODELAY, &nd, &len);
	kt_result(nd.nodelay == 1 && nd.interval == 10 && nd.resend == 2 &&
		  nd.nc == 1, "fast3 = nodelay 1 interval 10 resend 2 nc 1");
	len = sizeof(info);
	memset(&info, 0, sizeof(info));
	v = getsockopt(a, SOL_KCP, KCP_INFO, &info, &len);
	kt_result(v == 0 && len == sizeof(info) &&
		  info.kcpi_version == KCP_INFO_VERSION &&
		  info.kcpi_state == KCP_ESTABLISHED && info.kcpi_in_segs > 0,
		  "KCP_INFO on accepted socket (state %u, %llu segs in)",
		  info.kcpi_state, (unsigned long long)info.kcpi_in_segs);
	{
		struct kcp_info ci;

		len = sizeof(ci);
		getsockopt(c, SOL_KCP, KCP_INFO, &ci, &len);
		kt_result(ci.kcpi_conv == info.kcpi_conv,
			  "both ends share the conv (%08x)", ci.kcpi_conv);
	}
	close(c);
	close(a);
}

/* Many clients on one listener at once, each echoed byte-exact. */
#define MANY 200
static void test_many(void)
{
	int port = 0, lfd = kt_listen(SOCK_STREAM, LO4, &port);
	static int cs[MANY], as[MANY];
	int ok = 0, i;
	char buf[64];

	/* every connect() waits for its answer: all must fit the queue */
	listen(lfd, MANY);
	for (i = 0; i < MANY; i++) {
		cs[i] = kt_connect(SOCK_STREAM, LO4, port);
		kt_nodelay(cs[i], 1, 10, 2, 1);
		snprintf(buf, sizeof(buf), "client %d", i);
		send(cs[i], buf, strlen(buf) + 1, 0);
	}
	for (i = 0; i < MANY; i++) {
		as[i] = accept(lfd, NULL, NULL);
		kt_nodelay(as[i], 1, 10, 2, 1);
	}
	for (i = 0; i < MANY; i++) {
		ssize_t r = recv(as[i], buf, sizeof(buf), 0);

		if (r > 0 && !strncmp(buf, "client ", 7) &&
		    send(as[i], buf, r, 0) == r)
			ok++;
	}
	for (i = 0; i < MANY; i++) {
		char want[64], got[64] = "";

		snprintf(want, sizeof(want), "client %d", i);
		recv(cs[i], got, sizeof(got), 0);
		if (strcmp(got, want))
			ok--;
	}
	kt_result(ok == MANY, "%d concurrent connections on one listener", MANY);
	for (i = 0; i < MANY; i++) {
		close(cs[i]);
		close(as[i]);
	}
	close(lfd);
}

static void test_seqpacket(void)
{
	int c, a;
	char big[5000], buf[8192];
	ssize_t r;
	struct msghdr mh = { 0 };
	struct iovec iov = { buf, 10 };

	if (pair(SOCK_SEQPACKET, LO4, &c, &a))
		return kt_result(0, "seqpacket pair");
	fast(c);
	fast(a);
	memset(big, 'm', sizeof(big));
	send(c, "one", 3, 0);
	send(c, big, sizeof(big), 0);
	send(c, "three", 5, 0);
	r = recv(a, buf, sizeof(buf), 0);
	kt_result(r == 3, "SEQPACKET keeps message 1 (3 bytes: %zd)", r);
	r = recv(a, buf, sizeof(buf), 0);
	kt_result(r == 5000 && buf[4999] == 'm',
		  "a 4-fragment message arrives whole (%zd)", r);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	send(c, big, 100, 0);
	r = recvmsg(a, &mh, 0);
	kt_result(r == 5 && !memcmp(buf, "three", 5), "message 3");
	r = recvmsg(a, &mh, 0);
	kt_result(r == 10 && (mh.msg_flags & MSG_TRUNC),
		  "short buffer: MSG_TRUNC and the rest is dropped");
	kt_wnd(c, 2, 0);
	r = send(c, big, sizeof(big), 0);
	kt_result(r < 0 && errno == EMSGSIZE,
		  "message larger than the window -> EMSGSIZE");
	close(c);
	close(a);
}

/* IP_TOS reaches the datagrams on the wire (a UDP peer reads it). */
static void test_tos(void)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0), c, one = 1, tos = 0xb8, got;
	struct sockaddr_in sa = kt_addr4(LO4, 0);
	char buf[2048], cbuf[64];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	socklen_t len = sizeof(got);

	bind(u, (struct sockaddr *)&sa, sizeof(sa));
	setsockopt(u, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one));
	c = kt_connect_plain(SOCK_STREAM, LO4, kt_port_of(u));
	kt_result(setsockopt(c, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)) == 0 &&
		  getsockopt(c, IPPROTO_IP, IP_TOS, &got, &len) == 0 &&
		  got == tos, "IP_TOS set and read back");
	kt_result(setsockopt(c, IPPROTO_IP, IP_TTL, &tos, sizeof(tos)) < 0 &&
		  errno == ENOPROTOOPT, "other IP options -> ENOPROTOOPT");
	send(c, "tos", 3, 0);
	got = -1;
	if (recvmsg(u, &mh, 0) > 0)
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS)
				got = *(unsigned char *)CMSG_DATA(cm);
	kt_result(got == tos, "datagrams carry TOS 0x%x (got 0x%x)", tos, got);
	close(c);
	close(u);
}

/* A restarted server rebinds its port with SO_REUSEADDR even while the
 * old sessions (or their time-wait) still hold the UDP socket. */
static void test_reuseaddr(void)
{
	int one = 1, port = 0, c, a, l2, l3;
	int l1 = kt_listen(SOCK_STREAM, LO4, &port);
	struct sockaddr_in sa = kt_addr4(LO4, port);
	char buf[8];

	c = kt_connect(SOCK_STREAM, LO4, port);
	send(c, "1", 1, 0);
	a = accept(l1, NULL, NULL);
	close(l1);
	l2 = kt_socket(SOCK_STREAM);
	kt_result(bind(l2, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		  errno == EADDRINUSE,
		  "rebinding a port with a live session -> EADDRINUSE");
	close(l2);
	l3 = kt_socket(SOCK_STREAM);
	setsockopt(l3, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	kt_result(bind(l3, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		  listen(l3, 8) == 0,
		  "with SO_REUSEADDR the new listener takes the port over");
	send(c, "2", 1, 0);
	kt_result(recv(a, buf, 8, 0) > 0,
		  "the old session keeps working on the shared UDP socket");
	close(c);
	c = kt_connect(SOCK_STREAM, LO4, port);
	send(c, "3", 1, 0);
	fcntl(l3, F_SETFL, 0);
	{
		struct timeval tv = { 3, 0 };
		int n;

		setsockopt(l3, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = accept(l3, NULL, NULL);
		kt_result(n >= 0, "and new peers reach the new listener");
		close(n);
	}
	close(c);
	close(a);
	close(l3);
}

/* SO_REUSEPORT: several listeners on one port share the peers. */
static void test_reuseport(void)
{
	int one = 1, l[2], port = 0, i, got[2] = { 0, 0 }, cs[24];
	struct sockaddr_in sa = kt_addr4(LO4, 0);
	socklen_t len = sizeof(sa);

	for (i = 0; i < 2; i++) {
		l[i] = kt_socket(SOCK_STREAM);
		/* kernels >= 6.9 refuse SO_REUSEPORT on non-inet sockets */
		if (setsockopt(l[i], SOL_SOCKET, SO_REUSEPORT, &one,
			       sizeof(one)) &&
		    kt_setint(l[i], KCP_REUSEPORT, 1)) {
			kt_result(0, "KCP_REUSEPORT: %s", strerror(errno));
			return;
		}
		sa.sin_port = htons(port);
		if (bind(l[i], (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(l[i], 64)) {
			kt_result(0, "SO_REUSEPORT listener %d: %s", i,
				  strerror(errno));
			return;
		}
		getsockname(l[i], (struct sockaddr *)&sa, &len);
		port = ntohs(sa.sin_port);
		fcntl(l[i], F_SETFL, O_NONBLOCK);
	}
	for (i = 0; i < 24; i++) {
		cs[i] = kt_connect(SOCK_STREAM, LO4, port);
		send(cs[i], "r", 1, 0);
	}
	usleep(300000);
	for (i = 0; i < 2; i++) {
		int a;

		while ((a = accept(l[i], NULL, NULL)) >= 0) {
			got[i]++;
			close(a);
		}
	}
	kt_result(got[0] + got[1] == 24 && got[0] && got[1],
		  "24 peers spread over two SO_REUSEPORT listeners on port %d (%d + %d)",
		  port, got[0], got[1]);
	for (i = 0; i < 24; i++)
		close(cs[i]);
	close(l[0]);
	close(l[1]);
}

/* kcp:kcp_session and kcp:kcp_segment tracepoints fire. */
static void test_tracepoints(void)
{
	const char *ev = "/sys/kernel/tracing/events/kcp/enable";
	FILE *f = fopen(ev, "w");
	int c, a, seg = 0, sess = 0;
	char line[512];

	if (!f)
		return kt_skip("no tracefs", "tracepoints");
	fputs("1", f);
	fclose(f);
	f = fopen("/sys/kernel/tracing/trace", "w");
	if (f)
		fclose(f);
	if (!pair(SOCK_STREAM, LO4, &c, &a)) {
		send(c, "traced", 6, 0);
		recv(a, line, sizeof(line), 0);
		close(c);
		close(a);
	}
	f = fopen(ev, "w");
	fputs("0", f);
	fclose(f);
	f = fopen("/sys/kernel/tracing/trace", "r");
	while (f && fgets(line, sizeof(line), f)) {
		seg += !!strstr(line, "kcp_segment:");
		sess += !!strstr(line, "kcp_session:");
	}
	if (f)
		fclose(f);
	kt_result(seg >= 4 && sess >= 2,
		  "tracepoints: %d kcp_segment and %d kcp_session events",
		  seg, sess);
}

/* An accepted socket reports the address its peer sent to. */
static void test_accept_name(void)
{
	int port = 0, l = kt_listen(SOCK_STREAM, "0.0.0.0", &port), c, a;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	c = kt_connect(SOCK_STREAM, LO4, port);
	send(c, "n", 1, 0);
	a = accept(l, NULL, NULL);
	getsockname(a, (struct sockaddr *)&sa, &len);
	kt_result(sa.sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
		  ntohs(sa.sin_port) == port,
		  "accepted on 0.0.0.0: getsockname is 127.0.0.1:%d", port);
	close(a);
	close(c);
	close(l);
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;

	signal(SIGPIPE, SIG_IGN);
#define RUN(name, call) do { if (!only || !strcmp(only, name)) { call; } } while (0)
	RUN("create", test_create());
	RUN("names", test_names());
	RUN("transfer", test_transfer(LO4, 1 << 20));
	RUN("transfer6", test_transfer(LO6, 1 << 20));
	RUN("nonblock", test_nonblock());
	RUN("send_eagain", test_send_eagain());
	RUN("epoll", test_epoll());
	RUN("rcvtimeo", test_rcvtimeo());
	RUN("peek", test_peek_waitall());
	RUN("vectored", test_vectored());
	RUN("shutdown", test_shutdown());
	RUN("close", test_close_delivers());
	RUN("deadlink", test_dead_link());
	RUN("refused", test_refused());
	RUN("badargs", test_badargs());
	RUN("options", test_options());
	RUN("many", test_many());
	RUN("seqpacket", test_seqpacket());
	RUN("tos", test_tos());
	RUN("reuseaddr", test_reuseaddr());
	RUN("reuseport", test_reuseport());
	RUN("trace", test_tracepoints());
	RUN("acceptname", test_accept_name());
	return kt_done();
}
