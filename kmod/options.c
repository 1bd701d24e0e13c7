// SPDX-License-Identifier: GPL-2.0
/*
 * SOL_KCP socket options. Settings live in ks->opts (so a listener can
 * hand them to its children) and are pushed into the engine by
 * kcp_opts_apply(). Values follow kcp-go's setters and their clamps.
 */
#include <linux/sockptr.h>
#include <linux/uaccess.h>
#include <net/sock.h>

#include "compat.h"
#include "kcp.h"

#define KCP_DEADLINK_MAX	1000
#define KCP_TIMEOUT_MAX		(24 * 3600 * 1000)

/* kcptun's --mode presets (kcptun 20210922) */
static const struct kcp_nodelay kcp_presets[] = {
	[KCP_PRESET_NORMAL] = { 0, 40, 2, 1 },
	[KCP_PRESET_FAST] = { 0, 30, 2, 1 },
	[KCP_PRESET_FAST2] = { 1, 20, 2, 1 },
	[KCP_PRESET_FAST3] = { 1, 10, 2, 1 },
};

/* net.kcp.wnd_max bounds what a window (and so memory) may be set to. */
static u32 kcp_wnd_limit(const struct kcp_sock *ks)
{
	return READ_ONCE(kcp_pernet(sock_net(&ks->sk))->sysctl.wnd_max);
}

/* Both windows, the buffers sized for them, the receive one as they hold. */
static void kcp_sk_set_wndsize(struct kcp_sock *ks)
{
	u32 rcv = kcp_mem_fit_windows(ks, ks->opts.snd_wnd, ks->opts.rcv_wnd);

	kcp_set_wndsize(&ks->kcp, ks->opts.snd_wnd, rcv);
	ks->rcvbuf_seen = ks->sk.sk_rcvbuf;
}

int kcp_opts_apply(struct kcp_sock *ks)
{
	struct kcp_opts *o = &ks->opts;
	struct kcp_cb *kcp = &ks->kcp;
	u32 hdr = kcp_sk_header_len(ks);
	int err;

	kcp_set_nodelay(kcp, o->nodelay, o->interval, o->resend, o->nc);
	if (o->minrto)
		kcp->rx_minrto = o->minrto;
	if (hdr > kcp->reserved) {
		/* more header: shrink mss first, then move the mtu */
		err = kcp_set_reserved(kcp, hdr);
		if (!err)
			err = kcp_set_mtu(kcp, o->mtu);
	} else {
		err = kcp_set_mtu(kcp, o->mtu);
		if (!err)
			err = kcp_set_reserved(kcp, hdr);
	}
	if (err)
		return err;
	kcp_sk_set_wndsize(ks);
	kcp->stream = o->stream;
	kcp->rcv_stream = ks->sk.sk_type == SOCK_STREAM;
	kcp->dead_link = o->dead_link;
	kcp->ack_early = o->ack_early;
	/* fixed once the session talks: the peer may have seen our marker */
	if (!kcp_sk_running(ks->sk.sk_state))
		kcp->ext_offer = o->session_ext;
	return 0;
}

/*
 * SO_RCVBUF is handled by the socket core, which has no hook for the
 * protocol on 6.1; a changed value is noticed here, before the next ACK
 * advertises the window. Called with the socket locked.
 */
void kcp_opts_sync_rcvbuf(struct kcp_sock *ks)
{
	kcp_sk_assert_locked(ks);
	if (likely(READ_ONCE(ks->sk.sk_rcvbuf) == ks->rcvbuf_seen))
		return;
	kcp_sk_set_wndsize(ks);
}

static int kcp_set_nodelay_opt(struct kcp_opts *o, const struct kcp_nodelay *nd)
{
	if (nd->nodelay < -1 || nd->interval < -1 || nd->resend < -1 ||
	    nd->nc < -1 || nd->nc > 1)
		return -EINVAL;
	if (nd->nodelay >= 0)
		o->nodelay = nd->nodelay;
	if (nd->interval >= 0)
		o->interval = clamp_t(s32, nd->interval, KCP_INTERVAL_MIN,
				      KCP_INTERVAL_MAX);
	if (nd->resend >= 0)
		o->resend = nd->resend;
	if (nd->nc >= 0)
		o->nc = nd->nc;
	/* kcp-go's NoDelay resets minrto along with nodelay */
	if (nd->nodelay >= 0)
		o->minrto = 0;
	return 0;
}

static bool kcp_before_connect(const struct sock *sk)
{
	return sk->sk_state == KCP_CLOSE && sk->sk_socket &&
	       sk->sk_socket->state == SS_UNCONNECTED;
}

static int kcp_set_int(struct kcp_sock *ks, int optname, int val)
{
	struct kcp_opts *o = &ks->opts;

	switch (optname) {
	case KCP_MTU:
		if (val < KCP_MTU_MIN || val > KCP_MTU_MAX)
			return -EINVAL;
		o->mtu = val;
		return 0;
	case KCP_STREAM:
		if (val != 0 && val != 1)
			return -EINVAL;
		/* message boundaries are what SOCK_SEQPACKET is for */
		if (ks->sk.sk_type == SOCK_SEQPACKET && val)
			return -EINVAL;
		o->stream = val;
		return 0;
	case KCP_ACK_NODELAY:
		o->ack_nodelay = !!val;
		return 0;
	case KCP_WRITE_DELAY:
		o->write_delay = !!val;
		return 0;
	case KCP_DEADLINK:
		if (val < 1 || val > KCP_DEADLINK_MAX)
			return -EINVAL;
		o->dead_link = val;
		return 0;
	case KCP_MINRTO:
		if (val < 1 || val > KCP_RTO_MAX)
			return -EINVAL;
		o->minrto = val;
		return 0;
	case KCP_IDLE_TIMEOUT:
		if (val < 0 || val > KCP_TIMEOUT_MAX)
			return -EINVAL;
		o->idle_ms = val;
		return 0;
	case KCP_LINGER_TIMEOUT:
		if (val < 0 || val > KCP_TIMEOUT_MAX)
			return -EINVAL;
		o->linger_ms = val;
		return 0;
	case KCP_CONNECT_TIMEOUT:
		if (val < 0 || val > KCP_TIMEOUT_MAX)
			return -EINVAL;
		o->connect_ms = val;
		return 0;
	case KCP_SESSION_EXT:
		if (val != 0 && val != 1)
			return -EINVAL;
		if (!kcp_before_connect(&ks->sk))
			return -EISCONN;
		o->session_ext = val;
		return 0;
	case KCP_KEEPIDLE:
		if (val < 1 || val > KCP_KEEP_MAX)
			return -EINVAL;
		o->keepidle = val;
		return 0;
	case KCP_KEEPINTVL:
		if (val < 1 || val > KCP_KEEP_MAX)
			return -EINVAL;
		o->keepintvl = val;
		return 0;
	case KCP_KEEPCNT:
		if (val < 1 || val > KCP_KEEPCNT_MAX)
			return -EINVAL;
		o->keepcnt = val;
		return 0;
	case KCP_REUSEPORT:
		/* the UDP socket made at bind() joins the reuseport group */
		if (ks->tun)
			return -EISCONN;
		ks->sk.sk_reuseport = !!val;
		return 0;
	case KCP_PRESET:
		if (val < KCP_PRESET_NORMAL || val > KCP_PRESET_FAST3)
			return -EINVAL;
		return kcp_set_nodelay_opt(o, &kcp_presets[val]);
	}
	return -ENOPROTOOPT;
}

/* FEC shard counts; 0/0 turns it off. Before connect()/listen(). */
static int kcp_set_fec(struct kcp_sock *ks, const struct kcp_fec *f)
{
	if ((f->data_shards || f->parity_shards) &&
	    kcp_fec_check_shards(f->data_shards, f->parity_shards))
		return -EINVAL;
	if (!kcp_before_connect(&ks->sk))
		return -EISCONN;
	ks->opts.fec_data = f->data_shards;
	ks->opts.fec_parity = f->parity_shards;
	return 0;
}

/*
 * A cipher and the kcptun-derived key bytes it uses (the xor cipher
 * takes the 32-byte key and derives kcp-go's pad from it). The key is
 * kept in opts (listeners hand it to children) and wiped on free.
 */
static int kcp_set_crypto(struct kcp_sock *ks, struct kcp_crypto *kc)
{
	const struct kcp_cipher_desc *d = kcp_cipher_get(kc->cipher);
	u32 want;

	if (!d)
		return -EINVAL;
	want = d->impl == KCP_IMPL_XOR ? KCP_CRYPT_PASS_LEN : d->key_len;
	if (d->impl == KCP_IMPL_IDENTITY)
		want = kc->key_len <= KCP_KEY_MAX ? kc->key_len : 0;
	if (kc->key_len != want)
		return -EINVAL;
	if (!kcp_before_connect(&ks->sk))
		return -EISCONN;
	memzero_explicit(ks->opts.key, sizeof(ks->opts.key));
	memcpy(ks->opts.key, kc->key, kc->key_len);
	ks->opts.key_len = kc->key_len;
	ks->opts.cipher = kc->cipher;
	return 0;
}

static int kcp_set_struct(struct kcp_sock *ks, int optname, sockptr_t optval,
			  unsigned int optlen)
{
	struct kcp_nodelay nd;
	struct kcp_wndsize ws;
	struct kcp_crypto kc;
	struct kcp_fec f;
	u32 conv;
	int err;

	switch (optname) {
	case KCP_FEC:
		if (optlen < sizeof(f))
			return -EINVAL;
		if (copy_from_sockptr(&f, optval, sizeof(f)))
			return -EFAULT;
		return kcp_set_fec(ks, &f);
	case KCP_CRYPTO:
		if (optlen < sizeof(kc))
			return -EINVAL;
		if (copy_from_sockptr(&kc, optval, sizeof(kc)))
			return -EFAULT;
		err = kcp_set_crypto(ks, &kc);
		memzero_explicit(&kc, sizeof(kc));
		return err;
	case KCP_NODELAY:
		if (optlen < sizeof(nd))
			return -EINVAL;
		if (copy_from_sockptr(&nd, optval, sizeof(nd)))
			return -EFAULT;
		return kcp_set_nodelay_opt(&ks->opts, &nd);
	case KCP_WNDSIZE:
		if (optlen < sizeof(ws))
			return -EINVAL;
		if (copy_from_sockptr(&ws, optval, sizeof(ws)))
			return -EFAULT;
		if (ws.snd > kcp_wnd_limit(ks) || ws.rcv > kcp_wnd_limit(ks))
			return -EINVAL;
		if (ws.snd)
			ks->opts.snd_wnd = ws.snd;
		if (ws.rcv)
			ks->opts.rcv_wnd = ws.rcv;
		return 0;
	case KCP_CONV:
		if (optlen < sizeof(conv))
			return -EINVAL;
		if (copy_from_sockptr(&conv, optval, sizeof(conv)))
			return -EFAULT;
		if (!kcp_before_connect(&ks->sk))
			return -EISCONN;
		ks->kcp.conv = conv;
		set_bit(KCP_F_CONV_SET, &ks->flags);
		return 0;
	}
	return -ENOPROTOOPT;
}

static bool kcp_opt_is_struct(int optname)
{
	return optname == KCP_NODELAY || optname == KCP_WNDSIZE ||
	       optname == KCP_CONV || optname == KCP_FEC ||
	       optname == KCP_CRYPTO;
}

/*
 * IP_TOS / IPV6_TCLASS: the TOS byte of our UDP datagrams, as for a UDP
 * or TCP socket. Other IP-level options do not apply to AF_KCP.
 */
static bool kcp_is_tos_opt(int level, int optname)
{
	return (level == SOL_IP && optname == IP_TOS) ||
	       (level == SOL_IPV6 && optname == IPV6_TCLASS);
}

static int kcp_set_tos(struct kcp_sock *ks, int level, sockptr_t optval,
		       unsigned int optlen)
{
	int val;

	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;
	/* IPV6_TCLASS -1 means "the default", as in ipv6_setsockopt() */
	if (level == SOL_IPV6 && val == -1)
		val = 0;
	if (val < 0 || val > 0xff)
		return -EINVAL;
	WRITE_ONCE(ks->tos, val);
	return 0;
}

int kcp_setsockopt(struct socket *sock, int level, int optname,
		   sockptr_t optval, unsigned int optlen)
{
	struct kcp_sock *ks = kcp_sk(sock->sk);
	struct kcp_opts saved;
	int val, err;

	if (kcp_is_tos_opt(level, optname))
		return kcp_set_tos(ks, level, optval, optlen);
	if (level != SOL_KCP)
		return -ENOPROTOOPT;
	if (!kcp_opt_is_struct(optname)) {
		if (optlen < sizeof(int))
			return -EINVAL;
		if (copy_from_sockptr(&val, optval, sizeof(val)))
			return -EFAULT;
	}
	lock_sock(&ks->sk);
	saved = ks->opts;
	if (kcp_opt_is_struct(optname))
		err = kcp_set_struct(ks, optname, optval, optlen);
	else
		err = kcp_set_int(ks, optname, val);
	if (!err) {
		err = kcp_opts_apply(ks);
		if (err) {
			/* e.g. a smaller MTU while data is queued: -EBUSY */
			ks->opts = saved;
			kcp_opts_apply(ks);
		}
	}
	/*
	 * New intervals, an idle timeout or keepalive times take effect on
	 * a quiet session too.
	 */
	if (!err && ks->sk.sk_state == KCP_ESTABLISHED) {
		if (kcp_busy(&ks->kcp))
			kcp_timer_kick(ks);
		else
			kcp_timer_idle(ks);
	}
	release_sock(&ks->sk);
	return err;
}

static void kcp_fill_info(struct kcp_sock *ks, struct kcp_info *info)
{
	const struct kcp_cb *kcp = &ks->kcp;

	memset(info, 0, sizeof(*info));
	info->kcpi_version = KCP_INFO_VERSION;
	info->kcpi_len = sizeof(*info);
	info->kcpi_state = ks->sk.sk_state;
	info->kcpi_conv = kcp->conv;
	info->kcpi_mtu = kcp->mtu;
	info->kcpi_mss = kcp->mss;
	info->kcpi_rto = kcp->rx_rto;
	info->kcpi_srtt = kcp->rx_srtt;
	info->kcpi_rttvar = kcp->rx_rttvar;
	info->kcpi_minrto = kcp->rx_minrto;
	info->kcpi_cwnd = kcp->cwnd;
	info->kcpi_ssthresh = kcp->ssthresh;
	info->kcpi_snd_wnd = kcp->snd_wnd;
	info->kcpi_rcv_wnd = kcp->rcv_wnd;
	info->kcpi_rmt_wnd = kcp->rmt_wnd;
	info->kcpi_snd_una = kcp->snd_una;
	info->kcpi_snd_nxt = kcp->snd_nxt;
	info->kcpi_rcv_nxt = kcp->rcv_nxt;
	info->kcpi_snd_queue = kcp->nsnd_que;
	info->kcpi_snd_buf = kcp->nsnd_buf;
	info->kcpi_rcv_queue = kcp->nrcv_que;
	info->kcpi_rcv_buf = kcp->nrcv_buf;
	info->kcpi_nodelay = kcp->nodelay;
	info->kcpi_interval = kcp->interval;
	info->kcpi_resend = kcp->fastresend;
	info->kcpi_nc = kcp->nocwnd;
	info->kcpi_stream = kcp->stream;
	info->kcpi_fec_data = ks->opts.fec_data;
	info->kcpi_fec_parity = ks->opts.fec_parity;
	info->kcpi_cipher = ks->opts.cipher;
	info->kcpi_dead_link = kcp->dead_link;
	info->kcpi_in_segs = kcp->stats[KCP_STAT_IN_SEGS];
	info->kcpi_out_segs = kcp->stats[KCP_STAT_OUT_SEGS];
	info->kcpi_fast_retrans = kcp->stats[KCP_STAT_FAST_RETRANS];
	info->kcpi_early_retrans = kcp->stats[KCP_STAT_EARLY_RETRANS];
	info->kcpi_lost_segs = kcp->stats[KCP_STAT_LOST];
	info->kcpi_retrans_segs = info->kcpi_fast_retrans +
				  info->kcpi_early_retrans +
				  info->kcpi_lost_segs;
	info->kcpi_repeat_segs = kcp->stats[KCP_STAT_REPEAT];
	info->kcpi_in_errors = kcp->stats[KCP_STAT_IN_ERRORS];
	info->kcpi_in_pkts = ks->st.in_pkts;
	info->kcpi_out_pkts = ks->st.out_pkts;
	info->kcpi_bytes_in = ks->st.bytes_in;
	info->kcpi_bytes_out = ks->st.bytes_out;
	info->kcpi_fec_recovered = ks->st.fec_recovered;
	info->kcpi_fec_parity_in = ks->st.fec_parity_in;
	info->kcpi_crypto_errors = ks->st.crypto_errors;
	kcp_fec_info(ks, &info->kcpi_fec_state, &info->kcpi_fec_errors);
	info->kcpi_ext = kcp->ext;
}

/* Fill @buf (at most @size bytes) with the option; returns its length. */
static int kcp_get_value(struct kcp_sock *ks, int optname, void *buf)
{
	const struct kcp_opts *o = &ks->opts;
	struct kcp_nodelay *nd = buf;
	struct kcp_wndsize *ws = buf;
	struct kcp_crypto *kc = buf;
	struct kcp_fec *f = buf;
	int *val = buf;

	switch (optname) {
	case KCP_FEC:
		f->data_shards = o->fec_data;
		f->parity_shards = o->fec_parity;
		return sizeof(*f);
	case KCP_CRYPTO:
		/* the cipher and key length, never the key */
		memset(kc, 0, sizeof(*kc));
		kc->cipher = o->cipher;
		kc->key_len = o->key_len;
		return sizeof(*kc);
	case KCP_NODELAY:
		nd->nodelay = ks->kcp.nodelay;
		nd->interval = ks->kcp.interval;
		nd->resend = ks->kcp.fastresend;
		nd->nc = ks->kcp.nocwnd;
		return sizeof(*nd);
	case KCP_WNDSIZE:
		/* as set; KCP_INFO has the receive window the buffer allows */
		ws->snd = ks->opts.snd_wnd;
		ws->rcv = ks->opts.rcv_wnd;
		return sizeof(*ws);
	case KCP_MTU:
		*val = ks->kcp.mtu;
		break;
	case KCP_STREAM:
		*val = ks->kcp.stream;
		break;
	case KCP_ACK_NODELAY:
		*val = o->ack_nodelay;
		break;
	case KCP_WRITE_DELAY:
		*val = o->write_delay;
		break;
	case KCP_CONV:
		*(u32 *)buf = ks->kcp.conv;
		break;
	case KCP_DEADLINK:
		*val = ks->kcp.dead_link;
		break;
	case KCP_MINRTO:
		*val = ks->kcp.rx_minrto;
		break;
	case KCP_IDLE_TIMEOUT:
		*val = o->idle_ms;
		break;
	case KCP_LINGER_TIMEOUT:
		*val = o->linger_ms;
		break;
	case KCP_REUSEPORT:
		*val = ks->sk.sk_reuseport;
		break;
	case KCP_CONNECT_TIMEOUT:
		*val = o->connect_ms;
		break;
	case KCP_SESSION_EXT:
		*val = o->session_ext;
		break;
	case KCP_KEEPIDLE:
		*val = o->keepidle;
		break;
	case KCP_KEEPINTVL:
		*val = o->keepintvl;
		break;
	case KCP_KEEPCNT:
		*val = o->keepcnt;
		break;
	case KCP_INFO:
		kcp_fill_info(ks, buf);
		return sizeof(struct kcp_info);
	default:
		return -ENOPROTOOPT;
	}
	return sizeof(int);
}

int kcp_getsockopt(struct socket *sock, int level, int optname,
		   char __user *optval, int __user *optlen)
{
	struct kcp_sock *ks = kcp_sk(sock->sk);
	union {
		struct kcp_info info;
		struct kcp_nodelay nd;
		struct kcp_crypto kc;
		int val;
	} u;
	int len, n;

	if (level != SOL_KCP && !kcp_is_tos_opt(level, optname))
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if (level != SOL_KCP) {
		n = READ_ONCE(ks->tos);
		if (len < sizeof(int))
			return -EINVAL;
		if (put_user(sizeof(int), optlen) ||
		    copy_to_user(optval, &n, sizeof(int)))
			return -EFAULT;
		return 0;
	}
	lock_sock(&ks->sk);
	n = kcp_get_value(ks, optname, &u);
	release_sock(&ks->sk);
	if (n < 0)
		return n;
	/* KCP_INFO may be read short, like TCP_INFO; scalars may not */
	if (optname != KCP_INFO && len < n)
		return -EINVAL;
	len = min(len, n);
	if (put_user(len, optlen) || copy_to_user(optval, &u, len))
		return -EFAULT;
	return 0;
}
