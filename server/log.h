/* log.h: structured logging.
 *
 * Two streams: event messages (log_msg) go to stderr as one JSON line each,
 * written at once because they are rare; the access log (log_access_*) is one
 * JSON line per request on stdout, appended to a per-thread buffer and
 * written by log_flush_thread() (the worker calls it from a timer and before
 * it exits), so a request costs no syscall of its own. Nothing here ever
 * receives a secret: callers pass routes and ids, never headers or queries. */
#ifndef CUPD_LOG_H
#define CUPD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Sets the threshold and whether access lines are written. Call once, before threads start. */
void log_setup(cfg_log_level level, bool access_log);

bool log_enabled(cfg_log_level level);

/* {"time":..,"level":..,"msg":<fmt result>} on stderr. */
void log_msg(cfg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct log_access_entry {
	const char *method;
	const char *route;      /* route pattern, or "-" when none matched */
	const char *path;       /* request path without query string */
	int status;
	double duration_ms;
	const char *request_id;
	const char *ip;
	long bytes_out;
} log_access_entry;

/* Appends one access line to the calling thread's buffer (flushed when large). */
void log_access(const log_access_entry *e);

/* Writes and empties the calling thread's access buffer. */
void log_flush_thread(void);

/* Appends s to buf (capacity cap, current length *len) as a JSON string body
 * (without quotes), escaping as RFC 8259 requires; truncates safely. */
void log_json_escape(char *buf, size_t cap, size_t *len, const char *s);

/* Formats the current UTC time as 2026-01-02T03:04:05.678Z into out[32]. */
void log_time_iso(char out[32]);

#endif
