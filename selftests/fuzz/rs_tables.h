/* SPDX-License-Identifier: GPL-2.0 */
/* GF(2^8)/0x11d tables as lib/reed_solomon's init_rs(8, 0x11d, 0, 1, n). */
#ifndef _KCP_FUZZ_RS_TABLES_H
#define _KCP_FUZZ_RS_TABLES_H

#include "kcp_rs.h"

static inline int fuzz_rs_init(void)
{
	static u16 alpha_to[256], index_of[256];
	unsigned int i, sr = 1;

	if (kcp_rs_ready())
		return 0;
	index_of[0] = 255;
	alpha_to[255] = 0;
	for (i = 0; i < 255; i++) {
		index_of[sr] = i;
		alpha_to[i] = sr;
		sr <<= 1;
		if (sr & 0x100)
			sr ^= 0x11d;
		sr &= 0xff;
	}
	return kcp_rs_init_tables(alpha_to, index_of);
}

#endif /* _KCP_FUZZ_RS_TABLES_H */
