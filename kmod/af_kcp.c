// SPDX-License-Identifier: GPL-2.0
/*
 * AF_KCP sockets: the proto_ops a program sees. Locking follows TCP: user
 * calls own the socket with lock_sock(); softirq receive and the flush
 * timer take bh_lock_sock() and defer to the backlog / release_cb when the
 * user owns it. Nothing here sends anything on the wire by itself except
 * through the engine. kcp-go has no handshake, FIN or RST; between two
 * AF_KCP endpoints the session extension (kcp.rst) adds end-of-file and
 * reset, and connect() waits for the peer's first answer.
 */
#include <linux/module.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <asm/ioctls.h>
#include <linux/sockios.h>
#include <crypto/algapi.h>
#include <net/sock.h>
#include <net/inet_common.h>
#include <net/netns/generic.h>

#include "compat.h"
#include "kcp.h"

static int kcp_family_nr = -1;

static void kcp_write_space(struct sock *sk);

static bool kcp_session_state(const struct sock *sk)
{
	int state = READ_ONCE(sk->sk_state);

	return state == KCP_ESTABLISHED || state == KCP_LINGER;
}

/* Segments the app may still queue: kcp-go's Write window. */
static int kcp_send_room(const struct kcp_sock *ks)
{
	const struct kcp_cb *kcp = &ks->kcp;
	u32 wnd = min(READ_ONCE(kcp->snd_wnd), READ_ONCE(kcp->rmt_wnd));
	int room = (int)wnd - (int)kcp_waitsnd(kcp);

	/* and what SO_SNDBUF still holds (charged memory, mem.c) */
	return min(room, kcp_mem_snd_room(ks));
}

/*
 * Lockless (poll, the first test of a wait condition): only published
 * scalars, never the receive queue that recvmsg or softirq may be
 * freeing at this moment.
 */
static bool kcp_readable_now(const struct kcp_sock *ks)
{
	if (ks->sk.sk_type == SOCK_SEQPACKET)
		return READ_ONCE(ks->kcp.peek_size) >= 0;
	return READ_ONCE(ks->kcp.rcv_bytes) > 0;
}

/* Wake readers and writers after the engine moved data. */
void kcp_sk_wake(struct kcp_sock *ks)
{
	struct sock *sk = &ks->sk;

	if (kcp_readable_now(ks))
		sk->sk_data_ready(sk);
	if (kcp_send_room(ks) > 0)
		sk->sk_write_space(sk);
}

static void kcp_write_space(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_sync_poll(&wq->wait, EPOLLOUT |
						EPOLLWRNORM | EPOLLWRBAND);
	if (wq && test_and_clear_bit(SOCKWQ_ASYNC_NOSPACE, &wq->flags))
		sock_wake_async(wq, SOCK_WAKE_SPACE, POLL_OUT);
	rcu_read_unlock();
}

/*
 * A listener's child that ends stays in the session table for
 * timewait_ms as a tombstone, like TCP's TIME_WAIT: kcp-go would make a
 * fresh session out of the peer's late ACKs and retransmissions, which
 * an application would then accept as a phantom connection. A new
 * conversation (another conv with sn 0) still replaces it at once.
 */
static bool kcp_sk_timewait(struct kcp_sock *ks)
{
	u32 ms = READ_ONCE(kcp_pernet(sock_net(&ks->sk))->sysctl.timewait_ms);

	if (!ms || !ks->tun || ks->tun->connected ||
	    !test_bit(KCP_F_HASHED, &ks->flags))
		return false;
	kcp_timer_after(ks, ms);
	return true;
}

/*
 * Terminal state of a session. Runs with the socket locked (owner or bh).
 * Idempotent; the socket memory itself goes with the last reference.
 */
static void __kcp_sk_done(struct kcp_sock *ks, int err, bool timewait)
{
	struct sock *sk = &ks->sk;
	int old = sk->sk_state;

	kcp_sk_assert_locked(ks);
	if (old == KCP_CLOSE)
		return;
	if (err) {
		WRITE_ONCE(sk->sk_err, err);
		sk_error_report(sk);
	}
	kcp_set_state(sk, KCP_CLOSE);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	if (test_and_clear_bit(KCP_F_ORPHAN_LINGER, &ks->flags))
		atomic_dec(&kcp_pernet(sock_net(sk))->orphans);
	kcp_trace_session(sk, ks->kcp.conv, false, err);
	kcp_timer_stop(ks);
	if (!timewait || !kcp_sk_timewait(ks))
		kcp_demux_unhash(ks);
	/* what arrived in order stays readable, then the error (TCP) */
	if (sock_flag(sk, SOCK_DEAD))
		kcp_release(&ks->kcp);
	else
		kcp_end(&ks->kcp);
	if (kcp_sk_running(old) && ks->tun)
		atomic_dec(&kcp_pernet(sock_net(sk))->curr_estab);
	if (!sock_flag(sk, SOCK_DEAD))
		sk->sk_state_change(sk);
}

void kcp_sk_done(struct kcp_sock *ks, int err)
{
	__kcp_sk_done(ks, err, true);
}

/* The peer started over: end now and free the key for the new session. */
void kcp_sk_reset(struct kcp_sock *ks)
{
	__kcp_sk_done(ks, ECONNRESET, false);
	kcp_timer_stop(ks);
	kcp_demux_unhash(ks);
}

/* Softirq or owner: the peer answered connect()'s WASK. */
void kcp_sk_syn_done(struct kcp_sock *ks)
{
	struct sock *sk = &ks->sk;

	kcp_sk_assert_locked(ks);
	set_bit(KCP_F_SYN_DONE, &ks->flags);
	kcp_set_state(sk, KCP_ESTABLISHED);
	sk->sk_state_change(sk);
	kcp_sk_wake(ks);
}

/* The peer's FIN came in order: reads end once the data before it is read. */
void kcp_sk_fin_rcvd(struct kcp_sock *ks)
{
	struct sock *sk = &ks->sk;

	kcp_sk_assert_locked(ks);
	if (sk->sk_shutdown & RCV_SHUTDOWN)
		return;
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | RCV_SHUTDOWN);
	sk->sk_state_change(sk);
	sk->sk_data_ready(sk);
}

/* End now with a RST to the peer (only sent if it speaks the extension). */
void kcp_sk_abort(struct kcp_sock *ks)
{
	if (ks->kcp.ext) {
		kcp_send_rst(&ks->kcp);
		KCP_INC_STATS(sock_net(&ks->sk), KCP_MIB_OUT_RST);
	}
	kcp_sk_done(ks, 0);
}

/*
 * A datagram for a session in time-wait (softirq): acknowledge the
 * peer's retransmitted FIN, answer new data with a RST, at most one
 * answer per 100 ms. Only to a peer that speaks the extension.
 */
void kcp_sk_timewait_rcv(struct kcp_sock *ks, struct sk_buff *skb, u32 off)
{
	struct sock *sk = &ks->sk;
	u32 now = kcp_clock_ms();

	bh_lock_sock(sk);
	if (sk->sk_state == KCP_CLOSE && ks->kcp.ext &&
	    !sock_owned_by_user(sk) && (s32)(now - ks->rst_at) >= 100) {
		int sent = kcp_timewait_input(&ks->kcp, skb->data + off,
					      skb->len - off);

		if (sent)
			ks->rst_at = now;
		if (sent == KCP_CMD_RST)
			KCP_INC_STATS(sock_net(sk), KCP_MIB_OUT_RST);
	}
	bh_unlock_sock(sk);
}

static void kcp_sk_destruct(struct sock *sk)
{
	struct kcp_sock *ks = kcp_sk(sk);

	kcp_sock_unregister(ks);
	kcp_release(&ks->kcp);
	kcp_fec_detach(ks);	/* uncharges the decoder's memory */
	kcp_mem_sock_destroy(sk);
	kfree_skb(ks->tx_skb);
	sk_dst_reset(sk);
	if (ks->tun)
		kcp_tunnel_put(ks->tun);
	memzero_explicit(ks->opts.key, sizeof(ks->opts.key));
}

/* Common setup of user-created and listener-created (@parent) sockets. */
static void kcp_sk_setup(struct sock *sk, int type, const struct sock *parent)
{
	struct kcp_sock *ks = kcp_sk(sk);

	sk->sk_type = type;
	sk->sk_protocol = IPPROTO_KCP;
	sk->sk_backlog_rcv = kcp_backlog_rcv;
	sk->sk_destruct = kcp_sk_destruct;
	sk->sk_write_space = kcp_write_space;
	/* lookups run under RCU and take a reference if it is not zero */
	sock_set_flag(sk, SOCK_RCU_FREE);
	/*
	 * Writers wait for send room (kcp_send_room()), not for the
	 * datagrams it owns in flight (kcp_tunnel_xmit()) to be freed: no
	 * sk_write_space() call for each of those.
	 */
	sock_set_flag(sk, SOCK_USE_WRITE_QUEUE);
	ks->flags = 0;
	ks->asks = KCP_REASK_MAX;	/* only a listener's child asks again */
	ks->ka_sent = 0;
	ks->rst_at = kcp_clock_ms() - 1000;
	ks->tun = NULL;
	ks->tx_skb = NULL;
	ks->fec = NULL;
	memset(&ks->st, 0, sizeof(ks->st));
	INIT_LIST_HEAD(&ks->accept_node);
	INIT_LIST_HEAD(&ks->accept_q);
	spin_lock_init(&ks->accept_lock);
	kcp_timer_init(ks);
	kcp_init(&ks->kcp, 0, &kcp_engine_ops);
	kcp_mem_sock_init(sk, parent);
}

/* A session starts talking: engine configured, counted, conv chosen. */
int kcp_sk_init_session(struct kcp_sock *ks, u32 conv, gfp_t gfp)
{
	struct kcp_net *kn = kcp_pernet(sock_net(&ks->sk));
	int cur;

	if (kcp_fec_attach(ks, gfp))
		return -ENOMEM;
	ks->kcp.conv = conv;
	kcp_opts_apply(ks);
	ks->last_rx = kcp_clock_ms();
	kcp_set_state(&ks->sk, KCP_ESTABLISHED);
	/* a session that never hears from its peer still times out */
	kcp_timer_idle(ks);
	kcp_trace_session(&ks->sk, conv, true, 0);
	cur = atomic_inc_return(&kn->curr_estab);
	if (cur > atomic_read(&kn->max_conn))
		atomic_set(&kn->max_conn, cur);
	return 0;
}

/* The UDP socket's cipher, keyed in process context before any traffic. */
static int kcp_sk_crypto(struct kcp_sock *ks)
{
	struct kcp_tunnel *tun = ks->tun;
	int err = 0;

	/* an adopted UDP socket keeps its sessions' cipher: it must match */
	if (tun->keyed)
		return tun->cipher == ks->opts.cipher &&
		       !crypto_memneq(tun->key, ks->opts.key, KCP_KEY_MAX) ?
		       0 : -EADDRINUSE;
	if (ks->opts.cipher != KCP_CIPHER_NULL) {
		struct kcp_crypto_ctx *ctx;

		err = kcp_crypto_new(&ks->opts, &ctx);
		if (err)
			return err;
		/*
		 * The receive hook is live since bind(): it must see the
		 * context whole, and it reads the pointer locklessly.
		 */
		smp_store_release(&tun->crypt, ctx);
	}
	tun->keyed = true;
	tun->cipher = ks->opts.cipher;
	memcpy(tun->key, ks->opts.key, KCP_KEY_MAX);
	return 0;
}

static int kcp_create(struct net *net, struct socket *sock, int protocol,
		      int kern);

static int kcp_sockaddr_check(struct kcp_sock *ks,
			      struct sockaddr_unsized *uaddr, int len,
			      union kcp_sockaddr *sa)
{
	if (len < (int)sizeof(sa_family_t))
		return -EINVAL;
	switch (uaddr->sa_family) {
	case AF_INET:
		if (len < (int)sizeof(struct sockaddr_in))
			return -EINVAL;
		memcpy(&sa->v4, uaddr, sizeof(sa->v4));
		break;
	case AF_INET6:
		if (!IS_ENABLED(CONFIG_IPV6))
			return -EAFNOSUPPORT;
		if (len < SIN6_LEN_RFC2133)
			return -EINVAL;
		memset(&sa->v6, 0, sizeof(sa->v6));
		memcpy(&sa->v6, uaddr, min_t(int, len, sizeof(sa->v6)));
		break;
	default:
		return -EAFNOSUPPORT;
	}
	/* one socket, one address family: the first bind/connect decides */
	if (ks->af && ks->af != sa->family)
		return -EAFNOSUPPORT;
	return 0;
}

static int kcp_bind(struct socket *sock, struct sockaddr_unsized *uaddr,
		    int len)
{
	struct sock *sk = sock->sk;
	struct kcp_sock *ks = kcp_sk(sk);
	union kcp_sockaddr sa;
	int err;

	lock_sock(sk);
	err = kcp_sockaddr_check(ks, uaddr, len, &sa);
	if (err)
		goto out;
	err = -EINVAL;
	if (ks->tun || sk->sk_state != KCP_CLOSE)
		goto out;
	/* the UDP port is taken now, so a clash is EADDRINUSE here */
	err = 0;
	if (sk->sk_reuse)
		ks->tun = kcp_tunnel_adopt(sock_net(sk), sk, &sa);
	if (!ks->tun)
		err = kcp_tunnel_create(sock_net(sk), sk, &sa, &ks->tun);
	if (err)
		goto out;
	ks->af = sa.family;
	kcp_tunnel_local(ks->tun, &ks->local);
out:
	release_sock(sk);
	return err;
}

/* connect() up to the first WASK on the wire. Socket locked. */
static int kcp_connect_start(struct socket *sock, union kcp_sockaddr *sa)
{
	struct sock *sk = sock->sk;
	struct kcp_sock *ks = kcp_sk(sk);
	union kcp_sockaddr local;
	struct kcp_tunnel *tun;
	u32 delay;
	int err;

	if (sk->sk_state != KCP_CLOSE)
		return -EISCONN;
	if ((sa->family == AF_INET && !sa->v4.sin_port) ||
	    (sa->family == AF_INET6 && !sa->v6.sin6_port))
		return -ECONNREFUSED;
	if (!ks->tun) {
		memset(&local, 0, sizeof(local));
		local.family = sa->family;
		err = kcp_tunnel_create(sock_net(sk), sk, &local, &ks->tun);
		if (err)
			return err;
	}
	tun = ks->tun;
	err = kcp_sk_crypto(ks);
	if (err)
		return err;
	/* a connected UDP socket: only the peer's datagrams and ICMP */
	err = kcp_tunnel_connect(tun, sa);
	if (err)
		return err;
	ks->af = sa->family;
	kcp_tunnel_local(tun, &ks->local);
	ks->peer = *sa;
	kcp_key_from_sockaddr(&ks->key, sa);
	if (!test_bit(KCP_F_CONV_SET, &ks->flags))
		ks->kcp.conv = get_random_u32();
	/* the user chose this peer: never expired as unconfirmed */
	set_bit(KCP_F_CONFIRMED, &ks->flags);
	err = kcp_sk_init_session(ks, ks->kcp.conv, GFP_KERNEL);
	if (err)
		return err;
	err = kcp_demux_hash(tun, ks);
	if (err) {
		kcp_sk_done(ks, 0);
		return err;
	}
	KCP_INC_STATS(sock_net(sk), KCP_MIB_ACTIVE_OPENS);
	/*
	 * A WASK now: its answer completes connect(), and it shows the
	 * peer our extension marker. Its sn is 0, so a kcp-go listener that
	 * still knows our address under an older conv starts over. Without
	 * the wait, nothing goes out before the first write, as kcp-go's
	 * Dial: the listener's first WASK and our WINS show the markers.
	 */
	if (ks->opts.connect_ms) {
		kcp_set_state(sk, KCP_SYN_SENT);
		kcp_syn_init(ks);
	}
	delay = kcp_flush(&ks->kcp, false);
	if (kcp_busy(&ks->kcp))
		kcp_timer_after(ks, delay);
	else
		kcp_timer_idle(ks);
	return 0;
}

/* A wait may go on: 0, or why not (non-blocking, a signal). */
static int kcp_may_wait(long timeo)
{
	if (!timeo)
		return -EAGAIN;
	if (signal_pending(current))
		return sock_intr_errno(timeo);
	return 0;
}

/* Until the peer answered, or connect() failed: 0, or why we stopped. */
static int kcp_wait_connect(struct sock *sk, long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int err = 0;

	add_wait_queue(sk_sleep(sk), &wait);
	while (sk->sk_state == KCP_SYN_SENT) {
		err = kcp_may_wait(*timeo);
		if (err)
			break;
		sk_wait_event(sk, timeo, sk->sk_state != KCP_SYN_SENT, &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

/* The socket layer's view after a non-blocking connect() completed. */
static void kcp_sync_connected(struct socket *sock)
{
	if (sock->state == SS_CONNECTING &&
	    test_bit(KCP_F_SYN_DONE, &kcp_sk(sock->sk)->flags))
		sock->state = SS_CONNECTED;
}

/*
 * As TCP's __inet_stream_connect(): EINPROGRESS for a non-blocking
 * socket (POLLOUT or POLLERR and SO_ERROR tell the outcome), EALREADY
 * while one is pending, the error once it failed.
 */
static int kcp_connect(struct socket *sock, struct sockaddr_unsized *uaddr,
		       int len, int flags)
{
	struct sock *sk = sock->sk;
	struct kcp_sock *ks = kcp_sk(sk);
	union kcp_sockaddr sa;
	long timeo;
	int err;

	lock_sock(sk);
	kcp_sync_connected(sock);
	switch (sock->state) {
	case SS_CONNECTED:
		err = -EISCONN;
		goto out;
	case SS_CONNECTING:
		err = -EALREADY;
		break;
	case SS_UNCONNECTED:
		err = kcp_sockaddr_check(ks, uaddr, len, &sa);
		if (err)
			goto out;
		err = kcp_connect_start(sock, &sa);
		if (err)
			goto out;
		sock->state = SS_CONNECTING;
		err = -EINPROGRESS;
		break;
	default:
		err = -EINVAL;
		goto out;
	}
	if (sk->sk_state == KCP_SYN_SENT) {
		timeo = sock_sndtimeo(sk, flags & O_NONBLOCK);
		if (!timeo)
			goto out;
		err = kcp_wait_connect(sk, &timeo);
		/* SO_SNDTIMEO passed: still connecting, as TCP says */
		if (err == -EAGAIN)
			err = -EINPROGRESS;
		if (err)
			goto out;
	}
	if (sk->sk_state == KCP_CLOSE) {
		err = sock_error(sk) ?: -ECONNABORTED;
		sock->state = SS_DISCONNECTING;
		goto out;
	}
	sock->state = SS_CONNECTED;
	err = 0;
out:
	release_sock(sk);
	return err;
}

static int kcp_listen(struct socket *sock, int backlog)
{
	struct sock *sk = sock->sk;
	struct kcp_sock *ks = kcp_sk(sk);
	union kcp_sockaddr any;
	int err = -EINVAL;

	lock_sock(sk);
	if (sock->state != SS_UNCONNECTED)
		goto out;
	if (sk->sk_state == KCP_LISTEN) {
		WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
		err = 0;
		goto out;
	}
	if (sk->sk_state != KCP_CLOSE)
		goto out;
	if (!ks->tun) {
		memset(&any, 0, sizeof(any));
		any.family = ks->af ? ks->af : AF_INET;
		err = kcp_tunnel_create(sock_net(sk), sk, &any, &ks->tun);
		if (err)
			goto out;
		ks->af = any.family;
		kcp_tunnel_local(ks->tun, &ks->local);
	}
	err = kcp_sk_crypto(ks);
	if (err)
		goto out;
	WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
	sk->sk_ack_backlog = 0;
	clear_bit(KCP_F_LISTEN_CLOSED, &ks->flags);
	kcp_set_state(sk, KCP_LISTEN);
	err = kcp_tunnel_set_listener(ks->tun, ks);
	if (err) {
		kcp_set_state(sk, KCP_CLOSE);
		goto out;
	}
	ks->tun->was_listener = true;
out:
	release_sock(sk);
	return err;
}

static int kcp_wait_accept(struct sock *sk, long *timeo)
{
	struct kcp_sock *ks = kcp_sk(sk);
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int err = 0;

	add_wait_queue(sk_sleep(sk), &wait);
	while (list_empty_careful(&ks->accept_q)) {
		if (sk->sk_state != KCP_LISTEN) {
			err = -EINVAL;
			break;
		}
		err = kcp_may_wait(*timeo);
		if (err)
			break;
		sk_wait_event(sk, timeo, !list_empty_careful(&ks->accept_q) ||
			      sk->sk_state != KCP_LISTEN, &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

static int kcp_accept(struct socket *sock, struct socket *newsock,
		      struct proto_accept_arg *arg)
{
	struct sock *sk = sock->sk;
	struct kcp_sock *child;
	long timeo;
	int err;

	lock_sock(sk);
	err = -EINVAL;
	if (sk->sk_state != KCP_LISTEN)
		goto out;
	timeo = sock_rcvtimeo(sk, arg->flags & O_NONBLOCK);
	for (;;) {
		child = kcp_accept_dequeue(kcp_sk(sk));
		if (child)
			break;
		err = kcp_wait_accept(sk, &timeo);
		if (err)
			goto out;
	}
	release_sock(sk);
	/* as inet_accept(): the child is locked after the listener */
	lock_sock(&child->sk);
	sock_graft(&child->sk, newsock);
	newsock->state = SS_CONNECTED;
	release_sock(&child->sk);
	return 0;
out:
	release_sock(sk);
	return err;
}

KCP_ACCEPT_ADAPTER(kcp_accept)

static int kcp_getname(struct socket *sock, struct sockaddr *uaddr, int peer)
{
	struct kcp_sock *ks = kcp_sk(sock->sk);
	union kcp_sockaddr sa;
	int len;

	lock_sock(&ks->sk);
	kcp_sync_connected(sock);
	if (peer) {
		if (!ks->tun || ks->sk.sk_state == KCP_LISTEN ||
		    sock->state != SS_CONNECTED) {
			release_sock(&ks->sk);
			return -ENOTCONN;
		}
		sa = ks->peer;
	} else if (ks->tun) {
		sa = ks->local;
	} else {
		memset(&sa, 0, sizeof(sa));
		sa.family = ks->af ? ks->af : AF_INET;
	}
	release_sock(&ks->sk);
	len = sa.family == AF_INET6 ? sizeof(sa.v6) : sizeof(sa.v4);
	memcpy(uaddr, &sa, len);
	return len;
}

static __poll_t kcp_poll(struct file *file, struct socket *sock,
			 poll_table *wait)
{
	struct sock *sk = sock->sk;
	struct kcp_sock *ks = kcp_sk(sk);
	int state = READ_ONCE(sk->sk_state);
	u8 shutdown = READ_ONCE(sk->sk_shutdown);
	__poll_t mask = 0;

	sock_poll_wait(file, sock, wait);
	if (state == KCP_LISTEN)
		return list_empty_careful(&ks->accept_q) ? 0 :
		       EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(sk->sk_err))
		mask |= EPOLLERR;
	if (shutdown == SHUTDOWN_MASK || state == KCP_CLOSE)
		mask |= EPOLLHUP;
	if (shutdown & RCV_SHUTDOWN)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if (state != KCP_SYN_SENT && kcp_readable_now(ks))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (kcp_session_state(sk) && !(shutdown & SEND_SHUTDOWN)) {
		if (kcp_send_room(ks) > 0) {
			mask |= EPOLLOUT | EPOLLWRNORM;
		} else {
			sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
			/* re-check after setting NOSPACE, as TCP does */
			smp_mb__after_atomic();
			if (kcp_send_room(ks) > 0)
				mask |= EPOLLOUT | EPOLLWRNORM;
		}
	}
	return mask;
}

static int kcp_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg)
{
	struct kcp_sock *ks = kcp_sk(sock->sk);
	int val;

	switch (cmd) {
	case SIOCINQ:
		lock_sock(&ks->sk);
		val = ks->sk.sk_type == SOCK_SEQPACKET ?
		      max(kcp_peeksize(&ks->kcp), 0) : (int)ks->kcp.rcv_bytes;
		release_sock(&ks->sk);
		break;
	case SIOCOUTQ:
		val = (int)READ_ONCE(ks->kcp.snd_bytes);
		break;
	default:
		return -ENOIOCTLCMD;
	}
	return put_user(val, (int __user *)arg);
}

static void kcp_sk_push(struct kcp_sock *ks);

static int kcp_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk;
	struct kcp_sock *ks = kcp_sk(sk);
	int err = 0;

	/* SHUT_RD=0 .. SHUT_RDWR=2 map to RCV_SHUTDOWN=1 .. SHUTDOWN_MASK=3 */
	how++;
	if ((how & ~SHUTDOWN_MASK) || !how)
		return -EINVAL;
	lock_sock(sk);
	if (sk->sk_state == KCP_LISTEN && (how & RCV_SHUTDOWN)) {
		/* like TCP: shutting a listener down wakes accept() */
		kcp_listen_stop(kcp_sk(sk));
		kcp_set_state(sk, KCP_CLOSE);
		sk->sk_state_change(sk);
		goto out;
	}
	kcp_sync_connected(sock);
	if (sock->state != SS_CONNECTED) {
		err = -ENOTCONN;
		goto out;
	}
	/*
	 * The end of our stream: a FIN after the data queued, to a peer that
	 * speaks the extension. kcp-go has no FIN: then nothing goes on the
	 * wire.
	 */
	if ((how & SEND_SHUTDOWN) && !(sk->sk_shutdown & SEND_SHUTDOWN) &&
	    kcp_session_state(sk) && ks->kcp.ext) {
		err = kcp_send_fin(&ks->kcp, true);
		if (err)
			goto out;
		kcp_sk_push(ks);
	}
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | how);
	sk->sk_state_change(sk);
out:
	release_sock(sk);
	return err;
}

/* Wait until the app may queue more, or an error/shutdown ends the wait. */
static int kcp_wait_room(struct sock *sk, long *timeo)
{
	struct kcp_sock *ks = kcp_sk(sk);
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int err = 0;

	add_wait_queue(sk_sleep(sk), &wait);
	for (;;) {
		if (sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN) ||
		    !kcp_session_state(sk) || kcp_send_room(ks) > 0)
			break;
		err = kcp_may_wait(*timeo);
		if (err)
			break;
		sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
		set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		sk_wait_event(sk, timeo, sk->sk_err ||
			      (sk->sk_shutdown & SEND_SHUTDOWN) ||
			      !kcp_session_state(sk) ||
			      kcp_send_room(ks) > 0, &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

/*
 * net.kcp.mem or the memory cgroup refused a segment although the send
 * buffer has room: as TCP's sk_stream_wait_memory(), wait a little (an
 * ACK may free memory sooner and wakes us) and try again.
 */
static int kcp_wait_mem(struct sock *sk, long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	long slice = min_t(long, *timeo, HZ / 10 + 1), left = slice;
	int err = kcp_may_wait(*timeo);

	if (err)
		return err;
	add_wait_queue(sk_sleep(sk), &wait);
	sk_wait_event(sk, &left, sk->sk_err ||
		      (sk->sk_shutdown & SEND_SHUTDOWN) ||
		      !kcp_session_state(sk), &wait);
	remove_wait_queue(sk_sleep(sk), &wait);
	if (*timeo != MAX_SCHEDULE_TIMEOUT)
		*timeo -= slice - left;
	return 0;
}

static int kcp_copy_from_msg(void *arg, u8 *dst, u32 len)
{
	struct msghdr *msg = arg;

	return copy_from_iter_full(dst, len, &msg->msg_iter) ? 0 : -EFAULT;
}

static int kcp_copy_to_msg(void *arg, u8 *src, u32 len)
{
	struct msghdr *msg = arg;

	return copy_to_iter(src, len, &msg->msg_iter) == len ? 0 : -EFAULT;
}

/* After the app queued data: flush now unless KCP_WRITE_DELAY. */
static void kcp_sk_push(struct kcp_sock *ks)
{
	u32 delay;

	sock_owned_by_me(&ks->sk);
	if (ks->opts.write_delay) {
		kcp_timer_kick(ks);
		return;
	}
	delay = kcp_flush(&ks->kcp, false);
	if (kcp_busy(&ks->kcp))
		kcp_timer_after(ks, delay);
	if (ks->kcp.state == KCP_STATE_DEAD)
		kcp_sk_tick(ks);
}

static int kcp_send_check(struct sock *sk)
{
	int err = sock_error(sk);

	if (err)
		return err;
	if (sk->sk_shutdown & SEND_SHUTDOWN)
		return -EPIPE;
	if (!kcp_session_state(sk))
		return sk->sk_socket->state == SS_CONNECTED ? -EPIPE :
							       -ENOTCONN;
	return 0;
}

/*
 * Queue @len bytes of a byte-stream write. With KCP_STREAM off the wire
 * carries messages: kcp-go's Write sends one message per mss bytes, so
 * that a message never needs more of the peer's window than one
 * segment (a kcp-go reader waits for all fragments of a message).
 */
static int kcp_send_bytes(struct kcp_sock *ks, struct msghdr *msg, size_t len)
{
	size_t done = 0;
	int n;

	if (ks->kcp.stream)
		return kcp_send(&ks->kcp, len, kcp_copy_from_msg, msg, true);
	while (done < len) {
		n = kcp_send(&ks->kcp, min_t(size_t, len - done, ks->kcp.mss),
			     kcp_copy_from_msg, msg, true);
		if (n < 0)
			return done ? done : n;
		done += n;
	}
	return done;
}

static int kcp_sendmsg_stream(struct sock *sk, struct msghdr *msg, size_t len)
{
	struct kcp_sock *ks = kcp_sk(sk);
	long timeo = sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT);
	size_t copied = 0;
	int err = 0;

	while (msg_data_left(msg)) {
		size_t chunk;
		int room, n;

		if (sk->sk_state == KCP_SYN_SENT) {
			err = kcp_wait_connect(sk, &timeo);
			if (err)
				break;
			continue;
		}
		/*
		 * After a partial write the error (a reset) stays for the
		 * next call, as TCP leaves sk_err to report it there.
		 */
		if (copied && READ_ONCE(sk->sk_err))
			break;
		err = kcp_send_check(sk);
		if (err)
			break;
		room = kcp_send_room(ks);
		if (room <= 0) {
			err = kcp_wait_room(sk, &timeo);
			if (err)
				break;
			continue;
		}
		chunk = min_t(size_t, msg_data_left(msg),
			      (size_t)room * ks->kcp.mss);
		chunk = min_t(size_t, chunk, INT_MAX);
		n = kcp_send_bytes(ks, msg, chunk);
		if (n == -ENOMEM) {
			err = kcp_wait_mem(sk, &timeo);
			if (err)
				break;
			continue;
		}
		if (n < 0) {
			err = n;
			break;
		}
		copied += n;
		ks->st.bytes_out += n;
		kcp_sk_push(ks);
		/* the ACKs that came in meanwhile make room for the rest */
		if (msg_data_left(msg))
			sk_flush_backlog(sk);
	}
	if (copied) {
		KCP_ADD_STATS(sock_net(sk), KCP_MIB_BYTES_SENT, copied);
		return copied;
	}
	return err;
}

/* SOCK_SEQPACKET: one sendmsg is one KCP message (frg countdown). */
static int kcp_sendmsg_seq(struct sock *sk, struct msghdr *msg, size_t len)
{
	struct kcp_sock *ks = kcp_sk(sk);
	struct iov_iter iter;
	long timeo = sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT);
	u32 segs;
	int err, n;

	if (!len)
		return -EINVAL;
	segs = DIV_ROUND_UP(len, ks->kcp.mss);
	/* the receiver can only deliver a message that fits its window */
	if (len > INT_MAX || segs > KCP_FRG_MAX || segs > ks->kcp.snd_wnd)
		return -EMSGSIZE;
	for (;;) {
		if (sk->sk_state == KCP_SYN_SENT) {
			err = kcp_wait_connect(sk, &timeo);
			if (err)
				return err;
			continue;
		}
		err = kcp_send_check(sk);
		if (err)
			return err;
		if (kcp_send_room(ks) <= 0) {
			err = kcp_wait_room(sk, &timeo);
			if (err)
				return err;
			continue;
		}
		/*
		 * All fragments or none: the copy starts over on failure
		 * (a struct copy: iov_iter_restore() is not exported).
		 */
		iter = msg->msg_iter;
		n = kcp_send(&ks->kcp, len, kcp_copy_from_msg, msg, true);
		if (n != -ENOMEM)
			break;
		msg->msg_iter = iter;
		err = kcp_wait_mem(sk, &timeo);
		if (err)
			return err;
	}
	if (n < 0)
		return n;
	ks->st.bytes_out += n;
	KCP_ADD_STATS(sock_net(sk), KCP_MIB_BYTES_SENT, n);
	kcp_sk_push(ks);
	return n;
}

static int kcp_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct sock *sk = sock->sk;
	int err;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (msg->msg_name && msg->msg_namelen)
		return sock->state == SS_CONNECTED ? -EISCONN : -ENOTCONN;
	lock_sock(sk);
	kcp_sync_connected(sock);
	if (sk->sk_type == SOCK_SEQPACKET)
		err = kcp_sendmsg_seq(sk, msg, len);
	else
		err = kcp_sendmsg_stream(sk, msg, len);
	release_sock(sk);
	if (err == -EPIPE && !(msg->msg_flags & MSG_NOSIGNAL))
		send_sig(SIGPIPE, current, 0);
	return err;
}

/* Bytes a read copies before it handles the backlog again. */
#define KCP_RECV_STEP	65536

/* After the app read: a reopened window must be told (WINS) soon. */
static void kcp_sk_read_done(struct kcp_sock *ks)
{
	/* an ended session's leftover data has no peer to tell */
	if (kcp_sk_running(ks->sk.sk_state) && kcp_busy(&ks->kcp))
		kcp_timer_kick(ks);
}

static int kcp_wait_data(struct sock *sk, long *timeo)
{
	struct kcp_sock *ks = kcp_sk(sk);
	DEFINE_WAIT_FUNC(wait, woken_wake_function);

	add_wait_queue(sk_sleep(sk), &wait);
	sk_set_bit(SOCKWQ_ASYNC_WAITDATA, sk);
	sk_wait_event(sk, timeo, kcp_readable_now(ks) || sk->sk_err ||
		      (sk->sk_shutdown & RCV_SHUTDOWN) ||
		      !kcp_sk_running(sk->sk_state), &wait);
	sk_clear_bit(SOCKWQ_ASYNC_WAITDATA, sk);
	remove_wait_queue(sk_sleep(sk), &wait);
	return 0;
}

/* Why a read found nothing: 0 = wait, >0 = EOF, <0 = error. */
static int kcp_recv_blocked(struct sock *sk, long timeo)
{
	if (sk->sk_err)
		return sock_error(sk);
	if (sk->sk_shutdown & RCV_SHUTDOWN)
		return 1;
	if (!kcp_sk_running(sk->sk_state))
		return sk->sk_socket && sk->sk_socket->state == SS_CONNECTED ?
		       1 : -ENOTCONN;
	return kcp_may_wait(timeo);
}

static int kcp_recvmsg_locked(struct sock *sk, struct msghdr *msg,
			      size_t len, int flags)
{
	struct kcp_sock *ks = kcp_sk(sk);
	unsigned int kflags = flags & MSG_PEEK ? KCP_RECV_PEEK : 0;
	bool seq = sk->sk_type == SOCK_SEQPACKET;
	long timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	int target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);
	size_t copied = 0;
	u32 msglen = 0;
	int n;

	sock_owned_by_me(sk);
	if (seq)
		kflags |= KCP_RECV_MSG;
	len = min_t(size_t, len, INT_MAX);
	for (;;) {
		size_t want = len - copied;

		/*
		 * A long copy in steps, with the datagrams that queued up
		 * meanwhile handled between them (as TCP does): the backlog
		 * stays short and ACKs for the window the read opens go out.
		 */
		if (!seq && !(flags & MSG_PEEK))
			want = min_t(size_t, want, KCP_RECV_STEP);
		n = kcp_recv(&ks->kcp, want, kcp_copy_to_msg, msg, kflags,
			     &msglen);
		if (n >= 0) {
			copied += n;
			if (seq || (flags & MSG_PEEK) || copied >= target ||
			    copied == len)
				break;
			sk_flush_backlog(sk);
			continue;
		}
		if (n != -EAGAIN)
			return copied ? copied : n;
		if (copied >= target && copied)
			break;
		n = kcp_recv_blocked(sk, timeo);
		if (n > 0)
			break;
		if (n < 0)
			return copied ? copied : n;
		/*
		 * MSG_WAITALL or SO_RCVLOWAT: what was read so far reopened
		 * the window, and the peer waits for that news (WINS) while
		 * we sleep; otherwise it would only probe after seconds.
		 */
		if (copied && !(flags & MSG_PEEK))
			kcp_sk_read_done(ks);
		kcp_wait_data(sk, &timeo);
	}
	if (!(flags & MSG_PEEK)) {
		ks->st.bytes_in += copied;
		KCP_ADD_STATS(sock_net(sk), KCP_MIB_BYTES_RECEIVED, copied);
		kcp_sk_read_done(ks);
	}
	if (seq && msglen > copied) {
		msg->msg_flags |= MSG_TRUNC;
		if (flags & MSG_TRUNC)
			return msglen;
	}
	if (seq)
		msg->msg_flags |= MSG_EOR;
	return copied;
}

static int kcp_recvmsg(struct socket *sock, struct msghdr *msg, size_t len,
		       int flags)
{
	struct sock *sk = sock->sk;
	int ret;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (flags & MSG_ERRQUEUE)
		return -EAGAIN;
	lock_sock(sk);
	kcp_sync_connected(sock);
	if (sk->sk_state == KCP_LISTEN)
		ret = -ENOTCONN;
	else
		ret = kcp_recvmsg_locked(sk, msg, len, flags);
	release_sock(sk);
	return ret;
}

/* SO_LINGER with a timeout: close() waits for the peer's ACKs. */
static void kcp_close_wait(struct sock *sk, long timeo)
{
	struct kcp_sock *ks = kcp_sk(sk);
	DEFINE_WAIT_FUNC(wait, woken_wake_function);

	add_wait_queue(sk_sleep(sk), &wait);
	while (timeo && kcp_session_state(sk) && kcp_waitsnd(&ks->kcp) &&
	       !signal_pending(current))
		sk_wait_event(sk, &timeo, !kcp_session_state(sk) ||
			      !kcp_waitsnd(&ks->kcp), &wait);
	remove_wait_queue(sk_sleep(sk), &wait);
}

/* Data that arrived and that nobody read: close() then resets, as TCP. */
static bool kcp_sk_unread(const struct kcp_sock *ks)
{
	return ks->kcp.nrcv_que;
}

/*
 * close(): written data is not lost. With unacknowledged data the socket
 * is orphaned and keeps sending from its timer until the peer has it all,
 * the link dies, or linger_ms passes. SO_LINGER {1, 0} discards at once;
 * {1, t} makes close() wait up to t. With the session extension a FIN
 * follows the data (the peer reads end-of-file), and the cases that lose
 * data (unread data, SO_LINGER {1, 0}, too many orphans) reset the peer.
 * Towards kcp-go nothing extra goes on the wire.
 */
static void kcp_close_session(struct sock *sk)
{
	struct kcp_net *kn = kcp_pernet(sock_net(sk));
	struct kcp_sock *ks = kcp_sk(sk);
	bool ext = ks->kcp.ext;

	if (sk->sk_state == KCP_SYN_SENT) {
		kcp_sk_done(ks, 0);
		return;
	}
	/* an ended session may still hold data nobody read */
	if (!kcp_session_state(sk)) {
		kcp_release(&ks->kcp);
		return;
	}
	if (ext && (kcp_sk_unread(ks) ||
		    (sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime))) {
		kcp_sk_abort(ks);
		return;
	}
	/* no memory for the FIN: the peer learns of the end by a RST */
	if (ext && kcp_send_fin(&ks->kcp, true)) {
		kcp_sk_abort(ks);
		return;
	}
	/* kcp-go's Close flushes once: pending ACKs still go out */
	kcp_flush(&ks->kcp, false);
	if (sock_flag(sk, SOCK_LINGER)) {
		if (sk->sk_lingertime)
			kcp_close_wait(sk, sk->sk_lingertime);
		if (ext && kcp_waitsnd(&ks->kcp))
			kcp_sk_abort(ks);
		else
			kcp_sk_done(ks, 0);
		return;
	}
	if (!kcp_waitsnd(&ks->kcp)) {
		kcp_sk_done(ks, 0);
		return;
	}
	/*
	 * Nobody holds an orphan to account: their number and the memory
	 * of all sockets bound them (TCP's tcp_max_orphans and tcp_mem).
	 */
	if (atomic_read(&kn->orphans) >= READ_ONCE(kn->sysctl.max_orphans) ||
	    sk_memory_allocated(sk) > sk_prot_mem_limits(sk, 2)) {
		KCP_INC_STATS(sock_net(sk), KCP_MIB_ORPHAN_OVERFLOW);
		kcp_sk_abort(ks);
		return;
	}
	atomic_inc(&kn->orphans);
	set_bit(KCP_F_ORPHAN_LINGER, &ks->flags);
	ks->close_deadline = kcp_clock_ms() + ks->opts.linger_ms;
	kcp_sk_discard_rx(ks);
	kcp_set_state(sk, KCP_LINGER);
	kcp_timer_kick(ks);
}

static int kcp_release_sock(struct socket *sock)
{
	struct sock *sk = sock->sk;
	bool listener;

	if (!sk)
		return 0;
	lock_sock(sk);
	listener = sk->sk_state == KCP_LISTEN;
	if (listener)
		kcp_set_state(sk, KCP_CLOSE);
	else
		kcp_close_session(sk);
	sock_orphan(sk);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	release_sock(sk);
	/* children are locked one by one, so not under the listener lock */
	if (listener)
		kcp_listen_stop(kcp_sk(sk));
	sock->sk = NULL;
	sock_put(sk);
	return 0;
}

/*
 * .family is informational here: the number the socket layer dispatches
 * on is the net_proto_family's, set at registration from the module
 * parameter.
 */
static const struct proto_ops kcp_ops = {
	.family = PF_KCP,
	.owner = THIS_MODULE,
	.release = kcp_release_sock,
	.bind = kcp_bind,
	.connect = kcp_connect,
	.socketpair = sock_no_socketpair,
	.accept = KCP_ACCEPT_OP(kcp_accept),
	.getname = kcp_getname,
	.poll = kcp_poll,
	.ioctl = kcp_ioctl,
	.listen = kcp_listen,
	.shutdown = kcp_shutdown,
	.setsockopt = kcp_setsockopt,
	.getsockopt = kcp_getsockopt,
	.sendmsg = kcp_sendmsg,
	.recvmsg = kcp_recvmsg,
	.mmap = sock_no_mmap,
	KCP_PROTO_OPS_SENDPAGE
};

/* memory accounting fields: kcp_mem_proto() (mem.c), before registering */
struct proto kcp_proto = {
	.name = "KCP",
	.owner = THIS_MODULE,
	.obj_size = sizeof(struct kcp_sock),
	.backlog_rcv = kcp_backlog_rcv,
	.release_cb = kcp_release_cb,
	.keepalive = kcp_keepalive,
};

static int kcp_create(struct net *net, struct socket *sock, int protocol,
		      int kern)
{
	struct kcp_sock *ks;
	struct sock *sk;

	if (protocol && protocol != IPPROTO_UDP)
		return -EPROTONOSUPPORT;
	if (sock->type != SOCK_STREAM && sock->type != SOCK_SEQPACKET)
		return -ESOCKTNOSUPPORT;
	sk = sk_alloc(net, kcp_family_nr, GFP_KERNEL, &kcp_proto, kern);
	if (!sk)
		return -ENOMEM;
	sock->ops = &kcp_ops;
	sock->state = SS_UNCONNECTED;
	sock_init_data(sock, sk);
	kcp_sk_setup(sk, sock->type, NULL);
	ks = kcp_sk(sk);
	if (kcp_sock_register(ks, GFP_KERNEL)) {
		sk_free(sk);
		sock->sk = NULL;
		return -ENOMEM;
	}
	kcp_opts_from_sysctl(&ks->opts, &kcp_pernet(net)->sysctl);
	/* net.kcp.stream is the SOCK_STREAM default; SEQPACKET keeps boundaries */
	if (sock->type != SOCK_STREAM)
		ks->opts.stream = 0;
	ks->af = 0;
	kcp_opts_apply(ks);
	return 0;
}

/* Children made by a listener in softirq inherit its settings. */
struct sock *kcp_sk_clone(struct kcp_sock *lks, gfp_t gfp)
{
	struct sock *lsk = &lks->sk, *sk;
	struct kcp_sock *ks;

	/* kern 0: a user socket, which pins its netns */
	sk = sk_alloc(sock_net(lsk), kcp_family_nr, gfp, &kcp_proto, 0);
	if (!sk)
		return NULL;
	sock_init_data(NULL, sk);
	kcp_sk_setup(sk, lsk->sk_type, lsk);
	ks = kcp_sk(sk);
	if (kcp_sock_register(ks, gfp)) {
		sk_free(sk);
		return NULL;
	}
	ks->opts = lks->opts;
	ks->af = lks->af;
	ks->local = lks->local;
	sk->sk_mark = lsk->sk_mark;
	sk->sk_priority = lsk->sk_priority;
	ks->tos = lks->tos;
	sk->sk_rcvbuf = lsk->sk_rcvbuf;
	sk->sk_sndbuf = lsk->sk_sndbuf;
	sk->sk_userlocks = lsk->sk_userlocks;
	sk->sk_rcvtimeo = lsk->sk_rcvtimeo;
	sk->sk_sndtimeo = lsk->sk_sndtimeo;
	/* as TCP's children: SO_KEEPALIVE with the listener's times */
	if (sock_flag(lsk, SOCK_KEEPOPEN))
		sock_set_flag(sk, SOCK_KEEPOPEN);
	/* routes by uid (ip rule uidrange) as its listener's owner */
	kcp_sk_set_uid(sk, sk_uid(lsk));
	security_sk_clone(lsk, sk);
	return sk;
}

static const struct net_proto_family kcp_family_ops_tmpl = {
	.create = kcp_create,
	.owner = THIS_MODULE,
};

static struct net_proto_family kcp_family_ops __ro_after_init;

int kcp_family_register(int family)
{
	if (family <= 0 || family >= NPROTO)
		return -EINVAL;
	kcp_family_nr = family;
	kcp_family_ops = kcp_family_ops_tmpl;
	kcp_family_ops.family = family;
	return sock_register(&kcp_family_ops);
}

void kcp_family_unregister(void)
{
	sock_unregister(kcp_family_nr);
}
