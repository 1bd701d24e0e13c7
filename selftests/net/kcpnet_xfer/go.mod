// SPDX-License-Identifier: GPL-2.0
module kcpnet_xfer

go 1.19

require kcpnet v0.0.0

replace kcpnet => ../../../tools/go/kcpnet
