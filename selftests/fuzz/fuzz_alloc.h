/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Force-included (-include) into the kmod/ sources when they are built for
 * the fuzzers: kcp_env.h's userspace allocator calls malloc()/free(), and
 * these macros route exactly those calls (not the harness's own) through
 * the counting allocator of fuzz_common.c. <stdlib.h> comes first so its
 * declarations are not renamed.
 */
#ifndef _KCP_FUZZ_ALLOC_H
#define _KCP_FUZZ_ALLOC_H

#include <stdlib.h>

void *fuzz_malloc(size_t size);
void fuzz_free(void *p);

#define malloc(n)	fuzz_malloc(n)
#define free(p)		fuzz_free(p)

#endif /* _KCP_FUZZ_ALLOC_H */
