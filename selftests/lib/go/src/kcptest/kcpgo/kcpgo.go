// SPDX-License-Identifier: GPL-2.0
//
// Package kcpgo holds what the Go programs of selftests/ share about
// kcp-go 5.6.1 (Debian's golang-github-xtaci-kcp-dev) as kcptun uses it:
// the key derivation, the cipher names and the presets. Its users are
// built offline in GOPATH mode with selftests/lib/go on GOPATH and import
// it as "kcptest/kcpgo": selftests/peers/kcppeer, selftests/bench/kgob,
// selftests/fuzz/gen/kcpcorpus and selftests/unit/gen/cryptvectors.
package kcpgo

import (
	"crypto/sha1"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	kcp "github.com/xtaci/kcp-go"
	"golang.org/x/crypto/pbkdf2"
)

// Salt is kcptun's PBKDF2 salt.
const Salt = "kcp-go"

// DefaultKey is kcptun's default passphrase (sic).
const DefaultKey = "it's a secrect"

// Pass derives kcptun's 32-byte key from a passphrase.
func Pass(key string) []byte {
	return pbkdf2.Key([]byte(key), []byte(Salt), 4096, 32, sha1.New)
}

// NewBlock is kcptun's cipher of that name keyed with its slice of pass;
// "nil" is no cipher at all (nil, nil).
func NewBlock(name string, pass []byte) (kcp.BlockCrypt, error) {
	switch name {
	case "nil":
		return nil, nil
	case "aes":
		return kcp.NewAESBlockCrypt(pass) // AES-256
	case "aes-128":
		return kcp.NewAESBlockCrypt(pass[:16])
	case "aes-192":
		return kcp.NewAESBlockCrypt(pass[:24])
	case "salsa20":
		return kcp.NewSalsa20BlockCrypt(pass)
	case "blowfish":
		return kcp.NewBlowfishBlockCrypt(pass)
	case "twofish":
		return kcp.NewTwofishBlockCrypt(pass)
	case "cast5":
		return kcp.NewCast5BlockCrypt(pass[:16])
	case "3des":
		return kcp.NewTripleDESBlockCrypt(pass[:24])
	case "tea":
		return kcp.NewTEABlockCrypt(pass[:16])
	case "xtea":
		return kcp.NewXTEABlockCrypt(pass[:16])
	case "sm4":
		return kcp.NewSM4BlockCrypt(pass[:16])
	case "xor":
		return kcp.NewSimpleXORBlockCrypt(pass)
	case "none":
		return kcp.NewNoneBlockCrypt(pass)
	}
	return nil, fmt.Errorf("unknown cipher %q", name)
}

// Presets are kcptun's modes (spec §7): nodelay, interval, resend, nc.
var Presets = map[string][4]int{
	"normal": {0, 40, 2, 1},
	"fast":   {0, 30, 2, 1},
	"fast2":  {1, 20, 2, 1},
	"fast3":  {1, 10, 2, 1},
}

// Opts are the kcptun session options both peers (kcppeer, kgob) take,
// with the same flag names and defaults.
type Opts struct {
	Crypt, Key, Preset string
	Sndwnd, Rcvwnd     int
	Mtu, DS, PS        int
	Sockbuf            int
}

// Flags registers the options on fs; -sockbuf defaults to sockbuf.
func (o *Opts) Flags(fs *flag.FlagSet, sockbuf int) {
	fs.StringVar(&o.Crypt, "crypt", "nil", "kcptun cipher name, none (header, no encryption) or nil (no header)")
	fs.StringVar(&o.Key, "key", DefaultKey, "kcptun passphrase")
	fs.StringVar(&o.Preset, "preset", "", "kcptun mode: normal|fast|fast2|fast3")
	fs.IntVar(&o.Sndwnd, "sndwnd", 0, "send window in segments (0 = kcp-go default 32)")
	fs.IntVar(&o.Rcvwnd, "rcvwnd", 0, "receive window in segments (0 = kcp-go default 32)")
	fs.IntVar(&o.Mtu, "mtu", 0, "MTU (0 = kcp-go default 1400)")
	fs.IntVar(&o.DS, "ds", 0, "FEC data shards")
	fs.IntVar(&o.PS, "ps", 0, "FEC parity shards")
	fs.IntVar(&o.Sockbuf, "sockbuf", sockbuf, "SO_RCVBUF/SO_SNDBUF of the UDP socket (0 = OS default; kcptun --sockbuf)")
}

// Listen is kcp.ListenWithOptions with o's FEC shards and socket buffers.
func (o *Opts) Listen(addr string, block kcp.BlockCrypt) (*kcp.Listener, error) {
	l, err := kcp.ListenWithOptions(addr, block, o.DS, o.PS)
	if err == nil && o.Sockbuf > 0 {
		l.SetReadBuffer(o.Sockbuf)
		l.SetWriteBuffer(o.Sockbuf)
	}
	return l, err
}

// SetBuffers gives a session o's socket buffers.
func (o *Opts) SetBuffers(s *kcp.UDPSession) {
	if o.Sockbuf > 0 {
		s.SetReadBuffer(o.Sockbuf)
		s.SetWriteBuffer(o.Sockbuf)
	}
}

var outMu sync.Mutex

// Out prints one line to stdout; lines of concurrent sessions do not mix.
func Out(format string, a ...interface{}) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(os.Stdout, format+"\n", a...)
}

// Secs is a duration of f seconds.
func Secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
