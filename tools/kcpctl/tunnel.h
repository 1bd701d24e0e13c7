/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kcpctl tunnel: kcptun's client and server (20210922) over AF_KCP. KCP,
 * FEC and encryption run in the kernel; smux and snappy framing here.
 */
#ifndef _KCPCTL_TUNNEL_H
#define _KCPCTL_TUNNEL_H

#include <stdio.h>

#include "smux.h"

#define TUN_STR 512

/* Every kcptun flag; the JSON keys are the long names. */
struct tun_cfg {
	int server;
	char listen[TUN_STR];		/* server: -l/--listen */
	char target[TUN_STR];		/* server: -t/--target */
	char localaddr[TUN_STR];	/* client: -l/--localaddr */
	char remoteaddr[TUN_STR];	/* client: -r/--remoteaddr */
	char key[TUN_STR];
	char crypt[TUN_STR];
	char mode[TUN_STR];
	int conn, autoexpire, scavengettl;	/* client */
	int mtu, sndwnd, rcvwnd, datashard, parityshard, dscp;
	int nocomp, acknodelay, nodelay, interval, resend, nc;
	int sockbuf, smuxver, smuxbuf, streambuf, keepalive;
	char log[TUN_STR];
	char snmplog[TUN_STR];
	int snmpperiod;
	int quiet, tcp, pprof;
	char config[TUN_STR];		/* -c */
};

/*
 * Fills @c from kcptun's defaults for the role, the environment
 * (KCPTUN_KEY), @argv (Go flag syntax: -name, --name, =value) and the
 * -c JSON file, in that order. 0, or 1 after --help/--version (printed to
 * @out), or -1 with a message in @err.
 */
int tun_parse(struct tun_cfg *c, int server, int argc, char **argv,
	      FILE *out, char *err, size_t errlen);

/* The JSON text @json applied over @c; 0 or -1 with a message in @err. */
int tun_parse_json(struct tun_cfg *c, const char *json, char *err,
		   size_t errlen);

/* Checks what kcptun checks and refuses what cannot be honoured. */
int tun_check(struct tun_cfg *c, char *err, size_t errlen);

/* kcpctl tunnel server|client ARGS; @family is AF_KCP's number */
int cmd_tunnel(int argc, char **argv, int family);

#endif /* _KCPCTL_TUNNEL_H */
