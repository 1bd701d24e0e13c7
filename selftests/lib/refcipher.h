/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reference block ciphers for kmod/kcp_cipher.c's tests: the ciphers the
 * kernel crypto API provides in the module are played in userspace by
 * OpenSSL's single-block encrypt functions (AES, Blowfish, CAST5, 3DES)
 * and nettle's Twofish (with HAVE_NETTLE), keyed with kcptun's slice of
 * the derived key, plugged into the module's CFB as struct
 * kcp_crypt_cfg's block_enc. Used by selftests/unit/test_crypt.c and
 * selftests/fuzz/fuzz_crypt_open.c; needs kcp_cipher.h first and -lcrypto
 * (and nettle).
 */
#ifndef _KT_REFCIPHER_H
#define _KT_REFCIPHER_H

#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED	/* the low-level ECB block API */
#endif
#include <openssl/aes.h>
#include <openssl/blowfish.h>
#include <openssl/cast.h>
#include <openssl/des.h>
#include <openssl/evp.h>
#ifdef HAVE_NETTLE
#include <nettle/twofish.h>
#endif

struct kt_refblk {
	union {
		AES_KEY aes;
		BF_KEY bf;
		CAST_KEY cast;
		DES_key_schedule des[3];
#ifdef HAVE_NETTLE
		struct twofish_ctx tf;
#endif
		EVP_CIPHER_CTX *evp;
	} k;
};

static void kt_ref_aes(void *c, u8 *dst, const u8 *src)
{
	AES_encrypt(src, dst, &((struct kt_refblk *)c)->k.aes);
}

static void kt_ref_bf(void *c, u8 *dst, const u8 *src)
{
	BF_ecb_encrypt(src, dst, &((struct kt_refblk *)c)->k.bf, BF_ENCRYPT);
}

static void kt_ref_cast(void *c, u8 *dst, const u8 *src)
{
	CAST_ecb_encrypt(src, dst, &((struct kt_refblk *)c)->k.cast,
			 CAST_ENCRYPT);
}

static void kt_ref_des3(void *c, u8 *dst, const u8 *src)
{
	DES_key_schedule *ks = ((struct kt_refblk *)c)->k.des;

	DES_ecb3_encrypt((const_DES_cblock *)src, (DES_cblock *)dst,
			 &ks[0], &ks[1], &ks[2], DES_ENCRYPT);
}

#ifdef HAVE_NETTLE
static void kt_ref_tf(void *c, u8 *dst, const u8 *src)
{
	twofish_encrypt(&((struct kt_refblk *)c)->k.tf, 16, dst, src);
}
#endif

/* Keys the reference of cipher @d with @pass; NULL if there is none. */
static inline kcp_block_enc_fn kt_refblk_setup(const struct kcp_cipher_desc *d,
					       const u8 *pass,
					       struct kt_refblk *b)
{
	int i;

	switch (d->id) {
	case KCP_CIPHER_AES:
	case KCP_CIPHER_AES_128:
	case KCP_CIPHER_AES_192:
		AES_set_encrypt_key(pass, d->key_len * 8, &b->k.aes);
		return kt_ref_aes;
	case KCP_CIPHER_BLOWFISH:
		BF_set_key(&b->k.bf, d->key_len, pass);
		return kt_ref_bf;
	case KCP_CIPHER_CAST5:
		CAST_set_key(&b->k.cast, d->key_len, pass);
		return kt_ref_cast;
	case KCP_CIPHER_3DES:
		/* Go's NewTripleDESCipher ignores parity and weak keys too */
		for (i = 0; i < 3; i++)
			DES_set_key_unchecked((const_DES_cblock *)(pass + 8 * i),
					      &b->k.des[i]);
		return kt_ref_des3;
#ifdef HAVE_NETTLE
	case KCP_CIPHER_TWOFISH:
		twofish_set_key(&b->k.tf, d->key_len, pass);
		return kt_ref_tf;
#endif
	default:
		return NULL;
	}
}

/*
 * The configuration kcptun's key gives cipher @id: kcptun's 32-byte
 * @pass, or the XOR pad @tbl, or the reference block cipher keyed into
 * @b. -ENOENT if that reference is missing (e.g. no nettle: Twofish).
 */
static inline int kt_ref_cfg(unsigned int id, const u8 *pass, const u8 *tbl,
			     struct kt_refblk *b, struct kcp_crypt_cfg *cfg)
{
	const struct kcp_cipher_desc *d = kcp_cipher_get(id);

	memset(cfg, 0, sizeof(*cfg));
	cfg->id = id;
	if (d->impl == KCP_IMPL_KAPI) {
		cfg->block_enc = kt_refblk_setup(d, pass, b);
		cfg->block_ctx = b;
		if (!cfg->block_enc)
			return -ENOENT;
	} else if (d->impl == KCP_IMPL_XOR) {
		cfg->key = tbl;
		cfg->key_len = KCP_XOR_TABLE_LEN;
	} else if (d->impl != KCP_IMPL_IDENTITY) {
		cfg->key = pass;
		cfg->key_len = d->key_len;
	}
	return 0;
}

#endif
