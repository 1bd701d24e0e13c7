/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The snappy framing format (github.com/golang/snappy's Writer and
 * Reader, which kcptun wraps around the KCP stream unless --nocomp):
 * a stream identifier chunk, then chunks of type 0x00 (snappy-compressed)
 * or 0x01 (stored), each with a 3-byte little-endian length and the
 * masked CRC-32C of the uncompressed data, at most 65536 bytes of it.
 * The block codec is libsnappy's.
 */
#ifndef _KCPCTL_SNAPPYFRAME_H
#define _KCPCTL_SNAPPYFRAME_H

#include <stddef.h>
#include <stdint.h>

#define SNAPPY_FRAME_MAX_BLOCK	65536
#define SNAPPY_FRAME_HDR	8	/* type, 3 length bytes, 4 crc bytes */
#define SNAPPY_FRAME_MAGIC_LEN	10

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* CRC-32C of @buf as the framing format stores it */
uint32_t snappy_frame_crc(const void *buf, size_t len);

/* Largest encoding of @len input bytes (magic included). */
size_t snappy_frame_bound(size_t len);

/*
 * Encodes @len bytes of @in as chunks into @out, which must have
 * snappy_frame_bound(len) bytes; the stream identifier first if
 * *@started is 0 (then sets it). Compressed unless that saves less than
 * an eighth, as golang/snappy decides. Returns the bytes written.
 */
size_t snappy_frame_encode(int *started, const void *in, size_t len,
			   void *out);

struct snappy_frame_dec {
	int started;		/* stream identifier seen */
};

/*
 * Decodes the chunk at the start of @in (@len bytes available): its data
 * is *@data, *@out_len bytes, either inside @in (stored chunks) or
 * uncompressed into @out (SNAPPY_FRAME_MAX_BLOCK bytes). Returns the
 * input bytes used (0: need more input), -1 on corrupt input.
 */
long snappy_frame_decode(struct snappy_frame_dec *d, const void *in,
			 size_t len, void *out, const void **data,
			 size_t *out_len);

#endif /* _KCPCTL_SNAPPYFRAME_H */
