/* api/whoami.c: GET /api/v1/whoami — answered from the cached principal,
 * so it costs no database round trip. */
#include <jansson.h>
#include <time.h>

#include "api.h"
#include "routes.h"

static json_t *iso_time(int64_t t)
{
	char buf[32];
	struct tm tm;
	time_t tt = (time_t)t;
	if (!t || !gmtime_r(&tt, &tm))
		return json_null();
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static void whoami(http_req *r)
{
	const auth_principal *p = auth_principal_of(r);
	json_t *body = json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s, s:o, s:b}}",
	                         "org", "id", p->org_id, "slug", p->org_slug, "name", p->org_name,
	                         "user", "id", p->user_id, "email", p->user_email,
	                         "token", "id", p->cred_id, "name", p->name, "prefix", "cup_api_",
	                         "scope", auth_scope_name(p->token_scope),
	                         "effective_scope", auth_scope_name(p->scope),
	                         "expires_at", iso_time(p->expires_at),
	                         "in_rotation_grace", p->in_grace);
	json_object_set_new(json_object_get(body, "user"), "role", json_string(p->role));
	http_set_header(r, "Cache-Control", "no-store");
	http_reply_json(r, 200, body);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/whoami", 0, whoami, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "The organization, user and token behind this API Token" },
};
ROUTES_MODULE(api_whoami_routes, "Account", ROUTES);
