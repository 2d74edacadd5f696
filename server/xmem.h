/* xmem.h: allocation helpers that abort on out-of-memory.
 *
 * Policy (decided once, see STYLE-ANCHORS 6): a server that cannot allocate a
 * few hundred bytes cannot do anything useful, so OOM aborts instead of
 * growing an untestable error branch at every call site. NULLs handed back by
 * libraries (jansson, libpq) are still checked where they are used. */
#ifndef CUPD_XMEM_H
#define CUPD_XMEM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fputs("cupd: out of memory\n", stderr);
		abort();
	}
	return p;
}

static inline void *xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p) {
		fputs("cupd: out of memory\n", stderr);
		abort();
	}
	return p;
}

static inline void *xrealloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);
	if (!p) {
		fputs("cupd: out of memory\n", stderr);
		abort();
	}
	return p;
}

static inline char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

static inline char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

#endif
