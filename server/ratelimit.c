/* ratelimit.c: striped hash of fixed one-minute windows. */
#include "ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "xmem.h"

enum { STRIPES = 64, BUCKETS = 1024, SWEEP_AT = 8192 };

typedef struct entry {
	struct entry *next;
	int64_t window;       /* unix minute */
	int count;
	char key[];
} entry;

typedef struct stripe {
	pthread_mutex_t lock;
	entry *buckets[BUCKETS];
	int n;
} stripe;

static stripe *stripes;

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void ratelimit_init(void)
{
	if (stripes)
		return;
	stripes = xcalloc(STRIPES, sizeof *stripes);
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&stripes[i].lock, NULL);
}

void ratelimit_shutdown(void)
{
	if (!stripes)
		return;
	for (int i = 0; i < STRIPES; i++) {
		for (int b = 0; b < BUCKETS; b++)
			for (entry *e = stripes[i].buckets[b], *n; e; e = n) {
				n = e->next;
				free(e);
			}
		pthread_mutex_destroy(&stripes[i].lock);
	}
	free(stripes);
	stripes = NULL;
}

/* Drops entries of past windows; called with the stripe locked. */
static void sweep(stripe *s, int64_t window)
{
	for (int b = 0; b < BUCKETS; b++)
		for (entry **pp = &s->buckets[b]; *pp;) {
			entry *e = *pp;
			if (e->window < window) {
				*pp = e->next;
				free(e);
				s->n--;
			} else {
				pp = &e->next;
			}
		}
}

static void account(const char *key, int limit, bool take, ratelimit_info *out)
{
	time_t now = time(NULL);
	int64_t window = (int64_t)now / 60;
	uint64_t h = fnv1a(key);
	stripe *s = &stripes[h % STRIPES];
	pthread_mutex_lock(&s->lock);
	entry **head = &s->buckets[(h / STRIPES) % BUCKETS];
	entry *e = *head;
	while (e && strcmp(e->key, key))
		e = e->next;
	if (!e && take) {
		if (s->n >= SWEEP_AT)
			sweep(s, window);
		size_t klen = strlen(key) + 1;
		e = xmalloc(sizeof *e + klen);
		memcpy(e->key, key, klen);
		e->window = window;
		e->count = 0;
		e->next = *head;
		*head = e;
		s->n++;
	}
	int count = 0;
	if (e) {
		if (e->window != window) {
			e->window = window;
			e->count = 0;
		}
		if (take && e->count <= limit)
			e->count++; /* capped: a flood cannot overflow the counter */
		count = e->count;
	}
	pthread_mutex_unlock(&s->lock);
	out->limit = limit;
	out->allowed = count <= limit;
	out->remaining = count >= limit ? 0 : limit - count;
	out->reset = (window + 1) * 60;
	out->retry_after = (int)(out->reset - now);
	if (out->retry_after < 1)
		out->retry_after = 1;
}

bool ratelimit_take(const char *key, int limit, ratelimit_info *out)
{
	account(key, limit, true, out);
	return out->allowed;
}

void ratelimit_peek(const char *key, int limit, ratelimit_info *out)
{
	account(key, limit, false, out);
}

void ratelimit_set_headers(http_req *r, const ratelimit_info *info)
{
	char v[32];
	snprintf(v, sizeof v, "%d", info->limit);
	http_set_header(r, "X-RateLimit-Limit", v);
	snprintf(v, sizeof v, "%d", info->remaining);
	http_set_header(r, "X-RateLimit-Remaining", v);
	snprintf(v, sizeof v, "%lld", (long long)info->reset);
	http_set_header(r, "X-RateLimit-Reset", v);
	if (!info->allowed) {
		snprintf(v, sizeof v, "%d", info->retry_after);
		http_set_header(r, "Retry-After", v);
	}
}

void ratelimit_reply_429(http_req *r, const ratelimit_info *info)
{
	char desc[160];
	ratelimit_set_headers(r, info);
	snprintf(desc, sizeof desc, "Rate limit of %d requests per minute exceeded; retry in %d s.", info->limit,
	         info->retry_after);
	http_reply_error(r, 429, "rate_limited", desc);
}
