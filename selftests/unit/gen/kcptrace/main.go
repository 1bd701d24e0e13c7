// SPDX-License-Identifier: GPL-2.0
//
// kcptrace: replay a text script of operations on one or two kcp-go KCP
// endpoints and print every datagram and the ARQ state after each step.
//
// This file is compiled together with a TEST-TIME COPY of kcp-go 5.6.1's
// kcp.go and snmp.go (Debian golang-github-xtaci-kcp-dev), rewritten by
// selftests/unit/engine.mk into package main with currentMs() reading the
// fake clock below. The C side (selftests/unit/test_engine_diff.c) runs the
// same scripts against kmod/kcp_engine.c and prints the same text; the two
// must be identical line for line.
//
// Script (one operation per line, tokens separated by spaces; E is 0 or 1):
//
//	begin NAME          drop all endpoints, clock = 0, echo "begin NAME"
//	end                 echo "end"
//	new E CONV [RES]    NewKCP(CONV), ReserveBytes(RES) if given (as
//	                    UDPSession does before its first tick), then one
//	                    flush(false): the engine's kcp_init does what
//	                    kcp-go's first timer tick does
//	clock T             fake clock = T (uint32 ms)
//	nodelay E a b c d   NoDelay(a, b, c, d)
//	wndsize E s r       WndSize(s, r)
//	mtu E n             SetMtu(n)
//	reserve E n         ReserveBytes(n)
//	stream E 0|1        stream mode off/on
//	send E HEX          Send(bytes)
//	sendp E LEN SEED    Send(LEN pseudo-random bytes, splitmix64(SEED))
//	input E HEX R A     Input(bytes, regular=R, ackNoDelay=A)
//	deliver E K R A     take datagram K mod n of E's n queued output
//	                    datagrams and Input it into the other endpoint
//	drop E K            discard datagram K mod n of E's output queue
//	dup E K             append a copy of datagram K mod n to the queue
//	flush E             flush(false)
//	flushack E          flush(true)
//	recv E              one Recv() with a buffer that fits any message
//	drain E             Recv() until it returns < 0
//	peek E              PeekSize()
//	read E N            UDPSession.Read with an N-byte buffer: the rest
//	                    of a message is kept for the next read
//
// Output per operation: "> OP" (the line itself), "out E HEX" for each
// datagram E emitted (segment bytes only, the reserved headroom is cut),
// "= RESULT", then for each endpoint "s E ..." (ARQ state) and "c E ..."
// (per-endpoint counters).
package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// fakeNow is what the rewritten currentMs() returns.
var fakeNow uint32

type endpoint struct {
	id     int
	kcp    *KCP
	queue  [][]byte // emitted datagrams not yet delivered/dropped
	bufptr []byte   // UDPSession.Read leftovers
	// counters, attributed from DefaultSnmp deltas around each operation
	inSegs, outSegs, fast, early, lost, repeat, inErrs uint64
}

var (
	eps [2]*endpoint
	out *bufio.Writer
)

func splitmix(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func prbytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	var v uint64
	for i := 0; i < n; i++ {
		if i%8 == 0 {
			v = splitmix(&seed)
		}
		b[i] = byte(v >> (8 * uint(i%8)))
	}
	return b
}

func fnv64(b []byte) uint64 {
	h := uint64(0xcbf29ce484222325)
	for _, c := range b {
		h ^= uint64(c)
		h *= 0x100000001b3
	}
	return h
}

func newEndpoint(id int, conv uint32, reserve int) (*endpoint, bool) {
	ep := &endpoint{id: id}
	ep.kcp = NewKCP(conv, func(buf []byte, size int) {
		d := make([]byte, size-ep.kcp.reserved)
		copy(d, buf[ep.kcp.reserved:size])
		fmt.Fprintf(out, "out %d %s\n", ep.id, hex.EncodeToString(d))
		ep.queue = append(ep.queue, d)
	})
	ok := true
	if reserve >= 0 {
		ok = ep.kcp.ReserveBytes(reserve)
	}
	ep.kcp.flush(false)
	return ep, ok
}

func state(ep *endpoint) {
	k := ep.kcp
	fmt.Fprintf(out, "s %d una=%d nxt=%d rcv_nxt=%d cwnd=%d ssthresh=%d incr=%d srtt=%d rttvar=%d rto=%d minrto=%d rmt_wnd=%d probe=%d probe_wait=%d ts_probe=%d waitsnd=%d snd_buf=%d snd_que=%d rcv_buf=%d rcv_que=%d acks=%d state=%d mss=%d\n",
		ep.id, k.snd_una, k.snd_nxt, k.rcv_nxt, k.cwnd, k.ssthresh, k.incr,
		k.rx_srtt, k.rx_rttvar, k.rx_rto, k.rx_minrto, k.rmt_wnd, k.probe,
		k.probe_wait, k.ts_probe, k.WaitSnd(), len(k.snd_buf), len(k.snd_queue),
		len(k.rcv_buf), len(k.rcv_queue), len(k.acklist), k.state, k.mss)
	fmt.Fprintf(out, "c %d in=%d out=%d fast=%d early=%d lost=%d repeat=%d inerr=%d\n",
		ep.id, ep.inSegs, ep.outSegs, ep.fast, ep.early, ep.lost, ep.repeat, ep.inErrs)
}

type snap struct{ in, out, fast, early, lost, repeat uint64 }

func takeSnap() snap {
	s := DefaultSnmp.Copy()
	return snap{s.InSegs, s.OutSegs, s.FastRetransSegs, s.EarlyRetransSegs, s.LostSegs, s.RepeatSegs}
}

func attribute(ep *endpoint, a, b snap) {
	ep.inSegs += b.in - a.in
	ep.outSegs += b.out - a.out
	ep.fast += b.fast - a.fast
	ep.early += b.early - a.early
	ep.lost += b.lost - a.lost
	ep.repeat += b.repeat - a.repeat
}

func fail(line int, format string, args ...interface{}) {
	out.Flush()
	fmt.Fprintf(os.Stderr, "kcptrace: line %d: %s\n", line, fmt.Sprintf(format, args...))
	os.Exit(2)
}

func boolret(ok bool) string {
	if ok {
		return "0"
	}
	return "err"
}

func main() {
	out = bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	recvbuf := make([]byte, 256*1500)
	lineno := 0

	for in.Scan() {
		lineno++
		line := strings.TrimSpace(in.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		num := func(i int) uint64 {
			if i >= len(f) {
				fail(lineno, "missing argument %d", i)
			}
			v, err := strconv.ParseUint(f[i], 0, 64)
			if err != nil {
				fail(lineno, "bad number %q", f[i])
			}
			return v
		}
		inum := func(i int) int {
			if i >= len(f) {
				fail(lineno, "missing argument %d", i)
			}
			v, err := strconv.ParseInt(f[i], 0, 64)
			if err != nil {
				fail(lineno, "bad number %q", f[i])
			}
			return int(v)
		}
		hexarg := func(i int) []byte {
			if i >= len(f) {
				fail(lineno, "missing argument %d", i)
			}
			if f[i] == "-" {
				return []byte{}
			}
			b, err := hex.DecodeString(f[i])
			if err != nil {
				fail(lineno, "bad hex")
			}
			return b
		}
		switch f[0] {
		case "begin":
			eps[0], eps[1] = nil, nil
			fakeNow = 0
			fmt.Fprintf(out, "%s\n", line)
			continue
		case "end":
			fmt.Fprintf(out, "end\n")
			out.Flush()
			continue
		case "clock":
			fakeNow = uint32(num(1))
			fmt.Fprintf(out, "> %s\n", line)
			continue
		}

		fmt.Fprintf(out, "> %s\n", line)
		e := int(num(1))
		if e < 0 || e > 1 {
			fail(lineno, "bad endpoint")
		}
		if f[0] == "new" {
			before := takeSnap()
			reserve := -1
			if len(f) > 3 {
				reserve = inum(3)
			}
			ep, ok := newEndpoint(e, uint32(num(2)), reserve)
			eps[e] = ep
			attribute(eps[e], before, takeSnap())
			fmt.Fprintf(out, "= %s\n", boolret(ok))
		} else {
			ep := eps[e]
			if ep == nil {
				fail(lineno, "endpoint %d does not exist", e)
			}
			k := ep.kcp
			target := ep
			before := takeSnap()
			var res string
			switch f[0] {
			case "nodelay":
				k.NoDelay(inum(2), inum(3), inum(4), inum(5))
				res = "0"
			case "wndsize":
				k.WndSize(inum(2), inum(3))
				res = "0"
			case "mtu":
				res = boolret(k.SetMtu(inum(2)) == 0)
			case "reserve":
				res = boolret(k.ReserveBytes(inum(2)))
			case "stream":
				k.stream = int32(num(2))
				res = "0"
			case "send", "sendp":
				var b []byte
				if f[0] == "send" {
					b = hexarg(2)
				} else {
					b = prbytes(int(num(2)), num(3))
				}
				switch k.Send(b) {
				case 0:
					res = "0"
				case -1:
					res = "err EINVAL"
				case -2:
					res = "err EMSGSIZE"
				default:
					res = "err ?"
				}
			case "input", "deliver":
				var b []byte
				if f[0] == "input" {
					b = hexarg(2)
				} else {
					if eps[1-e] == nil {
						fail(lineno, "no peer")
					}
					if len(ep.queue) == 0 {
						res = "none"
						break
					}
					i := int(num(2) % uint64(len(ep.queue)))
					b = ep.queue[i]
					ep.queue = append(ep.queue[:i], ep.queue[i+1:]...)
					target = eps[1-e]
				}
				r := target.kcp.Input(b, num(3) != 0, num(4) != 0)
				if r != 0 {
					target.inErrs++
				}
				res = strconv.Itoa(r)
			case "drop", "dup":
				if len(ep.queue) == 0 {
					res = "none"
					break
				}
				i := int(num(2) % uint64(len(ep.queue)))
				if f[0] == "drop" {
					ep.queue = append(ep.queue[:i], ep.queue[i+1:]...)
				} else {
					ep.queue = append(ep.queue, ep.queue[i])
				}
				res = "0"
			case "flush":
				res = strconv.Itoa(int(k.flush(false)))
			case "flushack":
				res = strconv.Itoa(int(k.flush(true)))
			case "recv":
				n := k.Recv(recvbuf)
				if n < 0 {
					res = strconv.Itoa(n)
				} else {
					res = fmt.Sprintf("msg %d %016x", n, fnv64(recvbuf[:n]))
				}
			case "drain":
				var all []byte
				var parts []string
				for i := 0; ; i++ {
					n := k.Recv(recvbuf)
					if n < 0 {
						break
					}
					if k.stream != 0 {
						all = append(all, recvbuf[:n]...)
					} else {
						parts = append(parts, fmt.Sprintf("%d %016x", n, fnv64(recvbuf[:n])))
					}
				}
				if k.stream != 0 {
					res = fmt.Sprintf("data %d %016x", len(all), fnv64(all))
				} else {
					res = "msgs " + strconv.Itoa(len(parts))
					for _, p := range parts {
						res += " " + p
					}
				}
			case "peek":
				res = strconv.Itoa(k.PeekSize())
			case "read":
				n := int(num(2))
				var d []byte
				if len(ep.bufptr) > 0 {
					if n > len(ep.bufptr) {
						n = len(ep.bufptr)
					}
					d = ep.bufptr[:n]
					ep.bufptr = ep.bufptr[n:]
				} else if size := k.PeekSize(); size > 0 {
					buf := make([]byte, size)
					k.Recv(buf)
					if n > size {
						n = size
					}
					d = buf[:n]
					ep.bufptr = buf[n:]
				} else {
					res = "-1"
					break
				}
				res = fmt.Sprintf("data %d %016x", len(d), fnv64(d))
			default:
				fail(lineno, "unknown op %q", f[0])
			}
			attribute(target, before, takeSnap())
			fmt.Fprintf(out, "= %s\n", res)
		}
		for _, ep := range eps {
			if ep != nil {
				state(ep)
			}
		}
	}
	if err := in.Err(); err != nil {
		fail(lineno, "%v", err)
	}
}
