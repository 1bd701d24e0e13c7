/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86-64 AVX2 Salsa20 for kcp_cipher.c's accelerator hook: two blocks
 * per pass, one per 128-bit lane. Each register holds one diagonal of
 * the 4x4 state (A = x0 x5 x10 x15, B = x4 x9 x14 x3, C = x8 x13 x2 x7,
 * D = x12 x1 x6 x11, kcp_salsa20_pair_state()), so the four
 * quarter-rounds of a column round are four lane-wise steps, and a row
 * round is the same steps after VPSHUFD turns B, C, D by one, two and
 * three lanes. VPBLENDD then puts each row of the result back together
 * and VPERM2I128 pairs the rows of a block for the XOR with the data:
 * about 500 instructions per 128 bytes, against some 2000 for the C
 * rounds (AVX2 has no rotate: a shift pair and two XORs).
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

/* counter lanes (x8 of each block) + 2: the next pair */
static const u32 kcp_salsa_ctr2[8] __aligned(32) = { 2, 0, 0, 0, 2, 0, 0, 0 };

/*
 * XOR the keystream of @npairs (> 0) block pairs into @buf, the first
 * pair's state in @st (kcp_salsa20_pair_state(); its counter must not
 * wrap within the run).
 */
static inline void kcp_salsa20_avx2_pairs(const u32 *st, u8 *buf,
					  unsigned long npairs)
{
	unsigned int rounds;

	asm volatile("vmovdqu (%[st]), %%ymm8\n\t"
		     "vmovdqu 32(%[st]), %%ymm9\n\t"
		     "vmovdqu 64(%[st]), %%ymm10\n\t"
		     "vmovdqu 96(%[st]), %%ymm11\n\t"
		     "vmovdqa %[ctr2], %%ymm12\n\t"
		     "2:\n\t"
		     "vmovdqa %%ymm8, %%ymm0\n\t"
		     "vmovdqa %%ymm9, %%ymm1\n\t"
		     "vmovdqa %%ymm10, %%ymm2\n\t"
		     "vmovdqa %%ymm11, %%ymm3\n\t"
		     "mov $10, %[rounds]\n\t"
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
		     "vpaddd %%ymm8, %%ymm0, %%ymm0\n\t"
		     "vpaddd %%ymm9, %%ymm1, %%ymm1\n\t"
		     "vpaddd %%ymm10, %%ymm2, %%ymm2\n\t"
		     "vpaddd %%ymm11, %%ymm3, %%ymm3\n\t"
		     /* rows: x0-3 = A0 D1 C2 B3, x4-7 = B0 A1 D2 C3, ... */
		     "vpblendd $0x22, %%ymm3, %%ymm0, %%ymm6\n\t"
		     "vpblendd $0x44, %%ymm2, %%ymm6, %%ymm6\n\t"
		     "vpblendd $0x88, %%ymm1, %%ymm6, %%ymm6\n\t"
		     "vpblendd $0x22, %%ymm0, %%ymm1, %%ymm7\n\t"
		     "vpblendd $0x44, %%ymm3, %%ymm7, %%ymm7\n\t"
		     "vpblendd $0x88, %%ymm2, %%ymm7, %%ymm7\n\t"
		     "vpblendd $0x22, %%ymm1, %%ymm2, %%ymm4\n\t"
		     "vpblendd $0x44, %%ymm0, %%ymm4, %%ymm4\n\t"
		     "vpblendd $0x88, %%ymm3, %%ymm4, %%ymm4\n\t"
		     "vpblendd $0x22, %%ymm2, %%ymm3, %%ymm5\n\t"
		     "vpblendd $0x44, %%ymm1, %%ymm5, %%ymm5\n\t"
		     "vpblendd $0x88, %%ymm0, %%ymm5, %%ymm5\n\t"
		     /* a block's rows are one lane of each: pair them up */
		     "vperm2i128 $0x20, %%ymm7, %%ymm6, %%ymm0\n\t"
		     "vperm2i128 $0x20, %%ymm5, %%ymm4, %%ymm1\n\t"
		     "vperm2i128 $0x31, %%ymm7, %%ymm6, %%ymm2\n\t"
		     "vperm2i128 $0x31, %%ymm5, %%ymm4, %%ymm3\n\t"
		     "vpxor (%[buf]), %%ymm0, %%ymm0\n\t"
		     "vpxor 32(%[buf]), %%ymm1, %%ymm1\n\t"
		     "vpxor 64(%[buf]), %%ymm2, %%ymm2\n\t"
		     "vpxor 96(%[buf]), %%ymm3, %%ymm3\n\t"
		     "vmovdqu %%ymm0, (%[buf])\n\t"
		     "vmovdqu %%ymm1, 32(%[buf])\n\t"
		     "vmovdqu %%ymm2, 64(%[buf])\n\t"
		     "vmovdqu %%ymm3, 96(%[buf])\n\t"
		     "vpaddd %%ymm12, %%ymm10, %%ymm10\n\t"
		     "add $128, %[buf]\n\t"
		     "dec %[n]\n\t"
		     "jnz 2b\n\t"
		     "vzeroupper"
		     : [rounds] "=&r" (rounds), [buf] "+r" (buf),
		       [n] "+r" (npairs)
		     : [st] "r" (st), [ctr2] "m" (kcp_salsa_ctr2)
		     : "cc", KCP_SALSA_VEC_CLOBBERS);
}

/*
 * The accelerator's work: the keystream of @j from block 0 XORed into
 * all @len bytes, a last partial pair through a copy. In an FPU section.
 */
static inline u32 kcp_salsa20_avx2_xor(const u32 *j, u8 *buf, u32 len)
{
	u32 st[32], n = len / 128, tail = len % 128;
	u8 last[128];

	if (n) {
		kcp_salsa20_pair_state(j, 0, st);
		kcp_salsa20_avx2_pairs(st, buf, n);
	}
	if (tail) {
		kcp_salsa20_pair_state(j, 2 * n, st);
		memcpy(last, buf + 128 * n, tail);
		kcp_salsa20_avx2_pairs(st, last, 1);
		memcpy(buf + 128 * n, last, tail);
		kcp_env_wipe(last, sizeof(last));
	}
	kcp_env_wipe(st, sizeof(st));
	return len;
}

#endif /* _KCP_SALSA_X86_H */
