// SPDX-License-Identifier: GPL-2.0
/*
 * Forward error correction on a socket's datagrams, wire-compatible with
 * kcp-go (klauspost/reedsolomon): glue between the datagram path and the
 * kernel-independent codec in kcp_fec.c / kcp_rs.c. The GF(2^8) tables
 * come from lib/reed_solomon (same field, polynomial 0x11d); its
 * encode_rs8 is a different code and is not used.
 *
 * A session configured for FEC gets its encoder/decoder state when it
 * starts; their buffers are allocated by the codec on first use and
 * given back when the session goes idle.
 */
#include <linux/rslib.h>
#include <linux/skbuff.h>
#include <net/sock.h>

#include "compat.h"
#include "kcp.h"

struct kcp_fec_state {
	struct kcp_fec_enc enc;
	struct kcp_fec_dec dec;
	int charged;		/* of the decoder's memory (kcp_fec_charge()) */
};

/*
 * Shards wait in the decoder for their group as out-of-order segments
 * wait for the gap, and a peer chooses how many (up to 3 (d + p) of 1500
 * bytes): receive memory. The charge follows what the decoder says it
 * holds; if net.kcp.mem or the cgroup refuse more, it lets go of all.
 */
static void kcp_fec_charge(struct kcp_sock *ks)
{
	struct kcp_fec_state *f = ks->fec;
	struct sock *sk = &ks->sk;
	int delta = (int)kcp_fec_dec_held(&f->dec) - f->charged;

	if (delta > 0 && !kcp_mem_schedule(sk, delta, SK_MEM_RECV)) {
		kcp_fec_dec_destroy(&f->dec);
		delta = (int)kcp_fec_dec_held(&f->dec) - f->charged;
	}
	f->charged += delta;
	atomic_add(delta, &sk->sk_rmem_alloc);
	if (delta > 0)
		sk_mem_charge(sk, delta);
	else
		sk_mem_uncharge(sk, -delta);
}

/* KCP_INFO: the decoder's verdict on the peer's counts, and its drops. */
void kcp_fec_info(const struct kcp_sock *ks, u32 *state, u64 *errors)
{
	const struct kcp_fec_dec *dec;

	*state = KCP_FEC_STATE_OFF;
	*errors = 0;
	if (!ks->fec)
		return;
	dec = &ks->fec->dec;
	*errors = dec->st.errs + dec->st.malformed + dec->st.out_of_window;
	if (dec->state == KCP_FEC_CONFIRMED)
		*state = KCP_FEC_STATE_CONFIRMED;
	else if (dec->state == KCP_FEC_MISMATCH)
		*state = KCP_FEC_STATE_CONTRADICTED;
	else
		*state = KCP_FEC_STATE_PROVING;
}

int kcp_fec_module_init(void)
{
	struct rs_control *rs = init_rs(8, KCP_RS_GF_POLY, 0, 1, 1);
	int err;

	if (!rs)
		return -ENOMEM;
	err = kcp_rs_init_tables(rs->codec->alpha_to, rs->codec->index_of);
	free_rs(rs);
	if (!err)
		kcp_rs_simd_init();
	return err;
}

int kcp_fec_attach(struct kcp_sock *ks, gfp_t gfp)
{
	struct kcp_fec_state *f;
	int err;

	if (!ks->opts.fec_data || !ks->opts.fec_parity || ks->fec)
		return 0;
	f = kzalloc(sizeof(*f), gfp);
	if (!f)
		return -ENOMEM;
	err = kcp_fec_enc_init(&f->enc, ks->opts.fec_data, ks->opts.fec_parity);
	if (!err)
		err = kcp_fec_dec_init(&f->dec, ks->opts.fec_data,
				       ks->opts.fec_parity);
	if (err) {
		kfree(f);
		return err;
	}
	ks->fec = f;
	return 0;
}

void kcp_fec_detach(struct kcp_sock *ks)
{
	struct kcp_fec_state *f = ks->fec;

	if (!f)
		return;
	kcp_fec_enc_destroy(&f->enc);
	kcp_fec_dec_destroy(&f->dec);
	kcp_fec_charge(ks);
	kfree(f);
	ks->fec = NULL;
}

/* An idle session keeps no FEC buffers. */
void kcp_fec_shrink(struct kcp_sock *ks)
{
	if (!ks->fec)
		return;
	kcp_fec_enc_shrink(&ks->fec->enc);
	kcp_fec_dec_shrink(&ks->fec->dec, kcp_clock_ms());
	kcp_fec_charge(ks);
}

/*
 * Send side: @skb->data is the FEC header room followed by the KCP bytes.
 * Stamps it and, after every d-th data shard, queues the p parity
 * datagrams on @parity (kcp-go sends them right after that data shard).
 */
void kcp_fec_output(struct kcp_sock *ks, struct sk_buff *skb,
		    struct sk_buff_head *parity)
{
	struct kcp_fec_enc *enc = &ks->fec->enc;
	u32 head = kcp_tunnel_headroom() + ks->kcp.reserved - KCP_FEC_HDR;
	int n, i;

	n = kcp_fec_encode(enc, skb->data, skb->len, false);
	for (i = 0; i < n; i++) {
		size_t len = kcp_fec_enc_parity_len(enc);
		struct sk_buff *p = alloc_skb(head + len, GFP_ATOMIC);

		if (!p) {
			KCP_INC_STATS(sock_net(&ks->sk), KCP_MIB_NO_MEM);
			break;
		}
		skb_reserve(p, head);
		if (kcp_fec_enc_parity(enc, i, skb_put(p, len), len) < 0) {
			kfree_skb(p);
			break;
		}
		__skb_queue_tail(parity, p);
	}
}

/* Feed KCP bytes to the engine; returns its verdict. */
static int kcp_fec_feed(struct kcp_sock *ks, const u8 *data, size_t len,
			bool regular)
{
	return kcp_input(&ks->kcp, data, len, regular, ks->opts.ack_nodelay);
}

static void kcp_fec_count(struct kcp_sock *ks, const struct kcp_fec_stats *a,
			  const struct kcp_fec_stats *b)
{
	struct net *net = sock_net(&ks->sk);

	ks->st.fec_parity_in += b->parity_shards - a->parity_shards;
	KCP_ADD_STATS(net, KCP_MIB_FEC_PARITY_SHARDS,
		      b->parity_shards - a->parity_shards);
	KCP_ADD_STATS(net, KCP_MIB_FEC_ERRS, b->errs - a->errs);
	KCP_ADD_STATS(net, KCP_MIB_FEC_SHORT_SHARDS,
		      b->short_shards - a->short_shards);
	KCP_ADD_STATS(net, KCP_MIB_FEC_MALFORMED,
		      (b->malformed - a->malformed) +
		      (b->out_of_window - a->out_of_window));
}

/*
 * Receive side of a datagram with a FEC header. Without FEC configured a
 * data shard's KCP bytes are used as they are and parity is ignored;
 * with it, lost data shards are rebuilt from the group, but only once
 * the peer is proven to use the same shard counts (kcp_fec.c).
 */
void kcp_fec_input(struct kcp_sock *ks, const u8 *data, u32 len)
{
	struct net *net = sock_net(&ks->sk);
	struct kcp_fec_stats before;
	const u8 *kcp;
	size_t klen;
	int kind, n, i;

	kcp_sk_assert_locked(ks);
	kind = kcp_fec_parse(data, len, &kcp, &klen);
	if (kind == KCP_FEC_BAD) {
		KCP_INC_STATS(net, KCP_MIB_FEC_MALFORMED);
		return;
	}
	if (!ks->fec) {
		if (kind == KCP_FEC_DATA)
			kcp_fec_feed(ks, kcp, klen, true);
		else {
			ks->st.fec_parity_in++;
			KCP_INC_STATS(net, KCP_MIB_FEC_PARITY_SHARDS);
		}
		return;
	}
	before = ks->fec->dec.st;
	n = kcp_mem_rcv_room(&ks->sk, len) ?
	    kcp_fec_decode(&ks->fec->dec, data, len, kcp_clock_ms(), false) : 0;
	if (kind == KCP_FEC_DATA)
		kcp_fec_feed(ks, kcp, klen, true);
	for (i = 0; i < n; i++) {
		const u8 *r = kcp_fec_dec_recovered(&ks->fec->dec, i, &klen);

		if (r && !kcp_fec_feed(ks, r, klen, false)) {
			ks->st.fec_recovered++;
			KCP_INC_STATS(net, KCP_MIB_FEC_RECOVERED);
		}
	}
	kcp_fec_count(ks, &before, &ks->fec->dec.st);
	kcp_fec_charge(ks);
}
