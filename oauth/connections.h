/* connections.h: the AI Connections registry — API layer shared by REST,
 * the settings pages and MCP.
 *
 * An AI Connection is an OAuth grant: one user's approval of one client in
 * one org. Who sees what: a caller with admin scope (an admin or owner)
 * sees and may revoke every connection of the org; anyone else only their
 * own. Revoking commits in PostgreSQL, whose trigger NOTIFYs every
 * instance; this instance also marks the grant revoked in memory before the
 * callback runs, so the connection's next request fails everywhere.
 *
 * Callbacks follow api.h: exactly once, possibly before the call returns. */
#ifndef CUPD_OAUTH_CONNECTIONS_H
#define CUPD_OAUTH_CONNECTIONS_H

#include "api.h"

typedef struct api_connections_filter {
	const char *status;      /* "active" | "revoked" | "expired"; NULL = all */
	const char *user_id;     /* only this user's connections; NULL = all the caller may see */
	const char *client_pk;   /* only this client's (oauth_clients.id); NULL = any */
} api_connections_filter;

/* Pages of connections, newest first: {id, user {id, email}, client {id,
 * client_id, name, client_uri, logo_uri, verified, registered_via}, scopes,
 * resource, created_at, expires_at, last_used_at, last_ip, user_agent,
 * status, revoked_at, revoked_reason, tool_calls_30d}. filters may be NULL. */
void api_connections_list(const api_ctx *ctx, const api_connections_filter *filters, const api_page *page,
                          api_done_fn done, void *arg);

/* Revokes one connection (its owner, or admin scope for anyone's in the
 * org) and audits connection.revoke. Answers the connection as it is now;
 * revoking a revoked one changes nothing. API_NOT_FOUND outside the org,
 * API_FORBIDDEN for someone else's without admin scope. */
void api_connections_revoke(const api_ctx *ctx, const char *grant_id, api_done_fn done, void *arg);

/* "Revoke all" of one client for the calling user: every active
 * connection of client_pk that ctx's user approved. Answers
 * {"revoked": [ids]}. */
void api_connections_revoke_client(const api_ctx *ctx, const char *client_pk, api_done_fn done, void *arg);

#endif
