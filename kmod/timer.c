// SPDX-License-Identifier: GPL-2.0
/*
 * The per-socket flush/retransmit timer. kcp-go flushes every session
 * every interval; here a session arms its timer only while the engine has
 * work (kcp_busy()), so an idle session costs no CPU at all. A soft
 * hrtimer gives the millisecond cadence KCP's intervals assume (jiffies
 * are 4 ms on Debian's HZ=250) and runs in softirq like receive does.
 *
 * The callback takes the socket spinlock and, if the user owns the
 * socket, defers to release_cb as TCP does with its delayed-ACK timer.
 */
#include <linux/hrtimer.h>
#include <net/sock.h>

#include "compat.h"
#include "kcp.h"

/*
 * A queued timer owns one socket reference (ks->timer_ref). Arming, the
 * callback's bookkeeping and cancelling all run under ks->timer_lock:
 * arming happens in process context (user owns the socket, its spinlock
 * not held), in softirq receive and in the callback itself, and
 * hrtimer_try_to_cancel() cannot tell "queued again" from "running".
 */
static enum hrtimer_restart kcp_timer_fn(struct hrtimer *t)
{
	struct kcp_sock *ks = container_of(t, struct kcp_sock, timer);
	struct sock *sk = &ks->sk;
	bool put;

	/* the socket (and with it this module) is RCU-freed */
	rcu_read_lock();
	spin_lock(&ks->timer_lock);
	/* re-armed since it expired: the reference moves to that one */
	put = !hrtimer_is_queued(t);
	if (put)
		ks->timer_ref = false;
	spin_unlock(&ks->timer_lock);

	bh_lock_sock(sk);
	if (!sock_owned_by_user(sk))
		kcp_sk_tick(ks);
	else if (!test_and_set_bit(KCP_F_TIMER_DEFERRED, &ks->flags))
		sock_hold(sk);
	bh_unlock_sock(sk);
	if (put)
		sock_put(sk);
	rcu_read_unlock();
	return HRTIMER_NORESTART;
}

void kcp_timer_init(struct kcp_sock *ks)
{
	spin_lock_init(&ks->timer_lock);
	ks->timer_ref = false;
	hrtimer_setup(&ks->timer, kcp_timer_fn, CLOCK_MONOTONIC,
		      HRTIMER_MODE_ABS_SOFT);
}

/* Arm for @expires unless already due earlier. */
static void kcp_timer_arm(struct kcp_sock *ks, ktime_t expires)
{
	struct hrtimer *t = &ks->timer;

	spin_lock_bh(&ks->timer_lock);
	if (hrtimer_is_queued(t) &&
	    ktime_compare(hrtimer_get_expires(t), expires) <= 0)
		goto out;
	if (!ks->timer_ref) {
		sock_hold(&ks->sk);
		ks->timer_ref = true;
	}
	hrtimer_start(t, expires, HRTIMER_MODE_ABS_SOFT);
out:
	spin_unlock_bh(&ks->timer_lock);
}

void kcp_timer_after(struct kcp_sock *ks, u32 delay_ms)
{
	kcp_timer_arm(ks, ktime_add_ms(ktime_get(), delay_ms));
}

/*
 * A session that had nothing to do got work. kcp-go's timers tick at an
 * arbitrary phase, so on average work waits interval/2; aligning to a
 * shared grid of the interval gives the same wait and lets sessions with
 * equal intervals flush in the same timer-wheel pass.
 */
void kcp_timer_kick(struct kcp_sock *ks)
{
	u32 interval = ks->kcp.interval;

	kcp_timer_after(ks, interval - kcp_clock_ms() % interval);
}

/* The caller holds its own reference, so the put never frees. */
void kcp_timer_stop(struct kcp_sock *ks)
{
	spin_lock_bh(&ks->timer_lock);
	/* a running callback (-1) drops the reference itself */
	if (ks->timer_ref && hrtimer_try_to_cancel(&ks->timer) == 1) {
		ks->timer_ref = false;
		__sock_put(&ks->sk);
	}
	spin_unlock_bh(&ks->timer_lock);
}

/*
 * How long the peer may stay silent, in ms (0: forever): KCP_IDLE_TIMEOUT,
 * and for a session a listener made that its peer never confirmed, at
 * most net.kcp.unconfirmed_timeout_ms. No handshake proves that the
 * source of a first datagram exists (it may be spoofed): like TCP's
 * SYN_RECV, such a session is not kept for long on its word alone.
 */
static u32 kcp_unconfirmed_ms(const struct kcp_sock *ks)
{
	return READ_ONCE(kcp_pernet(sock_net(&ks->sk))->sysctl.unconfirmed_ms);
}

static u32 kcp_idle_limit(const struct kcp_sock *ks)
{
	u32 idle = ks->opts.idle_ms, unc;

	if (test_bit(KCP_F_CONFIRMED, &ks->flags))
		return idle;
	unc = kcp_unconfirmed_ms(ks);
	return unc && (!idle || unc < idle) ? unc : idle;
}

/*
 * The WINS that answers a child's first WASK can be lost like any
 * datagram; a peer that then stays silent (a client waiting for a slow
 * server) would see its session expire. So ask again, at 1/8, 3/8 and
 * 7/8 of the unconfirmed timeout, backed off like TCP's SYN-ACK
 * retries: three more 24-byte datagrams at most toward a source that
 * may be spoofed, none once the peer answered or acknowledged data.
 */
void kcp_reask_init(struct kcp_sock *ks)
{
	ks->asks = 0;
	ks->ask_at = kcp_clock_ms() + kcp_unconfirmed_ms(ks) / 8;
}

static bool kcp_reask_pending(const struct kcp_sock *ks)
{
	return ks->asks < KCP_REASK_MAX &&
	       !test_bit(KCP_F_CONFIRMED, &ks->flags) && kcp_unconfirmed_ms(ks);
}

static void kcp_reask(struct kcp_sock *ks, u32 now)
{
	if (likely(!kcp_reask_pending(ks)) || (s32)(now - ks->ask_at) < 0)
		return;
	ks->kcp.probe |= KCP_ASK_SEND;
	ks->asks++;
	ks->ask_at = now + (kcp_unconfirmed_ms(ks) >> (KCP_REASK_MAX - ks->asks));
}

/*
 * connect(): a WASK at once, again after 250 ms, then backed off to at
 * most every 2 s (TCP's SYN retries, with KCP's shorter initial RTO),
 * until the peer answers or connect_ms passes.
 */
#define KCP_SYN_RTO	250
#define KCP_SYN_RTO_MAX	2000

void kcp_syn_init(struct kcp_sock *ks)
{
	u32 now = kcp_clock_ms();

	ks->asks = 0;
	ks->ask_at = now + KCP_SYN_RTO;
	ks->connect_deadline = now + ks->opts.connect_ms;
	ks->kcp.probe |= KCP_ASK_SEND;
}

static void kcp_syn_retry(struct kcp_sock *ks, u32 now)
{
	if ((s32)(now - ks->ask_at) < 0)
		return;
	ks->kcp.probe |= KCP_ASK_SEND;
	if (ks->asks < 8)
		ks->asks++;
	ks->ask_at = now + min(KCP_SYN_RTO << ks->asks, KCP_SYN_RTO_MAX);
}

/*
 * SO_KEEPALIVE: after keepidle seconds without a datagram from the peer,
 * a WASK (which kcp-go answers too) every keepintvl seconds; keepcnt of
 * them unanswered end the session. Returns ms until the next step.
 */
static bool kcp_keepalive_on(const struct kcp_sock *ks)
{
	return sock_flag(&ks->sk, SOCK_KEEPOPEN) &&
	       ks->sk.sk_state == KCP_ESTABLISHED;
}

static u32 kcp_keepalive_due(const struct kcp_sock *ks)
{
	return ks->last_rx + ks->opts.keepidle * MSEC_PER_SEC +
	       ks->ka_sent * ks->opts.keepintvl * MSEC_PER_SEC;
}

/* Nothing to send, but an idle timeout or a WASK still needs a wake-up. */
void kcp_timer_idle(struct kcp_sock *ks)
{
	u32 limit = kcp_idle_limit(ks), now = kcp_clock_ms();
	s32 wait = S32_MAX;

	if (limit)
		wait = (s32)(ks->last_rx + limit - now);
	if (kcp_reask_pending(ks))
		wait = min_t(s32, wait, (s32)(ks->ask_at - now));
	if (ks->sk.sk_state == KCP_SYN_SENT) {
		wait = min_t(s32, wait, (s32)(ks->ask_at - now));
		wait = min_t(s32, wait, (s32)(ks->connect_deadline - now));
	}
	if (kcp_keepalive_on(ks))
		wait = min_t(s32, wait, (s32)(kcp_keepalive_due(ks) - now));
	if (wait != S32_MAX)
		kcp_timer_after(ks, wait > 0 ? wait : 1);
}

/* Arm (or not) after the engine did work outside the timer. */
static void kcp_timer_rearm(struct kcp_sock *ks, u32 delay)
{
	if (kcp_busy(&ks->kcp)) {
		kcp_timer_after(ks, delay);
		return;
	}
	kcp_shrink(&ks->kcp);
	kcp_fec_shrink(ks);
	kcp_timer_idle(ks);
}

/* SO_KEEPALIVE turned on or off (sock_setsockopt()): socket owned. */
void kcp_keepalive(struct sock *sk, int valbool)
{
	struct kcp_sock *ks = kcp_sk(sk);

	kcp_sk_assert_locked(ks);
	if (valbool && sk->sk_state == KCP_ESTABLISHED &&
	    !kcp_busy(&ks->kcp))
		kcp_timer_idle(ks);
}

/* Before the flush: a keepalive probe due now. */
static void kcp_keepalive_probe(struct kcp_sock *ks, u32 now)
{
	if (!kcp_keepalive_on(ks) || (s32)(now - kcp_keepalive_due(ks)) < 0)
		return;
	if (ks->ka_sent < ks->opts.keepcnt)
		ks->kcp.probe |= KCP_ASK_SEND;
	if (ks->ka_sent <= ks->opts.keepcnt)
		ks->ka_sent++;
}

/* Flush off the interval's grid (an answer someone waits for). Locked. */
void kcp_sk_flush_now(struct kcp_sock *ks)
{
	kcp_sk_assert_locked(ks);
	kcp_timer_rearm(ks, kcp_flush(&ks->kcp, false));
}

/* Why a session must end now, if it must: 0 keeps it. */
static int kcp_tick_verdict(struct kcp_sock *ks, u32 now)
{
	struct net *net = sock_net(&ks->sk);
	u32 limit;

	if (ks->sk.sk_state == KCP_SYN_SENT) {
		if (test_bit(KCP_F_SYN_ERR, &ks->flags)) {
			KCP_INC_STATS(net, KCP_MIB_CONNECT_REFUSED);
			return -(READ_ONCE(ks->sk.sk_err_soft) ?: ECONNREFUSED);
		}
		if ((s32)(now - ks->connect_deadline) >= 0) {
			KCP_INC_STATS(net, KCP_MIB_CONNECT_TIMEOUT);
			return -ETIMEDOUT;
		}
	}
	/* keepcnt probes sent and another interval passed unanswered */
	if (kcp_keepalive_on(ks) && ks->ka_sent > ks->opts.keepcnt) {
		KCP_INC_STATS(net, KCP_MIB_KEEPALIVE_TIMEOUT);
		return -ETIMEDOUT;
	}
	if (ks->kcp.state == KCP_STATE_DEAD) {
		KCP_INC_STATS(net, KCP_MIB_DEAD_LINK);
		/* as TCP: a remembered ICMP error says more than a timeout */
		return -(READ_ONCE(ks->sk.sk_err_soft) ?: ETIMEDOUT);
	}
	limit = kcp_idle_limit(ks);
	if (limit && (s32)(now - ks->last_rx) >= (s32)limit) {
		if (!test_bit(KCP_F_CONFIRMED, &ks->flags))
			KCP_INC_STATS(net, KCP_MIB_UNCONFIRMED_EXPIRED);
		return -ETIMEDOUT;
	}
	if (!test_bit(KCP_F_ORPHAN_LINGER, &ks->flags))
		return 0;
	if (!kcp_waitsnd(&ks->kcp))
		return 1;
	if ((s32)(now - ks->close_deadline) >= 0) {
		KCP_INC_STATS(net, KCP_MIB_LINGER_EXPIRED);
		return 1;
	}
	return 0;
}

/* One timer tick of a session: flush, then decide its fate. Locked. */
void kcp_sk_tick(struct kcp_sock *ks)
{
	int state = ks->sk.sk_state;
	u32 delay;
	int verdict;

	kcp_sk_assert_locked(ks);
	if (state == KCP_CLOSE) {
		/* the end of a tombstone's time-wait */
		kcp_demux_unhash(ks);
		return;
	}
	if (!kcp_sk_running(state))
		return;
	kcp_opts_sync_rcvbuf(ks);
	kcp_reask(ks, kcp_clock_ms());
	if (state == KCP_SYN_SENT)
		kcp_syn_retry(ks, kcp_clock_ms());
	kcp_keepalive_probe(ks, kcp_clock_ms());
	delay = kcp_flush(&ks->kcp, false);
	verdict = kcp_tick_verdict(ks, kcp_clock_ms());
	if (verdict > 0 && kcp_waitsnd(&ks->kcp)) {
		/* linger expired with data unacked: the peer must not wait */
		kcp_sk_abort(ks);
		return;
	}
	if (verdict) {
		kcp_sk_done(ks, verdict < 0 ? -verdict : 0);
		return;
	}
	kcp_sk_wake(ks);
	kcp_timer_rearm(ks, delay);
}

void kcp_release_cb(struct sock *sk)
{
	struct kcp_sock *ks = kcp_sk(sk);

	if (test_and_clear_bit(KCP_F_TIMER_DEFERRED, &ks->flags)) {
		kcp_sk_tick(ks);
		/* the caller still holds its own reference */
		__sock_put(sk);
	}
}
