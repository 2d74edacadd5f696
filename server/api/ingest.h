/* api/ingest.h: telemetry ingest — POST /v1/events (SDK Keys only).
 *
 * REST: the route checks the SDK Key, its origin allowlist and rate limits
 * (auth_gate), then ingest_parse (api/ingest_parse.h) validates the body and
 * api_ingest_store writes the valid events with one statement. The answer
 * is 202 {"accepted": N, "rejected": M, "errors": [{index, field, error}]}
 * with at most INGEST_MAX_LISTED_ERRORS errors listed. Browsers are served
 * through CORS: OPTIONS /v1/events answers the preflight, and every answer
 * to a POST echoes its Origin (which auth_gate already checked). */
#ifndef CUPD_API_INGEST_H
#define CUPD_API_INGEST_H

#include "api.h"
#include "api/ingest_parse.h"

/* Services an org may have before ingest stops creating new ones. */
enum { INGEST_MAX_SERVICES_PER_ORG = 200 };

/* Stores b's valid events for project_id (the SDK Key's project) in ctx's
 * org with one statement, creating unknown services and project edges.
 * On success res->data is {"accepted": n, "refused_services": [slug...]}:
 * the events of refused slugs (the org hit INGEST_MAX_SERVICES_PER_ORG) were
 * not stored. b must stay alive until done runs; done runs exactly once. */
void api_ingest_store(const api_ctx *ctx, const char *project_id, const ingest_batch *b, api_done_fn done,
                      void *arg);

#endif
