// SPDX-License-Identifier: GPL-2.0
/* options: SOL_KCP options set, read back and refused (EINVAL, ENOPROTOOPT, EISCONN). */
#include "options.h"

/* ---- set / get / invalid ---- */

struct int_case {
	int opt;
	const char *name;
	int def;		/* default on a new SOCK_STREAM socket */
	int good[4], ngood;
	int bad[4], nbad;
};

void test_int_options(void)
{
	static const struct int_case cases[] = {
		{ KCP_MTU, "KCP_MTU", 1400, { 50, 1500, 576 }, 3,
		  { 49, 1501, -1, 0 }, 4 },
		{ KCP_STREAM, "KCP_STREAM", 1, { 0, 1 }, 2, { 2, -1 }, 2 },
		{ KCP_DEADLINK, "KCP_DEADLINK", 20, { 1, 1000, 7 }, 3,
		  { 0, 1001, -1 }, 3 },
		{ KCP_MINRTO, "KCP_MINRTO", 100, { 1, 60000, 250 }, 3,
		  { 0, 60001, -5 }, 3 },
		{ KCP_IDLE_TIMEOUT, "KCP_IDLE_TIMEOUT", 0,
		  { 86400000, 1500, 0 }, 3, { -1, 86400001, INT32_MIN }, 3 },
		{ KCP_LINGER_TIMEOUT, "KCP_LINGER_TIMEOUT", 30000,
		  { 0, 86400000, 700 }, 3, { -1, 86400001 }, 2 },
		{ KCP_ACK_NODELAY, "KCP_ACK_NODELAY", 0, { 1, 0 }, 2, { 0 }, 0 },
		{ KCP_WRITE_DELAY, "KCP_WRITE_DELAY", 0, { 1, 0 }, 2, { 0 }, 0 },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct int_case *t = &cases[c];
		int fd = kt_socket(SOCK_STREAM), v = -12345, bad = 0;
		char why[256] = "";

		if (unimplemented(fd, t->opt, t->name)) {
			close(fd);
			continue;
		}
		getint(fd, t->opt, &v);
		kt_result(v == t->def, "%s default %d (got %d)", t->name,
			  t->def, v);
		for (int i = 0; i < t->ngood; i++) {
			v = -12345;
			if (kt_setint(fd, t->opt, t->good[i]) ||
			    getint(fd, t->opt, &v) || v != t->good[i]) {
				snprintf(why, sizeof(why), " (%d: %s, read %d)",
					 t->good[i], strerror(errno), v);
				bad++;
			}
		}
		kt_result(!bad, "%s set/get round trip of %d values%s",
			  t->name, t->ngood, why);
		if (t->nbad) {
			int before;

			getint(fd, t->opt, &before);
			bad = 0;
			for (int i = 0; i < t->nbad; i++) {
				int r = kt_setint(fd, t->opt, t->bad[i]);

				if (!fails(r, EINVAL)) {
					snprintf(why, sizeof(why), " (%d: %s)",
						 t->bad[i], r ? ename(errno) : "accepted");
					bad++;
				}
			}
			getint(fd, t->opt, &v);
			kt_result(!bad && v == before,
				  "%s out-of-range values -> EINVAL, value kept%s",
				  t->name, bad ? why : "");
		}
		close(fd);
	}

	/* booleans normalise, as SO_KEEPALIVE does */
	{
		int fd = kt_socket(SOCK_STREAM), v = -1;

		kt_setint(fd, KCP_ACK_NODELAY, 7);
		getint(fd, KCP_ACK_NODELAY, &v);
		kt_result(v == 1, "KCP_ACK_NODELAY 7 reads back as 1 (%d)", v);
		close(fd);
	}
	/* message boundaries are SOCK_SEQPACKET's: no stream mode there */
	{
		int fd = kt_socket(SOCK_SEQPACKET), v = -1;

		getint(fd, KCP_STREAM, &v);
		kt_result(v == 0, "SOCK_SEQPACKET: KCP_STREAM default 0 (%d)", v);
		kt_result(fails(kt_setint(fd, KCP_STREAM, 1), EINVAL),
			  "SOCK_SEQPACKET: KCP_STREAM 1 -> EINVAL");
		close(fd);
	}
	/* KCP_PRESET is write-only */
	{
		int fd = kt_socket(SOCK_STREAM), v, bad = 0;

		for (v = KCP_PRESET_NORMAL; v <= KCP_PRESET_FAST3; v++)
			bad += kt_setint(fd, KCP_PRESET, v) != 0;
		kt_result(!bad, "KCP_PRESET 1..4 accepted");
		kt_result(fails(kt_setint(fd, KCP_PRESET, 0), EINVAL) &&
			  fails(kt_setint(fd, KCP_PRESET, 5), EINVAL) &&
			  fails(kt_setint(fd, KCP_PRESET, -1), EINVAL),
			  "KCP_PRESET 0, 5, -1 -> EINVAL");
		kt_result(fails(getint(fd, KCP_PRESET, &v), ENOPROTOOPT),
			  "getsockopt(KCP_PRESET) -> ENOPROTOOPT (write-only)");
		close(fd);
	}
}

void test_generic_errors(void)
{
	int fd = kt_socket(SOCK_STREAM), v = 1;
	socklen_t len = sizeof(v);
	short s = 1;
	struct kcp_info i;

	kt_result(fails(kt_setint(fd, 999, 1), ENOPROTOOPT),
		  "setsockopt(SOL_KCP, 999) -> ENOPROTOOPT");
	kt_result(fails(getsockopt(fd, SOL_KCP, 999, &v, &len), ENOPROTOOPT),
		  "getsockopt(SOL_KCP, 999) -> ENOPROTOOPT");
	kt_result(fails(kt_setopt(fd, KCP_MTU, &s, sizeof(s)), EINVAL),
		  "int option with optlen 2 -> EINVAL");
	len = 2;
	kt_result(fails(getsockopt(fd, SOL_KCP, KCP_MTU, &v, &len), EINVAL),
		  "getsockopt of an int option into 2 bytes -> EINVAL");
	kt_result(fails(kt_setopt(fd, KCP_INFO, &i, sizeof(i)), ENOPROTOOPT),
		  "setsockopt(KCP_INFO) -> ENOPROTOOPT (read-only)");
	len = (socklen_t)-1;
	kt_result(fails(getsockopt(fd, SOL_KCP, KCP_MTU, &v, &len), EINVAL),
		  "getsockopt with negative optlen -> EINVAL");
	close(fd);
}

bool nd_is(int fd, int a, int b, int c, int d, char *why, size_t n)
{
	struct kcp_nodelay nd = { -9, -9, -9, -9 };
	socklen_t len = sizeof(nd);

	getsockopt(fd, SOL_KCP, KCP_NODELAY, &nd, &len);
	snprintf(why, n, "{%d,%d,%d,%d}", nd.nodelay, nd.interval, nd.resend,
		 nd.nc);
	return nd.nodelay == a && nd.interval == b && nd.resend == c &&
	       nd.nc == d && len == sizeof(nd);
}

void test_nodelay_opt(void)
{
	int fd = kt_socket(SOCK_STREAM), v;
	char w[64];
	struct kcp_nodelay bad[] = {
		{ -2, 10, 0, 0 }, { 0, -2, 0, 0 }, { 0, 10, -2, 0 },
		{ 0, 10, 0, 2 }, { 0, 10, 0, -2 },
	};
	int nbad = 0;

	if (unimplemented(fd, KCP_NODELAY, "KCP_NODELAY")) {
		close(fd);
		return;
	}
	kt_result(nd_is(fd, 0, 100, 0, 0, w, sizeof(w)),
		  "KCP_NODELAY default {0,100,0,0} (kcp-go) %s", w);
	kt_nodelay(fd, 1, 20, 2, 1);
	kt_result(nd_is(fd, 1, 20, 2, 1, w, sizeof(w)),
		  "KCP_NODELAY {1,20,2,1} round trip %s", w);
	kt_nodelay(fd, -1, -1, -1, -1);
	kt_result(nd_is(fd, 1, 20, 2, 1, w, sizeof(w)),
		  "KCP_NODELAY -1 fields keep the values %s", w);
	kt_nodelay(fd, -1, 5, -1, -1);
	kt_result(nd_is(fd, 1, 10, 2, 1, w, sizeof(w)),
		  "KCP_NODELAY interval 5 clamped to 10 %s", w);
	kt_nodelay(fd, -1, 99999, -1, -1);
	kt_result(nd_is(fd, 1, 5000, 2, 1, w, sizeof(w)),
		  "KCP_NODELAY interval 99999 clamped to 5000 %s", w);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		nbad += !fails(kt_setopt(fd, KCP_NODELAY, &bad[i],
					 sizeof(bad[i])), EINVAL);
	kt_result(!nbad && nd_is(fd, 1, 5000, 2, 1, w, sizeof(w)),
		  "KCP_NODELAY with a field < -1 or nc > 1 -> EINVAL (%d accepted)",
		  nbad);
	kt_result(fails(kt_setopt(fd, KCP_NODELAY, &bad[0], 8), EINVAL),
		  "KCP_NODELAY with optlen 8 -> EINVAL");
	/* nodelay resets minrto, as kcp-go's NoDelay does */
	kt_setint(fd, KCP_MINRTO, 400);
	kt_nodelay(fd, -1, -1, -1, -1);
	getint(fd, KCP_MINRTO, &v);
	kt_result(v == 400, "KCP_NODELAY nodelay -1 keeps KCP_MINRTO (%d)", v);
	kt_nodelay(fd, 1, -1, -1, -1);
	getint(fd, KCP_MINRTO, &v);
	kt_result(v == 30, "KCP_NODELAY nodelay 1 resets KCP_MINRTO to 30 (%d)", v);
	kt_nodelay(fd, 0, -1, -1, -1);
	getint(fd, KCP_MINRTO, &v);
	kt_result(v == 100, "KCP_NODELAY nodelay 0 resets KCP_MINRTO to 100 (%d)", v);
	close(fd);
}

static bool wnd_is(int fd, unsigned int s, unsigned int r, char *why, size_t n)
{
	struct kcp_wndsize w = { 0, 0 };
	socklen_t len = sizeof(w);

	getsockopt(fd, SOL_KCP, KCP_WNDSIZE, &w, &len);
	snprintf(why, n, "{%u,%u}", w.snd, w.rcv);
	return w.snd == s && w.rcv == r;
}

void test_wndsize_opt(void)
{
	int fd = kt_socket(SOCK_STREAM);
	char w[64];

	if (unimplemented(fd, KCP_WNDSIZE, "KCP_WNDSIZE")) {
		close(fd);
		return;
	}
	kt_result(wnd_is(fd, 32, 32, w, sizeof(w)),
		  "KCP_WNDSIZE default {32,32} (kcp-go) %s", w);
	kt_wnd(fd, 128, 256);
	kt_result(wnd_is(fd, 128, 256, w, sizeof(w)),
		  "KCP_WNDSIZE {128,256} round trip %s", w);
	kt_wnd(fd, 0, 512);
	kt_result(wnd_is(fd, 128, 512, w, sizeof(w)),
		  "KCP_WNDSIZE snd 0 keeps the send window %s", w);
	kt_result(fails(kt_wnd(fd, 32769, 0), EINVAL) &&
		  fails(kt_wnd(fd, 0, 32769), EINVAL) &&
		  fails(kt_wnd(fd, 100000, 100000), EINVAL) &&
		  wnd_is(fd, 128, 512, w, sizeof(w)),
		  "KCP_WNDSIZE beyond net.kcp.wnd_max (32768) -> EINVAL %s", w);
	kt_result(kt_wnd(fd, 32768, 32768) == 0 &&
		  wnd_is(fd, 32768, 32768, w, sizeof(w)),
		  "KCP_WNDSIZE {32768,32768} (= wnd_max) accepted %s", w);
	kt_result(fails(kt_setopt(fd, KCP_WNDSIZE, &(uint32_t){ 8 }, 4), EINVAL),
		  "KCP_WNDSIZE with optlen 4 -> EINVAL");
	close(fd);
}

void test_conv_opt(void)
{
	int fd = kt_socket(SOCK_STREAM), port = 0, lfd;
	uint32_t conv = 0xC0FFEE01, got = 0;
	socklen_t len = sizeof(got);
	struct peer p;

	if (unimplemented(fd, KCP_CONV, "KCP_CONV")) {
		close(fd);
		return;
	}
	kt_setopt(fd, KCP_CONV, &conv, sizeof(conv));
	getsockopt(fd, SOL_KCP, KCP_CONV, &got, &len);
	kt_result(got == conv, "KCP_CONV round trip (%08x)", got);
	kt_result(fails(kt_setopt(fd, KCP_CONV, &conv, 2), EINVAL),
		  "KCP_CONV with optlen 2 -> EINVAL");
	close(fd);

	/* on the wire */
	{
		int k = kt_socket(SOCK_STREAM), u, uport;
		struct sockaddr_in a;
		struct dg d;
		struct kt_seg s[4];

		u = udp_bind(&uport);
		kt_setopt(k, KCP_CONV, &conv, sizeof(conv));
		/* kcp-go's Dial: the data segment is the first datagram */
		kt_setint(k, KCP_SESSION_EXT, 0);
		kt_setint(k, KCP_CONNECT_TIMEOUT, 0);
		a = kt_addr4(LO, uport);
		connect(k, (struct sockaddr *)&a, sizeof(a));
		send(k, "conv", 4, 0);
		kt_result(dg_recv(u, &d, 1000) &&
			  kt_segs_parse(d.b, d.len, s, 4) == 1 &&
			  s[0].conv == conv && s[0].cmd == KCP_CMD_PUSH &&
			  s[0].len == 4 && !memcmp(s[0].data, "conv", 4),
			  "KCP_CONV %08x is the conv on the wire", conv);
		kt_result(fails(kt_setopt(k, KCP_CONV, &conv, sizeof(conv)),
				EISCONN),
			  "KCP_CONV after connect -> EISCONN");
		close(k);
		close(u);
	}
	/* the default is random, and what getsockopt says */
	{
		struct dg d;
		struct kt_seg s[4];
		uint32_t c1;

		peer_open(&p, SOCK_STREAM, NULL, NULL);
		c1 = p.conv;
		send(p.k, "x", 1, 0);
		kt_result(dg_recv(p.u, &d, 1000) &&
			  kt_segs_parse(d.b, d.len, s, 4) == 1 &&
			  s[0].conv == p.conv,
			  "default conv: random, getsockopt gives the wire's (%08x)",
			  p.conv);
		peer_close(&p);
		peer_open(&p, SOCK_STREAM, NULL, NULL);
		kt_result(p.conv != c1, "two connects, two convs (%08x, %08x)",
			  c1, p.conv);
		peer_close(&p);
	}
	lfd = kt_listen(SOCK_STREAM, LO, &port);
	kt_result(fails(kt_setopt(lfd, KCP_CONV, &conv, sizeof(conv)), EISCONN),
		  "KCP_CONV on a listener -> EISCONN");
	close(lfd);
}

void test_fec_opt(void)
{
	int fd = kt_socket(SOCK_STREAM), port = 0, lfd, nbad = 0;
	struct kcp_fec f = { 7, 7 }, bad[] = {
		{ 1, 0 }, { 0, 1 }, { 200, 56 }, { 255, 1 }, { 1, 255 },
	};
	socklen_t len = sizeof(f);

	if (unimplemented(fd, KCP_FEC, "KCP_FEC")) {
		close(fd);
		return;
	}
	getsockopt(fd, SOL_KCP, KCP_FEC, &f, &len);
	kt_result(f.data_shards == 0 && f.parity_shards == 0,
		  "KCP_FEC default off {0,0}");
	f = (struct kcp_fec){ 10, 3 };
	kt_setopt(fd, KCP_FEC, &f, sizeof(f));
	f = (struct kcp_fec){ 0, 0 };
	len = sizeof(f);
	getsockopt(fd, SOL_KCP, KCP_FEC, &f, &len);
	kt_result(f.data_shards == 10 && f.parity_shards == 3,
		  "KCP_FEC {10,3} round trip {%u,%u}", f.data_shards,
		  f.parity_shards);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		nbad += !fails(kt_setopt(fd, KCP_FEC, &bad[i], sizeof(bad[i])),
			       EINVAL);
	kt_result(!nbad, "KCP_FEC {1,0} {0,1} {200,56} {255,1} {1,255} -> EINVAL (%d accepted)",
		  nbad);
	f = (struct kcp_fec){ 254, 1 };
	kt_result(kt_setopt(fd, KCP_FEC, &f, sizeof(f)) == 0,
		  "KCP_FEC {254,1} (255 shards) accepted");
	f = (struct kcp_fec){ 0, 0 };
	kt_result(kt_setopt(fd, KCP_FEC, &f, sizeof(f)) == 0,
		  "KCP_FEC {0,0} turns it off");
	kt_result(fails(kt_setopt(fd, KCP_FEC, &f, 4), EINVAL),
		  "KCP_FEC with optlen 4 -> EINVAL");
	close(fd);

	lfd = kt_listen(SOCK_STREAM, LO, &port);
	f = (struct kcp_fec){ 3, 2 };
	kt_result(fails(kt_setopt(lfd, KCP_FEC, &f, sizeof(f)), EISCONN),
		  "KCP_FEC after listen -> EISCONN");
	close(lfd);
}

void test_crypto_opt(void)
{
	int fd = kt_socket(SOCK_STREAM), bad = 0, leak = 0;
	struct kcp_crypto kc;
	socklen_t len = sizeof(kc);
	char why[128] = "";

	if (unimplemented(fd, KCP_CRYPTO, "KCP_CRYPTO")) {
		close(fd);
		return;
	}
	memset(&kc, 0x55, sizeof(kc));
	getsockopt(fd, SOL_KCP, KCP_CRYPTO, &kc, &len);
	kt_result(kc.cipher == KCP_CIPHER_NULL && kc.key_len == 0,
		  "KCP_CRYPTO default: no cipher");
	for (int c = 0; c < __KCP_CIPHER_MAX; c++) {
		memset(&kc, 0, sizeof(kc));
		kc.cipher = c;
		kc.key_len = kcp_cipher_names[c].key_len;
		memset(kc.key, 0xA5, kc.key_len);
		if (kt_setopt(fd, KCP_CRYPTO, &kc, sizeof(kc))) {
			snprintf(why, sizeof(why), " (cipher %d: %s)", c,
				 strerror(errno));
			bad++;
			continue;
		}
		memset(&kc, 0x77, sizeof(kc));
		len = sizeof(kc);
		getsockopt(fd, SOL_KCP, KCP_CRYPTO, &kc, &len);
		if (kc.cipher != (unsigned int)c ||
		    kc.key_len != kcp_cipher_names[c].key_len || len != sizeof(kc)) {
			snprintf(why, sizeof(why), " (cipher %d read %u/%u)", c,
				 kc.cipher, kc.key_len);
			bad++;
		}
		for (int i = 0; i < KCP_KEY_MAX; i++)
			leak += kc.key[i] != 0;
	}
	kt_result(!bad, "KCP_CRYPTO: all %d ciphers set, cipher and key_len read back%s",
		  __KCP_CIPHER_MAX, why);
	kt_result(!leak, "KCP_CRYPTO getsockopt returns an all-zero key (%d bytes not zero)",
		  leak);
	bad = 0;
	for (int c = KCP_CIPHER_AES; c < __KCP_CIPHER_MAX; c++) {
		memset(&kc, 0, sizeof(kc));
		kc.cipher = c;
		kc.key_len = kcp_cipher_names[c].key_len == 16 ? 32 : 16;
		bad += !fails(kt_setopt(fd, KCP_CRYPTO, &kc, sizeof(kc)), EINVAL);
	}
	kc = (struct kcp_crypto){ .cipher = KCP_CIPHER_NONE, .key_len = 33 };
	bad += !fails(kt_setopt(fd, KCP_CRYPTO, &kc, sizeof(kc)), EINVAL);
	kt_result(!bad, "KCP_CRYPTO with a wrong key_len -> EINVAL (%d accepted)", bad);
	kc = (struct kcp_crypto){ .cipher = __KCP_CIPHER_MAX, .key_len = 32 };
	kt_result(fails(kt_setopt(fd, KCP_CRYPTO, &kc, sizeof(kc)), EINVAL),
		  "KCP_CRYPTO cipher %d (unknown) -> EINVAL", __KCP_CIPHER_MAX);
	kc = (struct kcp_crypto){ .cipher = 1000, .key_len = 32 };
	kt_result(fails(kt_setopt(fd, KCP_CRYPTO, &kc, sizeof(kc)), EINVAL),
		  "KCP_CRYPTO cipher 1000 -> EINVAL");
	kt_result(fails(kt_setopt(fd, KCP_CRYPTO, &kc, 8), EINVAL),
		  "KCP_CRYPTO with optlen 8 -> EINVAL");
	close(fd);
}

void test_info_opt(void)
{
	struct kcp_info i;
	unsigned char buf[sizeof(struct kcp_info) + 16];
	socklen_t len;
	struct peer p;
	int bad = 0;

	{
		int fd = kt_socket(SOCK_STREAM);

		info(fd, &i);
		kt_result(i.kcpi_version == KCP_INFO_VERSION &&
			  i.kcpi_len == sizeof(i) && i.kcpi_state == KCP_CLOSE,
			  "KCP_INFO of a new socket: version %u len %u state %u",
			  i.kcpi_version, i.kcpi_len, i.kcpi_state);
		memset(buf, 0xAA, sizeof(buf));
		len = 8;
		kt_result(getsockopt(fd, SOL_KCP, KCP_INFO, buf, &len) == 0 &&
			  len == 8 && kt_g32(buf) == KCP_INFO_VERSION &&
			  kt_g32(buf + 4) == sizeof(i) && buf[8] == 0xAA,
			  "KCP_INFO with optlen 8: 8 bytes (version, len), rest untouched");
		len = 0;
		kt_result(getsockopt(fd, SOL_KCP, KCP_INFO, buf, &len) == 0 &&
			  len == 0, "KCP_INFO with optlen 0: nothing, optlen 0");
		memset(buf, 0xAA, sizeof(buf));
		len = sizeof(buf);
		kt_result(getsockopt(fd, SOL_KCP, KCP_INFO, buf, &len) == 0 &&
			  len == sizeof(i) && buf[sizeof(i)] == 0xAA,
			  "KCP_INFO with a bigger optlen: optlen becomes %zu",
			  sizeof(i));
		close(fd);
	}
	if (peer_open(&p, SOCK_STREAM, NULL, NULL))
		return kt_result(0, "peer_open: %s", strerror(errno));
	send(p.k, "info", 4, 0);
	{
		struct dg d;

		dg_recv(p.u, &d, 1000);
	}
	info(p.k, &i);
	bad += i.kcpi_state != KCP_ESTABLISHED;
	bad += i.kcpi_conv != p.conv;
	bad += i.kcpi_mtu != 1400 || i.kcpi_mss != 1376;
	bad += i.kcpi_rto != 200 || i.kcpi_minrto != 100;
	bad += i.kcpi_snd_wnd != 32 || i.kcpi_rcv_wnd != 32;
	bad += i.kcpi_interval != 100 || i.kcpi_nodelay != 0;
	bad += i.kcpi_dead_link != 20 || i.kcpi_stream != 1;
	bad += i.kcpi_cipher != 0 || i.kcpi_fec_data != 0;
	bad += i.kcpi_snd_nxt != 1 || i.kcpi_snd_una != 0 ||
	       i.kcpi_snd_buf != 1;
	bad += i.kcpi_out_segs < 1 || i.kcpi_out_pkts < 1 ||
	       i.kcpi_bytes_out != 4;
	kt_result(!bad, "KCP_INFO after connect + 4 bytes: state %u conv %08x mtu %u mss %u rto %u minrto %u wnd %u/%u interval %u dead_link %u snd_nxt %u snd_buf %u out_segs %llu bytes_out %llu",
		  i.kcpi_state, i.kcpi_conv, i.kcpi_mtu, i.kcpi_mss,
		  i.kcpi_rto, i.kcpi_minrto, i.kcpi_snd_wnd, i.kcpi_rcv_wnd,
		  i.kcpi_interval, i.kcpi_dead_link, i.kcpi_snd_nxt,
		  i.kcpi_snd_buf, (unsigned long long)i.kcpi_out_segs,
		  (unsigned long long)i.kcpi_bytes_out);
	kt_result(proc_state(kt_port_of(p.k), p.uport) == KCP_ESTABLISHED,
		  "/proc/net/kcp lists the socket ESTABLISHED (01)");
	peer_close(&p);
}
