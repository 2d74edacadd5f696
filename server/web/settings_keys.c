/* web/settings_keys.c: Settings → Credentials → SDK Keys.
 *
 *   GET  /settings/credentials?tab=sdk-keys   the list (owners and admins)
 *   GET  /settings/sdk-keys/new               the generate form
 *   POST /settings/sdk-keys                   generate: shows the key once (200, no-store)
 *   GET  /settings/sdk-keys/{id}/rotate       what rotating does, and a button
 *   POST /settings/sdk-keys/{id}/rotate       rotate: shows the new key once
 *   GET  /settings/sdk-keys/{id}/revoke       confirmation
 *   POST /settings/sdk-keys/{id}/revoke       revoke → 303 to the list
 *
 * Everything goes through api/sdk_keys.h and api/projects.h. */
#include <ctype.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "api/projects.h"
#include "api/sdk_keys.h"
#include "routes.h"
#include "web/pages.h"
#include "web/settings_layout.h"
#include "web/web_modules.h"
#include "xmem.h"

#define LIST_PATH "/settings/credentials?tab=sdk-keys"

enum { ORIGINS_TEXT_MAX = 8192 };

/* ------------------------------------------------------------ the list */

static void key_row(settings_req *sr, struct evbuffer *out, json_t *k)
{
	const char *id = settings_str(k, "id");
	bool active = !strcmp(settings_str(k, "status") ? settings_str(k, "status") : "", "active");
	json_t *project = json_object_get(k, "project");
	pages_fmt(out, "<tr>\n<td data-label=\"Name\"><span class=\"cell-main\">%s</span>", settings_str(k, "name"));
	if (!active)
		pages_fmt(out, " <span class=\"badge\">%s</span>",
		          settings_str(k, "revoked_reason") && !strcmp(settings_str(k, "revoked_reason"), "rotated")
		                  ? "Rotated"
		                  : "Revoked");
	pages_fmt(out, "</td>\n<td data-label=\"Project\">%s</td>\n", settings_str(project, "slug"));
	pages_fmt(out, "<td data-label=\"Key\"><code>%s…</code></td>\n", settings_str(k, "display_prefix"));
	pages_fmt(out, "<td data-label=\"Allowed origins\">");
	json_t *origins = json_object_get(k, "allowed_origins");
	if (!json_array_size(origins)) {
		pages_fmt(out, "<span class=\"muted\">Any origin</span>");
	} else {
		pages_fmt(out, "<ul class=\"plain\">");
		size_t i;
		json_t *o;
		json_array_foreach(origins, i, o)
			pages_fmt(out, "<li>%s</li>", json_string_value(o));
		pages_fmt(out, "</ul>");
	}
	pages_fmt(out, "</td>\n<td data-label=\"Created\">");
	settings_time(out, settings_str(k, "created_at"), false, "—");
	pages_fmt(out, "</td>\n<td data-label=\"Last used\">");
	settings_time(out, settings_str(k, "last_used_at"), true, "Never");
	pages_fmt(out, "</td>\n<td data-label=\"Actions\" class=\"row-actions\">");
	if (active && id) {
		char path[120];
		snprintf(path, sizeof path, "/settings/sdk-keys/%s/rotate", id);
		pages_fmt(out, "<a class=\"btn btn-small\" href=\"");
		settings_href(sr, out, path);
		pages_fmt(out, "\">Rotate<span class=\"visually-hidden\"> %s</span></a>", settings_str(k, "name"));
		snprintf(path, sizeof path, "/settings/sdk-keys/%s/revoke", id);
		pages_fmt(out, "<a class=\"btn btn-small btn-danger\" href=\"");
		settings_href(sr, out, path);
		pages_fmt(out, "\">Revoke<span class=\"visually-hidden\"> %s</span></a>", settings_str(k, "name"));
	}
	pages_fmt(out, "</td>\n</tr>\n");
}

static void on_list(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	struct evbuffer *out = evbuffer_new();
	settings_page_begin(sr, out, "SDK Keys · Credentials", "Credentials", SETTINGS_NAV_CREDENTIALS);
	settings_tabs(sr, out, SETTINGS_TAB_SDK_KEYS);
	pages_fmt(out, "<section class=\"card\" aria-labelledby=\"keys-title\">\n<div class=\"section-head\">"
	               "<h2 id=\"keys-title\">SDK Keys</h2><a class=\"btn btn-primary\" href=\"");
	settings_href(sr, out, "/settings/sdk-keys/new");
	pages_fmt(out, "\">Generate SDK Key</a></div>\n"
	               "<p class=\"muted\">An SDK Key lets your code send telemetry for one project to "
	               "<code>POST /v1/events</code> and nothing else. It may appear in browser code; restrict it to "
	               "your sites' origins.</p>\n");
	json_t *rows = json_object_get(res->data, "data");
	if (!json_array_size(rows)) {
		pages_fmt(out, "<div class=\"empty\">\n<p class=\"empty-title\">No SDK Keys yet</p>\n"
		               "<p>Generate one for each project whose calls to upstream services you want to watch.</p>\n"
		               "</div>\n");
	} else {
		pages_fmt(out, "<div class=\"table-wrap\"><table class=\"data\">\n"
		               "<caption class=\"visually-hidden\">SDK Keys</caption>\n<thead><tr>"
		               "<th scope=\"col\">Name</th><th scope=\"col\">Project</th><th scope=\"col\">Key</th>"
		               "<th scope=\"col\">Allowed origins</th><th scope=\"col\">Created</th>"
		               "<th scope=\"col\">Last used</th><th scope=\"col\"><span class=\"visually-hidden\">Actions"
		               "</span></th></tr></thead>\n<tbody>\n");
		size_t i;
		json_t *k;
		json_array_foreach(rows, i, k)
			key_row(sr, out, k);
		pages_fmt(out, "</tbody></table></div>\n");
	}
	settings_pager(sr, out, LIST_PATH, res->data);
	pages_fmt(out, "</section>\n");
	settings_page_end(out);
	settings_reply(sr, 200, out);
}

void settings_keys_tab(settings_req *sr)
{
	if (!sr->org) {
		settings_no_org(sr, "Credentials", SETTINGS_NAV_CREDENTIALS);
		return;
	}
	if (!sr->admin) {
		struct evbuffer *out = evbuffer_new();
		settings_page_begin(sr, out, "SDK Keys · Credentials", "Credentials", SETTINGS_NAV_CREDENTIALS);
		settings_tabs(sr, out, SETTINGS_TAB_SDK_KEYS);
		pages_fmt(out, "<section class=\"card\" aria-labelledby=\"keys-title\">\n<h2 id=\"keys-title\">SDK Keys</h2>\n");
		settings_members_cannot(sr, out, "SDK Keys");
		pages_fmt(out, "</section>\n");
		settings_page_end(out);
		settings_reply(sr, 200, out);
		return;
	}
	api_page page;
	if (!settings_page_or_fail(sr, API_LIMIT_DEFAULT, &page))
		return;
	api_sdk_keys_list(&sr->ctx, &page, on_list, sr);
}

/* ------------------------------------------------------ generate form */

/* What the form shows again after a refused submission. */
typedef struct key_form {
	const char *error;      /* borrowed (static or from sr->form) */
	const char *field;      /* which input the error is about */
	char message[300];
} key_form;

static void render_form(settings_req *sr, int status, json_t *projects)
{
	key_form *kf = sr->page;
	const char *error = kf ? kf->error : NULL;
	const char *field = kf ? kf->field : NULL;
	const char *want_project = settings_field(sr, "project");
	const char *name = settings_field(sr, "name");
	const char *origins = settings_field(sr, "origins");
	struct evbuffer *out = evbuffer_new();
	settings_page_begin(sr, out, "Generate SDK Key", "Generate SDK Key", SETTINGS_NAV_CREDENTIALS);
	pages_fmt(out, "<section class=\"card card-form\" aria-labelledby=\"form-title\">\n"
	               "<h2 id=\"form-title\">New SDK Key</h2>\n");
	if (error)
		pages_fmt(out, "<div class=\"notice notice-error\" role=\"alert\" id=\"form-error\">%s</div>\n", error);
	if (!json_array_size(projects)) {
		pages_fmt(out, "<div class=\"empty\">\n<p class=\"empty-title\">No projects yet</p>\n"
		               "<p>An SDK Key belongs to a project. Create a project first, for example with the REST API "
		               "(<code>POST /api/v1/projects</code>), then come back.</p>\n</div>\n<p><a class=\"btn\" href=\"");
		settings_href(sr, out, LIST_PATH);
		pages_fmt(out, "\">Back to SDK Keys</a></p>\n</section>\n");
		settings_page_end(out);
		settings_reply(sr, status, out);
		return;
	}
	const char *err_attr = " aria-invalid=\"true\" aria-describedby=\"form-error\"";
	pages_fmt(out, "<form method=\"post\" action=\"/settings/sdk-keys\">\n");
	settings_form_hidden(sr, out);
	pages_fmt(out, "<div class=\"field\"><label for=\"project\">Project</label>"
	               "<select id=\"project\" name=\"project\" required%S>\n",
	          field && !strcmp(field, "project") ? err_attr : "");
	size_t i;
	json_t *p;
	json_array_foreach(projects, i, p) {
		const char *slug = settings_str(p, "slug");
		bool sel = want_project ? slug && !strcmp(want_project, slug) : i == 0;
		pages_fmt(out, "<option value=\"%s\"%S>%s (%s)</option>\n", slug, sel ? " selected" : "",
		          settings_str(p, "name"), slug);
	}
	pages_fmt(out, "</select><p class=\"hint\">The key sends events for this project only.</p></div>\n");
	pages_fmt(out,
	          "<div class=\"field\"><label for=\"name\">Name</label>"
	          "<input id=\"name\" name=\"name\" type=\"text\" required maxlength=\"100\" autocomplete=\"off\""
	          " value=\"%s\" aria-describedby=\"name-hint\"%S>"
	          "<p class=\"hint\" id=\"name-hint\">Where it is used, e.g. \"Web app production\".</p></div>\n",
	          name ? name : "", field && !strcmp(field, "name") ? " aria-invalid=\"true\"" : "");
	pages_fmt(out,
	          "<div class=\"field\"><label for=\"origins\">Allowed origins <span class=\"muted\">(optional)</span>"
	          "</label><textarea id=\"origins\" name=\"origins\" rows=\"3\" spellcheck=\"false\" autocomplete=\"off\""
	          " aria-describedby=\"origins-hint\"%S>%s</textarea>"
	          "<p class=\"hint\" id=\"origins-hint\">One per line, like <code>https://app.example.com</code>. "
	          "Browsers on other sites are refused. Leave empty for server-side use or any site.</p></div>\n",
	          field && !strcmp(field, "allowed_origins") ? " aria-invalid=\"true\"" : "", origins ? origins : "");
	pages_fmt(out, "<div class=\"actions\"><a class=\"btn\" href=\"");
	settings_href(sr, out, LIST_PATH);
	pages_fmt(out, "\">Cancel</a><button type=\"submit\" class=\"btn btn-primary\">Generate SDK Key</button></div>\n"
	               "</form>\n</section>\n");
	settings_page_end(out);
	settings_reply(sr, status, out);
}

static void on_projects(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	key_form *kf = sr->page;
	render_form(sr, kf && kf->error ? 400 : 200, json_object_get(res->data, "data"));
}

static void load_projects_then_form(settings_req *sr)
{
	api_page page;
	const char *why;
	(void)api_page_parse("200", NULL, &page, &why);
	api_projects_list(&sr->ctx, &page, on_projects, sr);
}

static void new_ready(settings_req *sr)
{
	load_projects_then_form(sr);
}

static void new_get(http_req *r)
{
	SETTINGS_START(r, SETTINGS_READ_ADMIN, new_ready);
}

/* ------------------------------------------------------- show once */

static void render_created(settings_req *sr, json_t *k, bool rotated)
{
	struct evbuffer *out = evbuffer_new();
	const char *title = rotated ? "SDK Key rotated" : "SDK Key generated";
	settings_page_begin(sr, out, title, title, SETTINGS_NAV_CREDENTIALS);
	settings_replace_url(sr, out, LIST_PATH);
	pages_fmt(out, "<section class=\"card card-form\" aria-labelledby=\"once-title\" data-once>\n"
	               "<h2 id=\"once-title\">%s</h2>\n"
	               "<div class=\"notice notice-warn\" role=\"note\"><strong>Copy the key now.</strong> "
	               "This is the only time it is shown; we store only a hash of it.</div>\n",
	          settings_str(k, "name"));
	settings_secret(out, "secret", "SDK Key", settings_str(k, "key"));
	pages_fmt(out, "<ul class=\"facts\">\n<li><span class=\"k\">Project</span><span class=\"v\">%s</span></li>\n",
	          settings_str(json_object_get(k, "project"), "slug"));
	json_t *origins = json_object_get(k, "allowed_origins");
	pages_fmt(out, "<li><span class=\"k\">Allowed origins</span><span class=\"v\">");
	if (!json_array_size(origins))
		pages_fmt(out, "Any");
	size_t i;
	json_t *o;
	json_array_foreach(origins, i, o)
		pages_fmt(out, "%S%s", i ? ", " : "", json_string_value(o));
	pages_fmt(out, "</span></li>\n</ul>\n");
	if (rotated)
		pages_fmt(out, "<p>The previous key was revoked at the same moment: events sent with it are refused from "
		               "now on. Replace it wherever it is used.</p>\n");
	settings_snippet(out, "init-snippet", "Send an event with it", settings_str(k, "init_snippet"));
	pages_fmt(out, "<div class=\"actions\"><a class=\"btn btn-primary\" href=\"");
	settings_href(sr, out, LIST_PATH);
	pages_fmt(out, "\">Done</a></div>\n</section>\n");
	settings_page_end(out);
	/* The page itself is the only copy: never stored by the browser or a proxy. */
	http_set_header(sr->r, "Cache-Control", "no-store");
	settings_reply(sr, 200, out);
}

static void on_created(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status == API_CREATED) {
		render_created(sr, res->data, false);
		return;
	}
	if (res->status == API_INVALID) {
		key_form *kf = sr->page;
		snprintf(kf->message, sizeof kf->message, "%s", res->message ? res->message : "Check the form.");
		kf->error = kf->message;
		/* res->field lives only during this callback: keep a literal. */
		static const char *const FIELDS[] = { "project", "name", "allowed_origins" };
		kf->field = NULL;
		for (size_t i = 0; res->field && i < sizeof FIELDS / sizeof FIELDS[0]; i++)
			if (!strcmp(res->field, FIELDS[i]))
				kf->field = FIELDS[i];
		load_projects_then_form(sr);
		return;
	}
	settings_fail_api(sr, res);
}

/* Splits the origins text at whitespace and commas into buf (lowercased,
 * one trailing slash dropped); false with a message when there are too
 * many or one is malformed. */
static bool split_origins(char *text, const char *out[API_SDK_ORIGINS_MAX], int *n, char *msg, size_t cap)
{
	*n = 0;
	for (char *save = NULL, *tok = strtok_r(text, " \t\r\n,", &save); tok; tok = strtok_r(NULL, " \t\r\n,", &save)) {
		size_t len = strlen(tok);
		if (len > 1 && tok[len - 1] == '/' && tok[len - 2] != '/')
			tok[--len] = '\0';
		for (char *c = tok; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (*n == API_SDK_ORIGINS_MAX) {
			snprintf(msg, cap, "At most %d allowed origins.", API_SDK_ORIGINS_MAX);
			return false;
		}
		if (!api_sdk_origin_valid(tok)) {
			snprintf(msg, cap, "\"%.100s\" is not an origin. Write scheme and host (and port), like "
			                   "https://app.example.com, without a path.", tok);
			return false;
		}
		out[(*n)++] = tok;
	}
	return true;
}

typedef struct create_state {
	key_form form;                         /* first: sr->page is also a key_form */
	char *origins_text;                    /* owned; origins point into it */
	const char *origins[API_SDK_ORIGINS_MAX];
} create_state;

static void create_state_free(void *p)
{
	create_state *cs = p;
	if (cs)
		free(cs->origins_text);
	free(cs);
}

static void create_ready(settings_req *sr)
{
	create_state *cs = xcalloc(1, sizeof *cs);
	sr->page = cs;
	sr->page_free = create_state_free;
	const char *origins = settings_field(sr, "origins");
	cs->origins_text = xstrdup(origins ? origins : "");
	int n = 0;
	if (strlen(cs->origins_text) > ORIGINS_TEXT_MAX ||
	    !split_origins(cs->origins_text, cs->origins, &n, cs->form.message, sizeof cs->form.message)) {
		if (!cs->form.message[0])
			snprintf(cs->form.message, sizeof cs->form.message, "The list of origins is too long.");
		cs->form.error = cs->form.message;
		cs->form.field = "allowed_origins";
		load_projects_then_form(sr);
		return;
	}
	api_sdk_key_new in = {
		.project = settings_field(sr, "project"),
		.name = settings_field(sr, "name"),
		.origins = cs->origins,
		.norigins = n,
	};
	api_sdk_keys_create(&sr->ctx, &in, on_created, sr);
}

static void create_post(http_req *r)
{
	SETTINGS_START(r, SETTINGS_POST_ADMIN, create_ready);
}

/* --------------------------------------------------- rotate / revoke */

static bool is_rotate(const settings_req *sr)
{
	const char *p = http_req_path(sr->r);
	size_t n = strlen(p);
	return n > 7 && !strcmp(p + n - 7, "/rotate");
}

static void on_key_for_confirm(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	json_t *k = res->data;
	const char *id = settings_str(k, "id");
	bool rotate = is_rotate(sr);
	bool active = settings_str(k, "status") && !strcmp(settings_str(k, "status"), "active");
	struct evbuffer *out = evbuffer_new();
	const char *title = rotate ? "Rotate SDK Key" : "Revoke SDK Key";
	settings_page_begin(sr, out, title, title, SETTINGS_NAV_CREDENTIALS);
	pages_fmt(out, "<section class=\"card card-form\" aria-labelledby=\"confirm-title\">\n"
	               "<h2 id=\"confirm-title\">%s</h2>\n"
	               "<ul class=\"facts\"><li><span class=\"k\">Project</span><span class=\"v\">%s</span></li>"
	               "<li><span class=\"k\">Key</span><span class=\"v\"><code>%s…</code></span></li>"
	               "<li><span class=\"k\">Last used</span><span class=\"v\">",
	          settings_str(k, "name"), settings_str(json_object_get(k, "project"), "slug"),
	          settings_str(k, "display_prefix"));
	settings_time(out, settings_str(k, "last_used_at"), true, "Never");
	pages_fmt(out, "</span></li></ul>\n");
	if (!active) {
		pages_fmt(out, "<div class=\"notice\">This key is already revoked; there is nothing to do.</div>\n"
		               "<div class=\"actions\"><a class=\"btn\" href=\"");
		settings_href(sr, out, LIST_PATH);
		pages_fmt(out, "\">Back to SDK Keys</a></div>\n</section>\n");
		settings_page_end(out);
		settings_reply(sr, 200, out);
		return;
	}
	if (rotate)
		pages_fmt(out, "<p>Rotating makes a new key for the same project, name and origins and <strong>revokes this "
		               "key at once</strong>: SDK Keys have no grace period, so events sent with the old key are "
		               "refused from that moment. Have the new key ready to deploy.</p>\n");
	else
		pages_fmt(out, "<p><strong>Revoking is permanent.</strong> Every event sent with this key is refused from "
		               "now on, on every server.</p>\n");
	pages_fmt(out, "<form method=\"post\" action=\"/settings/sdk-keys/%s/%S\">\n", id, rotate ? "rotate" : "revoke");
	settings_form_hidden(sr, out);
	pages_fmt(out, "<div class=\"actions\"><a class=\"btn\" href=\"");
	settings_href(sr, out, LIST_PATH);
	pages_fmt(out, "\">Cancel</a><button type=\"submit\" class=\"btn %S\">%S</button></div>\n</form>\n</section>\n",
	          rotate ? "btn-primary" : "btn-danger-solid", rotate ? "Rotate and show the new key" : "Revoke SDK Key");
	settings_page_end(out);
	settings_reply(sr, 200, out);
}

static void confirm_ready(settings_req *sr)
{
	api_sdk_keys_get(&sr->ctx, http_req_param(sr->r, "id"), on_key_for_confirm, sr);
}

static void confirm_get(http_req *r)
{
	SETTINGS_START(r, SETTINGS_READ_ADMIN, confirm_ready);
}

static void render_rotated(settings_req *sr, json_t *k)
{
	render_created(sr, k, true);
}

static void on_rotated(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_CREATED) {
		settings_fail_api(sr, res);
		return;
	}
	/* The old key was revoked: say so only once every instance refuses it. */
	settings_after_sync(sr, res->data, render_rotated);
}

static void rotate_ready(settings_req *sr)
{
	api_sdk_keys_rotate(&sr->ctx, http_req_param(sr->r, "id"), on_rotated, sr);
}

static void rotate_post(http_req *r)
{
	SETTINGS_START(r, SETTINGS_POST_ADMIN, rotate_ready);
}

static void on_revoked(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	settings_redirect_synced(sr, LIST_PATH, "key-revoked");
}

static void revoke_ready(settings_req *sr)
{
	api_sdk_keys_revoke(&sr->ctx, http_req_param(sr->r, "id"), on_revoked, sr);
}

static void revoke_post(http_req *r)
{
	SETTINGS_START(r, SETTINGS_POST_ADMIN, revoke_ready);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/settings/sdk-keys/new", 0, new_get, AUTH_PUBLIC, 0, "Generate SDK Key (form)" },
	{ ROUTER_POST, "/settings/sdk-keys", 0, create_post, AUTH_PUBLIC, 0, "Generate SDK Key (shows it once)" },
	{ ROUTER_GET, "/settings/sdk-keys/{id}/rotate", 0, confirm_get, AUTH_PUBLIC, 0, "Rotate SDK Key (confirm)" },
	{ ROUTER_POST, "/settings/sdk-keys/{id}/rotate", 0, rotate_post, AUTH_PUBLIC, 0, "Rotate SDK Key (shows it once)" },
	{ ROUTER_GET, "/settings/sdk-keys/{id}/revoke", 0, confirm_get, AUTH_PUBLIC, 0, "Revoke SDK Key (confirm)" },
	{ ROUTER_POST, "/settings/sdk-keys/{id}/revoke", 0, revoke_post, AUTH_PUBLIC, 0, "Revoke SDK Key" },
};
ROUTES_MODULE(web_settings_keys_routes, "Web", ROUTES);
