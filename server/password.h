/* password.h: argon2id password hashes for user logins.
 *
 * Hashes are PHC strings ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>")
 * made by Debian's libargon2, so the parameters travel with each hash and can
 * be raised later without invalidating stored ones.
 *
 * Cost: password_hash() and password_verify() each take about 30 ms of one
 * core and 19 MiB of memory. They must never run on an event loop thread; the
 * server calls them from its worker pool, the CLI calls them directly. All
 * functions are thread-safe and keep no state. */
#ifndef CUPD_PASSWORD_H
#define CUPD_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* Shortest and longest password (in bytes) that password_acceptable() lets
 * through. The upper bound keeps a login request from feeding megabytes into
 * the hash. */
#define PASSWORD_MIN_BYTES 8
#define PASSWORD_MAX_BYTES 1024

/* Room for any PHC string password_hash() writes, terminator included. */
#define PASSWORD_HASH_MAX 128

/* Returns true when pw may be set as a password. Otherwise returns false and,
 * if why is not NULL, points *why at a static sentence (no trailing period)
 * suitable for showing to the user, e.g. "must be at least 8 bytes long".
 * A NULL pw is not acceptable. */
bool password_acceptable(const char *pw, const char **why);

/* Hashes password with argon2id (t=2, m=19456 KiB, p=1, 16-byte salt from
 * RAND_bytes) and writes the NUL-terminated PHC string to out, which has
 * outlen bytes (PASSWORD_HASH_MAX is always enough). Does not check
 * password_acceptable(); callers do that first so they can say why. Returns
 * false, leaving out as an empty string when outlen > 0, if the random source
 * fails, the buffer is too small or libargon2 reports an error. */
bool password_hash(const char *password, char *out, size_t outlen);

/* Returns true only if encoded is a well-formed argon2id PHC string with
 * parameters within sane bounds and password matches it. Any malformed,
 * truncated or foreign (bcrypt, argon2i, ...) string, a NULL argument or a
 * password longer than PASSWORD_MAX_BYTES gives false. The comparison inside
 * libargon2 is constant-time. */
bool password_verify(const char *encoded, const char *password);

#endif
