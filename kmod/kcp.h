/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal declarations shared by the module's files. The protocol engine,
 * FEC codec and ciphers (core/) are kernel independent; everything here is
 * kernel glue.
 */
#ifndef _KCP_H
#define _KCP_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/rhashtable-types.h>
#include <linux/hrtimer.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/snmp.h>
#include <net/netns/generic.h>
#include <linux/kcp.h>

#include "core/kcp_engine.h"
#include "core/kcp_fec.h"
#include "core/kcp_cipher.h"

struct kcp_tunnel;
struct kcp_fec_state;
struct kcp_crypto_ctx;

/* Peer endpoint in a form that hashes without padding bytes. */
struct kcp_key {
	__be32 addr[4];		/* IPv4 uses addr[0] only */
	__be16 port;
	u16 family;		/* AF_INET or AF_INET6 */
};

union kcp_sockaddr {
	sa_family_t family;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

/* Per-socket settings; a listener's are copied into each child. */
struct kcp_opts {
	s32 nodelay, interval, resend, nc;
	u32 snd_wnd, rcv_wnd;
	u32 mtu;
	u32 dead_link;
	u32 minrto;		/* 0: as nodelay implies */
	u32 idle_ms;		/* 0: no idle timeout */
	u32 linger_ms;		/* background sending after close */
	u32 connect_ms;		/* connect() waits this long; 0: not at all */
	u32 keepidle, keepintvl, keepcnt;	/* s, s, probes */
	u8 stream;
	u8 session_ext;		/* offer the session extension */
	u8 ack_nodelay;
	u8 ack_early;		/* see struct kcp_cb */
	u8 write_delay;
	u8 fec_data, fec_parity;
	u8 cipher;		/* enum kcp_cipher */
	u8 key_len;
	u8 key[KCP_KEY_MAX];
};

/* keepalive bounds, as TCP's (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPCNT) */
#define KCP_KEEP_MAX		32767
#define KCP_KEEPCNT_MAX		127

/* WASKs an unconfirmed child sends after its first (timer.c) */
#define KCP_REASK_MAX	3

/* ks->flags bits (atomic) */
enum {
	KCP_F_TIMER_DEFERRED,	/* timer fired while the user owned the sock */
	KCP_F_CONV_SET,		/* conv chosen by KCP_CONV */
	KCP_F_HASHED,		/* in its tunnel's session table */
	KCP_F_ORPHAN_LINGER,	/* closed by the app, still sending */
	KCP_F_LISTEN_CLOSED,	/* listener: accepts no more children */
	KCP_F_CONFIRMED,	/* made by connect(), or the peer acked our data */
	KCP_F_SYN_DONE,		/* connect(): the peer answered */
	KCP_F_SYN_ERR,		/* connect(): refused (ICMP) while user-owned */
};

/* Per-socket datagram counters kept beside the engine's segment ones. */
struct kcp_sock_stats {
	u64 in_pkts, out_pkts;
	u64 bytes_in, bytes_out;
	u64 crypto_errors;
	u64 fec_recovered, fec_parity_in;
};

/*
 * Locking of a kcp_sock (checked by kcp_sk_assert_locked() and friends):
 *
 * - The engine (kcp), fec, tx_skb, st, last_rx, rcvbuf_seen and
 *   close_deadline belong to whoever holds the socket lock: its owner
 *   (lock_sock(): system calls, and release_cb() run from release_sock())
 *   or softirq under bh_lock_sock() while there is no owner (receive,
 *   the timer); softirq defers to the backlog or release_cb() otherwise.
 *   A listener's child is bh-locked from its creation until it is
 *   hashed, as sk_clone_lock() leaves a TCP child.
 * - opts, af, local, peer and key are written by the owner before the
 *   session exists (bind, connect, setsockopt) and read-only after.
 * - timer_ref: timer_lock (timer.c).
 * - accept_q, rate_tokens, rate_stamp (listener): accept_lock.
 * - flags: atomic bits; sk_state: written locked, read by poll and
 *   /proc with READ_ONCE (kcp_set_state()).
 * - tun: set once under the socket lock, holds a tunnel reference.
 *
 * Locking of a kcp_tunnel: listener under kcp_net.tun_lock (readers:
 * RCU); crypt published once with smp_store_release() before keyed; the
 * session table is an rhashtable (its own locks, RCU readers); the rest
 * is fixed at creation.
 */
struct kcp_sock {
	/*
	 * First: the proto allocates us. Inet-shaped, though not an inet
	 * socket: the datagrams it owns (skb->sk, kcp_tunnel_xmit()) go
	 * through IPv4/IPv6 output, which reads inet_sk(skb->sk) (IPv6's
	 * pinet6 for the path MTU and fragment size, xfrm's recverr).
	 * sk_alloc() zeroes it all, which says: not IPv6, no options.
	 */
	union {
		struct sock sk;
		struct inet_sock inet;	/* only ever read by the IP layer */
	};
	struct kcp_cb kcp;
	struct kcp_opts opts;
	struct kcp_tunnel *tun;		/* the UDP socket we send through */
	struct rhash_head hnode;	/* tun->sessions, by key */
	struct kcp_key key;		/* the peer */
	union kcp_sockaddr peer;
	union kcp_sockaddr local;	/* as bound */
	sa_family_t af;			/* AF_INET/AF_INET6 once bound */
	struct hrtimer timer;		/* flush/retransmit, armed while busy */
	spinlock_t timer_lock;		/* timer_ref vs. the timer's state */
	bool timer_ref;			/* a queued timer holds a reference */
	unsigned long flags;
	struct sk_buff *tx_skb;		/* datagram the engine is filling */
	u32 dst_cookie;
	union {
		__be32 saddr4;		/* source of the cached route */
		struct in6_addr saddr6;
	};
	u32 id;				/* index in kcp_net.socks (/proc) */
	u32 last_rx;			/* ms, for the idle timeout */
	int rcvbuf_seen;		/* sk_rcvbuf the window was sized for */
	u32 close_deadline;		/* ms, end of background linger */
	u32 ask_at;			/* ms, next WASK of an unconfirmed child,
					 * or of connect() (KCP_SYN_SENT)
					 */
	u8 asks;			/* WASKs sent again (KCP_REASK_MAX) */
	u8 ka_sent;			/* keepalive probes since last_rx */
	u32 connect_deadline;		/* ms, KCP_SYN_SENT gives up */
	u32 rst_at;			/* ms, last RST from time-wait */
	struct kcp_sock_stats st;
	u8 tos;				/* IP_TOS / IPV6_TCLASS */
	struct kcp_fec_state *fec;	/* lazily allocated */
	struct list_head accept_node;	/* child waiting in accept queue */
	/* listener only: children not yet accepted, new-session rate */
	spinlock_t accept_lock;
	struct list_head accept_q;
	u32 rate_tokens;
	u32 rate_stamp;			/* ms of the last refill */
};

static inline struct kcp_sock *kcp_sk(const struct sock *sk)
{
	BUILD_BUG_ON(offsetof(struct kcp_sock, sk) != 0);
	return (struct kcp_sock *)sk;
}

/* The owner uid of a new socket (routing by uid, the /proc listing). */
static inline void kcp_sk_set_uid(struct sock *sk, kuid_t uid)
{
	/* a kernel socket nobody else sees yet: a plain store is enough */
	WRITE_ONCE(sk->sk_uid, uid);
}

/* The engine and the session state: the socket lock, owner or bh. */
static inline void kcp_sk_assert_locked(const struct kcp_sock *ks)
{
	lockdep_assert(lockdep_sock_is_held(&ks->sk));
}

static inline struct kcp_sock *kcp_from_cb(const struct kcp_cb *kcp)
{
	return container_of(kcp, struct kcp_sock, kcp);
}

/*
 * One in-kernel UDP socket. A client has its own, holding one session;
 * a listener's carries every session accepted on it and outlives the
 * listening socket until the last child is gone.
 */
struct kcp_tunnel {
	struct socket *sock;
	struct net *net;
	refcount_t refcnt;
	struct rhashtable sessions;	/* kcp_key -> kcp_sock */
	struct kcp_sock __rcu *listener;
	struct kcp_crypto_ctx *crypt;	/* shared by all its sessions */
	sa_family_t family;
	bool connected;			/* client: one fixed peer */
	__be16 port;
	atomic_t nsessions;
	bool was_listener;		/* may be adopted (SO_REUSEADDR) */
	bool keyed;			/* cipher chosen (maybe none) */
	u8 cipher;
	u8 key[KCP_KEY_MAX];
	kuid_t uid;			/* owner of the socket that made it */
	struct list_head node;		/* kcp_net.tunnels */
	struct work_struct free_work;
};

/* SNMP counters: kcp-go's names first, then ours. */
enum {
	KCP_MIB_BYTES_SENT,
	KCP_MIB_BYTES_RECEIVED,
	KCP_MIB_ACTIVE_OPENS,
	KCP_MIB_PASSIVE_OPENS,
	KCP_MIB_IN_ERRS,
	KCP_MIB_IN_CSUM_ERRORS,
	KCP_MIB_KCP_IN_ERRORS,
	KCP_MIB_IN_PKTS,
	KCP_MIB_OUT_PKTS,
	KCP_MIB_IN_SEGS,
	KCP_MIB_OUT_SEGS,
	KCP_MIB_IN_BYTES,
	KCP_MIB_OUT_BYTES,
	KCP_MIB_RETRANS_SEGS,
	KCP_MIB_FAST_RETRANS_SEGS,
	KCP_MIB_EARLY_RETRANS_SEGS,
	KCP_MIB_LOST_SEGS,
	KCP_MIB_REPEAT_SEGS,
	KCP_MIB_FEC_RECOVERED,
	KCP_MIB_FEC_ERRS,
	KCP_MIB_FEC_PARITY_SHARDS,
	KCP_MIB_FEC_SHORT_SHARDS,
	/* not in kcp-go */
	KCP_MIB_IN_TRUNCATED,		/* datagram too short to parse */
	KCP_MIB_IN_OVERSIZE,		/* longer than kcp-go's 1500 bytes */
	KCP_MIB_IN_NO_SESSION,		/* nobody to deliver to */
	KCP_MIB_ACCEPT_OVERFLOW,	/* new session, backlog full */
	KCP_MIB_SESSION_LIMIT,		/* new session over a limit */
	KCP_MIB_SESSION_RATE,		/* new session over the rate limit */
	KCP_MIB_SESSION_REPLACED,	/* new conv with sn 0 from a known peer */
	KCP_MIB_BACKLOG_DROP,		/* socket backlog full */
	KCP_MIB_NO_MEM,			/* allocation failed, packet dropped */
	KCP_MIB_OUT_NO_ROUTE,
	KCP_MIB_DEAD_LINK,		/* sessions ended by ETIMEDOUT */
	KCP_MIB_ICMP_ERRORS,
	KCP_MIB_LINGER_EXPIRED,		/* closed sockets that gave up */
	KCP_MIB_TIME_WAIT_DROP,		/* late datagram of an ended session */
	KCP_MIB_FEC_MALFORMED,		/* bad FEC header or seqid, dropped */
	KCP_MIB_ICMP_UNVERIFIED,	/* ICMP error not quoting our conv */
	KCP_MIB_UNCONFIRMED_EXPIRED,	/* peer never confirmed, went silent */
	KCP_MIB_RCVBUF_DROP,		/* segment dropped: receive buffer full */
	KCP_MIB_MEM_LIMIT,		/* refused by net.kcp.mem or the cgroup */
	KCP_MIB_ORPHAN_OVERFLOW,	/* closed at once: too many orphans */
	KCP_MIB_FILTER_DROP,		/* dropped by the socket's filter */
	KCP_MIB_CONNECT_TIMEOUT,	/* connect() got no answer in time */
	KCP_MIB_CONNECT_REFUSED,	/* connect() met ICMP unreachable */
	KCP_MIB_IN_RST,			/* sessions the peer reset */
	KCP_MIB_OUT_RST,		/* resets sent */
	KCP_MIB_KEEPALIVE_TIMEOUT,	/* sessions ended by keepalive */
	__KCP_MIB_MAX
};

struct kcp_mib {
	unsigned long mibs[__KCP_MIB_MAX];
};

/* net.kcp.* (sysctl.c): ints, as proc_dointvec_minmax wants them */
struct kcp_sysctl {
	int nodelay, interval, resend, nc;
	int snd_wnd, rcv_wnd, wnd_max;
	int mtu, stream, ack_nodelay, ack_early, dead_link, min_rto;
	int idle_timeout_ms, linger_ms, timewait_ms;
	int unconfirmed_ms;		/* silence ending an unconfirmed child */
	int connect_timeout_ms;		/* 0: connect() does not wait */
	int session_ext;		/* offer FIN/RST to AF_KCP peers */
	int keepalive_time, keepalive_intvl, keepalive_probes;
	int max_orphans;		/* closed sockets still sending */
	int fec_data, fec_parity;
	int max_sessions;		/* per namespace */
	int max_listener_sessions;	/* per listening socket */
	int new_sessions_per_sec;	/* per listening socket, 0: no limit */
};

struct kcp_net {
	DEFINE_SNMP_STAT(struct kcp_mib, mib);
	struct xarray socks;		/* every socket, for /proc/net/kcp */
	atomic_t curr_estab;
	atomic_t max_conn;
	atomic_t nsessions;
	atomic_t orphans;		/* sockets in KCP_LINGER */
	struct kcp_sysctl sysctl;
	struct ctl_table_header *sysctl_hdr;
	struct ctl_table_header *sysctl_mem_hdr;	/* init_net only */
	struct mutex tun_lock;		/* tunnels */
	struct list_head tunnels;
};

extern unsigned int kcp_net_id;
extern struct proto kcp_proto;
extern struct workqueue_struct *kcp_wq;

static inline struct kcp_net *kcp_pernet(const struct net *net)
{
	return net_generic(net, kcp_net_id);
}

#define KCP_INC_STATS(net, field)	\
	SNMP_INC_STATS(kcp_pernet(net)->mib, field)
#define KCP_ADD_STATS(net, field, val)	\
	SNMP_ADD_STATS(kcp_pernet(net)->mib, field, val)

/* A session whose engine runs: it sends, receives and has a timer. */
static inline bool kcp_sk_running(int state)
{
	return state == KCP_ESTABLISHED || state == KCP_LINGER ||
	       state == KCP_SYN_SENT;
}

/* sk_state of an AF_KCP socket is not an inet socket's: no inet tracing */
static inline void kcp_set_state(struct sock *sk, int state)
{
	/* pairs with the lockless READ_ONCE(sk->sk_state) in poll and proc */
	smp_store_release(&sk->sk_state, state);
}

static inline u32 kcp_clock_ms(void)
{
	return (u32)ktime_to_ms(ktime_get());
}

/* af_kcp.c */
int kcp_family_register(int family);
void kcp_family_unregister(void);
int kcp_sk_init_session(struct kcp_sock *ks, u32 conv, gfp_t gfp);
void kcp_sk_wake(struct kcp_sock *ks);
void kcp_sk_done(struct kcp_sock *ks, int err);
void kcp_sk_reset(struct kcp_sock *ks);
void kcp_sk_abort(struct kcp_sock *ks);
void kcp_sk_syn_done(struct kcp_sock *ks);
void kcp_sk_fin_rcvd(struct kcp_sock *ks);
void kcp_sk_timewait_rcv(struct kcp_sock *ks, struct sk_buff *skb, u32 off);
struct sock *kcp_sk_clone(struct kcp_sock *lks, gfp_t gfp);

/* options.c */
int kcp_opts_apply(struct kcp_sock *ks);
void kcp_opts_sync_rcvbuf(struct kcp_sock *ks);
int kcp_setsockopt(struct socket *sock, int level, int optname,
		   sockptr_t optval, unsigned int optlen);
int kcp_getsockopt(struct socket *sock, int level, int optname,
		   char __user *optval, int __user *optlen);

/* timer.c */
void kcp_timer_init(struct kcp_sock *ks);
void kcp_timer_kick(struct kcp_sock *ks);
void kcp_timer_idle(struct kcp_sock *ks);
void kcp_reask_init(struct kcp_sock *ks);
void kcp_timer_after(struct kcp_sock *ks, u32 delay_ms);
void kcp_timer_stop(struct kcp_sock *ks);
void kcp_syn_init(struct kcp_sock *ks);
void kcp_sk_flush_now(struct kcp_sock *ks);
void kcp_keepalive(struct sock *sk, int valbool);
void kcp_release_cb(struct sock *sk);
void kcp_sk_tick(struct kcp_sock *ks);

/* tunnel.c */
int kcp_tunnel_create(struct net *net, const struct sock *owner,
		      const union kcp_sockaddr *local,
		      struct kcp_tunnel **tunp);
void kcp_tunnel_register(struct kcp_tunnel *tun);
int kcp_tunnel_set_listener(struct kcp_tunnel *tun, struct kcp_sock *ks);
void kcp_tunnel_clear_listener(struct kcp_tunnel *tun, struct kcp_sock *ks);
struct kcp_tunnel *kcp_tunnel_adopt(struct net *net, const struct sock *owner,
				    const union kcp_sockaddr *local);
int kcp_tunnel_connect(struct kcp_tunnel *tun, const union kcp_sockaddr *peer);
void kcp_tunnel_put(struct kcp_tunnel *tun);
static inline void kcp_tunnel_get(struct kcp_tunnel *tun)
{
	refcount_inc(&tun->refcnt);
}
int kcp_tunnel_xmit(struct kcp_sock *ks, struct sk_buff *skb);
int kcp_tunnel_local(struct kcp_tunnel *tun, union kcp_sockaddr *addr);
u32 kcp_tunnel_headroom(void);

/* demux.c */
int kcp_demux_init(struct kcp_tunnel *tun);
void kcp_demux_destroy(struct kcp_tunnel *tun);
int kcp_demux_hash(struct kcp_tunnel *tun, struct kcp_sock *ks);
void kcp_demux_unhash(struct kcp_sock *ks);
struct kcp_sock *kcp_demux_lookup(struct kcp_tunnel *tun,
				  const struct kcp_key *key);
void kcp_demux_rcv(struct kcp_tunnel *tun, struct sk_buff *skb,
		   const struct kcp_key *from);
struct kcp_sock *kcp_accept_dequeue(struct kcp_sock *lks);
void kcp_listen_stop(struct kcp_sock *lks);
void kcp_key_from_sockaddr(struct kcp_key *key, const union kcp_sockaddr *sa);
void kcp_key_to_sockaddr(const struct kcp_key *key, union kcp_sockaddr *sa,
			 sa_family_t af);

/* mem.c */
extern long sysctl_kcp_mem[3];
extern int sysctl_kcp_rmem[3];
extern int sysctl_kcp_wmem[3];
void kcp_mem_proto(struct proto *prot);
int kcp_mem_init(void);
void kcp_mem_exit(void);
u32 kcp_seg_truesize(const struct kcp_sock *ks);
void kcp_mem_sock_init(struct sock *sk, const struct sock *parent);
void kcp_mem_sock_destroy(struct sock *sk);
bool kcp_mem_rcv_room(struct sock *sk, u32 size);
bool kcp_mem_schedule(struct sock *sk, int size, int kind);
bool kcp_mem_charge(struct kcp_cb *kcp, bool rcv, u32 size);
void kcp_mem_uncharge(struct kcp_cb *kcp, bool rcv, u32 size);
u32 kcp_mem_fit_windows(struct kcp_sock *ks, u32 snd_wnd, u32 rcv_wnd);
int kcp_mem_snd_room(const struct kcp_sock *ks);

/* datapath.c */
extern const struct kcp_ops kcp_engine_ops;
bool kcp_rx_prepare(struct kcp_tunnel *tun, struct sk_buff *skb,
		    const struct kcp_key *from);
bool kcp_sk_discard_rx(struct kcp_sock *ks);
int kcp_sk_rcv(struct kcp_sock *ks, struct sk_buff *skb);
int kcp_backlog_rcv(struct sock *sk, struct sk_buff *skb);
void kcp_deliver(struct kcp_sock *ks, struct sk_buff *skb);
u32 kcp_sk_header_len(const struct kcp_sock *ks);

/* fec.c */
int kcp_fec_module_init(void);
#ifdef CONFIG_X86_64
void kcp_rs_simd_init(void);
#else
static inline void kcp_rs_simd_init(void) {}
#endif
int kcp_fec_attach(struct kcp_sock *ks, gfp_t gfp);
void kcp_fec_detach(struct kcp_sock *ks);
void kcp_fec_shrink(struct kcp_sock *ks);
void kcp_fec_output(struct kcp_sock *ks, struct sk_buff *skb,
		    struct sk_buff_head *parity);
void kcp_fec_input(struct kcp_sock *ks, const u8 *data, u32 len);
void kcp_fec_info(const struct kcp_sock *ks, u32 *state, u64 *errors);

/* salsa_simd.c */
#ifdef CONFIG_X86_64
void kcp_salsa20_simd_init(void);
#else
static inline void kcp_salsa20_simd_init(void) {}
#endif

/* crypt.c */
int kcp_crypto_new(const struct kcp_opts *o, struct kcp_crypto_ctx **out);
void kcp_crypto_free(struct kcp_crypto_ctx *ctx);
void kcp_crypto_module_exit(void);
int kcp_crypto_open(const struct kcp_crypto_ctx *ctx, struct sk_buff *skb);
void kcp_crypto_seal(const struct kcp_crypto_ctx *ctx, struct sk_buff *skb);
int kcp_crypto_peek(const struct kcp_crypto_ctx *ctx, const u8 *in, u32 len,
		    u8 *out);

/* sysctl.c */
void kcp_sysctl_defaults(struct kcp_sysctl *s);
void kcp_opts_from_sysctl(struct kcp_opts *o, const struct kcp_sysctl *s);
int kcp_sysctl_init_net(struct net *net);
void kcp_sysctl_exit_net(struct net *net);

/* trace.c */
void kcp_trace_seg(struct kcp_cb *kcp, enum kcp_seg_event ev, u32 sn, u32 len);
void kcp_trace_session(struct sock *sk, u32 conv, bool up, int err);

/* proc.c */
int kcp_sock_register(struct kcp_sock *ks, gfp_t gfp);
void kcp_sock_unregister(struct kcp_sock *ks);
int kcp_proc_init_net(struct net *net);
void kcp_proc_exit_net(struct net *net);

#endif /* _KCP_H */
