// SPDX-License-Identifier: GPL-2.0
/*
 * net.kcp.* sysctls, one set per network namespace: the defaults a new
 * socket starts with (kcp-go's own defaults out of the box) and the
 * limits that bound what the network can make us allocate. Writes out
 * of range are rejected with EINVAL.
 */
#include <linux/sysctl.h>
#include <net/net_namespace.h>

#include "compat.h"
#include "kcp.h"

static int zero;
static int one = 1;
static int mtu_min = KCP_MTU_MIN, mtu_max = KCP_MTU_MAX;
static int ivl_min = KCP_INTERVAL_MIN, ivl_max = KCP_INTERVAL_MAX;
static int wnd_max = KCP_WND_MAX;
static int rto_max = KCP_RTO_MAX;
static int shards_max = 254;
static int deadlink_max = 1000;
static int ms_max = 24 * 3600 * 1000;
static int sessions_max = 1 << 24;
static int resend_max = 1 << 16;
static int ka_max = KCP_KEEP_MAX;
static int probes_max = KCP_KEEPCNT_MAX;

#define KCP_SYSCTL(name, field, lo, hi) {				\
	.procname = name,						\
	.data = &init_net_dummy.field,					\
	.maxlen = sizeof(int),						\
	.mode = 0644,							\
	.proc_handler = proc_dointvec_minmax,				\
	.extra1 = lo,							\
	.extra2 = hi,							\
}

/* Only for offsetof-like .data templates, rebased per namespace. */
static struct kcp_sysctl init_net_dummy;

static const struct ctl_table kcp_sysctl_tmpl[] = {
	KCP_SYSCTL("nodelay", nodelay, &zero, &one),
	KCP_SYSCTL("interval", interval, &ivl_min, &ivl_max),
	KCP_SYSCTL("resend", resend, &zero, &resend_max),
	KCP_SYSCTL("nc", nc, &zero, &one),
	KCP_SYSCTL("snd_wnd", snd_wnd, &one, &wnd_max),
	KCP_SYSCTL("rcv_wnd", rcv_wnd, &one, &wnd_max),
	KCP_SYSCTL("wnd_max", wnd_max, &one, &wnd_max),
	KCP_SYSCTL("mtu", mtu, &mtu_min, &mtu_max),
	KCP_SYSCTL("stream", stream, &zero, &one),
	KCP_SYSCTL("ack_nodelay", ack_nodelay, &zero, &one),
	KCP_SYSCTL("ack_early", ack_early, &zero, &one),
	KCP_SYSCTL("dead_link", dead_link, &one, &deadlink_max),
	KCP_SYSCTL("min_rto", min_rto, &zero, &rto_max),
	KCP_SYSCTL("idle_timeout_ms", idle_timeout_ms, &zero, &ms_max),
	KCP_SYSCTL("linger_ms", linger_ms, &zero, &ms_max),
	KCP_SYSCTL("timewait_ms", timewait_ms, &zero, &ms_max),
	KCP_SYSCTL("unconfirmed_timeout_ms", unconfirmed_ms, &zero, &ms_max),
	KCP_SYSCTL("connect_timeout_ms", connect_timeout_ms, &zero, &ms_max),
	KCP_SYSCTL("session_ext", session_ext, &zero, &one),
	KCP_SYSCTL("keepalive_time", keepalive_time, &one, &ka_max),
	KCP_SYSCTL("keepalive_intvl", keepalive_intvl, &one, &ka_max),
	KCP_SYSCTL("keepalive_probes", keepalive_probes, &one, &probes_max),
	KCP_SYSCTL("max_orphans", max_orphans, &zero, &sessions_max),
	KCP_SYSCTL("fec_data", fec_data, &zero, &shards_max),
	KCP_SYSCTL("fec_parity", fec_parity, &zero, &shards_max),
	KCP_SYSCTL("max_sessions", max_sessions, &zero, &sessions_max),
	KCP_SYSCTL("max_listener_sessions", max_listener_sessions, &zero,
		   &sessions_max),
	KCP_SYSCTL("new_sessions_per_sec", new_sessions_per_sec, &zero,
		   &sessions_max),
};

/* kcp-go 5.6.1's defaults, so an untuned socket behaves like it. */
void kcp_sysctl_defaults(struct kcp_sysctl *s)
{
	memset(s, 0, sizeof(*s));
	s->interval = KCP_INTERVAL;
	s->snd_wnd = KCP_WND_SND;
	s->rcv_wnd = KCP_WND_RCV;
	s->wnd_max = 32768;
	s->mtu = KCP_MTU_DEF;
	s->stream = 1;
	s->ack_early = 1;
	s->dead_link = KCP_DEADLINK_DEF;
	s->linger_ms = 30000;
	s->timewait_ms = 3000;
	s->unconfirmed_ms = 10000;
	/*
	 * Beyond kcp-go, between AF_KCP endpoints only: connect() waits
	 * for an answer, end-of-file and reset (kcp.rst); TCP's keepalive
	 * times.
	 */
	s->connect_timeout_ms = 15000;
	s->session_ext = 1;
	s->keepalive_time = 7200;
	s->keepalive_intvl = 75;
	s->keepalive_probes = 9;
	s->max_orphans = 4096;
	s->max_sessions = 1 << 20;
	s->max_listener_sessions = 1 << 20;
	/* with unconfirmed_ms: about 11000 spoofed sessions per listener */
	s->new_sessions_per_sec = 1000;
}

/* A new socket's settings from its namespace's defaults. */
void kcp_opts_from_sysctl(struct kcp_opts *o, const struct kcp_sysctl *s)
{
	memset(o, 0, sizeof(*o));
	o->nodelay = READ_ONCE(s->nodelay);
	o->interval = READ_ONCE(s->interval);
	o->resend = READ_ONCE(s->resend);
	o->nc = READ_ONCE(s->nc);
	/* wnd_max may have been lowered below them since they were set */
	o->snd_wnd = min(READ_ONCE(s->snd_wnd), READ_ONCE(s->wnd_max));
	o->rcv_wnd = min(READ_ONCE(s->rcv_wnd), READ_ONCE(s->wnd_max));
	o->mtu = READ_ONCE(s->mtu);
	o->stream = READ_ONCE(s->stream);
	o->ack_nodelay = READ_ONCE(s->ack_nodelay);
	o->ack_early = READ_ONCE(s->ack_early);
	o->dead_link = READ_ONCE(s->dead_link);
	o->minrto = READ_ONCE(s->min_rto);
	o->idle_ms = READ_ONCE(s->idle_timeout_ms);
	o->linger_ms = READ_ONCE(s->linger_ms);
	o->connect_ms = READ_ONCE(s->connect_timeout_ms);
	o->session_ext = READ_ONCE(s->session_ext);
	o->keepidle = READ_ONCE(s->keepalive_time);
	o->keepintvl = READ_ONCE(s->keepalive_intvl);
	o->keepcnt = READ_ONCE(s->keepalive_probes);
	o->fec_data = READ_ONCE(s->fec_data);
	o->fec_parity = READ_ONCE(s->fec_parity);
	/* both or neither, and what klauspost accepts; else FEC stays off */
	if (!o->fec_data || !o->fec_parity ||
	    kcp_fec_check_shards(o->fec_data, o->fec_parity)) {
		o->fec_data = 0;
		o->fec_parity = 0;
	}
}

/*
 * Memory limits are the protocol's, shared by every namespace as tcp_mem
 * and friends: only the initial namespace shows them.
 */
static struct ctl_table kcp_sysctl_mem_tmpl[] = {
	{
		.procname = "mem",
		.data = &sysctl_kcp_mem,
		.maxlen = sizeof(sysctl_kcp_mem),
		.mode = 0644,
		.proc_handler = proc_doulongvec_minmax,
	},
	{
		.procname = "rmem",
		.data = &sysctl_kcp_rmem,
		.maxlen = sizeof(sysctl_kcp_rmem),
		.mode = 0644,
		.proc_handler = proc_dointvec_minmax,
		.extra1 = &one,
	},
	{
		.procname = "wmem",
		.data = &sysctl_kcp_wmem,
		.maxlen = sizeof(sysctl_kcp_wmem),
		.mode = 0644,
		.proc_handler = proc_dointvec_minmax,
		.extra1 = &one,
	},
	{ }
};

static int kcp_sysctl_mem_init(struct net *net)
{
	struct kcp_net *kn = kcp_pernet(net);

	if (!net_eq(net, &init_net))
		return 0;
	kn->sysctl_mem_hdr =
		register_net_sysctl_sz(net, "net/kcp", kcp_sysctl_mem_tmpl,
				       ARRAY_SIZE(kcp_sysctl_mem_tmpl) - 1);
	return kn->sysctl_mem_hdr ? 0 : -ENOMEM;
}

int kcp_sysctl_init_net(struct net *net)
{
	struct kcp_net *kn = kcp_pernet(net);
	struct ctl_table *t;
	int i;

	/* one more, zeroed: the sentinel older kernels look for */
	t = kcalloc(ARRAY_SIZE(kcp_sysctl_tmpl) + 1, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	memcpy(t, kcp_sysctl_tmpl, sizeof(kcp_sysctl_tmpl));
	for (i = 0; i < ARRAY_SIZE(kcp_sysctl_tmpl); i++) {
		t[i].data = (char *)&kn->sysctl +
			    ((char *)t[i].data - (char *)&init_net_dummy);
		/* default windows: at most this namespace's wnd_max */
		if (t[i].data == &kn->sysctl.snd_wnd ||
		    t[i].data == &kn->sysctl.rcv_wnd)
			t[i].extra2 = &kn->sysctl.wnd_max;
	}
	kn->sysctl_hdr = register_net_sysctl_sz(net, "net/kcp", t,
						ARRAY_SIZE(kcp_sysctl_tmpl));
	if (!kn->sysctl_hdr) {
		kfree(t);
		return -ENOMEM;
	}
	if (kcp_sysctl_mem_init(net)) {
		kcp_sysctl_exit_net(net);
		return -ENOMEM;
	}
	return 0;
}

void kcp_sysctl_exit_net(struct net *net)
{
	struct kcp_net *kn = kcp_pernet(net);
	const struct ctl_table *t = kn->sysctl_hdr->ctl_table_arg;

	if (kn->sysctl_mem_hdr)
		unregister_net_sysctl_table(kn->sysctl_mem_hdr);
	kn->sysctl_mem_hdr = NULL;
	unregister_net_sysctl_table(kn->sysctl_hdr);
	kfree(t);
}
