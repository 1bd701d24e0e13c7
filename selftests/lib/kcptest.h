/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the in-VM AF_KCP tests: the family number in use, address
 * and socket helpers, a deterministic data stream shared with the Go peer
 * (xorshift64*, see selftests/peers/kcppeer/main.go); with TAP output
 * (tap.h) and the test-side wire codec (kcpwire.h).
 */
#ifndef _KCPTEST_H
#define _KCPTEST_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../uapi/linux/kcp.h"
#include "kcpwire.h"
#include "tap.h"

/*
 * What the kernel charges a queued segment of mss 1376 (the default mtu
 * 1400): 48 bytes of header + 1376 -> its slab object, 1536 (mem.c).
 */
#define KT_SEG_TRUESIZE	1536

/* The value after option NAME in argv[2..] (after a subcommand), or DEF. */
static inline const char *kt_arg(int argc, char **argv, const char *name,
				 const char *def)
{
	for (int i = 2; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return def;
}

/* The family number the loaded module registered. */
static inline int kt_family(void)
{
	static int fam;
	FILE *f;

	if (fam)
		return fam;
	fam = AF_KCP;
	f = fopen("/sys/module/kcp/parameters/family", "r");
	if (f) {
		if (fscanf(f, "%d", &fam) != 1)
			fam = AF_KCP;
		fclose(f);
	}
	return fam;
}

static inline int kt_socket(int type)
{
	return socket(kt_family(), type, 0);
}

static inline double kt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline struct sockaddr_in kt_addr4(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	a.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static inline struct sockaddr_in6 kt_addr6(const char *ip, int port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };

	a.sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &a.sin6_addr);
	return a;
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (wildcard); 0 or -1 */
static inline int kt_parse_addr(const char *s, struct sockaddr_storage *ss,
				socklen_t *len)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char host[128];
	int port;

	/* a missing option (NULL) is a usage error, not a crash */
	if (!colon)
		return -1;
	port = atoi(colon + 1);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	memset(ss, 0, sizeof(*ss));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (void *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host[0] ? host : "::", &a->sin6_addr) != 1)
			return -1;
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &a->sin_addr) != 1)
			return -1;
		*len = sizeof(*a);
	}
	return 0;
}

static inline int kt_port_of(int fd)
{
	struct sockaddr_in6 a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	return ntohs(a.sin6_port);	/* same offset in sockaddr_in */
}

/* A listener on @ip (v4 or v6 literal), ephemeral port. */
static inline int kt_listen(int type, const char *ip, int *port)
{
	int fd = kt_socket(type), err;

	if (fd < 0)
		return -1;
	if (strchr(ip, ':')) {
		struct sockaddr_in6 a = kt_addr6(ip, *port);

		err = bind(fd, (struct sockaddr *)&a, sizeof(a));
	} else {
		struct sockaddr_in a = kt_addr4(ip, *port);

		err = bind(fd, (struct sockaddr *)&a, sizeof(a));
	}
	if (err || listen(fd, 128)) {
		close(fd);
		return -1;
	}
	*port = kt_port_of(fd);
	return fd;
}

/*
 * connect(); @wait_ms >= 0 sets KCP_CONNECT_TIMEOUT first (0: return at
 * once, for a peer of the test that never answers, such as a plain UDP
 * socket).
 */
static inline int kt_connect_wait(int type, const char *ip, int port,
				  int wait_ms)
{
	int fd = kt_socket(type), err;

	if (fd < 0)
		return -1;
	if (wait_ms >= 0 && setsockopt(fd, SOL_KCP, KCP_CONNECT_TIMEOUT,
				       &wait_ms, sizeof(wait_ms))) {
		close(fd);
		return -1;
	}
	if (strchr(ip, ':')) {
		struct sockaddr_in6 a = kt_addr6(ip, port);

		err = connect(fd, (struct sockaddr *)&a, sizeof(a));
	} else {
		struct sockaddr_in a = kt_addr4(ip, port);

		err = connect(fd, (struct sockaddr *)&a, sizeof(a));
	}
	if (err) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline int kt_connect(int type, const char *ip, int port)
{
	return kt_connect_wait(type, ip, port, -1);
}

/*
 * As kcp-go's Dial on the wire too: no session extension, so nothing is
 * sent before the first write.
 */
static inline int kt_connect_plain(int type, const char *ip, int port)
{
	int fd = kt_socket(type), zero = 0, err;
	struct sockaddr_in a = kt_addr4(ip, port);

	if (fd < 0)
		return -1;
	err = setsockopt(fd, SOL_KCP, KCP_SESSION_EXT, &zero, sizeof(zero)) ||
	      setsockopt(fd, SOL_KCP, KCP_CONNECT_TIMEOUT, &zero, sizeof(zero)) ||
	      connect(fd, (struct sockaddr *)&a, sizeof(a));
	if (err) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline int kt_setopt(int fd, int opt, const void *v, socklen_t len)
{
	return setsockopt(fd, SOL_KCP, opt, v, len);
}

static inline int kt_setint(int fd, int opt, int v)
{
	return setsockopt(fd, SOL_KCP, opt, &v, sizeof(v));
}

static inline int kt_nodelay(int fd, int nd, int iv, int rs, int nc)
{
	struct kcp_nodelay n = { nd, iv, rs, nc };

	return kt_setopt(fd, KCP_NODELAY, &n, sizeof(n));
}

static inline int kt_wnd(int fd, unsigned int snd, unsigned int rcv)
{
	struct kcp_wndsize w = { snd, rcv };

	return kt_setopt(fd, KCP_WNDSIZE, &w, sizeof(w));
}

/* xorshift64* stream, identical to the Go peer's generator. */
struct kt_rng {
	uint64_t s;
	uint8_t buf[8];
	int left;
};

static inline void kt_rng_init(struct kt_rng *r, uint64_t seed)
{
	r->s = seed ? seed : 0x9E3779B97F4A7C15ull;
	r->left = 0;
}

static inline void kt_rng_fill(struct kt_rng *r, uint8_t *p, size_t n)
{
	while (n--) {
		if (!r->left) {
			uint64_t x = r->s;
			int i;

			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			r->s = x;
			x *= 0x2545F4914F6CDD1Dull;
			for (i = 0; i < 8; i++)
				r->buf[i] = (uint8_t)(x >> (8 * i));
			r->left = 8;
		}
		*p++ = r->buf[8 - r->left--];
	}
}

/* Write all of @n bytes of the stream seeded @seed; returns bytes sent. */
static inline long kt_send_stream(int fd, uint64_t seed, size_t n, size_t chunk)
{
	struct kt_rng r;
	uint8_t *buf = malloc(chunk);
	size_t done = 0;

	kt_rng_init(&r, seed);
	while (done < n) {
		size_t want = n - done < chunk ? n - done : chunk;
		size_t off = 0;

		kt_rng_fill(&r, buf, want);
		while (off < want) {
			ssize_t w = send(fd, buf + off, want - off, MSG_NOSIGNAL);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				free(buf);
				return -(long)errno;
			}
			off += w;
		}
		done += want;
	}
	free(buf);
	return done;
}

/* Read @n bytes and compare with the stream; returns bytes that matched. */
static inline long kt_recv_stream(int fd, uint64_t seed, size_t n, bool *same)
{
	struct kt_rng r;
	uint8_t buf[65536], want[65536];
	size_t done = 0;

	*same = true;
	kt_rng_init(&r, seed);
	while (done < n) {
		size_t cap = n - done < sizeof(buf) ? n - done : sizeof(buf);
		ssize_t got = recv(fd, buf, cap, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 ? -(long)errno : (long)done;
		kt_rng_fill(&r, want, got);
		if (memcmp(buf, want, got))
			*same = false;
		done += got;
	}
	return done;
}

#endif
