/* test_ingest_parse.c: the POST /v1/events body parser (api/ingest_parse.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/ingest_parse.h"

/* 2025-01-31T12:00:00Z */
#define NOW_S INT64_C(1738324800)
#define NOW_US (NOW_S * 1000000)

static ingest_status parse(const char *body, ingest_batch *b)
{
	return ingest_parse(body, strlen(body), NOW_US, b);
}

/* Parses {"events":[<one>]} and returns its single error message, or NULL if valid. */
static const char *one(const char *event, ingest_batch *b)
{
	char body[4096];
	snprintf(body, sizeof body, "{\"events\":[%s]}", event);
	assert_int_equal(parse(body, b), INGEST_OK);
	assert_int_equal(b->total, 1);
	assert_int_equal(b->nevents + b->nerrors, 1);
	return b->nerrors ? b->errors[0].message : NULL;
}

static const char *one_field(const char *event)
{
	ingest_batch b;
	const char *msg = one(event, &b);
	const char *field = msg ? b.errors[0].field : "";
	ingest_batch_cleanup(&b);
	return field ? field : "(element)";
}

#define VALID(ev) assert_string_equal(one_field(ev), "")
#define INVALID(ev, field) assert_string_equal(one_field(ev), field)

static void full_event(void **state)
{
	(void)state;
	ingest_batch b;
	assert_null(one("{\"service\":\"stripe\",\"operation\":\"charges.create\",\"outcome\":\"error\","
	                "\"latency_ms\":123,\"timestamp\":\"2025-01-31T11:59:00Z\"}", &b));
	assert_int_equal(b.nevents, 1);
	assert_int_equal(b.events[0].index, 0);
	assert_string_equal(b.events[0].service, "stripe");
	assert_string_equal(b.events[0].operation, "charges.create");
	assert_true(b.events[0].error);
	assert_int_equal(b.events[0].latency_ms, 123);
	assert_true(b.events[0].ts_us == NOW_US - 60 * INT64_C(1000000));
	ingest_batch_cleanup(&b);
}

static void defaults(void **state)
{
	(void)state;
	ingest_batch b;
	assert_null(one("{\"service\":\"aws-s3\",\"operation\":\"PutObject\",\"outcome\":\"ok\"}", &b));
	assert_false(b.events[0].error);
	assert_int_equal(b.events[0].latency_ms, -1);
	assert_true(b.events[0].ts_us == NOW_US);
	ingest_batch_cleanup(&b);
	/* null means "not given" */
	assert_null(one("{\"service\":\"aws-s3\",\"operation\":\"x\",\"outcome\":\"ok\",\"latency_ms\":null,"
	                "\"timestamp\":null,\"extra\":{\"ignored\":[1,2]}}", &b));
	assert_int_equal(b.events[0].latency_ms, -1);
	assert_true(b.events[0].ts_us == NOW_US);
	ingest_batch_cleanup(&b);
}

static void service_slugs(void **state)
{
	(void)state;
	ingest_batch b;
	assert_null(one("{\"service\":\"Stripe-EU\",\"operation\":\"x\",\"outcome\":\"ok\"}", &b));
	assert_string_equal(b.events[0].service, "stripe-eu");
	ingest_batch_cleanup(&b);

	VALID("{\"service\":\"s3\",\"operation\":\"x\",\"outcome\":\"ok\"}");
	VALID("{\"service\":\"0x\",\"operation\":\"x\",\"outcome\":\"ok\"}");
	VALID("{\"service\":\"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk\",\"operation\":\"x\","
	      "\"outcome\":\"ok\"}"); /* 63 */
	INVALID("{\"service\":\"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl\",\"operation\":\"x\","
	        "\"outcome\":\"ok\"}", "service"); /* 64 */
	INVALID("{\"operation\":\"x\",\"outcome\":\"ok\"}", "service");
	INVALID("{\"service\":null,\"operation\":\"x\",\"outcome\":\"ok\"}", "service");
	INVALID("{\"service\":\"a\",\"operation\":\"x\",\"outcome\":\"ok\"}", "service");
	INVALID("{\"service\":\"-ab\",\"operation\":\"x\",\"outcome\":\"ok\"}", "service");
	INVALID("{\"service\":\"has space\",\"operation\":\"x\",\"outcome\":\"ok\"}", "service");
	INVALID("{\"service\":\"under_score\",\"operation\":\"x\",\"outcome\":\"ok\"}", "service");
	INVALID("{\"service\":\"str\\u00efpe\",\"operation\":\"x\",\"outcome\":\"ok\"}", "service");
	INVALID("{\"service\":\"ab\\u0000cd\",\"operation\":\"x\",\"outcome\":\"ok\"}", "service");
	INVALID("{\"service\":\"x'; DROP TABLE events;--\",\"operation\":\"x\",\"outcome\":\"ok\"}", "service");
	INVALID("{\"service\":42,\"operation\":\"x\",\"outcome\":\"ok\"}", "service");
	INVALID("{\"service\":[\"stripe\"],\"operation\":\"x\",\"outcome\":\"ok\"}", "service");
}

static void operations(void **state)
{
	(void)state;
	char ev[2048], op[1024];
	memset(op, 'o', 200);
	op[200] = '\0';
	snprintf(ev, sizeof ev, "{\"service\":\"ab\",\"operation\":\"%s\",\"outcome\":\"ok\"}", op);
	VALID(ev);
	memset(op, 'o', 201);
	op[201] = '\0';
	snprintf(ev, sizeof ev, "{\"service\":\"ab\",\"operation\":\"%s\",\"outcome\":\"ok\"}", op);
	INVALID(ev, "operation");
	/* 200 characters of two bytes each: counted as characters, like the column check */
	op[0] = '\0';
	for (int i = 0; i < 200; i++)
		strcat(op, "\xc3\xa9");
	snprintf(ev, sizeof ev, "{\"service\":\"ab\",\"operation\":\"%s\",\"outcome\":\"ok\"}", op);
	VALID(ev);
	strcat(op, "\xc3\xa9");
	snprintf(ev, sizeof ev, "{\"service\":\"ab\",\"operation\":\"%s\",\"outcome\":\"ok\"}", op);
	INVALID(ev, "operation");

	VALID("{\"service\":\"ab\",\"operation\":\"x'); DROP TABLE events; -- \\\"quoted\\\" {a,b} \\\\ NULL\","
	      "\"outcome\":\"ok\"}");
	INVALID("{\"service\":\"ab\",\"outcome\":\"ok\"}", "operation");
	INVALID("{\"service\":\"ab\",\"operation\":\"\",\"outcome\":\"ok\"}", "operation");
	INVALID("{\"service\":\"ab\",\"operation\":\"a\\nb\",\"outcome\":\"ok\"}", "operation");
	INVALID("{\"service\":\"ab\",\"operation\":\"a\\u0000b\",\"outcome\":\"ok\"}", "operation");
	INVALID("{\"service\":\"ab\",\"operation\":\"a\\u007fb\",\"outcome\":\"ok\"}", "operation");
	INVALID("{\"service\":\"ab\",\"operation\":7,\"outcome\":\"ok\"}", "operation");
}

static void outcomes(void **state)
{
	(void)state;
	VALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\"}");
	VALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"error\"}");
	INVALID("{\"service\":\"ab\",\"operation\":\"x\"}", "outcome");
	INVALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"OK\"}", "outcome");
	INVALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"failed\"}", "outcome");
	INVALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\\u0000\"}", "outcome");
	INVALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":true}", "outcome");
}

static void latencies(void **state)
{
	(void)state;
	ingest_batch b;
	assert_null(one("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"latency_ms\":123.6}", &b));
	assert_int_equal(b.events[0].latency_ms, 124);
	ingest_batch_cleanup(&b);
	VALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"latency_ms\":0}");
	VALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"latency_ms\":86400000}");
	INVALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"latency_ms\":86400001}", "latency_ms");
	INVALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"latency_ms\":-1}", "latency_ms");
	INVALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"latency_ms\":\"12\"}", "latency_ms");
	INVALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"latency_ms\":1e300}", "latency_ms");
	/* too big for an integer: one bad event, not an unparseable body */
	INVALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\","
	        "\"latency_ms\":100000000000000000000000000000000000}", "latency_ms");
}

static void timestamps(void **state)
{
	(void)state;
	VALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"timestamp\":\"2025-01-30T12:00:00Z\"}");
	INVALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"timestamp\":\"2025-01-30T11:59:59Z\"}",
	        "timestamp");
	VALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"timestamp\":\"2025-01-31T12:05:00Z\"}");
	INVALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"timestamp\":\"2025-01-31T12:05:00.000001Z\"}",
	        "timestamp");
	VALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"timestamp\":\"2025-01-31T13:00:00+01:00\"}");
	VALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"timestamp\":\"2025-01-31 12:00:00z\"}");
	INVALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"timestamp\":\"2025-01-31T12:00:00\"}",
	        "timestamp");
	INVALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"timestamp\":1738324800}", "timestamp");
	INVALID("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\",\"timestamp\":\"yesterday\"}", "timestamp");

	/* which messages: too old vs ahead */
	ingest_batch b;
	assert_string_equal(one("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\","
	                        "\"timestamp\":\"2025-01-29T12:00:00Z\"}", &b),
	                    "timestamp is more than 24 hours in the past");
	ingest_batch_cleanup(&b);
	assert_string_equal(one("{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\","
	                        "\"timestamp\":\"2025-01-31T13:00:00Z\"}", &b),
	                    "timestamp is more than 5 minutes in the future");
	ingest_batch_cleanup(&b);
}

static int64_t ts(const char *s)
{
	int64_t us = INT64_MIN;
	if (!ingest_parse_rfc3339(s, strlen(s), &us))
		return INT64_MIN;
	return us;
}

static void rfc3339(void **state)
{
	(void)state;
	assert_true(ts("1970-01-01T00:00:00Z") == 0);
	assert_true(ts("2025-01-31T12:00:00Z") == NOW_US);
	assert_true(ts("2025-01-31T12:00:00.5Z") == NOW_US + 500000);
	assert_true(ts("2025-01-31T12:00:00.123456789Z") == NOW_US + 123456);
	assert_true(ts("2025-01-31T13:30:00+01:30") == NOW_US);
	assert_true(ts("2025-01-31T10:00:00-02:00") == NOW_US);
	assert_true(ts("2025-01-31t12:00:00z") == NOW_US);
	assert_true(ts("2024-02-29T00:00:00Z") == INT64_C(1709164800) * 1000000);
	assert_true(ts("2000-03-01T00:00:00Z") == INT64_C(951868800) * 1000000);
	assert_true(ts("2016-12-31T23:59:60Z") == INT64_C(1483228799) * 1000000 + 999999); /* leap second */

	static const char *const bad[] = {
		"", "2025-01-31", "2025-01-31T12:00Z", "2025-01-31T12:00:00", "2025-01-31T12:00:00+0100",
		"2025-01-31T12:00:00+01", "2025-13-01T00:00:00Z", "2025-00-01T00:00:00Z", "2025-02-29T00:00:00Z",
		"2023-04-31T00:00:00Z", "2025-01-00T00:00:00Z", "2025-01-31T24:00:00Z", "2025-01-31T12:60:00Z",
		"2025-01-31T12:00:61Z", "2025-01-31T12:00:00.Z", "2025-01-31T12:00:00ZZ", "2025-01-31T12:00:00+24:00",
		"2025-01-31T12:00:00+01:60", "2025-1-31T12:00:00Z", "+2025-01-31T12:00:00Z", "2025-01-31X12:00:00Z",
		"2025-01-31T12:00:00 Z", "2025-01-31T12:00:00Z ", "２０２５-01-31T12:00:00Z",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (ts(bad[i]) != INT64_MIN)
			fail_msg("accepted %s", bad[i]);
	/* not NUL-terminated: only len bytes count */
	int64_t us;
	assert_true(ingest_parse_rfc3339("2025-01-31T12:00:00Zjunk", 20, &us));
	assert_true(us == NOW_US);
}

static void whole_request_errors(void **state)
{
	(void)state;
	ingest_batch b;
	assert_int_equal(parse("", &b), INGEST_NOT_JSON);
	ingest_batch_cleanup(&b);
	assert_int_equal(parse("{\"events\":[", &b), INGEST_NOT_JSON);
	assert_non_null(strstr(b.detail, "not valid JSON"));
	ingest_batch_cleanup(&b);
	assert_int_equal(parse("{\"events\":[],\"events\":[]}", &b), INGEST_NOT_JSON); /* duplicate key */
	ingest_batch_cleanup(&b);
	assert_int_equal(parse("[{\"service\":\"ab\"}]", &b), INGEST_NOT_OBJECT);
	ingest_batch_cleanup(&b);
	assert_int_equal(parse("\"events\"", &b), INGEST_NOT_OBJECT);
	ingest_batch_cleanup(&b);
	assert_int_equal(parse("{}", &b), INGEST_NO_EVENTS);
	ingest_batch_cleanup(&b);
	assert_int_equal(parse("{\"events\":{}}", &b), INGEST_NO_EVENTS);
	ingest_batch_cleanup(&b);
	assert_int_equal(parse("{\"events\":null}", &b), INGEST_NO_EVENTS);
	ingest_batch_cleanup(&b);
	/* not NUL-terminated input */
	const char raw[] = { '{', '}', 'x' };
	assert_int_equal(ingest_parse(raw, 2, NOW_US, &b), INGEST_NO_EVENTS);
	ingest_batch_cleanup(&b);
	/* empty array: fine, nothing to store */
	assert_int_equal(parse("{\"events\":[]}", &b), INGEST_OK);
	assert_int_equal(b.total, 0);
	assert_int_equal(b.nevents, 0);
	assert_int_equal(b.nerrors, 0);
	ingest_batch_cleanup(&b);
	ingest_batch_cleanup(NULL);
}

static char *batch_of(int n, const char *event)
{
	size_t cap = (size_t)n * (strlen(event) + 1) + 32;
	char *s = malloc(cap);
	strcpy(s, "{\"events\":[");
	size_t len = strlen(s);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? "," : "", event);
	snprintf(s + len, cap - len, "]}");
	return s;
}

static void batch_limits(void **state)
{
	(void)state;
	ingest_batch b;
	char *body = batch_of(INGEST_MAX_EVENTS, "{\"service\":\"ab\",\"operation\":\"x\",\"outcome\":\"ok\"}");
	assert_int_equal(parse(body, &b), INGEST_OK);
	assert_int_equal(b.nevents, INGEST_MAX_EVENTS);
	ingest_batch_cleanup(&b);
	free(body);
	body = batch_of(INGEST_MAX_EVENTS + 1, "{}");
	assert_int_equal(parse(body, &b), INGEST_TOO_MANY);
	assert_non_null(strstr(b.detail, "1001"));
	ingest_batch_cleanup(&b);
	free(body);
}

static void mixed_batch_keeps_valid_ones(void **state)
{
	(void)state;
	ingest_batch b;
	assert_int_equal(parse("{\"events\":["
	                       "{\"service\":\"stripe\",\"operation\":\"a\",\"outcome\":\"ok\"},"     /* 0 ok */
	                       "7,"                                                                    /* 1 bad */
	                       "{\"service\":\"stripe\",\"operation\":\"b\",\"outcome\":\"maybe\"},"  /* 2 bad */
	                       "{\"service\":\"GitHub\",\"operation\":\"c\",\"outcome\":\"error\"}," /* 3 ok */
	                       "{\"service\":\"x\",\"operation\":\"\",\"outcome\":\"nope\"},"          /* 4 bad (service) */
	                       "{\"service\":\"twilio\",\"operation\":\"d\",\"outcome\":\"ok\"}"      /* 5 ok */
	                       "]}", &b),
	                 INGEST_OK);
	assert_int_equal(b.total, 6);
	assert_int_equal(b.nevents, 3);
	assert_int_equal(b.events[0].index, 0);
	assert_int_equal(b.events[1].index, 3);
	assert_string_equal(b.events[1].service, "github");
	assert_true(b.events[1].error);
	assert_int_equal(b.events[2].index, 5);
	assert_int_equal(b.nerrors, 3);
	assert_int_equal(b.errors[0].index, 1);
	assert_null(b.errors[0].field);
	assert_int_equal(b.errors[1].index, 2);
	assert_string_equal(b.errors[1].field, "outcome");
	assert_int_equal(b.errors[2].index, 4);
	assert_string_equal(b.errors[2].field, "service");
	ingest_batch_cleanup(&b);
}

static void slugs(void **state)
{
	(void)state;
	assert_true(ingest_valid_slug("demo"));
	assert_true(ingest_valid_slug("a1"));
	assert_false(ingest_valid_slug("a"));
	assert_false(ingest_valid_slug(""));
	assert_false(ingest_valid_slug("-demo"));
	assert_false(ingest_valid_slug("Demo"));
	assert_false(ingest_valid_slug("de mo"));
	assert_false(ingest_valid_slug("demo.svg"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_event),
		cmocka_unit_test(defaults),
		cmocka_unit_test(service_slugs),
		cmocka_unit_test(operations),
		cmocka_unit_test(outcomes),
		cmocka_unit_test(latencies),
		cmocka_unit_test(timestamps),
		cmocka_unit_test(rfc3339),
		cmocka_unit_test(whole_request_errors),
		cmocka_unit_test(batch_limits),
		cmocka_unit_test(mixed_batch_keeps_valid_ones),
		cmocka_unit_test(slugs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
