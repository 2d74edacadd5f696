/* api/search.h: one text search over incidents, services and runbooks —
 * API layer (shared by REST and MCP). Read scope. */
#ifndef CUPD_API_SEARCH_H
#define CUPD_API_SEARCH_H

#include "api.h"

enum { API_SEARCH_MAX = 50, API_SEARCH_DEFAULT = 20 };

/* Answers {data: [{type: "incident" | "service" | "runbook", id, title,
 * snippet}], next_cursor: null}, best matches first, at most limit hits
 * (0 = API_SEARCH_DEFAULT, at most API_SEARCH_MAX). q uses web search
 * syntax ("stripe outage", "\"rate limit\"", "-resolved"); an empty or
 * over-long q is 400. snippet: incidents "status, severity"; services
 * "provider, category"; runbooks the best passage with **matches**. */
void api_search_find(const api_ctx *ctx, const char *q, int limit, api_done_fn done, void *arg);

#endif
