/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reed-Solomon erasure code over GF(2^8), byte-compatible with
 * klauspost/reedsolomon's default matrix (as used by kcp-go 5.6.1).
 *
 * klauspost builds V (n x d, V[r][c] = r^c) and encodes with
 * M = V * inverse(V[0:d]). Row r of M holds the Lagrange basis
 * polynomials for the points 0..d-1 evaluated at r: the codeword is
 * (f(0), ..., f(n-1)) for the unique f of degree < d with f(j) = data j.
 * We use that closed form of the inverted Vandermonde matrix (barycentric
 * Lagrange interpolation) instead of Gauss-Jordan: encode rows and decode
 * coefficients come out identical, in O(d^2) time, with no d x d scratch
 * matrix and nothing to cache per erasure pattern.
 *
 * The field is x^8+x^4+x^3+x^2+1 (0x11d), generator 2: the tables made by
 * the kernel's init_rs(8, 0x11d, 0, 1, 1). Shard index k is the field
 * element of integer value k, so at most 256 shards exist (kcp-go's limit;
 * this project configures at most KCP_RS_MAX_SHARDS).
 */
#ifndef _KCP_RS_H
#define _KCP_RS_H

#include "kcp_env.h"

#define KCP_RS_MAX_SHARDS	255	/* d + p we accept from configuration */
#define KCP_RS_GF_POLY		0x11d	/* klauspost's field polynomial */

/*
 * The log/antilog tables of GF(2^8) modulo @poly with generator 2, laid
 * out as the kernel's init_rs(8, poly, 0, 1, n) makes them. The module
 * takes its tables from init_rs() (lib/reed_solomon); builds without it
 * (unit tests, fuzzers, benchmarks) make them here, with @poly
 * KCP_RS_GF_POLY, for kcp_rs_init_tables().
 */
void kcp_rs_make_tables(unsigned int poly, u16 *alpha_to, u16 *index_of);

/*
 * Build the 64 KiB multiplication table from init_rs-style tables:
 * alpha_to[i] = 2^i (i < 255), index_of[x] = log2(x), index_of[0] = 255.
 * Returns -EINVAL unless they describe GF(2^8)/0x11d with generator 2,
 * the only field klauspost uses. Call once before any other function.
 */
int kcp_rs_init_tables(const u16 *alpha_to, const u16 *index_of);
bool kcp_rs_ready(void);

u8 kcp_rs_mul(u8 a, u8 b);
u8 kcp_rs_inv(u8 a);		/* kcp_rs_inv(0) == 0 */

/* dst[i] ^= c * src[i] for i < len */
void kcp_rs_mul_add(u8 *dst, const u8 *src, size_t len, u8 c);
/* dst[i] = c * src[i] for i < len */
void kcp_rs_mul_set(u8 *dst, const u8 *src, size_t len, u8 c);

/*
 * The products of c with every low nibble, then with every high nibble:
 * c * x = nib[x & 15] ^ nib[16 + (x >> 4)]. A byte shuffle (x86 PSHUFB,
 * ARM TBL) looks up 16 or 32 of them per instruction.
 */
#define KCP_RS_NIB_LEN		32
const u8 *kcp_rs_nibbles(u8 c);

/*
 * An environment's faster dst (^)= c * src on a prefix of the buffers,
 * from the nibble tables of c (@nib): add selects ^= over =. Returns the
 * bytes it did (0 when it cannot run now, e.g. no FPU in this context);
 * the table code does the rest. kcp_rs_set_accel(NULL) turns it off.
 */
typedef size_t (*kcp_rs_accel_fn)(u8 *dst, const u8 *src, size_t len,
				  const u8 *nib, bool add);
void kcp_rs_set_accel(kcp_rs_accel_fn fn);

/*
 * Barycentric weights of @npts distinct points:
 * w[k] = 1 / prod_{m != k} (pts[k] - pts[m]).
 */
void kcp_rs_weights(const u8 *pts, unsigned int npts, u8 *w);
/*
 * coef[k] such that f(x) = sum_k coef[k] * f(pts[k]) for every f of
 * degree < npts. If x is one of the points, coef is that unit vector.
 */
void kcp_rs_coefs(const u8 *pts, const u8 *w, unsigned int npts, u8 x,
		  u8 *coef);

/* Scratch bytes the functions below need, kept off the (kernel) stack. */
#define KCP_RS_SCRATCH(d)	(3 * (d))

/*
 * The p x d parity rows of klauspost's matrix (rows d..d+p-1 of M) into
 * @rows (row i at rows + i * d), using KCP_RS_SCRATCH(d) bytes of
 * @scratch. -EINVAL unless 1 <= d, 1 <= p, d + p <= KCP_RS_MAX_SHARDS.
 */
int kcp_rs_parity_rows(unsigned int d, unsigned int p, u8 *rows,
		       u8 *scratch);

/*
 * Rebuild the missing data shards of one group of n = d + p shards.
 * shards[k] (k < n) is NULL when shard k is missing, else it holds
 * lens[k] <= len bytes; the bytes up to @len count as zero (kcp-go's
 * padding). For every missing k < d, out[k] must point to @len bytes,
 * which receive the shard. Uses the first d present shards, as
 * klauspost does, and KCP_RS_SCRATCH(d) bytes of @scratch. Returns the
 * number of shards rebuilt, or -EINVAL if fewer than d are present or the
 * arguments are out of range.
 */
int kcp_rs_reconstruct(unsigned int d, unsigned int n,
		       const u8 *const *shards, const u16 *lens,
		       u8 *const *out, size_t len, u8 *scratch);

#endif /* _KCP_RS_H */
