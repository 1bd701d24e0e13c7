// SPDX-License-Identifier: GPL-2.0

package kcpnet

import (
	"net"
	"syscall"
	"testing"
	"unsafe"
)

// struct kcp_info is 272 bytes, the __u64 counters from byte 128 and
// kcpi_ext at 264 (uapi/linux/kcp.h).
func TestInfoLayout(t *testing.T) {
	var i Info
	if n := unsafe.Sizeof(i); n != 272 {
		t.Errorf("sizeof(Info) = %d, want 272", n)
	}
	if o := unsafe.Offsetof(i.InSegs); o != 128 {
		t.Errorf("offset of InSegs = %d, want 128", o)
	}
	if o := unsafe.Offsetof(i.Ext); o != 264 {
		t.Errorf("offset of Ext = %d, want 264", o)
	}
}

func TestSockaddr(t *testing.T) {
	for _, c := range []struct {
		network, address string
		af, port         int
		addr             string
	}{
		{"tcp", "127.0.0.1:4000", syscall.AF_INET, 4000, "127.0.0.1"},
		{"kcp", ":4001", syscall.AF_INET, 4001, "0.0.0.0"},
		{"tcp6", ":4002", syscall.AF_INET6, 4002, "::"},
		{"tcp", "[::1]:4003", syscall.AF_INET6, 4003, "::1"},
		{"kcp4", "[::ffff:10.0.0.1]:4004", syscall.AF_INET, 4004, "10.0.0.1"},
	} {
		sa, af, err := sockaddr(c.network, c.address)
		if err != nil || af != c.af {
			t.Errorf("%s %s: af %d err %v", c.network, c.address, af, err)
			continue
		}
		var port int
		var ip []byte
		switch a := sa.(type) {
		case *syscall.SockaddrInet4:
			port, ip = a.Port, a.Addr[:]
		case *syscall.SockaddrInet6:
			port, ip = a.Port, a.Addr[:]
		}
		if got := net.IP(ip).String(); port != c.port || got != c.addr {
			t.Errorf("%s %s: %s port %d", c.network, c.address, got, port)
		}
	}
	if _, _, err := sockaddr("udp", ":1"); err == nil {
		t.Errorf("network udp accepted")
	}
}
