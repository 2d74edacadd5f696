/* api/leaks.c: POST /api/v1/credentials/report-leak (see leaks.h). */
#include "api/leaks.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "creds.h"
#include "log.h"
#include "ratelimit.h"
#include "routes.h"
#include "xmem.h"

/* $1 API Token digests, $2 SDK Key digests (text[] of hex), $3 reporter IP,
 * $4 user agent, $5 source. A token whose rotation grace already ended is
 * dead and left alone; disabled and expired ones are revoked too, so they
 * can never come back. Keys are flagged (and audited) once. */
static const db_stmt REPORT = {
	"leaks_report",
	"WITH a AS (UPDATE api_tokens t SET revoked_at = now(), revoked_reason = 'leaked', leaked_at = now()"
	"    WHERE t.token_hash IN (SELECT decode(h, 'hex') FROM unnest($1::text[]) h)"
	"      AND t.revoked_at IS NULL AND (t.grace_until IS NULL OR t.grace_until > now())"
	"    RETURNING t.id, t.org_id, t.user_id, t.name, t.display_prefix),"
	" k AS (UPDATE sdk_keys k SET leak_reported_at = now()"
	"    WHERE k.key_hash IN (SELECT decode(h, 'hex') FROM unnest($2::text[]) h)"
	"      AND k.revoked_at IS NULL AND k.leak_reported_at IS NULL"
	"    RETURNING k.id, k.org_id, k.project_id, k.name, k.display_prefix),"
	" aa AS (INSERT INTO audit_events (org_id, actor_kind, actor_id, action, target_kind, target_id, ip,"
	"    user_agent, metadata)"
	"  SELECT a.org_id, 'system', 'leak_report', 'api_token.leaked', 'api_token', a.id::text, $3::inet, $4,"
	"    jsonb_build_object('source', $5::text, 'name', a.name, 'display_prefix', a.display_prefix,"
	"      'user_id', a.user_id, 'revoked', true) FROM a),"
	" ka AS (INSERT INTO audit_events (org_id, actor_kind, actor_id, action, target_kind, target_id, ip,"
	"    user_agent, metadata)"
	"  SELECT k.org_id, 'system', 'leak_report', 'sdk_key.leak_reported', 'sdk_key', k.id::text, $3::inet, $4,"
	"    jsonb_build_object('source', $5::text, 'name', k.name, 'display_prefix', k.display_prefix,"
	"      'project_id', k.project_id, 'revoked', false) FROM k)"
	" SELECT json_build_object('revoked', (SELECT coalesce(json_agg(a.id), '[]') FROM a),"
	"   'flagged', (SELECT count(*) FROM k)) AS result",
	5,
};

typedef struct leak_call {
	size_t received;
	api_done_fn done;
	void *arg;
} leak_call;

static json_t *received_body(size_t n)
{
	return json_pack("{s:I}", "received", (json_int_t)n);
}

static void report_done(api_result *res, void *arg)
{
	leak_call *lc = arg;
	if (res->status == API_OK) {
		json_t *revoked = json_object_get(res->data, "revoked");
		json_int_t flagged = json_integer_value(json_object_get(res->data, "flagged"));
		size_t i;
		json_t *id;
		/* Drop this instance's cached copies now; the triggers' NOTIFYs do the
		 * same everywhere a moment later (see api_tokens.c). */
		json_array_foreach(revoked, i, id) {
			if (!json_is_string(id))
				continue;
			char payload[64];
			snprintf(payload, sizeof payload, "api_token:%s", json_string_value(id));
			auth_on_notify(APP_NOTIFY_CHANNEL, payload, NULL);
		}
		if (json_array_size(revoked) || flagged)
			log_msg(LOG_INFO, "leak report: %zu API Token(s) revoked, %lld SDK Key(s) flagged",
			        json_array_size(revoked), (long long)flagged);
		/* The answer is the same whatever matched. */
		json_t *body = received_body(lc->received);
		api_result out = { .status = API_OK, .data = body };
		lc->done(&out, lc->arg);
		json_decref(body);
	} else {
		lc->done(res, lc->arg);
	}
	free(lc);
}

/* "{hex,hex,...}": only hex digits and commas, so no quoting is needed. */
static void add_hash(char **list, size_t *len, const char *hex)
{
	*list = xrealloc(*list, *len + CREDS_HASH_HEX + 3);
	if (*len > 1)
		(*list)[(*len)++] = ',';
	memcpy(*list + *len, hex, CREDS_HASH_HEX);
	*len += CREDS_HASH_HEX;
	(*list)[*len] = '\0';
}

void api_leaks_report(const api_ctx *ctx, const char *const *tokens, const size_t *lens, size_t n,
                      const char *source, api_done_fn done, void *arg)
{
	if (n > API_LEAK_MAX_TOKENS) {
		api_fail(API_INVALID, "tokens", "tokens holds at most 100 strings per report", done, arg);
		return;
	}
	char *api = xstrdup("{"), *sdk = xstrdup("{");
	size_t napi = 1, nsdk = 1;
	for (size_t i = 0; i < n; i++) {
		char hex[CREDS_HASH_HEX + 1];
		switch (creds_classify(tokens[i], lens[i])) {
		case CREDS_API_TOKEN:
			creds_hash_hex(tokens[i], lens[i], hex);
			add_hash(&api, &napi, hex);
			break;
		case CREDS_SDK_KEY:
			creds_hash_hex(tokens[i], lens[i], hex);
			add_hash(&sdk, &nsdk, hex);
			break;
		default:
			break; /* garbage, a bad checksum or a JWT: nothing of ours to look up */
		}
	}
	if (napi == 1 && nsdk == 1) {
		json_t *body = received_body(n);
		api_result out = { .status = API_OK, .data = body };
		done(&out, arg);
		json_decref(body);
	} else {
		api = xrealloc(api, napi + 2), strcat(api, "}");
		sdk = xrealloc(sdk, nsdk + 2), strcat(sdk, "}");
		leak_call *lc = xmalloc(sizeof *lc);
		lc->received = n;
		lc->done = done;
		lc->arg = arg;
		const char *params[] = { api, sdk, ctx->ip[0] && strcmp(ctx->ip, "-") ? ctx->ip : NULL, ctx->user_agent,
		                         source };
		api_run(ctx, &REPORT, params, API_OK, report_done, lc);
	}
	free(api);
	free(sdk);
}

/* ---- REST ---- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void reply_accepted(api_result *res, void *arg)
{
	http_req *r = arg;
	if (res->status == API_OK) {
		http_set_header(r, "Cache-Control", "no-store");
		http_reply_json(r, 202, json_incref(res->data));
		return;
	}
	api_reply(r, res);
}

static void rest_report(http_req *r)
{
	const cfg *c = http_req_cfg(r);
	char key[80];
	ratelimit_info rl;
	snprintf(key, sizeof key, "leak:%s", http_req_peer_ip(r));
	if (!ratelimit_take(key, c->rate_ip, &rl)) {
		ratelimit_reply_429(r, &rl); /* with the X-RateLimit-* headers */
		return;
	}
	ratelimit_set_headers(r, &rl);
	json_t *body = api_body_object(r);
	if (!body)
		return;
	const char *why = NULL, *key_name;
	json_t *v, *list = json_object_get(body, "tokens");
	bool ok = true;
	json_object_foreach(body, key_name, v)
		if (strcmp(key_name, "tokens") && strcmp(key_name, "source"))
			why = "unknown field; a report takes tokens (an array of strings) and source (where they were found)";
	const char *source = api_json_str(body, "source", 0, API_LEAK_SOURCE_MAX, &ok, &why);
	if (!why && (!json_is_array(list) || json_array_size(list) == 0 ||
	             json_array_size(list) > API_LEAK_MAX_TOKENS))
		why = "tokens must be an array of 1 to 100 strings you found";
	size_t n = why ? 0 : json_array_size(list);
	const char *toks[API_LEAK_MAX_TOKENS];
	size_t lens[API_LEAK_MAX_TOKENS];
	for (size_t i = 0; i < n && !why; i++) {
		json_t *s = json_array_get(list, i);
		if (!json_is_string(s)) {
			why = "tokens must be an array of strings";
			break;
		}
		const char *t = json_string_value(s);
		size_t len = json_string_length(s);
		while (len && is_space(*t))
			t++, len--;
		while (len && is_space(t[len - 1]))
			len--;
		toks[i] = t;
		lens[i] = len;
	}
	if (why) {
		http_set_header(r, "Cache-Control", "no-store");
		app_reply_bad_request(r, why);
	} else {
		api_ctx ctx;
		api_ctx_from_request(&ctx, r);
		api_leaks_report(&ctx, toks, lens, n, source, reply_accepted, r);
	}
	json_decref(body);
}

static const route_def ROUTES[] = {
	{ ROUTER_POST, "/api/v1/credentials/report-leak", 0, rest_report, AUTH_PUBLIC, 0,
	  "Report credentials found in public: live API Tokens are revoked at once, SDK Keys flagged; "
	  "the answer never says which strings were real (no authentication, rate limited per IP)", NULL,
	  "{\"type\":\"object\",\"required\":[\"tokens\"],\"additionalProperties\":false,"
	  "\"properties\":{\"tokens\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":100,"
	  "\"items\":{\"type\":\"string\"}},"
	  "\"source\":{\"type\":\"string\",\"maxLength\":2048,\"description\":\"URL or text saying where\"}}}",
	  202 },
};
ROUTES_MODULE(api_leaks_routes, "Credentials", ROUTES);
