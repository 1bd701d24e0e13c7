/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * AF_KCP: the KCP ARQ protocol (kcp-go v5.6.1 compatible) over UDP as a
 * socket family. Addresses are ordinary struct sockaddr_in/sockaddr_in6,
 * so porting a TCP program means changing AF_INET to AF_KCP in socket().
 *
 * The family number is a module parameter; AF_KCP is its default. The
 * number in use is in /sys/module/kcp/parameters/family.
 */
#ifndef _UAPI_LINUX_KCP_H
#define _UAPI_LINUX_KCP_H

#include <linux/types.h>

#define AF_KCP		25	/* default: AF_WANPIPE's slot, unused in-tree */
#define PF_KCP		AF_KCP
#define SOL_KCP		299

/* socket(AF_KCP, SOCK_STREAM | SOCK_SEQPACKET, 0 | IPPROTO_KCP) */
#define IPPROTO_KCP	0

/* SOL_KCP options. Unless noted: int, settable at any time. */
#define KCP_NODELAY	1	/* struct kcp_nodelay */
#define KCP_WNDSIZE	2	/* struct kcp_wndsize, segments */
#define KCP_MTU		3	/* UDP payload bytes, 50..1500 */
#define KCP_STREAM	4	/* SOCK_STREAM: coalesce writes (default 1) */
#define KCP_ACK_NODELAY	5	/* ACK every datagram at once (default 0) */
#define KCP_CONV	6	/* __u32 conversation id; before connect() */
#define KCP_FEC		7	/* struct kcp_fec; before connect()/listen() */
#define KCP_CRYPTO	8	/* struct kcp_crypto; before connect()/listen() */
#define KCP_DEADLINK	9	/* transmissions of a segment before ETIMEDOUT */
#define KCP_MINRTO	10	/* ms; nodelay resets it as kcp-go does */
#define KCP_IDLE_TIMEOUT 11	/* ms without input before ETIMEDOUT; 0 = off */
#define KCP_INFO	12	/* struct kcp_info, read only */
#define KCP_PRESET	13	/* enum kcp_preset, write only: kcptun --mode */
#define KCP_WRITE_DELAY	14	/* 1: writes wait for the next tick to flush */
#define KCP_LINGER_TIMEOUT 15	/* ms a closed socket may keep sending */
#define KCP_REUSEPORT	16	/* as SO_REUSEPORT, which kernels >= 6.9
				 * refuse for non-inet families; before bind()
				 */
/*
 * Session semantics between AF_KCP endpoints (kcp.rst, "Session
 * extension"): end-of-file, reset, connect that waits for an answer.
 */
#define KCP_CONNECT_TIMEOUT 17	/* ms connect() waits for the peer's answer
				 * (ETIMEDOUT after); 0: returns at once,
				 * as kcp-go's Dial
				 */
#define KCP_SESSION_EXT	18	/* 1: offer the extension (FIN, RST) to the
				 * peer; 0: kcp-go's wire behaviour only;
				 * before connect()/listen()
				 */
#define KCP_KEEPIDLE	19	/* s idle before SO_KEEPALIVE probes (WASK) */
#define KCP_KEEPINTVL	20	/* s between unanswered probes */
#define KCP_KEEPCNT	21	/* unanswered probes before ETIMEDOUT */

struct kcp_nodelay {
	__s32 nodelay;		/* 0, 1 (min rto 30 ms), -1 keeps */
	__s32 interval;		/* flush period ms, clamped 10..5000, -1 keeps */
	__s32 resend;		/* fast resend after N skipping ACKs, 0 off */
	__s32 nc;		/* 1: no congestion window */
};

struct kcp_wndsize {
	__u32 snd;		/* 0 keeps the current value */
	__u32 rcv;
};

struct kcp_fec {
	__u32 data_shards;	/* 0/0: FEC off */
	__u32 parity_shards;	/* data + parity <= 255 */
};

/* kcptun --crypt names; the key bytes are the kcptun-derived key. */
enum kcp_cipher {
	KCP_CIPHER_NULL = 0,	/* no crypto header at all (kcp-go nil) */
	KCP_CIPHER_NONE,	/* header (nonce, CRC32) without encryption */
	KCP_CIPHER_AES,		/* AES-256-CFB */
	KCP_CIPHER_AES_128,
	KCP_CIPHER_AES_192,
	KCP_CIPHER_SALSA20,
	KCP_CIPHER_BLOWFISH,
	KCP_CIPHER_TWOFISH,
	KCP_CIPHER_CAST5,
	KCP_CIPHER_3DES,
	KCP_CIPHER_TEA,
	KCP_CIPHER_XTEA,
	KCP_CIPHER_SM4,
	KCP_CIPHER_XOR,
	__KCP_CIPHER_MAX
};

#define KCP_KEY_MAX	32

struct kcp_crypto {
	__u32 cipher;		/* enum kcp_cipher */
	__u32 key_len;		/* bytes of key[] used; never read back */
	__u8 key[KCP_KEY_MAX];
};

enum kcp_preset {
	KCP_PRESET_NORMAL = 1,	/* nodelay 0, interval 40, resend 2, nc 1 */
	KCP_PRESET_FAST,	/* 0, 30, 2, 1 (kcptun default) */
	KCP_PRESET_FAST2,	/* 1, 20, 2, 1 */
	KCP_PRESET_FAST3,	/* 1, 10, 2, 1 */
};

/* kcpi_state values (TCP's numbering, so tools can print them alike) */
enum {
	KCP_ESTABLISHED = 1,
	KCP_SYN_SENT = 2,	/* connect() waits for the peer's first answer */
	KCP_LINGER = 4,		/* closed by the app, sending what is left */
	KCP_CLOSE = 7,
	KCP_LISTEN = 10,
};

#define KCP_INFO_VERSION 1

struct kcp_info {
	__u32 kcpi_version;	/* KCP_INFO_VERSION */
	__u32 kcpi_len;		/* bytes filled in */
	__u32 kcpi_state;
	__u32 kcpi_conv;
	__u32 kcpi_mtu;
	__u32 kcpi_mss;
	__u32 kcpi_rto;		/* ms */
	__s32 kcpi_srtt;	/* ms */
	__s32 kcpi_rttvar;	/* ms */
	__u32 kcpi_minrto;
	__u32 kcpi_cwnd;	/* segments */
	__u32 kcpi_ssthresh;
	__u32 kcpi_snd_wnd;
	__u32 kcpi_rcv_wnd;
	__u32 kcpi_rmt_wnd;
	__u32 kcpi_snd_una;
	__u32 kcpi_snd_nxt;
	__u32 kcpi_rcv_nxt;
	__u32 kcpi_snd_queue;	/* segments not yet sent */
	__u32 kcpi_snd_buf;	/* segments in flight */
	__u32 kcpi_rcv_queue;	/* in-order segments not yet read */
	__u32 kcpi_rcv_buf;	/* out-of-order segments */
	__u32 kcpi_nodelay;
	__u32 kcpi_interval;
	__u32 kcpi_resend;
	__u32 kcpi_nc;
	__u32 kcpi_stream;
	__u32 kcpi_fec_data;
	__u32 kcpi_fec_parity;
	__u32 kcpi_cipher;
	__u32 kcpi_dead_link;
	__u32 kcpi_pad;
	__u64 kcpi_in_segs;
	__u64 kcpi_out_segs;
	__u64 kcpi_retrans_segs;
	__u64 kcpi_fast_retrans;
	__u64 kcpi_early_retrans;
	__u64 kcpi_lost_segs;
	__u64 kcpi_repeat_segs;
	__u64 kcpi_in_errors;
	__u64 kcpi_in_pkts;
	__u64 kcpi_out_pkts;
	__u64 kcpi_bytes_in;	/* application bytes read */
	__u64 kcpi_bytes_out;	/* application bytes written */
	__u64 kcpi_fec_recovered;
	__u64 kcpi_fec_parity_in;
	__u64 kcpi_crypto_errors;
	/* FEC datagrams of the peer refused: malformed, far seqid, bad rebuild */
	__u64 kcpi_fec_errors;
	__u32 kcpi_fec_state;	/* enum kcp_fec_verdict */
	__u32 kcpi_pad2;
	/* session extension version both ends speak; 0: none (kcp-go peer) */
	__u32 kcpi_ext;
	__u32 kcpi_pad3;
};

/* kcpi_fec_state: whether the peer's FEC shard counts match ours */
enum kcp_fec_verdict {
	KCP_FEC_STATE_OFF = 0,		/* no FEC on this socket */
	KCP_FEC_STATE_PROVING,		/* too few shards seen to tell */
	KCP_FEC_STATE_CONFIRMED,	/* the peer uses our counts: rebuilding */
	KCP_FEC_STATE_CONTRADICTED,	/* a shard's flag contradicted them */
};

#endif /* _UAPI_LINUX_KCP_H */
