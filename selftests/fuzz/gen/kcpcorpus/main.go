// SPDX-License-Identifier: GPL-2.0

// Command kcpcorpus makes the seed corpora of the fuzz targets in
// selftests/fuzz from real kcp-go 5.6.1 traffic: for each scenario a
// kcp-go client and an echo server talk on loopback through a UDP relay
// inside this program, which drops some datagrams and records every
// datagram it forwards. The recordings become corpus files in the input
// formats of the targets (documented at the top of each fuzz_*.c):
//
//	<out>/fuzz_engine_input/  raw KCP datagrams (after decryption and the
//	                          FEC header) as INPUT operations, with clock
//	                          steps, flushes and reads in between
//	<out>/fuzz_fec_decode/    decrypted FEC datagrams (data and parity)
//	<out>/fuzz_crypt_open/    cipher id byte + encrypted wire datagram
//
// Built offline in GOPATH mode (see ../../Makefile), never committed.
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"kcptest/kcpgo"

	kcp "github.com/xtaci/kcp-go"
)

// Cipher ids of uapi/linux/kcp.h (enum kcp_cipher).
var cipherID = map[string]byte{
	"nil": 0, "none": 1, "aes": 2, "aes-128": 3, "aes-192": 4,
	"salsa20": 5, "blowfish": 6, "twofish": 7, "cast5": 8, "3des": 9,
	"tea": 10, "xtea": 11, "sm4": 12, "xor": 13,
}

type scenario struct {
	name     string
	crypt    string
	ds, ps   int
	stream   bool
	mtu      int
	loss     int // percent, each direction
	bytes    int
	msgsize  int
	nodelay  [4]int
	wnd      int
	ackNoDly bool
}

type record struct {
	dir  int   // 0: client -> server, 1: server -> client
	ms   int64 // since the start of the scenario
	data []byte
}

func newBlock(name string) kcp.BlockCrypt {
	b, err := kcpgo.NewBlock(name, kcpgo.Pass(kcpgo.DefaultKey))
	if err != nil {
		fatal(err)
	}
	return b
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "kcpcorpus:", err)
	os.Exit(1)
}

func tune(s *kcp.UDPSession, sc *scenario) {
	s.SetStreamMode(sc.stream)
	s.SetWriteDelay(false)
	s.SetNoDelay(sc.nodelay[0], sc.nodelay[1], sc.nodelay[2], sc.nodelay[3])
	if sc.wnd > 0 {
		s.SetWindowSize(sc.wnd, sc.wnd)
	}
	if sc.mtu > 0 {
		s.SetMtu(sc.mtu)
	}
	s.SetACKNoDelay(sc.ackNoDly)
}

// run performs one echo transfer through the lossy relay and returns
// what the relay forwarded.
func run(sc *scenario, seed int64) ([]record, error) {
	lis, err := kcp.ListenWithOptions("127.0.0.1:0", newBlock(sc.crypt), sc.ds, sc.ps)
	if err != nil {
		return nil, err
	}
	defer lis.Close()
	relay, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	defer relay.Close()
	up, err := net.DialUDP("udp", nil, lis.Addr().(*net.UDPAddr))
	if err != nil {
		return nil, err
	}
	defer up.Close()

	var mu sync.Mutex
	var recs []record
	var client *net.UDPAddr
	rng := rand.New(rand.NewSource(seed))
	start := time.Now()
	forward := func(dir int, data []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		if rng.Intn(100) < sc.loss {
			return false
		}
		recs = append(recs, record{dir, time.Since(start).Milliseconds(),
			append([]byte(nil), data...)})
		return true
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // client -> server
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := relay.ReadFromUDP(buf)
			if err != nil {
				return
			}
			mu.Lock()
			client = from
			mu.Unlock()
			if forward(0, buf[:n]) {
				up.Write(buf[:n])
			}
		}
	}()
	go func() { // server -> client
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, err := up.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			to := client
			mu.Unlock()
			if to != nil && forward(1, buf[:n]) {
				relay.WriteToUDP(buf[:n], to)
			}
		}
	}()
	go func() { // echo server
		for {
			s, err := lis.AcceptKCP()
			if err != nil {
				return
			}
			tune(s, sc)
			go func() {
				defer s.Close()
				buf := make([]byte, 65536)
				for {
					s.SetReadDeadline(time.Now().Add(5 * time.Second))
					n, err := s.Read(buf)
					if err != nil {
						return
					}
					if _, err := s.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()

	cli, err := kcp.DialWithOptions(relay.LocalAddr().String(), newBlock(sc.crypt), sc.ds, sc.ps)
	if err != nil {
		relay.SetReadDeadline(time.Now())
		up.SetReadDeadline(time.Now())
		wg.Wait()
		return nil, err
	}
	tune(cli, sc)
	payload := make([]byte, sc.bytes)
	rand.New(rand.NewSource(seed + 1)).Read(payload)
	go func() {
		for off := 0; off < len(payload); off += sc.msgsize {
			end := off + sc.msgsize
			if end > len(payload) {
				end = len(payload)
			}
			if _, err := cli.Write(payload[off:end]); err != nil {
				return
			}
		}
	}()
	got := make([]byte, len(payload))
	cli.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.ReadFull(cli, got)
	// let the last ACKs cross before tearing down
	time.Sleep(200 * time.Millisecond)
	cli.Close()
	relay.SetReadDeadline(time.Now())
	up.SetReadDeadline(time.Now())
	wg.Wait()
	if err == nil && !bytes.Equal(got, payload) {
		err = fmt.Errorf("echo differs")
	}
	mu.Lock()
	defer mu.Unlock()
	return recs, err
}

// open undoes the crypto layer as kcp-go's packetInput does; nil if the
// datagram does not check out.
func open(b kcp.BlockCrypt, d []byte) []byte {
	if b == nil {
		return d
	}
	if len(d) < 20 {
		return nil
	}
	p := make([]byte, len(d))
	b.Decrypt(p, d)
	if crc32.ChecksumIEEE(p[20:]) != binary.LittleEndian.Uint32(p[16:20]) {
		return nil
	}
	return p[20:]
}

// rawKCP strips the FEC header of a data shard; nil for parity.
func rawKCP(p []byte) []byte {
	if len(p) < 6 {
		return p
	}
	switch binary.LittleEndian.Uint16(p[4:6]) {
	case 0xF1:
		if len(p) < 8 {
			return nil
		}
		return p[8:]
	case 0xF2:
		return nil
	}
	return p
}

type writer struct {
	dir string
	n   int
}

func (w *writer) put(prefix string, data []byte) {
	name := filepath.Join(w.dir, fmt.Sprintf("%s-%04d", prefix, w.n))
	w.n++
	if err := os.WriteFile(name, data, 0o644); err != nil {
		fatal(err)
	}
}

func le16(v int) []byte { return []byte{byte(v), byte(v >> 8)} }

// engineFile: the config block of fuzz_engine_input.c, then the datagrams
// as INPUT operations with the recorded time between them.
func engineFile(sc *scenario, conv uint32, recs []record) []byte {
	var b bytes.Buffer
	flags := byte(0)
	if sc.stream { // kcptun: stream mode on a byte-stream socket
		flags |= 1 | 0x80
	}
	if sc.nodelay[0] != 0 {
		flags |= 2
	}
	if sc.nodelay[3] != 0 {
		flags |= 4
	}
	if sc.ackNoDly {
		flags |= 8
	}
	mtu := sc.mtu
	if mtu == 0 {
		mtu = 1400
	}
	wnd := sc.wnd
	if wnd == 0 {
		wnd = 32
	}
	if wnd > 256 {
		wnd = 256
	}
	cfg := make([]byte, 24)
	cfg[0] = flags
	copy(cfg[1:3], le16(mtu-50))
	cfg[4] = byte(wnd - 1)
	cfg[5] = byte(wnd - 1)
	cfg[6] = byte(sc.nodelay[1] / 20)
	cfg[7] = byte(sc.nodelay[2])
	binary.LittleEndian.PutUint32(cfg[8:], conv)
	b.Write(cfg)
	last := int64(-1)
	for i, r := range recs {
		if last >= 0 && r.ms > last {
			d := r.ms - last
			if d > 65535 {
				d = 65535
			}
			b.WriteByte(4)
			b.Write(le16(int(d)))
		}
		last = r.ms
		b.WriteByte(0)
		b.Write(le16(len(r.data)))
		b.Write(r.data)
		if i%3 == 2 {
			b.WriteByte(2) // flush
			if sc.stream {
				b.WriteByte(5)
			} else {
				b.WriteByte(6)
			}
			b.Write(le16(65535))
		}
		if i%5 == 4 {
			b.WriteByte(7) // send: gives the ACKs in the data a target
			b.Write(le16(1000))
		}
	}
	return b.Bytes()
}

// fecFile: mode 0 of fuzz_fec_decode.c with the scenario's (d, p).
func fecFile(sc *scenario, recs []record) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, byte(sc.ds - 1), byte(sc.ps - 1)})
	b.Write(make([]byte, 12)) // no allocation failures, clock 0
	last := int64(-1)
	for _, r := range recs {
		d := int64(0)
		if last >= 0 {
			d = r.ms - last
		}
		if d > 255 {
			d = 255
		}
		last = r.ms
		b.WriteByte(1)
		b.WriteByte(byte(d))
		b.Write(le16(len(r.data)))
		b.Write(r.data)
	}
	return b.Bytes()
}

func main() {
	out := flag.String("o", "corpus", "output directory")
	flag.Parse()
	fast := [4]int{1, 10, 2, 1}
	normal := [4]int{0, 40, 2, 1}
	scns := []*scenario{
		{name: "plain-msg", crypt: "nil", bytes: 40000, msgsize: 3000, nodelay: normal},
		{name: "plain-stream-loss", crypt: "nil", stream: true, loss: 10, bytes: 60000, msgsize: 7000, nodelay: fast, ackNoDly: true},
		{name: "plain-msg-mtu300-loss", crypt: "nil", mtu: 300, loss: 8, bytes: 20000, msgsize: 500, nodelay: fast, wnd: 64},
		{name: "fec-stream-loss", crypt: "nil", ds: 10, ps: 3, stream: true, mtu: 1350, loss: 10, bytes: 60000, msgsize: 4096, nodelay: fast},
		{name: "aes-fec-stream-loss", crypt: "aes", ds: 10, ps: 3, stream: true, mtu: 1350, loss: 10, bytes: 60000, msgsize: 4096, nodelay: fast, wnd: 128},
		{name: "aes-fec-msg-mtu400", crypt: "aes", ds: 10, ps: 3, mtu: 400, loss: 5, bytes: 15000, msgsize: 300, nodelay: normal},
		{name: "fec-2-1-mtu200-loss", crypt: "nil", ds: 2, ps: 1, stream: true, mtu: 200, loss: 15, bytes: 8000, msgsize: 1000, nodelay: fast},
		{name: "aes-msg", crypt: "aes", bytes: 20000, msgsize: 1200, nodelay: normal},
	}
	for _, c := range []string{"none", "aes-128", "aes-192", "salsa20", "blowfish",
		"twofish", "cast5", "3des", "tea", "xtea", "sm4", "xor"} {
		scns = append(scns, &scenario{name: "crypt-" + c, crypt: c, bytes: 6000,
			msgsize: 1500, stream: true, mtu: 600, nodelay: fast})
	}
	dirs := map[string]*writer{}
	for _, t := range []string{"fuzz_engine_input", "fuzz_fec_decode", "fuzz_crypt_open"} {
		d := filepath.Join(*out, t)
		if err := os.MkdirAll(d, 0o755); err != nil {
			fatal(err)
		}
		dirs[t] = &writer{dir: d}
	}
	for i, sc := range scns {
		recs, err := run(sc, int64(1000+i))
		if err != nil {
			// a loaded machine may miss the deadline: what was
			// recorded is still real kcp-go traffic
			fmt.Fprintf(os.Stderr, "kcpcorpus: %s: %v (using %d datagrams)\n",
				sc.name, err, len(recs))
		}
		block := newBlock(sc.crypt)
		var plain [2][]record
		var kcpd [2][]record
		nbad := 0
		for _, r := range recs {
			p := open(block, r.data)
			if p == nil {
				nbad++
				continue
			}
			plain[r.dir] = append(plain[r.dir], record{r.dir, r.ms, p})
			if k := rawKCP(p); len(k) >= 24 {
				kcpd[r.dir] = append(kcpd[r.dir], record{r.dir, r.ms, k})
			}
		}
		// A wrong cipher or header would fail most datagrams; one now
		// and then (seen once in many runs, sm4) is dropped by any
		// receiver on its CRC as on the wire, and is no seed.
		if nbad > 0 && nbad*20 > len(recs) {
			fatal(fmt.Errorf("%s: %d of %d datagrams failed to open",
				sc.name, nbad, len(recs)))
		} else if nbad > 0 {
			fmt.Fprintf(os.Stderr, "kcpcorpus: %s: %d of %d datagrams failed to open (skipped)\n",
				sc.name, nbad, len(recs))
		}
		// crypt: a few wire datagrams of each direction, short and long
		if id := cipherID[sc.crypt]; sc.crypt != "nil" {
			n := 0
			for _, r := range recs {
				if n >= 6 || len(r.data) > 1600 {
					continue
				}
				if n < 3 || len(r.data) > 500 {
					dirs["fuzz_crypt_open"].put(sc.name, append([]byte{id}, r.data...))
					n++
				}
			}
		}
		// engine: windows of datagrams in each direction
		for dir := 0; dir < 2; dir++ {
			k := kcpd[dir]
			if len(k) == 0 {
				continue
			}
			conv := binary.LittleEndian.Uint32(k[0].data)
			for _, w := range [][2]int{{0, 8}, {0, 24}, {len(k) / 2, 8}} {
				lo, hi := w[0], w[0]+w[1]
				if hi > len(k) {
					hi = len(k)
				}
				if lo >= hi {
					continue
				}
				f := engineFile(sc, conv, k[lo:hi])
				for len(f) > 16384 && hi > lo+1 {
					hi--
					f = engineFile(sc, conv, k[lo:hi])
				}
				dirs["fuzz_engine_input"].put(fmt.Sprintf("%s-d%d", sc.name, dir), f)
			}
		}
		// FEC: runs of consecutive datagrams, parity included
		if sc.ds > 0 {
			for dir := 0; dir < 2; dir++ {
				p := plain[dir]
				// as many datagrams as fit the target's -max_len
				for lo := 0; lo < len(p) && lo < 160; lo += 3 * (sc.ds + sc.ps) {
					hi, size := lo, 15
					for hi < len(p) && size+4+len(p[hi].data) <= 20000 {
						size += 4 + len(p[hi].data)
						hi++
					}
					if hi > lo {
						dirs["fuzz_fec_decode"].put(fmt.Sprintf("%s-d%d", sc.name, dir),
							fecFile(sc, p[lo:hi]))
					}
				}
			}
		}
		fmt.Printf("kcpcorpus: %-24s %4d datagrams forwarded\n", sc.name, len(recs))
	}
	for t, w := range dirs {
		fmt.Printf("kcpcorpus: %s: %d files\n", t, w.n)
	}
}
