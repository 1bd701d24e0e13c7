// SPDX-License-Identifier: GPL-2.0
/* kcptun key derivation with OpenSSL's PBKDF2; see kcpkey.h. */
#include <limits.h>
#include <string.h>
#include <openssl/evp.h>

#include "kcpkey.h"
#include "kcpnames.h"

/* kcptun's SALT constant and kcp-go's salt for the xor pad. */
static const char kcptun_salt[] = "kcp-go";
static const char kcptun_xor_salt[] = "sH3CIVoF#rWLtJo6";

int kcptun_derive_bytes(const void *key, size_t key_len,
			unsigned char out[KCPTUN_PASS_LEN])
{
	/* OpenSSL wants a non-NULL password pointer even for length 0 */
	static const char empty[1];

	if (key_len > INT_MAX)
		return -1;
	if (!PKCS5_PBKDF2_HMAC_SHA1(key_len ? key : empty, (int)key_len,
				    (const unsigned char *)kcptun_salt,
				    (int)strlen(kcptun_salt), 4096,
				    KCPTUN_PASS_LEN, out))
		return -1;
	return 0;
}

int kcptun_derive(const char *key, unsigned char out[KCPTUN_PASS_LEN])
{
	return kcptun_derive_bytes(key, strlen(key), out);
}

int kcptun_xor_table(const unsigned char pass[KCPTUN_PASS_LEN],
		     unsigned char out[KCPTUN_XOR_TABLE_LEN])
{
	if (!PKCS5_PBKDF2_HMAC_SHA1((const char *)pass, KCPTUN_PASS_LEN,
				    (const unsigned char *)kcptun_xor_salt,
				    (int)strlen(kcptun_xor_salt), 32,
				    KCPTUN_XOR_TABLE_LEN, out))
		return -1;
	return 0;
}

int kcptun_crypto(int cipher, const char *key, struct kcp_crypto *kc)
{
	unsigned char pass[KCPTUN_PASS_LEN];

	if (cipher < 0 || cipher >= __KCP_CIPHER_MAX || kcptun_derive(key, pass))
		return -1;
	memset(kc, 0, sizeof(*kc));
	kc->cipher = cipher;
	kc->key_len = kcp_cipher_names[cipher].key_len;
	memcpy(kc->key, pass, kc->key_len);
	return 0;
}
