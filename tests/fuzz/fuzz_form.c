/* fuzz_form.c: libFuzzer target for form-urlencoded bodies (oauth/form.h)
 * and the other text the token endpoint decodes (oauth/endpoint.h).
 *
 * Every input is used three ways:
 *   1. as a raw form body (NULs included) through oauth_form_parse, whose
 *      result must be self-consistent (every lookup agrees with the pairs);
 *   2. up to its first NUL, as an Authorization header through
 *      oauth_basic_parse (client_secret_basic, REQUIREMENTS C18);
 *   3. up to its first NUL, as scope text through oauth_scope_normalize.
 * Invariants that do not hold abort, which libFuzzer reports as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "form.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static void fuzz_parse(const uint8_t *data, size_t size)
{
	oauth_form f;
	bool ok = oauth_form_parse((const char *)data, size, &f);
	if (!ok) {
		check(f.n == 0);
		return;
	}
	check(size <= OAUTH_FORM_MAX_BYTES && f.n <= OAUTH_FORM_MAX_PAIRS);
	check(memchr(data, '\0', size) == NULL);
	for (int i = 0; i < f.n; i++) {
		/* Decoding never grows text and never yields a NUL. */
		check(strlen(f.keys[i]) + strlen(f.values[i]) <= size);
		bool rep;
		const char *v = oauth_form_get(&f, f.keys[i], &rep);
		const char *all[OAUTH_FORM_MAX_PAIRS];
		int n = oauth_form_all(&f, f.keys[i], all, OAUTH_FORM_MAX_PAIRS);
		/* get = the first non-empty value; repeated = more than one. */
		check((v == NULL) == (n == 0));
		check(rep == (n > 1));
		if (v) {
			check(*v && v == all[0]);
			for (int k = 0; k < n; k++)
				check(*all[k]);
		}
	}
	oauth_form_free(&f);
	check(f.n == 0);
}

static void fuzz_basic(const char *s)
{
	char *id = (char *)1, *secret = (char *)1;
	if (oauth_basic_parse(s, &id, &secret)) {
		check(id && secret && *id);
		free(id);
		free(secret);
	} else {
		check(id == NULL && secret == NULL);
	}
}

static void fuzz_scope(const char *s)
{
	char out[64];
	bool unknown;
	check(oauth_scope_normalize(s, out, sizeof out, &unknown));
	/* Only known words, each once, in canonical order. */
	static const char *const CANON[] = { "", "read", "write", "read write", "admin", "read admin", "write admin",
		                             "read write admin" };
	bool known = false;
	for (size_t i = 0; i < sizeof CANON / sizeof CANON[0]; i++)
		known |= !strcmp(out, CANON[i]);
	check(known);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_parse(data, size);
	char *s = malloc(size + 1);
	check(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_basic(s);
	fuzz_scope(s);
	free(s);
	return 0;
}
