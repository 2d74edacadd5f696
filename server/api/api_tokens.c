/* api/api_tokens.c: API Tokens of the caller's org (issue 3, credentials).
 *
 * Follows the resource pattern of api/projects.c: one statement per
 * operation returning one json column "result"; writes carry their audit
 * row. Statements refuse with cupd_fail (0006) inside CASE, so the
 * caller gets a 4xx with a sentence instead of a silent no-op. The secret
 * of a new token is made here, only its SHA-256 goes to the database, and it
 * is added to the answer after the statement committed. */
#include "api/api_tokens.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "api/common.h"
#include "app.h"
#include "creds.h"
#include "routes.h"
#include "xmem.h"

/* ---- SQL pieces shared by every statement (aliases: t token, o owner, m membership) ---- */

#define T_STATUS \
	"CASE WHEN t.revoked_at IS NOT NULL OR t.grace_until <= now() THEN 'revoked'" \
	" WHEN t.disabled_at IS NOT NULL THEN 'disabled'" \
	" WHEN t.expires_at <= now() THEN 'expired'" \
	" WHEN t.grace_until IS NOT NULL THEN 'grace' ELSE 'active' END"

/* The same order of checks as auth.c judge(), so a listed status and what
 * a request with the token gets always agree. */
#define T_JSON \
	"json_build_object('id', t.id, 'name', t.name, 'display_prefix', t.display_prefix, 'scope', t.scope," \
	" 'effective_scope', CASE WHEN m.role IS NULL OR o.disabled_at IS NOT NULL THEN 'none'" \
	"   WHEN m.role = 'member' AND t.scope = 'admin' THEN 'write' ELSE t.scope END," \
	" 'owner', json_build_object('id', o.id, 'email', o.email, 'role', m.role)," \
	" 'created_at', t.created_at, 'expires_at', t.expires_at, 'status', " T_STATUS "," \
	" 'disabled_at', t.disabled_at," \
	" 'revoked_at', coalesce(t.revoked_at, CASE WHEN t.grace_until <= now() THEN t.grace_until END)," \
	" 'revoked_reason', coalesce(t.revoked_reason, CASE WHEN t.grace_until <= now() THEN 'rotated' END)," \
	" 'leaked_at', t.leaked_at, 'last_used_at', t.last_used_at, 'last_used_ip', host(t.last_used_ip)," \
	" 'replaced_by', t.replaced_by, 'grace_until', t.grace_until, 'grace_use_count', t.grace_use_count," \
	" 'grace_last_used_at', t.grace_last_used_at, 'grace_last_ip', host(t.grace_last_ip))"

/* Role order, for "a token may act only as someone not above you". */
#define ROLE_RANK(r) "CASE " r " WHEN 'owner' THEN 3 WHEN 'admin' THEN 2 WHEN 'member' THEN 1 ELSE 0 END"

#define T_OWNER \
	" JOIN users o ON o.id = t.user_id" \
	" LEFT JOIN org_members m ON m.org_id = t.org_id AND m.user_id = t.user_id"

/* Audit columns and values of the single-token statements: $1 org, $2 token
 * id, $3..$7 the api_audit_params. */
#define AUDIT_WHO "$1, $3, $4, $5::uuid"
#define AUDIT_FROM "$6::inet, $7"

#define REVOKED_GUARD \
	"CASE WHEN cur.revoked_at IS NOT NULL OR cur.grace_until <= now() THEN" \
	"  cupd_fail('CU409', 'This API Token is revoked, and revocation is permanent; create a new one.')::boolean" \
	" ELSE true END"

/* A state change of one token: lock it, check guard, apply set where
 * when holds (so repeating a request changes and audits nothing), answer
 * the token as it is afterwards. */
#define STATE_STMT(name, guard, set, when, action, meta) \
	{ name, \
	  "WITH cur AS (SELECT t.* FROM api_tokens t WHERE t.org_id = $1 AND t.id = $2::uuid FOR UPDATE)," \
	  " chk AS (SELECT cur.id FROM cur WHERE " guard ")," \
	  " upd AS (UPDATE api_tokens t SET " set " FROM chk WHERE t.id = chk.id AND " when " RETURNING t.*)," \
	  " aud AS (" API__AUDIT_INSERT " SELECT " AUDIT_WHO ", '" action "', 'api_token', upd.id::text, " AUDIT_FROM "," \
	  "   " meta " FROM upd)," \
	  " res AS (SELECT * FROM upd UNION ALL" \
	  "   SELECT cur.* FROM cur JOIN chk ON true WHERE NOT EXISTS (SELECT 1 FROM upd))" \
	  " SELECT " T_JSON " AS result FROM res t" T_OWNER, \
	  7 }

/* ---- input ---- */

bool api_tokens_parse_new(json_t *body, api_token_new *out, const char **field, const char **why)
{
	static const char *const known[] = { "name", "scope", "user_id", "expires_in_days", "confirm_non_expiring" };
	const char *key;
	json_t *v;
	bool ok = true;
	memset(out, 0, sizeof *out);
	json_object_foreach(body, key, v) {
		bool found = false;
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			found = found || !strcmp(key, known[i]);
		if (!found) {
			static _Thread_local char msg[200];
			snprintf(msg, sizeof msg, "unknown field \"%.60s\"; a token takes name, scope, user_id, "
			         "expires_in_days and confirm_non_expiring", key);
			*field = "body", *why = msg;
			return false;
		}
	}
	out->name = api_json_str(body, "name", 1, 100, &ok, why);
	if (!ok || !out->name) {
		*field = "name";
		if (ok)
			*why = "name is required: 1 to 100 characters saying where the token is used";
		return false;
	}
	const char *scope = api_json_str(body, "scope", 1, 10, &ok, why);
	out->scope = auth_scope_parse(scope);
	if (out->scope == AUTH_SCOPE_NONE) {
		*field = "scope";
		*why = "scope is required: read, write or admin";
		return false;
	}
	out->user_id = api_json_str(body, "user_id", 36, 36, &ok, why);
	if (!ok || (out->user_id && !api_is_uuid(out->user_id))) {
		*field = "user_id";
		*why = "user_id must be the id (uuid) of a member of this organization";
		return false;
	}
	json_t *days = json_object_get(body, "expires_in_days");
	json_t *confirm = json_object_get(body, "confirm_non_expiring");
	if (confirm && !json_is_boolean(confirm)) {
		*field = "confirm_non_expiring";
		*why = "confirm_non_expiring must be true or false";
		return false;
	}
	bool confirmed = json_is_true(confirm);
	if (days && json_is_null(days)) {
		if (!confirmed) {
			*field = "expires_in_days";
			*why = "expires_in_days: null asks for a token that never expires; to confirm that, also send "
			       "\"confirm_non_expiring\": true. Otherwise give a number of days from 1 to 365, or leave "
			       "expires_in_days out for the default of 90";
			return false;
		}
		out->never_expires = true;
		return true;
	}
	if (confirmed) {
		*field = "confirm_non_expiring";
		*why = "confirm_non_expiring only applies together with \"expires_in_days\": null (a token that "
		       "never expires); drop it, or set expires_in_days to null";
		return false;
	}
	if (days) {
		json_int_t d = json_is_integer(days) ? json_integer_value(days) : 0;
		if (d < 1 || d > API_TOKEN_DAYS_MAX) {
			*field = "expires_in_days";
			*why = "expires_in_days must be a whole number of days from 1 to 365 (default 90); a token that "
			       "never expires needs \"expires_in_days\": null and \"confirm_non_expiring\": true";
			return false;
		}
		out->expires_in_days = (int)d;
	}
	return true;
}

/* ---- the secret travels only in the answer of create and rotate ---- */

typedef struct secret_call {
	char secret[CREDS_TOKEN_LEN + 1];
	const char *invalid_field;   /* names the field of a 400 the database raised */
	api_done_fn done;
	void *arg;
} secret_call;

static secret_call *secret_call_new(const char *invalid_field, api_done_fn done, void *arg)
{
	secret_call *sc = xcalloc(1, sizeof *sc);
	sc->invalid_field = invalid_field;
	sc->done = done;
	sc->arg = arg;
	return sc;
}

static void secret_call_free(secret_call *sc)
{
	OPENSSL_cleanse(sc->secret, sizeof sc->secret);
	free(sc);
}

/* Rotation answers {"item": token, "rotated_from": {...}}; callers get the
 * token object with rotated_from as one more member, in the list's order. */
static void flatten_item(api_result *res)
{
	json_t *item = json_object_get(res->data, "item");
	if (!json_is_object(item))
		return;
	json_incref(item);
	json_object_set(item, "rotated_from", json_object_get(res->data, "rotated_from"));
	json_decref(res->data);
	res->data = item; /* run_done releases whatever res->data is after done */
}

static void with_secret(api_result *res, void *arg)
{
	secret_call *sc = arg;
	if (res->status == API_CREATED)
		flatten_item(res);
	if (res->status == API_CREATED && json_is_object(res->data))
		json_object_set_new(res->data, "token", json_string(sc->secret));
	if (res->status == API_INVALID && !res->field)
		res->field = sc->invalid_field;
	sc->done(res, sc->arg);
	secret_call_free(sc);
}

/* ---- API layer ---- */

static const db_stmt LIST = {
	"api_tokens_list",
	"SELECT coalesce(json_agg(x.j ORDER BY x.created_at DESC, x.id DESC), '[]') AS result FROM ("
	"  SELECT " T_JSON " AS j, t.created_at, t.id FROM api_tokens t" T_OWNER
	"  WHERE t.org_id = $1"
	"    AND ($2::timestamptz IS NULL OR (t.created_at, t.id) < ($2::timestamptz, $3::uuid))"
	"    AND ($5::text IS NULL OR " T_STATUS " = $5)"
	"  ORDER BY t.created_at DESC, t.id DESC LIMIT $4) x",
	5,
};

void api_tokens_list(const api_ctx *ctx, const api_page *page, const char *status, api_done_fn done, void *arg)
{
	static const char *const statuses[] = { "active", "disabled", "expired", "revoked", "grace" };
	if (status) {
		bool known = false;
		for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
			known = known || !strcmp(status, statuses[i]);
		if (!known) {
			api_fail(API_INVALID, "status", "status must be one of active, disabled, expired, revoked, grace",
			         done, arg);
			return;
		}
	}
	const char *filters[] = { status };
	api_list_paged(ctx, &LIST, filters, 1, page, done, arg);
}

static const db_stmt GET = {
	"api_tokens_get",
	"SELECT " T_JSON " AS result FROM api_tokens t" T_OWNER " WHERE t.org_id = $1 AND t.id = $2::uuid",
	2,
};

/* Ids are checked before SQL sees them: anything that is not a uuid is
 * simply not found (and never reaches a cast that would answer 400). */
void api_tokens_get(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	if (!api_uuid_or_not_found(id, "API Token", done, arg))
		return;
	const char *params[] = { ctx->org_id, id };
	api_run(ctx, &GET, params, API_OK, done, arg);
}

/* $1 org, $2 owner, $3 name, $4 scope, $5 hash, $6 display prefix, $7 days
 * (NULL = never), $8..$12 audit. The role cap mirrors auth_role_cap(). */
static const db_stmt CREATE = {
	"api_tokens_create",
	"WITH tgt AS (SELECT u.id, u.disabled_at, m.role FROM users u"
	"    JOIN org_members m ON m.user_id = u.id AND m.org_id = $1 WHERE u.id = $2::uuid),"
	" ok AS (SELECT tgt.id FROM (SELECT 1) one LEFT JOIN tgt ON true WHERE CASE"
	"   WHEN tgt.id IS NULL OR tgt.disabled_at IS NOT NULL THEN cupd_fail('CU400',"
	"     'The owner of a token (user_id) must be an active member of this organization.')::boolean"
	"   WHEN $4::text = 'admin' AND tgt.role = 'member' THEN cupd_fail('CU403',"
	"     'A member may hold at most the write scope, so this token cannot have the admin scope; ask "
	"for scope write, or make the user an admin first.')::boolean"
	"   WHEN tgt.id IS DISTINCT FROM $10::uuid AND " ROLE_RANK("tgt.role") " > " ROLE_RANK(
	"     (SELECT a.role FROM org_members a WHERE a.org_id = $1 AND a.user_id = $10::uuid)") " THEN"
	"     cupd_fail('CU403', 'A token acts as its owner, so you can create one only for yourself or for a "
	"member whose role is not above yours (an admin cannot create a token that acts as an owner).')::boolean"
	"   ELSE true END),"
	" ins AS (INSERT INTO api_tokens (org_id, user_id, name, scope, token_hash, display_prefix, expires_at)"
	"   SELECT $1, ok.id, $3, $4, decode($5, 'hex'), $6,"
	"     CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(days => $7::int) END FROM ok"
	"   RETURNING *),"
	" aud AS (" API__AUDIT_INSERT
	"   SELECT $1, $8, $9, $10::uuid, 'api_token.create', 'api_token', ins.id::text, $11::inet, $12,"
	"     jsonb_build_object('name', ins.name, 'scope', ins.scope, 'user_id', ins.user_id,"
	"       'expires_at', ins.expires_at) FROM ins)"
	" SELECT " T_JSON " AS result FROM ins t" T_OWNER,
	12,
};

void api_tokens_create(const api_ctx *ctx, const api_token_new *in, api_done_fn done, void *arg)
{
	if (!in->name || !*in->name || strlen(in->name) > 100) {
		api_fail(API_INVALID, "name", "name must be 1 to 100 characters", done, arg);
		return;
	}
	if (in->scope < AUTH_SCOPE_READ || in->scope > AUTH_SCOPE_ADMIN) {
		api_fail(API_INVALID, "scope", "scope must be read, write or admin", done, arg);
		return;
	}
	if (in->never_expires ? in->expires_in_days != 0
	                      : in->expires_in_days < 0 || in->expires_in_days > API_TOKEN_DAYS_MAX) {
		api_fail(API_INVALID, "expires_in_days", "expires_in_days must be from 1 to 365, or null with "
		         "confirm_non_expiring: true", done, arg);
		return;
	}
	const char *owner = in->user_id ? in->user_id : ctx->user_id;
	if (!api_is_uuid(owner)) {
		api_fail(API_INVALID, "user_id", "user_id must be the id (uuid) of a member of this organization", done,
		         arg);
		return;
	}
	secret_call *sc = secret_call_new("user_id", done, arg);
	if (!creds_generate(CREDS_API_TOKEN, sc->secret)) {
		secret_call_free(sc);
		api_fail(API_INTERNAL, NULL, "The random number generator failed.", done, arg);
		return;
	}
	char hash[CREDS_HASH_HEX + 1], prefix[CREDS_DISPLAY_LEN + 1], days[8];
	creds_hash_hex(sc->secret, CREDS_TOKEN_LEN, hash);
	creds_display_prefix(sc->secret, prefix);
	snprintf(days, sizeof days, "%d", in->expires_in_days ? in->expires_in_days : API_TOKEN_DAYS_DEFAULT);
	const char *audit[5];
	api_audit_params(ctx, audit);
	const char *params[] = { ctx->org_id, owner, in->name, auth_scope_name(in->scope), hash, prefix,
	                         in->never_expires ? NULL : days,
	                         audit[0], audit[1], audit[2], audit[3], audit[4] };
	api_run(ctx, &CREATE, params, API_CREATED, with_secret, sc);
}

/* $1 org, $2 old id, $3..$7 audit, $8 new hash, $9 new display prefix. */
static const db_stmt ROTATE = {
	"api_tokens_rotate",
	"WITH cur AS (SELECT t.*, m.role, u.disabled_at AS user_disabled_at FROM api_tokens t"
	"    JOIN users u ON u.id = t.user_id"
	"    LEFT JOIN org_members m ON m.org_id = t.org_id AND m.user_id = t.user_id"
	"    WHERE t.org_id = $1 AND t.id = $2::uuid FOR UPDATE OF t),"
	" chk AS (SELECT cur.* FROM cur WHERE CASE"
	"   WHEN cur.revoked_at IS NOT NULL OR cur.grace_until <= now() THEN cupd_fail('CU409',"
	"     'This API Token is revoked, so it cannot be rotated; create a new one.')::boolean"
	"   WHEN cur.replaced_by IS NOT NULL THEN cupd_fail('CU409', format("
	"     'This API Token was already rotated; its replacement is %s. Rotate that one instead.', cur.replaced_by))::boolean"
	"   WHEN cur.disabled_at IS NOT NULL THEN cupd_fail('CU409',"
	"     'This API Token is disabled; enable it before rotating, or create a new one.')::boolean"
	"   WHEN cur.expires_at <= now() THEN cupd_fail('CU409',"
	"     'This API Token has expired, so it cannot be rotated; create a new one.')::boolean"
	"   WHEN cur.role IS NULL OR cur.user_disabled_at IS NOT NULL THEN cupd_fail('CU409',"
	"     'The owner of this API Token is no longer an active member of this organization.')::boolean"
	"   WHEN cur.user_id IS DISTINCT FROM $5::uuid AND " ROLE_RANK("cur.role") " > " ROLE_RANK(
	"     (SELECT a.role FROM org_members a WHERE a.org_id = $1 AND a.user_id = $5::uuid)") " THEN"
	"     cupd_fail('CU403', 'Rotating hands out a new secret that acts as the token''s owner, so only "
	"that user or someone whose role is not below theirs may rotate it; you can still disable or "
	"revoke it.')::boolean"
	"   ELSE true END),"
	" ins AS (INSERT INTO api_tokens (org_id, user_id, name, scope, token_hash, display_prefix, expires_at)"
	"   SELECT chk.org_id, chk.user_id, chk.name,"
	"     CASE WHEN chk.role = 'member' AND chk.scope = 'admin' THEN 'write' ELSE chk.scope END,"
	"     decode($8, 'hex'), $9,"
	"     CASE WHEN chk.expires_at IS NULL THEN NULL"
	"       ELSE now() + least(chk.expires_at - chk.created_at, interval '365 days') END FROM chk"
	"   RETURNING *),"
	" old AS (UPDATE api_tokens t SET replaced_by = ins.id, grace_until = now() + interval '24 hours'"
	"   FROM ins WHERE t.id = $2::uuid RETURNING t.id, t.grace_until),"
	" aud AS (" API__AUDIT_INSERT " SELECT " AUDIT_WHO ", 'api_token.rotate', 'api_token', old.id::text, " AUDIT_FROM ","
	"   jsonb_build_object('replaced_by', ins.id, 'grace_until', old.grace_until) FROM old, ins)"
	" SELECT json_build_object('item', " T_JSON ","
	"   'rotated_from', json_build_object('id', old.id, 'grace_until', old.grace_until)) AS result"
	" FROM ins t" T_OWNER " CROSS JOIN old",
	9,
};

void api_tokens_rotate(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	if (!api_uuid_or_not_found(id, "API Token", done, arg))
		return;
	secret_call *sc = secret_call_new(NULL, done, arg);
	if (!creds_generate(CREDS_API_TOKEN, sc->secret)) {
		secret_call_free(sc);
		api_fail(API_INTERNAL, NULL, "The random number generator failed.", done, arg);
		return;
	}
	char hash[CREDS_HASH_HEX + 1], prefix[CREDS_DISPLAY_LEN + 1];
	creds_hash_hex(sc->secret, CREDS_TOKEN_LEN, hash);
	creds_display_prefix(sc->secret, prefix);
	const char *audit[5];
	api_audit_params(ctx, audit);
	const char *params[] = { ctx->org_id, id, audit[0], audit[1], audit[2], audit[3], audit[4], hash, prefix };
	/* The old token's cached entry lacks its grace window: drop it here too. */
	api_run(ctx, &ROTATE, params, API_CREATED, with_secret, sc);
}

static const db_stmt DISABLE = STATE_STMT("api_tokens_disable", REVOKED_GUARD,
	"disabled_at = now()", "t.disabled_at IS NULL", "api_token.disable",
	"jsonb_build_object('name', upd.name)");

static const db_stmt ENABLE = STATE_STMT("api_tokens_enable", REVOKED_GUARD,
	"disabled_at = NULL", "t.disabled_at IS NOT NULL", "api_token.enable",
	"jsonb_build_object('name', upd.name)");

static const db_stmt REVOKE = STATE_STMT("api_tokens_revoke", "true",
	"revoked_at = now(), revoked_reason = 'revoked'", "t.revoked_at IS NULL", "api_token.revoke",
	"jsonb_build_object('name', upd.name, 'reason', 'revoked')");

static const db_stmt END_GRACE = STATE_STMT("api_tokens_end_grace",
	"CASE WHEN cur.grace_until IS NULL THEN cupd_fail('CU409',"
	"  'This API Token was not rotated out, so it has no grace window; to revoke it use "
	"DELETE /api/v1/api-tokens/' || cur.id)::boolean ELSE true END",
	"revoked_at = now(), revoked_reason = 'rotated'", "t.revoked_at IS NULL AND t.grace_until > now()",
	"api_token.revoke", "jsonb_build_object('name', upd.name, 'reason', 'rotated', 'grace_ended_early', true)");

static void run_state(const api_ctx *ctx, const db_stmt *st, const char *id, api_done_fn done, void *arg)
{
	if (!api_uuid_or_not_found(id, "API Token", done, arg))
		return;
	const char *audit[5];
	api_audit_params(ctx, audit);
	const char *params[] = { ctx->org_id, id, audit[0], audit[1], audit[2], audit[3], audit[4] };
	api_run(ctx, st, params, API_OK, done, arg);
}

void api_tokens_disable(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	run_state(ctx, &DISABLE, id, done, arg);
}

void api_tokens_enable(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	run_state(ctx, &ENABLE, id, done, arg);
}

void api_tokens_revoke(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	run_state(ctx, &REVOKE, id, done, arg);
}

void api_tokens_end_grace(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	run_state(ctx, &END_GRACE, id, done, arg);
}

/* ---- REST ---- */

static void rest_list(http_req *r)
{
	api_ctx ctx;
	api_page page;
	if (!api__page_or_reply(r, &page))
		return;
	api_ctx_from_request(&ctx, r);
	api_tokens_list(&ctx, &page, api__query(r, "status"), api_reply_cb, r);
}

static void rest_get(http_req *r)
{
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_tokens_get(&ctx, http_req_param(r, "id"), api_reply_cb, r);
}

static void rest_create(http_req *r)
{
	json_t *body = api_body_object(r);
	if (!body)
		return;
	api_token_new in;
	const char *field = NULL, *why = NULL;
	if (!api_tokens_parse_new(body, &in, &field, &why)) {
		api__reply_invalid(r, field, why);
	} else {
		api_ctx ctx;
		api_ctx_from_request(&ctx, r);
		api_tokens_create(&ctx, &in, api_reply_cb, r);
	}
	json_decref(body);
}

#define ID_HANDLER(fn, op) \
	static void fn(http_req *r) \
	{ \
		api_ctx ctx; \
		api_ctx_from_request(&ctx, r); \
		op(&ctx, http_req_param(r, "id"), api_reply_cb, r); \
	}
ID_HANDLER(rest_rotate, api_tokens_rotate)
ID_HANDLER(rest_end_grace, api_tokens_end_grace)
ID_HANDLER(rest_disable, api_tokens_disable)
ID_HANDLER(rest_enable, api_tokens_enable)
ID_HANDLER(rest_revoke, api_tokens_revoke)

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/api-tokens", 0, rest_list, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN,
	  "List API Tokens (never the secrets): status, last use, rotation grace", API__PAGE_QUERY
	  ";status:string:only tokens with this status: active, disabled, expired, revoked or grace" },
	{ ROUTER_POST, "/api/v1/api-tokens", 0, rest_create, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN,
	  "Create an API Token; the answer's token field is the only time the secret is shown", NULL,
	  "{\"type\":\"object\",\"required\":[\"name\",\"scope\"],\"additionalProperties\":false,"
	  "\"properties\":{\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":100},"
	  "\"scope\":{\"enum\":[\"read\",\"write\",\"admin\"]},"
	  "\"user_id\":{\"type\":\"string\",\"format\":\"uuid\",\"description\":\"owner (default: you)\"},"
	  "\"expires_in_days\":{\"type\":[\"integer\",\"null\"],\"minimum\":1,\"maximum\":365,\"default\":90,"
	  "\"description\":\"null = never expires, only with confirm_non_expiring: true\"},"
	  "\"confirm_non_expiring\":{\"type\":\"boolean\"}}}",
	  201 },
	{ ROUTER_GET, "/api/v1/api-tokens/{id}", 0, rest_get, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN,
	  "Get one API Token" },
	{ ROUTER_DELETE, "/api/v1/api-tokens/{id}", ROUTE_NOTIFY_BARRIER, rest_revoke, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN,
	  "Revoke an API Token now and for good (also ends a rotated-out token's grace window)" },
	{ ROUTER_POST, "/api/v1/api-tokens/{id}/rotate", ROUTE_NOTIFY_BARRIER, rest_rotate, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN,
	  "Rotate: a new token now; the old one keeps working for 24 hours and its uses are counted",
	  NULL, NULL, 201 },
	{ ROUTER_POST, "/api/v1/api-tokens/{id}/end-grace", ROUTE_NOTIFY_BARRIER, rest_end_grace, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN,
	  "Cut a rotated-out token off before its 24-hour grace window ends" },
	{ ROUTER_POST, "/api/v1/api-tokens/{id}/disable", ROUTE_NOTIFY_BARRIER, rest_disable, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN,
	  "Disable an API Token (reversible)" },
	{ ROUTER_POST, "/api/v1/api-tokens/{id}/enable", ROUTE_NOTIFY_BARRIER, rest_enable, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN,
	  "Enable a disabled API Token" },
};
ROUTES_MODULE(api_api_tokens_routes, "API Tokens", ROUTES);
