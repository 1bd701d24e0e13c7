// SPDX-License-Identifier: GPL-2.0
//
// The one piece of kcp-go's sess.go that kcp.go needs: the shared packet
// buffer pool. Mirrors sess.go (mtuLimit comes from the generated
// mtulimit.go, extracted from the Debian sess.go by engine.mk).
package main

import "sync"

var xmitBuf sync.Pool

func init() {
	xmitBuf.New = func() interface{} {
		return make([]byte, mtuLimit)
	}
}
