/* auth.c: credential cache, async lookups, the route gate, usage batching. */
#include "auth.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "clientip.h"
#include "log.h"
#include "ratelimit.h"
#include "xmem.h"

enum { CACHE_BUCKETS = 4096, CACHE_MAX = 200000, NEGATIVE_TTL_S = 30, POSITIVE_TTL_S = 600 };

/* One cached credential, valid or known-unknown (found == false). */
typedef struct entry {
	struct entry *next;
	char hash[CREDS_HASH_HEX + 1];
	bool found;
	auth_principal p;         /* kind, ids, names, token scope, role */
	int64_t grace_until;      /* 0 = not rotated out */
	bool disabled, revoked, user_disabled;
	char **origins;           /* SDK Key allowlist; NULL/0 = any origin */
	int norigins;
	int64_t cached_at;
} entry;

static struct {
	pthread_rwlock_t lock;
	entry *buckets[CACHE_BUCKETS];
	int n;
	/* Bumped by every invalidation: a lookup that started before one must
	 * not insert what it read, or a just-revoked token could come back. */
	_Atomic uint64_t epoch;
	const cfg *c;
} cache = { .lock = PTHREAD_RWLOCK_INITIALIZER };

/* Usage waiting to be written: credential id → last use, grace-window uses. */
typedef struct usage {
	struct usage *next;
	creds_kind kind;
	char id[37];
	int64_t last_used;
	char ip[46];
	int64_t grace_uses;
	int64_t grace_last;
	char grace_ip[46];
	int64_t requests;     /* OAuth grants: requests and tool calls since the last flush */
	int64_t tool_calls;
	char ua[160];         /* OAuth grants: the MCP client's User-Agent (client family) */
} usage;

static struct {
	pthread_mutex_t lock;
	usage *head;
	bool flushing;
} pending = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ------------------------------------------------------------ helpers */

const char *auth_scope_name(auth_scope s)
{
	switch (s) {
	case AUTH_SCOPE_READ: return "read";
	case AUTH_SCOPE_WRITE: return "write";
	case AUTH_SCOPE_ADMIN: return "admin";
	default: return "none";
	}
}

auth_scope auth_scope_parse(const char *s)
{
	if (!s)
		return AUTH_SCOPE_NONE;
	if (!strcmp(s, "read"))
		return AUTH_SCOPE_READ;
	if (!strcmp(s, "write"))
		return AUTH_SCOPE_WRITE;
	if (!strcmp(s, "admin"))
		return AUTH_SCOPE_ADMIN;
	return AUTH_SCOPE_NONE;
}

auth_scope auth_role_cap(const char *role)
{
	if (!role)
		return AUTH_SCOPE_NONE;
	if (!strcmp(role, "owner") || !strcmp(role, "admin"))
		return AUTH_SCOPE_ADMIN;
	if (!strcmp(role, "member"))
		return AUTH_SCOPE_WRITE;
	return AUTH_SCOPE_NONE;
}

static unsigned bucket_of(const char *hash)
{
	unsigned v = 0;
	for (int i = 0; i < 8; i++)
		v = v * 16 + (unsigned)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
	return v % CACHE_BUCKETS;
}

static void entry_free(entry *e)
{
	for (int i = 0; i < e->norigins; i++)
		free(e->origins[i]);
	free(e->origins);
	free(e);
}

static void cache_clear_locked(void)
{
	for (int b = 0; b < CACHE_BUCKETS; b++) {
		for (entry *e = cache.buckets[b], *n; e; e = n) {
			n = e->next;
			entry_free(e);
		}
		cache.buckets[b] = NULL;
	}
	cache.n = 0;
}

void auth_cache_clear(void)
{
	atomic_fetch_add(&cache.epoch, 1);
	pthread_rwlock_wrlock(&cache.lock);
	cache_clear_locked();
	pthread_rwlock_unlock(&cache.lock);
}

/* Drops entries whose credential id, or user id, equals id. */
static void cache_drop_matching(const char *id, bool by_user)
{
	atomic_fetch_add(&cache.epoch, 1);
	pthread_rwlock_wrlock(&cache.lock);
	for (int b = 0; b < CACHE_BUCKETS; b++)
		for (entry **pp = &cache.buckets[b]; *pp;) {
			entry *e = *pp;
			const char *key = by_user ? e->p.user_id : e->p.cred_id;
			if (e->found && !strcmp(key, id)) {
				*pp = e->next;
				entry_free(e);
				cache.n--;
			} else {
				pp = &e->next;
			}
		}
	pthread_rwlock_unlock(&cache.lock);
}

void auth_on_notify(const char *channel, const char *payload, void *arg)
{
	(void)arg;
	if (!channel) {
		auth_cache_clear(); /* we may have missed revocations while disconnected */
		return;
	}
	if (!strncmp(payload, "api_token:", 10))
		cache_drop_matching(payload + 10, false);
	else if (!strncmp(payload, "sdk_key:", 8))
		cache_drop_matching(payload + 8, false);
	else if (!strncmp(payload, "user:", 5))
		cache_drop_matching(payload + 5, true);
}

void auth_init(const cfg *c)
{
	cache.c = c;
}

void auth_shutdown(void)
{
	auth_cache_clear();
	pthread_mutex_lock(&pending.lock);
	for (usage *u = pending.head, *n; u; u = n) {
		n = u->next;
		free(u);
	}
	pending.head = NULL;
	pthread_mutex_unlock(&pending.lock);
}

/* ------------------------------------------------------------- usage */

/* The pending record of p; called with pending.lock held. */
static usage *usage_of(const auth_principal *p)
{
	usage *u = pending.head;
	while (u && (u->kind != p->kind || strcmp(u->id, p->cred_id)))
		u = u->next;
	if (!u) {
		u = xcalloc(1, sizeof *u);
		u->kind = p->kind;
		snprintf(u->id, sizeof u->id, "%s", p->cred_id);
		u->next = pending.head;
		pending.head = u;
	}
	return u;
}

void auth_note_tool_call(const auth_principal *p)
{
	if (p->kind != CREDS_JWT)
		return;
	pthread_mutex_lock(&pending.lock);
	usage_of(p)->tool_calls++;
	pthread_mutex_unlock(&pending.lock);
}

static void note_usage(const auth_principal *p, const char *ip, const char *ua)
{
	int64_t now = (int64_t)time(NULL);
	pthread_mutex_lock(&pending.lock);
	usage *u = usage_of(p);
	u->last_used = now;
	u->requests++;
	snprintf(u->ip, sizeof u->ip, "%s", ip);
	if (p->kind == CREDS_JWT && ua && *ua)
		snprintf(u->ua, sizeof u->ua, "%s", ua);
	if (p->in_grace) {
		u->grace_uses++;
		u->grace_last = now;
		snprintf(u->grace_ip, sizeof u->grace_ip, "%s", ip);
	}
	pthread_mutex_unlock(&pending.lock);
}

static const db_stmt FLUSH_TOKENS = {
	"auth_flush_api_tokens",
	"UPDATE api_tokens t SET last_used_at = greatest(t.last_used_at, to_timestamp(u.at)), "
	"  last_used_ip = u.ip, grace_use_count = t.grace_use_count + u.gcount, "
	"  grace_last_used_at = CASE WHEN u.gcount > 0 THEN to_timestamp(u.gat) ELSE t.grace_last_used_at END, "
	"  grace_last_ip = CASE WHEN u.gcount > 0 THEN u.gip ELSE t.grace_last_ip END "
	"FROM unnest($1::uuid[], $2::float8[], $3::inet[], $4::int8[], $5::float8[], $6::inet[]) "
	"  AS u(id, at, ip, gcount, gat, gip) WHERE t.id = u.id",
	6,
};

static const db_stmt FLUSH_GRANTS = {
	"auth_flush_grants",
	"WITH u AS (SELECT * FROM unnest($1::uuid[], $2::float8[], $3::inet[], $4::int8[], $5::int8[], $6::text[]) "
	"    AS u(id, at, ip, requests, tool_calls, ua)), "
	"g AS (UPDATE oauth_grants g SET last_used_at = greatest(g.last_used_at, to_timestamp(u.at)), last_ip = u.ip, "
	"    user_agent = coalesce(nullif(left(u.ua, 512), ''), g.user_agent) FROM u WHERE g.id = u.id) "
	"INSERT INTO oauth_grant_usage (grant_id, day, requests, tool_calls) "
	"SELECT u.id, (now() AT TIME ZONE 'UTC')::date, u.requests, u.tool_calls FROM u "
	"  JOIN oauth_grants g ON g.id = u.id "
	"ON CONFLICT (grant_id, day) DO UPDATE SET requests = oauth_grant_usage.requests + excluded.requests, "
	"  tool_calls = oauth_grant_usage.tool_calls + excluded.tool_calls",
	6,
};

static const db_stmt FLUSH_KEYS = {
	"auth_flush_sdk_keys",
	"UPDATE sdk_keys k SET last_used_at = greatest(k.last_used_at, to_timestamp(u.at)) "
	"FROM unnest($1::uuid[], $2::float8[]) AS u(id, at) WHERE k.id = u.id",
	2,
};

typedef struct sbuf {
	char *s;
	size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s)
{
	size_t l = strlen(s);
	if (b->n + l + 1 > b->cap) {
		b->cap = (b->n + l + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->n, s, l + 1);
	b->n += l;
}

/* Appends s as one double-quoted element of a PostgreSQL array literal. */
static void sb_add_quoted(sbuf *b, const char *s)
{
	char one[2] = { 0, 0 };
	sb_add(b, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			sb_add(b, "\\");
		one[0] = *s;
		sb_add(b, one);
	}
	sb_add(b, "\"");
}

static void flush_done(const db_result *res, void *arg)
{
	(void)arg;
	if (res->status != DB_OK)
		log_msg(LOG_WARN, "auth: writing last-used data failed: %s", res->message);
}

void auth_usage_flush(db_pool *db)
{
	pthread_mutex_lock(&pending.lock);
	usage *list = pending.head;
	pending.head = NULL;
	pthread_mutex_unlock(&pending.lock);
	if (!list)
		return;
	/* Array literals are built only from values we produced: uuids read from
	 * our own database, IPs that passed inet_pton, and numbers. */
	sbuf a[6] = { 0 }, k[2] = { 0 }, g[6] = { 0 };
	for (int i = 0; i < 6; i++)
		sb_add(&a[i], "{");
	for (int i = 0; i < 2; i++)
		sb_add(&k[i], "{");
	for (int i = 0; i < 6; i++)
		sb_add(&g[i], "{");
	int na = 0, nk = 0, ng = 0;
	for (usage *u = list, *next; u; u = next) {
		next = u->next;
		char num[32];
		if (u->kind == CREDS_API_TOKEN) {
			const char *sep = na++ ? "," : "";
			sb_add(&a[0], sep), sb_add(&a[0], u->id);
			snprintf(num, sizeof num, "%s%lld", sep, (long long)u->last_used), sb_add(&a[1], num);
			sb_add(&a[2], sep), sb_add(&a[2], *u->ip && strcmp(u->ip, "-") ? u->ip : "NULL");
			snprintf(num, sizeof num, "%s%lld", sep, (long long)u->grace_uses), sb_add(&a[3], num);
			snprintf(num, sizeof num, "%s%lld", sep, (long long)u->grace_last), sb_add(&a[4], num);
			sb_add(&a[5], sep), sb_add(&a[5], *u->grace_ip && strcmp(u->grace_ip, "-") ? u->grace_ip : "NULL");
		} else if (u->kind == CREDS_JWT) {
			const char *sep = ng++ ? "," : "";
			sb_add(&g[0], sep), sb_add(&g[0], u->id);
			snprintf(num, sizeof num, "%s%lld", sep, (long long)u->last_used), sb_add(&g[1], num);
			sb_add(&g[2], sep), sb_add(&g[2], *u->ip && strcmp(u->ip, "-") ? u->ip : "NULL");
			snprintf(num, sizeof num, "%s%lld", sep, (long long)u->requests), sb_add(&g[3], num);
			snprintf(num, sizeof num, "%s%lld", sep, (long long)u->tool_calls), sb_add(&g[4], num);
			sb_add(&g[5], sep), sb_add_quoted(&g[5], u->ua);
		} else {
			const char *sep = nk++ ? "," : "";
			sb_add(&k[0], sep), sb_add(&k[0], u->id);
			snprintf(num, sizeof num, "%s%lld", sep, (long long)u->last_used), sb_add(&k[1], num);
		}
		free(u);
	}
	for (int i = 0; i < 6; i++)
		sb_add(&a[i], "}");
	for (int i = 0; i < 2; i++)
		sb_add(&k[i], "}");
	for (int i = 0; i < 6; i++)
		sb_add(&g[i], "}");
	if (ng) {
		const char *params[6] = { g[0].s, g[1].s, g[2].s, g[3].s, g[4].s, g[5].s };
		if (db_query(db, &FLUSH_GRANTS, params, flush_done, NULL) != DB_OK)
			log_msg(LOG_WARN, "auth: database unavailable; %d connection usage record(s) dropped", ng);
	}
	if (na) {
		const char *params[6] = { a[0].s, a[1].s, a[2].s, a[3].s, a[4].s, a[5].s };
		if (db_query(db, &FLUSH_TOKENS, params, flush_done, NULL) != DB_OK)
			log_msg(LOG_WARN, "auth: database unavailable; %d token usage record(s) dropped", na);
	}
	if (nk) {
		const char *params[2] = { k[0].s, k[1].s };
		if (db_query(db, &FLUSH_KEYS, params, flush_done, NULL) != DB_OK)
			log_msg(LOG_WARN, "auth: database unavailable; %d key usage record(s) dropped", nk);
	}
	for (int i = 0; i < 6; i++)
		free(a[i].s);
	for (int i = 0; i < 2; i++)
		free(k[i].s);
	for (int i = 0; i < 6; i++)
		free(g[i].s);
}

/* -------------------------------------------------------------- gate */

typedef struct gate {
	http_req *r;
	auth_need need;
	auth_scope min;
	router_handler next;
	creds_kind kind;
	char hash[CREDS_HASH_HEX + 1];
	uint64_t epoch;
} gate;

static const char *settings_url(const http_req *r, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/settings/credentials", http_req_cfg(r)->public_url);
	return buf;
}

static auth_jwt_validator jwt_validator;

void auth_set_jwt_validator(auth_jwt_validator fn)
{
	jwt_validator = fn;
}

/* 401 for a missing or unusable credential. Failed attempts with a
 * credential count against the client IP; a request without one does not,
 * because MCP clients start every connection with one (that 401 is how they
 * discover OAuth, B7) and many users share one egress address (D8). */
static void reply_401(http_req *r, auth_need need, bool token_sent, const char *desc)
{
	const cfg *c = http_req_cfg(r);
	if (token_sent) {
		char key[80];
		ratelimit_info rl;
		snprintf(key, sizeof key, "authfail:%s", http_req_peer_ip(r));
		if (!ratelimit_take(key, c->rate_ip, &rl)) {
			ratelimit_reply_429(r, &rl);
			return;
		}
	}
	char hdr[900];
	if (need == AUTH_MCP) {
		/* One Bearer challenge pointing at the path-inserted PRM (B5, B6, B8);
		 * error="invalid_token" only when a token was sent (E21). */
		int n = snprintf(hdr, sizeof hdr, "Bearer resource_metadata=\"%s/.well-known/oauth-protected-resource/mcp\", "
		                 "scope=\"read write\"", c->public_url);
		if (token_sent && n > 0 && (size_t)n < sizeof hdr)
			snprintf(hdr + n, sizeof hdr - (size_t)n, ", error=\"invalid_token\", error_description=\"%s\"", desc);
	} else if (token_sent) {
		snprintf(hdr, sizeof hdr, "Bearer realm=\"cupd\", error=\"invalid_token\", error_description=\"%s\"", desc);
	} else {
		snprintf(hdr, sizeof hdr, "Bearer realm=\"cupd\"");
	}
	http_set_header(r, "WWW-Authenticate", hdr);
	http_reply_error(r, 401, token_sent ? "invalid_token" : "unauthorized", desc);
}

static void reply_wrong_type(http_req *r, auth_need need, creds_kind got)
{
	char url[300], desc[600];
	settings_url(r, url, sizeof url);
	if (need == AUTH_API_TOKEN && got == CREDS_SDK_KEY)
		snprintf(desc, sizeof desc,
		         "This endpoint takes an API Token (cup_api_...). SDK Keys (cup_sdk_...) only send telemetry "
		         "to POST /v1/events. Create an API Token at %s.", url);
	else if (need == AUTH_MCP)
		snprintf(desc, sizeof desc,
		         "The MCP endpoint takes an OAuth access token (connect from your AI tool) or an API Token "
		         "(cup_api_...). SDK Keys (cup_sdk_...) only send telemetry. Create an API Token at %s.", url);
	else if (need == AUTH_API_TOKEN)
		snprintf(desc, sizeof desc,
		         "This endpoint takes an API Token (cup_api_...). OAuth access tokens are accepted only by the "
		         "MCP endpoint (/mcp). Create an API Token at %s.", url);
	else if (got == CREDS_API_TOKEN)
		snprintf(desc, sizeof desc,
		         "POST /v1/events takes an SDK Key (cup_sdk_...). API Tokens are secret and must never be "
		         "embedded in an SDK or a browser; revoke this one if it was. Create an SDK Key at %s.", url);
	else
		snprintf(desc, sizeof desc, "POST /v1/events takes an SDK Key (cup_sdk_...). Create one at %s.", url);
	http_reply_error(r, 403, "wrong_credential_type", desc);
}

static bool origin_allowed(const entry *e, const char *origin)
{
	if (!origin || e->norigins == 0)
		return true;
	for (int i = 0; i < e->norigins; i++)
		if (!strcmp(e->origins[i], origin))
			return true;
	return false;
}

typedef enum { V_OK, V_UNKNOWN, V_REVOKED, V_DISABLED, V_EXPIRED, V_NO_MEMBER, V_ORIGIN } verdict;

/* Decides on a cached entry and fills *out; called with the cache read-locked. */
static verdict judge(const entry *e, const http_req *r, auth_principal *out)
{
	int64_t now = (int64_t)time(NULL);
	if (!e->found)
		return V_UNKNOWN;
	if (e->revoked)
		return V_REVOKED;
	*out = e->p;
	if (e->p.kind == CREDS_SDK_KEY)
		return origin_allowed(e, http_req_header(r, "Origin")) ? V_OK : V_ORIGIN;
	if (e->disabled)
		return V_DISABLED;
	if (e->p.expires_at && e->p.expires_at <= now)
		return V_EXPIRED;
	if (e->grace_until && e->grace_until <= now)
		return V_REVOKED;
	if (e->user_disabled)
		return V_NO_MEMBER;
	auth_scope cap = auth_role_cap(e->p.role);
	if (cap == AUTH_SCOPE_NONE)
		return V_NO_MEMBER;
	out->scope = e->p.token_scope < cap ? e->p.token_scope : cap;
	out->in_grace = e->grace_until > 0;
	return V_OK;
}

static void principal_free(void *p)
{
	free(p);
}

/* The credential is known and valid: kind, scope, rate limit, then the handler. */
static void admit(http_req *r, auth_need need, auth_scope min, router_handler next, const auth_principal *p)
{
	const cfg *c = http_req_cfg(r);
	if ((need == AUTH_API_TOKEN && p->kind != CREDS_API_TOKEN) ||
	    (need == AUTH_SDK_KEY && p->kind != CREDS_SDK_KEY) ||
	    (need == AUTH_MCP && p->kind != CREDS_API_TOKEN && p->kind != CREDS_JWT)) {
		reply_wrong_type(r, need, p->kind);
		return;
	}
	if (p->kind != CREDS_SDK_KEY && p->scope < min) {
		char desc[200];
		snprintf(desc, sizeof desc, "This request needs the %s scope; this token has %s%s.",
		         auth_scope_name(min), auth_scope_name(p->scope),
		         p->scope < p->token_scope ? " (capped by its owner's role)" : "");
		char hdr[120];
		snprintf(hdr, sizeof hdr, "Bearer realm=\"cupd\", error=\"insufficient_scope\", scope=\"%s\"",
		         auth_scope_name(min));
		http_set_header(r, "WWW-Authenticate", hdr);
		http_reply_error(r, 403, "insufficient_scope", desc);
		return;
	}
	char key[200];
	ratelimit_info rl;
	if (p->kind == CREDS_API_TOKEN || p->kind == CREDS_JWT) {
		/* OAuth connections share the API Token limit, per grant. */
		snprintf(key, sizeof key, "tok:%s", p->cred_id);
		ratelimit_take(key, c->rate_api_token, &rl);
	} else {
		const char *origin = http_req_header(r, "Origin");
		snprintf(key, sizeof key, "sdk:%s", p->cred_id);
		ratelimit_take(key, c->rate_sdk_key, &rl);
		if (rl.allowed && origin) {
			snprintf(key, sizeof key, "sdko:%s:%.120s", p->cred_id, origin);
			ratelimit_take(key, c->rate_sdk_origin, &rl);
		}
	}
	if (!rl.allowed) {
		ratelimit_reply_429(r, &rl); /* sets the X-RateLimit-* headers itself */
		return;
	}
	ratelimit_set_headers(r, &rl);
	note_usage(p, http_req_peer_ip(r), http_req_user_agent(r));
	auth_principal *copy = xmalloc(sizeof *copy);
	*copy = *p;
	http_req_set_app_data(r, copy, principal_free);
	next(r);
}

static void reply_verdict(http_req *r, auth_need need, verdict v)
{
	switch (v) {
	case V_REVOKED:
		reply_401(r, need, true, "This credential has been revoked.");
		return;
	case V_DISABLED:
		reply_401(r, need, true, "This API Token is disabled; an admin can enable it again.");
		return;
	case V_EXPIRED:
		reply_401(r, need, true, "This API Token has expired; create a new one.");
		return;
	case V_NO_MEMBER:
		reply_401(r, need, true, "The user this API Token acts as is no longer a member of its organization.");
		return;
	case V_ORIGIN:
		/* A page on a refused origin must not read anything, this answer included. */
		http_remove_header(r, "Access-Control-Allow-Origin");
		http_remove_header(r, "Access-Control-Expose-Headers");
		http_reply_error(r, 403, "origin_not_allowed",
		                 "This SDK Key does not allow requests from this Origin; add it to the key's allowed origins.");
		return;
	default:
		reply_401(r, need, true, "Unknown credential.");
		return;
	}
}

static bool decide_cached(http_req *r, const char *hash, auth_need need, auth_scope min, router_handler next)
{
	auth_principal p;
	int64_t now = (int64_t)time(NULL);
	pthread_rwlock_rdlock(&cache.lock);
	entry *e = cache.buckets[bucket_of(hash)];
	while (e && strcmp(e->hash, hash))
		e = e->next;
	if (!e || now - e->cached_at > (e->found ? POSITIVE_TTL_S : NEGATIVE_TTL_S)) {
		pthread_rwlock_unlock(&cache.lock);
		return false;
	}
	verdict v = judge(e, r, &p);
	pthread_rwlock_unlock(&cache.lock);
	if (v == V_OK)
		admit(r, need, min, next, &p);
	else
		reply_verdict(r, need, v);
	return true;
}

static const db_stmt LOOKUP_TOKEN = {
	"auth_lookup_api_token",
	"SELECT t.id, t.org_id, o.slug AS org_slug, o.name AS org_name, t.user_id, u.email, u.name AS user_name, "
	"  t.name, t.scope, m.role, "
	"  coalesce(extract(epoch FROM t.expires_at)::int8, 0) AS expires_at, "
	"  coalesce(extract(epoch FROM t.grace_until)::int8, 0) AS grace_until, "
	"  t.disabled_at IS NOT NULL AS disabled, t.revoked_at IS NOT NULL AS revoked, "
	"  u.disabled_at IS NOT NULL AS user_disabled "
	"FROM api_tokens t JOIN orgs o ON o.id = t.org_id JOIN users u ON u.id = t.user_id "
	"LEFT JOIN org_members m ON m.org_id = t.org_id AND m.user_id = t.user_id "
	"WHERE t.token_hash = decode($1, 'hex')",
	1,
};

static const db_stmt LOOKUP_KEY = {
	"auth_lookup_sdk_key",
	"SELECT k.id, k.org_id, o.slug AS org_slug, o.name AS org_name, k.project_id, k.name, "
	"  k.revoked_at IS NOT NULL AS revoked, array_to_string(k.allowed_origins, ' ') AS origins "
	"FROM sdk_keys k JOIN orgs o ON o.id = k.org_id WHERE k.key_hash = decode($1, 'hex')",
	1,
};

static void copy_col(char *dst, size_t cap, const PGresult *res, const char *col)
{
	const char *v = db_get(res, 0, col);
	snprintf(dst, cap, "%s", v ? v : "");
}

static entry *entry_from_row(const gate *g, const PGresult *res)
{
	entry *e = xcalloc(1, sizeof *e);
	memcpy(e->hash, g->hash, sizeof e->hash);
	e->cached_at = (int64_t)time(NULL);
	e->p.kind = g->kind;
	if (db_rows(res) != 1)
		return e; /* found = false: a negative entry */
	e->found = true;
	copy_col(e->p.cred_id, sizeof e->p.cred_id, res, "id");
	copy_col(e->p.org_id, sizeof e->p.org_id, res, "org_id");
	copy_col(e->p.org_slug, sizeof e->p.org_slug, res, "org_slug");
	copy_col(e->p.org_name, sizeof e->p.org_name, res, "org_name");
	copy_col(e->p.name, sizeof e->p.name, res, "name");
	e->revoked = db_get_bool(res, 0, "revoked");
	if (g->kind == CREDS_API_TOKEN) {
		copy_col(e->p.user_id, sizeof e->p.user_id, res, "user_id");
		copy_col(e->p.user_email, sizeof e->p.user_email, res, "email");
		copy_col(e->p.user_name, sizeof e->p.user_name, res, "user_name");
		copy_col(e->p.role, sizeof e->p.role, res, "role");
		e->p.token_scope = auth_scope_parse(db_get(res, 0, "scope"));
		db_get_i64(res, 0, "expires_at", &e->p.expires_at);
		db_get_i64(res, 0, "grace_until", &e->grace_until);
		e->disabled = db_get_bool(res, 0, "disabled");
		e->user_disabled = db_get_bool(res, 0, "user_disabled");
	} else {
		copy_col(e->p.project_id, sizeof e->p.project_id, res, "project_id");
		const char *o = db_get(res, 0, "origins");
		char *copy = xstrdup(o ? o : ""), *save = NULL;
		for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
			e->origins = xrealloc(e->origins, (size_t)(e->norigins + 1) * sizeof *e->origins);
			e->origins[e->norigins++] = xstrdup(t);
		}
		free(copy);
	}
	return e;
}

static void lookup_done(const db_result *res, void *arg)
{
	gate *g = arg;
	http_req *r = g->r;
	if (res->status != DB_OK) {
		app_reply_db_failure(r, res->status);
		free(g);
		return;
	}
	entry *e = entry_from_row(g, res->res);
	auth_principal p;
	pthread_rwlock_wrlock(&cache.lock);
	verdict v = judge(e, r, &p);
	if (atomic_load(&cache.epoch) == g->epoch) {
		if (cache.n >= CACHE_MAX)
			cache_clear_locked(); /* crude but bounded; refills from the database */
		unsigned b = bucket_of(e->hash);
		for (entry **pp = &cache.buckets[b]; *pp; pp = &(*pp)->next)
			if (!strcmp((*pp)->hash, e->hash)) {
				entry *old = *pp;
				*pp = old->next;
				entry_free(old);
				cache.n--;
				break;
			}
		e->next = cache.buckets[b];
		cache.buckets[b] = e;
		cache.n++;
		e = NULL;
	}
	pthread_rwlock_unlock(&cache.lock);
	if (e)
		entry_free(e);
	if (v == V_OK)
		admit(r, g->need, g->min, g->next, &p);
	else
		reply_verdict(r, g->need, v);
	free(g);
}

/* SDK Keys are publishable and used from browsers: answers on their routes,
 * refusals such as 401 and 429 included, are readable by the calling page
 * (the Origin is echoed, never "*"), so an SDK can tell a revoked key from a
 * network error. Only an Origin outside the key's allowlist reads nothing. */
static void sdk_cors_headers(http_req *r)
{
	const char *origin = http_req_header(r, "Origin");
	http_set_header(r, "Vary", "Origin");
	if (origin) {
		http_set_header(r, "Access-Control-Allow-Origin", origin);
		http_set_header(r, "Access-Control-Expose-Headers",
		                "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-Request-Id");
	}
}

void auth_gate(http_req *r, auth_need need, auth_scope min, router_handler next)
{
	clientip_resolve(r);
	if (need == AUTH_SDK_KEY)
		sdk_cors_headers(r);
	if (need == AUTH_PUBLIC) {
		next(r);
		return;
	}
	const char *cred;
	size_t len;
	creds_kind kind = creds_parse_authorization(http_req_header(r, "Authorization"), &cred, &len);
	switch (kind) {
	case CREDS_NONE:
		reply_401(r, need, false,
		          need == AUTH_SDK_KEY ? "Send an SDK Key: Authorization: Bearer cup_sdk_..."
		          : need == AUTH_MCP   ? "Connect through OAuth (see WWW-Authenticate) or send an API Token."
		                               : "Send an API Token: Authorization: Bearer cup_api_...");
		return;
	case CREDS_MALFORMED:
		reply_401(r, need, true, "The credential is malformed or mistyped (its checksum does not match).");
		return;
	case CREDS_JWT: {
		if (need != AUTH_MCP || !jwt_validator) {
			reply_wrong_type(r, need, kind);
			return;
		}
		auth_principal p;
		const char *why = "invalid token";
		memset(&p, 0, sizeof p);
		if (!jwt_validator(cred, len, &p, &why)) {
			reply_401(r, need, true, why);
			return;
		}
		admit(r, need, min, next, &p);
		return;
	}
	case CREDS_API_TOKEN:
	case CREDS_SDK_KEY:
		break;
	}
	if ((need == AUTH_API_TOKEN || need == AUTH_MCP) != (kind == CREDS_API_TOKEN)) {
		/* Refuse the wrong kind before any database work. */
		reply_wrong_type(r, need, kind);
		return;
	}
	char hash[CREDS_HASH_HEX + 1];
	creds_hash_hex(cred, len, hash);
	if (decide_cached(r, hash, need, min, next))
		return;
	gate *g = xcalloc(1, sizeof *g);
	g->r = r;
	g->need = need;
	g->min = min;
	g->next = next;
	g->kind = kind;
	memcpy(g->hash, hash, sizeof hash);
	g->epoch = atomic_load(&cache.epoch);
	const char *params[] = { hash };
	db_status st = db_query(app_worker_of(r)->db, kind == CREDS_API_TOKEN ? &LOOKUP_TOKEN : &LOOKUP_KEY, params,
	                        lookup_done, g);
	if (st != DB_OK) {
		free(g);
		app_reply_db_failure(r, st);
	}
}

const auth_principal *auth_principal_of(const http_req *r)
{
	return http_req_app_data(r);
}
