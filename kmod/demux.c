// SPDX-License-Identifier: GPL-2.0
/*
 * Demultiplexing of a UDP socket's datagrams to KCP sessions, and the
 * listener's accept queue. Like kcp-go, sessions are keyed by the peer's
 * address and port; the conversation id is then checked against the one
 * found. A valid first datagram from an unknown peer makes a child socket
 * (no handshake exists), and a new conv with sn 0 from a known peer
 * replaces the old session, as kcp-go's listener does.
 */
#include <linux/filter.h>
#include <linux/rhashtable.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/sock.h>

#include "compat.h"
#include "kcp.h"

static const struct rhashtable_params kcp_sess_params = {
	.key_len = sizeof(struct kcp_key),
	.key_offset = offsetof(struct kcp_sock, key),
	.head_offset = offsetof(struct kcp_sock, hnode),
	.automatic_shrinking = true,
};

void kcp_key_from_sockaddr(struct kcp_key *key, const union kcp_sockaddr *sa)
{
	memset(key, 0, sizeof(*key));
	key->family = sa->family;
	if (sa->family == AF_INET) {
		key->addr[0] = sa->v4.sin_addr.s_addr;
		key->port = sa->v4.sin_port;
	} else {
		memcpy(key->addr, &sa->v6.sin6_addr, sizeof(key->addr));
		key->port = sa->v6.sin6_port;
	}
}

void kcp_key_to_sockaddr(const struct kcp_key *key, union kcp_sockaddr *sa,
			 sa_family_t af)
{
	memset(sa, 0, sizeof(*sa));
	sa->family = key->family;
	if (key->family == AF_INET) {
		sa->v4.sin_addr.s_addr = key->addr[0];
		sa->v4.sin_port = key->port;
	} else {
		memcpy(&sa->v6.sin6_addr, key->addr, sizeof(key->addr));
		sa->v6.sin6_port = key->port;
	}
}

int kcp_demux_init(struct kcp_tunnel *tun)
{
	return rhashtable_init(&tun->sessions, &kcp_sess_params);
}

void kcp_demux_destroy(struct kcp_tunnel *tun)
{
	/* every session holds a tunnel reference, so the table is empty */
	rhashtable_destroy(&tun->sessions);
}

int kcp_demux_hash(struct kcp_tunnel *tun, struct kcp_sock *ks)
{
	int err;

	err = rhashtable_lookup_insert_fast(&tun->sessions, &ks->hnode,
					   kcp_sess_params);
	if (err)
		return err == -EEXIST ? -EADDRINUSE : err;
	set_bit(KCP_F_HASHED, &ks->flags);
	atomic_inc(&tun->nsessions);
	atomic_inc(&kcp_pernet(tun->net)->nsessions);
	return 0;
}

void kcp_demux_unhash(struct kcp_sock *ks)
{
	struct kcp_tunnel *tun = ks->tun;

	if (!test_and_clear_bit(KCP_F_HASHED, &ks->flags))
		return;
	rhashtable_remove_fast(&tun->sessions, &ks->hnode, kcp_sess_params);
	atomic_dec(&tun->nsessions);
	atomic_dec(&kcp_pernet(tun->net)->nsessions);
}

/* Returns the session with a reference held, or NULL. */
struct kcp_sock *kcp_demux_lookup(struct kcp_tunnel *tun,
				  const struct kcp_key *key)
{
	struct kcp_sock *ks;

	rcu_read_lock();
	ks = rhashtable_lookup(&tun->sessions, key, kcp_sess_params);
	if (ks && !refcount_inc_not_zero(&ks->sk.sk_refcnt))
		ks = NULL;
	rcu_read_unlock();
	return ks;
}

static bool kcp_accept_enqueue(struct kcp_sock *lks, struct kcp_sock *child)
{
	struct sock *lsk = &lks->sk;

	spin_lock(&lks->accept_lock);
	if (test_bit(KCP_F_LISTEN_CLOSED, &lks->flags) ||
	    sk_acceptq_is_full(lsk)) {
		spin_unlock(&lks->accept_lock);
		return false;
	}
	list_add_tail(&child->accept_node, &lks->accept_q);
	sk_acceptq_added(lsk);
	spin_unlock(&lks->accept_lock);
	lsk->sk_data_ready(lsk);
	return true;
}

struct kcp_sock *kcp_accept_dequeue(struct kcp_sock *lks)
{
	struct kcp_sock *child;

	spin_lock_bh(&lks->accept_lock);
	child = list_first_entry_or_null(&lks->accept_q, struct kcp_sock,
					 accept_node);
	if (child) {
		list_del_init(&child->accept_node);
		sk_acceptq_removed(&lks->sk);
	}
	spin_unlock_bh(&lks->accept_lock);
	return child;
}

/* The listener goes away: no new children; unaccepted ones are closed. */
void kcp_listen_stop(struct kcp_sock *lks)
{
	struct kcp_sock *child, *tmp;
	LIST_HEAD(orphans);

	spin_lock_bh(&lks->accept_lock);
	set_bit(KCP_F_LISTEN_CLOSED, &lks->flags);
	list_splice_init(&lks->accept_q, &orphans);
	WRITE_ONCE(lks->sk.sk_ack_backlog, 0);
	spin_unlock_bh(&lks->accept_lock);
	if (lks->tun)
		kcp_tunnel_clear_listener(lks->tun, lks);

	list_for_each_entry_safe(child, tmp, &orphans, accept_node) {
		struct sock *sk = &child->sk;

		list_del_init(&child->accept_node);
		/*
		 * shutdown() calls this with the listener locked: a child is
		 * always locked after its listener (as in accept), never the
		 * other way round, so this nesting is an order, not a cycle.
		 */
		lock_sock_nested(sk, SINGLE_DEPTH_NESTING);
		sock_set_flag(sk, SOCK_DEAD);
		/* never accepted: the peer is reset, as TCP's would be */
		kcp_sk_abort(child);
		release_sock(sk);
		sock_put(sk);
	}
}

/*
 * conv and sn of a datagram's first segment, if it has one (kcp-go), and
 * where its KCP segments start (after a FEC data header).
 */
static bool kcp_peek_conv(const u8 *data, u32 len, u32 *conv, u32 *sn,
			  u32 *off)
{
	u16 flag = kcp_get_le16(data + 4);

	*off = 0;
	if (flag == KCP_FEC_TYPE_DATA || flag == KCP_FEC_TYPE_PARITY) {
		if (flag != KCP_FEC_TYPE_DATA ||
		    len < KCP_FEC_HDR + KCP_OVERHEAD)
			return false;
		*off = KCP_FEC_HDR;
	}
	*conv = kcp_get_le32(data + *off);
	*sn = kcp_get_le32(data + *off + KCP_SN_OFFSET);
	return true;
}

/*
 * Flood control: a token bucket of @rate new sessions per second (a
 * burst of one second's worth) per listening socket; 0 means no limit.
 */
static bool kcp_rate_ok(struct kcp_sock *lks, u32 rate)
{
	u32 now, add;
	bool ok;

	if (!rate)
		return true;
	spin_lock(&lks->accept_lock);
	now = kcp_clock_ms();
	add = (u64)(now - lks->rate_stamp) * rate / 1000;
	if (add) {
		lks->rate_tokens = min(lks->rate_tokens + add, rate);
		lks->rate_stamp = now;
	}
	ok = lks->rate_tokens > 0;
	if (ok)
		lks->rate_tokens--;
	spin_unlock(&lks->accept_lock);
	return ok;
}

static bool kcp_child_allowed(struct kcp_tunnel *tun, struct kcp_sock *lks)
{
	struct kcp_net *kn = kcp_pernet(tun->net);

	if (atomic_read(&kn->nsessions) >= READ_ONCE(kn->sysctl.max_sessions) ||
	    atomic_read(&tun->nsessions) >=
	    READ_ONCE(kn->sysctl.max_listener_sessions)) {
		KCP_INC_STATS(tun->net, KCP_MIB_SESSION_LIMIT);
		return false;
	}
	/* a datagram refused anyway must not spend a token */
	if (sk_acceptq_is_full(&lks->sk)) {
		KCP_INC_STATS(tun->net, KCP_MIB_ACCEPT_OVERFLOW);
		return false;
	}
	if (!kcp_rate_ok(lks, READ_ONCE(kn->sysctl.new_sessions_per_sec))) {
		KCP_INC_STATS(tun->net, KCP_MIB_SESSION_RATE);
		return false;
	}
	return true;
}

/*
 * The child's own address is the one its peer sent to (the listener may
 * be bound to a wildcard): getsockname() reports it and replies leave
 * from it, which matters on a host with several addresses.
 */
static void kcp_child_local(struct kcp_sock *ks, struct sk_buff *skb)
{
	if (ip_hdr(skb)->version == 4)
		ks->local.v4.sin_addr.s_addr = ip_hdr(skb)->daddr;
	else
		ks->local.v6.sin6_addr = ipv6_hdr(skb)->daddr;
}

/* A new peer: make the child, queue it for accept(), hand it the datagram. */
static void kcp_child_rcv(struct kcp_tunnel *tun, struct sk_buff *skb,
			  const struct kcp_key *from, u32 conv, u32 off)
{
	struct kcp_sock *lks = rcu_dereference(tun->listener), *ks;
	struct sock *sk;

	if (!lks) {
		KCP_INC_STATS(tun->net, KCP_MIB_IN_NO_SESSION);
		goto drop;
	}
	/* kcp-go makes a session of any datagram with a conv: not of junk */
	if (!kcp_input_valid(skb->data + off, skb->len - off, conv)) {
		KCP_INC_STATS(tun->net, KCP_MIB_KCP_IN_ERRORS);
		goto drop;
	}
	/* the listener's filter decides over datagrams that would make one */
	if (sk_filter(&lks->sk, skb)) {
		KCP_INC_STATS(tun->net, KCP_MIB_FILTER_DROP);
		goto drop;
	}
	if (!kcp_child_allowed(tun, lks))
		goto drop;
	sk = kcp_sk_clone(lks, GFP_ATOMIC);
	if (!sk) {
		KCP_INC_STATS(tun->net, KCP_MIB_NO_MEM);
		goto drop;
	}
	ks = kcp_sk(sk);
	/* as sk_clone_lock() leaves a TCP child: locked until findable */
	bh_lock_sock(sk);
	kcp_tunnel_get(tun);
	ks->tun = tun;
	ks->key = *from;
	kcp_child_local(ks, skb);
	kcp_key_to_sockaddr(from, &ks->peer, ks->af);
	if (kcp_sk_init_session(ks, conv, GFP_ATOMIC)) {
		KCP_INC_STATS(tun->net, KCP_MIB_NO_MEM);
		goto err_child;
	}
	/*
	 * Ask for the peer's window with our first ACK: kcp-go (and any
	 * KCP) answers a WASK with a WINS, which confirms that the source
	 * of the first datagram exists (kcp_idle_limit()).
	 */
	ks->kcp.probe |= KCP_ASK_SEND;
	kcp_reask_init(ks);
	if (kcp_demux_hash(tun, ks))
		goto err_child;
	bh_unlock_sock(sk);
	/* the accept queue owns the first reference, we use a second */
	sock_hold(sk);
	if (!kcp_accept_enqueue(lks, ks)) {
		sock_put(sk);
		KCP_INC_STATS(tun->net, KCP_MIB_ACCEPT_OVERFLOW);
		bh_lock_sock(sk);
		goto err_child;
	}
	KCP_INC_STATS(tun->net, KCP_MIB_PASSIVE_OPENS);
	kcp_deliver(ks, skb);
	sock_put(sk);
	return;

err_child:
	sock_set_flag(sk, SOCK_DEAD);
	kcp_sk_done(ks, 0);
	bh_unlock_sock(sk);
	sock_put(sk);
drop:
	kfree_skb(skb);
}

/*
 * kcp-go: a known peer sending another conv with sn 0 started over (a
 * restarted client); the old session ends (ECONNRESET here) and a new
 * one takes its place. If the app is using the old socket right now,
 * drop the datagram: the peer retransmits it.
 */
static bool kcp_replace(struct kcp_sock *old)
{
	struct sock *sk = &old->sk;
	bool done = false;

	bh_lock_sock(sk);
	if (!sock_owned_by_user(sk)) {
		kcp_sk_reset(old);
		done = true;
	}
	bh_unlock_sock(sk);
	return done;
}

/* Softirq: one datagram (UDP header pulled) from @from. Consumes @skb. */
void kcp_demux_rcv(struct kcp_tunnel *tun, struct sk_buff *skb,
		   const struct kcp_key *from)
{
	struct kcp_sock *ks;
	u32 conv = 0, sn = 0, off;
	bool known;

	if (!kcp_rx_prepare(tun, skb, from))
		return;
	known = kcp_peek_conv(skb->data, skb->len, &conv, &sn, &off);
	ks = kcp_demux_lookup(tun, from);
	if (ks) {
		bool tomb = READ_ONCE(ks->sk.sk_state) == KCP_CLOSE;

		if (tomb && (!known || conv == ks->kcp.conv)) {
			KCP_INC_STATS(tun->net, KCP_MIB_TIME_WAIT_DROP);
			if (known)
				kcp_sk_timewait_rcv(ks, skb, off);
			kfree_skb(skb);
		} else if (!known || conv == ks->kcp.conv || tun->connected) {
			kcp_deliver(ks, skb);
		} else if (sn == 0 &&
			   kcp_input_valid(skb->data + off, skb->len - off,
					   conv) &&
			   kcp_replace(ks)) {
			KCP_INC_STATS(tun->net, KCP_MIB_SESSION_REPLACED);
			kcp_child_rcv(tun, skb, from, conv, off);
		} else {
			KCP_INC_STATS(tun->net, KCP_MIB_KCP_IN_ERRORS);
			kfree_skb(skb);
		}
		sock_put(&ks->sk);
		return;
	}
	if (known && !tun->connected) {
		kcp_child_rcv(tun, skb, from, conv, off);
		return;
	}
	KCP_INC_STATS(tun->net, KCP_MIB_IN_NO_SESSION);
	kfree_skb(skb);
}
