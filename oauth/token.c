/* token.c: the token endpoint, POST /oauth/token (alias /token).
 *
 * REQUIREMENTS C8-C18, C24-C27, B31-B33, B41-B44, D3, D10, D15, E9, E10.
 *
 * authorization_code: everything checkable without the database (params,
 * verifier shape, resource) is checked first; then client authentication;
 * then ONE statement (cupd_exchange_code) redeems the code atomically. A
 * replayed code comes back as 'replay' after the database revoked its
 * grant; this instance marks it revoked at once too. Client, redirect URI
 * and PKCE (S256, constant-time) are then compared here. Every code grant
 * of a client registered for refresh_token gets a refresh token, whether or
 * not it asked for offline_access (B42, E9): its hash is inserted while the
 * access token is signed on the work pool, and the reply waits for both.
 *
 * refresh_token: the successor is derived from the presented token
 * (token_issue.h), so ONE statement (cupd_refresh_grant → cupd_rotate_refresh,
 * a row lock per token) decides between rotated, repeat (the same spent
 * token again within 60 s: the same successor, byte for byte), reuse (the
 * grant is revoked, C25), expired and invalid, on whichever instance the
 * request lands (C26, E10). */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "endpoint.h"
#include "grants.h"
#include "log.h"
#include "oauth.h"
#include "oauth_modules.h"
#include "routes.h"
#include "token_issue.h"
#include "xmem.h"

enum { MAX_RESOURCES = 8, MAX_CODE = 512, MAX_REFRESH = 512 };

typedef enum { GRANT_CODE, GRANT_REFRESH } grant_kind;

/* One token request; owned by the request (app data), freed at the reply. */
typedef struct tok {
	http_req *r;
	oauth_form form;
	oauth_client *client;              /* owned once authenticated */
	grant_kind kind;
	const char *code;                  /* borrowed from form ... */
	const char *verifier;
	const char *redirect_uri;
	const char *refresh;
	char scope_req[64];                /* refresh: normalized requested scope, "" = the grant's */
	oauth_claims claims;               /* of the access token being issued */
	char refresh_out[OAUTH_REFRESH_LEN + 1];
	bool with_refresh;
	char *jwt;                         /* owned, once signed */
	int pending;                       /* parallel steps (signing, storing) still running */
	int err_status;                    /* first failure of a parallel step, 0 = none */
	const char *err_error, *err_desc;  /* static strings */
} tok;

static void tok_free(void *p)
{
	tok *t = p;
	oauth_form_free(&t->form);
	oauth_client_free(t->client);
	if (t->jwt) {
		OPENSSL_cleanse(t->jwt, strlen(t->jwt));
		free(t->jwt);
	}
	OPENSSL_cleanse(t->refresh_out, sizeof t->refresh_out);
	free(t);
}

static const char *client_ip(const http_req *r)
{
	const char *ip = http_req_peer_ip(r);
	return ip && *ip && strcmp(ip, "-") ? ip : NULL;
}

/* RFC 7636 §4.1: 43-128 characters of [A-Za-z0-9-._~]. */
static bool verifier_shape_ok(const char *v)
{
	size_t n = strlen(v);
	if (n < 43 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		      c == '_' || c == '~'))
			return false;
	}
	return true;
}

/* base64url(SHA-256(verifier)) == challenge, in constant time (C10). */
static bool pkce_ok(const char *verifier, const char *challenge)
{
	static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char md[32];
	unsigned int mdlen = 0;
	char enc[44];
	EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL);
	size_t o = 0;
	for (size_t i = 0; i < 32; i += 3) {
		unsigned v = (unsigned)md[i] << 16 | (i + 1 < 32 ? (unsigned)md[i + 1] << 8 : 0) | (i + 2 < 32 ? md[i + 2] : 0);
		enc[o++] = T[v >> 18 & 63];
		enc[o++] = T[v >> 12 & 63];
		if (i + 1 < 32)
			enc[o++] = T[v >> 6 & 63];
		if (i + 2 < 32)
			enc[o++] = T[v & 63];
	}
	enc[o] = '\0';
	return challenge && strlen(challenge) == 43 && CRYPTO_memcmp(enc, challenge, 43) == 0;
}

/* ------------------------------------------------------------ replies */

static void reply_tokens(tok *t)
{
	json_t *b = json_pack("{s:s, s:s, s:I}", "access_token", t->jwt, "token_type", "Bearer", "expires_in",
	                      (json_int_t)(t->claims.exp - t->claims.iat));
	if (t->with_refresh)
		json_object_set_new(b, "refresh_token", json_string(t->refresh_out));
	json_object_set_new(b, "scope", json_string(t->claims.scope));
	oauth_reply_json(t->r, 200, b);
}

/* A parallel step finished; the last one answers. */
static void step_done(tok *t)
{
	if (--t->pending > 0)
		return;
	if (t->err_status)
		oauth_reply_error(t->r, t->err_status, t->err_error, t->err_desc);
	else
		reply_tokens(t);
}

static void step_failed(tok *t, int status, const char *error, const char *desc)
{
	if (!t->err_status) {
		t->err_status = status;
		t->err_error = error;
		t->err_desc = desc;
	}
	step_done(t);
}

static void on_signed(char *jwt, void *arg)
{
	tok *t = arg;
	if (!jwt) {
		step_failed(t, 500, "server_error", "The access token could not be signed; it has been logged.");
		return;
	}
	t->jwt = jwt;
	step_done(t);
}

/* Starts signing t->claims (one parallel step). */
static bool start_signing(tok *t)
{
	t->pending++;
	if (oauth_sign_async(app_worker_of(t->r)->base, &t->claims, on_signed, t))
		return true;
	t->pending--;
	return false;
}

/* ------------------------------------------------ authorization_code */

static const db_stmt EXCHANGE = {
	"oauth_token_exchange",
	"SELECT outcome, grant_id, redirect_uri, redirect_sent, code_challenge, scope, resource, client_pk, user_id, "
	"  org_id, floor(extract(epoch FROM expires_at))::int8 AS grant_exp "
	"FROM cupd_exchange_code(decode($1, 'hex'), $2::inet, $3)",
	3,
};

static const db_stmt STORE_REFRESH = {
	"oauth_token_store_refresh",
	"INSERT INTO oauth_refresh_tokens (token_hash, grant_id, idle_expires_at) "
	"SELECT decode($1, 'hex'), g.id, least(now() + make_interval(days => $3::int), g.expires_at) "
	"FROM oauth_grants g WHERE g.id = $2::uuid AND g.revoked_at IS NULL AND g.expires_at > now() "
	"RETURNING id",
	3,
};

static void on_refresh_stored(const db_result *res, void *arg)
{
	tok *t = arg;
	if (res->status != DB_OK) {
		log_msg(LOG_WARN, "oauth: storing a refresh token failed: %s", res->message);
		if (res->status == DB_ERROR)
			step_failed(t, 500, "server_error", "The request failed on our side; it has been logged.");
		else
			step_failed(t, 503, "temporarily_unavailable", "The database is not reachable right now; retry shortly.");
	} else if (db_rows(res->res) != 1) {
		step_failed(t, 400, "invalid_grant", "The connection was revoked while the code was being exchanged.");
	} else {
		step_done(t);
	}
}

/* The description of a CU400 raised by cupd_redeem_code ("invalid_grant: ..."). */
static const char *redeem_error(const char *message)
{
	if (message && strstr(message, "expired"))
		return "The authorization code has expired; authorize again.";
	return "The authorization code is unknown; authorize again.";
}

static void on_exchanged(const db_result *res, void *arg)
{
	tok *t = arg;
	http_req *r = t->r;
	const PGresult *pg = res->res;
	if (res->status == DB_ERROR && !strcmp(res->sqlstate, "CU400")) {
		oauth_reply_error(r, 400, "invalid_grant", redeem_error(res->message));
		return;
	}
	if (res->status != DB_OK || db_rows(pg) != 1) {
		if (res->status != DB_OK)
			log_msg(res->status == DB_ERROR ? LOG_ERROR : LOG_WARN, "oauth: code exchange failed: %s %s",
			        res->sqlstate, res->message);
		oauth_reply_db_failure(r, res->status == DB_OK ? DB_ERROR : res->status);
		return;
	}
	const char *outcome = db_get(pg, 0, "outcome");
	const char *gid = db_get(pg, 0, "grant_id");
	if (outcome && !strcmp(outcome, "expired")) {
		oauth_reply_error(r, 400, "invalid_grant", "The connection this code belongs to has expired; authorize again.");
		return;
	}
	if (!outcome || strcmp(outcome, "ok") != 0) {
		if (gid)
			oauth_grants_mark_revoked(gid);
		log_msg(LOG_WARN, "oauth: authorization code replayed (client %s); grant %s revoked", t->client->client_id,
		        gid ? gid : "-");
		oauth_reply_error(r, 400, "invalid_grant",
		                  "This authorization code was already used; the connection it created has been revoked. "
		                  "Authorize again.");
		return;
	}
	const char *client_pk = db_get(pg, 0, "client_pk");
	if (!client_pk || strcmp(client_pk, t->client->pk) != 0) {
		oauth_reply_error(r, 400, "invalid_grant", "The authorization code was issued to another client.");
		return;
	}
	const char *stored_redirect = db_get(pg, 0, "redirect_uri");
	bool sent = db_get_bool(pg, 0, "redirect_sent");
	if ((sent && !t->redirect_uri) ||
	    (t->redirect_uri && (!stored_redirect || strcmp(t->redirect_uri, stored_redirect) != 0))) {
		oauth_reply_error(r, 400, "invalid_grant",
		                  "redirect_uri must be identical to the one of the authorization request.");
		return;
	}
	if (!pkce_ok(t->verifier, db_get(pg, 0, "code_challenge"))) {
		oauth_reply_error(r, 400, "invalid_grant", "PKCE verification failed: code_verifier does not match the "
		                                           "code_challenge (S256).");
		return;
	}
	const char *resource = db_get(pg, 0, "resource");
	if (!resource || !oauth_resource_matches(resource)) {
		oauth_reply_error(r, 400, "invalid_target", "The authorization was for another resource.");
		return;
	}
	int64_t grant_exp = 0;
	db_get_i64(pg, 0, "grant_exp", &grant_exp);
	const cfg *c = http_req_cfg(r);
	if (!oauth_claims_fill(&t->claims, db_get(pg, 0, "user_id"), t->client->client_id, db_get(pg, 0, "scope"), gid,
	                       db_get(pg, 0, "org_id"), c->access_token_minutes, grant_exp)) {
		oauth_reply_error(r, 500, "server_error", "The token could not be built; it has been logged.");
		log_msg(LOG_ERROR, "oauth: claims of grant %s do not fit", gid ? gid : "-");
		return;
	}
	t->pending = 1; /* held until both steps started */
	if (t->client->allows_refresh) {
		char hash[OAUTH_HASH_HEX + 1], days[16];
		if (!oauth_refresh_new(t->refresh_out)) {
			oauth_reply_error(r, 500, "server_error", "No randomness available; retry.");
			return;
		}
		t->with_refresh = true;
		oauth_hash_hex(t->refresh_out, strlen(t->refresh_out), hash);
		snprintf(days, sizeof days, "%d", OAUTH_REFRESH_IDLE_DAYS);
		const char *params[] = { hash, gid, days };
		db_status st = db_query(app_worker_of(r)->db, &STORE_REFRESH, params, on_refresh_stored, t);
		if (st != DB_OK) {
			oauth_reply_db_failure(r, st);
			return;
		}
		t->pending++;
	}
	if (!start_signing(t)) {
		step_failed(t, 503, "temporarily_unavailable", "The server is busy; retry shortly."); /* drops the hold */
		return;
	}
	/* D12: issuance of each grant is logged (never a secret). */
	log_msg(LOG_INFO, "oauth: tokens issued for grant %s (client %s, authorization_code%s)", gid,
	        t->client->client_id, t->with_refresh ? ", with refresh token" : "");
	step_done(t);
}

static void exchange(tok *t)
{
	char hash[OAUTH_HASH_HEX + 1];
	oauth_hash_hex(t->code, strlen(t->code), hash);
	const char *params[] = { hash, client_ip(t->r), http_req_user_agent(t->r) };
	db_status st = db_query(app_worker_of(t->r)->db, &EXCHANGE, params, on_exchanged, t);
	if (st != DB_OK)
		oauth_reply_db_failure(t->r, st);
}

/* ------------------------------------------------------ refresh_token */

static const db_stmt REFRESH = {
	"oauth_token_refresh",
	"SELECT outcome, grant_id, scope, resource, user_id, org_id, "
	"  floor(extract(epoch FROM expires_at))::int8 AS grant_exp "
	"FROM cupd_refresh_grant(decode($1, 'hex'), $2::uuid, decode($3, 'hex'), make_interval(secs => $4::int), "
	"  make_interval(days => $5::int), $6, $7::inet, $8)",
	8,
};

static void on_refreshed(const db_result *res, void *arg)
{
	tok *t = arg;
	http_req *r = t->r;
	const PGresult *pg = res->res;
	if (res->status != DB_OK || db_rows(pg) != 1) {
		if (res->status != DB_OK)
			log_msg(res->status == DB_ERROR ? LOG_ERROR : LOG_WARN, "oauth: refresh failed: %s %s", res->sqlstate,
			        res->message);
		oauth_reply_db_failure(r, res->status == DB_OK ? DB_ERROR : res->status);
		return;
	}
	const char *outcome = db_get(pg, 0, "outcome");
	const char *gid = db_get(pg, 0, "grant_id");
	if (!outcome)
		outcome = "invalid";
	if (!strcmp(outcome, "reuse")) {
		if (gid)
			oauth_grants_mark_revoked(gid);
		log_msg(LOG_WARN, "oauth: refresh token reuse for grant %s (client %s): the connection is revoked",
		        gid ? gid : "-", t->client->client_id);
		oauth_reply_error(r, 400, "invalid_grant",
		                  "This refresh token was already used; for safety the connection has been revoked. "
		                  "Authorize again.");
		return;
	}
	if (!strcmp(outcome, "invalid_scope")) {
		oauth_reply_error(r, 400, "invalid_scope", "scope must be a subset of the scope originally granted.");
		return;
	}
	if (!strcmp(outcome, "expired")) {
		oauth_reply_error(r, 400, "invalid_grant", "The refresh token or its connection has expired; authorize "
		                                           "again.");
		return;
	}
	if (strcmp(outcome, "rotated") != 0 && strcmp(outcome, "repeat") != 0) {
		oauth_reply_error(r, 400, "invalid_grant",
		                  "The refresh token is unknown, revoked, or was issued to another client.");
		return;
	}
	const char *resource = db_get(pg, 0, "resource");
	if (!resource || !oauth_resource_matches(resource)) {
		oauth_reply_error(r, 400, "invalid_target", "The connection was authorized for another resource.");
		return;
	}
	int64_t grant_exp = 0;
	db_get_i64(pg, 0, "grant_exp", &grant_exp);
	const cfg *c = http_req_cfg(r);
	const char *scope = t->scope_req[0] ? t->scope_req : db_get(pg, 0, "scope");
	if (!oauth_claims_fill(&t->claims, db_get(pg, 0, "user_id"), t->client->client_id, scope, gid,
	                       db_get(pg, 0, "org_id"), c->access_token_minutes, grant_exp)) {
		oauth_reply_error(r, 500, "server_error", "The token could not be built; it has been logged.");
		return;
	}
	t->with_refresh = true;
	if (!start_signing(t)) {
		oauth_reply_error(r, 503, "temporarily_unavailable", "The server is busy; retry shortly.");
		return;
	}
	if (log_enabled(LOG_DEBUG))
		log_msg(LOG_DEBUG, "oauth: refresh %s for grant %s (client %s)", outcome, gid, t->client->client_id);
}

static void refresh(tok *t)
{
	if (!t->client->allows_refresh) {
		oauth_reply_error(t->r, 400, "unauthorized_client", "This client did not register the refresh_token grant.");
		return;
	}
	char hash[OAUTH_HASH_HEX + 1], succ_hash[OAUTH_HASH_HEX + 1], grace[16], idle[16];
	if (!oauth_refresh_successor(http_req_cfg(t->r), t->refresh, strlen(t->refresh), t->refresh_out)) {
		oauth_reply_error(t->r, 503, "temporarily_unavailable", "Refresh tokens cannot be rotated right now.");
		return;
	}
	oauth_hash_hex(t->refresh, strlen(t->refresh), hash);
	oauth_hash_hex(t->refresh_out, strlen(t->refresh_out), succ_hash);
	snprintf(grace, sizeof grace, "%d", OAUTH_REFRESH_GRACE_S);
	snprintf(idle, sizeof idle, "%d", OAUTH_REFRESH_IDLE_DAYS);
	const char *params[] = {
		hash, t->client->pk, succ_hash, grace, idle, t->scope_req[0] ? t->scope_req : NULL, client_ip(t->r),
		http_req_user_agent(t->r),
	};
	db_status st = db_query(app_worker_of(t->r)->db, &REFRESH, params, on_refreshed, t);
	if (st != DB_OK)
		oauth_reply_db_failure(t->r, st);
}

/* ------------------------------------------------------------ handler */

static void on_authenticated(http_req *r, oauth_client *client, void *arg)
{
	(void)r;
	tok *t = arg;
	t->client = client;
	if (t->kind == GRANT_CODE)
		exchange(t);
	else
		refresh(t);
}

/* Parameters that may appear at most once (C1; resource may repeat). */
static const char *const SINGLE[] = {
	"grant_type", "code", "code_verifier", "redirect_uri", "refresh_token", "scope", "client_id", "client_secret",
};

static void token_post(http_req *r)
{
	if (!oauth_ready_or_reply(r))
		return;
	tok *t = xcalloc(1, sizeof *t);
	t->r = r;
	http_req_set_app_data(r, t, tok_free);
	if (!oauth_form_body_or_reply(r, &t->form))
		return;
	const oauth_form *f = &t->form;
	for (size_t i = 0; i < sizeof SINGLE / sizeof SINGLE[0]; i++) {
		bool rep;
		oauth_form_get(f, SINGLE[i], &rep);
		if (rep) {
			char d[96];
			snprintf(d, sizeof d, "The %s parameter is repeated.", SINGLE[i]);
			oauth_reply_error(r, 400, "invalid_request", d);
			return;
		}
	}
	const char *resources[MAX_RESOURCES + 1];
	int nres = oauth_form_all(f, "resource", resources, MAX_RESOURCES + 1);
	if (nres > MAX_RESOURCES) {
		oauth_reply_error(r, 400, "invalid_target", "Too many resource parameters.");
		return;
	}
	for (int i = 0; i < nres; i++)
		if (!oauth_resource_matches(resources[i])) {
			char d[700];
			snprintf(d, sizeof d, "This server issues tokens only for the resource %s.", oauth_resource());
			oauth_reply_error(r, 400, "invalid_target", d);
			return;
		}
	const char *gt = oauth_form_get(f, "grant_type", NULL);
	if (!gt) {
		oauth_reply_error(r, 400, "invalid_request", "grant_type is required.");
		return;
	}
	if (!strcmp(gt, "authorization_code")) {
		t->kind = GRANT_CODE;
		t->code = oauth_form_get(f, "code", NULL);
		t->verifier = oauth_form_get(f, "code_verifier", NULL);
		t->redirect_uri = oauth_form_get(f, "redirect_uri", NULL);
		if (!t->code) {
			oauth_reply_error(r, 400, "invalid_request", "code is required.");
			return;
		}
		if (!t->verifier) {
			oauth_reply_error(r, 400, "invalid_request", "code_verifier is required (PKCE with S256).");
			return;
		}
		if (!verifier_shape_ok(t->verifier)) {
			oauth_reply_error(r, 400, "invalid_grant",
			                  "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636).");
			return;
		}
		if (strlen(t->code) > MAX_CODE) {
			oauth_reply_error(r, 400, "invalid_grant", "The authorization code is unknown; authorize again.");
			return;
		}
	} else if (!strcmp(gt, "refresh_token")) {
		t->kind = GRANT_REFRESH;
		t->refresh = oauth_form_get(f, "refresh_token", NULL);
		if (!t->refresh) {
			oauth_reply_error(r, 400, "invalid_request", "refresh_token is required.");
			return;
		}
		if (strlen(t->refresh) > MAX_REFRESH) {
			oauth_reply_error(r, 400, "invalid_grant", "The refresh token is unknown.");
			return;
		}
		const char *scope = oauth_form_get(f, "scope", NULL);
		bool unknown = false;
		if (scope && (!oauth_scope_normalize(scope, t->scope_req, sizeof t->scope_req, &unknown) || unknown ||
		              !t->scope_req[0])) {
			oauth_reply_error(r, 400, "invalid_scope", "scope must be a subset of the scope originally granted "
			                                           "(read, write, admin).");
			return;
		}
	} else {
		oauth_reply_error(r, 400, "unsupported_grant_type",
		                  "Only the authorization_code and refresh_token grants are supported.");
		return;
	}
	oauth_client_authenticate(r, f, false, on_authenticated, t);
}

static void token_options(http_req *r)
{
	oauth_reply_preflight(r, OAUTH_PREFLIGHT_POST);
}

static const route_def ROUTES[] = {
	{ ROUTER_POST, "/oauth/token", 0, token_post, AUTH_PUBLIC, 0, "OAuth 2.1 token endpoint" },
	{ ROUTER_OPTIONS, "/oauth/token", 0, token_options, AUTH_PUBLIC, 0, "CORS preflight" },
	{ ROUTER_POST, "/token", 0, token_post, AUTH_PUBLIC, 0, "Alias of /oauth/token (B24)" },
	{ ROUTER_OPTIONS, "/token", 0, token_options, AUTH_PUBLIC, 0, "CORS preflight" },
};
ROUTES_MODULE(oauth_token_routes, "OAuth", ROUTES);
