/* grants.c: revoked-grant set and the verified access-token cache. */
#include "grants.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "oauth.h"
#include "xmem.h"

enum { SET_BUCKETS = 4096, CACHE_BUCKETS = 8192, CACHE_MAX = 100000 };

typedef struct gnode {
	struct gnode *next;
	char id[37];
} gnode;

typedef struct tnode {
	struct tnode *next;
	unsigned char hash[32];
	oauth_claims claims;
} tnode;

static struct {
	pthread_rwlock_t lock;
	gnode *revoked[SET_BUCKETS];
	int nrevoked;
} set = { .lock = PTHREAD_RWLOCK_INITIALIZER };

static struct {
	pthread_rwlock_t lock;
	tnode *b[CACHE_BUCKETS];
	int n;
} cache = { .lock = PTHREAD_RWLOCK_INITIALIZER };

static unsigned hash_str(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void set_clear_locked(void)
{
	for (int i = 0; i < SET_BUCKETS; i++) {
		for (gnode *g = set.revoked[i], *n; g; g = n) {
			n = g->next;
			free(g);
		}
		set.revoked[i] = NULL;
	}
	set.nrevoked = 0;
}

static void set_add_locked(const char *id)
{
	unsigned b = hash_str(id) % SET_BUCKETS;
	for (gnode *g = set.revoked[b]; g; g = g->next)
		if (!strcmp(g->id, id))
			return;
	gnode *g = xcalloc(1, sizeof *g);
	snprintf(g->id, sizeof g->id, "%s", id);
	g->next = set.revoked[b];
	set.revoked[b] = g;
	set.nrevoked++;
}

void oauth_grants_mark_revoked(const char *id)
{
	pthread_rwlock_wrlock(&set.lock);
	set_add_locked(id);
	pthread_rwlock_unlock(&set.lock);
}

bool oauth_grants_is_revoked(const char *id)
{
	bool found = false;
	pthread_rwlock_rdlock(&set.lock);
	for (gnode *g = set.revoked[hash_str(id) % SET_BUCKETS]; g && !found; g = g->next)
		found = !strcmp(g->id, id);
	pthread_rwlock_unlock(&set.lock);
	return found;
}

/* Grants revoked or expired within the longest access-token lifetime (24 h)
 * plus a margin: older ones cannot have live tokens. */
static const char SQL_REVOKED[] =
	"SELECT id FROM oauth_grants WHERE (revoked_at IS NOT NULL AND revoked_at > now() - interval '25 hours') "
	"OR (expires_at <= now() AND expires_at > now() - interval '25 hours')";

bool oauth_grants_init(PGconn *conn)
{
	PGresult *res = PQexec(conn, SQL_REVOKED);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_msg(LOG_ERROR, "oauth: loading revoked grants failed: %s", PQerrorMessage(conn));
		PQclear(res);
		return false;
	}
	pthread_rwlock_wrlock(&set.lock);
	set_clear_locked();
	for (int i = 0; i < PQntuples(res); i++)
		set_add_locked(PQgetvalue(res, i, 0));
	pthread_rwlock_unlock(&set.lock);
	PQclear(res);
	return true;
}

void oauth_access_cache_clear(void)
{
	pthread_rwlock_wrlock(&cache.lock);
	for (int i = 0; i < CACHE_BUCKETS; i++) {
		for (tnode *t = cache.b[i], *n; t; t = n) {
			n = t->next;
			free(t);
		}
		cache.b[i] = NULL;
	}
	cache.n = 0;
	pthread_rwlock_unlock(&cache.lock);
}

void oauth_grants_shutdown(void)
{
	oauth_access_cache_clear();
	pthread_rwlock_wrlock(&set.lock);
	set_clear_locked();
	pthread_rwlock_unlock(&set.lock);
}

void oauth_on_notify(const char *channel, const char *payload, void *conninfo)
{
	bool reconnected = !channel, keys_changed = false;
	if (channel && !strncmp(payload, "grant:", 6))
		oauth_grants_mark_revoked(payload + 6);
	else if (channel && !strcmp(payload, "signing_keys:changed"))
		keys_changed = true;
	if (!reconnected && !keys_changed)
		return;
	/* Rare events (reconnects, key rotation): a short blocking connection on
	 * the listener thread is simplest and never touches a worker loop. A key
	 * change only reloads; creating a key (which writes, and so notifies
	 * every instance) happens only after a reconnect, when this instance may
	 * have missed everything. */
	PGconn *pg = PQconnectdb(conninfo ? conninfo : "");
	if (PQstatus(pg) == CONNECTION_OK) {
		char err[256];
		if (reconnected)
			oauth_grants_init(pg);
		if (keys_changed)
			oauth_keys_reload(pg);
		else if (oauth_keys_enabled() && !oauth_keys_ensure(pg, err, sizeof err))
			log_msg(LOG_ERROR, "oauth: %s", err);
	}
	PQfinish(pg);
}

bool oauth_principal_from_token(const char *token, size_t len, auth_principal *out, const char **why)
{
	oauth_claims cl;
	if (oauth_access_check(token, len, &cl, why) != OAUTH_TOKEN_OK)
		return false;
	memset(out, 0, sizeof *out);
	out->kind = CREDS_JWT;
	snprintf(out->cred_id, sizeof out->cred_id, "%s", cl.gid);
	snprintf(out->user_id, sizeof out->user_id, "%s", cl.sub);
	snprintf(out->org_id, sizeof out->org_id, "%s", cl.org);
	snprintf(out->client_id, sizeof out->client_id, "%.255s", cl.client_id);
	snprintf(out->name, sizeof out->name, "%.100s", cl.client_id);
	auth_scope best = AUTH_SCOPE_NONE;
	char scopes[sizeof cl.scope], *save = NULL;
	snprintf(scopes, sizeof scopes, "%s", cl.scope);
	for (char *w = strtok_r(scopes, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		auth_scope s = auth_scope_parse(w);
		if (s > best)
			best = s;
	}
	out->scope = out->token_scope = best;
	out->expires_at = cl.exp;
	return true;
}

oauth_token_status oauth_access_check(const char *token, size_t len, oauth_claims *out, const char **why)
{
	unsigned char h[32];
	unsigned int hl = 0;
	EVP_Digest(token, len, h, &hl, EVP_sha256(), NULL);
	unsigned b = (unsigned)(h[0] | h[1] << 8 | h[2] << 16) % CACHE_BUCKETS;
	int64_t now = (int64_t)time(NULL);
	bool hit = false;
	pthread_rwlock_rdlock(&cache.lock);
	for (tnode *t = cache.b[b]; t; t = t->next)
		if (!memcmp(t->hash, h, 32)) {
			*out = t->claims;
			hit = true;
			break;
		}
	pthread_rwlock_unlock(&cache.lock);
	if (!hit) {
		if (!oauth_jwt_verify(token, len, oauth_issuer(), out, why))
			return OAUTH_TOKEN_INVALID;
		tnode *t = xcalloc(1, sizeof *t);
		memcpy(t->hash, h, 32);
		t->claims = *out;
		pthread_rwlock_wrlock(&cache.lock);
		if (cache.n >= CACHE_MAX) {
			pthread_rwlock_unlock(&cache.lock);
			oauth_access_cache_clear();
			pthread_rwlock_wrlock(&cache.lock);
		}
		t->next = cache.b[b];
		cache.b[b] = t;
		cache.n++;
		pthread_rwlock_unlock(&cache.lock);
	}
	if (out->exp + 60 <= now) {
		*why = "token expired";
		return OAUTH_TOKEN_INVALID;
	}
	if (strcmp(out->aud, oauth_resource()) != 0) {
		*why = "token is for another audience";
		return OAUTH_TOKEN_WRONG_AUDIENCE;
	}
	if (oauth_grants_is_revoked(out->gid)) {
		*why = "this connection was revoked";
		return OAUTH_TOKEN_REVOKED;
	}
	*why = NULL;
	return OAUTH_TOKEN_OK;
}
