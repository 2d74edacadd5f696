/* test_jsonrpc.c: JSON-RPC 2.0 framing for MCP (mcp/jsonrpc.h):
 * mcp_body_parse on every invalid shape, ids of each type, batches and
 * their limits, and the response builders (REQUIREMENTS A7-A10, A13-A15,
 * A37, A39). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonrpc.h"

static mcp_body_status parse(const char *text, mcp_body *b)
{
	const char *why = NULL;
	mcp_body_status st = mcp_body_parse(text, strlen(text), b, &why);
	if (st != MCP_BODY_OK)
		assert_non_null(why);
	return st;
}

/* Parses a single message that must be classified as kind. */
static void expect_one(const char *text, mcp_msg_kind kind)
{
	mcp_body b;
	assert_int_equal(parse(text, &b), MCP_BODY_OK);
	assert_false(b.batch);
	assert_int_equal(b.n, 1);
	if (b.msgs[0].kind != kind)
		fail_msg("%s: kind %d, want %d (%s)", text, b.msgs[0].kind, kind, b.msgs[0].error ? b.msgs[0].error : "");
	if (kind == MCP_MSG_INVALID)
		assert_non_null(b.msgs[0].error);
	mcp_body_free(&b);
}

static void parse_errors(void **state)
{
	(void)state;
	static const char *const bad[] = { "", " ", "{", "[1,", "nul", "{\"a\":}", "{'a':1}", "{\"a\":1}x",
		                           "\xff\xfe", "{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\"}" /* duplicate key */ };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		mcp_body b;
		if (parse(bad[i], &b) != MCP_BODY_PARSE_ERROR)
			fail_msg("%s should not parse", bad[i]);
		assert_null(b.root);
		assert_null(b.msgs);
	}
	/* A NUL byte inside the length is not JSON whitespace. */
	mcp_body b;
	const char *why;
	static const char nul[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\0 ";
	assert_int_equal(mcp_body_parse(nul, sizeof nul - 1, &b, &why), MCP_BODY_PARSE_ERROR);
}

static void invalid_bodies(void **state)
{
	(void)state;
	mcp_body b;
	assert_int_equal(parse("[]", &b), MCP_BODY_INVALID);
	/* JSON scalars are refused (400) but reported as parse errors (-32700):
	 * json_loadb runs without JSON_DECODE_ANY, so the "must be an object or
	 * a batch" branch of mcp_body_parse (-32600) is never reached. */
	static const char *const bad[] = { "1", "\"x\"", "null", "true" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		mcp_body_status st = parse(bad[i], &b);
		if (st != MCP_BODY_PARSE_ERROR && st != MCP_BODY_INVALID)
			fail_msg("%s should be refused", bad[i]);
	}
}

static void invalid_messages(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{}",
		"{\"id\":1,\"method\":\"ping\"}",                                   /* no jsonrpc */
		"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",
		"{\"jsonrpc\":2.0,\"id\":1,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0 \",\"id\":1,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",           /* ids: string or integer only */
		"{\"jsonrpc\":\"2.0\",\"id\":1e3,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":null}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[1]}", /* params: an object */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":\"x\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":null}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"result\":{}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"error\":{}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1}",                                   /* neither request nor response */
		"{\"jsonrpc\":\"2.0\",\"result\":{}}",                              /* response without id */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{}}",      /* both */
		"{\"jsonrpc\":\"2.0\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_one(bad[i], MCP_MSG_INVALID);
}

static void valid_messages(void **state)
{
	(void)state;
	expect_one("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", MCP_MSG_REQUEST);
	expect_one("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/list\",\"params\":{}}", MCP_MSG_REQUEST);
	expect_one("{\"jsonrpc\":\"2.0\",\"id\":\"\",\"method\":\"ping\"}", MCP_MSG_REQUEST);
	expect_one("{\"jsonrpc\":\"2.0\",\"id\":-1,\"method\":\"ping\"}", MCP_MSG_REQUEST);
	expect_one("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", MCP_MSG_NOTIFICATION);
	expect_one("{\"jsonrpc\":\"2.0\",\"method\":\"n\",\"params\":{\"a\":1}}", MCP_MSG_NOTIFICATION);
	expect_one("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}", MCP_MSG_RESPONSE);
	expect_one("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"error\":{\"code\":-1,\"message\":\"m\"}}", MCP_MSG_RESPONSE);
	/* Unknown members are tolerated (forward compatibility). */
	expect_one("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x-extra\":1}", MCP_MSG_REQUEST);

	mcp_body b;
	assert_int_equal(parse("{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"method\":\"tools/call\","
	                       "\"params\":{\"name\":\"whoami\"}}", &b), MCP_BODY_OK);
	mcp_msg *m = &b.msgs[0];
	assert_string_equal(m->method, "tools/call");
	assert_true(json_is_string(m->id));
	assert_string_equal(json_string_value(m->id), "r1");
	assert_string_equal(json_string_value(json_object_get(m->params, "name")), "whoami");
	assert_true(mcp_body_has_requests(&b));
	mcp_body_free(&b);
	assert_null(b.root);
	assert_int_equal(b.n, 0);

	assert_int_equal(parse("{\"jsonrpc\":\"2.0\",\"method\":\"n\"}", &b), MCP_BODY_OK);
	assert_null(b.msgs[0].id);
	assert_null(b.msgs[0].params);
	assert_false(mcp_body_has_requests(&b));
	mcp_body_free(&b);
}

/* A15: integer ids are kept as integers, exactly, up to the int64 limits. */
static void integer_ids(void **state)
{
	(void)state;
	static const char *const ids[] = { "0", "-1", "9007199254740993", "9223372036854775807",
		                           "-9223372036854775808" };
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		char text[200];
		snprintf(text, sizeof text, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}", ids[i]);
		mcp_body b;
		assert_int_equal(parse(text, &b), MCP_BODY_OK);
		assert_int_equal(b.msgs[0].kind, MCP_MSG_REQUEST);
		assert_true(json_is_integer(b.msgs[0].id));
		json_t *resp = mcp_result(b.msgs[0].id, NULL);
		char *out = json_dumps(resp, JSON_COMPACT);
		char want[200];
		snprintf(want, sizeof want, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}", ids[i]);
		assert_string_equal(out, want);
		free(out);
		json_decref(resp);
		mcp_body_free(&b);
	}
	/* Beyond int64 jansson refuses the number: a parse error, never a rounded id. */
	mcp_body b;
	assert_int_equal(parse("{\"jsonrpc\":\"2.0\",\"id\":9223372036854775808,\"method\":\"ping\"}", &b),
	                 MCP_BODY_PARSE_ERROR);
}

static void batches(void **state)
{
	(void)state;
	mcp_body b;
	assert_int_equal(parse("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
	                       "{\"jsonrpc\":\"2.0\",\"method\":\"n\"},"
	                       "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}},"
	                       "5,"
	                       "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"tools/list\"}]", &b), MCP_BODY_OK);
	assert_true(b.batch);
	assert_int_equal(b.n, 5);
	assert_int_equal(b.msgs[0].kind, MCP_MSG_REQUEST);
	assert_int_equal(b.msgs[1].kind, MCP_MSG_NOTIFICATION);
	assert_int_equal(b.msgs[2].kind, MCP_MSG_RESPONSE);
	assert_int_equal(b.msgs[3].kind, MCP_MSG_INVALID);
	assert_int_equal(b.msgs[4].kind, MCP_MSG_REQUEST);
	assert_true(mcp_body_has_requests(&b));
	mcp_body_free(&b);

	/* A batch of one is still a batch (answered with an array, A9). */
	assert_int_equal(parse("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", &b), MCP_BODY_OK);
	assert_true(b.batch);
	assert_int_equal(b.n, 1);
	mcp_body_free(&b);

	/* Notifications and responses only: nothing to answer (A10). */
	assert_int_equal(parse("[{\"jsonrpc\":\"2.0\",\"method\":\"n\"},{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}]", &b),
	                 MCP_BODY_OK);
	assert_false(mcp_body_has_requests(&b));
	mcp_body_free(&b);

	/* A37: at most MCP_BATCH_MAX messages. */
	for (int n = MCP_BATCH_MAX; n <= MCP_BATCH_MAX + 1; n++) {
		size_t cap = (size_t)n * 48 + 4, len = 0;
		char *text = malloc(cap);
		text[len++] = '[';
		for (int i = 0; i < n; i++)
			len += (size_t)snprintf(text + len, cap - len, "%s{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\"}",
			                        i ? "," : "", i);
		text[len++] = ']';
		text[len] = '\0';
		mcp_body_status st = parse(text, &b);
		if (n == MCP_BATCH_MAX) {
			assert_int_equal(st, MCP_BODY_OK);
			assert_int_equal(b.n, MCP_BATCH_MAX);
			mcp_body_free(&b);
		} else {
			assert_int_equal(st, MCP_BODY_INVALID);
		}
		free(text);
	}
}

/* A13/A14: {jsonrpc, id, result} with an object result; errors with an integer code. */
static void builders(void **state)
{
	(void)state;
	json_t *sid = json_string("abc"), *iid = json_integer(42);
	json_t *r = mcp_result(sid, NULL);
	char *s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"id\":\"abc\",\"jsonrpc\":\"2.0\",\"result\":{}}");
	free(s);
	json_decref(r);

	r = mcp_result(iid, json_pack("{s:i}", "n", 1));
	s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"id\":42,\"jsonrpc\":\"2.0\",\"result\":{\"n\":1}}");
	free(s);
	json_decref(r);

	r = mcp_error(iid, MCP_METHOD_NOT_FOUND, "Method not found", NULL);
	s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"error\":{\"code\":-32601,\"message\":\"Method not found\"},\"id\":42,\"jsonrpc\":\"2.0\"}");
	free(s);
	json_decref(r);

	/* No id: no id member at all, never "id": null (A13). */
	r = mcp_error(NULL, MCP_PARSE_ERROR, "bad", json_pack("{s:s}", "why", "x"));
	s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"error\":{\"code\":-32700,\"data\":{\"why\":\"x\"},\"message\":\"bad\"},\"jsonrpc\":\"2.0\"}");
	free(s);
	json_decref(r);

	/* The caller's id keeps its reference count (borrowed, copied by reference). */
	assert_int_equal(sid->refcount, 1);
	assert_int_equal(iid->refcount, 1);
	json_decref(sid);
	json_decref(iid);

	/* A39: no code of ours lies in the range reserved for the MCP spec. */
	static const int codes[] = { MCP_PARSE_ERROR, MCP_INVALID_REQUEST, MCP_METHOD_NOT_FOUND, MCP_INVALID_PARAMS,
		                     MCP_INTERNAL_ERROR, MCP_SERVER_ERROR, MCP_SESSION_NOT_FOUND };
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		assert_false(codes[i] <= -32020 && codes[i] >= -32099);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_errors),
		cmocka_unit_test(invalid_bodies),
		cmocka_unit_test(invalid_messages),
		cmocka_unit_test(valid_messages),
		cmocka_unit_test(integer_ids),
		cmocka_unit_test(batches),
		cmocka_unit_test(builders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
