// SPDX-License-Identifier: GPL-2.0
/*
 * races: multi-threaded stress of AF_KCP paths that run concurrently
 * (selftests/net/races.sh). Each mode runs for a bounded time, checks
 * what it can see from userspace and prints TAP; a kernel report (KASAN,
 * general protection fault, lockdep, WARN) is caught by the VM harness.
 *
 *   races proc [-t SECS]       /proc/net/kcp{,6} readers, small read()s,
 *                              against short sessions opening and closing
 *   races seqpoll [-t SECS]    SOCK_SEQPACKET: poll() and recv() threads on
 *                              one socket, the peer sends and closes
 *   races shutrd               shutdown(SHUT_RD) on a listener with
 *                              children not yet accepted
 *   races server -a ADDR:PORT  listener for "client": children read and
 *                              check the stream, some close mid-transfer
 *   races client -a ADDR:PORT [-t SECS] [-P N]
 *                              sessions that close mid-transfer
 *   races unload -module KO [-rounds N]
 *                              a short transfer, then delete_module in a
 *                              tight loop right after the last close,
 *                              then load KO again
 *
 * Common: -fec D,P  -crypt aes  -P N (threads)  -linger MS (close lingers)
 */
#include "../lib/kcptest.h"
#include <sched.h>
#include <sys/syscall.h>

struct cfg {
	const char *addr, *module;
	double secs;
	int par, fec[2], crypt, linger, rounds, idle;
};

static struct cfg C = { .secs = 5, .par = 4, .linger = 2000, .rounds = 5 };
static volatile int stop;
static double deadline;

static void die(const char *msg)
{
	perror(msg);
	exit(2);
}

/* Run the calling thread on CPU @n modulo the CPUs there are. */
static void pin(int n)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (ncpu < 1)
		return;
	CPU_ZERO(&set);
	CPU_SET(n % ncpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* A 32-byte AES key: any bytes do, both ends use the same. */
static void setup_early(int fd)
{
	if (C.fec[0]) {
		struct kcp_fec f = { C.fec[0], C.fec[1] };

		if (kt_setopt(fd, KCP_FEC, &f, sizeof(f)))
			die("KCP_FEC");
	}
	if (C.crypt) {
		struct kcp_crypto kc = { .cipher = C.crypt, .key_len = 32 };
		int i;

		for (i = 0; i < 32; i++)
			kc.key[i] = (uint8_t)(i * 7 + 1);
		if (kt_setopt(fd, KCP_CRYPTO, &kc, sizeof(kc)))
			die("KCP_CRYPTO");
	}
	if (kt_setint(fd, KCP_PRESET, KCP_PRESET_FAST3) || kt_wnd(fd, 256, 256))
		die("KCP_PRESET/KCP_WNDSIZE");
	if (C.linger >= 0 && kt_setint(fd, KCP_LINGER_TIMEOUT, C.linger))
		die("KCP_LINGER_TIMEOUT");
}

static void set_timeouts(int fd, double secs)
{
	struct timeval tv = { (time_t)secs,
			      (suseconds_t)((secs - (time_t)secs) * 1e6) };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* close() that discards at once (SO_LINGER {1, 0}) */
static void close_abort(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static int connect_to(int type, const struct sockaddr_storage *ss,
		      socklen_t len)
{
	int fd = kt_socket(type);

	if (fd < 0)
		return -1;
	setup_early(fd);
	if (connect(fd, (const struct sockaddr *)ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int listen_on(int type, const struct sockaddr_storage *ss,
		     socklen_t len)
{
	int fd = kt_socket(type);

	if (fd < 0)
		die("socket");
	setup_early(fd);
	if (C.idle && kt_setint(fd, KCP_IDLE_TIMEOUT, C.idle))
		die("KCP_IDLE_TIMEOUT");
	if (bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 1024))
		die("bind/listen");
	return fd;
}

static void addr_of(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	if (kt_parse_addr(s, ss, len))
		die("bad address");
}

static void set_port(struct sockaddr_storage *ss, int port)
{
	((struct sockaddr_in *)ss)->sin_port = htons(port);	/* = sin6_port */
}

/* Read exactly @n bytes; false on error, timeout or EOF. */
static bool read_full(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = recv(fd, (char *)p + got, n - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		got += r;
	}
	return true;
}

static bool write_full(int fd, const void *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t w = send(fd, (const char *)p + off, n - off,
				 MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		off += w;
	}
	return true;
}

static unsigned int rnd(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/*
 * A session's first 16 bytes: what the client will send and what the
 * server side does with it.
 */
#define HDR_MAGIC	0x6b637072u	/* "kcpr" */
struct hdr {
	uint32_t magic, mode, len, seed;
};

enum {
	MODE_REPLY,	/* server reads all, replies one byte, closes */
	MODE_CLIENT_GOES, /* client closes right after sending: lingers */
	MODE_SERVER_CUT, /* server closes after the header: client lingers */
	MODE_BOTH_CUT,	/* both close mid-stream, the server at len / 2 */
};

struct stats {
	long sessions, full, cut, bad, timeouts, errors;
};

static pthread_mutex_t st_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stats S;

static void count(long *field)
{
	pthread_mutex_lock(&st_lock);
	(*field)++;
	pthread_mutex_unlock(&st_lock);
}

/* ---- the server side of a session (proc, server) ---- */

static void *child_fn(void *p)
{
	int fd = (int)(long)p;
	struct hdr h;
	struct kt_rng r;
	uint8_t buf[4096], want[4096];
	uint32_t got = 0, upto;

	set_timeouts(fd, 10);
	if (!read_full(fd, &h, sizeof(h))) {
		count(&S.timeouts);
		goto out;
	}
	if (h.magic != HDR_MAGIC || h.mode > MODE_BOTH_CUT) {
		count(&S.bad);
		goto out;
	}
	count(&S.sessions);
	if (h.mode == MODE_SERVER_CUT) {
		count(&S.cut);
		if (h.seed & 1)
			close_abort(fd);
		else
			close(fd);
		return NULL;
	}
	upto = h.mode == MODE_BOTH_CUT ? h.len / 2 : h.len;
	kt_rng_init(&r, h.seed);
	while (got < upto) {
		size_t n = upto - got < sizeof(buf) ? upto - got : sizeof(buf);
		ssize_t rd = recv(fd, buf, n, 0);

		if (rd < 0 && errno == EINTR)
			continue;
		if (rd <= 0) {
			/* the client of MODE_BOTH_CUT may stop earlier */
			if (h.mode == MODE_BOTH_CUT)
				count(&S.cut);
			else
				count(&S.timeouts);
			goto out;
		}
		kt_rng_fill(&r, want, rd);
		if (memcmp(buf, want, rd)) {
			count(&S.bad);
			goto out;
		}
		got += rd;
	}
	if (h.mode == MODE_REPLY && send(fd, "A", 1, MSG_NOSIGNAL) != 1)
		count(&S.errors);
	count(h.mode == MODE_BOTH_CUT ? &S.cut : &S.full);
out:
	close(fd);
	return NULL;
}

static int nlisteners;
static int lfds[4];

static void *acceptor_fn(void *p)
{
	int lfd = (int)(long)p;

	while (!stop) {
		struct pollfd pfd = { lfd, POLLIN, 0 };
		pthread_t t;
		int fd;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		if (pthread_create(&t, NULL, child_fn, (void *)(long)fd)) {
			close(fd);
			count(&S.errors);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

/* ---- the client side of a session (proc, client) ---- */

struct worker {
	struct sockaddr_storage ss;
	socklen_t len;
	int type, id;
	long sessions, failed;
};

/* One session; @mode as in enum above. */
static void client_session(struct worker *w, unsigned int *seed, int mode,
			   uint32_t len)
{
	struct hdr h = { HDR_MAGIC, mode, len, rnd(seed) | 1 };
	struct kt_rng r;
	uint8_t buf[4096];
	uint32_t sent = 0, cut = len;
	char a;
	int fd;

	if (mode == MODE_SERVER_CUT)
		h.seed = rnd(seed);	/* odd: the server aborts, even: closes */
	fd = connect_to(w->type, &w->ss, w->len);
	if (fd < 0) {
		w->failed++;
		return;
	}
	set_timeouts(fd, 3);
	w->sessions++;
	if (!write_full(fd, &h, sizeof(h)))
		goto out;
	if (mode == MODE_BOTH_CUT)
		cut = len / 4 + rnd(seed) % len;
	kt_rng_init(&r, h.seed);
	while (sent < len && sent < cut) {
		uint32_t n = len - sent < sizeof(buf) ? len - sent : sizeof(buf);

		kt_rng_fill(&r, buf, n);
		/* the server may be gone (MODE_*_CUT): a full window times out */
		if (!write_full(fd, buf, n))
			goto out;
		sent += n;
	}
	if (mode == MODE_REPLY) {
		set_timeouts(fd, 10);
		if (recv(fd, &a, 1, 0) != 1 || a != 'A')
			w->failed++;
	}
out:
	if (mode == MODE_BOTH_CUT && (rnd(seed) & 1))
		close_abort(fd);
	else
		close(fd);
}

static void *client_fn(void *p)
{
	struct worker *w = p;
	unsigned int seed = 12345 + w->id;
	int i = 0;

	while (!stop && kt_now() < deadline) {
		int mode = i++ % 4;

		client_session(w, &seed, mode, 1 + rnd(&seed) % 16384);
	}
	return NULL;
}

/* ---- /proc/net/kcp readers ---- */

struct reader {
	int id;
	long passes, lines, bad;
	char why[256];
};

/* One line of /proc/net/kcp{,6}: 30 fields, sane state, mtu and uid. */
static bool proc_line_ok(const char *l, bool v6, char *why, size_t wl)
{
	char la[64], ra[64], copy[1024], *tok, *save;
	unsigned int sl, lp, rp, st, conv, mtu = 0, uid = ~0u, fields = 0;
	size_t alen = v6 ? 32 : 8;

	if (sscanf(l, "%u: %63[0-9A-F]:%x %63[0-9A-F]:%x %x %x", &sl, la, &lp,
		   ra, &rp, &st, &conv) != 7) {
		snprintf(why, wl, "unparsable: %.120s", l);
		return false;
	}
	snprintf(copy, sizeof(copy), "%s", l);
	for (tok = strtok_r(copy, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save)) {
		fields++;
		if (fields == 17)
			mtu = strtoul(tok, NULL, 10);
		if (fields == 29)
			uid = strtoul(tok, NULL, 10);
	}
	if (fields != 30 || strlen(la) != alen || strlen(ra) != alen ||
	    (st != KCP_ESTABLISHED && st != KCP_LINGER && st != KCP_CLOSE &&
	     st != KCP_LISTEN && st != KCP_SYN_SENT) || mtu < 50 || mtu > 1500 || uid != 0) {
		snprintf(why, wl, "bad line (%u fields): %.160s", fields, l);
		return false;
	}
	return true;
}

static void *reader_fn(void *p)
{
	struct reader *rd = p;
	unsigned int seed = 777 + rd->id;
	size_t cap = 1 << 20;
	char *buf = malloc(cap + 1);

	pin(rd->id);
	while (!stop && kt_now() < deadline) {
		bool v6 = (rd->passes + rd->id) & 1;
		int fd = open(v6 ? "/proc/net/kcp6" : "/proc/net/kcp", O_RDONLY);
		size_t have = 0;
		char *line, *save;

		if (fd < 0) {
			rd->bad++;
			snprintf(rd->why, sizeof(rd->why), "open: %s",
				 strerror(errno));
			break;
		}
		for (;;) {
			/* small reads: the seq_file restarts at every one */
			size_t want = 1 + rnd(&seed) % 97;
			ssize_t n;

			if (have + want > cap)
				want = cap - have;
			if (!want)
				break;
			n = read(fd, buf + have, want);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			have += n;
		}
		close(fd);
		buf[have] = 0;
		rd->passes++;
		line = strtok_r(buf, "\n", &save);
		if (!line || strncmp(line, "  sl  local_address", 19)) {
			rd->bad++;
			snprintf(rd->why, sizeof(rd->why), "no header");
			continue;
		}
		while ((line = strtok_r(NULL, "\n", &save))) {
			rd->lines++;
			if (!proc_line_ok(line, v6, rd->why, sizeof(rd->why)))
				rd->bad++;
		}
	}
	free(buf);
	return NULL;
}

/*
 * Sockets created and closed as fast as possible, some bound. Their RCU
 * callbacks are queued on this CPU, where a reader shares it: the
 * reader's own local_bh_enable() may then run the callback that frees
 * the socket it is printing.
 */
struct churn {
	int id;
	long n;
};

static void *churn_fn(void *p)
{
	struct churn *c = p;
	long *n = &c->n;
	int i = 0;

	pin(c->id);
	while (!stop && kt_now() < deadline) {
		int fd = kt_socket(i & 1 ? SOCK_SEQPACKET : SOCK_STREAM);
		struct sockaddr_in a = kt_addr4("127.0.0.1", 0);

		if (fd < 0)
			break;
		if (i % 4 == 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)))
			break;
		close(fd);
		(*n)++;
		i++;
	}
	return NULL;
}

static int run_proc(void)
{
	static const char *const ips[] = { "127.0.0.1", "::1" };
	struct worker w[16];
	struct reader rd[8];
	pthread_t acc[2], cw[16], rt[8], ct[4];
	struct churn churn[4];
	long churned = 0;
	int nr = 4, nw = C.par > 16 ? 16 : C.par, i;
	long lines = 0, passes = 0, bad = 0, sess = 0, failed = 0;

	deadline = kt_now() + C.secs;
	for (i = 0; i < 2; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		char a[64];

		snprintf(a, sizeof(a), i ? "[%s]:0" : "%s:0", ips[i]);
		addr_of(a, &ss, &len);
		lfds[i] = listen_on(SOCK_STREAM, &ss, len);
	}
	nlisteners = 2;
	for (i = 0; i < 2; i++)
		pthread_create(&acc[i], NULL, acceptor_fn, (void *)(long)lfds[i]);
	for (i = 0; i < nw; i++) {
		char a[64];

		memset(&w[i], 0, sizeof(w[i]));
		snprintf(a, sizeof(a), i & 1 ? "[%s]:%d" : "%s:%d", ips[i & 1],
			 kt_port_of(lfds[i & 1]));
		addr_of(a, &w[i].ss, &w[i].len);
		w[i].type = SOCK_STREAM;
		w[i].id = i;
		pthread_create(&cw[i], NULL, client_fn, &w[i]);
	}
	for (i = 0; i < nr; i++) {
		memset(&rd[i], 0, sizeof(rd[i]));
		rd[i].id = i;
		pthread_create(&rt[i], NULL, reader_fn, &rd[i]);
	}
	for (i = 0; i < 4; i++) {
		churn[i].id = i;
		churn[i].n = 0;
		pthread_create(&ct[i], NULL, churn_fn, &churn[i]);
	}
	for (i = 0; i < nw; i++) {
		pthread_join(cw[i], NULL);
		sess += w[i].sessions;
		failed += w[i].failed;
	}
	for (i = 0; i < 4; i++) {
		pthread_join(ct[i], NULL);
		churned += churn[i].n;
	}
	for (i = 0; i < nr; i++) {
		pthread_join(rt[i], NULL);
		lines += rd[i].lines;
		passes += rd[i].passes;
		bad += rd[i].bad;
		if (rd[i].bad)
			kt_diag("reader %d: %s", i, rd[i].why);
	}
	/* children still being read finish within their 10 s timeout */
	sleep(1);
	stop = 1;
	for (i = 0; i < 2; i++) {
		pthread_join(acc[i], NULL);
		close(lfds[i]);
	}
	kt_diag("%ld client sessions (%ld failed), server: %ld sessions, %ld full, %ld cut, %ld bad, %ld timeouts",
		sess, failed, S.sessions, S.full, S.cut, S.bad, S.timeouts);
	kt_result(churned > 100, "%ld sockets opened and closed meanwhile",
		  churned);
	kt_result(passes > 0 && lines > 0 && !bad,
		  "/proc/net/kcp{,6}: %ld passes of %d readers in small reads, %ld lines, %ld malformed",
		  passes, nr, lines, bad);
	/* TCG with KASAN is slow: one session per client thread will do */
	kt_result(sess >= nw && S.full > 0 && !S.bad &&
		  failed + S.timeouts <= 2 + sess / 20,
		  "%ld short sessions opened and closed during the reads (%ld failed, %ld server timeouts, %ld corrupt)",
		  sess, failed, S.timeouts, S.bad);
	return kt_done();
}

/* ---- SOCK_SEQPACKET: poll and recv threads, the peer closes ---- */

#define SEQ_MSGS	300

struct seqpair {
	int id, lfd, cfd, afd;
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned int seed;
	long rounds, msgs, bad, polls, hups, stuck, shortr;
	volatile int done;
	char why[160];
};

static void msg_fill(uint8_t *b, uint32_t len, uint32_t round, uint32_t idx)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(round * 31 + idx * 7 + i);
	if (len >= 12) {
		kt_p32(b, round);
		kt_p32(b + 4, idx);
		kt_p32(b + 8, len);
	}
}

static void *seq_sender(void *p)
{
	struct seqpair *sp = p;
	uint8_t *b = malloc(8192);
	uint32_t i;

	for (i = 0; i < SEQ_MSGS; i++) {
		/*
		 * Half of one segment, half of 2..6 fragments: poll() walks
		 * the fragments of the message at the head of the queue.
		 */
		uint32_t len = rnd(&sp->seed) % 2 ?
			       12 + rnd(&sp->seed) % 1300 :
			       1400 + rnd(&sp->seed) % 6600;

		msg_fill(b, len, sp->rounds, i);
		if (send(sp->cfd, b, len, MSG_NOSIGNAL) != (ssize_t)len)
			break;
	}
	free(b);
	/* the peer closes while the receiver still polls and reads */
	close(sp->cfd);
	return NULL;
}

static void *seq_poller(void *p)
{
	struct seqpair *sp = p;

	while (!sp->done) {
		struct pollfd pfd = { sp->afd, POLLIN | POLLRDHUP, 0 };

		if (poll(&pfd, 1, 20) > 0) {
			__sync_fetch_and_add(&sp->polls, 1);
			if (pfd.revents & (POLLHUP | POLLERR)) {
				__sync_fetch_and_add(&sp->hups, 1);
				break;
			}
		}
	}
	return NULL;
}

/* One round on a pair: a fresh session, 100 messages, the peer closes. */
static bool seq_round(struct seqpair *sp)
{
	uint8_t *b = malloc(65536), *want = malloc(8192);
	pthread_t snd, pl[2];
	uint32_t next = 0;
	double t_end;
	bool ok = true;
	int i;

	sp->cfd = connect_to(SOCK_SEQPACKET, &sp->ss, sp->len);
	if (sp->cfd < 0) {
		snprintf(sp->why, sizeof(sp->why), "connect: %s", strerror(errno));
		free(b);
		free(want);
		return false;
	}
	set_timeouts(sp->cfd, 10);
	pthread_create(&snd, NULL, seq_sender, sp);
	sp->afd = accept(sp->lfd, NULL, NULL);
	if (sp->afd < 0) {
		snprintf(sp->why, sizeof(sp->why), "accept: %s", strerror(errno));
		pthread_join(snd, NULL);
		free(b);
		free(want);
		return false;
	}
	set_timeouts(sp->afd, 10);
	sp->done = 0;
	sp->hups = 0;
	for (i = 0; i < 2; i++)
		pthread_create(&pl[i], NULL, seq_poller, sp);
	for (;;) {
		ssize_t n = recv(sp->afd, b, 65536, 0);
		uint32_t len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/*
			 * The idle timeout ends it after the last message;
			 * under TCG the sender may also stall that long.
			 */
			if (next < SEQ_MSGS) {
				snprintf(sp->why, sizeof(sp->why),
					 "round %ld: recv %zd (%s) after %u messages",
					 sp->rounds, n, strerror(errno), next);
				sp->shortr++;
			}
			break;
		}
		len = n >= 12 ? kt_g32(b + 8) : 0;
		msg_fill(want, (uint32_t)n, sp->rounds, next);
		if (next >= SEQ_MSGS || len != (uint32_t)n ||
		    memcmp(b, want, n)) {
			snprintf(sp->why, sizeof(sp->why),
				 "round %ld: message %u: %zd bytes, not as sent",
				 sp->rounds, next, n);
			sp->bad++;
			ok = false;
			break;
		}
		next++;
		sp->msgs++;
		/*
		 * A slow reader: the receive queue fills up (kcp_peeksize()
		 * in poll() then walks long lists) and drains under it.
		 */
		if (next % 32 == 0)
			usleep(5000);
	}
	/* pollers end on POLLHUP; give them the idle timeout's time */
	t_end = kt_now() + 5;
	while (kt_now() < t_end && __sync_fetch_and_add(&sp->hups, 0) < 2)
		usleep(10000);
	if (__sync_fetch_and_add(&sp->hups, 0) < 2)
		sp->stuck++;
	sp->done = 1;
	for (i = 0; i < 2; i++)
		pthread_join(pl[i], NULL);
	pthread_join(snd, NULL);
	close(sp->afd);
	free(b);
	free(want);
	return ok;
}

static void *seq_pair_fn(void *p)
{
	struct seqpair *sp = p;

	while (kt_now() < deadline) {
		if (!seq_round(sp))
			break;
		sp->rounds++;
	}
	return NULL;
}

static int run_seqpoll(void)
{
	struct seqpair sp[8];
	pthread_t t[8];
	int n = C.par > 8 ? 8 : C.par, i;
	long rounds = 0, msgs = 0, bad = 0, polls = 0, stuck = 0, shortr = 0;

	deadline = kt_now() + C.secs;
	/* children end a second after the peer's last datagram */
	C.idle = 1000;
	for (i = 0; i < n; i++) {
		memset(&sp[i], 0, sizeof(sp[i]));
		sp[i].id = i;
		sp[i].seed = 99 + i;
		addr_of("127.0.0.1:0", &sp[i].ss, &sp[i].len);
		sp[i].lfd = listen_on(SOCK_SEQPACKET, &sp[i].ss, sp[i].len);
		set_timeouts(sp[i].lfd, 10);
		set_port(&sp[i].ss, kt_port_of(sp[i].lfd));
		pthread_create(&t[i], NULL, seq_pair_fn, &sp[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		close(sp[i].lfd);
		rounds += sp[i].rounds;
		msgs += sp[i].msgs;
		bad += sp[i].bad;
		polls += sp[i].polls;
		stuck += sp[i].stuck;
		shortr += sp[i].shortr;
		if (sp[i].why[0])
			kt_diag("pair %d: %s", i, sp[i].why);
	}
	kt_result(rounds > 0 && !bad && shortr * 2 <= rounds,
		  "SOCK_SEQPACKET poll+recv vs peer close: %d pairs, %ld rounds of %d messages (%ld cut short), %ld intact, %ld corrupt",
		  n, rounds, SEQ_MSGS, shortr, msgs, bad);
	kt_result(rounds > 0 && !stuck && polls > 0,
		  "pollers saw POLLHUP when the session ended (%ld polls, %ld rounds without)",
		  polls, stuck);
	return kt_done();
}

/* ---- shutdown(SHUT_RD) on a listener ---- */

/* Sessions in /proc/net/kcp on local @port in state @st. */
static int proc_count(int port, unsigned int st)
{
	FILE *f = fopen("/proc/net/kcp", "r");
	char l[1024];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(l, sizeof(l), f)) {
		unsigned int sl, lp, s;
		char la[64], ra[64];
		int rp;

		if (sscanf(l, "%u: %63[0-9A-F]:%x %63[0-9A-F]:%x %x", &sl, la,
			   &lp, ra, &rp, &s) == 6 && (int)lp == port && s == st)
			n++;
	}
	fclose(f);
	return n;
}

struct acc_arg {
	int lfd, ret, err;
	double took;
};

static void *blocked_accept(void *p)
{
	struct acc_arg *a = p;
	double t0 = kt_now();

	a->ret = accept(a->lfd, NULL, NULL);
	a->err = errno;
	a->took = kt_now() - t0;
	return NULL;
}

static int run_shutrd(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct acc_arg a = { 0 };
	pthread_t t;
	int lfd, port, cfd[8], i, k, est, left, r;

	C.idle = 0;
	for (r = 0; r < C.rounds; r++) {
		/* a thread blocked in accept() wakes with EINVAL */
		addr_of("127.0.0.1:0", &ss, &len);
		lfd = listen_on(SOCK_STREAM, &ss, len);
		a.lfd = lfd;
		a.ret = 0;
		pthread_create(&t, NULL, blocked_accept, &a);
		usleep(200000);
		k = shutdown(lfd, SHUT_RD);
		pthread_join(t, NULL);
		if (!r)
			kt_result(!k && a.ret < 0 && a.err == EINVAL && a.took < 5,
				  "shutdown(SHUT_RD) wakes a blocked accept() with EINVAL (%s after %.1f s)",
				  a.ret < 0 ? strerror(a.err) : "accepted", a.took);
		close(lfd);

		/* children not yet accepted are closed, accept() fails */
		lfd = listen_on(SOCK_STREAM, &ss, len);
		port = kt_port_of(lfd);
		set_port(&ss, port);
		for (i = 0; i < 8; i++) {
			cfd[i] = connect_to(SOCK_STREAM, &ss, len);
			if (cfd[i] < 0 || send(cfd[i], "hello", 5, 0) != 5)
				die("client");
		}
		for (i = 0; i < 100 && proc_count(port, KCP_ESTABLISHED) < 8; i++)
			usleep(50000);
		est = proc_count(port, KCP_ESTABLISHED);
		k = shutdown(lfd, SHUT_RD);
		errno = 0;
		i = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		if (i >= 0)
			close(i);
		left = proc_count(port, KCP_ESTABLISHED);
		if (!r) {
			kt_result(est == 8, "8 children queued before shutdown (%d)", est);
			kt_result(!k && i < 0 && errno == EINVAL,
				  "accept() after shutdown(SHUT_RD) -> EINVAL (%s)",
				  i < 0 ? strerror(errno) : "a child");
			kt_result(left == 0,
				  "shutdown(SHUT_RD) closed the pending children (%d left)",
				  left);
		} else if (est != 8 || k || i >= 0 || left) {
			kt_result(0, "round %d: %d queued, shutdown %d, accept %d, %d left",
				  r, est, k, i, left);
		}
		/* the clients talk on to the closed children: no new ones */
		for (i = 0; i < 8; i++)
			send(cfd[i], "more", 4, MSG_NOSIGNAL);
		usleep(200000);
		if (!r) {
			left = proc_count(port, KCP_ESTABLISHED);
			kt_result(left == 0,
				  "no new children after shutdown (%d)", left);
		}
		for (i = 0; i < 8; i++)
			close_abort(cfd[i]);
		close(lfd);
	}
	return kt_done();
}

/* ---- server and client of "close during a transfer" ---- */

static void on_term(int sig)
{
	stop = 1;
}

/* Until -t passes or SIGTERM, then a RESULT line. */
static int run_server(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	pthread_t acc;
	int lfd;

	addr_of(C.addr, &ss, &len);
	C.idle = 5000;
	lfd = listen_on(SOCK_STREAM, &ss, len);
	printf("LISTEN %d\n", kt_port_of(lfd));
	fflush(stdout);
	deadline = kt_now() + C.secs;
	signal(SIGTERM, on_term);
	pthread_create(&acc, NULL, acceptor_fn, (void *)(long)lfd);
	while (!stop && kt_now() < deadline)
		usleep(100000);
	stop = 1;
	pthread_join(acc, NULL);
	close(lfd);
	/* children still running end within their timeouts */
	sleep(1);
	pthread_mutex_lock(&st_lock);
	printf("RESULT ok=%d sessions=%ld full=%ld cut=%ld bad=%ld timeouts=%ld errors=%ld\n",
	       !S.bad && S.full > 0, S.sessions, S.full, S.cut, S.bad,
	       S.timeouts, S.errors);
	pthread_mutex_unlock(&st_lock);
	return S.bad ? 1 : 0;
}

static int run_client(void)
{
	struct worker w[64];
	pthread_t t[64];
	int n = C.par > 64 ? 64 : C.par, i;
	long sess = 0, failed = 0;

	deadline = kt_now() + C.secs;
	for (i = 0; i < n; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		addr_of(C.addr, &w[i].ss, &w[i].len);
		w[i].type = SOCK_STREAM;
		w[i].id = i;
		pthread_create(&t[i], NULL, client_fn, &w[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		sess += w[i].sessions;
		failed += w[i].failed;
	}
	printf("RESULT ok=%d sessions=%ld failed=%ld\n", sess > 0, sess, failed);
	return sess > 0 ? 0 : 1;
}

/* ---- module unload right after the last close ---- */

/* A short transfer on loopback, everything closed at the end. */
static bool short_transfer(int round)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint8_t buf[8192];
	int lfd, cfd, afd, i;
	bool ok;

	addr_of(round & 1 ? "[::1]:0" : "127.0.0.1:0", &ss, &len);
	lfd = listen_on(round & 2 ? SOCK_SEQPACKET : SOCK_STREAM, &ss, len);
	set_timeouts(lfd, 10);
	set_port(&ss, kt_port_of(lfd));
	cfd = connect_to(round & 2 ? SOCK_SEQPACKET : SOCK_STREAM, &ss, len);
	if (cfd < 0) {
		close(lfd);
		return false;
	}
	memset(buf, round, sizeof(buf));
	ok = true;
	for (i = 0; i < 16 && ok; i++)
		ok = send(cfd, buf, 1000, MSG_NOSIGNAL) == 1000;
	afd = ok ? accept(lfd, NULL, NULL) : -1;
	close(lfd);
	if (afd >= 0) {
		set_timeouts(afd, 10);
		ok = read_full(afd, buf, round & 2 ? 1000 : 4000);
		/* the last close: lingering, aborted, or plain */
		if (round % 3 == 0)
			close_abort(afd);
		else
			close(afd);
	} else {
		ok = false;
	}
	/* the client still has unacknowledged data: it lingers */
	if (round % 3 == 1)
		close_abort(cfd);
	else
		close(cfd);
	return ok;
}

/* Children's time-wait (net.kcp.timewait_ms) in this namespace. */
static void set_timewait(int ms)
{
	FILE *f = fopen("/proc/sys/net/kcp/timewait_ms", "w");

	if (f) {
		fprintf(f, "%d\n", ms);
		fclose(f);
	}
}

static int run_unload(void)
{
	int fam = kt_family(), r, bad = 0, xfer_bad = 0;
	double worst = 0, total = 0;

	if (!C.module) {
		kt_result(0, "unload: no -module");
		return kt_done();
	}
	for (r = 0; r < C.rounds; r++) {
		double t0, t;
		int fd, err = 0;

		/* the last close is a time-wait's end, or a close() */
		set_timewait(r % 3 == 2 ? 3000 : 100);
		if (!short_transfer(r))
			xfer_bad++;
		t0 = kt_now();
		for (;;) {
			if (!syscall(SYS_delete_module, "kcp", O_NONBLOCK)) {
				err = 0;
				break;
			}
			err = errno;
			if ((err != EWOULDBLOCK && err != EBUSY &&
			     err != EAGAIN) || kt_now() - t0 > 90)
				break;
		}
		t = kt_now() - t0;
		if (err) {
			kt_result(0, "round %d: delete_module: %s after %.1f s",
				  r, strerror(err), t);
			return kt_done();
		}
		total += t;
		if (t > worst)
			worst = t;
		fd = socket(fam, SOCK_STREAM, 0);
		if (fd >= 0 || errno != EAFNOSUPPORT) {
			bad++;
			if (fd >= 0)
				close(fd);
		}
		fd = open(C.module, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0)) {
			kt_result(0, "round %d: reload %s: %s", r, C.module,
				  strerror(errno));
			return kt_done();
		}
		close(fd);
	}
	kt_result(!bad && !xfer_bad,
		  "%d rounds: short transfer, last close, unload at once, reload (%d transfers failed, %d sockets after unload)",
		  C.rounds, xfer_bad, bad);
	kt_diag("unload waited for the last socket %.2f s on average, at most %.2f s",
		total / C.rounds, worst);
	return kt_done();
}

int main(int argc, char **argv)
{
	const char *mode;
	int i;

	if (argc < 2)
		die("usage: races proc|seqpoll|shutrd|server|client|unload [options]");
	mode = argv[1];
	for (i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			die("option without value");
		i++;
		if (!strcmp(o, "-t"))
			C.secs = atof(v);
		else if (!strcmp(o, "-a"))
			C.addr = v;
		else if (!strcmp(o, "-P"))
			C.par = atoi(v);
		else if (!strcmp(o, "-fec"))
			sscanf(v, "%d,%d", &C.fec[0], &C.fec[1]);
		else if (!strcmp(o, "-crypt"))
			C.crypt = !strcmp(v, "aes") ? KCP_CIPHER_AES : 0;
		else if (!strcmp(o, "-linger"))
			C.linger = atoi(v);
		else if (!strcmp(o, "-rounds"))
			C.rounds = atoi(v);
		else if (!strcmp(o, "-module"))
			C.module = v;
		else
			die("unknown option");
	}
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(mode, "proc"))
		return run_proc();
	if (!strcmp(mode, "seqpoll"))
		return run_seqpoll();
	if (!strcmp(mode, "shutrd"))
		return run_shutrd();
	if (!strcmp(mode, "server") && C.addr)
		return run_server();
	if (!strcmp(mode, "client") && C.addr)
		return run_client();
	if (!strcmp(mode, "unload"))
		return run_unload();
	die("unknown mode");
	return 2;
}
