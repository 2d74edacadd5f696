/* api.c: running API statements, mapping results to REST, pagination. */
#include "api.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "routes.h"
#include "log.h"
#include "xmem.h"

void api_ctx_from_request(api_ctx *ctx, const http_req *r)
{
	const auth_principal *p = auth_principal_of(r);
	memset(ctx, 0, sizeof *ctx);
	if (p) {
		snprintf(ctx->org_id, sizeof ctx->org_id, "%s", p->org_id);
		snprintf(ctx->org_slug, sizeof ctx->org_slug, "%s", p->org_slug);
		snprintf(ctx->user_id, sizeof ctx->user_id, "%s", p->user_id);
		snprintf(ctx->actor_id, sizeof ctx->actor_id, "%s", p->cred_id);
		ctx->scope = p->scope;
		ctx->actor_kind = p->kind == CREDS_API_TOKEN ? "api_token" : p->kind == CREDS_JWT ? "connection" : "system";
	} else {
		ctx->actor_kind = "system";
	}
	snprintf(ctx->ip, sizeof ctx->ip, "%s", http_req_peer_ip(r));
	snprintf(ctx->user_agent, sizeof ctx->user_agent, "%s", http_req_user_agent(r));
	snprintf(ctx->request_id, sizeof ctx->request_id, "%s", http_req_id(r));
	ctx->db = app_worker_of(r)->db;
	ctx->c = http_req_cfg(r);
}

void api_audit_params(const api_ctx *ctx, const char *out[5])
{
	out[0] = ctx->actor_kind;
	out[1] = ctx->actor_id[0] ? ctx->actor_id : NULL;
	out[2] = ctx->user_id[0] ? ctx->user_id : NULL;
	out[3] = ctx->ip[0] && strcmp(ctx->ip, "-") ? ctx->ip : NULL;
	out[4] = ctx->user_agent;
}

/* ------------------------------------------------------------- running */

typedef struct run {
	api_status ok_status;
	api_done_fn done;
	void *arg;
	char stmt[64];
} run;

void api_fail(api_status st, const char *field, const char *message, api_done_fn done, void *arg)
{
	api_result res = { .status = st, .field = field, .message = message };
	done(&res, arg);
}

bool api_uuid_or_not_found(const char *id, const char *what, api_done_fn done, void *arg)
{
	if (api_is_uuid(id))
		return true;
	char msg[120];
	snprintf(msg, sizeof msg, "No %s with this id in your organization.", what);
	api_fail(API_NOT_FOUND, NULL, msg, done, arg);
	return false;
}

static api_status map_sqlstate(const char *s)
{
	if (!strcmp(s, "CU404") || !strcmp(s, "P0002"))
		return API_NOT_FOUND;
	if (!strcmp(s, "CU409") || !strcmp(s, DB_UNIQUE_VIOLATION))
		return API_CONFLICT;
	if (!strcmp(s, "CU403"))
		return API_FORBIDDEN;
	/* Check, not-null, foreign key, bad text/number/date formats, string too long. */
	if (!strcmp(s, "CU400") || !strncmp(s, "23", 2) || !strncmp(s, "22", 2))
		return API_INVALID;
	return API_INTERNAL;
}

/* PostgreSQL messages of our own CU* errors are meant for callers; others are not. */
static const char *public_message(const char *sqlstate, const char *msg, api_status st)
{
	if (!strncmp(sqlstate, "CU", 2))
		return msg;
	switch (st) {
	case API_CONFLICT: return "An object with these unique values already exists.";
	case API_INVALID: return "A value is out of range or refers to something that does not exist.";
	case API_NOT_FOUND: return "Not found.";
	default: return "The request failed on our side; it has been logged.";
	}
}

static void run_done(const db_result *dr, void *arg)
{
	run *rn = arg;
	api_result res = { 0 };
	char msgbuf[512];
	if (dr->status == DB_OK) {
		if (db_rows(dr->res) == 0) {
			res.status = API_NOT_FOUND;
			res.message = "Not found.";
		} else {
			const char *text = db_get(dr->res, 0, "result");
			json_error_t jerr;
			res.data = text ? json_loads(text, JSON_DECODE_ANY, &jerr) : json_null();
			if (!res.data) {
				log_msg(LOG_ERROR, "api: %s returned invalid JSON: %s", rn->stmt, jerr.text);
				res.status = API_INTERNAL;
				res.message = "The request failed on our side; it has been logged.";
			} else {
				res.status = rn->ok_status;
			}
		}
	} else if (dr->status == DB_ERROR) {
		res.status = map_sqlstate(dr->sqlstate);
		snprintf(msgbuf, sizeof msgbuf, "%s", dr->message);
		/* libpq prefixes "ERROR:  " and ends with a newline; callers get the sentence. */
		char *m = msgbuf;
		if (!strncmp(m, "ERROR:  ", 8))
			m += 8;
		m[strcspn(m, "\n")] = '\0';
		res.message = public_message(dr->sqlstate, m, res.status);
		if (res.status == API_INTERNAL)
			log_msg(LOG_ERROR, "api: %s failed: %s %s", rn->stmt, dr->sqlstate, m);
	} else {
		res.status = API_UNAVAILABLE;
		res.message = "The database is not reachable right now; retry shortly.";
	}
	rn->done(&res, rn->arg);
	json_decref(res.data);
	free(rn);
}

void api_run(const api_ctx *ctx, const db_stmt *st, const char *const *params, api_status ok_status,
             api_done_fn done, void *arg)
{
	run *rn = xcalloc(1, sizeof *rn);
	rn->ok_status = ok_status;
	rn->done = done;
	rn->arg = arg;
	snprintf(rn->stmt, sizeof rn->stmt, "%s", st->name);
	db_status s = db_query(ctx->db, st, params, run_done, rn);
	if (s != DB_OK) {
		free(rn);
		api_fail(API_UNAVAILABLE, NULL,
		         s == DB_OVERLOADED ? "Too many requests are waiting for the database; retry shortly."
		                            : "The database is not reachable right now; retry shortly.",
		         done, arg);
	}
}

/* ---------------------------------------------------------------- REST */

static int dump_to_md(const char *buf, size_t size, void *data)
{
	return EVP_DigestUpdate(data, buf, size) == 1 ? 0 : -1;
}

/* W/"<first 16 bytes of SHA-256 of the canonical JSON, hex>" */
static void etag_of(json_t *data, char out[48])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	json_dump_callback(data, dump_to_md, ctx, JSON_COMPACT | JSON_SORT_KEYS);
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	char *p = out;
	*p++ = 'W', *p++ = '/', *p++ = '"';
	for (int i = 0; i < 16; i++) {
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 15];
	}
	*p++ = '"';
	*p = '\0';
}

static bool etag_matches(const char *header, const char *etag)
{
	/* If-None-Match: a list of (weak or strong) tags, or "*". */
	if (!header)
		return false;
	if (!strcmp(header, "*"))
		return true;
	const char *opaque = etag + 2; /* compare without W/ (weak comparison, RFC 9110 §8.8.3.2) */
	return strstr(header, opaque) != NULL;
}

typedef struct held_reply {
	http_req *r;
	api_status status;
	json_t *data;
} held_reply;

static void reply_success(http_req *r, api_status status, json_t *data);

static void held_reply_send(void *arg)
{
	held_reply *h = arg;
	reply_success(h->r, h->status, h->data);
	json_decref(h->data);
	free(h);
}

void api_reply(http_req *r, api_result *res)
{
	const route_def *d = routes_def_of(http_req_route(r));
	if ((res->status == API_OK || res->status == API_CREATED) && d && (d->flags & ROUTE_NOTIFY_BARRIER)) {
		/* A revocation: answer once every instance has it (app_notify_barrier). */
		held_reply *h = xmalloc(sizeof *h);
		*h = (held_reply){ r, res->status, json_incref(res->data) };
		app_notify_barrier(r, APP_BARRIER_TIMEOUT_MS, held_reply_send, h);
		return;
	}
	switch (res->status) {
	case API_OK:
	case API_CREATED:
		reply_success(r, res->status, res->data);
		return;
	case API_INVALID: {
		json_t *b = json_pack("{s:s, s:s}", "error", "invalid_request", "error_description",
		                      res->message ? res->message : "Invalid input.");
		if (res->field)
			json_object_set_new(b, "field", json_string(res->field));
		http_set_header(r, "Cache-Control", "no-store");
		http_reply_json(r, 400, b);
		return;
	}
	case API_NOT_FOUND:
		http_reply_error(r, 404, "not_found", res->message ? res->message : "Not found.");
		return;
	case API_CONFLICT:
		http_reply_error(r, 409, "conflict", res->message);
		return;
	case API_FORBIDDEN:
		http_reply_error(r, 403, "forbidden", res->message);
		return;
	case API_UNAVAILABLE:
		http_set_header(r, "Retry-After", "1");
		http_reply_error(r, 503, "database_unavailable", res->message);
		return;
	case API_INTERNAL:
	default:
		http_reply_error(r, 500, "internal_error", "The request failed on our side; it has been logged.");
		return;
	}
}

static void reply_success(http_req *r, api_status status, json_t *data)
{
	int code = status == API_CREATED ? 201 : 200;
	http_set_header(r, "Cache-Control", "no-store");
	if (code == 200 && (http_req_method(r) & (ROUTER_GET | ROUTER_HEAD))) {
		char etag[48];
		etag_of(data, etag);
		http_set_header(r, "ETag", etag);
		if (etag_matches(http_req_header(r, "If-None-Match"), etag)) {
			http_reply_empty(r, 304);
			return;
		}
	}
	http_reply_json(r, code, json_incref(data));
}

void api_reply_cb(api_result *res, void *arg)
{
	api_reply(arg, res);
}

json_t *api_body_object(http_req *r)
{
	const char *ct = http_req_header(r, "Content-Type");
	size_t n = ct ? strcspn(ct, "; ") : 0;
	if (!ct || n != 16 || strncasecmp(ct, "application/json", 16) != 0) {
		http_reply_error(r, 415, "unsupported_media_type", "Send the body as application/json.");
		return NULL;
	}
	size_t len;
	const unsigned char *body = http_req_body(r, &len);
	json_error_t err;
	json_t *j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &err);
	if (!j || !json_is_object(j)) {
		char desc[200];
		if (!j)
			snprintf(desc, sizeof desc, "The body is not valid JSON (line %d: %s).", err.line, err.text);
		else
			snprintf(desc, sizeof desc, "The body must be a JSON object.");
		json_decref(j);
		app_reply_bad_request(r, desc);
		return NULL;
	}
	return j;
}

/* ---------------------------------------------------------- pagination */

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool api_is_uuid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

bool api_cursor_encode(const char *ts, const char *id, char *out, size_t cap)
{
	char raw[96];
	int n = snprintf(raw, sizeof raw, "%s|%s", ts, id);
	if (n < 0 || (size_t)n >= sizeof raw || cap < ((size_t)n * 4 + 2) / 3 + 1)
		return false;
	size_t o = 0;
	for (int i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)raw[i] << 16;
		int k = n - i;
		if (k > 1)
			v |= (unsigned char)raw[i + 1] << 8;
		if (k > 2)
			v |= (unsigned char)raw[i + 2];
		out[o++] = B64URL[(v >> 18) & 63];
		out[o++] = B64URL[(v >> 12) & 63];
		if (k > 1)
			out[o++] = B64URL[(v >> 6) & 63];
		if (k > 2)
			out[o++] = B64URL[v & 63];
	}
	out[o] = '\0';
	return true;
}

static int b64val(char c)
{
	const char *p = c ? strchr(B64URL, c) : NULL;
	return p ? (int)(p - B64URL) : -1;
}

bool api_cursor_decode(const char *cursor, char ts[40], char id[37])
{
	char raw[96];
	size_t n = strlen(cursor), o = 0;
	if (n == 0 || n > 120 || n % 4 == 1)
		return false;
	for (size_t i = 0; i < n; i += 4) {
		int v[4] = { 0, 0, 0, 0 };
		size_t k = n - i < 4 ? n - i : 4;
		for (size_t j = 0; j < k; j++)
			if ((v[j] = b64val(cursor[i + j])) < 0)
				return false;
		unsigned bits = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
		if (o + 3 >= sizeof raw)
			return false;
		raw[o++] = (char)(bits >> 16);
		if (k > 2)
			raw[o++] = (char)(bits >> 8);
		if (k > 3)
			raw[o++] = (char)bits;
	}
	raw[o] = '\0';
	if (strlen(raw) != o)
		return false;
	char *bar = strchr(raw, '|');
	if (!bar || (size_t)(bar - raw) >= 40 || (size_t)(bar - raw) < 10)
		return false;
	*bar = '\0';
	for (const char *p = raw; *p; p++)
		if (!isdigit((unsigned char)*p) && !strchr("-:.+T Z", *p))
			return false;
	if (!api_is_uuid(bar + 1))
		return false;
	memcpy(ts, raw, (size_t)(bar - raw) + 1); /* length checked above: < 40 */
	memcpy(id, bar + 1, 37);                   /* api_is_uuid: exactly 36 + NUL */
	return true;
}

bool api_page_parse(const char *limit, const char *cursor, api_page *out, const char **why)
{
	memset(out, 0, sizeof *out);
	out->limit = API_LIMIT_DEFAULT;
	if (limit) {
		char *end;
		long v = strtol(limit, &end, 10);
		if (!*limit || *end || v < 1 || v > API_LIMIT_MAX) {
			*why = "limit must be an integer from 1 to 200";
			return false;
		}
		out->limit = (int)v;
	}
	snprintf(out->limit_plus_one, sizeof out->limit_plus_one, "%d", out->limit + 1);
	if (cursor && *cursor && !api_cursor_decode(cursor, out->after_ts, out->after_id)) {
		*why = "cursor is not one this API returned (use next_cursor as given)";
		return false;
	}
	return true;
}

const char *api_page_ts(const api_page *p)
{
	return p->after_ts[0] ? p->after_ts : NULL;
}

const char *api_page_id(const api_page *p)
{
	return p->after_id[0] ? p->after_id : NULL;
}

json_t *api_page_wrap(json_t *rows, const api_page *p)
{
	if (!json_is_array(rows)) {
		json_decref(rows);
		rows = json_array();
	}
	json_t *next = json_null();
	if ((int)json_array_size(rows) > p->limit) {
		while ((int)json_array_size(rows) > p->limit)
			json_array_remove(rows, json_array_size(rows) - 1);
		json_t *last = json_array_get(rows, (size_t)p->limit - 1);
		const char *ts = json_string_value(json_object_get(last, "created_at"));
		const char *id = json_string_value(json_object_get(last, "id"));
		char cur[160];
		if (ts && id && api_cursor_encode(ts, id, cur, sizeof cur))
			next = json_string(cur);
	}
	return json_pack("{s:o, s:o}", "data", rows, "next_cursor", next);
}

typedef struct page_call {
	api_page page;
	api_done_fn done;
	void *arg;
} page_call;

/* Wraps the fetched rows into {data, next_cursor} before handing them on. */
static void page_done(api_result *res, void *arg)
{
	page_call *pc = arg;
	if (res->status == API_OK)
		res->data = api_page_wrap(res->data, &pc->page); /* steals the rows; run_done frees the wrapper */
	pc->done(res, pc->arg);
	free(pc);
}

void api_list_paged(const api_ctx *ctx, const db_stmt *st, const char *const *filters, int nfilters,
                    const api_page *page, api_done_fn done, void *arg)
{
	/* Parameter order of every paged list: org, after_ts, after_id, limit+1, filters... */
	const char *params[16] = { ctx->org_id, api_page_ts(page), api_page_id(page), page->limit_plus_one };
	for (int i = 0; i < nfilters && i < 12; i++)
		params[4 + i] = filters[i];
	page_call *pc = xmalloc(sizeof *pc);
	pc->page = *page;
	pc->done = done;
	pc->arg = arg;
	api_run(ctx, st, params, API_OK, page_done, pc);
}

/* ------------------------------------------------------------- inputs */

static bool utf8_clean(const char *s, size_t n)
{
	/* jansson already guarantees valid UTF-8; refuse control characters
	 * except tab and newline in free text. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
			return false;
	}
	return true;
}

const char *api_json_str(json_t *obj, const char *key, size_t min, size_t max, bool *ok, const char **why)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return NULL;
	static _Thread_local char msg[160];
	if (!json_is_string(v)) {
		snprintf(msg, sizeof msg, "%s must be a string", key);
		*ok = false, *why = msg;
		return NULL;
	}
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n < min || n > max || strlen(s) != n || !utf8_clean(s, n)) {
		snprintf(msg, sizeof msg, "%s must be %zu to %zu characters of text", key, min, max);
		*ok = false, *why = msg;
		return NULL;
	}
	return s;
}
