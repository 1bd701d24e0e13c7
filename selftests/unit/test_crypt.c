// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of kmod/kcp_cipher.c and tools/kcpctl/kcpkey.c against the
 * real kcp-go 5.6.1: vectors generated at test time by gen/cryptvectors
 * (path in CRYPT_VECTORS), the spec's section 4.5 vectors, known-answer
 * tests, and robustness checks. Ciphers the kernel crypto API will provide
 * are played here by OpenSSL (AES, 3DES, Blowfish, CAST5) and nettle
 * (Twofish) single-block encrypt plugged into the module's CFB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kcp_cipher.h"
#if defined(__x86_64__)
#define KCP_SALSA_VEC_CLOBBERS "memory", "xmm0", "xmm1", "xmm2", "xmm3", \
	"xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", \
	"xmm12"
#include "kcp_salsa_x86.h"
#endif
#include "kcpkey.h"
#include "linux/kcp.h"	/* uapi: the ids must match enum kcp_cipher */
#include "../lib/hex.h"
#include "../lib/refcipher.h"
#include "../lib/tap.h"

#ifndef CRYPT_VECTORS
#define CRYPT_VECTORS "cryptvectors.txt"
#endif

#define MAX_DGRAM	1600

/* ---- helpers ---- */

static u64 rng_state = 0x9e3779b97f4a7c15ULL;

static u32 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (u32)(rng_state >> 16);
}

static void rnd_fill(u8 *p, u32 n)
{
	while (n--)
		*p++ = (u8)rnd();
}

static void hexdump_diff(const char *what, const u8 *got, const u8 *exp,
			 u32 len)
{
	u32 i;

	for (i = 0; i < len && got[i] == exp[i]; i++)
		;
	printf("# %s: first difference at byte %u of %u\n", what, i, len);
}

/* ---- contexts: external block ciphers (lib/refcipher.h) play the kernel crypto API ---- */

/* A context for any cipher: pass is kcptun's 32-byte key, tbl the pad. */
struct tctx {
	struct kcp_crypt *kc;
	struct kt_refblk blk;
};

static int tctx_init(struct tctx *t, enum kcp_cipher id, const u8 *pass,
		     const u8 *tbl)
{
	struct kcp_crypt_cfg cfg;

	memset(t, 0, sizeof(*t));
	if (kt_ref_cfg(id, pass, tbl, &t->blk, &cfg))
		return -ENOENT;
	return kcp_crypt_alloc(&cfg, true, &t->kc);
}

static void tctx_fini(struct tctx *t)
{
	kcp_crypt_free(t->kc);
	t->kc = NULL;
}

static const char *skip_why(enum kcp_cipher id)
{
	return id == KCP_CIPHER_TWOFISH ? "no twofish library (nettle-dev)" :
					  "no reference implementation";
}

/* ---- descriptor table, CRC, key derivation ---- */

_Static_assert(KCP_CRYPT_PASS_LEN <= KCP_KEY_MAX, "pass fits struct kcp_crypto");

static void test_table(void)
{
	static const struct {
		const char *name;
		enum kcp_cipher id;
		u8 key_len, bs;
		const char *kapi;
	} exp[] = {
		{ "none", KCP_CIPHER_NONE, 0, 0, NULL },
		{ "aes", KCP_CIPHER_AES, 32, 16, "aes" },
		{ "aes-128", KCP_CIPHER_AES_128, 16, 16, "aes" },
		{ "aes-192", KCP_CIPHER_AES_192, 24, 16, "aes" },
		{ "salsa20", KCP_CIPHER_SALSA20, 32, 0, NULL },
		{ "blowfish", KCP_CIPHER_BLOWFISH, 32, 8, "blowfish" },
		{ "twofish", KCP_CIPHER_TWOFISH, 32, 16, "twofish" },
		{ "cast5", KCP_CIPHER_CAST5, 16, 8, "cast5" },
		{ "3des", KCP_CIPHER_3DES, 24, 8, "des3_ede" },
		{ "tea", KCP_CIPHER_TEA, 16, 8, NULL },
		{ "xtea", KCP_CIPHER_XTEA, 16, 8, NULL },
		{ "sm4", KCP_CIPHER_SM4, 16, 16, NULL },
		{ "xor", KCP_CIPHER_XOR, 32, 0, NULL },
	};
	unsigned int i, bad = 0;

	for (i = 0; i < ARRAY_SIZE(exp); i++) {
		const struct kcp_cipher_desc *d = kcp_cipher_by_name(exp[i].name);

		if (!d || d->id != exp[i].id || d != kcp_cipher_get(exp[i].id) ||
		    d->key_len != exp[i].key_len ||
		    d->block_size != exp[i].bs ||
		    d->hdr_len != KCP_CRYPT_HDR_LEN ||
		    (d->kapi_name == NULL) != (exp[i].kapi == NULL) ||
		    (exp[i].kapi && strcmp(d->kapi_name, exp[i].kapi)) ||
		    (d->impl == KCP_IMPL_KAPI) != (exp[i].kapi != NULL)) {
			printf("# table entry %s wrong\n", exp[i].name);
			bad++;
		}
	}
	kt_result(!bad, "cipher table matches kcptun names, key slices, block sizes");
	kt_result(1, "ids equal uapi enum kcp_cipher (checked at compile time)");
	kt_result(kcp_cipher_get(KCP_CIPHER_NULL)->hdr_len == 0 &&
		   kcp_cipher_get(__KCP_CIPHER_MAX) == NULL &&
		   kcp_cipher_get((enum kcp_cipher)-1) == NULL &&
		   kcp_cipher_by_name("AES") == NULL &&
		   kcp_cipher_by_name("") == NULL &&
		   kcp_cipher_by_name("aes-256") == NULL,
		   "nil has no header; unknown ids and names rejected");
}

static void test_crc(void)
{
	kt_result(kcp_crc32_ieee((const u8 *)"123456789", 9) == 0xcbf43926 &&
		   kcp_crc32_ieee(NULL, 0) == 0,
		   "CRC-32/IEEE check value");
}

/* Spec 4.4 and 4.3: the default kcptun key */
static const char *const default_pass_hex =
	"25d7d7bd51050742d8d791f2b653c6c8b2366b7e25a124cf7a2e12eaf4ffa444";

static u8 def_pass[KCPTUN_PASS_LEN];
static u8 def_tbl[KCPTUN_XOR_TABLE_LEN];

static void test_kcpkey(void)
{
	u8 exp[KCPTUN_PASS_LEN], pfx[16];

	kt_unhex(default_pass_hex, exp, sizeof(exp));
	kt_unhex("0ffe8987ad94757154791bc8fa01b62c", pfx, sizeof(pfx));
	kt_result(kcptun_derive("it's a secrect", def_pass) == 0 &&
		   !memcmp(def_pass, exp, sizeof(exp)),
		   "kcptun_derive(default key) = spec pass");
	kt_result(kcptun_xor_table(def_pass, def_tbl) == 0 &&
		   !memcmp(def_tbl, pfx, sizeof(pfx)),
		   "kcptun_xor_table(default pass) prefix = spec");
}

/* ---- known answers ---- */

static int block_kat(enum kcp_cipher id, const char *key_hex,
		     const char *pt_hex, const char *ct_hex)
{
	u8 key[32], pt[16], ct[16], out[16];
	struct kcp_crypt_cfg cfg = { .id = id, .key = key };
	struct kcp_crypt *c;
	int n, ok;

	cfg.key_len = kt_unhex(key_hex, key, sizeof(key));
	n = kt_unhex(pt_hex, pt, sizeof(pt));
	kt_unhex(ct_hex, ct, sizeof(ct));
	if (kcp_crypt_alloc(&cfg, true, &c))
		return 0;
	ok = kcp_crypt_block_encrypt(c, out, pt) == 0 && !memcmp(out, ct, n);
	kcp_crypt_free(c);
	return ok;
}

static void test_kat(void)
{
	char key[33];
	unsigned int i;

	/* the first 16 bytes of the default pass, as hex */
	for (i = 0; i < 16; i++)
		sprintf(key + 2 * i, "%02x", def_pass[i]);
	kt_result(block_kat(KCP_CIPHER_TEA, key, "0001020304050607",
			     "18a5a8ad41618b4d"),
		   "TEA (16 rounds) KAT from the spec");
	kt_result(!block_kat(KCP_CIPHER_TEA, key, "0001020304050607",
			      "3bf5c8e03c56ee88"),
		   "TEA is not the standard 64-round TEA");
	kt_result(block_kat(KCP_CIPHER_XTEA, "000102030405060708090a0b0c0d0e0f",
			     "4142434445464748", "497df3d072612cb5") &&
		   block_kat(KCP_CIPHER_XTEA, "00000000000000000000000000000000",
			     "4141414141414141", "ed23375a821a8c2d"),
		   "XTEA KAT (Go x/crypto/xtea vectors)");
	kt_result(block_kat(KCP_CIPHER_SM4, "0123456789abcdeffedcba9876543210",
			     "0123456789abcdeffedcba9876543210",
			     "681edf34d206965e86b3e94f536e4246"),
		   "SM4 KAT (GB/T 32907 example 1)");
}

/* Spec 4.5: one real datagram, nonce 00..0f, default key. */
static const char *const spec_plain =
	"000102030405060708090a0b0c0d0e0f70f1fd1500000000f1001e0044332211"
	"51002000e803000000000000000000000400000070696e67";

static const struct {
	const char *name, *wire;
} spec_vec[] = {
	{ "aes", "86834343335b168ca911bf584a05f9906efc80dc38973c8ff7af0d1219322967e24516bd77c8ca2c98cafb659d7f32e063f92a7bfa9557d1" },
	{ "aes-128", "ddd7e0a7981ba3e2a7f6d51f2a26631825d10742ea18c8d33f44f54010b267ad29076513158f415b16c9f72bc9b6e47eeb59fd1abc9c397b" },
	{ "aes-192", "b9db59f7dd1bce4922855fb7f8f8e261c473930b6775228ccd9e129fb355f64c16ceef4ddb458d58b7658932596556a95df92d5c39bf54bb" },
	{ "tea", "fc9c4eb4a8e9502bde3d3c8b0679084df6db29b9de758d0cdd6c1edf4be66a57669c5da20eeb3be0c883e0cafb51710382d0d5d0b18f0145" },
	{ "xtea", "09256989438dfb5af0f2a323dfd1ac2cfa17aeca80da95e96e2121665118a3d6fe7684aca6d23898a2433be93bd859f5b26c7a7d220c0492" },
	{ "3des", "5dca5d4fac8f6accf083365ae9eb528a44266899c2cff8059eea12991d7754d7bd350438bf06f34851d5feb443504e7d0cc4c5d84d92542c" },
	{ "blowfish", "186797305116055ece6531b898c4b2354c27aa2515dd555dbd62110fdbae33c3e3515f2f864caee2ae116269c232c87db9563eba652683fb" },
	{ "cast5", "bb8f8d2209e0131c7d027b3e28d6b457e859289ec84e33eba9fbaa8becb2bfa6e9449aa88c5666f796367ce6167401585ad9c9520c879fec" },
	{ "twofish", "79a0668add94e7387471af7514bb1065629aab23c1a874ccc2bf41d3efda23e61e7b1ac76897ccff9eae19ed31f75ae2147bcd4e5a07e3c6" },
	{ "sm4", "0340e44fd923bb2259e375a7ab6ee54d895c4f65b83d4fa356c95e9122f4b0f083098370a5d6d199d8dad33d4ac8a196c90f0c38b8cfcb10" },
	{ "salsa20", "00010203040506079aaa6e7faf75365c2044991c186ef253839345043acba9443be900fe622913c16d777caa76ec6a4ab5a217788cb1433a" },
	{ "xor", "0fff8b84a99173765c7011c3f60cb8231b3ffc13b29540133c5221bc5b498e9da1af463faf98134e25a0d0f79e2f3a02ebbfde4383674ec7" },
	{ "none", "000102030405060708090a0b0c0d0e0f70f1fd1500000000f1001e004433221151002000e803000000000000000000000400000070696e67" },
};

static void test_spec_vectors(void)
{
	u8 plain[64], wire[64], buf[64], nonce[16];
	unsigned int i;
	int n;

	n = kt_unhex(spec_plain, plain, sizeof(plain));
	kt_result(kcp_crc32_ieee(plain + 20, n - 20) == kcp_get_le32(plain + 16),
		   "spec 4.5 plaintext CRC");
	memcpy(nonce, plain, sizeof(nonce));
	for (i = 0; i < ARRAY_SIZE(spec_vec); i++) {
		const struct kcp_cipher_desc *d = kcp_cipher_by_name(spec_vec[i].name);
		struct tctx t;
		int sealed, opened;

		if (tctx_init(&t, d->id, def_pass, def_tbl)) {
			kt_skip(skip_why(d->id), "spec 4.5 vector %s", d->name);
			continue;
		}
		kt_unhex(spec_vec[i].wire, wire, sizeof(wire));
		/* seal from zeroed header room: nonce and CRC come from seal */
		memset(buf, 0, KCP_CRYPT_HDR_LEN);
		memcpy(buf + KCP_CRYPT_HDR_LEN, plain + KCP_CRYPT_HDR_LEN,
		       n - KCP_CRYPT_HDR_LEN);
		sealed = kcp_crypt_seal(t.kc, buf, n, nonce) == 0 &&
			 !memcmp(buf, wire, n);
		opened = kcp_crypt_open(t.kc, buf, n) == KCP_CRYPT_HDR_LEN &&
			 !memcmp(buf, plain, n);
		kt_result(sealed && opened, "spec 4.5 vector %s seal and open",
			   d->name);
		tctx_fini(&t);
	}
}

/* ---- kcp-go generated vectors ---- */

#define MAX_PASS	16

static struct {
	int have;
	u8 pass[KCPTUN_PASS_LEN];
	u8 tbl[KCPTUN_XOR_TABLE_LEN];
} vpass[MAX_PASS];

struct vstats {
	unsigned int seal, seal_bad, raw, raw_bad, skipped;
};

static struct vstats vst[__KCP_CIPHER_MAX];

/* P <idx> <hex passphrase> <hex pass32> <hex table>: check kcpkey.c */
static int vec_pass(char **f, unsigned int *bad_keys)
{
	static u8 phrase[256];
	u8 mine[KCPTUN_PASS_LEN], mtbl[KCPTUN_XOR_TABLE_LEN];
	int idx = atoi(f[1]), plen;

	plen = kt_unhex(f[2], phrase, sizeof(phrase));
	if (idx < 0 || idx >= MAX_PASS || plen < 0 ||
	    kt_unhex(f[3], vpass[idx].pass, KCPTUN_PASS_LEN) != KCPTUN_PASS_LEN ||
	    kt_unhex(f[4], vpass[idx].tbl, KCPTUN_XOR_TABLE_LEN) !=
		    KCPTUN_XOR_TABLE_LEN)
		return -1;
	vpass[idx].have = 1;
	if (kcptun_derive_bytes(phrase, plen, mine) ||
	    memcmp(mine, vpass[idx].pass, KCPTUN_PASS_LEN) ||
	    kcptun_xor_table(mine, mtbl) ||
	    memcmp(mtbl, vpass[idx].tbl, KCPTUN_XOR_TABLE_LEN)) {
		printf("# key derivation differs for passphrase #%d\n", idx);
		(*bad_keys)++;
	}
	return 0;
}

/* S: seal plain[20:] with plain's nonce == wire; open(wire) == plain */
static int vec_seal(struct tctx *t, const u8 *plain, const u8 *wire, u32 n)
{
	static u8 buf[MAX_DGRAM];

	memset(buf, 0, KCP_CRYPT_HDR_LEN);
	memcpy(buf + KCP_CRYPT_HDR_LEN, plain + KCP_CRYPT_HDR_LEN,
	       n - KCP_CRYPT_HDR_LEN);
	if (kcp_crypt_seal(t->kc, buf, n, plain) || memcmp(buf, wire, n)) {
		hexdump_diff("seal", buf, wire, n);
		return 0;
	}
	if (kcp_crypt_open(t->kc, buf, n) != KCP_CRYPT_HDR_LEN ||
	    memcmp(buf, plain, n)) {
		hexdump_diff("open", buf, plain, n);
		return 0;
	}
	return 1;
}

/* R: BlockCrypt.Encrypt/Decrypt without framing, any length */
static int vec_raw(struct tctx *t, const u8 *plain, const u8 *enc, u32 n)
{
	static u8 buf[MAX_DGRAM];

	memcpy(buf, plain, n);
	kcp_crypt_encrypt(t->kc, buf, n);
	if (memcmp(buf, enc, n)) {
		hexdump_diff("encrypt", buf, enc, n);
		return 0;
	}
	kcp_crypt_decrypt(t->kc, buf, n);
	return !memcmp(buf, plain, n);
}

static int vec_data(char **f)
{
	static u8 plain[MAX_DGRAM], wire[MAX_DGRAM];
	const struct kcp_cipher_desc *d = kcp_cipher_by_name(f[1]);
	int idx = atoi(f[2]), n, m, ok;
	struct vstats *s;
	struct tctx t;

	n = kt_unhex(f[3], plain, sizeof(plain));
	m = kt_unhex(f[4], wire, sizeof(wire));
	if (!d || idx < 0 || idx >= MAX_PASS || !vpass[idx].have || n < 0 ||
	    n != m || (f[0][0] == 'S' && n < KCP_CRYPT_HDR_LEN))
		return -1;
	s = &vst[d->id];
	if (tctx_init(&t, d->id, vpass[idx].pass, vpass[idx].tbl)) {
		s->skipped++;
		return 0;
	}
	if (f[0][0] == 'S') {
		ok = vec_seal(&t, plain, wire, n);
		s->seal++;
		s->seal_bad += !ok;
	} else {
		ok = vec_raw(&t, plain, wire, n);
		s->raw++;
		s->raw_bad += !ok;
	}
	if (!ok)
		printf("# %s pass #%d len %d mismatch\n", d->name, idx, n);
	tctx_fini(&t);
	return 0;
}

static int vec_line(char *line, unsigned int *bad_keys)
{
	char *f[6], *save = NULL;
	int nf = 0;

	for (f[0] = strtok_r(line, " \n", &save); f[nf] && nf < 5;)
		f[++nf] = strtok_r(NULL, " \n", &save);
	if (!nf || f[0][0] == '#')
		return 0;
	if (!strcmp(f[0], "P") && nf == 5)
		return vec_pass(f, bad_keys);
	if ((!strcmp(f[0], "S") || !strcmp(f[0], "R")) && nf == 5)
		return vec_data(f);
	return -1;
}

static void test_go_vectors(void)
{
	FILE *fp = fopen(CRYPT_VECTORS, "r");
	unsigned int i, bad_keys = 0, npass = 0, lineno = 0, bad_lines = 0;
	char *line = NULL;
	size_t cap = 0;

	if (!fp) {
		kt_skip("no kcp-go vectors (" CRYPT_VECTORS ")",
			 "kcp-go generated vectors");
		return;
	}
	while (getline(&line, &cap, fp) > 0) {
		lineno++;
		if (!strncmp(line, "# SKIP", 6)) {
			kt_skip(line + 7, "kcp-go generated vectors");
			goto out;
		}
		if (vec_line(line, &bad_keys)) {
			printf("# malformed vector line %u\n", lineno);
			bad_lines++;
		}
	}
	for (i = 0; i < MAX_PASS; i++)
		npass += vpass[i].have;
	kt_result(!bad_lines && npass >= 3, "%u vector lines parsed", lineno);
	kt_result(npass && !bad_keys,
		   "kcptun_derive + kcptun_xor_table = kcp-go for %u passphrases",
		   npass);
	for (i = KCP_CIPHER_NONE; i < __KCP_CIPHER_MAX; i++) {
		const struct vstats *s = &vst[i];
		const char *name = kcp_cipher_get(i)->name;

		if (s->skipped && !s->seal) {
			kt_skip(skip_why(i), "kcp-go vectors %s", name);
			continue;
		}
		kt_result(s->seal >= 20 && !s->seal_bad,
			   "kcp-go seal/open vectors %s: %u/%u", name,
			   s->seal - s->seal_bad, s->seal);
		kt_result(s->raw >= 8 && !s->raw_bad,
			   "kcp-go raw Encrypt vectors %s: %u/%u", name,
			   s->raw - s->raw_bad, s->raw);
	}
out:
	free(line);
	fclose(fp);
}

/* ---- framing, errors, robustness ---- */

static u8 other_pass[KCPTUN_PASS_LEN], other_tbl[KCPTUN_XOR_TABLE_LEN];

static void test_roundtrip(enum kcp_cipher id)
{
	static u8 buf[MAX_DGRAM], orig[MAX_DGRAM], wire[MAX_DGRAM];
	const char *name = kcp_cipher_get(id)->name;
	unsigned int i, bad = 0, wrongkey_ok = 0, flip_ok = 0, trials = 200;
	struct tctx t, w;
	u8 nonce[16];

	if (tctx_init(&t, id, def_pass, def_tbl) ||
	    tctx_init(&w, id, other_pass, other_tbl)) {
		tctx_fini(&t);
		kt_skip(skip_why(id), "%s round trips", name);
		return;
	}
	for (i = 0; i < trials; i++) {
		u32 n = KCP_CRYPT_HDR_LEN + rnd() % (1500 - KCP_CRYPT_HDR_LEN + 1);
		u32 pos = rnd() % n;

		rnd_fill(nonce, sizeof(nonce));
		rnd_fill(buf, n);
		memcpy(orig, buf, n);
		kcp_crypt_seal(t.kc, buf, n, nonce);
		memcpy(wire, buf, n);
		/* right key: nonce back in clear, payload intact */
		if (kcp_crypt_open(t.kc, buf, n) != KCP_CRYPT_HDR_LEN ||
		    memcmp(buf, nonce, sizeof(nonce)) ||
		    memcmp(buf + KCP_CRYPT_HDR_LEN, orig + KCP_CRYPT_HDR_LEN,
			   n - KCP_CRYPT_HDR_LEN))
			bad++;
		/* wrong key: a CRC failure (except for none, which has none) */
		memcpy(buf, wire, n);
		wrongkey_ok += kcp_crypt_open(w.kc, buf, n) == -EBADMSG;
		/*
		 * One flipped bit: always caught from the CRC on; in the nonce
		 * it can go unnoticed (it only garbles unchecked nonce bytes
		 * for stream ciphers and 8-byte CFB).
		 */
		memcpy(buf, wire, n);
		buf[pos] ^= (u8)(1u << (rnd() % 8));
		flip_ok += kcp_crypt_open(t.kc, buf, n) == -EBADMSG ||
			   pos < KCP_CRYPT_NONCE_LEN;
	}
	kt_result(!bad, "%s seal/open round trips (%u random datagrams)",
		   name, trials);
	if (id == KCP_CIPHER_NONE)
		kt_result(wrongkey_ok == 0, "none: key is ignored");
	else
		kt_result(wrongkey_ok == trials, "%s wrong key -> -EBADMSG (%u/%u)",
			   name, wrongkey_ok, trials);
	kt_result(flip_ok == trials, "%s corrupted datagram -> -EBADMSG (%u/%u)",
		   name, flip_ok, trials);
	tctx_fini(&w);
	tctx_fini(&t);
}

/* Short datagrams are dropped untouched; garbage never crashes. */
static void test_garbage(enum kcp_cipher id)
{
	static u8 buf[MAX_DGRAM], ref[MAX_DGRAM];
	const char *name = kcp_cipher_get(id)->name;
	unsigned int i, short_ok = 1, weird = 0, accepted = 0;
	struct tctx t;

	if (tctx_init(&t, id, def_pass, def_tbl)) {
		kt_skip(skip_why(id), "%s short/garbage datagrams", name);
		return;
	}
	for (i = 0; i < KCP_CRYPT_HDR_LEN; i++) {
		rnd_fill(buf, KCP_CRYPT_HDR_LEN);
		memcpy(ref, buf, KCP_CRYPT_HDR_LEN);
		if (kcp_crypt_open(t.kc, buf, i) != -EINVAL ||
		    memcmp(buf, ref, KCP_CRYPT_HDR_LEN))
			short_ok = 0;
		if (kcp_crypt_seal(t.kc, buf, i, ref) != -EINVAL)
			short_ok = 0;
	}
	for (i = 0; i < 3000; i++) {
		u32 n = rnd() % (MAX_DGRAM + 1);
		int r;

		rnd_fill(buf, n);
		r = kcp_crypt_open(t.kc, buf, n);
		if (r == KCP_CRYPT_HDR_LEN)
			accepted++;
		else if (r != -EINVAL && r != -EBADMSG)
			weird++;
	}
	kt_result(short_ok, "%s: datagrams < 20 bytes -> -EINVAL, untouched",
		   name);
	/* 1 in 2^32 random datagrams passes a CRC; a few is a bug */
	kt_result(!weird && accepted <= 1,
		   "%s: 3000 random datagrams rejected without crashing", name);
	tctx_fini(&t);
}

static void test_nil(void)
{
	struct kcp_crypt_cfg cfg = { .id = KCP_CIPHER_NULL };
	struct kcp_crypt *c;
	u8 buf[32], ref[32];

	rnd_fill(buf, sizeof(buf));
	memcpy(ref, buf, sizeof(buf));
	kt_result(kcp_crypt_alloc(&cfg, false, &c) == 0 &&
		   kcp_crypt_hdr_len(c) == 0 &&
		   kcp_crypt_desc(c) == kcp_cipher_get(KCP_CIPHER_NULL) &&
		   kcp_crypt_seal(c, buf, 3, NULL) == 0 &&
		   kcp_crypt_open(c, buf, 3) == 0 &&
		   kcp_crypt_block_encrypt(c, buf, ref) == -EINVAL &&
		   !memcmp(buf, ref, sizeof(buf)),
		   "nil: no header, seal/open leave the datagram alone");
	kcp_crypt_free(c);
	kcp_crypt_free(NULL);
}

static void dummy_enc(void *ctx, u8 *dst, const u8 *src)
{
	memcpy(dst, src, 16);
}

static void test_bad_cfg(void)
{
	u8 key[KCP_XOR_TABLE_LEN] = { 0 };
	struct kcp_crypt *c = (struct kcp_crypt *)&c;
	const struct kcp_crypt_cfg bad[] = {
		{ .id = __KCP_CIPHER_MAX },
		{ .id = (enum kcp_cipher)-1 },
		{ .id = KCP_CIPHER_AES },			/* no block fn */
		{ .id = KCP_CIPHER_TEA, .key = key, .key_len = 32 },
		{ .id = KCP_CIPHER_TEA, .key_len = 16 },		/* no key */
		{ .id = KCP_CIPHER_TEA, .key = key, .key_len = 16,
		  .block_enc = dummy_enc },
		{ .id = KCP_CIPHER_SALSA20, .key = key, .key_len = 16 },
		{ .id = KCP_CIPHER_XOR, .key = key, .key_len = 32 },
		{ .id = KCP_CIPHER_NONE, .block_enc = dummy_enc },
	};
	unsigned int i, ok = 1;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (kcp_crypt_alloc(&bad[i], true, &c) != -EINVAL || c) {
			printf("# bad cfg %u accepted\n", i);
			ok = 0;
		}
	kt_result(ok, "invalid configurations -> -EINVAL");
}

/* Every cipher's single allocation failing is reported, nothing leaks. */
static void test_alloc_fail(void)
{
	unsigned int i, ok = 1;

	for (i = 0; i < __KCP_CIPHER_MAX; i++) {
		struct tctx t;
		int r;

		kcp_env_fail_after = 0;
		r = tctx_init(&t, i, def_pass, def_tbl);
		kcp_env_fail_after = -1;
		if (r == -ENOENT)
			continue;	/* no reference block cipher here */
		if (r != -ENOMEM || t.kc)
			ok = 0;
		/* the next allocation works again */
		if (tctx_init(&t, i, def_pass, def_tbl))
			ok = 0;
		tctx_fini(&t);
	}
	kt_result(ok, "allocation failure -> -ENOMEM for every cipher");
}

static unsigned int crc_calls;

static u32 counting_crc(const u8 *p, u32 len)
{
	crc_calls++;
	return kcp_crc32_ieee(p, len);
}

static void test_crc_hook(void)
{
	struct kcp_crypt_cfg cfg = { .id = KCP_CIPHER_NONE,
				     .crc32 = counting_crc };
	struct kcp_crypt *c;
	u8 buf[40] = { 0 };

	if (kcp_crypt_alloc(&cfg, true, &c)) {
		kt_result(0, "crc32 hook");
		return;
	}
	kt_result(kcp_crypt_seal(c, buf, sizeof(buf), NULL) == 0 &&
		   kcp_crypt_open(c, buf, sizeof(buf)) == KCP_CRYPT_HDR_LEN &&
		   crc_calls == 2, "caller's crc32 hook is used");
	kcp_crypt_free(c);
}

/* Block callback that records whether it ever got overlapping buffers. */
static unsigned int overlap_calls;

static void overlap_check_enc(void *ctx, u8 *dst, const u8 *src)
{
	if (dst < src + 16 && src < dst + 16)
		overlap_calls++;
	kt_ref_aes(ctx, dst, src);
}

/* The CFB helper on its own: Go cipher.NewCFB* semantics, any length. */
static void test_cfb(void)
{
	static u8 a[200], b[200], p[200];
	struct kt_refblk blk[2];
	kcp_block_enc_fn fn[2] = { kt_ref_bf, kt_ref_aes };
	unsigned int n, ok = 1, i;

	/* the callback must see exactly one block: 8-byte Blowfish, AES */
	BF_set_key(&blk[0].k.bf, 32, def_pass);
	AES_set_encrypt_key(def_pass, 256, &blk[1].k.aes);
	for (i = 0; i < 2; i++) {
		u32 bs = 8 << i;

		for (n = 0; n < sizeof(p); n++) {
			rnd_fill(p, n);
			/* out of place vs in place, both directions */
			memcpy(b, p, n);
			if (kcp_cfb_encrypt(fn[i], &blk[i], bs, a, p, n) ||
			    kcp_cfb_encrypt(fn[i], &blk[i], bs, b, b, n) ||
			    memcmp(a, b, n))
				ok = 0;
			if (kcp_cfb_decrypt(fn[i], &blk[i], bs, b, a, n) ||
			    kcp_cfb_decrypt(fn[i], &blk[i], bs, a, a, n) ||
			    memcmp(a, p, n) || memcmp(b, p, n))
				ok = 0;
		}
	}
	kt_result(ok, "CFB in place == out of place, decrypt inverts, len 0..199");
	for (n = 0; n < sizeof(p); n++) {
		kcp_cfb_encrypt(overlap_check_enc, &blk[1], 16, a, a, n);
		kcp_cfb_decrypt(overlap_check_enc, &blk[1], 16, a, a, n);
	}
	kt_result(!overlap_calls, "CFB never calls the block cipher in place");
	kt_result(kcp_cfb_encrypt(kt_ref_aes, &blk[1], 12, a, p, 20) == -EINVAL &&
		   kcp_cfb_decrypt(kt_ref_aes, &blk[1], 32, a, p, 20) == -EINVAL &&
		   kcp_cfb_encrypt(kt_ref_aes, &blk[1], 0, a, p, 20) == -EINVAL,
		   "CFB rejects block sizes other than 8 and 16");
}

/* A multi-block primitive from a reference block cipher, as the module's. */
struct mb_ctx {
	kcp_block_enc_fn enc;
	void *blk;
	u32 bs;
	unsigned int calls, refuse;
};

static bool mb_blocks(void *ctx, u8 *dst, const u8 *src, u32 len, bool chain)
{
	struct mb_ctx *m = ctx;
	u8 x[16];
	u32 off, i;

	m->calls++;
	if (m->refuse || len % m->bs || (dst < src + len && src < dst + len))
		return false;
	for (off = 0; off < len; off += m->bs) {
		for (i = 0; i < m->bs; i++)
			x[i] = src[off + i] ^ (chain && off ? dst[off - m->bs + i] : 0);
		m->enc(m->blk, dst + off, x);
	}
	return true;
}

/*
 * The multi-block CFB (kcp_cfb_encrypt_mb, the module's route to the
 * kernel's SIMD modes) gives kcp-go's CFB bytes, both ways, every length.
 */
static void test_cfb_mb(void)
{
	static u8 p[1400], a[1400], b[1400], ks[1400];
	static const u32 lens[] = { 0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33,
				    100, 1350, 1371, 1400 };
	kcp_block_enc_fn fn[2] = { kt_ref_bf, kt_ref_aes };
	struct kt_refblk blk[2];
	unsigned int i, k, ok = 1, calls = 0;
	struct mb_ctx m;
	u8 k0[16];

	BF_set_key(&blk[0].k.bf, 32, def_pass);
	AES_set_encrypt_key(def_pass, 256, &blk[1].k.aes);
	for (i = 0; i < 2; i++) {
		u32 bs = 8 << i;

		m = (struct mb_ctx){ .enc = fn[i], .blk = &blk[i], .bs = bs };
		fn[i](&blk[i], k0, kcp_cfb_iv_bytes());
		for (k = 0; k < ARRAY_SIZE(lens); k++) {
			u32 n = lens[k];

			rnd_fill(p, n);
			memcpy(a, p, n);
			memcpy(b, p, n);
			kcp_cfb_encrypt(fn[i], &blk[i], bs, a, a, n);
			if (!kcp_cfb_encrypt_mb(mb_blocks, &m, bs, k0, b, n, ks) ||
			    memcmp(a, b, n))
				ok = 0;
			if (!kcp_cfb_decrypt_mb(mb_blocks, &m, bs, k0, b, n, ks) ||
			    memcmp(b, p, n))
				ok = 0;
		}
		calls += m.calls;
	}
	kt_result(ok && calls,
		  "multi-block CFB == kcp-go's CFB, 8- and 16-byte blocks, lengths 0..1400");

	m = (struct mb_ctx){ .enc = kt_ref_aes, .blk = &blk[1], .bs = 16,
			     .refuse = 1 };
	kt_ref_aes(&blk[1], k0, kcp_cfb_iv_bytes());
	rnd_fill(p, 100);
	memcpy(a, p, 100);
	kt_result(!kcp_cfb_encrypt_mb(mb_blocks, &m, 16, k0, a, 100, ks) &&
		  !memcmp(a, p, 100) &&
		  !kcp_cfb_decrypt_mb(mb_blocks, &m, 16, k0, a, 100, ks) &&
		  !memcmp(a, p, 100) &&
		  !kcp_cfb_encrypt_mb(mb_blocks, &m, 12, k0, a, 100, ks),
		  "multi-block CFB refused: the buffer is as it was");

	/* the split framing is the same framing */
	{
		struct kcp_crypt_cfg cfg = { .id = KCP_CIPHER_NONE };
		struct kcp_crypt *c;

		if (kcp_crypt_alloc(&cfg, true, &c)) {
			kt_result(0, "sum/check");
			return;
		}
		rnd_fill(a, 200);
		memcpy(b, a, 200);
		kcp_crypt_seal(c, a, 200, NULL);
		kcp_crypt_sum(c, b, 200);
		ok = !memcmp(a, b, 200) &&
		     kcp_crypt_check(c, b, 200) == KCP_CRYPT_HDR_LEN;
		b[150] ^= 1;
		kt_result(ok && kcp_crypt_check(c, b, 200) == -EBADMSG,
			  "sum/check are seal/open's CRC framing");
		kcp_crypt_free(c);
	}
}

/* ---- Salsa20 two blocks at a time (kmod/salsa_simd.c) ---- */

static u32 rol32(u32 v, int r)
{
	return v << r | v >> (32 - r);
}

/* The diagonal layout of kcp_cipher.h, block b's word k. */
static u32 *pair_word(u32 *st, unsigned int b, unsigned int k)
{
	static const u8 diag[16] = { 0, 25, 18, 11, 8, 1, 26, 19,
				     16, 9, 2, 27, 24, 17, 10, 3 };

	return &st[diag[k] + 4 * b];
}

/* Salsa20/20 as the spec writes it, through the diagonal layout. */
static void core2_ref(u32 *st)
{
	static const u8 qr[8][4] = {
		{ 0, 4, 8, 12 }, { 5, 9, 13, 1 }, { 10, 14, 2, 6 },
		{ 15, 3, 7, 11 }, { 0, 1, 2, 3 }, { 5, 6, 7, 4 },
		{ 10, 11, 8, 9 }, { 15, 12, 13, 14 },
	};
	unsigned int b, k, r, q;
	u32 in[16], x[16];

	for (b = 0; b < 2; b++) {
		for (k = 0; k < 16; k++)
			in[k] = x[k] = *pair_word(st, b, k);
		for (r = 0; r < 10; r++) {
			for (q = 0; q < 8; q++) {
				const u8 *i = qr[q];

				x[i[1]] ^= rol32(x[i[0]] + x[i[3]], 7);
				x[i[2]] ^= rol32(x[i[1]] + x[i[0]], 9);
				x[i[3]] ^= rol32(x[i[2]] + x[i[1]], 13);
				x[i[0]] ^= rol32(x[i[3]] + x[i[2]], 18);
			}
		}
		for (k = 0; k < 16; k++)
			*pair_word(st, b, k) = x[k] + in[k];
	}
}

static u32 salsa_limit;	/* bytes the reference accelerator may do */
static unsigned int salsa_calls;

/* An accelerator of whole pairs through the reference rounds. */
static u32 salsa_ref(const u32 *j, u8 *buf, u32 len)
{
	u32 st[32], done, w, v;

	salsa_calls++;
	if (len > salsa_limit)
		len = salsa_limit;
	for (done = 0; len - done >= 128; done += 128) {
		kcp_salsa20_pair_state(j, done / 64, st);
		core2_ref(st);
		for (w = 0; w < 32; w++) {
			memcpy(&v, buf + done + 4 * w, 4);
			v ^= *pair_word(st, w / 16, w % 16);
			memcpy(buf + done + 4 * w, &v, 4);
		}
	}
	return done;
}

/* Every length to 1500: the accelerated route against the C rounds. */
static int salsa_compare(kcp_salsa20_accel_fn fn, u32 limit)
{
	struct kcp_crypt_cfg cfg = { .id = KCP_CIPHER_SALSA20,
				     .key = def_pass, .key_len = 32 };
	static u8 a[1500], b[1500];
	struct kcp_crypt *c;
	int bad = 0;
	u32 len;

	if (kcp_crypt_alloc(&cfg, true, &c))
		return -1;
	salsa_limit = limit;
	for (len = 0; len <= sizeof(a); len++) {
		rnd_fill(a, len);
		memcpy(b, a, len);
		kcp_salsa20_set_accel(NULL);
		kcp_crypt_encrypt(c, a, len);
		kcp_salsa20_set_accel(fn);
		kcp_crypt_encrypt(c, b, len);
		bad |= !!memcmp(a, b, len);
	}
	kcp_salsa20_set_accel(NULL);
	kcp_crypt_free(c);
	return bad;
}

static void test_salsa_pairs(void)
{
	salsa_calls = 0;
	kt_result(!salsa_compare(salsa_ref, ~0u) && salsa_calls > 0,
		  "salsa20 by block pairs (diagonal layout) == the C rounds, lengths 0..1500");
	kt_result(!salsa_compare(salsa_ref, 128),
		  "salsa20: the C rounds go on from the first block the accelerator left");
	kt_result(!salsa_compare(salsa_ref, 0),
		  "salsa20: an accelerator that cannot run leaves it to the C rounds");
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		kt_result(!salsa_compare(kcp_salsa20_avx2_xor, ~0u),
			  "salsa20 AVX2 (kmod/salsa_simd.c) == the C rounds, lengths 0..1500");
	else
		kt_skip("no AVX2 on this CPU",
			"salsa20 AVX2 (kmod/salsa_simd.c) == the C rounds, lengths 0..1500");
#endif
}

int main(void)
{
	unsigned int i;

	printf("# kcp_cipher: kcp-go 5.6.1 BlockCrypt compatibility\n");
	test_table();
	test_crc();
	test_kcpkey();
	test_kat();
	test_spec_vectors();
	test_go_vectors();

	kcptun_derive("not the default key", other_pass);
	kcptun_xor_table(other_pass, other_tbl);
	for (i = KCP_CIPHER_NONE; i < __KCP_CIPHER_MAX; i++)
		test_roundtrip(i);
	for (i = KCP_CIPHER_NONE; i < __KCP_CIPHER_MAX; i++)
		test_garbage(i);
	test_nil();
	test_bad_cfg();
	test_alloc_fail();
	test_crc_hook();
	test_cfb();
	test_cfb_mb();
	test_salsa_pairs();
	return kt_done();
}
