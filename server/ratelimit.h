/* ratelimit.h: in-memory fixed-window request limits, per instance.
 *
 * Windows are one minute long and aligned to the wall clock, like GitHub's:
 * a key may make `limit` requests per window. State lives in this process
 * only, so with N instances behind a balancer a caller can reach N × limit
 * (documented in README). Thread-safe: striped locks, no allocation on the
 * hot path once a key exists. */
#ifndef CUPD_RATELIMIT_H
#define CUPD_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

typedef struct ratelimit_info {
	bool allowed;
	int limit;
	int remaining;
	int64_t reset;        /* unix seconds when the window resets */
	int retry_after;      /* seconds, when !allowed */
} ratelimit_info;

void ratelimit_init(void);
void ratelimit_shutdown(void);

/* Counts one request for key against limit per minute; fills *out. */
bool ratelimit_take(const char *key, int limit, ratelimit_info *out);

/* Peeks without counting (e.g. to decide before work). */
void ratelimit_peek(const char *key, int limit, ratelimit_info *out);

/* X-RateLimit-Limit/-Remaining/-Reset (+ Retry-After when refused). */
void ratelimit_set_headers(http_req *r, const ratelimit_info *info);

/* Answers 429 with the headers and a JSON error. */
void ratelimit_reply_429(http_req *r, const ratelimit_info *info);

#endif
