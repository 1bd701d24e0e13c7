// SPDX-License-Identifier: GPL-2.0
/* Counting allocator and failure reporting shared by the fuzz targets. */
#include <malloc.h>
#include <stdarg.h>

#include "fuzz_common.h"

struct fuzz_alloc_state fuzz_alloc;
volatile u8 fuzz_sink;

void *fuzz_malloc(size_t size)
{
	u64 i = fuzz_alloc.nalloc++;
	void *p;

	if (fuzz_alloc.fail_mask && (fuzz_alloc.fail_mask >> (i % 64) & 1)) {
		fuzz_alloc.nfail++;
		return NULL;
	}
	p = malloc(size);
	if (!p)
		return NULL;
	/* ASan reports the requested size, so this is exact under ASan */
	fuzz_alloc.live += malloc_usable_size(p);
	if (fuzz_alloc.live > fuzz_alloc.peak)
		fuzz_alloc.peak = fuzz_alloc.live;
	return p;
}

void fuzz_free(void *p)
{
	if (!p)
		return;
	fuzz_alloc.live -= malloc_usable_size(p);
	free(p);
}

bool fuzz_tolerate(const char *id)
{
	static const char *list;
	static bool init;
	const char *p;
	size_t n = strlen(id);

	if (!init) {
		list = getenv("KCP_FUZZ_TOLERATE");
		init = true;
	}
	if (!list)
		return false;
	if (!strcmp(list, "all"))
		return true;
	for (p = list; (p = strstr(p, id)); p += n)
		if ((p == list || p[-1] == ',') && (!p[n] || p[n] == ','))
			return true;
	return false;
}

bool fuzz_debug(void)
{
	static int on = -1;

	if (on < 0)
		on = !!getenv("FUZZ_DEBUG");
	return on;
}

void fuzz_die(const char *file, int line, const char *cond, const char *fmt,
	      ...)
{
	va_list ap;

	fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n  ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fflush(stderr);
	abort();
}
