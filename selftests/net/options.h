/* SPDX-License-Identifier: GPL-2.0 */
/*
 * selftests/net/options: what its files share. options.c is the program
 * (the helpers below, the subcommands of options.sh, the group table);
 * the test groups are in options_set.c (set, read back, refuse),
 * options_wire.c (the effect of each option on the wire, against the fake
 * peer of selftests/lib/fakepeer.c) and options_sock.c (standard socket
 * options, SOCK_SEQPACKET).
 */
#ifndef _OPTIONS_H
#define _OPTIONS_H

#include "../lib/fakepeer.h"
#include "../../tools/kcpctl/kcpnames.h"
#include <sched.h>
#include <sys/ioctl.h>

/* options.c */
int getint(int fd, int opt, int *v);
int info(int fd, struct kcp_info *i);
bool fails(int ret, int err);
const char *ename(int e);
bool unimplemented(int fd, int opt, const char *name);
long snmp(const char *name);
int proc_state(int lport, int rport);
void sleep_ms(int ms);

struct prep_args {
	int nd[4];		/* KCP_NODELAY, nd[0] == -9: not set */
	int snd, rcv;		/* KCP_WNDSIZE, 0: not set */
	int mtu, stream, ack_nodelay, write_delay, deadlink, minrto;
	int idle, linger, rcvbuf, sndbuf;
	struct kcp_fec fec;
	struct kcp_crypto kc;
	bool nonblock;
};

#define PREP_INIT { .nd = { -9 }, .stream = -1, .ack_nodelay = -1, \
		    .write_delay = -1, .idle = -1, .linger = -1 }

void prep(int fd, void *arg);

/* options_set.c */
bool nd_is(int fd, int a, int b, int c, int d, char *why, size_t n);
void test_generic_errors(void);
void test_int_options(void);
void test_nodelay_opt(void);
void test_wndsize_opt(void);
void test_conv_opt(void);
void test_fec_opt(void);
void test_crypto_opt(void);
void test_info_opt(void);

/* options_wire.c */
void test_presets(void);
void test_mtu_wire(void);
void test_stream_wire(void);
void test_ack_nodelay_wire(void);
void test_wndsize_wire(void);
void test_nodelay_wire(void);
void test_minrto_wire(void);
void test_deadlink_wire(void);
void test_idle_wire(void);
void test_fec_wire(void);
void test_crypto_wire(void);
void test_linger_timeout_wire(void);

/* options_sock.c */
void test_so_bufs(void);
void test_so_timeouts(void);
void test_so_linger(void);
void test_seqpacket(void);
int cmd_seqrecv(const char *ip, long total);
int cmd_seqsend(const char *ip, int port, int n, char **sz);

#endif
