// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of kcpctl tunnel's pure parts: snappy framing against
 * streams the real golang/snappy wrote (gen/snappyvectors), round trips
 * fed in odd pieces, corrupt input; smux frame lengths; kcptun's flags,
 * defaults and JSON config.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snappyframe.h"
#include "smux.h"
#include "../lib/tap.h"
#include "tunnel.h"

static unsigned char *unhex(const char *s, size_t len, size_t *out)
{
	unsigned char *b = malloc(len / 2 + 1);
	size_t i;
	unsigned int v;

	for (i = 0; i + 1 < len; i += 2) {
		sscanf(s + i, "%2x", &v);
		b[i / 2] = v;
	}
	*out = len / 2;
	return b;
}

/* Decodes @in fed @step bytes at a time; the output in *@out. 0 or -1 */
static int decode_all(const unsigned char *in, size_t len, size_t step,
		      unsigned char **out, size_t *out_len)
{
	struct snappy_frame_dec d = { 0 };
	static unsigned char blk[SNAPPY_FRAME_MAX_BLOCK];
	unsigned char *acc = malloc(len + 1), *o = NULL;
	size_t have = 0, fed = 0, olen = 0, dl;
	const void *data;
	long used;

	for (;;) {
		size_t n = len - fed < step ? len - fed : step;

		memcpy(acc + have, in + fed, n);
		have += n;
		fed += n;
		for (;;) {
			used = snappy_frame_decode(&d, acc, have, blk, &data,
						   &dl);
			if (used < 0) {
				free(acc);
				free(o);
				return -1;
			}
			if (!used)
				break;
			o = realloc(o, olen + dl + 1);
			memcpy(o + olen, data, dl);
			olen += dl;
			memmove(acc, acc + used, have - used);
			have -= used;
		}
		if (fed == len)
			break;
	}
	free(acc);
	*out = o;
	*out_len = olen;
	return have ? -1 : 0;
}

static void test_crc(void)
{
	/* CRC-32C check value; the framing format's mask of 0 */
	kt_result(crc32c(0, "123456789", 9) == 0xe3069283,
		   "crc32c(\"123456789\") = e3069283");
	kt_result(snappy_frame_crc("", 0) == 0xa282ead8,
		   "masked CRC of nothing = a282ead8");
}

static void test_go_vectors(void)
{
	FILE *f = fopen(SNAPPY_VECTORS, "r");
	char *line = NULL, *sp, *c, *p;
	size_t cap = 0, len, ilen, slen, olen, n, vec = 0, ok_dec = 0;
	unsigned char *in, *stream, *out, *piece, *mine;
	int started;
	ssize_t r;

	if (!f) {
		kt_result(0, "golang/snappy vectors: %s", SNAPPY_VECTORS);
		return;
	}
	while ((r = getline(&line, &cap, f)) > 0) {
		if (line[0] == '#') {
			kt_skip(line + 7, "golang/snappy vectors");
			fclose(f);
			free(line);
			return;
		}
		if (line[0] != 'V')
			continue;
		line[r - 1] = 0;
		sp = strchr(line + 2, ' ');
		*sp = 0;
		/* the input, concatenated; our encoding, write by write */
		in = malloc(strlen(line));
		ilen = 0;
		mine = malloc(1);
		olen = 0;
		started = 0;
		for (p = line + 2; p; p = c ? c + 1 : NULL) {
			c = strchr(p, ',');
			len = c ? (size_t)(c - p) : strlen(p);
			piece = unhex(p, len, &n);
			memcpy(in + ilen, piece, n);
			ilen += n;
			mine = realloc(mine, olen + snappy_frame_bound(n));
			olen += snappy_frame_encode(&started, piece, n,
						    mine + olen);
			free(piece);
		}
		stream = unhex(sp + 1, strlen(sp + 1), &slen);
		vec++;
		if (!decode_all(stream, slen, 7, &out, &n) && n == ilen &&
		    !memcmp(out, in, n))
			ok_dec++;
		else
			kt_result(0, "vector %zu: golang/snappy's stream "
				   "decodes to its input", vec);
		free(out);
		/* byte-identical to golang/snappy's Writer, write by write */
		kt_result(olen == slen && !memcmp(mine, stream, slen),
			   "vector %zu: encoding identical to golang/snappy "
			   "(%zu bytes in %zu)", vec, ilen, slen);
		free(in);
		free(mine);
		free(stream);
	}
	free(line);
	fclose(f);
	kt_result(vec && ok_dec == vec,
		   "%zu golang/snappy streams decode, fed 7 bytes at a time",
		   vec);
}

static void test_roundtrip_and_corrupt(void)
{
	size_t len = 300000, i, n, el, steps[] = { 1, 13, 4096, 1 << 20 };
	unsigned char *in = malloc(len), *enc, *out;
	unsigned int x = 1;
	int started = 0, ok = 1;

	for (i = 0; i < len; i++) {
		x = x * 1103515245 + 12345;
		in[i] = (i / 4096) & 1 ? "tunnel"[i % 6] : x >> 16;
	}
	enc = malloc(snappy_frame_bound(len));
	el = snappy_frame_encode(&started, in, len, enc);
	for (i = 0; i < 4; i++) {
		if (decode_all(enc, el, steps[i], &out, &n) || n != len ||
		    memcmp(out, in, len))
			ok = 0;
		free(out);
	}
	kt_result(ok, "round trip of %zu bytes (%zu framed), fed 1, 13, "
		   "4096 and all bytes at a time", len, el);

	enc[el / 2] ^= 0x40;
	kt_result(decode_all(enc, el, 4096, &out, &n) < 0,
		   "a flipped bit is refused (CRC or snappy)");
	enc[el / 2] ^= 0x40;
	kt_result(decode_all(enc + SNAPPY_FRAME_MAGIC_LEN,
			      el - SNAPPY_FRAME_MAGIC_LEN, 4096, &out,
			      &n) < 0,
		   "a stream without the stream identifier is refused");
	{
		unsigned char s[] = { 0xff, 6, 0, 0, 's', 'N', 'a', 'P', 'p',
				      'Y', 0xfe, 2, 0, 0, 9, 9, 0x80, 0, 0, 0 };
		unsigned char bad[] = { 0xff, 6, 0, 0, 's', 'N', 'a', 'P',
					'p', 'Y', 0x02, 0, 0, 0 };

		kt_result(!decode_all(s, sizeof(s), 3, &out, &n) && !n,
			   "padding and skippable chunks are skipped");
		free(out);
		kt_result(decode_all(bad, sizeof(bad), 3, &out, &n) < 0,
			   "a reserved unskippable chunk is refused");
	}
	free(enc);
	free(in);
}

static void test_smux(void)
{
	unsigned char f[SMUX_HDR + 8];
	struct smux_hdr h;

	smux_put_hdr(f, 2, SMUX_PSH, 0x1234, 0x89abcdef);
	smux_get_hdr(f, &h);
	kt_result(f[0] == 2 && f[1] == 2 && f[2] == 0x34 && f[3] == 0x12 &&
		   f[4] == 0xef && f[7] == 0x89 && h.len == 0x1234 &&
		   h.sid == 0x89abcdef,
		   "smux header: version, cmd, little-endian length and sid");
	kt_result(smux_frame_len(f, SMUX_HDR + 0x1233, 2) == 0 &&
		   smux_frame_len(f, SMUX_HDR + 0x1234, 2) ==
		   SMUX_HDR + 0x1234 && smux_frame_len(f, 7, 2) == 0,
		   "PSH: header plus length, or wait for more");
	kt_result(smux_frame_len(f, 100000, 1) == -1,
		   "another version is a protocol error");
	smux_put_hdr(f, 1, SMUX_NOP, 500, 0);
	kt_result(smux_frame_len(f, SMUX_HDR, 1) == SMUX_HDR,
		   "NOP: its length field is not followed by data");
	smux_put_hdr(f, 2, SMUX_UPD, 0, 3);
	kt_result(smux_frame_len(f, SMUX_HDR + 7, 2) == 0 &&
		   smux_frame_len(f, SMUX_HDR + 8, 2) == SMUX_HDR + 8,
		   "UPD: 8 bytes of consumed and window");
	smux_put_hdr(f, 1, 5, 0, 3);
	kt_result(smux_frame_len(f, SMUX_HDR, 1) == -1,
		   "an unknown command is a protocol error");
}

static int parse(struct tun_cfg *c, int server, const char *args, char *err)
{
	char buf[512], *argv[32], *t;
	int argc = 0;
	FILE *null = fopen("/dev/null", "w");
	int r;

	snprintf(buf, sizeof(buf), "%s", args);
	for (t = strtok(buf, " "); t && argc < 32; t = strtok(NULL, " "))
		argv[argc++] = t;
	r = tun_parse(c, server, argc, argv, null, err, 256);
	if (!r)
		r = tun_check(c, err, 256);
	fclose(null);
	return r;
}

static void test_flags(void)
{
	struct tun_cfg c;
	char err[256], path[64], arg[128];
	FILE *f;

	unsetenv("KCPTUN_KEY");
	kt_result(!parse(&c, 1, "", err) && !strcmp(c.listen, ":29900") &&
		   !strcmp(c.target, "127.0.0.1:12948") &&
		   !strcmp(c.key, "it's a secrect") &&
		   !strcmp(c.crypt, "aes") &&
		   !strcmp(c.mode, "fast") && c.mtu == 1350 &&
		   c.sndwnd == 1024 && c.rcvwnd == 1024 && c.datashard == 10 &&
		   c.parityshard == 3 && !c.nocomp && c.sockbuf == 4194304 &&
		   c.smuxver == 1 && c.smuxbuf == 4194304 &&
		   c.streambuf == 2097152 && c.keepalive == 10 &&
		   c.snmpperiod == 60 && c.interval == 50,
		   "server: kcptun's defaults");
	kt_result(!parse(&c, 0, "", err) && !strcmp(c.localaddr, ":12948") &&
		   !strcmp(c.remoteaddr, "vps:29900") && c.conn == 1 &&
		   c.autoexpire == 0 && c.scavengettl == 600 &&
		   c.sndwnd == 128 && c.rcvwnd == 512,
		   "client: kcptun's defaults");
	kt_result(!parse(&c, 0, "-l :1 -r=h:2 --ds 0 -ps=0 --nocomp "
			  "--acknodelay=false --conn 0x4 --smuxver=2", err) &&
		   !strcmp(c.localaddr, ":1") && !strcmp(c.remoteaddr, "h:2") &&
		   !c.datashard && !c.parityshard && c.nocomp &&
		   !c.acknodelay && c.conn == 4 && c.smuxver == 2,
		   "Go flag syntax: -x, --x, =value, aliases, bools, 0x");
	setenv("KCPTUN_KEY", "from env", 1);
	kt_result(!parse(&c, 1, "", err) && !strcmp(c.key, "from env") &&
		   !parse(&c, 1, "--key flag", err) && !strcmp(c.key, "flag"),
		   "KCPTUN_KEY is the default, --key overrides it");
	unsetenv("KCPTUN_KEY");
	kt_result(parse(&c, 1, "--bogus", err) < 0 &&
		   strstr(err, "not defined: -bogus") &&
		   parse(&c, 0, "-t x:1", err) < 0 &&
		   parse(&c, 1, "--mtu", err) < 0 &&
		   parse(&c, 1, "--mtu x", err) < 0 &&
		   parse(&c, 1, "stray", err) < 0,
		   "unknown, other role's, valueless, bad and stray arguments");
	kt_result(parse(&c, 1, "--tcp", err) < 0 && strstr(err, "--tcp") &&
		   parse(&c, 1, "--pprof", err) < 0 && strstr(err, "--pprof") &&
		   !parse(&c, 1, "--tcp=false", err),
		   "--tcp and --pprof refused (when set)");
	kt_result(parse(&c, 1, "--smuxver 3", err) < 0 &&
		   parse(&c, 1, "--keepalive 31", err) < 0 &&
		   parse(&c, 1, "--streambuf 9 --smuxbuf 8", err) < 0 &&
		   parse(&c, 1, "--mtu 1501", err) < 0,
		   "smux's config checks");

	snprintf(path, sizeof(path), "/tmp/test_tunnel.%d.json", (int)getpid());
	snprintf(arg, sizeof(arg), "-c %s", path);
	f = fopen(path, "w");
	fputs("{\"Listen\": \":7\", \"crypt\": \"salsa20\", \"SNDWND\": 64,\n"
	      " \"nocomp\": true, \"unknown\": [1, {\"a\": null}], "
	      "\"key\": \"q\\\"\\u00e9\", \"log\": null}", f);
	fclose(f);
	snprintf(err, sizeof(err), "--sndwnd 5 --mtu 1000 %s", arg);
	kt_result(!parse(&c, 1, err, err) &&
		   !strcmp(c.listen, ":7") && !strcmp(c.crypt, "salsa20") &&
		   c.sndwnd == 64 && c.mtu == 1000 && c.nocomp &&
		   !strcmp(c.key, "q\"\xc3\xa9"),
		   "-c JSON: overrides flags, keys in any case, unknown "
		   "keys and nulls ignored, escapes");
	f = fopen(path, "w");
	fputs("{\"mtu\": \"1000\"}", f);
	fclose(f);
	kt_result(parse(&c, 1, arg, err) < 0,
		   "-c JSON: a string for a number is an error");
	f = fopen(path, "w");
	fputs("{\"mtu\": 1000,}", f);
	fclose(f);
	kt_result(parse(&c, 1, arg, err) < 0,
		   "-c JSON: malformed is an error");
	remove(path);
}

int main(void)
{
	test_crc();
	test_go_vectors();
	test_roundtrip_and_corrupt();
	test_smux();
	test_flags();
	return kt_done();
}
