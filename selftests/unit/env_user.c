// SPDX-License-Identifier: GPL-2.0
/* Userspace side of kmod/kcp_env.h, linked into every unit test. */
#include "kcp_env.h"

/* < 0: never fail; n >= 0: the (n+1)th allocation from now fails */
long kcp_env_fail_after = -1;
bool kcp_env_trace_on;
