/* web/settings_tokens.c: Settings → Credentials → API Tokens.
 *
 *   GET  /settings/credentials?tab=api-tokens   the list (owners and admins)
 *   GET  /settings/api-tokens/new               the generate form
 *   POST /settings/api-tokens                   generate: shows the token once (200, no-store)
 *   GET  /settings/api-tokens/{id}              one token; in its rotation grace: is it still used?
 *   GET  /settings/api-tokens/{id}/rotate       what rotating does (24 h grace), and a button
 *   POST /settings/api-tokens/{id}/rotate       rotate: shows the new token once
 *   POST /settings/api-tokens/{id}/end-grace    cut the rotated-out token off now → 303
 *   POST /settings/api-tokens/{id}/disable      → 303
 *   POST /settings/api-tokens/{id}/enable       → 303
 *   GET  /settings/api-tokens/{id}/revoke       confirmation
 *   POST /settings/api-tokens/{id}/revoke       → 303
 *
 * Everything goes through api/api_tokens.h. */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_tokens.h"
#include "routes.h"
#include "web/pages.h"
#include "web/settings_layout.h"
#include "web/web_modules.h"
#include "xmem.h"

#define LIST_PATH "/settings/credentials?tab=api-tokens"

static const char *status_of(const json_t *t)
{
	const char *s = settings_str(t, "status");
	return s ? s : "";
}

/* The status as a badge: Enabled, Disabled, Expiring (grace), Expired, Revoked. */
static void status_badge(struct evbuffer *out, const json_t *t)
{
	const char *s = status_of(t);
	const char *reason = settings_str(t, "revoked_reason");
	if (!strcmp(s, "active"))
		pages_fmt(out, "<span class=\"badge badge-ok\">Enabled</span>");
	else if (!strcmp(s, "disabled"))
		pages_fmt(out, "<span class=\"badge badge-warn\">Disabled</span>");
	else if (!strcmp(s, "grace"))
		pages_fmt(out, "<span class=\"badge badge-warn\">Expiring (grace)</span>");
	else if (!strcmp(s, "expired"))
		pages_fmt(out, "<span class=\"badge\">Expired</span>");
	else if (reason && !strcmp(reason, "rotated"))
		pages_fmt(out, "<span class=\"badge\">Rotated out</span>");
	else if (reason && !strcmp(reason, "leaked"))
		pages_fmt(out, "<span class=\"badge badge-danger\">Revoked: leaked</span>");
	else
		pages_fmt(out, "<span class=\"badge\">Revoked</span>");
}

static void token_path(char *buf, size_t cap, const char *id, const char *suffix)
{
	snprintf(buf, cap, "/settings/api-tokens/%s%s", id, suffix);
}

/* A one-button POST form (enable, disable, end grace). */
static void action_form(settings_req *sr, struct evbuffer *out, const char *id, const char *action, const char *label,
                        const char *name, const char *cls, bool back_to_detail)
{
	pages_fmt(out, "<form method=\"post\" action=\"/settings/api-tokens/%s/%s\" class=\"inline\">", id, action);
	settings_form_hidden(sr, out);
	if (back_to_detail)
		pages_fmt(out, "<input type=\"hidden\" name=\"back\" value=\"detail\">");
	pages_fmt(out, "<button type=\"submit\" class=\"btn btn-small %S\">%s<span class=\"visually-hidden\"> %s</span>"
	               "</button></form>",
	          cls, label, name);
}

static void link_btn(settings_req *sr, struct evbuffer *out, const char *path, const char *label, const char *name,
                     const char *cls)
{
	pages_fmt(out, "<a class=\"btn btn-small %S\" href=\"", cls);
	settings_href(sr, out, path);
	pages_fmt(out, "\">%s<span class=\"visually-hidden\"> %s</span></a>", label, name);
}

/* The buttons a token's state allows. */
static void token_actions(settings_req *sr, struct evbuffer *out, const json_t *t, bool on_detail)
{
	const char *id = settings_str(t, "id");
	const char *name = settings_str(t, "name");
	const char *s = status_of(t);
	char path[120];
	if (!id)
		return;
	if (!strcmp(s, "active")) {
		token_path(path, sizeof path, id, "/rotate");
		link_btn(sr, out, path, "Rotate", name, "");
		action_form(sr, out, id, "disable", "Disable", name, "", on_detail);
	} else if (!strcmp(s, "disabled")) {
		action_form(sr, out, id, "enable", "Enable", name, "", on_detail);
	} else if (!strcmp(s, "grace") && !on_detail) {
		token_path(path, sizeof path, id, "");
		link_btn(sr, out, path, "Is it still used?", name, "");
	}
	if (strcmp(s, "revoked")) {
		token_path(path, sizeof path, id, "/revoke");
		link_btn(sr, out, path, "Revoke", name, "btn-danger");
	}
}

/* ------------------------------------------------------------ the list */

static void token_row(settings_req *sr, struct evbuffer *out, json_t *t)
{
	const char *id = settings_str(t, "id");
	char path[120];
	token_path(path, sizeof path, id ? id : "", "");
	pages_fmt(out, "<tr>\n<td data-label=\"Name\"><a class=\"cell-main\" href=\"");
	settings_href(sr, out, path);
	pages_fmt(out, "\">%s</a><br><code class=\"small\">%s…</code> <span class=\"small muted\">%s</span></td>\n",
	          settings_str(t, "name"), settings_str(t, "display_prefix"),
	          settings_str(json_object_get(t, "owner"), "email"));
	const char *scope = settings_str(t, "scope"), *eff = settings_str(t, "effective_scope");
	pages_fmt(out, "<td data-label=\"Scope\"><span class=\"scope-chip\">%s</span>", scope);
	if (scope && eff && strcmp(scope, eff))
		pages_fmt(out, "<br><span class=\"small muted\">acts as %s (owner's role)</span>", eff);
	pages_fmt(out, "</td>\n<td data-label=\"Created\">");
	settings_time(out, settings_str(t, "created_at"), false, "—");
	pages_fmt(out, "</td>\n<td data-label=\"Expires\">");
	if (!strcmp(status_of(t), "grace"))
		settings_time(out, settings_str(t, "grace_until"), true, "—");
	else
		settings_time(out, settings_str(t, "expires_at"), true, "Never");
	pages_fmt(out, "</td>\n<td data-label=\"Last used\">");
	settings_time(out, settings_str(t, "last_used_at"), true, "Never");
	pages_fmt(out, "</td>\n<td data-label=\"Status\">");
	status_badge(out, t);
	if (!strcmp(status_of(t), "grace")) {
		json_int_t uses = json_integer_value(json_object_get(t, "grace_use_count"));
		pages_fmt(out, "<br><span class=\"small muted\">used %d time%S since rotation</span>", (int)uses,
		          uses == 1 ? "" : "s");
	}
	pages_fmt(out, "</td>\n<td data-label=\"Actions\" class=\"row-actions\">");
	token_actions(sr, out, t, false);
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
	settings_page_begin(sr, out, "API Tokens · Credentials", "Credentials", SETTINGS_NAV_CREDENTIALS);
	settings_tabs(sr, out, SETTINGS_TAB_API_TOKENS);
	pages_fmt(out, "<section class=\"card\" aria-labelledby=\"tokens-title\">\n<div class=\"section-head\">"
	               "<h2 id=\"tokens-title\">API Tokens</h2><a class=\"btn btn-primary\" href=\"");
	settings_href(sr, out, "/settings/api-tokens/new");
	pages_fmt(out, "\">Generate API Token</a></div>\n"
	               "<p class=\"muted\">API Tokens call the REST API (<code>/api/v1/…</code>) and MCP as the person "
	               "who owns them, never with more than that person's role allows. Keep them secret.</p>\n");
	json_t *rows = json_object_get(res->data, "data");
	if (!json_array_size(rows)) {
		pages_fmt(out, "<div class=\"empty\">\n<p class=\"empty-title\">No API Tokens yet</p>\n"
		               "<p>Generate one for a script, a CI job or an AI tool that takes a static token.</p>\n"
		               "</div>\n");
	} else {
		pages_fmt(out, "<div class=\"table-wrap\"><table class=\"data\">\n"
		               "<caption class=\"visually-hidden\">API Tokens</caption>\n<thead><tr>"
		               "<th scope=\"col\">Name</th><th scope=\"col\">Scope</th><th scope=\"col\">Created</th>"
		               "<th scope=\"col\">Expires</th><th scope=\"col\">Last used</th><th scope=\"col\">Status</th>"
		               "<th scope=\"col\"><span class=\"visually-hidden\">Actions</span></th></tr></thead>\n"
		               "<tbody>\n");
		size_t i;
		json_t *t;
		json_array_foreach(rows, i, t)
			token_row(sr, out, t);
		pages_fmt(out, "</tbody></table></div>\n");
	}
	settings_pager(sr, out, LIST_PATH, res->data);
	pages_fmt(out, "</section>\n");
	settings_page_end(out);
	settings_reply(sr, 200, out);
}

void settings_tokens_tab(settings_req *sr)
{
	if (!sr->org) {
		settings_no_org(sr, "Credentials", SETTINGS_NAV_CREDENTIALS);
		return;
	}
	if (!sr->admin) {
		struct evbuffer *out = evbuffer_new();
		settings_page_begin(sr, out, "API Tokens · Credentials", "Credentials", SETTINGS_NAV_CREDENTIALS);
		settings_tabs(sr, out, SETTINGS_TAB_API_TOKENS);
		pages_fmt(out, "<section class=\"card\" aria-labelledby=\"tokens-title\">\n"
		               "<h2 id=\"tokens-title\">API Tokens</h2>\n");
		settings_members_cannot(sr, out, "API Tokens");
		pages_fmt(out, "</section>\n");
		settings_page_end(out);
		settings_reply(sr, 200, out);
		return;
	}
	api_page page;
	if (!settings_page_or_fail(sr, API_LIMIT_DEFAULT, &page))
		return;
	api_tokens_list(&sr->ctx, &page, NULL, on_list, sr);
}

/* ------------------------------------------------------ generate form */

typedef struct token_form {
	const char *field;        /* the input the error is about, or NULL */
	char error[300];          /* "" = none */
} token_form;

static void token_form_free(void *p)
{
	free(p);
}

static void radio(struct evbuffer *out, const char *value, const char *label, const char *hint, bool checked)
{
	pages_fmt(out,
	          "<div class=\"choice\"><input type=\"radio\" id=\"scope-%s\" name=\"scope\" value=\"%s\"%S"
	          " aria-describedby=\"scope-%s-hint\"><label for=\"scope-%s\">%s</label>"
	          "<p class=\"hint\" id=\"scope-%s-hint\">%s</p></div>\n",
	          value, value, checked ? " checked" : "", value, value, label, value, hint);
}

static void render_form(settings_req *sr, int status)
{
	token_form *tf = sr->page;
	const char *field = tf ? tf->field : NULL;
	const char *name = settings_field(sr, "name");
	const char *scope = settings_field(sr, "scope");
	const char *days = settings_field(sr, "days");
	bool never = settings_field(sr, "never") != NULL;
	bool confirmed = settings_field(sr, "confirm_never") != NULL;
	if (!scope)
		scope = "read";
	struct evbuffer *out = evbuffer_new();
	settings_page_begin(sr, out, "Generate API Token", "Generate API Token", SETTINGS_NAV_CREDENTIALS);
	pages_fmt(out, "<section class=\"card card-form\" aria-labelledby=\"form-title\">\n"
	               "<h2 id=\"form-title\">New API Token</h2>\n");
	if (tf && tf->error[0])
		pages_fmt(out, "<div class=\"notice notice-error\" role=\"alert\" id=\"form-error\">%s</div>\n", tf->error);
	pages_fmt(out, "<form method=\"post\" action=\"/settings/api-tokens\" id=\"token-form\">\n");
	settings_form_hidden(sr, out);
	pages_fmt(out,
	          "<div class=\"field\"><label for=\"name\">Name</label>"
	          "<input id=\"name\" name=\"name\" type=\"text\" required maxlength=\"100\" autocomplete=\"off\""
	          " value=\"%s\" aria-describedby=\"name-hint\"%S>"
	          "<p class=\"hint\" id=\"name-hint\">What uses it, e.g. \"Deploy pipeline\".</p></div>\n",
	          name ? name : "", field && !strcmp(field, "name") ? " aria-invalid=\"true\"" : "");
	pages_fmt(out, "<fieldset class=\"field\"><legend>Scope</legend>\n"
	               "<p class=\"hint\">Scopes are levels, not separate permissions: each one includes everything "
	               "below it. Pick the lowest that does the job.</p>\n");
	radio(out, "read", "Read", "See services, status, incidents, projects and runbooks.", !strcmp(scope, "read"));
	radio(out, "write", "Write (includes Read)", "Also create and change incidents, notes and runbooks.",
	      !strcmp(scope, "write"));
	radio(out, "admin", "Admin (includes Write and Read)",
	      "Also manage credentials, members and settings. The token acts as you, so it never gets more than your "
	      "role allows.",
	      !strcmp(scope, "admin"));
	pages_fmt(out, "</fieldset>\n");
	pages_fmt(out,
	          "<fieldset class=\"field expiry%S\"><legend>Expiration</legend>\n"
	          "<div class=\"field\"><label for=\"days\">Expires after (days)</label>"
	          "<input id=\"days\" name=\"days\" type=\"number\" inputmode=\"numeric\" min=\"1\" max=\"%d\" value=\"%s\""
	          " aria-describedby=\"days-hint\"%S>"
	          "<p class=\"hint\" id=\"days-hint\">%d days unless you change it; at most %d.</p></div>\n"
	          "<div class=\"choice\"><input type=\"checkbox\" id=\"never\" name=\"never\" value=\"yes\"%S>"
	          "<label for=\"never\">Never expires</label></div>\n"
	          "<div class=\"choice never-confirm\"><input type=\"checkbox\" id=\"confirm-never\" name=\"confirm_never\""
	          " value=\"yes\"%S%S><label for=\"confirm-never\">I understand that a token without an expiry date keeps "
	          "working until someone revokes it, even if it leaks.</label></div>\n"
	          "</fieldset>\n",
	          (never || (field && !strcmp(field, "confirm_never"))) ? " show-confirm" : "", API_TOKEN_DAYS_MAX,
	          days ? days : "90", field && !strcmp(field, "days") ? " aria-invalid=\"true\"" : "",
	          API_TOKEN_DAYS_DEFAULT, API_TOKEN_DAYS_MAX, never ? " checked" : "", confirmed ? " checked" : "",
	          field && !strcmp(field, "confirm_never") ? " aria-invalid=\"true\"" : "");
	pages_fmt(out, "<div class=\"actions\"><a class=\"btn\" href=\"");
	settings_href(sr, out, LIST_PATH);
	pages_fmt(out, "\">Cancel</a><button type=\"submit\" class=\"btn btn-primary\">Generate API Token</button>"
	               "</div>\n</form>\n</section>\n");
	settings_page_end(out);
	settings_reply(sr, status, out);
}

static void new_ready(settings_req *sr)
{
	render_form(sr, 200);
}

static void new_get(http_req *r)
{
	SETTINGS_START(r, SETTINGS_READ_ADMIN, new_ready);
}

/* ------------------------------------------------------- show once */

static void render_created(settings_req *sr, json_t *t)
{
	json_t *from = json_object_get(t, "rotated_from");
	bool rotated = json_is_object(from);
	const char *title = rotated ? "API Token rotated" : "API Token generated";
	struct evbuffer *out = evbuffer_new();
	settings_page_begin(sr, out, title, title, SETTINGS_NAV_CREDENTIALS);
	settings_replace_url(sr, out, LIST_PATH);
	pages_fmt(out, "<section class=\"card card-form\" aria-labelledby=\"once-title\" data-once>\n"
	               "<h2 id=\"once-title\">%s</h2>\n"
	               "<div class=\"notice notice-warn\" role=\"note\"><strong>Copy the token now.</strong> "
	               "This is the only time it is shown; we store only a hash of it.</div>\n",
	          settings_str(t, "name"));
	const char *token = settings_str(t, "token");
	settings_secret(out, "secret", "API Token", token);
	pages_fmt(out, "<ul class=\"facts\">\n<li><span class=\"k\">Scope</span><span class=\"v\">%s</span></li>\n"
	               "<li><span class=\"k\">Expires</span><span class=\"v\">",
	          settings_scope_words(settings_str(t, "scope")));
	settings_time(out, settings_str(t, "expires_at"), false, "Never");
	pages_fmt(out, "</span></li>\n</ul>\n");
	if (rotated) {
		const char *old = settings_str(from, "id");
		char path[120];
		token_path(path, sizeof path, old ? old : "", "");
		pages_fmt(out, "<div class=\"notice\" role=\"note\"><p>The old token keeps working until ");
		settings_time(out, settings_str(from, "grace_until"), false, "tomorrow");
		pages_fmt(out, " (24 hours), so you can put the new one in place without downtime. Then it stops for "
		               "good.</p><p><a href=\"");
		settings_href(sr, out, path);
		pages_fmt(out, "\">See whether the old token is still being used</a>, and cut it off early from there."
		               "</p></div>\n");
	}
	struct evbuffer *curl = evbuffer_new();
	evbuffer_add_printf(curl, "curl -H \"Authorization: Bearer %s\" \\\n  %s/api/v1/whoami", token ? token : "",
	                    http_req_cfg(sr->r)->public_url);
	evbuffer_add(curl, "", 1);
	settings_snippet(out, "curl-example", "Try it", (const char *)evbuffer_pullup(curl, -1));
	evbuffer_free(curl);
	pages_fmt(out, "<div class=\"actions\"><a class=\"btn btn-primary\" href=\"");
	settings_href(sr, out, LIST_PATH);
	pages_fmt(out, "\">Done</a></div>\n</section>\n");
	settings_page_end(out);
	http_set_header(sr->r, "Cache-Control", "no-store");
	settings_reply(sr, 200, out);
}

static void form_error(settings_req *sr, const char *field, const char *msg)
{
	token_form *tf = sr->page;
	tf->field = field;
	snprintf(tf->error, sizeof tf->error, "%s", msg);
	render_form(sr, 400);
}

static void on_created(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status == API_CREATED) {
		render_created(sr, res->data);
		return;
	}
	if (res->status == API_INVALID || res->status == API_FORBIDDEN) {
		static const char *const FIELDS[] = { "name", "scope", "days" };
		const char *field = NULL;
		for (size_t i = 0; res->field && i < sizeof FIELDS / sizeof FIELDS[0]; i++)
			if (!strcmp(res->field, FIELDS[i]))
				field = FIELDS[i];
		if (res->field && !strcmp(res->field, "expires_in_days"))
			field = "days";
		form_error(sr, field, res->message ? res->message : "Check the form.");
		return;
	}
	settings_fail_api(sr, res);
}

static void create_ready(settings_req *sr)
{
	token_form *tf = xcalloc(1, sizeof *tf);
	sr->page = tf;
	sr->page_free = token_form_free;
	const char *name = settings_field(sr, "name");
	const char *scope = settings_field(sr, "scope");
	const char *days = settings_field(sr, "days");
	bool never = settings_field(sr, "never") != NULL;
	bool confirmed = settings_field(sr, "confirm_never") != NULL;
	api_token_new in = { .name = name, .scope = auth_scope_parse(scope) };
	if (!name) {
		form_error(sr, "name", "Give the token a name, so you know later what uses it.");
		return;
	}
	if (in.scope == AUTH_SCOPE_NONE) {
		form_error(sr, "scope", "Choose a scope: Read, Write or Admin.");
		return;
	}
	if (never && !confirmed) {
		form_error(sr, "confirm_never",
		           "A token that never expires needs your explicit confirmation: tick the box below \"Never expires\", "
		           "or untick \"Never expires\" and give a number of days.");
		return;
	}
	if (never) {
		in.never_expires = true;
	} else {
		char *end = NULL;
		long d = days ? strtol(days, &end, 10) : API_TOKEN_DAYS_DEFAULT;
		if ((days && (!*days || *end)) || d < 1 || d > API_TOKEN_DAYS_MAX) {
			form_error(sr, "days", "The expiry must be a whole number of days from 1 to 365.");
			return;
		}
		in.expires_in_days = (int)d;
	}
	api_tokens_create(&sr->ctx, &in, on_created, sr);
}

static void create_post(http_req *r)
{
	SETTINGS_START(r, SETTINGS_POST_ADMIN, create_ready);
}

/* ------------------------------------------------------------- detail */

static void fact(struct evbuffer *out, const char *k)
{
	pages_fmt(out, "<li><span class=\"k\">%s</span><span class=\"v\">", k);
}

static void grace_section(settings_req *sr, struct evbuffer *out, const json_t *t)
{
	const char *id = settings_str(t, "id");
	const char *next = settings_str(t, "replaced_by");
	json_int_t uses = json_integer_value(json_object_get(t, "grace_use_count"));
	pages_fmt(out, "<section class=\"card\" aria-labelledby=\"grace-title\">\n"
	               "<h2 id=\"grace-title\">Rotation grace period</h2>\n<p>This token was rotated");
	if (next) {
		char path[120];
		token_path(path, sizeof path, next, "");
		pages_fmt(out, " and <a href=\"");
		settings_href(sr, out, path);
		pages_fmt(out, "\">its replacement</a> is in use");
	}
	pages_fmt(out, ". It keeps working until ");
	settings_time(out, settings_str(t, "grace_until"), false, "—");
	pages_fmt(out, " so deployments can switch over without downtime; then it stops for good.</p>\n"
	               "<dl class=\"stats\">\n<div><dt>Uses since rotation</dt><dd>%d</dd></div>\n"
	               "<div><dt>Last use</dt><dd>",
	          (int)uses);
	settings_time(out, settings_str(t, "grace_last_used_at"), true, "None");
	pages_fmt(out, "</dd></div>\n<div><dt>Last IP address</dt><dd>%s</dd></div>\n</dl>\n",
	          settings_str(t, "grace_last_ip") ? settings_str(t, "grace_last_ip") : "—");
	if (uses == 0)
		pages_fmt(out, "<p class=\"notice notice-ok\">Nothing has used the old token since the rotation. "
		               "It is safe to cut it off now.</p>\n");
	else
		pages_fmt(out, "<p class=\"notice notice-warn\">Something still uses the old token. Find it (the IP address "
		               "helps) and give it the new token, or cut the old one off now if it may have leaked.</p>\n");
	pages_fmt(out, "<form method=\"post\" action=\"/settings/api-tokens/%s/end-grace\">", id);
	settings_form_hidden(sr, out);
	pages_fmt(out, "<button type=\"submit\" class=\"btn btn-danger-solid\">Cut off the old token now</button></form>\n"
	               "<p class=\"small muted\">Usage is written in batches every few seconds, so the very latest "
	               "requests may not show yet. Reload to update.</p>\n</section>\n");
}

static void on_detail(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	json_t *t = res->data;
	struct evbuffer *out = evbuffer_new();
	settings_page_begin(sr, out, "API Token", settings_str(t, "name"), SETTINGS_NAV_CREDENTIALS);
	pages_fmt(out, "<p><a href=\"");
	settings_href(sr, out, LIST_PATH);
	pages_fmt(out, "\">&larr; All API Tokens</a></p>\n"
	               "<section class=\"card\" aria-labelledby=\"token-title\">\n<div class=\"section-head\">"
	               "<h2 id=\"token-title\">Details</h2><div>");
	status_badge(out, t);
	pages_fmt(out, "</div></div>\n<ul class=\"facts\">\n");
	fact(out, "Token");
	pages_fmt(out, "<code>%s…</code></span></li>\n", settings_str(t, "display_prefix"));
	fact(out, "Owner");
	pages_fmt(out, "%s</span></li>\n", settings_str(json_object_get(t, "owner"), "email"));
	fact(out, "Scope");
	pages_fmt(out, "%s</span></li>\n", settings_scope_words(settings_str(t, "effective_scope")));
	fact(out, "Created");
	settings_time(out, settings_str(t, "created_at"), false, "—");
	pages_fmt(out, "</span></li>\n");
	fact(out, "Expires");
	settings_time(out, settings_str(t, "expires_at"), true, "Never");
	pages_fmt(out, "</span></li>\n");
	fact(out, "Last used");
	settings_time(out, settings_str(t, "last_used_at"), true, "Never");
	if (settings_str(t, "last_used_ip"))
		pages_fmt(out, " from %s", settings_str(t, "last_used_ip"));
	pages_fmt(out, "</span></li>\n");
	if (settings_str(t, "revoked_at")) {
		fact(out, "Revoked");
		settings_time(out, settings_str(t, "revoked_at"), true, "—");
		pages_fmt(out, "</span></li>\n");
	}
	pages_fmt(out, "</ul>\n<div class=\"actions actions-start\">");
	token_actions(sr, out, t, true);
	pages_fmt(out, "</div>\n</section>\n");
	if (!strcmp(status_of(t), "grace"))
		grace_section(sr, out, t);
	settings_page_end(out);
	settings_reply(sr, 200, out);
}

static void detail_ready(settings_req *sr)
{
	api_tokens_get(&sr->ctx, http_req_param(sr->r, "id"), on_detail, sr);
}

static void detail_get(http_req *r)
{
	SETTINGS_START(r, SETTINGS_READ_ADMIN, detail_ready);
}

/* ----------------------------------------------- rotate / revoke confirm */

static bool path_ends(const settings_req *sr, const char *suffix)
{
	const char *p = http_req_path(sr->r);
	size_t n = strlen(p), m = strlen(suffix);
	return n > m && !strcmp(p + n - m, suffix);
}

static void on_token_for_confirm(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	json_t *t = res->data;
	bool rotate = path_ends(sr, "/rotate");
	const char *s = status_of(t);
	bool can = rotate ? !strcmp(s, "active") : strcmp(s, "revoked") != 0;
	const char *title = rotate ? "Rotate API Token" : "Revoke API Token";
	struct evbuffer *out = evbuffer_new();
	settings_page_begin(sr, out, title, title, SETTINGS_NAV_CREDENTIALS);
	pages_fmt(out, "<section class=\"card card-form\" aria-labelledby=\"confirm-title\">\n"
	               "<h2 id=\"confirm-title\">%s</h2>\n<ul class=\"facts\">",
	          settings_str(t, "name"));
	fact(out, "Token");
	pages_fmt(out, "<code>%s…</code></span></li>", settings_str(t, "display_prefix"));
	fact(out, "Last used");
	settings_time(out, settings_str(t, "last_used_at"), true, "Never");
	pages_fmt(out, "</span></li></ul>\n");
	if (!can) {
		pages_fmt(out, "<div class=\"notice\">This token is %s, so it cannot be %s.</div>\n"
		               "<div class=\"actions\"><a class=\"btn\" href=\"",
		          !strcmp(s, "grace") ? "already rotated" : s, rotate ? "rotated" : "revoked");
		settings_href(sr, out, LIST_PATH);
		pages_fmt(out, "\">Back to API Tokens</a></div>\n</section>\n");
		settings_page_end(out);
		settings_reply(sr, 200, out);
		return;
	}
	if (rotate)
		pages_fmt(out, "<p>Rotating creates a new token with the same name, owner and scope, and shows it once.</p>\n"
		               "<p><strong>The old token keeps working for 24 hours</strong> (the grace period), so you can "
		               "deploy the new one without downtime. During that time this page shows whether the old "
		               "token is still being used, and you can cut it off early.</p>\n");
	else
		pages_fmt(out, "<p><strong>Revoking is permanent.</strong> Every request with this token gets "
		               "<code>401</code> from now on, on every server. To stop it only for a while, disable it "
		               "instead.</p>\n");
	pages_fmt(out, "<form method=\"post\" action=\"/settings/api-tokens/%s/%S\">\n", settings_str(t, "id"),
	          rotate ? "rotate" : "revoke");
	settings_form_hidden(sr, out);
	pages_fmt(out, "<div class=\"actions\"><a class=\"btn\" href=\"");
	settings_href(sr, out, LIST_PATH);
	pages_fmt(out, "\">Cancel</a><button type=\"submit\" class=\"btn %S\">%S</button></div>\n</form>\n</section>\n",
	          rotate ? "btn-primary" : "btn-danger-solid", rotate ? "Rotate and show the new token" : "Revoke API Token");
	settings_page_end(out);
	settings_reply(sr, 200, out);
}

static void confirm_ready(settings_req *sr)
{
	api_tokens_get(&sr->ctx, http_req_param(sr->r, "id"), on_token_for_confirm, sr);
}

static void confirm_get(http_req *r)
{
	SETTINGS_START(r, SETTINGS_READ_ADMIN, confirm_ready);
}

/* ------------------------------------------------------------ changes */

static void on_rotated(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_CREATED) {
		settings_fail_api(sr, res);
		return;
	}
	/* The old token enters its grace window: every instance must know
	 * before its next use, or that use is neither counted nor shown. */
	settings_after_sync(sr, res->data, render_created);
}

static void rotate_ready(settings_req *sr)
{
	api_tokens_rotate(&sr->ctx, http_req_param(sr->r, "id"), on_rotated, sr);
}

static void rotate_post(http_req *r)
{
	SETTINGS_START(r, SETTINGS_POST_ADMIN, rotate_ready);
}

/* The notice code of each state change, by the path's last segment. */
typedef struct change {
	const char *suffix;
	const char *done;
	void (*fn)(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);
	bool sync;        /* answer only once every instance has applied it */
} change;

static const change CHANGES[] = {
	{ "/revoke", "token-revoked", api_tokens_revoke, true },
	{ "/disable", "token-disabled", api_tokens_disable, true },
	{ "/enable", "token-enabled", api_tokens_enable, true },
	{ "/end-grace", "grace-ended", api_tokens_end_grace, true },
};

static const change *change_of(const settings_req *sr)
{
	for (size_t i = 0; i < sizeof CHANGES / sizeof CHANGES[0]; i++)
		if (path_ends(sr, CHANGES[i].suffix))
			return &CHANGES[i];
	return NULL;
}

static void on_changed(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	const change *c = change_of(sr);
	const char *back = settings_field(sr, "back");
	const char *id = settings_str(res->data, "id");
	bool detail = (back && !strcmp(back, "detail")) || !strcmp(c->done, "grace-ended");
	char path[120];
	if (detail && id)
		token_path(path, sizeof path, id, "");
	else
		snprintf(path, sizeof path, "%s", LIST_PATH);
	if (c->sync)
		settings_redirect_synced(sr, path, c->done);
	else
		settings_redirect(sr, path, c->done);
}

static void change_ready(settings_req *sr)
{
	const change *c = change_of(sr);
	c->fn(&sr->ctx, http_req_param(sr->r, "id"), on_changed, sr);
}

static void change_post(http_req *r)
{
	SETTINGS_START(r, SETTINGS_POST_ADMIN, change_ready);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/settings/api-tokens/new", 0, new_get, AUTH_PUBLIC, 0, "Generate API Token (form)" },
	{ ROUTER_POST, "/settings/api-tokens", 0, create_post, AUTH_PUBLIC, 0, "Generate API Token (shows it once)" },
	{ ROUTER_GET, "/settings/api-tokens/{id}", 0, detail_get, AUTH_PUBLIC, 0, "One API Token and its grace usage" },
	{ ROUTER_GET, "/settings/api-tokens/{id}/rotate", 0, confirm_get, AUTH_PUBLIC, 0, "Rotate API Token (confirm)" },
	{ ROUTER_POST, "/settings/api-tokens/{id}/rotate", 0, rotate_post, AUTH_PUBLIC, 0, "Rotate (shows it once)" },
	{ ROUTER_GET, "/settings/api-tokens/{id}/revoke", 0, confirm_get, AUTH_PUBLIC, 0, "Revoke API Token (confirm)" },
	{ ROUTER_POST, "/settings/api-tokens/{id}/revoke", 0, change_post, AUTH_PUBLIC, 0, "Revoke API Token" },
	{ ROUTER_POST, "/settings/api-tokens/{id}/disable", 0, change_post, AUTH_PUBLIC, 0, "Disable API Token" },
	{ ROUTER_POST, "/settings/api-tokens/{id}/enable", 0, change_post, AUTH_PUBLIC, 0, "Enable API Token" },
	{ ROUTER_POST, "/settings/api-tokens/{id}/end-grace", 0, change_post, AUTH_PUBLIC, 0,
	  "End a rotated-out API Token's grace period now" },
};
ROUTES_MODULE(web_settings_tokens_routes, "Web", ROUTES);
