/* test_migrate_files.c: the migration table embedded by sql/embed.cmake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"

static void table_non_empty(void **state)
{
	(void)state;
	assert_true(migrate_nfiles > 0);
	assert_string_equal(migrate_files[0].name, "0001_core");
}

static void names_well_formed_and_sorted(void **state)
{
	(void)state;
	regex_t re;
	assert_int_equal(regcomp(&re, "^[0-9]{4}_[a-z0-9_]+$", REG_EXTENDED | REG_NOSUB), 0);
	for (size_t i = 0; i < migrate_nfiles; i++) {
		const char *name = migrate_files[i].name;
		assert_non_null(name);
		if (regexec(&re, name, 0, NULL, 0) != 0)
			fail_msg("migration name '%s' is not NNNN_lower_snake", name);
		if (i > 0) {
			/* Strictly increasing, and no two share a number. */
			assert_true(strcmp(migrate_files[i - 1].name, name) < 0);
			assert_int_not_equal(strncmp(migrate_files[i - 1].name, name, 4), 0);
		}
	}
	regfree(&re);
}

static void files_non_empty(void **state)
{
	(void)state;
	for (size_t i = 0; i < migrate_nfiles; i++) {
		const char *sql = migrate_files[i].sql;
		assert_non_null(sql);
		const char *p = sql;
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			fail_msg("migration %s is empty", migrate_files[i].name);
	}
}

/* Copy of sql with "--" comments blanked, so prose about COMMIT in a
 * comment does not trip the check below. Naive about "--" inside string
 * literals, which our migrations do not have. */
static char *strip_comments(const char *sql)
{
	char *out = strdup(sql);
	assert_non_null(out);
	for (char *p = out; (p = strstr(p, "--"));)
		while (*p && *p != '\n')
			*p++ = ' ';
	return out;
}

/* A statement that is only transaction control, or CONCURRENTLY anywhere. */
static const char TX_CONTROL[] =
	"(^|;)[[:space:]]*(BEGIN|COMMIT|ROLLBACK|START[[:space:]]+TRANSACTION)[[:space:]]*;"
	"|CONCURRENTLY";

/* The runner wraps all files in one transaction; a file's own COMMIT would
 * end it early and CONCURRENTLY cannot run inside it. */
static void no_transaction_control(void **state)
{
	(void)state;
	regex_t re;
	assert_int_equal(regcomp(&re, TX_CONTROL, REG_EXTENDED | REG_ICASE | REG_NOSUB | REG_NEWLINE), 0);
	for (size_t i = 0; i < migrate_nfiles; i++) {
		char *code = strip_comments(migrate_files[i].sql);
		if (regexec(&re, code, 0, NULL, 0) == 0)
			fail_msg("migration %s contains transaction control or CONCURRENTLY",
			         migrate_files[i].name);
		free(code);
	}
	regfree(&re);
}

/* The check itself must catch what it is meant to catch. */
static void transaction_check_works(void **state)
{
	(void)state;
	regex_t re;
	assert_int_equal(regcomp(&re, TX_CONTROL, REG_EXTENDED | REG_ICASE | REG_NOSUB | REG_NEWLINE), 0);
	assert_int_equal(regexec(&re, "CREATE TABLE t (a int);\ncommit;\n", 0, NULL, 0), 0);
	assert_int_equal(regexec(&re, "BEGIN;\nCREATE TABLE t (a int);", 0, NULL, 0), 0);
	assert_int_equal(regexec(&re, "CREATE INDEX CONCURRENTLY i ON t (a);", 0, NULL, 0), 0);
	/* A PL/pgSQL body's BEGIN ... END is fine. */
	assert_int_not_equal(regexec(&re, "AS $$\nBEGIN\n\tRETURN NEW;\nEND\n$$;", 0, NULL, 0), 0);
	regfree(&re);
}

/* The bytes are embedded verbatim, including the characters a naive string
 * escaper would break. */
static void embedded_verbatim(void **state)
{
	(void)state;
	const char *core = migrate_files[0].sql;
	assert_non_null(strstr(core, "$$"));
	assert_non_null(strstr(core, "'^[a-z0-9][a-z0-9-]{1,62}$'"));
	assert_non_null(strstr(core, "CREATE TABLE IF NOT EXISTS orgs ("));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_non_empty),
		cmocka_unit_test(names_well_formed_and_sorted),
		cmocka_unit_test(files_non_empty),
		cmocka_unit_test(no_transaction_control),
		cmocka_unit_test(transaction_check_works),
		cmocka_unit_test(embedded_verbatim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
