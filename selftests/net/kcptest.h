/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the in-VM AF_KCP tests: TAP output, the family number in
 * use, address helpers, a deterministic data stream shared with the Go
 * peer (xorshift64*, see selftests/peers/kcppeer/main.go), KCP's wire format.
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

static int kt_n, kt_failed, kt_skipped;

/*
 * What the kernel charges a queued segment of mss 1376 (the default mtu
 * 1400): its kmalloc bucket, 48 bytes of header + 1376 -> 2048 (mem.c).
 */
#define KT_SEG_TRUESIZE	2048

static inline void kt_result(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++kt_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		kt_failed++;
}

static inline void kt_skip(const char *why, const char *name)
{
	printf("ok %d - %s # SKIP %s\n", ++kt_n, name, why);
	fflush(stdout);
	kt_skipped++;
}

static inline int kt_done(void)
{
	printf("1..%d\n", kt_n);
	return kt_failed ? 1 : 0;
}

/*
 * The 28-byte IPv4 + UDP header of a raw (IPPROTO_RAW) datagram with @len
 * payload bytes from @saddr:@sport to @dst; ports in network order, UDP
 * checksum 0 (none), the IP checksum left to the kernel.
 */
static inline void kt_udp4_hdr(uint8_t *b, in_addr_t saddr, in_port_t sport,
			       const struct sockaddr_in *dst, int len)
{
	struct iphdr *ip = (struct iphdr *)b;
	struct udphdr *uh = (struct udphdr *)(b + 20);

	memset(b, 0, 28);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons(28 + len);
	ip->saddr = saddr;
	ip->daddr = dst->sin_addr.s_addr;
	uh->source = sport;
	uh->dest = dst->sin_port;
	uh->len = htons(8 + len);
}

/* The value after option NAME in argv[2..] (after a subcommand), or DEF. */
static inline const char *kt_arg(int argc, char **argv, const char *name,
				 const char *def)
{
	for (int i = 2; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return def;
}

#define kt_diag(...) do { printf("# " __VA_ARGS__); printf("\n"); fflush(stdout); } while (0)

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
	const char *colon = strrchr(s, ':');
	char host[128];
	int port;

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

static inline int kt_connect(int type, const char *ip, int port)
{
	int fd = kt_socket(type), err;

	if (fd < 0)
		return -1;
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

/*
 * KCP's wire format, for tests that hand-craft datagrams: little-endian
 * integers and the 24-byte segment header (spec 2.1).
 */
#define KCP_CMD_PUSH	81
#define KCP_CMD_ACK	82
#define KCP_CMD_WASK	83
#define KCP_CMD_WINS	84

static inline uint32_t kt_g32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint16_t kt_g16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static inline void kt_p32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline void kt_p16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

/* A segment header; len is written as given, it may lie on purpose. */
static inline void kt_seg_hdr(uint8_t *b, uint32_t conv, uint8_t cmd,
			      uint8_t frg, uint16_t wnd, uint32_t ts,
			      uint32_t sn, uint32_t una, uint32_t len)
{
	kt_p32(b, conv);
	b[4] = cmd;
	b[5] = frg;
	kt_p16(b + 6, wnd);
	kt_p32(b + 8, ts);
	kt_p32(b + 12, sn);
	kt_p32(b + 16, una);
	kt_p32(b + 20, len);
}

#endif
