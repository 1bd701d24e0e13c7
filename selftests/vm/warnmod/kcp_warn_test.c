// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module for the VM harness: its init WARNs on purpose, so
 * selftests/vm/selftest.sh can check that a kernel warning fails a run even
 * though the command itself succeeds. Never part of the kcp module.
 */
#include <linux/module.h>
#include <linux/bug.h>

static int __init kcp_warn_test_init(void)
{
	WARN(1, "kcp_warn_test: deliberate warning from the harness self-test\n");
	return 0;
}

static void __exit kcp_warn_test_exit(void)
{
}

module_init(kcp_warn_test_init);
module_exit(kcp_warn_test_exit);

MODULE_DESCRIPTION("kcp VM harness self-test: WARN() on load");
MODULE_LICENSE("GPL");
