/* api/members.h: the people of the caller's org and their roles — API
 * layer (shared by REST and MCP).
 *
 * A member answers as {id (user id), email, name, role, joined_at,
 * created_at (= joined_at; the page key), disabled}. */
#ifndef CUPD_API_MEMBERS_H
#define CUPD_API_MEMBERS_H

#include "api.h"

/* Pages of members, newest first (read scope). */
void api_members_list(const api_ctx *ctx, const api_page *page, api_done_fn done, void *arg);

/* Sets the role (owner | admin | member) of user_id in the org (admin
 * scope). The acting user's role is checked in SQL as it is now: only owners
 * and admins change roles, only an owner grants or takes away "owner"
 * (403), and the last owner cannot be demoted (409). Audit
 * "member.role_change". The change narrows or widens the user's API Tokens
 * at once: this instance drops them from its cache before answering, the
 * others through the org_members NOTIFY. 404 for a malformed id or a user
 * outside the org. */
void api_members_set_role(const api_ctx *ctx, const char *user_id, const char *role, api_done_fn done, void *arg);

#endif
