/* SPDX-License-Identifier: GPL-2.0 */
/* GF(2^8)/0x11d tables as lib/reed_solomon's init_rs(8, 0x11d, 0, 1, n). */
#ifndef _KCP_FUZZ_RS_TABLES_H
#define _KCP_FUZZ_RS_TABLES_H

#include "kcp_rs.h"

static inline int fuzz_rs_init(void)
{
	static u16 alpha_to[256], index_of[256];

	if (kcp_rs_ready())
		return 0;
	kcp_rs_make_tables(KCP_RS_GF_POLY, alpha_to, index_of);
	return kcp_rs_init_tables(alpha_to, index_of);
}

#endif /* _KCP_FUZZ_RS_TABLES_H */
