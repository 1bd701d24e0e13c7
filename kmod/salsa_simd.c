// SPDX-License-Identifier: GPL-2.0
/*
 * Salsa20 (kcptun's --crypt salsa20) with the AVX2 code of
 * core/kcp_salsa_x86.h inside a kernel FPU section: two blocks per pass,
 * XORed into the datagram, at about 4 instructions per byte where the C
 * rounds take some 16. The kernel's own salsa20 (generic C, and its x86
 * assembler since 5.1) is gone, and kcp-go's framing is its own anyway.
 *
 * Checked against the C rounds at load: a mismatch leaves it off.
 */
#include <linux/kernel.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/simd.h>

#include "kcp.h"
#include "core/kcp_cipher.h"
#include "core/kcp_salsa_x86.h"

static u32 kcp_salsa20_simd(const u32 *j, u8 *buf, u32 len)
{
	u32 done;

	/* softirq may interrupt a kernel FPU section: the C rounds then */
	if (!len || !may_use_simd())
		return 0;
	kernel_fpu_begin();
	done = kcp_salsa20_avx2_xor(j, buf, len);
	kernel_fpu_end();
	return done;
}

/* Every length to 300 bytes, then every 61st to 1500, against the C rounds. */
static int kcp_salsa20_simd_selftest(void)
{
	struct kcp_crypt_cfg cfg = { .id = KCP_CIPHER_SALSA20, .key_len = 32 };
	const u32 max = KCP_MTU_MAX;
	struct kcp_crypt *c;
	u8 key[32], *a, *b;
	u32 len;
	int err;

	a = kmalloc(2 * max, GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	b = a + max;
	get_random_bytes(key, sizeof(key));
	cfg.key = key;
	err = kcp_crypt_alloc(&cfg, true, &c);
	if (err)
		goto out;
	for (len = 0; len <= max && !err; len += len < 300 ? 1 : 61) {
		get_random_bytes(a, len);
		memcpy(b, a, len);
		kcp_salsa20_set_accel(NULL);
		kcp_crypt_encrypt(c, a, len);
		kcp_salsa20_set_accel(kcp_salsa20_simd);
		kcp_crypt_encrypt(c, b, len);
		if (memcmp(a, b, len))
			err = -EIO;
	}
	kcp_salsa20_set_accel(NULL);
	kcp_crypt_free(c);
out:
	kfree(a);
	memzero_explicit(key, sizeof(key));
	return err;
}

void kcp_salsa20_simd_init(void)
{
	int err;

	if (!boot_cpu_has(X86_FEATURE_AVX2) || !boot_cpu_has(X86_FEATURE_AVX) ||
	    !cpu_has_xfeatures(XFEATURE_MASK_SSE | XFEATURE_MASK_YMM, NULL))
		return;
	err = kcp_salsa20_simd_selftest();
	if (err) {
		pr_warn("kcp: Salsa20 with avx2 failed its self-test (%d): not used\n",
			err);
		return;
	}
	kcp_salsa20_set_accel(kcp_salsa20_simd);
	pr_info("kcp: Salsa20 with avx2\n");
}
