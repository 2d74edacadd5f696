/* api/runbooks.h: runbooks (markdown how-tos, optionally tied to a
 * service) — API layer (shared by REST and MCP).
 *
 * A runbook answers as {id, title, body, service: {id, slug, name} | null,
 * created_by, created_at, updated_at}; list rows carry "excerpt" (the first
 * 200 characters of body) instead of body. Ids are uuids; a malformed id
 * or another org's runbook is 404. Writes need the write scope and audit
 * (runbook.create, runbook.update, runbook.delete). */
#ifndef CUPD_API_RUNBOOKS_H
#define CUPD_API_RUNBOOKS_H

#include <stdbool.h>

#include "api.h"

enum { API_RUNBOOK_TITLE_MAX = 300, API_RUNBOOK_BODY_MAX = 200000 };

/* Optional filters of api_runbooks_list; NULL = not filtered. */
typedef struct api_runbooks_filter {
	const char *q;         /* text search over title and body (websearch syntax) */
	const char *service;   /* service id or slug */
} api_runbooks_filter;

/* Pages of runbooks, newest first. 400 (field) for a malformed filter. */
void api_runbooks_list(const api_ctx *ctx, const api_page *page, const api_runbooks_filter *f, api_done_fn done,
                       void *arg);

void api_runbooks_get(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);

typedef struct api_runbook_new {
	const char *title;     /* required, 1-300 characters */
	const char *body;      /* markdown, up to 200000 characters; NULL = "" */
	const char *service;   /* service id or slug, or NULL */
} api_runbook_new;

/* Creates a runbook (201). */
void api_runbooks_create(const api_ctx *ctx, const api_runbook_new *in, api_done_fn done, void *arg);

/* Fields to change; NULL / false = keep. At least one must be set. */
typedef struct api_runbook_patch {
	const char *title;
	const char *body;
	bool set_service;      /* change the link: to service, or none when service is NULL */
	const char *service;
} api_runbook_patch;

void api_runbooks_update(const api_ctx *ctx, const char *id, const api_runbook_patch *p, api_done_fn done,
                         void *arg);

/* Deletes a runbook; answers {id, deleted: true}. */
void api_runbooks_delete(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);

#endif
