// SPDX-License-Identifier: GPL-2.0
/*
 * The packet attack of attack.sh, fast enough for a TCG guest.
 *
 *   attack flood -src IP -aes IP:PORT -plain IP:PORT [-dev IFACE]
 *                [-n TOTAL] [-pps RATE] [-secs MAX] [-insession N]
 *     Captures datagrams of the live (encrypted) session to -aes on
 *     IFACE, makes a pool of datagrams encrypted with another key (an
 *     AF_KCP socket of its own, keyed differently, talking to a local UDP
 *     socket), then sends TOTAL datagrams (stopping at MAX seconds):
 *     truncated, oversized, random, wrong-key, replayed (from thousands of
 *     spoofed source ports, and a few from the live session's own
 *     address), valid first datagrams from thousands of spoofed ports,
 *     and malformed KCP/FEC. Spoofed datagrams go out through a raw
 *     socket with source -src. Prints "SENT KIND TARGET N" lines, then
 *     "SENT total N" and "SPOOFED N" (datagrams from spoofed ports).
 *
 *   attack sample
 *     Samples /proc/meminfo and /proc/slabinfo every 100 ms until
 *     SIGTERM, then prints the baseline, the peak and the last sample.
 *
 *   attack server -a IP:PORT [-backlog N]
 *     The legitimate server: an aes-keyed fast3 listener that accepts
 *     one session and echoes it (its backlog then fills with what the
 *     flood makes). Prints "LISTEN PORT"; runs until killed.
 *
 *   attack client -a IP:PORT -stop FILE [-min BYTES] [-timeout S]
 *     The legitimate transfer: writes the test stream (kcptest.h) until
 *     FILE exists and at least BYTES went out, reads the echo back and
 *     compares it with what was sent, byte for byte.
 *     Prints "LEGIT ok=0|1 sent=N echoed=N ...".
 */
#include "../lib/kcptest.h"
#include <ctype.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/uio.h>

static uint64_t rs = 0x2545F4914F6CDD1Dull;

static uint32_t rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return (uint32_t)((rs * 0x2545F4914F6CDD1Dull) >> 32);
}

static void rnd_fill(uint8_t *p, int n)
{
	while (n-- > 0)
		*p++ = rnd();
}

static int seg(uint8_t *b, uint32_t conv, uint8_t cmd, uint32_t sn,
	       uint32_t una, uint32_t len, const void *data, uint32_t dlen)
{
	kt_seg_hdr(b, conv, cmd, 0, 32, rnd(), sn, una, len);
	if (dlen)
		memcpy(b + 24, data, dlen);
	return 24 + dlen;
}

/* ---- sampler ---- */

struct mem {
	long avail_kb, slab_kb, sunrec_kb;
	long kcp_objs, kcp_kb, kmalloc_kb, skb_kb;
	long sessions;		/* net.kcp sessions of this namespace */
	long kcp_objsize;	/* bytes per AF_KCP socket (slab object) */
};

static void mem_read(struct mem *m)
{
	char line[512], name[64];
	FILE *f;

	memset(m, 0, sizeof(*m));
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		long v;

		if (sscanf(line, "MemAvailable: %ld", &v) == 1)
			m->avail_kb = v;
		else if (sscanf(line, "Slab: %ld", &v) == 1)
			m->slab_kb = v;
		else if (sscanf(line, "SUnreclaim: %ld", &v) == 1)
			m->sunrec_kb = v;
	}
	if (f)
		fclose(f);
	f = fopen("/proc/net/kcp_snmp", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Sessions %ld", &m->sessions) == 1)
			break;
	if (f)
		fclose(f);
	f = fopen("/proc/slabinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		long active, num, size;

		if (sscanf(line, "%63s %ld %ld %ld", name, &active, &num,
			   &size) != 4)
			continue;
		if (!strcmp(name, "KCP")) {
			m->kcp_objs = active;
			m->kcp_objsize = size;
			m->kcp_kb += num * size / 1024;
		} else if (!strncmp(name, "kmalloc-", 8) &&
			   isdigit((unsigned char)name[8])) {
			m->kmalloc_kb += num * size / 1024;
		} else if (!strncmp(name, "skbuff_", 7)) {
			m->skb_kb += num * size / 1024;
		}
	}
	if (f)
		fclose(f);
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

static void mem_print(const char *tag, const struct mem *m)
{
	printf("%s mem_available_kb=%ld slab_kb=%ld slab_unreclaimable_kb=%ld "
	       "kcp_objs=%ld kcp_kb=%ld kmalloc_kb=%ld skbuff_kb=%ld "
	       "sessions=%ld kcp_objsize=%ld\n", tag, m->avail_kb, m->slab_kb,
	       m->sunrec_kb, m->kcp_objs, m->kcp_kb, m->kmalloc_kb, m->skb_kb,
	       m->sessions, m->kcp_objsize);
}

static int cmd_sample(void)
{
	struct mem base, peak, cur;
	long n = 0;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	mem_read(&base);
	peak = base;
	cur = base;
	printf("SAMPLING\n");
	fflush(stdout);
	while (!stop) {
		usleep(100000);
		mem_read(&cur);
		n++;
#define PMAX(f) if (cur.f > peak.f) peak.f = cur.f
		PMAX(slab_kb);
		PMAX(sunrec_kb);
		PMAX(kcp_objs);
		PMAX(kcp_kb);
		PMAX(kmalloc_kb);
		PMAX(skb_kb);
		PMAX(sessions);
		PMAX(kcp_objsize);
		if (cur.avail_kb < peak.avail_kb)
			peak.avail_kb = cur.avail_kb;
	}
	mem_print("BASE", &base);
	mem_print("PEAK", &peak);
	mem_print("LAST", &cur);
	printf("SAMPLES %ld\n", n);
	return 0;
}

/* ---- flood ---- */

#define POOL 256

struct pool {
	int n;
	uint16_t len[POOL];
	uint8_t b[POOL][1500];
};

static struct pool legit, wrongkey;
static int legit_port;

/* Datagrams from -src to @dst captured on @dev; learns the client port. */
static void capture(const char *dev, in_addr_t src, struct sockaddr_in *dst,
		    double secs)
{
	/* ETH_P_ALL: a packet socket of one protocol sees no outgoing frames */
	int ps = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	struct sockaddr_ll ll = { .sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ALL) };
	double end = kt_now() + secs;
	static int hits[65536];
	uint8_t buf[2048];

	if (ps < 0) {
		perror("AF_PACKET");
		return;
	}
	ll.sll_ifindex = if_nametoindex(dev);
	if (bind(ps, (struct sockaddr *)&ll, sizeof(ll))) {
		perror("bind AF_PACKET");
		close(ps);
		return;
	}
	while (legit.n < POOL && kt_now() < end) {
		struct pollfd pfd = { .fd = ps, .events = POLLIN };
		struct iphdr *ip = (struct iphdr *)buf;
		struct sockaddr_ll from;
		socklen_t flen = sizeof(from);
		struct udphdr *uh;
		int n, hl, port;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recvfrom(ps, buf, sizeof(buf), 0, (struct sockaddr *)&from,
			     &flen);
		if (n < 28 || from.sll_protocol != htons(ETH_P_IP) ||
		    ip->version != 4 || ip->protocol != IPPROTO_UDP ||
		    ip->saddr != src || ip->daddr != dst->sin_addr.s_addr ||
		    (ntohs(ip->frag_off) & 0x3fff))
			continue;
		hl = ip->ihl * 4;
		uh = (struct udphdr *)(buf + hl);
		if (uh->dest != dst->sin_port || n < hl + 8)
			continue;
		port = ntohs(uh->source);
		/* the live session's port is the one that keeps coming */
		if (++hits[port] == 3 && !legit_port)
			legit_port = port;
		if (port != legit_port || n - hl - 8 > 1500)
			continue;
		legit.len[legit.n] = n - hl - 8;
		memcpy(legit.b[legit.n], buf + hl + 8, n - hl - 8);
		legit.n++;
	}
	close(ps);
}

/* Datagrams of our own AF_KCP socket keyed with another aes key. */
static void make_wrongkey(void)
{
	struct kcp_crypto kc = { .cipher = KCP_CIPHER_AES, .key_len = 32 };
	struct sockaddr_in a = kt_addr4("127.0.0.1", 0);
	int u = socket(AF_INET, SOCK_DGRAM, 0), k, big = 1 << 21;
	static uint8_t data[4000];
	socklen_t len = sizeof(a);

	for (int i = 0; i < 32; i++)
		kc.key[i] = 0xA0 + i;
	if (u < 0 || bind(u, (struct sockaddr *)&a, sizeof(a)))
		return;
	setsockopt(u, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	getsockname(u, (struct sockaddr *)&a, &len);
	k = kt_socket(SOCK_STREAM);
	/* the plain UDP socket never answers: kcp-go's Dial, no waiting */
	if (k < 0 || kt_setopt(k, KCP_CRYPTO, &kc, sizeof(kc)) ||
	    kt_nodelay(k, 1, 10, 2, 1) || kt_wnd(k, 512, 512) ||
	    kt_setint(k, KCP_CONNECT_TIMEOUT, 0) ||
	    connect(k, (struct sockaddr *)&a, sizeof(a))) {
		fprintf(stderr, "wrong-key socket: %s\n", strerror(errno));
		if (k >= 0)
			close(k);
		close(u);
		return;
	}
	fcntl(k, F_SETFL, O_NONBLOCK);
	rnd_fill(data, sizeof(data));
	for (int i = 0; i < 96 && wrongkey.n < POOL; i++) {
		struct pollfd pfd = { .fd = u, .events = POLLIN };

		send(k, data, 1 + rnd() % sizeof(data), 0);
		while (wrongkey.n < POOL && poll(&pfd, 1, 20) > 0) {
			int n = recv(u, wrongkey.b[wrongkey.n], 1500, 0);

			if (n > 0)
				wrongkey.len[wrongkey.n++] = n;
		}
	}
	close(k);
	close(u);
}

enum kind {
	K_TRUNC, K_OVERSIZE, K_RANDOM, K_WRONGKEY, K_REPLAY, K_INSESSION,
	K_FIRST, K_BADCMD, K_BADLEN, K_MIXEDCONV, K_FECPARITY, K_FECBAD,
	K_BADUNA, K__MAX
};

static const char *kind_name[K__MAX] = {
	"truncated", "oversize", "random", "wrongkey", "replay_spoofed",
	"replay_insession", "first", "badcmd", "badlen", "mixedconv",
	"fec_parity", "fec_bad", "baduna",
};

static long sent[K__MAX][2];	/* [kind][0: aes target, 1: plain] */

/* not 81..84 (PUSH, ACK, WASK, WINS) */
static const uint8_t bad_cmds[4] = { 0, 80, 85, 255 };

struct out {
	struct mmsghdr m[64];
	struct iovec iov[64];
	struct sockaddr_in to[64];
	uint8_t b[64][1600];
	int n;
};

static int raw_fd;

static void flush_out(struct out *o)
{
	int done = 0;

	while (done < o->n) {
		int r = sendmmsg(raw_fd, o->m + done, o->n - done, 0);

		if (r <= 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS || errno == EAGAIN) {
				usleep(1000);
				continue;
			}
			perror("sendmmsg");
			break;
		}
		done += r;
	}
	o->n = 0;
}

/* Queue a spoofed datagram: IP + UDP header (checksum 0) + @len bytes. */
static uint8_t *spoof(struct out *o, in_addr_t src, int sport,
		      const struct sockaddr_in *dst, int len)
{
	uint8_t *b = o->b[o->n];

	kt_udp4_hdr(b, src, htons(sport), dst, len);
	o->iov[o->n] = (struct iovec){ b, 28 + len };
	o->to[o->n] = *dst;
	o->m[o->n].msg_hdr = (struct msghdr){
		.msg_name = &o->to[o->n], .msg_namelen = sizeof(o->to[0]),
		.msg_iov = &o->iov[o->n], .msg_iovlen = 1,
	};
	o->n++;
	return b + 28;
}

/* IPv4 only: the spoofed datagrams get hand-made IPv4 headers. */
static int parse_hostport(const char *s, struct sockaddr_in *a)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (kt_parse_addr(s, &ss, &len) || ss.ss_family != AF_INET)
		return -1;
	memcpy(a, &ss, sizeof(*a));
	return 0;
}

static int cmd_flood(int argc, char **argv)
{
	struct sockaddr_in aes = { 0 }, plain = { 0 }, src_sa;
	const char *src = NULL, *dev = "veth-b";
	long total = 120000, insession = 1000, pps = 20000, nsent = 0;
	double secs = 90, t0, tcap;
	int over[16], nover = 0, next_port = 10000, spoofed = 0;
	static struct out o;
	static uint8_t tmp[2000];
	in_addr_t s;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-src"))
			src = argv[i + 1];
		else if (!strcmp(argv[i], "-aes"))
			parse_hostport(argv[i + 1], &aes);
		else if (!strcmp(argv[i], "-plain"))
			parse_hostport(argv[i + 1], &plain);
		else if (!strcmp(argv[i], "-dev"))
			dev = argv[i + 1];
		else if (!strcmp(argv[i], "-n"))
			total = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "-pps"))
			pps = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "-secs"))
			secs = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "-insession"))
			insession = atol(argv[i + 1]);
	}
	if (!src || !aes.sin_port || !plain.sin_port) {
		fprintf(stderr, "usage: attack flood -src IP -aes IP:PORT -plain IP:PORT [-dev IF] [-n N] [-pps R] [-secs S] [-insession N]\n");
		return 2;
	}
	s = inet_addr(src);
	src_sa = kt_addr4(src, 0);
	rs ^= (uint64_t)getpid() << 17;

	tcap = kt_now();
	capture(dev, s, &aes, 5);
	printf("CAPTURED %d datagrams of the live session (port %d) in %.1f s\n",
	       legit.n, legit_port, kt_now() - tcap);
	make_wrongkey();
	printf("WRONGKEY %d datagrams encrypted with another key\n", wrongkey.n);
	fflush(stdout);

	raw_fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (raw_fd < 0) {
		perror("raw socket");
		return 1;
	}
	for (int i = 0; i < 16; i++) {
		struct sockaddr_in a = src_sa;

		over[i] = socket(AF_INET, SOCK_DGRAM, 0);
		if (over[i] >= 0 && !bind(over[i], (struct sockaddr *)&a, sizeof(a)))
			nover++;
	}

	t0 = kt_now();
	while (nsent < total && kt_now() - t0 < secs) {
		enum kind k = (enum kind)(nsent % K__MAX);
		const struct sockaddr_in *to;
		int tgt, sport, len;
		uint8_t *p;

		/* pace: at most @pps on average */
		if (pps && nsent % 64 == 0) {
			double ahead = nsent / (double)pps - (kt_now() - t0);

			if (o.n)
				flush_out(&o);
			if (ahead > 0)
				usleep((useconds_t)(ahead * 1e6));
		}
		/* a fresh source port for every spoofed datagram */
		do {
			sport = next_port++;
			if (next_port > 60999)
				next_port = 10000;
		} while (sport == legit_port || sport == ntohs(aes.sin_port) ||
			 sport == ntohs(plain.sin_port));
		tgt = (nsent / K__MAX) & 1;
		to = tgt ? &plain : &aes;

		switch (k) {
		case K_TRUNC:
			len = 1 + rnd() % 19;
			rnd_fill(spoof(&o, s, sport, to, len), len);
			break;
		case K_OVERSIZE:
			/* a raw socket cannot send beyond the MTU: real UDP */
			len = 1501 + rnd() % 300;
			rnd_fill(tmp, len);
			if (nover)
				sendto(over[nsent % nover], tmp, len, 0,
				       (const struct sockaddr *)to, sizeof(*to));
			break;
		case K_RANDOM:
			len = (tgt ? 24 : 20) + rnd() % 1300;
			rnd_fill(spoof(&o, s, sport, to, len), len);
			break;
		case K_WRONGKEY:
			if (!wrongkey.n)
				goto skip;
			tgt = 0;
			to = &aes;
			{
				int i = rnd() % wrongkey.n;

				len = wrongkey.len[i];
				memcpy(spoof(&o, s, sport, to, len),
				       wrongkey.b[i], len);
			}
			break;
		case K_REPLAY:
		case K_INSESSION:
			if (!legit.n || (k == K_INSESSION &&
					 sent[K_INSESSION][0] >= insession))
				goto skip;
			tgt = 0;
			to = &aes;
			{
				int i = rnd() % legit.n;

				len = legit.len[i];
				memcpy(spoof(&o, s, k == K_INSESSION ?
					     legit_port : sport, to, len),
				       legit.b[i], len);
			}
			break;
		case K_FIRST:
			tgt = 1;
			to = &plain;
			p = spoof(&o, s, sport, to, 29);
			seg(p, rnd(), KCP_CMD_PUSH, 0, 0, 5, "hello", 5);
			break;
		case K_BADCMD:
			tgt = 1;
			to = &plain;
			p = spoof(&o, s, sport, to, 26);
			seg(p, rnd(), bad_cmds[rnd() % 4], 0, 0, 2, "zz", 2);
			break;
		case K_BADLEN:
			tgt = 1;
			to = &plain;
			p = spoof(&o, s, sport, to, 27);
			seg(p, rnd(), KCP_CMD_PUSH, 0, 0, 4 + rnd() % 100000, "abc", 3);
			break;
		case K_MIXEDCONV:
			tgt = 1;
			to = &plain;
			p = spoof(&o, s, sport, to, 50);
			{
				uint32_t c = rnd();

				seg(p, c, KCP_CMD_PUSH, 0, 0, 1, "a", 1);
				seg(p + 25, c ^ 1, KCP_CMD_PUSH, 1, 0, 1, "b", 1);
			}
			break;
		case K_FECPARITY:
			tgt = 1;
			to = &plain;
			p = spoof(&o, s, sport, to, 48);
			memset(p, 0, 48);
			kt_p32(p, rnd() % 1000);
			p[4] = 0xF2;
			break;
		case K_FECBAD:
			tgt = 1;
			to = &plain;
			len = 8 + rnd() % 20;	/* data shard too short for KCP */
			p = spoof(&o, s, sport, to, len);
			rnd_fill(p, len);
			p[4] = 0xF1;
			p[5] = 0;
			break;
		case K_BADUNA:
			tgt = 1;
			to = &plain;
			p = spoof(&o, s, sport, to, 24);
			seg(p, rnd(), KCP_CMD_ACK, 5, 1u << 30, 0, NULL, 0);
			break;
		default:
			goto skip;
		}
		if (0) {
skip:
			/* nothing to replay (yet): random bytes instead */
			k = K_RANDOM;
			tgt = 1;
			len = 24 + rnd() % 1300;
			rnd_fill(spoof(&o, s, sport, &plain, len), len);
		}
		if (k != K_INSESSION && k != K_OVERSIZE)
			spoofed++;
		sent[k][tgt]++;
		nsent++;
		if (o.n == 64)
			flush_out(&o);
	}
	if (o.n)
		flush_out(&o);
	printf("FLOOD %.1f s\n", kt_now() - t0);
	for (int k = 0; k < K__MAX; k++)
		for (int t = 0; t < 2; t++)
			if (sent[k][t])
				printf("SENT %s %s %ld\n", kind_name[k],
				       t ? "plain" : "aes", sent[k][t]);
	printf("SENT total %ld\n", nsent);
	printf("SPOOFED %d\n", spoofed);
	return 0;
}

/* ---- the legitimate session ---- */

#define LEGIT_SEED	7

/* The legitimate pair's key; the flood's wrong-key pool uses another. */
static void legit_prep(int fd)
{
	struct kcp_crypto kc = { .cipher = KCP_CIPHER_AES, .key_len = 32 };

	for (int i = 0; i < 32; i++)
		kc.key[i] = 0x3C ^ (i * 7);
	if (kt_setopt(fd, KCP_CRYPTO, &kc, sizeof(kc)) ||
	    kt_setint(fd, KCP_PRESET, KCP_PRESET_FAST3)) {
		perror("legit socket options");
		exit(1);
	}
}

static int cmd_server(int argc, char **argv)
{
	struct sockaddr_in a;
	static uint8_t buf[65536];
	int l, c, port;
	ssize_t r;

	if (parse_hostport(kt_arg(argc, argv, "-a", ""), &a))
		return 2;
	l = kt_socket(SOCK_STREAM);
	if (l < 0)
		return 1;
	legit_prep(l);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(l, atoi(kt_arg(argc, argv, "-backlog", "64")))) {
		perror("legit listener");
		return 1;
	}
	port = kt_port_of(l);
	printf("LISTEN %d\n", port);
	c = accept(l, NULL, NULL);
	if (c < 0) {
		perror("accept");
		return 1;
	}
	while ((r = recv(c, buf, sizeof(buf), 0)) > 0) {
		ssize_t off = 0;

		while (off < r) {
			ssize_t w = send(c, buf + off, r - off, MSG_NOSIGNAL);

			if (w < 0) {
				perror("echo send");
				return 1;
			}
			off += w;
		}
	}
	printf("SERVER recv ended: %s\n", r ? strerror(errno) : "0");
	/* the listener stays until we are killed: its backlog stays full */
	pause();
	return 0;
}

struct legit {
	int fd;
	const char *stop;
	long long min, sent;
	int done;		/* the writer finished: sent is final */
	int err;
	double t_done;
};

static void *legit_writer(void *p)
{
	struct legit *L = p;
	static uint8_t buf[16384];
	struct kt_rng r;

	kt_rng_init(&r, LEGIT_SEED);
	while (L->sent < L->min || access(L->stop, F_OK)) {
		size_t off = 0;

		kt_rng_fill(&r, buf, sizeof(buf));
		while (off < sizeof(buf)) {
			ssize_t w = send(L->fd, buf + off, sizeof(buf) - off,
					 MSG_NOSIGNAL);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				L->err = errno;
				L->sent += off;
				goto out;
			}
			off += w;
		}
		__atomic_store_n(&L->sent, L->sent + sizeof(buf),
				 __ATOMIC_RELEASE);
	}
out:
	L->t_done = kt_now();
	__atomic_store_n(&L->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int cmd_client(int argc, char **argv)
{
	struct legit L = { 0 };
	double timeout = atof(kt_arg(argc, argv, "-timeout", "200")), t0;
	struct timeval tv = { 1, 0 };
	static uint8_t buf[65536], want[65536];
	long long rx = 0, first_bad = -1;
	struct sockaddr_in a;
	struct kt_rng r;
	pthread_t w;
	int rerr = 0;

	L.stop = kt_arg(argc, argv, "-stop", NULL);
	L.min = atoll(kt_arg(argc, argv, "-min", "1048576"));
	if (!L.stop || parse_hostport(kt_arg(argc, argv, "-a", ""), &a))
		return 2;
	L.fd = kt_socket(SOCK_STREAM);
	if (L.fd < 0)
		return 1;
	legit_prep(L.fd);
	setsockopt(L.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(L.fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("connect");
		return 1;
	}
	printf("PORT %d\n", kt_port_of(L.fd));
	t0 = kt_now();
	kt_rng_init(&r, LEGIT_SEED);
	pthread_create(&w, NULL, legit_writer, &L);
	while (!__atomic_load_n(&L.done, __ATOMIC_ACQUIRE) ||
	       rx < __atomic_load_n(&L.sent, __ATOMIC_ACQUIRE)) {
		ssize_t n;

		if (kt_now() - t0 > timeout) {
			rerr = ETIMEDOUT;
			break;
		}
		n = recv(L.fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			rerr = n ? errno : EPIPE;
			break;
		}
		kt_rng_fill(&r, want, n);
		if (first_bad < 0 && memcmp(buf, want, n))
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != want[i]) {
					first_bad = rx + i;
					break;
				}
		rx += n;
	}
	if (rerr)
		shutdown(L.fd, SHUT_RDWR);	/* unblock the writer */
	pthread_join(w, NULL);
	printf("LEGIT ok=%d sent=%lld echoed=%lld intact=%d first_bad=%lld secs=%.1f write_secs=%.1f err=%s\n",
	       !rerr && !L.err && rx == L.sent && first_bad < 0,
	       L.sent, rx, first_bad < 0, first_bad, kt_now() - t0,
	       L.t_done - t0,
	       rerr ? strerror(rerr) : L.err ? strerror(L.err) : "none");
	close(L.fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && !strcmp(argv[1], "sample"))
		return cmd_sample();
	if (argc > 1 && !strcmp(argv[1], "flood"))
		return cmd_flood(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "server"))
		return cmd_server(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "client"))
		return cmd_client(argc, argv);
	fprintf(stderr, "usage: attack sample | flood ... | server ... | client ...\n");
	return 2;
}
