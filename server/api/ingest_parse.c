/* api/ingest_parse.c: POST /v1/events bodies → validated events (no I/O). */
#include "api/ingest_parse.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "xmem.h"

/* ------------------------------------------------------------ RFC 3339 */

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static bool leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

bool ingest_parse_rfc3339(const char *s, size_t len, int64_t *out_us)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int year, month, day, hour, min, sec;
	/* "YYYY-MM-DDTHH:MM:SS" is 19 bytes; then fraction and offset. */
	if (len < 20 || len > 64)
		return false;
	if (!digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &month) || s[7] != '-' ||
	    !digits(s + 8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s + 11, 2, &hour) ||
	    s[13] != ':' || !digits(s + 14, 2, &min) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return false;
	if (month < 1 || month > 12 || day < 1 || hour > 23 || min > 59 || sec > 60)
		return false;
	if (day > mdays[month - 1] + (month == 2 && leap_year(year)))
		return false;
	size_t i = 19;
	int64_t frac_us = 0;
	if (s[i] == '.') {
		size_t start = ++i;
		int64_t scale = 100000;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
			if (scale > 0)
				frac_us += (s[i] - '0') * scale;
		if (i == start)
			return false;
	}
	int offset_s = 0;
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < len && (s[i] == '+' || s[i] == '-')) {
		int oh, om;
		if (len - i < 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || !digits(s + i + 4, 2, &om) || oh > 23 ||
		    om > 59)
			return false;
		offset_s = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
		i += 6;
	} else {
		return false;
	}
	if (i != len)
		return false;
	if (sec == 60) { /* a leap second: the last instant of the previous one */
		sec = 59;
		frac_us = 999999;
	}
	int64_t t = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - offset_s;
	*out_us = t * 1000000 + frac_us;
	return true;
}

/* ------------------------------------------------------------- fields */

bool ingest_valid_slug(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > INGEST_SERVICE_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Counts UTF-8 code points (jansson guarantees valid UTF-8) and refuses
 * control characters. */
static bool operation_ok(const char *s, size_t n)
{
	size_t chars = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
		if ((c & 0xC0) != 0x80)
			chars++;
	}
	return chars >= 1 && chars <= INGEST_MAX_OPERATION_CHARS;
}

static const char MSG_NOT_OBJECT[] = "each event must be a JSON object";
static const char MSG_SERVICE_MISSING[] = "service is required";
static const char MSG_SERVICE_BAD[] =
	"service must be a slug of 2 to 63 letters, digits or '-', not starting with '-' (e.g. \"stripe\")";
static const char MSG_OPERATION_MISSING[] = "operation is required";
static const char MSG_OPERATION_BAD[] = "operation must be a string of 1 to 200 characters without control characters";
static const char MSG_OUTCOME_BAD[] = "outcome must be \"ok\" or \"error\"";
static const char MSG_LATENCY_BAD[] = "latency_ms must be a number of milliseconds from 0 to 86400000";
static const char MSG_TS_BAD[] = "timestamp must be an RFC 3339 date-time such as \"2025-01-31T12:00:00Z\"";
static const char MSG_TS_OLD[] = "timestamp is more than 24 hours in the past";
static const char MSG_TS_AHEAD[] = "timestamp is more than 5 minutes in the future";

/* Validates one element into *ev; on failure sets *field and returns the message. */
static const char *parse_event(json_t *el, int64_t now_us, ingest_event *ev, const char **field)
{
	*field = NULL;
	if (!json_is_object(el))
		return MSG_NOT_OBJECT;

	*field = "service";
	json_t *v = json_object_get(el, "service");
	if (!v || json_is_null(v))
		return MSG_SERVICE_MISSING;
	size_t n = json_string_length(v);
	if (!json_is_string(v) || n < 2 || n > INGEST_SERVICE_MAX)
		return MSG_SERVICE_BAD;
	const char *s = json_string_value(v);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		ev->service[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	ev->service[n] = '\0';
	if (strlen(ev->service) != n || !ingest_valid_slug(ev->service))
		return MSG_SERVICE_BAD;

	*field = "operation";
	v = json_object_get(el, "operation");
	if (!v || json_is_null(v))
		return MSG_OPERATION_MISSING;
	if (!json_is_string(v) || !operation_ok(json_string_value(v), json_string_length(v)))
		return MSG_OPERATION_BAD;
	ev->operation = json_string_value(v);

	*field = "outcome";
	v = json_object_get(el, "outcome");
	const char *o = json_string_value(v);
	if (o && json_string_length(v) == 2 && !strcmp(o, "ok"))
		ev->error = false;
	else if (o && json_string_length(v) == 5 && !strcmp(o, "error"))
		ev->error = true;
	else
		return MSG_OUTCOME_BAD;

	*field = "latency_ms";
	v = json_object_get(el, "latency_ms");
	ev->latency_ms = -1;
	if (v && !json_is_null(v)) {
		if (!json_is_number(v))
			return MSG_LATENCY_BAD;
		double d = json_number_value(v);
		if (!isfinite(d) || d < 0 || d > INGEST_MAX_LATENCY_MS)
			return MSG_LATENCY_BAD;
		ev->latency_ms = (int32_t)lround(d);
	}

	*field = "timestamp";
	v = json_object_get(el, "timestamp");
	ev->ts_us = now_us;
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) || !ingest_parse_rfc3339(json_string_value(v), json_string_length(v), &ev->ts_us))
			return MSG_TS_BAD;
		if (ev->ts_us < now_us - (int64_t)INGEST_MAX_AGE_S * 1000000)
			return MSG_TS_OLD;
		if (ev->ts_us > now_us + (int64_t)INGEST_MAX_AHEAD_S * 1000000)
			return MSG_TS_AHEAD;
	}
	*field = NULL;
	return NULL;
}

/* ------------------------------------------------------------- batch */

ingest_status ingest_parse(const char *body, size_t len, int64_t now_us, ingest_batch *out)
{
	memset(out, 0, sizeof *out);
	json_error_t jerr;
	/* INT_AS_REAL: a huge latency is one bad event, not an unparseable body.
	 * ALLOW_NUL: likewise "\u0000" in one string (refused per event below).
	 * DECODE_ANY: a scalar body gets "must be an object", not "not JSON". */
	size_t flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL;
	out->root = json_loadb(body, len, flags, &jerr);
	if (!out->root) {
		snprintf(out->detail, sizeof out->detail, "The body is not valid JSON (line %d, column %d: %.80s).",
		         jerr.line, jerr.column, jerr.text);
		return INGEST_NOT_JSON;
	}
	if (!json_is_object(out->root)) {
		snprintf(out->detail, sizeof out->detail, "The body must be a JSON object: {\"events\": [...]}.");
		return INGEST_NOT_OBJECT;
	}
	json_t *arr = json_object_get(out->root, "events");
	if (!json_is_array(arr)) {
		snprintf(out->detail, sizeof out->detail, "The body must have an \"events\" array: {\"events\": [...]}.");
		return INGEST_NO_EVENTS;
	}
	size_t total = json_array_size(arr);
	if (total > INGEST_MAX_EVENTS) {
		snprintf(out->detail, sizeof out->detail, "At most %d events per request; this one has %zu. Split the batch.",
		         INGEST_MAX_EVENTS, total);
		return INGEST_TOO_MANY;
	}
	out->total = (int)total;
	out->events = xmalloc((total ? total : 1) * sizeof *out->events);
	for (size_t i = 0; i < total; i++) {
		ingest_event *ev = &out->events[out->nevents];
		const char *field;
		const char *why = parse_event(json_array_get(arr, i), now_us, ev, &field);
		if (!why) {
			ev->index = (int)i;
			out->nevents++;
			continue;
		}
		if (!out->errors)
			out->errors = xmalloc(total * sizeof *out->errors);
		out->errors[out->nerrors++] = (ingest_error){ (int)i, field, why };
	}
	return INGEST_OK;
}

void ingest_batch_cleanup(ingest_batch *b)
{
	if (!b)
		return;
	free(b->events);
	free(b->errors);
	json_decref(b->root);
	memset(b, 0, sizeof *b);
}
