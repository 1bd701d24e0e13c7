// SPDX-License-Identifier: GPL-2.0
/* The module's tracepoints (trace.h) are instantiated here. */
#include "kcp.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

int kcp_trace_users;

/* kcp:kcp_segment enabled or disabled: the engine checks this count. */
int kcp_trace_reg(void)
{
	WRITE_ONCE(kcp_trace_users, kcp_trace_users + 1);
	return 0;
}

void kcp_trace_unreg(void)
{
	WRITE_ONCE(kcp_trace_users, kcp_trace_users - 1);
}

void kcp_trace_seg(struct kcp_cb *kcp, enum kcp_seg_event ev, u32 sn, u32 len)
{
	trace_kcp_segment(&kcp_from_cb(kcp)->sk, kcp->conv, ev, sn, len);
}

void kcp_trace_session(struct sock *sk, u32 conv, bool up, int err)
{
	trace_kcp_session(sk, conv, up, err);
}
