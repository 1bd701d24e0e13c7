/* SPDX-License-Identifier: GPL-2.0 */
/*
 * smux v1/v2 frames (github.com/xtaci/smux 1.5.16, kcptun's stream
 * multiplexer): an 8-byte header, version, command, little-endian 16-bit
 * length and 32-bit stream id, then the data of PSH (length bytes) and
 * UPD (8 bytes: consumed, window; v2's flow control) frames. SYN, FIN and
 * NOP carry nothing; their length field is not followed by data.
 */
#ifndef _KCPCTL_SMUX_H
#define _KCPCTL_SMUX_H

#include <stddef.h>
#include <stdint.h>

#define SMUX_HDR		8
#define SMUX_UPD_LEN		8
/* smux.DefaultConfig()'s MaxFrameSize and KeepAliveTimeout (s) */
#define SMUX_MAX_FRAME		32768
#define SMUX_KEEPALIVE_TIMEOUT	30
#define SMUX_INITIAL_WINDOW	262144	/* smux's initialPeerWindow */

enum smux_cmd {
	SMUX_SYN = 0,
	SMUX_FIN,
	SMUX_PSH,
	SMUX_NOP,
	SMUX_UPD,	/* v2 */
};

struct smux_hdr {
	uint8_t ver;
	uint8_t cmd;
	uint16_t len;
	uint32_t sid;
};

static inline uint32_t smux_get32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void smux_put32(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline void smux_put_hdr(unsigned char *p, int ver, int cmd,
				uint16_t len, uint32_t sid)
{
	p[0] = ver;
	p[1] = cmd;
	p[2] = len;
	p[3] = len >> 8;
	smux_put32(p + 4, sid);
}

static inline void smux_get_hdr(const unsigned char *p, struct smux_hdr *h)
{
	h->ver = p[0];
	h->cmd = p[1];
	h->len = p[2] | p[3] << 8;
	h->sid = smux_get32(p + 4);
}

/*
 * Bytes the frame at @p takes: 0 if @avail does not hold it yet, -1 for
 * a version other than @ver or an unknown command (smux's
 * ErrInvalidProtocol). Like smux's recvLoop, UPD is taken in either
 * version.
 */
static inline long smux_frame_len(const unsigned char *p, size_t avail,
				  int ver)
{
	struct smux_hdr h;
	size_t need;

	if (avail < SMUX_HDR)
		return 0;
	smux_get_hdr(p, &h);
	if (h.ver != ver)
		return -1;
	switch (h.cmd) {
	case SMUX_SYN:
	case SMUX_FIN:
	case SMUX_NOP:
		need = SMUX_HDR;
		break;
	case SMUX_PSH:
		need = SMUX_HDR + h.len;
		break;
	case SMUX_UPD:
		need = SMUX_HDR + SMUX_UPD_LEN;
		break;
	default:
		return -1;
	}
	return avail < need ? 0 : (long)need;
}

#endif /* _KCPCTL_SMUX_H */
