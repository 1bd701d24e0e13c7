// SPDX-License-Identifier: GPL-2.0
/*
 * lifecycle: the live sessions of lifecycle.sh's namespace deletion test.
 *
 *   lifecycle hold [-a IP] [-n N] [-active FRAC] [-rate R] [-size B]
 *		    [-time T] [-preset P ...]
 *
 * One AF_KCP listener on IP (127.0.0.1) and N AF_KCP clients connected to
 * it, all in one epoll loop (no thread per session): each client says one
 * byte, the listener accepts and echoes everything. "ALLUP n secs" once
 * all N are accepted and every client has its echo back; then the first
 * FRAC*N clients send B bytes R times a second each, until -time (120)
 * seconds have passed or the process is killed. "UP n" once a second
 * until then.
 */
#include "../lib/cli.h"
#include <sys/epoll.h>

static struct {
	const char *addr;
	struct kt_kcpopts k;
	int n, size;
	double active, rate, time;
} C = {
	.addr = "127.0.0.1", .k = KT_KCPOPTS_INIT, .n = 1000, .size = 64,
	.active = 0.05, .rate = 20, .time = 120,
};

/* epoll data: the listener, a client (index), or an accepted socket */
#define EV_LISTENER	(1ull << 62)
#define EV_ACCEPTED	(1ull << 61)

static int echo(int fd, char *buf, size_t len)
{
	ssize_t r;

	while ((r = recv(fd, buf, len, MSG_DONTWAIT)) > 0)
		send(fd, buf, r, MSG_NOSIGNAL | MSG_DONTWAIT);
	return r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
}

static int run_hold(void)
{
	struct sockaddr_in a = kt_addr4(C.addr, 0);
	struct epoll_event ev, evs[256];
	int lfd, ep, *cfd, accepted = 0, answered = 0, nactive, i;
	double t0 = kt_now(), t_up = 0, next_up = t0 + 1;
	long long due_sent = 0;
	bool *got;
	char buf[4096];

	cfd = calloc(C.n, sizeof(*cfd));
	got = calloc(C.n, sizeof(*got));
	lfd = kt_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ep = epoll_create1(0);
	if (!cfd || !got || lfd < 0 || ep < 0)
		kt_die("setup");
	kt_kcpopts_tune(&C.k, lfd);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 65535))
		kt_die("bind/listen");
	a.sin_port = htons(kt_port_of(lfd));
	printf("LISTEN %d\n", ntohs(a.sin_port));
	ev.events = EPOLLIN;
	ev.data.u64 = EV_LISTENER;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (i = 0; i < C.n; i++) {
		cfd[i] = kt_socket(SOCK_STREAM);
		if (cfd[i] < 0)
			kt_die("socket(AF_KCP)");
		kt_kcpopts_tune(&C.k, cfd[i]);
		if (connect(cfd[i], (struct sockaddr *)&a, sizeof(a)) ||
		    send(cfd[i], "h", 1, MSG_NOSIGNAL) != 1)
			kt_die("connect/send");
		fcntl(cfd[i], F_SETFL, O_NONBLOCK);
		ev.data.u64 = i;
		epoll_ctl(ep, EPOLL_CTL_ADD, cfd[i], &ev);
	}
	nactive = (int)(C.n * C.active + 0.999);
	if (nactive > C.n)
		nactive = C.n;
	while (kt_now() < t0 + C.time) {
		double now = kt_now();
		int n = epoll_wait(ep, evs, 256, 10);

		for (int j = 0; j < n; j++) {
			uint64_t d = evs[j].data.u64;
			int c;

			if (d == EV_LISTENER) {
				while ((c = accept4(lfd, NULL, NULL,
						    SOCK_NONBLOCK)) >= 0) {
					kt_kcpopts_tune(&C.k, c);
					ev.data.u64 = EV_ACCEPTED | (unsigned int)c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
					accepted++;
				}
			} else if (d & EV_ACCEPTED) {
				c = (int)(d & 0xffffffffu);
				if (echo(c, buf, sizeof(buf))) {
					epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL);
					close(c);
				}
			} else {
				while (recv(cfd[d], buf, sizeof(buf),
					    MSG_DONTWAIT) > 0)
					if (!got[d]) {
						got[d] = true;
						answered++;
					}
			}
		}
		if (!t_up && accepted == C.n && answered == C.n) {
			t_up = now;
			printf("ALLUP %d secs=%.3f\n", accepted, now - t0);
		} else if (!t_up && now >= next_up) {
			printf("UP %d answered=%d\n", accepted, answered);
			next_up += 1;
		}
		/* nactive*rate messages a second, evenly */
		if (t_up && nactive) {
			long long due = (long long)((now - t_up) * nactive * C.rate);

			for (; due_sent < due; due_sent++)
				send(cfd[due_sent % nactive], buf, C.size,
				     MSG_NOSIGNAL | MSG_DONTWAIT);
		}
	}
	printf("RESULT ok=%d sessions=%d accepted=%d answered=%d\n",
	       t_up > 0, C.n, accepted, answered);
	return t_up > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const struct kt_opt opts[] = {
		{ "-a", KT_STR, &C.addr }, { "-n", KT_INT, &C.n },
		{ "-active", KT_DBL, &C.active }, { "-rate", KT_DBL, &C.rate },
		{ "-size", KT_INT, &C.size }, { "-time", KT_DBL, &C.time },
		{ NULL },
	};
	const char *mode;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	mode = kt_cli_start(argc, argv, "lifecycle hold [-n N] [options]",
			    1 << 16, &err);
	if (kt_parse_args("lifecycle", argc, argv, 2, opts, &C.k))
		return 2;
	if (C.size < 1 || C.size > 4096)
		kt_die("-size must be 1..4096");
	if (strcmp(mode, "hold"))
		kt_die("mode must be hold");
	return run_hold();
}
