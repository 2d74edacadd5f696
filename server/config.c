/* config.c: the table of every environment variable cupd reads. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmem.h"

typedef enum { T_STR, T_INT, T_LONG, T_BOOL, T_LOGLEVEL, T_URL, T_RATIO } key_type;

typedef struct cfg_key {
	const char *name;
	key_type type;
	size_t offset;
	const char *def;   /* default as text; NULL = empty string */
	long min, max;     /* bounds for T_INT / T_LONG */
	const char *help;
} cfg_key;

#define F(field) offsetof(cfg, field)

static const cfg_key KEYS[] = {
	{ "DATABASE_URL", T_STR, F(database_url), "", 0, 0,
	  "PostgreSQL conninfo or URI (empty: libpq's PG* environment defaults)" },
	{ "CUPD_LISTEN", T_STR, F(listen), "127.0.0.1:8080", 0, 0,
	  "host:port the HTTP server binds" },
	{ "CUPD_PUBLIC_URL", T_URL, F(public_url), NULL, 0, 0,
	  "externally visible base URL (issuer, audiences); default http://<CUPD_LISTEN>" },
	{ "CUPD_WORKERS", T_INT, F(workers), "0", 0, 256,
	  "HTTP worker threads, each with its own event loop (0 = number of cores)" },
	{ "CUPD_LOG_LEVEL", T_LOGLEVEL, F(log_level), "info", 0, 0,
	  "debug | info | warn | error" },
	{ "CUPD_ACCESS_LOG", T_BOOL, F(access_log), "on", 0, 0,
	  "one JSON line per request on stdout (on | off)" },
	{ "CUPD_MAX_BODY_BYTES", T_LONG, F(max_body_bytes), "1048576", 1024, 64L * 1024 * 1024,
	  "largest request body; larger gets 413" },
	{ "CUPD_MAX_HEADER_BYTES", T_LONG, F(max_header_bytes), "16384", 1024, 1024L * 1024,
	  "largest request header block; larger is refused" },
	{ "CUPD_TIMEOUT_SECONDS", T_INT, F(timeout_seconds), "30", 1, 3600,
	  "idle read/write timeout of a connection (live streams are exempt)" },
	{ "CUPD_DB_POOL_SIZE", T_INT, F(db_pool_size), "4", 1, 64,
	  "PostgreSQL connections per worker thread" },
	{ "CUPD_DB_QUEUE_MAX", T_INT, F(db_queue_max), "512", 1, 100000,
	  "queries waiting for a connection per worker before answering 503" },
	{ "CUPD_DB_QUEUE_TIMEOUT_MS", T_INT, F(db_queue_timeout_ms), "2000", 10, 600000,
	  "longest wait for a free connection before answering 503" },
	{ "CUPD_DB_STATEMENT_TIMEOUT_MS", T_INT, F(db_statement_timeout_ms), "10000", 100, 3600000,
	  "PostgreSQL statement_timeout of every connection" },
	{ "CUPD_SHUTDOWN_GRACE_SECONDS", T_INT, F(shutdown_grace_seconds), "10", 0, 600,
	  "on SIGTERM/SIGINT, how long in-flight requests may take to finish" },
	{ "CUPD_AUTO_MIGRATE", T_BOOL, F(auto_migrate), "on", 0, 0,
	  "serve applies pending migrations before listening (on | off)" },
	{ "CUPD_DEBUG_ROUTES", T_BOOL, F(debug_routes), "off", 0, 0,
	  "test-only routes under /debug/ (never enable in production)" },
	{ "CUPD_TRUSTED_PROXIES", T_STR, F(trusted_proxies), "", 0, 0,
	  "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is trusted" },
	{ "CUPD_RATE_API_TOKEN_PER_MIN", T_INT, F(rate_api_token), "1000", 1, 10000000,
	  "requests per minute per API Token (per instance)" },
	{ "CUPD_RATE_SDK_KEY_PER_MIN", T_INT, F(rate_sdk_key), "6000", 1, 10000000,
	  "ingest requests per minute per SDK Key (per instance)" },
	{ "CUPD_RATE_SDK_ORIGIN_PER_MIN", T_INT, F(rate_sdk_origin), "1200", 1, 10000000,
	  "ingest requests per minute per SDK Key and browser Origin (per instance)" },
	{ "CUPD_RATE_IP_PER_MIN", T_INT, F(rate_ip), "10", 1, 10000000,
	  "failed authentications and auth-free requests that do work, per client IP per minute" },
	{ "CUPD_MCP_ALLOWED_ORIGINS", T_STR, F(mcp_allowed_origins), "", 0, 0,
	  "comma-separated browser origins allowed on /mcp besides the public URL's (e.g. http://localhost:6274)" },
	{ "CUPD_KEY_ENCRYPTION_KEY", T_STR, F(key_encryption_key), "", 0, 0,
	  "32 random bytes (64 hex or 44 base64 chars) encrypting token signing keys at rest; secret" },
	{ "CUPD_SIGNING_KEY_ROTATION_DAYS", T_INT, F(signing_key_rotation_days), "30", 1, 3650,
	  "days before a new access-token signing key replaces the current one" },
	{ "CUPD_ACCESS_TOKEN_MINUTES", T_INT, F(access_token_minutes), "60", 5, 1440,
	  "lifetime of OAuth access tokens in minutes; revoking a connection ends them at once anyway" },
	{ "CUPD_SESSION_IDLE_MINUTES", T_INT, F(session_idle_minutes), "720", 5, 43200,
	  "a browser session ends after this many minutes without use" },
	{ "CUPD_SESSION_MAX_HOURS", T_INT, F(session_max_hours), "168", 1, 8760,
	  "a browser session ends this many hours after sign-in, however much it is used" },
	{ "CUPD_CIMD_TIMEOUT_MS", T_INT, F(cimd_timeout_ms), "3000", 100, 30000,
	  "Client ID Metadata Documents: total time to resolve, connect and read one document" },
	{ "CUPD_CIMD_CACHE_MIN_SECONDS", T_INT, F(cimd_cache_min_seconds), "300", 1, 86400,
	  "shortest time a fetched client document is cached (no-store, small max-age); lower only in tests" },
	{ "CUPD_CIMD_CACHE_MAX_SECONDS", T_INT, F(cimd_cache_max_seconds), "86400", 1, 604800,
	  "longest time a fetched client document is cached, whatever its Cache-Control max-age says" },
	{ "CUPD_CIMD_PINNED_FILE", T_STR, F(cimd_pinned_file), "", 0, 0,
	  "JSON file mapping client_id URLs to pinned client documents, used without fetching (empty: none)" },
	{ "CUPD_CIMD_CA_FILE", T_STR, F(cimd_ca_file), "", 0, 0,
	  "PEM file of CAs trusted for document fetches in addition to the system store (tests; empty: none)" },
	{ "CUPD_CIMD_ALLOW_INSECURE_LOOPBACK", T_BOOL, F(cimd_allow_insecure_loopback), "off", 0, 0,
	  "TESTS AND DEVELOPMENT ONLY: fetch client documents from loopback addresses (never in production)" },
	{ "CUPD_USAGE_FLUSH_MS", T_INT, F(usage_flush_ms), "5000", 100, 600000,
	  "how often batched last-used times and counts are written" },
	{ "CUPD_STATUS_WINDOW_SECONDS", T_INT, F(status_window_seconds), "300", 1, 86400,
	  "service status: sliding window of recent events whose error rate decides it" },
	{ "CUPD_STATUS_DEGRADED", T_RATIO, F(status_degraded), "0.05", 0, 0,
	  "error rate (0..1) at which a service becomes degraded" },
	{ "CUPD_STATUS_PARTIAL", T_RATIO, F(status_partial), "0.25", 0, 0,
	  "error rate (0..1) at which a service has a partial outage" },
	{ "CUPD_STATUS_MAJOR", T_RATIO, F(status_major), "0.5", 0, 0,
	  "error rate (0..1) at which a service has a major outage" },
	{ "CUPD_STATUS_MIN_SAMPLES", T_INT, F(status_min_samples), "20", 1, 1000000,
	  "fewer events than this in the window keep a service's previous status" },
};

static const cfg *current; /* set by cfg_load, before threads start */

const cfg *cfg_get(void)
{
	return current;
}

static bool parse_long(const char *s, long *out)
{
	char *end;
	errno = 0;
	if (!(*s == '-' || (*s >= '0' && *s <= '9')))
		return false; /* strtol would skip spaces and accept '+' */
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "on", "true", "yes" };
	static const char *const no[] = { "0", "off", "false", "no" };
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) { *out = true; return true; }
		if (!strcasecmp(s, no[i])) { *out = false; return true; }
	}
	return false;
}

bool cfg_parse_hostport(const char *s, char **host, int *port)
{
	const char *colon;
	const char *h = s;
	size_t hlen;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return false;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		hlen = (size_t)(colon - s);
	}
	long p;
	if (hlen == 0 || !parse_long(colon + 1, &p) || p < 0 || p > 65535)
		return false;
	*host = xstrndup(h, hlen);
	*port = (int)p;
	return true;
}

/* A base URL: http(s)://host[:port][/path], no query, fragment or trailing slash. */
static bool valid_base_url(const char *s)
{
	const char *rest;
	if (!strncmp(s, "https://", 8))
		rest = s + 8;
	else if (!strncmp(s, "http://", 7))
		rest = s + 7;
	else
		return false;
	if (!*rest || *rest == '/')
		return false;
	size_t n = strlen(s);
	if (s[n - 1] == '/')
		return false;
	for (const char *p = rest; *p; p++)
		if (*p == '?' || *p == '#' || *p == '@' || (unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

static bool set_key(cfg *c, const cfg_key *k, const char *v, FILE *err)
{
	char *base = (char *)c + k->offset;
	long n;
	switch (k->type) {
	case T_STR:
		*(char **)base = xstrdup(v);
		return true;
	case T_URL:
		if (!valid_base_url(v)) {
			fprintf(err, "cupd: %s=\"%s\" is not a base URL like https://cupd.example.com "
			        "(http or https, no trailing slash, query or fragment)\n", k->name, v);
			return false;
		}
		*(char **)base = xstrdup(v);
		return true;
	case T_INT:
	case T_LONG:
		if (!parse_long(v, &n) || n < k->min || n > k->max) {
			fprintf(err, "cupd: %s=\"%s\" must be an integer from %ld to %ld\n",
			        k->name, v, k->min, k->max);
			return false;
		}
		if (k->type == T_INT)
			*(int *)base = (int)n;
		else
			*(long *)base = n;
		return true;
	case T_RATIO: {
		char *end;
		errno = 0;
		double d = strtod(v, &end);
		if (errno || end == v || *end || !(d > 0.0 && d <= 1.0)) {
			fprintf(err, "cupd: %s=\"%s\" must be a fraction above 0 and at most 1, e.g. 0.05\n", k->name, v);
			return false;
		}
		*(double *)base = d;
		return true;
	}
	case T_BOOL:
		if (!parse_bool(v, (bool *)base)) {
			fprintf(err, "cupd: %s=\"%s\" must be on or off\n", k->name, v);
			return false;
		}
		return true;
	case T_LOGLEVEL: {
		static const char *const names[] = { "debug", "info", "warn", "error" };
		for (int i = 0; i < 4; i++)
			if (!strcasecmp(v, names[i])) {
				*(cfg_log_level *)base = (cfg_log_level)i;
				return true;
			}
		fprintf(err, "cupd: %s=\"%s\" must be one of debug, info, warn, error\n", k->name, v);
		return false;
	}
	}
	return false;
}

bool cfg_load(cfg *out, FILE *err)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
		const cfg_key *k = &KEYS[i];
		const char *v = getenv(k->name);
		if (!v || (!*v && k->type != T_STR))
			v = k->def;
		if (!v)
			continue; /* derived below */
		if (!set_key(out, k, v, err))
			goto fail;
	}
	if (!cfg_parse_hostport(out->listen, &out->listen_host, &out->listen_port)) {
		fprintf(err, "cupd: CUPD_LISTEN=\"%s\" must be host:port, e.g. 127.0.0.1:8080\n", out->listen);
		goto fail;
	}
	if (!out->public_url) {
		size_t n = strlen(out->listen) + 8;
		out->public_url = xmalloc(n);
		snprintf(out->public_url, n, "http://%s", out->listen);
	}
	if (!(out->status_degraded <= out->status_partial && out->status_partial <= out->status_major)) {
		fprintf(err, "cupd: CUPD_STATUS_DEGRADED <= CUPD_STATUS_PARTIAL <= CUPD_STATUS_MAJOR must hold\n");
		goto fail;
	}
	if (out->cimd_cache_min_seconds > out->cimd_cache_max_seconds) {
		fprintf(err, "cupd: CUPD_CIMD_CACHE_MIN_SECONDS must not exceed CUPD_CIMD_CACHE_MAX_SECONDS\n");
		goto fail;
	}
	if (out->workers == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		out->workers = cores > 0 ? (int)(cores > 64 ? 64 : cores) : 1;
	}
	current = out;
	return true;
fail:
	cfg_cleanup(out);
	return false;
}

void cfg_cleanup(cfg *c)
{
	if (c == current)
		current = NULL;
	for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
		if (KEYS[i].type == T_STR || KEYS[i].type == T_URL) {
			char **p = (char **)((char *)c + KEYS[i].offset);
			free(*p);
			*p = NULL;
		}
	free(c->listen_host);
	c->listen_host = NULL;
}

void cfg_print_help(FILE *out)
{
	fputs("Configuration (environment variables):\n", out);
	for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
		const cfg_key *k = &KEYS[i];
		fprintf(out, "  %-29s %s\n  %-29s default: %s\n", k->name, k->help, "",
		        k->def ? (*k->def ? k->def : "(empty)") : "(derived)");
	}
}
