/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kcptun 20210922 key derivation, done in userspace (the module gets only
 * the results): the 32-byte "pass" every cipher is keyed from, and the
 * 1500-byte pad of the "xor" cipher, and the KCP_CRYPTO option built from
 * them. Uses OpenSSL's PBKDF2.
 */
#ifndef _KCPCTL_KCPKEY_H
#define _KCPCTL_KCPKEY_H

#include <stddef.h>

struct kcp_crypto;

#define KCPTUN_PASS_LEN		32
#define KCPTUN_XOR_TABLE_LEN	1500

/* pass = PBKDF2-HMAC-SHA1(key, "kcp-go", 4096, 32); 0 or -1 */
int kcptun_derive(const char *key, unsigned char out[KCPTUN_PASS_LEN]);
/* Same for a key that is not a C string (may contain NUL bytes). */
int kcptun_derive_bytes(const void *key, size_t key_len,
			unsigned char out[KCPTUN_PASS_LEN]);
/* pad = PBKDF2-HMAC-SHA1(pass, "sH3CIVoF#rWLtJo6", 32, 1500); 0 or -1 */
int kcptun_xor_table(const unsigned char pass[KCPTUN_PASS_LEN],
		     unsigned char out[KCPTUN_XOR_TABLE_LEN]);

/* KCP_CRYPTO's argument for @cipher keyed from kcptun's --key; 0 or -1 */
int kcptun_crypto(int cipher, const char *key, struct kcp_crypto *kc);

#endif /* _KCPCTL_KCPKEY_H */
