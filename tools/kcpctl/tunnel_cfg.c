// SPDX-License-Identifier: GPL-2.0
/*
 * kcpctl tunnel's flags and JSON config, as kcptun 20210922 reads them
 * (urfave/cli over Go's flag package, then encoding/json over the result).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tunnel.h"

enum { T_STR, T_INT, T_BOOL };
enum { R_BOTH, R_SERVER, R_CLIENT };

struct tun_flag {
	const char *name;
	const char *alias;
	int type;
	int role;
	size_t off;
	const char *usage;
};

#define F(n, a, t, r, field, u) \
	{ n, a, t, r, offsetof(struct tun_cfg, field), u }

static const struct tun_flag flags[] = {
	F("listen", "l", T_STR, R_SERVER, listen, "kcp server listen address"),
	F("target", "t", T_STR, R_SERVER, target,
	  "target server address, or path/to/unix_socket"),
	F("localaddr", "l", T_STR, R_CLIENT, localaddr, "local listen address"),
	F("remoteaddr", "r", T_STR, R_CLIENT, remoteaddr, "kcp server address"),
	F("key", NULL, T_STR, R_BOTH, key,
	  "pre-shared secret between client and server [$KCPTUN_KEY]"),
	F("crypt", NULL, T_STR, R_BOTH, crypt,
	  "aes, aes-128, aes-192, salsa20, blowfish, twofish, cast5, 3des, "
	  "tea, xtea, xor, sm4, none"),
	F("mode", NULL, T_STR, R_BOTH, mode,
	  "profiles: fast3, fast2, fast, normal, manual"),
	F("conn", NULL, T_INT, R_CLIENT, conn,
	  "set num of UDP connections to server"),
	F("autoexpire", NULL, T_INT, R_CLIENT, autoexpire,
	  "set auto expiration time(in seconds) for a single UDP connection, "
	  "0 to disable"),
	F("scavengettl", NULL, T_INT, R_CLIENT, scavengettl,
	  "set how long an expired connection can live (in seconds)"),
	F("mtu", NULL, T_INT, R_BOTH, mtu,
	  "set maximum transmission unit for UDP packets"),
	F("sndwnd", NULL, T_INT, R_BOTH, sndwnd,
	  "set send window size(num of packets)"),
	F("rcvwnd", NULL, T_INT, R_BOTH, rcvwnd,
	  "set receive window size(num of packets)"),
	F("datashard", "ds", T_INT, R_BOTH, datashard,
	  "set reed-solomon erasure coding - datashard"),
	F("parityshard", "ps", T_INT, R_BOTH, parityshard,
	  "set reed-solomon erasure coding - parityshard"),
	F("dscp", NULL, T_INT, R_BOTH, dscp, "set DSCP(6bit)"),
	F("nocomp", NULL, T_BOOL, R_BOTH, nocomp, "disable compression"),
	F("acknodelay", NULL, T_BOOL, R_BOTH, acknodelay,
	  "flush ack immediately when a packet is received"),
	F("nodelay", NULL, T_INT, R_BOTH, nodelay, "manual mode: nodelay"),
	F("interval", NULL, T_INT, R_BOTH, interval, "manual mode: interval"),
	F("resend", NULL, T_INT, R_BOTH, resend, "manual mode: resend"),
	F("nc", NULL, T_INT, R_BOTH, nc, "manual mode: no congestion window"),
	F("sockbuf", NULL, T_INT, R_BOTH, sockbuf,
	  "per-socket buffer in bytes"),
	F("smuxver", NULL, T_INT, R_BOTH, smuxver,
	  "specify smux version, available 1,2"),
	F("smuxbuf", NULL, T_INT, R_BOTH, smuxbuf,
	  "the overall de-mux buffer in bytes"),
	F("streambuf", NULL, T_INT, R_BOTH, streambuf,
	  "per stream receive buffer in bytes, smux v2+"),
	F("keepalive", NULL, T_INT, R_BOTH, keepalive,
	  "seconds between heartbeats"),
	F("snmplog", NULL, T_STR, R_BOTH, snmplog,
	  "collect snmp to file, aware of timeformat in golang, like: "
	  "./snmp-20060102.log"),
	F("snmpperiod", NULL, T_INT, R_BOTH, snmpperiod,
	  "snmp collect period, in seconds"),
	F("pprof", NULL, T_BOOL, R_SERVER, pprof,
	  "refused: Go's profiling server has no equivalent here"),
	F("log", NULL, T_STR, R_BOTH, log,
	  "specify a log file to output, default goes to stderr"),
	F("quiet", NULL, T_BOOL, R_BOTH, quiet,
	  "to suppress the 'stream open/close' messages"),
	F("tcp", NULL, T_BOOL, R_BOTH, tcp,
	  "refused: TCP emulation (tcpraw) is not available over AF_KCP"),
	F("c", NULL, T_STR, R_BOTH, config,
	  "config from json file, which will override the command from shell"),
};

#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

static int role_has(const struct tun_flag *f, int server)
{
	return f->role == R_BOTH || (f->role == R_SERVER) == !!server;
}

static const struct tun_flag *find_flag(const char *name, size_t len,
					int server, int json)
{
	const struct tun_flag *f;
	size_t i;

	for (i = 0; i < NFLAGS; i++) {
		f = &flags[i];
		if (!role_has(f, server))
			continue;
		/* encoding/json matches keys case-insensitively */
		if (json ? strlen(f->name) == len &&
			   !strncasecmp(f->name, name, len) :
			   (strlen(f->name) == len &&
			    !strncmp(f->name, name, len)) ||
			   (f->alias && strlen(f->alias) == len &&
			    !strncmp(f->alias, name, len)))
			return f;
	}
	return NULL;
}

static void set_str(struct tun_cfg *c, const struct tun_flag *f, const char *v)
{
	char *dst = (char *)c + f->off;

	snprintf(dst, TUN_STR, "%s", v);
}

static int *int_of(struct tun_cfg *c, const struct tun_flag *f)
{
	return (int *)((char *)c + f->off);
}

/* Go's strconv.ParseInt(s, 0, 64), kept to int */
static int parse_int(const char *s, int *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (!*s || *end || errno || v < INT_MIN || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

/* Go's strconv.ParseBool */
static int parse_bool(const char *s, int *out)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true",
					 "True" };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false",
					 "False" };
	size_t i;

	for (i = 0; i < 6; i++) {
		if (!strcmp(s, t[i])) {
			*out = 1;
			return 0;
		}
		if (!strcmp(s, f[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static void defaults(struct tun_cfg *c, int server)
{
	const char *key = getenv("KCPTUN_KEY");

	memset(c, 0, sizeof(*c));
	c->server = server;
	snprintf(c->listen, TUN_STR, ":29900");
	snprintf(c->target, TUN_STR, "127.0.0.1:12948");
	snprintf(c->localaddr, TUN_STR, ":12948");
	snprintf(c->remoteaddr, TUN_STR, "vps:29900");
	snprintf(c->key, TUN_STR, "%s", key ? key : "it's a secrect");
	snprintf(c->crypt, TUN_STR, "aes");
	snprintf(c->mode, TUN_STR, "fast");
	c->conn = 1;
	c->autoexpire = 0;
	c->scavengettl = 600;
	c->mtu = 1350;
	c->sndwnd = server ? 1024 : 128;
	c->rcvwnd = server ? 1024 : 512;
	c->datashard = 10;
	c->parityshard = 3;
	c->interval = 50;
	c->sockbuf = 4194304;
	c->smuxver = 1;
	c->smuxbuf = 4194304;
	c->streambuf = 2097152;
	c->keepalive = 10;
	c->snmpperiod = 60;
}

static void usage(FILE *out, int server)
{
	const struct tun_flag *f;
	char names[64];
	size_t i;

	fprintf(out, "usage: kcpctl tunnel %s [options]\n"
		"kcptun's %s (smux and snappy here; KCP, FEC and crypto in "
		"the kernel through AF_KCP)\n\noptions:\n",
		server ? "server" : "client", server ? "server" : "client");
	for (i = 0; i < NFLAGS; i++) {
		f = &flags[i];
		if (!role_has(f, server))
			continue;
		if (f->alias)
			snprintf(names, sizeof(names), "--%s, -%s", f->name,
				 f->alias);
		else
			snprintf(names, sizeof(names), "%s%s",
				 strlen(f->name) > 1 ? "--" : "-", f->name);
		fprintf(out, "  %-22s %s\n", names, f->usage);
	}
	fputs("  --help, -h             show help\n"
	      "  --version, -v          print the version\n", out);
}

int tun_parse(struct tun_cfg *c, int server, int argc, char **argv,
	      FILE *out, char *err, size_t errlen)
{
	const struct tun_flag *f;
	const char *a, *name, *val;
	size_t nlen;
	FILE *jf;
	char *json;
	long sz;
	int i, v;

	defaults(c, server);
	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (!strcmp(a, "--"))
			break;
		if (a[0] != '-' || !a[1]) {
			snprintf(err, errlen, "unexpected argument '%s'", a);
			return -1;
		}
		name = a + 1 + (a[1] == '-');
		val = strchr(name, '=');
		nlen = val ? (size_t)(val - name) : strlen(name);
		if (val)
			val++;
		if ((nlen == 1 && !strncmp(name, "h", 1)) ||
		    (nlen == 4 && !strncmp(name, "help", 4))) {
			usage(out, server);
			return 1;
		}
		if ((nlen == 1 && !strncmp(name, "v", 1)) ||
		    (nlen == 7 && !strncmp(name, "version", 7))) {
			fprintf(out, "kcpctl tunnel version 1 "
				"(kcptun 20210922 compatible)\n");
			return 1;
		}
		f = find_flag(name, nlen, server, 0);
		if (!f) {
			snprintf(err, errlen,
				 "flag provided but not defined: -%.*s",
				 (int)nlen, name);
			return -1;
		}
		if (f->type == T_BOOL) {
			v = 1;
			if (val && parse_bool(val, &v)) {
				snprintf(err, errlen,
					 "invalid boolean value \"%s\" for "
					 "flag -%s", val, f->name);
				return -1;
			}
			*int_of(c, f) = v;
			continue;
		}
		if (!val) {
			if (i + 1 >= argc) {
				snprintf(err, errlen,
					 "flag needs an argument: -%.*s",
					 (int)nlen, name);
				return -1;
			}
			val = argv[++i];
		}
		if (f->type == T_STR) {
			set_str(c, f, val);
		} else if (parse_int(val, int_of(c, f))) {
			snprintf(err, errlen, "invalid value \"%s\" for flag "
				 "-%s: parse error", val, f->name);
			return -1;
		}
	}
	if (i < argc - 1 || (i == argc - 1 && strcmp(argv[i], "--"))) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[i + 1]);
		return -1;
	}
	if (!c->config[0])
		return 0;

	jf = fopen(c->config, "r");
	if (!jf) {
		snprintf(err, errlen, "open %s: %s", c->config,
			 strerror(errno));
		return -1;
	}
	if (fseek(jf, 0, SEEK_END) || (sz = ftell(jf)) < 0 ||
	    sz > 1 << 20 || fseek(jf, 0, SEEK_SET)) {
		fclose(jf);
		snprintf(err, errlen, "%s: cannot read", c->config);
		return -1;
	}
	json = calloc(1, sz + 1);
	if (!json || fread(json, 1, sz, jf) != (size_t)sz) {
		free(json);
		fclose(jf);
		snprintf(err, errlen, "%s: cannot read", c->config);
		return -1;
	}
	fclose(jf);
	v = tun_parse_json(c, json, err, errlen);
	free(json);
	return v;
}

/* ---- a JSON reader for one flat object, as encoding/json fills Config */

struct js {
	const char *p;
	char *err;
	size_t errlen;
};

static void js_ws(struct js *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' ||
	       *j->p == '\r')
		j->p++;
}

static int js_fail(struct js *j, const char *what)
{
	snprintf(j->err, j->errlen, "json: %s near '%.20s'", what, j->p);
	return -1;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* A string into @out (UTF-8, at most @cap - 1 bytes), or skipped if NULL */
static int js_string(struct js *j, char *out, size_t cap)
{
	size_t n = 0;
	unsigned int u;
	int k, h;
	char tmp[4];
	size_t tl;

	if (*j->p != '"')
		return js_fail(j, "string expected");
	j->p++;
	for (;;) {
		unsigned char ch = *j->p++;

		tl = 1;
		if (!ch || ch < 0x20)
			return js_fail(j, "bad string");
		if (ch == '"')
			break;
		tmp[0] = ch;
		if (ch == '\\') {
			ch = *j->p++;
			switch (ch) {
			case '"': case '\\': case '/':
				tmp[0] = ch; break;
			case 'b': tmp[0] = '\b'; break;
			case 'f': tmp[0] = '\f'; break;
			case 'n': tmp[0] = '\n'; break;
			case 'r': tmp[0] = '\r'; break;
			case 't': tmp[0] = '\t'; break;
			case 'u':
				u = 0;
				for (k = 0; k < 4; k++) {
					h = hexval(*j->p++);
					if (h < 0)
						return js_fail(j, "bad \\u");
					u = u << 4 | h;
				}
				if (u < 0x80) {
					tmp[0] = u;
				} else if (u < 0x800) {
					tmp[0] = 0xc0 | u >> 6;
					tmp[1] = 0x80 | (u & 0x3f);
					tl = 2;
				} else {
					tmp[0] = 0xe0 | u >> 12;
					tmp[1] = 0x80 | ((u >> 6) & 0x3f);
					tmp[2] = 0x80 | (u & 0x3f);
					tl = 3;
				}
				break;
			default:
				return js_fail(j, "bad escape");
			}
		}
		if (out) {
			if (n + tl >= cap)
				return js_fail(j, "string too long");
			memcpy(out + n, tmp, tl);
		}
		n += tl;
	}
	if (out)
		out[n] = 0;
	return 0;
}

static int js_skip(struct js *j, int depth);

static int js_number(struct js *j, long long *v, int *is_int)
{
	const char *s = j->p;
	char *end;

	if (*s == '-')
		s++;
	if (!isdigit((unsigned char)*s))
		return js_fail(j, "value expected");
	errno = 0;
	*v = strtoll(j->p, &end, 10);
	*is_int = !errno && *end != '.' && *end != 'e' && *end != 'E';
	strtod(j->p, &end);
	j->p = end;
	return 0;
}

static int js_skip(struct js *j, int depth)
{
	long long v;
	int is_int;

	if (depth > 32)
		return js_fail(j, "too deep");
	js_ws(j);
	if (*j->p == '"')
		return js_string(j, NULL, 0);
	if (*j->p == '{' || *j->p == '[') {
		char close = *j->p == '{' ? '}' : ']';

		j->p++;
		js_ws(j);
		if (*j->p == close) {
			j->p++;
			return 0;
		}
		for (;;) {
			if (close == '}') {
				js_ws(j);
				if (js_string(j, NULL, 0))
					return -1;
				js_ws(j);
				if (*j->p++ != ':')
					return js_fail(j, "':' expected");
			}
			if (js_skip(j, depth + 1))
				return -1;
			js_ws(j);
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p++ != close)
				return js_fail(j, "',' or end expected");
			return 0;
		}
	}
	if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "null", 4)) {
		j->p += 4;
		return 0;
	}
	if (!strncmp(j->p, "false", 5)) {
		j->p += 5;
		return 0;
	}
	return js_number(j, &v, &is_int);
}

int tun_parse_json(struct tun_cfg *c, const char *json, char *err,
		   size_t errlen)
{
	struct js j = { json, err, errlen };
	const struct tun_flag *f;
	char key[64];
	long long v;
	int is_int;

	js_ws(&j);
	if (*j.p++ != '{')
		return js_fail(&j, "object expected");
	js_ws(&j);
	if (*j.p == '}') {
		j.p++;
		goto end;
	}
	for (;;) {
		js_ws(&j);
		if (js_string(&j, key, sizeof(key)))
			return -1;
		js_ws(&j);
		if (*j.p++ != ':')
			return js_fail(&j, "':' expected");
		js_ws(&j);
		f = find_flag(key, strlen(key), c->server, 1);
		if (f && !strcmp(f->name, "c"))
			f = NULL;
		if (!f || !strncmp(j.p, "null", 4)) {
			/* encoding/json ignores unknown keys and nulls */
			if (js_skip(&j, 0))
				return -1;
		} else if (f->type == T_STR) {
			if (*j.p != '"') {
				snprintf(err, errlen, "json: cannot unmarshal "
					 "into %s (a string)", f->name);
				return -1;
			}
			if (js_string(&j, (char *)c + f->off, TUN_STR))
				return -1;
		} else if (f->type == T_BOOL) {
			if (!strncmp(j.p, "true", 4)) {
				*int_of(c, f) = 1;
				j.p += 4;
			} else if (!strncmp(j.p, "false", 5)) {
				*int_of(c, f) = 0;
				j.p += 5;
			} else {
				snprintf(err, errlen, "json: cannot unmarshal "
					 "into %s (a bool)", f->name);
				return -1;
			}
		} else {
			if (js_number(&j, &v, &is_int))
				return -1;
			if (!is_int || v < INT_MIN || v > INT_MAX) {
				snprintf(err, errlen, "json: cannot unmarshal "
					 "number into %s (an int)", f->name);
				return -1;
			}
			*int_of(c, f) = (int)v;
		}
		js_ws(&j);
		if (*j.p == ',') {
			j.p++;
			continue;
		}
		if (*j.p++ != '}')
			return js_fail(&j, "',' or '}' expected");
		break;
	}
end:
	js_ws(&j);
	if (*j.p)
		return js_fail(&j, "trailing data");
	return 0;
}

int tun_check(struct tun_cfg *c, char *err, size_t errlen)
{
	if (c->tcp) {
		snprintf(err, errlen, "--tcp is not supported: AF_KCP carries "
			 "KCP over UDP only (no tcpraw TCP emulation)");
		return -1;
	}
	if (c->pprof) {
		snprintf(err, errlen, "--pprof is not supported: it starts "
			 "Go's profiling server, which this tunnel has not; "
			 "use perf or kcpctl show/stats");
		return -1;
	}
	if (c->smuxver != 1 && c->smuxver != 2) {
		snprintf(err, errlen, "unsupported smux version: %d",
			 c->smuxver);
		return -1;
	}
	if (c->keepalive <= 0 || c->keepalive > SMUX_KEEPALIVE_TIMEOUT) {
		snprintf(err, errlen, "--keepalive %d: must be 1..%d (smux's "
			 "keep-alive timeout is %d s)", c->keepalive,
			 SMUX_KEEPALIVE_TIMEOUT, SMUX_KEEPALIVE_TIMEOUT);
		return -1;
	}
	if (c->smuxbuf <= 0 || c->streambuf <= 0 ||
	    c->streambuf > c->smuxbuf) {
		snprintf(err, errlen, "--smuxbuf %d, --streambuf %d: both "
			 "must be positive and streambuf at most smuxbuf",
			 c->smuxbuf, c->streambuf);
		return -1;
	}
	if (c->mtu < 50 || c->mtu > 1500) {
		snprintf(err, errlen, "--mtu %d: must be 50..1500", c->mtu);
		return -1;
	}
	if (c->sndwnd <= 0 || c->rcvwnd <= 0) {
		snprintf(err, errlen, "--sndwnd/--rcvwnd must be positive");
		return -1;
	}
	if (c->datashard < 0 || c->parityshard < 0 ||
	    c->datashard + c->parityshard > 255) {
		snprintf(err, errlen, "--datashard %d --parityshard %d: out "
			 "of range", c->datashard, c->parityshard);
		return -1;
	}
	if (c->dscp < 0 || c->dscp > 63) {
		snprintf(err, errlen, "--dscp %d: must be 0..63", c->dscp);
		return -1;
	}
	if (!c->server && (c->conn < 1 || c->conn > 65535)) {
		snprintf(err, errlen, "--conn %d: must be 1..65535", c->conn);
		return -1;
	}
	if (c->snmpperiod < 0) {
		snprintf(err, errlen, "--snmpperiod must not be negative");
		return -1;
	}
	return 0;
}
