// SPDX-License-Identifier: GPL-2.0

// Package kcpnet gives AF_KCP sockets (KCP over UDP in the Linux kernel,
// the kcp module) to Go programs as an ordinary net.Conn and
// net.Listener: *net.TCPConn and *net.TCPListener, on Go's poller, with
// deadlines, like TCP.
//
// Go's net package knows no AF_KCP, but an AF_KCP socket takes and
// reports sockaddr_in/sockaddr_in6 addresses: the socket is made, set up,
// bound and connected (or listening) here with package syscall, then
// handed to net.FileConn or net.FileListener, which take it for a TCP
// socket because getsockname() says AF_INET or AF_INET6.
//
//	ln, err := kcpnet.Listen("tcp", ":4000", kcpnet.Preset(kcpnet.PresetFast3))
//	c, err := kcpnet.Dial("tcp", "192.0.2.1:4000", kcpnet.Preset(kcpnet.PresetFast3))
//
// TCP-level methods of the *net.TCPConn fail (SetNoDelay,
// SetKeepAlivePeriod: "protocol not available"); use the SOL_KCP
// helpers here (SetKeepAlive, SetWndSize, ...) through Control.
// Listener.Accept turns SO_KEEPALIVE on as Go does for TCP; the probe
// timing is then the module's (KCP_KEEPIDLE), not Go's 15 s.
//
// Only the standard library is used: copy this directory into a module,
// or point a replace directive at it (module path "kcpnet").
package kcpnet

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// DefaultFamily is AF_KCP's number unless the module was loaded with
// another (Family reads the one in use).
const DefaultFamily = 25

// SolKCP is the socket option level of AF_KCP (SOL_KCP).
const SolKCP = 299

// SOL_KCP options (uapi/linux/kcp.h).
const (
	OptNodelay        = 1
	OptWndSize        = 2
	OptMTU            = 3
	OptStream         = 4
	OptAckNodelay     = 5
	OptConv           = 6
	OptFEC            = 7
	OptCrypto         = 8
	OptDeadLink       = 9
	OptMinRTO         = 10
	OptIdleTimeout    = 11
	OptInfo           = 12
	OptPreset         = 13
	OptWriteDelay     = 14
	OptLingerTimeout  = 15
	OptReusePort      = 16
	OptConnectTimeout = 17
	OptSessionExt     = 18
	OptKeepIdle       = 19
	OptKeepIntvl      = 20
	OptKeepCnt        = 21
)

// kcptun's --mode values for OptPreset.
const (
	PresetNormal = 1
	PresetFast   = 2
	PresetFast2  = 3
	PresetFast3  = 4
)

// Family is the AF_KCP number in use, from
// /sys/module/kcp/parameters/family (DefaultFamily if unreadable).
func Family() int {
	b, err := os.ReadFile("/sys/module/kcp/parameters/family")
	if err != nil {
		return DefaultFamily
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return DefaultFamily
	}
	return n
}

// A SetupFunc sets options on the raw socket before bind() and
// connect()/listen(); what a listener gets is inherited by its sessions.
type SetupFunc func(fd int) error

// Preset is a SetupFunc that sets kcptun's mode (PresetFast3, ...).
func Preset(p int) SetupFunc {
	return func(fd int) error { return SetInt(fd, OptPreset, p) }
}

// WndSize is a SetupFunc that sets the send and receive windows.
func WndSize(snd, rcv uint32) SetupFunc {
	return func(fd int) error { return SetWndSize(fd, snd, rcv) }
}

// SetInt sets an int SOL_KCP option.
func SetInt(fd, opt, v int) error {
	return os.NewSyscallError("setsockopt",
		syscall.SetsockoptInt(fd, SolKCP, opt, v))
}

// GetInt reads an int SOL_KCP option.
func GetInt(fd, opt int) (int, error) {
	v, err := syscall.GetsockoptInt(fd, SolKCP, opt)
	return v, os.NewSyscallError("getsockopt", err)
}

func setBytes(fd, opt int, p unsafe.Pointer, n uintptr) error {
	_, _, e := syscall.Syscall6(syscall.SYS_SETSOCKOPT, uintptr(fd),
		SolKCP, uintptr(opt), uintptr(p), n, 0)
	if e != 0 {
		return os.NewSyscallError("setsockopt", e)
	}
	return nil
}

// SetNodelay sets KCP_NODELAY as kcp-go's SetNoDelay (-1 keeps nodelay
// or interval).
func SetNodelay(fd int, nodelay, interval, resend, nc int32) error {
	v := [4]int32{nodelay, interval, resend, nc}
	return setBytes(fd, OptNodelay, unsafe.Pointer(&v), unsafe.Sizeof(v))
}

// SetWndSize sets KCP_WNDSIZE in segments (0 keeps a value).
func SetWndSize(fd int, snd, rcv uint32) error {
	v := [2]uint32{snd, rcv}
	return setBytes(fd, OptWndSize, unsafe.Pointer(&v), unsafe.Sizeof(v))
}

// SetFEC sets KCP_FEC (before connect/listen; 0, 0 is off).
func SetFEC(fd int, data, parity uint32) error {
	v := [2]uint32{data, parity}
	return setBytes(fd, OptFEC, unsafe.Pointer(&v), unsafe.Sizeof(v))
}

// SetKeepAlive turns SO_KEEPALIVE on and sets KCP_KEEPIDLE/KEEPINTVL
// (seconds) and KCP_KEEPCNT, as TCP_KEEPIDLE/INTVL/CNT; 0 keeps a value.
// A module older than these options fails with ENOPROTOOPT.
func SetKeepAlive(fd, idle, intvl, cnt int) error {
	err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET,
		syscall.SO_KEEPALIVE, 1)
	if err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	for _, o := range [][2]int{{OptKeepIdle, idle}, {OptKeepIntvl, intvl},
		{OptKeepCnt, cnt}} {
		if o[1] == 0 {
			continue
		}
		if err := SetInt(fd, o[0], o[1]); err != nil {
			return err
		}
	}
	return nil
}

// Info is struct kcp_info (KCP_INFO); fields a module does not fill
// (see Len) are zero.
type Info struct {
	Version, Len, State, Conv, MTU, MSS, RTO uint32
	SRTT, RTTVar                             int32
	MinRTO, Cwnd, Ssthresh, SndWnd, RcvWnd   uint32
	RmtWnd, SndUna, SndNxt, RcvNxt           uint32
	SndQueue, SndBuf, RcvQueue, RcvBuf       uint32
	Nodelay, Interval, Resend, NC, Stream    uint32
	FECData, FECParity, Cipher, DeadLink     uint32
	_                                        uint32
	InSegs, OutSegs, RetransSegs             uint64
	FastRetrans, EarlyRetrans, LostSegs      uint64
	RepeatSegs, InErrors, InPkts, OutPkts    uint64
	BytesIn, BytesOut                        uint64
	FECRecovered, FECParityIn, CryptoErrors  uint64
	FECErrors                                uint64
	FECState                                 uint32
	_                                        uint32
	Ext                                      uint32
	_                                        uint32
}

// GetInfo reads KCP_INFO; it fails on a socket that is not AF_KCP.
func GetInfo(fd int) (*Info, error) {
	var info Info
	n := uint32(unsafe.Sizeof(info))
	_, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd),
		SolKCP, OptInfo, uintptr(unsafe.Pointer(&info)),
		uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return nil, os.NewSyscallError("getsockopt", e)
	}
	return &info, nil
}

// Control runs f on the socket of a connection or listener made here
// (anything with SyscallConn), e.g. to read KCP_INFO or retune it.
func Control(c syscall.Conn, f func(fd int) error) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// sockaddr resolves address for network ("tcp", "tcp4", "tcp6"; "kcp",
// "kcp4" and "kcp6" are the same) as Go's TCP does.
func sockaddr(network, address string) (syscall.Sockaddr, int, error) {
	switch network {
	case "kcp", "kcp4", "kcp6":
		network = "tcp" + network[3:]
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, 0, net.UnknownNetworkError(network)
	}
	a, err := net.ResolveTCPAddr(network, address)
	if err != nil {
		return nil, 0, err
	}
	// no address: 0.0.0.0 (an AF_KCP [::] would be IPv6-only)
	if ip4 := a.IP.To4(); network != "tcp6" && (ip4 != nil || a.IP == nil) {
		sa := &syscall.SockaddrInet4{Port: a.Port}
		copy(sa.Addr[:], ip4)
		return sa, syscall.AF_INET, nil
	}
	sa := &syscall.SockaddrInet6{Port: a.Port}
	copy(sa.Addr[:], a.IP.To16())
	if a.Zone != "" {
		ifi, err := net.InterfaceByName(a.Zone)
		if err != nil {
			return nil, 0, err
		}
		sa.ZoneId = uint32(ifi.Index)
	}
	return sa, syscall.AF_INET6, nil
}

// newSocket makes a non-blocking AF_KCP socket and runs setup on it.
func newSocket(setup []SetupFunc) (int, error) {
	fd, err := syscall.Socket(Family(), syscall.SOCK_STREAM|
		syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		if err == syscall.EAFNOSUPPORT {
			return -1, fmt.Errorf("socket: %w (is the kcp module "+
				"loaded?)", err)
		}
		return -1, os.NewSyscallError("socket", err)
	}
	for _, f := range setup {
		if err := f(fd); err != nil {
			syscall.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// A Dialer connects AF_KCP sockets; the zero value is usable.
type Dialer struct {
	// Timeout bounds connect() (0: the module's, KCP_CONNECT_TIMEOUT).
	Timeout time.Duration
	// LocalAddr, if set, is bound first ("host:port").
	LocalAddr string
	// Setup runs on the socket before bind() and connect().
	Setup []SetupFunc
}

// Dial connects to address over AF_KCP; setup runs before connect().
func Dial(network, address string, setup ...SetupFunc) (net.Conn, error) {
	d := Dialer{Setup: setup}
	return d.Dial(network, address)
}

// Dial connects to address over AF_KCP.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: network, Err: err}
	}
	sa, af, err := sockaddr(network, address)
	if err != nil {
		return nil, opErr(err)
	}
	fd, err := newSocket(d.Setup)
	if err != nil {
		return nil, opErr(err)
	}
	if d.LocalAddr != "" {
		la, laf, err := sockaddr(network, d.LocalAddr)
		if err == nil && laf != af {
			err = errors.New("local and remote address families differ")
		}
		if err == nil {
			err = os.NewSyscallError("bind", syscall.Bind(fd, la))
		}
		if err != nil {
			syscall.Close(fd)
			return nil, opErr(err)
		}
	}
	err = syscall.Connect(fd, sa)
	// f owns fd from here: the runtime's poller waits for the answer
	f := os.NewFile(uintptr(fd), "kcp")
	defer f.Close()
	if err == syscall.EINPROGRESS || err == syscall.EINTR {
		err = waitConnect(f, d.Timeout)
	} else if err != nil {
		err = os.NewSyscallError("connect", err)
	}
	if err != nil {
		return nil, opErr(err)
	}
	c, err := net.FileConn(f)
	if err != nil {
		return nil, opErr(err)
	}
	return c, nil
}

// waitConnect waits until a non-blocking connect() has an answer.
func waitConnect(f *os.File, timeout time.Duration) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	if timeout > 0 {
		if err := f.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
	}
	var cerr error
	err = rc.Write(func(fd uintptr) bool {
		v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET,
			syscall.SO_ERROR)
		if err != nil {
			cerr = os.NewSyscallError("getsockopt", err)
			return true
		}
		if v != 0 {
			cerr = os.NewSyscallError("connect", syscall.Errno(v))
			return true
		}
		// no error yet: connected once there is a peer
		_, err = syscall.Getpeername(int(fd))
		return err != syscall.ENOTCONN
	})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return os.NewSyscallError("connect", syscall.ETIMEDOUT)
	}
	if err != nil {
		return err
	}
	return cerr
}

// Listen listens on address over AF_KCP; setup runs before bind(), and
// the accepted sessions inherit what it sets. Accept returns
// *net.TCPConn values.
func Listen(network, address string, setup ...SetupFunc) (net.Listener,
	error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "listen", Net: network, Err: err}
	}
	sa, _, err := sockaddr(network, address)
	if err != nil {
		return nil, opErr(err)
	}
	fd, err := newSocket(setup)
	if err != nil {
		return nil, opErr(err)
	}
	err = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET,
		syscall.SO_REUSEADDR, 1)
	if err == nil {
		err = os.NewSyscallError("bind", syscall.Bind(fd, sa))
	}
	if err == nil {
		err = os.NewSyscallError("listen",
			syscall.Listen(fd, syscall.SOMAXCONN))
	}
	if err != nil {
		syscall.Close(fd)
		return nil, opErr(err)
	}
	f := os.NewFile(uintptr(fd), "kcp")
	defer f.Close()
	l, err := net.FileListener(f)
	if err != nil {
		return nil, opErr(err)
	}
	return l, nil
}
