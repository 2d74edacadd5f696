/* api/sdk_keys.c: SDK Keys of the caller's org (issue 3, credentials).
 *
 * Same pattern as api/api_tokens.c: one statement per operation, audit in
 * the same statement, refusals raised with cupd_fail (0006), the
 * secret made here and added to the answer only after the commit. */
#include "api/sdk_keys.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "app.h"
#include "creds.h"
#include "routes.h"
#include "xmem.h"

/* Aliases: k key, p its project. */
#define K_JSON \
	"json_build_object('id', k.id, 'name', k.name, 'project', json_build_object('id', p.id, 'slug', p.slug)," \
	" 'display_prefix', k.display_prefix, 'allowed_origins', to_json(k.allowed_origins)," \
	" 'created_at', k.created_at, 'last_used_at', k.last_used_at," \
	" 'status', CASE WHEN k.revoked_at IS NULL THEN 'active' ELSE 'revoked' END," \
	" 'revoked_at', k.revoked_at, 'revoked_reason', k.revoked_reason, 'replaced_by', k.replaced_by," \
	" 'leak_reported_at', k.leak_reported_at)"

#define K_PROJECT " JOIN projects p ON p.id = k.project_id"


/* ---- input ---- */

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool api_sdk_origin_valid(const char *o)
{
	size_t n = strlen(o);
	const char *h = !strncmp(o, "https://", 8) ? o + 8 : !strncmp(o, "http://", 7) ? o + 7 : NULL;
	if (!h || n > 255)
		return false;
	const char *end;
	if (*h == '[') {
		/* IPv6 literal: [hex and colons] */
		end = strchr(h, ']');
		if (!end || end == h + 1)
			return false;
		for (const char *p = h + 1; p < end; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == ':' || *p == '.'))
				return false;
		end++;
	} else {
		end = h;
		while (host_char(*end))
			end++;
		if (end == h || *h == '.' || *h == '-' || end[-1] == '.' || end[-1] == '-')
			return false;
		for (const char *p = h; p + 1 < end; p++)
			if (p[0] == '.' && p[1] == '.')
				return false;
	}
	if (*end == '\0')
		return true;
	if (*end != ':')
		return false;
	/* :port, 1..65535, digits only, no leading zero */
	const char *port = end + 1;
	size_t digits = strspn(port, "0123456789");
	if (digits == 0 || digits > 5 || port[digits] != '\0' || port[0] == '0')
		return false;
	return atol(port) <= 65535;
}

bool api_sdk_keys_parse_new(json_t *body, api_sdk_key_new *out, const char *origins_buf[API_SDK_ORIGINS_MAX],
                            const char **field, const char **why)
{
	static const char *const known[] = { "project", "name", "allowed_origins" };
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
			snprintf(msg, sizeof msg, "unknown field \"%.60s\"; an SDK Key takes project, name and "
			         "allowed_origins", key);
			*field = "body", *why = msg;
			return false;
		}
	}
	out->project = api_json_str(body, "project", 1, 63, &ok, why);
	if (!ok || !out->project) {
		*field = "project";
		*why = "project is required: the id or slug of the project whose telemetry this key sends";
		return false;
	}
	out->name = api_json_str(body, "name", 1, 100, &ok, why);
	if (!ok || !out->name) {
		*field = "name";
		if (ok)
			*why = "name is required: 1 to 100 characters saying where the key is used";
		return false;
	}
	json_t *list = json_object_get(body, "allowed_origins");
	if (list && !json_is_null(list)) {
		if (!json_is_array(list) || json_array_size(list) > API_SDK_ORIGINS_MAX) {
			*field = "allowed_origins";
			*why = "allowed_origins must be an array of at most 50 origins like \"https://app.example.com\"";
			return false;
		}
		size_t i;
		json_array_foreach(list, i, v) {
			const char *o = json_string_value(v);
			if (!o || !api_sdk_origin_valid(o)) {
				static _Thread_local char msg[300];
				snprintf(msg, sizeof msg, "allowed_origins[%zu] must be an exact lowercase origin "
				         "scheme://host[:port] such as \"https://app.example.com\" (no path or trailing slash)", i);
				*field = "allowed_origins", *why = msg;
				return false;
			}
			for (size_t j = 0; j < i; j++)
				if (!strcmp(origins_buf[j], o)) {
					*field = "allowed_origins";
					*why = "allowed_origins lists the same origin twice";
					return false;
				}
			origins_buf[i] = o;
		}
		out->origins = origins_buf;
		out->norigins = (int)json_array_size(list);
	}
	return true;
}

/* ---- the secret and its snippet travel only in the answer ---- */

typedef struct key_call {
	char secret[CREDS_TOKEN_LEN + 1];
	char public_url[256];
	const char *invalid_field;
	api_done_fn done;
	void *arg;
} key_call;

static key_call *key_call_new(const api_ctx *ctx, const char *invalid_field, api_done_fn done, void *arg)
{
	key_call *kc = xcalloc(1, sizeof *kc);
	snprintf(kc->public_url, sizeof kc->public_url, "%s", ctx->c ? ctx->c->public_url : "");
	kc->invalid_field = invalid_field;
	kc->done = done;
	kc->arg = arg;
	return kc;
}

static void key_call_free(key_call *kc)
{
	OPENSSL_cleanse(kc->secret, sizeof kc->secret);
	free(kc);
}

static json_t *init_snippet(const char *public_url, const char *key)
{
	char buf[1024];
	snprintf(buf, sizeof buf,
	         "await fetch(\"%s/v1/events\", {\n"
	         "  method: \"POST\",\n"
	         "  headers: {\n"
	         "    \"Authorization\": \"Bearer %s\",\n"
	         "    \"Content-Type\": \"application/json\",\n"
	         "  },\n"
	         "  body: JSON.stringify({ events: [{\n"
	         "    service: \"stripe\", operation: \"charges.create\", outcome: \"ok\",\n"
	         "    latency_ms: 182, timestamp: new Date().toISOString(),\n"
	         "  }] }),\n"
	         "});\n",
	         public_url, key);
	json_t *s = json_string(buf);
	OPENSSL_cleanse(buf, sizeof buf);
	return s;
}

/* Rotation answers {"item": key, "rotated_from": {...}}; callers get the
 * key object with rotated_from as one more member, in the list's order. */
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

static void with_key(api_result *res, void *arg)
{
	key_call *kc = arg;
	if (res->status == API_CREATED)
		flatten_item(res);
	if (res->status == API_CREATED && json_is_object(res->data)) {
		json_object_set_new(res->data, "key", json_string(kc->secret));
		json_object_set_new(res->data, "init_snippet", init_snippet(kc->public_url, kc->secret));
	}
	if (res->status == API_INVALID && !res->field)
		res->field = kc->invalid_field;
	kc->done(res, kc->arg);
	key_call_free(kc);
}

/* ---- API layer ---- */

static const db_stmt LIST = {
	"sdk_keys_list",
	"SELECT coalesce(json_agg(x.j ORDER BY x.created_at DESC, x.id DESC), '[]') AS result FROM ("
	"  SELECT " K_JSON " AS j, k.created_at, k.id FROM sdk_keys k" K_PROJECT
	"  WHERE k.org_id = $1"
	"    AND ($2::timestamptz IS NULL OR (k.created_at, k.id) < ($2::timestamptz, $3::uuid))"
	"  ORDER BY k.created_at DESC, k.id DESC LIMIT $4) x",
	4,
};

void api_sdk_keys_list(const api_ctx *ctx, const api_page *page, api_done_fn done, void *arg)
{
	api_list_paged(ctx, &LIST, NULL, 0, page, done, arg);
}

static const db_stmt GET = {
	"sdk_keys_get",
	"SELECT " K_JSON " AS result FROM sdk_keys k" K_PROJECT " WHERE k.org_id = $1 AND k.id = $2::uuid",
	2,
};

void api_sdk_keys_get(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	if (!api_uuid_or_not_found(id, "SDK Key", done, arg))
		return;
	const char *params[] = { ctx->org_id, id };
	api_run(ctx, &GET, params, API_OK, done, arg);
}

/* $1 org, $2 project id or slug, $3 name, $4 hash, $5 display prefix,
 * $6 origins (json array of validated strings), $7..$11 audit. An id match
 * wins over a slug that happens to look like one. */
static const db_stmt CREATE = {
	"sdk_keys_create",
	"WITH pr AS (SELECT id FROM projects WHERE org_id = $1 AND (id::text = $2 OR slug = $2)"
	"    ORDER BY (id::text = $2) DESC LIMIT 1),"
	" ok AS (SELECT pr.id FROM (SELECT 1) one LEFT JOIN pr ON true WHERE CASE WHEN pr.id IS NULL THEN"
	"   cupd_fail('CU400', 'There is no project with this id or slug in your organization.')::boolean"
	"   ELSE true END),"
	" ins AS (INSERT INTO sdk_keys (org_id, project_id, name, key_hash, display_prefix, allowed_origins, created_by)"
	"   SELECT $1, ok.id, $3, decode($4, 'hex'), $5,"
	"     ARRAY(SELECT json_array_elements_text($6::json)), $9::uuid FROM ok RETURNING *),"
	" aud AS (" API__AUDIT_INSERT
	"   SELECT $1, $7, $8, $9::uuid, 'sdk_key.create', 'sdk_key', ins.id::text, $10::inet, $11,"
	"     jsonb_build_object('name', ins.name, 'project_id', ins.project_id,"
	"       'allowed_origins', to_jsonb(ins.allowed_origins)) FROM ins)"
	" SELECT " K_JSON " AS result FROM ins k" K_PROJECT,
	11,
};

void api_sdk_keys_create(const api_ctx *ctx, const api_sdk_key_new *in, api_done_fn done, void *arg)
{
	if (!in->project || !*in->project || strlen(in->project) > 63) {
		api_fail(API_INVALID, "project", "project must be the id or slug of a project", done, arg);
		return;
	}
	if (!in->name || !*in->name || strlen(in->name) > 100) {
		api_fail(API_INVALID, "name", "name must be 1 to 100 characters", done, arg);
		return;
	}
	if (in->norigins < 0 || in->norigins > API_SDK_ORIGINS_MAX) {
		api_fail(API_INVALID, "allowed_origins", "allowed_origins holds at most 50 origins", done, arg);
		return;
	}
	json_t *origins = json_array();
	for (int i = 0; i < in->norigins; i++) {
		if (!api_sdk_origin_valid(in->origins[i])) {
			json_decref(origins);
			api_fail(API_INVALID, "allowed_origins", "allowed_origins must be exact lowercase "
			         "scheme://host[:port] origins", done, arg);
			return;
		}
		json_array_append_new(origins, json_string(in->origins[i]));
	}
	char *origins_text = json_dumps(origins, JSON_COMPACT);
	json_decref(origins);
	key_call *kc = key_call_new(ctx, "project", done, arg);
	if (!origins_text || !creds_generate(CREDS_SDK_KEY, kc->secret)) {
		free(origins_text);
		key_call_free(kc);
		api_fail(API_INTERNAL, NULL, "Making the key failed.", done, arg);
		return;
	}
	char hash[CREDS_HASH_HEX + 1], prefix[CREDS_DISPLAY_LEN + 1];
	creds_hash_hex(kc->secret, CREDS_TOKEN_LEN, hash);
	creds_display_prefix(kc->secret, prefix);
	const char *audit[5];
	api_audit_params(ctx, audit);
	const char *params[] = { ctx->org_id, in->project, in->name, hash, prefix, origins_text,
	                         audit[0], audit[1], audit[2], audit[3], audit[4] };
	api_run(ctx, &CREATE, params, API_CREATED, with_key, kc);
	free(origins_text); /* db_query copies its parameters */
}

/* $1 org, $2 old id, $3..$7 audit, $8 new hash, $9 new display prefix. */
static const db_stmt ROTATE = {
	"sdk_keys_rotate",
	"WITH cur AS (SELECT k.* FROM sdk_keys k WHERE k.org_id = $1 AND k.id = $2::uuid FOR UPDATE),"
	" chk AS (SELECT cur.* FROM cur WHERE CASE WHEN cur.revoked_at IS NOT NULL THEN cupd_fail('CU409',"
	"   'This SDK Key is revoked, so it cannot be rotated; create a new one.')::boolean ELSE true END),"
	" ins AS (INSERT INTO sdk_keys (org_id, project_id, name, key_hash, display_prefix, allowed_origins, created_by)"
	"   SELECT chk.org_id, chk.project_id, chk.name, decode($8, 'hex'), $9, chk.allowed_origins, $5::uuid"
	"   FROM chk RETURNING *),"
	" old AS (UPDATE sdk_keys k SET revoked_at = now(), revoked_reason = 'rotated', replaced_by = ins.id"
	"   FROM ins WHERE k.id = $2::uuid RETURNING k.id, k.revoked_at),"
	" aud AS (" API__AUDIT_INSERT
	"   SELECT $1, $3, $4, $5::uuid, 'sdk_key.rotate', 'sdk_key', old.id::text, $6::inet, $7,"
	"     jsonb_build_object('replaced_by', ins.id, 'name', ins.name) FROM old, ins)"
	" SELECT json_build_object('item', " K_JSON ","
	"   'rotated_from', json_build_object('id', old.id, 'revoked_at', old.revoked_at)) AS result"
	" FROM ins k" K_PROJECT " CROSS JOIN old",
	9,
};

void api_sdk_keys_rotate(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	if (!api_uuid_or_not_found(id, "SDK Key", done, arg))
		return;
	key_call *kc = key_call_new(ctx, NULL, done, arg);
	if (!creds_generate(CREDS_SDK_KEY, kc->secret)) {
		key_call_free(kc);
		api_fail(API_INTERNAL, NULL, "Making the key failed.", done, arg);
		return;
	}
	char hash[CREDS_HASH_HEX + 1], prefix[CREDS_DISPLAY_LEN + 1];
	creds_hash_hex(kc->secret, CREDS_TOKEN_LEN, hash);
	creds_display_prefix(kc->secret, prefix);
	const char *audit[5];
	api_audit_params(ctx, audit);
	const char *params[] = { ctx->org_id, id, audit[0], audit[1], audit[2], audit[3], audit[4], hash, prefix };
	api_run(ctx, &ROTATE, params, API_CREATED, with_key, kc);
}

/* $1 org, $2 id, $3..$7 audit. Repeating it changes and audits nothing. */
static const db_stmt REVOKE = {
	"sdk_keys_revoke",
	"WITH cur AS (SELECT k.* FROM sdk_keys k WHERE k.org_id = $1 AND k.id = $2::uuid FOR UPDATE),"
	" upd AS (UPDATE sdk_keys k SET revoked_at = now(), revoked_reason = 'revoked'"
	"   FROM cur WHERE k.id = cur.id AND k.revoked_at IS NULL RETURNING k.*),"
	" aud AS (" API__AUDIT_INSERT
	"   SELECT $1, $3, $4, $5::uuid, 'sdk_key.revoke', 'sdk_key', upd.id::text, $6::inet, $7,"
	"     jsonb_build_object('name', upd.name) FROM upd),"
	" res AS (SELECT * FROM upd UNION ALL SELECT cur.* FROM cur WHERE NOT EXISTS (SELECT 1 FROM upd))"
	" SELECT " K_JSON " AS result FROM res k" K_PROJECT,
	7,
};

void api_sdk_keys_revoke(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	if (!api_uuid_or_not_found(id, "SDK Key", done, arg))
		return;
	const char *audit[5];
	api_audit_params(ctx, audit);
	const char *params[] = { ctx->org_id, id, audit[0], audit[1], audit[2], audit[3], audit[4] };
	api_run(ctx, &REVOKE, params, API_OK, done, arg);
}

/* ---- REST ---- */

static void rest_list(http_req *r)
{
	api_ctx ctx;
	api_page page;
	if (!api__page_or_reply(r, &page))
		return;
	api_ctx_from_request(&ctx, r);
	api_sdk_keys_list(&ctx, &page, api_reply_cb, r);
}

static void rest_get(http_req *r)
{
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_sdk_keys_get(&ctx, http_req_param(r, "id"), api_reply_cb, r);
}

static void rest_create(http_req *r)
{
	json_t *body = api_body_object(r);
	if (!body)
		return;
	api_sdk_key_new in;
	const char *origins[API_SDK_ORIGINS_MAX];
	const char *field = NULL, *why = NULL;
	if (!api_sdk_keys_parse_new(body, &in, origins, &field, &why)) {
		api__reply_invalid(r, field, why);
	} else {
		api_ctx ctx;
		api_ctx_from_request(&ctx, r);
		api_sdk_keys_create(&ctx, &in, api_reply_cb, r);
	}
	json_decref(body);
}

static void rest_rotate(http_req *r)
{
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_sdk_keys_rotate(&ctx, http_req_param(r, "id"), api_reply_cb, r);
}

static void rest_revoke(http_req *r)
{
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_sdk_keys_revoke(&ctx, http_req_param(r, "id"), api_reply_cb, r);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/sdk-keys", 0, rest_list, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN,
	  "List SDK Keys (never the secrets)", API__PAGE_QUERY },
	{ ROUTER_POST, "/api/v1/sdk-keys", 0, rest_create, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN,
	  "Create an SDK Key for a project; the answer's key field is the only time the secret is shown", NULL,
	  "{\"type\":\"object\",\"required\":[\"project\",\"name\"],\"additionalProperties\":false,"
	  "\"properties\":{\"project\":{\"type\":\"string\",\"description\":\"project id or slug\"},"
	  "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":100},"
	  "\"allowed_origins\":{\"type\":\"array\",\"maxItems\":50,\"uniqueItems\":true,"
	  "\"items\":{\"type\":\"string\",\"pattern\":\"^https?://[a-z0-9.\\\\-\\\\[\\\\]:]+$\"},"
	  "\"description\":\"exact browser origins allowed to send with this key; empty = any\"}}}",
	  201 },
	{ ROUTER_GET, "/api/v1/sdk-keys/{id}", 0, rest_get, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN, "Get one SDK Key" },
	{ ROUTER_DELETE, "/api/v1/sdk-keys/{id}", ROUTE_NOTIFY_BARRIER, rest_revoke, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN,
	  "Revoke an SDK Key now and for good" },
	{ ROUTER_POST, "/api/v1/sdk-keys/{id}/rotate", ROUTE_NOTIFY_BARRIER, rest_rotate, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN,
	  "Rotate: a new key for the same project; the old one is revoked at once", NULL, NULL, 201 },
};
ROUTES_MODULE(api_sdk_keys_routes, "SDK Keys", ROUTES);
