// SPDX-License-Identifier: GPL-2.0
/*
 * session: TCP session semantics between AF_KCP endpoints (issue 15), the
 * C side of selftests/net/session.sh.
 *
 *   session probe
 *	"EXT <value>" if the module knows KCP_SESSION_EXT, "EXT none" if
 *	it answers ENOPROTOOPT (a module without the session extension).
 *   session tests -A NS_A -B NS_B -a IP_A [-port-base P] [-nft TABLE] [-tcp]
 *		   [-force]
 *	The TAP tests below: servers run in NS_A (on IP_A), clients in
 *	NS_B, each test in its own process group, bounded by alarm() and
 *	a watchdog. -nft names an inet table with a chain "in" (input hook)
 *	in NS_A that the black-hole and keepalive tests add drop rules to.
 *	Tests that need the extension are skipped on a module without it.
 *	-tcp runs the same tests on TCP sockets (TCP_SYNCNT 1 for the
 *	connect timeout, TCP_KEEP* for KCP_KEEP*, TCP_INFO's state): a
 *	check of the tests themselves against the semantics they copy.
 *	-force runs them even on a module without the extension (to see
 *	them fail there).
 *   session send -a HOST:PORT [-bytes N] [-seed S] [-timeout S] [KCP opts]
 *	AF_KCP client: N bytes of the test stream (kcptest.h), then
 *	"INFO ext=E len=L state=S", close() and "RESULT ok=1 bytes=N".
 *   session recv -l HOST:PORT [-bytes N] [-seed S] [-timeout S] [KCP opts]
 *	AF_KCP server: "LISTEN port", accept one session, read and check N
 *	bytes of the stream, "INFO ...", close(), "RESULT ok=1 bytes=N".
 *   session httpd -l HOST:PORT -file PATH [-timeout S]
 *	A TCP (AF_INET) server for "kcpctl run": "LISTEN port", accept one
 *	connection, read the request head, answer an HTTP/1.0 200 with the
 *	file and no Content-Length (close-delimited), close() and exit 0.
 *   session keepalive -a IP:PORT -nft TABLE [-timeout S] [KCP opts]
 *	AF_KCP client of an echo server (kcp-go's), SO_KEEPALIVE with
 *	KCP_KEEPIDLE/INTVL/CNT 1/1/3: "INFO ...", an echo after 5 idle s,
 *	then an nft rule in TABLE's chain "in" (this namespace) drops what
 *	the server sends; "KEEPALIVE alive=0|1 silent=-1 ETIMEDOUT secs=T",
 *	"RESULT ok=1" if the echo came and ETIMEDOUT after 2.5-7 s.
 *
 * KCP options of send/recv: those of selftests/lib/cli.h (-preset -wnd
 * -nodelay -mtu ...).
 */
#include "../lib/cli.h"
#include <limits.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <netinet/tcp.h>

#ifndef POLLRDHUP
#define POLLRDHUP 0x2000
#endif

#define EXT_END (offsetof(struct kcp_info, kcpi_ext) + sizeof(__u32))

static struct {
	const char *ns_a, *ns_b, *ip_a, *nft;
	int port_base;
	bool have_ext, tcp, force;
} C = { .ip_a = "10.9.0.1", .port_base = 29000 };

/* ---- verdicts shared between the runner and a test's process ---- */

static struct verdict {
	char msg[1024];
} *V;

static __attribute__((format(printf, 1, 2))) void note(const char *fmt, ...)
{
	size_t n = strlen(V->msg);
	va_list ap;

	if (n && n < sizeof(V->msg) - 2) {
		V->msg[n++] = ';';
		V->msg[n++] = ' ';
		V->msg[n] = 0;
	}
	va_start(ap, fmt);
	vsnprintf(V->msg + n, sizeof(V->msg) - n, fmt, ap);
	va_end(ap);
}

/* note() and false, for "return fail(...)" */
#define fail(...) (note(__VA_ARGS__), false)

/* ---- sockets ---- */

static int kinfo(int fd, struct kcp_info *ki, socklen_t *len)
{
	*len = sizeof(*ki);
	memset(ki, 0, sizeof(*ki));
	return getsockopt(fd, SOL_KCP, KCP_INFO, ki, len);
}

/* kcpi_ext, or -1 if KCP_INFO fails or is too short to carry it */
static long kinfo_ext(int fd)
{
	struct kcp_info ki;
	socklen_t len;

	if (kinfo(fd, &ki, &len) || len < EXT_END || ki.kcpi_len < EXT_END)
		return -1;
	return ki.kcpi_ext;
}

/* kcpi_state (-tcp: tcpi_state; both use TCP's numbering) */
static int kinfo_state(int fd)
{
	struct kcp_info ki;
	socklen_t len;

	if (C.tcp) {
		struct tcp_info ti;

		len = sizeof(ti);
		return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) ? -1 : ti.tcpi_state;
	}
	return kinfo(fd, &ki, &len) ? -1 : (int)ki.kcpi_state;
}

/* An AF_KCP socket with fast3 (quick retransmission, 10 ms ticks). */
static int ksock(int type)
{
	int fd;

	if (C.tcp)
		return socket(AF_INET, type, 0);
	fd = kt_socket(type);
	if (fd >= 0 && kt_setint(fd, KCP_PRESET, KCP_PRESET_FAST3)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * KCP_CONNECT_TIMEOUT @ms; -tcp: TCP_SYNCNT 1 (a SYN and one resend:
 * 3 s) for a bound below 3 s, else the defaults
 */
static int set_connect_timeout(int fd, int ms)
{
	if (C.tcp)
		return ms < 3000 ? setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT,
					      &(int){ 1 }, sizeof(int)) : 0;
	return kt_setint(fd, KCP_CONNECT_TIMEOUT, ms);
}

/* SO_KEEPALIVE and KCP_KEEPIDLE/INTVL/CNT (-tcp: TCP_KEEP*) */
static int set_keepalive(int fd, int idle, int intvl, int cnt)
{
	int one = 1, lvl = C.tcp ? IPPROTO_TCP : SOL_KCP;

	return setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) ||
	       setsockopt(fd, lvl, C.tcp ? TCP_KEEPIDLE : KCP_KEEPIDLE, &idle, sizeof(int)) ||
	       setsockopt(fd, lvl, C.tcp ? TCP_KEEPINTVL : KCP_KEEPINTVL, &intvl, sizeof(int)) ||
	       setsockopt(fd, lvl, C.tcp ? TCP_KEEPCNT : KCP_KEEPCNT, &cnt, sizeof(int)) ? -1 : 0;
}

static int kconnect_fd(int fd, int port)
{
	struct sockaddr_in a = kt_addr4(C.ip_a, port);

	return connect(fd, (struct sockaddr *)&a, sizeof(a));
}

/* A connected fast3 client of @type to IP_A:@port, or -1 (errno kept). */
static int kconnect(int type, int port)
{
	int fd = ksock(type), err;

	if (fd < 0)
		return -1;
	if (kconnect_fd(fd, port)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case ECONNRESET: return "ECONNRESET";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EPIPE: return "EPIPE";
	case EAGAIN: return "EAGAIN";
	case EINPROGRESS: return "EINPROGRESS";
	case EALREADY: return "EALREADY";
	case EISCONN: return "EISCONN";
	case ENOTCONN: return "ENOTCONN";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	default: return strerrorname_np(e) ? strerrorname_np(e) : "?";
	}
}

/* "0", or "-1 ENAME" for a call that returned @r with errno @e */
static const char *rstr(long r, int e)
{
	static char buf[4][48];
	static int i;

	i = (i + 1) % 4;
	if (r < 0)
		snprintf(buf[i], sizeof(buf[i]), "%ld %s", r, ename(e));
	else
		snprintf(buf[i], sizeof(buf[i]), "%ld", r);
	return buf[i];
}

/* recv() until @n bytes or EOF/error; bytes read, or -errno */
static long recv_all(int fd, void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = recv(fd, (char *)buf + done, n - done, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			break;
		done += r;
	}
	return done;
}

/* ---- servers in NS_A, in a child of the test's process ---- */

struct srv {
	pid_t pid;
	int port;
	int ctl;	/* AF_UNIX stream to the server: sync bytes, its report */
};

typedef void (*srv_fn)(int lfd, int ctl);

/* The server writes its findings to ctl; the test reads them at the end. */
static __attribute__((format(printf, 2, 3))) void report(int ctl, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(ctl, buf, n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1) < 0)
		_exit(3);
}

/* one byte to the other end of ctl; false if it is gone */
static bool ctl_put(int ctl, char c)
{
	return write(ctl, &c, 1) == 1;
}

/* wait for one byte on ctl (@secs at most); the byte, or -1 */
static int ctl_get(int ctl, double secs)
{
	struct pollfd p = { .fd = ctl, .events = POLLIN };
	char c;

	if (poll(&p, 1, (int)(secs * 1000)) != 1 || read(ctl, &c, 1) != 1)
		return -1;
	return (unsigned char)c;
}

/*
 * Fork a server: it joins NS_A, listens on IP_A:0 with fast3, sends its
 * port over ctl and runs @fn. Created before the test's own AF_KCP
 * sockets, so it inherits none of them (a killed server must be the only
 * holder of its sockets).
 */
static bool srv_start(struct srv *s, int type, srv_fn fn)
{
	int sv[2], port = 0, lfd;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return fail("socketpair: %s", strerror(errno));
	s->pid = fork();
	if (s->pid < 0)
		return fail("fork: %s", strerror(errno));
	if (!s->pid) {
		close(sv[0]);
		kt_join_netns(C.ns_a);
		lfd = ksock(type);
		if (lfd < 0) {
			report(sv[1], "server: socket: %s", strerror(errno));
			_exit(1);
		}
		{
			struct sockaddr_in a = kt_addr4(C.ip_a, 0);

			if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
			    listen(lfd, 8)) {
				report(sv[1], "server: bind/listen: %s", strerror(errno));
				_exit(1);
			}
		}
		port = kt_port_of(lfd);
		if (write(sv[1], &port, sizeof(port)) != sizeof(port))
			_exit(1);
		fn(lfd, sv[1]);
		_exit(0);
	}
	close(sv[1]);
	s->ctl = sv[0];
	{
		struct pollfd p = { .fd = s->ctl, .events = POLLIN };

		if (poll(&p, 1, 5000) != 1 ||
		    read(s->ctl, &s->port, sizeof(s->port)) != sizeof(s->port)) {
			char buf[256] = "";

			if (read(s->ctl, buf, sizeof(buf) - 1) < 0)
				buf[0] = 0;
			return fail("server did not start%s%s", buf[0] ? ": " : "", buf);
		}
	}
	return true;
}

/*
 * The server's report once it has exited (within @secs): true if it
 * exited 0 and reported nothing; its report and status are noted.
 */
static bool srv_end(struct srv *s, double secs)
{
	char buf[512];
	double end = kt_now() + secs;
	size_t n = 0;
	ssize_t r;
	int st;
	struct pollfd p = { .fd = s->ctl, .events = POLLIN };

	while (n < sizeof(buf) - 1 && kt_now() < end) {
		if (poll(&p, 1, 100) != 1)
			continue;
		r = read(s->ctl, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += r;
	}
	buf[n] = 0;
	close(s->ctl);
	while (waitpid(s->pid, &st, WNOHANG) == 0) {
		if (kt_now() > end) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &st, 0);
			note("server did not finish in %.0f s", secs);
			if (n)
				note("%s", buf);
			return false;
		}
		usleep(20000);
	}
	if (n)
		note("%s", buf);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return fail("server exit status %#x", st);
	return !n;
}

/* a server the test killed: reaped, its report and status ignored */
static void srv_reap(struct srv *s)
{
	close(s->ctl);
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
}

/* accept with a bound: the connection, or -1 after a report */
static int srv_accept(int lfd, int ctl, double secs)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int fd;

	if (poll(&p, 1, (int)(secs * 1000)) != 1) {
		report(ctl, "server: nothing to accept in %.0f s", secs);
		return -1;
	}
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		report(ctl, "server: accept: %s", strerror(errno));
	return fd;
}

/* ---- the tests; each runs in a process of its own in NS_B ---- */

#define N_HALF	(512 * 1024)
#define M_HALF	(256 * 1024)

static void srv_ext(int lfd, int ctl)
{
	int fd = srv_accept(lfd, ctl, 5);
	long ext;
	char c;

	if (fd < 0 || recv(fd, &c, 1, 0) != 1) {
		report(ctl, "server: no hello");
		return;
	}
	ext = kinfo_ext(fd);
	if (send(fd, &ext, sizeof(ext), 0) != sizeof(ext))
		report(ctl, "server: send: %s", strerror(errno));
	ctl_get(ctl, 10);	/* until the test has its answer */
}

static bool t_ext(void)
{
	struct srv s;
	long cext, sext = -2;
	int fd;

	if (!srv_start(&s, SOCK_STREAM, srv_ext))
		return false;
	fd = kconnect(SOCK_STREAM, s.port);
	if (fd < 0)
		return fail("connect: %s", ename(errno));
	if (send(fd, "h", 1, 0) != 1 || recv_all(fd, &sext, sizeof(sext)) != sizeof(sext))
		note("no answer from the server");
	cext = kinfo_ext(fd);
	note("client kcpi_ext %ld, server %ld", cext, sext);
	ctl_put(s.ctl, 'x');
	close(fd);
	return srv_end(&s, 5) && cext == 1 && sext == 1;
}

/* EOF on @fd now: poll POLLIN|POLLRDHUP, then recv 0 twice */
static bool eof_seen(int fd, const char *who, bool report_ctl, int ctl)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	char c;
	ssize_t r1, r2;
	int pr = poll(&p, 1, 5000);
	bool good;

	r1 = recv(fd, &c, 1, 0);
	r2 = recv(fd, &c, 1, 0);
	good = pr == 1 && (p.revents & (POLLIN | POLLRDHUP)) == (POLLIN | POLLRDHUP) &&
	       !(p.revents & POLLERR) && r1 == 0 && r2 == 0;
	if (!good) {
		if (report_ctl)
			report(ctl, "%s: after the data poll %d revents %#x, recv %zd %zd (%s)",
			       who, pr, p.revents, r1, r2, ename(r2 < 0 ? errno : 0));
		else
			note("%s: after the data poll %d revents %#x, recv %zd %zd (%s)",
			     who, pr, p.revents, r1, r2, ename(r2 < 0 ? errno : 0));
	}
	return good;
}

/* client shuts down its writing side first */
static void srv_half_c2s(int lfd, int ctl)
{
	int fd = srv_accept(lfd, ctl, 5);
	long got;
	bool same;

	if (fd < 0)
		return;
	got = kt_recv_stream(fd, 1, N_HALF, &same);
	if (got != N_HALF || !same) {
		report(ctl, "server: read %ld of %d bytes (%s)", got, N_HALF,
		       same ? "matching" : "differ");
		return;
	}
	if (!eof_seen(fd, "server", true, ctl))
		return;
	/* the other direction still flows */
	got = kt_send_stream(fd, 2, M_HALF, 16384);
	if (got != M_HALF)
		report(ctl, "server: send after the peer's EOF: %ld (%s)", got,
		       ename(got < 0 ? -got : 0));
	close(fd);
}

static bool t_half_c2s(void)
{
	struct srv s;
	long got, w;
	bool same, good = true;
	int fd;

	if (!srv_start(&s, SOCK_STREAM, srv_half_c2s))
		return false;
	fd = kconnect(SOCK_STREAM, s.port);
	if (fd < 0)
		return fail("connect: %s", ename(errno));
	w = kt_send_stream(fd, 1, N_HALF, 16384);
	if (w != N_HALF)
		good = fail("client sent %ld", w);
	if (shutdown(fd, SHUT_WR))
		good = fail("shutdown(SHUT_WR): %s", ename(errno));
	if (send(fd, "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
		good = fail("send after SHUT_WR: not EPIPE (%s)", ename(errno));
	got = kt_recv_stream(fd, 2, M_HALF, &same);
	if (got != M_HALF || !same)
		good = fail("client read %ld of %d bytes after its SHUT_WR (%s)", got,
			    M_HALF, same ? "matching" : "differ");
	else if (!eof_seen(fd, "client", false, 0))
		good = false;
	close(fd);
	return srv_end(&s, 10) && good;
}

/* the server shuts down its writing side first */
static void srv_half_s2c(int lfd, int ctl)
{
	int fd = srv_accept(lfd, ctl, 5);
	long got;
	bool same;
	char c;

	if (fd < 0)
		return;
	if (recv(fd, &c, 1, 0) != 1) {
		report(ctl, "server: no hello");
		return;
	}
	got = kt_send_stream(fd, 1, N_HALF, 16384);
	if (got != N_HALF || shutdown(fd, SHUT_WR)) {
		report(ctl, "server: sent %ld, shutdown %s", got, strerror(errno));
		return;
	}
	got = kt_recv_stream(fd, 2, M_HALF, &same);
	if (got != M_HALF || !same) {
		report(ctl, "server: read %ld of %d bytes after its SHUT_WR (%s)",
		       got, M_HALF, same ? "matching" : "differ");
		return;
	}
	eof_seen(fd, "server", true, ctl);
	close(fd);
}

static bool t_half_s2c(void)
{
	struct srv s;
	long got, w;
	bool same, good = true;
	int fd;

	if (!srv_start(&s, SOCK_STREAM, srv_half_s2c))
		return false;
	fd = kconnect(SOCK_STREAM, s.port);
	if (fd < 0)
		return fail("connect: %s", ename(errno));
	if (send(fd, "h", 1, 0) != 1)
		good = fail("hello: %s", ename(errno));
	got = kt_recv_stream(fd, 1, N_HALF, &same);
	if (got != N_HALF || !same)
		good = fail("client read %ld of %d bytes (%s)", got, N_HALF,
			    same ? "matching" : "differ");
	else if (!eof_seen(fd, "client", false, 0))
		good = false;
	w = kt_send_stream(fd, 2, M_HALF, 16384);
	if (w != M_HALF)
		good = fail("client send after the peer's EOF: %ld (%s)", w,
			    ename(w < 0 ? -w : 0));
	close(fd);
	return srv_end(&s, 10) && good;
}

#define SEQ_N	40
#define SEQ_SZ	3000
#define SEQ_M	10
#define SEQ_MSZ	1000

static void fill(uint8_t *buf, int i, size_t n)
{
	for (size_t k = 0; k < n; k++)
		buf[k] = (uint8_t)(i * 31 + k * 7);
}

/* @n messages of @sz each (content by index), then recv 0; 0 or -1 */
static int seq_read(int fd, int n, size_t sz, char *why, size_t wlen)
{
	uint8_t buf[65536], want[SEQ_SZ];
	ssize_t r;

	for (int i = 0; i < n; i++) {
		r = recv(fd, buf, sizeof(buf), 0);
		fill(want, i, sz);
		if (r != (ssize_t)sz || memcmp(buf, want, sz)) {
			snprintf(why, wlen, "message %d: recv %zd (%s), want %zu", i,
				 r, ename(r < 0 ? errno : 0), sz);
			return -1;
		}
	}
	r = recv(fd, buf, sizeof(buf), 0);
	if (r) {
		snprintf(why, wlen, "after %d messages recv %zd (%s), want 0", n, r,
			 ename(r < 0 ? errno : 0));
		return -1;
	}
	return 0;
}

static int seq_write(int fd, int n, size_t sz)
{
	uint8_t buf[SEQ_SZ];

	for (int i = 0; i < n; i++) {
		fill(buf, i, sz);
		if (send(fd, buf, sz, MSG_NOSIGNAL) != (ssize_t)sz)
			return -1;
	}
	return 0;
}

static void srv_seq(int lfd, int ctl)
{
	int fd = srv_accept(lfd, ctl, 5);
	char why[200];

	if (fd < 0)
		return;
	if (seq_read(fd, SEQ_N, SEQ_SZ, why, sizeof(why))) {
		report(ctl, "server: %s", why);
		return;
	}
	if (seq_write(fd, SEQ_M, SEQ_MSZ))
		report(ctl, "server: send after the peer's EOF: %s", strerror(errno));
	close(fd);
}

static bool t_seqpacket(void)
{
	struct srv s;
	char why[200];
	bool good = true;
	int fd;

	if (!srv_start(&s, SOCK_SEQPACKET, srv_seq))
		return false;
	fd = kconnect(SOCK_SEQPACKET, s.port);
	if (fd < 0)
		return fail("connect: %s", ename(errno));
	if (seq_write(fd, SEQ_N, SEQ_SZ))
		good = fail("client send: %s", ename(errno));
	if (shutdown(fd, SHUT_WR))
		good = fail("shutdown(SHUT_WR): %s", ename(errno));
	if (seq_read(fd, SEQ_M, SEQ_MSZ, why, sizeof(why)))
		good = fail("client: %s", why);
	close(fd);
	return srv_end(&s, 10) && good;
}

/* A port in NS_A where nothing listens (below the ephemeral range). */
static int closed_port(void)
{
	return C.port_base;
}

static bool t_refused(void)
{
	double t0 = kt_now(), dt;
	int fd = ksock(SOCK_STREAM), r, e;

	if (fd < 0)
		return fail("socket: %s", ename(errno));
	/* an answer must come from the ICMP error, not from a timeout */
	set_connect_timeout(fd, 10000);
	r = kconnect_fd(fd, closed_port());
	e = errno;
	dt = kt_now() - t0;
	close(fd);
	note("connect() %s after %.2f s", rstr(r, e), dt);
	return r == -1 && e == ECONNREFUSED && dt < 3;
}

/* a non-blocking connect: EINPROGRESS, then poll; revents and SO_ERROR */
static bool nb_connect(int fd, int port, double secs, short *rev, int *soerr,
		       double *dt, int *state_pending)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	double t0 = kt_now();
	socklen_t len = sizeof(*soerr);
	int r, e;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	r = kconnect_fd(fd, port);
	e = errno;
	if (r != -1 || e != EINPROGRESS)
		return fail("non-blocking connect() %s, want EINPROGRESS", rstr(r, e));
	if (state_pending)
		*state_pending = kinfo_state(fd);
	r = poll(&p, 1, (int)(secs * 1000));
	*dt = kt_now() - t0;
	*rev = r == 1 ? p.revents : 0;
	*soerr = -1;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, soerr, &len);
	return true;
}

static bool t_refused_nb(void)
{
	int fd = ksock(SOCK_STREAM), soerr;
	double dt;
	short rev;
	bool good;

	if (fd < 0)
		return fail("socket: %s", ename(errno));
	set_connect_timeout(fd, 10000);
	good = nb_connect(fd, closed_port(), 5, &rev, &soerr, &dt, NULL);
	close(fd);
	if (!good)
		return false;
	note("poll revents %#x after %.2f s, SO_ERROR %s", rev, dt, ename(soerr));
	return (rev & POLLERR) && soerr == ECONNREFUSED && dt < 3;
}

static void srv_idle(int lfd, int ctl)
{
	int fd = srv_accept(lfd, ctl, 5);

	ctl_get(ctl, 20);
	if (fd >= 0)
		close(fd);
}

static bool t_connect_nb(void)
{
	struct srv s;
	int fd, soerr, r, e, st;
	double dt;
	short rev;
	bool good;

	if (!srv_start(&s, SOCK_STREAM, srv_idle))
		return false;
	fd = ksock(SOCK_STREAM);
	if (fd < 0)
		return fail("socket: %s", ename(errno));
	good = nb_connect(fd, s.port, 5, &rev, &soerr, &dt, NULL);
	if (good) {
		r = kconnect_fd(fd, s.port);
		e = errno;
		st = kinfo_state(fd);
		note("poll revents %#x after %.2f s, SO_ERROR %s, connect() again %s, state %d",
		     rev, dt, ename(soerr), rstr(r, e), st);
		good = (rev & POLLOUT) && !(rev & (POLLERR | POLLHUP)) && !soerr &&
		       (r == 0 || e == EISCONN) && st == KCP_ESTABLISHED && dt < 3;
	}
	ctl_put(s.ctl, 'x');
	close(fd);
	return srv_end(&s, 5) && good;
}

/* drop every datagram to @port in NS_A (0: remove the rules) */
static bool nft_drop(int port)
{
	char cmd[256];

	if (!C.nft)
		return fail("no nft table (-nft)");
	if (port)
		snprintf(cmd, sizeof(cmd),
			 "ip netns exec %s nft add rule inet %s in meta l4proto { tcp, udp } th dport %d drop",
			 C.ns_a, C.nft, port);
	else
		snprintf(cmd, sizeof(cmd), "ip netns exec %s nft flush chain inet %s in",
			 C.ns_a, C.nft);
	if (system(cmd))
		return fail("'%s' failed", cmd);
	return true;
}

static bool t_blackhole(void)
{
	int fd = ksock(SOCK_STREAM), r, e, port = C.port_base + 1;
	double t0, dt;

	if (fd < 0)
		return fail("socket: %s", ename(errno));
	if (set_connect_timeout(fd, 2000))
		return fail("KCP_CONNECT_TIMEOUT: %s", ename(errno));
	if (!nft_drop(port))
		return false;
	t0 = kt_now();
	r = kconnect_fd(fd, port);
	e = errno;
	dt = kt_now() - t0;
	close(fd);
	nft_drop(0);
	note("connect() %s after %.2f s (connect timeout 2000 ms)", rstr(r, e), dt);
	return r == -1 && e == ETIMEDOUT && dt >= 1.5 && dt <= 4;
}

static bool t_blackhole_nb(void)
{
	int fd = ksock(SOCK_STREAM), soerr = -1, r, e, st, port = C.port_base + 2;
	struct pollfd p = { .events = POLLOUT };
	socklen_t len = sizeof(soerr);
	double t0, dt;
	bool good;

	if (fd < 0)
		return fail("socket: %s", ename(errno));
	if (set_connect_timeout(fd, 2000))
		return fail("KCP_CONNECT_TIMEOUT: %s", ename(errno));
	if (!nft_drop(port))
		return false;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	t0 = kt_now();
	r = kconnect_fd(fd, port);
	e = errno;
	if (r != -1 || e != EINPROGRESS) {
		close(fd);
		nft_drop(0);
		return fail("non-blocking connect() %s, want EINPROGRESS", rstr(r, e));
	}
	/* pending: SYN_SENT, EALREADY, nothing to poll yet */
	st = kinfo_state(fd);
	p.fd = fd;
	poll(&p, 1, 200);
	r = kconnect_fd(fd, port);
	e = errno;
	note("pending: state %d, revents %#x, connect() again %s", st, p.revents,
	     rstr(r, e));
	good = st == KCP_SYN_SENT && !p.revents && r == -1 && e == EALREADY;
	p.revents = 0;
	poll(&p, 1, 6000);
	dt = kt_now() - t0;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	note("then revents %#x after %.2f s, SO_ERROR %s", p.revents, dt, ename(soerr));
	good = good && (p.revents & POLLERR) && soerr == ETIMEDOUT &&
	       dt >= 1.5 && dt <= 4;
	close(fd);
	nft_drop(0);
	return good;
}

/* write the stream until killed */
static void srv_writer(int lfd, int ctl)
{
	int fd = srv_accept(lfd, ctl, 5);
	char c;

	if (fd < 0 || recv(fd, &c, 1, 0) != 1) {
		report(ctl, "server: no hello");
		return;
	}
	ctl_put(ctl, 'a');
	kt_send_stream(fd, 3, (size_t)1 << 34, 65536);
	report(ctl, "server: the writer was not killed");
}

/* the writer is killed: the reader's read ends with 0 or ECONNRESET */
static bool t_killed_writer(void)
{
	struct kt_rng rng;
	static uint8_t buf[65536], want[65536];
	struct srv s;
	long total = 0, at_kill = 0;
	ssize_t r = 0;
	double t0 = 0;
	bool same = true;
	int fd, e = 0;

	if (!srv_start(&s, SOCK_STREAM, srv_writer))
		return false;
	fd = kconnect(SOCK_STREAM, s.port);
	if (fd < 0)
		return fail("connect: %s", ename(errno));
	kt_rng_init(&rng, 3);
	if (send(fd, "h", 1, 0) != 1 || ctl_get(s.ctl, 5) != 'a') {
		close(fd);
		srv_end(&s, 1);
		return fail("the server did not accept");
	}
	/* let the writer fill the buffers: data is in flight at the kill */
	usleep(500000);
	for (;;) {
		r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = r ? errno : 0;
			break;
		}
		kt_rng_fill(&rng, want, r);
		same = same && !memcmp(buf, want, r);
		total += r;
		if (!t0 && total >= 256 * 1024) {
			kill(s.pid, SIGKILL);
			t0 = kt_now();
			at_kill = total;
		}
	}
	close(fd);
	srv_reap(&s);
	if (!t0)
		return fail("recv %zd %s after %ld bytes, before the kill", r,
			    ename(e), total);
	note("read %ld bytes (%s, %ld after SIGKILL), then %s %.2f s after it",
	     total, same ? "the stream" : "NOT the stream", total - at_kill,
	     r ? ename(e) : "EOF", kt_now() - t0);
	return same && (r == 0 || e == ECONNRESET) && kt_now() - t0 < 10;
}

/* read the hello, then nothing: the client's data stays unread */
static void srv_nonreader(int lfd, int ctl)
{
	int fd = srv_accept(lfd, ctl, 5);
	char c;

	if (fd < 0 || recv(fd, &c, 1, 0) != 1) {
		report(ctl, "server: no hello");
		return;
	}
	ctl_put(ctl, 'a');
	ctl_get(ctl, 60);
	report(ctl, "server: the reader was not killed");
}

struct writer {
	int fd;
	long sent;
	int done, err;
	double t_end;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	static char buf[65536];
	ssize_t r;

	for (;;) {
		r = send(w->fd, buf, sizeof(buf), MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		__atomic_add_fetch(&w->sent, r, __ATOMIC_RELAXED);
	}
	w->err = r < 0 ? errno : 0;
	w->t_end = kt_now();
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static bool writer_done(struct writer *w)
{
	return __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
}

/* the reader is killed with data unread: the blocked writer gets an error */
static bool t_killed_reader(void)
{
	struct writer w = { 0 };
	pthread_t th;
	struct srv s;
	long last = -1, now;
	double t_still = kt_now(), t0 = 0, end;
	int fd;

	if (!srv_start(&s, SOCK_STREAM, srv_nonreader))
		return false;
	fd = kconnect(SOCK_STREAM, s.port);
	if (fd < 0)
		return fail("connect: %s", ename(errno));
	if (send(fd, "h", 1, 0) != 1 || ctl_get(s.ctl, 5) != 'a') {
		close(fd);
		srv_end(&s, 1);
		return fail("the server did not accept");
	}
	w.fd = fd;
	if (pthread_create(&th, NULL, writer_main, &w))
		return fail("pthread_create");
	/* until the writer has been blocked for a second (20 s at most) */
	for (end = kt_now() + 20; kt_now() < end && !writer_done(&w); usleep(50000)) {
		now = __atomic_load_n(&w.sent, __ATOMIC_RELAXED);
		if (now != last) {
			last = now;
			t_still = kt_now();
		} else if (kt_now() - t_still >= 1) {
			break;
		}
	}
	if (!writer_done(&w) && kt_now() < end) {
		kill(s.pid, SIGKILL);
		t0 = kt_now();
		while (!writer_done(&w) && kt_now() < t0 + 12)
			usleep(20000);
	}
	srv_reap(&s);
	now = __atomic_load_n(&w.sent, __ATOMIC_RELAXED);
	if (!t0)
		return fail("the writer %s after %ld bytes (%s)",
			    writer_done(&w) ? "stopped" : "never blocked", now,
			    ename(w.err));
	if (!writer_done(&w))
		/* the thread is left to the runner's SIGKILL */
		return fail("sent %ld bytes, the write still blocks 12 s after SIGKILL",
			    now);
	pthread_join(th, NULL);
	close(fd);
	note("sent %ld bytes, the blocked write failed with %s %.2f s after SIGKILL",
	     now, ename(w.err), w.t_end - t0);
	return (w.err == ECONNRESET || w.err == EPIPE) && w.t_end - t0 < 10;
}

/* close() with the client's data unread (@linger0: SO_LINGER {1, 0}) */
static void srv_reset(int lfd, int ctl, bool linger0)
{
	int fd = srv_accept(lfd, ctl, 5);
	struct linger l = { 1, 0 };
	char c;

	if (fd < 0 || recv(fd, &c, 1, 0) != 1) {
		report(ctl, "server: no hello");
		return;
	}
	ctl_get(ctl, 10);	/* the client has sent what it sends */
	if (!linger0) {
		/* data waits unread (the client's 64 KiB after the hello) */
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 5000) != 1) {
			report(ctl, "server: no data to leave unread");
			return;
		}
	}
	usleep(100000);
	if (linger0 && setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)))
		report(ctl, "server: SO_LINGER: %s", strerror(errno));
	close(fd);
	ctl_put(ctl, 'c');
	ctl_get(ctl, 10);
}

static void srv_unread(int lfd, int ctl)
{
	srv_reset(lfd, ctl, false);
}

static void srv_linger0(int lfd, int ctl)
{
	srv_reset(lfd, ctl, true);
}

static bool reset_test(srv_fn fn, size_t extra)
{
	static char buf[65536];
	struct srv s;
	double t0, dt;
	ssize_t r, r2;
	int fd, e, e2;

	if (!srv_start(&s, SOCK_STREAM, fn))
		return false;
	fd = kconnect(SOCK_STREAM, s.port);
	if (fd < 0)
		return fail("connect: %s", ename(errno));
	kt_set_timeo(fd, SO_RCVTIMEO, 8);
	if (send(fd, "h", 1, 0) != 1 ||
	    (extra && send(fd, buf, extra, 0) != (ssize_t)extra))
		note("client send: %s", ename(errno));
	if (!ctl_put(s.ctl, 'g') || ctl_get(s.ctl, 10) != 'c') {
		close(fd);
		srv_end(&s, 1);
		return fail("the server did not close");
	}
	t0 = kt_now();
	r = recv(fd, buf, sizeof(buf), 0);
	e = errno;
	dt = kt_now() - t0;
	/* later writes: EPIPE (one ECONNRESET first is what TCP may give) */
	r2 = send(fd, buf, 100, MSG_NOSIGNAL);
	e2 = errno;
	if (r2 == -1 && e2 == ECONNRESET) {
		r2 = send(fd, buf, 100, MSG_NOSIGNAL);
		e2 = errno;
	}
	close(fd);
	ctl_put(s.ctl, 'x');
	note("recv %s %.2f s after the peer's close, then send %s", rstr(r, e), dt,
	     rstr(r2, e2));
	return srv_end(&s, 5) && r == -1 && e == ECONNRESET && r2 == -1 &&
	       e2 == EPIPE && dt < 5;
}

static bool t_close_unread(void)
{
	return reset_test(srv_unread, 65536);
}

static bool t_linger0(void)
{
	return reset_test(srv_linger0, 0);
}

/* accept, echo one byte at a time, until told to stop */
static void srv_echo(int lfd, int ctl)
{
	int fd = srv_accept(lfd, ctl, 5);
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
			       { .fd = ctl, .events = POLLIN } };
	char c;

	if (fd < 0)
		return;
	ctl_put(ctl, 'a');
	while (poll(p, 2, 30000) > 0 && !p[1].revents) {
		if (recv(fd, &c, 1, 0) != 1 || send(fd, &c, 1, 0) != 1)
			break;
	}
	close(fd);
}

static bool t_keepalive(void)
{
	struct srv s;
	double t0, dt = 0;
	ssize_t r;
	char c = 'k';
	int fd, e = 0;
	bool good = true;

	if (!srv_start(&s, SOCK_STREAM, srv_echo))
		return false;
	fd = ksock(SOCK_STREAM);
	if (fd < 0)
		return fail("socket: %s", ename(errno));
	if (set_keepalive(fd, 1, 1, 3)) {
		close(fd);
		srv_reap(&s);
		return fail("SO_KEEPALIVE/KCP_KEEP*: %s", ename(errno));
	}
	if (kconnect_fd(fd, s.port) || send(fd, "h", 1, 0) != 1 ||
	    recv(fd, &c, 1, 0) != 1 || ctl_get(s.ctl, 5) != 'a') {
		close(fd);
		srv_reap(&s);
		return fail("connect/echo: %s", ename(errno));
	}
	/* idle 4 s with a live peer: probes are answered, nothing ends */
	sleep(4);
	kt_set_timeo(fd, SO_RCVTIMEO, 5);
	if (send(fd, "i", 1, 0) != 1 || recv(fd, &c, 1, 0) != 1 || c != 'i')
		good = fail("after 4 idle s with a live peer: %s", ename(errno));
	/* now the peer falls silent: probes go unanswered */
	kt_set_timeo(fd, SO_RCVTIMEO, 15);
	if (good && nft_drop(s.port)) {
		t0 = kt_now();
		r = recv(fd, &c, 1, 0);
		e = errno;
		dt = kt_now() - t0;
		nft_drop(0);
		note("silent peer: recv %s after %.2f s (idle 1, intvl 1, cnt 3)",
		     rstr(r, e), dt);
		good = r == -1 && e == ETIMEDOUT && dt >= 2.5 && dt <= 7;
	} else if (good) {
		good = false;
	}
	close(fd);
	ctl_put(s.ctl, 'x');
	srv_end(&s, 5);	/* the server's session may end its own way */
	return good;
}

/*
 * Time-wait: a fake peer (a plain UDP socket, the test's) speaks the
 * extension to a listener, ends its accepted session with FIN both ways,
 * then sends what a peer whose last ACK was lost would: the tombstone
 * must answer it, once per 100 ms, and never answer a RST.
 */
#define TW_DATA		"time-wait data"
#define TW_LEN		(sizeof(TW_DATA) - 1)

/* accept, report kcpi_ext, read TW_DATA and EOF, close */
static void srv_tw(int lfd, int ctl)
{
	int fd = srv_accept(lfd, ctl, 5);
	char buf[64];
	long got, ext;
	ssize_t r;

	if (fd < 0)
		return;
	ext = kinfo_ext(fd);
	ctl_put(ctl, ext == 1 ? '1' : '0');
	kt_set_timeo(fd, SO_RCVTIMEO, 5);
	got = recv_all(fd, buf, TW_LEN);
	r = recv(fd, buf, 1, 0);
	if (got != (long)TW_LEN || memcmp(buf, TW_DATA, TW_LEN) || r) {
		report(ctl, "server: read %ld bytes (%s), then %s, want %zu and 0",
		       got, got == (long)TW_LEN ? "checked" : "short",
		       rstr(r, errno), TW_LEN);
		return;
	}
	close(fd);
	ctl_put(ctl, 'c');
	/* the listener (and its UDP port) stays until the test is done */
	ctl_get(ctl, 20);
}

/* a counter of /proc/PID/net/kcp_snmp (PID's namespace), or -1 */
static long long snmp_of(pid_t pid, const char *name)
{
	char path[64], key[64];
	long long v, found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/kcp_snmp", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", key, &v) == 2)
		if (!strcmp(key, name))
			found = v;
	fclose(f);
	return found;
}

static void tw_put(int u, uint8_t cmd, uint8_t frg, uint32_t ts, uint32_t sn,
		   uint32_t una, const char *data, uint32_t len, uint32_t conv)
{
	uint8_t b[KT_SEG_HDR + 64];

	kt_seg_hdr(b, conv, cmd, frg, 32, ts, sn, una, len);
	memcpy(b + KT_SEG_HDR, data, len);
	if (send(u, b, KT_SEG_HDR + len, 0) < 0)
		note("send cmd %u: %s", cmd, ename(errno));
}

/*
 * Wait up to @ms for a segment of @conv with @cmd (0: a marked WASK or
 * WINS) and, if @sn >= 0, that sn; the server's WASKs get a marked WINS,
 * as the peer it confirms would send. False on timeout.
 */
static bool tw_wait(int u, uint32_t conv, int cmd, long sn, int ms,
		    struct kt_seg *out)
{
	double end = kt_now() + ms / 1000.0;
	struct kt_seg s[16];
	uint8_t b[2048];
	int n, i;

	for (;;) {
		struct pollfd p = { .fd = u, .events = POLLIN };
		int left = (int)((end - kt_now()) * 1000);
		ssize_t r;

		if (left <= 0 || poll(&p, 1, left) != 1)
			return false;
		r = recv(u, b, sizeof(b), MSG_DONTWAIT);
		n = r > 0 ? kt_segs_parse(b, r, s, 16) : 0;
		for (i = 0; i < n; i++) {
			bool mark = s[i].ts == KT_EXT_MARK && s[i].frg == 1 &&
				    (s[i].cmd == KCP_CMD_WASK || s[i].cmd == KCP_CMD_WINS);

			if (s[i].conv != conv)
				continue;
			if (s[i].cmd == KCP_CMD_WASK && cmd != KCP_CMD_WASK)
				tw_put(u, KCP_CMD_WINS, 1, KT_EXT_MARK, 0, 0, "", 0, conv);
			if ((cmd ? s[i].cmd == cmd : mark) && (sn < 0 || s[i].sn == sn)) {
				*out = s[i];
				return true;
			}
		}
	}
}

/* anything at all from the server within @ms: the first segment's cmd, or 0 */
static int tw_any(int u, int ms)
{
	struct pollfd p = { .fd = u, .events = POLLIN };
	uint8_t b[2048];
	ssize_t r;

	if (poll(&p, 1, ms) != 1)
		return 0;
	r = recv(u, b, sizeof(b), MSG_DONTWAIT);
	return r >= KT_SEG_HDR ? b[4] : -1;
}

static bool t_timewait(void)
{
	struct sockaddr_in a;
	uint32_t conv = 0x7a000000u | (getpid() & 0xffffff);
	long long rst0, drop0, rst1, drop1;
	struct kt_seg seg;
	struct srv s;
	double t;
	bool good = false;
	int u, c, any;

	if (!srv_start(&s, SOCK_STREAM, srv_tw))
		return false;
	a = kt_addr4(C.ip_a, s.port);
	u = socket(AF_INET, SOCK_DGRAM, 0);
	if (u < 0 || connect(u, (struct sockaddr *)&a, sizeof(a))) {
		srv_reap(&s);
		return fail("UDP socket: %s", ename(errno));
	}
	/* a marked WASK opens the session and offers the extension */
	tw_put(u, KCP_CMD_WASK, 1, KT_EXT_MARK, 0, 0, "", 0, conv);
	if (!tw_wait(u, conv, 0, 0, 3000, &seg)) {
		note("no marked WASK/WINS (ts %#x, frg 1) from the server in 3 s",
		     KT_EXT_MARK);
		goto out;
	}
	c = ctl_get(s.ctl, 5);
	if (c != '1') {
		note("server: kcpi_ext %s", c == '0' ? "not 1" : "unknown (no accept?)");
		goto out;
	}
	tw_put(u, KCP_CMD_PUSH, 0, 100, 0, 0, TW_DATA, TW_LEN, conv);
	tw_put(u, KCP_CMD_FIN, 0, 101, 1, 0, "", 0, conv);
	if (ctl_get(s.ctl, 5) != 'c') {
		note("the server did not read the data and EOF, or did not close");
		goto out;
	}
	if (!tw_wait(u, conv, KCP_CMD_FIN, -1, 3000, &seg) || seg.sn) {
		note("no FIN sn 0 from the server's close in 3 s");
		goto out;
	}
	/* acknowledged (ACK and una 1): both directions ended, a tombstone */
	tw_put(u, KCP_CMD_ACK, 0, seg.ts, 0, 1, "", 0, conv);
	while (tw_any(u, 300))
		;
	rst0 = snmp_of(s.pid, "OutRsts");
	drop0 = snmp_of(s.pid, "TimeWaitDrop");

	/* (a) the FIN again, as if our ACK of it had been lost */
	tw_put(u, KCP_CMD_FIN, 0, 101, 1, 1, "", 0, conv);
	if (!tw_wait(u, conv, KCP_CMD_ACK, -1, 1000, &seg)) {
		note("no ACK for the repeated FIN sn 1 in 1 s (no time-wait answer)");
		goto out;
	}
	if (seg.sn != 1 || seg.ts != 101) {
		note("repeated FIN: ACK sn %u ts %u, want sn 1 ts 101", seg.sn, seg.ts);
		goto out;
	}
	/* (b) new data past the FIN, after the 100 ms answer limit */
	usleep(150000);
	tw_put(u, KCP_CMD_PUSH, 0, 102, 2, 1, "late", 4, conv);
	if (!tw_wait(u, conv, KCP_CMD_RST, -1, 1000, &seg)) {
		note("no RST for new data (PUSH sn 2) in 1 s");
		goto out;
	}
	if (seg.sn != 1 || seg.una != 2 || seg.frg != 1 || seg.len) {
		note("RST sn %u una %u frg %u len %u, want sn 1 una 2 frg 1 len 0",
		     seg.sn, seg.una, seg.frg, seg.len);
		goto out;
	}
	/* (c) a RST is never answered, even past the 100 ms limit */
	usleep(150000);
	tw_put(u, KCP_CMD_RST, 1, 0, 3, 1, "", 0, conv);
	t = kt_now();
	any = tw_any(u, 300);
	if (any) {
		note("cmd %d back %.0f ms after our RST, want nothing", any,
		     (kt_now() - t) * 1000);
		goto out;
	}
	rst1 = snmp_of(s.pid, "OutRsts");
	drop1 = snmp_of(s.pid, "TimeWaitDrop");
	note("OutRsts +%lld, TimeWaitDrop +%lld", rst1 - rst0, drop1 - drop0);
	good = rst0 >= 0 && drop0 >= 0 && rst1 - rst0 == 1 && drop1 - drop0 >= 3;
out:
	close(u);
	ctl_put(s.ctl, 'x');
	return srv_end(&s, 5) && good;
}

/* ---- the runner ---- */

static void run_test(const char *name, bool (*fn)(void), int bound, bool ext)
{
	double t0 = kt_now();
	int st = 0;
	pid_t pid;

	if (ext && !C.have_ext) {
		kt_skip("no session extension in this module", "%s", name);
		return;
	}
	memset(V, 0, sizeof(*V));
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		kt_result(0, "%s: fork: %s", name, strerror(errno));
		return;
	}
	if (!pid) {
		setpgid(0, 0);
		kt_join_netns(C.ns_b);
		alarm(bound);
		_exit(fn() ? 0 : 1);
	}
	setpgid(pid, pid);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (kt_now() - t0 > bound + 2) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(20000);
	}
	kill(-pid, SIGKILL);	/* whatever the test left behind */
	while (waitpid(-pid, NULL, WNOHANG) > 0)
		;
	if (WIFSIGNALED(st))
		kt_result(0, "%s: no verdict within %d s (signal %d)%s%s", name, bound,
			  WTERMSIG(st), V->msg[0] ? ": " : "", V->msg);
	else
		kt_result(WIFEXITED(st) && !WEXITSTATUS(st), "%s%s%s%s", name,
			  V->msg[0] ? " (" : "", V->msg, V->msg[0] ? ")" : "");
}

static int probe_ext(int *val)
{
	socklen_t len = sizeof(*val);
	int fd = kt_socket(SOCK_STREAM), r, e;

	if (fd < 0)
		return -errno;
	r = getsockopt(fd, SOL_KCP, KCP_SESSION_EXT, val, &len);
	e = errno;
	close(fd);
	return r ? -e : 0;
}

static int do_tests(int argc, char **argv)
{
	const struct kt_opt opts[] = {
		{ "-A", KT_STR, &C.ns_a }, { "-B", KT_STR, &C.ns_b },
		{ "-a", KT_STR, &C.ip_a }, { "-nft", KT_STR, &C.nft },
		{ "-port-base", KT_INT, &C.port_base }, { "-tcp", KT_FLAG, &C.tcp },
		{ "-force", KT_FLAG, &C.force }, { NULL },
	};
	int val = 0, r;

	if (kt_parse_args("session tests", argc, argv, 2, opts, NULL) ||
	    !C.ns_a || !C.ns_b) {
		fprintf(stderr, "usage: session tests -A NS_A -B NS_B [-a IP_A] [-nft TABLE] [-port-base P]\n");
		return 2;
	}
	V = mmap(NULL, sizeof(*V), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (V == MAP_FAILED)
		kt_die("mmap");
	if (C.tcp) {
		C.have_ext = true;
		kt_diag("-tcp: the tests on TCP sockets");
	} else {
		r = probe_ext(&val);
		C.have_ext = !r || C.force;
		kt_diag("KCP_SESSION_EXT: %s%s", r ? ename(-r) : val ? "1 (offered)" : "0",
			r && C.force ? " (-force: the tests run anyway)" : "");
	}

	if (C.tcp)
		kt_skip("TCP has no KCP_INFO", "KCP_INFO kcpi_ext is 1 on both AF_KCP endpoints");
	else
		run_test("KCP_INFO kcpi_ext is 1 on both AF_KCP endpoints", t_ext, 15, true);
	run_test("half-close: client SHUT_WR, server reads 512 KiB then EOF (POLLIN|POLLRDHUP), sends 256 KiB back",
		 t_half_c2s, 40, true);
	run_test("half-close: server SHUT_WR, client reads 512 KiB then EOF (POLLIN|POLLRDHUP), sends 256 KiB back",
		 t_half_s2c, 40, true);
	if (C.tcp)
		kt_skip("TCP has no SOCK_SEQPACKET",
			"SOCK_SEQPACKET: 40 messages, SHUT_WR, EOF after the last; 10 messages back, EOF");
	else
		run_test("SOCK_SEQPACKET: 40 messages, SHUT_WR, EOF after the last; 10 messages back, EOF",
			 t_seqpacket, 30, true);
	run_test("connect() to a closed port: ECONNREFUSED within 3 s", t_refused, 10, true);
	run_test("non-blocking connect() to a closed port: EINPROGRESS, POLLERR, SO_ERROR ECONNREFUSED",
		 t_refused_nb, 10, true);
	run_test("non-blocking connect() to a listener: EINPROGRESS, POLLOUT, SO_ERROR 0, ESTABLISHED",
		 t_connect_nb, 10, true);
	run_test("connect() to a black hole, KCP_CONNECT_TIMEOUT 2000: ETIMEDOUT after 1.5-4 s",
		 t_blackhole, 10, true);
	run_test("non-blocking connect() to a black hole: SYN_SENT, EALREADY, then POLLERR, SO_ERROR ETIMEDOUT after 1.5-4 s",
		 t_blackhole_nb, 10, true);
	run_test("writer killed (SIGKILL) mid-transfer: the reader reads the stream, then 0 or ECONNRESET within 10 s",
		 t_killed_writer, 30, true);
	run_test("reader killed (SIGKILL) with data unread: the blocked write fails ECONNRESET/EPIPE within 10 s",
		 t_killed_reader, 45, true);
	run_test("close() with unread data: the peer's read ECONNRESET, then write EPIPE",
		 t_close_unread, 25, true);
	run_test("close() with SO_LINGER {1, 0}: the peer's read ECONNRESET, then write EPIPE",
		 t_linger0, 25, true);
	run_test("SO_KEEPALIVE, KCP_KEEPIDLE 1, KEEPINTVL 1, KEEPCNT 3: a live idle peer stays, a silent one ends in ETIMEDOUT in ~4 s",
		 t_keepalive, 35, true);
	if (C.tcp)
		kt_skip("TCP has no KCP wire to fake",
			"time-wait: a repeated FIN gets an ACK, new data a RST, a RST nothing");
	else
		run_test("time-wait: a repeated FIN gets an ACK, new data a RST, a RST nothing",
			 t_timewait, 20, true);
	return kt_done();
}

/* ---- probe, send, recv, httpd ---- */

static int do_probe(void)
{
	int val = 0, r = probe_ext(&val);

	if (r == -ENOPROTOOPT) {
		printf("EXT none\n");
		return 0;
	}
	if (r) {
		printf("EXT error %s\n", ename(-r));
		return 1;
	}
	printf("EXT %d\n", val);
	return 0;
}

static void print_info(int fd)
{
	struct kcp_info ki;
	socklen_t len;
	bool has;

	if (kinfo(fd, &ki, &len)) {
		printf("INFO error=%s\n", ename(errno));
		return;
	}
	/* a module without kcpi_ext fills less: its peers speak none */
	has = len >= EXT_END && ki.kcpi_len >= EXT_END;
	printf("INFO ext=%u ext_field=%d len=%u state=%u retrans=%llu\n",
	       has ? ki.kcpi_ext : 0, has, ki.kcpi_len, ki.kcpi_state,
	       (unsigned long long)ki.kcpi_retrans_segs);
}

struct xfer {
	const char *addr, *listen, *file, *nft;
	struct kt_kcpopts k;
	long long bytes;
	unsigned long long seed;
	double timeout;
};

static int do_xfer(bool sender, struct xfer *x)
{
	struct sockaddr_storage ss;
	struct kcp_info ki;
	socklen_t slen, len;
	double t0;
	long got;
	bool same = true;
	int fd, lfd = -1;

	if (kt_parse_addr(sender ? x->addr : x->listen, &ss, &slen)) {
		fprintf(stderr, "session: need %s HOST:PORT\n", sender ? "-a" : "-l");
		return 2;
	}
	alarm((unsigned int)x->timeout + 1);
	fd = socket(kt_family(), SOCK_STREAM, 0);
	if (fd < 0)
		kt_die("socket(AF_KCP)");
	kt_kcpopts_tune(&x->k, fd);
	if (!sender) {
		lfd = fd;
		if (bind(lfd, (struct sockaddr *)&ss, slen) || listen(lfd, 4))
			kt_die("bind/listen");
		printf("LISTEN %d\n", kt_port_of(lfd));
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			kt_die("accept");
		kt_kcpopts_tune(&x->k, fd);
	} else if (connect(fd, (struct sockaddr *)&ss, slen)) {
		kt_die("connect");
	}
	t0 = kt_now();
	if (sender) {
		got = kt_send_stream(fd, x->seed, x->bytes, 65536);
		/* all of it acknowledged before close() */
		while (kt_now() < t0 + x->timeout && !kinfo(fd, &ki, &len) &&
		       ki.kcpi_snd_buf + ki.kcpi_snd_queue)
			usleep(10000);
	} else {
		got = kt_recv_stream(fd, x->seed, x->bytes, &same);
	}
	print_info(fd);
	close(fd);
	if (lfd >= 0)
		close(lfd);
	printf("RESULT ok=%d bytes=%ld match=%d secs=%.3f\n",
	       got == x->bytes && same, got, same, kt_now() - t0);
	return got == x->bytes && same ? 0 : 1;
}

/*
 * The AF_KCP client of session.sh's keepalive test against a kcp-go echo
 * server: a live idle peer must answer the probes (kcp-go's WINS), a
 * silenced one (an nft rule in this namespace dropping what comes from
 * its port) must end the session in ETIMEDOUT.
 */
static int do_keepalive(struct xfer *x)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	char cmd[256];
	socklen_t slen;
	double t0, dt = 0;
	ssize_t r = 0;
	int fd, e = 0;
	bool alive = false, ok;
	char c = 'h';

	if (!x->addr || kt_parse_addr(x->addr, &ss, &slen) || ss.ss_family != AF_INET ||
	    !x->nft) {
		fprintf(stderr, "session keepalive: need -a IPv4:PORT -nft TABLE\n");
		return 2;
	}
	alarm((unsigned int)x->timeout + 1);
	fd = kt_socket(SOCK_STREAM);
	if (fd < 0)
		kt_die("socket(AF_KCP)");
	kt_kcpopts_tune(&x->k, fd);
	if (set_keepalive(fd, 1, 1, 3))
		kt_die("SO_KEEPALIVE/KCP_KEEP*");
	if (connect(fd, (struct sockaddr *)&ss, slen))
		kt_die("connect");
	kt_set_timeo(fd, SO_RCVTIMEO, 5);
	if (send(fd, &c, 1, 0) != 1 || recv(fd, &c, 1, 0) != 1 || c != 'h')
		kt_die("hello echo");
	print_info(fd);
	/* idle: only keepalive probes and kcp-go's answers on the wire */
	sleep(5);
	c = 'i';
	alive = send(fd, &c, 1, 0) == 1 && recv(fd, &c, 1, 0) == 1 && c == 'i';
	if (!alive)
		printf("# after 5 idle s: %s\n", ename(errno));
	snprintf(cmd, sizeof(cmd), "nft add rule inet %s in udp sport %d drop",
		 x->nft, ntohs(sin->sin_port));
	if (alive && system(cmd)) {
		printf("# '%s' failed\n", cmd);
		alive = false;
	}
	if (alive) {
		kt_set_timeo(fd, SO_RCVTIMEO, 15);
		t0 = kt_now();
		r = recv(fd, &c, 1, 0);
		e = errno;
		dt = kt_now() - t0;
	}
	close(fd);
	ok = alive && r == -1 && e == ETIMEDOUT && dt >= 2.5 && dt <= 7;
	printf("KEEPALIVE alive=%d silent=%s secs=%.2f\n", alive,
	       alive ? rstr(r, e) : "-", dt);
	printf("RESULT ok=%d\n", ok);
	return ok ? 0 : 1;
}

static int do_httpd(struct xfer *x)
{
	static const char head[] = "HTTP/1.0 200 OK\r\n"
		"Content-Type: application/octet-stream\r\n"
		"Connection: close\r\n\r\n";
	static char req[8192], buf[65536];
	struct sockaddr_storage ss;
	socklen_t slen;
	size_t n = 0;
	ssize_t r;
	int lfd, fd, file, one = 1;

	if (kt_parse_addr(x->listen, &ss, &slen) || !x->file) {
		fprintf(stderr, "session httpd: need -l HOST:PORT -file PATH\n");
		return 2;
	}
	alarm((unsigned int)x->timeout);
	file = open(x->file, O_RDONLY);
	/* a TCP socket: "kcpctl run" turns it into AF_KCP */
	lfd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (file < 0 || lfd < 0)
		kt_die("open/socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, slen) || listen(lfd, 4))
		kt_die("bind/listen");
	printf("LISTEN %d\n", kt_port_of(lfd));
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		kt_die("accept");
	while (n < sizeof(req) - 1) {
		r = recv(fd, req + n, sizeof(req) - 1 - n, 0);
		if (r <= 0)
			kt_die("recv request");
		n += r;
		req[n] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	if (send(fd, head, sizeof(head) - 1, MSG_NOSIGNAL) != sizeof(head) - 1)
		kt_die("send");
	while ((r = read(file, buf, sizeof(buf))) > 0)
		if (send(fd, buf, r, MSG_NOSIGNAL) != r)
			kt_die("send");
	/* the response ends with the connection: close() must deliver all */
	if (close(fd))
		kt_die("close");
	printf("SENT %s\n", x->file);
	return 0;
}

int main(int argc, char **argv)
{
	const char *usage = "session probe | tests -A NS_A -B NS_B ... | send -a HOST:PORT ... | "
		"recv -l HOST:PORT ... | httpd -l HOST:PORT -file PATH | "
		"keepalive -a IP:PORT -nft TABLE ...";
	struct xfer x = { .k = KT_KCPOPTS_INIT, .bytes = 1 << 20, .seed = 1,
			  .timeout = 60 };
	const struct kt_opt opts[] = {
		{ "-a", KT_STR, &x.addr }, { "-l", KT_STR, &x.listen },
		{ "-file", KT_STR, &x.file }, { "-nft", KT_STR, &x.nft },
		{ "-bytes", KT_LL, &x.bytes },
		{ "-seed", KT_ULL, &x.seed }, { "-timeout", KT_DBL, &x.timeout },
		{ NULL },
	};
	const char *mode;
	int nofile_err;

	mode = kt_cli_start(argc, argv, usage, 0, &nofile_err);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "probe"))
		return do_probe();
	if (!strcmp(mode, "tests"))
		return do_tests(argc, argv);
	if (kt_parse_args("session", argc, argv, 2, opts, &x.k))
		return 2;
	if (!strcmp(mode, "send") || !strcmp(mode, "recv"))
		return do_xfer(!strcmp(mode, "send"), &x);
	if (!strcmp(mode, "httpd"))
		return do_httpd(&x);
	if (!strcmp(mode, "keepalive"))
		return do_keepalive(&x);
	fprintf(stderr, "usage: %s\n", usage);
	return 2;
}
