/* form.c: application/x-www-form-urlencoded parsing (see form.h). */
#include "form.h"

#include <string.h>

#include "xmem.h"

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) ('+' is a space, %XX a byte) into a new string; NULL on a
 * malformed escape or a decoded NUL. */
static char *decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;
			/* two hex digits must follow */
			if (i + 2 >= n || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0) {
				free(out);
				return NULL;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0') {
			free(out);
			return NULL;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

void oauth_form_free(oauth_form *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->n; i++) {
		free(f->keys[i]);
		free(f->values[i]);
	}
	f->n = 0;
}

bool oauth_form_parse(const char *s, size_t len, oauth_form *f)
{
	memset(f, 0, sizeof *f);
	if (len > OAUTH_FORM_MAX_BYTES || (len && !s) || (len && memchr(s, '\0', len)))
		return false;
	size_t i = 0;
	while (i < len) {
		const char *amp = memchr(s + i, '&', len - i);
		size_t end = amp ? (size_t)(amp - s) : len;
		if (end > i) {
			const char *pair = s + i;
			size_t plen = end - i;
			const char *eq = memchr(pair, '=', plen);
			size_t klen = eq ? (size_t)(eq - pair) : plen;
			if (f->n == OAUTH_FORM_MAX_PAIRS)
				goto fail;
			char *k = decode(pair, klen);
			char *v = eq ? decode(eq + 1, plen - klen - 1) : xstrdup("");
			if (!k || !v) {
				free(k);
				free(v);
				goto fail;
			}
			f->keys[f->n] = k;
			f->values[f->n] = v;
			f->n++;
		}
		i = end + 1;
	}
	return true;
fail:
	oauth_form_free(f);
	return false;
}

const char *oauth_form_get(const oauth_form *f, const char *key, bool *repeated)
{
	const char *found = NULL;
	if (repeated)
		*repeated = false;
	for (int i = 0; i < f->n; i++) {
		if (strcmp(f->keys[i], key) != 0 || !f->values[i][0])
			continue;
		if (found) {
			if (repeated)
				*repeated = true;
			continue;
		}
		found = f->values[i];
	}
	return found;
}

int oauth_form_all(const oauth_form *f, const char *key, const char **out, int max)
{
	int n = 0;
	for (int i = 0; i < f->n && n < max; i++)
		if (!strcmp(f->keys[i], key) && f->values[i][0])
			out[n++] = f->values[i];
	return n;
}
