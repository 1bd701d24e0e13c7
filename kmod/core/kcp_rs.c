// SPDX-License-Identifier: GPL-2.0
/*
 * GF(2^8) Reed-Solomon erasure code matching klauspost/reedsolomon's
 * default (systematic Vandermonde) matrix; see kcp_rs.h for the maths.
 */
#include "kcp_rs.h"

#define KCP_GF_NN	255	/* nonzero field elements; index_of[0] */

/*
 * One full product table: the hot loops do a single lookup per byte
 * (row = table[coef]) instead of log + add + antilog.
 */
static u8 kcp_rs_gfmul[256][256];
static u8 kcp_rs_gfinv[256];
static u8 kcp_rs_nib[256][KCP_RS_NIB_LEN];
static bool kcp_rs_tables_ok;
/* set at load, before any codec exists, and cleared after the last */
static kcp_rs_accel_fn kcp_rs_accel;

/* Below this, the call and the setup cost more than the table loop. */
#define KCP_RS_ACCEL_MIN	64

/* The next power of the generator: @e * 2 modulo @poly. */
static unsigned int kcp_gf_next(unsigned int e, unsigned int poly)
{
	e <<= 1;
	if (e & 0x100)
		e ^= poly;
	return e & 0xff;
}

void kcp_rs_make_tables(unsigned int poly, u16 *alpha_to, u16 *index_of)
{
	unsigned int i, e;

	index_of[0] = KCP_GF_NN;
	alpha_to[KCP_GF_NN] = 0;
	for (i = 0, e = 1; i < KCP_GF_NN; i++, e = kcp_gf_next(e, poly)) {
		index_of[e] = i;
		alpha_to[i] = e;
	}
}

/* The tables must be klauspost's field exactly, or nothing interoperates. */
static bool kcp_rs_tables_valid(const u16 *alpha_to, const u16 *index_of)
{
	unsigned int i, e;

	if (index_of[0] != KCP_GF_NN)
		return false;
	for (i = 0, e = 1; i < KCP_GF_NN;
	     i++, e = kcp_gf_next(e, KCP_RS_GF_POLY))
		if (alpha_to[i] != e || index_of[e] != i)
			return false;
	return true;
}

int kcp_rs_init_tables(const u16 *alpha_to, const u16 *index_of)
{
	unsigned int a, b;

	if (!kcp_rs_tables_valid(alpha_to, index_of))
		return -EINVAL;
	for (a = 1; a < 256; a++) {
		for (b = 1; b < 256; b++)
			kcp_rs_gfmul[a][b] =
				alpha_to[(index_of[a] + index_of[b]) % KCP_GF_NN];
		kcp_rs_gfinv[a] = alpha_to[(KCP_GF_NN - index_of[a]) % KCP_GF_NN];
	}
	for (a = 0; a < 256; a++)
		for (b = 0; b < 16; b++) {
			kcp_rs_nib[a][b] = kcp_rs_gfmul[a][b];
			kcp_rs_nib[a][16 + b] = kcp_rs_gfmul[a][b << 4];
		}
	kcp_rs_tables_ok = true;
	return 0;
}

bool kcp_rs_ready(void)
{
	return kcp_rs_tables_ok;
}

u8 kcp_rs_mul(u8 a, u8 b)
{
	return kcp_rs_gfmul[a][b];
}

u8 kcp_rs_inv(u8 a)
{
	return kcp_rs_gfinv[a];
}

const u8 *kcp_rs_nibbles(u8 c)
{
	return kcp_rs_nib[c];
}

void kcp_rs_set_accel(kcp_rs_accel_fn fn)
{
	kcp_rs_accel = fn;
}

/* The accelerated prefix; returns the bytes done. */
static size_t kcp_rs_try_accel(u8 *dst, const u8 *src, size_t len, u8 c,
			       bool add)
{
	kcp_rs_accel_fn fn = kcp_rs_accel;

	if (!fn || len < KCP_RS_ACCEL_MIN)
		return 0;
	return fn(dst, src, len, kcp_rs_nib[c], add);
}

/*
 * Eight lookups gathered into one word: one load and one store of dst
 * per 8 bytes, and no aliasing reloads between the lookups. The shifts
 * pair each byte of v with the same memory byte as in w on any byte order.
 */
static inline u64 kcp_rs_mul8(const u8 *row, const u8 *src)
{
	u64 w, v;

	memcpy(&w, src, 8);
	v = (u64)row[w & 0xff] |
	    (u64)row[(w >> 8) & 0xff] << 8 |
	    (u64)row[(w >> 16) & 0xff] << 16 |
	    (u64)row[(w >> 24) & 0xff] << 24 |
	    (u64)row[(w >> 32) & 0xff] << 32 |
	    (u64)row[(w >> 40) & 0xff] << 40 |
	    (u64)row[(w >> 48) & 0xff] << 48 |
	    (u64)row[w >> 56] << 56;
	return v;
}

static void kcp_rs_xor(u8 *dst, const u8 *src, size_t len)
{
	u64 a, b;

	for (; len >= 8; len -= 8, dst += 8, src += 8) {
		memcpy(&a, dst, 8);
		memcpy(&b, src, 8);
		a ^= b;
		memcpy(dst, &a, 8);
	}
	while (len--)
		*dst++ ^= *src++;
}

void kcp_rs_mul_add(u8 *dst, const u8 *src, size_t len, u8 c)
{
	const u8 *row = kcp_rs_gfmul[c];
	size_t done;
	u64 a;

	if (c == 0)
		return;
	if (c == 1) {
		kcp_rs_xor(dst, src, len);
		return;
	}
	done = kcp_rs_try_accel(dst, src, len, c, true);
	dst += done;
	src += done;
	len -= done;
	for (; len >= 8; len -= 8, dst += 8, src += 8) {
		memcpy(&a, dst, 8);
		a ^= kcp_rs_mul8(row, src);
		memcpy(dst, &a, 8);
	}
	while (len--)
		*dst++ ^= row[*src++];
}

void kcp_rs_mul_set(u8 *dst, const u8 *src, size_t len, u8 c)
{
	const u8 *row = kcp_rs_gfmul[c];
	size_t done;
	u64 a;

	if (c == 1) {
		memmove(dst, src, len);
		return;
	}
	done = kcp_rs_try_accel(dst, src, len, c, false);
	dst += done;
	src += done;
	len -= done;
	for (; len >= 8; len -= 8, dst += 8, src += 8) {
		a = kcp_rs_mul8(row, src);
		memcpy(dst, &a, 8);
	}
	while (len--)
		*dst++ = row[*src++];
}

void kcp_rs_weights(const u8 *pts, unsigned int npts, u8 *w)
{
	unsigned int k, m;
	u8 prod;

	for (k = 0; k < npts; k++) {
		prod = 1;
		for (m = 0; m < npts; m++)
			if (m != k)	/* subtraction is XOR in GF(2^8) */
				prod = kcp_rs_gfmul[prod][pts[k] ^ pts[m]];
		w[k] = kcp_rs_gfinv[prod];
	}
}

void kcp_rs_coefs(const u8 *pts, const u8 *w, unsigned int npts, u8 x,
		  u8 *coef)
{
	unsigned int k;
	u8 l = 1;

	/* l(x) = prod (x - pts[m]); coef[k] = l(x) * w[k] / (x - pts[k]) */
	for (k = 0; k < npts; k++)
		l = kcp_rs_gfmul[l][x ^ pts[k]];
	for (k = 0; k < npts; k++) {
		if (l)
			coef[k] = kcp_rs_gfmul[kcp_rs_gfmul[l][w[k]]]
					      [kcp_rs_gfinv[x ^ pts[k]]];
		else	/* x is a point: f(x) is that point's value */
			coef[k] = x == pts[k];
	}
}

static bool kcp_rs_counts_valid(unsigned int d, unsigned int p)
{
	return d >= 1 && p >= 1 && d + p <= KCP_RS_MAX_SHARDS;
}

int kcp_rs_parity_rows(unsigned int d, unsigned int p, u8 *rows,
		       u8 *scratch)
{
	u8 *pts = scratch, *w = scratch + d;
	unsigned int i;

	if (!kcp_rs_counts_valid(d, p))
		return -EINVAL;
	for (i = 0; i < d; i++)
		pts[i] = (u8)i;
	kcp_rs_weights(pts, d, w);
	for (i = 0; i < p; i++)
		kcp_rs_coefs(pts, w, d, (u8)(d + i), rows + i * d);
	return 0;
}

/* out = sum coef[k] * shard(pts[k]); shards shorter than len are zero-padded */
static void kcp_rs_combine(const u8 *const *shards, const u16 *lens,
			   const u8 *pts, const u8 *coef, unsigned int d,
			   u8 *out, size_t len)
{
	unsigned int k;
	size_t l;

	memset(out, 0, len);
	for (k = 0; k < d; k++) {
		l = min_t(size_t, lens[pts[k]], len);
		kcp_rs_mul_add(out, shards[pts[k]], l, coef[k]);
	}
}

int kcp_rs_reconstruct(unsigned int d, unsigned int n,
		       const u8 *const *shards, const u16 *lens,
		       u8 *const *out, size_t len, u8 *scratch)
{
	u8 *pts = scratch, *w = scratch + d, *coef = scratch + 2 * d;
	unsigned int k, have = 0, rebuilt = 0;

	if (d < 1 || n <= d || n > KCP_RS_MAX_SHARDS)
		return -EINVAL;
	for (k = 0; k < n && have < d; k++)
		if (shards[k])
			pts[have++] = (u8)k;
	if (have < d)
		return -EINVAL;
	kcp_rs_weights(pts, d, w);
	for (k = 0; k < d; k++) {
		if (shards[k])
			continue;
		kcp_rs_coefs(pts, w, d, (u8)k, coef);
		kcp_rs_combine(shards, lens, pts, coef, d, out[k], len);
		rebuilt++;
	}
	return rebuilt;
}
