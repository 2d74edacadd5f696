/* api/ingest_parse.h: the body of POST /v1/events, parsed and validated.
 *
 * A pure function of (bytes, clock): no I/O, no globals, safe on any thread,
 * so unit tests and the fuzzer call it directly. The body is
 *
 *   {"events": [{"service": "stripe", "operation": "charges.create",
 *                "outcome": "ok" | "error", "latency_ms": 123,
 *                "timestamp": "2025-01-31T12:00:00Z"}, ...]}
 *
 * The request as a whole fails (ingest_status other than INGEST_OK) only
 * when it is not a JSON object with an "events" array of at most
 * INGEST_MAX_EVENTS elements. Otherwise every element is judged on its own:
 * valid ones land in events[], invalid ones in errors[] (one error each, the
 * first problem found), and neither kind disturbs the other. */
#ifndef CUPD_API_INGEST_PARSE_H
#define CUPD_API_INGEST_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	INGEST_MAX_EVENTS = 1000,            /* per request */
	INGEST_MAX_LISTED_ERRORS = 100,      /* errors[] in the answer; the count covers all */
	INGEST_MAX_OPERATION_CHARS = 200,    /* events.operation CHECK */
	INGEST_SERVICE_MAX = 63,             /* slug bytes */
	INGEST_MAX_AGE_S = 24 * 3600,        /* timestamp at most this far in the past */
	INGEST_MAX_AHEAD_S = 5 * 60,         /* ... and this far in the future */
	INGEST_MAX_LATENCY_MS = 86400000,    /* a call longer than a day is not a latency */
};

typedef enum {
	INGEST_OK = 0,
	INGEST_NOT_JSON,       /* not parseable (or duplicate keys) */
	INGEST_NOT_OBJECT,     /* top level is not an object */
	INGEST_NO_EVENTS,      /* "events" missing or not an array */
	INGEST_TOO_MANY,       /* more than INGEST_MAX_EVENTS */
} ingest_status;

/* One valid event. */
typedef struct ingest_event {
	int index;                            /* position in the request's array */
	char service[INGEST_SERVICE_MAX + 1]; /* slug, lowercased */
	const char *operation;                /* borrowed from the batch's JSON; NUL-terminated */
	bool error;                           /* outcome "error" */
	int32_t latency_ms;                   /* -1: not given */
	int64_t ts_us;                        /* occurred at, microseconds since the Unix epoch */
} ingest_event;

/* Why one element was refused. Both strings are static. */
typedef struct ingest_error {
	int index;
	const char *field;       /* "service", "operation", ... or NULL (element not an object) */
	const char *message;
} ingest_error;

typedef struct ingest_batch {
	ingest_event *events;    /* owned; valid events in request order */
	int nevents;
	ingest_error *errors;    /* owned; one per invalid element, in index order */
	int nerrors;
	int total;               /* elements in the request's array */
	char detail[160];        /* when the request as a whole fails: why, for the 400 body */
	json_t *root;            /* owned; operation strings point into it */
} ingest_batch;

/* Parses len bytes of body (need not be NUL-terminated) with now_us
 * (microseconds since the Unix epoch) as the clock: events without a
 * timestamp get now_us, and timestamps are checked against it. Always
 * initialises *out; call ingest_batch_cleanup on it whatever this returns. */
ingest_status ingest_parse(const char *body, size_t len, int64_t now_us, ingest_batch *out);

/* Frees what *b owns and zeroes it. NULL and zeroed batches are fine. */
void ingest_batch_cleanup(ingest_batch *b);

/* Parses an RFC 3339 date-time ("2025-01-31T12:00:00.123Z",
 * "2025-01-31t13:00:00+01:00"; a space may replace the T) into microseconds
 * since the Unix epoch. Fractions beyond microseconds are truncated; a leap
 * second (:60) reads as :59.999999. False on anything else. */
bool ingest_parse_rfc3339(const char *s, size_t len, int64_t *out_us);

/* True for a slug as stored (services, orgs): [a-z0-9][a-z0-9-]{1,62}. */
bool ingest_valid_slug(const char *s);

#endif
