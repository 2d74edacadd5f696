/* web/pages.h: HTML rendering for the server-rendered pages.
 *
 * Every byte of text that did not come from a string literal in our source
 * goes through pages_escape (directly or via pages_fmt's %s), so names,
 * emails, URLs and query values can never become markup. Pages load CSS and
 * JS only from /assets/ (web/assets.c): the strict CSP set by http.c allows
 * no inline script or style. */
#ifndef CUPD_WEB_PAGES_H
#define CUPD_WEB_PAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

struct evbuffer;

/* Appends s with & < > " ' escaped (safe in text and in quoted attribute
 * values). NULL appends nothing. Invalid UTF-8 bytes become U+FFFD. */
void pages_escape(struct evbuffer *out, const char *s);

/* A tiny printf: %s appends an escaped string (NULL = nothing), %S a raw
 * string (markup from our own literals only), %d an int, %% a percent sign.
 * Nothing else is interpreted. */
void pages_fmt(struct evbuffer *out, const char *fmt, ...);

/* What the page frame shows. */
typedef struct pages_head {
	const char *title;        /* <title> and nothing else; the page writes its own <h1> */
	const char *user_email;   /* signed-in user shown in the top bar, or NULL */
	const char *csrf;         /* the session's CSRF token for the sign-out form (with user_email) */
	bool narrow;              /* a centred single card (sign-in, consent, errors) */
} pages_head;

/* Opens the document: head (CSS, deferred JS from /assets/), top bar, main. */
void pages_begin(struct evbuffer *out, const pages_head *h);
/* Closes what pages_begin opened. */
void pages_end(struct evbuffer *out);

/* Sends out as text/html (the CSP, X-Frame-Options and no-store headers are
 * added by http.c) and frees it. */
void pages_reply(http_req *r, int status, struct evbuffer *out);

/* A complete, readable error page: heading title, paragraph message. */
void pages_error(http_req *r, int status, const char *title, const char *message);

/* 303 See Other to location (never 307: a POST must become a GET, RFC 9700
 * §4.12), with Cache-Control: no-store. */
void pages_redirect(http_req *r, const char *location);

/* Percent-encodes s for a query value (RFC 3986 unreserved kept). Caller frees. */
char *pages_urlencode(const char *s);

#endif
