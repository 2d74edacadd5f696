/* cimd_fetch.c: resolving URL client_ids on the event loops (see cimd.h):
 * pinned documents, the stored copy, and the SSRF-safe HTTPS fetch through
 * libevent's evhttp client over bufferevent_openssl.
 *
 * One fetch per URL per process: the first caller starts a "flight" on its
 * loop; callers on any loop that ask for the same URL meanwhile become its
 * waiters. When the flight lands (document stored, or refused), each waiter
 * gets its own copy of the client through an event on its own loop (the
 * workpool.c pattern: event_new on the waiter's thread, event_active from
 * the lander's).
 *
 * A fetch goes: resolve (evdns, per-loop resolver; an IP literal skips it)
 * → every address checked → TLS to the first acceptable one (IPv4 first),
 * verifying the certificate against the URL's host (SSL_set1_host + SNI, or
 * the IP literal) → GET with Host → 200 + JSON + at most 5120 bytes →
 * validated → upserted. A deadline timer bounds the whole thing. Each step's
 * outcome goes through fetch_end(), which only records it and fires the
 * "finish" event, so the evhttp connection is never freed from inside one
 * of its own callbacks. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cimd.h"
#include "log.h"
#include "xmem.h"

enum {
	MAX_FLIGHTS = 32,          /* distinct URLs fetched at once per process */
	MAX_HEADERS = 8192,        /* response header block */
	MAX_DNS_BASES = 256,       /* event loops (workers) with a resolver */
	PINNED_FILE_MAX = 1 << 20,
};

/* ------------------------------------------------------------ settings */

static struct {
	pthread_once_t once;
	const cfg *c;              /* borrowed, for init_once only */
	bool ok;                   /* init succeeded */
	int timeout_ms;
	int cache_min, cache_max;
	bool allow_loopback;
	SSL_CTX *ctx;              /* owned; shared by all loops (read-only after init) */
	oauth_cimd_pins *pins;     /* owned; NULL when no pinned file */
} S = { .once = PTHREAD_ONCE_INIT };

static bool load_pins(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		log_msg(LOG_ERROR, "CUPD_CIMD_PINNED_FILE: cannot open %s: %s", path, strerror(errno));
		return false;
	}
	char *buf = xmalloc(PINNED_FILE_MAX + 1);
	size_t n = fread(buf, 1, PINNED_FILE_MAX + 1, f);
	bool too_big = n > PINNED_FILE_MAX, rerr = ferror(f);
	fclose(f);
	char err[512] = "";
	if (!too_big && !rerr)
		S.pins = oauth_cimd_pins_parse(buf, n, err, sizeof err);
	free(buf);
	if (!S.pins)
		log_msg(LOG_ERROR, "CUPD_CIMD_PINNED_FILE %s: %s", path,
		        too_big ? "larger than 1 MiB" : rerr ? "read error" : err);
	return S.pins != NULL;
}

static void init_once(void)
{
	const cfg *c = S.c ? S.c : cfg_get();
	if (!c) {
		log_msg(LOG_ERROR, "client metadata documents: no configuration loaded");
		return;
	}
	S.timeout_ms = c->cimd_timeout_ms;
	S.cache_min = c->cimd_cache_min_seconds;
	S.cache_max = c->cimd_cache_max_seconds;
	S.allow_loopback = c->cimd_allow_insecure_loopback;
	S.ctx = SSL_CTX_new(TLS_client_method());
	if (!S.ctx) {
		log_msg(LOG_ERROR, "client metadata documents: SSL_CTX_new failed");
		return;
	}
	SSL_CTX_set_min_proto_version(S.ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(S.ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(S.ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(S.ctx) != 1)
		log_msg(LOG_WARN, "client metadata documents: the system CA store could not be loaded "
		                  "(install ca-certificates); fetches will fail verification");
	if (*c->cimd_ca_file && SSL_CTX_load_verify_locations(S.ctx, c->cimd_ca_file, NULL) != 1) {
		log_msg(LOG_ERROR, "CUPD_CIMD_CA_FILE %s: not a readable PEM file of CA certificates", c->cimd_ca_file);
		return;
	}
	if (*c->cimd_pinned_file && !load_pins(c->cimd_pinned_file))
		return;
	if (S.allow_loopback)
		log_msg(LOG_WARN, "CUPD_CIMD_ALLOW_INSECURE_LOOPBACK is on: client metadata documents may be fetched "
		                  "from loopback addresses. This setting is for tests and development only");
	if (!S.pins)
		log_msg(LOG_WARN, "client metadata documents: no CUPD_CIMD_PINNED_FILE; Claude and Claude Code documents "
		                  "will be fetched, and their hosts may refuse datacenter fetches (REQUIREMENTS B28, E22)");
	log_msg(LOG_INFO, "client metadata documents: %zu pinned, fetch limit %d ms, cache %d-%d s",
	        oauth_cimd_pins_count(S.pins), S.timeout_ms, S.cache_min, S.cache_max);
	S.ok = true;
}

bool oauth_cimd_init(const cfg *c)
{
	if (c && !S.c)
		S.c = c;
	pthread_once(&S.once, init_once);
	return S.ok;
}

bool oauth_cimd_available(void)
{
	return oauth_cimd_init(NULL);
}

/* ----------------------------------------------------- one resolver per loop */

static pthread_mutex_t dns_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct event_base *base;
	struct evdns_base *dns;    /* owned */
} dns_tab[MAX_DNS_BASES];
static int ndns;

/* The resolver of base, made on first use (reads resolv.conf and hosts).
 * DISABLE_WHEN_INACTIVE: an idle resolver holds no event, so it never keeps
 * a loop from exiting. */
static struct evdns_base *dns_for(struct event_base *base)
{
	struct evdns_base *d = NULL;
	pthread_mutex_lock(&dns_mu);
	for (int i = 0; i < ndns && !d; i++)
		if (dns_tab[i].base == base)
			d = dns_tab[i].dns;
	if (!d && ndns < MAX_DNS_BASES &&
	    (d = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE))) {
		evdns_base_set_option(d, "timeout:", "2");
		evdns_base_set_option(d, "attempts:", "2");
		dns_tab[ndns].base = base;
		dns_tab[ndns++].dns = d;
	}
	pthread_mutex_unlock(&dns_mu);
	return d;
}

void oauth_cimd_shutdown(void)
{
	pthread_mutex_lock(&dns_mu);
	for (int i = 0; i < ndns; i++)
		evdns_base_free(dns_tab[i].dns, 1);
	ndns = 0;
	pthread_mutex_unlock(&dns_mu);
	SSL_CTX_free(S.ctx);
	S.ctx = NULL;
	oauth_cimd_pins_free(S.pins);
	S.pins = NULL;
	S.ok = false;
}

/* -------------------------------------------------------------- clients */

static oauth_client *client_from_doc(const char *pk, const char *client_id, const oauth_cimd_doc *d)
{
	oauth_client *c = xcalloc(1, sizeof *c);
	snprintf(c->pk, sizeof c->pk, "%s", pk);
	c->client_id = xstrdup(client_id);
	c->name = xstrdup(d->client_name ? d->client_name : "");
	c->client_uri = d->client_uri ? xstrdup(d->client_uri) : NULL;
	c->logo_uri = d->logo_uri ? xstrdup(d->logo_uri) : NULL;
	for (int i = 0; i < d->nredirect; i++)
		c->redirect_uris[c->nredirect++] = xstrdup(d->redirect_uris[i]);
	c->method = OAUTH_AUTH_NONE;
	c->cimd = true;
	c->allows_refresh = d->allows_refresh;
	return c;
}

static oauth_client *client_dup(const oauth_client *s)
{
	oauth_client *c = xcalloc(1, sizeof *c);
	*c = *s;
	c->client_id = xstrdup(s->client_id);
	c->name = xstrdup(s->name ? s->name : "");
	c->client_uri = s->client_uri ? xstrdup(s->client_uri) : NULL;
	c->logo_uri = s->logo_uri ? xstrdup(s->logo_uri) : NULL;
	for (int i = 0; i < s->nredirect; i++)
		c->redirect_uris[i] = xstrdup(s->redirect_uris[i]);
	return c;
}

/* Stores a validated document (public client, secret NULL). A DCR row is
 * never overwritten (its client_id is never a URL anyway). Anyone can make
 * us fetch documents from their own domain, so like DCR (register.c) each
 * store also removes up to 20 fetched clients that are stale beyond the
 * 7-day fallback and never obtained a grant. */
static const db_stmt UPSERT = {
	"oauth_cimd_upsert",
	"WITH gc AS ("
	"  DELETE FROM oauth_clients WHERE id IN ("
	"    SELECT c.id FROM oauth_clients c WHERE c.registered_via = 'cimd' AND c.client_id <> $1"
	"      AND c.fetched_at < now() - interval '7 days'"
	"      AND NOT EXISTS (SELECT 1 FROM oauth_grants g WHERE g.client_pk = c.id)"
	"    ORDER BY c.fetched_at LIMIT 20 FOR UPDATE SKIP LOCKED)"
	"  RETURNING 1)"
	" INSERT INTO oauth_clients (client_id, registered_via, token_endpoint_auth_method, client_name, client_uri,"
	"  logo_uri, redirect_uris, grant_types, metadata, fetched_at, cache_until)"
	" VALUES ($1, $2, 'none', coalesce($3, ''), $4, $5,"
	"  ARRAY(SELECT e FROM json_array_elements_text($6::json) WITH ORDINALITY x(e, n) ORDER BY n),"
	"  ARRAY(SELECT e FROM json_array_elements_text($7::json) WITH ORDINALITY x(e, n) ORDER BY n),"
	"  $8::jsonb, now(), now() + make_interval(secs => $9::float8))"
	" ON CONFLICT (client_id) DO UPDATE SET registered_via = EXCLUDED.registered_via, client_secret_hash = NULL,"
	"  token_endpoint_auth_method = 'none', client_name = EXCLUDED.client_name, client_uri = EXCLUDED.client_uri,"
	"  logo_uri = EXCLUDED.logo_uri, redirect_uris = EXCLUDED.redirect_uris, grant_types = EXCLUDED.grant_types,"
	"  metadata = EXCLUDED.metadata, fetched_at = EXCLUDED.fetched_at, cache_until = EXCLUDED.cache_until"
	"  WHERE oauth_clients.registered_via <> 'dcr'"
	" RETURNING id",
	9,
};

/* After a failed re-fetch that kept the stored copy: try again only after
 * the cache floor, not on every request while the document server is down. */
static const db_stmt EXTEND = {
	"oauth_cimd_extend",
	"UPDATE oauth_clients SET cache_until = now() + make_interval(secs => $2::float8)"
	" WHERE client_id = $1 AND registered_via = 'cimd'",
	2,
};

typedef void (*stored_fn)(oauth_client *c, db_status st, const char *why, void *arg);

typedef struct store_job {
	char *client_id;           /* owned */
	oauth_cimd_doc doc;        /* owned */
	stored_fn done;
	void *arg;
} store_job;

static void store_job_free(store_job *j)
{
	free(j->client_id);
	oauth_cimd_doc_cleanup(&j->doc);
	free(j);
}

static void on_upserted(const db_result *res, void *arg)
{
	store_job *j = arg;
	const char *pk = res->status == DB_OK && db_rows(res->res) == 1 ? db_get(res->res, 0, "id") : NULL;
	if (pk) {
		j->done(client_from_doc(pk, j->client_id, &j->doc), DB_OK, NULL, j->arg);
	} else {
		log_msg(LOG_WARN, "oauth: storing client %s failed: %s", j->client_id,
		        res->message ? res->message : "no row (a registered client has this client_id)");
		j->done(NULL, res->status == DB_OK ? DB_ERROR : res->status, "the client could not be stored; try again",
		        j->arg);
	}
	store_job_free(j);
}

/* Upserts doc (moved into the job) as client_id; max_age < 0 stores no
 * cache_until (pinned). done runs exactly once, maybe before this returns. */
static void store(db_pool *db, const char *client_id, const char *via, oauth_cimd_doc *doc, int max_age,
                  stored_fn done, void *arg)
{
	store_job *j = xcalloc(1, sizeof *j);
	j->client_id = xstrdup(client_id);
	j->doc = *doc;
	memset(doc, 0, sizeof *doc);
	j->done = done;
	j->arg = arg;
	const oauth_cimd_doc *d = &j->doc;
	json_t *uris = json_array();
	for (int i = 0; i < d->nredirect; i++)
		json_array_append_new(uris, json_string(d->redirect_uris[i]));
	json_t *grants = d->allows_refresh ? json_pack("[s, s]", "authorization_code", "refresh_token")
	                                   : json_pack("[s]", "authorization_code");
	json_t *meta = json_pack("{s:s, s:O, s:O, s:s}", "client_id", client_id, "redirect_uris", uris, "grant_types",
	                         grants, "token_endpoint_auth_method", "none");
	if (d->client_name)
		json_object_set_new(meta, "client_name", json_string(d->client_name));
	if (d->client_uri)
		json_object_set_new(meta, "client_uri", json_string(d->client_uri));
	if (d->logo_uri)
		json_object_set_new(meta, "logo_uri", json_string(d->logo_uri));
	char *uris_text = json_dumps(uris, JSON_COMPACT);
	char *grants_text = json_dumps(grants, JSON_COMPACT);
	char *meta_text = json_dumps(meta, JSON_COMPACT);
	char age[16];
	snprintf(age, sizeof age, "%d", max_age);
	const char *params[] = { client_id, via, d->client_name, d->client_uri, d->logo_uri, uris_text, grants_text,
		                 meta_text, max_age >= 0 ? age : NULL };
	db_status st = db ? db_query(db, &UPSERT, params, on_upserted, j) : DB_UNAVAILABLE;
	free(uris_text);
	free(grants_text);
	free(meta_text);
	json_decref(uris);
	json_decref(grants);
	json_decref(meta);
	if (st != DB_OK) {
		store_job_free(j);
		done(NULL, st, st == DB_OVERLOADED ? "database overloaded" : "database unavailable", arg);
	}
}

static void on_extended(const db_result *res, void *arg)
{
	(void)res;
	(void)arg;
}

/* --------------------------------------------------------------- pinned */

typedef struct pin_req {
	oauth_cimd_pin *pin;       /* borrowed from S.pins */
	oauth_client_fn done;
	void *arg;
} pin_req;

static void on_pin_stored(oauth_client *c, db_status st, const char *why, void *arg)
{
	pin_req *p = arg;
	if (c)
		oauth_cimd__pin_set_synced(p->pin);
	p->done(c, st, why, p->arg);
	free(p);
}

/* A pinned client: never fetched. The first use in this process writes the
 * configured document to oauth_clients (a restart picks up edits); later
 * uses take the stored row. */
static void resolve_pinned(db_pool *db, const char *client_id, oauth_cimd_pin *pin, oauth_cimd_stored stored,
                           oauth_client_fn done, void *arg)
{
	if (stored.client && stored.pinned_row && oauth_cimd__pin_synced(pin)) {
		done(stored.client, DB_OK, NULL, arg);
		return;
	}
	oauth_client_free(stored.client);
	pin_req *p = xcalloc(1, sizeof *p);
	p->pin = pin;
	p->done = done;
	p->arg = arg;
	oauth_cimd_doc copy = { 0 };
	const oauth_cimd_doc *d = oauth_cimd_pin_doc(pin);
	copy.client_name = d->client_name ? xstrdup(d->client_name) : NULL;
	copy.client_uri = d->client_uri ? xstrdup(d->client_uri) : NULL;
	copy.logo_uri = d->logo_uri ? xstrdup(d->logo_uri) : NULL;
	for (int i = 0; i < d->nredirect; i++)
		copy.redirect_uris[copy.nredirect++] = xstrdup(d->redirect_uris[i]);
	copy.allows_refresh = d->allows_refresh;
	store(db, client_id, "pinned", &copy, -1, on_pin_stored, p);
}

/* -------------------------------------------------------------- flights */

typedef struct waiter {
	struct waiter *next;
	oauth_client_fn done;
	void *arg;
	struct event *ev;          /* owned; on the waiter's loop, activated by the lander */
	oauth_client *stored;      /* owned: the caller's stored copy, or NULL */
	bool recent;               /* stored may stand in when the fetch fails */
	oauth_client *result;      /* owned until delivered; set by the lander */
	db_status st;
	char why[320];
} waiter;

typedef struct flight {
	struct flight *next;
	char *client_id;           /* owned */
	waiter *waiters;           /* guarded by flights_mu until landed */
} flight;

static pthread_mutex_t flights_mu = PTHREAD_MUTEX_INITIALIZER;
static flight *flights;
static int nflights;

static void deliver(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	waiter *w = arg;
	event_free(w->ev);
	if (w->result) {
		oauth_client_free(w->stored);
		w->done(w->result, DB_OK, NULL, w->arg);
	} else if (w->stored && w->recent) {
		log_msg(LOG_WARN, "oauth: client document %s could not be re-fetched (%s); using the stored copy",
		        w->stored->client_id, w->why);
		w->done(w->stored, DB_OK, NULL, w->arg);
	} else {
		oauth_client_free(w->stored);
		w->done(NULL, w->st, w->why, w->arg);
	}
	free(w);
}

/* Ends fl: every waiter gets a copy of tmpl (borrowed), or st and why. */
static void land(flight *fl, const oauth_client *tmpl, db_status st, const char *why)
{
	pthread_mutex_lock(&flights_mu);
	for (flight **pp = &flights; *pp; pp = &(*pp)->next)
		if (*pp == fl) {
			*pp = fl->next;
			nflights--;
			break;
		}
	waiter *w = fl->waiters;
	fl->waiters = NULL;
	pthread_mutex_unlock(&flights_mu);
	while (w) {
		waiter *next = w->next; /* w belongs to its own loop once activated */
		if (tmpl) {
			w->result = client_dup(tmpl);
		} else {
			w->st = st;
			snprintf(w->why, sizeof w->why, "%s", why ? why : "the client metadata document was refused");
		}
		event_active(w->ev, EV_READ, 0);
		w = next;
	}
	free(fl->client_id);
	free(fl);
}

/* ---------------------------------------------------------------- fetch */

typedef enum { F_RESOLVING, F_REQUESTING, F_ENDED } fetch_state;

/* The argument of a resolution. evdns_getaddrinfo_cancel does not call back
 * at once (the callback still runs later, with EVUTIL_EAI_CANCEL), so a
 * fetch that ends first detaches itself (f = NULL) and the callback frees
 * the ticket alone. */
typedef struct dns_ticket {
	struct fetch *f;           /* borrowed; NULL once the fetch has ended */
} dns_ticket;

typedef struct fetch {
	fetch_state st;
	struct event_base *base;
	db_pool *db;
	flight *fl;                /* landed when this fetch ends */
	char *url;                 /* owned: the client_id */
	oauth_cimd_url u;
	bool stored_recent;        /* the starter held a usable stored copy */
	struct event *deadline;    /* owned */
	struct event *finish;      /* owned; runs fetch_finish off the evhttp callbacks */
	struct evdns_getaddrinfo_request *dns;  /* pending resolution or NULL */
	struct dns_ticket *ticket; /* the pending resolution's callback argument */
	struct evhttp_connection *evcon;        /* owned; owns its bufferevent and SSL */
	struct bufferevent *bev;   /* borrowed from evcon */
	char ip[INET6_ADDRSTRLEN]; /* the checked address we connect to */
	enum evhttp_request_error http_err;
	bool have_http_err;
	long verify_err;           /* X509_V_OK or the first certificate error */
	/* outcome */
	bool ok;
	oauth_cimd_doc doc;
	int max_age;
	db_status fail_st;
	char why[320];
} fetch;

static void fetch_end(fetch *f)
{
	if (f->st == F_ENDED)
		return;
	f->st = F_ENDED;
	event_active(f->finish, EV_READ, 0);
}

static void fetch_fail(fetch *f, db_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fetch_fail(fetch *f, db_status st, const char *fmt, ...)
{
	if (f->st == F_ENDED)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof f->why, fmt, ap);
	va_end(ap);
	f->fail_st = st;
	fetch_end(f);
}

static void fetch_free(fetch *f)
{
	if (f->deadline)
		event_free(f->deadline);
	if (f->finish)
		event_free(f->finish);
	free(f->url);
	oauth_cimd_doc_cleanup(&f->doc);
	free(f);
}

static void on_fetch_stored(oauth_client *c, db_status st, const char *why, void *arg)
{
	fetch *f = arg;
	land(f->fl, c, st, why);
	oauth_client_free(c);
	fetch_free(f);
}

static void fetch_finish(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fetch *f = arg;
	event_del(f->deadline);
	if (f->dns) {
		struct evdns_getaddrinfo_request *d = f->dns;
		f->ticket->f = NULL; /* the callback, whenever it runs, only frees the ticket */
		f->ticket = NULL;
		f->dns = NULL;
		evdns_getaddrinfo_cancel(d);
	}
	if (f->evcon) {
		evhttp_connection_free(f->evcon); /* drops the pending request without its callback */
		f->evcon = NULL;
		f->bev = NULL;
	}
	if (!f->ok) {
		log_msg(LOG_INFO, "oauth: client document %s refused: %s%s%s%s", f->url, f->why, f->ip[0] ? " [" : "",
		        f->ip, f->ip[0] ? "]" : "");
		if (f->stored_recent && f->db) {
			char floor[16];
			snprintf(floor, sizeof floor, "%d", S.cache_min);
			const char *params[] = { f->url, floor };
			if (db_query(f->db, &EXTEND, params, on_extended, NULL) != DB_OK)
				log_msg(LOG_WARN, "oauth: could not postpone the next fetch of %s", f->url);
		}
		land(f->fl, NULL, f->fail_st, f->why);
		fetch_free(f);
		return;
	}
	log_msg(LOG_INFO, "oauth: fetched client document %s (cached %d s)", f->url, f->max_age);
	store(f->db, f->url, "cimd", &f->doc, f->max_age, on_fetch_stored, f);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fetch *f = arg;
	fetch_fail(f, DB_UNAVAILABLE, "the document server did not answer within %d ms", S.timeout_ms);
}

static int verify_cb(int preverify_ok, X509_STORE_CTX *xs)
{
	if (!preverify_ok) {
		SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
		fetch *f = ssl ? SSL_get_app_data(ssl) : NULL;
		if (f && f->verify_err == X509_V_OK)
			f->verify_err = X509_STORE_CTX_get_error(xs);
	}
	return preverify_ok;
}

/* The request failed below HTTP: say why as precisely as we know. */
static void fail_transport(fetch *f)
{
	if (f->verify_err != X509_V_OK) {
		fetch_fail(f, DB_ERROR, "the document server's TLS certificate was not accepted for %s: %s", f->u.host,
		           X509_verify_cert_error_string(f->verify_err));
		return;
	}
	if (f->have_http_err && f->http_err == EVREQ_HTTP_DATA_TOO_LONG) {
		fetch_fail(f, DB_ERROR, "the response is larger than allowed (documents are capped at %d bytes)",
		           OAUTH_CIMD_MAX_BODY);
		return;
	}
	if (f->have_http_err && f->http_err == EVREQ_HTTP_TIMEOUT) {
		fetch_fail(f, DB_UNAVAILABLE, "the document server did not answer within %d ms", S.timeout_ms);
		return;
	}
	if (f->have_http_err && f->http_err == EVREQ_HTTP_INVALID_HEADER) {
		fetch_fail(f, DB_ERROR, "the document server sent a malformed HTTP response");
		return;
	}
	unsigned long e = f->bev ? bufferevent_get_openssl_error(f->bev) : 0;
	if (e) {
		char buf[160];
		ERR_error_string_n(e, buf, sizeof buf);
		fetch_fail(f, DB_UNAVAILABLE, "the TLS connection to %s failed (%s)", f->u.host, buf);
		return;
	}
	fetch_fail(f, DB_UNAVAILABLE, "the document server %s (port %d) could not be reached or closed the connection",
	           f->u.host, f->u.port);
}

static void on_http_error(enum evhttp_request_error e, void *arg)
{
	fetch *f = arg;
	f->http_err = e;
	f->have_http_err = true;
}

static void on_response(struct evhttp_request *req, void *arg)
{
	fetch *f = arg;
	if (f->st == F_ENDED)
		return;
	int code = req ? evhttp_request_get_response_code(req) : 0;
	if (code == 0) {
		fail_transport(f);
		return;
	}
	if (code >= 300 && code < 400) {
		fetch_fail(f, DB_ERROR, "the document URL answered HTTP %d, a redirect; redirects are not followed", code);
		return;
	}
	if (code != 200) {
		fetch_fail(f, code >= 500 ? DB_UNAVAILABLE : DB_ERROR, "the document URL answered HTTP %d instead of 200",
		           code);
		return;
	}
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	if (!oauth_cimd_content_type_ok(evhttp_find_header(h, "Content-Type"))) {
		fetch_fail(f, DB_ERROR, "the document is not served as JSON (Content-Type must be application/json)");
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len > OAUTH_CIMD_MAX_BODY) {
		fetch_fail(f, DB_ERROR, "the response is larger than allowed (documents are capped at %d bytes)",
		           OAUTH_CIMD_MAX_BODY);
		return;
	}
	char body[OAUTH_CIMD_MAX_BODY + 1];
	evbuffer_copyout(in, body, len);
	char why[300];
	if (!oauth_cimd_doc_parse(f->url, body, len, &f->doc, why, sizeof why)) {
		fetch_fail(f, DB_ERROR, "%s", why);
		return;
	}
	f->max_age = oauth_cimd_max_age(evhttp_find_header(h, "Cache-Control"), S.cache_min, S.cache_max);
	f->ok = true;
	fetch_end(f);
}

/* TLS to the checked address f->ip, verifying the certificate against the
 * URL's host, then the GET. */
static void fetch_connect(fetch *f)
{
	SSL *ssl = SSL_new(S.ctx);
	if (!ssl) {
		fetch_fail(f, DB_UNAVAILABLE, "TLS is unavailable (SSL_new failed)");
		return;
	}
	SSL_set_app_data(ssl, f);
	SSL_set_verify(ssl, SSL_VERIFY_PEER, verify_cb);
	bool named;
	if (f->u.host_is_ip) {
		named = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), f->u.host) == 1;
	} else {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		named = SSL_set_tlsext_host_name(ssl, f->u.host) == 1 && SSL_set1_host(ssl, f->u.host) == 1;
	}
	if (!named) {
		SSL_free(ssl);
		fetch_fail(f, DB_ERROR, "the host of the client_id URL cannot be verified by TLS");
		return;
	}
	struct bufferevent *bev = bufferevent_openssl_socket_new(f->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                                         BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev) {
		SSL_free(ssl);
		fetch_fail(f, DB_UNAVAILABLE, "TLS is unavailable (bufferevent_openssl_socket_new failed)");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	/* f->ip is numeric: evhttp connects to exactly this address, no lookup. */
	f->evcon = evhttp_connection_base_bufferevent_new(f->base, NULL, bev, f->ip, (unsigned short)f->u.port);
	if (!f->evcon) {
		bufferevent_free(bev);
		fetch_fail(f, DB_UNAVAILABLE, "could not create an HTTP connection");
		return;
	}
	f->bev = bev;
	evhttp_connection_set_max_body_size(f->evcon, OAUTH_CIMD_MAX_BODY);
	evhttp_connection_set_max_headers_size(f->evcon, MAX_HEADERS);
	evhttp_connection_set_retries(f->evcon, 0);
	/* Our deadline ends the fetch first; this only bounds idle sockets. */
	struct timeval tv = { S.timeout_ms / 1000 + 1, (S.timeout_ms % 1000) * 1000 };
	evhttp_connection_set_timeout_tv(f->evcon, &tv);

	struct evhttp_request *req = evhttp_request_new(on_response, f);
	if (!req) {
		fetch_fail(f, DB_UNAVAILABLE, "could not create an HTTP request");
		return;
	}
	evhttp_request_set_error_cb(req, on_http_error);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char host[300];
	const char *open = f->u.host_is_ip && strchr(f->u.host, ':') ? "[" : "";
	const char *close = *open ? "]" : "";
	if (f->u.port == 443)
		snprintf(host, sizeof host, "%s%s%s", open, f->u.host, close);
	else
		snprintf(host, sizeof host, "%s%s%s:%d", open, f->u.host, close, f->u.port);
	evhttp_add_header(h, "Host", host);
	evhttp_add_header(h, "Accept", "application/json");
	evhttp_add_header(h, "User-Agent", "cupd/" CUPD_VERSION " (OAuth client metadata)");
	evhttp_add_header(h, "Connection", "close");
	f->st = F_REQUESTING;
	if (evhttp_make_request(f->evcon, req, EVHTTP_REQ_GET, f->u.target) != 0)
		fail_transport(f); /* req is freed; a no-op if its callback already ended the fetch */
}

/* Every address must be acceptable (a name that resolves to a public and a
 * private address is refused, so no answer order can pick the private one);
 * IPv4 preferred. True with f->ip set, or false after fetch_fail. */
static bool pick_address(fetch *f, const struct evutil_addrinfo *ai)
{
	const struct sockaddr *pick = NULL;
	for (; ai; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		bool embedded;
		oauth_cimd_addr_class k = oauth_cimd_addr_classify(ai->ai_addr, &embedded);
		if (!oauth_cimd_addr_allowed(k, embedded, S.allow_loopback)) {
			/* The page names the class only; the address goes to the log. */
			const void *a = ai->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
			                                         : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
			if (!evutil_inet_ntop(ai->ai_family, a, f->ip, sizeof f->ip))
				f->ip[0] = '\0';
			fetch_fail(f, DB_ERROR,
			           "the host %s has a non-public address (%s%s); client metadata documents are only fetched "
			           "from public addresses (SSRF protection)",
			           f->u.host, embedded ? "IPv4-embedded " : "", oauth_cimd_addr_class_name(k));
			return false;
		}
		if (!pick || (pick->sa_family == AF_INET6 && ai->ai_family == AF_INET))
			pick = ai->ai_addr;
	}
	if (!pick) {
		fetch_fail(f, DB_UNAVAILABLE, "the host %s has no IPv4 or IPv6 address", f->u.host);
		return false;
	}
	const void *a = pick->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)pick)->sin_addr
	                                           : (const void *)&((const struct sockaddr_in6 *)pick)->sin6_addr;
	if (!evutil_inet_ntop(pick->sa_family, a, f->ip, sizeof f->ip)) {
		fetch_fail(f, DB_ERROR, "the address of %s cannot be used", f->u.host);
		return false;
	}
	return true;
}

static void on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	dns_ticket *t = arg;
	fetch *f = t->f;
	free(t);
	if (!f) {
		if (res)
			evutil_freeaddrinfo(res);
		return;
	}
	f->dns = NULL;
	f->ticket = NULL;
	if (f->st != F_ENDED && result != 0) {
		fetch_fail(f, DB_UNAVAILABLE, "the host %s could not be resolved (%s)", f->u.host,
		           evutil_gai_strerror(result));
	} else if (f->st != F_ENDED && pick_address(f, res)) {
		fetch_connect(f);
	}
	if (res)
		evutil_freeaddrinfo(res);
}

static void fetch_start(fetch *f)
{
	struct timeval tv = { S.timeout_ms / 1000, (S.timeout_ms % 1000) * 1000 };
	evtimer_add(f->deadline, &tv);
	f->st = F_RESOLVING;
	struct evutil_addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		                         .ai_protocol = IPPROTO_TCP };
	if (f->u.host_is_ip) {
		/* A literal: check it as it stands (inet_pton, never the resolver). */
		struct sockaddr_storage ss = { 0 };
		struct evutil_addrinfo ai = { .ai_socktype = SOCK_STREAM, .ai_addr = (struct sockaddr *)&ss };
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		if (inet_pton(AF_INET, f->u.host, &in->sin_addr) == 1) {
			ai.ai_family = in->sin_family = AF_INET;
			ai.ai_addrlen = sizeof *in;
		} else if (inet_pton(AF_INET6, f->u.host, &in6->sin6_addr) == 1) {
			ai.ai_family = in6->sin6_family = AF_INET6;
			ai.ai_addrlen = sizeof *in6;
		}
		if (pick_address(f, &ai))
			fetch_connect(f);
		return;
	}
	struct evdns_base *dns = dns_for(f->base);
	if (!dns) {
		fetch_fail(f, DB_UNAVAILABLE, "no DNS resolver is available");
		return;
	}
	/* NULL when the answer came at once (hosts file): on_resolved already ran
	 * and freed the ticket. */
	dns_ticket *t = xcalloc(1, sizeof *t);
	t->f = f;
	f->ticket = t;
	struct evdns_getaddrinfo_request *r = evdns_getaddrinfo(dns, f->u.host, NULL, &hints, on_resolved, t);
	if (r)
		f->dns = r;
}

/* ------------------------------------------------------------- resolve */

void oauth_cimd_resolve(db_pool *db, struct event_base *base, const char *client_id, oauth_cimd_stored stored,
                        oauth_client_fn done, void *arg)
{
	bool usable = stored.client && !stored.pinned_row && stored.fresh;
	if (!oauth_cimd_init(NULL)) {
		if (usable) {
			done(stored.client, DB_OK, NULL, arg);
			return;
		}
		oauth_client_free(stored.client);
		done(NULL, DB_ERROR, "client metadata documents are unavailable on this server (see its log)", arg);
		return;
	}
	oauth_cimd_pin *pin = oauth_cimd_pins_find(S.pins, client_id);
	if (pin) {
		resolve_pinned(db, client_id, pin, stored, done, arg);
		return;
	}
	if (usable) {
		done(stored.client, DB_OK, NULL, arg);
		return;
	}
	oauth_cimd_url u;
	const char *why;
	if (!oauth_cimd_url_parse(client_id, &u, &why)) {
		oauth_client_free(stored.client);
		done(NULL, DB_ERROR, why, arg);
		return;
	}

	waiter *w = xcalloc(1, sizeof *w);
	w->done = done;
	w->arg = arg;
	w->stored = stored.client;
	w->recent = stored.recent && !stored.pinned_row;
	if (!(w->ev = event_new(base, -1, 0, deliver, w))) {
		oauth_client_free(w->stored);
		free(w);
		done(NULL, DB_UNAVAILABLE, "out of event resources", arg);
		return;
	}
	pthread_mutex_lock(&flights_mu);
	flight *fl = flights;
	while (fl && strcmp(fl->client_id, client_id) != 0)
		fl = fl->next;
	if (fl) { /* someone is fetching it: wait for that */
		w->next = fl->waiters;
		fl->waiters = w;
		pthread_mutex_unlock(&flights_mu);
		return;
	}
	if (nflights >= MAX_FLIGHTS) {
		pthread_mutex_unlock(&flights_mu);
		w->st = DB_UNAVAILABLE;
		snprintf(w->why, sizeof w->why, "too many client metadata documents are being fetched; try again shortly");
		event_active(w->ev, EV_READ, 0);
		return;
	}
	fl = xcalloc(1, sizeof *fl);
	fl->client_id = xstrdup(client_id);
	fl->waiters = w;
	fl->next = flights;
	flights = fl;
	nflights++;
	pthread_mutex_unlock(&flights_mu);

	fetch *f = xcalloc(1, sizeof *f);
	f->base = base;
	f->db = db;
	f->fl = fl;
	f->url = xstrdup(client_id);
	f->u = u;
	f->stored_recent = w->recent;
	f->verify_err = X509_V_OK;
	f->deadline = evtimer_new(base, on_deadline, f);
	f->finish = event_new(base, -1, 0, fetch_finish, f);
	if (!f->deadline || !f->finish) {
		land(fl, NULL, DB_UNAVAILABLE, "out of event resources");
		fetch_free(f);
		return;
	}
	fetch_start(f);
}
