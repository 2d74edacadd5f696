/* api/account.c: the caller's org, user and credential, from the database
 * (the REST whoami answers from the auth cache instead; this one also
 * serves OAuth connections, whose tokens carry only ids). */
#include "api/account.h"

static const db_stmt ACCOUNT = {
	"account_get",
	"SELECT json_build_object("
	"  'org', json_build_object('id', o.id, 'slug', o.slug, 'name', o.name),"
	"  'user', json_build_object('id', u.id, 'email', u.email, 'name', u.name, 'role', m.role),"
	"  'credential', json_build_object('kind', $3::text, 'id', $4::text, 'scope', $5::text,"
	"    'name', CASE $3::text"
	"      WHEN 'api_token' THEN (SELECT t.name FROM api_tokens t WHERE t.id::text = $4 AND t.org_id = o.id)"
	"      WHEN 'connection' THEN (SELECT coalesce(nullif(c.client_name, ''), c.client_id) FROM oauth_grants g"
	"        JOIN oauth_clients c ON c.id = g.client_pk WHERE g.id::text = $4 AND g.org_id = o.id)"
	"    END)) AS result"
	" FROM orgs o JOIN users u ON u.id = $2::uuid"
	" LEFT JOIN org_members m ON m.org_id = o.id AND m.user_id = u.id WHERE o.id = $1::uuid",
	5,
};

void api_account_get(const api_ctx *ctx, api_done_fn done, void *arg)
{
	if (!api_is_uuid(ctx->org_id) || !api_is_uuid(ctx->user_id)) {
		api_fail(API_NOT_FOUND, NULL, "This credential has no user.", done, arg);
		return;
	}
	const char *params[] = { ctx->org_id, ctx->user_id, ctx->actor_kind, ctx->actor_id, auth_scope_name(ctx->scope) };
	api_run(ctx, &ACCOUNT, params, API_OK, done, arg);
}

json_t *api_account_from_principal(const auth_principal *p)
{
	if (!p || p->kind != CREDS_API_TOKEN)
		return NULL;
	return json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}}",
	                 "org", "id", p->org_id, "slug", p->org_slug, "name", p->org_name,
	                 "user", "id", p->user_id, "email", p->user_email, "name", p->user_name, "role", p->role,
	                 "credential", "kind", "api_token", "id", p->cred_id, "scope", auth_scope_name(p->scope),
	                 "name", p->name);
}
