/* api/common.h: helpers the REST resources under server/api/ share.
 *
 * Internal to those files (prefix api__): input checks the API functions
 * use on their typed inputs, and request parsing their REST handlers use.
 * The API layer's interface stays api.h plus one header per resource. */
#ifndef CUPD_API_COMMON_H
#define CUPD_API_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api.h"

/* ---- input checks for API functions (true = valid) ---- */

/* s is valid UTF-8 of min..max characters (code points) without control
 * characters; multiline also allows tab, CR and LF. */
bool api__text_ok(const char *s, size_t min, size_t max, bool multiline);

/* Slug format shared by every table: 2-63 of a-z, 0-9, '-', not starting with '-'. */
bool api__is_slug(const char *s);

/* Splits an "id or slug" reference: a uuid sets *id, a slug sets *slug (the
 * other NULL). False (both NULL) when s is neither, so the caller can
 * answer 404/400 without asking the database. */
bool api__id_or_slug(const char *s, const char **id, const char **slug);

/* An RFC 3339 date-time ("2026-01-31T12:00:00Z", fraction and numeric
 * offset allowed; 't', 'z' and a space separator too), with field ranges
 * and day-of-month checked. */
bool api__is_timestamp(const char *s);

/* s is one of the NULL-terminated set. */
bool api__one_of(const char *s, const char *const *set);

/* Like api_run, but a CU400 message of the form "<field>: <sentence>"
 * becomes {field, sentence} in the api_result (see sql/migrations/0006). */
void api__run(const api_ctx *ctx, const db_stmt *st, const char *const *params, api_status ok_status,
              api_done_fn done, void *arg);

/* ---- REST request parsing (each answers 400 itself and returns false/NULL) ---- */

/* limit and cursor of a list request. */
bool api__page_or_reply(http_req *r, api_page *page);

/* The request body as a JSON object whose members are all in allowed
 * (NULL-terminated); 400 naming the first unknown member. Caller owns it. */
json_t *api__body_or_reply(http_req *r, const char *const *allowed);

/* Member key of body as a string. Absent: *out NULL, *present false; JSON
 * null: *out NULL, *present true (present may be NULL when null and absent
 * mean the same). Anything but a string without NUL bytes: 400. */
bool api__str_or_reply(http_req *r, json_t *body, const char *key, const char **out, bool *present);

/* Member key of body as a number (integer or real); *present false when absent. */
bool api__num_or_reply(http_req *r, json_t *body, const char *key, double *out, bool *present);

/* Member key of body as a boolean; *present false when absent. */
bool api__bool_or_reply(http_req *r, json_t *body, const char *key, bool *out, bool *present);

/* Answers 400 {"error":"invalid_request","error_description":message,"field":field}. */
void api__reply_invalid(http_req *r, const char *field, const char *message);

/* Query parameter name, or NULL when absent or empty. */
const char *api__query(http_req *r, const char *name);

/* Start of the audit row every writing statement adds (in a CTE, so the
 * change and its audit row commit together). The values follow in column
 * order: org, actor_kind, actor_id, actor_user_id::uuid, action,
 * target_kind, target_id (text), ip::inet, user_agent, metadata::jsonb;
 * the actor, ip and user agent come from api_audit_params. */
#define API__AUDIT_INSERT \
	"INSERT INTO audit_events (org_id, actor_kind, actor_id, actor_user_id, action, target_kind, target_id," \
	" ip, user_agent, metadata) "

/* SQL for "service id or slug" given as parameters idp (uuid or NULL) and
 * slugp (slug or NULL), in org $1: NULL when both are NULL, else the id of
 * the org's service, else a 400 on field "service" (never another org's). */
#define API__SERVICE_REF(idp, slugp) \
	"(CASE WHEN " idp "::uuid IS NULL AND " slugp "::text IS NULL THEN NULL::uuid" \
	" ELSE coalesce((SELECT sr.id FROM services sr WHERE sr.org_id = $1" \
	"     AND (sr.id = " idp "::uuid OR sr.slug = " slugp "::text))," \
	"   cupd_fail('CU400', 'service: no service with this id or slug in this organization')::uuid) END)"

/* Page-query documentation shared by every list route (route_def.query). */
#define API__PAGE_QUERY "limit:integer:page size, 1-200 (default 50);cursor:string:next_cursor of the previous page"

#endif
