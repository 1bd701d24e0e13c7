// SPDX-License-Identifier: GPL-2.0
/*
 * kcpscale: many concurrent KCP sessions for the scale benchmark.
 *
 *   kcpscale server -a ADDR:PORT [-preset P] [-wnd S,R] [-mtu N] [-time T]
 *	An AF_KCP listener that accepts every session and keeps it open,
 *	all in one epoll thread: it reads what arrives (2 KiB at a time)
 *	and echoes it. "STAT accepted=N ..." once a second.
 *
 *   kcpscale gen -a SERVER:PORT -src IP[,IP...] -n N [-port0 P]
 *		[-active FRAC] [-rate R] [-size B] [-window W] [-time T]
 *	The load generator: N KCP clients spoken directly on N UDP sockets
 *	(bound to -src addresses in turn, ports from -port0 (2000) up,
 *	skipping ports in use; keep below the ephemeral range), so it works against
 *	any KCP server (AF_KCP or kcp-go) and costs the server side nothing
 *	but its own sessions. Only what the benchmark needs of KCP is there:
 *	PUSH with in-order delivery, ACK, una, retransmission after 1 s.
 *	Phases, driven by signals so that the caller can measure between:
 *	  start:   create and bind the sockets, print "READY sockets=N"
 *	  SIGUSR1: open the sessions: a 1-byte PUSH each, at most -window
 *		   unanswered at a time; a session is up when that byte is
 *		   acknowledged and its echo came back. "UP n" once a second,
 *		   "ALLUP n secs" when done
 *	  SIGUSR2: the first FRAC*N sessions send a -size message -rate
 *		   times a second each (spread evenly), the server echoes;
 *		   round-trip times of the echoes are recorded
 *	  SIGTERM or -time: print RESULT and exit
 *	Sockets and everything else per session are made before READY, so
 *	memory measured from READY to ALLUP is the server's.
 *
 *   Both take -netns NAME: run in network namespace /run/netns/NAME.
 */
#include "../lib/cli.h"
#include <math.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#define KCP_HDR		KT_SEG_HDR
#define MSG_MAGIC	0x6b637363u	/* "cscc" */
#define RTX_MS		1000
#define MAX_UNACKED	8

struct csess {
	int fd;
	uint32_t conv;
	uint32_t snd_nxt, snd_una, rcv_nxt;
	uint32_t sent_ms[MAX_UNACKED];	/* send time of snd_una + i */
	uint8_t len[MAX_UNACKED];	/* payload bytes of that segment */
	bool up, hello_acked;
	uint32_t echoed;		/* echo bytes received */
};

static struct {
	const char *mode, *addr, *src;
	struct kt_kcpopts k;
	int n, port0, size, window;
	double active, rate, time;
	bool verbose;
} C = {
	.k = KT_KCPOPTS_INIT, .n = 1000, .port0 = 2000, .size = 64, .window = 256, .active = 0.01,
	.rate = 10, .time = 600,
};

static volatile sig_atomic_t sig_usr1, sig_usr2, sig_term;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		sig_usr1 = 1;
	else if (sig == SIGUSR2)
		sig_usr2 = 1;
	else
		sig_term = 1;
}

static uint32_t now_ms(void)
{
	return (uint32_t)(uint64_t)(kt_now() * 1000);
}

/* The generator speaks IPv4 only: its sources are IPv4 addresses. */
static void parse_addr4(const char *s, struct sockaddr_in *a)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (kt_parse_addr(s, &ss, &len) || ss.ss_family != AF_INET)
		kt_die("bad address");
	memcpy(a, &ss, sizeof(*a));
}

static void raise_nofile(long n)
{
	struct rlimit rl = { n, n };

	if (setrlimit(RLIMIT_NOFILE, &rl))
		kt_die("setrlimit(RLIMIT_NOFILE)");
}

/* -------------------------------------------------------------- server */

/* -v: the engine's view of an accepted session */
static void dump_info(int fd, const char *when)
{
	struct kcp_info i;
	socklen_t len = sizeof(i);

	if (getsockopt(fd, SOL_KCP, KCP_INFO, &i, &len))
		return;
	printf("INFO %s fd=%d state=%u conv=%08x rcv_nxt=%u rcvq=%u rcvbuf=%u "
	       "snd_nxt=%u snd_una=%u sndq=%u sndbuf=%u in_segs=%llu "
	       "out_segs=%llu in_pkts=%llu out_pkts=%llu bytes_in=%llu\n", when,
	       fd, i.kcpi_state, i.kcpi_conv, i.kcpi_rcv_nxt, i.kcpi_rcv_queue,
	       i.kcpi_rcv_buf, i.kcpi_snd_nxt, i.kcpi_snd_una,
	       i.kcpi_snd_queue, i.kcpi_snd_buf,
	       (unsigned long long)i.kcpi_in_segs,
	       (unsigned long long)i.kcpi_out_segs,
	       (unsigned long long)i.kcpi_in_pkts,
	       (unsigned long long)i.kcpi_out_pkts,
	       (unsigned long long)i.kcpi_bytes_in);
	fflush(stdout);
}

static int run_server(void)
{
	struct epoll_event ev, evs[256];
	struct sockaddr_in a;
	long long accepted = 0, reads = 0, bytes = 0, wakeups = 0, eagain = 0;
	double t0 = kt_now(), next_stat = t0 + 1;
	int lfd, ep, i;
	char buf[2048];

	raise_nofile(1 << 20);
	parse_addr4(C.addr, &a);
	lfd = kt_socket(SOCK_STREAM | SOCK_NONBLOCK);
	if (lfd < 0)
		kt_die("socket(AF_KCP)");
	kt_kcpopts_tune(&C.k, lfd);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 65535))
		kt_die("bind/listen");
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
		kt_die("epoll_ctl");
	printf("LISTEN %d\n", kt_port_of(lfd));
	fflush(stdout);
	while (!sig_term && kt_now() < t0 + C.time) {
		int n = epoll_wait(ep, evs, 256, 1000);

		if (n > 0)
			wakeups++;
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				int c;

				while ((c = accept4(lfd, NULL, NULL,
						    SOCK_NONBLOCK)) >= 0) {
					kt_kcpopts_tune(&C.k, c);
					if (C.verbose && accepted < 3)
						dump_info(c, "accept");
					ev.events = EPOLLIN;
					ev.data.fd = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev))
						kt_die("epoll_ctl");
					accepted++;
				}
				continue;
			}
			for (;;) {
				ssize_t r = recv(fd, buf, sizeof(buf), 0);

				if (r < 0 && errno == EAGAIN)
					eagain++;
				if (r <= 0) {
					if (r == 0 || (errno != EAGAIN &&
						       errno != EINTR)) {
						epoll_ctl(ep, EPOLL_CTL_DEL, fd,
							  NULL);
						close(fd);
					}
					break;
				}
				reads++;
				bytes += r;
				send(fd, buf, r, MSG_NOSIGNAL | MSG_DONTWAIT);
			}
		}
		if (kt_now() >= next_stat) {
			printf("STAT accepted=%lld reads=%lld bytes=%lld "
			       "wakeups=%lld eagain=%lld\n", accepted, reads,
			       bytes, wakeups, eagain);
			fflush(stdout);
			next_stat += 1;
		}
	}
	printf("RESULT ok=1 mode=server accepted=%lld reads=%lld bytes=%lld\n",
	       accepted, reads, bytes);
	return 0;
}

/* ----------------------------------------------------------- generator */

static struct csess *S;
static int ep;
static uint32_t snd_wnd_adv = 1024;

/* lat of the active phase's echoes, ms */
static double *lat;
static long long nlat, maxlat;
static long long tx_pkts, rx_pkts, rtx, echo_msgs, msgs_sent, stalled;

static void seg_hdr(uint8_t *p, struct csess *s, uint8_t cmd, uint32_t ts,
		    uint32_t sn, uint32_t len)
{
	kt_seg_hdr(p, s->conv, cmd, 0, snd_wnd_adv, ts, sn, s->rcv_nxt, len);
}

/* Send (or resend) segment sn of session s. */
static void send_push(struct csess *s, uint32_t sn, bool resend)
{
	uint8_t pkt[KCP_HDR + 256];
	uint32_t i = sn - s->snd_una, len = s->len[i], ts = now_ms();

	seg_hdr(pkt, s, KCP_CMD_PUSH, ts, sn, len);
	memset(pkt + KCP_HDR, 'x', len);
	if (len >= 16) {
		double t = kt_now();

		kt_p32(pkt + KCP_HDR, MSG_MAGIC);
		memcpy(pkt + KCP_HDR + 8, &t, sizeof(t));
	}
	s->sent_ms[i] = ts;
	if (send(s->fd, pkt, KCP_HDR + len, MSG_DONTWAIT) > 0)
		tx_pkts++;
	if (resend)
		rtx++;
}

/* Queue a new segment of @len bytes; false if too many are unacked. */
static bool new_push(struct csess *s, uint32_t len)
{
	uint32_t sn = s->snd_nxt;

	if (sn - s->snd_una >= MAX_UNACKED) {
		stalled++;
		return false;
	}
	s->len[sn - s->snd_una] = len;
	s->snd_nxt++;
	send_push(s, sn, false);
	return true;
}

static void advance_una(struct csess *s, uint32_t una)
{
	while ((int32_t)(una - s->snd_una) > 0 && s->snd_una != s->snd_nxt) {
		memmove(s->sent_ms, s->sent_ms + 1,
			sizeof(s->sent_ms) - sizeof(s->sent_ms[0]));
		memmove(s->len, s->len + 1, sizeof(s->len) - sizeof(s->len[0]));
		s->snd_una++;
	}
}

static int up_count;

static void check_up(struct csess *s)
{
	if (!s->up && s->hello_acked && s->echoed >= 1) {
		s->up = true;
		up_count++;
	}
}

/* One datagram from the server. */
static void gen_input(struct csess *s, const uint8_t *p, ssize_t n)
{
	uint8_t acks[1500];
	int nack = 0;

	rx_pkts++;
	while (n >= KCP_HDR) {
		struct kt_seg sg;
		int used = kt_seg_get(p, n, &sg);
		uint32_t ts = sg.ts, sn = sg.sn, una = sg.una, len = sg.len;
		uint8_t cmd = sg.cmd;

		if (used < 0 || sg.conv != s->conv)
			break;
		advance_una(s, una);
		if (cmd == KCP_CMD_ACK && sn == s->snd_una)
			advance_una(s, sn + 1);
		if (s->snd_una)
			s->hello_acked = true;
		if (cmd == KCP_CMD_PUSH) {
			if (sn == s->rcv_nxt) {
				s->rcv_nxt++;
				s->echoed += len;
				if (len >= 16 && kt_g32(p + KCP_HDR) == MSG_MAGIC &&
				    nlat < maxlat) {
					double t;

					memcpy(&t, p + KCP_HDR + 8, sizeof(t));
					lat[nlat++] = (kt_now() - t) * 1000;
					echo_msgs++;
				}
			}
			if (nack * KCP_HDR + KCP_HDR <= (int)sizeof(acks)) {
				seg_hdr(acks + nack * KCP_HDR, s, KCP_CMD_ACK,
					ts, sn, 0);
				nack++;
			}
		} else if (cmd == KCP_CMD_WASK) {
			if (nack * KCP_HDR + KCP_HDR <= (int)sizeof(acks)) {
				seg_hdr(acks + nack * KCP_HDR, s, KCP_CMD_WINS,
					now_ms(), 0, 0);
				nack++;
			}
		}
		p += KCP_HDR + len;
		n -= KCP_HDR + len;
	}
	/* the una of the acks must be the final rcv_nxt */
	for (int i = 0; i < nack; i++)
		kt_p32(acks + i * KCP_HDR + 16, s->rcv_nxt);
	if (nack && send(s->fd, acks, nack * KCP_HDR, MSG_DONTWAIT) > 0)
		tx_pkts++;
	check_up(s);
}

/* Retransmit what waited RTX_MS; returns how many segments are unacked. */
static int retransmit(struct csess *s, uint32_t now)
{
	for (uint32_t sn = s->snd_una; sn != s->snd_nxt; sn++)
		if ((int32_t)(now - s->sent_ms[sn - s->snd_una]) >= RTX_MS)
			send_push(s, sn, true);
	return s->snd_nxt - s->snd_una;
}

static int run_gen(void)
{
	struct sockaddr_in srv;
	struct epoll_event ev, evs[512];
	char srcs[256], *tok, *save;
	struct in_addr src[16];
	int nsrc = 0, i, opened = 0, nactive = 0, skip[16] = { 0 }, skipped = 0;
	double t0 = kt_now(), t_open = 0, t_up = 0, t_active = 0, next_up = 0;
	double next_scan = 0;
	long long due_sent = 0;
	int *pending, npending = 0;
	uint8_t buf[2048];

	parse_addr4(C.addr, &srv);
	snprintf(srcs, sizeof(srcs), "%s", C.src ? C.src : "0.0.0.0");
	for (tok = strtok_r(srcs, ",", &save); tok && nsrc < 16;
	     tok = strtok_r(NULL, ",", &save))
		if (inet_pton(AF_INET, tok, &src[nsrc++]) != 1)
			kt_die("bad -src");
	if ((long)C.n > (long)nsrc * (65535 - C.port0 + 1))
		kt_die("-n too large for the -src addresses and -port0");
	raise_nofile(C.n + 1024);
	S = calloc(C.n, sizeof(*S));
	pending = calloc(C.n, sizeof(*pending));
	maxlat = 1 << 20;
	lat = malloc(maxlat * sizeof(*lat));
	if (!S || !lat || !pending)
		kt_die("calloc");
	ep = epoll_create1(0);
	for (i = 0; i < C.n; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		struct csess *s = &S[i];

		s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (s->fd < 0)
			kt_die("socket");
		a.sin_addr = src[i % nsrc];
		/* ports in use (by someone else) are skipped */
		for (;;) {
			int port = C.port0 + i / nsrc + skip[i % nsrc];

			if (port > 65535)
				kt_die("out of ports: more -src addresses needed");
			a.sin_port = htons(port);
			if (!bind(s->fd, (struct sockaddr *)&a, sizeof(a)))
				break;
			if (errno != EADDRINUSE)
				kt_die("bind");
			skip[i % nsrc]++;
			skipped++;
		}
		if (connect(s->fd, (struct sockaddr *)&srv, sizeof(srv)))
			kt_die("connect");
		s->conv = (uint32_t)(i + 1) * 2654435761u ^ 0x5a5a0000u;
		if (!s->conv)
			s->conv = 1;
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev))
			kt_die("epoll_ctl");
	}
	nactive = (int)ceil(C.n * C.active);
	if (nactive > C.n)
		nactive = C.n;
	printf("READY sockets=%d secs=%.3f ports_skipped=%d\n", C.n,
	       kt_now() - t0, skipped);
	fflush(stdout);

	while (!sig_term && kt_now() < t0 + C.time) {
		double now = kt_now();
		int timeout = -1, n;

		if (sig_usr1 && !t_open) {
			t_open = now;
			next_up = now + 1;
		}
		if (sig_usr2 && !t_active && t_up)
			t_active = now;
		/* open sessions, at most -window unanswered */
		while (t_open && opened < C.n &&
		       opened - up_count < C.window) {
			new_push(&S[opened], 1);
			pending[npending++] = opened++;
		}
		if (t_open && !t_up && up_count == C.n) {
			t_up = now;
			printf("ALLUP %d secs=%.3f\n", up_count, now - t_open);
			fflush(stdout);
		}
		if (t_open && !t_up && now >= next_up) {
			printf("UP %d\n", up_count);
			fflush(stdout);
			next_up += 1;
		}
		/* the active phase: nactive*rate messages a second, evenly */
		if (t_active && nactive) {
			long long due = (long long)((now - t_active) *
						    nactive * C.rate);

			while (due_sent < due) {
				new_push(&S[due_sent % nactive], C.size);
				msgs_sent++;
				due_sent++;
			}
			timeout = (int)(1000 / (nactive * C.rate));
			if (timeout < 1)
				timeout = 1;
		}
		/*
		 * Retransmissions: of the sessions still opening (a list, so
		 * the scan does not grow with N), then of the active ones.
		 */
		if (t_open && now >= next_scan) {
			uint32_t ms = now_ms();
			int j = 0;

			for (i = 0; i < npending; i++) {
				struct csess *s = &S[pending[i]];

				if (s->up)
					continue;
				retransmit(s, ms);
				pending[j++] = pending[i];
			}
			npending = j;
			for (i = 0; t_active && i < nactive; i++)
				retransmit(&S[i], ms);
			next_scan = now + 0.2;
		}
		if (t_open && (!t_up || t_active)) {
			int ms = (int)((next_scan - kt_now()) * 1000) + 1;

			if (timeout < 0 || ms < timeout)
				timeout = ms;
		}
		if (t_open && !t_up && timeout > 100)
			timeout = 100;
		if (timeout < 0 || timeout > (t0 + C.time - now) * 1000 + 1)
			timeout = (int)((t0 + C.time - now) * 1000) + 1;
		n = epoll_wait(ep, evs, 512, timeout);
		for (i = 0; i < n; i++) {
			struct csess *s = &S[evs[i].data.u32];
			ssize_t r;

			while ((r = recv(s->fd, buf, sizeof(buf), 0)) > 0)
				gen_input(s, buf, r);
		}
	}
	qsort(lat, nlat, sizeof(*lat), kt_cmp_double);
	printf("RESULT ok=%d mode=gen sessions=%d up=%d open_secs=%.3f "
	       "active=%d rate=%.1f msgs=%lld echoes=%lld stalled=%lld "
	       "rtx=%lld tx_pkts=%lld rx_pkts=%lld p50_ms=%.2f p99_ms=%.2f "
	       "p999_ms=%.2f\n", up_count == C.n, C.n, up_count,
	       t_up ? t_up - t_open : -1.0, nactive, C.rate, msgs_sent,
	       echo_msgs, stalled, rtx, tx_pkts, rx_pkts, kt_pct(lat, nlat, 0.5),
	       kt_pct(lat, nlat, 0.99), kt_pct(lat, nlat, 0.999));
	fflush(stdout);
	return up_count != C.n;
}

int main(int argc, char **argv)
{
	const struct kt_opt opts[] = {
		{ "-v", KT_FLAG, &C.verbose }, { "-a", KT_STR, &C.addr },
		{ "-src", KT_STR, &C.src }, { "-n", KT_INT, &C.n },
		{ "-port0", KT_INT, &C.port0 }, { "-size", KT_INT, &C.size },
		{ "-window", KT_INT, &C.window }, { "-active", KT_DBL, &C.active },
		{ "-rate", KT_DBL, &C.rate }, { "-time", KT_DBL, &C.time },
		{ NULL },
	};
	struct sigaction sa = { .sa_handler = on_signal };

	int err;

	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	C.mode = kt_cli_start(argc, argv, "kcpscale server|gen -a ADDR:PORT [options]",
			      0, &err);
	if (kt_parse_args("kcpscale", argc, argv, 2, opts, &C.k))
		return 2;
	if (!C.addr)
		kt_die("-a required");
	if (C.size < 16 || C.size > 256)
		kt_die("-size must be 16..256");
	if (!strcmp(C.mode, "server"))
		return run_server();
	if (!strcmp(C.mode, "gen"))
		return run_gen();
	kt_die("mode must be server or gen");
	return 2;
}
