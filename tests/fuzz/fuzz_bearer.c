/* fuzz_bearer.c: libFuzzer target for the bearer parser (server/creds.h).
 *
 * Every input is used three ways:
 *   1. as an Authorization header value (NUL-terminated, as evhttp hands
 *      it over) through creds_parse_authorization;
 *   2. as raw bytes (NULs included) through creds_classify;
 *   3. as material for a well-formed credential: the first byte picks the
 *      kind, the next 32 pick base62 digits, the checksum is computed here
 *      (independently of creds.c), and the next two bytes say which single
 *      character to change, so the valid path and the "one typo is always
 *      caught" property are explored too.
 * Invariants that do not hold abort, which libFuzzer reports as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static uint32_t crc32_ref(const char *s, size_t n)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		crc ^= (unsigned char)s[i];
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
	}
	return ~crc;
}

static void check(int ok)
{
	if (!ok)
		abort();
}

static void fuzz_header(const uint8_t *data, size_t size)
{
	char *h = malloc(size + 1);
	check(h != NULL);
	memcpy(h, data, size);
	h[size] = '\0';
	const char *cred;
	size_t len;
	creds_kind k = creds_parse_authorization(h, &cred, &len);
	check(k != CREDS_NONE); /* only a missing header is "none" */
	if (cred) {
		/* The credential lies inside the header and classifies the same. */
		check(cred >= h + 7 && cred + len <= h + strlen(h));
		check(len > 0);
		check(creds_classify(cred, len) == k);
	} else {
		check(k == CREDS_MALFORMED && len == 0);
	}
	if (k == CREDS_API_TOKEN || k == CREDS_SDK_KEY) {
		check(len == CREDS_TOKEN_LEN);
		char hex[CREDS_HASH_HEX + 1], prefix[CREDS_DISPLAY_LEN + 1];
		creds_hash_hex(cred, len, hex);
		check(strlen(hex) == CREDS_HASH_HEX);
		creds_display_prefix(cred, prefix);
		check(!memcmp(prefix, k == CREDS_API_TOKEN ? CREDS_API_PREFIX : CREDS_SDK_PREFIX, CREDS_PREFIX_LEN));
	}
	free(h);
	/* NULL header: always "none". */
	check(creds_parse_authorization(NULL, &cred, &len) == CREDS_NONE && cred == NULL && len == 0);
}

static void fuzz_raw(const uint8_t *data, size_t size)
{
	/* Exact-size copy, so ASan sees any read past the given length. */
	char *s = malloc(size ? size : 1);
	check(s != NULL);
	memcpy(s, data, size);
	creds_kind k = creds_classify(s, size);
	if (k == CREDS_API_TOKEN || k == CREDS_SDK_KEY)
		check(size == CREDS_TOKEN_LEN);
	if (k == CREDS_JWT)
		check(size >= 10 && size <= 8192 && memchr(s, '.', size) != NULL);
	free(s);
}

static void fuzz_sealed(const uint8_t *data, size_t size)
{
	if (size < 1 + CREDS_RANDOM_LEN)
		return;
	creds_kind kind = data[0] & 1 ? CREDS_SDK_KEY : CREDS_API_TOKEN;
	char t[CREDS_TOKEN_LEN + 1];
	memcpy(t, kind == CREDS_API_TOKEN ? CREDS_API_PREFIX : CREDS_SDK_PREFIX, CREDS_PREFIX_LEN);
	for (int i = 0; i < CREDS_RANDOM_LEN; i++)
		t[CREDS_PREFIX_LEN + i] = B62[data[1 + i] % 62];
	uint32_t v = crc32_ref(t, CREDS_PREFIX_LEN + CREDS_RANDOM_LEN);
	for (int i = CREDS_TOKEN_LEN - 1; i >= CREDS_PREFIX_LEN + CREDS_RANDOM_LEN; i--) {
		t[i] = B62[v % 62];
		v /= 62;
	}
	t[CREDS_TOKEN_LEN] = '\0';
	check(creds_classify(t, CREDS_TOKEN_LEN) == kind);
	if (size < 3 + CREDS_RANDOM_LEN)
		return;
	size_t pos = data[1 + CREDS_RANDOM_LEN] % CREDS_TOKEN_LEN;
	char c = (char)data[2 + CREDS_RANDOM_LEN];
	if (t[pos] == c)
		return;
	t[pos] = c;
	check(creds_classify(t, CREDS_TOKEN_LEN) == CREDS_MALFORMED);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_header(data, size);
	fuzz_raw(data, size);
	fuzz_sealed(data, size);
	return 0;
}
