// SPDX-License-Identifier: GPL-2.0
//
// kgob - the kcp-go twin of selftests/bench/kbench.c: the same roles, the
// same measurements and the same RESULT lines, on the real kcp-go v5.6.1
// (Debian golang-github-xtaci-kcp-dev, the library kcptun and
// selftests/peers/kcppeer use). Built by selftests/bench/bench.sh in GOPATH
// mode, offline, as selftests/peers/build.sh builds kcppeer.
//
// kcppeer has no request/response role, and its transfers generate,
// compare and SHA-256 the xorshift stream while they are timed, so the
// benchmark uses this instead; the kcp-go settings are applied exactly
// as kcptun's server does (stream mode, SetNoDelay of the preset, windows,
// MTU, ACK no-delay off, 4 MiB UDP socket buffers like kcptun's --sockbuf).
//
// Like kbench: bulk data is the same precomputed pattern (xorshift64* of
// seed 1, period patPeriod), every byte the sink reads is compared with
// it, and with -bytes N the sink's timed window runs from the first
// payload byte to the last, with the guest's CPU time (/proc/stat) in it;
// then it answers one byte, and the client closes when it has it.
//
//	kgob server -a ADDR:PORT -role sink|echo [-n N] -bytes N|-time T ...
//	kgob client -a ADDR:PORT -role send|rr [-parallel P] -bytes N|-time T ...
//	kgob scale -a ADDR:PORT ...   hold every session, echo, STAT lines
//
// Options as kbench: -bytes -time -grace -timeout -idle -rr -rrsize -rrgap
// -drain -marker, and -preset -sndwnd -rcvwnd -mtu -ds -ps -crypt -key
// -sockbuf.
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"kcptest/kcpgo"

	kcp "github.com/xtaci/kcp-go"
)

const (
	rrMagic = 0x6b62726b
	rrBye   = 0xffffffff
	chunk   = 65536
	readMax = 4 * chunk
	// prime: a lost or repeated 64 KiB write fails the check (kbench.c)
	patPeriod = 65521
	doneByte  = 'D'
)

type config struct {
	kcpgo.Opts
	mode, addr, role, marker   string
	n, parallel, rr, rrsize    int
	bytes                      int64
	time, grace, timeout, idle float64
	rrgap, drain               float64
}

// pat is the stream: patPeriod bytes of xorshift64* (seed 1, as
// kcptest.h's kt_rng), repeated for readMax more, so that the data at
// stream offset o is pat[o%patPeriod:] for up to readMax bytes.
var pat []byte

func patInit() {
	pat = make([]byte, patPeriod+readMax)
	s := uint64(1)
	for i := 0; i < patPeriod; i += 8 {
		s ^= s >> 12
		s ^= s << 25
		s ^= s >> 27
		x := s * 0x2545F4914F6CDD1D
		for j := 0; j < 8 && i+j < patPeriod; j++ {
			pat[i+j] = byte(x >> (8 * j))
		}
	}
	for i := patPeriod; i < len(pat); i++ {
		pat[i] = pat[i-patPeriod]
	}
}

func patAt(off int64) []byte { return pat[off%patPeriod:] }

// checker compares what a session reads with the pattern.
type checker struct {
	got, badAt int64
}

func (c *checker) feed(b []byte) {
	if c.badAt < 0 && !bytes.Equal(b, patAt(c.got)[:len(b)]) {
		want := patAt(c.got)
		i := 0
		for i < len(b) && b[i] == want[i] {
			i++
		}
		c.badAt = c.got + int64(i)
	}
	c.got += int64(len(b))
}

// -marker PATH (tracefs's trace_marker): the timed window's ends as
// ftrace markers, as kbench writes them; selftests/bench/busy.awk adds up
// the time between "bench_first" and "bench_last" when any CPU was not
// idle.
var markerFile *os.File

func markerOpen(path string) {
	var err error
	if markerFile, err = os.OpenFile(path, os.O_WRONLY, 0); err != nil {
		fatal("%v", err)
	}
}

func marker(what string) {
	if markerFile != nil {
		if _, err := markerFile.WriteString(what); err != nil {
			markerFile = nil
		}
	}
}

// cpuSample: the whole guest's busy and total CPU seconds (the "cpu" line
// of /proc/stat, USER_HZ 100), as kbench's cpu_now().
type cpuSample struct{ busy, total float64 }

func cpuNow() cpuSample {
	var u, n, sy, i, w, q, sq, st uint64
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuSample{}
	}
	defer f.Close()
	if k, _ := fmt.Fscanf(f, "cpu %d %d %d %d %d %d %d %d", &u, &n, &sy, &i,
		&w, &q, &sq, &st); k != 8 {
		return cpuSample{}
	}
	busy := float64(u+n+sy+q+sq+st) / 100
	return cpuSample{busy, busy + float64(i+w)/100}
}

var presets = kcpgo.Presets

func fatal(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "kgob: "+format+"\n", a...)
	os.Exit(2)
}

// newBlock: kcptun's key derivation and cipher choice (see kcppeer).
func newBlock(name, key string) (kcp.BlockCrypt, error) {
	if name == "" {
		return nil, nil
	}
	return kcpgo.NewBlock(name, kcpgo.Pass(key))
}

// tune: kcptun server/main.go's order of settings.
func (c *config) tune(s *kcp.UDPSession) {
	s.SetStreamMode(true)
	s.SetWriteDelay(false)
	if p, ok := presets[c.Preset]; ok {
		s.SetNoDelay(p[0], p[1], p[2], p[3])
	}
	if c.Sndwnd > 0 || c.Rcvwnd > 0 {
		s.SetWindowSize(c.Sndwnd, c.Rcvwnd)
	}
	if c.Mtu > 0 {
		s.SetMtu(c.Mtu)
	}
	s.SetACKNoDelay(false)
}

func (c *config) listen(block kcp.BlockCrypt) *kcp.Listener {
	l, err := c.Listen(c.addr, block)
	if err != nil {
		fatal("listen %s: %v", c.addr, err)
	}
	kcpgo.Out("LISTEN %d", l.Addr().(*net.UDPAddr).Port)
	return l
}

func (c *config) dial(block kcp.BlockCrypt) *kcp.UDPSession {
	s, err := kcp.DialWithOptions(c.addr, block, c.DS, c.PS)
	if err != nil {
		fatal("dial %s: %v", c.addr, err)
	}
	c.tune(s)
	c.SetBuffers(s)
	return s
}

// accept returns the next session, or nil at the deadline.
func accept(l *kcp.Listener, deadline time.Time) *kcp.UDPSession {
	l.SetDeadline(deadline)
	s, err := l.AcceptKCP()
	if err != nil {
		return nil
	}
	return s
}

func info(side string, id int, s *kcp.UDPSession) {
	kcpgo.Out("KINFO side=%s id=%d proto=kcpgo rto=%d srtt=%d", side, id,
		s.GetRTO(), s.GetSRTT())
}

func snmp() string {
	sn := kcp.DefaultSnmp.Copy()
	return fmt.Sprintf("InPkts=%d OutPkts=%d RetransSegs=%d FastRetransSegs=%d "+
		"EarlyRetransSegs=%d LostSegs=%d RepeatSegs=%d FECRecovered=%d "+
		"FECErrs=%d InCsumErrors=%d KCPInErrors=%d",
		sn.InPkts, sn.OutPkts, sn.RetransSegs, sn.FastRetransSegs,
		sn.EarlyRetransSegs, sn.LostSegs, sn.RepeatSegs, sn.FECRecovered,
		sn.FECErrs, sn.InCsumErrors, sn.KCPInErrors)
}

// ---------------------------------------------------------------- sink

func runSink(c *config, block kcp.BlockCrypt) int {
	l := c.listen(block)
	start := time.Now()
	var mu sync.Mutex
	var first, last time.Time
	var cpuFirst, cpuLast cpuSample
	noteFirst := func(now time.Time) {
		mu.Lock()
		if first.IsZero() {
			first = now
			cpuFirst = cpuNow()
			if c.bytes > 0 {
				marker("bench_first")
			}
		}
		mu.Unlock()
	}
	sessionsIn := 0
	noteLast := func(now time.Time) {
		cs := cpuNow()
		mu.Lock()
		if now.After(last) {
			last, cpuLast = now, cs
		}
		// the last session's last byte ends the window
		if sessionsIn++; sessionsIn == c.n {
			marker("bench_last")
		}
		mu.Unlock()
	}
	windowEnd := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		if first.IsZero() {
			return time.Time{}
		}
		return first.Add(kcpgo.Secs(c.time))
	}
	bytesIn := make([]int64, c.n)
	chk := make([]*checker, c.n)
	done := make([]bool, c.n)
	var wg sync.WaitGroup
	var sess []*kcp.UDPSession
	for len(sess) < c.n {
		dl := windowEnd()
		if dl.IsZero() || c.bytes > 0 {
			dl = start.Add(kcpgo.Secs(c.timeout))
		}
		s := accept(l, dl)
		if s == nil {
			break
		}
		c.tune(s)
		id := len(sess)
		sess = append(sess, s)
		chk[id] = &checker{badAt: -1}
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, readMax)
			ck := chk[id]
			if c.bytes > 0 {
				// as kbench's sink_bytes: one deadline, no timer per Read
				s.SetReadDeadline(start.Add(kcpgo.Secs(c.timeout)))
				for ck.got < c.bytes {
					n, err := s.Read(buf[:min64(readMax, c.bytes-ck.got)])
					if n > 0 {
						noteFirst(time.Now())
						ck.feed(buf[:n])
					}
					if err != nil {
						return
					}
				}
				noteLast(time.Now())
				atomic.StoreInt64(&bytesIn[id], ck.got)
				s.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if _, err := s.Write([]byte{doneByte}); err == nil {
					done[id] = true
				}
				// kcp-go sends it from Write (write delay off); a
				// kcp-go client's close cannot be seen: give it a
				// moment rather than waiting for end-of-file
				time.Sleep(300 * time.Millisecond)
				return
			}
			for {
				s.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				n, err := s.Read(buf)
				now := time.Now()
				if n > 0 {
					noteFirst(now)
					ck.feed(buf[:n])
				}
				end := windowEnd()
				if n > 0 && !now.After(end) {
					atomic.AddInt64(&bytesIn[id], int64(n))
				}
				// past the window, read on (uncounted) while
				// the client still sends, as kbench does
				if !end.IsZero() && now.After(end.Add(kcpgo.Secs(c.grace+0.5))) {
					return
				}
				if err != nil && !isTimeout(err) {
					return
				}
				if end.IsZero() && now.After(start.Add(kcpgo.Secs(c.timeout))) {
					return
				}
			}
		}()
	}
	wg.Wait()
	var total int64
	badAt := int64(-1)
	ok := len(sess) == c.n
	per := []string{}
	for i := range sess {
		total += bytesIn[i]
		per = append(per, fmt.Sprint(bytesIn[i]))
		info("rx", i, sess[i])
		if chk[i].badAt >= 0 && badAt < 0 {
			badAt = chk[i].badAt
		}
		if c.bytes > 0 && !done[i] {
			ok = false
		}
	}
	ok = ok && total > 0 && badAt < 0
	check := "ok"
	if badAt >= 0 {
		check = "bad"
	}
	if c.bytes > 0 {
		secs := 0.0
		if last.After(first) {
			secs = last.Sub(first).Seconds()
		}
		gp := 0.0
		if secs > 0 {
			gp = float64(total) * 8 / 1000 / secs
		}
		kcpgo.Out("RESULT ok=%d role=sink proto=kcpgo sessions=%d bytes=%d secs=%.4f window_s=%.4f goodput_kbps=%.0f cpu_busy_s=%.3f cpu_total_s=%.3f check=%s bad_at=%d per_session=%s %s",
			b2i(ok), len(sess), total, secs, secs, gp,
			cpuLast.busy-cpuFirst.busy, cpuLast.total-cpuFirst.total,
			check, badAt, strings.Join(per, ","), snmp())
	} else {
		kcpgo.Out("RESULT ok=%d role=sink proto=kcpgo sessions=%d bytes=%d window_s=%.3f goodput_kbps=%.0f check=%s bad_at=%d per_session=%s %s",
			b2i(ok), len(sess), total, c.time, float64(total)*8/1000/c.time,
			check, badAt, strings.Join(per, ","), snmp())
	}
	for _, s := range sess {
		s.Close()
	}
	l.Close()
	if ok {
		return 0
	}
	return 1
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

func isTimeout(err error) bool {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "timeout")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ---------------------------------------------------------------- echo

func runEcho(c *config, block kcp.BlockCrypt) int {
	l := c.listen(block)
	start := time.Now()
	var wg sync.WaitGroup
	n := 0
	for n < c.n {
		s := accept(l, start.Add(kcpgo.Secs(c.timeout)))
		if s == nil {
			break
		}
		c.tune(s)
		id := n
		n++
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, chunk)
			for {
				s.SetReadDeadline(time.Now().Add(kcpgo.Secs(c.idle)))
				k, err := s.Read(buf)
				if k > 0 {
					bye := k >= c.rrsize &&
						binary.LittleEndian.Uint32(buf[k-c.rrsize+4:]) == rrBye
					if _, werr := s.Write(buf[:k]); werr != nil || bye {
						break
					}
				}
				if err != nil {
					break
				}
			}
			info("echo", id, s)
			time.Sleep(200 * time.Millisecond) // let the last answer go
			s.Close()
		}()
	}
	wg.Wait()
	l.Close()
	kcpgo.Out("RESULT ok=%d role=echo proto=kcpgo sessions=%d", b2i(n == c.n), n)
	if n == c.n {
		return 0
	}
	return 1
}

// ---------------------------------------------------------------- send

func runSend(c *config, block kcp.BlockCrypt) int {
	sess := make([]*kcp.UDPSession, c.parallel)
	for i := range sess {
		sess[i] = c.dial(block)
	}
	t0 := time.Now()
	end := t0.Add(kcpgo.Secs(c.time + c.grace))
	var total, failed int64
	var wg sync.WaitGroup
	for i, s := range sess {
		wg.Add(1)
		go func(i int, s *kcp.UDPSession) {
			defer wg.Done()
			var sent int64
			fail := func(format string, a ...interface{}) {
				kcpgo.Out("ERROR session=%d "+format, append([]interface{}{i}, a...)...)
				atomic.StoreInt64(&failed, 1)
			}
			if c.bytes > 0 {
				// as kbench: one deadline, the stream in 64 KiB writes
				s.SetWriteDeadline(t0.Add(kcpgo.Secs(c.timeout)))
				for sent < c.bytes {
					n, err := s.Write(patAt(sent)[:min64(chunk, c.bytes-sent)])
					sent += int64(n)
					if err != nil {
						fail("send: %v after %d bytes", err, sent)
						break
					}
				}
				if sent == c.bytes {
					b := make([]byte, 1)
					s.SetReadDeadline(t0.Add(kcpgo.Secs(c.timeout)))
					if n, err := s.Read(b); n != 1 || b[0] != doneByte {
						fail("no answer from the server: %v", err)
					}
				}
			} else {
				for time.Now().Before(end) {
					s.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
					n, err := s.Write(patAt(sent)[:chunk])
					sent += int64(n)
					if err != nil && !isTimeout(err) {
						break
					}
				}
			}
			info("tx", i, s)
			atomic.AddInt64(&total, sent)
		}(i, s)
	}
	wg.Wait()
	for _, s := range sess {
		s.Close()
	}
	el := time.Since(t0).Seconds()
	kcpgo.Out("RESULT ok=%d role=send proto=kcpgo sessions=%d sent=%d secs=%.3f offered_kbps=%.0f %s",
		b2i(failed == 0), c.parallel, total, el, float64(total)*8/1000/el, snmp())
	return int(failed)
}

// ------------------------------------------------------------------ rr

func runRR(c *config, block kcp.BlockCrypt) int {
	if c.rrsize < 8 {
		c.rrsize = 8
	}
	s := c.dial(block)
	sent := make([]int64, c.rr) // unix ns, 0 = not yet
	lat := make([]float64, c.rr)
	for i := range lat {
		lat[i] = -1
	}
	var answered int64
	var deadline int64 // unix ns once the last record is out
	done := make(chan struct{})
	go func() {
		defer close(done)
		rec := make([]byte, c.rrsize)
		got := 0
		for atomic.LoadInt64(&answered) < int64(c.rr) {
			s.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			n, err := s.Read(rec[got:])
			if n > 0 {
				got += n
				if got == c.rrsize {
					got = 0
					seq := binary.LittleEndian.Uint32(rec[4:])
					if binary.LittleEndian.Uint32(rec) == rrMagic &&
						seq < uint32(c.rr) && lat[seq] < 0 {
						t := atomic.LoadInt64(&sent[seq])
						lat[seq] = float64(time.Now().UnixNano()-t) / 1e6
						atomic.AddInt64(&answered, 1)
					}
				}
			}
			if err != nil {
				if !isTimeout(err) {
					return
				}
				if dl := atomic.LoadInt64(&deadline); dl != 0 &&
					time.Now().UnixNano() > dl {
					return
				}
			}
		}
	}()
	t0 := time.Now()
	rec := make([]byte, c.rrsize)
	binary.LittleEndian.PutUint32(rec, rrMagic)
	ok := true
	for i := 0; i < c.rr; i++ {
		due := t0.Add(kcpgo.Secs(float64(i) * c.rrgap / 1000))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		binary.LittleEndian.PutUint32(rec[4:], uint32(i))
		atomic.StoreInt64(&sent[i], time.Now().UnixNano())
		s.SetWriteDeadline(time.Now().Add(kcpgo.Secs(c.drain)))
		if _, err := s.Write(rec); err != nil {
			ok = false
			break
		}
	}
	atomic.StoreInt64(&deadline, time.Now().Add(kcpgo.Secs(c.drain)).UnixNano())
	<-done
	binary.LittleEndian.PutUint32(rec[4:], rrBye)
	s.Write(rec)
	info("rr", 0, s)
	time.Sleep(100 * time.Millisecond)
	s.Close()

	v := make([]float64, c.rr)
	lost, sum := 0, 0.0
	for i, x := range lat {
		if x < 0 {
			v[i] = math.Inf(1)
			lost++
		} else {
			v[i] = x
			sum += x
		}
	}
	sort.Float64s(v)
	pct := func(p float64) string {
		i := int(math.Ceil(p*float64(len(v)))) - 1
		if i < 0 {
			i = 0
		}
		if math.IsInf(v[i], 1) {
			return "inf"
		}
		return fmt.Sprintf("%.2f", v[i])
	}
	mean := 0.0
	if c.rr > lost {
		mean = sum / float64(c.rr-lost)
	}
	ok = ok && c.rr > lost
	kcpgo.Out("RESULT ok=%d role=rr proto=kcpgo rr=%d answered=%d lost=%d p50_ms=%s p99_ms=%s p999_ms=%s max_ms=%s mean_ms=%.2f %s",
		b2i(ok), c.rr, c.rr-lost, lost, pct(0.5), pct(0.99), pct(0.999),
		pct(1), mean, snmp())
	if ok {
		return 0
	}
	return 1
}

// --------------------------------------------------------------- scale

// runScale holds every session it accepts and echoes what they send, as
// kcpscale's AF_KCP server does. kcp-go reads only through a blocking
// Read, so each session has a goroutine with a 2 KiB buffer (kcppeer's
// 64 KiB buffers would dominate the per-session memory).
func runScale(c *config, block kcp.BlockCrypt) int {
	l := c.listen(block)
	var accepted, reads, bytes int64
	go func() {
		for {
			s, err := l.AcceptKCP()
			if err != nil {
				return
			}
			c.tune(s)
			atomic.AddInt64(&accepted, 1)
			go func() {
				buf := make([]byte, 2048)
				for {
					n, err := s.Read(buf)
					if n > 0 {
						atomic.AddInt64(&reads, 1)
						atomic.AddInt64(&bytes, int64(n))
						s.Write(buf[:n])
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	tick := time.NewTicker(time.Second)
	end := time.After(kcpgo.Secs(c.time))
	var ms runtime.MemStats
	for {
		select {
		case <-tick.C:
			runtime.ReadMemStats(&ms)
			kcpgo.Out("STAT accepted=%d reads=%d bytes=%d heap_inuse=%d sys=%d goroutines=%d",
				atomic.LoadInt64(&accepted), atomic.LoadInt64(&reads),
				atomic.LoadInt64(&bytes), ms.HeapInuse, ms.Sys,
				runtime.NumGoroutine())
			continue
		case <-sig:
		case <-end:
		}
		break
	}
	kcpgo.Out("RESULT ok=1 mode=scale accepted=%d reads=%d bytes=%d %s",
		atomic.LoadInt64(&accepted), atomic.LoadInt64(&reads),
		atomic.LoadInt64(&bytes), snmp())
	return 0
}

func main() {
	c := &config{}
	if len(os.Args) < 2 {
		fatal("usage: kgob server|client|scale [options]")
	}
	c.mode = os.Args[1]
	fs := flag.NewFlagSet("kgob", flag.ExitOnError)
	c.Opts.Flags(fs, 4194304)
	fs.StringVar(&c.addr, "a", "", "address")
	fs.StringVar(&c.role, "role", "", "sink|echo (server), send|rr (client)")
	fs.IntVar(&c.n, "n", 1, "server: sessions")
	fs.IntVar(&c.parallel, "parallel", 1, "client: sessions")
	fs.IntVar(&c.rr, "rr", 1000, "rr: records")
	fs.IntVar(&c.rrsize, "rrsize", 64, "rr: record bytes")
	fs.Float64Var(&c.rrgap, "rrgap", 10, "rr: ms between records")
	fs.Float64Var(&c.drain, "drain", 5, "rr: seconds to wait for answers")
	fs.Int64Var(&c.bytes, "bytes", 0, "bulk: bytes per session (0: time-bounded, -time)")
	fs.StringVar(&c.marker, "marker", "", "sink, -bytes: ftrace trace_marker for the window's ends")
	fs.Float64Var(&c.time, "time", 5, "measurement window, s")
	fs.Float64Var(&c.grace, "grace", 1, "sender: seconds past -time; sink: reads on that long (+0.5 s) uncounted")
	fs.Float64Var(&c.timeout, "timeout", 30, "server: wait for sessions, s")
	fs.Float64Var(&c.idle, "idle", 10, "echo: end a session idle this long, s")
	fs.Parse(os.Args[2:])
	if c.addr == "" {
		fatal("-a is required")
	}
	if c.n < 1 {
		c.n = 1
	}
	if c.parallel < 1 {
		c.parallel = 1
	}
	patInit()
	if c.marker != "" && c.bytes > 0 && c.mode == "server" {
		markerOpen(c.marker)
	}
	block, err := newBlock(c.Crypt, c.Key)
	if err != nil {
		fatal("%v", err)
	}
	switch {
	case c.mode == "server" && c.role == "sink":
		os.Exit(runSink(c, block))
	case c.mode == "server" && c.role == "echo":
		os.Exit(runEcho(c, block))
	case c.mode == "client" && c.role == "send":
		os.Exit(runSend(c, block))
	case c.mode == "client" && c.role == "rr":
		os.Exit(runRR(c, block))
	case c.mode == "scale":
		os.Exit(runScale(c, block))
	}
	fatal("bad mode/role")
}
