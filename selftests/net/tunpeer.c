// SPDX-License-Identifier: GPL-2.0
/*
 * The TCP ends of the tunnel tests: "serve" is the target behind a tunnel
 * server, "connect" the application in front of a tunnel client. Every
 * connection carries data both ways at once: the client sends a header
 * (index, bytes up, bytes down) and its up bytes; the server sends its
 * down bytes, and, once it has all up bytes, their SHA-256. The client
 * checks the SHA-256 of the down bytes against that of what the server
 * was to send, and the server's digest against that of what it sent.
 * The data alternate 4 KiB blocks of pseudo-random and of text, so that
 * snappy both stores and compresses. kcptun closes a stream both ways at
 * the first end of file, so nobody shuts down before all is through.
 *
 *   tunpeer serve ADDR:PORT          prints "LISTEN port", serves forever
 *   tunpeer connect ADDR:PORT CONNS UP DOWN TIMEOUT
 *                                    prints "RESULT ok=0|1 ..."
 *   tunpeer eof ADDR:PORT BYTES TIMEOUT
 *                                    sends BYTES and shuts down writing;
 *                                    the server counts to end of file,
 *                                    sends the count and closes; the
 *                                    count and the end of file must come
 *                                    back: "RESULT ok=0|1 ..."
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#define BLK 4096
#define HDR 24
#define MAGIC 0x504e5554u	/* "TUNP" */

static const char text[] =
	"The tunnel carries kcptun's smux frames through snappy framing. ";

/* block @n of stream @seed: xorshift64* bytes, or text for odd blocks */
static void gen_block(uint64_t seed, uint64_t n, unsigned char *out)
{
	uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull ^ (n + 1) *
		     0xbf58476d1ce4e5b9ull;
	int i;

	if (n & 1) {
		for (i = 0; i < BLK; i++)
			out[i] = text[(i + n) % (sizeof(text) - 1)];
		return;
	}
	for (i = 0; i < BLK; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		uint64_t v = x * 0x2545f4914f6cdd1dull;

		memcpy(out + i, &v, 8);
	}
}

struct gen {
	uint64_t seed, pos, total;
	unsigned char blk[BLK];
	uint64_t blk_n;
};

/* up to @max next bytes of the stream at *@p */
static size_t gen_next(struct gen *g, const unsigned char **p, size_t max)
{
	uint64_t n = g->pos / BLK;
	size_t off = g->pos % BLK, len = BLK - off;

	if (g->blk_n != n + 1) {
		gen_block(g->seed, n, g->blk);
		g->blk_n = n + 1;
	}
	if (len > g->total - g->pos)
		len = g->total - g->pos;
	if (len > max)
		len = max;
	*p = g->blk + off;
	return len;
}

static void sha_of(uint64_t seed, uint64_t total, unsigned char out[32])
{
	struct gen g = { .seed = seed, .total = total };
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	const unsigned char *p;
	size_t n;

	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	while (g.pos < total) {
		n = gen_next(&g, &p, BLK);
		EVP_DigestUpdate(c, p, n);
		g.pos += n;
	}
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *c = strrchr(s, ':');

	if (!c || c - s >= (long)sizeof(host))
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(atoi(c + 1));
	snprintf(host, sizeof(host), "%.*s", (int)(c - s), s);
	return inet_pton(AF_INET, host[0] ? host : "0.0.0.0",
			 &sa->sin_addr) == 1 ? 0 : -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/*
 * Sends @tx (after @pre, @pre_len bytes) while receiving @rx_total bytes
 * into a digest, then, for the server, sends the digest of what came
 * in. Returns 0, or -1 with a message.
 */
struct xfer {
	int fd;
	struct gen tx;
	unsigned char pre[HDR];
	size_t pre_len, pre_off;
	unsigned char post[32];		/* server: digest, after tx */
	size_t post_len, post_off;
	uint64_t rx_total, rx_got;
	EVP_MD_CTX *rx_sha;
	unsigned char rx_digest[32];
	unsigned char trailer[32];	/* client: the server's digest */
	size_t trailer_got, trailer_want;
	int send_digest;		/* server: digest after all rx */
	double deadline;
	char err[128];
};

static int xfer_run(struct xfer *x)
{
	unsigned char buf[65536];
	const unsigned char *p;
	struct pollfd pfd = { .fd = x->fd };
	ssize_t n;
	size_t len;
	int tmo;

	for (;;) {
		int tx_left = x->pre_off < x->pre_len ||
			      x->tx.pos < x->tx.total ||
			      x->post_off < x->post_len;
		int rx_left = x->rx_got < x->rx_total ||
			      x->trailer_got < x->trailer_want;

		if (!tx_left && !rx_left)
			return 0;
		pfd.events = (tx_left ? POLLOUT : 0) | (rx_left ? POLLIN : 0);
		tmo = (int)((x->deadline - now_s()) * 1000);
		if (tmo <= 0 || poll(&pfd, 1, tmo) <= 0) {
			snprintf(x->err, sizeof(x->err), "timeout: sent %llu/"
				 "%llu, received %llu/%llu",
				 (unsigned long long)x->tx.pos,
				 (unsigned long long)x->tx.total,
				 (unsigned long long)x->rx_got,
				 (unsigned long long)x->rx_total);
			return -1;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR) && rx_left) {
			n = read(x->fd, buf, sizeof(buf));
			if (n <= 0) {
				snprintf(x->err, sizeof(x->err), "read: %s "
					 "after %llu/%llu", n ? strerror(errno)
					 : "end of file",
					 (unsigned long long)x->rx_got,
					 (unsigned long long)x->rx_total);
				return -1;
			}
			len = n;
			if (x->rx_got + len > x->rx_total) {
				size_t extra = x->rx_got + len - x->rx_total;

				if (extra > x->trailer_want - x->trailer_got) {
					snprintf(x->err, sizeof(x->err),
						 "more data than sent");
					return -1;
				}
				memcpy(x->trailer + x->trailer_got,
				       buf + len - extra, extra);
				x->trailer_got += extra;
				len -= extra;
			}
			if (len)
				EVP_DigestUpdate(x->rx_sha, buf, len);
			x->rx_got += len;
			if (x->rx_got == x->rx_total && len) {
				EVP_DigestFinal_ex(x->rx_sha, x->rx_digest,
						   NULL);
				if (x->send_digest) {
					memcpy(x->post, x->rx_digest, 32);
					x->post_len = 32;
				}
			}
		}
		if (pfd.revents & POLLOUT) {
			if (x->pre_off < x->pre_len) {
				p = x->pre + x->pre_off;
				len = x->pre_len - x->pre_off;
			} else if (x->tx.pos < x->tx.total) {
				len = gen_next(&x->tx, &p, 65536);
			} else if (x->post_off < x->post_len) {
				p = x->post + x->post_off;
				len = x->post_len - x->post_off;
			} else {
				continue;
			}
			n = write(x->fd, p, len);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				snprintf(x->err, sizeof(x->err), "write: %s",
					 strerror(errno));
				return -1;
			}
			if (x->pre_off < x->pre_len)
				x->pre_off += n;
			else if (x->tx.pos < x->tx.total)
				x->tx.pos += n;
			else
				x->post_off += n;
		}
	}
}

/*
 * "TUNE": count to end of file, print it, close. "TUNC": send the
 * header's down count of bytes, close. kcptun closes a stream both ways
 * at the first end of file, so nothing is answered after one.
 */
static void serve_eof(int fd, const unsigned char *h)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	unsigned char buf[65536];
	uint64_t count = 0, n;
	ssize_t r;

	if (!memcmp(h, "TUNC", 4)) {
		memset(buf, 'c', sizeof(buf));
		for (n = get64(h + 16); n; n -= r) {
			r = write(fd, buf, n < sizeof(buf) ? n : sizeof(buf));
			if (r <= 0)
				return;
		}
		return;
	}
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		count += r;
	pthread_mutex_lock(&lock);
	printf("EOF %llu\n", r ? -1ull : (unsigned long long)count);
	fflush(stdout);
	pthread_mutex_unlock(&lock);
}

static void *serve_one(void *arg)
{
	int fd = (int)(long)arg;
	unsigned char h[HDR];
	struct xfer *x = calloc(1, sizeof(*x));
	size_t got = 0;
	ssize_t n;
	uint32_t idx;

	while (got < HDR) {
		n = read(fd, h + got, HDR - got);
		if (n <= 0)
			goto out;
		got += n;
	}
	memcpy(&idx, h + 4, 4);
	if (!memcmp(h, "TUNE", 4) || !memcmp(h, "TUNC", 4)) {
		serve_eof(fd, h);
		goto out;
	}
	if (memcmp(h, "TUNP", 4))
		goto out;
	x->fd = fd;
	x->tx.seed = 2 * (uint64_t)idx + 1;
	x->tx.total = get64(h + 16);
	x->rx_total = get64(h + 8);
	x->rx_sha = EVP_MD_CTX_new();
	EVP_DigestInit_ex(x->rx_sha, EVP_sha256(), NULL);
	x->send_digest = 1;
	x->deadline = now_s() + 600;
	if (!x->rx_total) {
		EVP_DigestFinal_ex(x->rx_sha, x->rx_digest, NULL);
		memcpy(x->post, x->rx_digest, 32);
		x->post_len = 32;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (xfer_run(x))
		fprintf(stderr, "serve conn %u: %s\n", idx, x->err);
	EVP_MD_CTX_free(x->rx_sha);
out:
	close(fd);
	free(x);
	return NULL;
}

static int serve(const char *addr)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	pthread_attr_t at;
	pthread_t t;
	int l, fd, one = 1;

	if (parse_addr(addr, &sa))
		return 2;
	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 1024)) {
		perror("bind/listen");
		return 1;
	}
	getsockname(l, (struct sockaddr *)&sa, &sl);
	printf("LISTEN %u\n", ntohs(sa.sin_port));
	fflush(stdout);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	for (;;) {
		fd = accept(l, NULL, NULL);
		if (fd < 0)
			continue;
		if (pthread_create(&t, &at, serve_one, (void *)(long)fd))
			close(fd);
	}
}

struct conn {
	pthread_t t;
	struct sockaddr_in sa;
	uint32_t idx;
	uint64_t up, down;
	double timeout;
	int ok;
	char err[160];
};

static void *connect_one(void *arg)
{
	struct conn *c = arg;
	struct xfer *x = calloc(1, sizeof(*x));
	unsigned char want[32];
	int fd, i;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	/* the tunnel client may still be starting */
	for (i = 0; connect(fd, (struct sockaddr *)&c->sa, sizeof(c->sa));
	     i++) {
		if (i == 50) {
			snprintf(c->err, sizeof(c->err), "connect: %s",
				 strerror(errno));
			goto out;
		}
		close(fd);
		usleep(100000);
		fd = socket(AF_INET, SOCK_STREAM, 0);
	}
	x->fd = fd;
	memcpy(x->pre, "TUNP", 4);
	memcpy(x->pre + 4, &c->idx, 4);
	put64(x->pre + 8, c->up);
	put64(x->pre + 16, c->down);
	x->pre_len = HDR;
	x->tx.seed = 2 * (uint64_t)c->idx;
	x->tx.total = c->up;
	x->rx_total = c->down;
	x->trailer_want = 32;
	x->rx_sha = EVP_MD_CTX_new();
	EVP_DigestInit_ex(x->rx_sha, EVP_sha256(), NULL);
	if (!c->down)
		EVP_DigestFinal_ex(x->rx_sha, x->rx_digest, NULL);
	x->deadline = now_s() + c->timeout;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (xfer_run(x)) {
		snprintf(c->err, sizeof(c->err), "%s", x->err);
		goto out;
	}
	sha_of(2 * (uint64_t)c->idx + 1, c->down, want);
	if (memcmp(want, x->rx_digest, 32)) {
		snprintf(c->err, sizeof(c->err), "SHA-256 of %llu bytes "
			 "received differs", (unsigned long long)c->down);
		goto out;
	}
	sha_of(2 * (uint64_t)c->idx, c->up, want);
	if (memcmp(want, x->trailer, 32)) {
		snprintf(c->err, sizeof(c->err), "the server's SHA-256 of "
			 "%llu bytes sent differs", (unsigned long long)c->up);
		goto out;
	}
	c->ok = 1;
out:
	if (x->rx_sha)
		EVP_MD_CTX_free(x->rx_sha);
	close(fd);
	free(x);
	return NULL;
}

static int eof_connect(const struct sockaddr_in *sa, const char *magic,
		       uint64_t down)
{
	unsigned char h[HDR] = { 0 };
	int fd, i;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	for (i = 0; connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	     i++) {
		if (i == 50)
			return -1;
		close(fd);
		usleep(100000);
		fd = socket(AF_INET, SOCK_STREAM, 0);
	}
	memcpy(h, magic, 4);
	put64(h + 16, down);
	if (write(fd, h, HDR) != HDR) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Bytes read until end of file (-1: error or @deadline passed) */
static long long read_to_eof(int fd, double deadline)
{
	unsigned char buf[65536];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long got = 0;
	ssize_t n;
	int tmo;

	for (;;) {
		tmo = (int)((deadline - now_s()) * 1000);
		if (tmo <= 0 || poll(&pfd, 1, tmo) <= 0)
			return -1;
		n = read(fd, buf, sizeof(buf));
		if (n < 0)
			return -1;
		if (!n)
			return got;
		got += n;
	}
}

/*
 * The application's end of file reaches the target (which prints the
 * count: the script checks it) and comes back as end of file; the
 * target's close reaches the application after all its data.
 */
static int eof_test(const char *addr, uint64_t bytes, double timeout)
{
	struct sockaddr_in sa;
	unsigned char buf[65536];
	double t0 = now_s();
	long long back, down;
	uint64_t sent = 0;
	ssize_t n;
	int fd;

	if (parse_addr(addr, &sa))
		return 2;
	fd = eof_connect(&sa, "TUNE", 0);
	if (fd < 0)
		goto fail;
	memset(buf, 'e', sizeof(buf));
	while (sent < bytes) {
		n = write(fd, buf, bytes - sent < sizeof(buf) ?
			  bytes - sent : sizeof(buf));
		if (n <= 0)
			goto fail;
		sent += n;
	}
	shutdown(fd, SHUT_WR);
	back = read_to_eof(fd, t0 + timeout);
	close(fd);
	fd = eof_connect(&sa, "TUNC", bytes);
	if (fd < 0)
		goto fail;
	down = read_to_eof(fd, t0 + timeout);
	close(fd);
	printf("RESULT ok=%d up=%llu eof_back=%s down=%lld secs=%.2f\n",
	       back == 0 && down == (long long)bytes,
	       (unsigned long long)bytes, back == 0 ? "yes" : "no", down,
	       now_s() - t0);
	return back == 0 && down == (long long)bytes ? 0 : 1;
fail:
	printf("RESULT ok=0 %s\n", strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct conn *cs;
	int n, i, ok = 1;
	double t0, dt;
	uint64_t up, down;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "eof"))
		return eof_test(argv[2], strtoull(argv[3], NULL, 0),
				atof(argv[4]));
	if (argc != 7 || strcmp(argv[1], "connect")) {
		fprintf(stderr, "usage: tunpeer serve ADDR:PORT | connect "
			"ADDR:PORT CONNS UP DOWN TIMEOUT\n");
		return 2;
	}
	n = atoi(argv[3]);
	up = strtoull(argv[4], NULL, 0);
	down = strtoull(argv[5], NULL, 0);
	cs = calloc(n, sizeof(*cs));
	t0 = now_s();
	for (i = 0; i < n; i++) {
		if (parse_addr(argv[2], &cs[i].sa))
			return 2;
		cs[i].idx = i + (uint32_t)getpid() * 64;
		cs[i].up = up;
		cs[i].down = down;
		cs[i].timeout = atof(argv[6]);
		pthread_create(&cs[i].t, NULL, connect_one, &cs[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(cs[i].t, NULL);
		if (!cs[i].ok) {
			ok = 0;
			printf("conn %d: %s\n", i, cs[i].err);
		}
	}
	dt = now_s() - t0;
	printf("RESULT ok=%d conns=%d up=%llu down=%llu secs=%.2f "
	       "goodput_kbps=%.0f\n", ok, n, (unsigned long long)up,
	       (unsigned long long)down, dt,
	       (double)(up + down) * n * 8 / 1000 / dt);
	return ok ? 0 : 1;
}
