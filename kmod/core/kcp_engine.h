/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KCP ARQ engine with kcp-go v5.6.1 semantics (see
 * Documentation/networking/kcp.rst and the wire spec it cites).
 *
 * It knows nothing about sockets, skbs, timers or locks: the caller
 * serialises all calls on one kcp_cb, passes the clock in through ops,
 * and receives datagrams to transmit through ops. The same file is built
 * into the module and into the userspace unit tests and fuzzers.
 */
#ifndef _KCP_ENGINE_H
#define _KCP_ENGINE_H

#include "kcp_env.h"

#define KCP_OVERHEAD		24	/* segment header bytes */
#define KCP_SN_OFFSET		12

#define KCP_CMD_PUSH		81
#define KCP_CMD_ACK		82
#define KCP_CMD_WASK		83
#define KCP_CMD_WINS		84
/*
 * Session extension (kcp.rst, "Session extension"), spoken only with a
 * peer whose WASK or WINS carried the marker below: kcp-go ignores the
 * ts, sn and frg of those two, and never sends these commands.
 */
#define KCP_CMD_FIN		85	/* end of stream: a PUSH without data */
#define KCP_CMD_RST		86	/* the session is gone */
#define KCP_EXT_MAGIC		0x4b435845u	/* ts of a marked WASK/WINS */
#define KCP_EXT_VERSION		1		/* its frg */

#define KCP_ASK_SEND		1	/* send WASK on the next flush */
#define KCP_ASK_TELL		2	/* send WINS on the next flush */

#define KCP_MTU_DEF		1400
#define KCP_MTU_MIN		50	/* kcp-go SetMtu lower bound */
#define KCP_MTU_MAX		1500	/* kcp-go reads into 1500-byte buffers */
#define KCP_WND_SND		32
#define KCP_WND_RCV		32
#define KCP_WND_MAX		65535	/* wnd is 16 bits on the wire */
#define KCP_RTO_NDL		30
#define KCP_RTO_MIN		100
#define KCP_RTO_DEF		200
#define KCP_RTO_MAX		60000
#define KCP_INTERVAL		100
#define KCP_INTERVAL_MIN	10
#define KCP_INTERVAL_MAX	5000
#define KCP_DEADLINK_DEF		20
#define KCP_THRESH_INIT		2
#define KCP_THRESH_MIN		2
#define KCP_PROBE_INIT		7000
#define KCP_PROBE_LIMIT		120000
#define KCP_FRG_MAX		255	/* segments per message (frg is 8 bits) */

/* kcp_input() error returns, as kcp-go's Input */
#define KCP_IN_ESHORT		(-1)	/* shorter than a header, or conv mismatch */
#define KCP_IN_ELEN		(-2)	/* len beyond the datagram */
#define KCP_IN_ECMD		(-3)	/* unknown cmd */
#define KCP_IN_EUNA		(-4)	/* una beyond what we ever sent */

#define KCP_STATE_DEAD		0xFFFFFFFFu

/* kcp_recv() flags */
#define KCP_RECV_PEEK		0x1	/* copy without consuming */
#define KCP_RECV_MSG		0x2	/* one whole message (frg), rest discarded */

struct kcp_list {
	struct kcp_list *next, *prev;
};

struct kcp_seg {
	struct kcp_list node;
	u32 sn;
	u32 ts;
	u32 resendts;
	u32 rto;
	u32 xmit;
	u32 fastack;
	u16 len;		/* payload bytes in data[] */
	u16 cap;		/* room in data[] (stream mode tops up to mss) */
	u8 frg;
	u8 acked;		/* acked out of order; freed when una passes */
	u8 rcv;			/* charged as received (else as sent) memory */
	u8 fin;			/* KCP_CMD_FIN: end of stream, no data */
	u8 data[];
};

struct kcp_ack {
	u32 sn;
	u32 ts;
};

/* Per-session counters; names follow kcp-go's Snmp. */
enum kcp_stat {
	KCP_STAT_IN_SEGS,
	KCP_STAT_OUT_SEGS,
	KCP_STAT_FAST_RETRANS,
	KCP_STAT_EARLY_RETRANS,
	KCP_STAT_LOST,		/* RTO retransmissions */
	KCP_STAT_REPEAT,	/* duplicate or out-of-window PUSH */
	KCP_STAT_IN_ERRORS,	/* datagrams Input rejected */
	KCP_STAT_NOMEM,		/* segments dropped for lack of memory */
	KCP_STAT_MAX
};

/* Segment events for tracing (ops->seg), see kmod/trace.h. */
enum kcp_seg_event {
	KCP_SEG_SEND = 1,	/* first transmission */
	KCP_SEG_FAST,		/* fast retransmission (resend ACKs) */
	KCP_SEG_EARLY,		/* early retransmission */
	KCP_SEG_RTO,		/* retransmission on timeout */
	KCP_SEG_RECV,		/* PUSH accepted into the receive buffer */
	KCP_SEG_ACK,		/* ACK received */
};

struct kcp_cb;

struct kcp_ops {
	/* Milliseconds on a monotonic clock; wraps at 2^32. */
	u32 (*clock)(struct kcp_cb *kcp);
	/*
	 * Start a datagram: return room for mtu - reserved bytes of KCP
	 * segments (the caller keeps @reserved bytes in front of it for its
	 * crypto/FEC headers), or NULL when no memory: the engine then
	 * carries on as if the datagram had been lost on the wire.
	 */
	u8 *(*dgram_begin)(struct kcp_cb *kcp);
	/* Finish the datagram begun last, holding @len bytes of segments. */
	void (*dgram_end)(struct kcp_cb *kcp, u8 *buf, u32 len);
	/* Optional: mirror counters into the caller's aggregate statistics. */
	void (*stat)(struct kcp_cb *kcp, enum kcp_stat idx, u32 n);
	/*
	 * Optional: charge a segment of @size bytes to the owner's receive
	 * (@rcv) or send memory before it is kept; false refuses it (the
	 * engine then treats it as lost, or fails the send). Every charge
	 * is returned through mem_uncharge() when the segment is freed.
	 */
	bool (*mem_charge)(struct kcp_cb *kcp, bool rcv, u32 size);
	void (*mem_uncharge)(struct kcp_cb *kcp, bool rcv, u32 size);
	/* Optional, called only while kcp_env_trace(): one segment event. */
	void (*seg)(struct kcp_cb *kcp, enum kcp_seg_event ev, u32 sn,
		    u32 len);
};

/*
 * Copy @len bytes between a segment and the caller's buffer (user iovec,
 * test buffer). Returns 0 or a negative errno (-EFAULT).
 */
typedef int (*kcp_copy_t)(void *arg, u8 *seg_data, u32 len);

struct kcp_cb {
	const struct kcp_ops *ops;
	u32 conv, mtu, mss, state;
	u32 snd_una, snd_nxt, rcv_nxt;
	u32 ssthresh;
	s32 rx_rttvar, rx_srtt;
	u32 rx_rto, rx_minrto;
	u32 snd_wnd, rcv_wnd, rmt_wnd, cwnd, probe;
	u32 interval;
	u32 nodelay;
	u32 ts_probe, probe_wait;
	u32 dead_link, incr;
	s32 fastresend;
	u8 nocwnd;
	/*
	 * ACK once a sixteenth of the receive window waits (2..32 segments)
	 * instead of only at the next interval. kcp-go ACKs at the interval
	 * unless ack_nodelay: its sender then refills its window once per
	 * interval, at most rcv_wnd segments per interval (1024 x 1326 B per
	 * 30 ms is 362 Mbit/s). Local policy; the wire does not change.
	 */
	u8 ack_early;
	u8 stream;
	u8 rcv_stream;		/* the reader is a byte stream (SOCK_STREAM) */
	u8 rcv_mid;		/* the last segment queued was not a message end */
	u8 rcv_skip;		/* dropping an undeliverable message up to its end */
	u16 reserved;
	/*
	 * Tests only: reproduce kcp-go even in its unsafe corners (trust an
	 * una beyond snd_nxt; no WASK when acked segments wait for una).
	 */
	u8 exact;
	u32 ts_unstick;		/* see kcp_flush_unstick() */

	u32 nsnd_que, nsnd_buf, nrcv_que, nrcv_buf;
	struct kcp_list snd_queue, snd_buf, rcv_queue, rcv_buf;
	u32 rcv_off;		/* bytes consumed from the rcv_queue head */
	/*
	 * kcp_peeksize() as of the end of the last kcp_input(), kcp_recv()
	 * or kcp_release(): a caller that does not serialise with those
	 * (poll, a wait condition) reads this instead of walking rcv_queue,
	 * which they may be freeing at that moment.
	 */
	s32 peek_size;
	u32 rcv_bytes;		/* unread payload bytes in rcv_queue */
	u32 snd_bytes;		/* payload bytes in snd_queue + snd_buf */

	struct kcp_ack *acklist;
	u32 ackcount, ackcap;

	u32 wins_in;		/* WINS segments received: answers to WASK */

	/* session extension: see KCP_CMD_FIN */
	u8 ext_offer;		/* mark our WASK/WINS */
	u8 ext;			/* version both speak (0: none): FIN, RST */
	u8 fin_sent;		/* FIN queued: nothing more to send */
	u8 fin_rcvd;		/* the peer's FIN arrived in order */
	u8 rst_rcvd;		/* the peer reset the session */

	u64 stats[KCP_STAT_MAX];
};

void kcp_init(struct kcp_cb *kcp, u32 conv, const struct kcp_ops *ops);
/* Free every queued segment and the ACK list; the cb may be re-inited. */
void kcp_release(struct kcp_cb *kcp);
/*
 * The session ended: free all but what the reader may still take (the
 * in-order rcv_queue; kcp_release() frees that), as TCP lets a program
 * read what arrived before a reset or a timeout.
 */
void kcp_end(struct kcp_cb *kcp);
/* Free spare memory of an idle session (the ACK list). */
void kcp_shrink(struct kcp_cb *kcp);

int kcp_set_mtu(struct kcp_cb *kcp, u32 mtu);
int kcp_set_reserved(struct kcp_cb *kcp, u32 reserved);
/* Negative arguments keep the current value, as kcp-go's NoDelay. */
void kcp_set_nodelay(struct kcp_cb *kcp, int nodelay, int interval,
		     int resend, int nc);
void kcp_set_wndsize(struct kcp_cb *kcp, u32 sndwnd, u32 rcvwnd);

/*
 * Queue @len bytes (copied in through @copy). Stream mode tops up the last
 * queued segment first; message mode makes one message of ceil(len/mss)
 * fragments (-EMSGSIZE beyond KCP_FRG_MAX). Returns the number of bytes
 * queued, or a negative errno when none was. The caller enforces windows.
 */
int kcp_send(struct kcp_cb *kcp, u32 len, kcp_copy_t copy, void *arg,
	     bool may_sleep);

/*
 * Queue the end of the stream (session extension only): a FIN segment
 * after everything queued, retransmitted like data until acknowledged.
 * 0, -EPROTO without the extension, or -ENOMEM.
 */
int kcp_send_fin(struct kcp_cb *kcp, bool may_sleep);

/*
 * Send one datagram holding a RST (session extension only), at once.
 * Works on a released engine (time-wait): it only needs conv, snd_nxt
 * and rcv_nxt.
 */
void kcp_send_rst(struct kcp_cb *kcp);

/*
 * A datagram for a session that ended (kept in time-wait): retransmitted
 * data it already received is acknowledged (the peer's last FIN may be
 * waiting for that), data it never will receive is answered with a RST.
 * Returns what it sent: 0, KCP_CMD_ACK or KCP_CMD_RST.
 */
int kcp_timewait_input(struct kcp_cb *kcp, const u8 *data, u32 len);

/*
 * Feed one datagram of KCP segments. @regular is false for segments
 * rebuilt by FEC (they do not update rmt_wnd or the RTT). May call
 * dgram_begin/end (immediate flush when una advanced or ack_nodelay).
 * Returns 0 or KCP_IN_E*.
 */
int kcp_input(struct kcp_cb *kcp, const u8 *data, u32 len, bool regular,
	      bool ack_nodelay);

/*
 * Would kcp_input() accept every segment of this datagram for @conv (its
 * structure only: conv, cmd, len)? Used before a listener creates a
 * session for an unknown peer, so garbage never costs a session.
 */
bool kcp_input_valid(const u8 *data, u32 len, u32 conv);

/* Emit ACKs (and with !ack_only probes, data, retransmissions). Returns
 * the delay in ms after which the next flush is due (<= interval).
 */
u32 kcp_flush(struct kcp_cb *kcp, bool ack_only);

/*
 * Copy out received data. Stream reads (no KCP_RECV_MSG) take up to @len
 * bytes across segments. Message reads take one whole message; *@msglen
 * gets its size and the part beyond @len is discarded. Returns the bytes
 * copied, -EAGAIN when nothing is readable, or the copy's errno.
 */
int kcp_recv(struct kcp_cb *kcp, u32 len, kcp_copy_t copy, void *arg,
	     unsigned int flags, u32 *msglen);

/* Size of the next whole message, or -1 (kcp-go PeekSize). */
int kcp_peeksize(const struct kcp_cb *kcp);

static inline u32 kcp_waitsnd(const struct kcp_cb *kcp)
{
	return kcp->nsnd_buf + kcp->nsnd_que;
}

static inline u32 kcp_wnd_unused(const struct kcp_cb *kcp)
{
	return kcp->nrcv_que < kcp->rcv_wnd ? kcp->rcv_wnd - kcp->nrcv_que : 0;
}

/* Bytes a stream read could return now. */
static inline u32 kcp_readable(const struct kcp_cb *kcp)
{
	return kcp->rcv_bytes;
}

/*
 * True while a flush may have something to do: queued ACKs or probes,
 * unsent or unacknowledged data, or a zero remote window to probe. An
 * idle session needs no timer at all.
 */
static inline bool kcp_busy(const struct kcp_cb *kcp)
{
	return kcp->ackcount || kcp->probe || kcp->nsnd_que ||
	       kcp->nsnd_buf || kcp->rmt_wnd == 0;
}

#endif /* _KCP_ENGINE_H */
