// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/kcp and kcp6: one line per socket, like /proc/net/tcp.
 * /proc/net/kcp_snmp: the per-namespace counters, one "Name value" per
 * line. Names and meaning follow kcp-go's Snmp struct; the ones after
 * FECShortShards are ours (drops kcp-go does not count).
 *
 * Sockets are kept in a per-namespace xarray so that a reader resumes
 * where it left off in O(log n): with 100K sessions a list walked from
 * the start on every read() would be quadratic.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/ip.h>
#include <net/net_namespace.h>

#include "compat.h"
#include "kcp.h"

static const char *const kcp_mib_names[__KCP_MIB_MAX] = {
	[KCP_MIB_BYTES_SENT] = "BytesSent",
	[KCP_MIB_BYTES_RECEIVED] = "BytesReceived",
	[KCP_MIB_ACTIVE_OPENS] = "ActiveOpens",
	[KCP_MIB_PASSIVE_OPENS] = "PassiveOpens",
	[KCP_MIB_IN_ERRS] = "InErrs",
	[KCP_MIB_IN_CSUM_ERRORS] = "InCsumErrors",
	[KCP_MIB_KCP_IN_ERRORS] = "KCPInErrors",
	[KCP_MIB_IN_PKTS] = "InPkts",
	[KCP_MIB_OUT_PKTS] = "OutPkts",
	[KCP_MIB_IN_SEGS] = "InSegs",
	[KCP_MIB_OUT_SEGS] = "OutSegs",
	[KCP_MIB_IN_BYTES] = "InBytes",
	[KCP_MIB_OUT_BYTES] = "OutBytes",
	[KCP_MIB_RETRANS_SEGS] = "RetransSegs",
	[KCP_MIB_FAST_RETRANS_SEGS] = "FastRetransSegs",
	[KCP_MIB_EARLY_RETRANS_SEGS] = "EarlyRetransSegs",
	[KCP_MIB_LOST_SEGS] = "LostSegs",
	[KCP_MIB_REPEAT_SEGS] = "RepeatSegs",
	[KCP_MIB_FEC_RECOVERED] = "FECRecovered",
	[KCP_MIB_FEC_ERRS] = "FECErrs",
	[KCP_MIB_FEC_PARITY_SHARDS] = "FECParityShards",
	[KCP_MIB_FEC_SHORT_SHARDS] = "FECShortShards",
	[KCP_MIB_IN_TRUNCATED] = "InTruncated",
	[KCP_MIB_IN_OVERSIZE] = "InOversize",
	[KCP_MIB_IN_NO_SESSION] = "InNoSession",
	[KCP_MIB_ACCEPT_OVERFLOW] = "AcceptOverflow",
	[KCP_MIB_SESSION_LIMIT] = "SessionLimit",
	[KCP_MIB_SESSION_RATE] = "SessionRateLimit",
	[KCP_MIB_SESSION_REPLACED] = "SessionReplaced",
	[KCP_MIB_BACKLOG_DROP] = "BacklogDrop",
	[KCP_MIB_NO_MEM] = "NoMem",
	[KCP_MIB_OUT_NO_ROUTE] = "OutNoRoute",
	[KCP_MIB_DEAD_LINK] = "DeadLink",
	[KCP_MIB_ICMP_ERRORS] = "IcmpErrors",
	[KCP_MIB_LINGER_EXPIRED] = "LingerExpired",
	[KCP_MIB_TIME_WAIT_DROP] = "TimeWaitDrop",
	[KCP_MIB_FEC_MALFORMED] = "FECMalformed",
	[KCP_MIB_ICMP_UNVERIFIED] = "IcmpUnverified",
	[KCP_MIB_UNCONFIRMED_EXPIRED] = "UnconfirmedExpired",
	[KCP_MIB_RCVBUF_DROP] = "RcvbufDrop",
	[KCP_MIB_MEM_LIMIT] = "MemLimit",
	[KCP_MIB_ORPHAN_OVERFLOW] = "OrphanOverflow",
	[KCP_MIB_FILTER_DROP] = "FilterDrop",
	[KCP_MIB_CONNECT_TIMEOUT] = "ConnectTimeout",
	[KCP_MIB_CONNECT_REFUSED] = "ConnectRefused",
	[KCP_MIB_IN_RST] = "InRsts",
	[KCP_MIB_OUT_RST] = "OutRsts",
	[KCP_MIB_KEEPALIVE_TIMEOUT] = "KeepaliveTimeout",
};

int kcp_sock_register(struct kcp_sock *ks, gfp_t gfp)
{
	struct kcp_net *kn = kcp_pernet(sock_net(&ks->sk));

	return xa_alloc_bh(&kn->socks, &ks->id, ks, xa_limit_31b, gfp);
}

void kcp_sock_unregister(struct kcp_sock *ks)
{
	if (ks->id)
		xa_erase_bh(&kcp_pernet(sock_net(&ks->sk))->socks, ks->id);
	ks->id = 0;
}

/*
 * The socket at index >= *@idx of the file's family, with a reference.
 *
 * A socket leaves the xarray only in its destructor, which runs after
 * the last reference is gone and (SOCK_RCU_FREE) one grace period later;
 * the memory is freed right after it. An RCU walk could thus still find
 * a socket whose free is imminent. The xarray lock orders the lookup
 * against the erase, and a zero refcount marks a socket on its way out,
 * so a reader never touches one after it was erased (as TCP's lookups
 * use refcount_inc_not_zero).
 */
static struct kcp_sock *kcp_seq_find(struct seq_file *seq, unsigned long *idx)
{
	bool v6 = (uintptr_t)pde_data(file_inode(seq->file)) == AF_INET6;
	struct kcp_net *kn = kcp_pernet(seq_file_net(seq));
	struct kcp_sock *ks;

	xa_lock_bh(&kn->socks);
	for (;;) {
		ks = xa_find(&kn->socks, idx, ULONG_MAX, XA_PRESENT);
		if (!ks)
			break;
		if ((READ_ONCE(ks->af) == AF_INET6) == v6 &&
		    refcount_inc_not_zero(&ks->sk.sk_refcnt))
			break;
		(*idx)++;
	}
	xa_unlock_bh(&kn->socks);
	return ks;
}

static void kcp_seq_put(void *v)
{
	if (v && v != SEQ_START_TOKEN)
		sock_put(&kcp_sk(v)->sk);
}

/* *pos is 0 for the header, else 1 + the xarray index to resume at. */
static void *kcp_seq_start(struct seq_file *seq, loff_t *pos)
{
	unsigned long idx;
	struct kcp_sock *ks;

	if (!*pos)
		return SEQ_START_TOKEN;
	idx = *pos - 1;
	ks = kcp_seq_find(seq, &idx);
	if (ks)
		*pos = idx + 1;
	return ks;
}

static void *kcp_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	unsigned long idx = v == SEQ_START_TOKEN ? 0 :
			    kcp_sk(v)->id + 1UL;
	struct kcp_sock *ks = kcp_seq_find(seq, &idx);

	kcp_seq_put(v);
	*pos = ks ? idx + 1 : *pos + 1;
	return ks;
}

static void kcp_seq_stop(struct seq_file *seq, void *v)
{
	kcp_seq_put(v);
}

static void kcp_seq_addr(struct seq_file *seq, const union kcp_sockaddr *sa)
{
	if (sa->family == AF_INET6) {
		const __be32 *a = sa->v6.sin6_addr.s6_addr32;

		seq_printf(seq, "%08X%08X%08X%08X:%04X ", (__force u32)a[0],
			   (__force u32)a[1], (__force u32)a[2],
			   (__force u32)a[3], ntohs(sa->v6.sin6_port));
	} else {
		seq_printf(seq, "%08X:%04X ",
			   (__force u32)sa->v4.sin_addr.s_addr,
			   ntohs(sa->v4.sin_port));
	}
}

static int kcp_seq_show(struct seq_file *seq, void *v)
{
	struct kcp_sock *ks = v;
	const struct kcp_cb *kcp;
	union kcp_sockaddr none = { .family = AF_INET };
	u64 retrans;

	if (v == SEQ_START_TOKEN) {
		seq_puts(seq, "  sl  local_address rem_address st conv snd_wnd rcv_wnd rmt_wnd cwnd snd_queue snd_buf rcv_queue rcv_buf rto srtt rttvar mtu nodelay interval resend nc fec_data fec_parity cipher in_segs out_segs retrans_segs lost_segs uid inode\n");
		return 0;
	}
	kcp = &ks->kcp;
	none.family = ks->af == AF_INET6 ? AF_INET6 : AF_INET;
	retrans = kcp->stats[KCP_STAT_FAST_RETRANS] +
		  kcp->stats[KCP_STAT_EARLY_RETRANS] + kcp->stats[KCP_STAT_LOST];
	seq_printf(seq, "%4u: ", ks->id);
	kcp_seq_addr(seq, ks->tun ? &ks->local : &none);
	kcp_seq_addr(seq, ks->key.family ? &ks->peer : &none);
	seq_printf(seq, "%02X %08X %u %u %u %u %u %u %u %u %u %d %d %u %u %u %d %u %u %u %u %llu %llu %llu %llu %u %llu\n",
		   READ_ONCE(ks->sk.sk_state), kcp->conv, kcp->snd_wnd,
		   kcp->rcv_wnd, kcp->rmt_wnd, kcp->cwnd, kcp->nsnd_que,
		   kcp->nsnd_buf, kcp->nrcv_que, kcp->nrcv_buf, kcp->rx_rto,
		   kcp->rx_srtt, kcp->rx_rttvar, kcp->mtu, kcp->nodelay,
		   kcp->interval, kcp->fastresend, kcp->nocwnd,
		   ks->opts.fec_data, ks->opts.fec_parity, ks->opts.cipher,
		   kcp->stats[KCP_STAT_IN_SEGS], kcp->stats[KCP_STAT_OUT_SEGS],
		   retrans, kcp->stats[KCP_STAT_LOST],
		   from_kuid_munged(seq_user_ns(seq), sk_uid(&ks->sk)),
		   (u64)sock_i_ino(&ks->sk));	/* u64 since 7.1 */
	return 0;
}

static const struct seq_operations kcp_seq_ops = {
	.start = kcp_seq_start,
	.next = kcp_seq_next,
	.stop = kcp_seq_stop,
	.show = kcp_seq_show,
};

static int kcp_snmp_show(struct seq_file *seq, void *v)
{
	struct net *net = seq_file_single_net(seq);
	struct kcp_net *kn = kcp_pernet(net);
	int i;

	seq_printf(seq, "CurrEstab %d\n", atomic_read(&kn->curr_estab));
	seq_printf(seq, "MaxConn %d\n", atomic_read(&kn->max_conn));
	seq_printf(seq, "Sessions %d\n", atomic_read(&kn->nsessions));
	for (i = 0; i < __KCP_MIB_MAX; i++)
		seq_printf(seq, "%s %lu\n", kcp_mib_names[i],
			   kcp_snmp_fold_field(kn->mib, i));
	return 0;
}

static int kcp_proc_socks(struct net *net, const char *name, sa_family_t af)
{
	/* the family reaches each reader through the entry's data */
	if (!proc_create_net_data(name, 0444, net->proc_net, &kcp_seq_ops,
				  sizeof(struct seq_net_private),
				  (void *)(uintptr_t)af))
		return -ENOMEM;
	return 0;
}

int kcp_proc_init_net(struct net *net)
{
	if (!proc_create_net_single("kcp_snmp", 0444, net->proc_net,
				    kcp_snmp_show, NULL))
		goto err;
	if (kcp_proc_socks(net, "kcp", AF_INET))
		goto err_snmp;
	if (kcp_proc_socks(net, "kcp6", AF_INET6))
		goto err_kcp;
	return 0;
err_kcp:
	remove_proc_entry("kcp", net->proc_net);
err_snmp:
	remove_proc_entry("kcp_snmp", net->proc_net);
err:
	return -ENOMEM;
}

void kcp_proc_exit_net(struct net *net)
{
	remove_proc_entry("kcp6", net->proc_net);
	remove_proc_entry("kcp", net->proc_net);
	remove_proc_entry("kcp_snmp", net->proc_net);
}
