// SPDX-License-Identifier: GPL-2.0
/*
 * kcpctl_hold: holds a connected AF_KCP pair on loopback for
 * kcpctl_test.sh, which retunes it from outside ("kcpctl set --pid --fd").
 *
 *   kcpctl_hold [-6]
 *
 * Prints "READY pid=P listen=L client=C server=S", then on each SIGUSR1
 * one line with the client socket's own view, read with getsockopt():
 * "INFO nodelay=.. interval=.. resend=.. nc=.. snd_wnd=.. rcv_wnd=..
 * mtu=.. state=..". Exits on SIGTERM/SIGINT.
 */
#include "../lib/kcptest.h"

static volatile sig_atomic_t want_info, want_exit;

static void on_usr1(int sig)
{
	want_info = 1;
}

static void on_term(int sig)
{
	want_exit = 1;
}

static void print_info(int fd)
{
	struct kcp_nodelay nd;
	struct kcp_wndsize ws;
	struct kcp_info ki;
	socklen_t len;
	int mtu = 0;

	len = sizeof(nd);
	memset(&nd, 0, sizeof(nd));
	getsockopt(fd, SOL_KCP, KCP_NODELAY, &nd, &len);
	len = sizeof(ws);
	memset(&ws, 0, sizeof(ws));
	getsockopt(fd, SOL_KCP, KCP_WNDSIZE, &ws, &len);
	len = sizeof(mtu);
	getsockopt(fd, SOL_KCP, KCP_MTU, &mtu, &len);
	len = sizeof(ki);
	memset(&ki, 0, sizeof(ki));
	getsockopt(fd, SOL_KCP, KCP_INFO, &ki, &len);
	printf("INFO nodelay=%d interval=%d resend=%d nc=%d snd_wnd=%u "
	       "rcv_wnd=%u mtu=%d state=%u\n", nd.nodelay, nd.interval,
	       nd.resend, nd.nc, ws.snd, ws.rcv, mtu, ki.kcpi_state);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *ip = argc > 1 && !strcmp(argv[1], "-6") ? "::1" :
			 "127.0.0.1";
	struct sigaction sa = { .sa_handler = on_usr1 };
	int port = 0, l, c, s;
	char ch;

	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	l = kt_listen(SOCK_STREAM, ip, &port);
	if (l < 0) {
		perror("listen");
		return 1;
	}
	c = kt_connect(SOCK_STREAM, ip, port);
	if (c < 0 || send(c, "h", 1, 0) != 1) {
		perror("connect");
		return 1;
	}
	s = accept(l, NULL, NULL);
	if (s < 0 || recv(s, &ch, 1, 0) != 1) {
		perror("accept");
		return 1;
	}
	printf("READY pid=%d listen=%d client=%d server=%d port=%d\n",
	       getpid(), l, c, s, port);
	fflush(stdout);
	while (!want_exit) {
		if (want_info) {
			want_info = 0;
			print_info(c);
		}
		/* keep a little traffic flowing so counters move */
		send(c, "x", 1, MSG_DONTWAIT);
		recv(s, &ch, 1, MSG_DONTWAIT);
		usleep(50000);
	}
	close(c);
	close(s);
	close(l);
	return 0;
}
