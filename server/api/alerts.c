/* api/alerts.c: alert rules of the caller's org — list, get, create,
 * update, delete. The C checks mirror the CHECK constraints of the alerts
 * table (sql/migrations/0003) so callers get a 400 naming the field; a
 * partial update whose threshold or target does not suit the stored rule is
 * refused inside the UPDATE with the same kind of 400 (cupd_fail).
 *
 * Webhook and Slack URLs are secrets (whoever has one can post to it), so
 * answers show them redacted to scheme://host/…last4; audit rows never hold
 * targets. */
#include "api/alerts.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api/common.h"
#include "routes.h"

static const char *const CONDITIONS[] = { "status_at_least", "error_rate_above", NULL };
static const char *const MIN_STATUSES[] = { "degraded", "partial_outage", "major_outage", NULL };
static const char *const CHANNELS[] = { "email", "webhook", "slack", NULL };

#define ALERT_JSON(a) \
	"json_build_object('id', " a ".id, 'name', " a ".name," \
	" 'service', (SELECT json_build_object('id', svc.id, 'slug', svc.slug, 'name', svc.name)" \
	"   FROM services svc WHERE svc.id = " a ".service_id)," \
	" 'condition', " a ".condition, 'min_status', " a ".min_status, 'error_rate', " a ".error_rate," \
	" 'channel', " a ".channel," \
	" 'target', CASE WHEN " a ".channel = 'email' THEN " a ".target" \
	"   ELSE substring(" a ".target FROM '^https?://[^/?#]*') || '/…' || right(" a ".target, 4) END," \
	" 'target_redacted', " a ".channel <> 'email'," \
	" 'enabled', " a ".enabled, 'created_by', " a ".created_by, 'created_at', " a ".created_at," \
	" 'updated_at', " a ".updated_at)"

/* ---- target checks ---- */

bool api_alerts_email_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	const char *at = n ? strchr(s, '@') : NULL;
	if (n < 6 || n > 254 || !at || strchr(at + 1, '@') || at == s || at - s > 64)
		return false;
	for (const char *p = s; p < at; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".!#$%&'*+/=?^_`{|}~-", *p))
			return false;
	if (s[0] == '.' || at[-1] == '.' || strstr(s, ".."))
		return false;
	/* Domain: dot-separated labels of letters, digits and '-', at least two,
	 * none empty or starting/ending with '-', a TLD of 2+ letters. */
	const char *label = at + 1, *last_dot = strrchr(at + 1, '.');
	if (!last_dot || strlen(last_dot + 1) < 2)
		return false;
	for (const char *p = at + 1;; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label || *label == '-' || p[-1] == '-' || p - label > 63)
				return false;
			if (!*p)
				break;
			label = p + 1;
		} else if (!isalnum((unsigned char)*p) && *p != '-') {
			return false;
		}
	}
	for (const char *p = last_dot + 1; *p; p++)
		if (!isalpha((unsigned char)*p))
			return false;
	return true;
}

bool api_alerts_https_ok(const char *s)
{
	if (!s || strncmp(s, "https://", 8) || strlen(s) > 2048)
		return false;
	const char *host = s + 8, *p = host;
	while (*p && (isalnum((unsigned char)*p) || *p == '.' || *p == '-'))
		p++;
	if (p == host || *host == '.' || *host == '-')
		return false;
	if (*p == ':') {
		const char *port = ++p;
		while (isdigit((unsigned char)*p))
			p++;
		if (p == port || p - port > 5)
			return false;
	}
	if (*p && !strchr("/?#", *p))
		return false;
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

/* ---- API layer ---- */

/* Filters: $5/$6 service id/slug, $7 enabled. */
static const db_stmt LIST = {
	"alerts_list",
	"SELECT coalesce(json_agg(x.j ORDER BY x.created_at DESC, x.id DESC), '[]') AS result FROM ("
	"  SELECT a.id, a.created_at, " ALERT_JSON("a") " AS j FROM alerts a"
	"  WHERE a.org_id = $1"
	"    AND ($2::timestamptz IS NULL OR (a.created_at, a.id) < ($2::timestamptz, $3::uuid))"
	"    AND (($5::uuid IS NULL AND $6::text IS NULL) OR a.service_id IN (SELECT s.id FROM services s"
	"         WHERE s.org_id = $1 AND (s.id = $5::uuid OR s.slug = $6::text)))"
	"    AND ($7::boolean IS NULL OR a.enabled = $7::boolean)"
	"  ORDER BY a.created_at DESC, a.id DESC LIMIT $4) x",
	7,
};

void api_alerts_list(const api_ctx *ctx, const api_page *page, const api_alerts_filter *f, api_done_fn done,
                     void *arg)
{
	static const api_alerts_filter none = { 0 };
	static const char *const BOOLS[] = { "true", "false", NULL };
	if (!f)
		f = &none;
	const char *svc_id = NULL, *svc_slug = NULL;
	if (f->service && !api__id_or_slug(f->service, &svc_id, &svc_slug)) {
		api_fail(API_INVALID, "service", "service must be a service id or slug", done, arg);
		return;
	}
	if (f->enabled && !api__one_of(f->enabled, BOOLS)) {
		api_fail(API_INVALID, "enabled", "enabled must be true or false", done, arg);
		return;
	}
	const char *filters[] = { svc_id, svc_slug, f->enabled };
	api_list_paged(ctx, &LIST, filters, 3, page, done, arg);
}

static const db_stmt GET = {
	"alerts_get",
	"SELECT " ALERT_JSON("a") " AS result FROM alerts a WHERE a.org_id = $1 AND a.id = $2::uuid",
	2,
};

void api_alerts_get(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	if (!api_uuid_or_not_found(id, "alert rule", done, arg))
		return;
	const char *params[] = { ctx->org_id, id };
	api_run(ctx, &GET, params, API_OK, done, arg);
}

/* The checks create and update share. Each answers the 400 itself. */

static bool fail(const char *field, const char *msg, api_done_fn done, void *arg)
{
	api_fail(API_INVALID, field, msg, done, arg);
	return false;
}

static bool check_name(const char *name, api_done_fn done, void *arg)
{
	return api__text_ok(name, 1, 200, false) || fail("name", "name must be 1 to 200 characters on one line", done, arg);
}

static bool check_min_status(const char *s, api_done_fn done, void *arg)
{
	return api__one_of(s, MIN_STATUSES) ||
	       fail("min_status", "min_status must be degraded, partial_outage or major_outage", done, arg);
}

static bool check_error_rate(double v, api_done_fn done, void *arg)
{
	return (isfinite(v) && v > 0 && v < 1) ||
	       fail("error_rate", "error_rate must be a fraction between 0 and 1 (exclusive), e.g. 0.05", done, arg);
}

/* condition with exactly its own threshold. */
static bool check_condition(const char *condition, const char *min_status, bool has_rate, double rate,
                            api_done_fn done, void *arg)
{
	if (!api__one_of(condition, CONDITIONS))
		return fail("condition", "condition must be status_at_least or error_rate_above", done, arg);
	if (!strcmp(condition, "status_at_least")) {
		if (has_rate)
			return fail("error_rate", "error_rate applies only to condition error_rate_above", done, arg);
		if (!min_status)
			return fail("min_status", "condition status_at_least needs min_status", done, arg);
		return check_min_status(min_status, done, arg);
	}
	if (min_status)
		return fail("min_status", "min_status applies only to condition status_at_least", done, arg);
	if (!has_rate)
		return fail("error_rate", "condition error_rate_above needs error_rate", done, arg);
	return check_error_rate(rate, done, arg);
}

/* channel with a target that suits it. */
static bool check_channel(const char *channel, const char *target, api_done_fn done, void *arg)
{
	if (!api__one_of(channel, CHANNELS))
		return fail("channel", "channel must be email, webhook or slack", done, arg);
	if (!target)
		return fail("target", "send target with channel: an email address, or an https URL", done, arg);
	if (!strcmp(channel, "email"))
		return api_alerts_email_ok(target) || fail("target", "target must be an email address", done, arg);
	return api_alerts_https_ok(target) ||
	       fail("target", "target must be an https:// URL (no spaces, at most 2048 bytes)", done, arg);
}

static bool check_service(const char *service, const char **id, const char **slug, api_done_fn done, void *arg)
{
	*id = *slug = NULL;
	return !service || api__id_or_slug(service, id, slug) ||
	       fail("service", "service must be a service id or slug", done, arg);
}

/* $2 name, $3/$4 service id/slug, $5 condition, $6 min_status, $7 error_rate,
 * $8 channel, $9 target, $10 enabled, $11..$15 audit. */
static const db_stmt CREATE = {
	"alerts_create",
	"WITH ins AS (INSERT INTO alerts (org_id, name, service_id, condition, min_status, error_rate, channel,"
	"    target, enabled, created_by)"
	"    VALUES ($1, $2, " API__SERVICE_REF("$3", "$4") ", $5, $6::text, $7::float8, $8, $9, $10::boolean,"
	"      $13::uuid) RETURNING *),"
	" aud AS (" API__AUDIT_INSERT
	"    SELECT $1, $11, $12, $13::uuid, 'alert.create', 'alert', ins.id::text, $14::inet, $15,"
	"      jsonb_build_object('name', ins.name, 'condition', ins.condition, 'channel', ins.channel,"
	"        'service_id', ins.service_id) FROM ins)"
	" SELECT " ALERT_JSON("ins") " AS result FROM ins",
	15,
};

void api_alerts_create(const api_ctx *ctx, const api_alert_new *in, api_done_fn done, void *arg)
{
	const char *svc_id, *svc_slug;
	if (!check_name(in->name, done, arg) || !check_service(in->service, &svc_id, &svc_slug, done, arg) ||
	    !check_condition(in->condition, in->min_status, in->has_error_rate, in->error_rate, done, arg) ||
	    !check_channel(in->channel, in->target, done, arg))
		return;
	char rate[32] = "";
	if (in->has_error_rate)
		snprintf(rate, sizeof rate, "%.17g", in->error_rate);
	const char *a[5];
	api_audit_params(ctx, a);
	const char *params[] = { ctx->org_id, in->name, svc_id, svc_slug, in->condition, in->min_status,
		                 in->has_error_rate ? rate : NULL, in->channel, in->target,
		                 !in->has_enabled || in->enabled ? "true" : "false", a[0], a[1], a[2], a[3], a[4] };
	api__run(ctx, &CREATE, params, API_CREATED, done, arg);
}

/* $2 id, $3 name, $4 change service?, $5/$6 service id/slug, $7 condition,
 * $8 min_status, $9 error_rate, $10 channel, $11 target, $12 what target
 * is ('email' | 'url'), $13 enabled, $14..$18 audit. NULL = keep. In SET,
 * a.* is the row before the update. */
static const db_stmt UPDATE = {
	"alerts_update",
	"WITH cur AS (SELECT * FROM alerts WHERE org_id = $1 AND id = $2::uuid FOR UPDATE),"
	" upd AS (UPDATE alerts a SET name = coalesce($3::text, a.name),"
	"    service_id = CASE WHEN $4::boolean THEN " API__SERVICE_REF("$5", "$6") " ELSE a.service_id END,"
	"    condition = coalesce($7::text, a.condition),"
	"    min_status = CASE WHEN $7::text IS NOT NULL THEN $8::text WHEN $8::text IS NULL THEN a.min_status"
	"      WHEN a.condition = 'status_at_least' THEN $8::text"
	"      ELSE cupd_fail('CU400', 'min_status: min_status applies only to condition status_at_least;"
	" send condition with it to switch this rule') END,"
	"    error_rate = CASE WHEN $7::text IS NOT NULL THEN $9::float8 WHEN $9::float8 IS NULL THEN a.error_rate"
	"      WHEN a.condition = 'error_rate_above' THEN $9::float8"
	"      ELSE cupd_fail('CU400', 'error_rate: error_rate applies only to condition error_rate_above;"
	" send condition with it to switch this rule')::float8 END,"
	"    channel = coalesce($10::text, a.channel),"
	"    target = CASE WHEN $11::text IS NULL THEN a.target"
	"      WHEN $10::text IS NOT NULL OR (a.channel = 'email') = ($12::text = 'email') THEN $11::text"
	"      ELSE cupd_fail('CU400', 'target: target does not suit the channel of this rule;"
	" send channel with it to switch') END,"
	"    enabled = coalesce($13::boolean, a.enabled)"
	"    FROM cur WHERE a.id = cur.id RETURNING a.*),"
	" aud AS (" API__AUDIT_INSERT
	"    SELECT $1, $14, $15, $16::uuid, 'alert.update', 'alert', upd.id::text, $17::inet, $18,"
	"      jsonb_build_object('name', upd.name, 'changed', to_jsonb(array_remove(ARRAY["
	"        CASE WHEN upd.name <> cur.name THEN 'name' END,"
	"        CASE WHEN upd.service_id IS DISTINCT FROM cur.service_id THEN 'service' END,"
	"        CASE WHEN upd.condition <> cur.condition THEN 'condition' END,"
	"        CASE WHEN upd.min_status IS DISTINCT FROM cur.min_status THEN 'min_status' END,"
	"        CASE WHEN upd.error_rate IS DISTINCT FROM cur.error_rate THEN 'error_rate' END,"
	"        CASE WHEN upd.channel <> cur.channel THEN 'channel' END,"
	"        CASE WHEN upd.target <> cur.target THEN 'target' END,"
	"        CASE WHEN upd.enabled <> cur.enabled THEN 'enabled' END], NULL)))"
	"    FROM upd JOIN cur ON cur.id = upd.id"
	"    WHERE (upd.name, upd.service_id, upd.condition, upd.min_status, upd.error_rate, upd.channel,"
	"      upd.target, upd.enabled) IS DISTINCT FROM (cur.name, cur.service_id, cur.condition, cur.min_status,"
	"      cur.error_rate, cur.channel, cur.target, cur.enabled))"
	" SELECT " ALERT_JSON("upd") " AS result FROM upd",
	18,
};

void api_alerts_update(const api_ctx *ctx, const char *id, const api_alert_patch *p, api_done_fn done, void *arg)
{
	const char *svc_id = NULL, *svc_slug = NULL, *target_kind = NULL;
	if (!api_uuid_or_not_found(id, "alert rule", done, arg))
		return;
	if (!p->name && !p->set_service && !p->condition && !p->min_status && !p->has_error_rate && !p->channel &&
	    !p->target && !p->has_enabled) {
		fail(NULL, "send at least one field to change", done, arg);
		return;
	}
	if ((p->name && !check_name(p->name, done, arg)) ||
	    (p->set_service && !check_service(p->service, &svc_id, &svc_slug, done, arg)))
		return;
	if (p->condition) {
		if (!check_condition(p->condition, p->min_status, p->has_error_rate, p->error_rate, done, arg))
			return;
	} else if (p->min_status && p->has_error_rate) {
		fail("error_rate", "a rule has either min_status or error_rate; send condition to choose", done, arg);
		return;
	} else if ((p->min_status && !check_min_status(p->min_status, done, arg)) ||
	           (p->has_error_rate && !check_error_rate(p->error_rate, done, arg))) {
		return;
	}
	if (p->channel) {
		if (!check_channel(p->channel, p->target, done, arg))
			return;
	} else if (p->target) {
		target_kind = api_alerts_email_ok(p->target) ? "email" : api_alerts_https_ok(p->target) ? "url" : NULL;
		if (!target_kind) {
			fail("target", "target must be an email address or an https:// URL", done, arg);
			return;
		}
	}
	if (p->target && !target_kind)
		target_kind = strcmp(p->channel, "email") ? "url" : "email";
	char rate[32] = "";
	if (p->has_error_rate)
		snprintf(rate, sizeof rate, "%.17g", p->error_rate);
	const char *a[5];
	api_audit_params(ctx, a);
	const char *params[] = { ctx->org_id, id, p->name, p->set_service ? "true" : "false", svc_id, svc_slug,
		                 p->condition, p->min_status, p->has_error_rate ? rate : NULL, p->channel, p->target,
		                 target_kind, p->has_enabled ? (p->enabled ? "true" : "false") : NULL,
		                 a[0], a[1], a[2], a[3], a[4] };
	api__run(ctx, &UPDATE, params, API_OK, done, arg);
}

/* $2 id, $3..$7 audit. */
static const db_stmt DELETE = {
	"alerts_delete",
	"WITH del AS (DELETE FROM alerts WHERE org_id = $1 AND id = $2::uuid RETURNING id, name),"
	" aud AS (" API__AUDIT_INSERT
	"    SELECT $1, $3, $4, $5::uuid, 'alert.delete', 'alert', del.id::text, $6::inet, $7,"
	"      jsonb_build_object('name', del.name) FROM del)"
	" SELECT json_build_object('id', del.id, 'deleted', true) AS result FROM del",
	7,
};

void api_alerts_delete(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	if (!api_uuid_or_not_found(id, "alert rule", done, arg))
		return;
	const char *a[5];
	api_audit_params(ctx, a);
	const char *params[] = { ctx->org_id, id, a[0], a[1], a[2], a[3], a[4] };
	api_run(ctx, &DELETE, params, API_OK, done, arg);
}

/* ---- REST ---- */

static void rest_list(http_req *r)
{
	api_page page;
	if (!api__page_or_reply(r, &page))
		return;
	api_alerts_filter f = { .service = api__query(r, "service"), .enabled = api__query(r, "enabled") };
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_alerts_list(&ctx, &page, &f, api_reply_cb, r);
}

static void rest_get(http_req *r)
{
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_alerts_get(&ctx, http_req_param(r, "id"), api_reply_cb, r);
}

static const char *const MEMBERS[] = { "name", "service", "condition", "min_status", "error_rate", "channel",
	                                "target", "enabled", NULL };

static void rest_create(http_req *r)
{
	json_t *body = api__body_or_reply(r, MEMBERS);
	if (!body)
		return;
	api_alert_new in = { 0 };
	if (api__str_or_reply(r, body, "name", &in.name, NULL) &&
	    api__str_or_reply(r, body, "service", &in.service, NULL) &&
	    api__str_or_reply(r, body, "condition", &in.condition, NULL) &&
	    api__str_or_reply(r, body, "min_status", &in.min_status, NULL) &&
	    api__num_or_reply(r, body, "error_rate", &in.error_rate, &in.has_error_rate) &&
	    api__str_or_reply(r, body, "channel", &in.channel, NULL) &&
	    api__str_or_reply(r, body, "target", &in.target, NULL) &&
	    api__bool_or_reply(r, body, "enabled", &in.enabled, &in.has_enabled)) {
		api_ctx ctx;
		api_ctx_from_request(&ctx, r);
		api_alerts_create(&ctx, &in, api_reply_cb, r);
	}
	json_decref(body);
}

static void rest_update(http_req *r)
{
	json_t *body = api__body_or_reply(r, MEMBERS);
	if (!body)
		return;
	api_alert_patch p = { 0 };
	if (api__str_or_reply(r, body, "name", &p.name, NULL) &&
	    api__str_or_reply(r, body, "service", &p.service, &p.set_service) &&
	    api__str_or_reply(r, body, "condition", &p.condition, NULL) &&
	    api__str_or_reply(r, body, "min_status", &p.min_status, NULL) &&
	    api__num_or_reply(r, body, "error_rate", &p.error_rate, &p.has_error_rate) &&
	    api__str_or_reply(r, body, "channel", &p.channel, NULL) &&
	    api__str_or_reply(r, body, "target", &p.target, NULL) &&
	    api__bool_or_reply(r, body, "enabled", &p.enabled, &p.has_enabled)) {
		api_ctx ctx;
		api_ctx_from_request(&ctx, r);
		api_alerts_update(&ctx, http_req_param(r, "id"), &p, api_reply_cb, r);
	}
	json_decref(body);
}

static void rest_delete(http_req *r)
{
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_alerts_delete(&ctx, http_req_param(r, "id"), api_reply_cb, r);
}

#define ALERT_PROPS \
	"\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200}," \
	"\"service\":{\"type\":[\"string\",\"null\"],\"description\":\"service id or slug; null: every service\"}," \
	"\"condition\":{\"enum\":[\"status_at_least\",\"error_rate_above\"]}," \
	"\"min_status\":{\"enum\":[\"degraded\",\"partial_outage\",\"major_outage\"]," \
	"\"description\":\"with condition status_at_least\"}," \
	"\"error_rate\":{\"type\":\"number\",\"exclusiveMinimum\":0,\"exclusiveMaximum\":1," \
	"\"description\":\"with condition error_rate_above\"}," \
	"\"channel\":{\"enum\":[\"email\",\"webhook\",\"slack\"]}," \
	"\"target\":{\"type\":\"string\",\"maxLength\":2048," \
	"\"description\":\"email: an address; webhook and slack: an https:// URL\"}," \
	"\"enabled\":{\"type\":\"boolean\",\"default\":true}"

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/alerts", 0, rest_list, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "List alert rules, newest first",
	  API__PAGE_QUERY ";service:string:id or slug of a service;enabled:boolean:true or false" },
	{ ROUTER_POST, "/api/v1/alerts", 0, rest_create, AUTH_API_TOKEN, AUTH_SCOPE_WRITE,
	  "Create an alert rule", NULL,
	  "{\"type\":\"object\",\"required\":[\"name\",\"condition\",\"channel\",\"target\"],"
	  "\"additionalProperties\":false,\"properties\":{" ALERT_PROPS "},"
	  "\"oneOf\":[{\"properties\":{\"condition\":{\"const\":\"status_at_least\"}},\"required\":[\"min_status\"]},"
	  "{\"properties\":{\"condition\":{\"const\":\"error_rate_above\"}},\"required\":[\"error_rate\"]}]}",
	  201 },
	{ ROUTER_GET, "/api/v1/alerts/{id}", 0, rest_get, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "Get an alert rule" },
	{ ROUTER_PATCH, "/api/v1/alerts/{id}", 0, rest_update, AUTH_API_TOKEN, AUTH_SCOPE_WRITE,
	  "Update an alert rule (a new condition needs its threshold, a new channel its target)", NULL,
	  "{\"type\":\"object\",\"minProperties\":1,\"additionalProperties\":false,\"properties\":{" ALERT_PROPS "},"
	  "\"dependentRequired\":{\"channel\":[\"target\"]}}" },
	{ ROUTER_DELETE, "/api/v1/alerts/{id}", 0, rest_delete, AUTH_API_TOKEN, AUTH_SCOPE_WRITE,
	  "Delete an alert rule" },
};
ROUTES_MODULE(api_alerts_routes, "Alerts", ROUTES);
