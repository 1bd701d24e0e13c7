/* SPDX-License-Identifier: GPL-2.0 */
/* Hex strings of test vectors and scripts (kcp-go's generators print them). */
#ifndef _KT_HEX_H
#define _KT_HEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline int kt_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes hex ("-" = empty) into @out; its length, or -1 if bad or too long. */
static inline int kt_unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (!strcmp(s, "-"))
		return 0;
	while (s[0] && s[1]) {
		int hi = kt_hexval(s[0]), lo = kt_hexval(s[1]);

		if (hi < 0 || lo < 0 || n >= cap)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return *s ? -1 : (int)n;
}

#endif
