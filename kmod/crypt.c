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
#include <crypto/hash.h>
#include <crypto/internal/cipher.h>
#include <linux/crc32.h>
#include <linux/random.h>
#include <linux/skbuff.h>

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
};

static u32 kcp_crc32(const u8 *p, u32 len)
{
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
	off = kcp_crypt_open(ctx->c, skb->data, skb->len);
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

	/* receivers ignore the nonce; it randomises the fixed-IV CFB */
	get_random_bytes(p, KCP_CRYPT_NONCE_LEN);
	kcp_crypt_seal(ctx->c, p, skb->len, NULL);
}
