/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test side's KCP wire codec, for tests that hand-craft or take apart
 * datagrams: little-endian integers, the 24-byte segment header (spec
 * 2.1), the CRC-32 of kcp-go's crypto header, and the IPv4+UDP header a
 * raw spoofer puts in front. Written apart from kmod/'s codec on purpose:
 * the tests check the engine's bytes against this one.
 */
#ifndef _KT_KCPWIRE_H
#define _KT_KCPWIRE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KCP_CMD_PUSH	81
#define KCP_CMD_ACK	82
#define KCP_CMD_WASK	83
#define KCP_CMD_WINS	84
#define KCP_CMD_FIN	85
#define KCP_CMD_RST	86
#define KT_SEG_HDR	24
/* ts of a WASK/WINS that offers the session extension (frg = version) */
#define KT_EXT_MARK	0x4b435845u

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

/* A whole segment (frg 0): header and @len bytes of @data; its size. */
static inline int kt_seg_put(uint8_t *b, uint32_t conv, uint8_t cmd,
			     uint16_t wnd, uint32_t ts, uint32_t sn,
			     uint32_t una, const void *data, uint32_t len)
{
	kt_seg_hdr(b, conv, cmd, 0, wnd, ts, sn, una, len);
	if (len)
		memcpy(b + KT_SEG_HDR, data, len);
	return KT_SEG_HDR + len;
}

struct kt_seg {
	uint32_t conv;
	uint8_t cmd, frg;
	uint16_t wnd;
	uint32_t ts, sn, una, len;
	const uint8_t *data;
};

/*
 * The segment at the start of @p (@n bytes); returns its size, header
 * and data, or -1 if the header or the data it announces do not fit.
 */
static inline int kt_seg_get(const uint8_t *p, int n, struct kt_seg *s)
{
	if (n < KT_SEG_HDR)
		return -1;
	s->conv = kt_g32(p);
	s->cmd = p[4];
	s->frg = p[5];
	s->wnd = kt_g16(p + 6);
	s->ts = kt_g32(p + 8);
	s->sn = kt_g32(p + 12);
	s->una = kt_g32(p + 16);
	s->len = kt_g32(p + 20);
	s->data = p + KT_SEG_HDR;
	if (s->len > (uint32_t)n - KT_SEG_HDR)
		return -1;
	return KT_SEG_HDR + s->len;
}

/* Every segment of a datagram: their number, or -1 if malformed. */
static inline int kt_segs_parse(const uint8_t *p, int n, struct kt_seg *s,
				int max)
{
	int k = 0;

	while (n >= KT_SEG_HDR && k < max) {
		int used = kt_seg_get(p, n, &s[k]);

		if (used < 0)
			return -1;
		p += used;
		n -= used;
		k++;
	}
	return n ? -1 : k;
}

/* CRC-32 (IEEE), as kcp-go checks the crypto header's. */
static inline uint32_t kt_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	while (n--) {
		c ^= *p++;
		for (int i = 0; i < 8; i++)
			c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
	}
	return ~c;
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

#endif
