/* endpoint.c: CORS, error replies, form bodies and client authentication
 * shared by the OAuth endpoints (see endpoint.h). */
#include "endpoint.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "keys.h"
#include "xmem.h"

/* ---------------------------------------------------------- replies */

void oauth_cors(http_req *r)
{
	http_set_header(r, "Access-Control-Allow-Origin", "*");
	http_set_header(r, "Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After");
}

void oauth_reply_preflight(http_req *r, const char *methods, const char *headers)
{
	oauth_cors(r);
	http_set_header(r, "Access-Control-Allow-Methods", methods);
	http_set_header(r, "Access-Control-Allow-Headers", headers);
	http_set_header(r, "Access-Control-Max-Age", "86400");
	http_reply_empty(r, 204);
}

static void no_store(http_req *r)
{
	http_set_header(r, "Cache-Control", "no-store");
	http_set_header(r, "Pragma", "no-cache");
}

void oauth_reply_error(http_req *r, int status, const char *error, const char *description)
{
	no_store(r);
	oauth_cors(r);
	json_t *b = json_pack("{s:s}", "error", error);
	if (description && *description)
		json_object_set_new(b, "error_description", json_string(description));
	http_reply_json(r, status, b);
}

void oauth_reply_invalid_client(http_req *r, bool basic_challenge, const char *description)
{
	if (basic_challenge)
		http_set_header(r, "WWW-Authenticate", "Basic realm=\"cupd\", charset=\"UTF-8\"");
	oauth_reply_error(r, 401, "invalid_client", description);
}

void oauth_reply_json(http_req *r, int status, json_t *body)
{
	no_store(r);
	oauth_cors(r);
	http_reply_json(r, status, body);
}

bool oauth_ready_or_reply(http_req *r)
{
	if (oauth_keys_enabled())
		return true;
	http_set_header(r, "Retry-After", "60");
	oauth_reply_error(r, 503, "temporarily_unavailable",
	                  "This server cannot issue tokens: its operator has not configured CUPD_KEY_ENCRYPTION_KEY.");
	return false;
}

void oauth_reply_db_failure(http_req *r, db_status st)
{
	if (st == DB_ERROR) {
		oauth_reply_error(r, 500, "server_error", "The request failed on our side; it has been logged.");
		return;
	}
	http_set_header(r, "Retry-After", "1");
	oauth_reply_error(r, 503, "temporarily_unavailable", "The database is not reachable right now; retry shortly.");
}

/* ------------------------------------------------------------- bodies */

bool oauth_form_body_or_reply(http_req *r, oauth_form *f)
{
	static const char FORM[] = "application/x-www-form-urlencoded";
	const char *ct = http_req_header(r, "Content-Type");
	size_t n = ct ? strcspn(ct, "; \t") : 0;
	memset(f, 0, sizeof *f);
	if (!ct || n != sizeof FORM - 1 || strncasecmp(ct, FORM, n) != 0) {
		oauth_reply_error(r, 400, "invalid_request", "Send the parameters as application/x-www-form-urlencoded.");
		return false;
	}
	size_t len;
	const unsigned char *body = http_req_body(r, &len);
	if (!oauth_form_parse((const char *)body, len, f)) {
		oauth_reply_error(r, 400, "invalid_request",
		                  "The form body is malformed (bad percent-encoding, NUL, or too many parameters).");
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ scopes */

bool oauth_scope_normalize(const char *in, char *out, size_t cap, bool *unknown)
{
	static const char *const KNOWN[] = { "read", "write", "admin" };
	bool have[3] = { false, false, false };
	*unknown = false;
	for (const char *p = in ? in : ""; *p;) {
		size_t n = strcspn(p, " ");
		bool hit = false;
		for (int i = 0; i < 3 && n; i++)
			if (n == strlen(KNOWN[i]) && !strncmp(p, KNOWN[i], n))
				have[i] = hit = true;
		if (n && !hit)
			*unknown = true;
		p += n;
		while (*p == ' ')
			p++;
	}
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; i < 3; i++) {
		if (!have[i])
			continue;
		int w = snprintf(out + o, cap - o, "%s%s", o ? " " : "", KNOWN[i]);
		if (w < 0 || (size_t)w >= cap - o)
			return false;
		o += (size_t)w;
	}
	return true;
}

/* ------------------------------------------------------ client auth */

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int hexval(unsigned char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                                                                                                     : -1;
}

/* Form-urlencoded decoding of s[0..n); NULL on bad escapes or NUL. */
static char *url_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;
			if (i + 2 >= n || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0) {
				free(out);
				return NULL;
			}
			c = hi << 4 | lo;
			i += 2;
		}
		if (c == 0) {
			free(out);
			return NULL;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

bool oauth_basic_parse(const char *header, char **id, char **secret)
{
	*id = *secret = NULL;
	if (!header || strncasecmp(header, "Basic", 5) != 0 || (header[5] != ' ' && header[5] != '\t'))
		return false;
	const char *p = header + 5;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(p);
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0 || n > 8192)
		return false;
	/* base64 with optional padding */
	unsigned char *raw = xmalloc(n);
	size_t o = 0, pad = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '=') {
			pad++;
			continue;
		}
		int v = b64val((unsigned char)p[i]);
		if (v < 0 || pad) {
			free(raw);
			return false;
		}
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[o++] = (unsigned char)(acc >> bits);
		}
	}
	size_t sextets = n - pad;
	if (pad > 2 || sextets % 4 == 1 || (pad && (sextets + pad) % 4 != 0)) {
		free(raw);
		return false;
	}
	const unsigned char *colon = memchr(raw, ':', o);
	if (!colon) {
		free(raw);
		return false;
	}
	size_t idlen = (size_t)(colon - raw);
	char *i1 = url_decode((const char *)raw, idlen);
	char *s1 = url_decode((const char *)colon + 1, o - idlen - 1);
	OPENSSL_cleanse(raw, o);
	free(raw);
	if (!i1 || !s1 || !*i1) {
		free(i1);
		if (s1)
			OPENSSL_cleanse(s1, strlen(s1));
		free(s1);
		return false;
	}
	*id = i1;
	*secret = s1;
	return true;
}

typedef struct authn {
	http_req *r;
	oauth_caller_fn done;
	void *arg;
	bool basic;              /* credentials came in the Authorization header */
	bool confidential_only;
	char *secret;            /* owned; NULL when none was presented */
} authn;

static void authn_free(authn *a)
{
	if (a->secret) {
		OPENSSL_cleanse(a->secret, strlen(a->secret));
		free(a->secret);
	}
	free(a);
}

static void on_client(oauth_client *c, db_status st, const char *why, void *arg)
{
	authn *a = arg;
	http_req *r = a->r;
	if (st != DB_OK && why) {
		/* A client metadata document that could not be fetched or was refused:
		 * the client cannot be authenticated (RFC 6749 §5.2), not a server fault. */
		char msg[400];
		snprintf(msg, sizeof msg, "The client_id's metadata document could not be used: %s", why);
		oauth_reply_invalid_client(r, a->basic, msg);
		goto out;
	}
	if (st != DB_OK) {
		oauth_reply_db_failure(r, st);
		goto out;
	}
	if (!c) {
		oauth_reply_invalid_client(r, a->basic,
		                           why ? why : "Unknown client: register again (the registration may have expired).");
		goto out;
	}
	if (c->method == OAUTH_AUTH_NONE) {
		if (a->secret) {
			oauth_reply_invalid_client(r, a->basic, "This is a public client; it has no client secret.");
			goto fail;
		}
		if (a->confidential_only) {
			oauth_reply_invalid_client(r, a->basic, "Only confidential clients may call this endpoint.");
			goto fail;
		}
	} else {
		unsigned char md[32];
		unsigned int mdlen = 0;
		if (!a->secret) {
			oauth_reply_invalid_client(r, a->basic,
			                           "This client must authenticate with its client secret "
			                           "(client_secret_basic or client_secret_post).");
			goto fail;
		}
		EVP_Digest(a->secret, strlen(a->secret), md, &mdlen, EVP_sha256(), NULL);
		if (CRYPTO_memcmp(md, c->secret_hash, 32) != 0) {
			oauth_reply_invalid_client(r, a->basic, "Client authentication failed.");
			goto fail;
		}
	}
	a->done(r, c, a->arg);
	goto out;
fail:
	oauth_client_free(c);
out:
	authn_free(a);
}

void oauth_client_authenticate(http_req *r, const oauth_form *f, bool confidential_only, oauth_caller_fn done,
                               void *arg)
{
	bool rep_id = false, rep_secret = false;
	const char *body_id = oauth_form_get(f, "client_id", &rep_id);
	const char *body_secret = oauth_form_get(f, "client_secret", &rep_secret);
	const char *header = http_req_header(r, "Authorization");
	char *hid = NULL, *hsecret = NULL;
	if (rep_id || rep_secret) {
		oauth_reply_error(r, 400, "invalid_request", "client_id and client_secret may appear only once.");
		return;
	}
	if (header) {
		if (!oauth_basic_parse(header, &hid, &hsecret)) {
			oauth_reply_invalid_client(r, true, "The Authorization header is not valid client_secret_basic "
			                                    "credentials.");
			return;
		}
		if (body_secret) {
			oauth_reply_error(r, 400, "invalid_request",
			                  "Use one client authentication method: HTTP Basic or client_secret in the body, "
			                  "not both.");
			goto out;
		}
		if (body_id && strcmp(body_id, hid) != 0) {
			oauth_reply_error(r, 400, "invalid_request",
			                  "client_id in the body differs from the one in the Authorization header.");
			goto out;
		}
	} else if (!body_id) {
		oauth_reply_invalid_client(r, false, "Client authentication is missing: send client_id (public clients) "
		                                     "or client credentials.");
		return;
	}
	authn *a = xcalloc(1, sizeof *a);
	a->r = r;
	a->done = done;
	a->arg = arg;
	a->basic = header != NULL;
	a->confidential_only = confidential_only;
	if (hid && *hsecret)
		a->secret = hsecret, hsecret = NULL;  /* "id:" (empty secret) counts as none */
	else if (!hid && body_secret)
		a->secret = xstrdup(body_secret);
	oauth_client_lookup(app_worker_of(r)->db, app_worker_of(r)->base, hid ? hid : body_id, on_client, a);
out:
	free(hid);
	if (hsecret) {
		OPENSSL_cleanse(hsecret, strlen(hsecret));
		free(hsecret);
	}
}
