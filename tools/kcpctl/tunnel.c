// SPDX-License-Identifier: GPL-2.0
/*
 * kcpctl tunnel server|client: kcptun 20210922 with KCP, FEC and the
 * cipher in the kernel (AF_KCP sockets configured as kcptun configures
 * kcp-go) and smux v1/v2 and snappy framing here, in one epoll loop.
 *
 * Each KCP session carries one smux session; each smux stream is one TCP
 * connection. Back-pressure: a TCP socket is read only while its session
 * has little output queued (and, in v2, while the peer's stream window
 * has room); a KCP socket is read only while its streams hold less than
 * --smuxbuf bytes not yet written to TCP (smux's token bucket). End of
 * file on TCP sends FIN; a FIN received shuts the TCP socket for writing
 * once everything before it is written; a stream ends when both have
 * happened, or at once if its TCP connection fails.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kcpkey.h"
#include "kcpnames.h"
#include "smux.h"
#include "snappyframe.h"
#include "tunnel.h"

/* session output (bytes) that pauses reading TCP, and resumes it */
#define OUT_HIGH	(256 * 1024)
#define OUT_LOW		(64 * 1024)
#define KCP_READ	(128 * 1024)
#define TCP_READS	4		/* reads of a TCP socket per event */

struct buf {
	unsigned char *p;
	size_t head, len, cap;
};

static unsigned char *buf_reserve(struct buf *b, size_t n)
{
	unsigned char *np;
	size_t cap;

	if (b->head + b->len + n <= b->cap)
		return b->p + b->head + b->len;
	if (b->head) {
		memmove(b->p, b->p + b->head, b->len);
		b->head = 0;
		if (b->len + n <= b->cap)
			return b->p + b->len;
	}
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np) {
		fprintf(stderr, "kcpctl tunnel: out of memory\n");
		exit(1);
	}
	b->p = np;
	b->cap = cap;
	return b->p + b->len;
}

static void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

static unsigned char *buf_data(struct buf *b)
{
	return b->p + b->head;
}

static void buf_consume(struct buf *b, size_t n)
{
	b->len -= n;
	b->head = b->len ? b->head + n : 0;
}

static void buf_append(struct buf *b, const void *p, size_t n)
{
	memcpy(buf_reserve(b, n), p, n);
	buf_commit(b, n);
}

/* Release the memory of an idle buffer (many idle streams) */
static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

enum ev_type { EV_TCP_LISTEN, EV_KCP_LISTEN, EV_SESS, EV_STREAM, EV_SIGNAL };

struct evobj {
	int type;
	int fd;
	uint32_t want;		/* events registered; 0: not in epoll */
};

struct sess;

struct stream {
	struct evobj ev;	/* the TCP socket */
	struct sess *s;
	uint32_t sid;
	struct stream *hnext;
	struct stream *prev, *next;
	struct buf q;		/* stream data not yet written to TCP */
	int connecting;		/* server: connecting to the target */
	int rd_eof;		/* TCP end of file read */
	int fin_sent, fin_rcvd, wr_shut, dead;
	uint32_t num_read, incr;	/* v2: bytes written to TCP */
	int upd_sent;
	uint32_t num_written, peer_consumed, peer_window; /* v2 sender */
	char addr[64];
};

struct sess {
	struct evobj ev;	/* the AF_KCP socket */
	struct sess *prev, *next;
	int dead;
	int dirty;
	struct sess *dnext;	/* dirty list */
	struct snappy_frame_dec dec;
	int enc_started;
	struct buf in;		/* from KCP: snappy, or smux if nocomp */
	struct buf plain;	/* decompressed smux */
	struct buf pend;	/* smux frames not yet compressed */
	struct buf out;		/* to KCP */
	uint32_t next_sid;
	struct stream **tab;
	size_t tab_size, nstreams;
	struct stream *streams;
	size_t buffered;	/* bytes in all streams' q: smux's bucket */
	int out_blocked;
	time_t last_ping, last_check;
	int data_ready;
	time_t expire_at;	/* client --autoexpire */
	time_t scavenge_at;	/* expired: closed then (--scavengettl) */
	char peer[64];
};

struct tun {
	struct tun_cfg cfg;
	int family;		/* AF_KCP */
	int ep;
	int comp;
	struct kcp_crypto crypto;
	int cipher;
	struct evobj lis[2];
	int nlis;
	struct evobj sig;
	struct sess *sessions;
	struct sess **slots;	/* client: --conn sessions, round robin */
	unsigned int rr;
	struct sess *dirty;
	struct stream *graves;	/* freed after the epoll batch */
	struct sockaddr_storage target;
	socklen_t target_len;
	int stopping;
	time_t now;
	time_t next_snmp;
	FILE *log;
	unsigned long long streams_opened, streams_closed;
};

static struct tun T;

static void logf_(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void logf_(const char *fmt, ...)
{
	char ts[32];
	struct tm tm;
	time_t t = time(NULL);
	va_list ap;

	localtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y/%m/%d %H:%M:%S", &tm);
	fprintf(T.log, "%s ", ts);
	va_start(ap, fmt);
	vfprintf(T.log, fmt, ap);
	va_end(ap);
	fputc('\n', T.log);
	fflush(T.log);
}

static void ev_set(struct evobj *e, uint32_t want)
{
	struct epoll_event ee = { .events = want, .data.ptr = e };
	int op;

	if (e->want == want || e->fd < 0)
		return;
	op = !want ? EPOLL_CTL_DEL : e->want ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(T.ep, op, e->fd, &ee) && op != EPOLL_CTL_DEL) {
		logf_("epoll_ctl: %s", strerror(errno));
		exit(1);
	}
	e->want = want;
}

static void ev_close(struct evobj *e)
{
	if (e->fd < 0)
		return;
	ev_set(e, 0);
	close(e->fd);
	e->fd = -1;
}

static void fmt_addr(const struct sockaddr *sa, char *out, size_t len)
{
	char h[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, h, sizeof(h));
		snprintf(out, len, "%s:%u", h, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, h, sizeof(h));
		snprintf(out, len, "[%s]:%u", h, ntohs(in6->sin6_port));
	} else {
		snprintf(out, len, "unix");
	}
}

/* "host:port", "[v6]:port", ":port" (host empty: *@wild set) */
static int split_hostport(const char *s, char *host, size_t hlen,
			  char *port, size_t plen)
{
	const char *c;

	if (s[0] == '[') {
		c = strchr(s, ']');
		if (!c || c[1] != ':')
			return -1;
		snprintf(host, hlen, "%.*s", (int)(c - s - 1), s + 1);
		snprintf(port, plen, "%s", c + 2);
	} else {
		c = strrchr(s, ':');
		if (!c || memchr(s, ':', c - s))
			return -1;
		snprintf(host, hlen, "%.*s", (int)(c - s), s);
		snprintf(port, plen, "%s", c + 1);
	}
	return port[0] ? 0 : -1;
}

static int resolve(const char *s, int passive, struct addrinfo **res)
{
	char host[256], port[32];
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM };
	int err;

	if (split_hostport(s, host, sizeof(host), port, sizeof(port))) {
		logf_("%s: missing port in address", s);
		return -1;
	}
	if (passive)
		hints.ai_flags = AI_PASSIVE;
	err = getaddrinfo(host[0] ? host : NULL, port, &hints, res);
	if (err) {
		logf_("%s: %s", s, gai_strerror(err));
		return -1;
	}
	return 0;
}

/* ---- smux output ---- */

static void sess_dirty(struct sess *s)
{
	if (s->dirty)
		return;
	s->dirty = 1;
	s->dnext = T.dirty;
	T.dirty = s;
}

static struct buf *sess_obuf(struct sess *s)
{
	return T.comp ? &s->pend : &s->out;
}

static size_t sess_queued(struct sess *s)
{
	return s->pend.len + s->out.len;
}

static void send_frame(struct sess *s, int cmd, uint32_t sid,
		       const void *data, size_t len)
{
	struct buf *b = sess_obuf(s);
	unsigned char *p = buf_reserve(b, SMUX_HDR + len);

	smux_put_hdr(p, T.cfg.smuxver, cmd, len, sid);
	if (len)
		memcpy(p + SMUX_HDR, data, len);
	buf_commit(b, SMUX_HDR + len);
	sess_dirty(s);
}

static void send_upd(struct stream *st)
{
	unsigned char u[SMUX_UPD_LEN];

	smux_put32(u, st->num_read);
	smux_put32(u + 4, T.cfg.streambuf);
	send_frame(st->s, SMUX_UPD, st->sid, u, sizeof(u));
}

/* ---- streams ---- */

static void stream_update(struct stream *st);
static void sess_kill(struct sess *s, const char *why);

static struct stream *stream_find(struct sess *s, uint32_t sid)
{
	struct stream *st;

	if (!s->tab_size)
		return NULL;
	for (st = s->tab[sid & (s->tab_size - 1)]; st; st = st->hnext)
		if (st->sid == sid)
			return st;
	return NULL;
}

static void stream_hash(struct sess *s, struct stream *st)
{
	struct stream **nt, *x, *nx;
	size_t ns, i;

	if (s->nstreams >= s->tab_size) {
		ns = s->tab_size ? s->tab_size * 2 : 64;
		nt = calloc(ns, sizeof(*nt));
		if (!nt) {
			logf_("out of memory");
			exit(1);
		}
		for (i = 0; i < s->tab_size; i++)
			for (x = s->tab[i]; x; x = nx) {
				nx = x->hnext;
				x->hnext = nt[x->sid & (ns - 1)];
				nt[x->sid & (ns - 1)] = x;
			}
		free(s->tab);
		s->tab = nt;
		s->tab_size = ns;
	}
	i = st->sid & (s->tab_size - 1);
	st->hnext = s->tab[i];
	s->tab[i] = st;
	s->nstreams++;
	st->next = s->streams;
	if (s->streams)
		s->streams->prev = st;
	s->streams = st;
}

static struct stream *stream_new(struct sess *s, uint32_t sid, int fd)
{
	struct stream *st = calloc(1, sizeof(*st));

	if (!st) {
		logf_("out of memory");
		exit(1);
	}
	st->ev.type = EV_STREAM;
	st->ev.fd = fd;
	st->s = s;
	st->sid = sid;
	st->peer_window = SMUX_INITIAL_WINDOW;
	stream_hash(s, st);
	T.streams_opened++;
	return st;
}

static void stream_free(struct stream *st)
{
	struct sess *s = st->s;
	struct stream **pp;

	if (!T.cfg.quiet)
		logf_("stream closed in: %s out: %s(%u)",
		      T.cfg.server ? s->peer : st->addr,
		      T.cfg.server ? st->addr : s->peer, st->sid);
	for (pp = &s->tab[st->sid & (s->tab_size - 1)]; *pp;
	     pp = &(*pp)->hnext)
		if (*pp == st) {
			*pp = st->hnext;
			break;
		}
	s->nstreams--;
	if (st->prev)
		st->prev->next = st->next;
	else
		s->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	s->buffered -= st->q.len;
	ev_close(&st->ev);
	buf_free(&st->q);
	/* later events of this epoll batch may still name it */
	st->next = T.graves;
	T.graves = st;
	T.streams_closed++;
}

static void reap_graves(void)
{
	struct stream *st;

	while ((st = T.graves)) {
		T.graves = st->next;
		free(st);
	}
}

static void stream_send_fin(struct stream *st)
{
	if (st->fin_sent)
		return;
	st->fin_sent = 1;
	send_frame(st->s, SMUX_FIN, st->sid, NULL, 0);
}

/* The TCP side failed or the tunnel stops: FIN, and gone. */
static void stream_abort(struct stream *st)
{
	stream_send_fin(st);
	stream_free(st);
}

/* Frees @st when both directions are done; 1 if freed. */
static int stream_maybe_done(struct stream *st)
{
	if (st->fin_rcvd && !st->q.len && !st->wr_shut && !st->connecting &&
	    st->ev.fd >= 0) {
		shutdown(st->ev.fd, SHUT_WR);
		st->wr_shut = 1;
	}
	if (st->fin_sent && st->wr_shut) {
		stream_free(st);
		return 1;
	}
	return 0;
}

/* Bytes of the stream now written to TCP: smux v2 tells the sender. */
static void stream_consumed(struct stream *st, size_t n)
{
	if (T.cfg.smuxver < 2)
		return;
	st->num_read += n;
	st->incr += n;
	/* as smux's Stream.Read: at the first read, then each half window */
	if (st->incr >= (uint32_t)T.cfg.streambuf / 2 || !st->upd_sent) {
		st->upd_sent = 1;
		st->incr = 0;
		send_upd(st);
	}
}

static int stream_write_q(struct stream *st)
{
	struct sess *s = st->s;
	size_t before = s->buffered;
	ssize_t n;

	while (st->q.len) {
		n = write(st->ev.fd, buf_data(&st->q), st->q.len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -1;
		}
		buf_consume(&st->q, n);
		s->buffered -= n;
		stream_consumed(st, n);
	}
	if (!st->q.len && st->q.cap > 65536)
		buf_free(&st->q);
	if (before >= (size_t)T.cfg.smuxbuf &&
	    s->buffered < (size_t)T.cfg.smuxbuf && !s->dead)
		sess_dirty(s);	/* the KCP socket may be read again */
	return 0;
}

static size_t stream_room(struct stream *st)
{
	int32_t win;

	if (T.cfg.smuxver < 2)
		return SMUX_MAX_FRAME;
	win = (int32_t)st->peer_window -
	      (int32_t)(st->num_written - st->peer_consumed);
	if (win <= 0)
		return 0;
	return win < SMUX_MAX_FRAME ? (size_t)win : SMUX_MAX_FRAME;
}

static void stream_update(struct stream *st)
{
	uint32_t want = 0;

	if (st->ev.fd < 0)
		return;
	if (st->connecting) {
		want = EPOLLOUT;
	} else {
		if (!st->rd_eof && !st->s->out_blocked && stream_room(st))
			want |= EPOLLIN;
		if (st->q.len)
			want |= EPOLLOUT;
	}
	ev_set(&st->ev, want);
}

static void stream_read(struct stream *st)
{
	struct sess *s = st->s;
	struct buf *b = sess_obuf(s);
	unsigned char *p;
	size_t room;
	ssize_t n;
	int i;

	for (i = 0; i < TCP_READS; i++) {
		room = stream_room(st);
		if (!room || sess_queued(s) >= OUT_HIGH)
			break;
		p = buf_reserve(b, SMUX_HDR + room);
		n = read(st->ev.fd, p + SMUX_HDR, room);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			if (n < 0) {
				stream_abort(st);
				return;
			}
			st->rd_eof = 1;
			stream_send_fin(st);
			if (stream_maybe_done(st))
				return;
			break;
		}
		smux_put_hdr(p, T.cfg.smuxver, SMUX_PSH, n, st->sid);
		buf_commit(b, SMUX_HDR + n);
		st->num_written += n;
		sess_dirty(s);
		if ((size_t)n < room)
			break;
	}
	if (sess_queued(s) >= OUT_HIGH)
		s->out_blocked = 1;
	stream_update(st);
}

static void stream_event(struct stream *st, uint32_t ev)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (st->connecting) {
		if (getsockopt(st->ev.fd, SOL_SOCKET, SO_ERROR, &err, &el) ||
		    err) {
			logf_("dial %s: %s", T.cfg.target, strerror(err));
			stream_abort(st);
			return;
		}
		st->connecting = 0;
	}
	if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && st->q.len) {
		if (stream_write_q(st)) {
			stream_abort(st);
			return;
		}
	}
	if (stream_maybe_done(st))
		return;
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR) && !st->rd_eof) {
		stream_read(st);
		return;
	}
	stream_update(st);
}

/* ---- sessions ---- */

static void sess_update(struct sess *s)
{
	uint32_t want = 0;

	if (s->dead)
		return;
	if (s->buffered < (size_t)T.cfg.smuxbuf && !T.stopping)
		want |= EPOLLIN;
	if (s->out.len || s->pend.len)
		want |= EPOLLOUT;
	ev_set(&s->ev, want);
}

static struct sess *sess_new(int fd, const struct sockaddr *peer)
{
	struct sess *s = calloc(1, sizeof(*s));

	if (!s) {
		logf_("out of memory");
		exit(1);
	}
	s->ev.type = EV_SESS;
	s->ev.fd = fd;
	s->next_sid = T.cfg.server ? 0 : 1;
	s->last_ping = s->last_check = T.now;
	fmt_addr(peer, s->peer, sizeof(s->peer));
	s->next = T.sessions;
	if (T.sessions)
		T.sessions->prev = s;
	T.sessions = s;
	logf_("smux version: %d on connection: -> %s", T.cfg.smuxver,
	      s->peer);
	sess_update(s);
	return s;
}

/* Ends the session and its streams; freed after the event batch. */
static void sess_kill(struct sess *s, const char *why)
{
	unsigned int i;

	if (s->dead)
		return;
	logf_("session %s: %s", s->peer, why);
	s->dead = 1;
	while (s->streams) {
		s->streams->fin_sent = 1;	/* nothing more will be sent */
		stream_free(s->streams);
	}
	ev_close(&s->ev);
	if (T.slots)
		for (i = 0; i < (unsigned int)T.cfg.conn; i++)
			if (T.slots[i] == s)
				T.slots[i] = NULL;
	sess_dirty(s);	/* reaped in flush_dirty() */
}

static void sess_free(struct sess *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		T.sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	buf_free(&s->in);
	buf_free(&s->plain);
	buf_free(&s->pend);
	buf_free(&s->out);
	free(s->tab);
	free(s);
}

static void target_open(struct sess *s, uint32_t sid);

/* One smux frame of @len bytes at @p; -1 if the session must end. */
static int sess_frame(struct sess *s, const unsigned char *p, size_t len)
{
	struct smux_hdr h;
	struct stream *st;
	ssize_t n = 0;
	size_t dl;

	smux_get_hdr(p, &h);
	st = stream_find(s, h.sid);
	switch (h.cmd) {
	case SMUX_NOP:
		break;
	case SMUX_SYN:
		if (T.cfg.server && !st && !T.stopping)
			target_open(s, h.sid);
		break;
	case SMUX_FIN:
		if (st) {
			st->fin_rcvd = 1;
			stream_maybe_done(st);
		}
		break;
	case SMUX_PSH:
		dl = len - SMUX_HDR;
		if (!st || !dl || st->wr_shut)
			break;
		if (!st->q.len && !st->connecting) {
			n = write(st->ev.fd, p + SMUX_HDR, dl);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				stream_abort(st);
				break;
			}
			if (n < 0)
				n = 0;
			if (n)
				stream_consumed(st, n);
		}
		if ((size_t)n < dl) {
			buf_append(&st->q, p + SMUX_HDR + n, dl - n);
			s->buffered += dl - n;
			stream_update(st);
		}
		break;
	case SMUX_UPD:
		if (st) {
			st->peer_consumed = smux_get32(p + SMUX_HDR);
			st->peer_window = smux_get32(p + SMUX_HDR + 4);
			/* more consumed than sent: smux's ErrConsumed */
			if ((int32_t)(st->num_written -
				      st->peer_consumed) < 0) {
				stream_abort(st);
				break;
			}
			stream_update(st);
		}
		break;
	}
	return 0;
}

/* Parses the smux frames in @b; -1 on a protocol error. */
static int sess_parse(struct sess *s, struct buf *b)
{
	long fl;

	while (b->len >= SMUX_HDR) {
		fl = smux_frame_len(buf_data(b), b->len, T.cfg.smuxver);
		if (fl < 0)
			return -1;
		if (!fl)
			break;
		s->data_ready = 1;
		sess_frame(s, buf_data(b), fl);
		if (s->dead)
			return 0;
		buf_consume(b, fl);
	}
	return 0;
}

static void sess_input(struct sess *s)
{
	unsigned char *p;
	const void *data;
	size_t dlen;
	ssize_t n;
	long used;

	while (s->buffered < (size_t)T.cfg.smuxbuf) {
		p = buf_reserve(&s->in, KCP_READ);
		n = read(s->ev.fd, p, KCP_READ);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			sess_kill(s, n ? strerror(errno) : "closed");
			return;
		}
		buf_commit(&s->in, n);
		if (!T.comp) {
			if (sess_parse(s, &s->in)) {
				sess_kill(s, "smux: invalid protocol");
				return;
			}
		} else {
			for (;;) {
				p = buf_reserve(&s->plain,
						SNAPPY_FRAME_MAX_BLOCK);
				used = snappy_frame_decode(&s->dec,
							   buf_data(&s->in),
							   s->in.len, p,
							   &data, &dlen);
				if (used < 0) {
					sess_kill(s, "snappy: corrupt input");
					return;
				}
				if (!used)
					break;
				if (data != p)
					memcpy(p, data, dlen);
				buf_commit(&s->plain, dlen);
				buf_consume(&s->in, used);
			}
			if (sess_parse(s, &s->plain)) {
				sess_kill(s, "smux: invalid protocol");
				return;
			}
		}
		if (s->dead)
			return;
		if (n < KCP_READ)
			break;
	}
	sess_update(s);
}

/* Compresses what is pending and writes to the KCP socket. */
static void sess_flush(struct sess *s)
{
	struct stream *st;
	unsigned char *p;
	size_t n;
	ssize_t w;

	if (T.comp && s->pend.len) {
		p = buf_reserve(&s->out, snappy_frame_bound(s->pend.len));
		n = snappy_frame_encode(&s->enc_started, buf_data(&s->pend),
					s->pend.len, p);
		buf_commit(&s->out, n);
		buf_consume(&s->pend, s->pend.len);
	}
	while (s->out.len) {
		w = write(s->ev.fd, buf_data(&s->out), s->out.len);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			sess_kill(s, strerror(errno));
			return;
		}
		buf_consume(&s->out, w);
	}
	if (s->out_blocked && sess_queued(s) < OUT_LOW) {
		s->out_blocked = 0;
		for (st = s->streams; st; st = st->next)
			stream_update(st);
	} else if (sess_queued(s) >= OUT_HIGH && !s->out_blocked) {
		s->out_blocked = 1;
		for (st = s->streams; st; st = st->next)
			stream_update(st);
	}
	sess_update(s);
}

static void flush_dirty(void)
{
	struct sess *s;

	while ((s = T.dirty)) {
		T.dirty = s->dnext;
		s->dirty = 0;
		if (s->dead)
			sess_free(s);
		else
			sess_flush(s);
	}
}

/* ---- AF_KCP sockets, set up as kcptun sets up kcp-go ---- */

static int kset(int fd, int opt, const void *v, socklen_t len,
		const char *name)
{
	if (setsockopt(fd, SOL_KCP, opt, v, len) == 0)
		return 0;
	logf_("setsockopt %s: %s", name, strerror(errno));
	return -1;
}

static int kcp_configure(int fd, int v6)
{
	struct tun_cfg *c = &T.cfg;
	struct kcp_fec fec = { 0, 0 };
	struct kcp_nodelay nd = { c->nodelay, c->interval, c->resend, c->nc };
	struct kcp_wndsize w = { c->sndwnd, c->rcvwnd };
	int one = 1, zero = 0, tos = c->dscp << 2, bufsz = c->sockbuf;

	if (c->datashard > 0 && c->parityshard > 0) {
		fec.data_shards = c->datashard;
		fec.parity_shards = c->parityshard;
	}
	if (kset(fd, KCP_FEC, &fec, sizeof(fec), "KCP_FEC") ||
	    kset(fd, KCP_CRYPTO, &T.crypto, sizeof(T.crypto), "KCP_CRYPTO") ||
	    kset(fd, KCP_STREAM, &one, sizeof(one), "KCP_STREAM") ||
	    kset(fd, KCP_WRITE_DELAY, &zero, sizeof(zero), "KCP_WRITE_DELAY") ||
	    kset(fd, KCP_NODELAY, &nd, sizeof(nd), "KCP_NODELAY") ||
	    kset(fd, KCP_MTU, &c->mtu, sizeof(int), "KCP_MTU") ||
	    kset(fd, KCP_WNDSIZE, &w, sizeof(w), "KCP_WNDSIZE") ||
	    kset(fd, KCP_ACK_NODELAY, &c->acknodelay, sizeof(int),
		 "KCP_ACK_NODELAY") ||
	    /*
	     * kcptun's Dial returns at once and smux frames queue behind
	     * it; a dead server is smux keepalive's to find, as in kcptun
	     */
	    kset(fd, KCP_CONNECT_TIMEOUT, &zero, sizeof(zero),
		 "KCP_CONNECT_TIMEOUT"))
		return -1;
	if (tos && (v6 ? setsockopt(fd, SOL_IPV6, IPV6_TCLASS, &tos,
				    sizeof(tos)) :
		    setsockopt(fd, SOL_IP, IP_TOS, &tos, sizeof(tos))))
		logf_("SetDSCP: %s", strerror(errno));
	/*
	 * kcp-go sizes its UDP socket's buffers; here the nearest thing is
	 * the AF_KCP socket's, which also cap the receive window at
	 * rcvbuf / mss: forced past net.core.[rw]mem_max when allowed.
	 */
	if (bufsz > 0) {
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz,
			       sizeof(bufsz)) &&
		    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz,
			       sizeof(bufsz)))
			logf_("SetReadBuffer: %s", strerror(errno));
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz,
			       sizeof(bufsz)) &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz,
			       sizeof(bufsz)))
			logf_("SetWriteBuffer: %s", strerror(errno));
	}
	return 0;
}

static struct sess *client_dial(void)
{
	struct addrinfo *res, *ai;
	struct sess *s;
	int fd = -1;

	if (resolve(T.cfg.remoteaddr, 0, &res))
		return NULL;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(T.family,
			    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			logf_("socket(AF_KCP=%d): %s%s", T.family,
			      strerror(errno), errno == EAFNOSUPPORT ?
			      " (modprobe kcp)" : "");
			break;
		}
		if (!kcp_configure(fd, ai->ai_family == AF_INET6) &&
		    !connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		logf_("dial %s: %s", T.cfg.remoteaddr, strerror(errno));
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		freeaddrinfo(res);
		return NULL;
	}
	s = sess_new(fd, ai->ai_addr);
	freeaddrinfo(res);
	if (T.cfg.autoexpire > 0)
		s->expire_at = T.now + T.cfg.autoexpire;
	return s;
}

/* client: a new TCP connection becomes a stream of the next session */
static void tcp_accept(struct evobj *l)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct stream *st;
	struct sess *s;
	unsigned int idx;
	int fd;

	for (;;) {
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				logf_("accept: %s", strerror(errno));
			return;
		}
		idx = T.rr % T.cfg.conn;
		s = T.slots[idx];
		if (s && T.cfg.autoexpire > 0 && T.now >= s->expire_at) {
			/* kcptun's scavenger closes it scavengettl later */
			s->scavenge_at = s->expire_at + T.cfg.scavengettl;
			T.slots[idx] = NULL;
			s = NULL;
		}
		if (!s)
			s = T.slots[idx] = client_dial();
		if (!s) {
			close(fd);
			continue;
		}
		T.rr++;
		s->next_sid += 2;
		st = stream_new(s, s->next_sid, fd);
		fmt_addr((struct sockaddr *)&ss, st->addr, sizeof(st->addr));
		send_frame(s, SMUX_SYN, st->sid, NULL, 0);
		if (!T.cfg.quiet)
			logf_("stream opened in: %s out: %s(%u)", st->addr,
			      s->peer, st->sid);
		stream_update(st);
		sl = sizeof(ss);
	}
}

/* server: a new KCP session */
static void kcp_accept(struct evobj *l)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd;

	for (;;) {
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				logf_("accept: %s", strerror(errno));
			return;
		}
		sess_new(fd, (struct sockaddr *)&ss);
		logf_("remote address: %s", T.sessions->peer);
		sl = sizeof(ss);
	}
}

/* server: a SYN; the stream dials the target */
static void target_open(struct sess *s, uint32_t sid)
{
	struct stream *st;
	int fd;

	fd = socket(T.target.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		logf_("socket: %s", strerror(errno));
		send_frame(s, SMUX_FIN, sid, NULL, 0);
		return;
	}
	st = stream_new(s, sid, fd);
	snprintf(st->addr, sizeof(st->addr), "%.63s", T.cfg.target);
	if (connect(fd, (struct sockaddr *)&T.target, T.target_len) &&
	    errno != EINPROGRESS) {
		logf_("dial %s: %s", T.cfg.target, strerror(errno));
		stream_abort(st);
		return;
	}
	st->connecting = errno == EINPROGRESS;
	if (!T.cfg.quiet)
		logf_("stream opened in: %s(%u) out: %s", s->peer, sid,
		      T.cfg.target);
	stream_update(st);
}

static int target_resolve(void)
{
	char host[256], port[32];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	struct sockaddr_un *un = (struct sockaddr_un *)&T.target;
	int err;

	if (split_hostport(T.cfg.target, host, sizeof(host), port,
			   sizeof(port))) {
		/* kcptun: not host:port means a unix socket path */
		if (strlen(T.cfg.target) >= sizeof(un->sun_path)) {
			logf_("%s: path too long", T.cfg.target);
			return -1;
		}
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, T.cfg.target);
		T.target_len = sizeof(*un);
		return 0;
	}
	err = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (err) {
		logf_("%s: %s", T.cfg.target, gai_strerror(err));
		return -1;
	}
	memcpy(&T.target, res->ai_addr, res->ai_addrlen);
	T.target_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Listeners; ":port" listens on IPv4 and IPv6 (AF_KCP's are v6-only). */
static int listen_all(void)
{
	const char *addr = T.cfg.server ? T.cfg.listen : T.cfg.localaddr;
	struct addrinfo *res, *ai;
	int fd, one = 1, zero = 0, type, family, has_v4 = 0;

	if (resolve(addr, 1, &res))
		return -1;
	for (ai = res; ai; ai = ai->ai_next)
		has_v4 |= ai->ai_family == AF_INET;
	for (ai = res; ai && T.nlis < 2; ai = ai->ai_next) {
		type = T.cfg.server ? EV_KCP_LISTEN : EV_TCP_LISTEN;
		family = T.cfg.server ? T.family : ai->ai_family;
		fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    0);
		if (fd < 0) {
			logf_("socket: %s%s", strerror(errno),
			      T.cfg.server && errno == EAFNOSUPPORT ?
			      " (is the kcp module loaded?)" : "");
			freeaddrinfo(res);
			return -1;
		}
		if (T.cfg.server) {
			if (kcp_configure(fd, ai->ai_family == AF_INET6)) {
				close(fd);
				freeaddrinfo(res);
				return -1;
			}
		} else {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				   sizeof(one));
			/* dual-stack unless there is an IPv4 listener too */
			if (ai->ai_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
					   has_v4 ? &one : &zero, sizeof(int));
		}
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) ||
		    listen(fd, 4096)) {
			/* a second family may be unavailable: not fatal */
			if (T.nlis && ai != res) {
				close(fd);
				continue;
			}
			logf_("listen %s: %s", addr, strerror(errno));
			close(fd);
			freeaddrinfo(res);
			return -1;
		}
		T.lis[T.nlis].type = type;
		T.lis[T.nlis].fd = fd;
		ev_set(&T.lis[T.nlis], EPOLLIN);
		T.nlis++;
	}
	freeaddrinfo(res);
	return 0;
}

/* ---- SNMP log (kcptun's --snmplog, from /proc/net/kcp_snmp) ---- */

static const char *const snmp_names[] = {
	"BytesSent", "BytesReceived", "MaxConn", "ActiveOpens",
	"PassiveOpens", "CurrEstab", "InErrs", "InCsumErrors", "KCPInErrors",
	"InPkts", "OutPkts", "InSegs", "OutSegs", "InBytes", "OutBytes",
	"RetransSegs", "FastRetransSegs", "EarlyRetransSegs", "LostSegs",
	"RepeatSegs", "FECParityShards", "FECErrs", "FECRecovered",
	"FECShortShards",
};

#define NSNMP (sizeof(snmp_names) / sizeof(snmp_names[0]))

static void snmp_read(unsigned long long *v)
{
	char name[64];
	unsigned long long x;
	size_t i;
	FILE *f = fopen("/proc/net/kcp_snmp", "r");

	memset(v, 0, NSNMP * sizeof(*v));
	if (!f)
		return;
	while (fscanf(f, "%63s %llu", name, &x) == 2)
		for (i = 0; i < NSNMP; i++)
			if (!strcmp(name, snmp_names[i]))
				v[i] = x;
	fclose(f);
}

/* Go's time layout (2006 01 02 15 04 05 ...) as strftime's */
static void go_layout(const char *in, char *out, size_t len)
{
	static const char *const map[][2] = {
		{ "January", "%B" }, { "Monday", "%A" }, { "2006", "%Y" },
		{ "Jan", "%b" }, { "Mon", "%a" }, { "MST", "%Z" },
		{ "01", "%m" }, { "02", "%d" }, { "03", "%I" }, { "04", "%M" },
		{ "05", "%S" }, { "06", "%y" }, { "15", "%H" }, { "PM", "%p" },
		{ "_2", "%e" }, { "%", "%%" },
	};
	size_t o = 0, i, l;

	while (*in && o + 3 < len) {
		for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
			l = strlen(map[i][0]);
			if (!strncmp(in, map[i][0], l))
				break;
		}
		if (i < sizeof(map) / sizeof(map[0])) {
			memcpy(out + o, map[i][1], 2);
			o += 2;
			in += l;
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = 0;
}

static void snmp_log(void)
{
	unsigned long long v[NSNMP];
	char layout[TUN_STR * 2], name[TUN_STR * 2], path[TUN_STR * 4];
	const char *base = strrchr(T.cfg.snmplog, '/');
	struct tm tm;
	struct stat sb;
	size_t i, dl;
	FILE *f;

	base = base ? base + 1 : T.cfg.snmplog;
	dl = base - T.cfg.snmplog;
	go_layout(base, layout, sizeof(layout));
	localtime_r(&T.now, &tm);
	if (!strftime(name, sizeof(name), layout, &tm))
		return;
	snprintf(path, sizeof(path), "%.*s%s", (int)dl, T.cfg.snmplog, name);
	f = fopen(path, "a");
	if (!f) {
		logf_("%s: %s", path, strerror(errno));
		return;
	}
	snmp_read(v);
	if (!fstat(fileno(f), &sb) && !sb.st_size) {
		fputs("Unix", f);
		for (i = 0; i < NSNMP; i++)
			fprintf(f, ",%s", snmp_names[i]);
		fputc('\n', f);
	}
	fprintf(f, "%lld", (long long)T.now);
	for (i = 0; i < NSNMP; i++)
		fprintf(f, ",%llu", v[i]);
	fputc('\n', f);
	fclose(f);
}

static void snmp_print(void)
{
	unsigned long long v[NSNMP];
	char line[2048];
	size_t i, o = 0;

	snmp_read(v);
	for (i = 0; i < NSNMP && o < sizeof(line) - 64; i++)
		o += snprintf(line + o, sizeof(line) - o, "%s%s:%llu",
			      i ? " " : "", snmp_names[i], v[i]);
	logf_("KCP SNMP:{%s} streams opened:%llu closed:%llu", line,
	      T.streams_opened, T.streams_closed);
}

/* ---- timers: smux keepalive, client expiry, SNMP ---- */

static void tick(void)
{
	struct sess *s, *n;

	for (s = T.sessions; s; s = n) {
		n = s->next;
		if (s->dead)
			continue;
		if (s->scavenge_at && T.now >= s->scavenge_at) {
			sess_kill(s, "scavenger: session closed due to ttl");
			continue;
		}
		if (T.now - s->last_ping >= T.cfg.keepalive) {
			s->last_ping = T.now;
			send_frame(s, SMUX_NOP, 0, NULL, 0);
		}
		if (T.now - s->last_check >= SMUX_KEEPALIVE_TIMEOUT) {
			s->last_check = T.now;
			/* a session stalled by its own bucket is not idle */
			if (!s->data_ready &&
			    s->buffered < (size_t)T.cfg.smuxbuf) {
				sess_kill(s, "smux keepalive timeout");
				continue;
			}
			s->data_ready = 0;
		}
	}
	if (T.cfg.snmplog[0] && T.cfg.snmpperiod > 0 &&
	    T.now >= T.next_snmp) {
		if (T.next_snmp)
			snmp_log();
		T.next_snmp = T.now + T.cfg.snmpperiod;
	}
}

/* SIGTERM/SIGINT: stop listening, FIN every stream, flush, exit. */
static void stop(void)
{
	struct sess *s;
	int i;

	logf_("signal received: shutting down");
	T.stopping = 1;
	for (i = 0; i < T.nlis; i++)
		ev_close(&T.lis[i]);
	for (s = T.sessions; s; s = s->next) {
		if (s->dead)
			continue;
		while (s->streams)
			stream_abort(s->streams);
		sess_dirty(s);
	}
}

static int all_flushed(void)
{
	struct sess *s;

	for (s = T.sessions; s; s = s->next)
		if (!s->dead && sess_queued(s))
			return 0;
	return 1;
}

static void signal_event(void)
{
	struct signalfd_siginfo si;

	while (read(T.sig.fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			snmp_print();
		else if (!T.stopping)
			stop();
	}
}

static int loop(void)
{
	struct epoll_event evs[256];
	struct timespec ts;
	time_t stop_deadline = 0, last_tick = 0;
	struct evobj *e;
	int i, n;

	for (;;) {
		n = epoll_wait(T.ep, evs, 256, 250);
		if (n < 0 && errno != EINTR) {
			logf_("epoll_wait: %s", strerror(errno));
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		T.now = time(NULL);
		for (i = 0; i < n; i++) {
			e = evs[i].data.ptr;
			switch (e->type) {
			case EV_TCP_LISTEN:
				tcp_accept(e);
				break;
			case EV_KCP_LISTEN:
				kcp_accept(e);
				break;
			case EV_SIGNAL:
				signal_event();
				break;
			case EV_SESS: {
				struct sess *s = (struct sess *)e;

				if (s->dead)
					break;
				if (evs[i].events & (EPOLLIN | EPOLLERR |
						     EPOLLHUP))
					sess_input(s);
				if (!s->dead && (evs[i].events & EPOLLOUT))
					sess_dirty(s);
				break;
			}
			case EV_STREAM: {
				struct stream *st = (struct stream *)e;

				/* freed earlier in this batch? fd is -1 */
				if (st->ev.fd >= 0)
					stream_event(st, evs[i].events);
				break;
			}
			}
		}
		flush_dirty();
		reap_graves();
		if (ts.tv_sec != last_tick) {
			last_tick = ts.tv_sec;
			tick();
			flush_dirty();
		}
		if (T.stopping) {
			if (!stop_deadline)
				stop_deadline = ts.tv_sec + 3;
			if (all_flushed() || ts.tv_sec >= stop_deadline)
				break;
		}
	}
	return 0;
}

static void log_config(void)
{
	struct tun_cfg *c = &T.cfg;

	logf_("version: kcpctl tunnel (kcptun 20210922 compatible)");
	logf_("smux version: %d", c->smuxver);
	if (c->server) {
		logf_("listening on: %s", c->listen);
		logf_("target: %s", c->target);
	} else {
		logf_("listening on: %s", c->localaddr);
		logf_("remote address: %s", c->remoteaddr);
	}
	logf_("encryption: %s", c->crypt);
	logf_("nodelay parameters: %d %d %d %d", c->nodelay, c->interval,
	      c->resend, c->nc);
	logf_("sndwnd: %d rcvwnd: %d", c->sndwnd, c->rcvwnd);
	logf_("compression: %s", c->nocomp ? "false" : "true");
	logf_("mtu: %d", c->mtu);
	logf_("datashard: %d parityshard: %d", c->datashard, c->parityshard);
	logf_("acknodelay: %s", c->acknodelay ? "true" : "false");
	logf_("dscp: %d", c->dscp);
	logf_("sockbuf: %d", c->sockbuf);
	logf_("smuxbuf: %d", c->smuxbuf);
	logf_("streambuf: %d", c->streambuf);
	logf_("keepalive: %d", c->keepalive);
	if (!c->server) {
		logf_("conn: %d", c->conn);
		logf_("autoexpire: %d", c->autoexpire);
		logf_("scavengettl: %d", c->scavengettl);
	}
	logf_("snmplog: %s", c->snmplog);
	logf_("snmpperiod: %d", c->snmpperiod);
	logf_("quiet: %s", c->quiet ? "true" : "false");
}

static void apply_mode(struct tun_cfg *c)
{
	static const struct {
		const char *name;
		int nd, iv, rs, nc;
	} modes[] = {
		{ "normal", 0, 40, 2, 1 }, { "fast", 0, 30, 2, 1 },
		{ "fast2", 1, 20, 2, 1 }, { "fast3", 1, 10, 2, 1 },
	};
	size_t i;

	/* "manual" (or any other name): --nodelay --interval --resend --nc */
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(c->mode, modes[i].name)) {
			c->nodelay = modes[i].nd;
			c->interval = modes[i].iv;
			c->resend = modes[i].rs;
			c->nc = modes[i].nc;
		}
}

int cmd_tunnel(int argc, char **argv, int family)
{
	struct epoll_event ee;
	struct rlimit rl;
	char err[512];
	sigset_t ss;
	int server, r, rc;

	if (argc < 2 || (strcmp(argv[1], "server") && strcmp(argv[1],
							     "client"))) {
		fprintf(stderr, "usage: kcpctl tunnel server|client "
			"[kcptun options]; --help lists them\n");
		return 2;
	}
	server = !strcmp(argv[1], "server");
	T.log = stderr;
	T.family = family;
	r = tun_parse(&T.cfg, server, argc - 2, argv + 2, stdout, err,
		      sizeof(err));
	if (r > 0)
		return 0;
	if (r < 0 || tun_check(&T.cfg, err, sizeof(err))) {
		fprintf(stderr, "kcpctl tunnel: %s\n", err);
		return 2;
	}
	if (T.cfg.log[0]) {
		T.log = fopen(T.cfg.log, "a");
		if (!T.log) {
			fprintf(stderr, "kcpctl tunnel: %s: %s\n", T.cfg.log,
				strerror(errno));
			return 1;
		}
	}
	apply_mode(&T.cfg);
	T.comp = !T.cfg.nocomp;
	T.cipher = kcp_cipher_by_name(T.cfg.crypt);
	if (T.cipher <= KCP_CIPHER_NULL) {
		/* kcptun's default: branch; said, not silent */
		logf_("unknown --crypt '%s': aes, as kcptun does", T.cfg.crypt);
		snprintf(T.cfg.crypt, TUN_STR, "aes");
		T.cipher = KCP_CIPHER_AES;
	}
	log_config();
	logf_("initiating key derivation");
	if (kcptun_crypto(T.cipher, T.cfg.key, &T.crypto)) {
		logf_("key derivation failed");
		return 1;
	}
	logf_("key derivation done");

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigaddset(&ss, SIGUSR1);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	T.ep = epoll_create1(EPOLL_CLOEXEC);
	T.sig.type = EV_SIGNAL;
	T.sig.fd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	if (T.ep < 0 || T.sig.fd < 0) {
		logf_("epoll/signalfd: %s", strerror(errno));
		return 1;
	}
	ee.events = EPOLLIN;
	ee.data.ptr = &T.sig;
	epoll_ctl(T.ep, EPOLL_CTL_ADD, T.sig.fd, &ee);
	T.sig.want = EPOLLIN;
	T.now = time(NULL);
	if (server && target_resolve())
		return 1;
	if (!server) {
		T.slots = calloc(T.cfg.conn, sizeof(*T.slots));
		if (!T.slots)
			return 1;
	}
	if (listen_all())
		return 1;
	/* one line for scripts: the port actually bound */
	{
		struct sockaddr_storage la;
		socklen_t ll = sizeof(la);
		char a[64];

		if (!getsockname(T.lis[0].fd, (struct sockaddr *)&la, &ll)) {
			fmt_addr((struct sockaddr *)&la, a, sizeof(a));
			logf_("listening on: %s", a);
		}
	}
	rc = loop();
	logf_("bye");
	return rc;
}
