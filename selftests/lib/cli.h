/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the command-line peers (selftests/net/kcpt, selftests/bench/kbench
 * and kcpscale) share: the start of main(), dying with a message,
 * joining a network namespace, comma lists, socket timeouts, percentiles,
 * and the AF_KCP options they all take, parsed and applied in one place:
 *
 *   -preset normal|fast|fast2|fast3  -nodelay a,b,c,d  -wnd snd,rcv
 *   -mtu N  -acknodelay  -linger MS  -conv N  -fec data,parity
 *   -crypt NAME  -key PASS  (kcptun's key derivation; needs kcpkey.c)
 *   -netns NAME  (join /run/netns/NAME first: saves an "ip netns exec")
 */
#ifndef _KT_CLI_H
#define _KT_CLI_H

#include "kcptest.h"
#include "../../tools/kcpctl/kcpkey.h"
#include "../../tools/kcpctl/kcpnames.h"
#include <sched.h>
#include <sys/resource.h>

static inline void kt_die(const char *msg)
{
	perror(msg);
	exit(2);
}

/*
 * A peer's start: SIGPIPE ignored (a peer that goes away is an error
 * return, not a death), RLIMIT_NOFILE raised to @nofile (0: left; -1 on
 * failure), and argv[1], the mode, or the usage and exit 2.
 */
static inline const char *kt_cli_start(int argc, char **argv, const char *usage,
				       long nofile, int *nofile_err)
{
	struct rlimit rl = { nofile, nofile };

	signal(SIGPIPE, SIG_IGN);
	*nofile_err = nofile ? setrlimit(RLIMIT_NOFILE, &rl) : 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s\n", usage);
		exit(2);
	}
	return argv[1];
}

/* -netns NAME: join /run/netns/NAME. */
static inline void kt_join_netns(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		kt_die(path);
	close(fd);
}

/* "a,b,c" into a[0..n-1]; missing ones are 0. */
static inline void kt_parse_list(const char *s, int *a, int n)
{
	char *end;

	for (int i = 0; i < n; i++) {
		a[i] = strtol(s, &end, 10);
		s = *end ? end + 1 : end;
	}
}

/* SO_RCVTIMEO or SO_SNDTIMEO of @secs. */
static inline void kt_set_timeo(int fd, int opt, double secs)
{
	struct timeval tv = { (long)secs, (long)((secs - (long)secs) * 1e6) };

	setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

static inline int kt_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The @p quantile of @n values sorted with kt_cmp_double; 0 if none. */
static inline double kt_pct(const double *v, long long n, double p)
{
	if (!n)
		return 0;
	return v[(long long)(p * (n - 1) + 0.5)];
}

/* The AF_KCP options of a peer's command line. */
struct kt_kcpopts {
	const char *preset, *crypt, *key;
	int nodelay[4], wnd[2], mtu, fec[2], linger;
	long conv;
	bool acknodelay;
	/* ENOPROTOOPT from KCP_FEC/KCP_CRYPTO: "UNSUPPORTED NAME", exit 3 */
	bool unsupported_exit;
};

#define KT_KCPOPTS_INIT { .nodelay = { -2, -2, -2, -2 }, .linger = -1, .conv = -1 }

/*
 * If argv[*i] is one of the options above, take it (and its value, moving
 * *i past it) and return true.
 */
static inline bool kt_kcpopts_arg(struct kt_kcpopts *o, int argc, char **argv,
				  int *i)
{
	const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : "";

	if (!strcmp(a, "-acknodelay")) {
		o->acknodelay = true;
		return true;
	}
	if (!strcmp(a, "-preset"))
		o->preset = v;
	else if (!strcmp(a, "-nodelay"))
		kt_parse_list(v, o->nodelay, 4);
	else if (!strcmp(a, "-wnd"))
		kt_parse_list(v, o->wnd, 2);
	else if (!strcmp(a, "-fec"))
		kt_parse_list(v, o->fec, 2);
	else if (!strcmp(a, "-mtu"))
		o->mtu = atoi(v);
	else if (!strcmp(a, "-linger"))
		o->linger = atoi(v);
	else if (!strcmp(a, "-conv"))
		o->conv = strtol(v, NULL, 0);
	else if (!strcmp(a, "-crypt"))
		o->crypt = v;
	else if (!strcmp(a, "-key"))
		o->key = v;
	else if (!strcmp(a, "-netns"))
		kt_join_netns(v);
	else
		return false;
	++*i;
	return true;
}

static inline void kt_kcpopt_set(const struct kt_kcpopts *o, int fd, int opt,
				 const void *v, socklen_t len, const char *name)
{
	if (!kt_setopt(fd, opt, v, len))
		return;
	if (o->unsupported_exit && errno == ENOPROTOOPT) {
		printf("UNSUPPORTED %s\n", name);
		fflush(stdout);
		exit(3);
	}
	kt_die(name);
}

/* A program's own options, for kt_parse_args(). */
enum kt_opt_type { KT_FLAG, KT_STR, KT_INT, KT_LL, KT_ULL, KT_DBL };

struct kt_opt {
	const char *name;
	enum kt_opt_type type;
	void *p;	/* bool, const char *, int, long long, unsigned long long, double */
};

/*
 * argv[first..]: the AF_KCP options above (into @k, if given) and the
 * program's own from @opts (ending with a NULL name). 0, or -1 after
 * "PROG: unknown option X" on stderr.
 */
static inline int kt_parse_args(const char *prog, int argc, char **argv,
				int first, const struct kt_opt *opts,
				struct kt_kcpopts *k)
{
	for (int i = first; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : "";
		const struct kt_opt *o;

		if (k && kt_kcpopts_arg(k, argc, argv, &i))
			continue;
		for (o = opts; o->name && strcmp(o->name, argv[i]); o++)
			;
		if (!o->name) {
			fprintf(stderr, "%s: unknown option %s\n", prog, argv[i]);
			return -1;
		}
		if (o->type != KT_FLAG)
			i++;
		switch (o->type) {
		case KT_FLAG: *(bool *)o->p = true; break;
		case KT_STR: *(const char **)o->p = v; break;
		case KT_INT: *(int *)o->p = atoi(v); break;
		case KT_LL: *(long long *)o->p = strtoll(v, NULL, 0); break;
		case KT_ULL: *(unsigned long long *)o->p = strtoull(v, NULL, 0); break;
		case KT_DBL: *(double *)o->p = atof(v); break;
		}
	}
	return 0;
}

/* Per-session options, before connect()/listen() and on accepted sockets. */
static inline void kt_kcpopts_tune(const struct kt_kcpopts *o, int fd)
{
	if (o->preset) {
		int v = kcp_preset_by_name(o->preset);

		if (!v || kt_setint(fd, KCP_PRESET, v))
			kt_die("KCP_PRESET");
	}
	if (o->nodelay[0] != -2 &&
	    kt_nodelay(fd, o->nodelay[0], o->nodelay[1], o->nodelay[2], o->nodelay[3]))
		kt_die("KCP_NODELAY");
	if (o->wnd[0] && kt_wnd(fd, o->wnd[0], o->wnd[1]))
		kt_die("KCP_WNDSIZE");
	if (o->mtu && kt_setint(fd, KCP_MTU, o->mtu))
		kt_die("KCP_MTU");
	if (o->acknodelay && kt_setint(fd, KCP_ACK_NODELAY, 1))
		kt_die("KCP_ACK_NODELAY");
	if (o->linger >= 0 && kt_setint(fd, KCP_LINGER_TIMEOUT, o->linger))
		kt_die("KCP_LINGER_TIMEOUT");
}

/* Options that must precede connect()/listen(): conv, FEC, cipher. */
static inline void kt_kcpopts_early(const struct kt_kcpopts *o, int fd)
{
	if (o->conv >= 0) {
		unsigned int conv = o->conv;

		kt_kcpopt_set(o, fd, KCP_CONV, &conv, sizeof(conv), "KCP_CONV");
	}
	if (o->fec[0]) {
		struct kcp_fec f = { o->fec[0], o->fec[1] };

		kt_kcpopt_set(o, fd, KCP_FEC, &f, sizeof(f), "KCP_FEC");
	}
	if (o->crypt && strcmp(o->crypt, "nil")) {
		int c = kcp_cipher_by_name(o->crypt);
		struct kcp_crypto kc;

		if (c < 0 ||
		    kcptun_crypto(c, o->key ? o->key : "it's a secrect", &kc))
			kt_die("unknown -crypt");
		kt_kcpopt_set(o, fd, KCP_CRYPTO, &kc, sizeof(kc), "KCP_CRYPTO");
	}
}

#endif
