// SPDX-License-Identifier: GPL-2.0
/*
 * kcp-go 5.6.1 compatible packet encryption; see kcp_cipher.h and
 * kcp-go-wire.md section 4. Every transform works in place on a whole
 * datagram, exactly like kcp-go's BlockCrypt.Encrypt(buf, buf).
 */
#include "kcp_cipher.h"

/* kcp-go's initialVector; 8-byte block ciphers use its first half. */
static const u8 kcp_cfb_iv[KCP_CFB_MAX_BLOCK] = {
	0xa7, 0x73, 0x4f, 0x9c, 0x12, 0xac, 0x1b, 0x01,
	0xa4, 0x15, 0xf2, 0xc1, 0xfc, 0x78, 0xe6, 0x6b,
};

#define DESC(_id, _name, _klen, _bs, _impl, _kapi)			\
	[_id] = { .id = _id, .name = _name, .key_len = _klen,		\
		  .block_size = _bs, .hdr_len = KCP_CRYPT_HDR_LEN,	\
		  .impl = _impl, .kapi_name = _kapi }

/*
 * Key slices and block sizes as kcptun 20210922 builds its BlockCrypt,
 * indexed by the uapi's enum kcp_cipher (KCP_CIPHER_NULL, 0, is kcp-go's
 * nil BlockCrypt, so a zeroed configuration means no crypto header).
 */
static const struct kcp_cipher_desc kcp_ciphers[] = {
	/* later kcptun calls "no header" null; 20210922 has no name for it */
	[KCP_CIPHER_NULL] = { .id = KCP_CIPHER_NULL, .name = "null",
			      .impl = KCP_IMPL_IDENTITY },
	DESC(KCP_CIPHER_NONE,		"none",     0,  0,  KCP_IMPL_IDENTITY, NULL),
	DESC(KCP_CIPHER_AES,		"aes",      32, 16, KCP_IMPL_KAPI, "aes"),
	DESC(KCP_CIPHER_AES_128,	"aes-128",  16, 16, KCP_IMPL_KAPI, "aes"),
	DESC(KCP_CIPHER_AES_192,	"aes-192",  24, 16, KCP_IMPL_KAPI, "aes"),
	DESC(KCP_CIPHER_SALSA20,	"salsa20",  32, 0,  KCP_IMPL_SALSA20, NULL),
	DESC(KCP_CIPHER_BLOWFISH,	"blowfish", 32, 8,  KCP_IMPL_KAPI, "blowfish"),
	DESC(KCP_CIPHER_TWOFISH,	"twofish",  32, 16, KCP_IMPL_KAPI, "twofish"),
	DESC(KCP_CIPHER_CAST5,		"cast5",    16, 8,  KCP_IMPL_KAPI, "cast5"),
	DESC(KCP_CIPHER_3DES,		"3des",     24, 8,  KCP_IMPL_KAPI, "des3_ede"),
	DESC(KCP_CIPHER_TEA,		"tea",      16, 8,  KCP_IMPL_TEA, NULL),
	DESC(KCP_CIPHER_XTEA,		"xtea",     16, 8,  KCP_IMPL_XTEA, NULL),
	DESC(KCP_CIPHER_SM4,		"sm4",      16, 16, KCP_IMPL_SM4, NULL),
	/* the pad is derived from all 32 bytes of pass (in userspace) */
	DESC(KCP_CIPHER_XOR,		"xor",      32, 0,  KCP_IMPL_XOR, NULL),
};

#undef DESC

/* every uapi cipher id has its entry (the ABI only ever adds ids) */
static_assert(ARRAY_SIZE(kcp_ciphers) == __KCP_CIPHER_MAX);
/* kcptun's derived key fits struct kcp_crypto */
static_assert(KCP_CRYPT_PASS_LEN <= KCP_KEY_MAX);

struct kcp_crypt {
	const struct kcp_cipher_desc *desc;
	kcp_block_enc_fn enc;	/* CFB ciphers: single-block encrypt */
	void *enc_ctx;
	kcp_crc32_fn crc32;
	/* key schedules of the ciphers implemented here */
	union {
		u32 tea[4];
		u32 xtea[64];
		u32 sm4[32];
		u32 salsa[8];
		u8 xor_tbl[KCP_XOR_TABLE_LEN];
	} ks;
};

const struct kcp_cipher_desc *kcp_cipher_get(enum kcp_cipher id)
{
	if ((unsigned int)id >= __KCP_CIPHER_MAX)
		return NULL;
	return &kcp_ciphers[id];
}

/* Exact match only; kcptun's "unknown name means aes" is the tool's call. */
const struct kcp_cipher_desc *kcp_cipher_by_name(const char *name)
{
	unsigned int i;

	for (i = 0; i < __KCP_CIPHER_MAX; i++)
		if (!strcmp(kcp_ciphers[i].name, name))
			return &kcp_ciphers[i];
	return NULL;
}

static inline u32 kcp_rol32(u32 v, unsigned int n)
{
	return (v << n) | (v >> (32 - n));
}

/* ---- CRC-32/IEEE, for userspace and for callers without crc32_le ---- */

static const u32 kcp_crc32_tbl[256] = {
	0x00000000, 0x77073096, 0xee0e612c, 0x990951ba,
	0x076dc419, 0x706af48f, 0xe963a535, 0x9e6495a3,
	0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988,
	0x09b64c2b, 0x7eb17cbd, 0xe7b82d07, 0x90bf1d91,
	0x1db71064, 0x6ab020f2, 0xf3b97148, 0x84be41de,
	0x1adad47d, 0x6ddde4eb, 0xf4d4b551, 0x83d385c7,
	0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec,
	0x14015c4f, 0x63066cd9, 0xfa0f3d63, 0x8d080df5,
	0x3b6e20c8, 0x4c69105e, 0xd56041e4, 0xa2677172,
	0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b,
	0x35b5a8fa, 0x42b2986c, 0xdbbbc9d6, 0xacbcf940,
	0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59,
	0x26d930ac, 0x51de003a, 0xc8d75180, 0xbfd06116,
	0x21b4f4b5, 0x56b3c423, 0xcfba9599, 0xb8bda50f,
	0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924,
	0x2f6f7c87, 0x58684c11, 0xc1611dab, 0xb6662d3d,
	0x76dc4190, 0x01db7106, 0x98d220bc, 0xefd5102a,
	0x71b18589, 0x06b6b51f, 0x9fbfe4a5, 0xe8b8d433,
	0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818,
	0x7f6a0dbb, 0x086d3d2d, 0x91646c97, 0xe6635c01,
	0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
	0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457,
	0x65b0d9c6, 0x12b7e950, 0x8bbeb8ea, 0xfcb9887c,
	0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65,
	0x4db26158, 0x3ab551ce, 0xa3bc0074, 0xd4bb30e2,
	0x4adfa541, 0x3dd895d7, 0xa4d1c46d, 0xd3d6f4fb,
	0x4369e96a, 0x346ed9fc, 0xad678846, 0xda60b8d0,
	0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9,
	0x5005713c, 0x270241aa, 0xbe0b1010, 0xc90c2086,
	0x5768b525, 0x206f85b3, 0xb966d409, 0xce61e49f,
	0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4,
	0x59b33d17, 0x2eb40d81, 0xb7bd5c3b, 0xc0ba6cad,
	0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a,
	0xead54739, 0x9dd277af, 0x04db2615, 0x73dc1683,
	0xe3630b12, 0x94643b84, 0x0d6d6a3e, 0x7a6a5aa8,
	0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1,
	0xf00f9344, 0x8708a3d2, 0x1e01f268, 0x6906c2fe,
	0xf762575d, 0x806567cb, 0x196c3671, 0x6e6b06e7,
	0xfed41b76, 0x89d32be0, 0x10da7a5a, 0x67dd4acc,
	0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5,
	0xd6d6a3e8, 0xa1d1937e, 0x38d8c2c4, 0x4fdff252,
	0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
	0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60,
	0xdf60efc3, 0xa867df55, 0x316e8eef, 0x4669be79,
	0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236,
	0xcc0c7795, 0xbb0b4703, 0x220216b9, 0x5505262f,
	0xc5ba3bbe, 0xb2bd0b28, 0x2bb45a92, 0x5cb36a04,
	0xc2d7ffa7, 0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d,
	0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a,
	0x9c0906a9, 0xeb0e363f, 0x72076785, 0x05005713,
	0x95bf4a82, 0xe2b87a14, 0x7bb12bae, 0x0cb61b38,
	0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21,
	0x86d3d2d4, 0xf1d4e242, 0x68ddb3f8, 0x1fda836e,
	0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777,
	0x88085ae6, 0xff0f6a70, 0x66063bca, 0x11010b5c,
	0x8f659eff, 0xf862ae69, 0x616bffd3, 0x166ccf45,
	0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2,
	0xa7672661, 0xd06016f7, 0x4969474d, 0x3e6e77db,
	0xaed16a4a, 0xd9d65adc, 0x40df0b66, 0x37d83bf0,
	0xa9bcae53, 0xdebb9ec5, 0x47b2cf7f, 0x30b5ffe9,
	0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6,
	0xbad03605, 0xcdd70693, 0x54de5729, 0x23d967bf,
	0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
	0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
};

u32 kcp_crc32_ieee(const u8 *p, u32 len)
{
	u32 crc = ~0U;

	while (len--)
		crc = kcp_crc32_tbl[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- CFB with kcp-go's fixed IV (Go cipher.NewCFBEncrypter) ---- */

/* dst = a ^ b; a word at a time, since it may run over a whole datagram */
static inline void kcp_xor_n(u8 *dst, const u8 *a, const u8 *b, u32 n)
{
	u64 x, y;
	u32 i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		x ^= y;
		memcpy(dst + i, &x, 8);
	}
	for (; i < n; i++)
		dst[i] = a[i] ^ b[i];
}

/* A whole block (8 or 16 bytes), a word at a time: the hot loop of CFB. */
static inline void kcp_xor_block(u8 *dst, const u8 *a, const u8 *b, u32 bs)
{
	u64 x, y;
	u32 i;

	for (i = 0; i < bs; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		x ^= y;
		memcpy(dst + i, &x, 8);
	}
}

/*
 * K0 = E(IV), C[i] = P[i] ^ K[i], K[i+1] = E(C[i]); the last partial block
 * uses a truncated keystream. dst == src is allowed.
 */
int kcp_cfb_encrypt(kcp_block_enc_fn enc, void *ctx, u32 bs,
		    u8 *dst, const u8 *src, u32 len)
{
	u8 ks[KCP_CFB_MAX_BLOCK];
	u32 off = 0;

	if (bs != 8 && bs != 16)
		return -EINVAL;
	if (!len)
		return 0;
	enc(ctx, ks, kcp_cfb_iv);
	while (len - off >= bs) {
		kcp_xor_block(dst + off, src + off, ks, bs);
		off += bs;
		if (off == len)
			break;	/* no keystream needed past the end */
		enc(ctx, ks, dst + off - bs);
	}
	kcp_xor_n(dst + off, src + off, ks, len - off);
	kcp_env_wipe(ks, sizeof(ks));
	return 0;
}

/*
 * Decryption also runs the block cipher forwards: K[i+1] = E(C[i]). E(C[i])
 * is taken before P[i] overwrites C[i], so dst == src works.
 */
int kcp_cfb_decrypt(kcp_block_enc_fn enc, void *ctx, u32 bs,
		    u8 *dst, const u8 *src, u32 len)
{
	u8 ks[2][KCP_CFB_MAX_BLOCK];
	unsigned int cur = 0;
	u32 off = 0;

	if (bs != 8 && bs != 16)
		return -EINVAL;
	if (!len)
		return 0;
	enc(ctx, ks[cur], kcp_cfb_iv);
	while (len - off >= bs) {
		if (len - off > bs)
			enc(ctx, ks[cur ^ 1], src + off);
		kcp_xor_block(dst + off, src + off, ks[cur], bs);
		cur ^= 1;
		off += bs;
	}
	kcp_xor_n(dst + off, src + off, ks[cur], len - off);
	kcp_env_wipe(ks, sizeof(ks));
	return 0;
}

const u8 *kcp_cfb_iv_bytes(void)
{
	return kcp_cfb_iv;
}

/*
 * CFB's keystream, K[0] = E(IV) and K[i+1] = E(C[i]), from a primitive
 * that does many blocks per call. Encryption: once C[0] = P[0] ^ K[0] is
 * in place, CBC with a zero IV over (C[0], P[1], ..., P[n-2]) yields
 * E(C[0]) = K[1], then E(P[1] ^ K[1]) = E(C[1]) = K[2], and so on: the
 * chaining XOR is CFB's own. The blocks it reads are exactly the first
 * n - 1 of the buffer at that moment, so no copy is needed.
 */
bool kcp_cfb_encrypt_mb(kcp_blocks_fn blocks, void *ctx, u32 bs,
			const u8 *k0, u8 *buf, u32 len, u8 *ks)
{
	u32 in;

	if (bs != 8 && bs != 16)
		return false;
	if (len <= bs) {
		kcp_xor_n(buf, buf, k0, len);
		return true;
	}
	in = (len - 1) / bs * bs;	/* blocks 0 .. n-2 */
	kcp_xor_block(buf, buf, k0, bs);
	if (!blocks(ctx, ks, buf, in, true)) {
		kcp_xor_block(buf, buf, k0, bs);	/* P[0] back */
		return false;
	}
	kcp_xor_n(buf + bs, buf + bs, ks, len - bs);
	return true;
}

/* Decryption: K[1..n) = E(C[0..n-1)) are independent, one ECB pass. */
bool kcp_cfb_decrypt_mb(kcp_blocks_fn blocks, void *ctx, u32 bs,
			const u8 *k0, u8 *buf, u32 len, u8 *ks)
{
	u32 in;

	if (bs != 8 && bs != 16)
		return false;
	if (len > bs) {
		in = (len - 1) / bs * bs;
		if (!blocks(ctx, ks, buf, in, false))
			return false;
		kcp_xor_n(buf + bs, buf + bs, ks, len - bs);
	}
	kcp_xor_n(buf, buf, k0, min(len, bs));
	return true;
}

/* ---- TEA, 16 rounds (8 cycles), big-endian: Go x/crypto/tea ---- */

#define KCP_TEA_DELTA	0x9e3779b9U

static void kcp_tea_setkey(struct kcp_crypt *c, const u8 *key)
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		c->ks.tea[i] = kcp_get_be32(key + 4 * i);
}

/* kcp-go asks for NewCipherWithRounds(key, 16), not the standard 64. */
static void kcp_tea_enc(void *ctx, u8 *dst, const u8 *src)
{
	const u32 *k = ctx;
	u32 v0 = kcp_get_be32(src), v1 = kcp_get_be32(src + 4);
	u32 sum = 0;
	unsigned int i;

	for (i = 0; i < 8; i++) {
		sum += KCP_TEA_DELTA;
		v0 += ((v1 << 4) + k[0]) ^ (v1 + sum) ^ ((v1 >> 5) + k[1]);
		v1 += ((v0 << 4) + k[2]) ^ (v0 + sum) ^ ((v0 >> 5) + k[3]);
	}
	kcp_put_be32(dst, v0);
	kcp_put_be32(dst + 4, v1);
}

/* ---- XTEA, 32 cycles, big-endian: Go x/crypto/xtea ---- */

/* Go precomputes sum + key word for all 64 half-rounds; so do we. */
static void kcp_xtea_setkey(struct kcp_crypt *c, const u8 *key)
{
	u32 k[4], sum = 0;
	unsigned int i;

	for (i = 0; i < 4; i++)
		k[i] = kcp_get_be32(key + 4 * i);
	for (i = 0; i < 64; i += 2) {
		c->ks.xtea[i] = sum + k[sum & 3];
		sum += KCP_TEA_DELTA;
		c->ks.xtea[i + 1] = sum + k[(sum >> 11) & 3];
	}
	kcp_env_wipe(k, sizeof(k));
}

static void kcp_xtea_enc(void *ctx, u8 *dst, const u8 *src)
{
	const u32 *t = ctx;
	u32 v0 = kcp_get_be32(src), v1 = kcp_get_be32(src + 4);
	unsigned int i;

	for (i = 0; i < 64; i += 2) {
		v0 += (((v1 << 4) ^ (v1 >> 5)) + v1) ^ t[i];
		v1 += (((v0 << 4) ^ (v0 >> 5)) + v0) ^ t[i + 1];
	}
	kcp_put_be32(dst, v0);
	kcp_put_be32(dst + 4, v1);
}

/* ---- SM4 (GB/T 32907-2016), as tjfoc/gmsm ---- */

static const u8 kcp_sm4_sbox[256] = {
	0xd6, 0x90, 0xe9, 0xfe, 0xcc, 0xe1, 0x3d, 0xb7,
	0x16, 0xb6, 0x14, 0xc2, 0x28, 0xfb, 0x2c, 0x05,
	0x2b, 0x67, 0x9a, 0x76, 0x2a, 0xbe, 0x04, 0xc3,
	0xaa, 0x44, 0x13, 0x26, 0x49, 0x86, 0x06, 0x99,
	0x9c, 0x42, 0x50, 0xf4, 0x91, 0xef, 0x98, 0x7a,
	0x33, 0x54, 0x0b, 0x43, 0xed, 0xcf, 0xac, 0x62,
	0xe4, 0xb3, 0x1c, 0xa9, 0xc9, 0x08, 0xe8, 0x95,
	0x80, 0xdf, 0x94, 0xfa, 0x75, 0x8f, 0x3f, 0xa6,
	0x47, 0x07, 0xa7, 0xfc, 0xf3, 0x73, 0x17, 0xba,
	0x83, 0x59, 0x3c, 0x19, 0xe6, 0x85, 0x4f, 0xa8,
	0x68, 0x6b, 0x81, 0xb2, 0x71, 0x64, 0xda, 0x8b,
	0xf8, 0xeb, 0x0f, 0x4b, 0x70, 0x56, 0x9d, 0x35,
	0x1e, 0x24, 0x0e, 0x5e, 0x63, 0x58, 0xd1, 0xa2,
	0x25, 0x22, 0x7c, 0x3b, 0x01, 0x21, 0x78, 0x87,
	0xd4, 0x00, 0x46, 0x57, 0x9f, 0xd3, 0x27, 0x52,
	0x4c, 0x36, 0x02, 0xe7, 0xa0, 0xc4, 0xc8, 0x9e,
	0xea, 0xbf, 0x8a, 0xd2, 0x40, 0xc7, 0x38, 0xb5,
	0xa3, 0xf7, 0xf2, 0xce, 0xf9, 0x61, 0x15, 0xa1,
	0xe0, 0xae, 0x5d, 0xa4, 0x9b, 0x34, 0x1a, 0x55,
	0xad, 0x93, 0x32, 0x30, 0xf5, 0x8c, 0xb1, 0xe3,
	0x1d, 0xf6, 0xe2, 0x2e, 0x82, 0x66, 0xca, 0x60,
	0xc0, 0x29, 0x23, 0xab, 0x0d, 0x53, 0x4e, 0x6f,
	0xd5, 0xdb, 0x37, 0x45, 0xde, 0xfd, 0x8e, 0x2f,
	0x03, 0xff, 0x6a, 0x72, 0x6d, 0x6c, 0x5b, 0x51,
	0x8d, 0x1b, 0xaf, 0x92, 0xbb, 0xdd, 0xbc, 0x7f,
	0x11, 0xd9, 0x5c, 0x41, 0x1f, 0x10, 0x5a, 0xd8,
	0x0a, 0xc1, 0x31, 0x88, 0xa5, 0xcd, 0x7b, 0xbd,
	0x2d, 0x74, 0xd0, 0x12, 0xb8, 0xe5, 0xb4, 0xb0,
	0x89, 0x69, 0x97, 0x4a, 0x0c, 0x96, 0x77, 0x7e,
	0x65, 0xb9, 0xf1, 0x09, 0xc5, 0x6e, 0xc6, 0x84,
	0x18, 0xf0, 0x7d, 0xec, 0x3a, 0xdc, 0x4d, 0x20,
	0x79, 0xee, 0x5f, 0x3e, 0xd7, 0xcb, 0x39, 0x48,
};

static const u32 kcp_sm4_fk[4] = {
	0xa3b1bac6, 0x56aa3350, 0x677d9197, 0xb27022dc,
};

static const u32 kcp_sm4_ck[32] = {
	0x00070e15, 0x1c232a31, 0x383f464d, 0x545b6269,
	0x70777e85, 0x8c939aa1, 0xa8afb6bd, 0xc4cbd2d9,
	0xe0e7eef5, 0xfc030a11, 0x181f262d, 0x343b4249,
	0x50575e65, 0x6c737a81, 0x888f969d, 0xa4abb2b9,
	0xc0c7ced5, 0xdce3eaf1, 0xf8ff060d, 0x141b2229,
	0x30373e45, 0x4c535a61, 0x686f767d, 0x848b9299,
	0xa0a7aeb5, 0xbcc3cad1, 0xd8dfe6ed, 0xf4fb0209,
	0x10171e25, 0x2c333a41, 0x484f565d, 0x646b7279,
};

/* tau: the S-box on each byte of a word */
static inline u32 kcp_sm4_tau(u32 x)
{
	return (u32)kcp_sm4_sbox[x >> 24] << 24 |
	       (u32)kcp_sm4_sbox[(x >> 16) & 0xff] << 16 |
	       (u32)kcp_sm4_sbox[(x >> 8) & 0xff] << 8 |
	       (u32)kcp_sm4_sbox[x & 0xff];
}

/* round function T = L(tau(x)) */
static inline u32 kcp_sm4_t(u32 x)
{
	u32 b = kcp_sm4_tau(x);

	return b ^ kcp_rol32(b, 2) ^ kcp_rol32(b, 10) ^ kcp_rol32(b, 18) ^
	       kcp_rol32(b, 24);
}

/* key schedule T' = L'(tau(x)) */
static inline u32 kcp_sm4_tk(u32 x)
{
	u32 b = kcp_sm4_tau(x);

	return b ^ kcp_rol32(b, 13) ^ kcp_rol32(b, 23);
}

static void kcp_sm4_setkey(struct kcp_crypt *c, const u8 *key)
{
	u32 k[4];
	unsigned int i;

	for (i = 0; i < 4; i++)
		k[i] = kcp_get_be32(key + 4 * i) ^ kcp_sm4_fk[i];
	for (i = 0; i < 32; i++) {
		c->ks.sm4[i] = k[0] ^ kcp_sm4_tk(k[1] ^ k[2] ^ k[3] ^
						 kcp_sm4_ck[i]);
		k[0] = k[1];
		k[1] = k[2];
		k[2] = k[3];
		k[3] = c->ks.sm4[i];
	}
	kcp_env_wipe(k, sizeof(k));
}

static void kcp_sm4_enc(void *ctx, u8 *dst, const u8 *src)
{
	const u32 *rk = ctx;
	u32 x0 = kcp_get_be32(src), x1 = kcp_get_be32(src + 4);
	u32 x2 = kcp_get_be32(src + 8), x3 = kcp_get_be32(src + 12);
	unsigned int i;

	/* four rounds per iteration so the words need not rotate */
	for (i = 0; i < 32; i += 4) {
		x0 ^= kcp_sm4_t(x1 ^ x2 ^ x3 ^ rk[i]);
		x1 ^= kcp_sm4_t(x2 ^ x3 ^ x0 ^ rk[i + 1]);
		x2 ^= kcp_sm4_t(x3 ^ x0 ^ x1 ^ rk[i + 2]);
		x3 ^= kcp_sm4_t(x0 ^ x1 ^ x2 ^ rk[i + 3]);
	}
	kcp_put_be32(dst, x3);
	kcp_put_be32(dst + 4, x2);
	kcp_put_be32(dst + 8, x1);
	kcp_put_be32(dst + 12, x0);
}

/* ---- Salsa20/20 as kcp-go uses it ---- */

static void kcp_salsa20_setkey(struct kcp_crypt *c, const u8 *key)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		c->ks.salsa[i] = kcp_get_le32(key + 4 * i);
}

static inline void kcp_salsa20_qr(u32 *x, int a, int b, int c, int d)
{
	x[b] ^= kcp_rol32(x[a] + x[d], 7);
	x[c] ^= kcp_rol32(x[b] + x[a], 9);
	x[d] ^= kcp_rol32(x[c] + x[b], 13);
	x[a] ^= kcp_rol32(x[d] + x[c], 18);
}

/* One keystream block: x = Salsa20/20 core of the input words j. */
static void kcp_salsa20_block(const u32 *j, u32 *x)
{
	unsigned int i;

	for (i = 0; i < 16; i++)
		x[i] = j[i];
	for (i = 0; i < 20; i += 2) {
		/* column round */
		kcp_salsa20_qr(x, 0, 4, 8, 12);
		kcp_salsa20_qr(x, 5, 9, 13, 1);
		kcp_salsa20_qr(x, 10, 14, 2, 6);
		kcp_salsa20_qr(x, 15, 3, 7, 11);
		/* row round */
		kcp_salsa20_qr(x, 0, 1, 2, 3);
		kcp_salsa20_qr(x, 5, 6, 7, 4);
		kcp_salsa20_qr(x, 10, 11, 8, 9);
		kcp_salsa20_qr(x, 15, 12, 13, 14);
	}
	for (i = 0; i < 16; i++)
		x[i] += j[i];
}

/* The keystream is the little-endian serialisation of the words. */
static void kcp_salsa20_xor_block(u8 *p, const u32 *x, u32 n)
{
	u32 i;

	for (i = 0; i + 4 <= n; i += 4)
		kcp_put_le32(p + i, kcp_get_le32(p + i) ^ x[i / 4]);
	for (; i < n; i++)
		p[i] ^= (u8)(x[i / 4] >> (8 * (i % 4)));
}

/* Where word k of a block sits in the diagonal layout of a pair. */
static const u8 kcp_salsa20_diag[16] = {
	0, 25, 18, 11, 8, 1, 26, 19, 16, 9, 2, 27, 24, 17, 10, 3,
};

void kcp_salsa20_pair_state(const u32 *j, u32 ctr, u32 *st)
{
	u32 k;

	for (k = 0; k < 16; k++) {
		st[kcp_salsa20_diag[k]] = j[k];
		st[kcp_salsa20_diag[k] + 4] = j[k];
	}
	/* the 64-bit block counter: j[8] low, j[9] high */
	st[kcp_salsa20_diag[8]] = ctr;
	st[kcp_salsa20_diag[8] + 4] = ctr + 1;
}

static kcp_salsa20_accel_fn kcp_salsa20_accel;

void kcp_salsa20_set_accel(kcp_salsa20_accel_fn fn)
{
	kcp_salsa20_accel = fn;
}

/*
 * kcp-go: salsa20.XORKeyStream(buf[8:], buf[8:], buf[:8], key). The first
 * 8 nonce bytes stay in clear and are the Salsa20 nonce; the 64-bit block
 * counter starts at 0 for every datagram.
 */
static void kcp_salsa20_xor(const u32 *key, u8 *buf, u32 len)
{
	u32 j[16], x[16];
	u32 off = 8, n;

	if (len <= 8)
		return;	/* kcp-go would panic below 8; nothing to do at 8 */
	j[0] = 0x61707865;	/* "expand 32-byte k" */
	j[5] = 0x3320646e;
	j[10] = 0x79622d32;
	j[15] = 0x6b206574;
	memcpy(&j[1], key, 16);
	memcpy(&j[11], key + 4, 16);
	j[6] = kcp_get_le32(buf);
	j[7] = kcp_get_le32(buf + 4);
	j[8] = 0;
	j[9] = 0;
	if (kcp_salsa20_accel) {
		u32 done = kcp_salsa20_accel(j, buf + off, len - off);

		/* on from the first block it did not do */
		off += done;
		j[8] = done / 64;
	}
	while (off < len) {
		kcp_salsa20_block(j, x);
		n = min_t(u32, 64, len - off);
		kcp_salsa20_xor_block(buf + off, x, n);
		off += n;
		if (!++j[8])
			j[9]++;
	}
	kcp_env_wipe(j, sizeof(j));
	kcp_env_wipe(x, sizeof(x));
}

/* ---- XOR pad: kcp-go xors min(len, 1500) bytes from offset 0 ---- */

static void kcp_xor_pad(const u8 *tbl, u8 *buf, u32 len)
{
	kcp_xor_n(buf, buf, tbl, min_t(u32, len, KCP_XOR_TABLE_LEN));
}

/* ---- contexts ---- */

static int kcp_crypt_check_cfg(const struct kcp_cipher_desc *d,
			       const struct kcp_crypt_cfg *cfg)
{
	bool kapi = d->impl == KCP_IMPL_KAPI;

	if (kapi != !!cfg->block_enc)
		return -EINVAL;
	switch (d->impl) {
	case KCP_IMPL_TEA:
	case KCP_IMPL_XTEA:
	case KCP_IMPL_SM4:
	case KCP_IMPL_SALSA20:
		if (!cfg->key || cfg->key_len != d->key_len)
			return -EINVAL;
		break;
	case KCP_IMPL_XOR:
		if (!cfg->key || cfg->key_len != KCP_XOR_TABLE_LEN)
			return -EINVAL;
		break;
	default:
		break;
	}
	return 0;
}

static void kcp_crypt_setkey(struct kcp_crypt *c, const struct kcp_crypt_cfg *cfg)
{
	switch (c->desc->impl) {
	case KCP_IMPL_KAPI:
		c->enc = cfg->block_enc;
		c->enc_ctx = cfg->block_ctx;
		break;
	case KCP_IMPL_TEA:
		kcp_tea_setkey(c, cfg->key);
		c->enc = kcp_tea_enc;
		c->enc_ctx = c->ks.tea;
		break;
	case KCP_IMPL_XTEA:
		kcp_xtea_setkey(c, cfg->key);
		c->enc = kcp_xtea_enc;
		c->enc_ctx = c->ks.xtea;
		break;
	case KCP_IMPL_SM4:
		kcp_sm4_setkey(c, cfg->key);
		c->enc = kcp_sm4_enc;
		c->enc_ctx = c->ks.sm4;
		break;
	case KCP_IMPL_SALSA20:
		kcp_salsa20_setkey(c, cfg->key);
		break;
	case KCP_IMPL_XOR:
		memcpy(c->ks.xor_tbl, cfg->key, KCP_XOR_TABLE_LEN);
		break;
	default:
		break;
	}
}

/*
 * One allocation per socket holding every key schedule, so a failed
 * setup never leaves key material behind and kcp_crypt_free() wipes it all.
 */
int kcp_crypt_alloc(const struct kcp_crypt_cfg *cfg, bool may_sleep,
		    struct kcp_crypt **out)
{
	const struct kcp_cipher_desc *d = kcp_cipher_get(cfg->id);
	struct kcp_crypt *c;
	int err;

	*out = NULL;
	if (!d)
		return -EINVAL;
	err = kcp_crypt_check_cfg(d, cfg);
	if (err)
		return err;
	c = kcp_env_zalloc(sizeof(*c), may_sleep);
	if (!c)
		return -ENOMEM;
	c->desc = d;
	c->crc32 = cfg->crc32 ? cfg->crc32 : kcp_crc32_ieee;
	kcp_crypt_setkey(c, cfg);
	*out = c;
	return 0;
}

void kcp_crypt_free(struct kcp_crypt *c)
{
	if (!c)
		return;
	kcp_env_wipe(c, sizeof(*c));
	kcp_env_free_sensitive(c);
}

const struct kcp_cipher_desc *kcp_crypt_desc(const struct kcp_crypt *c)
{
	return c->desc;
}

u32 kcp_crypt_hdr_len(const struct kcp_crypt *c)
{
	return c->desc->hdr_len;
}

/* kcp-go BlockCrypt.Encrypt(buf, buf) on a whole datagram. */
void kcp_crypt_encrypt(const struct kcp_crypt *c, u8 *buf, u32 len)
{
	switch (c->desc->impl) {
	case KCP_IMPL_KAPI:
	case KCP_IMPL_TEA:
	case KCP_IMPL_XTEA:
	case KCP_IMPL_SM4:
		kcp_cfb_encrypt(c->enc, c->enc_ctx, c->desc->block_size,
				buf, buf, len);
		break;
	case KCP_IMPL_SALSA20:
		kcp_salsa20_xor(c->ks.salsa, buf, len);
		break;
	case KCP_IMPL_XOR:
		kcp_xor_pad(c->ks.xor_tbl, buf, len);
		break;
	default:
		break;
	}
}

/* kcp-go BlockCrypt.Decrypt(buf, buf); stream ciphers are symmetric. */
void kcp_crypt_decrypt(const struct kcp_crypt *c, u8 *buf, u32 len)
{
	switch (c->desc->impl) {
	case KCP_IMPL_KAPI:
	case KCP_IMPL_TEA:
	case KCP_IMPL_XTEA:
	case KCP_IMPL_SM4:
		kcp_cfb_decrypt(c->enc, c->enc_ctx, c->desc->block_size,
				buf, buf, len);
		break;
	default:
		kcp_crypt_encrypt(c, buf, len);
		break;
	}
}

/* Raw block cipher of a CFB context: known-answer tests and benchmarks. */
int kcp_crypt_block_encrypt(const struct kcp_crypt *c, u8 *dst, const u8 *src)
{
	if (!c->enc)
		return -EINVAL;
	c->enc(c->enc_ctx, dst, src);
	return 0;
}

/*
 * Frame and encrypt one datagram in place, as kcp-go's UDPSession.output:
 * buf[0..20) is header room, the payload (FEC header + KCP) follows.
 * nonce: 16 random bytes, or NULL when the caller already put them in buf.
 */
void kcp_crypt_sum(const struct kcp_crypt *c, u8 *buf, u32 len)
{
	kcp_put_le32(buf + KCP_CRYPT_NONCE_LEN,
		     c->crc32(buf + KCP_CRYPT_HDR_LEN,
			      len - KCP_CRYPT_HDR_LEN));
}

int kcp_crypt_check(const struct kcp_crypt *c, const u8 *buf, u32 len)
{
	u32 crc = c->crc32(buf + KCP_CRYPT_HDR_LEN, len - KCP_CRYPT_HDR_LEN);

	if (crc != kcp_get_le32(buf + KCP_CRYPT_NONCE_LEN))
		return -EBADMSG;
	return KCP_CRYPT_HDR_LEN;
}

int kcp_crypt_seal(const struct kcp_crypt *c, u8 *buf, u32 len,
		   const u8 *nonce)
{
	if (!c->desc->hdr_len)
		return 0;
	if (len < KCP_CRYPT_HDR_LEN)
		return -EINVAL;
	if (nonce)
		memcpy(buf, nonce, KCP_CRYPT_NONCE_LEN);
	kcp_crypt_sum(c, buf, len);
	kcp_crypt_encrypt(c, buf, len);
	return 0;
}

/*
 * Decrypt one received datagram in place and check its CRC, as kcp-go's
 * packetInput. Returns the payload offset (0 for nil, else 20); -EINVAL
 * for a datagram shorter than the header (kcp-go drops it silently);
 * -EBADMSG for a CRC mismatch (kcp-go counts InCsumErrors), in which case
 * buf holds garbage.
 */
int kcp_crypt_open(const struct kcp_crypt *c, u8 *buf, u32 len)
{
	if (!c->desc->hdr_len)
		return 0;
	if (len < KCP_CRYPT_HDR_LEN)
		return -EINVAL;
	kcp_crypt_decrypt(c, buf, len);
	return kcp_crypt_check(c, buf, len);
}
