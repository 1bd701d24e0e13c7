/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kcp-go 5.6.1 FEC framing (wire spec section 5) over the klauspost-
 * compatible Reed-Solomon code of kcp_rs.h.
 *
 * Every datagram of a session with FEC starts (after any crypto header)
 * with: seqid LE32 | flag LE16 (0xF1 data, 0xF2 parity) | size LE16.
 * Groups are seqids [g*n, g*n+n), n = d + p: d data datagrams carrying
 * KCP bytes, then p parity datagrams. The RS shard of a datagram is
 * everything from the size field on; data shards are zero-padded to the
 * longest of their group, which is also the length of the parity shards.
 *
 * No callbacks, no locks: the caller serialises calls per encoder and per
 * decoder. All memory is bounded by the configured shard counts and
 * allocated on first use; allocation failure never corrupts state, it
 * costs parity (encoder) or recovery (decoder) and is counted.
 */
#ifndef _KCP_FEC_H
#define _KCP_FEC_H

#include "kcp_env.h"
#include "kcp_rs.h"

#define KCP_FEC_HDR		8	/* seqid, flag, size */
#define KCP_FEC_SHARD_OFF	6	/* the RS shard starts at the size field */
#define KCP_FEC_TYPE_DATA	0xF1
#define KCP_FEC_TYPE_PARITY	0xF2
#define KCP_FEC_DGRAM_MAX	1500	/* kcp-go reads into 1500-byte buffers */
#define KCP_FEC_SHARD_MAX	(KCP_FEC_DGRAM_MAX - KCP_FEC_SHARD_OFF)
#define KCP_FEC_EXPIRE		60000	/* ms a shard waits for its group */
#define KCP_FEC_RX_MULTI	3	/* window = 3 groups of shards */

/* kcp_fec_parse() results */
enum kcp_fec_kind {
	KCP_FEC_NONE,		/* no FEC header: plain KCP segments */
	KCP_FEC_DATA,		/* data shard: KCP bytes follow the header */
	KCP_FEC_PARITY,		/* parity shard: nothing for KCP */
	KCP_FEC_BAD,		/* FEC flag but impossible lengths: drop */
};

/*
 * Classify a datagram (starting where the FEC header would be, i.e. after
 * any crypto header). The flag at bytes 4..5 decides: KCP puts cmd (81..84)
 * and frg there, which never read as 0x00F1/0x00F2. For KCP_FEC_NONE
 * @kcp and @kcp_len get the whole datagram, for KCP_FEC_DATA the bytes after
 * the header, otherwise NULL/0. A data shard's size field must be exactly
 * 2 + its KCP bytes (kcp-go always sends that); parity needs >= 2 shard
 * bytes; nothing may exceed KCP_FEC_DGRAM_MAX. This is also the whole
 * receive path of a session without FEC: deliver NONE and DATA, ignore
 * PARITY, drop BAD.
 */
enum kcp_fec_kind kcp_fec_parse(const u8 *pkt, size_t len, const u8 **kcp,
				size_t *kcp_len);

/* 1 <= d, 1 <= p, d + p <= KCP_RS_MAX_SHARDS, else -EINVAL. */
int kcp_fec_check_shards(unsigned int d, unsigned int p);

/*
 * Encoder. Instead of keeping copies of the group's data shards like
 * kcp-go, it folds each data shard into the p parity accumulators as it is
 * stamped (parity_i ^= M[d+i][j] * shard_j; padding contributes nothing),
 * so it holds p buffers of KCP_FEC_SHARD_MAX bytes and the p x d rows,
 * allocated at the first group. The output is byte-identical to kcp-go's.
 */
struct kcp_fec_enc {
	u16 d, p;
	u32 paws;		/* seqids run 0..paws-1, paws = k*n */
	u32 next;		/* seqid of the next datagram */
	u16 count;		/* data shards of the current group so far */
	u16 maxlen;		/* longest shard of the current group */
	u16 plen;		/* shard bytes of each ready parity, 0: none */
	bool skip;		/* no buffers for this group: send no parity */
	u32 pseq;		/* seqid of ready parity 0 */
	u8 *rows;		/* p x d coefficients */
	u8 **par;		/* p accumulators */
	u64 nomem;		/* groups sent without parity (no memory) */
};

/* Configure; allocates nothing. */
int kcp_fec_enc_init(struct kcp_fec_enc *enc, unsigned int d, unsigned int p);
void kcp_fec_enc_destroy(struct kcp_fec_enc *enc);
/*
 * Idle session: free the buffers unless a group is half done (parity not
 * yet read is dropped); the next group allocates them again.
 */
void kcp_fec_enc_shrink(struct kcp_fec_enc *enc);

/*
 * @dgram holds KCP_FEC_HDR reserved bytes followed by the KCP bytes, @len
 * counting both (8..KCP_FEC_DGRAM_MAX, else -EINVAL and nothing happens).
 * Stamps seqid, 0xF1 and size = len - 6, and folds the shard into parity.
 * Returns the number of parity datagrams now ready: p after the d-th data
 * shard of a group, else 0. Ready parity stays readable until the next
 * call. A group whose buffers could not be allocated gets no parity, but
 * its parity seqids are consumed so later groups stay aligned (receivers
 * see lost parity, as from kcp-go >= 5.6.16 skipping it).
 */
int kcp_fec_encode(struct kcp_fec_enc *enc, u8 *dgram, size_t len,
		   bool may_sleep);
/* Length of each ready parity datagram (header included), or 0. */
size_t kcp_fec_enc_parity_len(const struct kcp_fec_enc *enc);
/*
 * Write ready parity datagram @i (< p): seqid, 0xF2 and the parity shard.
 * Returns its length, -EINVAL if none is ready, -EMSGSIZE if @cap is short.
 */
int kcp_fec_enc_parity(const struct kcp_fec_enc *enc, unsigned int i,
		       u8 *buf, size_t cap);

/*
 * Decoder counters: kcp-go's FEC names first, then drops of ours. A short
 * shard is a data shard pushed out of a full window (lowest seqid first)
 * before its group completed.
 */
struct kcp_fec_stats {
	u64 parity_shards;	/* FECParityShards: parity datagrams seen */
	u64 recovered;		/* data shards rebuilt and handed back */
	u64 errs;		/* FECErrs: rebuilt shard failed its checks */
	u64 short_shards;	/* FECShortShards: data shard evicted early */
	u64 malformed;		/* not a sane FEC datagram (kcp_fec_parse) */
	u64 out_of_window;	/* seqid beyond paws or far from the others */
	u64 mismatch;		/* peer's shard counts differ from ours */
	u64 unverified;		/* rebuild possible, shard counts unproven */
	u64 dups;		/* seqid already in the window */
	u64 late;		/* shard of a group already finished */
	u64 resyncs;		/* window restarted after a seqid jump */
	u64 nomem;		/* datagrams or rebuilds lost to allocation */
};

enum kcp_fec_dec_state {
	KCP_FEC_UNVERIFIED,	/* collecting proof of the peer's (d, p) */
	KCP_FEC_CONFIRMED,	/* peer proven to use our (d, p): rebuild */
	KCP_FEC_MISMATCH,	/* a flag contradicted our (d, p): proving again */
};

struct kcp_fec_win;
struct kcp_fec_verify;

struct kcp_fec_dec {
	u16 d, p, n;
	u16 rxlimit;		/* KCP_FEC_RX_MULTI * n shards */
	u32 paws;
	u8 state;		/* enum kcp_fec_dec_state */
	u32 clean;		/* shards agreeing with (d, p) since a mismatch */
	struct kcp_fec_win *win;	/* NULL until the first FEC datagram */
	struct kcp_fec_verify *verify;	/* only until CONFIRMED */
	struct kcp_fec_stats st;
};

/* Configure; allocates nothing. */
int kcp_fec_dec_init(struct kcp_fec_dec *dec, unsigned int d, unsigned int p);
void kcp_fec_dec_destroy(struct kcp_fec_dec *dec);
/* Drop expired shards; free the window when nothing is left in it. */
void kcp_fec_dec_shrink(struct kcp_fec_dec *dec, u32 now);
/* Bytes the decoder holds now (window, shards, rebuilt ones, proof). */
size_t kcp_fec_dec_held(const struct kcp_fec_dec *dec);

/*
 * Feed one FEC datagram (kcp_fec_parse() said DATA or PARITY), @now being
 * a millisecond clock. Returns the number of data shards rebuilt by this
 * datagram (read them with kcp_fec_dec_recovered()), or -EBADMSG for a
 * malformed datagram (counted; drop it). Whatever the decoder does with a
 * well-formed data datagram, the caller still hands its KCP bytes to KCP,
 * first, as kcp-go does; rebuilt ones follow as non-regular input.
 */
int kcp_fec_decode(struct kcp_fec_dec *dec, const u8 *pkt, size_t len,
		   u32 now, bool may_sleep);
/*
 * KCP bytes of rebuilt shard @i (< the last decode's result), in seqid
 * order; valid until the next kcp_fec_decode/shrink/destroy call.
 */
const u8 *kcp_fec_dec_recovered(const struct kcp_fec_dec *dec,
				unsigned int i, size_t *len);

#endif /* _KCP_FEC_H */
