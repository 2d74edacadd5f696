/* test_config.c: environment → struct cfg, host:port and base URL checks (config.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

extern char **environ;

/* Removes DATABASE_URL and every CUPD_* variable, so each test starts from
 * the defaults whatever the shell that runs it has set. */
static int clear_env(void **state)
{
	(void)state;
	for (;;) {
		char name[256] = "";
		for (char **e = environ; *e; e++)
			if (!strncmp(*e, "CUPD_", 5) || !strncmp(*e, "DATABASE_URL=", 13)) {
				size_t n = strcspn(*e, "=");
				snprintf(name, sizeof name, "%.*s", (int)n, *e);
				break;
			}
		if (!*name)
			return 0;
		unsetenv(name);
	}
}

/* cfg_load with its error stream captured; *msg is owned by the caller. */
static bool load(cfg *c, char **msg)
{
	size_t len;
	FILE *err = open_memstream(msg, &len);
	bool ok = cfg_load(c, err);
	fclose(err);
	return ok;
}

/* Sets name=value, expects cfg_load to refuse with one line naming name. */
static void expect_bad(const char *name, const char *value)
{
	cfg c;
	char *msg = NULL;
	setenv(name, value, 1);
	bool ok = load(&c, &msg);
	if (ok) {
		print_error("%s=\"%s\" was accepted\n", name, value);
		cfg_cleanup(&c);
	}
	assert_false(ok);
	assert_non_null(strstr(msg, name));
	assert_non_null(strchr(msg, '\n'));
	assert_int_equal(strchr(msg, '\n')[1], '\0'); /* exactly one line */
	/* After a refusal nothing needs freeing: the owned strings are NULL. */
	assert_null(c.listen);
	assert_null(c.public_url);
	assert_null(c.listen_host);
	free(msg);
	unsetenv(name);
}

static void expect_good(const char *name, const char *value, cfg *c)
{
	char *msg = NULL;
	setenv(name, value, 1);
	bool ok = load(c, &msg);
	if (!ok)
		print_error("%s=\"%s\" was refused: %s", name, value, msg);
	assert_true(ok);
	assert_string_equal(msg, "");
	free(msg);
	unsetenv(name);
}

static void defaults(void **state)
{
	(void)state;
	cfg c;
	char *msg = NULL;
	assert_true(load(&c, &msg));
	assert_string_equal(msg, "");
	free(msg);
	assert_string_equal(c.database_url, "");
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_string_equal(c.listen_host, "127.0.0.1");
	assert_int_equal(c.listen_port, 8080);
	assert_string_equal(c.public_url, "http://127.0.0.1:8080");
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	assert_int_equal(c.workers, cores > 64 ? 64 : cores);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_true(c.access_log);
	assert_int_equal(c.max_body_bytes, 1048576);
	assert_int_equal(c.max_header_bytes, 16384);
	assert_int_equal(c.timeout_seconds, 30);
	assert_int_equal(c.db_pool_size, 4);
	assert_int_equal(c.db_queue_max, 512);
	assert_int_equal(c.db_queue_timeout_ms, 2000);
	assert_int_equal(c.db_statement_timeout_ms, 10000);
	assert_int_equal(c.shutdown_grace_seconds, 10);
	assert_true(c.auto_migrate);
	assert_false(c.debug_routes);
	cfg_cleanup(&c);
	assert_null(c.listen);
	assert_null(c.listen_host);
	cfg_cleanup(&c); /* twice is harmless */
}

static void values_are_read(void **state)
{
	(void)state;
	cfg c;
	setenv("DATABASE_URL", "host=/run/pg dbname=x", 1);
	setenv("CUPD_WORKERS", "3", 1);
	setenv("CUPD_LOG_LEVEL", "DEBUG", 1);     /* case-insensitive */
	setenv("CUPD_ACCESS_LOG", "Off", 1);
	setenv("CUPD_MAX_BODY_BYTES", "2048", 1);
	setenv("CUPD_DEBUG_ROUTES", "yes", 1);
	setenv("CUPD_AUTO_MIGRATE", "0", 1);
	setenv("CUPD_TIMEOUT_SECONDS", "", 1);    /* empty = default, for non-strings */
	expect_good("CUPD_SHUTDOWN_GRACE_SECONDS", "0", &c);
	assert_string_equal(c.database_url, "host=/run/pg dbname=x");
	assert_int_equal(c.workers, 3);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_false(c.access_log);
	assert_int_equal(c.max_body_bytes, 2048);
	assert_true(c.debug_routes);
	assert_false(c.auto_migrate);
	assert_int_equal(c.timeout_seconds, 30);
	assert_int_equal(c.shutdown_grace_seconds, 0);
	cfg_cleanup(&c);

	static const char *const yes[] = { "1", "on", "true", "yes", "TRUE", "On" };
	static const char *const no[] = { "0", "off", "false", "no", "NO", "False" };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		expect_good("CUPD_DEBUG_ROUTES", yes[i], &c);
		assert_true(c.debug_routes);
		cfg_cleanup(&c);
		expect_good("CUPD_DEBUG_ROUTES", no[i], &c);
		assert_false(c.debug_routes);
		cfg_cleanup(&c);
	}
	static const char *const levels[] = { "debug", "info", "warn", "error" };
	for (int i = 0; i < 4; i++) {
		expect_good("CUPD_LOG_LEVEL", levels[i], &c);
		assert_int_equal(c.log_level, (cfg_log_level)i);
		cfg_cleanup(&c);
	}
}

static void bad_ints_and_longs(void **state)
{
	(void)state;
	static const char *const workers[] = { "abc", "-1", "257", "3.5", "1e3", "4x", "0x10",
		"99999999999999999999999" };
	for (size_t i = 0; i < sizeof workers / sizeof workers[0]; i++)
		expect_bad("CUPD_WORKERS", workers[i]);
	expect_bad("CUPD_MAX_BODY_BYTES", "1023");        /* below the minimum */
	expect_bad("CUPD_MAX_BODY_BYTES", "67108865");    /* above 64 MiB */
	expect_bad("CUPD_MAX_BODY_BYTES", "1k");
	expect_bad("CUPD_MAX_HEADER_BYTES", "-16384");
	expect_bad("CUPD_MAX_HEADER_BYTES", "9223372036854775808"); /* LONG_MAX + 1 */
	expect_bad("CUPD_TIMEOUT_SECONDS", "0");
	expect_bad("CUPD_DB_POOL_SIZE", "65");
	expect_bad("CUPD_SHUTDOWN_GRACE_SECONDS", "601");

	cfg c; /* the bounds themselves are inside */
	expect_good("CUPD_WORKERS", "256", &c);
	assert_int_equal(c.workers, 256);
	cfg_cleanup(&c);
	expect_good("CUPD_MAX_BODY_BYTES", "67108864", &c);
	assert_int_equal(c.max_body_bytes, 64L * 1024 * 1024);
	cfg_cleanup(&c);
}

static void bad_bools_and_levels(void **state)
{
	(void)state;
	static const char *const b[] = { "maybe", "2", "enabled", "y", "n", "onn", " on" };
	for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
		expect_bad("CUPD_ACCESS_LOG", b[i]);
		expect_bad("CUPD_AUTO_MIGRATE", b[i]);
	}
	static const char *const l[] = { "loud", "warning", "trace", "0", "info " };
	for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
		expect_bad("CUPD_LOG_LEVEL", l[i]);
}

static void bad_ratios(void **state)
{
	(void)state;
	static const char *const r[] = { "0", "-0.1", "1.01", "abc", "0.5x", "nan", "5%" };
	for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
		expect_bad("CUPD_STATUS_DEGRADED", r[i]);
	/* Each is valid alone, but the three must be ordered. */
	setenv("CUPD_STATUS_PARTIAL", "0.1", 1);
	expect_bad("CUPD_STATUS_DEGRADED", "0.2");
	unsetenv("CUPD_STATUS_PARTIAL");
}

static void listen_values(void **state)
{
	(void)state;
	static const char *const bad[] = { "nonsense", "", ":8080", "host:", "host:65536", "host:-1",
		"host:80x", "[::1]8080", "[::1]", "[::1", "[]:80", "127.0.0.1" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_bad("CUPD_LISTEN", bad[i]);

	cfg c;
	expect_good("CUPD_LISTEN", "0.0.0.0:9000", &c);
	assert_string_equal(c.listen_host, "0.0.0.0");
	assert_int_equal(c.listen_port, 9000);
	assert_string_equal(c.public_url, "http://0.0.0.0:9000"); /* derived from CUPD_LISTEN */
	cfg_cleanup(&c);
	expect_good("CUPD_LISTEN", "[::1]:8443", &c);
	assert_string_equal(c.listen_host, "::1");
	assert_int_equal(c.listen_port, 8443);
	assert_string_equal(c.public_url, "http://[::1]:8443");
	cfg_cleanup(&c);

	/* An explicit public URL wins over the derived one. */
	setenv("CUPD_LISTEN", "127.0.0.1:1234", 1);
	expect_good("CUPD_PUBLIC_URL", "https://cupd.example.com", &c);
	assert_string_equal(c.public_url, "https://cupd.example.com");
	assert_int_equal(c.listen_port, 1234);
	cfg_cleanup(&c);
	unsetenv("CUPD_LISTEN");
}

static void parse_hostport(void **state)
{
	(void)state;
	static const struct { const char *in, *host; int port; } ok[] = {
		{ "127.0.0.1:8080", "127.0.0.1", 8080 },
		{ "[::1]:8080", "::1", 8080 },
		{ "[fe80::1%eth0]:443", "fe80::1%eth0", 443 },
		{ "localhost:0", "localhost", 0 },
		{ "example.com:65535", "example.com", 65535 },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char *host = NULL;
		int port = -1;
		assert_true(cfg_parse_hostport(ok[i].in, &host, &port));
		assert_string_equal(host, ok[i].host);
		assert_int_equal(port, ok[i].port);
		free(host);
	}
	static const char *const bad[] = { "", ":", "host", ":80", "host:", "host:99999", "host:-5",
		"host:8o", "[::1]", "[::1]:", "[::1]x80", "[]:80", "[::1:80" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *host = (char *)"untouched";
		int port = -7;
		assert_false(cfg_parse_hostport(bad[i], &host, &port));
		assert_string_equal(host, "untouched"); /* nothing allocated on failure */
		assert_int_equal(port, -7);
	}
}

static void public_url_validation(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"ftp://x", "x.example.com", "//x.example.com", "http:/x", "https://", "http://",
		"https:///path", "https://x/", "https://x/base/", "https://x?q=1", "https://x/#frag",
		"https://user@x", "https://x y", "https://x\tz",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_bad("CUPD_PUBLIC_URL", bad[i]);

	static const char *const good[] = {
		"https://cupd.example.com", "http://localhost:8080", "https://x.example/base/path",
		"https://[::1]:8443",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		cfg c;
		expect_good("CUPD_PUBLIC_URL", good[i], &c);
		assert_string_equal(c.public_url, good[i]);
		cfg_cleanup(&c);
	}
}

static void help_lists_every_core_variable(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	cfg_print_help(f);
	fclose(f);
	static const char *const names[] = {
		"DATABASE_URL", "CUPD_LISTEN", "CUPD_PUBLIC_URL", "CUPD_WORKERS", "CUPD_LOG_LEVEL",
		"CUPD_ACCESS_LOG", "CUPD_MAX_BODY_BYTES", "CUPD_MAX_HEADER_BYTES", "CUPD_TIMEOUT_SECONDS",
		"CUPD_DB_POOL_SIZE", "CUPD_DB_QUEUE_MAX", "CUPD_DB_QUEUE_TIMEOUT_MS",
		"CUPD_DB_STATEMENT_TIMEOUT_MS", "CUPD_SHUTDOWN_GRACE_SECONDS", "CUPD_AUTO_MIGRATE",
		"CUPD_DEBUG_ROUTES",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char needle[64];
		snprintf(needle, sizeof needle, "  %s ", names[i]);
		if (!strstr(text, needle))
			print_error("--help lacks %s\n", names[i]);
		assert_non_null(strstr(text, needle));
	}
	assert_non_null(strstr(text, "default: 127.0.0.1:8080"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(defaults, clear_env),
		cmocka_unit_test_setup(values_are_read, clear_env),
		cmocka_unit_test_setup(bad_ints_and_longs, clear_env),
		cmocka_unit_test_setup(bad_bools_and_levels, clear_env),
		cmocka_unit_test_setup(bad_ratios, clear_env),
		cmocka_unit_test_setup(listen_values, clear_env),
		cmocka_unit_test_setup(parse_hostport, clear_env),
		cmocka_unit_test_setup(public_url_validation, clear_env),
		cmocka_unit_test_setup(help_lists_every_core_variable, clear_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
