/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A deterministic simulated network for driving two KCP engines in one
 * process: a fake millisecond clock, an event queue, one link per
 * direction (delay, jitter, loss, burst loss, duplication, reordering,
 * bandwidth, queue limit) and a "host" per side that plays the kernel
 * glue around its kcp_cb: clock, datagram buffers, flush timer, and an
 * application writer and reader that verify what arrives.
 *
 * Everything random comes from seeded splitmix64 streams, so a run is a
 * pure function of its configuration and seed.
 */
#ifndef _KCP_NETSIM_H
#define _KCP_NETSIM_H

#include <stdio.h>
#include "kcp_engine.h"
/* segments written and read by the tests: the test side's codec, not kmod's */
#include "../lib/kcpwire.h"

/* ---- PRNG --------------------------------------------------------------- */

struct ns_rng {
	u64 s;
};

static inline u64 ns_mix64(u64 z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* splitmix64: the same generator the Go tracer uses for payloads */
static inline u64 ns_next(struct ns_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return ns_mix64(r->s);
}

static inline void ns_seed(struct ns_rng *r, u64 seed)
{
	r->s = seed;
}

/* uniform in [0, n); 0 when n == 0 */
static inline u32 ns_below(struct ns_rng *r, u32 n)
{
	return n ? (u32)(((ns_next(r) >> 32) * (u64)n) >> 32) : 0;
}

/* uniform in [lo, hi] */
static inline u32 ns_range(struct ns_rng *r, u32 lo, u32 hi)
{
	return lo + ns_below(r, hi - lo + 1);
}

/* true with probability ppm / 1e6 */
static inline bool ns_ppm(struct ns_rng *r, u32 ppm)
{
	return ppm && ns_below(r, 1000000) < ppm;
}

/* Byte @pos of the pseudo-random application stream @seed (random access). */
/* A flat buffer as the engine's copy-in/copy-out callbacks' argument. */
struct ns_membuf {
	const u8 *src;
	u8 *dst;
	u32 off;
};

int ns_membuf_from(void *arg, u8 *seg_data, u32 len);
int ns_membuf_to(void *arg, u8 *seg_data, u32 len);

static inline u8 ns_stream_byte(u64 seed, u64 pos)
{
	return (u8)(ns_mix64(seed + (pos >> 3) * 0x9e3779b97f4a7c15ULL) >>
		    (8 * (pos & 7)));
}

/* splitmix64 byte sequence, identical to kcptrace's "sendp LEN SEED" */
void ns_prbytes(u8 *buf, u32 len, u64 seed);

/* ---- links -------------------------------------------------------------- */

struct ns_link_cfg {
	u32 delay;		/* one-way propagation delay, ms */
	u32 jitter;		/* + uniform 0..jitter ms per datagram */
	u32 loss_ppm;		/* independent loss */
	u32 burst_ppm;		/* chance a datagram starts a loss burst */
	u32 burst_ms;		/* a burst drops everything for 1..burst_ms ms */
	u32 dup_ppm;		/* datagram delivered twice */
	u32 reorder_ppm;	/* datagram held back by reorder_delay extra */
	u32 reorder_delay;	/* ms */
	u32 bw;			/* bottleneck bytes per ms; 0: unlimited */
	u32 qlimit;		/* bytes queued at the bottleneck; 0: unlimited */
	u32 corrupt_ppm;	/* flip one random byte (engine must not crash) */
};

struct ns_link_stats {
	u64 sent, delivered, lost, burst_lost, qdrop, dup, reordered;
	u64 corrupted, bytes;
};

struct netsim;
struct ns_host;

/*
 * Called for each datagram a host emits, before the link sees it. Return
 * false to drop it. Tests use it to capture or edit traffic.
 */
typedef bool (*ns_tap_t)(struct ns_host *from, u8 *data, u32 *len, void *arg);

struct ns_link {
	struct ns_link_cfg cfg;
	struct ns_rng rng;
	u64 busy_us;		/* bottleneck busy until (us of sim time) */
	u64 burst_until;	/* losing everything until then (ms) */
	struct ns_link_stats st;
	ns_tap_t tap;
	void *tap_arg;
};

/* ---- hosts -------------------------------------------------------------- */

struct ns_host_cfg {
	u32 conv;
	u32 mtu;
	u32 reserved;
	int nodelay, interval, resend, nc;
	u32 snd_wnd, rcv_wnd;
	bool stream;
	bool ack_nodelay;
	bool write_delay;	/* KCP_WRITE_DELAY: no flush after a send */
	u32 txfail_ppm;		/* dgram_begin fails (no memory) */

	/* application: what to send */
	u64 send_bytes;		/* total payload to write */
	u64 data_seed;		/* payload is ns_stream_byte(data_seed, pos) */
	u32 write_max;		/* stream mode: a write is 1..write_max bytes */
	u32 msg_max;		/* message mode: a message is 1..msg_max bytes */
	u32 write_pause_ppm;	/* writer sleeps 1..write_pause_ms before a write */
	u32 write_pause_ms;

	/* application: how to read */
	u32 read_max;		/* stream reads of 1..read_max bytes */
	u32 read_stall_ppm;	/* after a read, reader sleeps 1..read_stall_ms */
	u32 read_stall_ms;
};

struct ns_host_stats {
	u64 dgrams, dgram_bytes, txfail, flushes, timer_fires, inputs;
	u64 input_errs, sends, send_errs, reads, max_waitsnd;
	u64 dead_at;		/* sim ms the engine first set state DEAD, or 0 */
};

struct ns_host {
	struct netsim *ns;
	int id;
	struct ns_host_cfg cfg;
	struct kcp_cb kcp;
	struct kcp_ops ops;
	struct ns_rng rng;

	u8 *txbuf;		/* KCP_MTU_MAX bytes; KCP data at reserved */
	bool tx_open;

	bool timer_armed;
	u64 timer_at;
	u64 timer_gen;		/* events of earlier arms are stale */

	/* writer */
	u64 sent;		/* payload bytes accepted by kcp_send */
	u32 *msgs;		/* sizes of the messages sent, in order */
	u32 nmsgs, msgcap;
	bool write_sleeping;
	u32 cur_msg;		/* message mode: size of the message being sent */

	/* reader (of the peer's data) */
	u64 rcvd;		/* payload bytes read and verified */
	u32 msgs_rcvd;
	bool read_sleeping;
	u8 *rbuf;
	u32 rbuf_size;

	struct ns_host_stats st;
};

/* ---- the simulation ------------------------------------------------------ */

struct ns_event;

struct netsim {
	u64 now;		/* ms since the start of the run */
	u32 clock_base;		/* engine clock = clock_base + now (wraps) */
	struct ns_rng rng;
	struct ns_event **heap;
	u32 nheap, heapcap;
	u64 seq;
	u64 events;
	struct ns_host host[2];
	struct ns_link link[2];	/* link[i] carries host i -> host 1 - i */
	bool check_invariants;
	bool no_verify;		/* corrupting links: only check for crashes */
	FILE *trace;		/* when set, log every event and datagram */
	char err[512];		/* first failure, empty while all is well */
};

/*
 * Set up a run. The hosts' kcp_cb are initialised and configured from
 * their cfg; nothing is scheduled yet.
 */
int ns_init(struct netsim *ns, u64 seed, u32 clock_base,
	    const struct ns_host_cfg *h0, const struct ns_host_cfg *h1,
	    const struct ns_link_cfg *l01, const struct ns_link_cfg *l10);
void ns_free(struct netsim *ns);

/* Start both applications (first writes happen at time 0). */
void ns_start(struct netsim *ns);

/* Process events until @until (ms) or done; returns true when complete. */
bool ns_run(struct netsim *ns, u64 until, u64 max_events);

/* Time of the earliest pending event (now if none). */
u64 ns_next_event(const struct netsim *ns);

/* Both directions fully read and verified, both send buffers empty. */
bool ns_complete(const struct netsim *ns);

static inline u32 ns_clock(const struct netsim *ns)
{
	return ns->clock_base + (u32)ns->now;
}

/* Record the first failure (printf style); later ones are ignored. */
void ns_fail(struct netsim *ns, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Structural checks of one engine (lists vs counters, sn order, ...). */
bool ns_check_kcp(const struct kcp_cb *kcp, char *why, size_t n);

/* Walk a datagram and check it is well formed KCP for @conv. */
bool ns_check_dgram(const u8 *p, u32 len, u32 conv, char *why, size_t n);

/*
 * kcp-go 5.6.1 liveness hole: host @i holds only segments the peer
 * acknowledged individually (acked, kept until una passes them) while the
 * peer, having everything, is idle: nothing will ever carry the una that
 * frees them. Returns true when the run is stuck in exactly that state.
 */
bool ns_acked_una_stall(const struct netsim *ns, int i);

/* Describe the configuration in one line (for replay reports). */
void ns_describe(const struct netsim *ns, FILE *f);

/* Print the segments of a datagram on one line (trace/debug). */
void ns_print_dgram(FILE *f, const u8 *p, u32 len);

/* Glue helpers, exposed for targeted tests. */
void ns_host_kick(struct ns_host *h);
void ns_host_arm(struct ns_host *h, u64 at);
void ns_host_pump(struct ns_host *h);

#endif /* _KCP_NETSIM_H */
