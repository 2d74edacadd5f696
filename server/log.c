/* log.c: JSON lines to stderr (events) and stdout (access, buffered per thread). */
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static cfg_log_level threshold = LOG_INFO;
static bool access_enabled = true;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

enum { ACCESS_BUF = 64 * 1024, ACCESS_LINE = 1024 };

/* Each thread's pending access lines; written under write_lock so lines of
 * different threads never interleave inside one write. */
static _Thread_local char access_buf[ACCESS_BUF];
static _Thread_local size_t access_len;
/* gmtime is cached per second: formatting the date is most of a line's cost. */
static _Thread_local time_t cached_sec = -1;
static _Thread_local char cached_prefix[24];

static const char *const LEVEL_NAMES[] = { "debug", "info", "warn", "error" };

void log_setup(cfg_log_level level, bool access_log)
{
	threshold = level;
	access_enabled = access_log;
}

bool log_enabled(cfg_log_level level)
{
	return level >= threshold;
}

void log_time_iso(char out[32])
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	if (tv.tv_sec != cached_sec) {
		struct tm tm;
		gmtime_r(&tv.tv_sec, &tm);
		strftime(cached_prefix, sizeof cached_prefix, "%Y-%m-%dT%H:%M:%S", &tm);
		cached_sec = tv.tv_sec;
	}
	/* Per request: the cached seconds, then milliseconds by hand (no printf). */
	size_t n = strlen(cached_prefix);
	int ms = (int)(tv.tv_usec / 1000);
	memcpy(out, cached_prefix, n);
	out[n] = '.';
	out[n + 1] = (char)('0' + ms / 100);
	out[n + 2] = (char)('0' + ms / 10 % 10);
	out[n + 3] = (char)('0' + ms % 10);
	out[n + 4] = 'Z';
	out[n + 5] = '\0';
}

void log_json_escape(char *buf, size_t cap, size_t *len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = *len;
	if (!s)
		s = "";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[7];
		size_t k;
		if (c == '"' || c == '\\') {
			esc[0] = '\\'; esc[1] = (char)c; k = 2;
		} else if (c < 0x20 || c == 0x7f) {
			esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
			esc[4] = hex[c >> 4]; esc[5] = hex[c & 15]; k = 6;
		} else {
			esc[0] = (char)c; k = 1;
		}
		if (n + k + 1 > cap)
			break;
		memcpy(buf + n, esc, k);
		n += k;
	}
	if (n < cap)
		buf[n] = '\0';
	*len = n;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return; /* a closed log pipe must not take the server down */
		p += w;
		n -= (size_t)w;
	}
}

void log_msg(cfg_log_level level, const char *fmt, ...)
{
	if (level < threshold)
		return;
	char msg[1024], line[2200], ts[32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_time_iso(ts);
	size_t n = (size_t)snprintf(line, sizeof line, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"",
	                            ts, LEVEL_NAMES[level]);
	log_json_escape(line, sizeof line - 4, &n, msg);
	memcpy(line + n, "\"}\n", 3);
	n += 3;
	pthread_mutex_lock(&write_lock);
	write_all(STDERR_FILENO, line, n);
	pthread_mutex_unlock(&write_lock);
}

void log_flush_thread(void)
{
	if (!access_len)
		return;
	pthread_mutex_lock(&write_lock);
	write_all(STDOUT_FILENO, access_buf, access_len);
	pthread_mutex_unlock(&write_lock);
	access_len = 0;
}

/* Writes prefix then v in decimal into out; returns the length written. */
static int put_int(char *out, const char *prefix, long long v)
{
	int n = 0;
	while (*prefix)
		out[n++] = *prefix++;
	char digits[24];
	int d = 0;
	bool neg = v < 0;
	unsigned long long u = neg ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		digits[d++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (neg)
		out[n++] = '-';
	while (d)
		out[n++] = digits[--d];
	return n;
}

/* Appends a string known to be short and clean (our own constants). */
static void append_lit(char *line, size_t *n, const char *s)
{
	size_t l = strlen(s);
	memcpy(line + *n, s, l);
	*n += l;
}

void log_access(const log_access_entry *e)
{
	if (!access_enabled)
		return;
	if (access_len + ACCESS_LINE > ACCESS_BUF)
		log_flush_thread();
	char ts[32];
	log_time_iso(ts);
	char *line = access_buf + access_len;
	size_t cap = ACCESS_LINE, n;
	n = 0;
	append_lit(line, &n, "{\"time\":\"");
	append_lit(line, &n, ts);
	append_lit(line, &n, "\",\"msg\":\"request\",\"method\":\"");
	append_lit(line, &n, e->method); /* ours: GET, POST, ... */
	append_lit(line, &n, "\",\"route\":\"");
	log_json_escape(line, cap - 200, &n, e->route);
	memcpy(line + n, "\",\"path\":\"", 10);
	n += 10;
	log_json_escape(line, cap - 180, &n, e->path);
	/* Numbers by hand: "%.3f" through vfprintf was a visible share of a
	 * request's cost. Duration is written as milliseconds with 3 decimals. */
	char num[64];
	long long us = (long long)(e->duration_ms * 1000.0 + 0.5);
	int k = put_int(num, "\",\"status\":", e->status);
	k += put_int(num + k, ",\"duration_ms\":", us / 1000);
	num[k++] = '.';
	num[k++] = (char)('0' + (us / 100) % 10);
	num[k++] = (char)('0' + (us / 10) % 10);
	num[k++] = (char)('0' + us % 10);
	num[k] = '\0';
	if (n + (size_t)k + 64 < cap) {
		memcpy(line + n, num, (size_t)k);
		n += (size_t)k;
		k = put_int(num, ",\"bytes\":", e->bytes_out);
		memcpy(line + n, num, (size_t)k);
		n += (size_t)k;
		memcpy(line + n, ",\"request_id\":\"", 15);
		n += 15;
	}
	log_json_escape(line, cap - 60, &n, e->request_id);
	memcpy(line + n, "\",\"ip\":\"", 8);
	n += 8;
	log_json_escape(line, cap - 4, &n, e->ip);
	memcpy(line + n, "\"}\n", 3);
	access_len += n + 3;
}
