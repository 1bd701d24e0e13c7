// SPDX-License-Identifier: GPL-2.0
/*
 * kcpt: the kernel-side test peer, the C twin of selftests/peers/kcppeer.
 * Same roles, same data stream (xorshift64*, kcptest.h), same RESULT
 * line, so tests can pair any client with any server. -tcp runs the
 * same workload over TCP for comparisons.
 *
 *   kcpt server -a ADDR:PORT [-role echo|sink|source] [-sessions N] ...
 *   kcpt client -a ADDR:PORT [-role echo|send|recv|rr] [-bytes N] ...
 *
 * Roles: server echo|sink|source|hold (listen, never accept); client
 *   echo|send|recv|rr.
 * Options: -tcp -seq -bytes N -seed S -timeout S -sessions N -parallel P
 *   -msgsize M -rr N -rrsize B -rrgap MS -backlog N -v
 *   -file PATH (client send: the file's bytes) -out PATH (server sink)
 *   and the AF_KCP options of selftests/lib/cli.h (-preset -nodelay -wnd
 *   -mtu -acknodelay -conv -fec -crypt -key -linger -netns).
 */
#include "../lib/cli.h"
#include <netdb.h>
#include <sys/resource.h>

struct cfg {
	const char *mode, *role, *addr, *file, *out;
	bool tcp, seq, verbose;
	struct kt_kcpopts k;
	long long bytes;
	unsigned long long seed;
	double timeout;
	int sessions, parallel, msgsize, rr, rrsize, rrgap, backlog;
};

static struct cfg C = {
	.role = NULL, .k = KT_KCPOPTS_INIT,
	.bytes = 1 << 20, .seed = 1, .timeout = 60, .sessions = 1,
	.parallel = 1, .rr = 0, .rrsize = 64, .rrgap = 10,
	.backlog = 1024,
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static long long tot_bytes;
static int failures, done_sessions;
static double *lat;
static int nlat;

/* Per-socket settings, before connect/listen (or on accepted sockets). */
static void tune(int fd)
{
	int one = 1;

	if (C.tcp)
		setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
	else
		kt_kcpopts_tune(&C.k, fd);
}

/* Options that must precede connect()/listen(). */
static void tune_early(int fd)
{
	if (C.tcp)
		return;
	kt_kcpopts_early(&C.k, fd);
	tune(fd);
}

static int new_socket(int family)
{
	int fd;

	if (C.tcp)
		fd = socket(family, SOCK_STREAM, 0);
	else
		fd = kt_socket(C.seq ? SOCK_SEQPACKET : SOCK_STREAM);
	if (fd < 0)
		kt_die("socket");
	return fd;
}

static void set_timeout(int fd, double secs)
{
	kt_set_timeo(fd, SO_RCVTIMEO, secs);
	kt_set_timeo(fd, SO_SNDTIMEO, secs);
}

/* On failure, the engine's view, to tell a stall from a loss. */
static void dump_info(int fd, int id)
{
	struct sockaddr_in6 pa;
	socklen_t plen = sizeof(pa);
	struct kcp_info i;
	socklen_t len = sizeof(i);

	if (C.tcp || getsockopt(fd, SOL_KCP, KCP_INFO, &i, &len))
		return;
	/* the client's own port is the server's peer port: they pair up */
	if (!strcmp(C.mode, "server"))
		getpeername(fd, (struct sockaddr *)&pa, &plen);
	else
		getsockname(fd, (struct sockaddr *)&pa, &plen);
	pthread_mutex_lock(&out_lock);
	printf("INFO id=%d port=%d state=%u conv=%08x snd_una=%u snd_nxt=%u "
	       "rcv_nxt=%u sndq=%u sndbuf=%u rcvq=%u rcvbuf=%u rmt_wnd=%u "
	       "cwnd=%u rto=%u in=%llu out=%llu lost=%llu fast=%llu "
	       "early=%llu pkts_in=%llu\n", id, ntohs(pa.sin6_port),
	       i.kcpi_state, i.kcpi_conv, i.kcpi_snd_una, i.kcpi_snd_nxt,
	       i.kcpi_rcv_nxt, i.kcpi_snd_queue, i.kcpi_snd_buf,
	       i.kcpi_rcv_queue, i.kcpi_rcv_buf, i.kcpi_rmt_wnd, i.kcpi_cwnd,
	       i.kcpi_rto, (unsigned long long)i.kcpi_in_segs,
	       (unsigned long long)i.kcpi_out_segs,
	       (unsigned long long)i.kcpi_lost_segs,
	       (unsigned long long)i.kcpi_fast_retrans,
	       (unsigned long long)i.kcpi_early_retrans,
	       (unsigned long long)i.kcpi_in_pkts);
	pthread_mutex_unlock(&out_lock);
}

static void session_result(int id, const char *role, long long rx,
			   long long tx, bool ok, double secs, const char *err)
{
	pthread_mutex_lock(&out_lock);
	if (C.verbose || !ok)
		printf("SESSION id=%d role=%s rx=%lld tx=%lld ok=%d secs=%.3f%s%s\n",
		       id, role, rx, tx, ok, secs, err ? " err=" : "",
		       err ? err : "");
	tot_bytes += rx > tx ? rx : tx;
	if (!ok)
		failures++;
	done_sessions++;
	pthread_mutex_unlock(&out_lock);
}

/* Message mode writes: -msgsize M bytes per send(). */
static long send_msgs(int fd, uint64_t seed, long long n)
{
	struct kt_rng r;
	uint8_t *buf = malloc(C.msgsize);
	long long done = 0;

	kt_rng_init(&r, seed);
	while (done < n) {
		int want = n - done < C.msgsize ? n - done : C.msgsize;

		kt_rng_fill(&r, buf, want);
		if (send(fd, buf, want, MSG_NOSIGNAL) != want) {
			free(buf);
			return -errno;
		}
		done += want;
	}
	free(buf);
	return done;
}

/* -file: send a file's bytes instead of the test stream. */
static long send_file(int fd)
{
	FILE *f = fopen(C.file, "rb");
	char buf[65536];
	long done = 0;
	size_t n;

	if (!f)
		return -errno;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		size_t off = 0;

		while (off < n) {
			ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);

			if (w < 0) {
				fclose(f);
				return -errno;
			}
			off += w;
		}
		done += n;
	}
	fclose(f);
	return done;
}

/* -out: a sink that stores what it receives (until the peer is quiet). */
static long recv_file(int fd, long long n)
{
	FILE *f = fopen(C.out, "wb");
	char buf[65536];
	long long done = 0;

	if (!f)
		return -errno;
	while (!n || done < n) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);

		if (r <= 0)
			break;
		fwrite(buf, 1, r, f);
		done += r;
	}
	fclose(f);
	return done;
}

static long do_send(int fd, uint64_t seed, long long n)
{
	if (C.file)
		return send_file(fd);
	if (C.msgsize)
		return send_msgs(fd, seed, n);
	return kt_send_stream(fd, seed, n, 65536);
}

struct echo_arg {
	int fd;
	long long n;
	long res;
};

static void *echo_writer(void *p)
{
	struct echo_arg *a = p;

	a->res = do_send(a->fd, C.seed, a->n);
	return NULL;
}

/* Paced small request/response: latency samples in ms. */
static bool run_rr(int fd)
{
	char *req = calloc(1, C.rrsize), *rsp = malloc(C.rrsize);
	bool ok = true;

	for (int i = 0; i < C.rr; i++) {
		double t0 = kt_now();
		int got = 0;

		memcpy(req, &i, sizeof(i));
		if (send(fd, req, C.rrsize, MSG_NOSIGNAL) != C.rrsize) {
			ok = false;
			break;
		}
		while (got < C.rrsize) {
			ssize_t r = recv(fd, rsp + got, C.rrsize - got, 0);

			if (r <= 0) {
				ok = false;
				break;
			}
			got += r;
		}
		if (!ok || memcmp(req, rsp, C.rrsize)) {
			ok = false;
			break;
		}
		pthread_mutex_lock(&out_lock);
		lat[nlat++] = (kt_now() - t0) * 1000;
		pthread_mutex_unlock(&out_lock);
		if (C.rrgap)
			usleep(C.rrgap * 1000);
	}
	free(req);
	free(rsp);
	return ok;
}

static void *client_session(void *p)
{
	long id = (long)p;
	struct sockaddr_storage ss;
	socklen_t len;
	double t0 = kt_now();
	const char *err = NULL;
	long long rx = 0, tx = 0;
	bool ok = false, same = false;
	int fd;

	if (kt_parse_addr(C.addr, &ss, &len))
		kt_die("bad -a");
	fd = new_socket(ss.ss_family);
	tune_early(fd);
	set_timeout(fd, C.timeout);
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		err = strerror(errno);
		goto out;
	}
	if (!strcmp(C.role, "echo")) {
		struct echo_arg a = { fd, C.bytes, 0 };
		pthread_t w;
		long got;

		pthread_create(&w, NULL, echo_writer, &a);
		got = kt_recv_stream(fd, C.seed, C.bytes, &same);
		pthread_join(w, NULL);
		tx = a.res;
		rx = got;
		ok = a.res == C.bytes && got == C.bytes && same;
	} else if (!strcmp(C.role, "send")) {
		tx = do_send(fd, C.seed, C.bytes);
		ok = C.file ? tx >= 0 : tx == C.bytes;
	} else if (!strcmp(C.role, "recv")) {
		/* the server learns of us from our first datagram */
		send(fd, "H", 1, MSG_NOSIGNAL);
		rx = kt_recv_stream(fd, C.seed, C.bytes, &same);
		ok = rx == C.bytes && same;
	} else if (!strcmp(C.role, "rr")) {
		ok = run_rr(fd);
		tx = rx = (long long)C.rr * C.rrsize;
	}
	if (!ok && !err)
		err = errno ? strerror(errno) : "mismatch";
out:
	if (!ok)
		dump_info(fd, (int)id);
	close(fd);
	session_result(id, C.role, rx, tx, ok, kt_now() - t0, err);
	return NULL;
}

/* One accepted session on the server. */
static void *server_session(void *p)
{
	int fd = (int)(long)p;
	static int ids;
	int id = __sync_fetch_and_add(&ids, 1);
	double t0 = kt_now();
	long long rx = 0, tx = 0;
	bool ok = true;
	char *buf = malloc(65536);

	tune(fd);
	set_timeout(fd, C.timeout);
	if (!strcmp(C.role, "source")) {
		char h;

		/* wait for the client's hello, as kcppeer does */
		ok = recv(fd, &h, 1, 0) == 1;
		if (ok)
			tx = do_send(fd, C.seed, C.bytes);
		ok = ok && tx == C.bytes;
	} else if (!strcmp(C.role, "sink") && C.out) {
		rx = recv_file(fd, C.bytes);
		ok = rx >= 0 && (!C.bytes || rx == C.bytes);
	} else if (!strcmp(C.role, "sink")) {
		bool same;

		rx = kt_recv_stream(fd, C.seed, C.bytes, &same);
		ok = rx == C.bytes && same;
	} else {
		for (;;) {
			ssize_t r = recv(fd, buf, 65536, 0);

			if (r <= 0)
				break;
			rx += r;
			if (send(fd, buf, r, MSG_NOSIGNAL) != r) {
				ok = false;
				break;
			}
			tx += r;
			if (C.bytes && rx >= C.bytes && !C.rr)
				break;
			if (C.rr && rx >= (long long)C.rr * C.rrsize)
				break;
		}
		ok = ok && (!C.bytes || C.rr || rx >= C.bytes);
	}
	free(buf);
	if (C.verbose || !ok)
		dump_info(fd, id);
	/* let close() linger until the peer has everything */
	close(fd);
	session_result(id, C.role, rx, tx, ok, kt_now() - t0,
		       ok ? NULL : strerror(errno));
	return NULL;
}

static void result(double secs)
{
	printf("RESULT ok=%d mode=%s role=%s proto=%s sessions=%d failed=%d "
	       "bytes=%lld secs=%.3f goodput_kbps=%.0f",
	       !failures && done_sessions == C.sessions, C.mode, C.role,
	       C.tcp ? "tcp" : "kcp", done_sessions, failures, tot_bytes,
	       secs, secs > 0 ? tot_bytes * 8 / 1000.0 / secs : 0);
	if (nlat) {
		qsort(lat, nlat, sizeof(*lat), kt_cmp_double);
		printf(" rr=%d p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f",
		       nlat, kt_pct(lat, nlat, 0.5), kt_pct(lat, nlat, 0.99),
		       kt_pct(lat, nlat, 0.999), lat[nlat - 1]);
	}
	printf("\n");
	fflush(stdout);
}

static int run_client(void)
{
	pthread_t *t = calloc(C.sessions, sizeof(*t));
	double t0 = kt_now();
	int next = 0, running = 0, joined = 0;

	lat = calloc((size_t)C.rr * C.sessions + 1, sizeof(*lat));
	while (joined < C.sessions) {
		while (next < C.sessions && running < C.parallel) {
			pthread_create(&t[next], NULL, client_session,
				       (void *)(long)next);
			next++;
			running++;
		}
		pthread_join(t[joined++], NULL);
		running--;
	}
	result(kt_now() - t0);
	return failures || done_sessions != C.sessions;
}

static int run_server(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	double t0 = 0;
	int lfd, n = 0;
	pthread_t *t = calloc(C.sessions ? C.sessions : 1, sizeof(*t));

	if (kt_parse_addr(C.addr, &ss, &len))
		kt_die("bad -a");
	lfd = new_socket(ss.ss_family);
	if (C.tcp) {
		int one = 1;

		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	tune_early(lfd);
	if (bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, C.backlog))
		kt_die("bind/listen");
	printf("LISTEN %d\n", kt_port_of(lfd));
	fflush(stdout);
	if (!strcmp(C.role, "hold")) {
		/* listen, never accept: the accept queue fills up */
		usleep((useconds_t)(C.timeout * 1e6));
		close(lfd);
		return 0;
	}
	set_timeout(lfd, C.timeout);
	while (!C.sessions || n < C.sessions) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!n)
			t0 = kt_now();
		pthread_create(&t[C.sessions ? n : 0], NULL, server_session,
			       (void *)(long)fd);
		if (!C.sessions)
			pthread_detach(t[0]);
		n++;
	}
	for (int i = 0; C.sessions && i < n; i++)
		pthread_join(t[i], NULL);
	close(lfd);
	if (n < C.sessions)
		failures++;
	result(t0 ? kt_now() - t0 : 0);
	return failures != 0;
}

int main(int argc, char **argv)
{
	const struct kt_opt opts[] = {
		{ "-tcp", KT_FLAG, &C.tcp }, { "-seq", KT_FLAG, &C.seq },
		{ "-v", KT_FLAG, &C.verbose }, { "-a", KT_STR, &C.addr },
		{ "-role", KT_STR, &C.role }, { "-bytes", KT_LL, &C.bytes },
		{ "-seed", KT_ULL, &C.seed }, { "-timeout", KT_DBL, &C.timeout },
		{ "-sessions", KT_INT, &C.sessions },
		{ "-parallel", KT_INT, &C.parallel },
		{ "-msgsize", KT_INT, &C.msgsize }, { "-rr", KT_INT, &C.rr },
		{ "-rrsize", KT_INT, &C.rrsize }, { "-rrgap", KT_INT, &C.rrgap },
		{ "-backlog", KT_INT, &C.backlog }, { "-file", KT_STR, &C.file },
		{ "-out", KT_STR, &C.out }, { NULL },
	};
	int err;

	C.mode = kt_cli_start(argc, argv, "kcpt server|client -a ADDR:PORT [options]",
			      65536, &err);
	if (kt_parse_args("kcpt", argc, argv, 2, opts, &C.k))
		return 2;
	if (!C.addr)
		kt_die("-a required");
	if (!C.role)
		C.role = "echo";
	if (C.rr && !strcmp(C.mode, "client"))
		C.role = "rr";
	if (C.parallel < 1)
		C.parallel = 1;
	if (!strcmp(C.mode, "server"))
		return run_server();
	if (!strcmp(C.mode, "client"))
		return run_client();
	kt_die("mode must be server or client");
	return 2;
}
