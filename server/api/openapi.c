/* api/openapi.c: GET /api/v1/openapi.json, generated from the route table
 * itself, so a route cannot exist without being described (OpenAPI 3.1). */
#include <string.h>

#include "api.h"
#include "routes.h"

static bool documented(const char *pattern)
{
	return !strncmp(pattern, "/api/", 5) || !strncmp(pattern, "/v1/", 4);
}

static const char *method_key(unsigned m)
{
	switch (m) {
	case ROUTER_GET: return "get";
	case ROUTER_POST: return "post";
	case ROUTER_PUT: return "put";
	case ROUTER_PATCH: return "patch";
	case ROUTER_DELETE: return "delete";
	case ROUTER_OPTIONS: return "options";
	default: return NULL;
	}
}

static json_t *error_response(const char *desc)
{
	return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", desc, "content", "application/json", "schema",
	                 "$ref", "#/components/schemas/Error");
}

static json_t *parameters(const route_def *d)
{
	json_t *params = json_array();
	/* Path parameters, from the {name} segments. */
	for (const char *p = strchr(d->pattern, '{'); p; p = strchr(p + 1, '{')) {
		const char *end = strchr(p, '}');
		if (!end)
			break;
		json_array_append_new(params, json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name", p + 1, (size_t)(end - p - 1),
		                                        "in", "path", "required", 1, "schema", "type", "string"));
	}
	/* Query parameters: "name:type:description;..." */
	if (d->query) {
		char buf[1024];
		snprintf(buf, sizeof buf, "%s", d->query);
		char *save = NULL;
		for (char *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
			char *type = strchr(item, ':');
			char *desc = type ? strchr(type + 1, ':') : NULL;
			if (!type || !desc)
				continue;
			*type++ = '\0';
			*desc++ = '\0';
			json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:s, s:{s:s}}", "name", item, "in", "query",
			                                        "required", 0, "description", desc, "schema", "type", type));
		}
	}
	return params;
}

static json_t *operation(const route_def *d, const routes_module *m)
{
	char ok[8];
	snprintf(ok, sizeof ok, "%d", d->ok_status ? d->ok_status : 200);
	json_t *op = json_pack("{s:s, s:[s], s:o, s:{s:{s:s}}}", "summary", d->summary ? d->summary : "",
	                       "tags", m->tag, "parameters", parameters(d), "responses", ok, "description", "Success");
	json_t *resp = json_object_get(op, "responses");
	json_object_set_new(resp, "400", error_response("Invalid input; error_description says which field and why"));
	if (d->auth == AUTH_API_TOKEN) {
		json_object_set_new(op, "security", json_pack("[{s:[]}]", "apiToken"));
		json_object_set_new(op, "x-required-scope", json_string(auth_scope_name(d->scope)));
	} else if (d->auth == AUTH_SDK_KEY) {
		json_object_set_new(op, "security", json_pack("[{s:[]}]", "sdkKey"));
	} else {
		json_object_set_new(op, "security", json_array());
	}
	if (d->auth != AUTH_PUBLIC) {
		json_object_set_new(resp, "401", error_response("Missing, unknown, expired or revoked credential"));
		json_object_set_new(resp, "403", error_response("Wrong credential type, insufficient scope or origin"));
		json_object_set_new(resp, "429", error_response("Rate limit exceeded; see Retry-After"));
	}
	if (strchr(d->pattern, '{'))
		json_object_set_new(resp, "404", error_response("No such object in this organization"));
	if (d->body) {
		json_t *schema = json_loads(d->body, 0, NULL);
		json_object_set_new(op, "requestBody",
		                    json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content", "application/json", "schema",
		                              schema ? schema : json_object()));
	}
	return op;
}

json_t *api_openapi_document(const router *rt, const cfg *c)
{
	json_t *paths = json_object();
	for (size_t i = 0; i < router_count(rt); i++) {
		const router_route *route = router_at(rt, i);
		const route_def *d = routes_def_of(route);
		const routes_module *m = routes_module_of(route);
		if (!d || !m || !documented(d->pattern))
			continue;
		json_t *item = json_object_get(paths, d->pattern);
		if (!item) {
			item = json_object();
			json_object_set_new(paths, d->pattern, item);
		}
		for (unsigned bit = 1; bit <= ROUTER_OPTIONS; bit <<= 1)
			if ((d->methods & bit) && method_key(bit))
				json_object_set_new(item, method_key(bit), operation(d, m));
	}
	return json_pack(
		"{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:{s:{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}, s:{s:{s:s, s:[s,s], s:{s:{s:s}, s:{s:s}, s:{s:s}}}}}}",
		"openapi", "3.1.0",
		"info", "title", "CheckUpstream API", "version", CUPD_VERSION, "description",
		"REST API of CheckUpstream. Authenticate with an API Token (Authorization: Bearer cup_api_...); "
		"telemetry ingest takes an SDK Key (cup_sdk_...). Lists answer {data, next_cursor}.",
		"servers", "url", c->public_url,
		"paths", paths,
		"components", "securitySchemes", "apiToken", "type", "http", "scheme", "bearer", "description",
		"API Token cup_api_... (scopes read < write < admin)", "sdkKey", "type", "http", "scheme", "bearer",
		"description", "SDK Key cup_sdk_... (telemetry ingest only)",
		"schemas", "Error", "type", "object", "required", "error", "error_description", "properties", "error",
		"type", "string", "error_description", "type", "string", "field", "type", "string");
}

static void rest_openapi(http_req *r)
{
	json_t *doc = api_openapi_document(routes_router(), http_req_cfg(r));
	http_set_header(r, "Cache-Control", "public, max-age=300");
	http_set_header(r, "Access-Control-Allow-Origin", "*");
	http_reply_json(r, 200, doc);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/openapi.json", 0, rest_openapi, AUTH_PUBLIC, 0,
	  "This OpenAPI 3.1 document" },
};
ROUTES_MODULE(api_openapi_routes, "Meta", ROUTES);
