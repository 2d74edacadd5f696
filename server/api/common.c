/* api/common.c: input checks and request parsing shared by the resources. */
#include "api/common.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmem.h"

/* ------------------------------------------------------------- checks */

bool api__text_ok(const char *s, size_t min, size_t max, bool multiline)
{
	if (!s)
		return false;
	size_t chars = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		int more;
		unsigned cp;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f) {
				if (!multiline || (c != '\t' && c != '\n' && c != '\r'))
					return false;
			}
			p++;
			chars++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			more = 1, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			more = 2, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			more = 3, cp = c & 0x07;
		} else {
			return false;
		}
		for (int i = 1; i <= more; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF, C1 controls. */
		if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp < 0xa0))
			return false;
		p += more + 1;
		chars++;
	}
	return chars >= min && chars <= max;
}

bool api__is_slug(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 2 || n > 63 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

bool api__id_or_slug(const char *s, const char **id, const char **slug)
{
	*id = *slug = NULL;
	if (api_is_uuid(s))
		*id = s;
	else if (api__is_slug(s))
		*slug = s;
	else
		return false;
	return true;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool api__is_timestamp(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec;
	if (!s || strlen(s) < 20 || strlen(s) > 40)
		return false;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    !strchr("Tt ", s[10]) || !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
	    s[16] != ':' || !digits(s + 17, 2, &sec))
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 ||
	    mi > 59 || sec > 60)
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		const char *f = ++p;
		while (isdigit((unsigned char)*p))
			p++;
		if (p == f || p - f > 9)
			return false;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return true;
	int oh, om;
	return (*p == '+' || *p == '-') && digits(p + 1, 2, &oh) && p[3] == ':' && digits(p + 4, 2, &om) &&
	       p[6] == '\0' && oh <= 23 && om <= 59;
}

bool api__one_of(const char *s, const char *const *set)
{
	if (!s)
		return false;
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

/* --------------------------------------------------------------- run */

typedef struct field_call {
	api_done_fn done;
	void *arg;
} field_call;

/* "<field>: <sentence>" from our own CU400 messages → field + sentence. */
static void field_done(api_result *res, void *arg)
{
	field_call fc = *(field_call *)arg;
	free(arg);
	char field[64];
	if (res->status == API_INVALID && !res->field && res->message) {
		size_t n = strspn(res->message, "abcdefghijklmnopqrstuvwxyz_");
		if (n > 0 && n < sizeof field && !strncmp(res->message + n, ": ", 2)) {
			memcpy(field, res->message, n);
			field[n] = '\0';
			res->field = field;
			res->message += n + 2;
		}
	}
	fc.done(res, fc.arg);
}

void api__run(const api_ctx *ctx, const db_stmt *st, const char *const *params, api_status ok_status,
              api_done_fn done, void *arg)
{
	field_call *fc = xmalloc(sizeof *fc);
	fc->done = done;
	fc->arg = arg;
	api_run(ctx, st, params, ok_status, field_done, fc);
}

/* -------------------------------------------------------------- REST */

void api__reply_invalid(http_req *r, const char *field, const char *message)
{
	api_fail(API_INVALID, field, message, api_reply_cb, r);
}

bool api__page_or_reply(http_req *r, api_page *page)
{
	const char *why = NULL;
	if (api_page_parse(http_req_query(r, "limit"), http_req_query(r, "cursor"), page, &why))
		return true;
	api__reply_invalid(r, strncmp(why, "limit", 5) ? "cursor" : "limit", why);
	return false;
}

const char *api__query(http_req *r, const char *name)
{
	const char *v = http_req_query(r, name);
	return v && *v ? v : NULL;
}

json_t *api__body_or_reply(http_req *r, const char *const *allowed)
{
	json_t *body = api_body_object(r);
	if (!body)
		return NULL;
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		if (!api__one_of(key, allowed)) {
			char msg[160];
			snprintf(msg, sizeof msg, "unknown member '%.80s' in the request body", key);
			api__reply_invalid(r, key, msg);
			json_decref(body);
			return NULL;
		}
	}
	return body;
}

static void reply_type(http_req *r, const char *key, const char *what)
{
	char msg[160];
	snprintf(msg, sizeof msg, "%s must be %s", key, what);
	api__reply_invalid(r, key, msg);
}

bool api__str_or_reply(http_req *r, json_t *body, const char *key, const char **out, bool *present)
{
	json_t *v = json_object_get(body, key);
	*out = NULL;
	if (present)
		*present = v != NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		reply_type(r, key, "a string");
		return false;
	}
	*out = json_string_value(v);
	return true;
}

bool api__num_or_reply(http_req *r, json_t *body, const char *key, double *out, bool *present)
{
	json_t *v = json_object_get(body, key);
	*present = v != NULL && !json_is_null(v);
	if (!*present)
		return true;
	if (!json_is_number(v)) {
		reply_type(r, key, "a number");
		return false;
	}
	*out = json_number_value(v);
	return true;
}

bool api__bool_or_reply(http_req *r, json_t *body, const char *key, bool *out, bool *present)
{
	json_t *v = json_object_get(body, key);
	*present = v != NULL && !json_is_null(v);
	if (!*present)
		return true;
	if (!json_is_boolean(v)) {
		reply_type(r, key, "true or false");
		return false;
	}
	*out = json_is_true(v);
	return true;
}
