// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the cipher framing of kmod/kcp_cipher.c, every cipher
 * id, keyed as kcptun keys its default passphrase. The ciphers the kernel
 * crypto API provides are played by OpenSSL (and nettle for Twofish)
 * single-block encrypt functions, as selftests/unit/test_crypt.c does.
 *
 * Input: byte 0 picks the cipher (% __KCP_CIPHER_MAX), the rest is a
 * datagram. Checks:
 *  - open() of the bytes: 0 for nil (buffer untouched), -EINVAL below 20
 *    bytes (buffer untouched), else 20 or -EBADMSG; when it opens, seal()
 *    with the nonce found must give back the very same bytes;
 *  - seal() then open() of the bytes as a payload: equal again, and the
 *    wire bytes equal an independent CFB / Salsa20 / XOR computation;
 *  - raw decrypt(encrypt(x)) == x at every length.
 */
#ifdef HAVE_NETTLE
#include <nettle/salsa20.h>
#endif

#include "fuzz_common.h"
#include "kcp_cipher.h"
#include "kcpkey.h"
#include "../lib/refcipher.h"

#define MAX_DGRAM	2048

static const u8 cfb_iv[16] = {
	0xa7, 0x73, 0x4f, 0x9c, 0x12, 0xac, 0x1b, 0x01,
	0xa4, 0x15, 0xf2, 0xc1, 0xfc, 0x78, 0xe6, 0x6b,
};

static struct {
	struct kcp_crypt *c;
	struct kt_refblk blk;
	kcp_block_enc_fn ref;	/* independent block function, or NULL */
	void *ref_ctx;
} ctx[__KCP_CIPHER_MAX];

static u8 pass[KCPTUN_PASS_LEN], xor_tbl[KCPTUN_XOR_TABLE_LEN];
static struct kt_refblk sm4_ref;

/* OpenSSL's SM4 (EVP, ECB, one block): the reference for kcp_cipher's. */
static void ref_sm4(void *c, u8 *dst, const u8 *src)
{
	int n;

	if (!EVP_EncryptUpdate(((struct kt_refblk *)c)->k.evp, dst, &n, src, 16) ||
	    n != 16)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned int id;

	if (kcptun_derive("it's a secrect", pass) ||
	    kcptun_xor_table(pass, xor_tbl))
		abort();
	sm4_ref.k.evp = EVP_CIPHER_CTX_new();
	if (!sm4_ref.k.evp ||
	    !EVP_EncryptInit_ex(sm4_ref.k.evp, EVP_sm4_ecb(), NULL, pass, NULL))
		sm4_ref.k.evp = NULL;	/* no SM4 in this OpenSSL: no reference */
	else
		EVP_CIPHER_CTX_set_padding(sm4_ref.k.evp, 0);
	for (id = 0; id < __KCP_CIPHER_MAX; id++) {
		struct kcp_crypt_cfg cfg;

		if (kt_ref_cfg(id, pass, xor_tbl, &ctx[id].blk, &cfg))
			continue;	/* e.g. no nettle: skipped */
		if (cfg.block_enc) {
			ctx[id].ref = cfg.block_enc;
			ctx[id].ref_ctx = &ctx[id].blk;
		}
		if (id == KCP_CIPHER_SM4 && sm4_ref.k.evp) {
			ctx[id].ref = ref_sm4;
			ctx[id].ref_ctx = &sm4_ref;
		}
		if (kcp_crypt_alloc(&cfg, true, &ctx[id].c))
			abort();
	}
	return 0;
}

/* Textbook full-block CFB with kcp-go's fixed IV, never in place. */
static void ref_cfb(kcp_block_enc_fn enc, void *c, u32 bs, u8 *out,
		    const u8 *in, u32 len)
{
	u8 reg[16], ks[16];
	u32 off, i;

	memcpy(reg, cfb_iv, bs);
	for (off = 0; off < len; off += bs) {
		enc(c, ks, reg);
		for (i = 0; i < bs && off + i < len; i++)
			out[off + i] = in[off + i] ^ ks[i];
		if (off + bs <= len)
			memcpy(reg, out + off, bs);
	}
}

/* The wire bytes kcp-go would send for @plain (nonce and CRC in place). */
static bool reference(unsigned int id, u8 *out, const u8 *plain, u32 len)
{
	const struct kcp_cipher_desc *d = kcp_cipher_get(id);
	u32 i;

	switch (d->impl) {
	case KCP_IMPL_IDENTITY:
		memcpy(out, plain, len);
		return true;
	case KCP_IMPL_XOR:
		for (i = 0; i < len; i++)
			out[i] = plain[i] ^ (i < KCP_XOR_TABLE_LEN ? xor_tbl[i] : 0);
		return true;
	case KCP_IMPL_SALSA20:
#ifdef HAVE_NETTLE
	{
		struct salsa20_ctx s;

		memcpy(out, plain, len);
		if (len <= 8)
			return true;
		salsa20_256_set_key(&s, pass);
		salsa20_set_nonce(&s, plain);
		salsa20_crypt(&s, len - 8, out + 8, plain + 8);
		return true;
	}
#else
		return false;
#endif
	default:
		if (!ctx[id].ref)
			return false;
		ref_cfb(ctx[id].ref, ctx[id].ref_ctx, d->block_size, out,
			plain, len);
		return true;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static u8 buf[MAX_DGRAM], buf2[MAX_DGRAM], ref[MAX_DGRAM];
	const struct kcp_crypt *c;
	unsigned int id;
	u32 len, hdr;
	u8 *heap;
	int ret;

	if (size < 1 || size - 1 > MAX_DGRAM - KCP_CRYPT_HDR_LEN)
		return 0;
	id = data[0] % __KCP_CIPHER_MAX;
	c = ctx[id].c;
	if (!c)
		return 0;	/* cipher without an implementation here */
	data++;
	len = size - 1;
	hdr = kcp_crypt_hdr_len(c);

	/* 1. open() arbitrary bytes, in a heap buffer of exactly len bytes */
	heap = malloc(len ? len : 1);
	memcpy(heap, data, len);
	ret = kcp_crypt_open(c, heap, len);
	if (!hdr) {
		FUZZ_CHECK(ret == 0 && !memcmp(heap, data, len),
			   "nil cipher: open returned %d or changed bytes", ret);
	} else if (len < KCP_CRYPT_HDR_LEN) {
		FUZZ_CHECK(ret == -EINVAL && !memcmp(heap, data, len),
			   "%u-byte datagram: open returned %d or changed it",
			   len, ret);
	} else {
		FUZZ_CHECK(ret == KCP_CRYPT_HDR_LEN || ret == -EBADMSG,
			   "open returned %d", ret);
		if (ret == KCP_CRYPT_HDR_LEN) {
			/* opened: sealing again with its nonce gives it back */
			FUZZ_CHECK(!kcp_crypt_seal(c, heap, len, NULL),
				   "reseal failed");
			FUZZ_CHECK(!memcmp(heap, data, len),
				   "reseal of an opened datagram differs");
		}
	}
	free(heap);

	/* 2. seal the bytes as a payload, compare, open again */
	if (hdr) {
		u32 wire = KCP_CRYPT_HDR_LEN + len;
		u8 nonce[KCP_CRYPT_NONCE_LEN];
		u32 i;

		for (i = 0; i < sizeof(nonce); i++)
			nonce[i] = len > i ? data[i] ^ 0x5a : (u8)i;
		memcpy(buf + KCP_CRYPT_HDR_LEN, data, len);
		FUZZ_CHECK(!kcp_crypt_seal(c, buf, wire, nonce), "seal failed");
		memcpy(buf2, nonce, sizeof(nonce));
		kcp_put_le32(buf2 + KCP_CRYPT_NONCE_LEN,
			     kcp_crc32_ieee(data, len));
		memcpy(buf2 + KCP_CRYPT_HDR_LEN, data, len);
		if (reference(id, ref, buf2, wire))
			FUZZ_CHECK(!memcmp(ref, buf, wire),
				   "%s: wire bytes differ from the reference",
				   kcp_cipher_get(id)->name);
		ret = kcp_crypt_open(c, buf, wire);
		FUZZ_CHECK(ret == KCP_CRYPT_HDR_LEN, "open of sealed: %d", ret);
		FUZZ_CHECK(!memcmp(buf, buf2, wire), "round trip differs");
	}

	/* 3. raw transforms at this length, sub-header sizes included */
	memcpy(buf, data, len);
	kcp_crypt_encrypt(c, buf, len);
	kcp_crypt_decrypt(c, buf, len);
	FUZZ_CHECK(!memcmp(buf, data, len), "decrypt(encrypt) differs at %u",
		   len);
	return 0;
}
