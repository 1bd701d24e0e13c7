// SPDX-License-Identifier: GPL-2.0

// Command snappyvectors prints what kcptun's compression layer puts on the
// wire: golang/snappy's framing format, written as kcptun's CompStream
// writes it (a buffered Writer flushed after every Write), for
// selftests/unit/test_tunnel.c. Generated at test time from the installed
// golang/snappy source (golang-github-golang-snappy-dev), never committed.
//
// Output, one record per line, hex byte strings:
//
//	V <hex input written, the writes separated by ','> <hex framed stream>
package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand"
	"strings"

	"github.com/golang/snappy"
)

func main() {
	r := rand.New(rand.NewSource(17))
	text := []byte(strings.Repeat("smux frames over snappy framing. ", 4000))
	random := func(n int) []byte {
		b := make([]byte, n)
		r.Read(b)
		return b
	}
	cases := [][][]byte{
		{[]byte("a")},
		{text[:100], random(100)},
		{text[:70000]},
		{random(70000)},
		{text[:65536], random(65536), text[:65537]},
		{random(5), text[:40000], random(30000), text[:3]},
	}
	for _, writes := range cases {
		var out bytes.Buffer
		w := snappy.NewBufferedWriter(&out)
		var hx []string
		for _, b := range writes {
			w.Write(b)
			w.Flush()
			hx = append(hx, hex.EncodeToString(b))
		}
		fmt.Printf("V %s %s\n", strings.Join(hx, ","),
			hex.EncodeToString(out.Bytes()))
	}
}
