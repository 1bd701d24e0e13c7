// SPDX-License-Identifier: GPL-2.0

// Command rsvectors writes the reference vectors of selftests/unit/test_fec.c,
// computed by the real klauspost/reedsolomon (Debian 1.9.13, default options,
// exactly as kcp-go 5.6.1 calls it) and by kcp-go 5.6.1's own fec.go, which
// fec.mk copies into the package "kcpfec" of a scratch GOPATH together with a
// shim for the few kcp-go internals it uses. Build offline in GOPATH mode:
//
//	GO111MODULE=off GOPATH=<scratch>:/usr/share/gocode go build
//
// Usage: rsvectors -o DIR
// (writes DIR/fec_rows.bin, fec_rs.bin, fec_enc.bin, fec_dec.bin)
//
// All integers are little-endian; the formats are documented at each writer
// and parsed by test_fec.c. The output is deterministic (fixed seed).
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"

	"github.com/klauspost/reedsolomon"

	kcp "kcpfec"
)

const shardMax = 1500 - 6 // kcp-go's 1500-byte buffers minus seqid and flag

type writer struct {
	w *bufio.Writer
}

func (w writer) u16(v int) {
	if v < 0 || v > 0xffff {
		panic(fmt.Sprint("u16 out of range: ", v))
	}
	binary.Write(w.w, binary.LittleEndian, uint16(v))
}

func (w writer) u32(v uint32)   { binary.Write(w.w, binary.LittleEndian, v) }
func (w writer) bytes(b []byte) { w.w.Write(b) }

func create(dir, name string, fill func(w writer)) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		fatal(err)
	}
	w := writer{bufio.NewWriter(f)}
	fill(w)
	if err := w.w.Flush(); err != nil {
		fatal(err)
	}
	if err := f.Close(); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "rsvectors:", err)
	os.Exit(1)
}

func newRS(d, p int) reedsolomon.Encoder {
	rs, err := reedsolomon.New(d, p) // default options, as kcp-go
	if err != nil {
		fatal(err)
	}
	return rs
}

// fec_rows.bin: for d = 1..254 with p = 255-d: u16 d, u16 p, then the p x d
// parity coefficients (row-major). Encoding unit vectors reads them out of
// klauspost's own matrix: data shard j has a single 1 at byte j, so byte j
// of parity shard i is M[d+i][j]. Rows do not depend on p, so these cover
// every configuration with d + p <= 255.
func writeRows(w writer) {
	for d := 1; d <= 254; d++ {
		p := 255 - d
		shards := make([][]byte, d+p)
		for k := range shards {
			shards[k] = make([]byte, d)
			if k < d {
				shards[k][k] = 1
			}
		}
		if err := newRS(d, p).Encode(shards); err != nil {
			fatal(err)
		}
		w.u16(d)
		w.u16(p)
		for i := 0; i < p; i++ {
			w.bytes(shards[d+i])
		}
	}
	w.u16(0)
}

// unevenLens picks kcp-go style shard lengths (2-byte size field + KCP
// bytes): tiny ACK-like, full-size and random ones, at least one of max.
func unevenLens(rng *rand.Rand, d, max int) []int {
	lens := make([]int, d)
	for j := range lens {
		switch rng.Intn(4) {
		case 0:
			lens[j] = 2 + rng.Intn(40)
		case 1:
			lens[j] = max
		default:
			lens[j] = 2 + rng.Intn(max-1)
		}
		if lens[j] > max {
			lens[j] = max
		}
	}
	lens[rng.Intn(d)] = max
	return lens
}

// fec_rs.bin, per (d, p): u16 d, u16 p, u16 L, d x u16 shard lengths
// (including the size field; zero-padded to L as kcp-go does), n x L bytes
// (data shards padded, then klauspost's parity), u16 npat, and per pattern:
// n bytes (1 = shard kept), d x L bytes of klauspost's ReconstructData
// output. Ends with u16 0.
func writeRS(w writer, rng *rand.Rand) {
	type cfg struct{ d, p, maxL int }
	cfgs := []cfg{{1, 1, shardMax}, {2, 1, shardMax}, {3, 2, shardMax},
		{10, 3, shardMax}, {20, 10, shardMax}, {10, 3, 2}, {1, 254, 64},
		{254, 1, 64}, {128, 127, 48}, {40, 20, 300}}
	for i := 0; i < 6; i++ {
		cfgs = append(cfgs, cfg{1 + rng.Intn(40), 1 + rng.Intn(20),
			2 + rng.Intn(shardMax-1)})
	}
	for _, c := range cfgs {
		d, p, n := c.d, c.p, c.d+c.p
		lens := unevenLens(rng, d, c.maxL)
		L := c.maxL
		shards := make([][]byte, n)
		for k := range shards {
			shards[k] = make([]byte, L)
			if k < d {
				binary.LittleEndian.PutUint16(shards[k], uint16(lens[k]))
				rng.Read(shards[k][2:lens[k]])
			}
		}
		rs := newRS(d, p)
		if err := rs.Encode(shards); err != nil {
			fatal(err)
		}
		w.u16(d)
		w.u16(p)
		w.u16(L)
		for _, l := range lens {
			w.u16(l)
		}
		for _, s := range shards {
			w.bytes(s)
		}
		const npat = 8
		w.u16(npat)
		for i := 0; i < npat; i++ {
			lost := 1 + rng.Intn(p)
			keep := make([]byte, n)
			for k := range keep {
				keep[k] = 1
			}
			keep[rng.Intn(d)] = 0 // at least one data shard to rebuild
			for k := 1; k < lost; k++ {
				keep[rng.Intn(n)] = 0
			}
			in := make([][]byte, n)
			for k := range in {
				if keep[k] == 1 {
					in[k] = append([]byte(nil), shards[k]...)
				}
			}
			if err := rs.ReconstructData(in); err != nil {
				fatal(err)
			}
			w.bytes(keep)
			for k := 0; k < d; k++ {
				if !bytes.Equal(in[k], shards[k]) {
					fatal(fmt.Errorf("klauspost rebuilt %d/%d shard %d wrongly", d, p, k))
				}
				w.bytes(in[k])
			}
		}
	}
	w.u16(0)
}

// kcpLen picks the KCP byte count of a datagram: ACK-only, small, large and
// full-mtu datagrams, as a real session sends them.
func kcpLen(rng *rand.Rand, room int) int {
	switch rng.Intn(5) {
	case 0:
		return 24 * (1 + rng.Intn(3)) // ACK-only
	case 1:
		return room
	case 2:
		return 24 + rng.Intn(40)
	default:
		return rng.Intn(room + 1)
	}
}

// fec_enc.bin, per stream: u16 d, u16 p, u16 off (crypto header room before
// the FEC header), u32 first seqid, u32 ndgram, then ndgram x (u16 kcp_len,
// KCP bytes), then u32 nout and nout x (u16 len, bytes from off on) of what
// kcp-go 5.6.1's fecEncoder emitted, data and parity datagrams in sending
// order. Ends with u16 0.
func writeEnc(w writer, rng *rand.Rand) {
	type stream struct {
		d, p, off, count int
		start            int64 // first seqid; < 0: -(groups before paws)
	}
	streams := []stream{{10, 3, 0, 400, 0}, {2, 1, 20, 200, 0},
		{1, 1, 0, 50, 0}, {3, 2, 20, 120, 0}, {20, 10, 0, 200, 0},
		{10, 3, 0, 200, -4}, {3, 2, 20, 60, -3}, {1, 1, 0, 20, -2},
		{7, 5, 0, 100, -2}, {254, 1, 0, 600, 0}, {1, 254, 0, 3, 0},
		{128, 127, 20, 300, -1}}
	for _, s := range streams {
		enc := kcp.NewFECEncoder(s.d, s.p, s.off)
		n := uint32(s.d + s.p)
		var start uint32
		if s.start < 0 {
			start = enc.Paws() - uint32(-s.start)*n
		}
		enc.SetNext(start)
		room := 1500 - s.off - 8
		w.u16(s.d)
		w.u16(s.p)
		w.u16(s.off)
		w.u32(start)
		w.u32(uint32(s.count))
		var out [][]byte
		for i := 0; i < s.count; i++ {
			kb := make([]byte, kcpLen(rng, room))
			rng.Read(kb)
			w.u16(len(kb))
			w.bytes(kb)
			buf := make([]byte, s.off+8+len(kb))
			rng.Read(buf[:s.off]) // crypto header room: not kcp-go's business
			copy(buf[s.off+8:], kb)
			ps := enc.Encode(buf)
			out = append(out, append([]byte(nil), buf[s.off:]...))
			for _, p := range ps {
				out = append(out, append([]byte(nil), p[s.off:]...))
			}
		}
		w.u32(uint32(len(out)))
		for _, o := range out {
			w.u16(len(o))
			w.bytes(o)
		}
	}
	w.u16(0)
}

// fec_dec.bin, per stream: u16 sender d, p, u16 receiver d, p, u32 ndgram,
// then per datagram kcp-go's encoder sent (data and parity, in order):
// u8 times delivered (0 lost, 1, or 2: duplicated at once), u16 len, the
// datagram, and per delivery u16 nrec plus nrec x (u16 len, KCP bytes) of
// what kcp-go 5.6.1's fecDecoder (with the receiver's d, p) recovered and
// sess.go would pass to KCP (2 <= size <= len). Data datagrams carry a
// LE32 serial number (0, 1, ... per stream) first so the C test can tell
// sent data from garbage.
// The clock stands still (no expiry). Ends with u16 0.
func writeDec(w writer, rng *rand.Rand) {
	type stream struct {
		sd, sp, rd, rp int
		groups, clean  int // groups sent, of which the first clean lossless
		loss, dup      float64
	}
	streams := []stream{
		{10, 3, 10, 3, 60, 3, 0.1, 0}, {10, 3, 10, 3, 60, 3, 0.2, 0.1},
		{20, 10, 20, 10, 30, 3, 0.25, 0.05}, {3, 2, 3, 2, 150, 3, 0.2, 0},
		{2, 1, 2, 1, 200, 3, 0.1, 0.1}, {1, 1, 1, 1, 200, 3, 0.3, 0.1},
		{2, 2, 2, 2, 150, 3, 0.3, 0.1}, {7, 5, 7, 5, 60, 3, 0.3, 0.1},
		// mismatched shard counts: kcp-go auto-tunes, we must not rebuild
		{10, 3, 1, 1, 60, 0, 0.1, 0}, {10, 3, 2, 1, 60, 0, 0.1, 0},
		{2, 1, 10, 3, 200, 0, 0.1, 0}, {10, 3, 10, 4, 60, 0, 0.2, 0},
		{3, 2, 3, 1, 100, 0, 0.2, 0}, {1, 1, 2, 2, 200, 0, 0.2, 0.1},
	}
	for _, s := range streams {
		serial := uint32(0)
		enc := kcp.NewFECEncoder(s.sd, s.sp, 0)
		dec := kcp.NewFECDecoder(s.rd, s.rp)
		n := s.sd + s.sp
		var sent [][]byte
		for i := 0; i < s.groups*s.sd; i++ {
			kb := make([]byte, 4+rng.Intn(1400))
			if rng.Intn(3) == 0 {
				kb = make([]byte, 4+rng.Intn(40))
			}
			rng.Read(kb)
			binary.LittleEndian.PutUint32(kb, serial)
			serial++
			buf := make([]byte, 8+len(kb))
			copy(buf[8:], kb)
			ps := enc.Encode(buf)
			sent = append(sent, buf)
			for _, p := range ps {
				sent = append(sent, append([]byte(nil), p...))
			}
		}
		// kcp-go's first-seqid quirk (spec 5.6) matters: lose seqid 0
		// in half of the mismatched streams.
		lose0 := s.clean == 0 && rng.Intn(2) == 0
		w.u16(s.sd)
		w.u16(s.sp)
		w.u16(s.rd)
		w.u16(s.rp)
		w.u32(uint32(len(sent)))
		for k, b := range sent {
			times := 1
			if k >= s.clean*n && rng.Float64() < s.loss || k == 0 && lose0 {
				times = 0
			} else if k >= s.clean*n && rng.Float64() < s.dup {
				times = 2
			}
			w.bytes([]byte{byte(times)})
			w.u16(len(b))
			w.bytes(b)
			for t := 0; t < times; t++ {
				in := append([]byte(nil), b...)
				var good [][]byte
				for _, r := range dec.Decode(in) {
					if len(r) < 2 {
						continue
					}
					sz := int(binary.LittleEndian.Uint16(r))
					if sz >= 2 && sz <= len(r) {
						good = append(good, append([]byte(nil), r[2:sz]...))
					}
				}
				w.u16(len(good))
				for _, g := range good {
					w.u16(len(g))
					w.bytes(g)
				}
			}
		}
	}
	w.u16(0)
}

func main() {
	dir := flag.String("o", ".", "output directory")
	flag.Parse()
	rng := rand.New(rand.NewSource(20201010)) // kcp-go v5.6.1's tag date
	create(*dir, "fec_rows.bin", writeRows)
	create(*dir, "fec_rs.bin", func(w writer) { writeRS(w, rng) })
	create(*dir, "fec_enc.bin", func(w writer) { writeEnc(w, rng) })
	create(*dir, "fec_dec.bin", func(w writer) { writeDec(w, rng) })
}
