/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86-64 AVX2 core for kcp_salsa20_pairs() (kcp_cipher.h): Salsa20/20 of
 * two blocks at once, one per 128-bit lane. Each register holds one
 * diagonal of the 4x4 state (A = x0 x5 x10 x15, B = x4 x9 x14 x3,
 * C = x8 x13 x2 x7, D = x12 x1 x6 x11), so the four quarter-rounds of a
 * column round are four lane-wise steps, and a row round is the same
 * steps after VPSHUFD turns B, C, D by one, two and three lanes. About
 * 460 instructions for 128 bytes of keystream, against some 2000 for the
 * C rounds (SSE and AVX2 have no rotate: a shift pair and two XORs).
 *
 * No headers: the module runs it inside kernel_fpu_begin()/end()
 * (kmod/salsa_simd.c), the unit tests call it directly. One asm
 * statement, so no vector register lives across compiler-generated code;
 * the kernel does not name vector registers in clobber lists (see
 * kcp_rs_x86.h), userspace defines KCP_SALSA_VEC_CLOBBERS with them.
 */
#ifndef _KCP_SALSA_X86_H
#define _KCP_SALSA_X86_H

#ifndef KCP_SALSA_VEC_CLOBBERS
#define KCP_SALSA_VEC_CLOBBERS	"memory"
#endif

/*
 * The quarter-round on diagonals a, b, c, d: b ^= (a + d) <<< 7,
 * c ^= (b + a) <<< 9, d ^= (c + b) <<< 13, a ^= (d + c) <<< 18, with
 * ymm4 and ymm5 as scratch.
 */
#define KCP_SALSA_QR(a, b, c, d)					\
	"vpaddd %%" a ", %%" d ", %%ymm4\n\t"				\
	"vpslld $7, %%ymm4, %%ymm5\n\t"					\
	"vpsrld $25, %%ymm4, %%ymm4\n\t"				\
	"vpxor %%ymm5, %%" b ", %%" b "\n\t"				\
	"vpxor %%ymm4, %%" b ", %%" b "\n\t"				\
	"vpaddd %%" b ", %%" a ", %%ymm4\n\t"				\
	"vpslld $9, %%ymm4, %%ymm5\n\t"					\
	"vpsrld $23, %%ymm4, %%ymm4\n\t"				\
	"vpxor %%ymm5, %%" c ", %%" c "\n\t"				\
	"vpxor %%ymm4, %%" c ", %%" c "\n\t"				\
	"vpaddd %%" c ", %%" b ", %%ymm4\n\t"				\
	"vpslld $13, %%ymm4, %%ymm5\n\t"				\
	"vpsrld $19, %%ymm4, %%ymm4\n\t"				\
	"vpxor %%ymm5, %%" d ", %%" d "\n\t"				\
	"vpxor %%ymm4, %%" d ", %%" d "\n\t"				\
	"vpaddd %%" d ", %%" c ", %%ymm4\n\t"				\
	"vpslld $18, %%ymm4, %%ymm5\n\t"				\
	"vpsrld $14, %%ymm4, %%ymm4\n\t"				\
	"vpxor %%ymm5, %%" a ", %%" a "\n\t"				\
	"vpxor %%ymm4, %%" a ", %%" a "\n\t"

/*
 * st: A, B, C, D, each 8 words (block 0's four lanes, then block 1's),
 * replaced by the 20 rounds plus the input, in the same layout.
 */
static inline void kcp_salsa20_avx2_core2(u32 *st)
{
	unsigned int rounds = 10;

	asm volatile("vmovdqu (%[st]), %%ymm0\n\t"
		     "vmovdqu 32(%[st]), %%ymm1\n\t"
		     "vmovdqu 64(%[st]), %%ymm2\n\t"
		     "vmovdqu 96(%[st]), %%ymm3\n\t"
		     "1:\n\t"
		     /* column round */
		     KCP_SALSA_QR("ymm0", "ymm1", "ymm2", "ymm3")
		     /* rows: b = x1 x6 x11 x12, c = x2 x7 x8 x13, d = x3 x4 x9 x14 */
		     "vpshufd $0x39, %%ymm3, %%ymm3\n\t"
		     "vpshufd $0x4e, %%ymm2, %%ymm2\n\t"
		     "vpshufd $0x93, %%ymm1, %%ymm1\n\t"
		     KCP_SALSA_QR("ymm0", "ymm3", "ymm2", "ymm1")
		     /* and back to the diagonals */
		     "vpshufd $0x93, %%ymm3, %%ymm3\n\t"
		     "vpshufd $0x4e, %%ymm2, %%ymm2\n\t"
		     "vpshufd $0x39, %%ymm1, %%ymm1\n\t"
		     "dec %[rounds]\n\t"
		     "jnz 1b\n\t"
		     "vpaddd (%[st]), %%ymm0, %%ymm0\n\t"
		     "vpaddd 32(%[st]), %%ymm1, %%ymm1\n\t"
		     "vpaddd 64(%[st]), %%ymm2, %%ymm2\n\t"
		     "vpaddd 96(%[st]), %%ymm3, %%ymm3\n\t"
		     "vmovdqu %%ymm0, (%[st])\n\t"
		     "vmovdqu %%ymm1, 32(%[st])\n\t"
		     "vmovdqu %%ymm2, 64(%[st])\n\t"
		     "vmovdqu %%ymm3, 96(%[st])\n\t"
		     "vzeroupper"
		     : [rounds] "+r" (rounds)
		     : [st] "r" (st)
		     : "cc", KCP_SALSA_VEC_CLOBBERS);
}

#endif /* _KCP_SALSA_X86_H */
