/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86-64 loops for kcp_rs.h's accelerated dst (^)= c * src: c * x is the
 * XOR of c's products with the low and the high nibble of x
 * (kcp_rs_nibbles()), and PSHUFB looks up 16 (SSSE3) or 32 (AVX2) bytes
 * of each per instruction. The table loop costs about three instructions
 * per byte; these about 0.8 (SSSE3) and 0.4 (AVX2).
 *
 * No headers: the module wraps them in kernel_fpu_begin()/end()
 * (kmod/rs_simd.c), the unit tests call them directly. Each loop is one
 * asm statement, so no vector register lives across compiler-generated
 * code. The kernel is built without SSE/AVX code generation and does not
 * name vector registers in clobber lists (lib/raid6 does the same);
 * userspace defines KCP_RS_VEC_CLOBBERS as "memory" and the registers.
 */
#ifndef _KCP_RS_X86_H
#define _KCP_RS_X86_H

#ifndef KCP_RS_VEC_CLOBBERS
#define KCP_RS_VEC_CLOBBERS	"memory"
#endif

static const u8 kcp_rs_low4[32] __aligned(32) = {
	0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
	0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
	0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
	0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
};

/* ymm5: 0x0f bytes, ymm6/ymm7: the low/high nibble tables in both lanes */
#define KCP_RS_AVX2_SETUP						\
	"vbroadcasti128 (%[nib]), %%ymm6\n\t"				\
	"vbroadcasti128 16(%[nib]), %%ymm7\n\t"				\
	"vmovdqa %[low4], %%ymm5\n\t"

/* ymm0 = c * 32 bytes at (src) */
#define KCP_RS_AVX2_MUL							\
	"vmovdqu (%[src]), %%ymm0\n\t"					\
	"vpsrlw $4, %%ymm0, %%ymm1\n\t"					\
	"vpand %%ymm5, %%ymm0, %%ymm0\n\t"				\
	"vpand %%ymm5, %%ymm1, %%ymm1\n\t"				\
	"vpshufb %%ymm0, %%ymm6, %%ymm0\n\t"				\
	"vpshufb %%ymm1, %%ymm7, %%ymm1\n\t"				\
	"vpxor %%ymm1, %%ymm0, %%ymm0\n\t"

#define KCP_RS_LOOP_END(step)						\
	"add $" #step ", %[src]\n\t"					\
	"add $" #step ", %[dst]\n\t"					\
	"sub $" #step ", %[n]\n\t"					\
	"jnz 1b\n\t"

/* The loop with @fold between the product and the store. */
#define KCP_RS_AVX2_LOOP(fold)						\
do {									\
	asm volatile(KCP_RS_AVX2_SETUP					\
		     "1:\n\t"						\
		     KCP_RS_AVX2_MUL					\
		     fold						\
		     "vmovdqu %%ymm0, (%[dst])\n\t"			\
		     KCP_RS_LOOP_END(32)				\
		     "vzeroupper"					\
		     : [src] "+r" (src), [dst] "+r" (dst), [n] "+r" (n)	\
		     : [nib] "r" (nib), [low4] "m" (kcp_rs_low4)	\
		     : "cc", KCP_RS_VEC_CLOBBERS);			\
} while (0)

/* Returns the bytes done: @len rounded down to 32. */
static inline size_t kcp_rs_avx2_loop(u8 *dst, const u8 *src, size_t len,
				      const u8 *nib, bool add)
{
	size_t n = len & ~(size_t)31, done = n;

	if (!n)
		return 0;
	if (add)
		KCP_RS_AVX2_LOOP("vpxor (%[dst]), %%ymm0, %%ymm0\n\t");
	else
		KCP_RS_AVX2_LOOP("");
	return done;
}

/* xmm3 = c * 16 bytes at (src); SSE memory operands must be aligned */
#define KCP_RS_SSSE3_SETUP						\
	"movdqu (%[nib]), %%xmm6\n\t"					\
	"movdqu 16(%[nib]), %%xmm7\n\t"					\
	"movdqa %[low4], %%xmm5\n\t"

#define KCP_RS_SSSE3_MUL						\
	"movdqu (%[src]), %%xmm0\n\t"					\
	"movdqa %%xmm0, %%xmm1\n\t"					\
	"psrlw $4, %%xmm1\n\t"						\
	"pand %%xmm5, %%xmm0\n\t"					\
	"pand %%xmm5, %%xmm1\n\t"					\
	"movdqa %%xmm6, %%xmm2\n\t"					\
	"pshufb %%xmm0, %%xmm2\n\t"					\
	"movdqa %%xmm7, %%xmm3\n\t"					\
	"pshufb %%xmm1, %%xmm3\n\t"					\
	"pxor %%xmm2, %%xmm3\n\t"

/* The loop with @fold between the product (xmm3) and the store. */
#define KCP_RS_SSSE3_LOOP(fold)						\
do {									\
	asm volatile(KCP_RS_SSSE3_SETUP					\
		     "1:\n\t"						\
		     KCP_RS_SSSE3_MUL					\
		     fold						\
		     "movdqu %%xmm3, (%[dst])\n\t"			\
		     KCP_RS_LOOP_END(16)				\
		     : [src] "+r" (src), [dst] "+r" (dst), [n] "+r" (n)	\
		     : [nib] "r" (nib), [low4] "m" (kcp_rs_low4)	\
		     : "cc", KCP_RS_VEC_CLOBBERS);			\
} while (0)

/* Returns the bytes done: @len rounded down to 16. */
static inline size_t kcp_rs_ssse3_loop(u8 *dst, const u8 *src, size_t len,
				       const u8 *nib, bool add)
{
	size_t n = len & ~(size_t)15, done = n;

	if (!n)
		return 0;
	if (add)
		KCP_RS_SSSE3_LOOP("movdqu (%[dst]), %%xmm4\n\t"
				  "pxor %%xmm4, %%xmm3\n\t");
	else
		KCP_RS_SSSE3_LOOP("");
	return done;
}

#endif /* _KCP_RS_X86_H */
