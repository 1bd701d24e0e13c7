// SPDX-License-Identifier: GPL-2.0
/*
 * FEC cost on the host (make bench-fec; not part of check): raw GF(2^8)
 * multiply-accumulate, kcp_fec_encode() per MiB of KCP bytes, and the
 * decoder with the worst loss it can repair (p data shards of each group).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kcp_env.h"
#include "kcp_rs.h"
#include "kcp_fec.h"

#define DGRAM	1400	/* kcp-go default mtu, no crypto: 1392 KCP bytes */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void init_tables(void)
{
	u16 alpha_to[256], index_of[256];

	kcp_rs_make_tables(KCP_RS_GF_POLY, alpha_to, index_of);
	if (kcp_rs_init_tables(alpha_to, index_of)) {
		fprintf(stderr, "bad tables\n");
		exit(1);
	}
}

static void fill(u8 *b, size_t n, u32 seed)
{
	while (n--) {
		seed = seed * 1103515245 + 12345;
		*b++ = seed >> 16;
	}
}

static void bench_mul_add(void)
{
	static u8 src[DGRAM], dst[DGRAM];
	unsigned long iters = 400000, i;
	double t;

	fill(src, sizeof(src), 1);
	t = now_s();
	for (i = 0; i < iters; i++)
		kcp_rs_mul_add(dst, src, sizeof(src), (u8)(i | 2));
	t = now_s() - t;
	printf("mul_add       %8.0f MB/s (dst[i] ^= c * src[i], %d-byte rows; check %u)\n",
	       iters * (double)DGRAM / t / 1e6, DGRAM, dst[7]);
}

static void bench_encode(unsigned int d, unsigned int p)
{
	static u8 buf[DGRAM], par[KCP_FEC_DGRAM_MAX];
	unsigned long bytes = 0, sink = 0, i;
	unsigned int groups = 300000 / (d + p) + 1, k;
	struct kcp_fec_enc enc;
	double t;
	int ret;

	kcp_fec_enc_init(&enc, d, p);
	fill(buf, sizeof(buf), d);
	t = now_s();
	for (i = 0; i < (unsigned long)groups * d; i++) {
		ret = kcp_fec_encode(&enc, buf, sizeof(buf), true);
		bytes += sizeof(buf) - KCP_FEC_HDR;
		for (k = 0; k < (unsigned int)ret; k++)
			sink += kcp_fec_enc_parity(&enc, k, par, sizeof(par));
	}
	t = now_s() - t;
	printf("encode %3u/%-3u %7.0f MB/s of KCP bytes, %6.3f ms per MiB (parity out %lu MB)\n",
	       d, p, bytes / t / 1e6, t / (bytes / 1048576.0) * 1e3,
	       sink / 1000000);
	kcp_fec_enc_destroy(&enc);
}

/* every group loses its first min(d, p) data shards: max rebuild work */
static void bench_decode(unsigned int d, unsigned int p)
{
	unsigned int n = d + p, groups = 200000 / n + 3, g, k, lose = min(d, p);
	static u8 dgrams[256][KCP_FEC_DGRAM_MAX];
	static size_t lens[256];
	unsigned long bytes = 0, rebuilt = 0;
	struct kcp_fec_enc enc;
	struct kcp_fec_dec dec;
	double t = 0, t0;
	int ret;

	kcp_fec_enc_init(&enc, d, p);
	kcp_fec_dec_init(&dec, d, p);
	for (g = 0; g < groups; g++) {
		for (k = 0; k < d; k++) {
			fill(dgrams[k] + KCP_FEC_HDR, DGRAM - KCP_FEC_HDR, g * n + k);
			lens[k] = DGRAM;
			ret = kcp_fec_encode(&enc, dgrams[k], DGRAM, true);
		}
		for (k = 0; k < (unsigned int)ret; k++)
			lens[d + k] = kcp_fec_enc_parity(&enc, k, dgrams[d + k],
							 KCP_FEC_DGRAM_MAX);
		t0 = now_s();
		for (k = 0; k < n; k++) {
			if (g >= 2 && k < lose)
				continue;
			ret = kcp_fec_decode(&dec, dgrams[k], lens[k], 0, true);
			rebuilt += ret > 0 ? ret : 0;
		}
		t += now_s() - t0;
		bytes += d * (DGRAM - KCP_FEC_HDR);
	}
	printf("decode %3u/%-3u %7.0f MB/s of KCP bytes with %u of %u data shards lost per group (%lu rebuilt)\n",
	       d, p, bytes / t / 1e6, lose, d, rebuilt);
	kcp_fec_enc_destroy(&enc);
	kcp_fec_dec_destroy(&dec);
}

int main(void)
{
	init_tables();
	bench_mul_add();
	bench_encode(1, 1);
	bench_encode(2, 1);
	bench_encode(10, 3);
	bench_encode(20, 10);
	bench_encode(128, 127);
	bench_decode(10, 3);
	bench_decode(20, 10);
	bench_decode(128, 127);
	return 0;
}
