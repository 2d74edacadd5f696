/* test_oauth_form.c: form-urlencoded parsing (oauth/form.h, REQUIREMENTS C1,
 * C12) and client_secret_basic credentials (oauth/endpoint.h, C18). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "form.h"

static bool parse(const char *s, oauth_form *f)
{
	return oauth_form_parse(s, strlen(s), f);
}

static void decodes_pairs(void **state)
{
	(void)state;
	oauth_form f;
	assert_true(parse("grant_type=authorization_code&code=a%2Bb+c&redirect_uri=http%3A%2F%2Flocalhost%2Fcb", &f));
	assert_int_equal(f.n, 3);
	assert_string_equal(oauth_form_get(&f, "grant_type", NULL), "authorization_code");
	assert_string_equal(oauth_form_get(&f, "code", NULL), "a+b c");
	assert_string_equal(oauth_form_get(&f, "redirect_uri", NULL), "http://localhost/cb");
	assert_null(oauth_form_get(&f, "missing", NULL));
	oauth_form_free(&f);
}

static void keys_are_decoded_too(void **state)
{
	(void)state;
	oauth_form f;
	assert_true(parse("client%5Fid=x&a+b=1", &f));
	assert_string_equal(oauth_form_get(&f, "client_id", NULL), "x");
	assert_string_equal(oauth_form_get(&f, "a b", NULL), "1");
	oauth_form_free(&f);
}

/* C1: empty values count as absent; a pair without '=' has an empty value. */
static void empty_values_are_absent(void **state)
{
	(void)state;
	oauth_form f;
	bool rep = true;
	assert_true(parse("scope=&state&&resource=r1&=x&", &f));
	assert_null(oauth_form_get(&f, "scope", &rep));
	assert_false(rep);
	assert_null(oauth_form_get(&f, "state", NULL));
	assert_string_equal(oauth_form_get(&f, "resource", NULL), "r1");
	oauth_form_free(&f);
	assert_true(parse("", &f));
	assert_int_equal(f.n, 0);
	oauth_form_free(&f);
}

/* C1: repeats are reported (callers answer invalid_request), resource may repeat. */
static void repeats_are_reported(void **state)
{
	(void)state;
	oauth_form f;
	bool rep = false;
	assert_true(parse("code=a&code=b&resource=r1&resource=r2&resource=&state=s&state=", &f));
	assert_string_equal(oauth_form_get(&f, "code", &rep), "a");
	assert_true(rep);
	assert_string_equal(oauth_form_get(&f, "state", &rep), "s");
	assert_false(rep); /* the second one is empty, i.e. absent */
	const char *res[4];
	assert_int_equal(oauth_form_all(&f, "resource", res, 4), 2);
	assert_string_equal(res[0], "r1");
	assert_string_equal(res[1], "r2");
	assert_int_equal(oauth_form_all(&f, "resource", res, 1), 1);
	oauth_form_free(&f);
}

static void refuses_malformed(void **state)
{
	(void)state;
	static const char *const BAD[] = { "a=%", "a=%4", "a=%zz", "a=%00", "%=1", "a=b%0", "a%00b=1", "a=%g1" };
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
		oauth_form f;
		f.n = 99;
		if (parse(BAD[i], &f))
			fail_msg("accepted malformed form %s", BAD[i]);
		assert_int_equal(f.n, 0); /* left empty */
		oauth_form_free(&f);
	}
	/* A raw NUL inside the buffer. */
	oauth_form f;
	assert_false(oauth_form_parse("a=b\0c=d", 7, &f));
}

static void caps_pairs_and_bytes(void **state)
{
	(void)state;
	char buf[OAUTH_FORM_MAX_PAIRS * 6 + 16];
	size_t o = 0;
	for (int i = 0; i < OAUTH_FORM_MAX_PAIRS; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%sk=%d", i ? "&" : "", i % 10);
	oauth_form f;
	assert_true(oauth_form_parse(buf, o, &f));
	assert_int_equal(f.n, OAUTH_FORM_MAX_PAIRS);
	oauth_form_free(&f);
	o += (size_t)snprintf(buf + o, sizeof buf - o, "&x=1");
	assert_false(oauth_form_parse(buf, o, &f));
	size_t big = OAUTH_FORM_MAX_BYTES + 1;
	char *s = malloc(big);
	memset(s, 'a', big);
	assert_false(oauth_form_parse(s, big, &f));
	free(s);
}

/* C18: base64, split at the FIRST ':', then form-urlencoded decoding. */
static void basic_credentials(void **state)
{
	(void)state;
	char *id, *secret;
	/* "cupc_abc:s3cr:et" */
	assert_true(oauth_basic_parse("Basic Y3VwY19hYmM6czNjcjpldA==", &id, &secret));
	assert_string_equal(id, "cupc_abc");
	assert_string_equal(secret, "s3cr:et");
	free(id);
	free(secret);
	/* "my%3Aclient:p%40ss+word" → "my:client" / "p@ss word"; scheme case-insensitive */
	assert_true(oauth_basic_parse("basic bXklM0FjbGllbnQ6cCU0MHNzK3dvcmQ=", &id, &secret));
	assert_string_equal(id, "my:client");
	assert_string_equal(secret, "p@ss word");
	free(id);
	free(secret);
	/* unpadded base64 is tolerated; an empty secret is an empty string */
	assert_true(oauth_basic_parse("Basic YWJjZGVmOg", &id, &secret)); /* "abcdef:" */
	assert_string_equal(id, "abcdef");
	assert_string_equal(secret, "");
	free(id);
	free(secret);
	static const char *const BAD[] = {
		NULL, "", "Bearer abc", "Basic", "Basic ", "Basic !!!!", "Basic YWJj",   /* "abc": no colon */
		"Basic OnNlY3JldA==",                                                    /* ":secret": empty id */
		"Basic YSUzOmI=",                                                        /* "a%3:b": bad escape */
		"Basic YWJj=ZGVm", "Basic Y===", "BasicYWJjOmRlZg==",
	};
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
		id = secret = (char *)1;
		if (oauth_basic_parse(BAD[i], &id, &secret))
			fail_msg("accepted Basic header %s", BAD[i] ? BAD[i] : "(null)");
		assert_null(id);
		assert_null(secret);
	}
}

static void scope_normalization(void **state)
{
	(void)state;
	char out[64];
	bool unknown;
	assert_true(oauth_scope_normalize("write  read write", out, sizeof out, &unknown));
	assert_string_equal(out, "read write");
	assert_false(unknown);
	assert_true(oauth_scope_normalize("claudeai openid admin", out, sizeof out, &unknown));
	assert_string_equal(out, "admin");
	assert_true(unknown);
	assert_true(oauth_scope_normalize("", out, sizeof out, &unknown));
	assert_string_equal(out, "");
	assert_false(oauth_scope_normalize("read write admin", out, 8, &unknown));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decodes_pairs),
		cmocka_unit_test(keys_are_decoded_too),
		cmocka_unit_test(empty_values_are_absent),
		cmocka_unit_test(repeats_are_reported),
		cmocka_unit_test(refuses_malformed),
		cmocka_unit_test(caps_pairs_and_bytes),
		cmocka_unit_test(basic_credentials),
		cmocka_unit_test(scope_normalization),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
