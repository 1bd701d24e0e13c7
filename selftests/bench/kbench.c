// SPDX-License-Identifier: GPL-2.0
/*
 * kbench: the benchmark peer of selftests/bench for AF_KCP, TCP and UDP;
 * kgob/main.go is its kcp-go twin (same options, same data, same checks,
 * same timed window, same RESULT lines).
 *
 * Bulk transfers are either size-bounded or time-bounded:
 *
 *   -bytes N: the client sends exactly N bytes per session, then waits
 *         for the server's one-byte answer and closes; the server reads
 *         N bytes per session, answers, and reports goodput over its
 *         timed window: from the first payload byte to the last one (of
 *         all -n sessions), with the guest's CPU time in that window
 *         (/proc/stat, all CPUs: cpu_busy_s).
 *   -time T: the client sends for T plus -grace G seconds; the server
 *         counts the payload bytes that arrive within T seconds of the
 *         first one (over all -n sessions) and reports that as goodput;
 *         it reads on (uncounted) for G + 0.5 s more, so the sender's
 *         tail is received, not dropped.
 *
 *   Stream data is the xorshift64* stream of seed 1 (kcptest.h) repeated
 *   with a period of PAT_PERIOD bytes, prepared before anything is timed;
 *   the server compares every byte it reads with it (check=ok|bad).
 *
 *   rr:   open loop: the client sends a -rrsize record every -rrgap ms
 *         (whatever the answers do, so a stall cannot hide behind the
 *         pacing), the server echoes, the client times every record from
 *         its send to the return of its last byte; records not back within
 *         -drain seconds of the last send count as lost (infinite latency).
 *   udp:  -parallel sockets send -size datagrams with sendmmsg(), 32 per
 *         call, or (-gso) 32-segment UDP_SEGMENT buffers; -rate M paces
 *         them to M Mbit/s in total (unpaced: as fast as the sender can).
 *         The server (recvmmsg with MSG_WAITFORONE: it sleeps only when
 *         nothing is queued; -gro sets UDP_GRO) counts the UDP payload
 *         delivered to it. With -bytes N the client sends N bytes (rounded
 *         up to whole datagrams) and the server ends -idle seconds after
 *         the last datagram; loss_pct = what did not arrive.
 *
 *   kbench server -p kcp|tcp|udp -a ADDR:PORT -role sink|echo [-n N] ...
 *   kbench client -p kcp|tcp|udp -a ADDR:PORT -role send|rr [-parallel P]
 *   kbench probe [-fec D,P] [-crypt NAME]   exit 0 supported, 3 ENOPROTOOPT
 *
 * Options: -bytes N -time T -grace G -timeout S -idle S -size B -rate MBIT
 *   -gso -gro -rr N -rrsize B -rrgap MS -drain S -marker TRACE_MARKER
 *   AF_KCP: -preset NAME -nodelay a,b,c,d -wnd S,R -mtu N -fec D,P
 *           -crypt NAME -key PASS -linger MS -acknodelay
 *   TCP: -cc NAME (TCP_CONGESTION); any: -rcvbuf N -sndbuf N -v
 *   -netns NAME (run in network namespace /run/netns/NAME)
 *
 * Output: "LISTEN <port>" (server), then one RESULT line, e.g.
 *   RESULT ok=1 role=sink proto=kcp sessions=1 bytes=.. window_s=..
 *          goodput_kbps=.. per_session=.. check=ok [secs=.. cpu_busy_s=..]
 *   RESULT ok=1 role=rr proto=kcp rr=N answered=.. lost=.. p50_ms=..
 *          p99_ms=.. p999_ms=.. max_ms=.. mean_ms=..
 * and KINFO lines (the engine's KCP_INFO, TCP_INFO for TCP) per session.
 */
#include "../lib/cli.h"
#include <math.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/resource.h>

#define RR_MAGIC	0x6b62726bu	/* "krbk" */
#define RR_BYE		0xffffffffu
#define BULK_CHUNK	65536
#define READ_MAX	(4 * BULK_CHUNK)
/*
 * The stream's period: prime, so a lost or repeated 64 KiB write shifts
 * the data against the pattern and fails the check.
 */
#define PAT_PERIOD	65521
#define UDP_BATCH	32	/* datagrams per sendmmsg() or GSO buffer */
#define DONE_BYTE	'D'	/* -bytes: the server's "all received" */

enum proto { P_KCP, P_TCP, P_UDP };

struct cfg {
	const char *mode, *role, *addr, *cc, *marker;
	enum proto proto;
	bool verbose, gso, gro;
	struct kt_kcpopts k;
	int rcvbuf, sndbuf;
	int n, parallel, size, rr, rrsize;
	long long bytes;
	double time, grace, timeout, idle, rate, rrgap, drain;
};

static struct cfg C = {
	.k = KT_KCPOPTS_INIT, .n = 1, .parallel = 1,
	.size = 1350, .rr = 1000, .rrsize = 64, .time = 5, .grace = 1,
	.timeout = 30, .idle = 10, .rrgap = 10, .drain = 5,
};

/*
 * The stream: PAT_PERIOD bytes of xorshift64* (seed 1), repeated for
 * READ_MAX more bytes, so that the data at any stream offset o is
 * pat + o % PAT_PERIOD for up to READ_MAX bytes. Made before any timing;
 * the sender and the checking receiver only index it (kgob does the same).
 */
static uint8_t *pat;

static void pat_init(void)
{
	struct kt_rng r;
	int i;

	pat = malloc(PAT_PERIOD + READ_MAX);
	if (!pat)
		kt_die("malloc");
	kt_rng_init(&r, 1);
	kt_rng_fill(&r, pat, PAT_PERIOD);
	/* READ_MAX > PAT_PERIOD: the period repeats, byte by byte */
	for (i = PAT_PERIOD; i < PAT_PERIOD + READ_MAX; i++)
		pat[i] = pat[i - PAT_PERIOD];
}

static inline const uint8_t *pat_at(long long off)
{
	return pat + off % PAT_PERIOD;
}

/*
 * The whole guest's CPU time so far, in seconds (the "cpu" line of
 * /proc/stat): busy = user + nice + system + irq + softirq + steal,
 * total = busy + idle + iowait. Under QEMU's instruction-count clock a
 * busy second is 1e9 guest instructions.
 */
struct cpu_sample {
	double busy, total;
};

static struct cpu_sample cpu_now(void)
{
	unsigned long long u = 0, n = 0, s = 0, i = 0, w = 0, q = 0, sq = 0, st = 0;
	struct cpu_sample c = { 0, 0 };
	double hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return c;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &u, &n,
		   &s, &i, &w, &q, &sq, &st) == 8) {
		c.busy = (u + n + s + q + sq + st) / hz;
		c.total = c.busy + (i + w) / hz;
	}
	fclose(f);
	return c;
}

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

/*
 * -marker PATH (tracefs's trace_marker): the timed window's ends as
 * ftrace markers, "bench_first" and "bench_last", from which
 * selftests/bench/busy.awk adds up the time in between when any CPU was
 * not idle (the guest's instructions under QEMU's icount clock, where
 * /proc/stat counts a CPU busy while another one runs).
 */
static int marker_fd = -1;

static void marker_open(const char *path)
{
	marker_fd = open(path, O_WRONLY | O_CLOEXEC);
	if (marker_fd < 0)
		kt_die(path);
}

static void marker(const char *what)
{
	if (marker_fd >= 0 && write(marker_fd, what, strlen(what)) < 0)
		marker_fd = -1;
}

/* ---------------------------------------------------------------- sink */

static double t_first;		/* first payload byte, 0 before */
static double t_last;		/* -bytes: the last session's last byte */
static struct cpu_sample cpu_first, cpu_last;
static long long *sess_bytes;

static void note_first(double now)
{
	pthread_mutex_lock(&lock);
	if (!t_first) {
		t_first = now;
		cpu_first = cpu_now();
		if (C.bytes)
			marker("bench_first");
	}
	pthread_mutex_unlock(&lock);
}

/* -bytes: a session has all of its bytes at @now; the last one ends it */
static void note_last(double now)
{
	static int sessions_in;
	struct cpu_sample c = cpu_now();

	pthread_mutex_lock(&lock);
	if (now > t_last) {
		t_last = now;
		cpu_last = c;
	}
	if (++sessions_in == C.n)
		marker("bench_last");
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
	long long got;		/* stream bytes read (and checked) */
	long long bad_at;	/* offset of the first byte that differs, -1 */
	bool done;		/* -bytes: all of them, answered */
};

/* Compare @n bytes just read at stream offset s->got with the pattern. */
static void check_data(struct sess *s, const uint8_t *buf, size_t n)
{
	size_t i;

	if (s->bad_at >= 0 || !memcmp(buf, pat_at(s->got), n))
		return;
	for (i = 0; i < n && buf[i] == pat_at(s->got)[i]; i++)
		;
	s->bad_at = s->got + i;
}

/*
 * -bytes: read until the session's -bytes are in (each byte checked),
 * answer with one byte so the client may close, then wait for its close.
 */
static void sink_bytes(struct sess *s, uint8_t *buf)
{
	char c = DONE_BYTE;

	kt_set_timeo(s->fd, SO_RCVTIMEO, C.timeout);
	while (s->got < C.bytes) {
		size_t want = C.bytes - s->got < READ_MAX ? C.bytes - s->got : READ_MAX;
		ssize_t r = recv(s->fd, buf, want, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		note_first(kt_now());
		check_data(s, buf, r);
		s->got += r;
	}
	note_last(kt_now());
	__atomic_store_n(&sess_bytes[s->id], s->got, __ATOMIC_RELAXED);
	if (send(s->fd, &c, 1, MSG_NOSIGNAL) != 1)
		return;
	s->done = true;
	/* the client's end-of-file (a TCP RST now could drop the answer) */
	kt_set_timeo(s->fd, SO_RCVTIMEO, 2);
	while (recv(s->fd, buf, READ_MAX, 0) > 0)
		;
}

static void *sink_session(void *p)
{
	struct sess *s = p;
	uint8_t *buf = malloc(READ_MAX);

	tune(s->fd);
	if (C.bytes) {
		sink_bytes(s, buf);
		free(buf);
		return NULL;
	}
	kt_set_timeo(s->fd, SO_RCVTIMEO, 0.05);
	for (;;) {
		ssize_t r = recv(s->fd, buf, READ_MAX, 0);
		double now = kt_now(), end;

		if (r > 0) {
			note_first(now);
			check_data(s, buf, r);
			s->got += r;
		}
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
	double start = kt_now(), secs;
	long long total = 0, bad_at = -1;
	int lfd = listen_socket(), n = 0, i, ok;
	char per[1024] = "";

	sess_bytes = calloc(C.n, sizeof(*sess_bytes));
	while (n < C.n) {
		double end = window_end();
		int fd = accept_until(lfd, end && !C.bytes ? end : start + C.timeout);

		if (fd < 0)
			break;
		s[n].fd = fd;
		s[n].id = n;
		s[n].bad_at = -1;
		pthread_create(&s[n].th, NULL, sink_session, &s[n]);
		n++;
	}
	for (i = 0; i < n; i++)
		pthread_join(s[i].th, NULL);
	ok = n == C.n;
	for (i = 0; i < n; i++) {
		size_t l = strlen(per);

		total += sess_bytes[i];
		snprintf(per + l, sizeof(per) - l, "%s%lld", i ? "," : "",
			 sess_bytes[i]);
		print_info(s[i].fd, "rx", i);
		if (s[i].bad_at >= 0 && bad_at < 0)
			bad_at = s[i].bad_at;
		if (C.bytes && !s[i].done)
			ok = 0;
	}
	ok = ok && total > 0 && bad_at < 0;
	if (C.bytes) {
		secs = t_last > t_first ? t_last - t_first : 0;
		printf("RESULT ok=%d role=sink proto=%s sessions=%d bytes=%lld "
		       "secs=%.4f window_s=%.4f goodput_kbps=%.0f "
		       "cpu_busy_s=%.3f cpu_total_s=%.3f check=%s bad_at=%lld "
		       "per_session=%s\n", ok, proto_name(), n, total, secs, secs,
		       secs > 0 ? total * 8 / 1000.0 / secs : 0,
		       cpu_last.busy - cpu_first.busy,
		       cpu_last.total - cpu_first.total,
		       bad_at < 0 ? "ok" : "bad", bad_at, per[0] ? per : "-");
	} else {
		printf("RESULT ok=%d role=sink proto=%s sessions=%d bytes=%lld "
		       "window_s=%.3f goodput_kbps=%.0f check=%s bad_at=%lld "
		       "per_session=%s\n", ok, proto_name(), n, total, C.time,
		       total * 8 / 1000.0 / C.time, bad_at < 0 ? "ok" : "bad",
		       bad_at, per[0] ? per : "-");
	}
	fflush(stdout);
	for (i = 0; i < n; i++) {
		struct linger lg = { 1, 0 };

		/* time-bounded: the client may still send; do not wait */
		if (C.proto == P_TCP && !C.bytes)
			setsockopt(s[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(s[i].fd);
	}
	close(lfd);
	return !ok;
}

/*
 * UDP: one socket counts what arrives. recvmmsg() with MSG_WAITFORONE
 * blocks only while nothing is queued and then takes whatever is, so the
 * receiver does not sleep and wake per datagram once it falls behind.
 * With -gro (UDP_GRO) a buffer may hold a whole GSO train.
 */
static int run_udp_sink(void)
{
	int batch = C.gro ? 16 : 64;
	size_t blen = C.gro ? 65536 : 2048;
	char *bufs = malloc(batch * blen);
	struct mmsghdr *m = calloc(batch, sizeof(*m));
	struct iovec *iov = calloc(batch, sizeof(*iov));
	double start = kt_now(), last = 0, secs;
	long long bytes = 0, dgrams = 0, coalesced = 0, want = 0;
	struct cpu_sample c1;
	int fd = listen_socket(), i, one = 1, ok;

	if (C.gro && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)))
		kt_die("UDP_GRO");
	/* what the client sends for -bytes: whole datagrams */
	if (C.bytes)
		want = (C.bytes + C.size - 1) / C.size * C.size;
	for (i = 0; i < batch; i++) {
		iov[i].iov_base = bufs + i * blen;
		iov[i].iov_len = blen;
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	kt_set_timeo(fd, SO_RCVTIMEO, 0.05);
	for (;;) {
		int r = recvmmsg(fd, m, batch, MSG_WAITFORONE, NULL);
		double now = kt_now(), end;

		if (r > 0) {
			note_first(now);
			last = now;
		}
		for (i = 0; i < r; i++) {
			bytes += m[i].msg_len;
			dgrams++;
			coalesced += m[i].msg_len > (unsigned int)C.size;
		}
		if (C.bytes) {
			/* all in, or nothing for -idle s: the rest is lost */
			if (bytes >= want || (last && now > last + C.idle)) {
				marker("bench_last");
				break;
			}
			if (!last && now > start + C.timeout)
				break;
			continue;
		}
		end = window_end();
		if (end && now > end)
			break;
		if (!end && now > start + C.timeout)
			break;
	}
	if (C.bytes) {
		/*
		 * CPU up to now rather than to the last datagram: after it
		 * the guest is idle but for this loop's 50 ms timeouts.
		 */
		c1 = cpu_now();
		secs = last - t_first;
		ok = bytes > 0 && secs > 0;
		printf("RESULT ok=%d role=sink proto=udp sessions=1 bytes=%lld "
		       "datagrams=%lld coalesced=%lld expected=%lld loss_pct=%.3f "
		       "secs=%.4f window_s=%.4f goodput_kbps=%.0f cpu_busy_s=%.3f "
		       "cpu_total_s=%.3f gro=%d per_session=%lld\n", ok, bytes,
		       dgrams, coalesced, want,
		       want > bytes ? 100.0 * (want - bytes) / want : 0.0, secs,
		       secs, ok ? bytes * 8 / 1000.0 / secs : 0,
		       c1.busy - cpu_first.busy, c1.total - cpu_first.total,
		       C.gro, bytes);
	} else {
		ok = bytes > 0;
		printf("RESULT ok=%d role=sink proto=udp sessions=1 bytes=%lld "
		       "datagrams=%lld window_s=%.3f goodput_kbps=%.0f "
		       "per_session=%lld\n", ok, bytes, dgrams, C.time,
		       bytes * 8 / 1000.0 / C.time, bytes);
	}
	fflush(stdout);
	close(fd);
	return !ok;
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
static int send_failed;

/* Send the stream in BULK_CHUNK writes: -bytes of it, or until send_end. */
static void *send_session(void *p)
{
	struct sess *s = p;
	long long sent = 0;
	char c;

	kt_set_timeo(s->fd, SO_SNDTIMEO, C.bytes ? C.timeout : 0.05);
	while (C.bytes ? sent < C.bytes : kt_now() < send_end) {
		size_t len = BULK_CHUNK;
		ssize_t w;

		if (C.bytes && C.bytes - sent < (long long)len)
			len = C.bytes - sent;
		w = send(s->fd, pat_at(sent), len, MSG_NOSIGNAL);
		if (w > 0) {
			sent += w;
		} else if (C.bytes || (errno != EAGAIN && errno != EINTR)) {
			if (errno == EINTR)
				continue;
			pthread_mutex_lock(&lock);
			printf("ERROR session=%d send: %s after %lld bytes\n",
			       s->id, strerror(errno), sent);
			pthread_mutex_unlock(&lock);
			__atomic_store_n(&send_failed, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	/* -bytes: the server's answer says all arrived; then close */
	if (C.bytes && sent == C.bytes) {
		kt_set_timeo(s->fd, SO_RCVTIMEO, C.timeout);
		if (recv(s->fd, &c, 1, 0) != 1 || c != DONE_BYTE) {
			pthread_mutex_lock(&lock);
			printf("ERROR session=%d no answer from the server: %s\n",
			       s->id, strerror(errno));
			pthread_mutex_unlock(&lock);
			__atomic_store_n(&send_failed, 1, __ATOMIC_RELAXED);
		}
	}
	print_info(s->fd, "tx", s->id);
	__atomic_add_fetch(&sent_total, sent, __ATOMIC_RELAXED);
	return NULL;
}

/* Sleep until @t (kt_now() seconds). */
static void sleep_until(double t)
{
	struct timespec ts = { (time_t)t, (long)((t - (time_t)t) * 1e9) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/*
 * UDP: UDP_BATCH datagrams per sendmmsg(), or per UDP_SEGMENT buffer with
 * -gso; paced to -rate Mbit/s in total if given: a batch leaves when the
 * bytes before it are due at that rate. A sender that falls behind by more
 * than a batch does not catch up with a burst (which the receiver would
 * see as more than the rate): the schedule restarts from now.
 */
static void *udp_blast(void *p)
{
	struct sess *s = p;
	char *buf = calloc(UDP_BATCH, C.size);
	struct mmsghdr m[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	double due = kt_now(), per_sec = 0;
	long long sent = 0, quota = 0;
	/* a GSO buffer is one UDP datagram: at most 64 KiB */
	int i, seg = C.size, batch = C.gso && UDP_BATCH * C.size > 65000 ?
		65000 / C.size : UDP_BATCH;

	if (C.gso && setsockopt(s->fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)))
		kt_die("UDP_SEGMENT");
	for (i = 0; i < UDP_BATCH; i++) {
		iov[i].iov_base = buf + i * C.size;
		iov[i].iov_len = C.size;
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	/* -bytes: whole datagrams, shared out among the senders */
	if (C.bytes) {
		long long d = (C.bytes + C.size - 1) / C.size;

		quota = (d / C.parallel + (s->id < d % C.parallel)) * C.size;
	}
	if (C.rate > 0)
		per_sec = C.rate * 1e6 / 8 / C.parallel;
	while (C.bytes ? sent < quota : kt_now() < send_end) {
		int n = batch, r;

		if (C.bytes && (quota - sent) / C.size < n)
			n = (quota - sent) / C.size;
		if (per_sec > 0) {
			double now = kt_now();

			if (due > now)
				sleep_until(due);
			else if (now - due > (double)batch * C.size / per_sec)
				due = now;
			due += (double)n * C.size / per_sec;
		}
		if (C.gso) {
			ssize_t w = send(s->fd, buf, (size_t)n * C.size, 0);

			r = w > 0 ? w / C.size : -1;
		} else {
			r = sendmmsg(s->fd, m, n, 0);
		}
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
	double t0, secs;
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
	secs = kt_now() - t0;
	for (i = 0; i < C.parallel; i++) {
		struct linger lg = { 1, 0 };

		/* time-bounded: what is still queued does not count anyway */
		if (C.proto == P_TCP && !C.bytes)
			setsockopt(s[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(s[i].fd);
	}
	printf("RESULT ok=%d role=send proto=%s sessions=%d sent=%lld secs=%.3f "
	       "offered_kbps=%.0f\n", !send_failed, proto_name(), C.parallel,
	       sent_total, secs, sent_total * 8 / 1000.0 / secs);
	return send_failed;
}

/* ------------------------------------------------------------------ rr */

static double *rr_sent;		/* send time per record, 0 = not yet */
static double *rr_lat;		/* latency in ms, <0 = not back */
static int rr_answered;
static double rr_deadline;	/* set once the last record is out */

static int rr_fd;

static void *rr_reader(void *p __attribute__((unused)))
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
		{ "-drain", KT_DBL, &C.drain }, { "-bytes", KT_LL, &C.bytes },
		{ "-gso", KT_FLAG, &C.gso }, { "-gro", KT_FLAG, &C.gro },
		{ "-marker", KT_STR, &C.marker }, { NULL },
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
	if (C.size < 1 || C.size > 2048) {
		fprintf(stderr, "kbench: -size must be 1..2048\n");
		return 2;
	}
	pat_init();
	if (C.marker && C.bytes && !strcmp(C.mode, "server"))
		marker_open(C.marker);
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
