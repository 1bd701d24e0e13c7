// SPDX-License-Identifier: GPL-2.0
/*
 * Throughput of the module-implemented ciphers (make bench-crypt; not part
 * of check). Datagrams of kcptun's default mtu, in place, one core. AES
 * through OpenSSL's single-block encrypt shows what the CFB loop itself
 * costs with a fast block cipher behind the callback.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <stdio.h>
#include <time.h>
#include <openssl/aes.h>

#include "kcp_cipher.h"

#define DGRAM		1350
#define TRIAL_SECONDS	0.1
#define TRIALS		5

static u8 key[KCP_XOR_TABLE_LEN];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void aes_enc(void *ctx, u8 *dst, const u8 *src)
{
	AES_encrypt(src, dst, ctx);
}

enum op { OP_ENCRYPT, OP_DECRYPT, OP_SEAL_OPEN };

/* One timed trial of an operation: MB/s. */
static double trial(struct kcp_crypt *c, enum op op)
{
	static u8 buf[DGRAM];
	unsigned long n = 0, batch = 64, i;
	double t0 = now(), t;

	do {
		for (i = 0; i < batch; i++) {
			if (op == OP_ENCRYPT) {
				kcp_crypt_encrypt(c, buf, DGRAM);
			} else if (op == OP_DECRYPT) {
				kcp_crypt_decrypt(c, buf, DGRAM);
			} else {
				kcp_crypt_seal(c, buf, DGRAM, NULL);
				kcp_crypt_open(c, buf, DGRAM);
			}
		}
		n += batch;
		t = now() - t0;
	} while (t < TRIAL_SECONDS);
	return n * (double)DGRAM / t / 1e6;
}

/* Best of a few trials: other load on the machine only slows trials down. */
static double run(struct kcp_crypt *c, enum op op)
{
	double best = 0, r;
	unsigned int i;

	for (i = 0; i < TRIALS; i++) {
		r = trial(c, op);
		if (r > best)
			best = r;
	}
	return best;
}

static void bench(enum kcp_cipher id, kcp_block_enc_fn fn, void *fn_ctx,
		  const char *label)
{
	const struct kcp_cipher_desc *d = kcp_cipher_get(id);
	struct kcp_crypt_cfg cfg = { .id = id, .block_enc = fn,
				     .block_ctx = fn_ctx };
	struct kcp_crypt *c;

	if (d->impl == KCP_IMPL_XOR) {
		cfg.key = key;
		cfg.key_len = KCP_XOR_TABLE_LEN;
	} else if (d->impl != KCP_IMPL_IDENTITY && d->impl != KCP_IMPL_KAPI) {
		cfg.key = key;
		cfg.key_len = d->key_len;
	}
	if (kcp_crypt_alloc(&cfg, true, &c)) {
		printf("%-24s setup failed\n", label);
		return;
	}
	if (d->impl == KCP_IMPL_IDENTITY)	/* nothing but the CRC */
		printf("%-24s %9s %9s %9.1f\n", label, "-", "-",
		       run(c, OP_SEAL_OPEN));
	else
		printf("%-24s %9.1f %9.1f %9.1f\n", label, run(c, OP_ENCRYPT),
		       run(c, OP_DECRYPT), run(c, OP_SEAL_OPEN));
	kcp_crypt_free(c);
}

int main(void)
{
	static const enum kcp_cipher own[] = {
		KCP_CIPHER_NONE, KCP_CIPHER_XOR, KCP_CIPHER_SALSA20, KCP_CIPHER_TEA,
		KCP_CIPHER_XTEA, KCP_CIPHER_SM4,
	};
	AES_KEY aes;
	unsigned int i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (u8)(i * 7 + 1);
	printf("# MB/s, %u-byte datagrams, in place, 1 core, best of %u;\n"
	       "# seal+open = datagram bytes sealed and opened again per s\n",
	       DGRAM, TRIALS);
	printf("%-24s %9s %9s %9s\n", "# cipher", "encrypt", "decrypt",
	       "seal+open");
	for (i = 0; i < ARRAY_SIZE(own); i++)
		bench(own[i], NULL, NULL, kcp_cipher_get(own[i])->name);
	AES_set_encrypt_key(key, 256, &aes);
	bench(KCP_CIPHER_AES, aes_enc, &aes, "aes (OpenSSL block)");
	return 0;
}
