// SPDX-License-Identifier: GPL-2.0
/*
 * The test hooks of kcp_env_impl.h (userspace side of kmod/core/kcp_env.h),
 * linked into every unit test and fuzzer.
 */
#include "kcp_env.h"

/* < 0: never fail; n >= 0: the (n+1)th allocation from now fails */
long kcp_env_fail_after = -1;
bool kcp_env_trace_on;
