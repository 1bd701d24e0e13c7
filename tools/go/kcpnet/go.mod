// SPDX-License-Identifier: GPL-2.0
module kcpnet

go 1.19
