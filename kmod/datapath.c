// SPDX-License-Identifier: GPL-2.0
/*
 * The datagram path between the UDP socket and the engine:
 *   receive: datagram -> decrypt -> FEC decode -> engine input
 *   send:    engine -> skb -> FEC encode -> encrypt -> UDP
 * The engine writes segments straight into the skb that goes out, and a
 * received datagram is parsed in place: the one copy is into the
 * engine's receive queue.
 */
#include <linux/filter.h>
#include <linux/skbuff.h>
#include <net/sock.h>

#include "compat.h"
#include "kcp.h"

static const u8 kcp_stat_mib[KCP_STAT_MAX] = {
	[KCP_STAT_IN_SEGS] = KCP_MIB_IN_SEGS,
	[KCP_STAT_OUT_SEGS] = KCP_MIB_OUT_SEGS,
	[KCP_STAT_FAST_RETRANS] = KCP_MIB_FAST_RETRANS_SEGS,
	[KCP_STAT_EARLY_RETRANS] = KCP_MIB_EARLY_RETRANS_SEGS,
	[KCP_STAT_LOST] = KCP_MIB_LOST_SEGS,
	[KCP_STAT_REPEAT] = KCP_MIB_REPEAT_SEGS,
	[KCP_STAT_IN_ERRORS] = KCP_MIB_KCP_IN_ERRORS,
	[KCP_STAT_NOMEM] = KCP_MIB_NO_MEM,
};

static void kcp_op_stat(struct kcp_cb *kcp, enum kcp_stat idx, u32 n)
{
	struct net *net = sock_net(&kcp_from_cb(kcp)->sk);

	KCP_ADD_STATS(net, kcp_stat_mib[idx], n);
	/* kcp-go's RetransSegs is the sum of the three kinds */
	if (idx == KCP_STAT_FAST_RETRANS || idx == KCP_STAT_EARLY_RETRANS ||
	    idx == KCP_STAT_LOST)
		KCP_ADD_STATS(net, KCP_MIB_RETRANS_SEGS, n);
}

static u32 kcp_op_clock(struct kcp_cb *kcp)
{
	return kcp_clock_ms();
}

/* Bytes in front of the KCP segments: crypto header, then FEC header. */
u32 kcp_sk_header_len(const struct kcp_sock *ks)
{
	u32 len = 0;

	if (ks->opts.cipher != KCP_CIPHER_NULL)
		len += KCP_CRYPT_HDR_LEN;
	if (ks->opts.fec_data && ks->opts.fec_parity)
		len += KCP_FEC_HDR;
	return len;
}

static u8 *kcp_op_dgram_begin(struct kcp_cb *kcp)
{
	struct kcp_sock *ks = kcp_from_cb(kcp);
	u32 head = kcp_tunnel_headroom() + kcp->reserved;
	struct sk_buff *skb;

	kcp_sk_assert_locked(ks);
	skb = alloc_skb(head + kcp->mtu - kcp->reserved, GFP_ATOMIC);
	if (!skb) {
		KCP_INC_STATS(sock_net(&ks->sk), KCP_MIB_NO_MEM);
		return NULL;
	}
	skb_reserve(skb, head);
	ks->tx_skb = skb;
	return skb->data;
}

/* Encrypt (if the socket has a cipher) and send one datagram. */
static void kcp_xmit_one(struct kcp_sock *ks, struct sk_buff *skb)
{
	/* set before the session could send, by the socket's own thread */
	struct kcp_crypto_ctx *crypt = READ_ONCE(ks->tun->crypt);
	struct net *net = sock_net(&ks->sk);

	if (crypt)
		kcp_crypto_seal(crypt, skb);
	ks->st.out_pkts++;
	KCP_INC_STATS(net, KCP_MIB_OUT_PKTS);
	KCP_ADD_STATS(net, KCP_MIB_OUT_BYTES, skb->len);
	kcp_tunnel_xmit(ks, skb);
}

/* Engine output: FEC encode, then encrypt, as kcp-go's output(). */
static void kcp_output(struct kcp_sock *ks, struct sk_buff *skb)
{
	struct sk_buff_head parity;
	struct sk_buff *p;

	__skb_queue_head_init(&parity);
	if (ks->fec) {
		skb_push(skb, KCP_FEC_HDR);
		kcp_fec_output(ks, skb, &parity);
	}
	kcp_xmit_one(ks, skb);
	while ((p = __skb_dequeue(&parity)))
		kcp_xmit_one(ks, p);
}

static void kcp_op_dgram_end(struct kcp_cb *kcp, u8 *buf, u32 len)
{
	struct kcp_sock *ks = kcp_from_cb(kcp);
	struct sk_buff *skb = ks->tx_skb;

	ks->tx_skb = NULL;
	skb_put(skb, len);
	kcp_output(ks, skb);
}

const struct kcp_ops kcp_engine_ops = {
	.clock = kcp_op_clock,
	.dgram_begin = kcp_op_dgram_begin,
	.dgram_end = kcp_op_dgram_end,
	.stat = kcp_op_stat,
	.mem_charge = kcp_mem_charge,
	.mem_uncharge = kcp_mem_uncharge,
	.seg = kcp_trace_seg,
};

/* Decrypt before demux, as kcp-go does: one cipher per UDP socket. */
static bool kcp_rx_decrypt(struct kcp_tunnel *tun,
			   const struct kcp_crypto_ctx *crypt,
			   struct sk_buff *skb, const struct kcp_key *from)
{
	struct kcp_sock *ks;
	int err = kcp_crypto_open(crypt, skb);

	if (!err)
		return true;
	if (err == -EBADMSG) {
		KCP_INC_STATS(tun->net, KCP_MIB_IN_CSUM_ERRORS);
		ks = kcp_demux_lookup(tun, from);
		if (ks) {
			WRITE_ONCE(ks->st.crypto_errors,
				   ks->st.crypto_errors + 1);
			sock_put(&ks->sk);
		}
	} else {
		KCP_INC_STATS(tun->net, err == -ENOMEM ? KCP_MIB_NO_MEM :
			      KCP_MIB_IN_TRUNCATED);
	}
	return false;
}

/*
 * Softirq, before demux: size checks, a linear writable buffer, and the
 * tunnel-wide decryption. Returns false when the skb was dropped.
 */
bool kcp_rx_prepare(struct kcp_tunnel *tun, struct sk_buff *skb,
		    const struct kcp_key *from)
{
	/* pairs with the release in kcp_sk_crypto(): a whole context */
	const struct kcp_crypto_ctx *crypt = smp_load_acquire(&tun->crypt);

	/* kcp-go reads into 1500-byte buffers; a longer datagram is bogus */
	if (skb->len > KCP_MTU_MAX) {
		KCP_INC_STATS(tun->net, KCP_MIB_IN_OVERSIZE);
		goto drop;
	}
	if (skb_linearize(skb)) {
		KCP_INC_STATS(tun->net, KCP_MIB_NO_MEM);
		goto drop;
	}
	if (crypt && !kcp_rx_decrypt(tun, crypt, skb, from))
		goto drop;
	if (skb->len < KCP_OVERHEAD) {
		KCP_INC_STATS(tun->net, KCP_MIB_IN_TRUNCATED);
		goto drop;
	}
	return true;
drop:
	kfree_skb(skb);
	return false;
}

static int kcp_copy_discard(void *arg, u8 *data, u32 len)
{
	return 0;
}

/*
 * Nobody will read what reaches a closed socket: consume it so the
 * window stays open and the peer's own close can finish. Returns whether
 * there was any (with the session extension, TCP's answer: a RST).
 */
bool kcp_sk_discard_rx(struct kcp_sock *ks)
{
	bool any = false;

	kcp_sk_assert_locked(ks);
	while (kcp_recv(&ks->kcp, U32_MAX, kcp_copy_discard, NULL,
			ks->sk.sk_type == SOCK_SEQPACKET ? KCP_RECV_MSG : 0,
			NULL) >= 0)
		any = true;
	return any;
}

/* After input or a read: wake waiters, arm the timer, notice death. */
static void kcp_sk_after_rx(struct kcp_sock *ks)
{
	struct sock *sk = &ks->sk;

	if (unlikely(ks->kcp.rst_rcvd)) {
		KCP_INC_STATS(sock_net(sk), KCP_MIB_IN_RST);
		kcp_sk_done(ks, sk->sk_state == KCP_SYN_SENT ? ECONNREFUSED :
			    ECONNRESET);
		return;
	}
	if (sock_flag(sk, SOCK_DEAD) && kcp_sk_discard_rx(ks) &&
	    ks->kcp.ext) {
		kcp_sk_abort(ks);
		return;
	}
	if (ks->kcp.fin_rcvd)
		kcp_sk_fin_rcvd(ks);
	if (ks->kcp.state == KCP_STATE_DEAD) {
		KCP_INC_STATS(sock_net(&ks->sk), KCP_MIB_DEAD_LINK);
		kcp_sk_done(ks, ETIMEDOUT);
		return;
	}
	kcp_sk_wake(ks);
	/*
	 * A WASK of a peer that speaks the extension is connect() or a
	 * keepalive waiting: answer now, not on the interval's grid.
	 */
	if ((ks->kcp.probe & KCP_ASK_TELL) && ks->kcp.ext)
		kcp_sk_flush_now(ks);
	else if (kcp_busy(&ks->kcp))
		kcp_timer_kick(ks);
}

/* The session's part of receive. Socket locked (owner or bh). */
int kcp_sk_rcv(struct kcp_sock *ks, struct sk_buff *skb)
{
	struct net *net = sock_net(&ks->sk);
	const u8 *data = skb->data;
	u32 len = skb->len;
	u64 in_segs;
	u16 flag;

	kcp_sk_assert_locked(ks);
	if (!kcp_sk_running(ks->sk.sk_state)) {
		kfree_skb(skb);
		return 0;
	}
	ks->st.in_pkts++;
	KCP_INC_STATS(net, KCP_MIB_IN_PKTS);
	KCP_ADD_STATS(net, KCP_MIB_IN_BYTES, len);
	ks->last_rx = kcp_clock_ms();
	ks->ka_sent = 0;
	kcp_opts_sync_rcvbuf(ks);
	in_segs = ks->kcp.stats[KCP_STAT_IN_SEGS];
	flag = kcp_get_le16(data + 4);
	if (flag == KCP_FEC_TYPE_DATA || flag == KCP_FEC_TYPE_PARITY)
		kcp_fec_input(ks, data, len);
	else
		kcp_input(&ks->kcp, data, len, true, ks->opts.ack_nodelay);
	consume_skb(skb);
	/* any segment the engine took answers connect() */
	if (unlikely(ks->sk.sk_state == KCP_SYN_SENT) && !ks->kcp.rst_rcvd &&
	    ks->kcp.stats[KCP_STAT_IN_SEGS] != in_segs)
		kcp_sk_syn_done(ks);
	/* an answer to our WASK, or an ACK of our data: a peer that hears us */
	if (unlikely(!test_bit(KCP_F_CONFIRMED, &ks->flags)) &&
	    (ks->kcp.wins_in || ks->kcp.snd_una))
		set_bit(KCP_F_CONFIRMED, &ks->flags);
	kcp_sk_after_rx(ks);
	return 0;
}

int kcp_backlog_rcv(struct sock *sk, struct sk_buff *skb)
{
	return kcp_sk_rcv(kcp_sk(sk), skb);
}

/* Hand a datagram to its session now, or to the backlog if user-owned. */
void kcp_deliver(struct kcp_sock *ks, struct sk_buff *skb)
{
	struct sock *sk = &ks->sk;
	unsigned int limit;

	/*
	 * SO_ATTACH_FILTER and friends of the AF_KCP socket see each of its
	 * datagrams (the KCP segments, decrypted) and may drop it.
	 */
	if (sk_filter(sk, skb)) {
		KCP_INC_STATS(sock_net(sk), KCP_MIB_FILTER_DROP);
		kfree_skb(skb);
		return;
	}
	bh_lock_sock(sk);
	if (!sock_owned_by_user(sk)) {
		kcp_sk_rcv(ks, skb);
		bh_unlock_sock(sk);
		return;
	}
	skb_dst_drop(skb);
	/*
	 * While the user holds the socket, the peer may still have a whole
	 * receive window in flight: the backlog takes that much (as skbs of
	 * this size), or the socket buffers if they are larger. A smaller
	 * limit turns every long copy to user space into losses that the
	 * sender has to repair.
	 */
	limit = max_t(unsigned int,
		      READ_ONCE(sk->sk_rcvbuf) + READ_ONCE(sk->sk_sndbuf),
		      ks->kcp.rcv_wnd * skb->truesize) + 65536;
	if (sk_add_backlog(sk, skb, limit)) {
		bh_unlock_sock(sk);
		KCP_INC_STATS(sock_net(sk), KCP_MIB_BACKLOG_DROP);
		kfree_skb(skb);
		return;
	}
	bh_unlock_sock(sk);
}
