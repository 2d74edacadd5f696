/* api/ingest.c: POST /v1/events and its CORS preflight.
 *
 * Hot path (the benchmark target is 100,000 events/s on 2 cores): the body
 * is parsed once with jansson, the valid events become five array
 * parameters, and one prepared statement (cupd_ingest_events, migration
 * 0008) stores them with set-based inserts: one round trip per request,
 * never one per event. Service status is not computed here; see
 * api/status_rollup.h for why. */
#include "api/ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app.h"
#include "routes.h"
#include "xmem.h"

/* ------------------------------------------------------ array literals */

/* A growing string for PostgreSQL array literals. */
typedef struct abuf {
	char *s;
	size_t n, cap;
} abuf;

static void ab_reserve(abuf *b, size_t more)
{
	if (b->n + more + 1 > b->cap) {
		b->cap = (b->n + more + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
}

static void ab_char(abuf *b, char c)
{
	ab_reserve(b, 1);
	b->s[b->n++] = c;
	b->s[b->n] = '\0';
}

static void ab_str(abuf *b, const char *s, size_t len)
{
	ab_reserve(b, len);
	memcpy(b->s + b->n, s, len);
	b->n += len;
	b->s[b->n] = '\0';
}

/* Appends s as a quoted array element: "..." with \ and " escaped. Any
 * other byte (commas, braces, quotes of SQL, NULL as a word) is data inside
 * the quotes, so no input can change the array's shape. */
static void ab_quoted(abuf *b, const char *s)
{
	size_t len = strlen(s);
	ab_reserve(b, len * 2 + 2);
	b->s[b->n++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			b->s[b->n++] = '\\';
		b->s[b->n++] = s[i];
	}
	b->s[b->n++] = '"';
	b->s[b->n] = '\0';
}

static void ab_i64(abuf *b, long long v)
{
	char num[24];
	int n = snprintf(num, sizeof num, "%lld", v);
	ab_str(b, num, (size_t)n);
}

/* ----------------------------------------------------------- API layer */

static const db_stmt STORE = {
	"ingest_store",
	"SELECT cupd_ingest_events($1::uuid, $2::uuid, $3::text[], $4::text[], $5::boolean[], $6::integer[],"
	" $7::bigint[], $8::integer, $9::integer, $10::integer) AS result",
	10,
};

void api_ingest_store(const api_ctx *ctx, const char *project_id, const ingest_batch *b, api_done_fn done,
                      void *arg)
{
	enum { SVC, OP, ERR, LAT, TS, NARRAYS };
	abuf a[NARRAYS] = { 0 };
	for (int k = 0; k < NARRAYS; k++) {
		ab_reserve(&a[k], (size_t)b->nevents * (k == OP ? 32 : 16));
		ab_char(&a[k], '{');
	}
	for (int i = 0; i < b->nevents; i++) {
		const ingest_event *ev = &b->events[i];
		if (i)
			for (int k = 0; k < NARRAYS; k++)
				ab_char(&a[k], ',');
		ab_quoted(&a[SVC], ev->service);
		ab_quoted(&a[OP], ev->operation);
		ab_char(&a[ERR], ev->error ? 't' : 'f');
		if (ev->latency_ms < 0)
			ab_str(&a[LAT], "NULL", 4);
		else
			ab_i64(&a[LAT], ev->latency_ms);
		ab_i64(&a[TS], (long long)ev->ts_us);
	}
	for (int k = 0; k < NARRAYS; k++)
		ab_char(&a[k], '}');

	int window = ctx->c->status_window_seconds;
	/* ~30 buckets per window: the rollup sums at most that many rows per service. */
	int bucket = window / 30 > 1 ? window / 30 : 1;
	char max_services[16], window_s[16], bucket_s[16];
	snprintf(max_services, sizeof max_services, "%d", INGEST_MAX_SERVICES_PER_ORG);
	snprintf(window_s, sizeof window_s, "%d", window);
	snprintf(bucket_s, sizeof bucket_s, "%d", bucket);
	const char *params[] = { ctx->org_id, project_id, a[SVC].s, a[OP].s, a[ERR].s, a[LAT].s, a[TS].s,
	                         max_services, window_s, bucket_s };
	api_run(ctx, &STORE, params, API_OK, done, arg);
	for (int k = 0; k < NARRAYS; k++)
		free(a[k].s);
}

/* ---------------------------------------------------------------- REST */

/* State of one POST between parsing and the database's answer. */
typedef struct ingest_call {
	http_req *r;            /* borrowed; ends with the reply */
	ingest_batch batch;     /* owned */
} ingest_call;

static const char MSG_TOO_MANY_SERVICES[] =
	"this organization already has 200 services, the most ingest creates; use an existing service slug";

static json_t *error_json(int index, const char *field, const char *message)
{
	return json_pack("{s:i, s:s?, s:s}", "index", index, "field", field, "error", message);
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool slug_listed(json_t *slugs, const char *slug)
{
	size_t i;
	json_t *v;
	json_array_foreach(slugs, i, v)
		if (!strcmp(json_string_value(v) ? json_string_value(v) : "", slug))
			return true;
	return false;
}

/* The 202 body: parse errors and refused-service errors merged in index
 * order, at most INGEST_MAX_LISTED_ERRORS of them. */
static void reply_accepted(http_req *r, const ingest_batch *b, json_int_t accepted, json_t *refused)
{
	json_t *errors = json_array();
	int pi = 0, ei = 0;
	while (json_array_size(errors) < INGEST_MAX_LISTED_ERRORS) {
		/* next refused event, if any */
		while (ei < b->nevents && !(json_array_size(refused) && slug_listed(refused, b->events[ei].service)))
			ei++;
		bool have_p = pi < b->nerrors, have_e = ei < b->nevents;
		if (!have_p && !have_e)
			break;
		if (have_p && (!have_e || b->errors[pi].index < b->events[ei].index)) {
			json_array_append_new(errors, error_json(b->errors[pi].index, b->errors[pi].field, b->errors[pi].message));
			pi++;
		} else {
			json_array_append_new(errors, error_json(b->events[ei].index, "service", MSG_TOO_MANY_SERVICES));
			ei++;
		}
	}
	json_t *body = json_pack("{s:I, s:I, s:o}", "accepted", accepted, "rejected", (json_int_t)b->total - accepted,
	                         "errors", errors);
	http_set_header(r, "Cache-Control", "no-store");
	http_reply_json(r, 202, body);
}

static void stored(api_result *res, void *arg)
{
	ingest_call *call = arg;
	if (res->status != API_OK) {
		api_reply(call->r, res);
	} else {
		json_t *acc = json_object_get(res->data, "accepted");
		json_t *refused = json_object_get(res->data, "refused_services");
		reply_accepted(call->r, &call->batch, json_is_integer(acc) ? json_integer_value(acc) : 0,
		               json_is_array(refused) ? refused : NULL);
	}
	ingest_batch_cleanup(&call->batch);
	free(call);
}

static bool json_content_type(const char *ct)
{
	size_t n = ct ? strcspn(ct, "; \t") : 0;
	return n == 16 && !strncasecmp(ct, "application/json", 16);
}

/* CORS headers were set by auth_gate for every answer on this route. */
static void rest_ingest(http_req *r)
{
	if (!json_content_type(http_req_header(r, "Content-Type"))) {
		http_reply_error(r, 415, "unsupported_media_type",
		                 "Send the events as application/json: {\"events\": [...]}.");
		return;
	}
	size_t len;
	const unsigned char *body = http_req_body(r, &len);
	ingest_call *call = xcalloc(1, sizeof *call);
	call->r = r;
	if (ingest_parse((const char *)body, len, now_us(), &call->batch) != INGEST_OK) {
		app_reply_bad_request(r, call->batch.detail);
		ingest_batch_cleanup(&call->batch);
		free(call);
		return;
	}
	if (call->batch.nevents == 0) {
		reply_accepted(r, &call->batch, 0, NULL);
		ingest_batch_cleanup(&call->batch);
		free(call);
		return;
	}
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_ingest_store(&ctx, auth_principal_of(r)->project_id, &call->batch, stored, call);
}

/* The preflight carries no credential, so it cannot check the key's
 * allowlist: it echoes any Origin, and the POST that follows is checked. */
static void rest_preflight(http_req *r)
{
	const char *origin = http_req_header(r, "Origin");
	http_set_header(r, "Vary", "Origin");
	if (origin)
		http_set_header(r, "Access-Control-Allow-Origin", origin);
	http_set_header(r, "Access-Control-Allow-Methods", "POST, OPTIONS");
	http_set_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
	http_set_header(r, "Access-Control-Max-Age", "600");
	http_reply_empty(r, 204);
}

#define EVENTS_SCHEMA \
	"{\"type\":\"object\",\"required\":[\"events\"],\"properties\":{\"events\":{\"type\":\"array\",\"maxItems\":1000," \
	"\"items\":{\"type\":\"object\",\"required\":[\"service\",\"operation\",\"outcome\"],\"properties\":{" \
	"\"service\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9][A-Za-z0-9-]{1,62}$\"," \
	"\"description\":\"upstream service slug (lowercased); unknown slugs create the service\"}," \
	"\"operation\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200}," \
	"\"outcome\":{\"enum\":[\"ok\",\"error\"]}," \
	"\"latency_ms\":{\"type\":\"number\",\"minimum\":0,\"maximum\":86400000}," \
	"\"timestamp\":{\"type\":\"string\",\"format\":\"date-time\"," \
	"\"description\":\"RFC 3339; default now; at most 24 h old or 5 min ahead\"}}}}}}"

static const route_def ROUTES[] = {
	{ ROUTER_POST, "/v1/events", 0, rest_ingest, AUTH_SDK_KEY, AUTH_SCOPE_NONE,
	  "Send a batch of telemetry events (SDK Key); answers 202 {accepted, rejected, errors}", NULL, EVENTS_SCHEMA,
	  202 },
	{ ROUTER_OPTIONS, "/v1/events", 0, rest_preflight, AUTH_PUBLIC, AUTH_SCOPE_NONE,
	  "CORS preflight for browser SDKs" },
};
ROUTES_MODULE(api_ingest_routes, "Telemetry", ROUTES);
