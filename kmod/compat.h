/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference the module meets lives here, so no
 * other file tests LINUX_VERSION_CODE. Supported: 6.1, 6.12 (also -rt)
 * and 7.x.
 *
 * The rest of the module is written against the newest kernel's API.
 * What an older kernel lacks is provided here under its upstream name
 * and signature (as WireGuard's compat layer does), so that dropping an
 * old kernel means deleting its blocks here, and nothing else. Where an
 * ops method changed its signature, an adapter with the old one calls the
 * new-style function. Only where an upstream name is impossible or would
 * mislead is there a kcp_ helper instead, with the reason next to it.
 */
#ifndef _KCP_COMPAT_H
#define _KCP_COMPAT_H

#include <linux/version.h>
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/net.h>
#include <net/sock.h>
#include <net/udp_tunnel.h>

/* sk_memory_allocated() and friends moved out of sock.h in 6.10 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#include <net/proto_memory.h>
#endif

/*
 * proto_ops->accept takes a struct proto_accept_arg since 6.10, where it
 * took flags and kern. Before 6.10 the struct is provided here, and an
 * adapter with the old signature calls the new-style function:
 * KCP_ACCEPT_ADAPTER(fn) after fn defines it, KCP_ACCEPT_OP(fn) names it
 * in the ops table (just fn on 6.10 and later). A function cannot be
 * given both signatures under one name, hence the kcp_ macros.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 10, 0)
struct proto_accept_arg {
	int flags;
	int err;
	int is_empty;
	bool kern;
};

#define KCP_ACCEPT_ADAPTER(fn)						\
static int fn##_compat(struct socket *sock, struct socket *newsock,	\
		       int flags, bool kern)				\
{									\
	struct proto_accept_arg arg = { .flags = flags, .kern = kern };	\
									\
	return fn(sock, newsock, &arg);					\
}
#define KCP_ACCEPT_OP(fn)	fn##_compat
#else
#define KCP_ACCEPT_ADAPTER(fn)
#define KCP_ACCEPT_OP(fn)	fn
#endif

/*
 * ->sendpage went away in 6.5 (splice now arrives through sendmsg with
 * MSG_SPLICE_PAGES, which a copying sendmsg handles). Before that,
 * sock_no_sendpage turns sendfile() into sendmsg() for us. There is no
 * newer API to write against, only a member to leave out: the ops table
 * names this initializer, empty since 6.5.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
#define KCP_PROTO_OPS_SENDPAGE	.sendpage = sock_no_sendpage,
#else
#define KCP_PROTO_OPS_SENDPAGE
#endif

/* hrtimer_setup() replaced hrtimer_init() in 6.13 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
static inline void hrtimer_setup(struct hrtimer *timer,
				 enum hrtimer_restart (*function)(struct hrtimer *),
				 clockid_t clock_id, enum hrtimer_mode mode)
{
	hrtimer_init(timer, clock_id, mode);
	timer->function = function;
}
#endif

/*
 * setup_udp_tunnel_sock() and udp_tunnel_sock_release() take the struct
 * sock instead of the struct socket since 7.2, and stable 7.1.5 took the
 * change along (7.1.4 still has the old ones); some distribution 7.0
 * kernels have only the setup_udp_tunnel_sock() half. No version test can
 * tell, so look at the declaration: __builtin_choose_expr() hands the
 * function the argument of the type it takes (the other is discarded).
 * These stay kcp_ helpers taking the struct socket: the upstream names
 * cannot be redefined for one signature when the kernel may have either,
 * and a caller passing a struct sock to "setup_udp_tunnel_sock()" on a
 * kernel that takes a socket would read as a bug.
 */
#define KCP_SK_OR_SOCK(fn, sk_type, sock)				\
	__builtin_choose_expr(						\
		__builtin_types_compatible_p(typeof(&(fn)), sk_type),	\
		(sock)->sk, (sock))

static inline void kcp_udp_tunnel_sock_release(struct socket *sock)
{
	udp_tunnel_sock_release(KCP_SK_OR_SOCK(udp_tunnel_sock_release,
					       void (*)(struct sock *), sock));
}

static inline void kcp_setup_udp_tunnel_sock(struct net *net,
					     struct socket *sock,
					     struct udp_tunnel_sock_cfg *cfg)
{
	setup_udp_tunnel_sock(net,
		KCP_SK_OR_SOCK(setup_udp_tunnel_sock,
			       void (*)(struct net *, struct sock *,
					struct udp_tunnel_sock_cfg *), sock),
		cfg);
}

/*
 * ICMP errors for tunnel sockets reach ->encap_err_rcv. Since 6.2 it gets
 * the converted errno, the quoted destination port, the ICMP info and a
 * pointer to the quoted UDP payload; 6.1 passes only the offset of the
 * quoted UDP header from skb->data. There, KCP_ENCAP_ERR_RCV_ADAPTER(fn)
 * after fn defines an adapter with 6.1's signature that finds the payload
 * and port and passes 0 for the errno and info, which 6.1's caller does
 * not work out (kcp reads the ICMP header itself);
 * KCP_ENCAP_ERR_RCV_OP(fn) names it (just fn on 6.2 and later). One name
 * cannot carry both signatures, hence the kcp_ macros.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define KCP_ENCAP_ERR_RCV_ADAPTER(fn)					\
static void fn##_compat(struct sock *sk, struct sk_buff *skb,		\
			unsigned int udp_offset)			\
{									\
	struct udphdr *uh = (struct udphdr *)(skb->data + udp_offset);	\
									\
	fn(sk, skb, 0, uh->dest, 0, (u8 *)(uh + 1));			\
}
#define KCP_ENCAP_ERR_RCV_OP(fn)	fn##_compat
#else
#define KCP_ENCAP_ERR_RCV_ADAPTER(fn)
#define KCP_ENCAP_ERR_RCV_OP(fn)	fn
#endif

/*
 * Per-namespace sysctl tables: register_net_sysctl_sz() (6.6) takes the
 * entry count; before it the table ends with an empty sentinel entry,
 * which callers always provide.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 6, 0)
static inline struct ctl_table_header *
register_net_sysctl_sz(struct net *net, const char *path,
		       struct ctl_table *table, size_t table_size)
{
	return register_net_sysctl(net, path, table);
}
#endif

/*
 * The socket's owner uid: sk_uid() (a lockless read) replaced
 * sock_i_uid() (under sk_callback_lock) in 6.16.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 16, 0)
static inline kuid_t sk_uid(const struct sock *sk)
{
	return sock_i_uid((struct sock *)sk);
}
#endif

/* MODULE_IMPORT_NS() takes the namespace as a string since 6.13 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
#undef MODULE_IMPORT_NS
#define MODULE_IMPORT_NS(ns)	MODULE_INFO(import_ns, ns)
#endif

/*
 * proto_ops->bind/->connect, kernel_bind() and kernel_connect() take a
 * struct sockaddr_unsized since 6.19 (->getname and kernel_getsockname()
 * keep struct sockaddr). Before, they take a struct sockaddr.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 19, 0)
#define sockaddr_unsized	sockaddr
#endif

/*
 * udp_tunnel_xmit_skb() and udp_tunnel6_xmit_skb() take IPCB/IP6CB flags
 * for the transmitted skb as a last argument since 6.17. Older kernels
 * have no flags to set (pass 0): same-named macros drop the argument and
 * call the function (a macro's name is not expanded again in its own
 * expansion). <net/udp_tunnel.h> is included above, before them.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 17, 0)
#define udp_tunnel_xmit_skb(rt, sk, skb, src, dst, tos, ttl, df,	\
			    src_port, dst_port, xnet, nocheck,		\
			    ipcb_flags)					\
	udp_tunnel_xmit_skb(rt, sk, skb, src, dst, tos, ttl, df,	\
			    src_port, dst_port, xnet, nocheck)
#define udp_tunnel6_xmit_skb(dst, sk, skb, dev, saddr, daddr, prio,	\
			     ttl, label, src_port, dst_port, nocheck,	\
			     ip6cb_flags)				\
	udp_tunnel6_xmit_skb(dst, sk, skb, dev, saddr, daddr, prio,	\
			     ttl, label, src_port, dst_port, nocheck)
#endif

/*
 * ipv6_stub (<net/ipv6_stubs.h>) is gone in 7.x, where IPv6 can no longer
 * be a module; call ip6_dst_lookup_flow() there. Before, go through the
 * stub as the in-tree UDP tunnels do (the module then loads without ipv6).
 * (A version test, not __has_include(): sparse does not know the latter.)
 * A kcp_ helper, not a redefined ip6_dst_lookup_flow(): older kernels
 * have that function too, and calling it directly is exactly what would
 * tie the module to ipv6.ko.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0)
#include <net/ipv6_stubs.h>
#define KCP_HAVE_IPV6_STUB	1
#else
#define KCP_HAVE_IPV6_STUB	0
#endif
#include <net/ipv6.h>

static inline struct dst_entry *
kcp_ip6_dst_lookup_flow(struct net *net, const struct sock *sk,
			struct flowi6 *fl6, const struct in6_addr *final_dst)
{
#if KCP_HAVE_IPV6_STUB
	return ipv6_stub->ipv6_dst_lookup_flow(net, sk, fl6, final_dst);
#else
	return ip6_dst_lookup_flow(net, sk, fl6, final_dst);
#endif
}

/*
 * crc32_le() is arch-accelerated (PCLMULQDQ on x86) since 6.14. Before,
 * it is table-driven C, eight loads per eight bytes, and the crypto API's
 * "crc32" shash is the fast one where a driver such as crc32-pclmul is
 * loaded. Not an API difference, hence a kcp_ name.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0)
#define KCP_CRC32_LIB_FAST	1
#else
#define KCP_CRC32_LIB_FAST	0
#endif

/*
 * Sum of one per-cpu SNMP counter. snmp_fold_field() is declared but no
 * longer exported on 7.2 (modpost: undefined), so fold it here, as it
 * always did, from the inline snmp_get_cpu_field(). Under its own name:
 * the kernel still declares snmp_fold_field(), so it cannot be provided
 * again, and there is no version to test (the export went, not the API).
 */
#include <net/ip.h>
static inline unsigned long kcp_snmp_fold_field(void __percpu *mib, int offt)
{
	unsigned long res = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		res += snmp_get_cpu_field(mib, cpu, offt);
	return res;
}

#endif /* _KCP_COMPAT_H */
