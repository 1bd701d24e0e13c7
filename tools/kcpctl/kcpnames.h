/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kcptun's names for what the AF_KCP ABI numbers: --crypt ciphers (indexed
 * by the uapi's enum kcp_cipher, with how many bytes of the derived "pass"
 * each is keyed with, kcptun's main.go) and --mode presets. The module's
 * own table (kmod/core/kcp_cipher.c) is indexed by the same enum. One table for
 * kcpctl, the preload shim and the test and bench tools.
 */
#ifndef _KCPCTL_KCPNAMES_H
#define _KCPCTL_KCPNAMES_H

#include <string.h>

#include "../../uapi/linux/kcp.h"

static const struct {
	const char *name;
	unsigned int key_len;
} kcp_cipher_names[] = {
	[KCP_CIPHER_NULL] = { "null", 0 },
	[KCP_CIPHER_NONE] = { "none", 0 },
	[KCP_CIPHER_AES] = { "aes", 32 },
	[KCP_CIPHER_AES_128] = { "aes-128", 16 },
	[KCP_CIPHER_AES_192] = { "aes-192", 24 },
	[KCP_CIPHER_SALSA20] = { "salsa20", 32 },
	[KCP_CIPHER_BLOWFISH] = { "blowfish", 32 },
	[KCP_CIPHER_TWOFISH] = { "twofish", 32 },
	[KCP_CIPHER_CAST5] = { "cast5", 16 },
	[KCP_CIPHER_3DES] = { "3des", 24 },
	[KCP_CIPHER_TEA] = { "tea", 16 },
	[KCP_CIPHER_XTEA] = { "xtea", 16 },
	[KCP_CIPHER_SM4] = { "sm4", 16 },
	[KCP_CIPHER_XOR] = { "xor", 32 },
};
/* every uapi cipher id has a name (the ABI only ever adds ids) */
_Static_assert(sizeof(kcp_cipher_names) / sizeof(kcp_cipher_names[0]) ==
	       __KCP_CIPHER_MAX, "kcp_cipher_names[] misses a uapi cipher");

static const char *const kcp_preset_names[] = {
	[KCP_PRESET_NORMAL] = "normal", [KCP_PRESET_FAST] = "fast",
	[KCP_PRESET_FAST2] = "fast2", [KCP_PRESET_FAST3] = "fast3",
};

/* enum kcp_cipher of a --crypt name, or -1 */
static inline int kcp_cipher_by_name(const char *s)
{
	int i;

	for (i = 0; i < __KCP_CIPHER_MAX; i++)
		if (!strcmp(s, kcp_cipher_names[i].name))
			return i;
	return -1;
}

static inline const char *kcp_cipher_name(long v)
{
	return v >= 0 && v < __KCP_CIPHER_MAX ? kcp_cipher_names[v].name : "?";
}

/* enum kcp_preset of a --mode name, or 0 (no preset has 0) */
static inline int kcp_preset_by_name(const char *s)
{
	int i;

	for (i = KCP_PRESET_NORMAL; i <= KCP_PRESET_FAST3; i++)
		if (!strcmp(s, kcp_preset_names[i]))
			return i;
	return 0;
}

#endif /* _KCPCTL_KCPNAMES_H */
