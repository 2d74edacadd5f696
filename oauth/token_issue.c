/* token_issue.c: access-token signing off the loop, refresh tokens and their
 * derived successors (see token_issue.h). */
#include "token_issue.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "oauth.h"
#include "workpool.h"
#include "xmem.h"

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64url(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
		out[o++] = B64URL[v >> 18 & 63];
		out[o++] = B64URL[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = B64URL[v >> 6 & 63];
		if (i + 2 < n)
			out[o++] = B64URL[v & 63];
	}
	out[o] = '\0';
}

void oauth_hash_hex(const char *s, size_t n, char out[OAUTH_HASH_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[OAUTH_HASH_HEX] = '\0';
}

bool oauth_random_b64url(size_t nbytes, char *out, size_t cap)
{
	unsigned char buf[64];
	if (nbytes > sizeof buf || cap < (nbytes * 4 + 2) / 3 + 1 || RAND_bytes(buf, (int)nbytes) != 1)
		return false;
	b64url(buf, nbytes, out);
	OPENSSL_cleanse(buf, sizeof buf);
	return true;
}

bool oauth_refresh_new(char out[OAUTH_REFRESH_LEN + 1])
{
	memcpy(out, OAUTH_REFRESH_PREFIX, 5);
	return oauth_random_b64url(32, out + 5, OAUTH_REFRESH_LEN + 1 - 5);
}

/* ----------------------------------------------------- successor key */

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool have_key;
static unsigned char succ_key[32];

static bool derive_key(const cfg *c)
{
	unsigned char kek[32];
	bool ok = false;
	if (!c || !oauth_keys_parse_kek(c->key_encryption_key, kek))
		return false;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	char digest[] = "SHA256";
	char info[] = "cupd refresh successor";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, kek, sizeof kek),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof info - 1),
		OSSL_PARAM_construct_end(),
	};
	if (kctx && EVP_KDF_derive(kctx, succ_key, sizeof succ_key, params) == 1)
		ok = true;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	OPENSSL_cleanse(kek, sizeof kek);
	return ok;
}

bool oauth_refresh_successor(const cfg *c, const char *presented, size_t len, char out[OAUTH_REFRESH_LEN + 1])
{
	if (!atomic_load(&have_key)) {
		pthread_mutex_lock(&key_lock);
		if (!atomic_load(&have_key) && derive_key(c))
			atomic_store(&have_key, true);
		pthread_mutex_unlock(&key_lock);
		if (!atomic_load(&have_key))
			return false;
	}
	unsigned char mac[32];
	size_t maclen = 0;
	char digest[] = "SHA256";
	if (!EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, succ_key, sizeof succ_key, (const unsigned char *)presented,
	               len, mac, sizeof mac, &maclen) || maclen != 32)
		return false;
	memcpy(out, OAUTH_REFRESH_PREFIX, 5);
	b64url(mac, 32, out + 5);
	OPENSSL_cleanse(mac, sizeof mac);
	return true;
}

/* ------------------------------------------------------------ claims */

static bool put(char *dst, size_t cap, const char *v)
{
	size_t n = v ? strlen(v) : 0;
	if (n >= cap)
		return false;
	memcpy(dst, v ? v : "", n + 1);
	return true;
}

bool oauth_claims_fill(oauth_claims *cl, const char *user_id, const char *client_id, const char *scope,
                       const char *grant_id, const char *org_id, int minutes, int64_t grant_exp)
{
	memset(cl, 0, sizeof *cl);
	int64_t now = (int64_t)time(NULL);
	cl->iat = now;
	cl->exp = now + (int64_t)minutes * 60;
	if (grant_exp > 0 && grant_exp < cl->exp)
		cl->exp = grant_exp;
	return put(cl->iss, sizeof cl->iss, oauth_issuer()) && put(cl->aud, sizeof cl->aud, oauth_resource()) &&
	       put(cl->sub, sizeof cl->sub, user_id) && put(cl->client_id, sizeof cl->client_id, client_id) &&
	       put(cl->scope, sizeof cl->scope, scope) && put(cl->gid, sizeof cl->gid, grant_id) &&
	       put(cl->org, sizeof cl->org, org_id) && oauth_random_b64url(16, cl->jti, sizeof cl->jti);
}

/* ----------------------------------------------------------- signing */

typedef struct sign_job {
	oauth_claims claims;
	char *jwt;
	oauth_signed_fn done;
	void *arg;
} sign_job;

static void sign_work(void *arg)
{
	sign_job *j = arg;
	if (!oauth_jwt_sign(&j->claims, &j->jwt))
		j->jwt = NULL;
}

static void sign_done(void *arg)
{
	sign_job *j = arg;
	if (!j->jwt)
		log_msg(LOG_ERROR, "oauth: signing an access token failed (no usable signing key?)");
	j->done(j->jwt, j->arg);
	free(j);
}

/* main() is meant to create the process-wide pool (workpool_default); until
 * it does, a small pool of our own keeps signing off the loops. */
static pthread_once_t fallback_once = PTHREAD_ONCE_INIT;
static workpool *fallback;

static void make_fallback(void)
{
	fallback = workpool_new(2);
}

static workpool *pool(void)
{
	workpool *p = workpool_default();
	if (p)
		return p;
	pthread_once(&fallback_once, make_fallback);
	return fallback;
}

bool oauth_sign_async(struct event_base *base, const oauth_claims *cl, oauth_signed_fn done, void *arg)
{
	sign_job *j = xcalloc(1, sizeof *j);
	j->claims = *cl;
	j->done = done;
	j->arg = arg;
	if (!workpool_submit(pool(), base, sign_work, sign_done, j)) {
		free(j);
		return false;
	}
	return true;
}
