/* health.c: /healthz, /readyz, /metrics and /debug/sleep. */
#include "health.h"

#include <event2/buffer.h>
#include <stdlib.h>

#include "app.h"
#include "metrics.h"

static const char HEALTHZ_BODY[] = "{\"status\":\"ok\"}";

void health_healthz(http_req *r)
{
	http_set_header(r, "Cache-Control", "no-store");
	http_reply_body(r, 200, "application/json", HEALTHZ_BODY, sizeof HEALTHZ_BODY - 1);
}

static const db_stmt PING = { "health_ping", "SELECT 1", 0 };

static void readyz_done(const db_result *res, void *arg)
{
	http_req *r = arg;
	if (res->status != DB_OK) {
		app_reply_db_failure(r, res->status == DB_ERROR ? DB_UNAVAILABLE : res->status);
		return;
	}
	http_set_header(r, "Cache-Control", "no-store");
	http_reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
}

void health_readyz(http_req *r)
{
	db_status st = db_query(app_worker_of(r)->db, &PING, NULL, readyz_done, r);
	if (st != DB_OK)
		app_reply_db_failure(r, st);
}

void health_metrics(http_req *r)
{
	struct evbuffer *out = evbuffer_new();
	metrics_render(out);
	http_reply_evbuffer(r, 200, "text/plain; version=0.0.4; charset=utf-8", out);
	evbuffer_free(out);
}

static const db_stmt SLEEP = { "debug_sleep", "SELECT pg_sleep($1::float8)", 1 };

static void sleep_done(const db_result *res, void *arg)
{
	http_req *r = arg;
	if (res->status != DB_OK) {
		app_reply_db_failure(r, res->status);
		return;
	}
	http_reply_json(r, 200, json_pack("{s:b}", "slept", 1));
}

void health_debug_sleep(http_req *r)
{
	const char *s = http_req_query(r, "seconds");
	char *end;
	double secs = s ? strtod(s, &end) : -1;
	if (!s || end == s || *end || secs < 0 || secs > 30) {
		app_reply_bad_request(r, "seconds must be a number from 0 to 30");
		return;
	}
	const char *params[] = { s };
	db_status st = db_query(app_worker_of(r)->db, &SLEEP, params, sleep_done, r);
	if (st != DB_OK)
		app_reply_db_failure(r, st);
}
