/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet encryption byte-compatible with kcp-go 5.6.1 BlockCrypt (as keyed by
 * kcptun 20210922): the 20-byte nonce+CRC framing, kcp-go's fixed-IV CFB,
 * and the ciphers the Debian kernels lack or implement differently (TEA with
 * 16 rounds, XTEA and SM4 with big-endian words, kcp-go's Salsa20 framing,
 * the XOR pad). Block ciphers the kernel crypto API has (AES, 3DES,
 * Blowfish, Twofish, CAST5) are plugged in by the caller as a single-block
 * encrypt callback. Kernel-independent: compiled into the module and into
 * the userspace unit tests.
 *
 * A context is immutable after kcp_crypt_alloc(): all per-datagram state
 * lives on the stack, so one context may be used by any number of CPUs at
 * once (transmit in process context, receive in softirq).
 */
#ifndef _KCP_CIPHER_H
#define _KCP_CIPHER_H

#include <linux/kcp.h>	/* uapi: enum kcp_cipher, the cipher ids */

#include "kcp_env.h"

/* Crypto header: nonce[16] | CRC32 LE[4], in front of FEC header/KCP. */
#define KCP_CRYPT_NONCE_LEN	16
#define KCP_CRYPT_CRC_LEN	4
#define KCP_CRYPT_HDR_LEN	(KCP_CRYPT_NONCE_LEN + KCP_CRYPT_CRC_LEN)

/* Length of kcptun's derived key ("pass", PBKDF2 output). */
#define KCP_CRYPT_PASS_LEN	32
/* kcp-go's XOR pad covers at most its 1500-byte receive buffer. */
#define KCP_XOR_TABLE_LEN	1500
#define KCP_CFB_MAX_BLOCK	16

/* How a cipher is provided; selects the transform in kcp_crypt_encrypt(). */
enum kcp_cipher_impl {
	KCP_IMPL_IDENTITY,	/* nil and "none" */
	KCP_IMPL_KAPI,		/* caller's block cipher (kernel crypto API) + CFB */
	KCP_IMPL_TEA,		/* own block ciphers + CFB */
	KCP_IMPL_XTEA,
	KCP_IMPL_SM4,
	KCP_IMPL_SALSA20,	/* own stream cipher, kcp-go framing */
	KCP_IMPL_XOR,		/* XOR with a caller-derived pad */
};

struct kcp_cipher_desc {
	enum kcp_cipher id;
	const char *name;	/* kcptun --crypt name */
	u8 key_len;		/* bytes used from the start of the 32-byte pass */
	u8 block_size;		/* CFB block size, 0 when not a CFB cipher */
	u8 hdr_len;		/* KCP_CRYPT_HDR_LEN, or 0 for nil */
	u8 impl;		/* enum kcp_cipher_impl */
	const char *kapi_name;	/* crypto_alloc_cipher() name, NULL if own */
};

/* Single-block encrypt; never called with dst == src. */
typedef void (*kcp_block_enc_fn)(void *ctx, u8 *dst, const u8 *src);
/* CRC-32/IEEE (init and xorout ~0), e.g. ~crc32_le(~0, p, len) in-kernel. */
typedef u32 (*kcp_crc32_fn)(const u8 *p, u32 len);

struct kcp_crypt_cfg {
	enum kcp_cipher id;
	/*
	 * Own block ciphers and salsa20: the first desc->key_len bytes of the
	 * pass (exactly that many). XOR: the KCP_XOR_TABLE_LEN-byte pad.
	 * Others: unused (the caller's block cipher holds the key).
	 */
	const u8 *key;
	u32 key_len;
	/* Required for KCP_IMPL_KAPI ciphers, must be NULL otherwise. */
	kcp_block_enc_fn block_enc;
	void *block_ctx;
	/* NULL selects the built-in table implementation. */
	kcp_crc32_fn crc32;
};

struct kcp_crypt;

/* Descriptor of an id, NULL if out of range. */
const struct kcp_cipher_desc *kcp_cipher_get(enum kcp_cipher id);
/* Descriptor of a kcptun --crypt name (exact match), NULL if unknown. */
const struct kcp_cipher_desc *kcp_cipher_by_name(const char *name);

/* Key a new context: 0, -EINVAL (bad id/key/callback) or -ENOMEM. */
int kcp_crypt_alloc(const struct kcp_crypt_cfg *cfg, bool may_sleep,
		    struct kcp_crypt **out);
/* Wipe and free; NULL is fine. A caller's block cipher is the caller's. */
void kcp_crypt_free(struct kcp_crypt *c);
const struct kcp_cipher_desc *kcp_crypt_desc(const struct kcp_crypt *c);
/* Bytes in front of the payload: KCP_CRYPT_HDR_LEN, or 0 for nil. */
u32 kcp_crypt_hdr_len(const struct kcp_crypt *c);

/* BlockCrypt.Encrypt/Decrypt(buf, buf): the whole datagram, in place. */
void kcp_crypt_encrypt(const struct kcp_crypt *c, u8 *buf, u32 len);
void kcp_crypt_decrypt(const struct kcp_crypt *c, u8 *buf, u32 len);
/* One block of the underlying block cipher; -EINVAL if there is none. */
int kcp_crypt_block_encrypt(const struct kcp_crypt *c, u8 *dst, const u8 *src);

/*
 * seal: buf[0..20) is header room; puts nonce (16 bytes, or NULL if already
 * in buf) and the CRC of [20..len) there, then encrypts. 0 or -EINVAL
 * (len < 20). open: decrypts in place, checks the CRC; returns the payload
 * offset (20), -EINVAL (len < 20, buf untouched) or -EBADMSG (bad CRC).
 * Both are no-ops returning 0 for nil.
 */
int kcp_crypt_seal(const struct kcp_crypt *c, u8 *buf, u32 len,
		   const u8 *nonce);
int kcp_crypt_open(const struct kcp_crypt *c, u8 *buf, u32 len);
/*
 * The two halves of the framing, for callers that encrypt by another
 * route (kcp_cfb_encrypt_mb()): sum puts the CRC of [20..len) at [16..20)
 * (len >= 20); check returns 20, or -EBADMSG if it does not match.
 */
void kcp_crypt_sum(const struct kcp_crypt *c, u8 *buf, u32 len);
int kcp_crypt_check(const struct kcp_crypt *c, const u8 *buf, u32 len);

/*
 * kcp-go's CFB (full-block segments, fixed IV, truncated last block) over
 * any block cipher of 8 or 16 bytes; 0 or -EINVAL for another block size.
 * dst and src are the same buffer or do not overlap.
 */
int kcp_cfb_encrypt(kcp_block_enc_fn enc, void *ctx, u32 bs,
		    u8 *dst, const u8 *src, u32 len);
int kcp_cfb_decrypt(kcp_block_enc_fn enc, void *ctx, u32 bs,
		    u8 *dst, const u8 *src, u32 len);

/*
 * A block cipher over @len bytes (whole blocks) at once: chain selects
 * CBC encryption with a zero IV (dst[i] = E(src[i] ^ dst[i-1])), else
 * ECB (dst[i] = E(src[i])). dst and src do not overlap. Returns false
 * when it cannot run now.
 */
typedef bool (*kcp_blocks_fn)(void *ctx, u8 *dst, const u8 *src, u32 len,
			      bool chain);

/*
 * kcp_cfb_encrypt/decrypt in place through @blocks, for block ciphers
 * that are much faster many blocks at a time (SIMD). @k0 is E(IV), the
 * first keystream block, fixed per key; @ks is @len bytes of scratch.
 * False, with buf as it was, when @blocks refuses or bs is not 8 or 16.
 */
bool kcp_cfb_encrypt_mb(kcp_blocks_fn blocks, void *ctx, u32 bs,
			const u8 *k0, u8 *buf, u32 len, u8 *ks);
bool kcp_cfb_decrypt_mb(kcp_blocks_fn blocks, void *ctx, u32 bs,
			const u8 *k0, u8 *buf, u32 len, u8 *ks);
/* kcp-go's fixed CFB IV, the first @bs bytes (for k0 = E(IV)) */
const u8 *kcp_cfb_iv_bytes(void);

/*
 * Salsa20 two blocks at a time, for SIMD (kcp_salsa_x86.h): the state of
 * blocks @ctr and @ctr + 1 of the input words @j (j[8], j[9] ignored)
 * in diagonal order. Words 0..7 of @st are x0 x5 x10 x15 of the first
 * block then of the second, 8..15 x4 x9 x14 x3, 16..23 x8 x13 x2 x7,
 * 24..31 x12 x1 x6 x11.
 *
 * An accelerator XORs the keystream of @j (from block 0) into @buf and
 * returns the bytes it did from the start, 0 when it cannot run now;
 * the C rounds do the rest. kcp_salsa20_set_accel(NULL) turns it off.
 */
void kcp_salsa20_pair_state(const u32 *j, u32 ctr, u32 *st);
typedef u32 (*kcp_salsa20_accel_fn)(const u32 *j, u8 *buf, u32 len);
void kcp_salsa20_set_accel(kcp_salsa20_accel_fn fn);

/* CRC-32/IEEE by table: the default crc32 hook. */
u32 kcp_crc32_ieee(const u8 *p, u32 len);

#endif /* _KCP_CIPHER_H */
