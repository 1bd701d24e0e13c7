// SPDX-License-Identifier: GPL-2.0
/*
 * Reed-Solomon's inner loop, dst (^)= c * src over GF(2^8), with the
 * x86 byte-shuffle loops of core/kcp_rs_x86.h (AVX2, else SSSE3) inside
 * a kernel FPU section. Every FEC datagram sent folds into each parity
 * shard, so with kcptun's 10/3 that is three passes over every byte
 * sent, at about three instructions per byte with the tables of kcp_rs.c
 * and 0.4 with AVX2. lib/raid6 does the same for RAID-6.
 *
 * Checked against the table code at load: a mismatch leaves it off.
 */
#include <linux/kernel.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/simd.h>

#include "kcp.h"
#include "core/kcp_rs.h"
#include "core/kcp_rs_x86.h"

static size_t (*kcp_rs_simd_loop)(u8 *dst, const u8 *src, size_t len,
				  const u8 *nib, bool add);

static size_t kcp_rs_simd(u8 *dst, const u8 *src, size_t len, const u8 *nib,
			  bool add)
{
	size_t done;

	/* softirq may interrupt a kernel FPU section: the tables then */
	if (!may_use_simd())
		return 0;
	kernel_fpu_begin();
	done = kcp_rs_simd_loop(dst, src, len, nib, add);
	kernel_fpu_end();
	return done;
}

/*
 * Both ways (set and add), every coefficient, odd lengths and offsets,
 * against the table code; 0 when they agree.
 */
static int kcp_rs_simd_selftest(void)
{
	const size_t len = 1400;
	u8 *src, *a, *b;
	unsigned int c;
	int err = 0;

	src = kmalloc(3 * len, GFP_KERNEL);
	if (!src)
		return -ENOMEM;
	a = src + len;
	b = a + len;
	get_random_bytes(src, len);
	for (c = 0; c < 256 && !err; c++) {
		size_t off = c % 7, n = len - off - c % 29;
		bool add = c & 1;

		get_random_bytes(a, len);
		memcpy(b, a, len);
		kcp_rs_set_accel(NULL);
		if (add)
			kcp_rs_mul_add(a + off, src + off, n, c);
		else
			kcp_rs_mul_set(a + off, src + off, n, c);
		kcp_rs_set_accel(kcp_rs_simd);
		if (add)
			kcp_rs_mul_add(b + off, src + off, n, c);
		else
			kcp_rs_mul_set(b + off, src + off, n, c);
		if (memcmp(a, b, len))
			err = -EIO;
	}
	kcp_rs_set_accel(NULL);
	kfree(src);
	return err;
}

void kcp_rs_simd_init(void)
{
	const char *name = "avx2";

	if (boot_cpu_has(X86_FEATURE_AVX2) && boot_cpu_has(X86_FEATURE_AVX) &&
	    cpu_has_xfeatures(XFEATURE_MASK_SSE | XFEATURE_MASK_YMM, NULL)) {
		kcp_rs_simd_loop = kcp_rs_avx2_loop;
	} else if (boot_cpu_has(X86_FEATURE_SSSE3)) {
		kcp_rs_simd_loop = kcp_rs_ssse3_loop;
		name = "ssse3";
	} else {
		return;
	}
	if (kcp_rs_simd_selftest()) {
		pr_warn("kcp: Reed-Solomon %s differs from the tables: not used\n",
			name);
		return;
	}
	kcp_rs_set_accel(kcp_rs_simd);
	pr_info("kcp: Reed-Solomon with %s\n", name);
}
