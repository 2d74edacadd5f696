/* creds.c: generation, checksum and classification of cup_ credentials. */
#include "creds.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static uint32_t crc32_ieee(const char *s, size_t len)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		crc ^= (unsigned char)s[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static void checksum(const char *s, size_t len, char out[CREDS_CHECK_LEN])
{
	uint32_t v = crc32_ieee(s, len);
	for (int i = CREDS_CHECK_LEN - 1; i >= 0; i--) {
		out[i] = B62[v % 62];
		v /= 62;
	}
}

static bool is_b62(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool creds_generate(creds_kind kind, char out[CREDS_TOKEN_LEN + 1])
{
	const char *prefix = kind == CREDS_API_TOKEN ? CREDS_API_PREFIX : kind == CREDS_SDK_KEY ? CREDS_SDK_PREFIX : NULL;
	if (!prefix)
		return false;
	memcpy(out, prefix, CREDS_PREFIX_LEN);
	/* Rejection sampling keeps every base62 digit uniform: 248 = 4 * 62. */
	int n = 0;
	unsigned char buf[64];
	while (n < CREDS_RANDOM_LEN) {
		if (RAND_bytes(buf, sizeof buf) != 1)
			return false;
		for (size_t i = 0; i < sizeof buf && n < CREDS_RANDOM_LEN; i++)
			if (buf[i] < 248)
				out[CREDS_PREFIX_LEN + n++] = B62[buf[i] % 62];
	}
	OPENSSL_cleanse(buf, sizeof buf);
	checksum(out, CREDS_PREFIX_LEN + CREDS_RANDOM_LEN, out + CREDS_PREFIX_LEN + CREDS_RANDOM_LEN);
	out[CREDS_TOKEN_LEN] = '\0';
	return true;
}

static bool is_b64url(char c)
{
	return is_b62(c) || c == '-' || c == '_';
}

static bool jwt_shaped(const char *s, size_t len)
{
	int dots = 0;
	size_t seg = 0;
	if (len < 10 || len > 8192)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (seg == 0)
				return false;
			dots++;
			seg = 0;
		} else if (is_b64url(s[i])) {
			seg++;
		} else {
			return false;
		}
	}
	return dots == 2 && seg > 0;
}

creds_kind creds_classify(const char *s, size_t len)
{
	creds_kind kind;
	if (len >= CREDS_PREFIX_LEN && !memcmp(s, CREDS_API_PREFIX, CREDS_PREFIX_LEN))
		kind = CREDS_API_TOKEN;
	else if (len >= CREDS_PREFIX_LEN && !memcmp(s, CREDS_SDK_PREFIX, CREDS_PREFIX_LEN))
		kind = CREDS_SDK_KEY;
	else
		return jwt_shaped(s, len) ? CREDS_JWT : CREDS_MALFORMED;
	if (len != CREDS_TOKEN_LEN)
		return CREDS_MALFORMED;
	for (size_t i = CREDS_PREFIX_LEN; i < len; i++)
		if (!is_b62(s[i]))
			return CREDS_MALFORMED;
	char want[CREDS_CHECK_LEN];
	checksum(s, CREDS_PREFIX_LEN + CREDS_RANDOM_LEN, want);
	/* The checksum is not secret, but comparing in constant time costs nothing. */
	if (CRYPTO_memcmp(want, s + CREDS_PREFIX_LEN + CREDS_RANDOM_LEN, CREDS_CHECK_LEN) != 0)
		return CREDS_MALFORMED;
	return kind;
}

creds_kind creds_parse_authorization(const char *header, const char **cred, size_t *cred_len)
{
	*cred = NULL;
	*cred_len = 0;
	if (!header)
		return CREDS_NONE;
	if (strncasecmp(header, "Bearer ", 7) != 0)
		return CREDS_MALFORMED;
	const char *p = header + 7;
	while (*p == ' ')
		p++;
	size_t n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0)
		return CREDS_MALFORMED;
	*cred = p;
	*cred_len = n;
	return creds_classify(p, n);
}

void creds_hash_hex(const char *s, size_t len, char out[CREDS_HASH_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[CREDS_HASH_HEX] = '\0';
}

void creds_display_prefix(const char *token, char out[CREDS_DISPLAY_LEN + 1])
{
	memcpy(out, token, CREDS_DISPLAY_LEN);
	out[CREDS_DISPLAY_LEN] = '\0';
}

bool creds_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
