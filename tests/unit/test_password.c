/* test_password.c: argon2id hashing, verification and password bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "password.h"

static void hash_then_verify(void **state)
{
	(void)state;
	char h[PASSWORD_HASH_MAX];
	assert_true(password_hash("correct horse battery", h, sizeof h));
	assert_int_equal(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
	assert_true(password_verify(h, "correct horse battery"));
}

static void salts_differ(void **state)
{
	(void)state;
	char a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];
	assert_true(password_hash("same password", a, sizeof a));
	assert_true(password_hash("same password", b, sizeof b));
	assert_string_not_equal(a, b);
	assert_true(password_verify(b, "same password"));
}

static void wrong_password(void **state)
{
	(void)state;
	char h[PASSWORD_HASH_MAX];
	assert_true(password_hash("correct horse battery", h, sizeof h));
	assert_false(password_verify(h, "correct horse batterY"));
	assert_false(password_verify(h, "correct horse battery "));
	assert_false(password_verify(h, ""));
}

static void malformed_encoded(void **state)
{
	(void)state;
	char h[PASSWORD_HASH_MAX], cut[PASSWORD_HASH_MAX];
	assert_true(password_hash("pw123456", h, sizeof h));

	static const char *const bad[] = {
		"",
		"plaintext",
		"$argon2id$",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA",  /* argon2i, not id */
		"$2b$12$abcdefghijklmnopqrstuuIh0Hgb1cM7/d6iOq3m5r7bZr9zS7jS", /* bcrypt */
		"$argon2id$v=19$m=19456,t=2,p=1$",
		"$argon2id$v=19$m=19456,t=2,p=1$!!!!$!!!!",
		"$argon2id$v=19$m=-1,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=99999,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(password_verify(bad[i], "pw123456"));

	/* Every truncation of a valid hash is rejected. */
	for (size_t n = 0; n < strlen(h); n++) {
		memcpy(cut, h, n);
		cut[n] = '\0';
		assert_false(password_verify(cut, "pw123456"));
	}
	assert_false(password_verify(NULL, "pw123456"));
	assert_false(password_verify(h, NULL));
}

static void small_buffer_fails(void **state)
{
	(void)state;
	char h[40] = "x";
	assert_false(password_hash("long enough", h, sizeof h));
	assert_string_equal(h, "");
}

static void acceptable_bounds(void **state)
{
	(void)state;
	const char *why = NULL;
	char pw[PASSWORD_MAX_BYTES + 2];

	assert_false(password_acceptable(NULL, &why));
	assert_non_null(why);
	assert_false(password_acceptable("", &why));
	assert_false(password_acceptable("1234567", &why));
	assert_non_null(strstr(why, "at least"));
	assert_true(password_acceptable("12345678", &why));
	assert_null(why);

	memset(pw, 'a', PASSWORD_MAX_BYTES);
	pw[PASSWORD_MAX_BYTES] = '\0';
	assert_true(password_acceptable(pw, NULL));
	pw[PASSWORD_MAX_BYTES] = 'a';
	pw[PASSWORD_MAX_BYTES + 1] = '\0';
	assert_false(password_acceptable(pw, &why));
	assert_non_null(strstr(why, "at most"));
	/* Too long to be accepted means too long to ever verify. */
	assert_false(password_verify("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA", pw));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hash_then_verify),
		cmocka_unit_test(salts_differ),
		cmocka_unit_test(wrong_password),
		cmocka_unit_test(malformed_encoded),
		cmocka_unit_test(small_buffer_fails),
		cmocka_unit_test(acceptable_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
