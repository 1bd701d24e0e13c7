// SPDX-License-Identifier: GPL-2.0
/*
 * kcp-go 5.6.1 FEC framing: the encoder (byte-identical output) and a
 * decoder with kcp-go's window semantics but fixed, verified shard counts.
 *
 * Why the decoder never guesses the peer's (d, p): kcp-go auto-tunes them
 * from the flags it sees, and until right (or when wrong) rebuilds
 * "missing" shards out of wrongly grouped ones (wire spec 5.6). Checking
 * that every shard of a group has the flag our (d, p) expects at its
 * position is not enough: a 10/3 stream read as 2/1 has groups such as
 * seqids 9, 10, 11 where 9 (data) and 11 (parity) both look right; if 10
 * is lost, "rebuilding" it from them yields garbage that can still carry
 * a valid size field. With exactly d shards present nothing inside the
 * group can tell: any d shards are a valid codeword of some data. So the
 * decoder proves the peer's counts from the stream instead
 * (kcp_fec_verify()) and only rebuilds once every other (d', p') a kcp-go
 * sender could use has been refuted by an observed flag; a flag
 * contradicting our own (d, p) at any time stops rebuilding and restarts
 * the proof, which a peer with other counts never completes (this also
 * catches kcp-go 5.6.6..5.6.15, whose skipped parity shifts later groups
 * off seqid alignment) and a single forged shard only delays. Rebuilt
 * shards must still pass the
 * size and zero-padding checks, which catch other corruption.
 */
#include "kcp_fec.h"

#define KCP_FEC_PEER_MAX	256	/* klauspost allows d + p <= 256 */
#define KCP_FEC_WINDOW		65536	/* seqids a shard may lie from the newest */
#define KCP_FEC_RESYNC		4	/* far datagrams in a row: peer moved on */
#define KCP_FEC_DONE		8	/* finished groups remembered */
/*
 * After a contradicting flag, agreeing shards needed before rebuilding
 * resumes, in groups. A stream shifted off seqid alignment (kcp-go
 * 5.6.6..15) puts at least two contradicting flags in every group, so it
 * passes only if each of those 16 or more is lost: 1.5e-5 at 50 % loss.
 */
#define KCP_FEC_REPROOF		8

static u32 kcp_fec_paws(unsigned int n)
{
	/* kcp-go: seqids wrap at a multiple of n so groups stay aligned */
	return 0xFFFFFFFFu / n * n;
}

int kcp_fec_check_shards(unsigned int d, unsigned int p)
{
	/* each alone first: d + p must not wrap ({0xffffffff, 2} is 1) */
	if (d < 1 || p < 1 || d > KCP_RS_MAX_SHARDS ||
	    p > KCP_RS_MAX_SHARDS - d)
		return -EINVAL;
	return 0;
}

enum kcp_fec_kind kcp_fec_parse(const u8 *pkt, size_t len, const u8 **kcp,
				size_t *kcp_len)
{
	u16 flag = len >= KCP_FEC_SHARD_OFF ? kcp_get_le16(pkt + 4) : 0;

	*kcp = NULL;
	*kcp_len = 0;
	if (flag != KCP_FEC_TYPE_DATA && flag != KCP_FEC_TYPE_PARITY) {
		*kcp = pkt;
		*kcp_len = len;
		return KCP_FEC_NONE;
	}
	if (len < KCP_FEC_HDR || len > KCP_FEC_DGRAM_MAX)
		return KCP_FEC_BAD;
	if (flag == KCP_FEC_TYPE_PARITY)
		return KCP_FEC_PARITY;
	/* kcp-go writes size = len - 6; anything else was not built by it */
	if (kcp_get_le16(pkt + KCP_FEC_SHARD_OFF) != len - KCP_FEC_SHARD_OFF)
		return KCP_FEC_BAD;
	*kcp = pkt + KCP_FEC_HDR;
	*kcp_len = len - KCP_FEC_HDR;
	return KCP_FEC_DATA;
}

/* ---- encoder ---- */

int kcp_fec_enc_init(struct kcp_fec_enc *enc, unsigned int d, unsigned int p)
{
	int err = kcp_fec_check_shards(d, p);

	if (err)
		return err;
	memset(enc, 0, sizeof(*enc));
	enc->d = d;
	enc->p = p;
	enc->paws = kcp_fec_paws(d + p);
	return 0;
}

static void kcp_fec_enc_free(struct kcp_fec_enc *enc)
{
	unsigned int i;

	if (enc->par)
		for (i = 0; i < enc->p; i++)
			kcp_env_free(enc->par[i]);
	kcp_env_free(enc->par);
	kcp_env_free(enc->rows);
	enc->par = NULL;
	enc->rows = NULL;
	enc->plen = 0;
}

void kcp_fec_enc_destroy(struct kcp_fec_enc *enc)
{
	kcp_fec_enc_free(enc);
}

void kcp_fec_enc_shrink(struct kcp_fec_enc *enc)
{
	/* a group in progress has parity folded in that must not be lost */
	if (!enc->count)
		kcp_fec_enc_free(enc);
}

static bool kcp_fec_enc_alloc(struct kcp_fec_enc *enc, bool may_sleep)
{
	unsigned int i;
	u8 *scratch;

	if (enc->par)
		return true;
	enc->rows = kcp_env_alloc(enc->p * enc->d, may_sleep);
	enc->par = kcp_env_zalloc(enc->p * sizeof(*enc->par), may_sleep);
	scratch = kcp_env_alloc(KCP_RS_SCRATCH(enc->d), may_sleep);
	if (!enc->rows || !enc->par || !scratch)
		goto fail;
	for (i = 0; i < enc->p; i++) {
		enc->par[i] = kcp_env_alloc(KCP_FEC_SHARD_MAX, may_sleep);
		if (!enc->par[i])
			goto fail;
	}
	kcp_rs_parity_rows(enc->d, enc->p, enc->rows, scratch);
	kcp_env_free(scratch);
	return true;
fail:
	kcp_env_free(scratch);
	kcp_fec_enc_free(enc);
	return false;
}

/* parity_i ^= M[d+i][count] * shard, the shard zero-padded to the group */
static void kcp_fec_enc_fold(struct kcp_fec_enc *enc, const u8 *shard,
			     u16 slen)
{
	unsigned int i;
	u8 c, *acc;

	for (i = 0; i < enc->p; i++) {
		acc = enc->par[i];
		c = enc->rows[i * enc->d + enc->count];
		if (!enc->count) {
			kcp_rs_mul_set(acc, shard, slen, c);
			continue;
		}
		if (slen > enc->maxlen)
			memset(acc + enc->maxlen, 0, slen - enc->maxlen);
		kcp_rs_mul_add(acc, shard, slen, c);
	}
}

int kcp_fec_encode(struct kcp_fec_enc *enc, u8 *dgram, size_t len,
		   bool may_sleep)
{
	u16 slen;

	if (len < KCP_FEC_HDR || len > KCP_FEC_DGRAM_MAX)
		return -EINVAL;
	slen = (u16)(len - KCP_FEC_SHARD_OFF);
	enc->plen = 0;
	if (!enc->count) {
		enc->maxlen = 0;
		enc->skip = !kcp_fec_enc_alloc(enc, may_sleep);
		enc->nomem += enc->skip;
	}
	/* kcp-go's markData: data seqids never wrap, parity ones do */
	kcp_put_le32(dgram, enc->next++);
	kcp_put_le16(dgram + 4, KCP_FEC_TYPE_DATA);
	kcp_put_le16(dgram + KCP_FEC_SHARD_OFF, slen);
	if (!enc->skip)
		kcp_fec_enc_fold(enc, dgram + KCP_FEC_SHARD_OFF, slen);
	enc->maxlen = max(enc->maxlen, slen);
	if (++enc->count < enc->d)
		return 0;

	/* markParity p times: next = (next + 1) % paws, once per parity */
	enc->count = 0;
	enc->pseq = enc->next;
	enc->next = (u32)(((u64)enc->next + enc->p) % enc->paws);
	if (enc->skip)
		return 0;
	enc->plen = enc->maxlen;
	return enc->p;
}

size_t kcp_fec_enc_parity_len(const struct kcp_fec_enc *enc)
{
	return enc->plen ? enc->plen + KCP_FEC_SHARD_OFF : 0;
}

int kcp_fec_enc_parity(const struct kcp_fec_enc *enc, unsigned int i,
		       u8 *buf, size_t cap)
{
	size_t len = kcp_fec_enc_parity_len(enc);

	if (!len || i >= enc->p)
		return -EINVAL;
	if (cap < len)
		return -EMSGSIZE;
	kcp_put_le32(buf, enc->pseq + i);
	kcp_put_le16(buf + 4, KCP_FEC_TYPE_PARITY);
	memcpy(buf + KCP_FEC_SHARD_OFF, enc->par[i], enc->plen);
	return (int)len;
}

/* ---- decoder ---- */

struct kcp_fec_shard {
	u32 seqid;
	u32 ts;			/* arrival, for expiry */
	u16 len;		/* shard bytes (size field on) */
	u8 data;		/* data shard, else parity */
	u8 bytes[];
};

/* The receive window, allocated on the first FEC datagram. */
struct kcp_fec_win {
	u16 cnt;			/* shards in q[] */
	u16 nrec;			/* valid rebuilt shards in rec[] */
	bool top_valid;
	u8 far_cnt;			/* out-of-window datagrams in a row */
	u8 done_pos, done_cnt;
	u16 out_len;			/* of each buffer in out[] */
	u32 size;			/* of this allocation */
	u32 held;			/* bytes of shards in q[] and out[] */
	u32 top;			/* newest seqid accepted */
	u32 top_ts;			/* when a datagram was last accepted */
	u32 far_seq;
	u32 done[KCP_FEC_DONE];		/* first seqids of finished groups */
	const u8 **shards;		/* [n] group being rebuilt */
	u8 **out;			/* [d] rebuilt shards by position */
	u16 *lens;			/* [n] */
	u8 *rec;			/* [d] positions handed back */
	u8 *scratch;			/* KCP_RS_SCRATCH(d) */
	struct kcp_fec_shard *q[];	/* [rxlimit + 1], by seqid */
};

/* Per candidate group size n' = 2..256, the d' not yet refuted. */
struct kcp_fec_verify {
	u16 alive;			/* candidates with lo <= hi */
	u8 lo[KCP_FEC_PEER_MAX - 1];
	u8 hi[KCP_FEC_PEER_MAX - 1];
};

int kcp_fec_dec_init(struct kcp_fec_dec *dec, unsigned int d, unsigned int p)
{
	int err = kcp_fec_check_shards(d, p);

	if (err)
		return err;
	memset(dec, 0, sizeof(*dec));
	dec->d = d;
	dec->p = p;
	dec->n = d + p;
	dec->rxlimit = KCP_FEC_RX_MULTI * dec->n;
	dec->paws = kcp_fec_paws(dec->n);
	dec->state = KCP_FEC_UNVERIFIED;
	return 0;
}

static bool kcp_fec_win_alloc(struct kcp_fec_dec *dec, bool may_sleep)
{
	struct kcp_fec_win *w;
	size_t size;
	u8 *tail;

	size = sizeof(*w) + (dec->rxlimit + 1) * sizeof(w->q[0]) +
	       dec->n * sizeof(*w->shards) + dec->d * sizeof(*w->out) +
	       dec->n * sizeof(*w->lens) + dec->d +
	       KCP_RS_SCRATCH(dec->d);
	w = kcp_env_zalloc(size, may_sleep);
	if (!w)
		return false;
	w->shards = (const u8 **)&w->q[dec->rxlimit + 1];
	w->out = (u8 **)&w->shards[dec->n];
	w->lens = (u16 *)&w->out[dec->d];
	tail = (u8 *)&w->lens[dec->n];
	w->rec = tail;
	w->scratch = tail + dec->d;
	w->size = size;
	dec->win = w;
	return true;
}

size_t kcp_fec_dec_held(const struct kcp_fec_dec *dec)
{
	size_t held = dec->verify ? sizeof(*dec->verify) : 0;

	if (dec->win)
		held += dec->win->size + dec->win->held;
	return held;
}

static void kcp_fec_put_out(struct kcp_fec_win *w)
{
	unsigned int i;

	for (i = 0; i < w->nrec; i++) {
		kcp_env_free(w->out[w->rec[i]]);
		w->out[w->rec[i]] = NULL;
		w->held -= w->out_len;
	}
	w->nrec = 0;
}

static void kcp_fec_remove(struct kcp_fec_win *w, unsigned int first,
			   unsigned int count)
{
	unsigned int i;

	for (i = first; i < first + count; i++) {
		w->held -= sizeof(*w->q[i]) + w->q[i]->len;
		kcp_env_free(w->q[i]);
	}
	memmove(&w->q[first], &w->q[first + count],
		(w->cnt - first - count) * sizeof(w->q[0]));
	w->cnt -= count;
}

/* kcp-go drops the lowest seqid, counting unrecoverable data shards */
static void kcp_fec_evict_head(struct kcp_fec_dec *dec)
{
	dec->st.short_shards += dec->win->q[0]->data;
	kcp_fec_remove(dec->win, 0, 1);
}

/* As kcp-go: head entries (lowest seqids) older than 60 s go. */
static void kcp_fec_expire(struct kcp_fec_win *w, u32 now)
{
	unsigned int n = 0;

	while (n < w->cnt && kcp_timediff(now, w->q[n]->ts) > KCP_FEC_EXPIRE)
		n++;
	if (n)
		kcp_fec_remove(w, 0, n);
}

static void kcp_fec_flush(struct kcp_fec_win *w)
{
	kcp_fec_remove(w, 0, w->cnt);
	w->done_cnt = 0;
}

static void kcp_fec_win_free(struct kcp_fec_dec *dec)
{
	if (!dec->win)
		return;
	kcp_fec_put_out(dec->win);
	kcp_fec_flush(dec->win);
	kcp_env_free(dec->win);
	dec->win = NULL;
}

void kcp_fec_dec_destroy(struct kcp_fec_dec *dec)
{
	kcp_fec_win_free(dec);
	kcp_env_free(dec->verify);
	dec->verify = NULL;
}

void kcp_fec_dec_shrink(struct kcp_fec_dec *dec, u32 now)
{
	if (!dec->win)
		return;
	kcp_fec_put_out(dec->win);
	kcp_fec_expire(dec->win, now);
	if (!dec->win->cnt)
		kcp_fec_win_free(dec);
}

/*
 * A flag our (d, p) does not expect: the peer's counts differ, or the
 * datagram was forged (a parity shard carries no conv: anyone who knows
 * the addresses can send one). Stop rebuilding and drop what is stored,
 * then prove the counts again from scratch: a peer with other counts
 * contradicts us again within a group and is never confirmed (its own
 * (d', p') always stays a candidate), while one forged datagram costs a
 * matching stream only the time to prove it anew.
 */
static void kcp_fec_mismatch(struct kcp_fec_dec *dec)
{
	dec->state = KCP_FEC_MISMATCH;
	dec->clean = 0;
	dec->st.mismatch++;
	kcp_fec_win_free(dec);
	kcp_env_free(dec->verify);
	dec->verify = NULL;
}

static struct kcp_fec_verify *kcp_fec_verify_get(struct kcp_fec_dec *dec,
						 bool may_sleep)
{
	struct kcp_fec_verify *v = dec->verify;
	unsigned int m;

	if (v)
		return v;
	v = kcp_env_alloc(sizeof(*v), may_sleep);
	if (!v)
		return NULL;
	for (m = 2; m <= KCP_FEC_PEER_MAX; m++) {
		v->lo[m - 2] = 1;
		v->hi[m - 2] = m - 1;
	}
	v->alive = KCP_FEC_PEER_MAX - 1;
	dec->verify = v;
	return v;
}

/*
 * A kcp-go sender with (d', p') flags seqid s as data iff s mod n' < d'
 * (groups start at seqid 0, and restart at 0 after paws, a multiple of
 * n'). Each observed flag therefore bounds d' for every n': data means
 * d' > s mod n', parity d' <= s mod n'. Once the only (n', d') left is
 * ours, the peer uses our (d, p): proven, not guessed. A matching stream
 * gets there within a group or two; losses only delay it. Without memory
 * for the candidates we simply learn nothing from this datagram.
 */
static void kcp_fec_verify(struct kcp_fec_dec *dec, u32 seq, bool data,
			   bool may_sleep)
{
	struct kcp_fec_verify *v = kcp_fec_verify_get(dec, may_sleep);
	unsigned int m, r, i;

	if (!v)
		return;
	for (m = 2; m <= KCP_FEC_PEER_MAX; m++) {
		i = m - 2;
		if (v->lo[i] > v->hi[i])
			continue;
		r = seq % m;
		if (data ? r >= v->hi[i] : r < v->lo[i]) {
			v->lo[i] = 1;
			v->hi[i] = 0;
			v->alive--;
		} else if (data) {
			v->lo[i] = max_t(unsigned int, v->lo[i], r + 1);
		} else {
			v->hi[i] = min_t(unsigned int, v->hi[i], r);
		}
	}
	i = dec->n - 2;
	if (dec->st.mismatch && dec->clean < KCP_FEC_REPROOF * dec->n)
		return;
	if (v->alive == 1 && v->lo[i] == dec->d && v->hi[i] == dec->d) {
		dec->state = KCP_FEC_CONFIRMED;
		kcp_env_free(v);
		dec->verify = NULL;
	}
}

/* Drop shards that fell more than a window behind the newest seqid. */
static void kcp_fec_trim(struct kcp_fec_dec *dec)
{
	struct kcp_fec_win *w = dec->win;

	while (w->cnt && (s32)(w->top - w->q[0]->seqid) > KCP_FEC_WINDOW)
		kcp_fec_evict_head(dec);
}

/*
 * A seqid far from the window is a forged or corrupt header, or the peer
 * moved on during a long outage; only the latter repeats with nearby
 * seqids, and then the window restarts there.
 */
static bool kcp_fec_far(struct kcp_fec_dec *dec, u32 seq, u32 now)
{
	struct kcp_fec_win *w = dec->win;
	s32 dist = (s32)(seq - w->far_seq);

	if (w->far_cnt && dist <= KCP_FEC_WINDOW && dist >= -KCP_FEC_WINDOW)
		w->far_cnt++;
	else
		w->far_cnt = 1;
	w->far_seq = seq;
	if (w->far_cnt < KCP_FEC_RESYNC) {
		dec->st.out_of_window++;
		return false;
	}
	kcp_fec_flush(w);
	w->top = seq;
	w->top_ts = now;
	w->far_cnt = 0;
	dec->st.resyncs++;
	return true;
}

/*
 * Keep every shard within KCP_FEC_WINDOW of the newest one, so the window
 * spans far less than 2^31 and wrap-aware ordering stays a total order.
 */
static bool kcp_fec_in_window(struct kcp_fec_dec *dec, u32 seq, u32 now)
{
	struct kcp_fec_win *w = dec->win;
	s32 dist;

	if (!w->top_valid || kcp_timediff(now, w->top_ts) > KCP_FEC_EXPIRE) {
		/* first datagram, or idle so long that all has expired */
		w->top_valid = true;
		w->top = seq;
		w->far_cnt = 0;
		w->done_cnt = 0;
	}
	dist = (s32)(seq - w->top);
	if (dist > KCP_FEC_WINDOW || dist < -KCP_FEC_WINDOW)
		return kcp_fec_far(dec, seq, now);
	w->far_cnt = 0;
	w->top_ts = now;
	if (dist > 0) {
		w->top = seq;
		kcp_fec_trim(dec);
	}
	return true;
}

static bool kcp_fec_done_has(const struct kcp_fec_win *w, u32 base)
{
	unsigned int i;

	for (i = 0; i < w->done_cnt; i++)
		if (w->done[i] == base)
			return true;
	return false;
}

static void kcp_fec_done_add(struct kcp_fec_win *w, u32 base)
{
	w->done[w->done_pos] = base;
	w->done_pos = (w->done_pos + 1) % KCP_FEC_DONE;
	if (w->done_cnt < KCP_FEC_DONE)
		w->done_cnt++;
}

/* Insertion index for seq (wrap-aware, from the newest end), -1 if held. */
static int kcp_fec_find(const struct kcp_fec_win *w, u32 seq)
{
	int i;
	s32 diff;

	for (i = w->cnt - 1; i >= 0; i--) {
		diff = (s32)(seq - w->q[i]->seqid);
		if (!diff)
			return -1;
		if (diff > 0)
			break;
	}
	return i + 1;
}

static bool kcp_fec_insert(struct kcp_fec_win *w, unsigned int pos,
			   const u8 *pkt, size_t len, bool data, u32 now,
			   bool may_sleep)
{
	size_t slen = len - KCP_FEC_SHARD_OFF;
	struct kcp_fec_shard *sh;

	sh = kcp_env_alloc(sizeof(*sh) + slen, may_sleep);
	if (!sh)
		return false;
	sh->seqid = kcp_get_le32(pkt);
	sh->ts = now;
	sh->len = (u16)slen;
	sh->data = data;
	memcpy(sh->bytes, pkt + KCP_FEC_SHARD_OFF, slen);
	memmove(&w->q[pos + 1], &w->q[pos], (w->cnt - pos) * sizeof(w->q[0]));
	w->q[pos] = sh;
	w->cnt++;
	w->held += sizeof(*sh) + slen;
	return true;
}

/* A rebuilt shard must look like kcp-go made it: size, then zero padding. */
static bool kcp_fec_shard_ok(const u8 *b, u16 len)
{
	u16 sz = kcp_get_le16(b);

	if (sz < 2 || sz > len)
		return false;
	for (; sz < len; sz++)
		if (b[sz])
			return false;
	return true;
}

static void kcp_fec_out_free(struct kcp_fec_dec *dec)
{
	unsigned int k;

	for (k = 0; k < dec->d; k++) {
		if (dec->win->out[k])
			dec->win->held -= dec->win->out_len;
		kcp_env_free(dec->win->out[k]);
		dec->win->out[k] = NULL;
	}
}

/*
 * Lay the group out by position. Parity is exactly as long as the
 * group's longest data shard (kcp-go pads to it), so equal parity lengths
 * and no longer data are required. Returns the shard length, 0 if not.
 */
static u16 kcp_fec_layout(struct kcp_fec_dec *dec, unsigned int first,
			  unsigned int count)
{
	struct kcp_fec_win *w = dec->win;
	struct kcp_fec_shard *sh;
	unsigned int i, k;
	u16 len = 0;

	for (i = first; i < first + count; i++)
		if (!w->q[i]->data && !len)
			len = w->q[i]->len;
	for (k = 0; k < dec->n; k++)
		w->shards[k] = NULL;
	for (i = first; i < first + count; i++) {
		sh = w->q[i];
		if (sh->data ? sh->len > len : sh->len != len)
			return 0;
		k = sh->seqid % dec->n;
		w->shards[k] = sh->bytes;
		w->lens[k] = sh->len;
	}
	return len;
}

/* Rebuild the missing data shards of q[first..first+count). */
static int kcp_fec_rebuild(struct kcp_fec_dec *dec, unsigned int first,
			   unsigned int count, bool may_sleep)
{
	struct kcp_fec_win *w = dec->win;
	unsigned int k;
	u16 len;

	len = kcp_fec_layout(dec, first, count);
	if (!len) {
		dec->st.errs++;
		return 0;
	}
	w->out_len = len;
	for (k = 0; k < dec->d; k++) {
		if (w->shards[k])
			continue;
		w->out[k] = kcp_env_alloc(len, may_sleep);
		if (!w->out[k]) {
			kcp_fec_out_free(dec);
			return -ENOMEM;
		}
		w->held += len;
	}
	if (kcp_rs_reconstruct(dec->d, dec->n, w->shards, w->lens, w->out,
			       len, w->scratch) < 0) {
		kcp_fec_out_free(dec);
		dec->st.errs++;
		return 0;
	}
	for (k = 0; k < dec->d; k++) {
		if (w->shards[k])
			continue;
		if (kcp_fec_shard_ok(w->out[k], len)) {
			w->rec[w->nrec++] = k;
			dec->st.recovered++;
		} else {
			kcp_env_free(w->out[k]);
			w->out[k] = NULL;
			w->held -= len;
			dec->st.errs++;
		}
	}
	return w->nrec;
}

/* The group of q[pos] (first seqid base) after an insertion. */
static int kcp_fec_group(struct kcp_fec_dec *dec, unsigned int pos, u32 base,
			 bool may_sleep)
{
	struct kcp_fec_win *w = dec->win;
	unsigned int first = pos, last = pos, i, ndata = 0;
	int ret;

	while (first > 0 && w->q[first - 1]->seqid - base < dec->n)
		first--;
	while (last + 1 < w->cnt && w->q[last + 1]->seqid - base < dec->n)
		last++;
	for (i = first; i <= last; i++)
		ndata += w->q[i]->data;
	if (ndata < dec->d) {
		if (last - first + 1 < dec->d)
			return 0;
		if (dec->state != KCP_FEC_CONFIRMED) {
			dec->st.unverified++;
			return 0;
		}
		ret = kcp_fec_rebuild(dec, first, last - first + 1, may_sleep);
		if (ret < 0) {	/* keep the group: its next shard retries */
			dec->st.nomem++;
			return 0;
		}
	} else {
		ret = 0;
	}
	/* Late shards of a finished group are dropped, not rebuilt again. */
	kcp_fec_remove(w, first, last - first + 1);
	kcp_fec_done_add(w, base);
	return ret;
}

static int kcp_fec_win_input(struct kcp_fec_dec *dec, const u8 *pkt,
			     size_t len, u32 seq, bool data, u32 now,
			     bool may_sleep)
{
	struct kcp_fec_win *w = dec->win;
	u32 base = seq - seq % dec->n;
	int pos, ret;

	kcp_fec_expire(w, now);
	if (!kcp_fec_in_window(dec, seq, now))
		return 0;
	if (kcp_fec_done_has(w, base)) {
		dec->st.late++;
		return 0;
	}
	pos = kcp_fec_find(w, seq);
	if (pos < 0) {
		dec->st.dups++;
		return 0;
	}
	if (!pos && w->cnt >= dec->rxlimit) {
		/* kcp-go would insert it below a full window and evict it */
		dec->st.short_shards += data;
		return 0;
	}
	if (!kcp_fec_insert(w, pos, pkt, len, data, now, may_sleep)) {
		dec->st.nomem++;
		return 0;
	}
	ret = kcp_fec_group(dec, pos, base, may_sleep);
	while (w->cnt > dec->rxlimit)
		kcp_fec_evict_head(dec);
	return ret;
}

int kcp_fec_decode(struct kcp_fec_dec *dec, const u8 *pkt, size_t len,
		   u32 now, bool may_sleep)
{
	const u8 *kcp;
	size_t kcp_len;
	enum kcp_fec_kind kind = kcp_fec_parse(pkt, len, &kcp, &kcp_len);
	bool data = kind == KCP_FEC_DATA;
	u32 seq;

	if (dec->win)
		kcp_fec_put_out(dec->win);
	if (kind != KCP_FEC_DATA && kind != KCP_FEC_PARITY) {
		dec->st.malformed++;
		return -EBADMSG;
	}
	dec->st.parity_shards += !data;
	seq = kcp_get_le32(pkt);
	if (seq >= dec->paws) {		/* never sent with our n */
		dec->st.out_of_window++;
		return 0;
	}
	if ((seq % dec->n < dec->d) != data) {
		kcp_fec_mismatch(dec);
		return 0;
	}
	if (dec->clean != 0xFFFFFFFFu)
		dec->clean++;
	if (dec->state != KCP_FEC_CONFIRMED)
		kcp_fec_verify(dec, seq, data, may_sleep);
	if (!dec->win && !kcp_fec_win_alloc(dec, may_sleep)) {
		dec->st.nomem++;
		return 0;
	}
	return kcp_fec_win_input(dec, pkt, len, seq, data, now, may_sleep);
}

const u8 *kcp_fec_dec_recovered(const struct kcp_fec_dec *dec,
				unsigned int i, size_t *len)
{
	const struct kcp_fec_win *w = dec->win;
	const u8 *b;

	*len = 0;
	if (!w || i >= w->nrec)
		return NULL;
	b = w->out[w->rec[i]];
	*len = kcp_get_le16(b) - 2;
	return b + 2;
}
