/* web/pages.c: escaping, the page frame, error pages and redirects. */
#include "web/pages.h"

#include <event2/buffer.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xmem.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned min;
	if ((c & 0xE0) == 0xC0)
		n = 2, min = 0x80, c &= 0x1F;
	else if ((c & 0xF0) == 0xE0)
		n = 3, min = 0x800, c &= 0x0F;
	else if ((c & 0xF8) == 0xF0)
		n = 4, min = 0x10000, c &= 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	return n;
}

void pages_escape(struct evbuffer *out, const char *s)
{
	if (!s)
		return;
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p;
	while (*p) {
		const char *rep = NULL;
		size_t n = 1;
		switch (*p) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			if (*p < 0x20 && *p != '\n' && *p != '\t')
				rep = "\xEF\xBF\xBD";
			else if (*p >= 0x80 && !(n = utf8_len(p)))
				rep = "\xEF\xBF\xBD", n = 1;
			break;
		}
		if (rep) {
			evbuffer_add(out, run, (size_t)(p - run));
			evbuffer_add(out, rep, strlen(rep));
			p += n;
			run = p;
		} else {
			p += n;
		}
	}
	evbuffer_add(out, run, (size_t)(p - run));
}

void pages_fmt(struct evbuffer *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *p = fmt;
	while (*p) {
		const char *pct = strchr(p, '%');
		if (!pct) {
			evbuffer_add(out, p, strlen(p));
			break;
		}
		evbuffer_add(out, p, (size_t)(pct - p));
		switch (pct[1]) {
		case 's':
			pages_escape(out, va_arg(ap, const char *));
			break;
		case 'S': {
			const char *raw = va_arg(ap, const char *);
			if (raw)
				evbuffer_add(out, raw, strlen(raw));
			break;
		}
		case 'd':
			evbuffer_add_printf(out, "%d", va_arg(ap, int));
			break;
		case '%':
			evbuffer_add(out, "%", 1);
			break;
		case '\0':
			evbuffer_add(out, "%", 1);
			p = pct + 1;
			continue;
		default:
			/* Not a conversion: keep the text as written. */
			evbuffer_add(out, pct, 2);
			break;
		}
		p = pct + 2;
	}
	va_end(ap);
}

void pages_begin(struct evbuffer *out, const pages_head *h)
{
	pages_fmt(out,
	          "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	          "<meta name=\"referrer\" content=\"no-referrer\">\n"
	          "<title>%s · CheckUpstream</title>\n"
	          "<link rel=\"stylesheet\" href=\"/assets/app.css\">\n"
	          "<script src=\"/assets/app.js\" defer></script>\n"
	          "</head>\n<body>\n"
	          "<a class=\"skip\" href=\"#main\">Skip to content</a>\n"
	          "<header class=\"topbar\"><div class=\"topbar-inner\">"
	          "<a class=\"brand\" href=\"/settings/credentials\"><span class=\"brand-mark\" aria-hidden=\"true\"></span>"
	          "CheckUpstream</a>",
	          h->title);
	if (h->user_email && h->csrf)
		pages_fmt(out,
		          "<div class=\"account\"><span class=\"account-email\">%s</span>"
		          "<form method=\"post\" action=\"/logout\" class=\"inline\">"
		          "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		          "<button type=\"submit\" class=\"btn btn-link\">Sign out</button></form></div>",
		          h->user_email, h->csrf);
	pages_fmt(out, "</div></header>\n<main id=\"main\" class=\"%S\">\n", h->narrow ? "narrow" : "wide");
}

void pages_end(struct evbuffer *out)
{
	pages_fmt(out, "</main>\n</body>\n</html>\n");
}

void pages_reply(http_req *r, int status, struct evbuffer *out)
{
	http_reply_evbuffer(r, status, "text/html; charset=utf-8", out);
	evbuffer_free(out);
}

void pages_error(http_req *r, int status, const char *title, const char *message)
{
	struct evbuffer *out = evbuffer_new();
	pages_begin(out, &(pages_head){ .title = title, .narrow = true });
	pages_fmt(out,
	          "<section class=\"card\" aria-labelledby=\"err-title\">\n"
	          "<p class=\"eyebrow error-code\">Error %d</p>\n"
	          "<h1 id=\"err-title\">%s</h1>\n<p>%s</p>\n"
	          "</section>\n",
	          status, title, message);
	pages_end(out);
	pages_reply(r, status, out);
}

void pages_redirect(http_req *r, const char *location)
{
	http_set_header(r, "Location", location);
	http_set_header(r, "Cache-Control", "no-store");
	http_reply_empty(r, 303);
}

char *pages_urlencode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(n * 3 + 1);
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}
