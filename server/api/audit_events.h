/* api/audit_events.h: the org's audit trail — API layer (shared by REST
 * and MCP). Admin scope.
 *
 * An event answers as {id (integer), action, actor: {kind, id, user_id},
 * target: {kind, id}, ip, user_agent, metadata, created_at}. */
#ifndef CUPD_API_AUDIT_EVENTS_H
#define CUPD_API_AUDIT_EVENTS_H

#include "api.h"

/* Optional filters; NULL = not filtered. */
typedef struct api_audit_filter {
	const char *action;   /* exact ("incident.create"), or a prefix ending in '*' ("incident.*") */
	const char *actor;    /* actor id (token, connection or user id, or "cli") or acting user id */
	const char *target;   /* target id */
	const char *since;    /* RFC 3339: at or after */
} api_audit_filter;

/* Pages of events, newest first. 400 (field) for a malformed filter. */
void api_audit_events_list(const api_ctx *ctx, const api_page *page, const api_audit_filter *f, api_done_fn done,
                           void *arg);

#endif
