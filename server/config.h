/* config.h: process configuration from the environment.
 *
 * One declarative table (config.c) maps each CUPD_* variable to a field of
 * struct cfg with its type, bounds and default. cfg_load() validates every
 * value once at start-up; afterwards the struct is read-only and shared by all
 * threads without locking. */
#ifndef CUPD_CONFIG_H
#define CUPD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } cfg_log_level;

typedef struct cfg {
	char *database_url;        /* libpq conninfo or URI; "" = libpq env defaults */
	char *listen;              /* host:port of the HTTP listener */
	char *listen_host;         /* parsed from listen */
	int listen_port;           /* parsed from listen */
	char *public_url;          /* external base URL, no trailing slash */
	int workers;               /* HTTP worker threads (0 in env = cores) */
	cfg_log_level log_level;
	bool access_log;           /* one JSON line per request */
	long max_body_bytes;
	long max_header_bytes;
	int timeout_seconds;       /* idle read/write timeout per connection */
	int db_pool_size;          /* connections per worker */
	int db_queue_max;          /* waiting queries per worker before 503 */
	int db_queue_timeout_ms;   /* longest wait for a free connection */
	int db_statement_timeout_ms;
	int shutdown_grace_seconds;
	bool auto_migrate;         /* serve applies pending migrations first */
	bool debug_routes;         /* test-only routes under /debug/ */
	char *trusted_proxies;     /* CIDR list whose X-Forwarded-For is believed */
	int rate_api_token;        /* requests/min per API Token */
	int rate_sdk_key;          /* requests/min per SDK Key */
	int rate_sdk_origin;       /* requests/min per SDK Key + Origin */
	int rate_ip;               /* requests/min per IP on auth-free work and failed auth */
	int usage_flush_ms;        /* how often last-used data is written */
	int status_window_seconds; /* service status: error rate over this sliding window */
	double status_degraded;    /* error rate (0..1) from which a service is degraded */
	double status_partial;     /* ... partial_outage */
	double status_major;       /* ... major_outage */
	int status_min_samples;    /* fewer events in the window: status unchanged (too little evidence) */
	char *mcp_allowed_origins; /* browser origins allowed on /mcp besides our own */
	char *key_encryption_key;  /* 32 bytes (hex/base64) that encrypt signing keys at rest */
	int signing_key_rotation_days;
	int access_token_minutes;  /* lifetime of OAuth access tokens (B43) */
	int session_idle_minutes;  /* browser session ends after this long unused */
	int session_max_hours;     /* ... and this long after sign-in, used or not */
	int cimd_timeout_ms;       /* Client ID Metadata Document fetch: whole-fetch limit */
	int cimd_cache_min_seconds; /* ... cache lifetime floor (no-store, tiny max-age) */
	int cimd_cache_max_seconds; /* ... cache lifetime ceiling */
	char *cimd_pinned_file;    /* JSON file of pinned documents (client_id URL → document); "" = none */
	char *cimd_ca_file;        /* PEM CAs trusted for fetches besides the system store; "" = none */
	bool cimd_allow_insecure_loopback; /* tests/development only: fetch from loopback addresses */
} cfg;

/* Reads every variable from the environment into *out. On a bad value writes
 * one line naming the variable to err and returns false; *out then holds
 * nothing that needs freeing. */
bool cfg_load(cfg *out, FILE *err);

/* Frees the strings owned by c. */
void cfg_cleanup(cfg *c);

/* The configuration the last successful cfg_load filled (main's, which
 * lives as long as the process), or NULL. For modules that are not handed
 * one; read-only. */
const cfg *cfg_get(void);

/* Prints the configuration reference (name, default, meaning) for --help. */
void cfg_print_help(FILE *out);

/* Parses "host:port" ("[v6]:port" too). Returns false on malformed input. */
bool cfg_parse_hostport(const char *s, char **host, int *port);

#endif
