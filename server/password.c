/* password.c: argon2id hashing and verification (see password.h). */
#include "password.h"

#include <argon2.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* OWASP's minimum argon2id profile (2023): 19 MiB, 2 passes, 1 lane. About
 * 30 ms per hash here, cheap enough for a login and costly for a guesser. */
enum {
	T_COST = 2,
	M_COST_KIB = 19456,
	PARALLELISM = 1,
	SALT_BYTES = 16,
	HASH_BYTES = 32,
};

/* Bounds a stored hash must respect before we let libargon2 allocate for it:
 * a corrupted or hostile row must not make one verify take gigabytes or
 * seconds. Generous enough for later cost increases. */
enum {
	MAX_M_COST_KIB = 262144,
	MAX_T_COST = 16,
	MAX_PARALLELISM = 8,
	MAX_ENCODED = 256,
};

static const char PREFIX[] = "$argon2id$v=19$";

bool password_acceptable(const char *pw, const char **why)
{
	const char *reason = NULL;
	size_t n = pw ? strnlen(pw, PASSWORD_MAX_BYTES + 1) : 0;

	if (!pw || n < PASSWORD_MIN_BYTES)
		reason = "must be at least 8 bytes long";
	else if (n > PASSWORD_MAX_BYTES)
		reason = "must be at most 1024 bytes long";
	if (why)
		*why = reason;
	return reason == NULL;
}

bool password_hash(const char *password, char *out, size_t outlen)
{
	unsigned char salt[SALT_BYTES];
	bool ok = false;

	if (out && outlen)
		out[0] = '\0';
	if (!password || !out)
		return false;
	if (outlen < argon2_encodedlen(T_COST, M_COST_KIB, PARALLELISM, SALT_BYTES,
	                               HASH_BYTES, Argon2_id))
		return false;
	if (RAND_bytes(salt, sizeof salt) != 1)
		goto out;
	if (argon2id_hash_encoded(T_COST, M_COST_KIB, PARALLELISM, password, strlen(password),
	                          salt, sizeof salt, HASH_BYTES, out, outlen) != ARGON2_OK) {
		out[0] = '\0';
		goto out;
	}
	ok = true;
out:
	OPENSSL_cleanse(salt, sizeof salt);
	return ok;
}

/* Reads "<key>=<digits>" at *p followed by the terminator stop, advancing *p
 * past stop. Digits only: no sign, no spaces, no leading zeros, bounded. */
static bool read_param(const char **p, char key, char stop, unsigned long max,
                       unsigned long *out)
{
	const char *s = *p;
	char *end;

	if (s[0] != key || s[1] != '=' || s[2] < '1' || s[2] > '9')
		return false;
	errno = 0;
	unsigned long v = strtoul(s + 2, &end, 10);
	if (errno || *end != stop || v > max)
		return false;
	*out = v;
	*p = end + 1;
	return true;
}

/* Checks the parameter section of an argon2id PHC string; libargon2 checks
 * the base64 salt and hash that follow. */
static bool encoded_is_sane(const char *encoded)
{
	unsigned long m, t, par;
	const char *p = encoded;

	if (strnlen(encoded, MAX_ENCODED + 1) > MAX_ENCODED)
		return false;
	if (strncmp(p, PREFIX, sizeof PREFIX - 1) != 0)
		return false;
	p += sizeof PREFIX - 1;
	return read_param(&p, 'm', ',', MAX_M_COST_KIB, &m) &&
	       read_param(&p, 't', ',', MAX_T_COST, &t) &&
	       read_param(&p, 'p', '$', MAX_PARALLELISM, &par) &&
	       m >= 8 * par;
}

bool password_verify(const char *encoded, const char *password)
{
	if (!encoded || !password)
		return false;
	size_t n = strnlen(password, PASSWORD_MAX_BYTES + 1);
	if (n > PASSWORD_MAX_BYTES || !encoded_is_sane(encoded))
		return false;
	return argon2id_verify(encoded, password, n) == ARGON2_OK;
}
