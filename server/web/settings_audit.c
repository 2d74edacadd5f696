/* web/settings_audit.c: Settings → Audit log.
 *
 *   GET /settings/audit?action=&actor=&cursor=
 *
 * Newest first, 50 a page, filtered by action (exact, or a prefix ending in
 * '*') and actor (a member, or any actor id). Owners and admins only, as
 * the API layer requires the admin scope (api/audit_events.h); members see
 * a notice. Actors are shown by email, from the members list. */
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "api/audit_events.h"
#include "api/members.h"
#include "routes.h"
#include "web/pages.h"
#include "web/settings_layout.h"
#include "web/web_modules.h"
#include "xmem.h"

#define AUDIT_PATH "/settings/audit"

enum { FILTER_MAX = 120 };

typedef struct action_word {
	const char *action;
	const char *words;
} action_word;

/* Known actions in words; anything else shows its code alone. */
static const action_word ACTIONS[] = {
	{ "login.success", "Signed in" },
	{ "login.failure", "Sign-in failed" },
	{ "logout", "Signed out" },
	{ "api_token.create", "API Token created" },
	{ "api_token.rotate", "API Token rotated" },
	{ "api_token.disable", "API Token disabled" },
	{ "api_token.enable", "API Token enabled" },
	{ "api_token.revoke", "API Token revoked" },
	{ "api_token.leaked", "API Token reported leaked" },
	{ "sdk_key.create", "SDK Key created" },
	{ "sdk_key.rotate", "SDK Key rotated" },
	{ "sdk_key.revoke", "SDK Key revoked" },
	{ "sdk_key.leak_reported", "SDK Key reported leaked" },
	{ "connection.approve", "AI tool connected" },
	{ "connection.revoke", "AI Connection revoked" },
	{ "connection.code_replay", "AI Connection revoked: code replayed" },
	{ "connection.refresh_reuse", "AI Connection revoked: refresh token reused" },
	{ "member.role_change", "Role changed" },
	{ "org.create", "Organization created" },
	{ "org.update", "Organization settings changed" },
	{ "project.create", "Project created" },
	{ "incident.create", "Incident created" },
	{ "incident.update", "Incident updated" },
	{ "incident.acknowledge", "Incident acknowledged" },
	{ "incident.note", "Incident note added" },
	{ "runbook.create", "Runbook created" },
	{ "runbook.update", "Runbook updated" },
	{ "runbook.delete", "Runbook deleted" },
	{ "alert.create", "Alert rule created" },
	{ "alert.update", "Alert rule updated" },
	{ "alert.delete", "Alert rule deleted" },
};

/* Prefix filters offered in the action field's suggestions. */
static const action_word PREFIXES[] = {
	{ "login.*", "Sign-ins" },         { "api_token.*", "API Tokens" }, { "sdk_key.*", "SDK Keys" },
	{ "connection.*", "AI Connections" }, { "member.*", "Members" },      { "org.*", "Organization" },
	{ "incident.*", "Incidents" },     { "runbook.*", "Runbooks" },    { "alert.*", "Alert rules" },
};

static const char *action_words(const char *a)
{
	for (size_t i = 0; a && i < sizeof ACTIONS / sizeof ACTIONS[0]; i++)
		if (!strcmp(ACTIONS[i].action, a))
			return ACTIONS[i].words;
	return NULL;
}

typedef struct audit_page {
	json_t *members;          /* owned: user id → member object */
	json_t *member_list;      /* owned: members in list order */
	const char *action;       /* borrowed from the query; NULL = any */
	const char *actor;
	char base[600];           /* this page's path + filters, for the pager */
} audit_page;

static void audit_page_free(void *p)
{
	audit_page *ap = p;
	if (ap) {
		json_decref(ap->members);
		json_decref(ap->member_list);
	}
	free(ap);
}

static const char *email_of(const audit_page *ap, const char *user_id)
{
	return user_id ? settings_str(json_object_get(ap->members, user_id), "email") : NULL;
}

static void filter_form(settings_req *sr, struct evbuffer *out, const audit_page *ap, const char *error)
{
	pages_fmt(out, "<form method=\"get\" action=\"" AUDIT_PATH "\" class=\"filters\" role=\"search\" "
	               "aria-label=\"Filter the audit log\">\n");
	if (sr->org)
		pages_fmt(out, "<input type=\"hidden\" name=\"org\" value=\"%s\">", sr->org->slug);
	pages_fmt(out, "<div class=\"field\"><label for=\"f-action\">Action</label>"
	               "<input id=\"f-action\" name=\"action\" type=\"text\" list=\"action-list\" maxlength=\"100\" "
	               "autocomplete=\"off\" spellcheck=\"false\" value=\"%s\" aria-describedby=\"f-action-hint\"%S>"
	               "<p class=\"hint\" id=\"f-action-hint\">Exact, like <code>api_token.revoke</code>, or a prefix "
	               "ending in *, like <code>api_token.*</code>.</p></div>\n<datalist id=\"action-list\">",
	          ap->action ? ap->action : "", error ? " aria-invalid=\"true\"" : "");
	for (size_t i = 0; i < sizeof PREFIXES / sizeof PREFIXES[0]; i++)
		pages_fmt(out, "<option value=\"%s\">%s</option>", PREFIXES[i].action, PREFIXES[i].words);
	for (size_t i = 0; i < sizeof ACTIONS / sizeof ACTIONS[0]; i++)
		pages_fmt(out, "<option value=\"%s\">%s</option>", ACTIONS[i].action, ACTIONS[i].words);
	pages_fmt(out, "</datalist>\n<div class=\"field\"><label for=\"f-actor\">Actor</label>"
	               "<select id=\"f-actor\" name=\"actor\"><option value=\"\">Anyone</option>");
	bool listed = false;
	size_t i;
	json_t *m;
	json_array_foreach(ap->member_list, i, m) {
		const char *id = settings_str(m, "id");
		bool sel = ap->actor && id && !strcmp(ap->actor, id);
		listed |= sel;
		pages_fmt(out, "<option value=\"%s\"%S>%s</option>", id, sel ? " selected" : "", settings_str(m, "email"));
	}
	if (ap->actor && !listed)
		pages_fmt(out, "<option value=\"%s\" selected>%s</option>", ap->actor, ap->actor);
	pages_fmt(out, "</select></div>\n<div class=\"filter-actions\"><button type=\"submit\" class=\"btn btn-primary\">"
	               "Filter</button><a class=\"btn\" href=\"");
	settings_href(sr, out, AUDIT_PATH);
	pages_fmt(out, "\">Clear</a></div>\n</form>\n");
}

static void actor_cell(settings_req *sr, struct evbuffer *out, const audit_page *ap, const json_t *actor)
{
	const char *kind = settings_str(actor, "kind");
	const char *id = settings_str(actor, "id");
	const char *uid = settings_str(actor, "user_id");
	const char *email = email_of(ap, uid);
	const char *filter = uid ? uid : id;
	const char *label = !kind ? "Unknown"
	                  : !strcmp(kind, "user") ? (email ? email : "A user")
	                  : !strcmp(kind, "api_token") ? "API Token"
	                  : !strcmp(kind, "connection") ? "AI tool"
	                  : "System";
	if (filter) {
		char *enc = pages_urlencode(filter);
		char path[300];
		snprintf(path, sizeof path, AUDIT_PATH "?actor=%s", enc);
		free(enc);
		pages_fmt(out, "<a href=\"");
		settings_href(sr, out, path);
		pages_fmt(out, "\" title=\"Only this actor\">%s</a>", label);
	} else {
		pages_fmt(out, "%s", label);
	}
	if (kind && strcmp(kind, "user") && email)
		pages_fmt(out, "<br><span class=\"small muted\">of %s</span>", email);
	else if (kind && !strcmp(kind, "system") && id)
		pages_fmt(out, "<br><span class=\"small muted\">%s</span>", id);
}

static void target_cell(settings_req *sr, struct evbuffer *out, const json_t *target)
{
	const char *kind = settings_str(target, "kind");
	const char *id = settings_str(target, "id");
	if (!kind && !id) {
		pages_fmt(out, "<span class=\"muted\">—</span>");
		return;
	}
	if (kind && id && !strcmp(kind, "api_token") && api_is_uuid(id)) {
		char path[120];
		snprintf(path, sizeof path, "/settings/api-tokens/%s", id);
		pages_fmt(out, "<a href=\"");
		settings_href(sr, out, path);
		pages_fmt(out, "\">API Token</a>");
	} else {
		pages_fmt(out, "%s", kind ? kind : "");
	}
	if (id)
		pages_fmt(out, "<br><code class=\"small\">%s</code>", id);
}

static void event_row(settings_req *sr, struct evbuffer *out, const audit_page *ap, json_t *e)
{
	const char *action = settings_str(e, "action");
	const char *words = action_words(action);
	pages_fmt(out, "<tr>\n<td data-label=\"When\">");
	settings_time(out, settings_str(e, "created_at"), true, "—");
	pages_fmt(out, "</td>\n<td data-label=\"Action\">");
	if (words)
		pages_fmt(out, "<span class=\"cell-main\">%s</span><br>", words);
	pages_fmt(out, "<code class=\"small\">%s</code>", action);
	json_t *meta = json_object_get(e, "metadata");
	if (json_object_size(meta)) {
		char *text = json_dumps(meta, JSON_INDENT(2) | JSON_SORT_KEYS);
		pages_fmt(out, "<details><summary>Details</summary><pre>%s</pre></details>", text);
		free(text);
	}
	pages_fmt(out, "</td>\n<td data-label=\"Actor\">");
	actor_cell(sr, out, ap, json_object_get(e, "actor"));
	pages_fmt(out, "</td>\n<td data-label=\"Target\">");
	target_cell(sr, out, json_object_get(e, "target"));
	pages_fmt(out, "</td>\n<td data-label=\"IP address\">%s</td>\n</tr>\n",
	          settings_str(e, "ip") ? settings_str(e, "ip") : "—");
}

static void on_events(api_result *res, void *arg)
{
	settings_req *sr = arg;
	audit_page *ap = sr->page;
	bool bad = res->status == API_INVALID;
	if (res->status != API_OK && !bad) {
		settings_fail_api(sr, res);
		return;
	}
	struct evbuffer *out = evbuffer_new();
	settings_page_begin(sr, out, "Audit log", "Audit log", SETTINGS_NAV_AUDIT);
	pages_fmt(out, "<section class=\"card\" aria-labelledby=\"audit-title\">\n"
	               "<h2 id=\"audit-title\">Events</h2>\n<p class=\"muted\">Who did what in %s, newest first: "
	               "sign-ins, credentials, AI Connections, roles and settings, and changes to records.</p>\n",
	          sr->org->name);
	if (bad)
		pages_fmt(out, "<div class=\"notice notice-error\" role=\"alert\">%s</div>\n",
		          res->message ? res->message : "This filter is not valid.");
	filter_form(sr, out, ap, bad ? "bad" : NULL);
	json_t *rows = bad ? NULL : json_object_get(res->data, "data");
	if (!json_array_size(rows)) {
		pages_fmt(out, "<div class=\"empty\">\n<p class=\"empty-title\">No events%S</p>\n<p>%S</p>\n</div>\n",
		          ap->action || ap->actor ? " match this filter" : " yet",
		          ap->action || ap->actor ? "Try a wider filter, or clear it."
		                                  : "Events appear here as people and tools use this organization.");
	} else {
		pages_fmt(out, "<div class=\"table-wrap\"><table class=\"data\">\n<caption class=\"visually-hidden\">Audit "
		               "events</caption>\n<thead><tr><th scope=\"col\">When</th><th scope=\"col\">Action</th>"
		               "<th scope=\"col\">Actor</th><th scope=\"col\">Target</th><th scope=\"col\">IP address</th>"
		               "</tr></thead>\n<tbody>\n");
		size_t i;
		json_t *e;
		json_array_foreach(rows, i, e)
			event_row(sr, out, ap, e);
		pages_fmt(out, "</tbody></table></div>\n");
		settings_pager(sr, out, ap->base, res->data);
	}
	pages_fmt(out, "</section>\n");
	settings_page_end(out);
	settings_reply(sr, bad ? 400 : 200, out);
}

static void on_members(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	audit_page *ap = sr->page;
	ap->member_list = json_incref(json_object_get(res->data, "data"));
	ap->members = json_object();
	size_t i;
	json_t *m;
	json_array_foreach(ap->member_list, i, m)
		if (settings_str(m, "id"))
			json_object_set(ap->members, settings_str(m, "id"), m);
	api_page page;
	if (!settings_page_or_fail(sr, API_LIMIT_DEFAULT, &page))
		return;
	api_audit_filter f = { .action = ap->action, .actor = ap->actor };
	api_audit_events_list(&sr->ctx, &page, &f, on_events, sr);
}

static const char *filter_param(settings_req *sr, const char *name)
{
	const char *v = http_req_query(sr->r, name);
	return v && *v && strlen(v) <= FILTER_MAX ? v : NULL;
}

static void audit_ready(settings_req *sr)
{
	if (!sr->org) {
		settings_no_org(sr, "Audit log", SETTINGS_NAV_AUDIT);
		return;
	}
	if (!sr->admin) {
		struct evbuffer *out = evbuffer_new();
		settings_page_begin(sr, out, "Audit log", "Audit log", SETTINGS_NAV_AUDIT);
		pages_fmt(out, "<section class=\"card\" aria-labelledby=\"audit-title\">\n"
		               "<h2 id=\"audit-title\">Events</h2>\n");
		settings_members_cannot(sr, out, "the audit log");
		pages_fmt(out, "</section>\n");
		settings_page_end(out);
		settings_reply(sr, 200, out);
		return;
	}
	audit_page *ap = xcalloc(1, sizeof *ap);
	sr->page = ap;
	sr->page_free = audit_page_free;
	ap->action = filter_param(sr, "action");
	ap->actor = filter_param(sr, "actor");
	char *a = ap->action ? pages_urlencode(ap->action) : NULL;
	char *b = ap->actor ? pages_urlencode(ap->actor) : NULL;
	snprintf(ap->base, sizeof ap->base, AUDIT_PATH "%s%s%s%s", a ? "?action=" : "", a ? a : "",
	         b ? (a ? "&actor=" : "?actor=") : "", b ? b : "");
	free(a);
	free(b);
	api_page page;
	const char *why;
	(void)api_page_parse("200", NULL, &page, &why);
	api_members_list(&sr->ctx, &page, on_members, sr);
}

static void audit_get(http_req *r)
{
	SETTINGS_START(r, SETTINGS_READ, audit_ready);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/settings/audit", 0, audit_get, AUTH_PUBLIC, 0, "Settings → Audit log (?action=&actor=&cursor=)" },
};
ROUTES_MODULE(web_settings_audit_routes, "Web", ROUTES);
