/* test_mcp_schema.c: the tool table (mcp/tool_defs.c) and the argument
 * checker mcp_schema_check (mcp/tools.c): names, schemas and annotations
 * of every tool (REQUIREMENTS A45-A47, E13), and each rule of the checker,
 * which turns bad arguments into isError results (A52). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tools.h"

static const char *const WRITE_TOOLS[] = { "acknowledge_incident", "add_incident_note", "update_incident_status" };

static bool is_write(const char *name)
{
	for (size_t i = 0; i < sizeof WRITE_TOOLS / sizeof WRITE_TOOLS[0]; i++)
		if (!strcmp(name, WRITE_TOOLS[i]))
			return true;
	return false;
}

/* Every schema keyword the checker and the tests understand. */
static void keywords_known(const char *tool, json_t *schema)
{
	static const char *const known[] = { "type", "properties", "required", "additionalProperties", "enum",
		                             "minLength", "maxLength", "minimum", "maximum", "items", "format",
		                             "description", NULL };
	const char *k;
	json_t *v;
	json_object_foreach(schema, k, v)
	{
		bool ok = false;
		for (int i = 0; known[i]; i++)
			ok = ok || !strcmp(k, known[i]);
		if (!ok)
			fail_msg("%s: schema keyword %s", tool, k);
	}
	json_t *props = json_object_get(schema, "properties");
	json_object_foreach(props, k, v) keywords_known(tool, v);
	if (json_is_object(json_object_get(schema, "items")))
		keywords_known(tool, json_object_get(schema, "items"));
}

static void table(void **state)
{
	(void)state;
	assert_int_equal(mcp_tool_count, 13);
	for (size_t i = 0; i < mcp_tool_count; i++) {
		const mcp_tool *t = &mcp_tool_table[i];
		/* A46/E13: snake_case, at most 40 characters, unique. */
		size_t n = strlen(t->name);
		assert_true(n >= 1 && n <= 40);
		assert_int_equal(strspn(t->name, "abcdefghijklmnopqrstuvwxyz0123456789_"), n);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(t->name, mcp_tool_table[j].name);
		assert_true(strlen(t->title) > 0);
		assert_true(strlen(t->description) > 20);
		assert_non_null(t->call);

		json_error_t err;
		json_t *in = json_loads(t->input_schema, 0, &err);
		if (!in)
			fail_msg("%s: inputSchema is not JSON: %s at %d", t->name, err.text, err.position);
		json_t *out = json_loads(t->output_schema, 0, &err);
		if (!out)
			fail_msg("%s: outputSchema is not JSON: %s at %d", t->name, err.text, err.position);
		/* A45: object roots; inputs closed; every required argument is a property. */
		assert_string_equal(json_string_value(json_object_get(in, "type")), "object");
		assert_true(json_is_false(json_object_get(in, "additionalProperties")));
		assert_string_equal(json_string_value(json_object_get(out, "type")), "object");
		size_t k;
		json_t *r;
		json_array_foreach(json_object_get(in, "required"), k, r)
			assert_non_null(json_object_get(json_object_get(in, "properties"), json_string_value(r)));
		json_array_foreach(json_object_get(out, "required"), k, r)
			assert_non_null(json_object_get(json_object_get(out, "properties"), json_string_value(r)));
		keywords_known(t->name, in);
		keywords_known(t->name, out);

		/* A47 and scopes: reads are read-only and idempotent; writes need write. */
		if (is_write(t->name)) {
			assert_int_equal(t->scope, AUTH_SCOPE_WRITE);
			assert_false(t->read_only);
		} else {
			assert_int_equal(t->scope, AUTH_SCOPE_READ);
			assert_true(t->read_only);
			assert_false(t->destructive);
			assert_true(t->idempotent);
		}

		/* No arguments is valid exactly when nothing is required. */
		char why[300];
		json_t *none = json_object();
		assert_int_equal(mcp_schema_check(t->input_schema, none, why, sizeof why),
		                 json_array_size(json_object_get(in, "required")) == 0);
		json_decref(none);
		json_decref(in);
		json_decref(out);
	}
}

#define SCHEMA \
	"{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"id\"],\"properties\":{" \
	"\"id\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":5}," \
	"\"status\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"]}," \
	"\"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10}," \
	"\"x\":{\"type\":\"number\",\"minimum\":0.5}," \
	"\"flag\":{\"type\":\"boolean\"}," \
	"\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}," \
	"\"obj\":{\"type\":\"object\"}}}"

static bool check(const char *args_text, char *why, size_t cap)
{
	json_t *args = json_loads(args_text, 0, NULL);
	assert_non_null(args);
	bool ok = mcp_schema_check(SCHEMA, args, why, cap);
	json_decref(args);
	return ok;
}

static void expect_ok(const char *args)
{
	char why[300] = "";
	if (!check(args, why, sizeof why))
		fail_msg("%s rejected: %s", args, why);
}

static void expect_bad(const char *args, const char *says)
{
	char why[300] = "";
	if (check(args, why, sizeof why))
		fail_msg("%s accepted", args);
	if (!strstr(why, says))
		fail_msg("%s: \"%s\" does not say \"%s\"", args, why, says);
}

static void checker(void **state)
{
	(void)state;
	expect_ok("{\"id\":\"a\"}");
	expect_ok("{\"id\":\"abcde\",\"status\":\"b\",\"n\":10,\"x\":0.5,\"flag\":false,\"tags\":[],\"obj\":{}}");
	expect_ok("{\"id\":\"a\",\"x\":3}"); /* an integer is a number */
	expect_ok("{\"id\":\"a\",\"tags\":[\"p\",\"q\"]}");

	expect_bad("{}", "Missing required argument id");
	expect_bad("{\"id\":\"a\",\"zzz\":1}", "Unknown argument zzz");
	expect_bad("{\"id\":5}", "id must be of type string");
	expect_bad("{\"id\":null}", "id must be of type string");
	expect_bad("{\"id\":\"\"}", "id must be 1 to 5 characters");
	expect_bad("{\"id\":\"abcdef\"}", "id must be 1 to 5 characters");
	expect_bad("{\"id\":\"a\",\"status\":\"c\"}", "status must be one of [\"a\",\"b\"]");
	expect_bad("{\"id\":\"a\",\"n\":0}", "n is out of range");
	expect_bad("{\"id\":\"a\",\"n\":11}", "n is out of range");
	expect_bad("{\"id\":\"a\",\"n\":1.5}", "n must be of type integer");
	expect_bad("{\"id\":\"a\",\"n\":\"3\"}", "n must be of type integer");
	expect_bad("{\"id\":\"a\",\"x\":0.25}", "x is out of range");
	expect_bad("{\"id\":\"a\",\"flag\":1}", "flag must be of type boolean");
	expect_bad("{\"id\":\"a\",\"tags\":\"p\"}", "tags must be of type array");
	expect_bad("{\"id\":\"a\",\"tags\":[\"p\",1]}", "Every item of tags must be of type string");
	expect_bad("{\"id\":\"a\",\"obj\":[]}", "obj must be of type object");

	/* An open schema lets unknown members through. */
	json_t *args = json_pack("{s:s, s:i}", "id", "a", "other", 1);
	char why[300];
	assert_true(mcp_schema_check("{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"}}}", args, why,
	                             sizeof why));
	/* A broken schema fails closed, with a message. */
	assert_false(mcp_schema_check("{not json", args, why, sizeof why));
	assert_non_null(strstr(why, "schema"));
	/* The message is cut to the buffer, always terminated. */
	char tiny[8];
	memset(tiny, 'x', sizeof tiny);
	json_t *bad = json_pack("{s:i}", "id", 1);
	assert_false(mcp_schema_check(SCHEMA, bad, tiny, sizeof tiny));
	assert_int_equal(strlen(tiny), sizeof tiny - 1);
	json_decref(bad);
	json_decref(args);
}

/* JSON Schema lengths count characters (code points), as the API's own
 * limits and every client-side validator do, not UTF-8 bytes. */
static void lengths_count_characters(void **state)
{
	(void)state;
	expect_ok("{\"id\":\"\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\"}");                 /* 5 x ü = 10 bytes */
	expect_ok("{\"id\":\"\xf0\x9f\x9a\x80\xf0\x9f\x9a\x80\xf0\x9f\x9a\x80\xf0\x9f\x9a\x80\"}"); /* 4 emoji */
	expect_bad("{\"id\":\"\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\"}", "1 to 5 characters"); /* 6 x ü */

	/* add_incident_note's body: 10000 characters of multi-byte text pass the schema. */
	const mcp_tool *note = NULL;
	for (size_t i = 0; i < mcp_tool_count; i++)
		if (!strcmp(mcp_tool_table[i].name, "add_incident_note"))
			note = &mcp_tool_table[i];
	assert_non_null(note);
	size_t n = 10000;
	char *body = malloc(n * 2 + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(body + 2 * i, "\xc3\xa9", 2); /* é */
	body[2 * n] = '\0';
	json_t *args = json_pack("{s:s, s:s}", "incident_id", "00000000-0000-0000-0000-000000000000", "body", body);
	char why[300] = "";
	if (!mcp_schema_check(note->input_schema, args, why, sizeof why))
		fail_msg("10000 characters rejected: %s", why);
	json_decref(args);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),
		cmocka_unit_test(checker),
		cmocka_unit_test(lengths_count_characters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
