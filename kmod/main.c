// SPDX-License-Identifier: GPL-2.0
/*
 * AF_KCP module entry: registers the proto, the per-netns state and the
 * socket family, and tears them down in reverse.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "kcp.h"

#define KCP_VERSION "0.1"

static int family = AF_KCP;
module_param(family, int, 0444);
MODULE_PARM_DESC(family, "socket family number to register (default 25); "
		 "free in 6.1 .. 7.2: 12, 13, 14, 18, 19, 22, 23, 25");

/*
 * Numbers 1 .. AF_MAX - 1 that include/linux/socket.h of 6.1, 6.12 and
 * 7.2 either no longer defines (12, DECnet: removed in 6.1) or defines
 * without any in-tree family registering them. Every other number
 * belongs to a family of the kernel (built in, or a module that would
 * then fail to register, silently for the user): refused.
 */
static const char *const kcp_free_families[] = {
	[12] = "AF_DECnet, removed in 6.1",
	[13] = "AF_NETBEUI, unused",
	[14] = "AF_SECURITY, unused",
	[18] = "AF_ASH, unused",
	[19] = "AF_ECONET, removed",
	[22] = "AF_SNA, unused",
	[23] = "AF_IRDA, removed",
	[25] = "AF_WANPIPE, removed",
};

static int kcp_family_check(int nr)
{
	if (nr <= 0 || nr >= NPROTO) {
		pr_err("kcp: family=%d out of range 1..%d\n", nr, NPROTO - 1);
		return -EINVAL;
	}
	if (nr >= ARRAY_SIZE(kcp_free_families) || !kcp_free_families[nr]) {
		pr_err("kcp: family=%d belongs to a family of the kernel; use a free one: 12, 13, 14, 18, 19, 22, 23 or 25 (default)\n",
		       nr);
		return -EINVAL;
	}
	return 0;
}

unsigned int kcp_net_id __read_mostly;
struct workqueue_struct *kcp_wq __read_mostly;

static int __net_init kcp_net_init(struct net *net)
{
	struct kcp_net *kn = kcp_pernet(net);

	int err;

	kn->mib = alloc_percpu(struct kcp_mib);
	if (!kn->mib)
		return -ENOMEM;
	xa_init_flags(&kn->socks, XA_FLAGS_ALLOC1 | XA_FLAGS_LOCK_BH);
	mutex_init(&kn->tun_lock);
	INIT_LIST_HEAD(&kn->tunnels);
	kcp_sysctl_defaults(&kn->sysctl);
	err = kcp_sysctl_init_net(net);
	if (err)
		goto err_mib;
	err = kcp_proc_init_net(net);
	if (err)
		goto err_sysctl;
	return 0;
err_sysctl:
	kcp_sysctl_exit_net(net);
err_mib:
	free_percpu(kn->mib);
	return err;
}

static void __net_exit kcp_net_exit(struct net *net)
{
	kcp_proc_exit_net(net);
	kcp_sysctl_exit_net(net);
	/* sockets pin their netns: none is left in it */
	WARN_ON_ONCE(!xa_empty(&kcp_pernet(net)->socks));
	xa_destroy(&kcp_pernet(net)->socks);
	free_percpu(kcp_pernet(net)->mib);
}

static struct pernet_operations kcp_net_ops = {
	.init = kcp_net_init,
	.exit = kcp_net_exit,
	.id = &kcp_net_id,
	.size = sizeof(struct kcp_net),
};

static int __init kcp_mod_init(void)
{
	int err;

	err = kcp_family_check(family);
	if (err)
		return err;
	err = kcp_fec_module_init();
	if (err)
		return err;
	kcp_salsa20_simd_init();
	err = kcp_mem_init();
	if (err)
		return err;
	kcp_mem_proto(&kcp_proto);
	/*
	 * Only tunnel teardown runs here, nothing cpu-local: unbound. (7.x
	 * warns unless a workqueue says WQ_PERCPU or WQ_UNBOUND.)
	 */
	kcp_wq = alloc_workqueue("kcp", WQ_UNBOUND, 0);
	if (!kcp_wq) {
		err = -ENOMEM;
		goto err_mem;
	}
	err = proto_register(&kcp_proto, 1);
	if (err)
		goto err_wq;
	err = register_pernet_subsys(&kcp_net_ops);
	if (err)
		goto err_proto;
	err = kcp_family_register(family);
	if (err == -EEXIST)
		pr_err("kcp: family %d is taken by another module; load with family=N, N another free number\n",
		       family);
	if (err)
		goto err_pernet;
	pr_info("kcp: AF_KCP %s registered as socket family %d (number of %s)\n",
		KCP_VERSION, family, kcp_free_families[family]);
	return 0;

err_pernet:
	unregister_pernet_subsys(&kcp_net_ops);
err_proto:
	proto_unregister(&kcp_proto);
err_wq:
	destroy_workqueue(kcp_wq);
err_mem:
	kcp_mem_exit();
	return err;
}

static void __exit kcp_mod_exit(void)
{
	kcp_family_unregister();
	/* sockets free through RCU; their last tunnel puts queue work */
	rcu_barrier();
	destroy_workqueue(kcp_wq);
	unregister_pernet_subsys(&kcp_net_ops);
	proto_unregister(&kcp_proto);
	kcp_crypto_module_exit();
	kcp_mem_exit();
}

module_init(kcp_mod_init);
module_exit(kcp_mod_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("AF_KCP: KCP (kcp-go compatible) reliable streams over UDP");
MODULE_AUTHOR("kcp project");
MODULE_VERSION(KCP_VERSION);
MODULE_ALIAS_NETPROTO(AF_KCP);
