// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel UDP socket under AF_KCP sockets: creation on bind,
 * connect or listen, the encap receive hook (softirq), ICMP errors, and
 * transmit of datagrams built by the engine straight into skbs, with the
 * route cached in the KCP socket (sk_dst_cache) as TCP caches its own.
 */
#include <linux/udp.h>
#include <linux/ipv6.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ip6_route.h>
#include <net/route.h>
#include <net/udp.h>
#include <net/udp_tunnel.h>
#include <net/icmp.h>

#include "compat.h"
#include "kcp.h"

/* The UDP encapsulation type: any non-zero value marks a tunnel socket. */
#define KCP_ENCAP_TYPE	1

u32 kcp_tunnel_headroom(void)
{
	return LL_MAX_HEADER + sizeof(struct ipv6hdr) + sizeof(struct udphdr);
}

static void kcp_key_from_skb(struct kcp_key *key, struct sk_buff *skb)
{
	memset(key, 0, sizeof(*key));
	key->port = udp_hdr(skb)->source;
	if (ip_hdr(skb)->version == 4) {
		key->family = AF_INET;
		key->addr[0] = ip_hdr(skb)->saddr;
	} else {
		key->family = AF_INET6;
		memcpy(key->addr, &ipv6_hdr(skb)->saddr, sizeof(key->addr));
	}
}

/* Softirq, under RCU: every datagram for every session of this socket. */
static int kcp_encap_rcv(struct sock *usk, struct sk_buff *skb)
{
	struct kcp_tunnel *tun = rcu_dereference_sk_user_data(usk);
	struct kcp_key from;

	if (unlikely(!tun) || !pskb_may_pull(skb, sizeof(struct udphdr))) {
		kfree_skb(skb);
		return 0;
	}
	kcp_key_from_skb(&from, skb);
	__skb_pull(skb, sizeof(struct udphdr));
	kcp_demux_rcv(tun, skb, &from);
	return 0;
}

/* The peer of a datagram of ours quoted in an ICMP error. */
static void kcp_key_from_quote(struct kcp_key *key, const void *nh,
			       const struct udphdr *uh)
{
	const struct iphdr *iph = nh;

	memset(key, 0, sizeof(*key));
	key->port = uh->dest;
	if (iph->version == 4) {
		key->family = AF_INET;
		key->addr[0] = iph->daddr;
	} else {
		key->family = AF_INET6;
		memcpy(key->addr, &((const struct ipv6hdr *)nh)->daddr,
		       sizeof(key->addr));
	}
}

/* Quoted bytes that name a session: crypto header, FEC header, conv. */
#define KCP_ICMP_QUOTE	(KCP_CRYPT_HDR_LEN + KCP_FEC_HDR + sizeof(u32))

/*
 * Whether the datagram quoted at @off in @skb was sent by @ks. Anyone who
 * knows a session's addresses and ports can forge an ICMP error around
 * them; the random conv (under the tunnel's cipher) is what an attacker
 * off the path does not know. A parity shard, or a quote too short to
 * reach the conv (RFC 792 asks for 8 bytes only), proves nothing.
 */
static bool kcp_icmp_quotes(struct kcp_sock *ks, struct sk_buff *skb, int off)
{
	/* pairs with the release in kcp_sk_crypto(): a whole context */
	const struct kcp_crypto_ctx *crypt = smp_load_acquire(&ks->tun->crypt);
	u32 len = kcp_sk_header_len(ks) + sizeof(u32);
	u8 buf[KCP_ICMP_QUOTE], plain[KCP_ICMP_QUOTE];
	const u8 *p;
	int hdr;

	if (off < 0 || len > sizeof(buf) || skb->len < off + len)
		return false;
	p = skb_header_pointer(skb, off, len, buf);
	if (!p)
		return false;
	if (crypt) {
		hdr = kcp_crypto_peek(crypt, p, len, plain);
		if (hdr < 0)
			return false;
		p = plain + hdr;
	}
	if (ks->opts.fec_data && ks->opts.fec_parity) {
		if (kcp_get_le16(p + 4) != KCP_FEC_TYPE_DATA)
			return false;
		p += KCP_FEC_HDR;
	}
	return kcp_get_le32(p) == ks->kcp.conv;
}

/*
 * ICMP unreachable for a datagram we sent to @peer, quoted at @off. A
 * connected (client) socket has one session; for a listener the quoted
 * header names the peer.
 */
static void kcp_icmp_deliver(struct kcp_tunnel *tun, const struct kcp_key *peer,
			     int err, struct sk_buff *skb, int off)
{
	struct kcp_sock *ks;
	struct sock *sk;
	bool ours;

	KCP_INC_STATS(tun->net, KCP_MIB_ICMP_ERRORS);
	ks = kcp_demux_lookup(tun, peer);
	if (!ks)
		return;
	sk = &ks->sk;
	bh_lock_sock(sk);
	ours = kcp_icmp_quotes(ks, skb, off);
	if (!ours)
		KCP_INC_STATS(tun->net, KCP_MIB_ICMP_UNVERIFIED);
	/*
	 * Before the peer was ever heard, as TCP in SYN-SENT: reported once
	 * through the next call (and EPOLLERR); the session goes on, so no
	 * data is lost because of it. Once the peer answered, an ICMP error
	 * (forged, or a peer restarting) is only remembered for SO_ERROR and
	 * for the reason a dead link gives, as TCP's soft errors. A closed
	 * socket still sending its last data to a port that is gone has
	 * nobody left to deliver to: it ends now instead of at dead link.
	 * Only an error that quotes the session's own datagram is more than
	 * a soft error.
	 */
	if (sk->sk_state == KCP_SYN_SENT && ours) {
		/* connect() fails, as TCP's does in SYN-SENT */
		WRITE_ONCE(sk->sk_err_soft, err);
		set_bit(KCP_F_SYN_ERR, &ks->flags);
		if (!sock_owned_by_user(sk))
			kcp_sk_tick(ks);
		else if (!test_and_set_bit(KCP_F_TIMER_DEFERRED, &ks->flags))
			sock_hold(sk);
	} else if (sk->sk_state == KCP_ESTABLISHED && ks->kcp.ext && ours &&
		   err == ECONNREFUSED && !sock_owned_by_user(sk)) {
		/*
		 * A peer that speaks the extension ends with FIN or RST: its
		 * port gone means a lost RST, or a lost ACK of its FIN after
		 * all was said both ways.
		 */
		bool clean = ks->kcp.fin_rcvd && !kcp_waitsnd(&ks->kcp);

		if (!clean)
			KCP_INC_STATS(tun->net, KCP_MIB_IN_RST);
		kcp_sk_done(ks, clean ? 0 : ECONNRESET);
	} else if (sk->sk_state == KCP_ESTABLISHED && !ks->st.in_pkts && ours) {
		WRITE_ONCE(sk->sk_err, err);
		sk_error_report(sk);
	} else if (sk->sk_state == KCP_ESTABLISHED) {
		WRITE_ONCE(sk->sk_err_soft, err);
	} else if (sk->sk_state == KCP_LINGER && err == ECONNREFUSED && ours &&
		   !sock_owned_by_user(sk)) {
		kcp_sk_done(ks, 0);
	}
	bh_unlock_sock(sk);
	sock_put(sk);
}

static int kcp_icmp4_errno(struct sk_buff *skb)
{
	int type = icmp_hdr(skb)->type, code = icmp_hdr(skb)->code;

	if (type != ICMP_DEST_UNREACH)
		return 0;
	if (code == ICMP_PORT_UNREACH)
		return -ECONNREFUSED;
	if (code == ICMP_FRAG_NEEDED)
		return 0;
	return -EHOSTUNREACH;
}

static int kcp_icmp6_errno(struct sk_buff *skb)
{
	int type = icmp6_hdr(skb)->icmp6_type;
	int code = icmp6_hdr(skb)->icmp6_code;

	if (type != ICMPV6_DEST_UNREACH)
		return 0;
	return code == ICMPV6_PORT_UNREACH ? -ECONNREFUSED : -EHOSTUNREACH;
}

/*
 * Called with skb->data at the IP header we sent (inside the ICMP
 * message), the transport header still at the ICMP header. The UDP
 * layer located the quoted UDP header (past IPv6 extension headers):
 * @payload follows it. The errno comes from the ICMP header, not @err.
 */
static void kcp_encap_err_rcv(struct sock *sk, struct sk_buff *skb, int err,
			      __be16 port, u32 info, u8 *payload)
{
	struct kcp_tunnel *tun = rcu_dereference_sk_user_data(sk);
	const struct udphdr *uh = (struct udphdr *)payload - 1;
	struct kcp_key peer;
	int e;

	if (!tun)
		return;
	if (((struct iphdr *)skb->data)->version == 4)
		e = kcp_icmp4_errno(skb);
	else
		e = kcp_icmp6_errno(skb);
	kcp_key_from_quote(&peer, skb->data, uh);
	if (e)
		kcp_icmp_deliver(tun, &peer, -e, skb,
				 (const u8 *)(uh + 1) - skb->data);
}

KCP_ENCAP_ERR_RCV_ADAPTER(kcp_encap_err_rcv)

/*
 * Claim an ICMP error (return 0) only for a datagram to one of our
 * sessions' peers; otherwise the UDP layer offers it to other tunnels.
 * The network header is at the quoted IP header, the transport header
 * at the quoted UDP header.
 */
static int kcp_encap_err_lookup(struct sock *sk, struct sk_buff *skb)
{
	struct kcp_tunnel *tun = rcu_dereference_sk_user_data(sk);
	struct kcp_sock *ks;
	struct kcp_key peer;

	if (!tun)
		return -ENOENT;
	kcp_key_from_quote(&peer, skb_network_header(skb), udp_hdr(skb));
	ks = kcp_demux_lookup(tun, &peer);
	if (!ks)
		return -ENOENT;
	sock_put(&ks->sk);
	return 0;
}

/*
 * Every tunnel is listed per namespace, so that a socket binding with
 * SO_REUSEADDR to the address of a listener that is gone can take over
 * its UDP socket: the old sessions (and time-wait tombstones) live on
 * there, and a restarted server must not fail with EADDRINUSE because of
 * them (TCP's SO_REUSEADDR with TIME_WAIT, in KCP terms).
 */
void kcp_tunnel_register(struct kcp_tunnel *tun)
{
	struct kcp_net *kn = kcp_pernet(tun->net);

	mutex_lock(&kn->tun_lock);
	list_add(&tun->node, &kn->tunnels);
	mutex_unlock(&kn->tun_lock);
}

static void kcp_tunnel_unregister(struct kcp_tunnel *tun)
{
	struct kcp_net *kn = kcp_pernet(tun->net);

	mutex_lock(&kn->tun_lock);
	list_del(&tun->node);
	mutex_unlock(&kn->tun_lock);
}

/*
 * One listener per UDP socket. Two sockets may have adopted the same
 * tunnel (SO_REUSEADDR, both bound before either listened): the second
 * listen() fails instead of silently taking the first one's children.
 * Taken and dropped under tun_lock, which also orders them against
 * kcp_tunnel_adopt()'s test for a listener.
 */
int kcp_tunnel_set_listener(struct kcp_tunnel *tun, struct kcp_sock *ks)
{
	struct kcp_net *kn = kcp_pernet(tun->net);
	struct kcp_sock *cur;
	int err = 0;

	mutex_lock(&kn->tun_lock);
	cur = rcu_dereference_protected(tun->listener,
					lockdep_is_held(&kn->tun_lock));
	if (cur && cur != ks)
		err = -EADDRINUSE;
	else
		rcu_assign_pointer(tun->listener, ks);
	mutex_unlock(&kn->tun_lock);
	return err;
}

/* @ks stops listening: unhook it, unless another socket is the listener. */
void kcp_tunnel_clear_listener(struct kcp_tunnel *tun, struct kcp_sock *ks)
{
	struct kcp_net *kn = kcp_pernet(tun->net);

	mutex_lock(&kn->tun_lock);
	if (rcu_access_pointer(tun->listener) == ks)
		RCU_INIT_POINTER(tun->listener, NULL);
	mutex_unlock(&kn->tun_lock);
}

/* A listener-less tunnel bound to exactly @local, same owner; or NULL. */
struct kcp_tunnel *kcp_tunnel_adopt(struct net *net, const struct sock *owner,
				    const union kcp_sockaddr *local)
{
	struct kcp_net *kn = kcp_pernet(net);
	kuid_t uid = sk_uid(owner);
	struct kcp_tunnel *tun, *found = NULL;
	struct kcp_key want, have;
	union kcp_sockaddr sa;

	kcp_key_from_sockaddr(&want, local);
	if (!want.port)
		return NULL;
	mutex_lock(&kn->tun_lock);
	list_for_each_entry(tun, &kn->tunnels, node) {
		if (tun->connected || rcu_access_pointer(tun->listener) ||
		    !uid_eq(tun->uid, uid) || !tun->was_listener ||
		    tun->port != want.port)
			continue;
		if (kcp_tunnel_local(tun, &sa))
			continue;
		kcp_key_from_sockaddr(&have, &sa);
		if (memcmp(&have, &want, sizeof(want)))
			continue;
		if (refcount_inc_not_zero(&tun->refcnt))
			found = tun;
		break;
	}
	mutex_unlock(&kn->tun_lock);
	return found;
}

static void kcp_tunnel_free_work(struct work_struct *work)
{
	struct kcp_tunnel *tun = container_of(work, struct kcp_tunnel,
					      free_work);

	kcp_tunnel_unregister(tun);
	kcp_udp_tunnel_sock_release(tun->sock);
	kcp_demux_destroy(tun);
	kcp_crypto_free(tun->crypt);
	memzero_explicit(tun->key, sizeof(tun->key));
	put_net(tun->net);
	kfree(tun);
}

/*
 * The last reference can go in softirq (a socket freed from its timer or
 * from RCU); releasing a socket may sleep, so it is done from a work item.
 */
void kcp_tunnel_put(struct kcp_tunnel *tun)
{
	if (!refcount_dec_and_test(&tun->refcnt))
		return;
	/* no new datagrams reach a tunnel nobody holds */
	rcu_assign_sk_user_data(tun->sock->sk, NULL);
	queue_work(kcp_wq, &tun->free_work);
}

/*
 * The UDP socket, bound, with the AF_KCP socket's standard options that
 * concern it: SO_BINDTODEVICE, SO_MARK and SO_REUSEPORT. Like
 * udp_sock_create(), but the options must be set before bind(). The
 * kernel socket takes the owner's uid, so a reuseport group only ever
 * joins sockets of one user, as for user UDP sockets.
 */
static int kcp_udp_socket(struct net *net, const struct sock *owner,
			  const union kcp_sockaddr *local,
			  struct socket **sockp)
{
	int len = local->family == AF_INET ? sizeof(local->v4) :
					     sizeof(local->v6);
	struct socket *sock;
	struct sock *sk;
	int err;

	err = sock_create_kern(net, local->family, SOCK_DGRAM, 0, &sock);
	if (err)
		return err;
	sk = sock->sk;
	if (local->family == AF_INET6) {
		/* v4 peers would need v4 routes for this socket: not mixed */
		err = ip6_sock_set_v6only(sk);
		if (err)
			goto fail;
	}
	kcp_sk_set_uid(sk, sk_uid(owner));
	sk->sk_mark = owner->sk_mark;
	sk->sk_bound_dev_if = owner->sk_bound_dev_if;
	sk->sk_reuseport = owner->sk_reuseport;
	err = kernel_bind(sock, (struct sockaddr_unsized *)local, len);
	if (err)
		goto fail;
	*sockp = sock;
	return 0;
fail:
	kernel_sock_shutdown(sock, SHUT_RDWR);
	sock_release(sock);
	return err;
}

int kcp_tunnel_create(struct net *net, const struct sock *owner,
		      const union kcp_sockaddr *local,
		      struct kcp_tunnel **tunp)
{
	struct udp_tunnel_sock_cfg tcfg = { };
	struct kcp_tunnel *tun;
	union kcp_sockaddr sa;
	int err;

	tun = kzalloc(sizeof(*tun), GFP_KERNEL);
	if (!tun)
		return -ENOMEM;
	err = kcp_demux_init(tun);
	if (err)
		goto err_free;
	err = kcp_udp_socket(net, owner, local, &tun->sock);
	if (err)
		goto err_demux;
	refcount_set(&tun->refcnt, 1);
	tun->net = get_net(net);
	tun->family = local->family;
	INIT_WORK(&tun->free_work, kcp_tunnel_free_work);
	kcp_tunnel_local(tun, &sa);
	tun->port = sa.family == AF_INET ? sa.v4.sin_port : sa.v6.sin6_port;

	tcfg.sk_user_data = tun;
	tcfg.encap_type = KCP_ENCAP_TYPE;
	tcfg.encap_rcv = kcp_encap_rcv;
	tcfg.encap_err_lookup = kcp_encap_err_lookup;
	tcfg.encap_err_rcv = KCP_ENCAP_ERR_RCV_OP(kcp_encap_err_rcv);
	kcp_setup_udp_tunnel_sock(net, tun->sock, &tcfg);
	tun->uid = sk_uid(owner);
	kcp_tunnel_register(tun);
	*tunp = tun;
	return 0;

err_demux:
	kcp_demux_destroy(tun);
err_free:
	kfree(tun);
	return err;
}

int kcp_tunnel_connect(struct kcp_tunnel *tun, const union kcp_sockaddr *peer)
{
	int len = peer->family == AF_INET ? sizeof(peer->v4) : sizeof(peer->v6);
	int err;

	err = kernel_connect(tun->sock, (struct sockaddr_unsized *)peer, len, 0);
	if (!err)
		tun->connected = true;
	return err;
}

int kcp_tunnel_local(struct kcp_tunnel *tun, union kcp_sockaddr *addr)
{
	int len;

	memset(addr, 0, sizeof(*addr));
	/* the address length on success, as every ->getname() */
	len = kernel_getsockname(tun->sock, (struct sockaddr *)addr);
	return len < 0 ? len : 0;
}

static struct rtable *kcp_route4(struct kcp_sock *ks, struct sock *usk)
{
	struct dst_entry *dst = __sk_dst_check(&ks->sk, 0);
	struct flowi4 fl4;
	struct rtable *rt;

	if (dst)
		return (struct rtable *)dst_clone(dst);
	memset(&fl4, 0, sizeof(fl4));
	fl4.daddr = ks->key.addr[0];
	fl4.saddr = ks->local.v4.sin_addr.s_addr ?: inet_sk(usk)->inet_saddr;
	fl4.flowi4_oif = usk->sk_bound_dev_if;
	fl4.flowi4_mark = ks->sk.sk_mark;
	/* ip rule uidrange: the AF_KCP socket's owner, not the kernel's */
	fl4.flowi4_uid = sk_uid(&ks->sk);
	fl4.flowi4_proto = IPPROTO_UDP;
	fl4.fl4_sport = ks->tun->port;
	fl4.fl4_dport = ks->key.port;
	rt = ip_route_output_key(sock_net(usk), &fl4);
	if (IS_ERR(rt))
		return rt;
	ks->saddr4 = fl4.saddr;
	sk_dst_set(&ks->sk, dst_clone(&rt->dst));
	return rt;
}

static int kcp_xmit4(struct kcp_sock *ks, struct sock *usk,
		     struct sk_buff *skb)
{
	struct rtable *rt = kcp_route4(ks, usk);

	if (IS_ERR(rt)) {
		kfree_skb(skb);
		return PTR_ERR(rt);
	}
	udp_tunnel_xmit_skb(rt, usk, skb, ks->saddr4, ks->key.addr[0],
			    READ_ONCE(ks->tos), ip4_dst_hoplimit(&rt->dst), 0,
			    ks->tun->port, ks->key.port, false, false, 0);
	return 0;
}

#if IS_ENABLED(CONFIG_IPV6)
static struct dst_entry *kcp_route6(struct kcp_sock *ks, struct sock *usk)
{
	struct dst_entry *dst = __sk_dst_check(&ks->sk, ks->dst_cookie);
	struct flowi6 fl6;

	if (dst)
		return dst_clone(dst);
	memset(&fl6, 0, sizeof(fl6));
	memcpy(&fl6.daddr, ks->key.addr, sizeof(fl6.daddr));
	fl6.saddr = ipv6_addr_any(&ks->local.v6.sin6_addr) ?
		    usk->sk_v6_rcv_saddr : ks->local.v6.sin6_addr;
	fl6.flowi6_oif = usk->sk_bound_dev_if;
	fl6.flowi6_mark = ks->sk.sk_mark;
	fl6.flowi6_uid = sk_uid(&ks->sk);
	fl6.flowi6_proto = IPPROTO_UDP;
	fl6.fl6_sport = ks->tun->port;
	fl6.fl6_dport = ks->key.port;
	dst = kcp_ip6_dst_lookup_flow(sock_net(usk), usk, &fl6, NULL);
	if (IS_ERR(dst))
		return dst;
	ks->saddr6 = fl6.saddr;
	ks->dst_cookie = rt6_get_cookie((struct rt6_info *)dst);
	sk_dst_set(&ks->sk, dst_clone(dst));
	return dst;
}

static int kcp_xmit6(struct kcp_sock *ks, struct sock *usk,
		     struct sk_buff *skb)
{
	struct dst_entry *dst = kcp_route6(ks, usk);
	struct in6_addr daddr;

	if (IS_ERR(dst)) {
		kfree_skb(skb);
		return PTR_ERR(dst);
	}
	memcpy(&daddr, ks->key.addr, sizeof(daddr));
	skb->ignore_df = 1;
	/* dev NULL: no tunnel netdev to count statistics on */
	udp_tunnel6_xmit_skb(dst, usk, skb, NULL, &ks->saddr6, &daddr,
			     READ_ONCE(ks->tos), ip6_dst_hoplimit(dst), 0,
			     ks->tun->port, ks->key.port, false, 0);
	return 0;
}
#else
static int kcp_xmit6(struct kcp_sock *ks, struct sock *usk,
		     struct sk_buff *skb)
{
	kfree_skb(skb);
	return -EAFNOSUPPORT;
}
#endif

/*
 * Send one finished datagram to the session's peer. Never sleeps.
 *
 * Called in softirq (receive, timer) and in process context (sendmsg and
 * friends flush under the socket lock). The UDP tunnel helpers expect
 * bottom halves off, as in a netdev's ndo_start_xmit: recent kernels
 * (7.x, 6.12.y) have iptunnel_xmit() and ip6tunnel_xmit() count their
 * nesting with __this_cpu_inc()/__this_cpu_dec() and drop everything on a
 * CPU whose count passed the limit. A task preempted and migrated between
 * the two leaves one CPU's count raised for good, and every later
 * datagram sent from that CPU silently disappears (seen on sid's 7.2,
 * PREEMPT_LAZY: sessions died of "lost" segments on loopback).
 */
int kcp_tunnel_xmit(struct kcp_sock *ks, struct sk_buff *skb)
{
	struct sock *usk = ks->tun->sock->sk;
	int err;

	skb->mark = ks->sk.sk_mark;
	skb->priority = ks->sk.sk_priority;
	/*
	 * The AF_KCP socket owns its datagrams, as a UDP socket owns its
	 * own: netfilter's owner and meta skuid matches see the program,
	 * not the kernel UDP socket, and the socket (with the module) stays
	 * until its last datagram has left a queue of this host.
	 */
	skb_set_owner_w(skb, &ks->sk);
	local_bh_disable();
	if (ks->key.family == AF_INET)
		err = kcp_xmit4(ks, usk, skb);
	else
		err = kcp_xmit6(ks, usk, skb);
	local_bh_enable();
	if (err)
		KCP_INC_STATS(sock_net(&ks->sk), KCP_MIB_OUT_NO_ROUTE);
	return err;
}
