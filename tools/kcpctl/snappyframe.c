// SPDX-License-Identifier: GPL-2.0
/* The snappy framing format over libsnappy; see snappyframe.h. */
#include <string.h>
#include <snappy-c.h>

#include "snappyframe.h"

static const unsigned char magic[SNAPPY_FRAME_MAGIC_LEN] = {
	0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y'
};

enum {
	CHUNK_COMPRESSED = 0x00,
	CHUNK_STORED = 0x01,
	CHUNK_PADDING = 0xfe,
	CHUNK_STREAM_ID = 0xff,
};

static uint32_t crc_table[8][256];
static int crc_init_done;
static int crc_hw;

static void crc_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
		crc_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (k = 1; k < 8; k++)
			crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^
				crc_table[0][crc_table[k - 1][i] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
	crc_init_done = 1;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;
	uint64_t v;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	crc = (uint32_t)c;
	for (; len; p++, len--)
		crc = __builtin_ia32_crc32qi(crc, *p);
	return crc;
}
#endif

/* Castagnoli CRC, reflected, pre- and post-inverted (crc32c(0, ...)). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t lo, hi;

	if (!crc_init_done)
		crc_init();
	crc = ~crc;
#if defined(__x86_64__)
	if (crc_hw)
		return ~crc32c_hw(crc, p, len);
#endif
	for (; len >= 8; p += 8, len -= 8) {
		lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
			    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		     (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		      crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
	}
	for (; len; p++, len--)
		crc = crc_table[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint32_t snappy_frame_crc(const void *buf, size_t len)
{
	uint32_t c = crc32c(0, buf, len);

	return ((c >> 15) | (c << 17)) + 0xa282ead8;
}

static void put_hdr(unsigned char *o, int type, size_t len, uint32_t crc)
{
	o[0] = type;
	o[1] = len;
	o[2] = len >> 8;
	o[3] = len >> 16;
	o[4] = crc;
	o[5] = crc >> 8;
	o[6] = crc >> 16;
	o[7] = crc >> 24;
}

size_t snappy_frame_bound(size_t len)
{
	size_t blocks = (len + SNAPPY_FRAME_MAX_BLOCK - 1) /
			SNAPPY_FRAME_MAX_BLOCK;

	return SNAPPY_FRAME_MAGIC_LEN + blocks * SNAPPY_FRAME_HDR +
	       snappy_max_compressed_length(SNAPPY_FRAME_MAX_BLOCK) * blocks;
}

size_t snappy_frame_encode(int *started, const void *in, size_t len,
			   void *out)
{
	const char *p = in;
	unsigned char *o = out, *start = out;
	size_t n, clen;

	if (!*started) {
		memcpy(o, magic, sizeof(magic));
		o += sizeof(magic);
		*started = 1;
	}
	while (len) {
		n = len < SNAPPY_FRAME_MAX_BLOCK ? len : SNAPPY_FRAME_MAX_BLOCK;
		clen = snappy_max_compressed_length(n);
		if (snappy_compress(p, n, (char *)o + SNAPPY_FRAME_HDR,
				    &clen) == SNAPPY_OK &&
		    clen < n - n / 8) {
			put_hdr(o, CHUNK_COMPRESSED, clen + 4,
				snappy_frame_crc(p, n));
			o += SNAPPY_FRAME_HDR + clen;
		} else {
			put_hdr(o, CHUNK_STORED, n + 4, snappy_frame_crc(p, n));
			memcpy(o + SNAPPY_FRAME_HDR, p, n);
			o += SNAPPY_FRAME_HDR + n;
		}
		p += n;
		len -= n;
	}
	return o - start;
}

long snappy_frame_decode(struct snappy_frame_dec *d, const void *in,
			 size_t len, void *out, const void **data,
			 size_t *out_len)
{
	const unsigned char *p = in;
	size_t clen, n;
	uint32_t crc;
	int type;

	*out_len = 0;
	*data = out;
	if (len < 4)
		return 0;
	type = p[0];
	clen = p[1] | (size_t)p[2] << 8 | (size_t)p[3] << 16;
	if (len < 4 + clen)
		return 0;
	if (!d->started && type != CHUNK_STREAM_ID)
		return -1;
	switch (type) {
	case CHUNK_STREAM_ID:
		if (clen != 6 || memcmp(p, magic, sizeof(magic)))
			return -1;
		d->started = 1;
		break;
	case CHUNK_COMPRESSED:
		if (clen < 4)
			return -1;
		crc = p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24;
		if (snappy_uncompressed_length((const char *)p + 8, clen - 4,
					       &n) != SNAPPY_OK ||
		    n > SNAPPY_FRAME_MAX_BLOCK ||
		    snappy_uncompress((const char *)p + 8, clen - 4, out,
				      &n) != SNAPPY_OK ||
		    snappy_frame_crc(out, n) != crc)
			return -1;
		*out_len = n;
		break;
	case CHUNK_STORED:
		if (clen < 4 || clen - 4 > SNAPPY_FRAME_MAX_BLOCK)
			return -1;
		crc = p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24;
		n = clen - 4;
		if (snappy_frame_crc(p + 8, n) != crc)
			return -1;
		*data = p + 8;
		*out_len = n;
		break;
	default:
		/* 0x02..0x7f: reserved unskippable; 0x80..0xfe: skippable */
		if (type < 0x80)
			return -1;
		break;
	}
	return 4 + clen;
}
