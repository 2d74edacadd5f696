/* cimd.h: Client ID Metadata Documents (REQUIREMENTS B26-B30, D9, D14, E5,
 * E22).
 *
 * A client_id that is an https URL with a path names a JSON document, served
 * by the client's own domain, that describes the client: its redirect URIs,
 * its name. oauth_client_lookup hands such client_ids here; they come back
 * as an ordinary oauth_client (public, token_endpoint_auth_method "none",
 * cimd = true), so the authorize and the token leg validate them exactly like
 * a registered client (B29).
 *
 * Two sources, in this order:
 *   1. Pinned documents (B28): CUPD_CIMD_PINNED_FILE maps client_id URLs to
 *      documents kept in configuration, for vendors whose hosts refuse
 *      datacenter fetches. They are never fetched (registered_via 'pinned').
 *   2. Fetched documents (B27): https only; the host is resolved here and
 *      every address must be public (no loopback, private, link-local,
 *      CGNAT, multicast, unspecified or reserved address, nor an IPv4-mapped,
 *      -compatible, NAT64 or 6to4 form of one); the connection goes to the
 *      checked address, with SNI and certificate verification against the
 *      host name; no redirects; CUPD_CIMD_TIMEOUT_MS in total; at most 5120
 *      bytes; Content-Type JSON. The validated client is stored in
 *      oauth_clients (registered_via 'cimd') until Cache-Control max-age,
 *      clamped to [CUPD_CIMD_CACHE_MIN_SECONDS, CUPD_CIMD_CACHE_MAX_SECONDS]
 *      (1 hour when absent, the minimum for no-store/no-cache). A failed
 *      re-fetch keeps serving a copy fetched less than 7 days ago.
 *      Concurrent first uses of one URL in a process share one fetch.
 *
 * The first half of this header is pure (no loop, no database, no network)
 * for unit tests and the fuzzer (cimd.c); the second half runs on the event
 * loops (cimd_fetch.c). */
#ifndef CUPD_OAUTH_CIMD_H
#define CUPD_OAUTH_CIMD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "clients.h"
#include "config.h"
#include "db.h"

struct event_base;

enum {
	OAUTH_CIMD_MAX_BODY = 5120,           /* bytes of a fetched document (B27) */
	OAUTH_CIMD_MAX_URL = 2048,            /* oauth_clients.client_id limit */
	OAUTH_CIMD_DEFAULT_MAX_AGE = 3600,    /* no Cache-Control max-age */
	OAUTH_CIMD_STALE_DAYS = 7,            /* a stored copy outlives failed re-fetches this long */
	OAUTH_CIMD_NAME_MAX = 200,            /* client_name, like DCR */
};

/* ------------------------------------------------------ addresses (SSRF) */

typedef enum {
	OAUTH_CIMD_ADDR_PUBLIC = 0,
	OAUTH_CIMD_ADDR_LOOPBACK,      /* 127/8, ::1 */
	OAUTH_CIMD_ADDR_PRIVATE,       /* 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10, 64:ff9b:1::/48 */
	OAUTH_CIMD_ADDR_LINK_LOCAL,    /* 169.254/16, fe80::/10 */
	OAUTH_CIMD_ADDR_CGNAT,         /* 100.64/10 */
	OAUTH_CIMD_ADDR_MULTICAST,     /* 224/4, ff00::/8 */
	OAUTH_CIMD_ADDR_UNSPECIFIED,   /* 0.0.0.0, :: */
	OAUTH_CIMD_ADDR_RESERVED,      /* 0/8, 240/4, documentation, benchmarking, IETF blocks, not 2000::/3 */
} oauth_cimd_addr_class;

/* Classifies an AF_INET or AF_INET6 address (anything else is RESERVED).
 * IPv6 forms that carry an IPv4 address (::ffff:a.b.c.d mapped, ::a.b.c.d
 * compatible, 64:ff9b::/96 NAT64, 2002::/16 6to4) take the class of that
 * IPv4 address, and *embedded (may be NULL) is set; a compatible address of
 * a public IPv4 address is RESERVED (deprecated, never dialled). */
oauth_cimd_addr_class oauth_cimd_addr_classify(const struct sockaddr *sa, bool *embedded);

/* The same for text ("10.0.0.1", "::ffff:127.0.0.1"); RESERVED when ip is
 * not an address. For tests and messages. */
oauth_cimd_addr_class oauth_cimd_addr_classify_text(const char *ip, bool *embedded);

/* "loopback", "private", ... for messages. */
const char *oauth_cimd_addr_class_name(oauth_cimd_addr_class k);

/* Whether a document may be fetched from an address of class k. Only
 * PUBLIC, except that allow_loopback (CUPD_CIMD_ALLOW_INSECURE_LOOPBACK,
 * tests only) also admits a plain loopback address, never an embedded one. */
bool oauth_cimd_addr_allowed(oauth_cimd_addr_class k, bool embedded, bool allow_loopback);

/* ---------------------------------------------------------------- URLs */

/* A client_id URL taken apart (B26). host and target are copies. */
typedef struct oauth_cimd_url {
	char host[256];                    /* without brackets; an IP literal or a DNS name */
	bool host_is_ip;
	int port;                          /* 443 unless given */
	char target[OAUTH_CIMD_MAX_URL + 1]; /* path and query: the request target */
} oauth_cimd_url;

/* Accepts https://host[:port]/path[?query] of at most 2048 printable ASCII
 * characters: no user information, no fragment, a path other than "/"
 * without "." or ".." segments (also percent-encoded). On failure *why (may
 * be NULL) says what is wrong in a sentence fit for an error page. */
bool oauth_cimd_url_parse(const char *url, oauth_cimd_url *out, const char **why);

/* ----------------------------------------------------------- documents */

/* A validated client metadata document; every string owned. */
typedef struct oauth_cimd_doc {
	char *client_name;                         /* NULL when absent or empty */
	char *client_uri;                          /* NULL when absent or unusable */
	char *logo_uri;                            /* NULL when absent or unusable */
	char *redirect_uris[OAUTH_MAX_REDIRECTS];
	int nredirect;
	bool allows_refresh;                       /* grant_types absent or listing refresh_token */
} oauth_cimd_doc;

/* Validates the document body fetched for client_id: a JSON object (no
 * duplicate members) whose client_id equals client_id byte for byte, whose
 * redirect_uris is a non-empty array of at most 10 URIs each passing
 * oauth_redirect_uri_acceptable, whose token_endpoint_auth_method is "none"
 * or absent (public clients only, B29), without client_secret, whose
 * grant_types (if given) include authorization_code and response_types (if
 * given) include code, and whose client_name (if given) is text of at most
 * 200 characters. client_uri and logo_uri are kept when they are https (or
 * loopback http) URLs of at most 2048 characters and dropped otherwise;
 * other members are ignored. On success fills *out (release with
 * oauth_cimd_doc_cleanup); on failure writes a sentence to why (capacity
 * whylen) and leaves *out empty. */
bool oauth_cimd_doc_parse(const char *client_id, const char *body, size_t len, oauth_cimd_doc *out, char *why,
                          size_t whylen);

/* The same for a parsed object. With pinned, client_id may be absent from
 * the object and client_name is required. */
bool oauth_cimd_doc_from_json(const char *client_id, const json_t *obj, bool pinned, oauth_cimd_doc *out, char *why,
                              size_t whylen);

void oauth_cimd_doc_cleanup(oauth_cimd_doc *d);

/* True for application/json and application/<x>+json, parameters allowed. */
bool oauth_cimd_content_type_ok(const char *content_type);

/* Cache lifetime in seconds from a Cache-Control value (NULL = absent):
 * max-age clamped to [min_s, max_s]; no-store or no-cache → min_s; no
 * usable max-age → OAUTH_CIMD_DEFAULT_MAX_AGE clamped. */
int oauth_cimd_max_age(const char *cache_control, int min_s, int max_s);

/* ------------------------------------------------------ pinned documents */

typedef struct oauth_cimd_pins oauth_cimd_pins;
typedef struct oauth_cimd_pin oauth_cimd_pin;

/* Parses the pinned file's text: a JSON object mapping each client_id URL
 * (which must pass oauth_cimd_url_parse) to a document checked by
 * oauth_cimd_doc_from_json(pinned = true), e.g.
 *   { "https://claude.ai/oauth/claude-code-client-metadata":
 *       { "client_name": "Claude Code",
 *         "redirect_uris": ["http://localhost/callback", "http://127.0.0.1/callback"] } }
 * NULL on error, with a sentence naming the entry in err. */
oauth_cimd_pins *oauth_cimd_pins_parse(const char *text, size_t len, char *err, size_t errlen);
void oauth_cimd_pins_free(oauth_cimd_pins *p);
size_t oauth_cimd_pins_count(const oauth_cimd_pins *p);
/* The pin of client_id, or NULL; borrowed, lives as long as p. */
oauth_cimd_pin *oauth_cimd_pins_find(const oauth_cimd_pins *p, const char *client_id);
const oauth_cimd_doc *oauth_cimd_pin_doc(const oauth_cimd_pin *pin);

/* For cimd_fetch.c: whether this process has written the pin to
 * oauth_clients since it started (atomic). */
bool oauth_cimd__pin_synced(oauth_cimd_pin *pin);
void oauth_cimd__pin_set_synced(oauth_cimd_pin *pin);

/* ------------------------------------------------ resolution (event loops) */

/* Reads the CUPD_CIMD_* settings of c (NULL: cfg_get()), the CA store and
 * the pinned file, once per process; later calls return the first result.
 * False (logged) when they are unusable: then no URL client_id resolves and
 * oauth_cimd_available() is false. Thread-safe; oauth_client_lookup calls it
 * on first use, main may call it at start-up to fail early. */
bool oauth_cimd_init(const cfg *c);

/* True when client_id URLs can be resolved (fetched or pinned), so the AS
 * metadata may advertise client_id_metadata_document_supported (B26, E22). */
bool oauth_cimd_available(void);

/* Frees what oauth_cimd_init made. Only after every loop has stopped. */
void oauth_cimd_shutdown(void);

/* What oauth_clients holds for a URL client_id, as oauth_client_lookup read it. */
typedef struct oauth_cimd_stored {
	oauth_client *client;  /* owned (passes to oauth_cimd_resolve); NULL when there is no row */
	bool pinned_row;       /* registered_via = 'pinned' */
	bool fresh;            /* cache_until is in the future */
	bool recent;           /* fetched_at is less than OAUTH_CIMD_STALE_DAYS ago */
} oauth_cimd_stored;

/* Resolves client_id (an http(s) URL that is not a DCR client): a pinned
 * entry, else a fresh stored copy, else a fetch (shared with concurrent
 * callers in this process) stored in oauth_clients through db. done gets the
 * client (ownership passes), or NULL and st != DB_OK with *why saying why
 * (DB_UNAVAILABLE when the document server could not be reached in time,
 * DB_ERROR when the URL or document is refused). done runs exactly once on
 * base's loop, maybe before this returns. */
void oauth_cimd_resolve(db_pool *db, struct event_base *base, const char *client_id, oauth_cimd_stored stored,
                        oauth_client_fn done, void *arg);

#endif
