/* test_creds.c: the credential format and bearer classification (server/creds.h).
 *
 * Tokens are made at run time (creds_generate, or the reference encoder
 * below for chosen contents); none is written into this file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "creds.h"

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const creds_kind KINDS[] = { CREDS_API_TOKEN, CREDS_SDK_KEY };

/* The documented format, written independently of creds.c: base62 of the
 * CRC-32 (IEEE, as in zlib) of the first 40 characters, 6 digits. */
static uint32_t ref_crc32(const char *s, size_t n)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		crc ^= (unsigned char)s[i];
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
	}
	return ~crc;
}

static void ref_seal(char tok[CREDS_TOKEN_LEN + 1])
{
	uint32_t v = ref_crc32(tok, CREDS_PREFIX_LEN + CREDS_RANDOM_LEN);
	for (int i = CREDS_TOKEN_LEN - 1; i >= CREDS_PREFIX_LEN + CREDS_RANDOM_LEN; i--) {
		tok[i] = B62[v % 62];
		v /= 62;
	}
	tok[CREDS_TOKEN_LEN] = '\0';
}

static creds_kind classify(const char *s)
{
	return creds_classify(s, strlen(s));
}

static void gen(creds_kind kind, char out[CREDS_TOKEN_LEN + 1])
{
	assert_true(creds_generate(kind, out));
}

/* ---- generate → classify ---- */

static void test_generate_round_trip(void **state)
{
	(void)state;
	enum { N = 2000 };
	static char seen[2 * N][CREDS_TOKEN_LEN + 1];
	int n = 0;
	for (size_t k = 0; k < 2; k++)
		for (int i = 0; i < N; i++) {
			char *t = seen[n++];
			gen(KINDS[k], t);
			assert_int_equal(strlen(t), CREDS_TOKEN_LEN);
			assert_memory_equal(t, KINDS[k] == CREDS_API_TOKEN ? CREDS_API_PREFIX : CREDS_SDK_PREFIX,
			                    CREDS_PREFIX_LEN);
			for (int j = CREDS_PREFIX_LEN; j < CREDS_TOKEN_LEN; j++)
				assert_non_null(strchr(B62, t[j]));
			assert_int_equal(classify(t), KINDS[k]);
		}
	/* ~190 random bits: any repeat means the generator is broken. */
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			assert_true(memcmp(seen[i] + CREDS_PREFIX_LEN, seen[j] + CREDS_PREFIX_LEN, CREDS_RANDOM_LEN) != 0);
}

static void test_generate_uses_every_digit(void **state)
{
	(void)state;
	/* 3000 tokens × 32 positions / 62 symbols: each symbol ~1548 times
	 * (σ ≈ 39); a biased or truncated alphabet shows as a rare or missing one. */
	int count[128] = { 0 };
	char t[CREDS_TOKEN_LEN + 1];
	for (int i = 0; i < 3000; i++) {
		gen(CREDS_API_TOKEN, t);
		for (int j = CREDS_PREFIX_LEN; j < CREDS_PREFIX_LEN + CREDS_RANDOM_LEN; j++)
			count[(unsigned char)t[j]]++;
	}
	for (const char *c = B62; *c; c++) {
		assert_true(count[(unsigned char)*c] > 1300);
		assert_true(count[(unsigned char)*c] < 1800);
	}
}

static void test_generate_refuses_other_kinds(void **state)
{
	(void)state;
	char t[CREDS_TOKEN_LEN + 1];
	assert_false(creds_generate(CREDS_NONE, t));
	assert_false(creds_generate(CREDS_JWT, t));
	assert_false(creds_generate(CREDS_MALFORMED, t));
}

static void test_checksum_is_documented_crc32(void **state)
{
	(void)state;
	for (size_t k = 0; k < 2; k++)
		for (int i = 0; i < 200; i++) {
			char t[CREDS_TOKEN_LEN + 1], ref[CREDS_TOKEN_LEN + 1];
			gen(KINDS[k], t);
			memcpy(ref, t, sizeof ref);
			ref_seal(ref);
			assert_string_equal(t, ref);
		}
	/* Chosen contents sealed by the reference are accepted too. */
	char t[CREDS_TOKEN_LEN + 1];
	memcpy(t, CREDS_SDK_PREFIX, CREDS_PREFIX_LEN);
	memset(t + CREDS_PREFIX_LEN, 'z', CREDS_RANDOM_LEN);
	ref_seal(t);
	assert_int_equal(classify(t), CREDS_SDK_KEY);
	memset(t + CREDS_PREFIX_LEN, '0', CREDS_RANDOM_LEN);
	ref_seal(t);
	assert_int_equal(classify(t), CREDS_SDK_KEY);
}

/* ---- every mistake is caught ---- */

static void test_every_single_character_change_flips_the_verdict(void **state)
{
	(void)state;
	/* Base62 plus characters a human or a transport might introduce. */
	static const char extra[] = "_-.+/= \t\n\"'%~\x7f\x80\xff";
	char alphabet[sizeof B62 + sizeof extra];
	snprintf(alphabet, sizeof alphabet, "%s%s", B62, extra);
	int checked = 0;
	for (size_t k = 0; k < 2; k++)
		for (int round = 0; round < 20; round++) {
			char t[CREDS_TOKEN_LEN + 1];
			gen(KINDS[k], t);
			for (int pos = 0; pos < CREDS_TOKEN_LEN; pos++)
				for (const char *c = alphabet; *c; c++) {
					if (*c == t[pos])
						continue;
					char m[CREDS_TOKEN_LEN + 1];
					memcpy(m, t, sizeof m);
					m[pos] = *c;
					if (creds_classify(m, CREDS_TOKEN_LEN) != CREDS_MALFORMED)
						fail_msg("changing position %d of a %s to 0x%02x was not caught", pos,
						         KINDS[k] == CREDS_API_TOKEN ? "token" : "key", (unsigned char)*c);
					checked++;
				}
			/* A NUL inside (length still 46) is a change too. */
			for (int pos = 0; pos < CREDS_TOKEN_LEN; pos++) {
				char m[CREDS_TOKEN_LEN + 1];
				memcpy(m, t, sizeof m);
				m[pos] = '\0';
				assert_int_equal(creds_classify(m, CREDS_TOKEN_LEN), CREDS_MALFORMED);
			}
		}
	assert_true(checked > 2 * 20 * CREDS_TOKEN_LEN * 70);
}

static void test_swapped_neighbours_are_caught(void **state)
{
	(void)state;
	/* CRC-32 detects every error burst up to 32 bits, so swapping two
	 * different neighbours in the random part is always caught; in the
	 * checksum part the check itself changes. (A swap across the boundary
	 * is caught only with probability 1 - 2^-32, so it is left out.) */
	for (int round = 0; round < 200; round++) {
		char t[CREDS_TOKEN_LEN + 1];
		gen(KINDS[round % 2], t);
		for (int pos = 0; pos + 1 < CREDS_TOKEN_LEN; pos++) {
			if (pos + 1 == CREDS_PREFIX_LEN + CREDS_RANDOM_LEN || t[pos] == t[pos + 1])
				continue;
			char m[CREDS_TOKEN_LEN + 1];
			memcpy(m, t, sizeof m);
			m[pos] = t[pos + 1];
			m[pos + 1] = t[pos];
			assert_int_equal(classify(m), CREDS_MALFORMED);
		}
	}
}

static void test_wrong_lengths(void **state)
{
	(void)state;
	for (size_t k = 0; k < 2; k++) {
		char t[CREDS_TOKEN_LEN + 2];
		gen(KINDS[k], t);
		/* every truncation, including the bare prefix and the empty string */
		for (size_t n = 0; n < CREDS_TOKEN_LEN; n++)
			assert_int_equal(creds_classify(t, n), CREDS_MALFORMED);
		/* one character more, whatever it is */
		for (const char *c = B62; *c; c++) {
			t[CREDS_TOKEN_LEN] = *c;
			t[CREDS_TOKEN_LEN + 1] = '\0';
			assert_int_equal(creds_classify(t, CREDS_TOKEN_LEN + 1), CREDS_MALFORMED);
		}
		t[CREDS_TOKEN_LEN] = '\0';
		/* a token twice over */
		char twice[2 * CREDS_TOKEN_LEN];
		memcpy(twice, t, CREDS_TOKEN_LEN);
		memcpy(twice + CREDS_TOKEN_LEN, t, CREDS_TOKEN_LEN);
		assert_int_equal(creds_classify(twice, sizeof twice), CREDS_MALFORMED);
	}
	assert_int_equal(classify(""), CREDS_MALFORMED);
	assert_int_equal(classify("cup_api_"), CREDS_MALFORMED);
	assert_int_equal(classify("cup_sdk"), CREDS_MALFORMED);
	assert_int_equal(classify("cup_"), CREDS_MALFORMED);
}

static void test_unknown_or_mis_cased_prefixes(void **state)
{
	(void)state;
	static const char *const prefixes[] = { "CUP_API_", "Cup_api_", "cup_API_", "cup_pat_", "cup-api_", "cupxapi_",
	                                        "ghp_aaaa", "sk_live_" };
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		char t[CREDS_TOKEN_LEN + 1];
		gen(CREDS_API_TOKEN, t);
		memcpy(t, prefixes[i], CREDS_PREFIX_LEN);
		ref_seal(t); /* a valid checksum for this text: only the prefix is wrong */
		assert_int_equal(classify(t), CREDS_MALFORMED);
	}
}

/* ---- JWT shapes ---- */

static void test_jwt_shapes(void **state)
{
	(void)state;
	static const char *const jwts[] = {
		"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
		"aaaa.bbbb.cc",
		"a-_b.c_-d.e-f_",
		"0123456789.x.y",
	};
	for (size_t i = 0; i < sizeof jwts / sizeof jwts[0]; i++)
		assert_int_equal(classify(jwts[i]), CREDS_JWT);
	static const char *const not_jwts[] = {
		"a.b.c",                    /* shorter than 10 */
		"aaaaaaaaaaaa",             /* no dots */
		"aaaaa.bbbbbb",             /* two segments */
		"aaaa.bbbb.cccc.dddd",      /* four segments */
		".aaaaa.bbbbb",             /* empty first */
		"aaaaa..bbbbb",             /* empty middle */
		"aaaaa.bbbbb.",             /* empty last */
		"aaaa.bbbb.cc==",           /* padding is not base64url */
		"aa+a.bbbb.cccc",           /* standard base64 */
		"aa/a.bbbb.cccc",
		"aaaa.bb bb.cccc",          /* space */
		"aaaa.bbbb.cccc\n",
		"cup_api_aaaa.bbbb.cccc",   /* our prefix wins: then it is a malformed cup_ token */
	};
	for (size_t i = 0; i < sizeof not_jwts / sizeof not_jwts[0]; i++)
		assert_int_equal(classify(not_jwts[i]), CREDS_MALFORMED);
	/* Length bound: 8192 is still a JWT shape, 8193 is not. */
	char *big = malloc(8194);
	assert_non_null(big);
	memset(big, 'a', 8193);
	big[100] = '.';
	big[200] = '.';
	assert_int_equal(creds_classify(big, 8192), CREDS_JWT);
	assert_int_equal(creds_classify(big, 8193), CREDS_MALFORMED);
	free(big);
}

/* ---- Authorization header ---- */

static creds_kind parse(const char *h, const char **cred, size_t *len)
{
	*cred = (const char *)1; /* must be reset by the parser */
	*len = 12345;
	return creds_parse_authorization(h, cred, len);
}

static void test_authorization_header(void **state)
{
	(void)state;
	char tok[CREDS_TOKEN_LEN + 1], key[CREDS_TOKEN_LEN + 1], h[200];
	const char *cred;
	size_t len;
	gen(CREDS_API_TOKEN, tok);
	gen(CREDS_SDK_KEY, key);

	assert_int_equal(parse(NULL, &cred, &len), CREDS_NONE);
	assert_null(cred);
	assert_int_equal(len, 0);

	/* Scheme case-insensitive (RFC 6750 §2.1 via RFC 9110 §11.1). */
	static const char *const schemes[] = { "Bearer", "bearer", "BEARER", "BeArEr" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(h, sizeof h, "%s %s", schemes[i], tok);
		assert_int_equal(parse(h, &cred, &len), CREDS_API_TOKEN);
		assert_ptr_equal(cred, h + 7);
		assert_int_equal(len, CREDS_TOKEN_LEN);
	}
	/* Extra spaces before, trailing spaces and tabs after. */
	snprintf(h, sizeof h, "Bearer     %s", key);
	assert_int_equal(parse(h, &cred, &len), CREDS_SDK_KEY);
	assert_memory_equal(cred, key, CREDS_TOKEN_LEN);
	assert_int_equal(len, CREDS_TOKEN_LEN);
	snprintf(h, sizeof h, "Bearer %s  \t ", tok);
	assert_int_equal(parse(h, &cred, &len), CREDS_API_TOKEN);
	assert_int_equal(len, CREDS_TOKEN_LEN);
	snprintf(h, sizeof h, "Bearer %s", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl");
	assert_int_equal(parse(h, &cred, &len), CREDS_JWT);

	/* Empty, missing or other schemes. */
	static const char *const bad[] = { "", "Bearer", "Bearer ", "Bearer      ", "Bearer \t", "Basic dXNlcjpwYXNz",
	                                   "Token abc", "Bearerabc", " Bearer x", "Bearer\tx", "Bear x", "B" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(parse(bad[i], &cred, &len), CREDS_MALFORMED);
	/* A valid credential with anything else in the value is malformed. */
	static const char *const fmt[] = { "Bearer %s extra", "Bearer %s,other", "Bearer \"%s\"", "Bearer %s\n",
	                                   "Basic %s", "%s", "Bearer x%s", "Bearer %s;" };
	for (size_t i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
		snprintf(h, sizeof h, fmt[i], tok);
		assert_int_equal(parse(h, &cred, &len), CREDS_MALFORMED);
	}
	/* A mistyped token is malformed, but the parser still says where it is. */
	snprintf(h, sizeof h, "Bearer %s", tok);
	h[7 + 20] = h[7 + 20] == 'a' ? 'b' : 'a';
	assert_int_equal(parse(h, &cred, &len), CREDS_MALFORMED);
	assert_ptr_equal(cred, h + 7);
	assert_int_equal(len, CREDS_TOKEN_LEN);
}

/* ---- hashing and helpers ---- */

static void test_hash_hex(void **state)
{
	(void)state;
	char out[CREDS_HASH_HEX + 1];
	creds_hash_hex("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	creds_hash_hex("", 0, out);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* Embedded NULs count: the length is what is hashed. */
	char a[CREDS_HASH_HEX + 1];
	creds_hash_hex("a\0b", 3, a);
	creds_hash_hex("a", 1, out);
	assert_string_not_equal(a, out);
}

static void test_display_prefix_and_equal(void **state)
{
	(void)state;
	char t[CREDS_TOKEN_LEN + 1], p[CREDS_DISPLAY_LEN + 1];
	gen(CREDS_API_TOKEN, t);
	creds_display_prefix(t, p);
	assert_int_equal(strlen(p), CREDS_DISPLAY_LEN);
	assert_memory_equal(p, t, CREDS_DISPLAY_LEN);
	/* The display prefix carries 4 of the 32 random characters, not more. */
	assert_int_equal(CREDS_DISPLAY_LEN - CREDS_PREFIX_LEN, 4);
	assert_true(creds_equal("abcdef", "abcdef", 6));
	assert_false(creds_equal("abcdef", "abcdeg", 6));
	assert_false(creds_equal("Xbcdef", "abcdef", 6));
	assert_true(creds_equal("a", "b", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_round_trip),
		cmocka_unit_test(test_generate_uses_every_digit),
		cmocka_unit_test(test_generate_refuses_other_kinds),
		cmocka_unit_test(test_checksum_is_documented_crc32),
		cmocka_unit_test(test_every_single_character_change_flips_the_verdict),
		cmocka_unit_test(test_swapped_neighbours_are_caught),
		cmocka_unit_test(test_wrong_lengths),
		cmocka_unit_test(test_unknown_or_mis_cased_prefixes),
		cmocka_unit_test(test_jwt_shapes),
		cmocka_unit_test(test_authorization_header),
		cmocka_unit_test(test_hash_hex),
		cmocka_unit_test(test_display_prefix_and_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
