/* form.h: application/x-www-form-urlencoded bodies and query strings
 * (token, revoke, introspect, consent POSTs; authorize GET queries).
 *
 * Pure functions, no I/O, fuzzed. Keys and values are percent-decoded ('+'
 * is a space); a pair without '=' has an empty value; empty values count as
 * absent (REQUIREMENTS C1). Decoded text containing NUL is refused. */
#ifndef CUPD_OAUTH_FORM_H
#define CUPD_OAUTH_FORM_H

#include <stdbool.h>
#include <stddef.h>

enum { OAUTH_FORM_MAX_PAIRS = 64, OAUTH_FORM_MAX_BYTES = 64 * 1024 };

typedef struct oauth_form {
	int n;
	char *keys[OAUTH_FORM_MAX_PAIRS];     /* owned */
	char *values[OAUTH_FORM_MAX_PAIRS];   /* owned */
} oauth_form;

/* Parses s[0..len). False (and *f empty) on malformed escapes, NUL, more
 * than OAUTH_FORM_MAX_PAIRS pairs or more than OAUTH_FORM_MAX_BYTES. */
bool oauth_form_parse(const char *s, size_t len, oauth_form *f);
void oauth_form_free(oauth_form *f);

/* The value of key (NULL if absent or empty). *repeated (may be NULL) is set
 * when the key occurs more than once with a non-empty value: callers answer
 * invalid_request for every parameter but resource (C1). */
const char *oauth_form_get(const oauth_form *f, const char *key, bool *repeated);

/* Every non-empty value of key, in order, into out[max]; returns the count. */
int oauth_form_all(const oauth_form *f, const char *key, const char **out, int max);

#endif
