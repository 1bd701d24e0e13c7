// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the FEC receive path (kmod/kcp_fec.c, kmod/kcp_rs.c).
 *
 * Mode 0 feeds fuzzer-made datagrams to kcp_fec_decode(): no crash, only
 * 0..d or -EBADMSG (exactly for what kcp_fec_parse() rejects), recovered
 * shards only once the peer's (d, p) is proven, each with a size field
 * that fits its shard, and memory within the window's bound.
 * Mode 1 is a round trip: datagrams through kcp_fec_encode(), a channel
 * that drops, duplicates and reorders as the input says, then the
 * decoder: every recovered shard must equal an original data shard byte
 * for byte, and with in-order delivery every group that got d shards
 * after the decoder was confirmed must have all its lost data rebuilt.
 *
 * Input layout:
 *   0      flags: 1 round trip, 2 allocation failures, 4 any (d, p)
 *                 (else d <= 16, p <= 8), 8 may_sleep,
 *                 0x10 (round trip) start just before the seqid wrap
 *   1      d selector     2  p selector
 *   3..10  failure mask LE64      11..14  initial clock LE32
 *   mode 0, records until the input ends:
 *     h: & 3 clock step (0, +byte ms, +byte s, +61 s); & 4 shrink first;
 *        & 8 rewrite header: seqid = previous + (s8)byte, flag by
 *        position, size = len - 6 for data; & 0x10 with & 8: the step
 *        is (s8)byte * 16384 (far seqids: window trim and resync)
 *     [step byte] [seqid byte] LE16 length % 1601, then the bytes
 *   mode 1: N = 1 + byte % 160 datagrams; per datagram a length byte
 *     (KCP bytes = b * 6, at most 1492); per shard sent a channel byte:
 *     & 3 == 1 drop, == 2 duplicate, == 3 hold back (b >> 2) % 8 shards
 */
#include "fuzz_common.h"
#include "kcp_fec.h"
#include "rs_tables.h"

#define HDR_LEN		15
#define MAX_DGRAMS	160
#define MAX_HELD	512

static struct kcp_fec_dec dec;
static u32 now;
static u16 max_shard;	/* longest shard (len - 6) fed so far */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (fuzz_rs_init())
		abort();
	return 0;
}

static void pick_dp(u8 flags, u8 a, u8 b, u32 *d, u32 *p)
{
	if (flags & 4) {
		*d = 1 + a % (KCP_RS_MAX_SHARDS - 1);
		*p = 1 + b % (KCP_RS_MAX_SHARDS - *d);
	} else {
		*d = 1 + a % 16;
		*p = 1 + b % 8;
	}
}

/* Generous: window, verifier, rxlimit + 1 queued shards, d rebuilt ones. */
static size_t dec_mem_bound(void)
{
	size_t shard = 32 + KCP_FEC_SHARD_MAX;

	return 16384 + (size_t)(dec.rxlimit + 1) * (shard + 16) +
	       (size_t)dec.d * KCP_FEC_SHARD_MAX;
}

/* Feed one datagram; checks; returns the number of recovered shards. */
static int feed(const u8 *pkt, size_t len, bool may_sleep,
		const u8 **rec, size_t *rec_len)
{
	const u8 *kcp;
	size_t kcp_len, l;
	enum kcp_fec_kind kind = kcp_fec_parse(pkt, len, &kcp, &kcp_len);
	u8 *copy = malloc(len ? len : 1);
	int ret, i;
	size_t held0;
	s64 live0;

	memcpy(copy, pkt, len);
	if (kind == KCP_FEC_DATA || kind == KCP_FEC_PARITY)
		max_shard = max_t(u16, max_shard, len - KCP_FEC_SHARD_OFF);
	held0 = kcp_fec_dec_held(&dec);
	live0 = (s64)fuzz_alloc.live;
	ret = kcp_fec_decode(&dec, copy, len, now, may_sleep);
	/* what the kernel charges to the socket is what the decoder holds */
	FUZZ_CHECK((s64)fuzz_alloc.live - live0 ==
		   (s64)kcp_fec_dec_held(&dec) - (s64)held0,
		   "decoder allocated %lld bytes, says it holds %lld more",
		   (long long)((s64)fuzz_alloc.live - live0),
		   (long long)kcp_fec_dec_held(&dec) - (long long)held0);
	if (kind == KCP_FEC_DATA || kind == KCP_FEC_PARITY)
		FUZZ_CHECK(ret >= 0 && ret <= dec.d,
			   "decode of a %s shard returned %d (d %u)",
			   kind == KCP_FEC_DATA ? "data" : "parity", ret, dec.d);
	else
		FUZZ_CHECK(ret == -EBADMSG, "decode of kind %d returned %d",
			   kind, ret);
	FUZZ_CHECK(!memcmp(copy, pkt, len), "decoder wrote to its input");
	FUZZ_CHECK(ret <= 0 || dec.state == KCP_FEC_CONFIRMED,
		   "rebuilt %d shards in state %u", ret, dec.state);
	for (i = 0; i < (ret > 0 ? ret : 0); i++) {
		const u8 *r = kcp_fec_dec_recovered(&dec, i, &l);

		FUZZ_CHECK(r, "recovered shard %d of %d missing", i, ret);
		FUZZ_CHECK(l + 2 <= max_shard && l + 2 <= KCP_FEC_SHARD_MAX,
			   "recovered %zu bytes, longest shard %u", l,
			   max_shard);
		FUZZ_CHECK(kcp_get_le16(r - 2) == l + 2,
			   "size field %u for %zu bytes", kcp_get_le16(r - 2), l);
		fuzz_touch(r, l);	/* ASan checks every byte */
		if (rec) {
			rec[i] = r;
			rec_len[i] = l;
		}
	}
	FUZZ_CHECK(!kcp_fec_dec_recovered(&dec, ret > 0 ? ret : 0, &l) && !l,
		   "recovered shard beyond the count");
	/* not fuzz_alloc.live: the round trip's encoder allocates too */
	FUZZ_CHECK(kcp_fec_dec_held(&dec) <= dec_mem_bound(),
		   "decoder holds %zu bytes, bound %zu (d %u p %u)",
		   kcp_fec_dec_held(&dec), dec_mem_bound(), dec.d, dec.p);
	free(copy);
	return ret;
}

static void run_decode(struct fin *f, bool may_sleep)
{
	u8 buf[1600];
	u32 seq = 0;

	while (!fin_empty(f)) {
		u8 h = fin_u8(f);
		size_t len, got;
		const u8 *p;

		switch (h & 3) {
		case 1:
			now += fin_u8(f);
			break;
		case 2:
			now += fin_u8(f) * 1000;
			break;
		case 3:
			now += KCP_FEC_EXPIRE + 1000;
			break;
		}
		if (h & 4) {
			kcp_fec_dec_shrink(&dec, now);
			FUZZ_CHECK(!kcp_fec_dec_recovered(&dec, 0, &got),
				   "recovered shard survived shrink");
		}
		if (h & 8)
			seq += (s8)fin_u8(f) * ((h & 0x10) ? 16384 : 1);
		len = fin_u16(f) % sizeof(buf);
		p = fin_bytes(f, len, &got);
		memcpy(buf, p, got);
		memset(buf + got, 0, len - got);
		if ((h & 8) && len >= KCP_FEC_HDR) {
			bool data = seq % dec.n < dec.d;

			kcp_put_le32(buf, seq);
			kcp_put_le16(buf + 4, data ? KCP_FEC_TYPE_DATA :
						     KCP_FEC_TYPE_PARITY);
			if (data)
				kcp_put_le16(buf + 6, len - KCP_FEC_SHARD_OFF);
		}
		feed(buf, len, may_sleep, NULL, NULL);
	}
}

/* ---- round trip ---- */

struct orig {
	u32 seq;
	u16 len;		/* KCP bytes */
	u8 *kcp;
	bool delivered;
	bool recovered;
};

struct shard {
	u8 *buf;
	u16 len;
	u32 seq;
	int due;		/* shards still to pass before delivery */
};

static struct orig origs[MAX_DGRAMS];
static struct shard held[MAX_HELD];
static u32 nheld;

struct group {
	u32 delivered;		/* distinct shards delivered */
	bool confirmed;		/* decoder confirmed after the last of them */
};

static struct group groups[MAX_DGRAMS + 1];
static u32 norig;
static bool inorder;

/*
 * A rebuild only ever completes the group of the shard just delivered:
 * each recovered shard must be one of that group's data shards.
 */
static void rt_check_recovered(const u8 **rec, const size_t *rec_len, int n,
			       u32 group)
{
	u32 first = group * dec.d, k;
	int i;

	for (i = 0; i < n; i++) {
		struct orig *hit = NULL;

		for (k = first; k < first + dec.d && k < norig; k++) {
			if (origs[k].len != rec_len[i] ||
			    memcmp(origs[k].kcp, rec[i], rec_len[i]))
				continue;
			/* equal contents: credit a lost one first */
			if (!hit || ((hit->recovered || hit->delivered) &&
				     !origs[k].recovered && !origs[k].delivered))
				hit = &origs[k];
		}
		FUZZ_CHECK(hit,
			   "recovered shard of %zu bytes is no data shard of group %u",
			   rec_len[i], group);
		hit->recovered = true;
	}
}

static void rt_deliver(struct shard *s, bool may_sleep, u32 base_seq)
{
	const u8 *rec[KCP_RS_MAX_SHARDS];
	size_t rec_len[KCP_RS_MAX_SHARDS];
	/* position in the stream, across the wrap at paws */
	u32 off = s->seq >= base_seq ? s->seq - base_seq :
				       s->seq + dec.paws - base_seq;
	u32 idx = off / dec.n, pos = off % dec.n;
	int n;

	now++;
	n = feed(s->buf, s->len, may_sleep, rec, rec_len);
	if (fuzz_debug())
		fprintf(stderr, "deliver seq %u len %u -> %d state %u\n",
			s->seq, s->len, n, dec.state);
	FUZZ_CHECK(idx <= MAX_DGRAMS || n <= 0, "rebuilt a group never sent");
	if (idx > MAX_DGRAMS)
		return;
	rt_check_recovered(rec, rec_len, n, idx);
	groups[idx].delivered++;
	groups[idx].confirmed = dec.state == KCP_FEC_CONFIRMED;
	if (pos < dec.d) {
		u32 k = idx * dec.d + pos;

		if (k < norig)
			origs[k].delivered = true;
	}
}

/* Send one shard through the channel; delivers what falls due. */
static void rt_send(struct fin *f, u8 *buf, u16 len, bool may_sleep,
		    u32 base_seq)
{
	u8 c = fin_u8(f);
	u32 i, copies = 1;
	int due = 0;

	if ((c & 3) == 1)
		copies = 0;
	else if ((c & 3) == 2)
		copies = 2;
	else if ((c & 3) == 3)
		due = 1 + ((c >> 2) & 7);
	if ((c & 3) >= 2)
		inorder = false;
	for (i = 0; i < copies && nheld < MAX_HELD; i++) {
		held[nheld].buf = malloc(len);
		memcpy(held[nheld].buf, buf, len);
		held[nheld].len = len;
		held[nheld].seq = kcp_get_le32(buf);
		held[nheld].due = due;
		nheld++;
	}
	/* deliver everything due, oldest first */
	for (i = 0; i < nheld;) {
		if (held[i].due-- > 0) {
			i++;
			continue;
		}
		rt_deliver(&held[i], may_sleep, base_seq);
		free(held[i].buf);
		memmove(&held[i], &held[i + 1], (nheld - i - 1) * sizeof(held[0]));
		nheld--;
	}
}

static void run_roundtrip(struct fin *f, u8 flags, u32 d, u32 p,
			  bool may_sleep)
{
	struct kcp_fec_enc enc;
	u8 buf[KCP_FEC_DGRAM_MAX];
	u32 i, k, base_seq, nskip;
	int ret;

	FUZZ_CHECK(kcp_fec_enc_init(&enc, d, p) == 0, "enc init");
	if (flags & 0x10)	/* seqids wrap at paws, a multiple of n */
		enc.next = enc.paws - (1 + fin_u8(f) % 3) * (d + p);
	base_seq = enc.next;
	norig = 1 + fin_u8(f) % MAX_DGRAMS;
	nheld = 0;
	inorder = !(flags & 2);
	memset(groups, 0, sizeof(groups));
	for (i = 0; i < norig; i++) {
		u32 want = fin_u8(f) * 6;
		u16 klen = min_t(u32, want, KCP_FEC_DGRAM_MAX - KCP_FEC_HDR);

		origs[i].len = klen;
		origs[i].kcp = malloc(klen ? klen : 1);
		origs[i].delivered = false;
		origs[i].recovered = false;
		/* unique from 4 bytes on */
		fuzz_fill(origs[i].kcp, i * 7919 + klen, 0, klen);
		for (k = 0; k < klen && k < 4; k++)
			origs[i].kcp[k] = (u8)(i >> (8 * k));
		memcpy(buf + KCP_FEC_HDR, origs[i].kcp, klen);
		nskip = enc.nomem;
		ret = kcp_fec_encode(&enc, buf, KCP_FEC_HDR + klen, may_sleep);
		FUZZ_CHECK(ret == 0 || ret == (int)p, "encode returned %d", ret);
		if (enc.nomem != nskip)
			inorder = false;	/* a group without parity */
		origs[i].seq = kcp_get_le32(buf);
		FUZZ_CHECK(origs[i].seq == base_seq + (i / d) * (d + p) + i % d ||
			   (flags & 0x10), "data seqid %u", origs[i].seq);
		FUZZ_CHECK(origs[i].seq < enc.paws, "data seqid beyond paws");
		rt_send(f, buf, KCP_FEC_HDR + klen, may_sleep, base_seq);
		for (k = 0; k < (u32)(ret > 0 ? ret : 0); k++) {
			u8 par[KCP_FEC_DGRAM_MAX];
			int plen = kcp_fec_enc_parity(&enc, k, par, sizeof(par));

			FUZZ_CHECK(plen > 0 &&
				   (size_t)plen == kcp_fec_enc_parity_len(&enc),
				   "parity %u: %d", k, plen);
			rt_send(f, par, plen, may_sleep, base_seq);
		}
	}
	/* the channel drains: everything held back arrives */
	while (nheld) {
		rt_deliver(&held[0], may_sleep, base_seq);
		free(held[0].buf);
		memmove(&held[0], &held[1], (nheld - 1) * sizeof(held[0]));
		nheld--;
	}
	if (inorder) {
		for (i = 0; i < norig; i++) {
			struct group *g = &groups[i / d];

			if (origs[i].delivered || g->delivered < d ||
			    !g->confirmed)
				continue;
			FUZZ_CHECK(origs[i].recovered,
				   "lost data shard %u (group %u, %u shards in, decoder confirmed) not rebuilt",
				   i, i / d, g->delivered);
		}
	}
	for (i = 0; i < norig; i++)
		free(origs[i].kcp);
	kcp_fec_enc_destroy(&enc);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fin f;
	u8 flags, a, b;
	u32 d, p;
	u64 mask;
	bool may_sleep;

	if (size < HDR_LEN)
		return 0;
	fin_init(&f, data, size);
	flags = fin_u8(&f);
	a = fin_u8(&f);
	b = fin_u8(&f);
	mask = fin_u32(&f);
	mask |= (u64)fin_u32(&f) << 32;
	may_sleep = flags & 8;
	pick_dp(flags, a, b, &d, &p);

	fuzz_alloc_reset(0);
	FUZZ_CHECK(fuzz_alloc.live == 0, "%zu bytes leaked by an earlier run",
		   fuzz_alloc.live);
	FUZZ_CHECK(kcp_fec_dec_init(&dec, d, p) == 0, "dec init %u/%u", d, p);
	FUZZ_CHECK(fuzz_alloc.live == 0, "dec init allocated");
	now = fin_u32(&f);
	max_shard = 0;
	if (flags & 2)
		fuzz_alloc.fail_mask = mask;
	if (flags & 1)
		run_roundtrip(&f, flags, d, p, may_sleep);
	else
		run_decode(&f, may_sleep);
	fuzz_alloc.fail_mask = 0;
	if (fuzz_debug())
		fprintf(stderr,
			"d %u p %u state %u: recovered %llu errs %llu unverified %llu mismatch %llu\n",
			d, p, dec.state,
			(unsigned long long)dec.st.recovered,
			(unsigned long long)dec.st.errs,
			(unsigned long long)dec.st.unverified,
			(unsigned long long)dec.st.mismatch);
	kcp_fec_dec_destroy(&dec);
	FUZZ_CHECK(fuzz_alloc.live == 0, "%zu bytes held after destroy",
		   fuzz_alloc.live);
	return 0;
}
