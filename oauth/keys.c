/* keys.c: signing key storage, rotation, JWKS, and libjwt sign/verify. */
#include "keys.h"

#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <time.h>

#include "log.h"
#include "xmem.h"

enum { MAX_KEYS = 16, LEEWAY_S = 60 };

typedef struct key {
	char kid[65];
	char *public_pem;
	char *private_pem;   /* NULL unless this key signs */
	EVP_PKEY *signer;    /* parsed once per reload, shared by all threads (refcounted) */
	char x[64], y[64];   /* base64url coordinates for the JWKS */
} key;

static struct {
	pthread_rwlock_t lock;
	key keys[MAX_KEYS];
	int n;
	int signer;          /* index of the signing key, -1 if none */
	unsigned char kek[32];
	int rotation_days;
	int max_token_minutes;
	bool enabled;        /* a key encryption key was configured */
} ks = { .lock = PTHREAD_RWLOCK_INITIALIZER, .signer = -1 };

/* ---------------------------------------------------------- encoding */

static void b64url(const unsigned char *in, size_t n, char *out, size_t cap)
{
	static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n && o + 4 < cap; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
		out[o++] = T[v >> 18 & 63];
		out[o++] = T[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = T[v >> 6 & 63];
		if (i + 2 < n)
			out[o++] = T[v & 63];
	}
	out[o] = '\0';
}

/* base64url → bytes; returns length or -1. */
static long b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
		        : c == '-' ? 62 : c == '_' ? 63 : -1;
		if (v < 0)
			return -1;
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)o;
}

bool oauth_keys_parse_kek(const char *text, unsigned char out[32])
{
	size_t n = text ? strlen(text) : 0;
	if (n == 64) {
		for (int i = 0; i < 32; i++) {
			unsigned v;
			if (sscanf(text + 2 * i, "%2x", &v) != 1)
				return false;
			out[i] = (unsigned char)v;
		}
		return true;
	}
	if (n == 44) {
		unsigned char buf[48];
		int len = EVP_DecodeBlock(buf, (const unsigned char *)text, 44);
		if (len != 33 || text[43] != '=')
			return false;
		memcpy(out, buf, 32);
		return true;
	}
	return false;
}

/* -------------------------------------------------- AES-256-GCM wrap */

/* nonce(12) || ciphertext || tag(16) */
static bool seal(const unsigned char kek[32], const char *plain, size_t n, unsigned char **out, size_t *outlen)
{
	unsigned char *buf = xmalloc(12 + n + 16);
	int len = 0, fin = 0;
	bool ok = false;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (RAND_bytes(buf, 12) != 1 || !EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, kek, buf) ||
	    !EVP_EncryptUpdate(c, buf + 12, &len, (const unsigned char *)plain, (int)n) ||
	    !EVP_EncryptFinal_ex(c, buf + 12 + len, &fin) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, buf + 12 + len + fin))
		goto out;
	*out = buf;
	*outlen = 12 + (size_t)(len + fin) + 16;
	buf = NULL;
	ok = true;
out:
	EVP_CIPHER_CTX_free(c);
	free(buf);
	return ok;
}

static char *unseal(const unsigned char kek[32], const unsigned char *in, size_t n)
{
	if (n < 12 + 16 + 1)
		return NULL;
	size_t clen = n - 12 - 16;
	char *plain = xmalloc(clen + 1);
	int len = 0, fin = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	bool ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, kek, in) &&
	          EVP_DecryptUpdate(c, (unsigned char *)plain, &len, in + 12, (int)clen) &&
	          EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(in + 12 + clen)) &&
	          EVP_DecryptFinal_ex(c, (unsigned char *)plain + len, &fin) > 0;
	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		free(plain);
		return NULL;
	}
	plain[len + fin] = '\0';
	return plain;
}

/* ------------------------------------------------------- key material */

static char *bio_string(BIO *b)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);
	return xstrndup(data, (size_t)n);
}

/* New P-256 key: PEMs of both halves. */
static bool generate(char **priv_pem, char **pub_pem)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	if (!pk)
		return false;
	BIO *a = BIO_new(BIO_s_mem()), *b = BIO_new(BIO_s_mem());
	bool ok = PEM_write_bio_PrivateKey(a, pk, NULL, NULL, 0, NULL, NULL) && PEM_write_bio_PUBKEY(b, pk);
	if (ok) {
		*priv_pem = bio_string(a);
		*pub_pem = bio_string(b);
	}
	BIO_free(a);
	BIO_free(b);
	EVP_PKEY_free(pk);
	return ok;
}

static bool coordinates(const char *pub_pem, char x[64], char y[64])
{
	BIO *b = BIO_new_mem_buf(pub_pem, -1);
	EVP_PKEY *pk = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!pk)
		return false;
	BIGNUM *bx = NULL, *by = NULL;
	unsigned char rx[32], ry[32];
	bool ok = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &bx) &&
	          EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &by) && BN_bn2binpad(bx, rx, 32) == 32 &&
	          BN_bn2binpad(by, ry, 32) == 32;
	if (ok) {
		b64url(rx, 32, x, 64);
		b64url(ry, 32, y, 64);
	}
	BN_free(bx);
	BN_free(by);
	EVP_PKEY_free(pk);
	return ok;
}

static void clear_keys(key *k, int n)
{
	for (int i = 0; i < n; i++) {
		EVP_PKEY_free(k[i].signer);
		free(k[i].public_pem);
		if (k[i].private_pem) {
			OPENSSL_cleanse(k[i].private_pem, strlen(k[i].private_pem));
			free(k[i].private_pem);
		}
	}
}

/* -------------------------------------------------------- database */

static const char SQL_LOAD[] =
	"SELECT kid, public_pem, encode(private_enc, 'hex') AS priv, retired_at IS NULL AS active "
	"FROM signing_keys WHERE removed_at IS NULL ORDER BY created_at DESC LIMIT 16";

bool oauth_keys_reload(PGconn *conn)
{
	if (!ks.enabled)
		return false;
	PGresult *res = PQexec(conn, SQL_LOAD);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_msg(LOG_ERROR, "oauth: loading signing keys failed: %s", PQerrorMessage(conn));
		PQclear(res);
		return false;
	}
	key fresh[MAX_KEYS] = { 0 };
	int n = 0, signer = -1;
	for (int i = 0; i < PQntuples(res) && n < MAX_KEYS; i++) {
		key *k = &fresh[n];
		snprintf(k->kid, sizeof k->kid, "%s", PQgetvalue(res, i, 0));
		if (!coordinates(PQgetvalue(res, i, 1), k->x, k->y))
			continue;
		k->public_pem = xstrdup(PQgetvalue(res, i, 1));
		if (signer < 0 && PQgetvalue(res, i, 3)[0] == 't') {
			const char *hex = PQgetvalue(res, i, 2);
			size_t hl = strlen(hex);
			unsigned char *enc = xmalloc(hl / 2 + 1);
			for (size_t j = 0; j + 1 < hl; j += 2) {
				unsigned v;
				sscanf(hex + j, "%2x", &v);
				enc[j / 2] = (unsigned char)v;
			}
			k->private_pem = unseal(ks.kek, enc, hl / 2);
			free(enc);
			if (k->private_pem) {
				BIO *b = BIO_new_mem_buf(k->private_pem, -1);
				k->signer = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
				BIO_free(b);
			}
			if (k->signer)
				signer = n;
			else
				log_msg(LOG_ERROR, "oauth: signing key %s does not decrypt with CUPD_KEY_ENCRYPTION_KEY", k->kid);
		}
		n++;
	}
	PQclear(res);
	pthread_rwlock_wrlock(&ks.lock);
	clear_keys(ks.keys, ks.n);
	memcpy(ks.keys, fresh, sizeof fresh);
	ks.n = n;
	ks.signer = signer;
	pthread_rwlock_unlock(&ks.lock);
	return signer >= 0;
}

/* Inserts a new key unless a fresh enough unretired one exists (so instances
 * starting together create one between them), and retires older ones. */
static bool insert_key(PGconn *conn, bool force, char *err, size_t errlen)
{
	char *priv = NULL, *pub = NULL;
	unsigned char *enc = NULL;
	size_t enclen = 0;
	unsigned char kidraw[12];
	char kid[24], days[16], hex[1024];
	bool ok = false;
	if (!generate(&priv, &pub) || !seal(ks.kek, priv, strlen(priv), &enc, &enclen) || RAND_bytes(kidraw, 12) != 1) {
		snprintf(err, errlen, "cannot generate a signing key");
		goto out;
	}
	b64url(kidraw, 12, kid, sizeof kid);
	for (size_t i = 0; i < enclen && 2 * i + 2 < sizeof hex; i++)
		snprintf(hex + 2 * i, 3, "%02x", enc[i]);
	snprintf(days, sizeof days, "%d", force ? 0 : ks.rotation_days);
	const char *params[] = { kid, pub, hex, days };
	/* One statement: the advisory lock makes concurrent starts agree. */
	PGresult *res = PQexecParams(conn,
		"WITH lock AS (SELECT pg_advisory_xact_lock(7245031866)), "
		"fresh AS (SELECT 1 FROM signing_keys, lock WHERE retired_at IS NULL AND removed_at IS NULL "
		"  AND created_at > now() - make_interval(days => $4::int) AND $4::int > 0), "
		"ins AS (INSERT INTO signing_keys (kid, public_pem, private_enc) "
		"  SELECT $1, $2, decode($3, 'hex') FROM lock WHERE NOT EXISTS (SELECT 1 FROM fresh) RETURNING kid) "
		"UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL AND kid <> $1 "
		"  AND EXISTS (SELECT 1 FROM ins)",
		4, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		snprintf(err, errlen, "storing a signing key failed: %s", PQerrorMessage(conn));
	PQclear(res);
out:
	if (priv) {
		OPENSSL_cleanse(priv, strlen(priv));
		free(priv);
	}
	free(pub);
	free(enc);
	return ok;
}

/* Retired keys leave the JWKS once every token they signed has expired. */
static void prune(PGconn *conn)
{
	char mins[16];
	snprintf(mins, sizeof mins, "%d", ks.max_token_minutes + 5);
	const char *params[] = { mins };
	PQclear(PQexecParams(conn,
		"UPDATE signing_keys SET removed_at = now() WHERE removed_at IS NULL AND retired_at IS NOT NULL "
		"AND retired_at < now() - make_interval(mins => $1::int)",
		1, NULL, params, NULL, NULL, 0));
}

bool oauth_keys_configure(const cfg *c, char *err, size_t errlen)
{
	if (!oauth_keys_parse_kek(c->key_encryption_key, ks.kek)) {
		snprintf(err, errlen, "CUPD_KEY_ENCRYPTION_KEY must be 32 bytes as 64 hex characters or 44 base64 "
		                      "characters (e.g. openssl rand -hex 32)");
		return false;
	}
	ks.rotation_days = c->signing_key_rotation_days;
	ks.max_token_minutes = 1440;
	ks.enabled = true;
	return true;
}

bool oauth_keys_ensure(PGconn *conn, char *err, size_t errlen)
{
	if (!ks.enabled)
		return false;
	if (!insert_key(conn, false, err, errlen))
		return false;
	prune(conn);
	if (!oauth_keys_reload(conn)) {
		snprintf(err, errlen, "no usable signing key: the newest key does not decrypt with "
		                      "CUPD_KEY_ENCRYPTION_KEY (was it changed?)");
		return false;
	}
	return true;
}

bool oauth_keys_init(const cfg *c, PGconn *conn, char *err, size_t errlen)
{
	return oauth_keys_configure(c, err, errlen) && oauth_keys_ensure(conn, err, errlen);
}

bool oauth_keys_rotate(const cfg *c, PGconn *conn, char *err, size_t errlen)
{
	if (!oauth_keys_parse_kek(c->key_encryption_key, ks.kek)) {
		snprintf(err, errlen, "CUPD_KEY_ENCRYPTION_KEY is missing or malformed");
		return false;
	}
	ks.rotation_days = c->signing_key_rotation_days;
	ks.enabled = true;
	return insert_key(conn, true, err, errlen) && oauth_keys_reload(conn);
}

void oauth_keys_shutdown(void)
{
	pthread_rwlock_wrlock(&ks.lock);
	clear_keys(ks.keys, ks.n);
	ks.n = 0;
	ks.signer = -1;
	pthread_rwlock_unlock(&ks.lock);
	OPENSSL_cleanse(ks.kek, sizeof ks.kek);
	ks.enabled = false;
}

bool oauth_keys_enabled(void)
{
	return ks.enabled;
}

char *oauth_keys_jwks(void)
{
	json_t *arr = json_array();
	pthread_rwlock_rdlock(&ks.lock);
	for (int i = 0; i < ks.n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "kid",
		                                     ks.keys[i].kid, "use", "sig", "alg", "ES256", "x", ks.keys[i].x));
	for (int i = 0; i < ks.n; i++)
		json_object_set_new(json_array_get(arr, (size_t)i), "y", json_string(ks.keys[i].y));
	pthread_rwlock_unlock(&ks.lock);
	json_t *doc = json_pack("{s:o}", "keys", arr);
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* ------------------------------------------------------------- JWT */

/* ES256 JWS over header.payload with a key parsed once per reload.
 *
 * libjwt 1.10 re-parses the PEM key on every signature (~0.4 ms, and lock
 * contention inside OpenSSL 3 across threads), which capped token issuance
 * near 1,000/s on two cores. This writes exactly what libjwt writes: the
 * header {"alg":"ES256","kid":..,"typ":"JWT"}, compact JSON claims with
 * sorted keys, and the raw 64-byte R||S signature (RFC 7518 §3.4); libjwt
 * still decodes and verifies every token (oauth_jwt_verify, and a test
 * checks libjwt accepts what this signs). */
static char *b64url_alloc(const unsigned char *in, size_t n)
{
	size_t cap = n * 4 / 3 + 8;
	char *out = xmalloc(cap);
	b64url(in, n, out, cap);
	return out;
}

bool oauth_jwt_sign(const oauth_claims *cl, char **out)
{
	EVP_PKEY *pk = NULL;
	char kid[65];
	bool ok = false;
	char *h64 = NULL, *p64 = NULL, *hdr = NULL, *payload = NULL, *input = NULL;
	unsigned char der[80], raw[64];
	size_t derlen = sizeof der;
	ECDSA_SIG *sig = NULL;
	EVP_MD_CTX *md = NULL;
	pthread_rwlock_rdlock(&ks.lock);
	if (ks.signer >= 0 && EVP_PKEY_up_ref(ks.keys[ks.signer].signer)) {
		pk = ks.keys[ks.signer].signer;
		snprintf(kid, sizeof kid, "%s", ks.keys[ks.signer].kid);
	}
	pthread_rwlock_unlock(&ks.lock);
	if (!pk)
		return false;
	json_t *h = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid", kid, "typ", "JWT");
	json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "iss", cl->iss, "sub", cl->sub, "aud",
	                      cl->aud, "client_id", cl->client_id, "scope", cl->scope, "jti", cl->jti, "gid", cl->gid,
	                      "org", cl->org, "iat", (json_int_t)cl->iat, "exp", (json_int_t)cl->exp);
	hdr = h ? json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	payload = c ? json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(h);
	json_decref(c);
	if (!hdr || !payload)
		goto out;
	h64 = b64url_alloc((const unsigned char *)hdr, strlen(hdr));
	p64 = b64url_alloc((const unsigned char *)payload, strlen(payload));
	size_t ilen = strlen(h64) + 1 + strlen(p64);
	input = xmalloc(ilen + 1 + 90);
	snprintf(input, ilen + 1, "%s.%s", h64, p64);
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(md, der, &derlen, (const unsigned char *)input, ilen) != 1)
		goto out;
	const unsigned char *dp = der;
	const BIGNUM *r, *s;
	if (!(sig = d2i_ECDSA_SIG(NULL, &dp, (long)derlen)))
		goto out;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32)
		goto out;
	input[ilen] = '.';
	b64url(raw, 64, input + ilen + 1, 90);
	*out = input;
	input = NULL;
	ok = true;
out:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	free(hdr);
	free(payload);
	free(h64);
	free(p64);
	free(input);
	return ok;
}

/* kid from the (unverified) header, to pick the key. */
static bool header_kid(const char *token, size_t len, char kid[65])
{
	const char *dot = memchr(token, '.', len);
	unsigned char buf[512];
	if (!dot || dot - token > 600)
		return false;
	long n = b64url_decode(token, (size_t)(dot - token), buf, sizeof buf - 1);
	if (n <= 0)
		return false;
	json_t *h = json_loadb((const char *)buf, (size_t)n, 0, NULL);
	const char *k = json_string_value(json_object_get(h, "kid"));
	const char *alg = json_string_value(json_object_get(h, "alg"));
	/* Pin the algorithm before any verification (algorithm confusion, STACK.md §1). */
	bool ok = k && alg && !strcmp(alg, "ES256") && strlen(k) < 65;
	if (ok)
		snprintf(kid, 65, "%s", k);
	json_decref(h);
	return ok;
}

static bool copy_grant(jwt_t *jwt, const char *name, char *dst, size_t cap)
{
	const char *v = jwt_get_grant(jwt, name);
	if (!v || strlen(v) >= cap)
		return false;
	memcpy(dst, v, strlen(v) + 1);
	return true;
}

bool oauth_jwt_verify(const char *token, size_t len, const char *issuer, oauth_claims *out, const char **why)
{
	char kid[65], *pem = NULL, *tok = NULL;
	jwt_t *jwt = NULL;
	bool ok = false;
	*why = "malformed token";
	if (len > 8192 || !header_kid(token, len, kid))
		goto out;
	pthread_rwlock_rdlock(&ks.lock);
	for (int i = 0; i < ks.n; i++)
		if (!strcmp(ks.keys[i].kid, kid))
			pem = xstrdup(ks.keys[i].public_pem);
	pthread_rwlock_unlock(&ks.lock);
	if (!pem) {
		*why = "unknown signing key";
		goto out;
	}
	tok = xstrndup(token, len);
	if (jwt_decode(&jwt, tok, (const unsigned char *)pem, (int)strlen(pem)) != 0 || !jwt) {
		*why = "bad signature";
		goto out;
	}
	if (jwt_get_alg(jwt) != JWT_ALG_ES256) {
		*why = "wrong algorithm";
		goto out;
	}
	memset(out, 0, sizeof *out);
	errno = 0;
	out->exp = jwt_get_grant_int(jwt, "exp");
	out->iat = jwt_get_grant_int(jwt, "iat");
	long nbf = jwt_get_grant_int(jwt, "nbf");
	if (!copy_grant(jwt, "iss", out->iss, sizeof out->iss) || !copy_grant(jwt, "sub", out->sub, sizeof out->sub) ||
	    !copy_grant(jwt, "aud", out->aud, sizeof out->aud) ||
	    !copy_grant(jwt, "client_id", out->client_id, sizeof out->client_id) ||
	    !copy_grant(jwt, "scope", out->scope, sizeof out->scope) || !copy_grant(jwt, "jti", out->jti, sizeof out->jti) ||
	    !copy_grant(jwt, "gid", out->gid, sizeof out->gid) || !copy_grant(jwt, "org", out->org, sizeof out->org) ||
	    out->exp <= 0 || out->iat <= 0) {
		*why = "missing claims";
		goto out;
	}
	int64_t now = (int64_t)time(NULL);
	if (strcmp(out->iss, issuer) != 0) {
		*why = "wrong issuer";
		goto out;
	}
	if (out->exp + LEEWAY_S <= now) {
		*why = "token expired";
		goto out;
	}
	if ((nbf > 0 && nbf - LEEWAY_S > now) || out->iat - LEEWAY_S > now) {
		*why = "token not yet valid";
		goto out;
	}
	ok = true;
out:
	jwt_free(jwt);
	free(tok);
	free(pem);
	return ok;
}
