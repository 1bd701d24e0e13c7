// SPDX-License-Identifier: GPL-2.0
/*
 * FEC suite: kmod/kcp_rs.c and kmod/kcp_fec.c against vectors made at
 * build time by the real klauspost/reedsolomon and kcp-go 5.6.1 fec.go
 * (gen/rsvectors, see fec.mk), plus decoder behaviour tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kcp_env.h"
#include "kcp_rs.h"
#include "kcp_fec.h"
#include "../lib/tap.h"
#if defined(__x86_64__)
#define KCP_RS_VEC_CLOBBERS "memory", "xmm0", "xmm1", "xmm2", "xmm3", \
	"xmm4", "xmm5", "xmm6", "xmm7"
#include "kcp_rs_x86.h"
#endif

#ifndef FEC_VECTORS
#define FEC_VECTORS "."
#endif

#define diag(...)	do { printf("# "); printf(__VA_ARGS__); printf("\n"); } while (0)

/* ---- helpers ---- */

static u64 rng_state = 0x9e3779b97f4a7c15ull;

static u32 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (u32)(rng_state >> 16);
}

static void rnd_seed(u64 s)
{
	rng_state = s * 0x9e3779b97f4a7c15ull + 1;
	rnd();
}

/* probability in percent */
static bool chance(unsigned int pct)
{
	return rnd() % 100 < pct;
}

static void rnd_fill(u8 *b, size_t n)
{
	while (n--)
		*b++ = (u8)rnd();
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		perror("malloc");
		exit(2);
	}
	return p;
}

static void *xcalloc(size_t n)
{
	void *p = xmalloc(n);

	memset(p, 0, n);
	return p;
}

/*
 * The oracle for the multiplication table: shift-and-add (Russian peasant)
 * multiplication modulo 0x11d, bit by bit. Deliberately independent of
 * the log/antilog tables (kcp_rs_make_tables) the table is built from.
 */
static u8 gf_slow(u8 a, u8 b)
{
	unsigned int r = 0, x = a;

	for (; b; b >>= 1) {
		if (b & 1)
			r ^= x;
		x <<= 1;
		if (x & 0x100)
			x ^= 0x11d;
	}
	return (u8)r;
}

/* vector file reader */
struct rd {
	u8 *buf;
	const u8 *p, *end;
	bool bad;
};

static bool rd_open(struct rd *r, const char *name)
{
	char path[4096];
	FILE *f;
	long n;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/%s", FEC_VECTORS, name);
	f = fopen(path, "rb");
	if (!f)
		return false;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	r->buf = xmalloc(n);
	if (fread(r->buf, 1, n, f) != (size_t)n) {
		fclose(f);
		free(r->buf);
		return false;
	}
	fclose(f);
	r->p = r->buf;
	r->end = r->buf + n;
	return n > 0;
}

static const u8 *rd_n(struct rd *r, size_t n)
{
	const u8 *p = r->p;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	return p;
}

static unsigned int rd8(struct rd *r)
{
	const u8 *p = rd_n(r, 1);

	return p ? p[0] : 0;
}

static unsigned int rd16(struct rd *r)
{
	const u8 *p = rd_n(r, 2);

	return p ? kcp_get_le16(p) : 0;
}

static u32 rd32(struct rd *r)
{
	const u8 *p = rd_n(r, 4);

	return p ? kcp_get_le32(p) : 0;
}

static void rd_close(struct rd *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* ---- GF tables ---- */

static void test_tables(void)
{
	u16 a[256], ix[256];
	unsigned int x, y, bad = 0;

	kcp_rs_make_tables(0x187, a, ix);	/* primitive, but not klauspost's */
	kt_result(kcp_rs_init_tables(a, ix) == -EINVAL && !kcp_rs_ready(),
		   "init_rs tables of another polynomial are refused");
	kcp_rs_make_tables(KCP_RS_GF_POLY, a, ix);
	ix[0] = 0;
	kt_result(kcp_rs_init_tables(a, ix) == -EINVAL,
		   "index_of[0] must be nn (255) as init_rs makes it");
	kcp_rs_make_tables(KCP_RS_GF_POLY, a, ix);
	kt_result(kcp_rs_init_tables(a, ix) == 0 && kcp_rs_ready(),
		   "init_rs(8, 0x11d, 0, 1, 1) tables accepted");
	for (x = 0; x < 256; x++) {
		for (y = 0; y < 256; y++)
			bad += kcp_rs_mul(x, y) != gf_slow(x, y);
		if (x)
			bad += kcp_rs_mul(x, kcp_rs_inv(x)) != 1;
	}
	kt_result(!bad, "multiplication table and inverses match GF(2^8)/0x11d");
}

static void test_mul_helpers(void)
{
	u8 src[77], dst[77], ref[77];
	unsigned int c, i, off, bad = 0;

	for (c = 0; c < 256; c++) {
		for (off = 0; off < 9; off++) {
			size_t len = sizeof(src) - off;

			rnd_fill(src, sizeof(src));
			rnd_fill(dst, sizeof(dst));
			memcpy(ref, dst, sizeof(dst));
			kcp_rs_mul_add(dst + off, src, len, c);
			for (i = 0; i < len; i++)
				ref[off + i] ^= gf_slow(c, src[i]);
			bad += memcmp(dst, ref, sizeof(dst)) != 0;
			kcp_rs_mul_set(dst + off, src, len, c);
			for (i = 0; i < len; i++)
				ref[off + i] = gf_slow(c, src[i]);
			bad += memcmp(dst, ref, sizeof(dst)) != 0;
		}
	}
	kt_result(!bad, "mul_add/mul_set for every coefficient, unaligned, odd lengths");
}

static void test_nibbles(void)
{
	unsigned int c, x, bad = 0;

	for (c = 0; c < 256; c++) {
		const u8 *nib = kcp_rs_nibbles(c);

		for (x = 0; x < 256; x++)
			bad += (nib[x & 15] ^ nib[16 + (x >> 4)]) !=
			       kcp_rs_mul(c, x);
	}
	kt_result(!bad, "nibble tables: c * x = lo[x & 15] ^ hi[x >> 4]");
}

/* An accelerator in plain C from the nibble tables, 16 bytes at a time. */
static unsigned int accel_calls, accel_refuse;

static size_t accel_nib16(u8 *dst, const u8 *src, size_t len, const u8 *nib,
			  bool add)
{
	size_t i, n = len & ~(size_t)15;

	accel_calls++;
	if (accel_refuse)
		return 0;
	for (i = 0; i < n; i++) {
		u8 v = nib[src[i] & 15] ^ nib[16 + (src[i] >> 4)];

		dst[i] = add ? dst[i] ^ v : v;
	}
	return n;
}

/*
 * mul_add/mul_set through @fn against the table code: every coefficient,
 * lengths around the accelerator's threshold and strides, odd offsets,
 * and in place (dst == src).
 */
static unsigned int accel_compare(kcp_rs_accel_fn fn)
{
	static const size_t lens[] = { 1, 15, 63, 64, 65, 95, 96, 127, 1350,
				       1382 };
	u8 src[1400 + 16], a[1400 + 16], b[1400 + 16];
	unsigned int c, k, bad = 0;

	for (c = 0; c < 256; c++) {
		for (k = 0; k < ARRAY_SIZE(lens); k++) {
			size_t off = (c + k) % 11, len = lens[k];
			bool add = (c + k) & 1, inplace = c % 17 == 3;

			rnd_fill(src, sizeof(src));
			rnd_fill(a, sizeof(a));
			if (inplace)
				memcpy(a, src, sizeof(a));
			memcpy(b, a, sizeof(a));
			kcp_rs_set_accel(NULL);
			if (add)
				kcp_rs_mul_add(a + off, inplace ? a + off :
					       src + off, len, c);
			else
				kcp_rs_mul_set(a + off, inplace ? a + off :
					       src + off, len, c);
			kcp_rs_set_accel(fn);
			if (add)
				kcp_rs_mul_add(b + off, inplace ? b + off :
					       src + off, len, c);
			else
				kcp_rs_mul_set(b + off, inplace ? b + off :
					       src + off, len, c);
			bad += memcmp(a, b, sizeof(a)) != 0;
		}
	}
	kcp_rs_set_accel(NULL);
	return bad;
}

static void test_accel_hook(void)
{
	unsigned int bad;

	accel_calls = 0;
	bad = accel_compare(accel_nib16);
	kt_result(!bad && accel_calls > 0,
		  "an accelerator does a prefix, the tables the rest (%u calls)",
		  accel_calls);
	accel_refuse = 1;
	bad = accel_compare(accel_nib16);
	accel_refuse = 0;
	kt_result(!bad, "an accelerator that cannot run leaves it to the tables");
}

#if defined(__x86_64__)
static size_t accel_avx2(u8 *dst, const u8 *src, size_t len, const u8 *nib,
			 bool add)
{
	return kcp_rs_avx2_loop(dst, src, len, nib, add);
}

static size_t accel_ssse3(u8 *dst, const u8 *src, size_t len, const u8 *nib,
			  bool add)
{
	return kcp_rs_ssse3_loop(dst, src, len, nib, add);
}

/* The module's SIMD loops (kmod/rs_simd.c), where this CPU has them. */
static void test_accel_x86(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		kt_result(!accel_compare(accel_avx2),
			  "AVX2 loop matches the tables");
	else
		kt_skip("no AVX2 on this CPU", "AVX2 loop matches the tables");
	if (__builtin_cpu_supports("ssse3"))
		kt_result(!accel_compare(accel_ssse3),
			  "SSSE3 loop matches the tables");
	else
		kt_skip("no SSSE3 on this CPU", "SSSE3 loop matches the tables");
}
#endif

/* ---- klauspost vectors ---- */

static void test_rows(void)
{
	unsigned int d, p, cfgs = 0, bad = 0;
	u8 *rows = xmalloc(255 * 255), scratch[KCP_RS_SCRATCH(255)];
	struct rd r;

	if (!rd_open(&r, "fec_rows.bin")) {
		kt_skip("no fec_rows.bin", "parity rows vs klauspost");
		return;
	}
	while ((d = rd16(&r)) != 0 && !r.bad) {
		const u8 *ref;

		p = rd16(&r);
		ref = rd_n(&r, p * d);
		if (!ref || kcp_rs_parity_rows(d, p, rows, scratch)) {
			bad++;
			break;
		}
		bad += memcmp(rows, ref, p * d) != 0;
		/* rows do not depend on p: a smaller p is a prefix */
		if (p > 3 && (kcp_rs_parity_rows(d, 3, rows, scratch) ||
			      memcmp(rows, ref, 3 * d)))
			bad++;
		cfgs++;
	}
	kt_result(!bad && !r.bad && cfgs == 254,
		   "parity rows equal klauspost's matrix for d = 1..254, p = 255 - d (%u configs)",
		   cfgs);
	kt_result(kcp_rs_parity_rows(0, 1, rows, scratch) == -EINVAL &&
		   kcp_rs_parity_rows(1, 0, rows, scratch) == -EINVAL &&
		   kcp_rs_parity_rows(200, 56, rows, scratch) == -EINVAL &&
		   kcp_rs_parity_rows(254, 1, rows, scratch) == 0 &&
		   kcp_fec_check_shards(0, 1) == -EINVAL &&
		   kcp_fec_check_shards(1, 0) == -EINVAL &&
		   kcp_fec_check_shards(128, 128) == -EINVAL &&
		   kcp_fec_check_shards(1, 254) == 0 &&
		   kcp_fec_check_shards(10, 3) == 0 &&
		   /* setsockopt passes u32s: the sum must not wrap */
		   kcp_fec_check_shards(0xffffffffu, 2) == -EINVAL &&
		   kcp_fec_check_shards(2, 0xffffffffu) == -EINVAL &&
		   kcp_fec_check_shards(300, 3) == -EINVAL,
		   "shard counts: d >= 1, p >= 1, d + p <= 255, no wrap");
	rd_close(&r);
	free(rows);
}

struct rsvec {
	unsigned int d, p, n, L;
	u16 lens[KCP_RS_MAX_SHARDS];	/* data: own length; parity: L */
	const u8 *shards;		/* n x L */
};

/* Rebuild with the shards not in @lost; compare with the originals. */
static int rs_check_erasure(const struct rsvec *v, const u8 *lost,
			    const u8 *expect)
{
	const u8 *shards[KCP_RS_MAX_SHARDS];
	u8 *out[KCP_RS_MAX_SHARDS] = { NULL };
	u8 scratch[KCP_RS_SCRATCH(KCP_RS_MAX_SHARDS)];
	unsigned int k, missing = 0;
	int ret, bad = 0;

	for (k = 0; k < v->n; k++) {
		shards[k] = lost[k] ? NULL : v->shards + k * v->L;
		if (lost[k] && k < v->d) {
			out[k] = xmalloc(v->L);
			memset(out[k], 0xA5, v->L);
			missing++;
		}
	}
	ret = kcp_rs_reconstruct(v->d, v->n, shards, v->lens, out, v->L,
				 scratch);
	if (ret != (int)missing)
		bad = 1;
	for (k = 0; k < v->d && !bad; k++)
		if (out[k] && memcmp(out[k], (expect ? expect : v->shards) +
				     k * v->L, v->L))
			bad = 1;
	for (k = 0; k < v->d; k++)
		free(out[k]);
	return bad;
}

static u64 binom(unsigned int n, unsigned int k)
{
	u64 r = 1;
	unsigned int i;

	for (i = 1; i <= k; i++)
		r = r * (n - k + i) / i;
	return r;
}

/* every pattern of k lost shards, by lexicographic combinations */
static int rs_all_patterns(const struct rsvec *v, unsigned int k,
			   unsigned int *count)
{
	unsigned int idx[KCP_RS_MAX_SHARDS], i;
	u8 lost[KCP_RS_MAX_SHARDS];
	int bad = 0;

	for (i = 0; i < k; i++)
		idx[i] = i;
	for (;;) {
		memset(lost, 0, v->n);
		for (i = 0; i < k; i++)
			lost[idx[i]] = 1;
		bad += rs_check_erasure(v, lost, NULL);
		(*count)++;
		/* next combination */
		i = k;
		while (i > 0 && idx[i - 1] == v->n - k + i - 1)
			i--;
		if (!i)
			break;
		idx[i - 1]++;
		for (; i < k; i++)
			idx[i] = idx[i - 1] + 1;
	}
	return bad;
}

static int rs_sampled_patterns(const struct rsvec *v, unsigned int samples,
			       unsigned int *count)
{
	u8 lost[KCP_RS_MAX_SHARDS], perm[KCP_RS_MAX_SHARDS];
	unsigned int s, i, j, k;
	int bad = 0;

	for (s = 0; s < samples; s++) {
		k = 1 + rnd() % v->p;
		for (i = 0; i < v->n; i++)
			perm[i] = i;
		memset(lost, 0, v->n);
		for (i = 0; i < k; i++) {
			j = i + rnd() % (v->n - i);
			lost[perm[j]] = 1;
			perm[j] = perm[i];
		}
		bad += rs_check_erasure(v, lost, NULL);
		(*count)++;
	}
	return bad;
}

static void rs_encode_check(const struct rsvec *v, int *bad)
{
	u8 *rows = xmalloc(v->p * v->d), scratch[KCP_RS_SCRATCH(255)];
	u8 *par = xcalloc(v->p * v->L);
	unsigned int i, j;

	kcp_rs_parity_rows(v->d, v->p, rows, scratch);
	/* as the FEC encoder: unpadded shards folded in one by one */
	for (j = 0; j < v->d; j++)
		for (i = 0; i < v->p; i++)
			kcp_rs_mul_add(par + i * v->L, v->shards + j * v->L,
				       v->lens[j], rows[i * v->d + j]);
	*bad += memcmp(par, v->shards + v->d * v->L, v->p * v->L) != 0;
	free(par);
	free(rows);
}

static void test_rs_vectors(void)
{
	struct rd r;
	struct rsvec v;
	unsigned int k, j, npat, sets = 0;

	if (!rd_open(&r, "fec_rs.bin")) {
		kt_skip("no fec_rs.bin", "Reed-Solomon vectors");
		return;
	}
	while ((v.d = rd16(&r)) != 0 && !r.bad) {
		int enc_bad = 0, kp_bad = 0, bad = 0;
		unsigned int count = 0;
		u64 total = 0;
		u8 lost[KCP_RS_MAX_SHARDS];

		v.p = rd16(&r);
		v.n = v.d + v.p;
		v.L = rd16(&r);
		for (k = 0; k < v.d; k++)
			v.lens[k] = rd16(&r);
		for (; k < v.n; k++)
			v.lens[k] = v.L;
		v.shards = rd_n(&r, v.n * v.L);
		if (r.bad)
			break;
		rs_encode_check(&v, &enc_bad);
		kt_result(!enc_bad, "RS(%u,%u) L=%u: parity of uneven zero-padded shards = klauspost's",
			   v.d, v.p, v.L);

		npat = rd16(&r);
		for (j = 0; j < npat && !r.bad; j++) {
			const u8 *keep = rd_n(&r, v.n);
			const u8 *expect = rd_n(&r, v.d * v.L);

			if (r.bad)
				break;
			for (k = 0; k < v.n; k++)
				lost[k] = !keep[k];
			kp_bad += rs_check_erasure(&v, lost, expect);
		}
		kt_result(!kp_bad && !r.bad, "RS(%u,%u): %u erasure patterns rebuilt as klauspost's ReconstructData",
			   v.d, v.p, npat);

		for (k = 0; k <= v.p; k++)
			total += binom(v.n, k);
		if (total <= 6000) {
			for (k = 0; k <= v.p; k++)
				bad += rs_all_patterns(&v, k, &count);
		} else {
			bad += rs_sampled_patterns(&v, v.n >= 100 ? 40 : 400,
						   &count);
		}
		/* p + 1 losses are too many */
		memset(lost, 0, v.n);
		for (k = 0; k <= v.p; k++)
			lost[k] = 1;
		{
			const u8 *shards[KCP_RS_MAX_SHARDS];
			u8 scratch[KCP_RS_SCRATCH(KCP_RS_MAX_SHARDS)];
			u8 *out[KCP_RS_MAX_SHARDS] = { NULL };

			for (k = 0; k < v.n; k++)
				shards[k] = lost[k] ? NULL : v.shards;
			bad += kcp_rs_reconstruct(v.d, v.n, shards, v.lens, out,
						  v.L, scratch) != -EINVAL;
		}
		kt_result(!bad, "RS(%u,%u): %s erasure patterns of up to %u losses recover (%u checked)",
			   v.d, v.p, total <= 6000 ? "all" : "sampled", v.p,
			   count);
		sets++;
	}
	kt_result(!r.bad && sets >= 10, "fec_rs.bin parsed (%u configurations)", sets);
	rd_close(&r);
}

/* kcp-go's own encoder vs ours, datagram for datagram */
static void test_enc_vectors(void)
{
	struct rd r;
	unsigned int d, streams = 0;

	if (!rd_open(&r, "fec_enc.bin")) {
		kt_skip("no fec_enc.bin", "encoder vs kcp-go");
		return;
	}
	while ((d = rd16(&r)) != 0 && !r.bad) {
		unsigned int p = rd16(&r), off = rd16(&r);
		u32 start = rd32(&r), nin = rd32(&r), nout, i, j = 0;
		const u8 **in = xmalloc(nin * sizeof(*in));
		u16 *inlen = xmalloc(nin * sizeof(*inlen));
		struct kcp_fec_enc enc;
		u8 buf[1500], pbuf[1500];
		int bad = 0, nparity = 0, wrapped = 0;

		for (i = 0; i < nin; i++) {
			inlen[i] = rd16(&r);
			in[i] = rd_n(&r, inlen[i]);
		}
		nout = rd32(&r);
		bad |= kcp_fec_enc_init(&enc, d, p) != 0;
		enc.next = start;
		for (i = 0; i < nin && !r.bad && !bad; i++) {
			unsigned int olen;
			const u8 *o;
			int ret, k;

			memcpy(buf + KCP_FEC_HDR, in[i], inlen[i]);
			ret = kcp_fec_encode(&enc, buf, KCP_FEC_HDR + inlen[i],
					     true);
			olen = rd16(&r);
			o = rd_n(&r, olen);
			j++;
			if (!o || olen != KCP_FEC_HDR + inlen[i] ||
			    memcmp(o, buf, olen)) {
				diag("data datagram %u differs", i);
				bad = 1;
			}
			wrapped |= kcp_get_le32(buf) == 0 && start;
			if (ret != 0 && ret != (int)p) {
				bad = 1;
				break;
			}
			for (k = 0; k < ret && !bad; k++) {
				int plen = kcp_fec_enc_parity(&enc, k, pbuf,
							      sizeof(pbuf));

				olen = rd16(&r);
				o = rd_n(&r, olen);
				j++;
				nparity++;
				if (!o || plen != (int)olen ||
				    (size_t)plen != kcp_fec_enc_parity_len(&enc) ||
				    memcmp(o, pbuf, olen)) {
					diag("parity %d after datagram %u differs", k, i);
					bad = 1;
				}
			}
		}
		if (bad)	/* skip the rest of this stream */
			for (; j < nout && !r.bad; j++)
				rd_n(&r, rd16(&r));
		kt_result(!bad && !r.bad && j == nout,
			   "kcp-go encoder %u/%u (crypto room %u, first seqid %u%s): %u datagrams (%d parity) byte-identical",
			   d, p, off, start, wrapped ? ", wraps at paws" : "",
			   nout, nparity);
		kcp_fec_enc_destroy(&enc);
		free(in);
		free(inlen);
		streams++;
	}
	kt_result(!r.bad && streams >= 10, "fec_enc.bin parsed (%u streams)", streams);
	rd_close(&r);
}

static void test_enc_api(void)
{
	struct kcp_fec_enc a, b;
	struct kcp_fec_dec dec;
	u8 buf[1600], ref[1600], pbuf[1600];
	unsigned int i, k, same = 1;
	int ret = 0, ok = 1;

	ok &= kcp_fec_enc_init(&a, 0, 3) == -EINVAL &&
	      kcp_fec_enc_init(&a, 200, 56) == -EINVAL &&
	      kcp_fec_dec_init(&dec, 3, 0) == -EINVAL &&
	      kcp_fec_dec_init(&dec, 128, 128) == -EINVAL;
	kcp_fec_enc_init(&a, 3, 2);
	memset(buf, 0, sizeof(buf));
	ok &= kcp_fec_encode(&a, buf, 7, true) == -EINVAL &&
	      kcp_fec_encode(&a, buf, 1501, true) == -EINVAL && a.next == 0 &&
	      !a.par && !a.rows;
	ok &= kcp_fec_enc_parity_len(&a) == 0 &&
	      kcp_fec_enc_parity(&a, 0, pbuf, sizeof(pbuf)) == -EINVAL;
	ok &= kcp_fec_encode(&a, buf, 8, true) == 0 && kcp_get_le32(buf) == 0 &&
	      kcp_get_le16(buf + 6) == 2 && a.par;
	ok &= kcp_fec_encode(&a, buf, 1500, true) == 0;
	ok &= kcp_fec_encode(&a, buf, 100, true) == 2 &&
	      kcp_fec_enc_parity_len(&a) == 1500 &&
	      kcp_fec_enc_parity(&a, 2, pbuf, sizeof(pbuf)) == -EINVAL &&
	      kcp_fec_enc_parity(&a, 1, pbuf, 1499) == -EMSGSIZE &&
	      kcp_fec_enc_parity(&a, 1, pbuf, 1500) == 1500 &&
	      kcp_get_le32(pbuf) == 4 && kcp_get_le16(pbuf + 4) == 0xF2;
	ok &= kcp_fec_encode(&a, buf, 100, true) == 0 && kcp_get_le32(buf) == 5 &&
	      kcp_fec_enc_parity_len(&a) == 0;
	kcp_fec_enc_shrink(&a);		/* mid-group: keeps its parity */
	ok &= a.par != NULL;
	kcp_fec_enc_destroy(&a);
	kt_result(ok, "encoder API: bounds, parity readiness, buffer sizes, seqids");

	/* shrinking between groups changes nothing on the wire */
	kcp_fec_enc_init(&a, 4, 2);
	kcp_fec_enc_init(&b, 4, 2);
	for (i = 0; i < 40 && same; i++) {
		unsigned int len = 8 + rnd() % 1492;
		int r2;

		rnd_fill(buf + 8, len - 8);
		memcpy(ref, buf, len);
		ret = kcp_fec_encode(&a, buf, len, true);
		r2 = kcp_fec_encode(&b, ref, len, true);
		same &= ret == r2 && !memcmp(buf, ref, len);
		for (k = 0; k < (unsigned int)ret; k++) {
			kcp_fec_enc_parity(&a, k, pbuf, sizeof(pbuf));
			kcp_fec_enc_parity(&b, k, ref, sizeof(ref));
			same &= !memcmp(pbuf, ref, kcp_fec_enc_parity_len(&a));
		}
		if (i % 7 == 0)
			kcp_fec_enc_shrink(&a);
	}
	kt_result(same, "encoder shrink between groups does not change the output");
	kcp_fec_enc_destroy(&a);
	kcp_fec_enc_destroy(&b);
}

/* ---- streams for decoder tests ---- */

struct dgram {
	u8 *b;
	u16 len;
	u32 seq;
	bool data;
	int id;			/* data: serial number, else -1 */
};

struct stream {
	unsigned int d, p;
	struct dgram *v;
	unsigned int n, cap;
	u8 **payload;		/* by serial */
	u16 *plen;
	unsigned int ndata;
};

static void st_push(struct stream *s, const u8 *b, size_t len, int id)
{
	struct dgram *g;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			exit(2);
	}
	g = &s->v[s->n++];
	g->b = xmalloc(len);
	memcpy(g->b, b, len);
	g->len = len;
	g->seq = kcp_get_le32(b);
	g->data = kcp_get_le16(b + 4) == KCP_FEC_TYPE_DATA;
	g->id = id;
}

/*
 * @groups full groups from our (kcp-go identical) encoder, starting at
 * seqid @start. Payloads start with their serial number. With @shift,
 * every @shift-th group sends no parity and reuses its parity seqids, as
 * kcp-go v5.6.6..v5.6.15 do (wire spec 8).
 */
static void st_make(struct stream *s, unsigned int d, unsigned int p,
		    u32 start, unsigned int groups, unsigned int shift)
{
	struct kcp_fec_enc enc;
	u8 buf[1500], pbuf[1500];
	unsigned int i, k, total = groups * d;

	memset(s, 0, sizeof(*s));
	s->d = d;
	s->p = p;
	s->payload = xcalloc(total * sizeof(*s->payload));
	s->plen = xcalloc(total * sizeof(*s->plen));
	if (kcp_fec_enc_init(&enc, d, p))
		exit(2);
	enc.next = start;
	for (i = 0; i < total; i++) {
		unsigned int len = 4 + rnd() % 1488;
		int ret;

		if (chance(30))
			len = 4 + rnd() % 60;
		rnd_fill(buf + KCP_FEC_HDR, len);
		kcp_put_le32(buf + KCP_FEC_HDR, i);
		s->payload[i] = xmalloc(len);
		memcpy(s->payload[i], buf + KCP_FEC_HDR, len);
		s->plen[i] = len;
		ret = kcp_fec_encode(&enc, buf, KCP_FEC_HDR + len, true);
		st_push(s, buf, KCP_FEC_HDR + len, i);
		if (ret > 0 && shift && (i / d) % shift == shift - 1) {
			enc.next = enc.pseq;	/* parity seqids not consumed */
			continue;
		}
		for (k = 0; k < (unsigned int)ret; k++) {
			int plen = kcp_fec_enc_parity(&enc, k, pbuf, sizeof(pbuf));

			st_push(s, pbuf, plen, -1);
		}
	}
	s->ndata = total;
	kcp_fec_enc_destroy(&enc);
}

static void st_free(struct stream *s)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].b);
	for (i = 0; i < s->ndata; i++)
		free(s->payload[i]);
	free(s->v);
	free(s->payload);
	free(s->plen);
	memset(s, 0, sizeof(*s));
}

/* serial of a sent data payload equal to these bytes, or -1 */
static int st_match(const struct stream *s, const u8 *b, size_t len)
{
	u32 id;

	if (len < 4)
		return -1;
	id = kcp_get_le32(b);
	if (id >= s->ndata || s->plen[id] != len ||
	    memcmp(s->payload[id], b, len))
		return -1;
	return (int)id;
}

struct feed {
	unsigned int recovered;	/* valid, first time */
	unsigned int garbage;	/* not a sent data payload */
	unsigned int again;	/* a payload handed back twice */
	u8 *seen;		/* per serial: times recovered */
};

static void feed_init(struct feed *f, const struct stream *s)
{
	memset(f, 0, sizeof(*f));
	f->seen = xcalloc(s->ndata + 1);
}

static int feed(struct kcp_fec_dec *dec, const struct stream *s,
		struct feed *f, const struct dgram *g, u32 now)
{
	int ret = kcp_fec_decode(dec, g->b, g->len, now, false);
	const u8 *b;
	size_t len;
	int i, id;

	for (i = 0; i < ret; i++) {
		b = kcp_fec_dec_recovered(dec, i, &len);
		id = b ? st_match(s, b, len) : -1;
		if (id < 0) {
			f->garbage++;
			continue;
		}
		if (f->seen[id]++)
			f->again++;
		else
			f->recovered++;
	}
	if (kcp_fec_dec_recovered(dec, ret < 0 ? 0 : ret, &len))
		f->garbage++;	/* more than announced */
	return ret;
}

/* ---- decoder tests ---- */

static void test_parse(void)
{
	u8 b[1600];
	const u8 *kcp;
	size_t klen;
	int ok = 1;

	memset(b, 0, sizeof(b));
	kcp_put_le32(b, 7);
	kcp_put_le16(b + 4, KCP_FEC_TYPE_DATA);
	kcp_put_le16(b + 6, 2 + 30);
	ok &= kcp_fec_parse(b, 38, &kcp, &klen) == KCP_FEC_DATA &&
	      kcp == b + 8 && klen == 30;
	ok &= kcp_fec_parse(b, 39, &kcp, &klen) == KCP_FEC_BAD && !kcp;
	ok &= kcp_fec_parse(b, 37, &kcp, &klen) == KCP_FEC_BAD;
	kcp_put_le16(b + 6, 2);
	ok &= kcp_fec_parse(b, 8, &kcp, &klen) == KCP_FEC_DATA && klen == 0;
	ok &= kcp_fec_parse(b, 7, &kcp, &klen) == KCP_FEC_BAD;
	kcp_put_le16(b + 6, 1500 - 6);
	ok &= kcp_fec_parse(b, 1500, &kcp, &klen) == KCP_FEC_DATA;
	kcp_put_le16(b + 6, 1501 - 6);
	ok &= kcp_fec_parse(b, 1501, &kcp, &klen) == KCP_FEC_BAD;
	kt_result(ok, "parse: data shards need size == len - 6, 8 <= len <= 1500");

	ok = 1;
	kcp_put_le16(b + 4, KCP_FEC_TYPE_PARITY);
	ok &= kcp_fec_parse(b, 8, &kcp, &klen) == KCP_FEC_PARITY && !kcp &&
	      !klen;
	ok &= kcp_fec_parse(b, 7, &kcp, &klen) == KCP_FEC_BAD;
	ok &= kcp_fec_parse(b, 1501, &kcp, &klen) == KCP_FEC_BAD;
	/* raw KCP: conv, cmd 81, frg 0 */
	kcp_put_le32(b, 0x12345678);
	b[4] = 81;
	b[5] = 0;
	ok &= kcp_fec_parse(b, 24, &kcp, &klen) == KCP_FEC_NONE &&
	      kcp == b && klen == 24;
	kcp_put_le16(b + 4, 0x00F3);	/* kcp-go >= 5.6.60 OOB */
	ok &= kcp_fec_parse(b, 24, &kcp, &klen) == KCP_FEC_NONE;
	ok &= kcp_fec_parse(b, 3, &kcp, &klen) == KCP_FEC_NONE && klen == 3;
	kt_result(ok, "parse: FEC-off path delivers data KCP bytes, ignores parity, passes raw KCP");
}

static void test_dec_clean(unsigned int d, unsigned int p)
{
	struct kcp_fec_dec dec;
	struct stream s;
	struct feed f;
	unsigned int i;

	st_make(&s, d, p, 0, 20, 0);
	kcp_fec_dec_init(&dec, d, p);
	feed_init(&f, &s);
	kt_result(!dec.win && !dec.verify, "%u/%u decoder holds nothing before FEC traffic", d, p);
	for (i = 0; i < s.n; i++)
		feed(&dec, &s, &f, &s.v[i], 1000);
	kt_result(dec.state == KCP_FEC_CONFIRMED && !dec.verify &&
		   !dec.st.recovered && !f.garbage &&
		   dec.st.parity_shards == 20 * p && dec.st.late == 20 * p &&
		   !dec.st.short_shards && !dec.st.errs,
		   "%u/%u lossless: confirmed, nothing rebuilt, late parity of finished groups dropped",
		   d, p);
	kcp_fec_dec_shrink(&dec, 1000);
	kt_result(!dec.win, "%u/%u shrink frees the empty window", d, p);
	kcp_fec_dec_destroy(&dec);
	free(f.seen);
	st_free(&s);
}

/*
 * In-order delivery with loss after @clean lossless groups: every lost
 * data shard of a group that got >= d shards must come back, once, as
 * sent; nothing else may.
 */
static void test_dec_loss(unsigned int d, unsigned int p, u32 start,
			  unsigned int groups, unsigned int loss,
			  unsigned int dup, const char *what)
{
	unsigned int n = d + p, g, k, expect = 0, lost_ok = 1, i;
	struct kcp_fec_dec dec;
	struct stream s;
	struct feed f;
	u8 *arrive;

	st_make(&s, d, p, start, groups, 0);
	arrive = xcalloc(s.n);
	kcp_fec_dec_init(&dec, d, p);
	feed_init(&f, &s);
	for (i = 0; i < s.n; i++)
		arrive[i] = i < 3 * n || !chance(loss);
	for (g = 0; g < groups; g++) {
		unsigned int got = 0, gotdata = 0;

		for (k = 0; k < n; k++) {
			got += arrive[g * n + k];
			gotdata += k < d && arrive[g * n + k];
		}
		if (got >= d && gotdata < d)
			expect += d - gotdata;
	}
	for (i = 0; i < s.n; i++) {
		if (!arrive[i])
			continue;
		feed(&dec, &s, &f, &s.v[i], 5000 + i);
		if (chance(dup))
			feed(&dec, &s, &f, &s.v[i], 5000 + i);
	}
	for (g = 0; g < groups; g++) {
		unsigned int got = 0;

		for (k = 0; k < n; k++)
			got += arrive[g * n + k];
		for (k = 0; k < d && got >= d; k++)
			if (!arrive[g * n + k] && f.seen[s.v[g * n + k].id] != 1)
				lost_ok = 0;
	}
	kt_result(dec.state == KCP_FEC_CONFIRMED && !f.garbage && !f.again &&
		   lost_ok && f.recovered == expect &&
		   dec.st.recovered == expect && !dec.st.errs,
		   "%u/%u %s, %u%% loss%s: all %u recoverable data shards rebuilt exactly once",
		   d, p, what, loss, dup ? ", duplicates" : "", expect);
	kcp_fec_dec_destroy(&dec);
	free(arrive);
	free(f.seen);
	st_free(&s);
}

static void test_dec_reorder(unsigned int d, unsigned int p)
{
	unsigned int n = d + p, i, j, g, k, lost_ok = 1;
	unsigned int *order;
	struct kcp_fec_dec dec;
	struct stream s;
	struct feed f;
	u8 *arrive;

	st_make(&s, d, p, 0, 40, 0);
	arrive = xcalloc(s.n);
	order = xmalloc(s.n * sizeof(*order));
	for (i = 0; i < s.n; i++) {
		order[i] = i;
		arrive[i] = i < 2 * n || !chance(10);
	}
	/* local shuffles: no datagram moves more than 6 places */
	for (i = 2 * n; i + 1 < s.n; i++) {
		j = i + rnd() % min_t(unsigned int, 6, s.n - i);
		k = order[i];
		order[i] = order[j];
		order[j] = k;
	}
	kcp_fec_dec_init(&dec, d, p);
	feed_init(&f, &s);
	for (i = 0; i < s.n; i++) {
		if (!arrive[order[i]])
			continue;
		feed(&dec, &s, &f, &s.v[order[i]], 100);
		if (chance(5))
			feed(&dec, &s, &f, &s.v[order[i]], 100);
	}
	for (g = 0; g < 40; g++) {
		unsigned int got = 0;

		for (k = 0; k < n; k++)
			got += arrive[g * n + k];
		for (k = 0; k < d && got >= d; k++)
			if (!arrive[g * n + k] && !f.seen[s.v[g * n + k].id])
				lost_ok = 0;
	}
	kt_result(!f.garbage && !f.again && lost_ok && dec.st.dups + dec.st.late > 0,
		   "%u/%u out of order + duplicates: every lost shard of a recoverable group rebuilt once (%u rebuilt, %llu dups, %llu late)",
		   d, p, f.recovered, (unsigned long long)dec.st.dups,
		   (unsigned long long)dec.st.late);
	kcp_fec_dec_destroy(&dec);
	free(order);
	free(arrive);
	free(f.seen);
	st_free(&s);
}

/* first 2n datagrams lossless: the decoder is confirmed after them */
static void confirm(struct kcp_fec_dec *dec, struct stream *s, struct feed *f,
		    u32 now)
{
	unsigned int i;

	for (i = 0; i < 2 * (s->d + s->p); i++)
		feed(dec, s, f, &s->v[i], now);
}

/* before the peer's shard counts are proven nothing is rebuilt */
static void test_dec_unverified(void)
{
	struct kcp_fec_dec dec;
	struct stream s;
	struct feed f;
	unsigned int i;

	st_make(&s, 10, 3, 0, 3, 0);
	kcp_fec_dec_init(&dec, 10, 3);
	feed_init(&f, &s);
	for (i = 0; i < 13; i++)	/* group 0 without data shard 3 */
		if (i != 3)
			feed(&dec, &s, &f, &s.v[i], 0);
	kt_result(dec.state == KCP_FEC_UNVERIFIED && dec.st.unverified == 3 &&
		   !f.recovered,
		   "unproven shard counts: a recoverable group is kept, not rebuilt (counted)");
	for (i = 13; i < 39; i++)	/* group 1 whole, group 2 without 26 */
		if (i != 26)
			feed(&dec, &s, &f, &s.v[i], 0);
	kt_result(dec.state == KCP_FEC_CONFIRMED && f.recovered == 1 &&
		   f.seen[s.v[26].id] == 1 && !f.garbage,
		   "once proven (one clean group later) groups are rebuilt");
	kcp_fec_dec_destroy(&dec);
	free(f.seen);
	st_free(&s);
}

static void test_dec_expiry(void)
{
	unsigned int i, pass;
	struct kcp_fec_dec dec;
	struct stream s;
	struct feed f;

	st_make(&s, 10, 3, 0, 4, 0);
	for (pass = 0; pass < 2; pass++) {
		u32 t0 = 0xFFFFF000u;	/* the ms clock wraps meanwhile */
		u32 later = t0 + 1000 + 60000 + pass;

		kcp_fec_dec_init(&dec, 10, 3);
		feed_init(&f, &s);
		confirm(&dec, &s, &f, t0);
		/* group 2: data 26..34 at t0 + 1000, 35 lost */
		for (i = 26; i <= 34; i++)
			feed(&dec, &s, &f, &s.v[i], t0 + 1000);
		for (i = 36; i <= 38; i++)
			feed(&dec, &s, &f, &s.v[i], later);
		if (!pass)
			kt_result(f.recovered == 1 && !f.garbage,
				   "expiry: shards 60000 ms old still rebuild their group");
		else
			kt_result(!f.recovered && !dec.st.recovered,
				   "expiry: shards older than 60000 ms are dropped (clock wrap)");
		kcp_fec_dec_shrink(&dec, later + 60001);
		if (pass)
			kt_result(!dec.win, "expiry: shrink after 60 s idle frees the window");
		kcp_fec_dec_destroy(&dec);
		free(f.seen);
	}
	st_free(&s);
}

static void test_dec_overflow(void)
{
	struct kcp_fec_dec dec;
	struct stream s;
	struct feed f;
	unsigned int g, n = 13;

	st_make(&s, 10, 3, 0, 64, 0);
	kcp_fec_dec_init(&dec, 10, 3);
	feed_init(&f, &s);
	confirm(&dec, &s, &f, 0);
	/* one data shard of each later group: 1 of 10, never recoverable */
	for (g = 2; g < 62; g++)
		feed(&dec, &s, &f, &s.v[g * n], 0);
	kt_result(dec.st.short_shards == 60 - 39 && !f.recovered,
		   "window overflow: 3n shards kept, lowest seqids evicted as short shards (%llu)",
		   (unsigned long long)dec.st.short_shards);
	/* below the head of a full window: counted, not stored */
	feed(&dec, &s, &f, &s.v[3 * n + 1], 0);
	kt_result(dec.st.short_shards == 22,
		   "window overflow: a shard older than a full window is dropped as short");
	/* parity below the head: not counted as short */
	feed(&dec, &s, &f, &s.v[3 * n + 11], 0);
	kt_result(dec.st.short_shards == 22, "window overflow: parity is never a short shard");
	kcp_fec_dec_destroy(&dec);
	free(f.seen);
	st_free(&s);
}

static void test_dec_malformed(void)
{
	struct kcp_fec_dec dec;
	struct stream s;
	struct feed f;
	u8 b[1600];
	unsigned int i, n = 13;
	u64 c;

	st_make(&s, 10, 3, 0, 6, 0);
	kcp_fec_dec_init(&dec, 10, 3);
	feed_init(&f, &s);
	confirm(&dec, &s, &f, 0);

	memcpy(b, s.v[30].b, s.v[30].len);
	kt_result(kcp_fec_decode(&dec, b, 7, 0, false) == -EBADMSG &&
		   kcp_fec_decode(&dec, b, s.v[30].len - 1, 0, false) == -EBADMSG &&
		   kcp_fec_decode(&dec, b, 1501, 0, false) == -EBADMSG &&
		   dec.st.malformed == 3,
		   "malformed: short, size field beyond the datagram, over 1500 bytes");
	kcp_put_le16(b + 6, 1);
	kt_result(kcp_fec_decode(&dec, b, s.v[30].len, 0, false) == -EBADMSG &&
		   dec.st.malformed == 4, "malformed: size field < 2");
	memcpy(b, s.v[30].b, s.v[30].len);
	kcp_put_le16(b + 4, 0x00F3);
	kt_result(kcp_fec_decode(&dec, b, s.v[30].len, 0, false) == -EBADMSG &&
		   dec.st.malformed == 5, "malformed: unknown flag");

	c = dec.st.out_of_window;
	memcpy(b, s.v[30].b, s.v[30].len);
	kcp_put_le32(b, dec.paws + 3);	/* a data position, beyond paws */
	feed(&dec, &s, &f, &(struct dgram){ .b = b, .len = s.v[30].len }, 0);
	kt_result(dec.st.out_of_window == c + 1, "seqid at or beyond paws is dropped");
	kcp_put_le32(b, 26 + 13 * 100000);	/* far ahead, data position */
	feed(&dec, &s, &f, &(struct dgram){ .b = b, .len = s.v[30].len }, 0);
	kcp_put_le32(b, 0x80000000u / 13 * 13);
	feed(&dec, &s, &f, &(struct dgram){ .b = b, .len = s.v[30].len }, 0);
	kt_result(dec.st.out_of_window == c + 3 && !dec.st.resyncs,
		   "seqid far from the window is dropped and counted");

	c = dec.st.dups;
	feed(&dec, &s, &f, &s.v[26], 0);
	feed(&dec, &s, &f, &s.v[26], 0);
	kt_result(dec.st.dups == c + 1, "duplicate seqid counted once, not stored twice");
	c = dec.st.late;
	feed(&dec, &s, &f, &s.v[0], 0);
	kt_result(dec.st.late == c + 1, "shard of a finished group counted late");

	/* group 3 (39..51): data 39 lost; parity 49 a byte short */
	for (i = 40; i <= 48; i++)
		feed(&dec, &s, &f, &s.v[i], 0);
	memcpy(b, s.v[49].b, s.v[49].len);
	c = dec.st.errs;
	feed(&dec, &s, &f, &(struct dgram){ .b = b, .len = s.v[49].len - 1 }, 0);
	kt_result(dec.st.errs == c + 1 && !f.recovered,
		   "parity length unequal to the group's: refused, counted as FEC error");

	/* group 4 (52..64): data 52 lost, padding byte of parity flipped */
	for (i = 53; i <= 61; i++)
		feed(&dec, &s, &f, &s.v[i], 0);
	memcpy(b, s.v[62].b, s.v[62].len);
	{
		unsigned int sz = s.plen[s.v[52].id] + 2;

		if (sz < s.v[62].len - 6u) {
			b[6 + sz] ^= 0x40;
			c = dec.st.errs;
			feed(&dec, &s, &f, &(struct dgram){ .b = b, .len = s.v[62].len }, 0);
			kt_result(dec.st.errs == c + 1 && !f.recovered && !f.garbage,
				   "rebuilt shard with non-zero padding is refused (FEC error)");
		} else {
			kt_skip("shard 52 is the longest", "non-zero padding refused");
		}
	}

	/* data flag at a parity position: more data shards than configured */
	memcpy(b, s.v[66].b, s.v[66].len);
	kcp_put_le32(b, 5 * n + 11);
	feed(&dec, &s, &f, &(struct dgram){ .b = b, .len = s.v[66].len }, 0);
	kt_result(dec.state == KCP_FEC_MISMATCH && dec.st.mismatch == 1 && !dec.win,
		   "data flag at a parity position: mismatch, window freed");
	c = f.recovered;
	feed(&dec, &s, &f, &s.v[66], 0);
	feed(&dec, &s, &f, &s.v[67], 0);
	kt_result(dec.state == KCP_FEC_MISMATCH && f.recovered == c,
		   "after a mismatch nothing is rebuilt until the counts are proven again");
	kcp_fec_dec_destroy(&dec);
	free(f.seen);
	st_free(&s);
}

/*
 * One forged shard (a parity shard carries no conv, so anyone who knows
 * the addresses can send one) must not end FEC for good: the genuine
 * stream proves the counts anew and lost shards are rebuilt again.
 */
static void test_dec_forged(void)
{
	struct kcp_fec_dec dec;
	struct stream s;
	struct feed f;
	unsigned int i, n = 13, at = 0;
	u64 c;
	u8 b[1600];

	st_make(&s, 10, 3, 0, 40, 0);
	kcp_fec_dec_init(&dec, 10, 3);
	feed_init(&f, &s);
	confirm(&dec, &s, &f, 0);
	memcpy(b, s.v[2 * n + 11].b, s.v[2 * n + 11].len);
	kcp_put_le32(b, 2 * n + 1);	/* parity at a data position */
	feed(&dec, &s, &f, &(struct dgram){ .b = b, .len = s.v[2 * n + 11].len }, 0);
	c = f.recovered;
	for (i = 2 * n; i < s.n; i++) {
		if (i % n == 4) {	/* one data shard of each group lost */
			if (dec.state == KCP_FEC_CONFIRMED && !at)
				at = i / n;
			continue;
		}
		feed(&dec, &s, &f, &s.v[i], 0);
	}
	kt_result(dec.state == KCP_FEC_CONFIRMED && dec.st.mismatch == 1 &&
		   f.recovered > c && !f.garbage,
		   "a forged contradicting shard: counts proven again (group %u), rebuilding resumes (%llu rebuilt)",
		   at, (unsigned long long)(f.recovered - c));
	kcp_fec_dec_destroy(&dec);
	free(f.seen);
	st_free(&s);
}

/* after a long outage the peer's seqids jumped: the window restarts */
static void test_dec_resync(void)
{
	unsigned int i, n = 13, lost = 0;
	struct kcp_fec_dec dec;
	struct stream s, t;
	struct feed f, ft;
	u64 oow;

	st_make(&s, 10, 3, 0, 3, 0);
	kcp_fec_dec_init(&dec, 10, 3);
	feed_init(&f, &s);
	confirm(&dec, &s, &f, 0);
	for (i = 2 * n; i < 2 * n + 5; i++)	/* a partial group waits */
		feed(&dec, &s, &f, &s.v[i], 0);
	oow = dec.st.out_of_window;
	/* the same peer 200000 groups later: far beyond the 65536 window */
	st_make(&t, 10, 3, 13u * 200000u, 8, 0);
	feed_init(&ft, &t);
	for (i = 0; i < t.n; i++) {
		if (i >= 2 * n && i % n == 4) {
			lost++;
			continue;
		}
		feed(&dec, &t, &ft, &t.v[i], 0);
	}
	/* 3 far datagrams are dropped, the 4th restarts the window */
	kt_result(dec.st.resyncs == 1 && dec.st.out_of_window == oow + 3 &&
		   !ft.garbage && !ft.again && ft.recovered >= lost,
		   "seqid jump beyond the window (outage): window restarts, recovery resumes (%u rebuilt)",
		   ft.recovered);
	kcp_fec_dec_destroy(&dec);
	free(f.seen);
	free(ft.seen);
	st_free(&s);
	st_free(&t);
}

static void test_dec_wrap(unsigned int d, unsigned int p)
{
	u32 paws = 0xFFFFFFFFu / (d + p) * (d + p);

	test_dec_loss(d, p, paws - 8 * (d + p), 16, 20, 5, "across the paws wrap");
}

/*
 * The hazard that rules out per-group flag checks: a 10/3 stream read as
 * 2/1 has the group of seqids 9, 10, 11 where 9 is data and 11 parity, as
 * 2/1 expects; "rebuilding" a lost 10 (position 1) from them gives bytes
 * nobody sent.
 */
static void test_hazard(void)
{
	struct stream s;
	const u8 *shards[3];
	u16 lens[3];
	u8 *out[3] = { NULL }, scratch[KCP_RS_SCRATCH(2)];
	unsigned int L, i, any = 0;
	int ret;

	st_make(&s, 10, 3, 0, 1, 0);
	L = s.v[11].len - 6;
	shards[0] = s.v[9].b + 6;
	lens[0] = s.v[9].len - 6;
	shards[1] = NULL;
	shards[2] = s.v[11].b + 6;
	lens[2] = L;
	out[1] = xmalloc(L);
	ret = kcp_rs_reconstruct(2, 3, shards, lens, out, L, scratch);
	for (i = 0; i < 10; i++)
		any |= s.v[i].len - 6u <= L &&
		       !memcmp(out[1], s.v[i].b + 6, s.v[i].len - 6);
	kt_result(ret == 1 && !any,
		   "hazard: regrouping 10/3 as 2/1 'rebuilds' a shard nobody sent (why shard counts are proven)");
	free(out[1]);
	st_free(&s);
}

/* a peer with other shard counts: nothing rebuilt, or only sent data */
static void test_dec_mismatch(unsigned int sd, unsigned int sp,
			      unsigned int rd, unsigned int rp)
{
	static const unsigned int losses[] = { 0, 5, 20, 50 };
	unsigned int li, seed, i, garbage = 0, rebuilt = 0, confirmed = 0;

	for (li = 0; li < ARRAY_SIZE(losses); li++) {
		for (seed = 0; seed < 4; seed++) {
			struct kcp_fec_dec dec;
			struct stream s;
			struct feed f;

			rnd_seed(seed * 100 + li + sd * 7 + rd * 13);
			st_make(&s, sd, sp, 0, 600 / (sd + sp) + 2, 0);
			kcp_fec_dec_init(&dec, rd, rp);
			feed_init(&f, &s);
			for (i = 0; i < s.n; i++)
				if (!chance(losses[li]))
					feed(&dec, &s, &f, &s.v[i], i);
			garbage += f.garbage;
			rebuilt += f.recovered + f.again;
			confirmed += dec.state == KCP_FEC_CONFIRMED;
			kcp_fec_dec_destroy(&dec);
			free(f.seen);
			st_free(&s);
		}
	}
	kt_result(!garbage && !confirmed,
		   "%u/%u stream into a %u/%u decoder, 0-50%% loss: never confirmed, no shard returned that was not sent (%u returned)",
		   sd, sp, rd, rp, rebuilt);
}

/* kcp-go v5.6.6..15 skip parity without consuming its seqids */
static void test_dec_shifted(void)
{
	unsigned int seed, i, garbage = 0, rebuilt = 0, mism = 0;

	for (seed = 0; seed < 8; seed++) {
		struct kcp_fec_dec dec;
		struct stream s;
		struct feed f;

		rnd_seed(seed + 777);
		st_make(&s, 10, 3, 0, 80, 5 + seed);
		kcp_fec_dec_init(&dec, 10, 3);
		feed_init(&f, &s);
		for (i = 0; i < s.n; i++)
			if (i < 26 || !chance(15))
				feed(&dec, &s, &f, &s.v[i], i);
		garbage += f.garbage;
		rebuilt += f.recovered;
		mism += dec.state == KCP_FEC_MISMATCH;
		kcp_fec_dec_destroy(&dec);
		free(f.seen);
		st_free(&s);
	}
	kt_result(!garbage && mism == 8,
		   "stream misaligned by skipped parity seqids (kcp-go 5.6.6-15): detected, nothing bogus returned (%u rebuilt before, %u garbage, %u/8 mismatch)",
		   rebuilt, garbage, mism);
}

/* how fast matching streams get proven, with loss */
static void test_dec_verify_speed(void)
{
	static const unsigned int cfg[][2] = {
		{ 1, 1 }, { 2, 1 }, { 3, 2 }, { 10, 3 }, { 20, 10 },
		{ 1, 254 }, { 254, 1 }, { 128, 127 }, { 40, 20 },
	};
	unsigned int c, loss, worst[3] = { 0 }, fails = 0;

	for (c = 0; c < ARRAY_SIZE(cfg); c++) {
		unsigned int d = cfg[c][0], p = cfg[c][1], n = d + p;
		unsigned int groups = n > 100 ? 6 : 40;
		struct stream s;

		st_make(&s, d, p, 0, groups, 0);
		for (loss = 0; loss < 3; loss++) {
			struct kcp_fec_dec dec;
			unsigned int i, g = 0;

			kcp_fec_dec_init(&dec, d, p);
			for (i = 0; i < s.n && dec.state != KCP_FEC_CONFIRMED; i++)
				if (!chance(loss * 15))
					kcp_fec_decode(&dec, s.v[i].b, s.v[i].len, 0, false);
			g = (i + n - 1) / n;
			if (dec.state != KCP_FEC_CONFIRMED)
				fails++;
			else if (n <= 100)
				worst[loss] = max(worst[loss], g);
			kcp_fec_dec_destroy(&dec);
		}
		st_free(&s);
	}
	kt_result(!fails && worst[0] <= 2,
		   "matching shard counts proven within %u/%u/%u groups at 0/15/30%% loss",
		   worst[0], worst[1], worst[2]);
}

static void test_dec_large(void)
{
	static const unsigned int cfg[][2] = { { 128, 127 }, { 254, 1 }, { 1, 254 } };
	unsigned int c, ok = 1;

	for (c = 0; c < ARRAY_SIZE(cfg); c++) {
		unsigned int d = cfg[c][0], p = cfg[c][1], n = d + p, i;
		struct kcp_fec_dec dec;
		struct stream s;
		struct feed f;

		st_make(&s, d, p, 0, 4, 0);
		kcp_fec_dec_init(&dec, d, p);
		feed_init(&f, &s);
		confirm(&dec, &s, &f, 0);
		/* group 2: lose min(d, p) data shards; group 3: lose p at random */
		for (i = 2 * n; i < 3 * n; i++)
			if (i - 2 * n >= min(d, p))
				feed(&dec, &s, &f, &s.v[i], 0);
		for (i = 3 * n; i < 4 * n; i++)
			if (!chance(p * 100 / n))
				feed(&dec, &s, &f, &s.v[i], 0);
		ok &= !f.garbage && !f.again && f.recovered >= min(d, p);
		kcp_fec_dec_destroy(&dec);
		free(f.seen);
		st_free(&s);
	}
	kt_result(ok, "128/127, 254/1, 1/254: up to 127 lost data shards of a group rebuilt");
}

/* ---- kcp-go's decoder on the same datagrams ---- */

struct godiff {
	unsigned int common;	/* rebuilt by both at the same datagram */
	unsigned int ours_only, go_only;	/* new data one of them missed */
	unsigned int go_redundant;	/* kcp-go re-rebuilt delivered data */
	unsigned int go_garbage;	/* kcp-go returned bytes nobody sent */
	unsigned int go_total, our_total, our_garbage;
};

/* one delivery: our decoder vs kcp-go's recorded output for it */
static void godiff_one(struct godiff *gd, struct kcp_fec_dec *dec,
		       const struct stream *s, u8 *delivered,
		       const struct dgram *g, struct rd *r)
{
	int ret = kcp_fec_decode(dec, g->b, g->len, 0, false);
	unsigned int nrec = rd16(r), k, j, nm = 0;
	int mine[KCP_RS_MAX_SHARDS], id;
	bool *used;
	const u8 *b;
	size_t len;

	for (k = 0; ret > 0 && k < (unsigned int)ret; k++) {
		b = kcp_fec_dec_recovered(dec, k, &len);
		id = b ? st_match(s, b, len) : -1;
		gd->our_total++;
		if (id < 0)
			gd->our_garbage++;
		else
			mine[nm++] = id;
	}
	used = xcalloc(nm + 1);
	for (k = 0; k < nrec; k++) {
		unsigned int rl = rd16(r);
		const u8 *rb = rd_n(r, rl);

		if (!rb)
			break;
		id = st_match(s, rb, rl);
		gd->go_total++;
		if (id < 0) {
			gd->go_garbage++;
			continue;
		}
		for (j = 0; j < nm; j++)
			if (mine[j] == id && !used[j])
				break;
		if (j < nm) {
			used[j] = 1;
			gd->common++;
		} else if (delivered[id]) {
			gd->go_redundant++;
		} else {
			gd->go_only++;
		}
		delivered[id] = 1;
	}
	for (j = 0; j < nm; j++) {
		gd->ours_only += !used[j];
		delivered[mine[j]] = 1;
	}
	id = g->data ? st_match(s, g->b + 8, g->len - 8) : -1;
	if (id >= 0)
		delivered[id] = 1;
	free(used);
}

static void test_dec_vs_kcpgo(void)
{
	struct rd r;
	unsigned int sd, sets = 0;

	if (!rd_open(&r, "fec_dec.bin")) {
		kt_skip("no fec_dec.bin", "decoder vs kcp-go's decoder");
		return;
	}
	while ((sd = rd16(&r)) != 0 && !r.bad) {
		unsigned int sp = rd16(&r), rdd = rd16(&r), rp = rd16(&r);
		u32 nd = rd32(&r), i, t, k;
		const u8 *save = r.p;
		struct kcp_fec_dec dec;
		struct godiff gd;
		struct stream s;
		u8 *delivered;

		/* first pass: the sent data payloads, serials 0, 1, ... */
		memset(&s, 0, sizeof(s));
		for (i = 0; i < nd && !r.bad; i++) {
			unsigned int times = rd8(&r), len = rd16(&r);
			const u8 *b = rd_n(&r, len);

			if (b)
				st_push(&s, b, len, -1);
			for (t = 0; t < times && !r.bad; t++)
				for (k = rd16(&r); k > 0 && !r.bad; k--)
					rd_n(&r, rd16(&r));
		}
		if (r.bad)
			break;
		for (i = 0; i < s.n; i++)
			s.ndata += s.v[i].data;
		s.payload = xcalloc(s.ndata * sizeof(*s.payload));
		s.plen = xcalloc(s.ndata * sizeof(*s.plen));
		for (i = 0, k = 0; i < s.n; i++) {
			if (!s.v[i].data)
				continue;
			s.plen[k] = s.v[i].len - 8;
			s.payload[k] = xmalloc(s.plen[k]);
			memcpy(s.payload[k++], s.v[i].b + 8, s.v[i].len - 8);
		}

		/* second pass: deliver as kcp-go's decoder got them */
		r.p = save;
		memset(&gd, 0, sizeof(gd));
		delivered = xcalloc(s.ndata + 1);
		kcp_fec_dec_init(&dec, rdd, rp);
		for (i = 0; i < nd && !r.bad; i++) {
			unsigned int times = rd8(&r), len = rd16(&r);

			rd_n(&r, len);
			for (t = 0; t < times && !r.bad; t++)
				godiff_one(&gd, &dec, &s, delivered, &s.v[i], &r);
		}
		if (sd == rdd && sp == rp)
			kt_result(!r.bad && !gd.our_garbage && !gd.go_garbage &&
				   !gd.ours_only && !gd.go_only && gd.common,
				   "%u/%u vs kcp-go's decoder, same datagrams: same %u new shards rebuilt at the same datagrams (kcp-go also re-rebuilt %u delivered ones)",
				   sd, sp, gd.common, gd.go_redundant);
		else
			kt_result(!r.bad && !gd.our_total,
				   "%u/%u stream into %u/%u decoders: kcp-go (auto-tuning) returned %u shards, %u of them garbage; ours none",
				   sd, sp, rdd, rp, gd.go_total, gd.go_garbage);
		kcp_fec_dec_destroy(&dec);
		free(delivered);
		st_free(&s);
		sets++;
	}
	kt_result(!r.bad && sets >= 10, "fec_dec.bin parsed (%u streams)", sets);
	rd_close(&r);
}

/* ---- allocation failure ---- */

/*
 * One session's worth of work: encode a lossy 10/3 stream, decode it,
 * shrink in between. Returns false on any wrong byte. With allocations
 * failing, parity or rebuilds may go missing; nothing may be wrong.
 */
static bool alloc_scenario(bool one_shot, unsigned int d, unsigned int p,
			   unsigned int *rebuilt, u64 *nomem)
{
	struct kcp_fec_enc enc;
	struct kcp_fec_dec dec;
	unsigned int i, k, groups = 8;
	u8 buf[1500], pbuf[1500];
	struct stream s;
	struct feed f;
	bool ok = true;
	u32 expect = 0;

	rnd_seed(42);
	memset(&s, 0, sizeof(s));
	s.ndata = groups * d;
	s.payload = xcalloc(s.ndata * sizeof(*s.payload));
	s.plen = xcalloc(s.ndata * sizeof(*s.plen));
	kcp_fec_enc_init(&enc, d, p);
	kcp_fec_dec_init(&dec, d, p);
	feed_init(&f, &s);
	for (i = 0; i < s.ndata; i++) {
		unsigned int len = 4 + rnd() % 300;
		int ret;

		if (one_shot && !kcp_env_fail_after)
			kcp_env_fail_after = -1;
		rnd_fill(buf + 8, len);
		kcp_put_le32(buf + 8, i);
		s.payload[i] = xmalloc(len);
		memcpy(s.payload[i], buf + 8, len);
		s.plen[i] = len;
		ret = kcp_fec_encode(&enc, buf, 8 + len, false);
		ok &= kcp_get_le32(buf) == expect++;
		ok &= ret == 0 || ret == (int)p;
		if (one_shot && !kcp_env_fail_after)
			kcp_env_fail_after = -1;
		if (i < 2 * d || !chance(20))	/* else lost */
			feed(&dec, &s, &f, &(struct dgram){ .b = buf, .len = 8 + len }, i);
		if (i % d == d - 1)
			expect += p;	/* parity seqids, sent or not */
		for (k = 0; k < (unsigned int)(ret > 0 ? ret : 0); k++) {
			int plen = kcp_fec_enc_parity(&enc, k, pbuf, sizeof(pbuf));

			ok &= plen > 8 && kcp_get_le32(pbuf) == expect - p + k;
			if (plen > 0 && !chance(10))
				feed(&dec, &s, &f, &(struct dgram){ .b = pbuf, .len = plen }, i);
		}
		if (i == 4 * d - 1) {
			kcp_fec_enc_shrink(&enc);
			kcp_fec_dec_shrink(&dec, i + 61000);
		}
	}
	ok &= !f.garbage && !f.again;
	*rebuilt = f.recovered;
	*nomem += enc.nomem + dec.st.nomem;
	kcp_fec_enc_destroy(&enc);
	kcp_fec_dec_destroy(&dec);
	free(f.seen);
	for (i = 0; i < s.ndata; i++)
		free(s.payload[i]);
	free(s.payload);
	free(s.plen);
	return ok;
}

static void test_alloc_failure(unsigned int d, unsigned int p)
{
	unsigned int mode, k, rebuilt = 0;

	for (mode = 0; mode < 2; mode++) {
		unsigned int bad = 0, runs = 0;
		u64 nomem = 0;

		for (k = 0; k < 100000; k++) {
			bool done;

			kcp_env_fail_after = k;
			bad += !alloc_scenario(mode, d, p, &rebuilt, &nomem);
			done = kcp_env_fail_after > 0;	/* nothing failed */
			kcp_env_fail_after = -1;
			runs++;
			if (done)
				break;
		}
		/* the last run had no failure and must have rebuilt some */
		kt_result(!bad && runs > 10 && rebuilt && nomem,
			   "%u/%u allocation failure at each of %u points%s: no crash, no leak, no wrong byte (%llu losses counted)",
			   d, p, runs - 1, mode ? " (once)" : " (and after)",
			   (unsigned long long)nomem);
	}
}

int main(void)
{
	test_tables();
	if (!kcp_rs_ready())
		return kt_done();
	test_mul_helpers();
	test_nibbles();
	test_accel_hook();
#if defined(__x86_64__)
	test_accel_x86();
#endif
	test_rows();
	test_rs_vectors();
	test_enc_vectors();
	test_enc_api();

	test_parse();
	test_dec_clean(10, 3);
	test_dec_clean(1, 1);
	test_dec_loss(10, 3, 0, 200, 10, 0, "in order");
	test_dec_loss(10, 3, 0, 200, 25, 10, "in order");
	test_dec_loss(20, 10, 0, 60, 30, 5, "in order");
	test_dec_loss(2, 1, 0, 300, 15, 5, "in order");
	test_dec_loss(1, 1, 0, 300, 30, 5, "in order");
	test_dec_loss(2, 2, 0, 300, 30, 10, "in order");
	test_dec_loss(3, 5, 0, 200, 40, 10, "in order");
	test_dec_reorder(10, 3);
	test_dec_reorder(3, 2);
	test_dec_unverified();
	test_dec_expiry();
	test_dec_overflow();
	test_dec_malformed();
	test_dec_resync();
	test_dec_forged();
	test_dec_wrap(10, 3);
	test_dec_wrap(3, 2);
	test_dec_wrap(1, 1);
	test_dec_wrap(7, 5);
	test_hazard();
	test_dec_mismatch(10, 3, 2, 1);
	test_dec_mismatch(2, 1, 10, 3);
	test_dec_mismatch(10, 3, 10, 4);
	test_dec_mismatch(10, 4, 10, 3);
	test_dec_mismatch(10, 3, 1, 1);
	test_dec_mismatch(1, 1, 2, 2);
	test_dec_mismatch(2, 2, 1, 1);
	test_dec_mismatch(3, 2, 3, 1);
	test_dec_mismatch(1, 2, 1, 1);
	test_dec_mismatch(20, 10, 10, 5);
	test_dec_shifted();
	test_dec_verify_speed();
	test_dec_large();
	test_dec_vs_kcpgo();

	test_alloc_failure(10, 3);
	test_alloc_failure(2, 1);
	return kt_done();
}
