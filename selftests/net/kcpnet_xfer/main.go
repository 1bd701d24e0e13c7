// SPDX-License-Identifier: GPL-2.0
//
// kcpnet_xfer: one transfer between two AF_KCP endpoints made with
// tools/go/kcpnet, checked with SHA-256 (selftests/net/langs.sh).
//
//	kcpnet_xfer -listen ADDR          accept one session; "LISTEN port"
//	kcpnet_xfer -connect ADDR -file F send F
//
// The client sends an 8-byte big-endian length and the file (io.Copy
// from an *os.File: Go's sendfile path), the server hashes what it reads
// and answers with the 32-byte digest, which the client compares with
// its own. Each side prints "RESULT ok=1 bytes=N sha256=HEX kcp=1
// conn=TYPE"; kcp=1 means KCP_INFO answered on the connection, which
// only an AF_KCP socket does. Wire protocol shared with kcpsock_xfer.py.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"kcpnet"
)

var (
	listen  = flag.String("listen", "", "accept one session on ADDR")
	connect = flag.String("connect", "", "send -file to ADDR")
	file    = flag.String("file", "", "the file to send")
	network = flag.String("net", "tcp", "tcp, tcp4 or tcp6")
	wnd     = flag.Uint("wnd", 512, "send and receive window, segments")
	timeout = flag.Duration("timeout", 300*time.Second, "deadline")
)

func fail(format string, a ...interface{}) {
	fmt.Printf("RESULT ok=0 error=%q\n", fmt.Sprintf(format, a...))
	os.Exit(1)
}

// describe says what the connection is: its Go type, and kcp=1 if
// KCP_INFO answers and SO_DOMAIN is the module's family.
func describe(c net.Conn) string {
	kcp := 0
	sc, ok := c.(syscall.Conn)
	if ok {
		kcpnet.Control(sc, func(fd int) error {
			dom, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET,
				syscall.SO_DOMAIN)
			info, ierr := kcpnet.GetInfo(fd)
			if err == nil && ierr == nil && dom == kcpnet.Family() &&
				info.State == 1 {
				kcp = 1
			}
			return nil
		})
	}
	return fmt.Sprintf("kcp=%d conn=%T local=%s peer=%s", kcp, c,
		c.LocalAddr(), c.RemoteAddr())
}

func setup() []kcpnet.SetupFunc {
	return []kcpnet.SetupFunc{kcpnet.Preset(kcpnet.PresetFast3),
		kcpnet.WndSize(uint32(*wnd), uint32(*wnd))}
}

func server() {
	ln, err := kcpnet.Listen(*network, *listen, setup()...)
	if err != nil {
		fail("listen: %v", err)
	}
	fmt.Printf("LISTEN %d\n", ln.Addr().(*net.TCPAddr).Port)
	c, err := ln.Accept()
	if err != nil {
		fail("accept: %v", err)
	}
	ln.Close()
	c.SetDeadline(time.Now().Add(*timeout))
	var hdr [8]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		fail("read length: %v", err)
	}
	n := int64(binary.BigEndian.Uint64(hdr[:]))
	h := sha256.New()
	got, err := io.CopyN(h, c, n)
	if err != nil {
		fail("read: %v after %d of %d bytes", err, got, n)
	}
	sum := h.Sum(nil)
	if _, err := c.Write(sum); err != nil {
		fail("write digest: %v", err)
	}
	fmt.Printf("RESULT ok=1 bytes=%d sha256=%s %s\n", got,
		hex.EncodeToString(sum), describe(c))
	c.Close()
}

func client() {
	f, err := os.Open(*file)
	if err != nil {
		fail("%v", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		fail("%v", err)
	}
	sum := h.Sum(nil)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		fail("%v", err)
	}
	d := kcpnet.Dialer{Timeout: 30 * time.Second, Setup: setup()}
	c, err := d.Dial(*network, *connect)
	if err != nil {
		fail("dial: %v", err)
	}
	c.SetDeadline(time.Now().Add(*timeout))
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(n))
	if _, err := c.Write(hdr[:]); err != nil {
		fail("write length: %v", err)
	}
	sent, err := io.Copy(c, f)
	if err != nil || sent != n {
		fail("write: %v after %d of %d bytes", err, sent, n)
	}
	var peer [sha256.Size]byte
	if _, err := io.ReadFull(c, peer[:]); err != nil {
		fail("read digest: %v", err)
	}
	if !bytes.Equal(peer[:], sum) {
		fail("the server's digest %x is not ours %x", peer, sum)
	}
	fmt.Printf("RESULT ok=1 bytes=%d sha256=%s %s\n", sent,
		hex.EncodeToString(sum), describe(c))
	c.Close()
}

func main() {
	flag.Parse()
	switch {
	case *listen != "":
		server()
	case *connect != "" && *file != "":
		client()
	default:
		flag.Usage()
		os.Exit(2)
	}
}
