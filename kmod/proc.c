// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/kcp_snmp: the per-namespace counters, one "Name value" per
 * line. Names and meaning follow kcp-go's Snmp struct; the ones after
 * FECShortShards are ours (drops kcp-go does not count).
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/ip.h>
#include <net/net_namespace.h>

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
	[KCP_MIB_SESSION_REPLACED] = "SessionReplaced",
	[KCP_MIB_BACKLOG_DROP] = "BacklogDrop",
	[KCP_MIB_NO_MEM] = "NoMem",
	[KCP_MIB_OUT_NO_ROUTE] = "OutNoRoute",
	[KCP_MIB_DEAD_LINK] = "DeadLink",
	[KCP_MIB_ICMP_ERRORS] = "IcmpErrors",
	[KCP_MIB_LINGER_EXPIRED] = "LingerExpired",
	[KCP_MIB_TIME_WAIT_DROP] = "TimeWaitDrop",
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
			   snmp_fold_field(kn->mib, i));
	return 0;
}

int kcp_proc_init_net(struct net *net)
{
	if (!proc_create_net_single("kcp_snmp", 0444, net->proc_net,
				    kcp_snmp_show, NULL))
		return -ENOMEM;
	return 0;
}

void kcp_proc_exit_net(struct net *net)
{
	remove_proc_entry("kcp_snmp", net->proc_net);
}
