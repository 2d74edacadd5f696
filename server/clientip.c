/* clientip.c: trusted-proxy CIDR matching and X-Forwarded-For. */
#include "clientip.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "xmem.h"

typedef struct cidr {
	unsigned char addr[16];   /* IPv4 stored as ::ffff:a.b.c.d */
	int bits;                 /* prefix length over the 128-bit form */
} cidr;

static cidr *trusted;
static int ntrusted;

/* Parses an IPv4 or IPv6 literal into 16 bytes (v4-mapped for IPv4). */
static bool parse_ip(const char *s, unsigned char out[16], bool *v4)
{
	struct in_addr a4;
	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*v4 = true;
		return true;
	}
	*v4 = false;
	return inet_pton(AF_INET6, s, out) == 1;
}

static bool in_cidr(const unsigned char ip[16], const cidr *c)
{
	int full = c->bits / 8, rest = c->bits % 8;
	if (memcmp(ip, c->addr, (size_t)full) != 0)
		return false;
	if (!rest)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (ip[full] & mask) == (c->addr[full] & mask);
}

bool clientip_init(const char *list, FILE *err)
{
	clientip_shutdown();
	if (!list || !*list)
		return true;
	char *copy = xstrdup(list), *save = NULL;
	for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		cidr c = { .bits = -1 };
		char *slash = strchr(tok, '/');
		bool v4;
		if (slash)
			*slash = '\0';
		if (!parse_ip(tok, c.addr, &v4))
			goto bad;
		int max = v4 ? 32 : 128;
		int bits = max;
		if (slash) {
			char *end;
			long b = strtol(slash + 1, &end, 10);
			if (*end || end == slash + 1 || b < 0 || b > max)
				goto bad;
			bits = (int)b;
		}
		c.bits = v4 ? bits + 96 : bits;
		trusted = xrealloc(trusted, (size_t)(ntrusted + 1) * sizeof *trusted);
		trusted[ntrusted++] = c;
		continue;
	bad:
		fprintf(err, "cupd: CUPD_TRUSTED_PROXIES: \"%s\" is not an address or CIDR (e.g. 10.0.0.0/8, ::1)\n", tok);
		free(copy);
		clientip_shutdown();
		return false;
	}
	free(copy);
	return true;
}

void clientip_shutdown(void)
{
	free(trusted);
	trusted = NULL;
	ntrusted = 0;
}

bool clientip_trusted(const char *ip)
{
	unsigned char a[16];
	bool v4;
	if (!ntrusted || !parse_ip(ip, a, &v4))
		return false;
	for (int i = 0; i < ntrusted; i++)
		if (in_cidr(a, &trusted[i]))
			return true;
	return false;
}

void clientip_resolve(http_req *r)
{
	if (!ntrusted || !clientip_trusted(http_req_peer_ip(r)))
		return;
	const char *xff = http_req_header(r, "X-Forwarded-For");
	if (!xff)
		return;
	/* Right to left: each trusted hop vouches for the address before it. */
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", xff);
	char *hops[32];
	int n = 0;
	char *save = NULL;
	for (char *t = strtok_r(buf, ", ", &save); t && n < 32; t = strtok_r(NULL, ", ", &save))
		hops[n++] = t;
	for (int i = n - 1; i >= 0; i--) {
		unsigned char a[16];
		bool v4;
		if (!parse_ip(hops[i], a, &v4))
			return; /* garbage from an untrusted hop: keep the proxy's address */
		if (i == 0 || !clientip_trusted(hops[i])) {
			http_req_set_client_ip(r, hops[i]);
			return;
		}
	}
}
