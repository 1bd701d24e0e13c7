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

static int family = AF_KCP;
module_param(family, int, 0444);
MODULE_PARM_DESC(family, "socket family number to register (default 25)");

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

	err = kcp_fec_module_init();
	if (err)
		return err;
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
	if (err)
		goto err_pernet;
	pr_info("kcp: AF_KCP registered as family %d\n", family);
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
	kcp_mem_exit();
}

module_init(kcp_mod_init);
module_exit(kcp_mod_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("AF_KCP: KCP (kcp-go compatible) reliable streams over UDP");
MODULE_AUTHOR("kcp project");
MODULE_ALIAS_NETPROTO(AF_KCP);
