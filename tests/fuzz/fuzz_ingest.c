/* fuzz_ingest.c: libFuzzer target for the POST /v1/events body parser
 * (server/api/ingest_parse.h).
 *
 * Every input is used two ways:
 *   1. as a request body through ingest_parse, after which the batch must be
 *      consistent: valid events and errors partition 0..total-1 in order,
 *      every valid event satisfies the rules the database relies on (slug
 *      format, operation length and characters, latency and time ranges),
 *      and a refused request holds nothing but its reason;
 *   2. as a timestamp through ingest_parse_rfc3339: what it accepts must
 *      survive a round trip through a canonical rendering.
 * Invariants that do not hold abort, which libFuzzer reports as a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/ingest_parse.h"

/* A fixed clock keeps runs reproducible: 2025-01-31T12:00:00Z. */
#define NOW_US (INT64_C(1738324800) * 1000000)

static void check(int ok)
{
	if (!ok)
		abort();
}

static void check_event(const ingest_event *ev)
{
	check(ingest_valid_slug(ev->service));
	size_t n = strlen(ev->operation), chars = 0;
	check(n >= 1 && n <= 4 * INGEST_MAX_OPERATION_CHARS);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)ev->operation[i];
		check(c >= 0x20 && c != 0x7f);
		chars += (c & 0xC0) != 0x80;
	}
	check(chars >= 1 && chars <= INGEST_MAX_OPERATION_CHARS);
	check(ev->latency_ms == -1 || (ev->latency_ms >= 0 && ev->latency_ms <= INGEST_MAX_LATENCY_MS));
	check(ev->ts_us >= NOW_US - (int64_t)INGEST_MAX_AGE_S * 1000000);
	check(ev->ts_us <= NOW_US + (int64_t)INGEST_MAX_AHEAD_S * 1000000);
}

static void fuzz_body(const uint8_t *data, size_t size)
{
	ingest_batch b;
	ingest_status st = ingest_parse((const char *)data, size, NOW_US, &b);
	if (st != INGEST_OK) {
		check(b.nevents == 0 && b.nerrors == 0 && b.detail[0] != '\0');
		ingest_batch_cleanup(&b);
		return;
	}
	check(b.total >= 0 && b.total <= INGEST_MAX_EVENTS);
	check(b.nevents + b.nerrors == b.total);
	int e = 0, x = 0;
	for (int i = 0; i < b.total; i++) {
		/* each index is exactly one of: the next valid event, the next error */
		if (e < b.nevents && b.events[e].index == i) {
			check_event(&b.events[e]);
			e++;
		} else {
			check(x < b.nerrors && b.errors[x].index == i);
			check(b.errors[x].message != NULL && b.errors[x].message[0] != '\0');
			const char *f = b.errors[x].field;
			check(!f || !strcmp(f, "service") || !strcmp(f, "operation") || !strcmp(f, "outcome") ||
			      !strcmp(f, "latency_ms") || !strcmp(f, "timestamp"));
			x++;
		}
	}
	check(e == b.nevents && x == b.nerrors);
	ingest_batch_cleanup(&b);
}

static void fuzz_timestamp(const uint8_t *data, size_t size)
{
	int64_t us;
	if (!ingest_parse_rfc3339((const char *)data, size, &us))
		return;
	/* Accepted: render canonically (UTC, microseconds) and parse again. */
	int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
	int64_t frac = us - secs * 1000000;
	check(frac >= 0 && frac < 1000000);
	time_t t = (time_t)secs;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return; /* an offset pushed it outside four-digit years: fine, nothing to compare */
	char buf[48];
	int n = snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
	                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
	check(n > 0 && (size_t)n < sizeof buf);
	int64_t again;
	check(ingest_parse_rfc3339(buf, (size_t)n, &again));
	check(again == us);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_body(data, size);
	fuzz_timestamp(data, size);
	return 0;
}
