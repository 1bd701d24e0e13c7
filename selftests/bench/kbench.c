// SPDX-License-Identifier: GPL-2.0
/*
 * kbench: the benchmark peer of selftests/bench for AF_KCP, TCP and UDP;
 * kgob/main.go is its kcp-go twin (same options, same RESULT lines).
 *
 * Everything is time-bounded, so a slow contender costs no more wall time
 * than a fast one:
 *
 *   bulk: the client sends for -time T plus -grace G seconds; the server
 *         counts the payload bytes that arrive within T seconds of the
 *         first one (over all -n sessions) and reports that as goodput;
 *         it reads on (uncounted) for G + 0.5 s more, so the sender's
 *         tail is received, not dropped.
 *   rr:   open loop: the client sends a -rrsize record every -rrgap ms
 *         (whatever the answers do, so a stall cannot hide behind the
 *         pacing), the server echoes, the client times every record from
 *         its send to the return of its last byte; records not back within
 *         -drain seconds of the last send count as lost (infinite latency).
 *   udp:  a raw UDP blast: -parallel sockets send -size datagrams with
 *         sendmmsg() as fast as they can (-rate M paces them to M Mbit/s
 *         in total); the server counts the UDP payload delivered to it.
 *
 *   kbench server -p kcp|tcp|udp -a ADDR:PORT -role sink|echo [-n N] ...
 *   kbench client -p kcp|tcp|udp -a ADDR:PORT -role send|rr [-parallel P]
 *   kbench probe [-fec D,P] [-crypt NAME]   exit 0 supported, 3 ENOPROTOOPT
 *
 * Options: -time T -grace G -timeout S -idle S -size B -rate MBIT
 *   -rr N -rrsize B -rrgap MS -drain S
 *   AF_KCP: -preset NAME -nodelay a,b,c,d -wnd S,R -mtu N -fec D,P
 *           -crypt NAME -key PASS -linger MS -acknodelay
 *   TCP: -cc NAME (TCP_CONGESTION); any: -rcvbuf N -sndbuf N -v
 *   -netns NAME (run in network namespace /run/netns/NAME)
 *
 * Output: "LISTEN <port>" (server), then one RESULT line, e.g.
 *   RESULT ok=1 role=sink proto=kcp sessions=1 bytes=.. window_s=..
 *          goodput_kbps=.. per_session=..
 *   RESULT ok=1 role=rr proto=kcp rr=N answered=.. lost=.. p50_ms=..
 *          p99_ms=.. p999_ms=.. max_ms=.. mean_ms=..
 * and KINFO lines (the engine's KCP_INFO, TCP_INFO for TCP) per session.
 */
#include "../lib/cli.h"
#include <math.h>
#include <netinet/tcp.h>
#include <sys/resource.h>

#define RR_MAGIC	0x6b62726bu	/* "krbk" */
#define RR_BYE		0xffffffffu
#define BULK_CHUNK	65536

enum proto { P_KCP, P_TCP, P_UDP };

struct cfg {
	const char *mode, *role, *addr, *cc;
	enum proto proto;
	bool verbose;
	struct kt_kcpopts k;
	int rcvbuf, sndbuf;
	int n, parallel, size, rr, rrsize;
	double time, grace, timeout, idle, rate, rrgap, drain;
};

static struct cfg C = {
	.k = KT_KCPOPTS_INIT, .n = 1, .parallel = 1,
	.size = 1350, .rr = 1000, .rrsize = 64, .time = 5, .grace = 1,
	.timeout = 30, .idle = 10, .rrgap = 10, .drain = 5,
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static const char *proto_name(void)
{
	static const char *const names[] = { "kcp", "tcp", "udp" };

	return names[C.proto];
}

static void set_bufs(int fd)
{
	if (C.rcvbuf &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &C.rcvbuf, sizeof(int)) &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &C.rcvbuf, sizeof(int)))
		kt_die("SO_RCVBUF");
	if (C.sndbuf &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &C.sndbuf, sizeof(int)) &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &C.sndbuf, sizeof(int)))
		kt_die("SO_SNDBUF");
}

/* Options that must precede connect()/listen(). */
static void tune_early(int fd)
{
	set_bufs(fd);
	if (C.proto == P_TCP) {
		if (C.cc && setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, C.cc,
				       strlen(C.cc)))
			kt_die("TCP_CONGESTION");
		return;
	}
	if (C.proto == P_KCP)
		kt_kcpopts_early(&C.k, fd);
}

/* Per-session settings (also on accepted sockets). */
static void tune(int fd)
{
	int one = 1;

	if (C.proto == P_TCP) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		return;
	}
	if (C.proto == P_KCP)
		kt_kcpopts_tune(&C.k, fd);
}

static int new_socket(int family)
{
	int fd;

	switch (C.proto) {
	case P_KCP:
		fd = kt_socket(SOCK_STREAM);
		break;
	case P_TCP:
		fd = socket(family, SOCK_STREAM, 0);
		break;
	default:
		fd = socket(family, SOCK_DGRAM, 0);
		break;
	}
	if (fd < 0)
		kt_die("socket");
	return fd;
}

/* The engine's (or TCP's) view of a session, for the record. */
static void print_info(int fd, const char *side, int id)
{
	if (C.proto == P_KCP) {
		struct kcp_info i;
		socklen_t len = sizeof(i);

		if (getsockopt(fd, SOL_KCP, KCP_INFO, &i, &len))
			return;
		pthread_mutex_lock(&lock);
		printf("KINFO side=%s id=%d proto=kcp mss=%u rto=%u srtt=%d "
		       "cwnd=%u rmt_wnd=%u snd_wnd=%u rcv_wnd=%u sndq=%u "
		       "sndbuf=%u rcvq=%u rcvbuf=%u in_segs=%llu out_segs=%llu "
		       "retrans=%llu fast=%llu early=%llu lost=%llu "
		       "repeat=%llu in_err=%llu in_pkts=%llu out_pkts=%llu "
		       "bytes_in=%llu bytes_out=%llu fec_rec=%llu "
		       "crypto_err=%llu\n", side, id, i.kcpi_mss, i.kcpi_rto,
		       i.kcpi_srtt, i.kcpi_cwnd, i.kcpi_rmt_wnd,
		       i.kcpi_snd_wnd, i.kcpi_rcv_wnd, i.kcpi_snd_queue,
		       i.kcpi_snd_buf, i.kcpi_rcv_queue, i.kcpi_rcv_buf,
		       (unsigned long long)i.kcpi_in_segs,
		       (unsigned long long)i.kcpi_out_segs,
		       (unsigned long long)i.kcpi_retrans_segs,
		       (unsigned long long)i.kcpi_fast_retrans,
		       (unsigned long long)i.kcpi_early_retrans,
		       (unsigned long long)i.kcpi_lost_segs,
		       (unsigned long long)i.kcpi_repeat_segs,
		       (unsigned long long)i.kcpi_in_errors,
		       (unsigned long long)i.kcpi_in_pkts,
		       (unsigned long long)i.kcpi_out_pkts,
		       (unsigned long long)i.kcpi_bytes_in,
		       (unsigned long long)i.kcpi_bytes_out,
		       (unsigned long long)i.kcpi_fec_recovered,
		       (unsigned long long)i.kcpi_crypto_errors);
		pthread_mutex_unlock(&lock);
	} else if (C.proto == P_TCP) {
		struct tcp_info i;
		socklen_t len = sizeof(i);
		char cc[16] = "";
		socklen_t cl = sizeof(cc) - 1;

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &i, &len))
			return;
		getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &cl);
		pthread_mutex_lock(&lock);
		printf("KINFO side=%s id=%d proto=tcp cc=%s rtt_us=%u "
		       "rttvar_us=%u rto_us=%u cwnd=%u ssthresh=%u "
		       "total_retrans=%u lost=%u reordering=%u\n", side, id, cc,
		       i.tcpi_rtt, i.tcpi_rttvar, i.tcpi_rto, i.tcpi_snd_cwnd,
		       i.tcpi_snd_ssthresh, i.tcpi_total_retrans, i.tcpi_lost,
		       i.tcpi_reordering);
		pthread_mutex_unlock(&lock);
	}
}

/* ---------------------------------------------------------------- sink */

static double t_first;		/* first payload byte, 0 before */
static long long *sess_bytes;

static void note_first(double now)
{
	pthread_mutex_lock(&lock);
	if (!t_first)
		t_first = now;
	pthread_mutex_unlock(&lock);
}

static double window_end(void)
{
	double t;

	pthread_mutex_lock(&lock);
	t = t_first ? t_first + C.time : 0;
	pthread_mutex_unlock(&lock);
	return t;
}

struct sess {
	int fd, id;
	pthread_t th;
};

static void *sink_session(void *p)
{
	struct sess *s = p;
	char *buf = malloc(BULK_CHUNK * 4);

	tune(s->fd);
	kt_set_timeo(s->fd, SO_RCVTIMEO, 0.05);
	for (;;) {
		ssize_t r = recv(s->fd, buf, BULK_CHUNK * 4, 0);
		double now = kt_now(), end;

		if (r > 0)
			note_first(now);
		end = window_end();
		if (r > 0 && now <= end)
			__atomic_add_fetch(&sess_bytes[s->id], r, __ATOMIC_RELAXED);
		/*
		 * Past the window, read on (uncounted) while the client still
		 * sends: a receiver that stops reading early turns the tail of
		 * the transfer into retransmissions and drops, which would
		 * blur the counters of the window.
		 */
		if (end && now > end + C.grace + 0.5)
			break;
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			break;
	}
	free(buf);
	return NULL;
}

static int listen_socket(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (kt_parse_addr(C.addr, &ss, &len))
		kt_die("bad -a");
	fd = new_socket(ss.ss_family);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	tune_early(fd);
	if (C.proto == P_KCP)
		tune(fd);
	if (bind(fd, (struct sockaddr *)&ss, len))
		kt_die("bind");
	if (C.proto != P_UDP && listen(fd, 1024))
		kt_die("listen");
	printf("LISTEN %d\n", kt_port_of(fd));
	fflush(stdout);
	return fd;
}

/* Accept one session within @until (absolute), or -1. */
static int accept_until(int lfd, double until)
{
	while (kt_now() < until) {
		struct pollfd p = { lfd, POLLIN, 0 };
		int ms = (int)((until - kt_now()) * 1000) + 1;

		if (poll(&p, 1, ms > 100 ? 100 : ms) <= 0)
			continue;
		return accept(lfd, NULL, NULL);
	}
	return -1;
}

static int run_sink(void)
{
	struct sess *s = calloc(C.n, sizeof(*s));
	double start = kt_now();
	long long total = 0;
	int lfd = listen_socket(), n = 0, i;
	char per[1024] = "";

	sess_bytes = calloc(C.n, sizeof(*sess_bytes));
	while (n < C.n) {
		double end = window_end();
		int fd = accept_until(lfd, end ? end : start + C.timeout);

		if (fd < 0)
			break;
		s[n].fd = fd;
		s[n].id = n;
		pthread_create(&s[n].th, NULL, sink_session, &s[n]);
		n++;
	}
	for (i = 0; i < n; i++)
		pthread_join(s[i].th, NULL);
	for (i = 0; i < n; i++) {
		size_t l = strlen(per);

		total += sess_bytes[i];
		snprintf(per + l, sizeof(per) - l, "%s%lld", i ? "," : "",
			 sess_bytes[i]);
		print_info(s[i].fd, "rx", i);
	}
	printf("RESULT ok=%d role=sink proto=%s sessions=%d bytes=%lld "
	       "window_s=%.3f goodput_kbps=%.0f per_session=%s\n",
	       n == C.n && total > 0, proto_name(), n, total, C.time,
	       total * 8 / 1000.0 / C.time, per[0] ? per : "-");
	fflush(stdout);
	for (i = 0; i < n; i++) {
		struct linger lg = { 1, 0 };

		if (C.proto == P_TCP)
			setsockopt(s[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(s[i].fd);
	}
	close(lfd);
	return !(n == C.n && total > 0);
}

/* UDP: one socket counts what arrives in the window. */
static int run_udp_sink(void)
{
	enum { BATCH = 64 };
	static char bufs[BATCH][2048];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	double start = kt_now();
	long long bytes = 0, dgrams = 0;
	int fd = listen_socket(), i;

	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	kt_set_timeo(fd, SO_RCVTIMEO, 0.05);
	for (;;) {
		int r = recvmmsg(fd, m, BATCH, 0, NULL);
		double now = kt_now(), end;

		if (r > 0)
			note_first(now);
		end = window_end();
		if (end && now > end)
			break;
		if (!end && now > start + C.timeout)
			break;
		for (i = 0; i < r; i++) {
			bytes += m[i].msg_len;
			dgrams++;
		}
	}
	printf("RESULT ok=%d role=sink proto=udp sessions=1 bytes=%lld "
	       "datagrams=%lld window_s=%.3f goodput_kbps=%.0f per_session=%lld\n",
	       bytes > 0, bytes, dgrams, C.time, bytes * 8 / 1000.0 / C.time,
	       bytes);
	fflush(stdout);
	close(fd);
	return bytes <= 0;
}

/* ---------------------------------------------------------------- echo */

static void *echo_session(void *p)
{
	struct sess *s = p;
	char *buf = malloc(BULK_CHUNK);
	bool bye = false;

	tune(s->fd);
	kt_set_timeo(s->fd, SO_RCVTIMEO, C.idle);
	while (!bye) {
		ssize_t r = recv(s->fd, buf, BULK_CHUNK, 0), off = 0;

		if (r <= 0)
			break;
		/* the client's last record is a bye: answer it, then stop */
		if (r >= C.rrsize) {
			uint32_t seq;

			memcpy(&seq, buf + r - C.rrsize + 4, sizeof(seq));
			bye = seq == RR_BYE;
		}
		while (off < r) {
			ssize_t w = send(s->fd, buf + off, r - off, MSG_NOSIGNAL);

			if (w <= 0)
				goto out;
			off += w;
		}
	}
out:
	print_info(s->fd, "echo", s->id);
	free(buf);
	return NULL;
}

static int run_echo(void)
{
	struct sess *s = calloc(C.n, sizeof(*s));
	double start = kt_now();
	int lfd = listen_socket(), n = 0, i;

	while (n < C.n) {
		int fd = accept_until(lfd, start + C.timeout);

		if (fd < 0)
			break;
		s[n].fd = fd;
		s[n].id = n;
		pthread_create(&s[n].th, NULL, echo_session, &s[n]);
		n++;
	}
	for (i = 0; i < n; i++) {
		pthread_join(s[i].th, NULL);
		close(s[i].fd);
	}
	close(lfd);
	printf("RESULT ok=%d role=echo proto=%s sessions=%d\n", n == C.n,
	       proto_name(), n);
	return n != C.n;
}

/* -------------------------------------------------------------- client */

static int connect_one(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (kt_parse_addr(C.addr, &ss, &len))
		kt_die("bad -a");
	fd = new_socket(ss.ss_family);
	tune_early(fd);
	tune(fd);
	if (connect(fd, (struct sockaddr *)&ss, len))
		kt_die("connect");
	return fd;
}

static double send_end;
static long long sent_total;

static void *send_session(void *p)
{
	struct sess *s = p;
	char *buf = malloc(BULK_CHUNK);
	long long sent = 0;
	int i;

	for (i = 0; i < BULK_CHUNK; i++)
		buf[i] = (char)(i * 131 + 7);
	kt_set_timeo(s->fd, SO_SNDTIMEO, 0.05);
	while (kt_now() < send_end) {
		ssize_t w = send(s->fd, buf, BULK_CHUNK, MSG_NOSIGNAL);

		if (w > 0) {
			sent += w;
		} else if (errno != EAGAIN && errno != EINTR) {
			pthread_mutex_lock(&lock);
			printf("ERROR session=%d send: %s after %lld bytes\n",
			       s->id, strerror(errno), sent);
			pthread_mutex_unlock(&lock);
			break;
		}
	}
	print_info(s->fd, "tx", s->id);
	__atomic_add_fetch(&sent_total, sent, __ATOMIC_RELAXED);
	free(buf);
	return NULL;
}

/* UDP blast: sendmmsg batches, optionally paced to -rate Mbit/s total. */
static void *udp_blast(void *p)
{
	enum { BATCH = 32 };
	struct sess *s = p;
	char *buf = calloc(1, C.size);
	struct mmsghdr m[BATCH];
	struct iovec iov;
	double t0 = kt_now(), per_sec = 0;
	long long sent = 0;
	int i;

	iov.iov_base = buf;
	iov.iov_len = C.size;
	for (i = 0; i < BATCH; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &iov;
		m[i].msg_hdr.msg_iovlen = 1;
	}
	if (C.rate > 0)
		per_sec = C.rate * 1e6 / 8 / C.parallel;
	while (kt_now() < send_end) {
		int r;

		if (per_sec > 0) {
			double ahead = sent / per_sec - (kt_now() - t0);

			if (ahead > 0) {
				usleep(ahead * 1e6);
				continue;
			}
		}
		r = sendmmsg(s->fd, m, BATCH, 0);
		if (r > 0)
			sent += (long long)r * C.size;
		else if (errno == ECONNREFUSED)
			break;		/* the server is gone */
		else if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			break;
	}
	__atomic_add_fetch(&sent_total, sent, __ATOMIC_RELAXED);
	free(buf);
	return NULL;
}

static int run_send(void)
{
	struct sess *s = calloc(C.parallel, sizeof(*s));
	double t0;
	int i;

	for (i = 0; i < C.parallel; i++) {
		s[i].fd = connect_one();
		s[i].id = i;
	}
	t0 = kt_now();
	send_end = t0 + C.time + C.grace;
	for (i = 0; i < C.parallel; i++)
		pthread_create(&s[i].th, NULL,
			       C.proto == P_UDP ? udp_blast : send_session, &s[i]);
	for (i = 0; i < C.parallel; i++)
		pthread_join(s[i].th, NULL);
	for (i = 0; i < C.parallel; i++) {
		struct linger lg = { 1, 0 };

		if (C.proto == P_TCP)
			setsockopt(s[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(s[i].fd);
	}
	printf("RESULT ok=1 role=send proto=%s sessions=%d sent=%lld secs=%.3f "
	       "offered_kbps=%.0f\n", proto_name(), C.parallel, sent_total,
	       kt_now() - t0, sent_total * 8 / 1000.0 / (kt_now() - t0));
	return 0;
}

/* ------------------------------------------------------------------ rr */

static double *rr_sent;		/* send time per record, 0 = not yet */
static double *rr_lat;		/* latency in ms, <0 = not back */
static int rr_answered;
static double rr_deadline;	/* set once the last record is out */

static int rr_fd;

static void *rr_reader(void *p)
{
	char *rec = malloc(C.rrsize);
	int got = 0;

	kt_set_timeo(rr_fd, SO_RCVTIMEO, 0.05);
	while (__atomic_load_n(&rr_answered, __ATOMIC_RELAXED) < C.rr) {
		ssize_t r = recv(rr_fd, rec + got, C.rrsize - got, 0);
		double dl, sent;
		uint32_t magic, seq;

		__atomic_load(&rr_deadline, &dl, __ATOMIC_ACQUIRE);

		if (r <= 0) {
			if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
				if (dl && kt_now() > dl)
					break;
				continue;
			}
			break;
		}
		got += r;
		if (got < C.rrsize)
			continue;
		got = 0;
		memcpy(&magic, rec, 4);
		memcpy(&seq, rec + 4, 4);
		if (magic != RR_MAGIC || seq >= (uint32_t)C.rr)
			continue;
		__atomic_load(&rr_sent[seq], &sent, __ATOMIC_ACQUIRE);
		if (rr_lat[seq] < 0 && sent > 0) {
			rr_lat[seq] = (kt_now() - sent) * 1000;
			__atomic_add_fetch(&rr_answered, 1, __ATOMIC_RELAXED);
		}
	}
	free(rec);
	return NULL;
}

static void fmt_pct(char *out, size_t len, const double *v, int n, double p)
{
	int i = (int)ceil(p * n) - 1;

	if (i < 0)
		i = 0;
	if (isinf(v[i]))
		snprintf(out, len, "inf");
	else
		snprintf(out, len, "%.2f", v[i]);
}

static int run_rr(void)
{
	char *rec = calloc(1, C.rrsize);
	double t0, sum = 0, *v;
	char p50[32], p99[32], p999[32], pmax[32];
	uint32_t magic = RR_MAGIC, seq;
	pthread_t th;
	int i, lost = 0, ok = 1;

	if (C.rrsize < 8)
		C.rrsize = 8;
	rr_sent = calloc(C.rr, sizeof(double));
	rr_lat = malloc(C.rr * sizeof(double));
	v = malloc(C.rr * sizeof(double));
	for (i = 0; i < C.rr; i++)
		rr_lat[i] = -1;
	rr_fd = connect_one();
	pthread_create(&th, NULL, rr_reader, NULL);
	t0 = kt_now();
	memcpy(rec, &magic, 4);
	for (i = 0; i < C.rr; i++) {
		double due = t0 + i * C.rrgap / 1000.0, now = kt_now();
		ssize_t w;

		if (due > now)
			usleep((due - now) * 1e6);
		seq = i;
		memcpy(rec + 4, &seq, 4);
		now = kt_now();
		__atomic_store(&rr_sent[i], &now, __ATOMIC_RELEASE);
		w = send(rr_fd, rec, C.rrsize, MSG_NOSIGNAL);
		if (w != C.rrsize) {
			ok = 0;
			break;
		}
	}
	t0 = kt_now() + C.drain;
	__atomic_store(&rr_deadline, &t0, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	/* tell the echo server we are done; it answers and stops */
	seq = RR_BYE;
	memcpy(rec + 4, &seq, 4);
	send(rr_fd, rec, C.rrsize, MSG_NOSIGNAL | MSG_DONTWAIT);
	print_info(rr_fd, "rr", 0);
	usleep(100000);
	close(rr_fd);

	for (i = 0; i < C.rr; i++) {
		if (rr_lat[i] < 0) {
			v[i] = INFINITY;
			lost++;
		} else {
			v[i] = rr_lat[i];
			sum += v[i];
		}
	}
	qsort(v, C.rr, sizeof(*v), kt_cmp_double);
	fmt_pct(p50, sizeof(p50), v, C.rr, 0.5);
	fmt_pct(p99, sizeof(p99), v, C.rr, 0.99);
	fmt_pct(p999, sizeof(p999), v, C.rr, 0.999);
	fmt_pct(pmax, sizeof(pmax), v, C.rr, 1.0);
	printf("RESULT ok=%d role=rr proto=%s rr=%d answered=%d lost=%d "
	       "p50_ms=%s p99_ms=%s p999_ms=%s max_ms=%s mean_ms=%.2f\n",
	       ok && C.rr - lost > 0, proto_name(), C.rr, C.rr - lost, lost,
	       p50, p99, p999, pmax, C.rr > lost ? sum / (C.rr - lost) : 0);
	return !(ok && C.rr - lost > 0);
}

/* --------------------------------------------------------------- probe */

static int run_probe(void)
{
	int fd = kt_socket(SOCK_STREAM);

	if (fd < 0)
		kt_die("socket(AF_KCP)");
	tune_early(fd);
	tune(fd);
	close(fd);
	printf("SUPPORTED\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *proto = "kcp";
	const struct kt_opt opts[] = {
		{ "-v", KT_FLAG, &C.verbose }, { "-p", KT_STR, &proto },
		{ "-a", KT_STR, &C.addr }, { "-role", KT_STR, &C.role },
		{ "-cc", KT_STR, &C.cc }, { "-rcvbuf", KT_INT, &C.rcvbuf },
		{ "-sndbuf", KT_INT, &C.sndbuf }, { "-n", KT_INT, &C.n },
		{ "-parallel", KT_INT, &C.parallel }, { "-size", KT_INT, &C.size },
		{ "-rate", KT_DBL, &C.rate }, { "-time", KT_DBL, &C.time },
		{ "-grace", KT_DBL, &C.grace }, { "-timeout", KT_DBL, &C.timeout },
		{ "-idle", KT_DBL, &C.idle }, { "-rr", KT_INT, &C.rr },
		{ "-rrsize", KT_INT, &C.rrsize }, { "-rrgap", KT_DBL, &C.rrgap },
		{ "-drain", KT_DBL, &C.drain }, { NULL },
	};
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	C.mode = kt_cli_start(argc, argv, "kbench server|client|probe [options]",
			      65536, &err);
	C.k.unsupported_exit = true;	/* probe: "not supported (yet)" */
	if (kt_parse_args("kbench", argc, argv, 2, opts, &C.k))
		return 2;
	if (!strcmp(proto, "kcp"))
		C.proto = P_KCP;
	else if (!strcmp(proto, "tcp"))
		C.proto = P_TCP;
	else if (!strcmp(proto, "udp"))
		C.proto = P_UDP;
	else
		kt_die("-p must be kcp, tcp or udp");
	if (C.n < 1)
		C.n = 1;
	if (C.parallel < 1)
		C.parallel = 1;
	if (!strcmp(C.mode, "probe"))
		return run_probe();
	if (!C.addr || !C.role)
		kt_die("-a and -role are required");
	if (!strcmp(C.mode, "server")) {
		if (!strcmp(C.role, "sink"))
			return C.proto == P_UDP ? run_udp_sink() : run_sink();
		if (!strcmp(C.role, "echo") && C.proto != P_UDP)
			return run_echo();
	} else if (!strcmp(C.mode, "client")) {
		if (!strcmp(C.role, "send"))
			return run_send();
		if (!strcmp(C.role, "rr") && C.proto != P_UDP)
			return run_rr();
	}
	kt_die("bad mode/role/proto combination");
	return 2;
}
