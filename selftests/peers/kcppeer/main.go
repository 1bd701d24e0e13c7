// SPDX-License-Identifier: GPL-2.0
//
// kcppeer - KCP interoperability test peer built on the real kcp-go v5.6.1
// (Debian golang-github-xtaci-kcp-dev), the library kcptun uses. The AF_KCP
// selftests run it as the "known good" end of every interop test.
//
// Build: selftests/peers/build.sh (GOPATH mode, offline). Run with -h for the
// flag list. One binary, three modes:
//
//	kcppeer -mode server -addr 127.0.0.1:0 [-role echo|sink|source] ...
//	kcppeer -mode client -addr 127.0.0.1:PORT [-role echo|send|recv] ...
//	kcppeer -mode gen -bytes N -seed S      # dump the test stream to stdout
//
// # Options shared by both ends
//
//	-crypt NAME   kcptun cipher name: aes aes-128 aes-192 salsa20 blowfish
//	              twofish cast5 3des tea xtea sm4 xor none, or "nil" (the
//	              default) for no crypto header at all. Unknown names are an
//	              error here (kcptun would silently fall back to aes).
//	-key STR      kcptun passphrase (default kcptun's "it's a secrect");
//	              pass = PBKDF2-HMAC-SHA1(STR, "kcp-go", 4096, 32) and the
//	              cipher key is the kcptun slice of pass (see newBlock).
//	-ds N -ps N   FEC data/parity shards (default 0/0 = no FEC header sent)
//	-preset P     kcptun mode normal|fast|fast2|fast3 = SetNoDelay values;
//	-nodelay -interval -resend -nc  override single values (of the preset
//	              or of kcp-go's defaults 0/100/0/0)
//	-sndwnd -rcvwnd -mtu   SetWindowSize / SetMtu (0 = kcp-go default
//	              32/32/1400)
//	-stream       stream mode (kcptun); default: kcp-go message mode
//	-acknodelay -writedelay   SetACKNoDelay(true) / SetWriteDelay(true)
//	-sockbuf N    SO_RCVBUF/SO_SNDBUF of the UDP socket (0 = OS default)
//	-bytes N -seed S   amount and seed of the deterministic test stream
//	-msgsize M    write in M-byte Write calls; in message mode also check
//	              the size of every Read against what kcp-go delivers
//	-v            verbose: MSGSIZES lines and diagnostics
//
// Settings are applied right after Dial / AcceptKCP (as kcptun does), so a
// server session runs with kcp-go defaults for its first datagrams.
//
// # Server (-mode server)
//
// Prints "LISTEN <addr>" (the real bound address, so -addr 127.0.0.1:0
// works) once listening, then serves every session in its own goroutine:
//
//	-role echo    (default) write back every Read, one Write per Read. In
//	              message mode that preserves message boundaries.
//	-role sink    read and discard; the SESSION line reports rx bytes, the
//	              sha256 and whether the data equals the test stream of
//	              -seed (match=1). With -bytes N > 0 the session is ok only
//	              if exactly N matching bytes arrived.
//	-role source  wait for at least one byte from the peer (any content; a
//	              KCP client has to send something anyway before a server
//	              knows about it), then write -bytes N of the test stream,
//	              wait until the peer has acknowledged all of it, Close.
//
// KCP has no FIN, so a session ends when no application data arrived for
// -idle seconds (default 3). Before Close the server waits up to -linger
// seconds (default 10) until everything it sent is acknowledged (kcp-go's
// Close does not wait). A session that never carried data (e.g. one spawned
// by a stray ACK arriving after Close, see below) is reported with empty=1
// and not counted. The server exits after -sessions N counted sessions
// (0 = never) or after -timeout seconds (0 = never), or on SIGINT/SIGTERM,
// always printing the RESULT line first.
//
// # Client (-mode client)
//
//	-role echo    (default) write -bytes N (default 1 MiB) of the test
//	              stream while concurrently reading the echo; ok only if
//	              exactly the same bytes come back before -timeout
//	              (default 30 s).
//	-role send    write N bytes, wait up to -linger seconds until all are
//	              acknowledged, then Close; ok if all were acknowledged.
//	-role recv    write a 1-byte hello ("H"), then read exactly N bytes and
//	              verify them against the test stream of -seed.
//	-sessions N -parallel P   run N sessions, P at a time, each with its own
//	              Dial (own UDP port, random conv), all with the same -seed.
//	-conv N       use conversation id N (via kcp.NewConn3 on an own socket)
//	              instead of Dial's random conv; with -sessions > 1 session
//	              i uses N+i.
//	-hold S       keep each session open S seconds after its transfer,
//	              before Close, so that whatever the peer sends when it
//	              closes its end arrives and is counted (RESULT's Snmp).
//
// # The test stream (reimplement this in C/Python to generate or verify)
//
// xorshift64* with the classic (12, 25, 27) shifts, 64-bit unsigned
// arithmetic modulo 2^64:
//
//	s = seed; if s == 0 { s = 0x9E3779B97F4A7C15 }
//	for each 64-bit word w_0, w_1, ...:
//	    s ^= s >> 12; s ^= s << 25; s ^= s >> 27
//	    w = s * 0x2545F4914F6CDD1D
//	    emit the 8 bytes of w little-endian (low byte first)
//
// Byte k of the stream is byte (k mod 8) of word floor(k / 8); a stream of
// N bytes is the first N bytes (the last word truncated). Every session
// starts the stream at byte 0. Reference (seed 1, first 16 bytes; check
// longer streams against "kcppeer -mode gen -bytes N -seed S | sha256sum"):
//
//	1d dd 6c 89 4b ce e4 47 1d 65 79 e0 a8 a6 cf ab
//
// Python (M = 2**64-1), per word:
//
//	s^=s>>12; s^=(s<<25)&M; s^=s>>27; out+=((s*0x2545F4914F6CDD1D)&M).to_bytes(8,'little')
//
// C (uint64_t s):
//
//	s ^= s >> 12; s ^= s << 25; s ^= s >> 27; w = s * 0x2545F4914F6CDD1DULL;
//
// # Output (stdout; diagnostics go to stderr)
//
//	LISTEN <addr>                      server, once bound
//	SESSION id=.. role=.. local=.. remote=.. conv=.. rx=.. tx=.. sha256=.. match=..
//	        secs=.. srtt_ms=.. rto_ms=.. ok=.. [empty=1] [err=..]
//	MSGSIZES id=.. <size>x<count>,...  with -v: sizes returned by Read
//	RESULT ok=0|1 mode=.. role=.. sessions=.. failed=.. bytes=.. rx=.. tx=..
//	       sha256=.. secs=.. goodput_kbps=.. [msg_ok=0|1] <Snmp>=<n> ...
//
// RESULT is printed exactly once, last. bytes = the role's payload (echo
// and recv: bytes received and verified; send and source: bytes sent; sink:
// bytes received); sha256 = of that payload when all sessions agree, else
// "mixed" ("-" if none); secs = first Dial/Accept to last data; goodput in
// kbit/s = bytes*8/secs/1000; then every field of kcp.DefaultSnmp.Copy()
// (process-wide, so they sum over all sessions) under its Go field name, e.g.
// InPkts OutPkts InCsumErrors KCPInErrors RetransSegs FastRetransSegs
// EarlyRetransSegs LostSegs RepeatSegs FECRecovered FECErrs FECParityShards
// FECShortShards InErrs. Exit status: 0 ok, 1 test failed, 2 usage error.
//
// # kcp-go behaviour worth knowing (5.6.1)
//
//   - UDPSession.Write splits every buffer into mss-sized Send calls, so in
//     message mode a Write of M bytes becomes ceil(M/mss) messages of mss,
//     ..., M mod mss bytes (frg is always 0), and each Read returns exactly
//     one such message. mss = mtu - 24 - 20 (any cipher incl. none) - 8 (FEC
//     with ds>0 and ps>0); 1376 with all defaults.
//   - In stream mode Send first tops up the last not-yet-sent segment, so
//     segment (and Read) sizes depend on timing; Read still returns at most
//     one segment per call.
//   - A Read buffer smaller than the message gets its prefix; the rest is
//     returned by the following Reads (kcppeer reads with 64 KiB buffers).
//   - Close sends nothing to the peer and does not wait for acks; a server
//     session that is closed is forgotten, and any later datagram from the
//     same address spawns a fresh session with the same conv but fresh state
//     (rcv_nxt 0), which drops or never delivers the peer's continuing data:
//     a peer that keeps sending after the server side went idle is stuck
//     retransmitting. Keep the server's -idle above the longest pause.
//   - With -crypt sm4 kcp-go corrupts some of its own datagrams under
//     bidirectional load (its send and receive paths share one gmsm
//     Sm4Cipher whose scratch buffers live in the cipher object), so the
//     receiver sees CRC errors; the data still arrives by retransmission.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"os/signal"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"kcptest/kcpgo"

	kcp "github.com/xtaci/kcp-go"
)

// ---------------------------------------------------------------------------
// Configuration

type config struct {
	kcpgo.Opts
	mode, addr, role       string
	nodelay, interval      int
	resend, nc             int
	stream                 bool
	ackNoDelay, writeDelay bool
	bytes                  int64
	seed                   uint64
	msgsize                int
	timeout, linger, idle  float64
	hold                   float64
	sessions, parallel     int
	conv                   int64
	verbose                bool

	explicit map[string]bool // flags given on the command line
}

var presets = kcpgo.Presets

func parseFlags() *config {
	c := &config{}
	c.Opts.Flags(flag.CommandLine, 0)
	flag.StringVar(&c.mode, "mode", "", "server | client | gen")
	flag.StringVar(&c.addr, "addr", "", "host:port to listen on (server) or dial (client); IPv6 as [::1]:port")
	flag.StringVar(&c.role, "role", "echo", "server: echo|sink|source; client: echo|send|recv")
	flag.IntVar(&c.nodelay, "nodelay", 0, "SetNoDelay nodelay")
	flag.IntVar(&c.interval, "interval", 100, "SetNoDelay interval (ms)")
	flag.IntVar(&c.resend, "resend", 0, "SetNoDelay fast resend threshold")
	flag.IntVar(&c.nc, "nc", 0, "SetNoDelay no-congestion-control")
	flag.BoolVar(&c.stream, "stream", false, "stream mode (default: message mode)")
	flag.BoolVar(&c.ackNoDelay, "acknodelay", false, "SetACKNoDelay(true)")
	flag.BoolVar(&c.writeDelay, "writedelay", false, "SetWriteDelay(true)")
	flag.Int64Var(&c.bytes, "bytes", -1, "payload bytes (client/source default 1048576; sink: expected, 0 = any)")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the deterministic test stream")
	flag.IntVar(&c.msgsize, "msgsize", 0, "bytes per Write call (0 = 65536); message mode: check Read sizes")
	flag.Float64Var(&c.timeout, "timeout", -1, "seconds: client per-session deadline (default 30); server run time (default 0 = forever)")
	flag.Float64Var(&c.linger, "linger", 10, "seconds to wait for all sent data to be acknowledged before Close")
	flag.Float64Var(&c.idle, "idle", 3, "server: seconds without input after which a session is finished")
	flag.Float64Var(&c.hold, "hold", 0, "client: seconds to keep a session open after its transfer, before Close")
	flag.IntVar(&c.sessions, "sessions", -1, "client: sessions to run (default 1); server: exit after N sessions (default 0 = never)")
	flag.IntVar(&c.parallel, "parallel", 1, "client: sessions run concurrently")
	flag.Int64Var(&c.conv, "conv", -1, "client: fixed conversation id (default: random, as Dial)")
	flag.BoolVar(&c.verbose, "v", false, "verbose")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s -mode server|client|gen -addr host:port [options]\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()

	c.explicit = map[string]bool{}
	flag.Visit(func(f *flag.Flag) { c.explicit[f.Name] = true })

	client := c.mode == "client"
	if c.bytes < 0 {
		if c.mode == "server" && c.role == "sink" {
			c.bytes = 0
		} else {
			c.bytes = 1 << 20
		}
	}
	if c.timeout < 0 {
		c.timeout = 0
		if client {
			c.timeout = 30
		}
	}
	if c.sessions < 0 {
		c.sessions = 0
		if client {
			c.sessions = 1
		}
	}
	if c.parallel < 1 {
		c.parallel = 1
	}
	if c.msgsize < 0 {
		usage("-msgsize must be >= 0")
	}
	if c.Preset != "" {
		p, ok := presets[c.Preset]
		if !ok {
			usage("unknown -preset %q", c.Preset)
		}
		// Explicit single flags win over the preset.
		if !c.explicit["nodelay"] {
			c.nodelay = p[0]
		}
		if !c.explicit["interval"] {
			c.interval = p[1]
		}
		if !c.explicit["resend"] {
			c.resend = p[2]
		}
		if !c.explicit["nc"] {
			c.nc = p[3]
		}
	}

	switch c.mode {
	case "gen":
	case "server":
		if c.role != "echo" && c.role != "sink" && c.role != "source" {
			usage("server -role must be echo, sink or source")
		}
	case "client":
		if c.role != "echo" && c.role != "send" && c.role != "recv" {
			usage("client -role must be echo, send or recv")
		}
		if c.bytes <= 0 {
			usage("client needs -bytes > 0")
		}
	default:
		usage("-mode must be server, client or gen")
	}
	if c.mode != "gen" && c.addr == "" {
		usage("-addr is required")
	}
	return c
}

func usage(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "kcppeer: "+format+" (-h for help)\n", a...)
	os.Exit(2)
}

func fatal(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "kcppeer: "+format+"\n", a...)
	os.Exit(1)
}

// newBlock builds the BlockCrypt exactly as kcptun 20210922 does
// (client/main.go, server/main.go): pass = PBKDF2-HMAC-SHA1(key, "kcp-go",
// 4096, 32), key material = a prefix of pass per cipher. "nil" means no
// BlockCrypt, i.e. no 20-byte nonce+CRC header on the wire.
func newBlock(name, key string) (kcp.BlockCrypt, error) {
	b, err := kcpgo.NewBlock(name, kcpgo.Pass(key))
	if err != nil {
		return nil, fmt.Errorf("unknown -crypt %q", name)
	}
	return b, nil
}

// tune applies the session options, mirroring kcptun's order. Options left
// at their defaults are not touched, so a bare run is a bare kcp-go session.
func (c *config) tune(s *kcp.UDPSession) {
	s.SetStreamMode(c.stream)
	s.SetWriteDelay(c.writeDelay)
	if c.Preset != "" || c.explicit["nodelay"] || c.explicit["interval"] ||
		c.explicit["resend"] || c.explicit["nc"] {
		s.SetNoDelay(c.nodelay, c.interval, c.resend, c.nc)
	}
	if c.Sndwnd > 0 || c.Rcvwnd > 0 {
		s.SetWindowSize(c.Sndwnd, c.Rcvwnd)
	}
	if c.Mtu > 0 && !s.SetMtu(c.Mtu) {
		fmt.Fprintf(os.Stderr, "kcppeer: SetMtu(%d) rejected\n", c.Mtu)
	}
	s.SetACKNoDelay(c.ackNoDelay)
	c.SetBuffers(s)
}

func (c *config) writeChunk() int {
	if c.msgsize > 0 {
		return c.msgsize
	}
	return 65536
}

// ---------------------------------------------------------------------------
// Deterministic test stream (xorshift64*, documented at the top)

type xorshift struct {
	s    uint64
	word [8]byte
	left int // unused bytes at the end of word
}

func newStream(seed uint64) *xorshift {
	if seed == 0 {
		seed = 0x9E3779B97F4A7C15
	}
	return &xorshift{s: seed}
}

func (x *xorshift) next() uint64 {
	s := x.s
	s ^= s >> 12
	s ^= s << 25
	s ^= s >> 27
	x.s = s
	return s * 0x2545F4914F6CDD1D
}

// Read fills p with the next len(p) bytes of the stream; never fails.
func (x *xorshift) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && x.left > 0 {
		p[n] = x.word[8-x.left]
		x.left--
		n++
	}
	for len(p)-n >= 8 {
		binary.LittleEndian.PutUint64(p[n:], x.next())
		n += 8
	}
	if n < len(p) {
		binary.LittleEndian.PutUint64(x.word[:], x.next())
		x.left = 8
		for n < len(p) {
			p[n] = x.word[8-x.left]
			x.left--
			n++
		}
	}
	return n, nil
}

// ---------------------------------------------------------------------------
// Receive-side verification

// msgPlan predicts the Read sizes kcp-go delivers in message mode when the
// sender wrote total bytes in msize-byte Write calls: every Write is cut
// into mss-sized messages, the last one carrying the remainder.
type msgPlan struct {
	left, inWrite, msize, mss int64
}

func (p *msgPlan) next() int64 {
	if p.inWrite == 0 {
		if p.left == 0 {
			return -1
		}
		p.inWrite = min64(p.msize, p.left)
		p.left -= p.inWrite
	}
	seg := min64(p.inWrite, p.mss)
	p.inWrite -= seg
	return seg
}

// rle is a run-length list of Read sizes, printed as 1376x760,400x1.
type rle struct {
	size  []int
	count []int64
}

func (r *rle) add(n int) {
	if k := len(r.size); k > 0 && r.size[k-1] == n {
		r.count[k-1]++
		return
	}
	r.size = append(r.size, n)
	r.count = append(r.count, 1)
}

func (r *rle) String() string {
	const maxRuns = 256 // keep MSGSIZES lines bounded
	var b strings.Builder
	for i := range r.size {
		if i == maxRuns {
			fmt.Fprintf(&b, ",...+%druns", len(r.size)-i)
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%dx%d", r.size[i], r.count[i])
	}
	return b.String()
}

// verifier consumes received data: sha256, comparison with the test stream,
// Read sizes and (optionally) the message-size check.
type verifier struct {
	h        hash.Hash
	gen      *xorshift
	cmp      []byte
	n        int64
	firstBad int64 // offset of the first byte differing from the stream, -1 if none
	sizes    rle
	reads    int64
	plan     *msgPlan // nil: no message-size check
	msgBad   string   // first message-size mismatch
}

func newVerifier(seed uint64) *verifier {
	return &verifier{h: sha256.New(), gen: newStream(seed), firstBad: -1}
}

// checkMessages enables the message-size check for a sender that wrote
// total bytes in msize-byte Writes with the given mss.
func (v *verifier) checkMessages(total int64, msize, mss int) {
	v.plan = &msgPlan{left: total, msize: int64(msize), mss: int64(mss)}
}

func (v *verifier) feed(p []byte) {
	v.h.Write(p)
	if cap(v.cmp) < len(p) {
		v.cmp = make([]byte, len(p))
	}
	cmp := v.cmp[:len(p)]
	v.gen.Read(cmp)
	if v.firstBad < 0 && !bytes.Equal(cmp, p) {
		for i := range p {
			if p[i] != cmp[i] {
				v.firstBad = v.n + int64(i)
				break
			}
		}
	}
	v.n += int64(len(p))
	v.sizes.add(len(p))
	if v.plan != nil {
		if want := v.plan.next(); want != int64(len(p)) && v.msgBad == "" {
			v.msgBad = fmt.Sprintf("read#%d@%d:got=%d,want=%d", v.reads, v.n-int64(len(p)), len(p), want)
		}
	}
	v.reads++
}

func (v *verifier) sum() string   { return hex.EncodeToString(v.h.Sum(nil)) }
func (v *verifier) match() bool   { return v.firstBad < 0 }
func (v *verifier) msgOK() bool   { return v.plan == nil || v.msgBad == "" }
func (v *verifier) checked() bool { return v.plan != nil }

// ---------------------------------------------------------------------------
// Access to the session's KCP state
//
// kcp-go 5.6.1 does not export how much sent data is still unacknowledged,
// which we need to linger before Close (Close does not wait). The unexported
// fields UDPSession.kcp and UDPSession.mu are reached through reflect+unsafe;
// if a future kcp-go renames them, we fall back to sleeping for -linger.

type kcpView struct {
	k  *kcp.KCP
	mu *sync.Mutex
}

func viewOf(s *kcp.UDPSession) *kcpView {
	v := reflect.ValueOf(s).Elem()
	fk, fm := v.FieldByName("kcp"), v.FieldByName("mu")
	if !fk.IsValid() || fk.Type() != reflect.TypeOf((*kcp.KCP)(nil)) ||
		!fm.IsValid() || fm.Type() != reflect.TypeOf(sync.Mutex{}) {
		return nil
	}
	return &kcpView{
		k:  *(**kcp.KCP)(unsafe.Pointer(fk.UnsafeAddr())),
		mu: (*sync.Mutex)(unsafe.Pointer(fm.UnsafeAddr())),
	}
}

// waitSnd returns the number of segments queued or unacknowledged.
func (kv *kcpView) waitSnd() int {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.k.WaitSnd()
}

// mss returns the session's current maximum segment size.
func (kv *kcpView) mss() int {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return int(reflect.ValueOf(kv.k).Elem().FieldByName("mss").Uint())
}

// waitAcked waits up to d until all sent data is acknowledged.
func waitAcked(s *kcp.UDPSession, d time.Duration) bool {
	kv := viewOf(s)
	if kv == nil {
		time.Sleep(d)
		return true
	}
	end := time.Now().Add(d)
	for kv.waitSnd() > 0 {
		if time.Now().After(end) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// sessionMSS is the mss kcp-go uses for this session (mtu - 24 - header).
func (c *config) sessionMSS(s *kcp.UDPSession) int {
	if kv := viewOf(s); kv != nil {
		return kv.mss()
	}
	mtu := 1400
	if c.Mtu > 0 {
		mtu = c.Mtu
	}
	h := 0
	if c.Crypt != "nil" {
		h += 20
	}
	if c.DS > 0 && c.PS > 0 {
		h += 8
	}
	return mtu - 24 - h
}

func isTimeout(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// kcp-go returns its own unexported errTimeout wrapped by pkg/errors.
	return err != nil && strings.Contains(err.Error(), "timeout")
}

// ---------------------------------------------------------------------------
// Results and output

type result struct {
	id      int
	role    string
	local   string
	remote  string
	conv    uint32
	rx, tx  int64
	payload int64  // bytes counted in RESULT bytes=
	sum     string // sha256 of the payload
	match   bool
	msgChk  bool
	msgOK   bool
	msgBad  string
	sizes   string
	start   time.Time
	last    time.Time // last data moved
	srtt    int32
	rto     uint32
	ok      bool
	empty   bool
	err     string
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (r *result) print(verbose bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "SESSION id=%d role=%s local=%s remote=%s conv=%d rx=%d tx=%d sha256=%s match=%d secs=%.3f srtt_ms=%d rto_ms=%d ok=%d",
		r.id, r.role, r.local, r.remote, r.conv, r.rx, r.tx, r.sum, b2i(r.match),
		r.last.Sub(r.start).Seconds(), r.srtt, r.rto, b2i(r.ok))
	if r.msgChk {
		fmt.Fprintf(&b, " msg_ok=%d", b2i(r.msgOK))
		if r.msgBad != "" {
			fmt.Fprintf(&b, " msg_bad=%s", r.msgBad)
		}
	}
	if r.empty {
		b.WriteString(" empty=1")
	}
	if r.err != "" {
		fmt.Fprintf(&b, " err=%q", r.err)
	}
	kcpgo.Out("%s", b.String())
	if verbose && r.sizes != "" {
		kcpgo.Out("MSGSIZES id=%d %s", r.id, r.sizes)
	}
}

// summarize prints the RESULT line; extra are flags such as timeout=1.
func summarize(c *config, rs []*result, wantSessions int, extra string) bool {
	ok := len(rs) >= wantSessions
	failed := 0
	var payload, rx, tx int64
	sum := "-"
	msgChk, msgOK := false, true
	var first, last time.Time
	for _, r := range rs {
		if !r.ok {
			failed++
			ok = false
		}
		payload += r.payload
		rx += r.rx
		tx += r.tx
		if sum == "-" {
			sum = r.sum
		} else if sum != r.sum {
			sum = "mixed"
		}
		if r.msgChk {
			msgChk = true
			msgOK = msgOK && r.msgOK
		}
		if first.IsZero() || r.start.Before(first) {
			first = r.start
		}
		if r.last.After(last) {
			last = r.last
		}
	}
	el := 0.0
	if !first.IsZero() {
		el = last.Sub(first).Seconds()
	}
	kbps := 0.0
	if el > 0 {
		kbps = float64(payload) * 8 / el / 1000
	}
	var b strings.Builder
	fmt.Fprintf(&b, "RESULT ok=%d mode=%s role=%s sessions=%d failed=%d bytes=%d rx=%d tx=%d sha256=%s secs=%.3f goodput_kbps=%.1f",
		b2i(ok), c.mode, c.role, len(rs), failed, payload, rx, tx, sum, el, kbps)
	if msgChk {
		fmt.Fprintf(&b, " msg_ok=%d", b2i(msgOK))
	}
	if extra != "" {
		b.WriteString(" " + extra)
	}
	snmp := reflect.ValueOf(kcp.DefaultSnmp.Copy()).Elem()
	for i := 0; i < snmp.NumField(); i++ {
		fmt.Fprintf(&b, " %s=%d", snmp.Type().Field(i).Name, snmp.Field(i).Uint())
	}
	kcpgo.Out("%s", b.String())
	return ok
}

// ---------------------------------------------------------------------------
// Server

func runServer(c *config, block kcp.BlockCrypt) int {
	l, err := c.Listen(c.addr, block)
	if err != nil {
		fatal("listen %s: %v", c.addr, err)
	}
	kcpgo.Out("LISTEN %s", l.Addr().String())

	var (
		mu      sync.Mutex
		results []*result
		done    = make(chan struct{})
		once    sync.Once
		nextID  int
	)
	finish := func(r *result) {
		r.print(c.verbose)
		if r.empty {
			return
		}
		mu.Lock()
		results = append(results, r)
		n := len(results)
		mu.Unlock()
		if c.sessions > 0 && n >= c.sessions {
			once.Do(func() { close(done) })
		}
	}

	var closing int32 // set once we shut the listener down ourselves
	go func() {
		for {
			s, err := l.AcceptKCP()
			if err != nil {
				if atomic.LoadInt32(&closing) == 0 {
					fmt.Fprintf(os.Stderr, "kcppeer: accept: %v\n", err)
				}
				once.Do(func() { close(done) })
				return
			}
			go func(id int) { finish(serveSession(c, s, id)) }(nextID)
			nextID++
		}
	}()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	var timeout <-chan time.Time
	if c.timeout > 0 {
		timeout = time.After(kcpgo.Secs(c.timeout))
	}
	extra := ""
	select {
	case <-done:
	case <-timeout:
		extra = "timeout=1"
	case s := <-sig:
		extra = "signal=" + s.String()
	}
	mu.Lock()
	rs := append([]*result(nil), results...)
	mu.Unlock()
	if len(rs) < c.sessions && extra == "" {
		extra = "accept_failed=1"
	}
	ok := summarize(c, rs, c.sessions, extra)
	atomic.StoreInt32(&closing, 1)
	l.Close()
	if ok {
		return 0
	}
	return 1
}

// serveSession runs one accepted session in the configured role until it
// goes idle, then lingers for acks and closes it.
func serveSession(c *config, s *kcp.UDPSession, id int) *result {
	c.tune(s)
	r := &result{id: id, role: c.role, local: s.LocalAddr().String(),
		remote: s.RemoteAddr().String(), conv: s.GetConv(), start: time.Now()}
	r.last = r.start
	idle, linger := kcpgo.Secs(c.idle), kcpgo.Secs(c.linger)
	v := newVerifier(c.seed)
	mss := c.sessionMSS(s)
	if !c.stream && c.msgsize > 0 && c.bytes > 0 && c.role == "sink" {
		v.checkMessages(c.bytes, c.msgsize, mss)
	}
	buf := make([]byte, 65536)
	var ioErr error
	var readerDone chan int64 // source: the discarding reader's byte count

	switch c.role {
	case "echo", "sink":
		for {
			s.SetReadDeadline(time.Now().Add(idle))
			n, err := s.Read(buf)
			if n > 0 {
				r.rx += int64(n)
				r.last = time.Now()
				v.feed(buf[:n])
				if c.role == "echo" {
					s.SetWriteDeadline(time.Now().Add(linger))
					if _, err := s.Write(buf[:n]); err != nil {
						ioErr = fmt.Errorf("write: %v", err)
						break
					}
					r.tx += int64(n)
				}
			}
			if err != nil {
				if !isTimeout(err) {
					ioErr = fmt.Errorf("read: %v", err)
				}
				break
			}
		}
	case "source":
		// Discard whatever the peer sends; the first byte starts the transfer.
		// The reader ends when the session is closed below.
		hello := make(chan struct{})
		readerDone = make(chan int64, 1)
		go func() {
			var once sync.Once
			var rx int64
			b := make([]byte, 65536)
			for {
				n, err := s.Read(b)
				if n > 0 {
					rx += int64(n)
					once.Do(func() { close(hello) })
				}
				if err != nil {
					readerDone <- rx
					return
				}
			}
		}()
		select {
		case <-hello:
			ioErr = writeStream(s, c, r, func() time.Time { return time.Now().Add(linger) })
		case <-time.After(idle):
		}
	}

	acked := true
	if r.tx > 0 {
		acked = waitAcked(s, linger)
		if !acked && ioErr == nil {
			ioErr = errors.New("not all data acknowledged before -linger")
		}
	}
	r.srtt, r.rto = s.GetSRTT(), s.GetRTO()
	s.Close()
	if readerDone != nil {
		r.rx = <-readerDone
	}

	r.empty = r.rx == 0 && r.tx == 0
	switch c.role {
	case "echo":
		r.payload, r.sum, r.match = r.rx, v.sum(), v.match()
		r.ok = ioErr == nil && r.tx == r.rx
	case "sink":
		r.payload, r.sum, r.match = r.rx, v.sum(), v.match()
		r.ok = ioErr == nil
		if c.bytes > 0 {
			r.ok = r.ok && r.rx == c.bytes && r.match && v.msgOK()
		}
	case "source":
		r.payload, r.sum, r.match = r.tx, streamSum(c.seed, r.tx), true
		r.ok = ioErr == nil && r.tx == c.bytes
	}
	r.msgChk, r.msgOK, r.msgBad, r.sizes = v.checked(), v.msgOK(), v.msgBad, v.sizes.String()
	if ioErr != nil {
		r.err = ioErr.Error()
	}
	return r
}

// writeStream writes c.bytes of the test stream in writeChunk()-sized Write
// calls; deadline() gives the write deadline for each call.
func writeStream(s *kcp.UDPSession, c *config, r *result, deadline func() time.Time) error {
	gen := newStream(c.seed)
	buf := make([]byte, c.writeChunk())
	for r.tx < c.bytes {
		n := int(min64(int64(len(buf)), c.bytes-r.tx))
		gen.Read(buf[:n])
		s.SetWriteDeadline(deadline())
		if _, err := s.Write(buf[:n]); err != nil {
			return fmt.Errorf("write at %d: %v", r.tx, err)
		}
		r.tx += int64(n)
		r.last = time.Now()
	}
	return nil
}

// streamSum is the sha256 of the first n bytes of the test stream.
func streamSum(seed uint64, n int64) string {
	h := sha256.New()
	io.CopyN(h, newStream(seed), n)
	return hex.EncodeToString(h.Sum(nil))
}

// ---------------------------------------------------------------------------
// Client

func runClient(c *config, block kcp.BlockCrypt) int {
	results := make([]*result, c.sessions)
	sem := make(chan struct{}, c.parallel)
	var wg sync.WaitGroup
	for i := 0; i < c.sessions; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			r := clientSession(c, block, i)
			r.print(c.verbose)
			results[i] = r
		}(i)
	}
	wg.Wait()
	if summarize(c, results, c.sessions, "") {
		return 0
	}
	return 1
}

// dial opens a client session: kcp.DialWithOptions, or with -conv a session
// with a fixed conv on our own UDP socket (closed by the returned func).
func dial(c *config, block kcp.BlockCrypt, i int) (*kcp.UDPSession, func(), error) {
	if c.conv < 0 {
		s, err := kcp.DialWithOptions(c.addr, block, c.DS, c.PS)
		return s, func() {}, err
	}
	raddr, err := net.ResolveUDPAddr("udp", c.addr)
	if err != nil {
		return nil, nil, err
	}
	network := "udp4"
	if raddr.IP.To4() == nil {
		network = "udp"
	}
	conn, err := net.ListenUDP(network, nil)
	if err != nil {
		return nil, nil, err
	}
	s, err := kcp.NewConn3(uint32(c.conv+int64(i)), raddr, block, c.DS, c.PS, conn)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return s, func() { conn.Close() }, nil
}

func clientSession(c *config, block kcp.BlockCrypt, i int) *result {
	r := &result{id: i, role: c.role, start: time.Now()}
	r.last = r.start
	s, cleanup, err := dial(c, block, i)
	if err != nil {
		r.err = fmt.Sprintf("dial: %v", err)
		return r
	}
	defer cleanup()
	c.tune(s)
	r.local, r.remote, r.conv = s.LocalAddr().String(), s.RemoteAddr().String(), s.GetConv()
	deadline := r.start.Add(kcpgo.Secs(c.timeout))
	s.SetDeadline(deadline)
	v := newVerifier(c.seed)
	if !c.stream && c.msgsize > 0 && c.role != "send" {
		v.checkMessages(c.bytes, c.msgsize, c.sessionMSS(s))
	}

	var ioErr error
	switch c.role {
	case "echo":
		werr := make(chan error, 1)
		var wr result // the writer's own counters, merged after it ends
		go func() { werr <- writeStream(s, c, &wr, func() time.Time { return deadline }) }()
		ioErr = readN(s, v, c.bytes, r)
		if err := <-werr; err != nil && ioErr == nil {
			ioErr = err
		}
		r.tx = wr.tx
		r.payload = r.rx
	case "recv":
		if _, err := s.Write([]byte("H")); err != nil {
			ioErr = fmt.Errorf("hello: %v", err)
			break
		}
		r.tx = 1
		ioErr = readN(s, v, c.bytes, r)
		r.payload = r.rx
	case "send":
		ioErr = writeStream(s, c, r, func() time.Time { return deadline })
		if ioErr == nil && !waitAcked(s, kcpgo.Secs(c.linger)) {
			ioErr = errors.New("not all data acknowledged within -linger")
		}
		r.last = time.Now()
		r.payload = r.tx
	}
	r.srtt, r.rto = s.GetSRTT(), s.GetRTO()
	if c.hold > 0 {
		time.Sleep(kcpgo.Secs(c.hold))
	}
	s.Close()

	if c.role == "send" {
		r.sum, r.match = streamSum(c.seed, r.tx), true
		r.ok = ioErr == nil && r.tx == c.bytes
	} else {
		r.sum, r.match = v.sum(), v.match()
		r.msgChk, r.msgOK, r.msgBad = v.checked(), v.msgOK(), v.msgBad
		r.ok = ioErr == nil && r.rx == c.bytes && r.match && r.msgOK
		if !r.match && ioErr == nil {
			ioErr = fmt.Errorf("data mismatch at offset %d", v.firstBad)
		}
	}
	r.sizes = v.sizes.String()
	if ioErr != nil {
		r.err = ioErr.Error()
	}
	return r
}

// readN reads exactly n bytes (or until error/deadline) into the verifier,
// one Read per kcp-go message so that message sizes can be observed.
func readN(s *kcp.UDPSession, v *verifier, n int64, r *result) error {
	buf := make([]byte, 65536) // >= any mss, so a Read never splits a message
	for r.rx < n {
		k, err := s.Read(buf[:min64(int64(len(buf)), n-r.rx)])
		if k > 0 {
			v.feed(buf[:k])
			r.rx += int64(k)
			r.last = time.Now()
		}
		if err != nil {
			return fmt.Errorf("read at %d/%d: %v", r.rx, n, err)
		}
	}
	return nil
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

// ---------------------------------------------------------------------------

func main() {
	c := parseFlags()
	if c.mode == "gen" {
		if _, err := io.CopyN(os.Stdout, newStream(c.seed), c.bytes); err != nil {
			fatal("gen: %v", err)
		}
		return
	}
	block, err := newBlock(c.Crypt, c.Key)
	if err != nil {
		usage("%v", err)
	}
	if c.verbose {
		keys := make([]string, 0, len(c.explicit))
		for k := range c.explicit {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(os.Stderr, "kcppeer: %s role=%s crypt=%s ds=%d ps=%d nodelay=%d,%d,%d,%d stream=%v flags=%v\n",
			c.mode, c.role, c.Crypt, c.DS, c.PS, c.nodelay, c.interval, c.resend, c.nc, c.stream, keys)
	}
	if c.mode == "server" {
		os.Exit(runServer(c, block))
	}
	os.Exit(runClient(c, block))
}
