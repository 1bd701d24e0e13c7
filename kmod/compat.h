/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference the module meets lives here, so no
 * other file tests LINUX_VERSION_CODE. Supported: 6.1, 6.12 (also -rt)
 * and 7.x.
 */
#ifndef _KCP_COMPAT_H
#define _KCP_COMPAT_H

#include <linux/version.h>
#include <linux/hrtimer.h>
#include <linux/net.h>
#include <net/sock.h>
#include <net/udp_tunnel.h>

/* proto_ops->accept: flags/kern arguments became struct proto_accept_arg */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define KCP_ACCEPT_ARGS		struct proto_accept_arg *arg
#define KCP_ACCEPT_FLAGS	(arg->flags)
#define KCP_ACCEPT_KERN		(arg->kern)
#else
#define KCP_ACCEPT_ARGS		int flags, bool kern
#define KCP_ACCEPT_FLAGS	(flags)
#define KCP_ACCEPT_KERN		(kern)
#endif

/*
 * ->sendpage went away in 6.5 (splice now arrives through sendmsg with
 * MSG_SPLICE_PAGES, which a copying sendmsg handles). Before that,
 * sock_no_sendpage turns sendfile() into sendmsg() for us.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
#define KCP_PROTO_OPS_SENDPAGE	.sendpage = sock_no_sendpage,
#else
#define KCP_PROTO_OPS_SENDPAGE
#endif

/* hrtimer_init() was replaced by hrtimer_setup() in 6.13 */
static inline void kcp_hrtimer_setup(struct hrtimer *t,
				     enum hrtimer_restart (*fn)(struct hrtimer *),
				     clockid_t clock, enum hrtimer_mode mode)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
	hrtimer_setup(t, fn, clock, mode);
#else
	hrtimer_init(t, clock, mode);
	t->function = fn;
#endif
}

/* udp_tunnel_sock_release() takes the struct sock since 6.18 */
static inline void kcp_udp_tunnel_sock_release(struct socket *sock)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0)
	udp_tunnel_sock_release(sock->sk);
#else
	udp_tunnel_sock_release(sock);
#endif
}

/*
 * ICMP errors for tunnel sockets reach ->encap_err_rcv. 6.1 passes the
 * offset of the embedded UDP header; later kernels pass the converted
 * errno, the destination port and a pointer to the UDP payload.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define KCP_ENCAP_ERR_RCV_ARGS	struct sock *sk, struct sk_buff *skb, int err, \
				__be16 port, u32 info, u8 *payload
#define KCP_ENCAP_ERR_NEW	1
#else
#define KCP_ENCAP_ERR_RCV_ARGS	struct sock *sk, struct sk_buff *skb, \
				unsigned int udp_offset
#define KCP_ENCAP_ERR_NEW	0
#endif

/*
 * Per-namespace sysctl tables: register_net_sysctl_sz() (6.6) takes the
 * entry count; before it the table ends with an empty sentinel entry,
 * which callers always provide.
 */
static inline struct ctl_table_header *
kcp_register_net_sysctl(struct net *net, const char *path,
			struct ctl_table *table, size_t n)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	return register_net_sysctl_sz(net, path, table, n);
#else
	return register_net_sysctl(net, path, table);
#endif
}

/* The socket's owner uid: sk_uid() replaced sock_i_uid() in 6.16 */
static inline kuid_t kcp_sk_uid(struct sock *sk)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 16, 0)
	return sk_uid(sk);
#else
	return sock_i_uid(sk);
#endif
}

/* The crypto_cipher API is in the CRYPTO_INTERNAL symbol namespace;
 * MODULE_IMPORT_NS() takes a string since 6.13.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define KCP_IMPORT_CRYPTO_NS	MODULE_IMPORT_NS("CRYPTO_INTERNAL")
#else
#define KCP_IMPORT_CRYPTO_NS	MODULE_IMPORT_NS(CRYPTO_INTERNAL)
#endif

/* sk_alloc()'s kern argument decides whether the socket pins its netns */
#define KCP_SK_ALLOC_USER	0

#endif /* _KCP_COMPAT_H */
