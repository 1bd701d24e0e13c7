/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints: kcp:kcp_session (a session starts or ends) and
 * kcp:kcp_segment (a segment sent, retransmitted, received or acked).
 * The segment tracepoint costs one load while disabled: registering a probe
 * raises kcp_trace_users, which the engine tests before it calls ops->seg.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kcp

#if !defined(_KCP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KCP_TRACE_H

#include <linux/tracepoint.h>
#include <net/sock.h>

int kcp_trace_reg(void);
void kcp_trace_unreg(void);

TRACE_EVENT(kcp_session,
	TP_PROTO(const struct sock *sk, u32 conv, bool up, int err),
	TP_ARGS(sk, conv, up, err),
	TP_STRUCT__entry(
		__field(const void *, sk)
		__field(u32, conv)
		__field(bool, up)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->sk = sk;
		__entry->conv = conv;
		__entry->up = up;
		__entry->err = err;
	),
	TP_printk("sk=%p conv=%08x %s err=%d", __entry->sk, __entry->conv,
		  __entry->up ? "create" : "destroy", __entry->err)
);

TRACE_EVENT_FN(kcp_segment,
	TP_PROTO(const struct sock *sk, u32 conv, int event, u32 sn, u32 len),
	TP_ARGS(sk, conv, event, sn, len),
	TP_STRUCT__entry(
		__field(const void *, sk)
		__field(u32, conv)
		__field(int, event)
		__field(u32, sn)
		__field(u32, len)
	),
	TP_fast_assign(
		__entry->sk = sk;
		__entry->conv = conv;
		__entry->event = event;
		__entry->sn = sn;
		__entry->len = len;
	),
	TP_printk("sk=%p conv=%08x %s sn=%u len=%u", __entry->sk,
		  __entry->conv,
		  __print_symbolic(__entry->event,
				   { KCP_SEG_SEND, "send" },
				   { KCP_SEG_FAST, "fast-retransmit" },
				   { KCP_SEG_EARLY, "early-retransmit" },
				   { KCP_SEG_RTO, "rto-retransmit" },
				   { KCP_SEG_RECV, "recv" },
				   { KCP_SEG_ACK, "ack" }),
		  __entry->sn, __entry->len),
	kcp_trace_reg, kcp_trace_unreg
);

#endif /* _KCP_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
