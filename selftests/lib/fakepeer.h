/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A fake KCP peer (fakepeer.c): the AF_KCP socket under test is connected
 * to a plain UDP socket of the test on 127.0.0.1, which reads what the
 * kernel sends (24-byte KCP segments, FEC and crypto headers in front:
 * kcpwire.h takes them apart) and answers with hand-made segments.
 * Used by selftests/net/options.
 */
#ifndef _KT_FAKEPEER_H
#define _KT_FAKEPEER_H

#include "kcptest.h"

#define LO "127.0.0.1"

struct dg {
	double t;
	int len;
	uint8_t b[2048];
};

/* The plain UDP side of a test and the AF_KCP socket connected to it. */
struct peer {
	int u, uport;
	int k;
	struct sockaddr_in ka;
	uint32_t conv;
};

typedef void (*prep_t)(int fd, void *arg);

int dg_recv(int u, struct dg *d, int ms);
int dg_collect(int u, struct dg *ds, int max, int ms);
void dg_drain(int u);
int udp_bind(int *port);
int peer_open(struct peer *p, int type, prep_t prep, void *arg);
void peer_close(struct peer *p);
void peer_tx(struct peer *p, const uint8_t *b, int n);
void peer_seg(struct peer *p, uint8_t cmd, uint16_t wnd, uint32_t ts,
		     uint32_t sn, uint32_t una, const void *data, uint32_t len);
bool wait_seg(struct peer *p, int cmd, long sn, int ms, struct dg *d,
		     struct kt_seg *out);

#endif
