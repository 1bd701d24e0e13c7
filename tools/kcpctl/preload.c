// SPDX-License-Identifier: GPL-2.0
/*
 * libkcppreload.so: run an unmodified TCP program over AF_KCP.
 *
 * socket(AF_INET/AF_INET6, SOCK_STREAM, 0/IPPROTO_TCP) still makes a TCP
 * socket, remembered as a candidate. The port decides at connect() (the
 * destination port), bind() (the local port) or listen(): a selected
 * candidate is replaced by an AF_KCP socket (dup3() over the same fd
 * number) carrying the settings from the environment and the SOL_SOCKET
 * options the program set before, then the program's call goes on with
 * the new socket. TCP-, IP- and IPv6-level options get the answers a TCP
 * socket would give (kp_tcp_getsockopt(), kp_tcp_setsockopt()): keepalive
 * goes to SOL_KCP, IP_TOS/IPV6_TCLASS to the module, TCP_INFO is filled
 * from KCP_INFO, options that tune TCP succeed without effect, and the
 * rest fail as they would on TCP, so programs neither break nor are
 * misled.
 *
 * Environment (set by "kcpctl run", see kcpctl.8):
 *   KCPCTL_FAMILY     family number (default: the module's, else 25)
 *   KCPCTL_PORTS      "5201,8000-8100": only these ports; unset = all
 *   KCPCTL_PRESET     normal|fast|fast2|fast3
 *   KCPCTL_NODELAY    nodelay,interval,resend,nc
 *   KCPCTL_WND        snd,rcv
 *   KCPCTL_MTU        bytes
 *   KCPCTL_FEC        data,parity
 *   KCPCTL_CRYPT      cipher name (enum kcp_cipher order, kcptun names)
 *   KCPCTL_KEY        the derived key bytes, hex (kcpctl key)
 *   KCPCTL_DUALSTACK  v4 (default) or v6: what a dual-stack [::] bind
 *                     becomes while AF_KCP has no dual-stack sockets
 *   KCPCTL_PORT_OFFSET N (1..65534): the UDP port of an AF_KCP socket is
 *                     the program's port + N (wrapping past 65535 to 1),
 *                     in both directions, so a program's own UDP socket
 *                     on its TCP port number does not collide
 *   KCPCTL_VERBOSE    1: log each decision to stderr
 *
 * The wrappers are async-signal-safe as far as the calls they wrap are:
 * no malloc, no locks (per-fd state is claimed with an atomic
 * compare-and-swap), logging with write(2). The symbols are resolved in
 * the constructor with dlsym(RTLD_NEXT).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../uapi/linux/kcp.h"
#include "kcpnames.h"

#define KP_MAX_PORTS	64
#define KP_MAX_OPTS	12
#define KP_OPT_LEN	24
#define KP_CHUNK	256		/* fds per lazily mapped chunk */
#define KP_NCHUNKS	4096		/* fds up to 1M are tracked */

/* from linux/mroute.h and linux/in6.h, which clash with netinet/in.h */
#define KP_MRT_BASE	200		/* MRT_BASE, MRT6_BASE */
#define KP_PREFER_SRC_DEFAULT	0x0500	/* PUBTMP_DEFAULT | HOME */
/* newer than some C libraries */
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE	51
#endif
#ifndef IP_PROTOCOL
#define IP_PROTOCOL		52
#endif
#ifndef IPV6_FLOWINFO
#define IPV6_FLOWINFO		11
#endif
#ifndef IPV6_FLOWINFO_SEND
#define IPV6_FLOWINFO_SEND	33
#endif

enum kp_state {
	KP_NONE = 0,	/* not ours (or a stale entry) */
	KP_CAND,	/* a TCP socket not decided yet */
	KP_BUSY,	/* one thread is deciding */
	KP_KCP,		/* made AF_KCP */
	KP_TCP,		/* decided: stays TCP */
};

struct kp_opt {
	int level, name;
	socklen_t len;
	unsigned char val[KP_OPT_LEN];
};

struct kp_fd {
	_Atomic int state;
	int domain;		/* the program's AF_INET/AF_INET6 */
	dev_t dev;		/* identity of the socket the entry is about */
	ino_t ino;
	int v6only;		/* IPV6_V6ONLY as set by the program, -1 unset */
	bool v4emul;		/* AF_INET6 to the program, IPv4 underneath */
	bool bound;		/* TCP bind done, decision deferred */
	int nopts;
	struct kp_opt opts[KP_MAX_OPTS];
	struct sockaddr_in6 bind_addr;
	socklen_t bind_len;
};

static struct {
	bool ready;
	int family;
	int nports;
	unsigned short port_lo[KP_MAX_PORTS], port_hi[KP_MAX_PORTS];
	int preset;			/* 0 = none */
	bool has_nodelay, has_wnd, has_fec, has_crypt;
	struct kcp_nodelay nodelay;
	struct kcp_wndsize wnd;
	struct kcp_fec fec;
	struct kcp_crypto crypt;
	int mtu;			/* 0 = none */
	bool dualstack_v6;
	bool bindv6only;
	int port_offset;		/* 0 = none, else 1..65534 */
	int ip_ttl;			/* net.ipv4.ip_default_ttl */
	int ip_pmtudisc;		/* IP_MTU_DISCOVER of a new TCP socket */
	int ip6_hops;			/* net.ipv6.conf.all.hop_limit */
	int tcp_syn_retries;		/* net.ipv4.tcp_syn_retries */
	int tcp_fin_timeout;		/* net.ipv4.tcp_fin_timeout */
	bool verbose;
	const char *bad_env;		/* a setting that did not parse */
} cfg;

static int (*real_socket)(int, int, int);
static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static int (*real_bind)(int, const struct sockaddr *, socklen_t);
static int (*real_listen)(int, int);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);
static int (*real_getsockopt)(int, int, int, void *, socklen_t *);
static int (*real_getsockname)(int, struct sockaddr *, socklen_t *);
static int (*real_getpeername)(int, struct sockaddr *, socklen_t *);

static struct kp_fd *_Atomic kp_chunks[KP_NCHUNKS];

/* ---- small async-signal-safe helpers ---- */

static void kp_puts(char *buf, size_t *n, size_t cap, const char *s)
{
	while (*s && *n < cap)
		buf[(*n)++] = *s++;
}

static void kp_putn(char *buf, size_t *n, size_t cap, long v)
{
	char tmp[24];
	int i = 0;

	if (v < 0) {
		kp_puts(buf, n, cap, "-");
		v = -v;
	}
	do {
		tmp[i++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (i && *n < cap)
		buf[(*n)++] = tmp[--i];
}

/* "kcppreload[pid]: <what> fd <fd>[: <errno text>]" */
static void kp_log(bool always, const char *what, int fd, int err)
{
	char buf[256];
	size_t n = 0;
	int saved = errno;

	if (!always && !cfg.verbose)
		return;
	kp_puts(buf, &n, sizeof(buf) - 1, "kcppreload[");
	kp_putn(buf, &n, sizeof(buf) - 1, getpid());
	kp_puts(buf, &n, sizeof(buf) - 1, "]: ");
	kp_puts(buf, &n, sizeof(buf) - 1, what);
	if (fd >= 0) {
		kp_puts(buf, &n, sizeof(buf) - 1, " (fd ");
		kp_putn(buf, &n, sizeof(buf) - 1, fd);
		kp_puts(buf, &n, sizeof(buf) - 1, ")");
	}
	if (err) {
		kp_puts(buf, &n, sizeof(buf) - 1, ": ");
		kp_puts(buf, &n, sizeof(buf) - 1, strerrorname_np(err) ?
			strerrorname_np(err) : "error");
	}
	buf[n++] = '\n';
	if (write(2, buf, n) < 0)
		errno = saved;
	errno = saved;
}

/* ---- configuration (constructor only) ---- */

static bool kp_parse_ints(const char *s, int *v, int n)
{
	char *end;
	int i;

	for (i = 0; i < n; i++) {
		long x = strtol(s, &end, 10);

		if (end == s || x < INT_MIN || x > INT_MAX)
			return false;
		v[i] = (int)x;
		s = end;
		if (i < n - 1) {
			if (*s != ',')
				return false;
			s++;
		}
	}
	return *s == '\0';
}

static bool kp_parse_ports(const char *s)
{
	char *end;

	while (*s) {
		long lo = strtol(s, &end, 10), hi;

		if (end == s || lo < 1 || lo > 65535)
			return false;
		hi = lo;
		s = end;
		if (*s == '-') {
			s++;
			hi = strtol(s, &end, 10);
			if (end == s || hi < lo || hi > 65535)
				return false;
			s = end;
		}
		if (cfg.nports == KP_MAX_PORTS)
			return false;
		cfg.port_lo[cfg.nports] = lo;
		cfg.port_hi[cfg.nports] = hi;
		cfg.nports++;
		if (*s == ',')
			s++;
		else if (*s)
			return false;
	}
	return cfg.nports > 0;
}

static int kp_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int kp_read_int_file(const char *path, int dflt)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return dflt;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return dflt;
	buf[n] = 0;
	return atoi(buf);
}

static void kp_config(void)
{
	const char *s;
	int v[4];

	s = getenv("KCPCTL_FAMILY");
	cfg.family = s ? atoi(s) :
		kp_read_int_file("/sys/module/kcp/parameters/family", AF_KCP);
	if (cfg.family <= 0)
		cfg.family = AF_KCP;
	s = getenv("KCPCTL_PORTS");
	if (s && *s && !kp_parse_ports(s))
		cfg.bad_env = "bad KCPCTL_PORTS";
	s = getenv("KCPCTL_PRESET");
	if (s && *s) {
		cfg.preset = kcp_preset_by_name(s);
		if (!cfg.preset)
			cfg.bad_env = "bad KCPCTL_PRESET";
	}
	s = getenv("KCPCTL_NODELAY");
	if (s && *s) {
		if (kp_parse_ints(s, v, 4)) {
			cfg.has_nodelay = true;
			cfg.nodelay = (struct kcp_nodelay){ v[0], v[1], v[2], v[3] };
		} else {
			cfg.bad_env = "bad KCPCTL_NODELAY";
		}
	}
	s = getenv("KCPCTL_WND");
	if (s && *s) {
		if (kp_parse_ints(s, v, 2) && v[0] >= 0 && v[1] >= 0) {
			cfg.has_wnd = true;
			cfg.wnd = (struct kcp_wndsize){ v[0], v[1] };
		} else {
			cfg.bad_env = "bad KCPCTL_WND";
		}
	}
	s = getenv("KCPCTL_FEC");
	if (s && *s) {
		if (kp_parse_ints(s, v, 2) && v[0] >= 0 && v[1] >= 0) {
			cfg.has_fec = true;
			cfg.fec = (struct kcp_fec){ v[0], v[1] };
		} else {
			cfg.bad_env = "bad KCPCTL_FEC";
		}
	}
	s = getenv("KCPCTL_MTU");
	if (s && *s && !kp_parse_ints(s, &cfg.mtu, 1))
		cfg.bad_env = "bad KCPCTL_MTU";
	s = getenv("KCPCTL_CRYPT");
	if (s && *s) {
		const char *k = getenv("KCPCTL_KEY");
		size_t i, n = k ? strlen(k) : 0;

		cfg.has_crypt = true;
		cfg.crypt.cipher = kcp_cipher_by_name(s);
		if (cfg.crypt.cipher >= __KCP_CIPHER_MAX || n % 2 ||
		    n / 2 > KCP_KEY_MAX)
			cfg.bad_env = "bad KCPCTL_CRYPT/KCPCTL_KEY";
		for (i = 0; !cfg.bad_env && i < n / 2; i++) {
			int hi = kp_hex(k[2 * i]), lo = kp_hex(k[2 * i + 1]);

			if (hi < 0 || lo < 0)
				cfg.bad_env = "bad KCPCTL_KEY";
			cfg.crypt.key[i] = hi << 4 | lo;
		}
		cfg.crypt.key_len = n / 2;
	}
	s = getenv("KCPCTL_DUALSTACK");
	cfg.dualstack_v6 = s && !strcmp(s, "v6");
	s = getenv("KCPCTL_PORT_OFFSET");
	if (s && *s && (!kp_parse_ints(s, &cfg.port_offset, 1) ||
			cfg.port_offset < 0 || cfg.port_offset > 65534))
		cfg.bad_env = "bad KCPCTL_PORT_OFFSET";
	s = getenv("KCPCTL_VERBOSE");
	cfg.verbose = s && *s && strcmp(s, "0");
	cfg.bindv6only = kp_read_int_file("/proc/sys/net/ipv6/bindv6only", 0);
	/* what a TCP socket of this namespace answers before it is tuned */
	cfg.ip_ttl = kp_read_int_file("/proc/sys/net/ipv4/ip_default_ttl", 64);
	cfg.ip_pmtudisc =
		kp_read_int_file("/proc/sys/net/ipv4/ip_no_pmtu_disc", 0) ?
		IP_PMTUDISC_DONT : IP_PMTUDISC_WANT;
	cfg.ip6_hops =
		kp_read_int_file("/proc/sys/net/ipv6/conf/all/hop_limit", 64);
	cfg.tcp_syn_retries =
		kp_read_int_file("/proc/sys/net/ipv4/tcp_syn_retries", 6);
	cfg.tcp_fin_timeout =
		kp_read_int_file("/proc/sys/net/ipv4/tcp_fin_timeout", 60);
	if (cfg.bad_env)
		kp_log(true, cfg.bad_env, -1, EINVAL);
}

#define KP_SYM(name) do {						\
	if (!real_##name)						\
		real_##name = dlsym(RTLD_NEXT, #name);			\
} while (0)

static void kp_resolve(void)
{
	KP_SYM(socket);
	KP_SYM(connect);
	KP_SYM(bind);
	KP_SYM(listen);
	KP_SYM(accept);
	KP_SYM(accept4);
	KP_SYM(setsockopt);
	KP_SYM(getsockopt);
	KP_SYM(getsockname);
	KP_SYM(getpeername);
}

__attribute__((constructor))
static void kp_init(void)
{
	kp_resolve();
	kp_config();
	cfg.ready = true;
}

/*
 * A call that comes before the constructor ran (another library's
 * constructor): resolve now and use the defaults (all ports).
 */
static inline void kp_early(void)
{
	if (__builtin_expect(!cfg.ready, 0))
		kp_init();
}

/* ---- the per-fd table ---- */

static struct kp_fd *kp_entry(int fd, bool create)
{
	struct kp_fd *chunk, *fresh;
	unsigned int c;

	if (fd < 0 || fd >= KP_CHUNK * KP_NCHUNKS)
		return NULL;
	c = fd / KP_CHUNK;
	chunk = atomic_load_explicit(&kp_chunks[c], memory_order_acquire);
	if (!chunk && create) {
		fresh = mmap(NULL, sizeof(*fresh) * KP_CHUNK,
			     PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (fresh == MAP_FAILED)
			return NULL;
		chunk = NULL;
		if (atomic_compare_exchange_strong(&kp_chunks[c], &chunk,
						   fresh)) {
			chunk = fresh;
		} else {
			munmap(fresh, sizeof(*fresh) * KP_CHUNK);
		}
	}
	return chunk ? &chunk[fd % KP_CHUNK] : NULL;
}

static bool kp_same_socket(int fd, const struct kp_fd *e)
{
	struct stat st;

	return !fstat(fd, &st) && st.st_ino == e->ino && st.st_dev == e->dev;
}

/* Take an undecided entry for @fd (KP_CAND -> KP_BUSY), or NULL. */
static struct kp_fd *kp_claim(int fd)
{
	struct kp_fd *e = kp_entry(fd, false);
	int want = KP_CAND;

	if (!e || atomic_load(&e->state) != KP_CAND)
		return NULL;
	if (!atomic_compare_exchange_strong(&e->state, &want, KP_BUSY))
		return NULL;
	if (!kp_same_socket(fd, e)) {
		/* the fd was closed and reused since socket() */
		atomic_store(&e->state, KP_NONE);
		return NULL;
	}
	return e;
}

static void kp_release(struct kp_fd *e, int state)
{
	atomic_store_explicit(&e->state, state, memory_order_release);
}

/* A KCP entry still about @fd's socket (for address mapping). */
static struct kp_fd *kp_v4emul(int fd)
{
	struct kp_fd *e = kp_entry(fd, false);

	if (!e || atomic_load(&e->state) != KP_KCP || !e->v4emul ||
	    !kp_same_socket(fd, e))
		return NULL;
	return e;
}

static void kp_mark_kcp(int fd, int domain, bool v4emul)
{
	struct kp_fd *e = kp_entry(fd, true);
	struct stat st;

	if (!e || fstat(fd, &st))
		return;
	atomic_store(&e->state, KP_NONE);
	e->domain = domain;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->v4emul = v4emul;
	e->bound = false;
	e->nopts = 0;
	kp_release(e, KP_KCP);
}

static bool kp_is_kcp(int fd)
{
	int dom = 0;
	socklen_t len = sizeof(dom);

	return !real_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) &&
	       dom == cfg.family;
}

/*
 * The family an AF_KCP socket has for the program: AF_INET6 for an
 * emulated one, else its address's.
 */
static int kp_domain(int fd)
{
	struct sockaddr_in6 sa;
	socklen_t slen = sizeof(sa);

	if (kp_v4emul(fd))
		return AF_INET6;
	sa.sin6_family = AF_INET;
	real_getsockname(fd, (struct sockaddr *)&sa, &slen);
	return sa.sin6_family;
}

/* TCP_KEEPIDLE/INTVL/CNT -> KCP_KEEPIDLE/INTVL/CNT; 0 for the rest */
static int kp_keep_opt(int name)
{
	switch (name) {
	case TCP_KEEPIDLE:
		return KCP_KEEPIDLE;
	case TCP_KEEPINTVL:
		return KCP_KEEPINTVL;
	case TCP_KEEPCNT:
		return KCP_KEEPCNT;
	}
	return 0;
}

/* ---- addresses ---- */

static int kp_port(const struct sockaddr *sa, socklen_t len)
{
	if (!sa)
		return -1;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return -1;
}

static bool kp_port_selected(int port)
{
	int i;

	if (!cfg.nports)
		return true;
	for (i = 0; i < cfg.nports; i++)
		if (port >= cfg.port_lo[i] && port <= cfg.port_hi[i])
			return true;
	return false;
}

/* ::ffff:a.b.c.d -> a.b.c.d; [::] -> 0.0.0.0 */
static void kp_6to4(const struct sockaddr_in6 *a6, struct sockaddr_in *a4)
{
	memset(a4, 0, sizeof(*a4));
	a4->sin_family = AF_INET;
	a4->sin_port = a6->sin6_port;
	if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
		memcpy(&a4->sin_addr, &a6->sin6_addr.s6_addr[12], 4);
}

/* Give the program the AF_INET6 form of an IPv4 address. */
static void kp_4to6(struct sockaddr *sa, socklen_t *len, socklen_t cap)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;

	if (!sa || !len || *len < sizeof(a4) || sa->sa_family != AF_INET)
		return;
	memcpy(&a4, sa, sizeof(a4));
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_port = a4.sin_port;
	if (a4.sin_addr.s_addr != htonl(INADDR_ANY)) {
		a6.sin6_addr.s6_addr[10] = 0xff;
		a6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&a6.sin6_addr.s6_addr[12], &a4.sin_addr, 4);
	}
	memcpy(sa, &a6, cap < sizeof(a6) ? cap : sizeof(a6));
	*len = sizeof(a6);
}

/*
 * KCPCTL_PORT_OFFSET: the UDP port of the program's port @port (host
 * order), 1..65535 moved by the offset with wrap-around; port 0 (any)
 * stays. kp_prog_port() is the inverse, for addresses the kernel gives.
 */
static unsigned int kp_wire_port(unsigned int port)
{
	if (!cfg.port_offset || !port)
		return port;
	return (port - 1 + cfg.port_offset) % 65535 + 1;
}

static unsigned int kp_prog_port(unsigned int wire)
{
	if (!cfg.port_offset || !wire)
		return wire;
	return (wire - 1 + 65535 - cfg.port_offset) % 65535 + 1;
}

/* @map applied to the port of an AF_INET/AF_INET6 address */
static void kp_map_port(struct sockaddr *sa, socklen_t len,
			unsigned int (*map)(unsigned int))
{
	in_port_t *p;

	if (!cfg.port_offset || !sa)
		return;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		p = &((struct sockaddr_in *)sa)->sin_port;
	else if (sa->sa_family == AF_INET6 &&
		 len >= sizeof(struct sockaddr_in6))
		p = &((struct sockaddr_in6 *)sa)->sin6_port;
	else
		return;
	*p = htons(map(ntohs(*p)));
}

/*
 * The address an AF_KCP socket is given for the program's @sa: a
 * v4-mapped address as IPv4 if @v4map, the port moved by the offset.
 * Returns @sa itself or @buf; *@len is updated.
 */
static const struct sockaddr *kp_kcp_addr(const struct sockaddr *sa,
					  socklen_t *len, bool v4map,
					  struct sockaddr_storage *buf)
{
	const struct sockaddr_in6 *a6 = (const void *)sa;

	if (!sa || *len > sizeof(*buf) || (!cfg.port_offset && !v4map))
		return sa;
	if (v4map && sa->sa_family == AF_INET6 && *len >= sizeof(*a6) &&
	    IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
		kp_6to4(a6, (struct sockaddr_in *)buf);
		*len = sizeof(struct sockaddr_in);
	} else {
		memcpy(buf, sa, *len);
	}
	kp_map_port((struct sockaddr *)buf, *len, kp_wire_port);
	return (struct sockaddr *)buf;
}

/* ---- making a candidate AF_KCP ---- */

static int kp_setopt(int fd, int opt, const void *v, socklen_t len,
		     const char *what)
{
	if (real_setsockopt(fd, SOL_KCP, opt, v, len) == 0)
		return 0;
	kp_log(true, what, fd, errno);
	return -1;
}

static int kp_apply_settings(int kfd)
{
	if (cfg.bad_env) {
		errno = EINVAL;
		return -1;
	}
	if (cfg.has_crypt &&
	    kp_setopt(kfd, KCP_CRYPTO, &cfg.crypt, sizeof(cfg.crypt),
		      "setting KCP_CRYPTO failed"))
		return -1;
	if (cfg.has_fec && (cfg.fec.data_shards || cfg.fec.parity_shards) &&
	    kp_setopt(kfd, KCP_FEC, &cfg.fec, sizeof(cfg.fec),
		      "setting KCP_FEC failed"))
		return -1;
	if (cfg.preset &&
	    kp_setopt(kfd, KCP_PRESET, &cfg.preset, sizeof(int),
		      "setting KCP_PRESET failed"))
		return -1;
	if (cfg.has_nodelay &&
	    kp_setopt(kfd, KCP_NODELAY, &cfg.nodelay, sizeof(cfg.nodelay),
		      "setting KCP_NODELAY failed"))
		return -1;
	if (cfg.has_wnd &&
	    kp_setopt(kfd, KCP_WNDSIZE, &cfg.wnd, sizeof(cfg.wnd),
		      "setting KCP_WNDSIZE failed"))
		return -1;
	if (cfg.mtu &&
	    kp_setopt(kfd, KCP_MTU, &cfg.mtu, sizeof(int),
		      "setting KCP_MTU failed"))
		return -1;
	return 0;
}

/*
 * Bind the AF_KCP socket. A dual-stack [::] (the program did not ask
 * for IPV6_V6ONLY, the system default is dual-stack) needs an AF_KCP
 * dual-stack socket; without one it becomes 0.0.0.0 (KCPCTL_DUALSTACK=v4,
 * the default, and the program is shown AF_INET6 addresses) or stays
 * IPv6-only (v6). Before a connect() (@peer given) the peer's family
 * decides. A v4-mapped address becomes its IPv4 address. The port is
 * moved by KCPCTL_PORT_OFFSET.
 */
static int kp_bind_kcp(int fd, int kfd, struct kp_fd *e,
		       const struct sockaddr *sa, socklen_t len,
		       const struct sockaddr *peer)
{
	const struct sockaddr_in6 *p6 = (const void *)peer;
	const struct sockaddr_in6 *a6;
	struct sockaddr_storage buf;
	struct sockaddr_in a4;

	sa = kp_kcp_addr(sa, &len, false, &buf);	/* the port offset */
	a6 = (const void *)sa;
	if (sa->sa_family != AF_INET6 || len < sizeof(*a6))
		return real_bind(kfd, sa, len);
	if (IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) && peer) {
		if (peer->sa_family == AF_INET6 &&
		    !IN6_IS_ADDR_V4MAPPED(&p6->sin6_addr))
			return real_bind(kfd, sa, len);
		kp_6to4(a6, &a4);
		e->v4emul = true;
		return real_bind(kfd, (struct sockaddr *)&a4, sizeof(a4));
	}
	if (IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) &&
	    (e->v6only == 0 || (e->v6only < 0 && !cfg.bindv6only))) {
		int zero = 0;

		if (!real_setsockopt(kfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
				     sizeof(zero)) || cfg.dualstack_v6)
			return real_bind(kfd, sa, len);
		kp_6to4(a6, &a4);
		e->v4emul = true;
		kp_log(false, "dual-stack [::] bound as 0.0.0.0", fd, 0);
		return real_bind(kfd, (struct sockaddr *)&a4, sizeof(a4));
	}
	if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
		kp_6to4(a6, &a4);
		e->v4emul = true;
		return real_bind(kfd, (struct sockaddr *)&a4, sizeof(a4));
	}
	return real_bind(kfd, sa, len);
}

/*
 * Replace @fd (a TCP socket, entry @e claimed) by a configured AF_KCP
 * socket, bound to @bind_sa if given (else to what the program bound the
 * TCP socket to). @peer: the address of the connect() to come, or NULL.
 * On failure @fd is unchanged and errno says why.
 */
static int kp_convert(int fd, struct kp_fd *e, const struct sockaddr *bind_sa,
		      socklen_t bind_len, const struct sockaddr *peer)
{
	int kfd, fl, fdfl, i, err;

	fl = fcntl(fd, F_GETFL);
	fdfl = fcntl(fd, F_GETFD);
	if (fl < 0 || fdfl < 0)
		return -1;
	kfd = real_socket(cfg.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (kfd < 0) {
		kp_log(true, "socket(AF_KCP) failed (is the kcp module loaded?)",
		       fd, errno);
		return -1;
	}
	if ((fl & O_NONBLOCK) && fcntl(kfd, F_SETFL, O_NONBLOCK))
		goto fail;
	/*
	 * what the program set before; best effort, as TCP allows more.
	 * TCP's keepalive settings become KCP's.
	 */
	for (i = 0; i < e->nopts; i++) {
		const struct kp_opt *o = &e->opts[i];

		if (o->level == IPPROTO_TCP)
			real_setsockopt(kfd, SOL_KCP, kp_keep_opt(o->name),
					o->val, o->len);
		else
			real_setsockopt(kfd, o->level, o->name, o->val,
					o->len);
	}
	if (kp_apply_settings(kfd))
		goto fail;
	if (!bind_sa && e->bound) {
		bind_sa = (struct sockaddr *)&e->bind_addr;
		bind_len = e->bind_len;
	}
	if (bind_sa && kp_bind_kcp(fd, kfd, e, bind_sa, bind_len, peer))
		goto fail;
	if (dup3(kfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
		goto fail;
	close(kfd);
	if (!kp_same_socket(fd, e)) {
		struct stat st;

		if (!fstat(fd, &st)) {
			e->dev = st.st_dev;
			e->ino = st.st_ino;
		}
	}
	return 0;
fail:
	err = errno;
	close(kfd);
	errno = err;
	return -1;
}

/* ---- the wrapped calls ---- */

int socket(int domain, int type, int protocol)
{
	struct kp_fd *e;
	struct stat st;
	int fd;

	kp_early();
	fd = real_socket(domain, type, protocol);
	if (fd < 0 || (domain != AF_INET && domain != AF_INET6) ||
	    (type & 0xf) != SOCK_STREAM ||
	    (protocol != 0 && protocol != IPPROTO_TCP))
		return fd;
	e = kp_entry(fd, true);
	if (!e || fstat(fd, &st))
		return fd;
	atomic_store(&e->state, KP_NONE);
	e->domain = domain;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->v6only = -1;
	e->v4emul = false;
	e->bound = false;
	e->nopts = 0;
	kp_release(e, KP_CAND);
	return fd;
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_storage buf;
	struct kp_fd *e;
	int port;

	kp_early();
	e = kp_claim(fd);
	if (!e) {
		bool emul = kp_v4emul(fd);

		/* AF_KCP since bind(): the same mapping as below */
		if (emul || (cfg.port_offset && kp_is_kcp(fd)))
			sa = kp_kcp_addr(sa, &len, emul, &buf);
		return real_connect(fd, sa, len);
	}
	port = kp_port(sa, len);
	if (port <= 0 || !kp_port_selected(port)) {
		kp_release(e, port < 0 ? KP_CAND : KP_TCP);
		return real_connect(fd, sa, len);
	}
	if (kp_convert(fd, e, NULL, 0, sa)) {
		int err = errno;

		kp_release(e, KP_TCP);
		errno = err;
		return -1;
	}
	kp_log(false, "connect: AF_KCP", fd, 0);
	if (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr))
		e->v4emul = true;
	kp_release(e, KP_KCP);
	sa = kp_kcp_addr(sa, &len, true, &buf);
	return real_connect(fd, sa, len);
}

int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct kp_fd *e;
	int port, ret;

	kp_early();
	e = kp_claim(fd);
	if (!e)
		return real_bind(fd, sa, len);
	port = kp_port(sa, len);
	if (port < 0) {
		kp_release(e, KP_CAND);
		return real_bind(fd, sa, len);
	}
	/* port 0: decided by the listen() or connect() to come */
	if (port && kp_port_selected(port)) {
		if (kp_convert(fd, e, sa, len, NULL)) {
			int err = errno;

			/* EADDRINUSE etc. from the AF_KCP bind: retryable */
			kp_release(e, KP_CAND);
			errno = err;
			return -1;
		}
		kp_log(false, "bind: AF_KCP", fd, 0);
		kp_release(e, KP_KCP);
		return 0;
	}
	/* not (yet) selected: bind TCP, a later connect() may still pick KCP */
	ret = real_bind(fd, sa, len);
	if (!ret && len <= sizeof(e->bind_addr)) {
		memcpy(&e->bind_addr, sa, len);
		e->bind_len = len;
		e->bound = true;
	}
	kp_release(e, KP_CAND);
	return ret;
}

int listen(int fd, int backlog)
{
	struct kp_fd *e;

	kp_early();
	e = kp_claim(fd);
	if (!e)
		return real_listen(fd, backlog);
	if (!cfg.nports) {
		struct sockaddr_in6 any = { .sin6_family = AF_INET6 };
		struct sockaddr_in any4 = { .sin_family = AF_INET };
		const struct sockaddr *sa = e->domain == AF_INET6 ?
			(struct sockaddr *)&any : (struct sockaddr *)&any4;
		socklen_t len = e->domain == AF_INET6 ? sizeof(any) :
			sizeof(any4);

		/*
		 * after bind(port 0) that address, else the wildcard; the
		 * port is an ephemeral one, as TCP's would be
		 */
		if (e->bound) {
			sa = (struct sockaddr *)&e->bind_addr;
			len = e->bind_len;
		}
		if (kp_convert(fd, e, sa, len, NULL)) {
			int err = errno;

			kp_release(e, KP_TCP);
			errno = err;
			return -1;
		}
		kp_log(false, "listen: AF_KCP", fd, 0);
		kp_release(e, KP_KCP);
		return real_listen(fd, backlog);
	}
	/* a port that was not selected, or an ephemeral one: TCP for good */
	kp_release(e, KP_TCP);
	return real_listen(fd, backlog);
}

/*
 * accept()/accept4(): the peer's address as the program expects it (the
 * port offset undone, kp_4to6() for an emulated listener), through a
 * buffer of our own; other listeners are not touched.
 */
static int kp_accept(int lfd, struct sockaddr *sa, socklen_t *len, int flags,
		     bool four)
{
	struct sockaddr_storage tmp;
	struct sockaddr *ksa = sa;
	socklen_t tlen = sizeof(tmp), *klen = len;
	bool emul, ours;
	int fd;

	kp_early();
	emul = kp_v4emul(lfd);
	ours = sa && len && (int)*len >= 0 &&
	       (emul || (cfg.port_offset && kp_is_kcp(lfd)));
	if (ours) {
		ksa = (struct sockaddr *)&tmp;
		klen = &tlen;
	}
	fd = four ? real_accept4(lfd, ksa, klen, flags) :
		    real_accept(lfd, ksa, klen);
	if (fd < 0)
		return fd;
	if (emul)
		kp_mark_kcp(fd, AF_INET6, true);
	if (ours) {
		kp_map_port(ksa, tlen, kp_prog_port);
		if (emul)
			kp_4to6(ksa, &tlen, sizeof(tmp));
		memcpy(sa, &tmp, *len < tlen ? *len : tlen);
		*len = tlen;
	}
	return fd;
}

int accept(int lfd, struct sockaddr *sa, socklen_t *len)
{
	return kp_accept(lfd, sa, len, 0, false);
}

int accept4(int lfd, struct sockaddr *sa, socklen_t *len, int flags)
{
	return kp_accept(lfd, sa, len, flags, true);
}

/*
 * getsockname()/getpeername() through @real (set by kp_early(), hence
 * passed by address): an AF_KCP socket's name as the program expects it
 * (the port offset undone, kp_4to6() for an emulated one).
 */
static int kp_name(int (**real)(int, struct sockaddr *, socklen_t *), int fd,
		   struct sockaddr *sa, socklen_t *len)
{
	socklen_t cap = len ? *len : 0;
	struct sockaddr_storage tmp;
	socklen_t tlen = sizeof(tmp);
	bool emul;
	int ret;

	kp_early();
	emul = kp_v4emul(fd);
	if (!len || (int)*len < 0 ||
	    (!emul && !(cfg.port_offset && kp_is_kcp(fd))))
		return (*real)(fd, sa, len);
	ret = (*real)(fd, (struct sockaddr *)&tmp, &tlen);
	if (ret)
		return ret;
	kp_map_port((struct sockaddr *)&tmp, tlen, kp_prog_port);
	if (emul)
		kp_4to6((struct sockaddr *)&tmp, &tlen, sizeof(tmp));
	if (sa)
		memcpy(sa, &tmp, cap < tlen ? cap : tlen);
	*len = tlen;
	return 0;
}

int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	return kp_name(&real_getsockname, fd, sa, len);
}

int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	return kp_name(&real_getpeername, fd, sa, len);
}

/* ---- socket options ---- */

/*
 * Options that apply to a socket and are worth carrying over to AF_KCP:
 * SOL_SOCKET ones, keepalive tuning (to SOL_KCP) and the TOS byte.
 */
static bool kp_recordable(int level, int name)
{
	if (level == SOL_SOCKET)
		return name != SO_ATTACH_FILTER && name != SO_DETACH_FILTER &&
		       name != SO_ATTACH_BPF && name != SO_DETACH_BPF &&
		       name != SO_ATTACH_REUSEPORT_CBPF &&
		       name != SO_ATTACH_REUSEPORT_EBPF;
	if (level == IPPROTO_TCP)
		return kp_keep_opt(name) != 0;
	return (level == IPPROTO_IP && name == IP_TOS) ||
	       (level == IPPROTO_IPV6 && name == IPV6_TCLASS);
}

static void kp_record(int fd, int level, int name, const void *val,
		      socklen_t len)
{
	struct kp_fd *e = kp_entry(fd, false);
	int i;

	if (!e || atomic_load(&e->state) != KP_CAND || !val)
		return;
	if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY &&
	    len >= sizeof(int)) {
		e->v6only = !!*(const int *)val;
		return;
	}
	if (!kp_recordable(level, name) || len > KP_OPT_LEN)
		return;
	for (i = 0; i < e->nopts; i++)
		if (e->opts[i].level == level && e->opts[i].name == name)
			break;
	if (i == KP_MAX_OPTS)
		return;
	e->opts[i].level = level;
	e->opts[i].name = name;
	e->opts[i].len = len;
	memcpy(e->opts[i].val, val, len);
	if (i == e->nopts)
		e->nopts++;
}

static int kp_fail(int err)
{
	errno = err;
	return -1;
}

/*
 * TCP_KEEPIDLE/INTVL/CNT @v as KCP_KEEPIDLE/INTVL/CNT @kname. A module
 * without them (ENOPROTOOPT) leaves the setting without effect, as the
 * shim always did.
 */
static int kp_keep_set(int fd, int kname, int v)
{
	if (!real_setsockopt(fd, SOL_KCP, kname, &v, sizeof(v)))
		return 0;
	return errno == ENOPROTOOPT ? 0 : -1;
}

/*
 * setsockopt(IPPROTO_TCP) on an AF_KCP socket, which the module refused:
 * keepalive goes to SOL_KCP; options that only tune TCP succeed without
 * effect after TCP's checks of the value; the rest fail with
 * ENOPROTOOPT, as unknown options do on TCP: those a program relies on
 * (TCP_MD5SIG, TCP_ULP, TCP_REPAIR, TCP_INQ, TCP_FASTOPEN_KEY, ...) must
 * not pretend to work.
 */
static int kp_tcp_setsockopt(int fd, int name, const void *val,
			     socklen_t len)
{
	int v;

	if (name == TCP_CONGESTION)
		return len < 1 ? kp_fail(EINVAL) : 0;
	if (!kp_keep_opt(name) && name != TCP_NODELAY && name != TCP_CORK &&
	    name != TCP_MAXSEG && name != TCP_THIN_LINEAR_TIMEOUTS &&
	    name != TCP_THIN_DUPACK && name != TCP_SYNCNT &&
	    name != TCP_SAVE_SYN && name != TCP_LINGER2 &&
	    name != TCP_DEFER_ACCEPT && name != TCP_WINDOW_CLAMP &&
	    name != TCP_QUICKACK && name != TCP_USER_TIMEOUT &&
	    name != TCP_FASTOPEN && name != TCP_FASTOPEN_CONNECT &&
	    name != TCP_FASTOPEN_NO_COOKIE && name != TCP_NOTSENT_LOWAT &&
	    name != TCP_TX_DELAY)
		return kp_fail(ENOPROTOOPT);
	if (len < sizeof(int))
		return kp_fail(EINVAL);
	if (!val)
		return kp_fail(EFAULT);
	memcpy(&v, val, sizeof(v));
	switch (name) {
	case TCP_KEEPIDLE:
	case TCP_KEEPINTVL:
		if (v < 1 || v > 32767)		/* MAX_TCP_KEEPIDLE/INTVL */
			return kp_fail(EINVAL);
		return kp_keep_set(fd, kp_keep_opt(name), v);
	case TCP_KEEPCNT:
		if (v < 1 || v > 127)		/* MAX_TCP_KEEPCNT */
			return kp_fail(EINVAL);
		return kp_keep_set(fd, kp_keep_opt(name), v);
	case TCP_MAXSEG:
		if (v && (v < 88 || v > 32767))	/* TCP_MIN_MSS, MAX_TCP_WINDOW */
			return kp_fail(EINVAL);
		return 0;
	case TCP_SYNCNT:
		return v < 1 || v > 127 ? kp_fail(EINVAL) : 0;
	case TCP_SAVE_SYN:
		return v < 0 || v > 2 ? kp_fail(EINVAL) : 0;
	case TCP_USER_TIMEOUT:
		return v < 0 ? kp_fail(EINVAL) : 0;
	case TCP_THIN_LINEAR_TIMEOUTS:
	case TCP_THIN_DUPACK:
	case TCP_FASTOPEN_CONNECT:
	case TCP_FASTOPEN_NO_COOKIE:
		return v < 0 || v > 1 ? kp_fail(EINVAL) : 0;
	}
	return 0;
}

/*
 * setsockopt(IPPROTO_IP/IPPROTO_IPV6) on an AF_KCP socket, which the
 * module refused (it takes IP_TOS and IPV6_TCLASS): options that only
 * tune or report IP succeed without effect after the checks TCP makes,
 * IPV6_V6ONLY fails as on a bound TCP socket (EINVAL), IP options other
 * than none cannot be sent (ENOPROTOOPT), and so does everything else,
 * IPv6 options on the program's AF_INET socket included.
 */
static int kp_ip_setsockopt(int fd, int level, int name, const void *val,
			    socklen_t len)
{
	int v = 0;

	if (level == IPPROTO_IPV6 && kp_domain(fd) != AF_INET6)
		return kp_fail(ENOPROTOOPT);
	if (level == IPPROTO_IP && name == IP_OPTIONS)
		return len ? kp_fail(ENOPROTOOPT) : 0;
	if (val && len >= sizeof(int))
		memcpy(&v, val, sizeof(v));
	else if (val && len >= 1)
		v = *(const unsigned char *)val;
	if (level == IPPROTO_IP) {
		switch (name) {
		case IP_TTL:
			if (len < 1 || (v != -1 && (v < 1 || v > 255)))
				return kp_fail(EINVAL);
			return 0;
		case IP_MTU_DISCOVER:
			if (len < 1 || v < IP_PMTUDISC_DONT ||
			    v > IP_PMTUDISC_OMIT)
				return kp_fail(EINVAL);
			return 0;
		case IP_RECVERR:
		case IP_RECVERR_RFC4884:
		case IP_RECVTTL:
		case IP_RECVTOS:
		case IP_RECVOPTS:
		case IP_RETOPTS:
		case IP_PKTINFO:
		case IP_PASSSEC:
		case IP_RECVORIGDSTADDR:
		case IP_CHECKSUM:
		case IP_RECVFRAGSIZE:
		case IP_FREEBIND:
		case IP_BIND_ADDRESS_NO_PORT:
		case IP_MULTICAST_LOOP:
		case IP_MULTICAST_ALL:
			return len < 1 ? kp_fail(EINVAL) : 0;
		}
		return kp_fail(ENOPROTOOPT);
	}
	switch (name) {
	case IPV6_V6ONLY:
		return kp_fail(EINVAL);		/* bound already */
	case IPV6_UNICAST_HOPS:
		if (len < sizeof(int) || v < -1 || v > 255)
			return kp_fail(EINVAL);
		return 0;
	case IPV6_MTU_DISCOVER:
		if (len < sizeof(int) || v < IPV6_PMTUDISC_DONT ||
		    v > IPV6_PMTUDISC_OMIT)
			return kp_fail(EINVAL);
		return 0;
	case IPV6_MTU:
		if (len < sizeof(int) || (v && v < 1280))
			return kp_fail(EINVAL);
		return 0;
	case IPV6_RECVERR:
	case IPV6_RECVERR_RFC4884:
	case IPV6_RECVPKTINFO:
	case IPV6_2292PKTINFO:
	case IPV6_RECVHOPLIMIT:
	case IPV6_2292HOPLIMIT:
	case IPV6_RECVRTHDR:
	case IPV6_RECVHOPOPTS:
	case IPV6_RECVDSTOPTS:
	case IPV6_RECVTCLASS:
	case IPV6_FLOWINFO:
	case IPV6_RECVPATHMTU:
	case IPV6_RECVORIGDSTADDR:
	case IPV6_RECVFRAGSIZE:
	case IPV6_FREEBIND:
	case IPV6_DONTFRAG:
	case IPV6_AUTOFLOWLABEL:
	case IPV6_ADDR_PREFERENCES:
	case IPV6_MULTICAST_LOOP:
	case IPV6_MULTICAST_ALL:
		return len < sizeof(int) ? kp_fail(EINVAL) : 0;
	}
	return kp_fail(ENOPROTOOPT);
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	int ret, err;

	kp_early();
	ret = real_setsockopt(fd, level, name, val, len);
	if (!ret) {
		kp_record(fd, level, name, val, len);
		return 0;
	}
	err = errno;
	if ((level == IPPROTO_TCP || level == IPPROTO_IP ||
	     level == IPPROTO_IPV6) &&
	    (err == ENOPROTOOPT || err == EOPNOTSUPP) && kp_is_kcp(fd)) {
		if (level == IPPROTO_TCP)
			return kp_tcp_setsockopt(fd, name, val, len);
		return kp_ip_setsockopt(fd, level, name, val, len);
	}
	errno = err;
	return ret;
}

static int kp_info(int fd, struct kcp_info *ki)
{
	socklen_t len = sizeof(*ki);

	memset(ki, 0, sizeof(*ki));
	return real_getsockopt(fd, SOL_KCP, KCP_INFO, ki, &len);
}

/* Connected as TCP counts it (a route to the peer): IP_MTU and the like. */
static bool kp_connected(const struct kcp_info *ki)
{
	return ki->kcpi_state == KCP_ESTABLISHED ||
	       ki->kcpi_state == KCP_SYN_SENT;
}

static void kp_tcp_info(const struct kcp_info *ki, struct tcp_info *ti)
{
	memset(ti, 0, sizeof(*ti));
	/* kcpi_state uses TCP's numbering */
	ti->tcpi_state = ki->kcpi_state;
	ti->tcpi_rto = ki->kcpi_rto * 1000;
	ti->tcpi_ato = ki->kcpi_interval * 1000;
	ti->tcpi_snd_mss = ki->kcpi_mss;
	ti->tcpi_rcv_mss = ki->kcpi_mss;
	ti->tcpi_advmss = ki->kcpi_mss;
	ti->tcpi_pmtu = ki->kcpi_mtu;
	ti->tcpi_unacked = ki->kcpi_snd_buf;
	ti->tcpi_rtt = ki->kcpi_srtt > 0 ? ki->kcpi_srtt * 1000 : 0;
	ti->tcpi_rttvar = ki->kcpi_rttvar > 0 ? ki->kcpi_rttvar * 1000 : 0;
	ti->tcpi_snd_ssthresh = ki->kcpi_ssthresh;
	/* with nc=1 there is no congestion window: report the send window */
	ti->tcpi_snd_cwnd = ki->kcpi_nc ? ki->kcpi_snd_wnd : ki->kcpi_cwnd;
	ti->tcpi_rcv_space = ki->kcpi_rcv_wnd * ki->kcpi_mss;
	ti->tcpi_total_retrans = ki->kcpi_retrans_segs;
	ti->tcpi_bytes_acked = ki->kcpi_bytes_out;
	ti->tcpi_bytes_received = ki->kcpi_bytes_in;
	ti->tcpi_segs_out = ki->kcpi_out_segs;
	ti->tcpi_segs_in = ki->kcpi_in_segs;
	ti->tcpi_data_segs_out = ki->kcpi_out_segs;
	ti->tcpi_data_segs_in = ki->kcpi_in_segs;
	ti->tcpi_bytes_sent = ki->kcpi_bytes_out;
	ti->tcpi_bytes_retrans = ki->kcpi_retrans_segs * ki->kcpi_mss;
	ti->tcpi_snd_wnd = ki->kcpi_rmt_wnd * ki->kcpi_mss;
}

/* @n bytes of @src, cut to the caller's buffer (TCP_INFO and the like) */
static int kp_put(void *val, socklen_t *len, const void *src, size_t n)
{
	if (!len)
		return kp_fail(EFAULT);
	if ((int)*len < 0)
		return kp_fail(EINVAL);
	if (*len < n)
		n = *len;
	if (n && !val)
		return kp_fail(EFAULT);
	if (n)
		memcpy(val, src, n);
	*len = n;
	return 0;
}

/* An int as TCP and IPv6 return it: cut to a shorter buffer. */
static int kp_put_int(void *val, socklen_t *len, int v)
{
	return kp_put(val, len, &v, sizeof(v));
}

/* An int as IP returns it: one byte into a shorter buffer if it fits. */
static int kp_put_ip_int(void *val, socklen_t *len, int v)
{
	unsigned char c = v;

	if (len && (int)*len > 0 && *len < sizeof(int) && v >= 0 && v <= 255)
		return kp_put(val, len, &c, 1);
	return kp_put_int(val, len, v);
}

/* Nothing to report (IP_OPTIONS without options): length 0, success. */
static int kp_put_none(socklen_t *len)
{
	return kp_put(NULL, len, NULL, 0);
}

/*
 * KCP_KEEPIDLE/INTVL/CNT for TCP_KEEPIDLE/INTVL/CNT; a module without
 * them gives TCP's defaults, which is what the shim always answered.
 */
static int kp_keep_get(int fd, int name, void *val, socklen_t *len)
{
	static const int dflt[] = { 7200, 75, 9 };
	socklen_t klen = sizeof(int);
	int kname = kp_keep_opt(name), v;

	if (!real_getsockopt(fd, SOL_KCP, kname, &v, &klen))
		return kp_put_int(val, len, v);
	if (errno != ENOPROTOOPT)
		return -1;
	return kp_put_int(val, len, dflt[kname - KCP_KEEPIDLE]);
}

/*
 * getsockopt(IPPROTO_TCP) on an AF_KCP socket: TCP's answer where there
 * is one (the KCP state, windows and counters where TCP reports its
 * own), TCP's errors otherwise.
 */
static int kp_tcp_getsockopt(int fd, int name, void *val, socklen_t *len)
{
	struct kcp_info ki;

	switch (name) {
	case TCP_INFO: {
		struct tcp_info ti;

		kp_info(fd, &ki);
		kp_tcp_info(&ki, &ti);
		return kp_put(val, len, &ti, sizeof(ti));
	}
	case TCP_CONGESTION: {
		char ca[16] = "kcp";		/* TCP_CA_NAME_MAX */

		return kp_put(val, len, ca, sizeof(ca));
	}
	case TCP_MAXSEG:
		kp_info(fd, &ki);
		return kp_put_int(val, len, ki.kcpi_mss);
	case TCP_WINDOW_CLAMP:
		kp_info(fd, &ki);
		return kp_put_int(val, len, ki.kcpi_rcv_wnd * ki.kcpi_mss);
	case TCP_KEEPIDLE:
	case TCP_KEEPINTVL:
	case TCP_KEEPCNT:
		return kp_keep_get(fd, name, val, len);
	case TCP_NODELAY:		/* KCP sends at once, per interval */
	case TCP_QUICKACK:
		return kp_put_int(val, len, 1);
	case TCP_SYNCNT:
		return kp_put_int(val, len, cfg.tcp_syn_retries);
	case TCP_LINGER2:
		return kp_put_int(val, len, cfg.tcp_fin_timeout);
	case TCP_CORK:
	case TCP_DEFER_ACCEPT:
	case TCP_THIN_LINEAR_TIMEOUTS:
	case TCP_THIN_DUPACK:
	case TCP_REPAIR:
	case TCP_USER_TIMEOUT:
	case TCP_FASTOPEN:
	case TCP_FASTOPEN_CONNECT:
	case TCP_FASTOPEN_NO_COOKIE:
	case TCP_TX_DELAY:
	case TCP_NOTSENT_LOWAT:
	case TCP_INQ:
	case TCP_SAVE_SYN:
		return kp_put_int(val, len, 0);
	case TCP_CC_INFO:		/* no congestion control to describe */
	case TCP_ULP:			/* none */
	case TCP_SAVED_SYN:		/* none saved */
		return kp_put_none(len);
	case TCP_REPAIR_QUEUE:		/* not in repair mode */
	case TCP_QUEUE_SEQ:
		return kp_fail(EINVAL);
	case TCP_REPAIR_WINDOW:
		return kp_fail(EPERM);
	}
	return kp_fail(ENOPROTOOPT);
}

/*
 * getsockopt(IPPROTO_IP/IPPROTO_IPV6) on an AF_KCP socket (the module
 * answers IP_TOS and IPV6_TCLASS): what a TCP socket that nobody tuned
 * answers, the path MTU KCP works with, and TCP's errors: ENOTCONN for
 * the MTU before a connection, ENOPROTOOPT for what TCP does not know,
 * EOPNOTSUPP for IPv6 options on the program's AF_INET socket. IP_OPTIONS
 * and the IPv6 extension headers: none (length 0), as on a TCP socket
 * whose peer sent no options (sshd refuses connections with any).
 */
static int kp_ip_getsockopt(int fd, int level, int name, void *val,
			    socklen_t *len)
{
	struct kcp_info ki;

	if (name >= KP_MRT_BASE && name <= KP_MRT_BASE + 15)
		return kp_fail(EOPNOTSUPP);	/* multicast routing: raw only */
	if (level == IPPROTO_IP) {
		switch (name) {
		case IP_OPTIONS:
		case IP_PKTOPTIONS:
			return kp_put_none(len);
		case IP_TTL:
			return kp_put_ip_int(val, len, cfg.ip_ttl);
		case IP_MTU_DISCOVER:
			return kp_put_ip_int(val, len, cfg.ip_pmtudisc);
		case IP_MTU:
			kp_info(fd, &ki);
			if (!kp_connected(&ki))
				return kp_fail(ENOTCONN);
			return kp_put_ip_int(val, len, ki.kcpi_mtu + 28);
		case IP_MULTICAST_TTL:
		case IP_MULTICAST_LOOP:
		case IP_MULTICAST_ALL:
			return kp_put_ip_int(val, len, 1);
		case IP_MULTICAST_IF: {
			struct in_addr any = { 0 };

			return kp_put(val, len, &any, sizeof(any));
		}
		case IP_PROTOCOL:
			return kp_put_ip_int(val, len, IPPROTO_TCP);
		case IP_PKTINFO:
		case IP_RECVTTL:
		case IP_RECVTOS:
		case IP_RECVOPTS:
		case IP_RETOPTS:
		case IP_PASSSEC:
		case IP_RECVORIGDSTADDR:
		case IP_CHECKSUM:
		case IP_RECVFRAGSIZE:
		case IP_HDRINCL:
		case IP_NODEFRAG:
		case IP_BIND_ADDRESS_NO_PORT:
		case IP_RECVERR:
		case IP_RECVERR_RFC4884:
		case IP_UNICAST_IF:
		case IP_FREEBIND:
		case IP_TRANSPARENT:
		case IP_MINTTL:
		case IP_LOCAL_PORT_RANGE:
			return kp_put_ip_int(val, len, 0);
		}
		return kp_fail(ENOPROTOOPT);
	}
	if (kp_domain(fd) != AF_INET6)
		return kp_fail(EOPNOTSUPP);	/* ip_getsockopt()'s answer */
	switch (name) {
	case IPV6_V6ONLY:
		return kp_put_int(val, len, kp_v4emul(fd) ? 0 : 1);
	case IPV6_UNICAST_HOPS:
		return kp_put_int(val, len, cfg.ip6_hops);
	case IPV6_MULTICAST_HOPS:
	case IPV6_MULTICAST_LOOP:
	case IPV6_MULTICAST_ALL:
	case IPV6_AUTOFLOWLABEL:
		return kp_put_int(val, len, 1);
	case IPV6_MTU_DISCOVER:
		return kp_put_int(val, len, IPV6_PMTUDISC_WANT);
	case IPV6_ADDR_PREFERENCES:
		return kp_put_int(val, len, KP_PREFER_SRC_DEFAULT);
	case IPV6_MTU:
	case IPV6_ADDRFORM:
		kp_info(fd, &ki);
		if (!kp_connected(&ki))
			return kp_fail(ENOTCONN);
		return kp_put_int(val, len, name == IPV6_MTU ?
				  ki.kcpi_mtu + 48 : AF_INET6);
	case IPV6_PATHMTU: {
		struct ip6_mtuinfo mi = { 0 };

		if (!len || (int)*len < (int)sizeof(mi))
			return kp_fail(EINVAL);
		kp_info(fd, &ki);
		if (!kp_connected(&ki))
			return kp_fail(ENOTCONN);
		mi.ip6m_mtu = ki.kcpi_mtu + 48;
		return kp_put(val, len, &mi, sizeof(mi));
	}
	case IPV6_HOPOPTS:
	case IPV6_RTHDRDSTOPTS:
	case IPV6_RTHDR:
	case IPV6_DSTOPTS:
	case IPV6_2292PKTOPTIONS:
		return kp_put_none(len);
	case IPV6_RECVPKTINFO:
	case IPV6_2292PKTINFO:
	case IPV6_RECVHOPLIMIT:
	case IPV6_2292HOPLIMIT:
	case IPV6_RECVRTHDR:
	case IPV6_2292RTHDR:
	case IPV6_RECVHOPOPTS:
	case IPV6_2292HOPOPTS:
	case IPV6_RECVDSTOPTS:
	case IPV6_2292DSTOPTS:
	case IPV6_RECVTCLASS:
	case IPV6_FLOWINFO:
	case IPV6_RECVPATHMTU:
	case IPV6_TRANSPARENT:
	case IPV6_FREEBIND:
	case IPV6_RECVORIGDSTADDR:
	case IPV6_MULTICAST_IF:
	case IPV6_UNICAST_IF:
	case IPV6_RECVERR:
	case IPV6_RECVERR_RFC4884:
	case IPV6_FLOWINFO_SEND:
	case IPV6_MINHOPCOUNT:
	case IPV6_DONTFRAG:
	case IPV6_RECVFRAGSIZE:
	case IPV6_ROUTER_ALERT_ISOLATE:
		return kp_put_int(val, len, 0);
	}
	return kp_fail(ENOPROTOOPT);
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int ret, err;

	kp_early();
	ret = real_getsockopt(fd, level, name, val, len);
	if (level == SOL_SOCKET && !ret && val && len &&
	    *len >= sizeof(int) &&
	    ((name == SO_DOMAIN && *(int *)val == cfg.family) ||
	     (name == SO_PROTOCOL && kp_is_kcp(fd)))) {
		/* the program made a TCP socket: keep the illusion */
		*(int *)val = name == SO_PROTOCOL ? IPPROTO_TCP : kp_domain(fd);
		return 0;
	}
	if (!ret)
		return 0;
	err = errno;
	if ((level == IPPROTO_TCP || level == IPPROTO_IP ||
	     level == IPPROTO_IPV6) &&
	    (err == ENOPROTOOPT || err == EOPNOTSUPP) && kp_is_kcp(fd)) {
		if (level == IPPROTO_TCP)
			return kp_tcp_getsockopt(fd, name, val, len);
		return kp_ip_getsockopt(fd, level, name, val, len);
	}
	errno = err;
	return ret;
}
