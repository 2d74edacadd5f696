/* http.c: worker threads, request lifecycle, replies, streams and drain. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "xmem.h"

typedef struct worker {
	http_server *srv;
	int index;
	pthread_t thread;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct event *stop_ev;      /* activated from the main thread */
	struct event *tick_ev;      /* log flush + drain check */
	void *ctx;                  /* from hooks.worker_start */
	int in_flight;              /* requests not yet answered (this loop only) */
	bool draining;
	bool exiting;               /* loopexit scheduled */
	struct timespec drain_deadline;
	uint64_t rng[2];            /* request-id generator state, not a secret */
	bool clean;
	struct http_req *spare;     /* recycled request contexts (this loop only) */
	int nspare;
} worker;

struct http_server {
	const cfg *c;
	const router *rt;
	http_hooks hooks;
	int listen_fd;
	int nworkers;
	worker *workers;
	struct event_base *main_base;
	bool hsts;
};

struct http_req {
	struct evhttp_request *ev;
	worker *w;
	router_match match;
	unsigned method;
	const char *path;
	char *path_owned;                 /* when evhttp gave no path */
	const char *query_raw;
	struct evkeyvalq query;
	bool query_parsed;
	unsigned char *body;              /* pulled-up body, borrowed from evhttp */
	struct timespec start;
	char request_id[65];
	char ip[INET6_ADDRSTRLEN];
	bool html;
	bool streaming;
	http_stream_closed_fn on_closed;
	void *closed_arg;
	bool peer_gone;
	long bytes_out;
	void *app_data;
	void (*app_free)(void *);
	struct http_req *next_spare;
};

/* ---------------------------------------------------------------- helpers */

static double elapsed_s(const struct timespec *from)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - from->tv_sec) + (double)(now.tv_nsec - from->tv_nsec) / 1e9;
}

static uint64_t rng_next(uint64_t s[2])
{
	/* xorshift128+: request ids only need to be unique-ish, not secret. */
	uint64_t a = s[0], b = s[1];
	s[0] = b;
	a ^= a << 23;
	s[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
	return s[1] + b;
}

/* 16 lowercase hex digits + NUL; printf costs more than the rest of a request id. */
static void hex16(uint64_t v, char out[17])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--, v >>= 4)
		out[i] = hex[v & 15];
	out[16] = '\0';
}

static bool valid_request_id(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= 64 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		                 c == '-' || c == '_' || c == '.'))
			return false;
	}
	return n > 0;
}

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

static unsigned method_bit(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return ROUTER_GET;
	case EVHTTP_REQ_POST: return ROUTER_POST;
	case EVHTTP_REQ_PUT: return ROUTER_PUT;
	case EVHTTP_REQ_PATCH: return ROUTER_PATCH;
	case EVHTTP_REQ_DELETE: return ROUTER_DELETE;
	case EVHTTP_REQ_HEAD: return ROUTER_HEAD;
	case EVHTTP_REQ_OPTIONS: return ROUTER_OPTIONS;
	default: return 0;
	}
}

/* ------------------------------------------------------------ accessors */

unsigned http_req_method(const http_req *r) { return r->method; }
const char *http_req_path(const http_req *r) { return r->path; }
const char *http_req_id(const http_req *r) { return r->request_id; }
const char *http_req_peer_ip(const http_req *r) { return r->ip; }
void *http_req_worker_ctx(const http_req *r) { return r->w->ctx; }
int http_req_worker_index(const http_req *r) { return r->w->index; }
const cfg *http_req_cfg(const http_req *r) { return r->w->srv->c; }

const char *http_req_method_name(const http_req *r)
{
	switch (r->method) {
	case ROUTER_GET: return "GET";
	case ROUTER_POST: return "POST";
	case ROUTER_PUT: return "PUT";
	case ROUTER_PATCH: return "PATCH";
	case ROUTER_DELETE: return "DELETE";
	case ROUTER_HEAD: return "HEAD";
	case ROUTER_OPTIONS: return "OPTIONS";
	default: return "OTHER";
	}
}

const char *http_req_param(const http_req *r, const char *name)
{
	return router_param(&r->match, name);
}

const char *http_req_header(const http_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const char *http_req_query(http_req *r, const char *name)
{
	if (!r->query_parsed) {
		r->query_parsed = true;
		TAILQ_INIT(&r->query);
		if (r->query_raw && evhttp_parse_query_str(r->query_raw, &r->query) != 0) {
			evhttp_clear_headers(&r->query);
			TAILQ_INIT(&r->query);
		}
	}
	return evhttp_find_header(&r->query, name);
}

const char *http_req_query_raw(const http_req *r)
{
	return r->query_raw;
}

const unsigned char *http_req_body(http_req *r, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
	*len = evbuffer_get_length(in);
	if (!r->body)
		r->body = evbuffer_pullup(in, -1);
	return r->body ? r->body : (const unsigned char *)"";
}

const router_route *http_req_route(const http_req *r)
{
	return r->match.route;
}

const char *http_req_user_agent(const http_req *r)
{
	const char *ua = http_req_header(r, "User-Agent");
	return ua ? ua : "";
}

void http_req_set_app_data(http_req *r, void *data, void (*free_fn)(void *))
{
	if (r->app_free)
		r->app_free(r->app_data);
	r->app_data = data;
	r->app_free = free_fn;
}

void *http_req_app_data(const http_req *r)
{
	return r->app_data;
}

void http_req_set_client_ip(http_req *r, const char *ip)
{
	snprintf(r->ip, sizeof r->ip, "%s", ip);
}

void http_remove_header(http_req *r, const char *name)
{
	while (evhttp_remove_header(evhttp_request_get_output_headers(r->ev), name) == 0)
		;
}

void http_set_header(http_req *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value);
}

/* ------------------------------------------------------- reply internals */

static void add_common_headers(http_req *r, const char *content_type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	if (content_type)
		evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "X-Request-Id", r->request_id);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	if (r->w->srv->hsts)
		evhttp_add_header(h, "Strict-Transport-Security", "max-age=31536000");
	if (content_type && !strncmp(content_type, "text/html", 9)) {
		/* Pages never run inline script and never render inside a frame (RFC 9700 §4.16).
		 * A page may widen only form-action by setting its own policy first
		 * (the OAuth consent form, whose POST redirects to the client). */
		if (!evhttp_find_header(h, "Content-Security-Policy"))
			evhttp_add_header(h, "Content-Security-Policy", HTTP_HTML_CSP("'self'"));
		evhttp_add_header(h, "X-Frame-Options", "DENY");
		if (!evhttp_find_header(h, "Cache-Control"))
			evhttp_add_header(h, "Cache-Control", "no-store");
	}
	if (r->w->draining)
		evhttp_add_header(h, "Connection", "close");
}

static void finish(http_req *r, int status)
{
	worker *w = r->w;
	double secs = elapsed_s(&r->start);
	const router_route *rt = r->match.route;
	metrics_observe(w->index, rt ? rt->metric_id : 0, status, secs);
	log_access(&(log_access_entry){
		.method = http_req_method_name(r),
		.route = rt ? rt->pattern : "-",
		.path = r->path,
		.status = status,
		.duration_ms = secs * 1000.0,
		.request_id = r->request_id,
		.ip = r->ip,
		.bytes_out = r->bytes_out,
	});
	if (r->query_parsed)
		evhttp_clear_headers(&r->query);
	if (r->app_free)
		r->app_free(r->app_data);
	free(r->path_owned);
	if (w->nspare < 64) {
		/* Recycled on this loop: a request costs no malloc of its own. */
		r->next_spare = w->spare;
		w->spare = r;
		w->nspare++;
	} else {
		free(r);
	}
	w->in_flight--;
	metrics_gauge_add(METRIC_HTTP_IN_FLIGHT, -1);
}

static int write_to_evbuffer(const char *buf, size_t size, void *data)
{
	return evbuffer_add(data, buf, size);
}

void http_reply_evbuffer(http_req *r, int status, const char *content_type, struct evbuffer *buf)
{
	add_common_headers(r, content_type);
	r->bytes_out = buf ? (long)evbuffer_get_length(buf) : 0;
	if (r->method == ROUTER_HEAD && buf) {
		/* HEAD: the GET's headers, including its length, and no body (RFC 9110 §9.3.2). */
		char len[24];
		snprintf(len, sizeof len, "%ld", r->bytes_out);
		evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Content-Length", len);
		evbuffer_drain(buf, evbuffer_get_length(buf));
		r->bytes_out = 0;
	}
	evhttp_send_reply(r->ev, status, http_status_text(status), buf);
	finish(r, status);
}

void http_reply_json(http_req *r, int status, json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	if (body) {
		json_dump_callback(body, write_to_evbuffer, out, JSON_COMPACT | JSON_REAL_PRECISION(10));
		json_decref(body);
	}
	http_reply_evbuffer(r, status, "application/json", out);
	evbuffer_free(out);
}

void http_reply_error(http_req *r, int status, const char *error, const char *description)
{
	json_t *b = json_pack("{s:s, s:s}", "error", error, "error_description", description ? description : "");
	if (!evhttp_find_header(evhttp_request_get_output_headers(r->ev), "Cache-Control"))
		http_set_header(r, "Cache-Control", "no-store");
	http_reply_json(r, status, b);
}

void http_reply_body(http_req *r, int status, const char *content_type, const void *body, size_t len)
{
	struct evbuffer *out = evbuffer_new();
	if (len)
		evbuffer_add(out, body, len);
	http_reply_evbuffer(r, status, content_type, out);
	evbuffer_free(out);
}

void http_reply_empty(http_req *r, int status)
{
	http_reply_evbuffer(r, status, NULL, NULL);
}

/* ------------------------------------------------------------- streams */

static void on_stream_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	http_req *r = arg;
	r->peer_gone = true;
	if (r->on_closed)
		r->on_closed(r, r->closed_arg);
}

void http_stream_start(http_req *r, int status, const char *content_type,
                       http_stream_closed_fn on_closed, void *arg)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
	add_common_headers(r, content_type);
	r->streaming = true;
	r->on_closed = on_closed;
	r->closed_arg = arg;
	metrics_gauge_add(METRIC_SSE_OPEN, 1);
	if (evcon) {
		/* A live stream is exempt from the idle timeout; -1 would mean
		 * libevent's 50 s default, not "forever" (STACK.md §2). */
		evhttp_connection_set_timeout(evcon, 24 * 3600);
		evhttp_connection_set_closecb(evcon, on_stream_conn_closed, r);
	}
	evhttp_send_reply_start(r->ev, status, http_status_text(status));
}

void http_stream_send(http_req *r, const void *data, size_t len)
{
	if (r->peer_gone || !len)
		return;
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, data, len);
	r->bytes_out += (long)len;
	evhttp_send_reply_chunk(r->ev, b);
	evbuffer_free(b);
}

void http_stream_end(http_req *r)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
	if (evcon && !r->peer_gone)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
	metrics_gauge_add(METRIC_SSE_OPEN, -1);
	evhttp_send_reply_end(r->ev); /* frees an orphaned request too */
	finish(r, 200);
}

/* ------------------------------------------------------------ dispatch */

/* Size of the request line's URI and every header line, as sent. */
static size_t header_bytes(struct evhttp_request *ev)
{
	const char *uri = evhttp_request_get_uri(ev);
	size_t n = uri ? strlen(uri) : 0;
	struct evkeyval *h;
	TAILQ_FOREACH(h, evhttp_request_get_input_headers(ev), next)
		n += strlen(h->key) + strlen(h->value) + 4; /* ": " and CRLF */
	return n;
}

static void reply_not_found(http_req *r)
{
	http_reply_error(r, 404, "not_found", "No such route. The API lives under /api/v1; see /api/v1/openapi.json.");
}

static void on_request(struct evhttp_request *ev, void *arg)
{
	worker *w = arg;
	/* Zeroed except the parameter buffer, which router_find fills as needed. */
	http_req *r = w->spare;
	if (r) {
		w->spare = r->next_spare;
		w->nspare--;
	} else {
		r = xmalloc(sizeof *r);
	}
	memset(r, 0, offsetof(http_req, match) + offsetof(router_match, buf));
	memset(&r->match + 1, 0, sizeof *r - offsetof(http_req, match) - sizeof r->match);
	r->ev = ev;
	r->w = w;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	w->in_flight++;
	metrics_gauge_add(METRIC_HTTP_IN_FLIGHT, 1);

	r->method = method_bit(evhttp_request_get_command(ev));
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	r->path = (path && *path) ? path : "/";
	r->query_raw = uri ? evhttp_uri_get_query(uri) : NULL;

	const char *rid = evhttp_find_header(evhttp_request_get_input_headers(ev), "X-Request-Id");
	if (rid && valid_request_id(rid))
		snprintf(r->request_id, sizeof r->request_id, "%s", rid);
	else
		hex16(rng_next(w->rng), r->request_id);

	char *host = NULL;
	ev_uint16_t port = 0;
	struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
	if (evcon)
		evhttp_connection_get_peer(evcon, &host, &port);
	snprintf(r->ip, sizeof r->ip, "%s", host ? host : "-");

	if (header_bytes(ev) > (size_t)w->srv->c->max_header_bytes) {
		http_set_header(r, "Connection", "close");
		http_reply_error(r, 431, "request_header_fields_too_large",
		                 "The request's header fields are larger than this server accepts.");
		return;
	}

	switch (router_find(w->srv->rt, r->method, r->path, strlen(r->path), &r->match)) {
	case ROUTER_FOUND:
		r->match.route->handler(r);
		return;
	case ROUTER_METHOD_NOT_ALLOWED: {
		char allow[96];
		router_allow_header(r->match.allowed, allow, sizeof allow);
		http_set_header(r, "Allow", allow);
		char desc[160];
		snprintf(desc, sizeof desc, "%s is not allowed on this route; allowed: %s.",
		         http_req_method_name(r), allow);
		http_reply_error(r, 405, "method_not_allowed", desc);
		return;
	}
	case ROUTER_NOT_FOUND:
		reply_not_found(r);
		return;
	}
}

/* ------------------------------------------------------ worker threads */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker *w = arg;
	log_flush_thread();
	if (!w->draining)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	bool late = now.tv_sec > w->drain_deadline.tv_sec ||
	            (now.tv_sec == w->drain_deadline.tv_sec && now.tv_nsec >= w->drain_deadline.tv_nsec);
	if ((w->in_flight == 0 || late) && !w->exiting) {
		w->clean = (w->in_flight == 0);
		w->exiting = true;
		if (late)
			log_msg(LOG_WARN, "worker %d: %d request(s) still running after the shutdown grace period",
			        w->index, w->in_flight);
		/* The last replies may still sit in output buffers; evhttp_free would
		 * drop them. Keep the loop running a moment so they are written. */
		struct timeval flush = { 0, 200 * 1000 };
		event_base_loopexit(w->base, &flush);
	}
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker *w = arg;
	if (w->draining)
		return;
	w->draining = true;
	/* Stop accepting at once; connections already open finish their requests. */
	if (w->bound) {
		evhttp_del_accept_socket(w->http, w->bound);
		w->bound = NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &w->drain_deadline);
	w->drain_deadline.tv_sec += w->srv->c->shutdown_grace_seconds;
	if (w->srv->hooks.worker_drain)
		w->srv->hooks.worker_drain(w->ctx, w->srv->hooks.arg);
	on_tick(-1, 0, w);
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	http_server *s = w->srv;
	const cfg *c = s->c;
	w->http = evhttp_new(w->base);
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	                                        EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	/* evhttp's own refusal is a bare HTML 400; keep it only as a backstop at
	 * 4x the limit and answer 431 with a JSON body ourselves (on_request). */
	evhttp_set_max_headers_size(w->http, c->max_header_bytes * 4 > 65536 ? c->max_header_bytes * 4 : 65536);
	evhttp_set_max_body_size(w->http, c->max_body_bytes);
	evhttp_set_timeout(w->http, c->timeout_seconds);
	evhttp_set_gencb(w->http, on_request, w);
	int fd = dup(s->listen_fd);
	w->bound = fd >= 0 ? evhttp_accept_socket_with_handle(w->http, fd) : NULL;
	if (!w->bound) {
		log_msg(LOG_ERROR, "worker %d: cannot accept on the listening socket", w->index);
		if (fd >= 0)
			close(fd);
	}
	if (s->hooks.worker_start)
		w->ctx = s->hooks.worker_start(w->index, w->base, s->hooks.arg);
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, on_tick, w);
	struct timeval tick = { 0, 50 * 1000 };
	event_add(w->tick_ev, &tick);

	event_base_dispatch(w->base);

	if (s->hooks.worker_stop)
		s->hooks.worker_stop(w->ctx, s->hooks.arg);
	while (w->spare) {
		http_req *next = w->spare->next_spare;
		free(w->spare);
		w->spare = next;
	}
	log_flush_thread();
	return NULL;
}

static int bind_listener(const cfg *c)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL;
	char port[8];
	snprintf(port, sizeof port, "%d", c->listen_port);
	int rc = getaddrinfo(c->listen_host, port, &hints, &res);
	if (rc != 0) {
		log_msg(LOG_ERROR, "CUPD_LISTEN: cannot resolve %s: %s", c->listen_host, gai_strerror(rc));
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		/* Accepted sockets inherit it on Linux: without it, Nagle plus delayed
		 * ACKs stall every keep-alive reply larger than one segment by ~40 ms. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		log_msg(LOG_ERROR, "CUPD_LISTEN: cannot listen on %s: %s", c->listen, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

http_server *http_server_new(const cfg *c, const router *rt, const http_hooks *hooks)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, (void (*)(void))evthread_use_pthreads);
	int fd = bind_listener(c);
	if (fd < 0)
		return NULL;
	http_server *s = xcalloc(1, sizeof *s);
	s->c = c;
	s->rt = rt;
	if (hooks)
		s->hooks = *hooks;
	s->listen_fd = fd;
	s->nworkers = c->workers;
	s->hsts = !strncmp(c->public_url, "https://", 8);
	return s;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	http_server *s = arg;
	log_msg(LOG_INFO, "received %s: draining (up to %d s)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
	        s->c->shutdown_grace_seconds);
	/* Stop listening now: new connections are refused instead of queued in
	 * the backlog and reset at exit. Workers close their duplicates too. */
	if (s->listen_fd >= 0) {
		shutdown(s->listen_fd, SHUT_RD);
		close(s->listen_fd);
		s->listen_fd = -1;
	}
	for (int i = 0; i < s->nworkers; i++)
		event_active(s->workers[i].stop_ev, EV_READ, 0);
	event_base_loopexit(s->main_base, NULL);
}

bool http_server_run(http_server *s)
{
	bool ok = true;
	signal(SIGPIPE, SIG_IGN);
	s->main_base = event_base_new();
	struct event *sigterm = evsignal_new(s->main_base, SIGTERM, on_signal, s);
	struct event *sigint = evsignal_new(s->main_base, SIGINT, on_signal, s);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);

	s->workers = xcalloc((size_t)s->nworkers, sizeof *s->workers);
	for (int i = 0; i < s->nworkers; i++) {
		worker *w = &s->workers[i];
		w->srv = s;
		w->index = i;
		w->base = event_base_new();
		w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
		event_add(w->stop_ev, NULL); /* pending so event_active from main is delivered */
		if (RAND_bytes((unsigned char *)w->rng, sizeof w->rng) != 1)
			w->rng[0] = (uint64_t)time(NULL) ^ (uint64_t)i, w->rng[1] = 0x9e3779b97f4a7c15ull;
		pthread_create(&w->thread, NULL, worker_main, w);
	}
	log_msg(LOG_INFO, "serving on http://%s with %d worker(s); public URL %s", s->c->listen, s->nworkers,
	        s->c->public_url);

	event_base_dispatch(s->main_base);

	for (int i = 0; i < s->nworkers; i++) {
		worker *w = &s->workers[i];
		pthread_join(w->thread, NULL);
		ok = ok && w->clean;
		event_free(w->stop_ev);
		event_free(w->tick_ev);
		evhttp_free(w->http);
		event_base_free(w->base);
	}
	event_free(sigterm);
	event_free(sigint);
	event_base_free(s->main_base);
	s->main_base = NULL;
	log_msg(LOG_INFO, "stopped%s", ok ? "" : " (some requests were cut off)");
	return ok;
}

void http_server_free(http_server *s)
{
	if (!s)
		return;
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s->workers);
	free(s);
}
