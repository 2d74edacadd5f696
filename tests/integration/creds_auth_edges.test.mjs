// Issue 3, credentials: what the auth gate promises around API Tokens, over
// real HTTP and PostgreSQL —
//   * rate-limit headers on every authenticated answer, 429 + Retry-After
//     past the per-token limit (CUPD_RATE_API_TOKEN_PER_MIN=5);
//   * failed authentication limited per client IP (CUPD_RATE_IP_PER_MIN=3),
//     and the leak-report endpoint limited per IP the same way;
//   * revocation and disabling through instance A hold on instance B before
//     its next request (two cupd processes, one database), with numbers;
//   * a malformed or mistyped token is refused without the database: with
//     the cluster stopped it still gets 401, not 503.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { cleanup, now, psql, request, runCli, sleep, startCluster, startCupd, waitFor } from './lib/harness.mjs';

const PASSWORD = 'correct horse battery staple 42\n';
const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

let cluster, limited, a, b;
const secrets = new Set();

function crc32(s) {
	let crc = 0xffffffff;
	for (const x of Buffer.from(s)) {
		crc ^= x;
		for (let k = 0; k < 8; k++)
			crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
	}
	return (crc ^ 0xffffffff) >>> 0;
}
/** A well-formed credential (valid checksum) that no database knows. */
function lookAlike(prefix) {
	const body = prefix + [...randomBytes(32)].map((x) => B62[x % 62]).join('');
	let v = crc32(body), chk = '';
	for (let i = 0; i < 6; i++) {
		chk = B62[v % 62] + chk;
		v = Math.floor(v / 62);
	}
	return body + chk;
}
const flipLast = (t) => t.slice(0, -1) + (t.at(-1) === 'A' ? 'B' : 'A');

async function cli(args, stdin) {
	const r = await runCli(args, { env: { DATABASE_URL: cluster.url }, stdin });
	assert.equal(r.code, 0, `cupd ${args.join(' ')} failed: ${r.stderr}`);
	return r;
}

async function mint(scopes = 'admin', name = 'cli') {
	const tok = (await cli(['token', 'create', '--org', 'acme', '--user', 'ada@acme.test', '--scopes', scopes,
		'--name', name])).stdout.trim();
	secrets.add(tok);
	return tok;
}

async function call(srv, token, method, path, body, headers = {}) {
	const h = { ...headers };
	if (token !== undefined && token !== null)
		h.authorization = `Bearer ${token}`;
	if (body !== undefined)
		h['content-type'] = 'application/json';
	const r = await request({ port: srv.port, method, path, headers: h,
		body: body === undefined ? undefined : JSON.stringify(body) });
	if (typeof r.json?.token === 'string')
		secrets.add(r.json.token);
	return r;
}
const whoami = (srv, token) => call(srv, token, 'GET', '/api/v1/whoami');

function assertRateHeaders(r, limit, remaining) {
	assert.equal(r.headers['x-ratelimit-limit'], String(limit), `X-RateLimit-Limit on ${r.status}`);
	assert.equal(r.headers['x-ratelimit-remaining'], String(remaining), `X-RateLimit-Remaining on ${r.status}`);
	const reset = Number(r.headers['x-ratelimit-reset']);
	const nowS = Date.now() / 1000;
	assert.ok(reset > nowS && reset <= nowS + 61 && reset % 60 === 0, `X-RateLimit-Reset ${reset}`);
}

/** Limits use wall-clock minute windows: start a burst well inside one. */
async function freshWindow() {
	const s = new Date().getSeconds();
	if (s > 45)
		await sleep((61 - s) * 1000);
}

function stats(xs) {
	const s = [...xs].sort((p, q) => p - q);
	const pick = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
	return `n=${s.length} median=${pick(0.5).toFixed(2)} ms p90=${pick(0.9).toFixed(2)} ms max=${s.at(-1).toFixed(2)} ms`;
}

before(async () => {
	cluster = await startCluster();
	limited = await startCupd({ cluster, env: { CUPD_RATE_API_TOKEN_PER_MIN: '5', CUPD_RATE_IP_PER_MIN: '3' } });
	const env = { CUPD_RATE_IP_PER_MIN: '100000', CUPD_USAGE_FLUSH_MS: '200' };
	[a, b] = await Promise.all([startCupd({ cluster, env }), startCupd({ cluster, env })]);
	await cli(['org', 'add', '--slug', 'acme', '--name', 'Acme']);
	await cli(['user', 'add', '--email', 'ada@acme.test', '--org', 'acme', '--role', 'admin'], PASSWORD);
});
after(cleanup);

describe('rate limits', () => {
	test('X-RateLimit-* on every authenticated answer; 429 + Retry-After past 5/min per token', async () => {
		const tok = await mint();
		const other = await mint();
		await freshWindow();
		let r = await whoami(limited, tok);
		assert.equal(r.status, 200);
		assertRateHeaders(r, 5, 4);
		r = await call(limited, tok, 'POST', '/api/v1/api-tokens', { name: 'limited', scope: 'read' });
		assert.equal(r.status, 201, r.body);
		assertRateHeaders(r, 5, 3);
		r = await call(limited, tok, 'POST', '/api/v1/api-tokens', { name: 'limited', scope: 'nope' });
		assert.equal(r.status, 400);
		assertRateHeaders(r, 5, 2);
		r = await call(limited, tok, 'GET', `/api/v1/api-tokens/${randomUUID()}`);
		assert.equal(r.status, 404);
		assertRateHeaders(r, 5, 1);
		r = await call(limited, tok, 'GET', '/api/v1/api-tokens');
		assert.equal(r.status, 200);
		assertRateHeaders(r, 5, 0);
		assert.equal(r.headers['retry-after'], undefined, 'no Retry-After while allowed');
		r = await whoami(limited, tok);
		assert.equal(r.status, 429, r.body);
		assert.equal(r.json.error, 'rate_limited');
		assertRateHeaders(r, 5, 0);
		const retry = Number(r.headers['retry-after']);
		assert.ok(retry >= 1 && retry <= 60, `Retry-After ${r.headers['retry-after']}`);
		assert.equal((await whoami(limited, tok)).status, 429);
		// The limit is per token: another token of the same user is unaffected.
		r = await whoami(limited, other);
		assert.equal(r.status, 200);
		assertRateHeaders(r, 5, 4);
	});

	test('failed authentication is limited per client IP (3/min), valid tokens are not', async () => {
		const ok = await mint();
		await freshWindow();
		for (const t of [lookAlike('cup_api_'), 'cup_api_mistyped', 'garbage']) {
			const r = await whoami(limited, t);
			assert.equal(r.status, 401, r.body);
			assert.match(r.headers['www-authenticate'] ?? '', /^Bearer realm="cupd", error="invalid_token"/);
		}
		for (const t of [lookAlike('cup_api_'), 'garbage', flipLast(ok)]) {
			const r = await whoami(limited, t);
			assert.equal(r.status, 429, `${t}: ${r.body}`);
			const retry = Number(r.headers['retry-after']);
			assert.ok(retry >= 1 && retry <= 60);
			assert.equal(r.headers['x-ratelimit-limit'], '3');
			assert.equal(r.headers['x-ratelimit-remaining'], '0');
		}
		// A request without any credential is not a failed attempt (every
		// client starts that way): still a plain 401 challenge.
		const none = await whoami(limited, undefined);
		assert.equal(none.status, 401);
		assert.equal(none.headers['www-authenticate'], 'Bearer realm="cupd"');
		assert.equal((await whoami(limited, ok)).status, 200);
	});

	test('the leak-report endpoint is limited per IP with the same headers', async () => {
		await freshWindow();
		for (let i = 0; i < 3; i++) {
			const r = await call(limited, null, 'POST', '/api/v1/credentials/report-leak', { tokens: ['x'] });
			assert.equal(r.status, 202, r.body);
			assertRateHeaders(r, 3, 2 - i);
		}
		const r = await call(limited, null, 'POST', '/api/v1/credentials/report-leak', { tokens: ['x'] });
		assert.equal(r.status, 429);
		assert.ok(Number(r.headers['retry-after']) >= 1);
		assertRateHeaders(r, 3, 0);
	});
});

describe('two instances, one database', () => {
	test('revoke and disable through A: the very next request to B gets 401', async (t) => {
		const admin = await mint();
		const ROUNDS = 25;
		const revokeMs = [], disableMs = [];
		let raced = 0, disableRaced = 0;
		for (let i = 0; i < ROUNDS; i++) {
			const created = await call(a, admin, 'POST', '/api/v1/api-tokens', { name: `two ${i}`, scope: 'read' });
			assert.equal(created.status, 201, created.body);
			const { id, token } = created.json;
			assert.equal((await whoami(b, token)).status, 200, 'B has it cached');

			// Disable through A → B refuses; enable through A → B accepts.
			let r = await call(a, admin, 'POST', `/api/v1/api-tokens/${id}/disable`);
			assert.equal(r.status, 200, r.body);
			let t0 = now();
			r = await whoami(b, token);
			if (r.status !== 401) {
				disableRaced++;
				while (r.status !== 401 && now() - t0 < 1000)
					r = await whoami(b, token);
			}
			assert.equal(r.status, 401, `disabled token still works on B after ${now() - t0} ms`);
			assert.match(r.json.error_description, /disabled/);
			disableMs.push(now() - t0);
			assert.equal((await call(a, admin, 'POST', `/api/v1/api-tokens/${id}/enable`)).status, 200);
			await waitFor(async () => (await whoami(b, token)).status === 200, { timeoutMs: 1000, intervalMs: 2,
				what: 'enabled on B' });

			// Revoke through A → B refuses from its very next request on.
			r = await call(a, admin, 'DELETE', `/api/v1/api-tokens/${id}`);
			assert.equal(r.status, 200, r.body);
			t0 = now();
			r = await whoami(b, token);
			if (r.status !== 401) {
				raced++;
				while (r.status !== 401 && now() - t0 < 1000)
					r = await whoami(b, token);
			}
			// B hears of A's commit only through the NOTIFY. A answers only
			// after every live instance confirmed a barrier NOTIFY committed
			// after the revocation (app_notify_barrier), so B has applied it:
			// the very next request must be refused (asserted below).
			assert.equal(r.status, 401, `revoked token still works on B after ${now() - t0} ms`);
			revokeMs.push(now() - t0);
			assert.equal((await whoami(a, token)).status, 401, 'and on A');
		}
		t.diagnostic(`revoke on A → 401 on B (time from A's answer to B's 401): ${stats(revokeMs)}; ` +
			`first request to B raced the NOTIFY in ${raced} of ${ROUNDS} rounds`);
		t.diagnostic(`disable on A → 401 on B: ${stats(disableMs)}; raced in ${disableRaced} of ${ROUNDS} rounds`);
		assert.equal(raced, 0, 'DESIGN §5: revocation holds on B from its very next request');
		assert.equal(disableRaced, 0, 'disabling holds on B from its very next request');
	});

	test('a change written by a third party (psql) holds on both instances', async (t) => {
		const admin = await mint();
		const tok = (await call(a, admin, 'POST', '/api/v1/api-tokens', { name: 'psql', scope: 'read' })).json;
		assert.equal((await whoami(a, tok.token)).status, 200);
		assert.equal((await whoami(b, tok.token)).status, 200);
		await psql(cluster.url, `UPDATE api_tokens SET revoked_at = now(), revoked_reason = 'revoked' WHERE id = '${tok.id}'`);
		const t0 = now();
		let tries = 0;
		for (const srv of [a, b])
			await waitFor(async () => { tries++; return (await whoami(srv, tok.token)).status === 401; },
				{ timeoutMs: 1000, intervalMs: 2, what: '401 after psql revoke' });
		t.diagnostic(`psql revoke → 401 on both instances after ${(now() - t0).toFixed(1)} ms (${tries - 2} extra tries)`);
	});

	test('rotation through A: B serves the old token in its grace window, both count its uses', async () => {
		const admin = await mint();
		const old = (await call(a, admin, 'POST', '/api/v1/api-tokens', { name: 'rotate across', scope: 'read' })).json;
		assert.equal((await whoami(b, old.token)).json.token.in_rotation_grace, false);
		const neu = (await call(a, admin, 'POST', `/api/v1/api-tokens/${old.id}/rotate`)).json;
		let uses = 0;
		await waitFor(async () => {
			const w = await whoami(b, old.token);
			if (w.json?.token?.in_rotation_grace)
				uses++;
			return w.json?.token?.in_rotation_grace;
		}, { timeoutMs: 1000, intervalMs: 2, what: 'B sees the grace window' });
		for (const srv of [a, b, a]) {
			const w = await whoami(srv, old.token);
			assert.equal(w.json.token.in_rotation_grace, true);
			uses++;
		}
		assert.equal((await whoami(b, neu.token)).status, 200);
		await waitFor(async () => {
			const x = (await call(a, admin, 'GET', `/api/v1/api-tokens/${old.id}`)).json;
			return x.grace_use_count === uses;
		}, { timeoutMs: 3000, what: `grace_use_count ${uses} summed over both instances` });
	});
});

describe('database down', () => {
	test('malformed or mistyped tokens get 401 without the database; a cached valid one still works', async () => {
		const warm = await mint();
		assert.equal((await whoami(a, warm)).status, 200);
		await cluster.stop();
		try {
			await waitFor(async () => (await request({ port: a.port, path: '/readyz' })).status === 503,
				{ timeoutMs: 10000, what: '/readyz 503 with the cluster stopped' });
			const cases = [
				[flipLast(warm), 401, /malformed or mistyped/],
				[warm.slice(0, 45), 401, /malformed or mistyped/],
				[`${warm}A`, 401, /malformed or mistyped/],
				['cup_api_', 401, /malformed/],
				['ghp_abcdefghijklmnopqrstuvwxyz0123456789', 401, /malformed/],
				[undefined, 401, /Send an API Token/],
				['eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl', 403, /API Token/],
				[lookAlike('cup_sdk_'), 403, /API Token/],
			];
			for (const [tok, status, re] of cases) {
				const r = await whoami(a, tok);
				assert.equal(r.status, status, `${tok}: ${r.body}`);
				assert.match(r.json.error_description, re);
			}
			// Contrast: a well-formed unknown token needs the database.
			const unknown = await whoami(a, lookAlike('cup_api_'));
			assert.equal(unknown.status, 503, unknown.body);
			assert.ok(unknown.headers['retry-after']);
			// The cached valid token needs no round trip at all.
			assert.equal((await whoami(a, warm)).status, 200);
			// Leak reports: garbage costs no database work either.
			let r = await call(a, null, 'POST', '/api/v1/credentials/report-leak',
				{ tokens: ['junk', flipLast(warm), 'cup_sdk_nope'] });
			assert.equal(r.status, 202, r.body);
			r = await call(a, null, 'POST', '/api/v1/credentials/report-leak', { tokens: [lookAlike('cup_api_')] });
			assert.equal(r.status, 503, r.body);
		} finally {
			await cluster.start();
		}
		await waitFor(async () => (await request({ port: a.port, path: '/readyz' })).status === 200,
			{ timeoutMs: 15000, what: '/readyz 200 again' });
		await waitFor(async () => (await whoami(a, warm)).status === 200, { timeoutMs: 5000, what: 'token after restart' });
	});

	test('no token minted here appears in any instance\'s output', async () => {
		for (const srv of [limited, a, b]) {
			const logs = srv.stdout() + srv.stderr();
			for (const s of secrets)
				assert.ok(!logs.includes(s.slice(12)), `${s.slice(0, 12)}… is in cupd's output`);
		}
	});

	test('cupd exits 0 on SIGTERM with no sanitizer report', async () => {
		for (const s of [limited, a, b]) {
			const r = await s.stop('SIGTERM');
			assert.doesNotMatch(s.stderr(), /Sanitizer|runtime error:/, `sanitizer report:\n${s.stderr().slice(-4000)}`);
			assert.equal(r.code, 0, `cupd exit ${r.code} ${r.signal}:\n${s.stderr().slice(-2000)}`);
		}
	});
});
