/* test_log.c: JSON escaping and the two log streams (log.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* ------------------------------------------------------ log_json_escape */

/* Escapes s into a fresh, roomy buffer: the reference result. */
static char *escape_all(const char *s)
{
	size_t cap = strlen(s) * 6 + 1, n = 0;
	char *buf = malloc(cap);
	log_json_escape(buf, cap, &n, s);
	assert_int_equal(strlen(buf), n);
	return buf;
}

static void escapes(void **state)
{
	(void)state;
	static const struct { const char *in, *out; } cases[] = {
		{ "plain text", "plain text" },
		{ "", "" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "\"\\\"", "\\\"\\\\\\\"" },
		{ "\n\r\t\b\f", "\\u000a\\u000d\\u0009\\u0008\\u000c" },
		{ "\x01\x1f\x7f", "\\u0001\\u001f\\u007f" },
		{ "caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac" }, /* UTF-8 passes through */
		{ "</script>", "</script>" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = escape_all(cases[i].in);
		assert_string_equal(got, cases[i].out);
		/* The result, quoted, is a JSON string that decodes to the input. */
		size_t qn = strlen(got) + 3;
		char *quoted = malloc(qn);
		snprintf(quoted, qn, "\"%s\"", got);
		json_error_t err;
		json_t *j = json_loads(quoted, JSON_DECODE_ANY, &err);
		assert_non_null(j);
		assert_string_equal(json_string_value(j), cases[i].in);
		json_decref(j);
		free(quoted);
		free(got);
	}
}

static void appends_and_null(void **state)
{
	(void)state;
	char buf[32] = "ab";
	size_t n = 2;
	log_json_escape(buf, sizeof buf, &n, "c\"");
	assert_string_equal(buf, "abc\\\"");
	assert_int_equal(n, 5);
	log_json_escape(buf, sizeof buf, &n, NULL); /* NULL is "" */
	assert_string_equal(buf, "abc\\\"");
	assert_int_equal(n, 5);
}

/* For every capacity: the output is the longest prefix of the full escape
 * made of whole escapes that fits with its terminator, nothing is written
 * at or past cap, and the result is terminated whenever there is room. */
static void truncation_never_splits_or_overflows(void **state)
{
	(void)state;
	static const char *const inputs[] = {
		"\"\"\"\"", "a\\b\\c", "\x01x\x02y\x1f", "mix\"ed\n\\ \x7f end", "\xc3\xa9\xc3\xa9", "plain",
	};
	enum { CANARY = 16 };
	for (size_t t = 0; t < sizeof inputs / sizeof inputs[0]; t++) {
		const char *in = inputs[t];
		char *full = escape_all(in);
		size_t flen = strlen(full);
		/* Boundaries: lengths of the escapes of each prefix of the input. */
		size_t bounds[64], nb = 0;
		bounds[nb++] = 0;
		for (size_t k = 1; k <= strlen(in); k++) {
			char *pre = strndup(in, k), *e = escape_all(pre);
			bounds[nb++] = strlen(e);
			free(e);
			free(pre);
		}
		for (size_t start = 0; start <= 3; start += 3) {
			for (size_t cap = 0; cap <= start + flen + 2; cap++) {
				char buf[128 + CANARY];
				memset(buf, '#', sizeof buf);
				memcpy(buf, "xyz", start);
				size_t n = start;
				log_json_escape(buf, cap, &n, in);
				for (size_t i = cap > start ? cap : start; i < sizeof buf; i++)
					if (i >= cap && buf[i] != '#') {
						print_error("wrote past cap=%zu at %zu for input %zu\n", cap, i, t);
						fail();
					}
				if (cap <= start) {
					assert_int_equal(n, start); /* no room: nothing added */
					continue;
				}
				assert_true(n < cap);
				assert_int_equal(buf[n], '\0');
				size_t added = n - start;
				assert_memory_equal(buf + start, full, added);
				/* A whole number of escapes, and the most that fit. */
				size_t best = 0;
				bool on_boundary = false;
				for (size_t b = 0; b < nb; b++) {
					if (bounds[b] == added)
						on_boundary = true;
					if (start + bounds[b] + 1 <= cap && bounds[b] > best)
						best = bounds[b];
				}
				if (!on_boundary)
					print_error("split an escape: cap=%zu start=%zu input %zu\n", cap, start, t);
				assert_true(on_boundary);
				assert_int_equal(added, best);
			}
		}
		free(full);
	}
}

/* ------------------------------------------------------------- streams */

/* Runs fn with file descriptor fd redirected to a temporary file and
 * returns what fn wrote there (owned by the caller). */
static char *capture(int fd, void (*fn)(void *), void *arg)
{
	fflush(NULL);
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	int saved = dup(fd);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), fd) >= 0);
	fn(arg);
	fflush(NULL);
	dup2(saved, fd);
	close(saved);
	fseek(tmp, 0, SEEK_END);
	long len = ftell(tmp);
	rewind(tmp);
	char *out = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(out, 1, (size_t)len, tmp), (size_t)len);
	fclose(tmp);
	return out;
}

/* Splits text into lines, each parsed as a JSON object; returns the count. */
static size_t parse_lines(const char *text, json_t **out, size_t max)
{
	size_t n = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl); /* every line is terminated */
		json_error_t err;
		json_t *j = json_loadb(p, (size_t)(nl - p), 0, &err);
		if (!j)
			print_error("not JSON (%s): %.*s\n", err.text, (int)(nl - p), p);
		assert_non_null(j);
		assert_true(json_is_object(j));
		if (n < max)
			out[n] = j;
		else
			json_decref(j);
		n++;
		p = nl + 1;
	}
	return n;
}

static void one_access_entry(void *arg)
{
	log_access(arg);
	log_flush_thread();
}

static void access_line_fields(void **state)
{
	(void)state;
	log_setup(LOG_INFO, true);
	log_access_entry e = {
		.method = "POST", .route = "/orgs/{slug}", .path = "/orgs/a\"b\\c\n\x01",
		.status = 201, .duration_ms = 12.5, .request_id = "req-1", .ip = "::1", .bytes_out = 77,
	};
	char *out = capture(STDOUT_FILENO, one_access_entry, &e);
	json_t *l[2];
	assert_int_equal(parse_lines(out, l, 2), 1);
	json_t *j = l[0];
	const char *time = json_string_value(json_object_get(j, "time"));
	assert_non_null(time);
	assert_int_equal(strlen(time), 24);
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "request");
	assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(j, "route")), "/orgs/{slug}");
	assert_string_equal(json_string_value(json_object_get(j, "path")), e.path);
	assert_int_equal(json_integer_value(json_object_get(j, "status")), 201);
	assert_true(json_number_value(json_object_get(j, "duration_ms")) == 12.5);
	assert_int_equal(json_integer_value(json_object_get(j, "bytes")), 77);
	assert_string_equal(json_string_value(json_object_get(j, "request_id")), "req-1");
	assert_string_equal(json_string_value(json_object_get(j, "ip")), "::1");
	json_decref(j);
	free(out);
}

static void access_line_long_fields_stay_valid(void **state)
{
	(void)state;
	log_setup(LOG_INFO, true);
	/* Every field at its worst: long and made of 2- and 6-byte escapes. */
	char path[3000], rid[600], ip[300];
	for (size_t i = 0; i < sizeof path - 1; i++)
		path[i] = (i % 3) ? '"' : '\x01';
	path[sizeof path - 1] = '\0';
	memset(rid, '\\', sizeof rid - 1);
	rid[sizeof rid - 1] = '\0';
	memset(ip, '\x02', sizeof ip - 1);
	ip[sizeof ip - 1] = '\0';
	log_access_entry e = {
		.method = "GET", .route = path, .path = path, .status = 200, .duration_ms = 1e9,
		.request_id = rid, .ip = ip, .bytes_out = 9223372036854775807L,
	};
	char *out = capture(STDOUT_FILENO, one_access_entry, &e);
	assert_true(strlen(out) <= 1024);
	json_t *l[2];
	assert_int_equal(parse_lines(out, l, 2), 1);
	json_t *j = l[0];
	assert_int_equal(json_integer_value(json_object_get(j, "status")), 200);
	const char *p = json_string_value(json_object_get(j, "path"));
	assert_non_null(p);
	assert_true(strlen(p) > 0 && strlen(p) < strlen(path));
	assert_int_equal(strncmp(p, path, strlen(p)), 0); /* a true prefix */
	assert_non_null(json_object_get(j, "request_id"));
	assert_non_null(json_object_get(j, "ip"));
	json_decref(j);
	free(out);
}

static void many_entries(void *arg)
{
	const log_access_entry *e = arg;
	for (int i = 0; i < 300; i++) /* ~75 KiB: crosses the 64 KiB thread buffer */
		log_access(e);
	log_flush_thread();
}

static void access_buffer_flushes_whole_lines(void **state)
{
	(void)state;
	log_setup(LOG_INFO, true);
	char path[201];
	memset(path, 'p', 200);
	path[200] = '\0';
	log_access_entry e = { .method = "GET", .route = "-", .path = path, .status = 404,
	                       .duration_ms = 0.1, .request_id = "0123456789abcdef", .ip = "127.0.0.1" };
	char *out = capture(STDOUT_FILENO, many_entries, &e);
	json_t *l[1];
	size_t n = parse_lines(out, l, 0);
	assert_int_equal(n, 300);
	free(out);
}

static void access_log_off(void **state)
{
	(void)state;
	log_setup(LOG_INFO, false);
	log_access_entry e = { .method = "GET", .route = "-", .path = "/", .status = 200, .request_id = "x", .ip = "-" };
	char *out = capture(STDOUT_FILENO, one_access_entry, &e);
	assert_string_equal(out, "");
	free(out);
	log_setup(LOG_INFO, true);
}

static void some_messages(void *arg)
{
	(void)arg;
	log_msg(LOG_DEBUG, "hidden debug");
	log_msg(LOG_INFO, "hidden info");
	log_msg(LOG_WARN, "shown \"%s\"", "quoted\n\\");
	log_msg(LOG_ERROR, "error %d", 42);
}

static void messages_and_levels(void **state)
{
	(void)state;
	log_setup(LOG_WARN, true);
	assert_false(log_enabled(LOG_INFO));
	assert_true(log_enabled(LOG_WARN));
	assert_true(log_enabled(LOG_ERROR));
	char *out = capture(STDERR_FILENO, some_messages, NULL);
	json_t *l[4];
	assert_int_equal(parse_lines(out, l, 4), 2);
	assert_string_equal(json_string_value(json_object_get(l[0], "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(l[0], "msg")), "shown \"quoted\n\\\"");
	assert_string_equal(json_string_value(json_object_get(l[1], "level")), "error");
	assert_string_equal(json_string_value(json_object_get(l[1], "msg")), "error 42");
	assert_non_null(json_object_get(l[1], "time"));
	json_decref(l[0]);
	json_decref(l[1]);
	free(out);
	log_setup(LOG_INFO, true);
}

static void long_message(void *arg)
{
	log_msg(LOG_ERROR, "%s", (const char *)arg);
}

static void long_messages_stay_valid(void **state)
{
	(void)state;
	log_setup(LOG_INFO, true);
	char msg[3000];
	for (size_t i = 0; i < sizeof msg - 1; i++)
		msg[i] = (i % 2) ? '\x1b' : '"';
	msg[sizeof msg - 1] = '\0';
	char *out = capture(STDERR_FILENO, long_message, msg);
	json_t *l[2];
	assert_int_equal(parse_lines(out, l, 2), 1);
	const char *m = json_string_value(json_object_get(l[0], "msg"));
	assert_non_null(m);
	assert_true(strlen(m) > 100);
	assert_int_equal(strncmp(m, msg, strlen(m)), 0);
	json_decref(l[0]);
	free(out);
}

static void time_format(void **state)
{
	(void)state;
	char t[32];
	log_time_iso(t);
	/* 2026-01-02T03:04:05.678Z */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	assert_int_equal(strlen(t), strlen(shape));
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'd')
			assert_true(isdigit((unsigned char)t[i]));
		else
			assert_int_equal(t[i], shape[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escapes),
		cmocka_unit_test(appends_and_null),
		cmocka_unit_test(truncation_never_splits_or_overflows),
		cmocka_unit_test(access_line_fields),
		cmocka_unit_test(access_line_long_fields_stay_valid),
		cmocka_unit_test(access_buffer_flushes_whole_lines),
		cmocka_unit_test(access_log_off),
		cmocka_unit_test(messages_and_levels),
		cmocka_unit_test(long_messages_stay_valid),
		cmocka_unit_test(time_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
