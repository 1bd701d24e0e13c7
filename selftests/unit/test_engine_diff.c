// SPDX-License-Identifier: GPL-2.0
/*
 * Differential test of kmod/kcp_engine.c against the real kcp-go 5.6.1.
 *
 * Scripts of operations on one or two KCP endpoints (see
 * gen/kcptrace/main.go for the language) are generated from seeds, run
 * here against the C engine and by kcptrace against a test-time copy of
 * kcp-go's kcp.go; both print every datagram and the ARQ state after each
 * step, and the texts must be identical.
 *
 * The generator is driven by the C engine's state (to craft plausible
 * ACKs, una values and in-window sequence numbers), but every script is
 * complete text before kcp-go sees it, so kcp-go simply replays it.
 *
 * Modelled, not flagged (documented differences of the engine API):
 *  (a) kcp_init leaves cwnd = 1 / incr = mss like kcp-go's first timer
 *      tick: the tracer does one flush(false) right after NewKCP;
 *  (b) stream reads may cross segment boundaries: "drain" compares the
 *      byte stream of a stream-mode endpoint, not the chunking;
 *  (c) dgram_begin/dgram_end replace the output callback: datagrams are
 *      compared without the reserved headroom;
 *  (d) the engine flushes its ACK list early at 1024 entries: scripts
 *      insert a "flushack" before an input could reach that bound.
 *
 * Environment:
 *   ENGINE_DIFF_SCRIPTS=N  random scripts (default 200)
 *   ENGINE_DIFF_SEED=S     run only the script of seed S and keep it
 *   KCPTRACE=path          the tracer binary (default: built by engine.mk)
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "netsim.h"
#include "../lib/hex.h"
#include "../lib/tap.h"

#ifndef KCPTRACE_BIN
#define KCPTRACE_BIN ""
#endif
#ifndef KCPTRACE_SKIP
#define KCPTRACE_SKIP ""
#endif
#ifndef ENGINE_WORKDIR
#define ENGINE_WORKDIR "/tmp"
#endif

#define DEFAULT_SCRIPTS	200
#define BATCH		40
#define SEED_BASE	0x646966660000ULL	/* "diff" */
#define ACK_BOUND	1024			/* KCP_ACKLIST_MAX in the engine */
#define MAXQ		4096

/* ---- growable text ------------------------------------------------------ */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_grow(struct sbuf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	while (b->len + more + 1 > b->cap)
		b->cap = b->cap ? b->cap * 2 : 65536;
	b->p = realloc(b->p, b->cap);
	if (!b->p)
		abort();
}

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sb_grow(b, n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

static void sb_hex(struct sbuf *b, const u8 *p, u32 len)
{
	static const char hx[] = "0123456789abcdef";
	u32 i;

	sb_grow(b, 2 * len);
	for (i = 0; i < len; i++) {
		b->p[b->len++] = hx[p[i] >> 4];
		b->p[b->len++] = hx[p[i] & 15];
	}
	b->p[b->len] = 0;
}

static void sb_free(struct sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static u64 fnv64(const u8 *p, u32 len, u64 h)
{
	u32 i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

/* what the random scripts exercised (engine side) */
static struct {
	u64 cmd[4], frg_segs, probes_armed, zero_wnd, dead, fast, early, lost;
	u64 repeat, inerr, msgs, wraps, acks_hi;
} cov;

/* ---- the C side of the script interpreter ----------------------------------- */

struct dgram {
	u8 *p;
	u32 len;
};

struct ep {
	struct kcp_cb kcp;
	struct interp *it;
	int id;
	bool open;
	u8 buf[KCP_MTU_MAX];
	struct dgram q[MAXQ];
	u32 nq;
	/* last PUSHes sent (sn, ts) for crafting ACKs */
	u32 sent_sn[64], sent_ts[64];
	u32 nsent;
};

struct interp {
	struct ep *ep[2];
	u32 now;
	struct sbuf *out;
	char err[256];
	u8 *rbuf;
};

#define RBUF_SIZE	(256 * KCP_MTU_MAX)

static struct ep *ep_of(struct kcp_cb *kcp)
{
	return (struct ep *)((char *)kcp - offsetof(struct ep, kcp));
}

static u32 ep_clock(struct kcp_cb *kcp)
{
	return ep_of(kcp)->it->now;
}

static u8 *ep_begin(struct kcp_cb *kcp)
{
	struct ep *e = ep_of(kcp);

	if (e->open)
		snprintf(e->it->err, sizeof(e->it->err), "nested dgram_begin");
	e->open = true;
	memset(e->buf, 0xa5, sizeof(e->buf));
	return e->buf + kcp->reserved;
}

static void ep_end(struct kcp_cb *kcp, u8 *p, u32 len)
{
	struct ep *e = ep_of(kcp);
	u32 off = 0;

	e->open = false;
	sb_printf(e->it->out, "out %d ", e->id);
	sb_hex(e->it->out, p, len);
	sb_printf(e->it->out, "\n");
	if (e->nq < MAXQ) {
		e->q[e->nq].p = malloc(len);
		memcpy(e->q[e->nq].p, p, len);
		e->q[e->nq++].len = len;
	}
	while (len - off >= KCP_OVERHEAD) {
		u32 l = kt_g32(p + off + 20);

		if (p[off + 4] >= KCP_CMD_PUSH && p[off + 4] <= KCP_CMD_WINS)
			cov.cmd[p[off + 4] - KCP_CMD_PUSH]++;
		if (p[off + 5])
			cov.frg_segs++;
		if (p[off + 4] == KCP_CMD_PUSH) {
			u32 i = e->nsent++ % 64;

			e->sent_sn[i] = kt_g32(p + off + 12);
			e->sent_ts[i] = kt_g32(p + off + 8);
		}
		off += KCP_OVERHEAD + l;
	}
}

static const struct kcp_ops ep_ops = {
	.clock = ep_clock,
	.dgram_begin = ep_begin,
	.dgram_end = ep_end,
};

static void ep_free(struct ep *e)
{
	u32 i;

	if (!e)
		return;
	for (i = 0; i < e->nq; i++)
		free(e->q[i].p);
	kcp_release(&e->kcp);
	free(e);
}

static void ep_qdel(struct ep *e, u32 i)
{
	free(e->q[i].p);
	memmove(&e->q[i], &e->q[i + 1], (e->nq - i - 1) * sizeof(e->q[0]));
	e->nq--;
}

static void cov_ep(const struct ep *e)
{
	const struct kcp_cb *k;

	if (!e)
		return;
	k = &e->kcp;
	cov.fast += k->stats[KCP_STAT_FAST_RETRANS];
	cov.early += k->stats[KCP_STAT_EARLY_RETRANS];
	cov.lost += k->stats[KCP_STAT_LOST];
	cov.repeat += k->stats[KCP_STAT_REPEAT];
	cov.inerr += k->stats[KCP_STAT_IN_ERRORS];
	cov.dead += k->state == KCP_STATE_DEAD;
}

static void interp_reset(struct interp *it)
{
	cov_ep(it->ep[0]);
	cov_ep(it->ep[1]);
	ep_free(it->ep[0]);
	ep_free(it->ep[1]);
	it->ep[0] = it->ep[1] = NULL;
	it->now = 0;
	it->err[0] = 0;
}

static void state_line(struct interp *it, struct ep *e)
{
	const struct kcp_cb *k = &e->kcp;

	sb_printf(it->out, "s %d una=%u nxt=%u rcv_nxt=%u cwnd=%u ssthresh=%u incr=%u srtt=%d rttvar=%d rto=%u minrto=%u rmt_wnd=%u probe=%u probe_wait=%u ts_probe=%u waitsnd=%u snd_buf=%u snd_que=%u rcv_buf=%u rcv_que=%u acks=%u state=%u mss=%u\n",
		  e->id, k->snd_una, k->snd_nxt, k->rcv_nxt, k->cwnd, k->ssthresh,
		  k->incr, k->rx_srtt, k->rx_rttvar, k->rx_rto, k->rx_minrto,
		  k->rmt_wnd, k->probe, k->probe_wait, k->ts_probe, kcp_waitsnd(k),
		  k->nsnd_buf, k->nsnd_que, k->nrcv_buf, k->nrcv_que, k->ackcount,
		  k->state, k->mss);
	sb_printf(it->out, "c %d in=%llu out=%llu fast=%llu early=%llu lost=%llu repeat=%llu inerr=%llu\n",
		  e->id,
		  (unsigned long long)k->stats[KCP_STAT_IN_SEGS],
		  (unsigned long long)k->stats[KCP_STAT_OUT_SEGS],
		  (unsigned long long)k->stats[KCP_STAT_FAST_RETRANS],
		  (unsigned long long)k->stats[KCP_STAT_EARLY_RETRANS],
		  (unsigned long long)k->stats[KCP_STAT_LOST],
		  (unsigned long long)k->stats[KCP_STAT_REPEAT],
		  (unsigned long long)k->stats[KCP_STAT_IN_ERRORS]);
}


/* Execute one script line on the C engine, printing what kcptrace prints. */
static void interp_line(struct interp *it, const char *line)
{
	char op[16], a1[64];
	char *hexs = NULL;
	long long v[6] = { 0 };
	int nf, e;
	struct ep *ep, *target;
	char res[160];
	static u8 data[256 * KCP_MTU_MAX];

	if (!strncmp(line, "begin ", 6)) {
		interp_reset(it);
		sb_printf(it->out, "%s\n", line);
		return;
	}
	if (!strcmp(line, "end")) {
		sb_printf(it->out, "end\n");
		return;
	}
	sb_printf(it->out, "> %s\n", line);
	nf = sscanf(line, "%15s %63s", op, a1);
	if (nf < 2) {
		snprintf(it->err, sizeof(it->err), "bad line '%s'", line);
		return;
	}
	if (!strcmp(op, "clock")) {
		it->now = (u32)strtoull(a1, NULL, 0);
		return;
	}
	e = atoi(a1);
	{
		const char *p = line;
		int i;

		/* numeric arguments after "op E" */
		for (i = 0; i < 2 && *p; i++) {
			p = strchr(p, ' ');
			if (!p)
				break;
			p++;
		}
		if (p && (!strcmp(op, "send") || !strcmp(op, "input"))) {
			const char *sp = strchr(p, ' ');
			size_t l = sp ? (size_t)(sp - p) : strlen(p);

			hexs = strndup(p, l);
			p = sp ? sp + 1 : p + l;
		}
		for (i = 0; p && *p && i < 6; i++) {
			char *endp;

			v[i] = (long long)strtoull(p, &endp, 0);
			p = *endp ? endp + 1 : endp;
		}
	}
	if (!strcmp(op, "new")) {
		bool ok = true;

		ep_free(it->ep[e]);
		ep = calloc(1, sizeof(*ep));
		ep->it = it;
		ep->id = e;
		kcp_init(&ep->kcp, (u32)v[0], &ep_ops);
		/* compare against pure kcp-go, unsafe corners included */
		ep->kcp.exact = 1;
		if (strchr(line + 4 + strlen(a1) + 1, ' '))
			ok = kcp_set_reserved(&ep->kcp, (u32)v[1]) == 0;
		it->ep[e] = ep;
		sb_printf(it->out, "= %s\n", ok ? "0" : "err");
		goto state;
	}
	ep = it->ep[e];
	if (!ep) {
		snprintf(it->err, sizeof(it->err), "no endpoint %d", e);
		free(hexs);
		return;
	}
	target = ep;
	strcpy(res, "0");
	if (!strcmp(op, "nodelay")) {
		kcp_set_nodelay(&ep->kcp, (int)v[0], (int)v[1], (int)v[2], (int)v[3]);
	} else if (!strcmp(op, "wndsize")) {
		/* kcp-go ignores values <= 0 */
		kcp_set_wndsize(&ep->kcp, v[0] > 0 ? (u32)v[0] : 0,
				v[1] > 0 ? (u32)v[1] : 0);
	} else if (!strcmp(op, "mtu")) {
		strcpy(res, kcp_set_mtu(&ep->kcp, (u32)v[0]) ? "err" : "0");
	} else if (!strcmp(op, "reserve")) {
		strcpy(res, kcp_set_reserved(&ep->kcp, (u32)v[0]) ? "err" : "0");
	} else if (!strcmp(op, "stream")) {
		ep->kcp.stream = !!v[0];
	} else if (!strcmp(op, "send") || !strcmp(op, "sendp")) {
		struct ns_membuf c = { data, NULL, 0 };
		u32 len;
		int r;

		if (hexs) {
			int n = kt_unhex(hexs, data, sizeof(data));

			if (n < 0) {
				snprintf(it->err, sizeof(it->err), "bad hex");
				return;
			}
			len = n;
		} else {
			len = (u32)v[0];
			ns_prbytes(data, len, (u64)v[1]);
		}
		r = kcp_send(&ep->kcp, len, ns_membuf_from, &c, true);
		if (r >= 0)
			strcpy(res, (u32)r == len ? "0" : "partial");
		else if (r == -EINVAL)
			strcpy(res, "err EINVAL");
		else if (r == -EMSGSIZE)
			strcpy(res, "err EMSGSIZE");
		else
			snprintf(res, sizeof(res), "err %d", r);
	} else if (!strcmp(op, "input") || !strcmp(op, "deliver")) {
		u32 len = 0, i;
		int r;

		if (!strcmp(op, "input")) {
			int n = hexs ? kt_unhex(hexs, data, sizeof(data)) : -1;

			if (n < 0) {
				snprintf(it->err, sizeof(it->err), "bad hex");
				return;
			}
			len = n;
		} else {
			if (!it->ep[1 - e]) {
				snprintf(it->err, sizeof(it->err), "no peer");
				return;
			}
			if (!ep->nq) {
				strcpy(res, "none");
				goto result;
			}
			i = (u32)((u64)v[0] % ep->nq);
			len = ep->q[i].len;
			memcpy(data, ep->q[i].p, len);
			ep_qdel(ep, i);
			target = it->ep[1 - e];
			v[1] = v[1];
		}
		r = kcp_input(&target->kcp, data, len,
			      (!strcmp(op, "input") ? v[0] : v[1]) != 0,
			      (!strcmp(op, "input") ? v[1] : v[2]) != 0);
		snprintf(res, sizeof(res), "%d", r);
	} else if (!strcmp(op, "drop") || !strcmp(op, "dup")) {
		u32 i;

		if (!ep->nq) {
			strcpy(res, "none");
			goto result;
		}
		i = (u32)((u64)v[0] % ep->nq);
		if (!strcmp(op, "drop")) {
			ep_qdel(ep, i);
		} else if (ep->nq < MAXQ) {
			ep->q[ep->nq].p = malloc(ep->q[i].len);
			memcpy(ep->q[ep->nq].p, ep->q[i].p, ep->q[i].len);
			ep->q[ep->nq++].len = ep->q[i].len;
		}
	} else if (!strcmp(op, "flush")) {
		snprintf(res, sizeof(res), "%u", kcp_flush(&ep->kcp, false));
	} else if (!strcmp(op, "flushack")) {
		snprintf(res, sizeof(res), "%u", kcp_flush(&ep->kcp, true));
	} else if (!strcmp(op, "recv")) {
		struct ns_membuf c = { NULL, it->rbuf, 0 };
		u32 ml = 0;
		int r = kcp_recv(&ep->kcp, RBUF_SIZE, ns_membuf_to, &c, KCP_RECV_MSG, &ml);

		if (r == -EAGAIN)
			strcpy(res, "-1");
		else if (r < 0 || (u32)r != ml)
			snprintf(res, sizeof(res), "error %d msglen %u", r, ml);
		else
			snprintf(res, sizeof(res), "msg %d %016llx", r,
				 (unsigned long long)fnv64(it->rbuf, r, FNV_INIT));
	} else if (!strcmp(op, "drain")) {
		struct sbuf parts = { 0 };
		u64 h = FNV_INIT, total = 0;
		u32 n = 0, guard;

		for (guard = 0; guard < 100000; guard++) {
			struct ns_membuf c = { NULL, it->rbuf, 0 };
			u32 ml = 0;
			int r;

			if (ep->kcp.stream) {
				r = kcp_recv(&ep->kcp, RBUF_SIZE, ns_membuf_to, &c, 0, NULL);
			} else {
				r = kcp_recv(&ep->kcp, RBUF_SIZE, ns_membuf_to, &c,
					     KCP_RECV_MSG, &ml);
			}
			if (r < 0)
				break;
			if (ep->kcp.stream) {
				h = fnv64(it->rbuf, r, h);
				total += r;
			} else {
				sb_printf(&parts, " %d %016llx", r,
					  (unsigned long long)fnv64(it->rbuf, r, FNV_INIT));
				n++;
			}
		}
		if (ep->kcp.stream) {
			snprintf(res, sizeof(res), "data %llu %016llx",
				 (unsigned long long)total, (unsigned long long)h);
		} else {
			sb_printf(it->out, "= msgs %u%s\n", n, parts.p ? parts.p : "");
			sb_free(&parts);
			goto state;
		}
	} else if (!strcmp(op, "peek")) {
		snprintf(res, sizeof(res), "%d", kcp_peeksize(&ep->kcp));
	} else if (!strcmp(op, "read")) {
		struct ns_membuf c = { NULL, it->rbuf, 0 };
		int r = kcp_recv(&ep->kcp, (u32)min_t(long long, v[0], RBUF_SIZE),
				 ns_membuf_to, &c, 0, NULL);

		if (r < 0)
			strcpy(res, "-1");
		else
			snprintf(res, sizeof(res), "data %d %016llx", r,
				 (unsigned long long)fnv64(it->rbuf, r, FNV_INIT));
	} else {
		snprintf(it->err, sizeof(it->err), "unknown op '%s'", op);
		free(hexs);
		return;
	}
result:
	sb_printf(it->out, "= %s\n", res);
state:
	free(hexs);
	if (it->ep[0])
		state_line(it, it->ep[0]);
	if (it->ep[1])
		state_line(it, it->ep[1]);
	for (e = 0; e < 2; e++) {
		const struct kcp_cb *k = it->ep[e] ? &it->ep[e]->kcp : NULL;

		if (!k)
			continue;
		cov.zero_wnd += !k->rmt_wnd;
		cov.probes_armed += !!k->probe_wait;
		cov.wraps += k->cwnd > 0x7fffffff;
		cov.acks_hi += k->ackcount > 100;
	}
}

/* ---- script generation ---------------------------------------------------- */

struct gen {
	struct ns_rng r;
	struct interp *it;
	struct sbuf *script;
	bool pair;
	/* virtual peer of a single endpoint */
	u32 peer_sn, peer_ts;
	u32 conv;
	u32 nemit;		/* operations emitted so far */
	char line[2 * KCP_MTU_MAX + 128];
};

static void __attribute__((format(printf, 2, 3))) emit(struct gen *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->line, sizeof(g->line), fmt, ap);
	va_end(ap);
	sb_printf(g->script, "%s\n", g->line);
	interp_line(g->it, g->line);
	g->nemit++;
}

static void emit_hex(struct gen *g, const char *prefix, const u8 *p, u32 len,
		     const char *suffix)
{
	struct sbuf b = { 0 };

	sb_printf(&b, "%s ", prefix);
	if (len)
		sb_hex(&b, p, len);
	else
		sb_printf(&b, "-");
	sb_printf(&b, "%s", suffix);
	sb_printf(g->script, "%s\n", b.p);
	interp_line(g->it, b.p);
	sb_free(&b);
	g->nemit++;
}

static u32 put_seg(u8 *p, u32 conv, u8 cmd, u8 frg, u16 wnd, u32 ts, u32 sn,
		   u32 una, u32 len, struct ns_rng *r)
{
	u32 i;

	kt_seg_hdr(p, conv, cmd, frg, wnd, ts, sn, una, len);
	for (i = 0; i < len; i++)
		p[KCP_OVERHEAD + i] = (u8)ns_next(r);
	return KCP_OVERHEAD + len;
}

static void gen_config(struct gen *g, int e, bool stream)
{
	struct ns_rng *r = &g->r;
	static const u32 resv[] = { 0, 20, 28 };
	u32 mtu, res;

	switch (ns_below(r, 4)) {
	case 0:
		mtu = ns_range(r, 50, 120);
		break;
	case 1:
		mtu = 1400;
		break;
	default:
		mtu = ns_range(r, 50, 1500);
		break;
	}
	res = resv[ns_below(r, 3)];
	if (res + KCP_OVERHEAD >= mtu)
		res = 0;
	/* reserve before the first tick, like UDPSession */
	emit(g, "new %d %u %u", e, g->conv, res);
	emit(g, "mtu %d %u", e, mtu);
	emit(g, "nodelay %d %u %d %u %u", e, ns_below(r, 2),
	     ns_below(r, 10) ? (int)ns_range(r, 10, 100) : (int)ns_range(r, 0, 6000),
	     ns_range(r, 0, 3), ns_below(r, 2));
	emit(g, "wndsize %d %u %u", e,
	     ns_below(r, 2) ? ns_range(r, 4, 64) : ns_range(r, 4, 1024),
	     ns_below(r, 2) ? ns_range(r, 4, 64) : ns_range(r, 4, 1024));
	/*
	 * A stream-mode receiver needs a peer that sends frg 0 (known
	 * difference: engine stream reads ignore frg), so pairs agree.
	 */
	if (stream)
		emit(g, "stream %d 1", e);
}

static void gen_send(struct gen *g, int e)
{
	struct kcp_cb *k = &g->it->ep[e]->kcp;
	struct ns_rng *r = &g->r;
	u32 maxsegs = KCP_FRG_MAX, len;

	if (g->pair && g->it->ep[1 - e])
		maxsegs = min_t(u32, maxsegs, g->it->ep[1 - e]->kcp.rcv_wnd);
	/* like kcp-go Write: blocked while the window is full (mostly) */
	if (kcp_waitsnd(k) >= min_t(u32, k->snd_wnd, k->rmt_wnd) && ns_below(r, 8))
		return;
	switch (ns_below(r, 6)) {
	case 0:
		len = ns_range(r, 1, 8);
		break;
	case 1:
		len = ns_range(r, 1, k->mss * min_t(u32, maxsegs, 8));
		break;
	case 2:
		len = ns_range(r, 1, k->mss * maxsegs);
		break;
	default:
		len = ns_range(r, 1, k->mss);
		break;
	}
	/* the frg limit: 255 segments fit, 256 are refused (message mode) */
	if (!k->stream && ns_below(r, 50) == 0)
		len = k->mss * KCP_FRG_MAX + ns_range(r, 0, 1);
	if (len <= 64 && ns_below(r, 2)) {
		u8 d[64];
		char prefix[16];
		u32 i;

		for (i = 0; i < len; i++)
			d[i] = (u8)ns_next(r);
		snprintf(prefix, sizeof(prefix), "send %d", e);
		emit_hex(g, prefix, d, len, "");
	} else {
		emit(g, "sendp %d %u %" PRIu64, e, len, ns_next(r));
	}
}

/* Input crafted by a virtual peer into endpoint 0 (single mode). */
static void gen_input(struct gen *g)
{
	struct ep *ep = g->it->ep[0];
	struct kcp_cb *k = &ep->kcp;
	struct ns_rng *r = &g->r;
	u8 d[KCP_MTU_MAX + 64];
	u32 n = 0, nseg = ns_range(r, 1, ns_below(r, 3) ? 1 : 6), i;
	char suffix[16];
	u32 conv = g->conv;

	for (i = 0; i < nseg; i++) {
		u32 c = ns_below(r, 20), sn, ts, una, len = 0;
		u16 wnd;
		u8 cmd, frg = 0;

		switch (ns_below(r, 8)) {
		case 0:
			wnd = 0;
			break;
		case 1:
			wnd = (u16)ns_range(r, 1, 4);
			break;
		case 2:
			wnd = 65535;
			break;
		default:
			wnd = (u16)ns_range(r, 4, 256);
			break;
		}
		una = k->snd_una + ns_range(r, 0, k->snd_nxt - k->snd_una + 1) -
		      (ns_below(r, 10) == 0);
		if (ns_below(r, 4) == 0)
			una = k->snd_una;
		if (c < 8) {			/* ACK */
			cmd = KCP_CMD_ACK;
			if (ep->nsent && ns_below(r, 4)) {
				u32 j = ns_below(r, min_t(u32, ep->nsent, 64));

				sn = ep->sent_sn[j];
				ts = ep->sent_ts[j];
			} else {
				sn = k->snd_una + ns_range(r, 0, k->snd_nxt - k->snd_una + 2) - 1;
				ts = g->it->now - ns_range(r, 0, 3000);
			}
			if (ns_below(r, 10) == 0)
				ts = g->it->now + ns_range(r, 1, 100);	/* future */
		} else if (c < 16) {		/* PUSH from the peer */
			cmd = KCP_CMD_PUSH;
			switch (ns_below(r, 6)) {
			case 0:
				sn = k->rcv_nxt - ns_range(r, 1, 5);
				break;
			case 1:
				sn = k->rcv_nxt + ns_range(r, 0, k->rcv_wnd + 3);
				break;
			default:
				sn = g->peer_sn++;
				if (kcp_timediff(sn, k->rcv_nxt + k->rcv_wnd) >= 0 ||
				    kcp_timediff(sn, k->rcv_nxt) < 0)
					sn = g->peer_sn = k->rcv_nxt + ns_below(r, 3);
				break;
			}
			ts = g->peer_ts += ns_range(r, 0, 50);
			len = ns_below(r, 3) ? ns_range(r, 1, min_t(u32, k->mss, 200)) :
			      ns_range(r, 1, k->mss);
			/* frg only in message mode (stream reads ignore it, see report) */
			if (!k->stream && ns_below(r, 4) == 0)
				frg = (u8)ns_range(r, 1, min_t(u32, 8, k->rcv_wnd - 1));
			/* empty PUSH only in message mode (see report) */
			if (!k->stream && ns_below(r, 30) == 0)
				len = 0;
		} else if (c < 18) {
			cmd = KCP_CMD_WASK;
			sn = (u32)ns_next(r);
			ts = (u32)ns_next(r);
		} else {
			cmd = KCP_CMD_WINS;
			sn = (u32)ns_next(r);
			ts = (u32)ns_next(r);
		}
		if (n + KCP_OVERHEAD + len > KCP_MTU_MAX)
			break;
		/* malformed segments, now and then */
		switch (ns_below(r, 60)) {
		case 0:
			conv ^= 1;
			break;
		case 1:
			cmd = ns_below(r, 2) ? 80 : (u8)ns_range(r, 85, 255);
			break;
		default:
			break;
		}
		n += put_seg(d + n, conv, cmd, frg, wnd, ts, sn, una, len, r);
		if (ns_below(r, 80) == 0) {	/* len beyond the datagram */
			kt_p32(d + n - len - 4, len + ns_range(r, 1, 100));
			break;
		}
	}
	if (ns_below(r, 30) == 0) {		/* trailing junk < 24 */
		u32 t = ns_range(r, 1, 23);

		for (i = 0; i < t; i++)
			d[n + i] = (u8)ns_next(r);
		n += t;
	}
	if (ns_below(r, 80) == 0)		/* short datagram */
		n = ns_below(r, KCP_OVERHEAD);
	/* keep the ACK list below the engine's bound (difference d) */
	if (k->ackcount + nseg >= ACK_BOUND)
		emit(g, "flushack 0");
	snprintf(suffix, sizeof(suffix), " %u %u", ns_below(r, 10) != 0,
		 ns_below(r, 3) == 0);
	emit_hex(g, "input 0", d, n, suffix);
}

static void gen_clock(struct gen *g)
{
	struct ns_rng *r = &g->r;
	u32 step;

	switch (ns_below(r, 20)) {
	case 0:
		step = ns_range(r, 6000, 130000);	/* probes, RTO backoff */
		break;
	case 1: case 2:
		step = ns_range(r, 100, 3000);
		break;
	default:
		step = ns_range(r, 0, 60);
		break;
	}
	g->it->now += step;
	emit(g, "clock %u", g->it->now);
}

static void gen_deliver(struct gen *g, int e)
{
	struct ep *src = g->it->ep[e], *dst = g->it->ep[1 - e];
	struct ns_rng *r = &g->r;
	u32 k = ns_below(r, 4) ? 0 : ns_below(r, 1000);
	bool ack_nodelay = ns_below(r, 3) == 0;

	if (!src->nq)
		return;
	if (dst->kcp.ackcount + (KCP_MTU_MAX / KCP_OVERHEAD) >= ACK_BOUND)
		emit(g, "flushack %d", 1 - e);
	switch (ns_below(r, 12)) {
	case 0: case 1:
		emit(g, "drop %d %u", e, k);
		break;
	case 2:
		emit(g, "dup %d %u", e, k);
		break;
	default:
		emit(g, "deliver %d %u %u %u", e, k, ns_below(r, 15) != 0,
		     ack_nodelay);
		break;
	}
}

static void gen_script(u64 seed, struct interp *it, struct sbuf *script)
{
	struct gen g;
	u32 nops, i, w[11], wsum = 0;
	bool stream;
	int e, slow;

	memset(&g, 0, sizeof(g));
	ns_seed(&g.r, seed);
	g.it = it;
	g.script = script;
	g.pair = ns_below(&g.r, 3) != 0;
	g.conv = (u32)ns_next(&g.r);
	g.peer_ts = (u32)ns_next(&g.r);
	snprintf(g.line, sizeof(g.line), "begin %" PRIu64, seed);
	sb_printf(script, "%s\n", g.line);
	interp_line(it, g.line);
	switch (ns_below(&g.r, 4)) {
	case 0:
		it->now = 0xffffffffu - ns_range(&g.r, 0, 20000);
		break;
	default:
		it->now = (u32)ns_next(&g.r);
		break;
	}
	emit(&g, "clock %u", it->now);
	stream = ns_below(&g.r, 2);
	gen_config(&g, 0, stream);
	if (g.pair)
		gen_config(&g, 1, stream);
	/*
	 * Each script gets its own mix of operations, so that some are
	 * ACK storms, some RTO chains towards dead_link, some long zero
	 * windows with probe backoff, and most a bit of everything.
	 */
	for (i = 0; i < ARRAY_SIZE(w); i++)
		w[i] = ns_below(&g.r, 4) ? ns_range(&g.r, 1, 20) : 0;
	w[0] += 3;			/* clock */
	w[2] += 3;			/* flush */
	w[6] += 5;			/* deliver / input */
	for (i = 0; i < ARRAY_SIZE(w); i++)
		wsum += w[i];
	slow = g.pair ? (int)ns_below(&g.r, 4) - 2 : -1;	/* a reader that stalls */
	nops = g.nemit + ns_range(&g.r, 100, 1800);
	while (g.nemit < nops && !it->err[0]) {
		u32 c = ns_below(&g.r, wsum), k;

		e = g.pair ? (int)ns_below(&g.r, 2) : 0;
		for (k = 0; k < ARRAY_SIZE(w) - 1 && c >= w[k]; k++)
			c -= w[k];
		switch (k) {
		case 0:
			gen_clock(&g);
			break;
		case 1:
			gen_send(&g, e);
			break;
		case 2:
			emit(&g, "flush %d", e);
			break;
		case 3:
			emit(&g, "flushack %d", e);
			break;
		case 4:
			if (e == slow && ns_below(&g.r, 20))
				break;
			emit(&g, ns_below(&g.r, 3) || it->ep[e]->kcp.stream ?
			     "drain %d" : "recv %d", e);
			break;
		case 5:
			emit(&g, "peek %d", e);
			break;
		case 6:
			if (g.pair)
				gen_deliver(&g, e);
			else
				gen_input(&g);
			break;
		case 7:
			/* an RTO chain: time passes, only timers fire */
			for (k = ns_range(&g.r, 1, 25); k--; ) {
				u32 step = ns_range(&g.r, 1, 2 * it->ep[e]->kcp.rx_rto);

				it->now += step;
				emit(&g, "clock %u", it->now);
				emit(&g, "flush %d", e);
			}
			break;
		case 8:
			/* a burst of deliveries without any flush in between */
			for (k = ns_range(&g.r, 1, 40); k--; ) {
				if (g.pair)
					gen_deliver(&g, e);
				else
					gen_input(&g);
			}
			break;
		case 9:
			/* many small writes, then one flush: long ACK lists */
			for (k = ns_range(&g.r, 1, 150); k--; ) {
				u32 len = ns_range(&g.r, 1, 8);

				emit(&g, "sendp %d %u %" PRIu64, e, len, ns_next(&g.r));
			}
			break;
		default:
			/* settings changed mid-flight (not the mtu: see report) */
			if (ns_below(&g.r, 2))
				emit(&g, "nodelay %d %d %d %d %d", e,
				     (int)ns_below(&g.r, 3) - 1,
				     (int)ns_range(&g.r, 0, 120) - 10,
				     (int)ns_below(&g.r, 5) - 1,
				     (int)ns_below(&g.r, 3) - 1);
			else
				emit(&g, "wndsize %d %d %d", e,
				     (int)ns_range(&g.r, 0, 1024) - 1,
				     (int)ns_range(&g.r, 0, 1024) - 1);
			break;
		}
	}
	sb_printf(script, "end\n");
	interp_line(it, "end");
}

/* ---- running kcp-go and comparing ------------------------------------------ */

static const char *tracer;

static char workdir[512];
static long mismatches;

struct item {
	char name[64];
	size_t c_off, c_len;	/* this script's C output in the batch */
	size_t s_off, s_len;	/* its text in the batch script */
	bool known;		/* a documented difference: report, do not fail */
	const char *what;
	int differs;		/* result: 0 same, 1 differs */
};

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc(n + 1);
	if (p && fread(p, 1, n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	if (p)
		p[n] = 0;
	fclose(f);
	*len = p ? (size_t)n : 0;
	return p;
}

static bool write_file(const char *path, const char *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok;

	if (!f)
		return false;
	ok = fwrite(p, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

/* Next line of @p (within [*pos, end)); returns its length, -1 at the end. */
static long next_line(const char *p, size_t end, size_t *pos, const char **line)
{
	size_t s = *pos, e = s;

	if (s >= end)
		return -1;
	while (e < end && p[e] != '\n')
		e++;
	*line = p + s;
	*pos = e < end ? e + 1 : e;
	return (long)(e - s);
}

static void show(const char *tag, const char *l, long n)
{
	printf("#   %s: %.*s%s\n", tag, (int)(n > 300 ? 300 : n), l,
	       n > 300 ? "..." : "");
}

/*
 * Compare one script's outputs; on the first difference print where it
 * is, keep the script for replay and return 1.
 */
static int compare_one(struct item *it, const char *c, size_t clen,
		       const char *go, size_t golen, const char *script,
		       size_t slen)
{
	size_t cp = 0, gp = 0;
	const char *cl, *gl, *lastop = "(start)";
	long cn, gn, lastn = 7, lineno = 0;
	char path[700];

	for (;;) {
		cn = next_line(c, clen, &cp, &cl);
		gn = next_line(go, golen, &gp, &gl);
		lineno++;
		if (cn < 0 && gn < 0)
			return 0;
		if (cn != gn || memcmp(cl, gl, cn))
			break;
		if (cn > 2 && cl[0] == '>') {
			lastop = cl;
			lastn = cn;
		}
	}
	snprintf(path, sizeof(path), "%s/diff-%s.engine", workdir, it->name);
	write_file(path, c, clen);
	snprintf(path, sizeof(path), "%s/diff-%s.kcpgo", workdir, it->name);
	write_file(path, go, golen);
	snprintf(path, sizeof(path), "%s/diff-%s.txt", workdir, it->name);
	write_file(path, script, slen);
	printf("# %s %s: engine and kcp-go differ at output line %ld, after\n",
	       it->known ? "known difference" : "MISMATCH", it->name, lineno);
	show("op", lastop, lastn);
	show("engine", cn < 0 ? "(end)" : cl, cn < 0 ? 5 : cn);
	show("kcp-go", gn < 0 ? "(end)" : gl, gn < 0 ? 5 : gn);
	printf("#   replay: %s < %s (kcp-go); full outputs in %s/diff-%s.{engine,kcpgo}\n",
	       tracer, path, workdir, it->name);
	if (it->name[0] >= '0' && it->name[0] <= '9')
		printf("#   regenerate: ENGINE_DIFF_SEED=%s test_engine_diff\n", it->name);
	return 1;
}

/*
 * Run a batch of scripts through kcptrace and compare with the C outputs.
 * Returns false when the tracer itself failed.
 */
static bool run_batch(struct item *items, int n, struct sbuf *script,
		      struct sbuf *cout)
{
	char in[600], outp[600], cmd[2000];
	size_t golen, pos = 0;
	char *go;
	int i, rc;

	/* per process: concurrent runs must not share the files */
	snprintf(in, sizeof(in), "%s/batch-%d.txt", workdir, (int)getpid());
	snprintf(outp, sizeof(outp), "%s/batch-%d.out", workdir, (int)getpid());
	if (!write_file(in, script->p, script->len)) {
		printf("# cannot write %s\n", in);
		return false;
	}
	snprintf(cmd, sizeof(cmd), "'%s' < '%s' > '%s'", tracer, in, outp);
	rc = system(cmd);
	if (rc) {
		printf("# %s failed (status %d)\n", cmd, rc);
		return false;
	}
	go = read_file(outp, &golen);
	unlink(in);
	unlink(outp);
	if (!go)
		return false;
	for (i = 0; i < n; i++) {
		const char *l;
		size_t start = pos, end;
		long ln;

		/* the Go output of script i: from its "begin" to its "end" */
		while ((ln = next_line(go, golen, &pos, &l)) >= 0)
			if (ln == 3 && !memcmp(l, "end", 3))
				break;
		end = pos;
		items[i].differs = compare_one(&items[i], cout->p + items[i].c_off,
					       items[i].c_len, go + start, end - start,
					       script->p + items[i].s_off,
					       items[i].s_len);
		if (items[i].differs && !items[i].known)
			mismatches++;
	}
	free(go);
	return true;
}

/* ---- directed scripts -------------------------------------------------------- */

struct directed {
	const char *name;
	bool known;		/* expected to differ: a documented difference */
	const char *what;
	const char *text;	/* lines without begin/end */
};

static const struct directed directed[] = {
	{ "basic-pair", false, "two endpoints, data both ways, loss and reorder",
	  "clock 1000\nnew 0 7\nnew 1 7\nsendp 0 5000 1\nsendp 1 100 2\nflush 0\nflush 1\n"
	  "deliver 0 1 1 0\ndrop 0 0\ndeliver 0 0 1 0\nclock 1030\nflush 1\ndeliver 1 0 1 0\n"
	  "deliver 1 0 1 0\nclock 1100\nflush 0\ndeliver 0 0 1 1\ndeliver 0 0 1 1\ndrain 1\ndrain 0\n"
	  "clock 1400\nflush 0\nflush 1\ndeliver 0 0 1 0\ndeliver 1 0 1 0\ndeliver 0 0 1 0\n"
	  "clock 1450\nflush 1\ndeliver 1 0 1 0\ndrain 1\n" },
	{ "probe-cycle", false, "zero window: WASK backoff, WINS on WASK and on drain",
	  "clock 5\nnew 0 9\nnew 1 9\nwndsize 1 32 4\nsendp 0 400 3\nsendp 0 400 4\nsendp 0 400 5\n"
	  "sendp 0 400 6\nsendp 0 400 7\nnodelay 0 0 10 0 1\nflush 0\ndeliver 0 0 1 0\n"
	  "clock 20\nflush 1\ndeliver 1 0 1 0\nclock 7100\nflush 0\nflush 0\nclock 14200\nflush 0\n"
	  "clock 17600\nflush 0\ndeliver 0 0 1 0\nflush 1\ndeliver 1 0 1 0\nrecv 1\nflush 1\n"
	  "deliver 1 0 1 0\nflush 0\ndeliver 0 0 1 0\nflush 1\ndrain 1\n" },
	{ "stream-topup", false, "stream mode top-up, then segments in flight",
	  "clock 0\nnew 0 1\nmtu 0 100\nstream 0 1\nsend 0 6162\nsend 0 6263\nsendp 0 200 9\n"
	  "flush 0\nsend 0 64\nsendp 0 60 10\n" },
	{ "frg-limit", false, "255 fragments accepted, 256 refused",
	  "clock 0\nnew 0 1\nmtu 0 60\nsendp 0 9180 1\nsendp 0 9181 1\n" },
	{ "mtu-validation", false, "mtu and reserve bounds",
	  "clock 0\nnew 0 1 20\nmtu 0 50\nmtu 0 45\nmtu 0 1500\nnew 1 1 1376\nnew 1 1 1375\n"
	  "new 1 1 35\nmtu 1 60\nsend 1 61\n" },
	{ "acked-una-stall", false,
	  "kcp-go liveness hole, mirrored: individually acked segments wait for a una that a late stale wnd and a lost WINS never bring",
	  "clock 0\nnew 0 5\nnew 1 5\nnodelay 0 0 10 0 1\nwndsize 1 32 2\nsendp 0 10 1\nflush 0\n"
	  "deliver 0 0 1 0\nclock 10\nflush 1\nsendp 0 10 2\nsendp 0 10 3\nsendp 0 10 4\nflush 0\n"
	  "deliver 0 0 1 0\nclock 20\nflush 1\ndeliver 1 1 1 0\ndeliver 1 0 1 0\ndrain 1\n"
	  "clock 30\nflush 1\ndrop 1 0\nclock 7100\nflush 0\nflush 1\nclock 600000\nflush 0\nflush 1\n" },
	/* documented or newly found differences: reported, not failed */
	{ "known-mtu-after-reserve", true,
	  "kcp-go SetMtu checks reserved against the OLD mtu: reserve 28 then mtu 52 gives mss 0 in kcp-go (divide by zero on Send), the engine refuses",
	  "clock 0\nnew 0 1 28\nmtu 0 52\n" },
	{ "known-reserve-after-start", true,
	  "reserve changed after the first tick: the engine resets incr to the new mss (it assumes UDPSession order), kcp-go keeps incr = 1376",
	  "clock 0\nnew 0 1\nreserve 0 20\n" },
	{ "known-frg255", true,
	  "kcp-go PeekSize computes frg+1 in uint8: a head segment with frg 255 counts as complete at once and Recv returns a partial message; the engine waits for all 256",
	  "clock 0\nnew 0 1\nwndsize 0 32 512\n"
	  "input 0 0100000051ff200000000000000000000000000003000000616263 1 0\npeek 0\nrecv 0\n" },
	{ "known-stream-frg", true,
	  "stream reads in the engine ignore frg (kcp-go Recv waits for the whole message even in stream mode)",
	  "clock 0\nnew 0 1\nstream 0 1\n"
	  "input 0 01000000510120000000000000000000000000000300000061626301 1 0\ndrain 0\n" },
	{ "known-stream-empty", true,
	  "empty PUSH segments alone in a stream-mode queue: kcp-go Recv pops them (returns 0), the engine's stream read returns -EAGAIN and leaves them in the window",
	  "clock 0\nnew 0 1\nstream 0 1\n"
	  "input 0 010000005100200000000000000000000000000000000000 1 0\ndrain 0\n" },
	{ "known-partial-read", true,
	  "stream read of part of a segment: kcp-go's UDPSession.Read pops the whole segment (window reopens), the engine keeps it queued until fully read",
	  "clock 0\nnew 0 1\nstream 0 1\n"
	  "input 0 0100000051002000000000000000000000000000050000006162636465 1 0\nread 0 2\nflush 0\n" },
	{ "known-wnd-clamp", true,
	  "windows above 65535: the engine clamps, kcp-go advertises uint16(rcv_wnd - queued)",
	  "clock 0\nnew 0 1\nwndsize 0 70000 70000\n"
	  "input 0 010000005100200000000000000000000000000001000000aa 1 0\nflush 0\n" },
	{ "known-toggle-stream", true,
	  "switching a queued message-mode segment to stream mode: kcp-go tops it up to mss, the engine only to the segment's allocation",
	  "clock 0\nnew 0 1\nsend 0 6162\nstream 0 1\nsend 0 63646566\n" },
	{ "known-mtu-shrink-busy", true,
	  "mtu lowered below queued segments: the engine refuses (-EBUSY); kcp-go accepts and its next flush panics (slice bounds)",
	  "clock 0\nnew 0 1\nsendp 0 1000 1\nmtu 0 500\n" },
	{ "known-stream-255", true,
	  "stream-mode send of more than 255*mss bytes: kcp-go Send refuses it (after topping up), the engine queues it (UDPSession.Write splits into mss chunks, so kcp-go never hits this)",
	  "clock 0\nnew 0 1\nmtu 0 50\nstream 0 1\nsendp 0 6700 1\n" },
};

static void add_script(struct item *it, const char *name, struct sbuf *script,
		       struct sbuf *cout)
{
	snprintf(it->name, sizeof(it->name), "%s", name);
	it->s_off = script->len;
	it->c_off = cout->len;
}

static void end_script(struct item *it, struct sbuf *script, struct sbuf *cout)
{
	it->s_len = script->len - it->s_off;
	it->c_len = cout->len - it->c_off;
}

static void run_directed(struct interp *ip)
{
	struct item items[ARRAY_SIZE(directed)];
	struct sbuf script = { 0 }, cout = { 0 };
	unsigned int i;

	ip->out = &cout;
	for (i = 0; i < ARRAY_SIZE(directed); i++) {
		const char *p = directed[i].text;
		char line[4096];

		memset(&items[i], 0, sizeof(items[i]));
		add_script(&items[i], directed[i].name, &script, &cout);
		items[i].known = directed[i].known;
		items[i].what = directed[i].what;
		snprintf(line, sizeof(line), "begin %s", directed[i].name);
		sb_printf(&script, "%s\n", line);
		interp_line(ip, line);
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t l = nl ? (size_t)(nl - p) : strlen(p);

			snprintf(line, sizeof(line), "%.*s", (int)l, p);
			sb_printf(&script, "%s\n", line);
			interp_line(ip, line);
			p += l + (nl != NULL);
		}
		sb_printf(&script, "end\n");
		interp_line(ip, "end");
		end_script(&items[i], &script, &cout);
	}
	if (!run_batch(items, ARRAY_SIZE(directed), &script, &cout)) {
		kt_result(0, "diff: kcptrace ran the directed scripts");
	} else {
		for (i = 0; i < ARRAY_SIZE(directed); i++) {
			if (!items[i].known) {
				kt_result(!items[i].differs, "diff: directed %s (%s)",
					   items[i].name, directed[i].what);
			} else if (items[i].differs) {
				/* visible, but not a failure: see the report */
				printf("not ok %d - diff: %s # TODO known difference: %s\n",
				       ++kt_n, items[i].name, directed[i].what);
			} else {
				kt_result(1, "diff: %s no longer differs (%s)",
					   items[i].name, directed[i].what);
			}
		}
	}
	sb_free(&script);
	sb_free(&cout);
}

static void run_random(struct interp *ip)
{
	const char *s = getenv("ENGINE_DIFF_SCRIPTS");
	const char *one = getenv("ENGINE_DIFF_SEED");
	long total = one ? 1 : s ? atol(s) : DEFAULT_SCRIPTS, done = 0, i;
	struct item *items = calloc(BATCH, sizeof(*items));
	u64 ops = 0;
	bool ok = true;

	mismatches = 0;
	while (done < total && ok) {
		struct sbuf script = { 0 }, cout = { 0 };
		int n = 0;

		ip->out = &cout;
		for (i = 0; i < BATCH && done + i < total; i++) {
			u64 seed = one ? strtoull(one, NULL, 0) : SEED_BASE + done + i;
			char name[64];

			snprintf(name, sizeof(name), "%" PRIu64, seed);
			memset(&items[n], 0, sizeof(items[n]));
			add_script(&items[n], name, &script, &cout);
			gen_script(seed, ip, &script);
			if (ip->err[0]) {
				printf("# script %s: interpreter error: %s\n", name, ip->err);
				ok = false;
			}
			end_script(&items[n], &script, &cout);
			n++;
		}
		for (i = 0; i < (long)script.len; i++)
			ops += script.p[i] == '\n';
		if (one) {
			char path[700];

			snprintf(path, sizeof(path), "%s/script-%s.txt", workdir, one);
			write_file(path, script.p, script.len);
			printf("# script kept in %s\n", path);
		}
		if (ok && !run_batch(items, n, &script, &cout))
			ok = false;
		done += n;
		sb_free(&script);
		sb_free(&cout);
		if (mismatches >= 5)
			break;
	}
	free(items);
	printf("# coverage: PUSH %llu ACK %llu WASK %llu WINS %llu segs with frg>0 %llu; fast %llu early %llu rto %llu repeat %llu input errors %llu; steps with rmt_wnd 0 %llu, probe armed %llu, >100 acks queued %llu; dead-link endpoints %llu\n",
	       (unsigned long long)cov.cmd[0], (unsigned long long)cov.cmd[1],
	       (unsigned long long)cov.cmd[2], (unsigned long long)cov.cmd[3],
	       (unsigned long long)cov.frg_segs, (unsigned long long)cov.fast,
	       (unsigned long long)cov.early, (unsigned long long)cov.lost,
	       (unsigned long long)cov.repeat, (unsigned long long)cov.inerr,
	       (unsigned long long)cov.zero_wnd,
	       (unsigned long long)cov.probes_armed,
	       (unsigned long long)cov.acks_hi, (unsigned long long)cov.dead);
	kt_result(ok && !mismatches,
		   "diff: %ld random scripts (%llu operations) identical in kcp-go and the engine (%ld differ)",
		   done, (unsigned long long)ops, mismatches);
}

int main(void)
{
	struct interp ip;

	memset(&ip, 0, sizeof(ip));
	ip.rbuf = malloc(RBUF_SIZE);
	tracer = getenv("KCPTRACE") ? getenv("KCPTRACE") : KCPTRACE_BIN;
	snprintf(workdir, sizeof(workdir), "%s/engine_diff", ENGINE_WORKDIR);
	mkdir(workdir, 0755);
	if (!tracer[0] || access(tracer, X_OK)) {
		const char *why = KCPTRACE_SKIP[0] ? KCPTRACE_SKIP :
				  "kcptrace not built";

		kt_skip(why, "diff: directed scripts against kcp-go");
		kt_skip(why, "diff: random scripts against kcp-go");
		interp_reset(&ip);
		free(ip.rbuf);
		return kt_done();
	}
	run_directed(&ip);
	run_random(&ip);
	interp_reset(&ip);
	free(ip.rbuf);
	return kt_done();
}
