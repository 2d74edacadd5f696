/* creds.h: the format of cupd's own secrets and how bearers are classified.
 *
 * API Tokens and SDK Keys are "cup_api_" / "cup_sdk_" + 32 base62 characters
 * from RAND_bytes (~190 bits) + 6 base62 characters of CRC-32 over everything
 * before them. The checksum lets a mistyped or truncated credential be
 * refused before any database work and lets secret scanners tell real tokens
 * from look-alikes. Only SHA-256(credential) is ever stored (DESIGN.md §2).
 * Everything here is pure: no I/O, no globals, safe on any thread. */
#ifndef CUPD_CREDS_H
#define CUPD_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#define CREDS_API_PREFIX "cup_api_"
#define CREDS_SDK_PREFIX "cup_sdk_"
enum {
	CREDS_PREFIX_LEN = 8,
	CREDS_RANDOM_LEN = 32,
	CREDS_CHECK_LEN = 6,
	CREDS_TOKEN_LEN = CREDS_PREFIX_LEN + CREDS_RANDOM_LEN + CREDS_CHECK_LEN, /* 46 */
	CREDS_DISPLAY_LEN = CREDS_PREFIX_LEN + 4,   /* "cup_api_AbCd" shown in lists */
	CREDS_HASH_HEX = 64,
};

typedef enum {
	CREDS_NONE = 0,      /* no Authorization header */
	CREDS_API_TOKEN,     /* cup_api_… with a valid checksum */
	CREDS_SDK_KEY,       /* cup_sdk_… with a valid checksum */
	CREDS_JWT,           /* three base64url segments: an OAuth access token */
	CREDS_MALFORMED,     /* anything else, including a cup_ token with a bad checksum */
} creds_kind;

/* Writes a new credential of kind CREDS_API_TOKEN or CREDS_SDK_KEY into
 * out[CREDS_TOKEN_LEN + 1]. False only if the CSPRNG fails. */
bool creds_generate(creds_kind kind, char out[CREDS_TOKEN_LEN + 1]);

/* Classifies a credential string (not the header): prefix, length, alphabet
 * and checksum for cup_ tokens; shape only for JWTs. */
creds_kind creds_classify(const char *s, size_t len);

/* Parses an Authorization header value: "Bearer <credential>", scheme
 * case-insensitive (RFC 6750 §2.1). Sets *cred and *cred_len to the credential
 * inside header (borrowed). NULL header → CREDS_NONE; other schemes or
 * shapes → CREDS_MALFORMED. */
creds_kind creds_parse_authorization(const char *header, const char **cred, size_t *cred_len);

/* Lowercase hex SHA-256 of s[0..len) into out[CREDS_HASH_HEX + 1]. */
void creds_hash_hex(const char *s, size_t len, char out[CREDS_HASH_HEX + 1]);

/* The non-secret display prefix ("cup_api_AbCd") into out[CREDS_DISPLAY_LEN + 1]. */
void creds_display_prefix(const char *token, char out[CREDS_DISPLAY_LEN + 1]);

/* Constant-time equality of two equal-length buffers. */
bool creds_equal(const void *a, const void *b, size_t len);

#endif
