// SPDX-License-Identifier: GPL-2.0
/*
 * kcpctl: administer AF_KCP (KCP over UDP as a socket family).
 *
 *   kcpctl show [-4|-6] [-l] [-p] [--json]      sockets (/proc/net/kcp{,6})
 *   kcpctl stats [--json] [NAME...]             counters (/proc/net/kcp_snmp)
 *   kcpctl get [--json] [NAME...]               defaults (/proc/sys/net/kcp)
 *   kcpctl set NAME=VALUE... | preset=NAME
 *   kcpctl get --pid P --fd N [--json]          a live socket's KCP_INFO
 *   kcpctl set --pid P --fd N OPT=VALUE...      retune a live socket
 *   kcpctl key [--crypt NAME] [PASSPHRASE]      kcptun-derived key, hex
 *   kcpctl run [OPTIONS] -- PROGRAM [ARGS...]   a TCP program over AF_KCP
 *
 * See kcpctl.8.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../uapi/linux/kcp.h"
#include "kcpkey.h"
#include "kcpnames.h"
#include "tunnel.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char kcptun_default_key[] = "it's a secrect";

/* ---- small helpers ---- */

static int errorf(const char *fmt, ...)
{
	va_list ap;

	fputs("kcpctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

/* Where /proc/net and the sysctls are; overridable for tests. */
static const char *proc_net(void)
{
	return env_or("KCPCTL_PROC_NET", "/proc/net");
}

static const char *sysctl_dir(void)
{
	return env_or("KCPCTL_SYSCTL", "/proc/sys/net/kcp");
}

static bool module_loaded(void)
{
	return access("/sys/module/kcp", F_OK) == 0;
}

static int kcp_family(void)
{
	const char *s = getenv("KCPCTL_FAMILY");
	int fam = 0;
	FILE *f;

	if (s && *s)
		return atoi(s);
	f = fopen("/sys/module/kcp/parameters/family", "r");
	if (f) {
		if (fscanf(f, "%d", &fam) != 1)
			fam = 0;
		fclose(f);
	}
	return fam > 0 ? fam : AF_KCP;
}

/* Why a /proc or /sys file of the module is not there. */
static int missing(const char *path, const char *what)
{
	if (!module_loaded())
		return errorf("%s: the kcp module is not loaded", path);
	return errorf("%s: not provided by the loaded kcp module (%s; "
		      "the module is older than this kcpctl)", path, what);
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* "a,b,c" into @n ints; "-" or an empty field is @keep. */
static bool parse_list(const char *s, int *v, int n, int min_n, int keep)
{
	char buf[128], *p;
	int i = 0;
	long x;

	if (!s || strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	for (i = 0; i < n; i++)
		v[i] = keep;
	i = 0;
	p = buf;
	for (;;) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = 0;
		if (i == n)
			return false;
		if (*p && strcmp(p, "-")) {
			if (!parse_long(p, INT_MIN, INT_MAX, &x))
				return false;
			v[i] = (int)x;
		}
		i++;
		if (!comma)
			break;
		p = comma + 1;
	}
	return i >= min_n;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static bool is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* A JSON value: a number as it is, anything else as a string. */
static void json_val(const char *s)
{
	if (is_number(s))
		fputs(s, stdout);
	else
		json_str(s);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/* ---- names ---- */

/* kcptun's --mode presets: nodelay, interval, resend, nc */
static const int preset_values[][4] = {
	[KCP_PRESET_NORMAL] = { 0, 40, 2, 1 },
	[KCP_PRESET_FAST] = { 0, 30, 2, 1 },
	[KCP_PRESET_FAST2] = { 1, 20, 2, 1 },
	[KCP_PRESET_FAST3] = { 1, 10, 2, 1 },
};

static void list_ciphers(FILE *f)
{
	int i;

	for (i = 0; i < __KCP_CIPHER_MAX; i++)
		fprintf(f, "%s%s", i ? ", " : "", kcp_cipher_names[i].name);
	fputc('\n', f);
}

static const char *state_name(long st)
{
	switch (st) {
	case KCP_ESTABLISHED:
		return "ESTAB";
	case KCP_SYN_SENT:
		return "SYN-SENT";
	case KCP_LINGER:
		return "LINGER";
	case KCP_CLOSE:
		return "CLOSE";
	case KCP_LISTEN:
		return "LISTEN";
	}
	return "UNKNOWN";
}

/* ---- aligned tables ---- */

#define TBL_COLS 8

struct table {
	int ncols, nrows, cap;
	bool right[TBL_COLS];
	char **cells;		/* nrows * ncols */
	char **extra;		/* a line under each row, or NULL */
};

static void tbl_add(struct table *t, char **cells, const char *extra)
{
	int i;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 32;
		t->cells = realloc(t->cells, sizeof(char *) * t->cap * t->ncols);
		t->extra = realloc(t->extra, sizeof(char *) * t->cap);
		if (!t->cells || !t->extra) {
			errorf("out of memory");
			exit(1);
		}
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(cells[i] ? cells[i] : "");
	t->extra[t->nrows] = extra ? strdup(extra) : NULL;
	t->nrows++;
}

static void tbl_print(struct table *t)
{
	int w[TBL_COLS] = { 0 }, r, c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			int l = strlen(t->cells[r * t->ncols + c]);

			if (l > w[c])
				w[c] = l;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			bool last = c == t->ncols - 1;

			if (t->right[c])
				printf("%*s", w[c], s);
			else
				printf("%-*s", last ? 0 : w[c], s);
			if (!last)
				fputs("  ", stdout);
		}
		putchar('\n');
		if (t->extra[r])
			printf("\t %s\n", t->extra[r]);
	}
}

static void tbl_free(struct table *t)
{
	int i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	for (i = 0; i < t->nrows; i++)
		free(t->extra[i]);
	free(t->cells);
	free(t->extra);
}

/* ---- kcpctl stats ---- */

static int cmd_stats(int argc, char **argv)
{
	char path[PATH_MAX], line[256], *names[256], *vals[256];
	bool json = false;
	int n = 0, i, j, nsel = 0, ret = 0;
	char **sel = calloc(argc + 1, sizeof(char *));
	FILE *f;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json = true;
		else if (argv[i][0] == '-')
			return errorf("stats: unknown option %s", argv[i]);
		else
			sel[nsel++] = argv[i];
	}
	snprintf(path, sizeof(path), "%s/kcp_snmp", proc_net());
	f = fopen(path, "r");
	if (!f)
		return missing(path, strerror(errno));
	while (n < (int)ARRAY_SIZE(names) && fgets(line, sizeof(line), f)) {
		char name[128], val[64];

		if (sscanf(line, "%127s %63s", name, val) != 2)
			continue;
		names[n] = strdup(name);
		vals[n] = strdup(val);
		n++;
	}
	fclose(f);
	for (i = 0; i < nsel; i++) {
		for (j = 0; j < n && strcmp(names[j], sel[i]); j++)
			;
		if (j == n)
			ret = errorf("stats: no counter %s in %s", sel[i], path);
	}
	if (ret)
		return ret;
	if (json) {
		bool first = true;

		putchar('{');
		for (i = 0; i < n; i++) {
			for (j = 0; j < nsel && strcmp(names[i], sel[j]); j++)
				;
			if (nsel && j == nsel)
				continue;
			printf("%s\n  ", first ? "" : ",");
			json_str(names[i]);
			fputs(": ", stdout);
			json_val(vals[i]);
			first = false;
		}
		puts("\n}");
	} else {
		struct table t = { .ncols = 2, .right = { false, true } };

		for (i = 0; i < n; i++) {
			char *cells[2] = { names[i], vals[i] };

			for (j = 0; j < nsel && strcmp(names[i], sel[j]); j++)
				;
			if (nsel && j == nsel)
				continue;
			tbl_add(&t, cells, NULL);
		}
		tbl_print(&t);
		tbl_free(&t);
	}
	return 0;
}

/* ---- kcpctl show ---- */

/* The columns of /proc/net/kcp{,6} in the order of the interface. */
static const char *const show_cols[] = {
	"sl", "local_address", "rem_address", "st", "conv", "snd_wnd",
	"rcv_wnd", "rmt_wnd", "cwnd", "snd_queue", "snd_buf", "rcv_queue",
	"rcv_buf", "rto", "srtt", "rttvar", "mtu", "nodelay", "interval",
	"resend", "nc", "fec_data", "fec_parity", "cipher", "in_segs",
	"out_segs", "retrans_segs", "lost_segs", "uid", "inode",
};

#define MAX_TOK 64

struct ksock {
	int family;
	int ntok;
	char *tok[MAX_TOK];
	char **hdr;		/* the names of tok[] */
	char local[64], peer[64];
	char laddr[48], paddr[48];
	int lport, pport;
	char procs[512];	/* ss -p style */
	char procs_json[768];
	long opid, ofd;		/* a process holding it, or -1 */
	long crypto_errors;	/* KCP_INFO through opid/ofd, or -1 */
	long fec_state;		/* kcpi_fec_state likewise, or -1 */
	char warn[384];		/* what looks wrong, for show */
};

static int split(char *s, char **tok, int max)
{
	int n = 0;
	char *save = NULL, *p;

	for (p = strtok_r(s, " \t\n", &save); p && n < max;
	     p = strtok_r(NULL, " \t\n", &save))
		tok[n++] = p;
	return n;
}

static const char *ks_col(const struct ksock *k, const char *name)
{
	int i;

	for (i = 0; i < k->ntok; i++)
		if (!strcmp(k->hdr[i], name))
			return k->tok[i];
	return NULL;
}

static long ks_num(const struct ksock *k, const char *name)
{
	const char *s = ks_col(k, name);

	return s ? strtol(s, NULL, 10) : 0;
}

/* conv and st are hex, as in /proc/net/tcp (%08X, %02X) */
static unsigned long ks_hex(const struct ksock *k, const char *name)
{
	const char *s = ks_col(k, name);

	return s ? strtoul(s, NULL, 16) : 0;
}

static unsigned long ks_conv(const struct ksock *k)
{
	return ks_hex(k, "conv");
}

static long ks_state(const struct ksock *k)
{
	return (long)ks_hex(k, "st");
}

/* "0100007F:1F90" or 32 hex digits ":" port, as /proc/net/tcp{,6} */
static bool parse_addr(const char *s, int family, char *addr, size_t alen,
		       int *port)
{
	const char *colon = strchr(s, ':');
	char hex[9];
	int i;

	if (!colon)
		return false;
	*port = (int)strtol(colon + 1, NULL, 16);
	if (family == AF_INET) {
		struct in_addr a;

		if (colon - s != 8)
			return false;
		/* %08X of the __be32 read as a host integer */
		a.s_addr = (uint32_t)strtoul(s, NULL, 16);
		inet_ntop(AF_INET, &a, addr, alen);
	} else {
		struct in6_addr a;

		if (colon - s != 32)
			return false;
		for (i = 0; i < 4; i++) {
			memcpy(hex, s + 8 * i, 8);
			hex[8] = 0;
			a.s6_addr32[i] = (uint32_t)strtoul(hex, NULL, 16);
		}
		inet_ntop(AF_INET6, &a, addr, alen);
	}
	return true;
}

static void fmt_endpoint(char *out, size_t len, int family, const char *addr,
			 int port)
{
	char p[8];

	if (port)
		snprintf(p, sizeof(p), "%d", port);
	else
		strcpy(p, "*");
	if (family == AF_INET6)
		snprintf(out, len, "[%s]:%s", addr, p);
	else
		snprintf(out, len, "%s:%s", addr, p);
}

static char *header_std[ARRAY_SIZE(show_cols)];

/* Read one /proc/net/kcp{,6}; appends to @socks. -1 if it is missing. */
static int read_socks(const char *name, int family, struct ksock **socks,
		      int *n, int *cap)
{
	char path[PATH_MAX], *line = NULL, **hdr = NULL;
	size_t lsz = 0;
	int nhdr = 0, i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", proc_net(), name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	for (i = 0; i < (int)ARRAY_SIZE(show_cols); i++)
		header_std[i] = (char *)show_cols[i];
	while (getline(&line, &lsz, f) > 0) {
		struct ksock *k;
		char *copy;

		if (!hdr) {
			/* the header: column names, used when they match */
			hdr = calloc(MAX_TOK, sizeof(char *));
			nhdr = split(strdup(line), hdr, MAX_TOK);
			continue;
		}
		if (*n == *cap) {
			*cap = *cap ? 2 * *cap : 64;
			*socks = realloc(*socks, sizeof(**socks) * *cap);
			if (!*socks)
				exit(errorf("out of memory"));
		}
		k = &(*socks)[*n];
		memset(k, 0, sizeof(*k));
		copy = strdup(line);
		k->ntok = split(copy, k->tok, MAX_TOK);
		if (k->ntok < 4)
			continue;
		k->family = family;
		if (nhdr == k->ntok) {
			k->hdr = hdr;
		} else {
			/* header and data differ: the interface's order */
			k->hdr = header_std;
			if (k->ntok > (int)ARRAY_SIZE(show_cols))
				k->ntok = ARRAY_SIZE(show_cols);
		}
		if (!parse_addr(ks_col(k, "local_address") ?: "", family,
				k->laddr, sizeof(k->laddr), &k->lport) ||
		    !parse_addr(ks_col(k, "rem_address") ?: "", family,
				k->paddr, sizeof(k->paddr), &k->pport))
			continue;
		fmt_endpoint(k->local, sizeof(k->local), family, k->laddr,
			     k->lport);
		fmt_endpoint(k->peer, sizeof(k->peer), family, k->paddr,
			     k->pport);
		(*n)++;
	}
	free(line);
	fclose(f);
	return 0;
}

/* /proc/PID/comm, made safe inside quotes (text and JSON) */
static void read_comm(const char *pid, char *comm, size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	char *q;

	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	f = fopen(path, "r");
	if (!f || !fgets(comm, len, f))
		snprintf(comm, len, "?");
	if (f)
		fclose(f);
	memmove(comm, trim(comm), strlen(trim(comm)) + 1);
	for (q = comm; *q; q++)
		if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20)
			*q = '?';
}

static void add_proc(struct ksock *k, const char *comm, const char *pid,
		     const char *fd)
{
	size_t used = strlen(k->procs);

	if (k->opid < 0) {
		k->opid = strtol(pid, NULL, 10);
		k->ofd = strtol(fd, NULL, 10);
	}

	snprintf(k->procs + used, sizeof(k->procs) - used,
		 "%s(\"%s\",pid=%s,fd=%s)", used ? "," : "", comm, pid, fd);
	used = strlen(k->procs_json);
	snprintf(k->procs_json + used, sizeof(k->procs_json) - used,
		 "%s{\"comm\": \"%s\", \"pid\": %s, \"fd\": %s}",
		 used ? ", " : "", comm, pid, fd);
}

/* ss -p: the processes holding each socket, from /proc/PID/fd. */
static void find_procs(struct ksock *socks, int n)
{
	DIR *proc = opendir("/proc"), *fds;
	struct dirent *p, *d;
	char path[PATH_MAX], link[64], comm[64];
	unsigned long ino;
	ssize_t l;
	int i;

	if (!proc)
		return;
	while ((p = readdir(proc))) {
		if (!isdigit((unsigned char)p->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		comm[0] = 0;
		while ((d = readdir(fds))) {
			snprintf(path, sizeof(path), "/proc/%s/fd/%s",
				 p->d_name, d->d_name);
			l = readlink(path, link, sizeof(link) - 1);
			if (l <= 0)
				continue;
			link[l] = 0;
			if (sscanf(link, "socket:[%lu]", &ino) != 1 || !ino)
				continue;
			for (i = 0; i < n; i++) {
				if (strtoul(ks_col(&socks[i], "inode") ?: "0",
					    NULL, 10) != ino)
					continue;
				if (!comm[0])
					read_comm(p->d_name, comm, sizeof(comm));
				add_proc(&socks[i], comm, p->d_name, d->d_name);
			}
		}
		closedir(fds);
	}
	closedir(proc);
}

static const char *mode_name(long nd, long iv, long rs, long nc)
{
	int i;

	for (i = KCP_PRESET_NORMAL; i <= KCP_PRESET_FAST3; i++)
		if (preset_values[i][0] == nd && preset_values[i][1] == iv &&
		    preset_values[i][2] == rs && preset_values[i][3] == nc)
			return kcp_preset_names[i];
	return NULL;
}

static const char *ks_cipher(const struct ksock *k)
{
	const char *s = ks_col(k, "cipher");

	if (!s)
		return "?";
	return is_number(s) ? kcp_cipher_name(strtol(s, NULL, 10)) : s;
}

/* Columns shown otherwise than as name:value. */
static bool show_special(const char *name)
{
	static const char *const sp[] = {
		"sl", "local_address", "rem_address", "st", "conv",
		"nodelay", "interval", "resend", "nc", "fec_data",
		"fec_parity", "cipher",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sp); i++)
		if (!strcmp(name, sp[i]))
			return true;
	return false;
}

/* Whether KCP_INFO of @len bytes has field F (older modules: shorter). */
#define KI_HAS(len, f) \
	((len) >= offsetof(struct kcp_info, f) + sizeof(((struct kcp_info *)0)->f))

/*
 * The session's datagram counters through its owner (pidfd_getfd needs
 * ptrace access; without it nothing is known): crypto_errors and
 * fec_state stay -1 when not readable.
 */
static void owner_info(struct ksock *k)
{
	struct kcp_info ki;
	socklen_t len = sizeof(ki);
	int pidfd, fd;

	k->crypto_errors = -1;
	k->fec_state = -1;
	if (k->opid < 0)
		return;
	pidfd = syscall(SYS_pidfd_open, (int)k->opid, 0);
	if (pidfd < 0)
		return;
	fd = syscall(SYS_pidfd_getfd, pidfd, (int)k->ofd, 0);
	close(pidfd);
	if (fd < 0)
		return;
	memset(&ki, 0, sizeof(ki));
	if (!getsockopt(fd, SOL_KCP, KCP_INFO, &ki, &len)) {
		if (KI_HAS(len, kcpi_crypto_errors))
			k->crypto_errors = ki.kcpi_crypto_errors;
		if (KI_HAS(len, kcpi_fec_state))
			k->fec_state = ki.kcpi_fec_state;
	}
	close(fd);
}

/*
 * What a session that "hangs" shows: datagrams from its peer that fail
 * the cipher's checksum (wrong --key or --crypt on one side), or nothing
 * at all from the peer although we retransmit (firewall, no listener,
 * or a peer that drops ours: wrong key, cipher or FEC there).
 */
static void diagnose(struct ksock *socks, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct ksock *k = &socks[i];
		long st = ks_state(k), in = ks_num(k, "in_segs");
		long out = ks_num(k, "out_segs"), re = ks_num(k, "retrans_segs");
		size_t l = 0;

		k->crypto_errors = -1;
		k->fec_state = -1;
		k->warn[0] = 0;
		if (st != KCP_ESTABLISHED && st != KCP_LINGER &&
		    st != KCP_SYN_SENT)
			continue;
		owner_info(k);
		if (k->crypto_errors > 0)
			l += snprintf(k->warn + l, sizeof(k->warn) - l,
				      "%s%ld datagrams from the peer failed "
				      "decryption: wrong key or cipher on one "
				      "side", l ? "; " : "", k->crypto_errors);
		if (k->fec_state == KCP_FEC_STATE_CONTRADICTED)
			l += snprintf(k->warn + l, sizeof(k->warn) - l,
				      "%sthe peer's FEC shards contradict our "
				      "shard counts: --ds/--ps differ on the "
				      "two ends (nothing is rebuilt)",
				      l ? "; " : "");
		/* connect() resends its WASK: no data retransmissions */
		if (st == KCP_SYN_SENT && in == 0 && out > 1)
			snprintf(k->warn + l, sizeof(k->warn) - l,
				 "%sno reply from the peer (connect() waiting, "
				 "%ld probes sent): port blocked, no listener, "
				 "or the peer drops ours (key, cipher, FEC)",
				 l ? "; " : "", out);
		else if (in == 0 && out > 0 && re > 0)
			snprintf(k->warn + l, sizeof(k->warn) - l,
				 "%sno reply from the peer (%ld segments sent, "
				 "%ld resent): port blocked, no listener, or the "
				 "peer drops ours (key, cipher, FEC)",
				 l ? "; " : "", out, re);
	}
}

static void show_json(struct ksock *socks, int n, bool procs)
{
	int i, j;

	puts("[");
	for (i = 0; i < n; i++) {
		struct ksock *k = &socks[i];

		printf("  {\"family\": \"%s\", \"state\": \"%s\", ",
		       k->family == AF_INET ? "inet" : "inet6",
		       state_name(ks_state(k)));
		printf("\"local_addr\": \"%s\", \"local_port\": %d, ",
		       k->laddr, k->lport);
		printf("\"peer_addr\": \"%s\", \"peer_port\": %d, ",
		       k->paddr, k->pport);
		printf("\"conv\": %lu, \"cipher\": \"%s\"", ks_conv(k),
		       ks_cipher(k));
		for (j = 0; j < k->ntok; j++) {
			const char *h = k->hdr[j];

			if (!strcmp(h, "sl") || !strcmp(h, "local_address") ||
			    !strcmp(h, "rem_address") || !strcmp(h, "conv") ||
			    !strcmp(h, "cipher"))
				continue;
			if (!strcmp(h, "st")) {
				printf(", \"state_num\": %ld", ks_state(k));
				continue;
			}
			printf(", \"%s\": ", h);
			json_val(k->tok[j]);
		}
		if (procs)
			printf(", \"users\": [%s]", k->procs_json);
		if (k->crypto_errors >= 0)
			printf(", \"crypto_errors\": %ld", k->crypto_errors);
		if (k->fec_state >= 0)
			printf(", \"fec_state\": %ld", k->fec_state);
		if (k->warn[0]) {
			fputs(", \"warning\": ", stdout);
			json_str(k->warn);
		}
		printf("}%s\n", i < n - 1 ? "," : "");
	}
	puts("]");
}

static void show_text(struct ksock *socks, int n, bool procs)
{
	struct table t = { .ncols = procs ? 7 : 6,
			   .right = { false, true, true } };
	char *hdr[] = { "State", "Recv-Q", "Send-Q", "Local Address:Port",
			"Peer Address:Port", "Conv", "Process" };
	int i, j;

	tbl_add(&t, hdr, NULL);
	for (i = 0; i < n; i++) {
		struct ksock *k = &socks[i];
		char rq[24], sq[24], conv[16], extra[1400], users[600];
		char *cells[7] = { (char *)state_name(ks_state(k)), rq, sq,
				   k->local, k->peer, conv, users };
		long nd = ks_num(k, "nodelay"), iv = ks_num(k, "interval");
		long rs = ks_num(k, "resend"), nc = ks_num(k, "nc");
		const char *mode = mode_name(nd, iv, rs, nc);
		size_t l = 0;

		snprintf(rq, sizeof(rq), "%ld", ks_num(k, "rcv_queue"));
		snprintf(sq, sizeof(sq), "%ld",
			 ks_num(k, "snd_queue") + ks_num(k, "snd_buf"));
		snprintf(conv, sizeof(conv), "0x%08lx", ks_conv(k));
		snprintf(users, sizeof(users), "%s%s%s",
			 k->procs[0] ? "users:(" : "", k->procs,
			 k->procs[0] ? ")" : "");
		l += snprintf(extra + l, sizeof(extra) - l,
			      "mode:%ld,%ld,%ld,%ld%s%s%s", nd, iv, rs, nc,
			      mode ? "(" : "", mode ? mode : "",
			      mode ? ")" : "");
		if (ks_num(k, "fec_data") || ks_num(k, "fec_parity"))
			l += snprintf(extra + l, sizeof(extra) - l,
				      " fec:%ld/%ld", ks_num(k, "fec_data"),
				      ks_num(k, "fec_parity"));
		else
			l += snprintf(extra + l, sizeof(extra) - l, " fec:off");
		l += snprintf(extra + l, sizeof(extra) - l, " cipher:%s",
			      ks_cipher(k));
		for (j = 0; j < k->ntok && l < sizeof(extra); j++)
			if (!show_special(k->hdr[j]))
				l += snprintf(extra + l, sizeof(extra) - l,
					      " %s:%s", k->hdr[j], k->tok[j]);
		if (k->crypto_errors >= 0 && l < sizeof(extra))
			l += snprintf(extra + l, sizeof(extra) - l,
				      " crypto_errors:%ld", k->crypto_errors);
		if (k->warn[0] && l < sizeof(extra))
			snprintf(extra + l, sizeof(extra) - l, "\n\t ! %s",
				 k->warn);
		tbl_add(&t, cells, extra);
	}
	tbl_print(&t);
	tbl_free(&t);
}

static int cmd_show(int argc, char **argv)
{
	bool json = false, v4 = true, v6 = true, procs = false, listen = false;
	struct ksock *socks = NULL;
	int n = 0, cap = 0, i, got = 0, out = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json") || !strcmp(a, "-j"))
			json = true;
		else if (!strcmp(a, "-4"))
			v6 = false;
		else if (!strcmp(a, "-6"))
			v4 = false;
		else if (!strcmp(a, "-p") || !strcmp(a, "--processes"))
			procs = true;
		else if (!strcmp(a, "-l") || !strcmp(a, "--listening"))
			listen = true;
		else
			return errorf("show: unknown argument %s", a);
	}
	if (!v4 && !v6)
		return errorf("show: -4 and -6 exclude each other");
	if (v4 && read_socks("kcp", AF_INET, &socks, &n, &cap) == 0)
		got++;
	if (v6 && read_socks("kcp6", AF_INET6, &socks, &n, &cap) == 0)
		got++;
	if (!got) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", proc_net(),
			 v4 ? "kcp" : "kcp6");
		return missing(path, "no socket list");
	}
	/* -l: listeners only; otherwise everything (ss -a) */
	for (i = 0; i < n; i++)
		if (!listen || ks_state(&socks[i]) == KCP_LISTEN)
			socks[out++] = socks[i];
	n = out;
	/* the owners also give KCP_INFO for the checks of diagnose() */
	for (i = 0; i < n; i++)
		socks[i].opid = socks[i].ofd = -1;
	find_procs(socks, n);
	diagnose(socks, n);
	if (json)
		show_json(socks, n, procs);
	else
		show_text(socks, n, procs);
	return 0;
}

/* ---- sysctls: kcpctl get/set NAME ---- */

static const char *const sysctl_names[] = {
	"nodelay", "interval", "resend", "nc", "snd_wnd", "rcv_wnd", "mtu",
	"stream", "ack_nodelay", "ack_early", "dead_link", "min_rto",
	"idle_timeout_ms", "linger_ms", "timewait_ms", "fec_data", "fec_parity", "max_sessions",
	"max_listener_sessions", "new_sessions_per_sec", "wnd_max",
};

static bool sysctl_dir_ok(void)
{
	struct stat st;

	if (!stat(sysctl_dir(), &st) && S_ISDIR(st.st_mode))
		return true;
	missing(sysctl_dir(), "no sysctls");
	return false;
}

static bool sysctl_exists(const char *name)
{
	char path[PATH_MAX];

	if (!*name || strchr(name, '/') || name[0] == '.')
		return false;
	snprintf(path, sizeof(path), "%s/%s", sysctl_dir(), name);
	return access(path, F_OK) == 0;
}

static int sysctl_read(const char *name, char *val, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", sysctl_dir(), name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(val, len, f))
		val[0] = 0;
	fclose(f);
	strcpy(val, trim(val));
	return 0;
}

static int sysctl_write(const char *name, long v)
{
	char path[PATH_MAX], buf[32];
	int fd, n, err = 0;

	snprintf(path, sizeof(path), "%s/%s", sysctl_dir(), name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%ld\n", v);
	if (write(fd, buf, n) != n)
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

static void unknown_sysctl(const char *name)
{
	size_t i;

	errorf("unknown setting '%s'", name);
	fputs("known settings:", stderr);
	for (i = 0; i < ARRAY_SIZE(sysctl_names); i++)
		fprintf(stderr, " %s", sysctl_names[i]);
	fputs(" preset\n", stderr);
}

static int sysctl_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t i, ix = ARRAY_SIZE(sysctl_names), iy = ix;

	for (i = 0; i < ARRAY_SIZE(sysctl_names); i++) {
		if (!strcmp(x, sysctl_names[i]))
			ix = i;
		if (!strcmp(y, sysctl_names[i]))
			iy = i;
	}
	if (ix != iy)
		return ix < iy ? -1 : 1;
	return strcmp(x, y);
}

static int sysctl_get(char **names, int n, bool json)
{
	char **all = NULL, val[128];
	struct table t = { .ncols = 2, .right = { false, true } };
	int i, ret = 0, shown = 0;

	if (!sysctl_dir_ok())
		return 1;
	if (!n) {
		DIR *d = opendir(sysctl_dir());
		struct dirent *de;

		if (!d)
			return errorf("%s: %s", sysctl_dir(), strerror(errno));
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			all = realloc(all, sizeof(char *) * (n + 1));
			all[n++] = strdup(de->d_name);
		}
		closedir(d);
		qsort(all, n, sizeof(char *), sysctl_cmp);
		names = all;
	}
	for (i = 0; i < n; i++)
		if (!sysctl_exists(names[i])) {
			unknown_sysctl(names[i]);
			return 1;
		}
	if (json)
		putchar('{');
	for (i = 0; i < n; i++) {
		int err = sysctl_read(names[i], val, sizeof(val));

		if (err) {
			ret = errorf("get %s: %s", names[i], strerror(-err));
			continue;
		}
		if (json) {
			printf("%s\n  ", shown ? "," : "");
			json_str(names[i]);
			fputs(": ", stdout);
			json_val(val);
		} else {
			char *cells[2] = { names[i], val };

			tbl_add(&t, cells, NULL);
		}
		shown++;
	}
	if (json)
		puts("\n}");
	else
		tbl_print(&t);
	tbl_free(&t);
	return ret;
}

static int sysctl_set_one(const char *name, long v, const char *shown)
{
	int err = sysctl_write(name, v);

	if (!err)
		return 0;
	switch (-err) {
	case EINVAL:
	case ERANGE:
		return errorf("set %s=%s: rejected by the kernel: value out of "
			      "range (%s)", name, shown, strerror(-err));
	case EACCES:
	case EPERM:
		return errorf("set %s=%s: %s (root, or CAP_NET_ADMIN over the "
			      "network namespace, is needed)", name, shown,
			      strerror(-err));
	}
	return errorf("set %s=%s: %s", name, shown, strerror(-err));
}

/*
 * The module's ranges (kmod/sysctl.c), checked before anything is
 * written; snd_wnd and rcv_wnd are bounded by wnd_max (the value given in
 * the same command, else the current one). A name missing here (a newer
 * module) is left to the kernel.
 */
static const struct {
	const char *name;
	long lo, hi;
} sysctl_ranges[] = {
	{ "nodelay", 0, 1 }, { "interval", 10, 5000 }, { "resend", 0, 65536 },
	{ "nc", 0, 1 }, { "snd_wnd", 1, 65535 }, { "rcv_wnd", 1, 65535 },
	{ "wnd_max", 1, 65535 }, { "mtu", 50, 1500 }, { "stream", 0, 1 },
	{ "ack_nodelay", 0, 1 }, { "ack_early", 0, 1 },
	{ "dead_link", 1, 1000 },
	{ "min_rto", 0, 60000 }, { "idle_timeout_ms", 0, 86400000 },
	{ "linger_ms", 0, 86400000 }, { "timewait_ms", 0, 86400000 },
	{ "fec_data", 0, 254 }, { "fec_parity", 0, 254 },
	{ "max_sessions", 0, 1 << 24 }, { "max_listener_sessions", 0, 1 << 24 },
	{ "new_sessions_per_sec", 0, 1 << 24 },
};

static bool sysctl_range(const char *name, long *lo, long *hi)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sysctl_ranges); i++)
		if (!strcmp(name, sysctl_ranges[i].name)) {
			*lo = sysctl_ranges[i].lo;
			*hi = sysctl_ranges[i].hi;
			return true;
		}
	return false;
}

/* The namespace's net.kcp.wnd_max, or the wire's 65535 without it. */
static long wnd_max_now(void)
{
	char val[32];
	long v;

	if (sysctl_read("wnd_max", val, sizeof(val)) ||
	    !parse_long(val, 1, 65535, &v))
		return 65535;
	return v;
}

struct sysctl_assign {
	const char *name;
	long val, old;
	char shown[32];
	bool written;
};

/* Add or replace (a later NAME=VALUE wins) an assignment. */
static int assign_add(struct sysctl_assign *a, int n, const char *name,
		      long v, const char *shown)
{
	int i;

	for (i = 0; i < n && strcmp(a[i].name, name); i++)
		;
	a[i].name = name;
	a[i].val = v;
	snprintf(a[i].shown, sizeof(a[i].shown), "%s", shown);
	return i == n ? n + 1 : n;
}

static int assign_find(const struct sysctl_assign *a, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(a[i].name, name))
			return i;
	return -1;
}

static int sysctl_set(char **args, int n)
{
	static const char *const preset_f[] = {
		"nodelay", "interval", "resend", "nc",
	};
	struct sysctl_assign a[64 + 4];
	char val[128];
	int i, j, na = 0, wm, order[64 + 4], no = 0, failed = -1;
	long lo, hi, wmax;

	if (!n)
		return errorf("set: NAME=VALUE expected");
	if (n > 64)
		return errorf("set: too many settings");
	if (!sysctl_dir_ok())
		return 1;
	/* parse and check everything before changing anything */
	for (i = 0; i < n; i++) {
		char *eq = strchr(args[i], '=');
		long v;

		if (!eq || eq == args[i])
			return errorf("set: '%s' is not NAME=VALUE", args[i]);
		*eq = 0;
		if (!strcmp(args[i], "preset")) {
			int p = kcp_preset_by_name(eq + 1);

			*eq = '=';
			if (!p)
				return errorf("set: unknown preset '%s' (normal, "
					      "fast, fast2, fast3)", eq + 1);
			for (j = 0; j < 4; j++) {
				char sh[16];

				if (!sysctl_exists(preset_f[j]))
					return missing(sysctl_dir(), "no nodelay");
				snprintf(sh, sizeof(sh), "%d", preset_values[p][j]);
				na = assign_add(a, na, preset_f[j],
						preset_values[p][j], sh);
			}
			continue;
		}
		if (!sysctl_exists(args[i])) {
			unknown_sysctl(args[i]);
			return 1;
		}
		if (!parse_long(eq + 1, INT_MIN, INT_MAX, &v)) {
			errorf("set %s: '%s' is not an integer", args[i], eq + 1);
			return 1;
		}
		if (sysctl_range(args[i], &lo, &hi) && (v < lo || v > hi)) {
			errorf("set %s=%s: out of range %ld..%ld; nothing changed",
			       args[i], eq + 1, lo, hi);
			return 1;
		}
		/* args[i] stays cut at '=': it is the name from now on */
		na = assign_add(a, na, args[i], v, eq + 1);
	}
	wm = assign_find(a, na, "wnd_max");
	wmax = wm >= 0 ? a[wm].val : wnd_max_now();
	for (i = 0; i < na; i++) {
		if (strcmp(a[i].name, "snd_wnd") && strcmp(a[i].name, "rcv_wnd"))
			continue;
		if (a[i].val > wmax)
			return errorf("set %s=%s: above wnd_max (%ld): new sockets "
				      "could not have it; set wnd_max=%ld too; "
				      "nothing changed", a[i].name, a[i].shown,
				      wmax, a[i].val);
	}
	for (i = 0; i < na; i++) {
		if (sysctl_read(a[i].name, val, sizeof(val)) ||
		    !parse_long(val, LONG_MIN, LONG_MAX, &a[i].old))
			return errorf("set: cannot read %s/%s; nothing changed",
				      sysctl_dir(), a[i].name);
		a[i].written = false;
	}
	/* a larger wnd_max before the windows it admits, a smaller after */
	if (wm >= 0 && a[wm].val >= a[wm].old)
		order[no++] = wm;
	for (i = 0; i < na; i++)
		if (i != wm)
			order[no++] = i;
	if (wm >= 0 && a[wm].val < a[wm].old)
		order[no++] = wm;
	for (i = 0; i < no && failed < 0; i++) {
		struct sysctl_assign *x = &a[order[i]];

		if (sysctl_set_one(x->name, x->val, x->shown))
			failed = order[i];
		else
			x->written = true;
	}
	if (failed < 0) {
		for (i = 0; i < na; i++)
			printf("%s = %ld\n", a[i].name, a[i].val);
		for (i = 0; i < 2; i++) {
			const char *w = i ? "rcv_wnd" : "snd_wnd";
			long cur;

			if (assign_find(a, na, w) >= 0 || wm < 0 ||
			    sysctl_read(w, val, sizeof(val)) ||
			    !parse_long(val, 0, LONG_MAX, &cur) || cur <= wmax)
				continue;
			fprintf(stderr, "kcpctl: note: %s %ld is above wnd_max "
				"%ld: new sockets get %ld\n", w, cur, wmax, wmax);
		}
		return 0;
	}
	/* undo in reverse order, so that wnd_max is restored last or first
	 * as it was written */
	for (i = no - 1; i >= 0; i--) {
		struct sysctl_assign *x = &a[order[i]];

		if (x->written && sysctl_write(x->name, x->old))
			errorf("set: could not restore %s to %ld", x->name,
			       x->old);
	}
	fputs("kcpctl: nothing changed\n", stderr);
	return 1;
}

/* ---- a live socket of another process ---- */

static int remote_fd(long pid, long fd)
{
	int pidfd, rfd, dom = 0;
	socklen_t len = sizeof(dom);

	pidfd = syscall(SYS_pidfd_open, (int)pid, 0);
	if (pidfd < 0) {
		if (errno == ESRCH)
			return -errorf("no process %ld", pid);
		if (errno == ENOSYS)
			return -errorf("pidfd_open: the kernel lacks it (5.3+)");
		return -errorf("pidfd_open(%ld): %s", pid, strerror(errno));
	}
	rfd = syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
	if (rfd < 0) {
		int err = errno;

		close(pidfd);
		if (err == EBADF)
			return -errorf("process %ld has no fd %ld", pid, fd);
		if (err == EPERM || err == EACCES)
			return -errorf("not allowed to take fd %ld of process "
				       "%ld (%s): ptrace access is needed (root, "
				       "or same user with kernel.yama."
				       "ptrace_scope 0)", fd, pid,
				       strerror(err));
		if (err == ENOSYS)
			return -errorf("pidfd_getfd: the kernel lacks it (5.6+)");
		return -errorf("pidfd_getfd(%ld, %ld): %s", pid, fd,
			       strerror(err));
	}
	close(pidfd);
	if (getsockopt(rfd, SOL_SOCKET, SO_DOMAIN, &dom, &len)) {
		close(rfd);
		if (errno == ENOTSOCK)
			return -errorf("fd %ld of process %ld is not a socket",
				       fd, pid);
		return -errorf("SO_DOMAIN: %s", strerror(errno));
	}
	if (dom != kcp_family()) {
		close(rfd);
		return -errorf("fd %ld of process %ld is not an AF_KCP socket "
			       "(family %d, AF_KCP is %d)", fd, pid, dom,
			       kcp_family());
	}
	return rfd;
}

static void sockname(int fd, bool peer, char *out, size_t len)
{
	struct sockaddr_in6 sa;
	socklen_t sl = sizeof(sa);
	char addr[INET6_ADDRSTRLEN];
	int err;

	memset(&sa, 0, sizeof(sa));
	err = peer ? getpeername(fd, (struct sockaddr *)&sa, &sl) :
		     getsockname(fd, (struct sockaddr *)&sa, &sl);
	if (err) {
		snprintf(out, len, "-");
		return;
	}
	if (sa.sin6_family == AF_INET) {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&sa;

		inet_ntop(AF_INET, &a4->sin_addr, addr, sizeof(addr));
		fmt_endpoint(out, len, AF_INET, addr, ntohs(a4->sin_port));
	} else {
		inet_ntop(AF_INET6, &sa.sin6_addr, addr, sizeof(addr));
		fmt_endpoint(out, len, AF_INET6, addr, ntohs(sa.sin6_port));
	}
}

#define KI(f, t) { #f, offsetof(struct kcp_info, kcpi_##f), t }

static const struct {
	const char *name;
	size_t off;
	char type;	/* u: __u32, s: __s32, U: __u64 */
} info_fields[] = {
	KI(state, 'u'), KI(conv, 'u'), KI(mtu, 'u'), KI(mss, 'u'),
	KI(rto, 'u'), KI(srtt, 's'), KI(rttvar, 's'), KI(minrto, 'u'),
	KI(cwnd, 'u'), KI(ssthresh, 'u'), KI(snd_wnd, 'u'), KI(rcv_wnd, 'u'),
	KI(rmt_wnd, 'u'), KI(snd_una, 'u'), KI(snd_nxt, 'u'),
	KI(rcv_nxt, 'u'), KI(snd_queue, 'u'), KI(snd_buf, 'u'),
	KI(rcv_queue, 'u'), KI(rcv_buf, 'u'), KI(nodelay, 'u'),
	KI(interval, 'u'), KI(resend, 'u'), KI(nc, 'u'), KI(stream, 'u'),
	KI(fec_data, 'u'), KI(fec_parity, 'u'), KI(cipher, 'u'),
	KI(dead_link, 'u'), KI(in_segs, 'U'), KI(out_segs, 'U'),
	KI(retrans_segs, 'U'), KI(fast_retrans, 'U'), KI(early_retrans, 'U'),
	KI(lost_segs, 'U'), KI(repeat_segs, 'U'), KI(in_errors, 'U'),
	KI(in_pkts, 'U'), KI(out_pkts, 'U'), KI(bytes_in, 'U'),
	KI(bytes_out, 'U'), KI(fec_recovered, 'U'), KI(fec_parity_in, 'U'),
	KI(crypto_errors, 'U'),
};

/* Options that KCP_INFO does not carry. */
static const struct {
	const char *name;
	int opt;
} int_opts_shown[] = {
	{ "ack_nodelay", KCP_ACK_NODELAY }, { "write_delay", KCP_WRITE_DELAY },
	{ "idle_timeout", KCP_IDLE_TIMEOUT }, { "linger", KCP_LINGER_TIMEOUT },
	{ "connect_timeout", KCP_CONNECT_TIMEOUT },
	{ "keepidle", KCP_KEEPIDLE }, { "keepintvl", KCP_KEEPINTVL },
	{ "keepcnt", KCP_KEEPCNT },
};

static int remote_get(long pid, long fd, bool json)
{
	struct table t = { .ncols = 2, .right = { false, false } };
	struct kcp_info ki;
	socklen_t len = sizeof(ki);
	char local[80], peer[80], val[64];
	int rfd = remote_fd(pid, fd);
	size_t i;
	int n = 0;

	if (rfd < 0)
		return 1;
	memset(&ki, 0, sizeof(ki));
	if (getsockopt(rfd, SOL_KCP, KCP_INFO, &ki, &len)) {
		close(rfd);
		return errorf("KCP_INFO: %s", strerror(errno));
	}
	sockname(rfd, false, local, sizeof(local));
	sockname(rfd, true, peer, sizeof(peer));
	if (json) {
		printf("{\"pid\": %ld, \"fd\": %ld, \"local\": ", pid, fd);
		json_str(local);
		fputs(", \"peer\": ", stdout);
		json_str(peer);
		printf(", \"state_name\": \"%s\", \"cipher_name\": \"%s\"",
		       state_name(ki.kcpi_state), kcp_cipher_name(ki.kcpi_cipher));
	} else {
		char *c1[2] = { "local", local }, *c2[2] = { "peer", peer };

		tbl_add(&t, c1, NULL);
		tbl_add(&t, c2, NULL);
	}
	for (i = 0; i < ARRAY_SIZE(info_fields); i++) {
		const void *p = (const char *)&ki + info_fields[i].off;
		size_t sz = info_fields[i].type == 'U' ? 8 : 4;

		if (info_fields[i].off + sz > len ||
		    info_fields[i].off + sz > ki.kcpi_len)
			continue;
		if (info_fields[i].type == 'U')
			snprintf(val, sizeof(val), "%llu",
				 (unsigned long long)*(const __u64 *)p);
		else if (info_fields[i].type == 's')
			snprintf(val, sizeof(val), "%d", *(const __s32 *)p);
		else
			snprintf(val, sizeof(val), "%u", *(const __u32 *)p);
		if (json) {
			printf(", \"%s\": %s", info_fields[i].name, val);
			continue;
		}
		if (!strcmp(info_fields[i].name, "state"))
			snprintf(val, sizeof(val), "%s",
				 state_name(ki.kcpi_state));
		else if (!strcmp(info_fields[i].name, "cipher"))
			snprintf(val, sizeof(val), "%s",
				 kcp_cipher_name(ki.kcpi_cipher));
		else if (!strcmp(info_fields[i].name, "conv"))
			snprintf(val, sizeof(val), "0x%08x", ki.kcpi_conv);
		{
			char *cells[2] = { (char *)info_fields[i].name, val };

			tbl_add(&t, cells, NULL);
		}
		n++;
	}
	for (i = 0; i < ARRAY_SIZE(int_opts_shown); i++) {
		int v;
		socklen_t vl = sizeof(v);

		if (getsockopt(rfd, SOL_KCP, int_opts_shown[i].opt, &v, &vl))
			continue;
		snprintf(val, sizeof(val), "%d", v);
		if (json) {
			printf(", \"%s\": %s", int_opts_shown[i].name, val);
		} else {
			char *cells[2] = { (char *)int_opts_shown[i].name, val };

			tbl_add(&t, cells, NULL);
		}
	}
	close(rfd);
	if (json) {
		puts("}");
	} else {
		tbl_print(&t);
		tbl_free(&t);
	}
	return 0;
}

/* OPT=VALUE of "kcpctl set --pid P --fd N" */
enum { O_INT, O_BOOL, O_NODELAY, O_ND1, O_WND, O_PRESET };

static const struct {
	const char *name;
	int opt, kind, field;
	long lo, hi;
	const char *hint;
} sock_opts[] = {
	{ "nodelay", KCP_NODELAY, O_NODELAY, 0, 0, 0,
	  "nodelay,interval,resend,nc; each >= -1 (-1 keeps), nc 0 or 1" },
	{ "interval", KCP_NODELAY, O_ND1, 1, 0, INT_MAX,
	  "ms, the kernel clamps it to 10..5000" },
	{ "resend", KCP_NODELAY, O_ND1, 2, 0, INT_MAX, ">= 0" },
	{ "nc", KCP_NODELAY, O_ND1, 3, 0, 1, "0 or 1" },
	{ "preset", KCP_PRESET, O_PRESET, 0, 0, 0,
	  "normal, fast, fast2, fast3" },
	{ "wnd", KCP_WNDSIZE, O_WND, 0, 0, 65535,
	  "snd,rcv segments, 0 (keeps) .. net.kcp.wnd_max of the socket's "
	  "namespace, 32768 by default" },
	{ "mtu", KCP_MTU, O_INT, 0, 50, 1500,
	  "50..1500; shrinking needs empty queues (EBUSY)" },
	{ "stream", KCP_STREAM, O_BOOL, 0, 0, 1,
	  "0 or 1; SOCK_SEQPACKET sockets cannot stream" },
	{ "ack_nodelay", KCP_ACK_NODELAY, O_BOOL, 0, 0, 1, "0 or 1" },
	{ "write_delay", KCP_WRITE_DELAY, O_BOOL, 0, 0, 1, "0 or 1" },
	{ "dead_link", KCP_DEADLINK, O_INT, 0, 1, 1000, "1..1000" },
	{ "min_rto", KCP_MINRTO, O_INT, 0, 1, 60000, "ms, 1..60000" },
	{ "idle_timeout", KCP_IDLE_TIMEOUT, O_INT, 0, 0, 86400000,
	  "ms, 0 (off)..86400000" },
	{ "linger", KCP_LINGER_TIMEOUT, O_INT, 0, 0, 86400000,
	  "ms, 0..86400000" },
	{ "connect_timeout", KCP_CONNECT_TIMEOUT, O_INT, 0, 0, 86400000,
	  "ms connect() waits for the peer, 0 (not at all)..86400000" },
	{ "keepidle", KCP_KEEPIDLE, O_INT, 0, 1, 32767,
	  "s idle before SO_KEEPALIVE probes, 1..32767" },
	{ "keepintvl", KCP_KEEPINTVL, O_INT, 0, 1, 32767,
	  "s between keepalive probes, 1..32767" },
	{ "keepcnt", KCP_KEEPCNT, O_INT, 0, 1, 127,
	  "unanswered keepalive probes before ETIMEDOUT, 1..127" },
};

struct sockset {
	int idx;
	union {
		int val;
		struct kcp_nodelay nd;
		struct kcp_wndsize ws;
	} u;
	socklen_t len;
	const char *arg;
};

static bool parse_sockset(char *arg, struct sockset *s)
{
	char *eq = strchr(arg, '=');
	const char *v;
	size_t i;
	long x;
	int w[4];

	if (!eq)
		return !errorf("set: '%s' is not OPT=VALUE", arg);
	*eq = 0;
	v = eq + 1;
	for (i = 0; i < ARRAY_SIZE(sock_opts) && strcmp(sock_opts[i].name, arg);
	     i++)
		;
	if (i == ARRAY_SIZE(sock_opts)) {
		errorf("set: unknown socket option '%s'", arg);
		fputs("socket options:", stderr);
		for (i = 0; i < ARRAY_SIZE(sock_opts); i++)
			fprintf(stderr, " %s", sock_opts[i].name);
		fputc('\n', stderr);
		return false;
	}
	*eq = '=';
	s->idx = i;
	s->arg = arg;
	switch (sock_opts[i].kind) {
	case O_INT:
	case O_BOOL:
		if (!parse_long(v, sock_opts[i].lo, sock_opts[i].hi, &x))
			goto bad;
		s->u.val = x;
		s->len = sizeof(int);
		return true;
	case O_NODELAY:
		if (!parse_list(v, w, 4, 4, -1) || w[0] < -1 || w[1] < -1 ||
		    w[2] < -1 || w[3] < -1 || w[3] > 1)
			goto bad;
		s->u.nd = (struct kcp_nodelay){ w[0], w[1], w[2], w[3] };
		s->len = sizeof(s->u.nd);
		return true;
	case O_ND1:
		if (!parse_long(v, sock_opts[i].lo, sock_opts[i].hi, &x))
			goto bad;
		s->u.nd = (struct kcp_nodelay){ -1, -1, -1, -1 };
		((__s32 *)&s->u.nd)[sock_opts[i].field] = x;
		s->len = sizeof(s->u.nd);
		return true;
	case O_WND:
		if (!parse_list(v, w, 2, 2, 0) || w[0] < 0 || w[1] < 0 ||
		    w[0] > 65535 || w[1] > 65535)
			goto bad;
		s->u.ws = (struct kcp_wndsize){ w[0], w[1] };
		s->len = sizeof(s->u.ws);
		return true;
	case O_PRESET:
		s->u.val = kcp_preset_by_name(v);
		if (!s->u.val)
			goto bad;
		s->len = sizeof(int);
		return true;
	}
bad:
	return !errorf("set: bad value in '%s' (%s: %s)", arg,
		       sock_opts[i].name, sock_opts[i].hint);
}

static int remote_set(long pid, long fd, char **args, int n)
{
	struct sockset *s = calloc(n ? n : 1, sizeof(*s));
	int rfd, i, ret = 0;

	if (!n)
		return errorf("set: OPT=VALUE expected");
	for (i = 0; i < n; i++)
		if (!parse_sockset(args[i], &s[i]))
			return 1;
	rfd = remote_fd(pid, fd);
	if (rfd < 0)
		return 1;
	for (i = 0; i < n; i++) {
		int k = s[i].idx;

		if (!setsockopt(rfd, SOL_KCP, sock_opts[k].opt, &s[i].u,
				s[i].len))
			continue;
		if (errno == EINVAL)
			ret = errorf("set %s on pid %ld fd %ld: rejected by the "
				     "kernel (%s; %s)", s[i].arg, pid, fd,
				     strerror(errno), sock_opts[k].hint);
		else if (errno == EBUSY)
			ret = errorf("set %s on pid %ld fd %ld: %s (data is in "
				     "flight; a smaller MTU needs empty send "
				     "queues, retry)", s[i].arg, pid, fd,
				     strerror(errno));
		else if (errno == ENOPROTOOPT)
			ret = errorf("set %s on pid %ld fd %ld: the kcp module "
				     "does not know this option", s[i].arg, pid,
				     fd);
		else
			ret = errorf("set %s on pid %ld fd %ld: %s", s[i].arg,
				     pid, fd, strerror(errno));
	}
	close(rfd);
	free(s);
	return ret;
}

/* Common: [--json] [--pid P --fd N] ARGS... */
static int cmd_get_set(int argc, char **argv, bool set)
{
	bool json = false;
	long pid = -1, fd = -1;
	char **rest = calloc(argc + 1, sizeof(char *));
	int i, n = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json") || !strcmp(a, "-j")) {
			if (set)
				return errorf("set: --json is for get");
			json = true;
		} else if (!strcmp(a, "--pid") || !strcmp(a, "--fd")) {
			long *p = a[2] == 'p' ? &pid : &fd;

			if (i + 1 == argc ||
			    !parse_long(argv[i + 1], 0, INT_MAX, p))
				return errorf("%s: %s needs a number", argv[0], a);
			i++;
		} else if (!strcmp(a, "--")) {
			while (++i < argc)
				rest[n++] = argv[i];
		} else if (a[0] == '-' && a[1]) {
			return errorf("%s: unknown option %s", argv[0], a);
		} else {
			rest[n++] = argv[i];
		}
	}
	if ((pid < 0) != (fd < 0))
		return errorf("%s: --pid and --fd go together", argv[0]);
	if (pid >= 0) {
		if (!set && n)
			return errorf("get --pid/--fd takes no names");
		return set ? remote_set(pid, fd, rest, n) :
			     remote_get(pid, fd, json);
	}
	return set ? sysctl_set(rest, n) : sysctl_get(rest, n, json);
}

/* ---- kcpctl key ---- */

static int cmd_key(int argc, char **argv)
{
	const char *crypt = "aes", *pass = NULL;
	struct kcp_crypto kc;
	int i, c;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--crypt") && i + 1 < argc)
			crypt = argv[++i];
		else if (!strncmp(argv[i], "--crypt=", 8))
			crypt = argv[i] + 8;
		else if (!strcmp(argv[i], "--"))
			pass = i + 1 < argc ? argv[++i] : pass;
		else if (argv[i][0] == '-' && argv[i][1])
			return errorf("key: unknown option %s", argv[i]);
		else if (!pass)
			pass = argv[i];
		else
			return errorf("key: one PASSPHRASE only (quote it)");
	}
	c = kcp_cipher_by_name(crypt);
	if (c < 0) {
		errorf("key: unknown cipher '%s'; known:", crypt);
		list_ciphers(stderr);
		return 1;
	}
	if (!pass)
		pass = kcptun_default_key;
	if (kcptun_crypto(c, pass, &kc))
		return errorf("key: PBKDF2 failed");
	for (i = 0; i < (int)kc.key_len; i++)
		printf("%02x", kc.key[i]);
	putchar('\n');
	if (!kc.key_len)
		fprintf(stderr, "kcpctl: cipher %s takes no key\n", crypt);
	return 0;
}

/* ---- kcpctl run ---- */

static const char *const run_env[] = {
	"KCPCTL_FAMILY", "KCPCTL_PORTS", "KCPCTL_PRESET", "KCPCTL_NODELAY",
	"KCPCTL_WND", "KCPCTL_MTU", "KCPCTL_FEC", "KCPCTL_CRYPT", "KCPCTL_KEY",
	"KCPCTL_DUALSTACK", "KCPCTL_PORT_OFFSET", "KCPCTL_VERBOSE",
};

static bool valid_ports(const char *s)
{
	char buf[512], *p, *save = NULL;

	if (!*s || strlen(s) >= sizeof(buf) || s[0] == ',' || strstr(s, ",,"))
		return false;
	strcpy(buf, s);
	for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(p, '-');
		long lo, hi;

		if (dash)
			*dash = 0;
		if (!parse_long(p, 1, 65535, &lo))
			return false;
		hi = lo;
		if (dash && !parse_long(dash + 1, lo, 65535, &hi))
			return false;
	}
	return s[strlen(s) - 1] != ',';
}

static char *find_preload(void)
{
	static char path[PATH_MAX + 64];
	const char *env = getenv("KCPCTL_PRELOAD");
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (env && *env) {
		if (access(env, R_OK))
			return errorf("KCPCTL_PRELOAD=%s: %s", env,
				      strerror(errno)), NULL;
		if (!realpath(env, path))
			return NULL;
		return path;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return errorf("cannot find my own path: %s", strerror(errno)),
		       NULL;
	self[n] = 0;
	slash = strrchr(self, '/');
	*slash = 0;
	snprintf(path, sizeof(path), "%s/libkcppreload.so", self);
	if (!access(path, R_OK))
		return path;
	snprintf(path, sizeof(path), "%s/../lib/kcpctl/libkcppreload.so", self);
	if (!access(path, R_OK))
		return path;
	errorf("libkcppreload.so not found next to %s/kcpctl nor in "
	       "%s/../lib/kcpctl (set KCPCTL_PRELOAD)", self, self);
	return NULL;
}

static int run_usage(void)
{
	return errorf("run [--ports LIST] [--preset NAME] [--nodelay a,b,c,d] "
		      "[--wnd SND,RCV] [--mtu N] [--crypt NAME] [--key PASS] "
		      "[--fec D,P] [--dualstack v4|v6] [--port-offset N] [-v] "
		      "-- PROGRAM [ARGS...]");
}

static int cmd_run(int argc, char **argv)
{
	const char *ports = NULL, *preset = NULL, *nodelay = NULL, *wnd = NULL;
	const char *mtu = NULL, *crypt = NULL, *key = NULL, *fec = NULL;
	const char *dual = NULL, *offset = NULL;
	char famstr[16], keyhex[2 * KCP_KEY_MAX + 1], *lib, *ld;
	bool verbose = false;
	int i, w[4];
	long x, off = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], **dst = NULL;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			verbose = true;
			continue;
		}
		if (!strcmp(a, "--ports"))
			dst = &ports;
		else if (!strcmp(a, "--preset") || !strcmp(a, "--mode"))
			dst = &preset;
		else if (!strcmp(a, "--nodelay"))
			dst = &nodelay;
		else if (!strcmp(a, "--wnd"))
			dst = &wnd;
		else if (!strcmp(a, "--mtu"))
			dst = &mtu;
		else if (!strcmp(a, "--crypt"))
			dst = &crypt;
		else if (!strcmp(a, "--key"))
			dst = &key;
		else if (!strcmp(a, "--fec"))
			dst = &fec;
		else if (!strcmp(a, "--dualstack"))
			dst = &dual;
		else if (!strcmp(a, "--port-offset"))
			dst = &offset;
		if (!dst) {
			errorf("run: unknown option %s", a);
			return run_usage();
		}
		if (i + 1 == argc)
			return errorf("run: %s needs a value", a);
		*dst = argv[++i];
	}
	if (i >= argc) {
		errorf("run: no PROGRAM given");
		return run_usage();
	}
	if (ports && !valid_ports(ports))
		return errorf("run: --ports '%s': expected PORT or LO-HI, comma "
			      "separated, 1..65535", ports);
	if (preset && !kcp_preset_by_name(preset))
		return errorf("run: unknown preset '%s' (normal, fast, fast2, "
			      "fast3)", preset);
	if (nodelay && (!parse_list(nodelay, w, 4, 4, -1) || w[0] < 0 ||
			w[1] < 0 || w[2] < 0 || w[3] < 0 || w[3] > 1))
		return errorf("run: --nodelay '%s': expected nodelay,interval,"
			      "resend,nc (e.g. 1,10,2,1)", nodelay);
	if (wnd && (!parse_list(wnd, w, 2, 2, 0) || w[0] < 0 || w[1] < 0 ||
		    w[0] > 65535 || w[1] > 65535))
		return errorf("run: --wnd '%s': expected SND,RCV segments, "
			      "0..65535", wnd);
	if (wnd && (w[0] > wnd_max_now() || w[1] > wnd_max_now()))
		return errorf("run: --wnd '%s': above net.kcp.wnd_max (%ld); "
			      "raise it first (kcpctl set wnd_max=N)", wnd,
			      wnd_max_now());
	if (mtu && !parse_long(mtu, 50, 1500, &x))
		return errorf("run: --mtu '%s': expected 50..1500", mtu);
	if (fec && (!parse_list(fec, w, 2, 2, 0) || w[0] < 0 || w[1] < 0 ||
		    w[0] + w[1] > 255 || (!w[0] != !w[1])))
		return errorf("run: --fec '%s': expected DATA,PARITY (both 0 "
			      "or both > 0, sum <= 255)", fec);
	if (dual && strcmp(dual, "v4") && strcmp(dual, "v6"))
		return errorf("run: --dualstack is v4 or v6");
	if (offset && !parse_long(offset, 0, 65534, &off))
		return errorf("run: --port-offset '%s': expected 0..65534 (the "
			      "UDP port is the TCP port + N)", offset);
	if (key && !crypt)
		crypt = "aes";		/* kcptun's default cipher */
	keyhex[0] = 0;
	if (crypt) {
		struct kcp_crypto kc;
		int c = kcp_cipher_by_name(crypt), j;

		if (c < 0) {
			errorf("run: unknown cipher '%s'; known:", crypt);
			list_ciphers(stderr);
			return 1;
		}
		if (kcptun_crypto(c, key ? key : kcptun_default_key, &kc))
			return errorf("run: PBKDF2 failed");
		for (j = 0; j < (int)kc.key_len; j++)
			sprintf(keyhex + 2 * j, "%02x", kc.key[j]);
	}
	if (!getenv("KCPCTL_FAMILY") && !module_loaded())
		return errorf("run: the kcp module is not loaded");
	lib = find_preload();
	if (!lib)
		return 1;
	snprintf(famstr, sizeof(famstr), "%d", kcp_family());
	for (size_t j = 0; j < ARRAY_SIZE(run_env); j++)
		unsetenv(run_env[j]);
	setenv("KCPCTL_FAMILY", famstr, 1);
	if (ports)
		setenv("KCPCTL_PORTS", ports, 1);
	if (preset)
		setenv("KCPCTL_PRESET", preset, 1);
	if (nodelay) {
		char buf[64];

		parse_list(nodelay, w, 4, 4, -1);
		snprintf(buf, sizeof(buf), "%d,%d,%d,%d", w[0], w[1], w[2],
			 w[3]);
		setenv("KCPCTL_NODELAY", buf, 1);
	}
	if (wnd)
		setenv("KCPCTL_WND", wnd, 1);
	if (mtu)
		setenv("KCPCTL_MTU", mtu, 1);
	if (fec)
		setenv("KCPCTL_FEC", fec, 1);
	if (crypt) {
		setenv("KCPCTL_CRYPT", crypt, 1);
		setenv("KCPCTL_KEY", keyhex, 1);
	}
	if (dual)
		setenv("KCPCTL_DUALSTACK", dual, 1);
	if (off) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%ld", off);
		setenv("KCPCTL_PORT_OFFSET", buf, 1);
	}
	if (verbose)
		setenv("KCPCTL_VERBOSE", "1", 1);
	ld = getenv("LD_PRELOAD");
	if (ld && *ld && !strstr(ld, lib)) {
		char *both;

		if (asprintf(&both, "%s:%s", lib, ld) < 0)
			return errorf("out of memory");
		setenv("LD_PRELOAD", both, 1);
	} else if (!ld || !*ld) {
		setenv("LD_PRELOAD", lib, 1);
	}
	execvp(argv[i], argv + i);
	errorf("run: cannot run %s: %s", argv[i], strerror(errno));
	return 127;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fputs("usage: kcpctl COMMAND [ARGS]\n"
	      "  show [-4|-6] [-l] [-p] [--json]       AF_KCP sockets\n"
	      "  stats [--json] [NAME...]              counters "
	      "(/proc/net/kcp_snmp)\n"
	      "  get [--json] [NAME...]                namespace defaults "
	      "(/proc/sys/net/kcp)\n"
	      "  set NAME=VALUE... | preset=NAME       change defaults\n"
	      "  get --pid P --fd N [--json]           a live socket's KCP_INFO\n"
	      "  set --pid P --fd N OPT=VALUE...       retune a live socket\n"
	      "  key [--crypt NAME] [PASSPHRASE]       kcptun-derived key, hex\n"
	      "  run [OPTIONS] -- PROGRAM [ARGS...]    a TCP program over "
	      "AF_KCP\n"
	      "  tunnel server|client [KCPTUN FLAGS]  kcptun over AF_KCP\n"
	      "See kcpctl(8).\n", f);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "help") || !strcmp(cmd, "-h") ||
	    !strcmp(cmd, "--help")) {
		usage(cmd ? stdout : stderr);
		return cmd ? 0 : 2;
	}
	argc--;
	argv++;
	if (!strcmp(cmd, "show"))
		return cmd_show(argc, argv);
	if (!strcmp(cmd, "stats"))
		return cmd_stats(argc, argv);
	if (!strcmp(cmd, "get"))
		return cmd_get_set(argc, argv, false);
	if (!strcmp(cmd, "set"))
		return cmd_get_set(argc, argv, true);
	if (!strcmp(cmd, "key"))
		return cmd_key(argc, argv);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc, argv);
	if (!strcmp(cmd, "tunnel"))
		return cmd_tunnel(argc, argv, kcp_family());
	errorf("unknown command '%s'", cmd);
	usage(stderr);
	return 2;
}
