// SPDX-License-Identifier: GPL-2.0
/*
 * A fake KCP peer for tests that watch AF_KCP on the wire: a plain UDP
 * socket on loopback, an AF_KCP socket connected to it, and datagrams
 * received with the kernel's arrival time and sent by hand (see
 * fakepeer.h).
 */
#include "fakepeer.h"


/*
 * One datagram within @ms; returns its length, 0 on timeout. d->t is
 * when the kernel received it (SO_TIMESTAMPNS, on the kt_now() clock):
 * a stalled test process must not shift the gaps it measures.
 */
int dg_recv(int u, struct dg *d, int ms)
{
	struct pollfd pfd = { .fd = u, .events = POLLIN };
	char cbuf[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { d->b, sizeof(d->b) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct timespec rt;
	struct cmsghdr *cm;

	if (ms < 0)
		ms = 0;
	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	d->len = recvmsg(u, &mh, MSG_DONTWAIT);
	d->t = kt_now();
	clock_gettime(CLOCK_REALTIME, &rt);
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			/* how long ago, by the same (realtime) clock */
			d->t -= (rt.tv_sec - ts.tv_sec) +
				(rt.tv_nsec - ts.tv_nsec) / 1e9;
		}
	}
	return d->len > 0 ? d->len : 0;
}

/*
 * Everything that arrives in the next @ms, by the kernel's arrival time:
 * a stalled test process still gets what was queued in time.
 */
int dg_collect(int u, struct dg *ds, int max, int ms)
{
	double end = kt_now() + ms / 1000.0;
	int n = 0;

	while (n < max) {
		int left = (int)((end - kt_now()) * 1000);

		if (!dg_recv(u, &ds[n], left > 0 ? left : 0) || ds[n].t > end)
			break;
		n++;
	}
	return n;
}

void dg_drain(int u)
{
	struct dg d;

	while (dg_recv(u, &d, 0))
		;
}


int udp_bind(int *port)
{
	struct sockaddr_in a = kt_addr4(LO, 0);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	int big = 1 << 20, one = 1;

	if (u < 0 || bind(u, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	setsockopt(u, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(u, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	*port = kt_port_of(u);
	return u;
}

int peer_open(struct peer *p, int type, prep_t prep, void *arg)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(p->conv);

	memset(p, 0, sizeof(*p));
	p->k = -1;
	p->u = udp_bind(&p->uport);
	if (p->u < 0)
		return -1;
	p->k = kt_socket(type);
	if (p->k < 0)
		return -1;
	/*
	 * The hand-made peer speaks kcp-go's protocol only: no session
	 * extension, and connect() must not wait for an answer it never
	 * sends (a prep may turn either back on).
	 */
	kt_setint(p->k, KCP_SESSION_EXT, 0);
	kt_setint(p->k, KCP_CONNECT_TIMEOUT, 0);
	if (prep)
		prep(p->k, arg);
	a = kt_addr4(LO, p->uport);
	if (connect(p->k, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	p->ka = kt_addr4(LO, kt_port_of(p->k));
	getsockopt(p->k, SOL_KCP, KCP_CONV, &p->conv, &len);
	return 0;
}

void peer_close(struct peer *p)
{
	if (p->k >= 0)
		close(p->k);
	if (p->u >= 0)
		close(p->u);
	p->k = p->u = -1;
}

void peer_tx(struct peer *p, const uint8_t *b, int n)
{
	sendto(p->u, b, n, 0, (struct sockaddr *)&p->ka, sizeof(p->ka));
}

/* A hand-made segment from the UDP side. */
void peer_seg(struct peer *p, uint8_t cmd, uint16_t wnd, uint32_t ts,
		     uint32_t sn, uint32_t una, const void *data, uint32_t len)
{
	uint8_t b[1600];

	peer_tx(p, b, kt_seg_put(b, p->conv, cmd, wnd, ts, sn, una, data, len));
}

/* Wait up to @ms for a datagram holding segment @cmd/@sn (sn < 0: any). */
bool wait_seg(struct peer *p, int cmd, long sn, int ms, struct dg *d,
		     struct kt_seg *out)
{
	double end = kt_now() + ms / 1000.0;
	struct kt_seg s[64];

	for (;;) {
		int left = (int)((end - kt_now()) * 1000), n;

		if (left <= 0 || !dg_recv(p->u, d, left))
			return false;
		n = kt_segs_parse(d->b, d->len, s, 64);
		for (int i = 0; i < n; i++) {
			if (s[i].cmd == cmd && (sn < 0 || s[i].sn == sn)) {
				if (out)
					*out = s[i];
				return true;
			}
		}
	}
}
