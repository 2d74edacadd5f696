/* api/org_settings.c: the org's own settings (see org_settings.h). One
 * statement per operation, the audit row in the same statement. */
#include "api/org_settings.h"

#include "api/common.h"

#define ORG_JSON \
	"json_build_object('id', o.id, 'slug', o.slug, 'name', o.name, 'public_badges', o.public_badges," \
	" 'created_at', o.created_at)"

static const db_stmt GET = {
	"org_settings_get",
	"SELECT " ORG_JSON " AS result FROM orgs o WHERE o.id = $1",
	1,
};

void api_org_settings_get(const api_ctx *ctx, api_done_fn done, void *arg)
{
	const char *params[] = { ctx->org_id };
	api_run(ctx, &GET, params, API_OK, done, arg);
}

/* $1 org, $2 on, $3..$7 audit (actor_kind, actor_id, actor_user_id, ip,
 * user agent). The acting user's role is read now, not trusted from ctx. */
static const db_stmt SET_BADGES = {
	"org_settings_set_public_badges",
	"WITH chk AS (SELECT CASE WHEN $5::uuid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM org_members m"
	"     WHERE m.org_id = $1 AND m.user_id = $5::uuid AND m.role IN ('owner', 'admin'))"
	"   THEN cupd_fail('CU403', 'Only owners and admins change the organization''s settings.')::boolean"
	"   ELSE true END AS ok),"
	" cur AS (SELECT o.* FROM orgs o, chk WHERE o.id = $1 AND chk.ok FOR UPDATE OF o),"
	" upd AS (UPDATE orgs o SET public_badges = $2::boolean FROM cur"
	"   WHERE o.id = cur.id AND cur.public_badges IS DISTINCT FROM $2::boolean RETURNING o.*),"
	" aud AS (" API__AUDIT_INSERT
	"   SELECT $1, $3, $4, $5::uuid, 'org.update', 'org', upd.id::text, $6::inet, $7,"
	"     jsonb_build_object('public_badges', upd.public_badges) FROM upd),"
	" res AS (SELECT * FROM upd UNION ALL SELECT cur.* FROM cur WHERE NOT EXISTS (SELECT 1 FROM upd))"
	" SELECT " ORG_JSON " AS result FROM res o",
	7,
};

void api_org_settings_set_public_badges(const api_ctx *ctx, bool on, api_done_fn done, void *arg)
{
	if (ctx->scope < AUTH_SCOPE_ADMIN) {
		api_fail(API_FORBIDDEN, NULL, "Changing the organization's settings needs the admin scope.", done, arg);
		return;
	}
	const char *a[5];
	api_audit_params(ctx, a);
	const char *params[] = { ctx->org_id, on ? "true" : "false", a[0], a[1], a[2], a[3], a[4] };
	api_run(ctx, &SET_BADGES, params, API_OK, done, arg);
}
