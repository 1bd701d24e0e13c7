// SPDX-License-Identifier: GPL-2.0
/*
 * Packet encryption of a UDP socket's datagrams, wire-compatible with
 * kcp-go's BlockCrypt as kcptun keys it: glue between the datagram path
 * and the kernel-independent framing and ciphers of kcp_cipher.c. AES,
 * 3DES, Blowfish, Twofish and CAST5 come from the kernel crypto API as
 * single-block transforms (CFB is done in kcp_cipher.c: 6.12 has no cfb
 * template); TEA, XTEA, SM4, Salsa20 and the XOR pad are kcp-go's own
 * variants and live in kcp_cipher.c.
 *
 * This is kcp-go's protection, no more: CFB with a fixed IV and a CRC32
 * checksum hides the payload and drops corrupted datagrams, but CRC32 is
 * not a MAC. See Documentation/networking/kcp.rst.
 *
 * One context per UDP socket (a listener's sessions share it), built in
 * process context at connect()/listen(); it is read-only afterwards, so
 * receive (softirq) and send (any context) use it without locking.
 */
#include <crypto/algapi.h>
#include <crypto/hash.h>
#include <crypto/internal/cipher.h>
#include <crypto/internal/simd.h>
#include <crypto/skcipher.h>
#include <linux/crc32.h>
#include <linux/percpu.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/skbuff.h>
#include <asm/simd.h>

#include "compat.h"
#include "kcp.h"

/* the crypto_cipher API */
MODULE_IMPORT_NS("CRYPTO_INTERNAL");

#define KCP_XOR_SALT	"sH3CIVoF#rWLtJo6"
#define KCP_XOR_ITER	32
#define KCP_SHA1_LEN	20

struct kcp_crypto_ctx {
	struct kcp_crypt *c;
	struct crypto_cipher *tfm;	/* kernel crypto API ciphers only */
	/* multi-block CFB (kcp_mb_setup()), or NULL */
	struct crypto_sync_skcipher *cbc, *ecb;
	bool mb_simd;			/* they need a usable FPU */
	u8 bs;
	u8 k0[KCP_CFB_MAX_BLOCK];	/* E(IV) */
};

/*
 * Every datagram's CRC32 is computed twice, once by each end, over all
 * of it. Where crc32_le() is plain C (before 6.14), the crypto API's
 * "crc32" is used instead: with crc32-pclmul loaded it folds 64 bytes in
 * a handful of instructions, and it falls back to crc32_le() itself when
 * the FPU is not usable. Allocated at the first keyed socket rather than
 * at module load, so a driver loaded after the module (a machine without
 * udev, a test guest) is found; kept until unload, read without locks.
 */
static struct crypto_shash *kcp_crc_tfm;
/* kcp_crc_tfm and kcp_mb_ks are set up once, at the first keyed socket */
static DEFINE_MUTEX(kcp_crypto_lock);

static void kcp_crc_setup(void)
{
	/* the seed: this shash's key, little endian; it does not invert */
	static const u8 seed[4] = { 0xff, 0xff, 0xff, 0xff };
	struct crypto_shash *tfm;

	if (KCP_CRC32_LIB_FAST || READ_ONCE(kcp_crc_tfm))
		return;
	mutex_lock(&kcp_crypto_lock);
	if (kcp_crc_tfm)
		goto out;
	tfm = crypto_alloc_shash("crc32", 0, 0);
	if (IS_ERR(tfm))
		goto out;	/* crc32_le() it is */
	if (crypto_shash_digestsize(tfm) != 4 ||
	    crypto_shash_setkey(tfm, seed, sizeof(seed))) {
		crypto_free_shash(tfm);
		goto out;
	}
	/* publish it keyed: pairs with the acquire in kcp_crc32() */
	smp_store_release(&kcp_crc_tfm, tfm);
out:
	mutex_unlock(&kcp_crypto_lock);
}

/*
 * Keystream scratch of the multi-block CFB, one datagram per CPU, used
 * with bottom halves off (the send path runs in process context and in
 * timers, receive in softirq). kmalloc, not the per-cpu area, because a
 * scatterlist needs memory in the linear map.
 */
static DEFINE_PER_CPU(u8 *, kcp_mb_ks);
static bool kcp_mb_ks_ready;
/* ciphers whose multi-block driver was logged, by id */
static unsigned long kcp_mb_announced;

static bool kcp_mb_ks_setup(void)
{
	bool ok = true;
	int cpu;

	mutex_lock(&kcp_crypto_lock);
	if (kcp_mb_ks_ready)
		goto out;
	for_each_possible_cpu(cpu) {
		u8 **ks = per_cpu_ptr(&kcp_mb_ks, cpu);

		if (!*ks)
			*ks = kmalloc(KCP_MTU_MAX, GFP_KERNEL);
		ok &= !!*ks;
	}
	kcp_mb_ks_ready = ok;
out:
	mutex_unlock(&kcp_crypto_lock);
	return kcp_mb_ks_ready;
}

void kcp_crypto_module_exit(void)
{
	int cpu;

	crypto_free_shash(kcp_crc_tfm);
	kcp_crc_tfm = NULL;
	for_each_possible_cpu(cpu) {
		kfree(per_cpu(kcp_mb_ks, cpu));
		per_cpu(kcp_mb_ks, cpu) = NULL;
	}
	kcp_mb_ks_ready = false;
}

static u32 kcp_crc32(const u8 *p, u32 len)
{
	/* a tfm seen is a keyed tfm: pairs with kcp_crc_setup()'s release */
	struct crypto_shash *tfm = smp_load_acquire(&kcp_crc_tfm);

	if (tfm) {
		SHASH_DESC_ON_STACK(desc, tfm);
		__le32 crc;

		desc->tfm = tfm;
		if (!crypto_shash_digest(desc, p, len, (u8 *)&crc))
			return ~le32_to_cpu(crc);
	}
	return ~crc32_le(~0, p, len);
}

static void kcp_kapi_block(void *ctx, u8 *dst, const u8 *src)
{
	crypto_cipher_encrypt_one(ctx, dst, src);
}

/* One PBKDF2 block: T = U1 ^ ... ^ U32, U1 = HMAC(salt || BE32(i)). */
static int kcp_pbkdf2_block(struct shash_desc *desc, u32 i, u8 *t)
{
	u8 salt[sizeof(KCP_XOR_SALT) - 1 + 4], u[KCP_SHA1_LEN];
	int err, j, k;

	memcpy(salt, KCP_XOR_SALT, sizeof(KCP_XOR_SALT) - 1);
	put_unaligned_be32(i, salt + sizeof(KCP_XOR_SALT) - 1);
	err = crypto_shash_digest(desc, salt, sizeof(salt), u);
	memcpy(t, u, sizeof(u));
	for (j = 1; !err && j < KCP_XOR_ITER; j++) {
		err = crypto_shash_digest(desc, u, sizeof(u), u);
		for (k = 0; k < KCP_SHA1_LEN; k++)
			t[k] ^= u[k];
	}
	memzero_explicit(u, sizeof(u));
	return err;
}

/*
 * kcp-go's XOR pad: PBKDF2-HMAC-SHA1(pass, salt, 32 iterations, 1500
 * bytes), derived here from the 32-byte key so the ABI carries 32 bytes
 * for every cipher.
 */
static int kcp_xor_pad(const u8 *pass, u8 *pad)
{
	struct crypto_shash *tfm;
	struct shash_desc *desc;
	u8 t[KCP_SHA1_LEN];
	u32 off, i;
	int err;

	tfm = crypto_alloc_shash("hmac(sha1)", 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	desc = kzalloc(sizeof(*desc) + crypto_shash_descsize(tfm), GFP_KERNEL);
	err = desc ? crypto_shash_setkey(tfm, pass, KCP_CRYPT_PASS_LEN) :
		     -ENOMEM;
	if (desc)
		desc->tfm = tfm;
	for (i = 1, off = 0; !err && off < KCP_XOR_TABLE_LEN; i++) {
		err = kcp_pbkdf2_block(desc, i, t);
		memcpy(pad + off, t, min_t(u32, KCP_SHA1_LEN,
					   KCP_XOR_TABLE_LEN - off));
		off += KCP_SHA1_LEN;
	}
	memzero_explicit(t, sizeof(t));
	kfree_sensitive(desc);
	crypto_free_shash(tfm);
	return err;
}

/* kcp_blocks_fn over the context's CBC (chain) or ECB transform */
static bool kcp_kapi_blocks(void *arg, u8 *dst, const u8 *src, u32 len,
			    bool chain)
{
	const struct kcp_crypto_ctx *ctx = arg;
	struct crypto_sync_skcipher *tfm = chain ? ctx->cbc : ctx->ecb;
	SYNC_SKCIPHER_REQUEST_ON_STACK(req, tfm);
	u8 iv[KCP_CFB_MAX_BLOCK] = { 0 };
	struct scatterlist sd, ss;
	int err;

	sg_init_one(&ss, src, len);
	sg_init_one(&sd, dst, len);
	skcipher_request_set_sync_tfm(req, tfm);
	skcipher_request_set_callback(req, 0, NULL, NULL);
	skcipher_request_set_crypt(req, &ss, &sd, len, iv);
	err = crypto_skcipher_encrypt(req);
	skcipher_request_zero(req);
	return !err;
}

/*
 * The datagram's CFB in one or two calls of a multi-block mode instead of
 * one call per block (kcp_cfb_encrypt_mb()). False when the context has
 * none or it cannot run here (no usable FPU): the single-block route then.
 */
static bool kcp_crypto_mb(const struct kcp_crypto_ctx *ctx, u8 *buf, u32 len,
			  bool enc)
{
	bool done = false;
	u8 *ks;

	if (!ctx->cbc || len > KCP_MTU_MAX)
		return false;
	local_bh_disable();
	if (!ctx->mb_simd || crypto_simd_usable()) {
		ks = __this_cpu_read(kcp_mb_ks);
		if (enc)
			done = kcp_cfb_encrypt_mb(kcp_kapi_blocks, (void *)ctx,
						  ctx->bs, ctx->k0, buf, len,
						  ks);
		else
			done = kcp_cfb_decrypt_mb(kcp_kapi_blocks, (void *)ctx,
						  ctx->bs, ctx->k0, buf, len,
						  ks);
	}
	local_bh_enable();
	return done;
}

static struct crypto_sync_skcipher *kcp_mb_alloc(const char *fmt,
						 const char *cipher,
						 bool simd, const u8 *key,
						 u32 key_len)
{
	u32 flags = simd ? CRYPTO_ALG_INTERNAL : 0;
	struct crypto_sync_skcipher *tfm;
	char name[CRYPTO_MAX_ALG_NAME];
	const char *drv;

	if (snprintf(name, sizeof(name), fmt, cipher) >= sizeof(name))
		return NULL;
	tfm = crypto_alloc_sync_skcipher(name, flags, flags);
	if (IS_ERR(tfm))
		return NULL;
	/*
	 * A template instance ("cbc(aes-generic)") calls the single-block
	 * cipher per block, which is no faster than our own loop.
	 */
	drv = crypto_skcipher_driver_name(&tfm->base);
	if (strchr(drv, '(') ||
	    crypto_sync_skcipher_setkey(tfm, key, key_len)) {
		crypto_free_sync_skcipher(tfm);
		return NULL;
	}
	return tfm;
}

static void kcp_mb_free(struct kcp_crypto_ctx *ctx)
{
	crypto_free_sync_skcipher(ctx->cbc);
	crypto_free_sync_skcipher(ctx->ecb);
	ctx->cbc = NULL;
	ctx->ecb = NULL;
}

/*
 * Multi-block CBC and ECB of the same cipher, for kcp_crypto_mb(): the
 * SIMD drivers (aesni, twofish-avx, cast5-avx, ...) register theirs as
 * internal algorithms that only their async wrappers use, since they
 * need a usable FPU; we call them directly, only where the FPU is usable,
 * as those wrappers do. Else a dedicated synchronous driver (the
 * des3_ede and blowfish assembler). Checked against the single-block
 * route on random data before use.
 */
static void kcp_mb_setup(struct kcp_crypto_ctx *ctx,
			 const struct kcp_cipher_desc *d, const u8 *key)
{
	const u32 n = 94;	/* a partial last block for both sizes */
	u8 *a, *b;
	int simd;

	if (!kcp_mb_ks_setup())
		return;
	for (simd = 1; simd >= 0 && !ctx->cbc; simd--) {
		ctx->cbc = kcp_mb_alloc(simd ? "__cbc(%s)" : "cbc(%s)",
					d->kapi_name, simd, key, d->key_len);
		ctx->ecb = kcp_mb_alloc(simd ? "__ecb(%s)" : "ecb(%s)",
					d->kapi_name, simd, key, d->key_len);
		ctx->mb_simd = simd;
		if (!ctx->cbc || !ctx->ecb)
			kcp_mb_free(ctx);
	}
	if (!ctx->cbc)
		return;
	ctx->bs = d->block_size;
	crypto_cipher_encrypt_one(ctx->tfm, ctx->k0, kcp_cfb_iv_bytes());

	/* off the stack: the buffers go into scatterlists */
	a = kmalloc(2 * n, GFP_KERNEL);
	if (!a) {
		kcp_mb_free(ctx);
		return;
	}
	b = a + n;
	get_random_bytes(a, n);
	memcpy(b, a, n);
	kcp_crypt_encrypt(ctx->c, a, n);
	if (!kcp_crypto_mb(ctx, b, n, true) || memcmp(a, b, n) ||
	    !kcp_crypto_mb(ctx, b, n, false) ||
	    (kcp_crypt_decrypt(ctx->c, a, n), memcmp(a, b, n))) {
		pr_warn_once("kcp: %s multi-block CFB differs from the single-block one: not used\n",
			     d->name);
		kcp_mb_free(ctx);
	} else if (!test_and_set_bit(d->id, &kcp_mb_announced)) {
		pr_info("kcp: %s CFB through %s\n", d->name,
			crypto_skcipher_driver_name(&ctx->cbc->base));
	}
	kfree_sensitive(a);
}

/* A kernel crypto API single-block cipher keyed with @key. */
static int kcp_kapi_cipher(struct kcp_crypto_ctx *ctx,
			   const struct kcp_cipher_desc *d, const u8 *key,
			   struct kcp_crypt_cfg *cfg)
{
	int err;

	ctx->tfm = crypto_alloc_cipher(d->kapi_name, 0, 0);
	if (IS_ERR(ctx->tfm)) {
		err = PTR_ERR(ctx->tfm);
		ctx->tfm = NULL;
		return err == -ENOENT ? -EPROTONOSUPPORT : err;
	}
	err = crypto_cipher_setkey(ctx->tfm, key, d->key_len);
	if (err)
		return err;
	cfg->block_enc = kcp_kapi_block;
	cfg->block_ctx = ctx->tfm;
	return 0;
}

/* Key a context for the cipher of @o; *out = NULL for "no crypto". */
int kcp_crypto_new(const struct kcp_opts *o, struct kcp_crypto_ctx **out)
{
	const struct kcp_cipher_desc *d = kcp_cipher_get(o->cipher);
	struct kcp_crypt_cfg cfg = { .crc32 = kcp_crc32 };
	struct kcp_crypto_ctx *ctx;
	u8 *pad = NULL;
	int err;

	*out = NULL;
	if (!d)
		return -EINVAL;
	if (d->id == KCP_CIPHER_NULL)
		return 0;
	kcp_crc_setup();
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	cfg.id = d->id;
	cfg.key = o->key;
	cfg.key_len = d->key_len;
	if (d->impl == KCP_IMPL_KAPI) {
		err = kcp_kapi_cipher(ctx, d, o->key, &cfg);
		if (err)
			goto fail;
	} else if (d->impl == KCP_IMPL_XOR) {
		pad = kmalloc(KCP_XOR_TABLE_LEN, GFP_KERNEL);
		err = pad ? kcp_xor_pad(o->key, pad) : -ENOMEM;
		if (err)
			goto fail;
		cfg.key = pad;
		cfg.key_len = KCP_XOR_TABLE_LEN;
	}
	err = kcp_crypt_alloc(&cfg, true, &ctx->c);
	kfree_sensitive(pad);
	if (err)
		goto fail;
	if (d->impl == KCP_IMPL_KAPI)
		kcp_mb_setup(ctx, d, o->key);
	*out = ctx;
	return 0;
fail:
	kfree_sensitive(pad);
	kcp_crypto_free(ctx);
	return err;
}

void kcp_crypto_free(struct kcp_crypto_ctx *ctx)
{
	if (!ctx)
		return;
	kcp_crypt_free(ctx->c);
	kcp_mb_free(ctx);
	if (ctx->tfm)
		crypto_free_cipher(ctx->tfm);
	kfree_sensitive(ctx);
}

/*
 * Receive: decrypt the datagram in place and check its CRC; on success
 * the crypto header is pulled. -EINVAL: too short (kcp-go drops those
 * silently), -EBADMSG: wrong key or corrupted, -ENOMEM.
 */
int kcp_crypto_open(const struct kcp_crypto_ctx *ctx, struct sk_buff *skb)
{
	int off;

	if (skb->len < KCP_CRYPT_HDR_LEN)
		return -EINVAL;
	/* a shared (cloned) buffer is copied before it is decrypted */
	if (skb_ensure_writable(skb, skb->len))
		return -ENOMEM;
	if (ctx->cbc) {
		if (!kcp_crypto_mb(ctx, skb->data, skb->len, false))
			kcp_crypt_decrypt(ctx->c, skb->data, skb->len);
		off = kcp_crypt_check(ctx->c, skb->data, skb->len);
	} else {
		off = kcp_crypt_open(ctx->c, skb->data, skb->len);
	}
	if (off < 0)
		return off;
	__skb_pull(skb, off);
	return 0;
}

/*
 * Decrypt a copy of the first @len bytes of a datagram we sent (quoted
 * in an ICMP error) into @out. The CFB and stream ciphers decrypt a
 * prefix without the rest; the CRC, which covers the whole datagram,
 * cannot be checked. Returns the offset of the KCP bytes in @out.
 */
int kcp_crypto_peek(const struct kcp_crypto_ctx *ctx, const u8 *in, u32 len,
		    u8 *out)
{
	if (len < KCP_CRYPT_HDR_LEN)
		return -EINVAL;
	memcpy(out, in, len);
	kcp_crypt_decrypt(ctx->c, out, len);
	return KCP_CRYPT_HDR_LEN;
}

/* Send: @skb->data has the crypto header room in front of the payload. */
void kcp_crypto_seal(const struct kcp_crypto_ctx *ctx, struct sk_buff *skb)
{
	u8 *p = skb_push(skb, KCP_CRYPT_HDR_LEN);

	/*
	 * Receivers ignore the nonce; it randomises the fixed-IV CFB, so it
	 * must be unpredictable, not more: two draws from the per-cpu batch
	 * of the CSPRNG cost a fraction of a get_random_bytes() call, which
	 * runs ChaCha20 for every datagram.
	 */
	u64 nonce[2] = { get_random_u64(), get_random_u64() };

	memcpy(p, nonce, KCP_CRYPT_NONCE_LEN);
	if (ctx->cbc) {
		kcp_crypt_sum(ctx->c, p, skb->len);
		if (!kcp_crypto_mb(ctx, p, skb->len, true))
			kcp_crypt_encrypt(ctx->c, p, skb->len);
		return;
	}
	kcp_crypt_seal(ctx->c, p, skb->len, NULL);
}
