// SPDX-License-Identifier: GPL-2.0

// Command cryptvectors prints packet-encryption test vectors produced by the
// real kcp-go 5.6.1 BlockCrypt implementations, keyed exactly as kcptun
// 20210922 keys them, for selftests/unit/test_crypt.c. The vectors are
// generated at test time and never committed, so they always come from the
// kcp-go source installed on the machine.
//
// Build offline in GOPATH mode (see selftests/unit/crypt.mk):
//
//	GO111MODULE=off GOPATH=<tmp>:/usr/share/gocode go build -o cryptvectors main.go
//
// Output, one record per line, fields separated by one space, byte strings
// in lowercase hex ("-" for an empty string):
//
//	P <passidx> <hex passphrase> <hex pass32> <hex xor table (1500 bytes)>
//	S <crypt> <passidx> <hex plain datagram> <hex wire datagram>
//	R <crypt> <passidx> <hex plain> <hex BlockCrypt.Encrypt(plain)>
//
// P: pass32 = PBKDF2-HMAC-SHA1(passphrase, "kcp-go", 4096, 32) as in kcptun;
// the xor table is the one kcp-go's NewSimpleXORBlockCrypt derives.
// S: a whole datagram as UDPSession.output builds it: random 16-byte nonce,
// CRC32-IEEE of [20:] stored little-endian at [16:20], random payload; the
// plain column already contains nonce and CRC, the wire column is the result
// of Encrypt(buf, buf) (in place, as kcp-go does).
// R: Encrypt(buf, buf) on arbitrary lengths without framing (partial CFB
// blocks shorter than a header, bytes beyond the 1500-byte xor table).
package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"math/rand"
	"os"

	"kcptest/kcpgo"

	kcp "github.com/xtaci/kcp-go"
	"golang.org/x/crypto/pbkdf2"
)

// kcptun's SALT and the salt kcp-go uses for the xor table.
const (
	kcptunSalt = "kcp-go"
	xorSalt    = "sH3CIVoF#rWLtJo6"
	xorLen     = 1500
)

// Order and names as kcptun's --crypt; the key slices are kcptun's.
var crypts = []string{
	"aes", "aes-128", "aes-192", "salsa20", "blowfish", "twofish",
	"cast5", "3des", "tea", "xtea", "sm4", "xor", "none",
}

var passphrases = []string{
	"it's a secrect", // kcptun default (sic)
	"",
	"kcp",
	"correct horse battery staple",
	"p\u00e4ssw\u00f6rd \u2713 \u5bc6\u7801",
	string(bytes.Repeat([]byte{'k'}, 64)), // HMAC block size: key used as is
	string(bytes.Repeat([]byte{'K'}, 65)), // longer: key hashed first
}

// Datagram sizes: header only, partial first/last blocks, 8/16 multiples,
// kcptun's mtu, kcp-go's default mtu and the 1500-byte hard limit.
var sealSizes = []int{20, 21, 23, 24, 25, 27, 28, 31, 32, 33, 36, 40, 47, 48, 49,
	64, 100, 129, 1298, 1349, 1350, 1400, 1499, 1500}

var sealSizesShort = []int{20, 27, 33, 100, 1350}

var rawSizes = []int{0, 1, 7, 8, 9, 15, 16, 17, 19, 1501, 1600}

func newBlock(crypt string, pass []byte) kcp.BlockCrypt {
	b, err := kcpgo.NewBlock(crypt, pass)
	if err != nil {
		panic(err)
	}
	return b
}

func hx(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)
}

// encryptInPlace runs Encrypt(buf, buf) on a copy and checks that
// Decrypt undoes it, so a broken generator cannot produce vectors.
func encryptInPlace(b kcp.BlockCrypt, plain []byte) []byte {
	wire := append([]byte(nil), plain...)
	b.Encrypt(wire, wire)
	back := append([]byte(nil), wire...)
	b.Decrypt(back, back)
	if !bytes.Equal(back, plain) {
		panic("kcp-go Decrypt does not invert Encrypt")
	}
	return wire
}

func datagram(rng *rand.Rand, size int) []byte {
	buf := make([]byte, size)
	rng.Read(buf)
	binary.LittleEndian.PutUint32(buf[16:], crc32.ChecksumIEEE(buf[20:]))
	return buf
}

func main() {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	rng := rand.New(rand.NewSource(20201010))

	fmt.Fprintln(w, "# kcp-go 5.6.1 BlockCrypt vectors, kcptun 20210922 keying")
	for pi, p := range passphrases {
		pass := kcpgo.Pass(p)
		tbl := pbkdf2.Key(pass, []byte(xorSalt), 32, xorLen, sha1.New)
		fmt.Fprintf(w, "P %d %s %s %s\n", pi, hx([]byte(p)), hx(pass), hx(tbl))

		sizes := sealSizes
		if pi != 0 {
			sizes = sealSizesShort
		}
		for _, c := range crypts {
			b := newBlock(c, pass)
			for _, n := range sizes {
				plain := datagram(rng, n)
				fmt.Fprintf(w, "S %s %d %s %s\n", c, pi, hx(plain),
					hx(encryptInPlace(b, plain)))
			}
			if pi != 0 {
				continue
			}
			for _, n := range rawSizes {
				if c == "salsa20" && n < 8 {
					continue // kcp-go slices src[:8]: would panic
				}
				plain := make([]byte, n)
				rng.Read(plain)
				fmt.Fprintf(w, "R %s %d %s %s\n", c, pi, hx(plain),
					hx(encryptInPlace(b, plain)))
			}
		}
	}
}
