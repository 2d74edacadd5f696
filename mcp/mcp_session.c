/* mcp_session.c: DB-backed MCP sessions with a per-process cache. */
#include "mcp_session.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "creds.h"
#include "xmem.h"

enum { BUCKETS = 2048, CACHE_TTL_S = 300, TOUCH_EVERY_S = 300, MAX_CACHED = 50000 };

typedef struct node {
	struct node *next;
	char hash[CREDS_HASH_HEX + 1];
	char principal[320];
	mcp_session s;
	int64_t cached_at;
	int64_t touched_at;
} node;

static struct {
	pthread_mutex_t lock;
	node *b[BUCKETS];
	int n;
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static unsigned bucket(const char *hash)
{
	unsigned v = 0;
	for (int i = 0; i < 6; i++)
		v = v * 16 + (unsigned)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
	return v % BUCKETS;
}

void mcp_session_principal(const auth_principal *p, char *out, size_t cap)
{
	if (p->kind == CREDS_JWT)
		snprintf(out, cap, "oauth:%s:%.255s", p->user_id, p->client_id);
	else
		snprintf(out, cap, "api_token:%s", p->cred_id);
}

static void cache_put(const char *hash, const char *principal, const mcp_session *s)
{
	node *n = xcalloc(1, sizeof *n);
	snprintf(n->hash, sizeof n->hash, "%s", hash);
	snprintf(n->principal, sizeof n->principal, "%s", principal);
	n->s = *s;
	n->cached_at = n->touched_at = (int64_t)time(NULL);
	pthread_mutex_lock(&cache.lock);
	if (cache.n >= MAX_CACHED) {
		pthread_mutex_unlock(&cache.lock);
		mcp_session_cache_clear();
		pthread_mutex_lock(&cache.lock);
	}
	unsigned b = bucket(hash);
	n->next = cache.b[b];
	cache.b[b] = n;
	cache.n++;
	pthread_mutex_unlock(&cache.lock);
}

static void cache_drop(const char *hash)
{
	pthread_mutex_lock(&cache.lock);
	for (node **pp = &cache.b[bucket(hash)]; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->hash, hash)) {
			node *n = *pp;
			*pp = n->next;
			free(n);
			cache.n--;
			break;
		}
	pthread_mutex_unlock(&cache.lock);
}

void mcp_session_cache_clear(void)
{
	pthread_mutex_lock(&cache.lock);
	for (int i = 0; i < BUCKETS; i++) {
		for (node *n = cache.b[i], *nx; n; n = nx) {
			nx = n->next;
			free(n);
		}
		cache.b[i] = NULL;
	}
	cache.n = 0;
	pthread_mutex_unlock(&cache.lock);
}

void mcp_session_on_notify(const char *channel, const char *payload)
{
	if (!channel)
		mcp_session_cache_clear();
	else if (!strncmp(payload, "mcp_session:", 12))
		cache_drop(payload + 12);
}

/* ------------------------------------------------------------ create */

typedef struct op {
	mcp_session_fn done;
	void *arg;
	mcp_session s;
	char hash[CREDS_HASH_HEX + 1];
	char principal[320];
} op;

static const db_stmt CREATE = {
	"mcp_session_create",
	"INSERT INTO mcp_sessions (id_hash, principal, org_id, grant_id, protocol_version, client_info, idle_expires_at) "
	"VALUES (decode($1, 'hex'), $2, $3, $4, $5, coalesce($6::jsonb, '{}'), now() + interval '72 hours')",
	6,
};

static void create_done(const db_result *res, void *arg)
{
	op *o = arg;
	if (res->status == DB_OK) {
		cache_put(o->hash, o->principal, &o->s);
		o->done(&o->s, DB_OK, o->arg);
	} else {
		o->done(NULL, res->status, o->arg);
	}
	free(o);
}

db_status mcp_session_create(db_pool *db, const auth_principal *p, const char *version, const char *client_info_json,
                             char id_out[MCP_SESSION_ID_LEN + 1], mcp_session_fn done, void *arg)
{
	static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[33];
	if (RAND_bytes(raw, 32) != 1)
		return DB_ERROR;
	raw[32] = 0;
	int o = 0;
	for (int i = 0; i < 33 && o < MCP_SESSION_ID_LEN; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | (i + 2 < 33 ? raw[i + 2] : 0);
		id_out[o++] = T[v >> 18 & 63];
		id_out[o++] = T[v >> 12 & 63];
		if (o < MCP_SESSION_ID_LEN)
			id_out[o++] = T[v >> 6 & 63];
		if (o < MCP_SESSION_ID_LEN)
			id_out[o++] = T[v & 63];
	}
	id_out[MCP_SESSION_ID_LEN] = '\0';
	op *op_ = xcalloc(1, sizeof *op_);
	op_->done = done;
	op_->arg = arg;
	snprintf(op_->s.version, sizeof op_->s.version, "%s", version);
	creds_hash_hex(id_out, MCP_SESSION_ID_LEN, op_->hash);
	mcp_session_principal(p, op_->principal, sizeof op_->principal);
	const char *params[] = { op_->hash, op_->principal, p->org_id, p->kind == CREDS_JWT ? p->cred_id : NULL,
	                         version, client_info_json };
	db_status st = db_query(db, &CREATE, params, create_done, op_);
	if (st != DB_OK)
		free(op_);
	return st;
}

/* -------------------------------------------------------------- find */

static const db_stmt FIND = {
	"mcp_session_find",
	"SELECT protocol_version FROM mcp_sessions WHERE id_hash = decode($1, 'hex') AND principal = $2 "
	"  AND deleted_at IS NULL AND idle_expires_at > now()",
	2,
};

static const db_stmt TOUCH = {
	"mcp_session_touch",
	"UPDATE mcp_sessions SET last_seen_at = now(), idle_expires_at = now() + interval '72 hours' "
	"WHERE id_hash = decode($1, 'hex') AND deleted_at IS NULL",
	1,
};

static void touch_done(const db_result *res, void *arg)
{
	(void)res;
	(void)arg;
}

static void find_done(const db_result *res, void *arg)
{
	op *o = arg;
	if (res->status != DB_OK) {
		o->done(NULL, res->status, o->arg);
	} else if (db_rows(res->res) != 1) {
		o->done(NULL, DB_OK, o->arg);
	} else {
		snprintf(o->s.version, sizeof o->s.version, "%s", db_get(res->res, 0, "protocol_version"));
		cache_put(o->hash, o->principal, &o->s);
		o->done(&o->s, DB_OK, o->arg);
	}
	free(o);
}

void mcp_session_find(db_pool *db, const char *id, const auth_principal *p, mcp_session_fn done, void *arg)
{
	char hash[CREDS_HASH_HEX + 1], principal[320];
	creds_hash_hex(id, strlen(id), hash);
	mcp_session_principal(p, principal, sizeof principal);
	int64_t now = (int64_t)time(NULL);
	mcp_session hit;
	int found = 0; /* 0 miss, 1 hit, -1 hit for another principal */
	bool touch = false;
	pthread_mutex_lock(&cache.lock);
	for (node *n = cache.b[bucket(hash)]; n; n = n->next)
		if (!strcmp(n->hash, hash) && now - n->cached_at < CACHE_TTL_S) {
			found = strcmp(n->principal, principal) ? -1 : 1;
			hit = n->s;
			if (found == 1 && now - n->touched_at >= TOUCH_EVERY_S) {
				n->touched_at = now;
				touch = true;
			}
			break;
		}
	pthread_mutex_unlock(&cache.lock);
	if (found == -1) {
		done(NULL, DB_OK, arg); /* bound to someone else: unknown (A26) */
		return;
	}
	if (found == 1) {
		/* Keep the idle expiry moving without a write per request. */
		if (touch) {
			const char *params[] = { hash };
			if (db_query(db, &TOUCH, params, touch_done, NULL) != DB_OK)
				touch = false; /* best effort: the next request tries again after TOUCH_EVERY_S */
		}
		done(&hit, DB_OK, arg);
		return;
	}
	op *o = xcalloc(1, sizeof *o);
	o->done = done;
	o->arg = arg;
	memcpy(o->hash, hash, sizeof hash);
	memcpy(o->principal, principal, sizeof principal);
	const char *params[] = { hash, principal };
	db_status st = db_query(db, &FIND, params, find_done, o);
	if (st != DB_OK) {
		free(o);
		done(NULL, st, arg);
	}
}

/* --------------------------------------------------------------- end */

static const db_stmt END = {
	"mcp_session_end",
	"UPDATE mcp_sessions SET deleted_at = now() WHERE id_hash = decode($1, 'hex') AND principal = $2 "
	"  AND deleted_at IS NULL RETURNING protocol_version",
	2,
};

static void end_done(const db_result *res, void *arg)
{
	op *o = arg;
	if (res->status != DB_OK)
		o->done(NULL, res->status, o->arg);
	else
		o->done(db_rows(res->res) == 1 ? &o->s : NULL, DB_OK, o->arg);
	free(o);
}

void mcp_session_end(db_pool *db, const char *id, const auth_principal *p, mcp_session_fn done, void *arg)
{
	op *o = xcalloc(1, sizeof *o);
	o->done = done;
	o->arg = arg;
	creds_hash_hex(id, strlen(id), o->hash);
	mcp_session_principal(p, o->principal, sizeof o->principal);
	cache_drop(o->hash); /* this instance forgets at once; others on NOTIFY */
	const char *params[] = { o->hash, o->principal };
	db_status st = db_query(db, &END, params, end_done, o);
	if (st != DB_OK) {
		free(o);
		done(NULL, st, arg);
	}
}
