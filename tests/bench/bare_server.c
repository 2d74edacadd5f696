/* bare_server.c: the ceiling of this stack for tests/bench/http_bench.sh.
 *
 * One thread, one event_base, one evhttp; GET /healthz answers the same small
 * JSON body as cupd's /healthz, built with jansson on every request as a real
 * handler would. Everything else gets 404. No routing table, no logging, no
 * database: whatever cupd spends beyond this is the cost of its own layers.
 *
 * Usage: bench_bare_server PORT   (binds 127.0.0.1 only; SIGINT/SIGTERM stop it)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

static void on_request(struct evhttp_request *req, void *arg)
{
	(void)arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET || !path || strcmp(path, "/healthz") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}

	json_t *body = json_pack("{s:s}", "status", "ok");
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}

	struct evbuffer *out = evbuffer_new();
	if (!out) {
		free(text);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add(out, text, strlen(text));
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evhttp_send_reply(req, HTTP_OK, "OK", out);
	evbuffer_free(out);
}

static void on_signal(evutil_socket_t sig, short events, void *arg)
{
	(void)sig;
	(void)events;
	event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PORT\n", argv[0]);
		return 2;
	}
	char *end;
	errno = 0;
	long port = strtol(argv[1], &end, 10);
	if (errno || *end || end == argv[1] || port < 1 || port > 65535) {
		fprintf(stderr, "bench_bare_server: bad port \"%s\"\n", argv[1]);
		return 2;
	}

	/* A client that goes away mid-reply must not kill the process. */
	signal(SIGPIPE, SIG_IGN);

	struct event_base *base = event_base_new();
	struct evhttp *http = base ? evhttp_new(base) : NULL;
	if (!http) {
		fprintf(stderr, "bench_bare_server: cannot create event loop\n");
		return 1;
	}
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(http, 30);
	evhttp_set_gencb(http, on_request, NULL);
	if (!evhttp_bind_socket_with_handle(http, "127.0.0.1", (ev_uint16_t)port)) {
		fprintf(stderr, "bench_bare_server: cannot bind 127.0.0.1:%ld\n", port);
		evhttp_free(http);
		event_base_free(base);
		return 1;
	}

	struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
	struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	if (!sigint || !sigterm || event_add(sigint, NULL) || event_add(sigterm, NULL)) {
		fprintf(stderr, "bench_bare_server: cannot install signal handlers\n");
		return 1;
	}

	fprintf(stderr, "bench_bare_server: listening on http://127.0.0.1:%ld/healthz\n", port);
	event_base_dispatch(base);

	event_free(sigint);
	event_free(sigterm);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}
