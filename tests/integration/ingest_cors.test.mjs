// Issue 3, "Browser use: CORS (including OPTIONS preflight) that echoes only
// allowed origins; with an allowlist set, a request from another Origin → 403."
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { cleanup, psql, request, runCli, startCluster, startCupd } from './lib/harness.mjs';

let cluster, srv, listed, open;
const APP = 'https://app.example';

async function cli(args) {
	const r = await runCli(args, { env: { DATABASE_URL: cluster.url } });
	assert.equal(r.code, 0, `cupd ${args.join(' ')} failed: ${r.stderr}`);
	return r.stdout.trim();
}

function post(token, origin, operation) {
	const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
	if (origin)
		headers.origin = origin;
	return request({
		port: srv.port, method: 'POST', path: '/v1/events', headers,
		body: JSON.stringify({ events: [{ service: 'stripe', operation, outcome: 'ok' }] }),
	});
}

const stored = async (operation) =>
	Number(await psql(cluster.url, `SELECT count(*) FROM events WHERE operation = '${operation}'`));

before(async () => {
	cluster = await startCluster();
	await cli(['migrate']);
	const dir = await mkdtemp(path.join(os.tmpdir(), 'cupd-cors-'));
	await cli(['seed-demo', '--password-file', path.join(dir, 'demo-password')]);
	listed = await cli(['sdk-key', 'create', '--org', 'demo', '--project', 'web-app', '--origin', APP,
		'--origin', 'http://localhost:3000']);
	open = await cli(['sdk-key', 'create', '--org', 'demo', '--project', 'web-app']);
	srv = await startCupd({ cluster, env: { CUPD_ACCESS_LOG: 'off' } });
});
after(cleanup);

describe('preflight', () => {
	test('issue 3 "OPTIONS preflight": 204 with the CORS headers, no credential needed', async () => {
		const r = await request({
			port: srv.port, method: 'OPTIONS', path: '/v1/events',
			headers: {
				origin: APP, 'access-control-request-method': 'POST',
				'access-control-request-headers': 'authorization, content-type',
			},
		});
		assert.equal(r.status, 204, r.body);
		assert.equal(r.headers['access-control-allow-origin'], APP);
		assert.equal(r.headers['access-control-allow-methods'], 'POST, OPTIONS');
		assert.equal(r.headers['access-control-allow-headers'], 'Authorization, Content-Type');
		assert.equal(r.headers['access-control-max-age'], '600');
		assert.match(r.headers.vary, /Origin/);
		assert.equal(r.headers['access-control-allow-credentials'], undefined);
		assert.equal(r.body, '');
	});

	test('the preflight echoes any Origin (it carries no key to check); never "*"', async () => {
		const r = await request({ port: srv.port, method: 'OPTIONS', path: '/v1/events',
			headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' } });
		assert.equal(r.status, 204);
		assert.equal(r.headers['access-control-allow-origin'], 'https://elsewhere.example');
	});

	test('a preflight without Origin gets no Allow-Origin', async () => {
		const r = await request({ port: srv.port, method: 'OPTIONS', path: '/v1/events' });
		assert.equal(r.status, 204);
		assert.equal(r.headers['access-control-allow-origin'], undefined);
		assert.equal(r.headers['access-control-allow-methods'], 'POST, OPTIONS');
	});

	test('other methods on /v1/events are 405 with Allow', async () => {
		const r = await request({ port: srv.port, method: 'GET', path: '/v1/events' });
		assert.equal(r.status, 405);
		assert.match(r.headers.allow, /POST/);
		assert.match(r.headers.allow, /OPTIONS/);
	});
});

describe('requests from browsers', () => {
	test('issue 3 "echoes only allowed origins": an allowed Origin is echoed with Vary: Origin', async () => {
		for (const origin of [APP, 'http://localhost:3000']) {
			const r = await post(listed, origin, `cors.allowed.${origin}`);
			assert.equal(r.status, 202, r.body);
			assert.equal(r.headers['access-control-allow-origin'], origin);
			assert.match(r.headers.vary, /Origin/);
			assert.notEqual(r.headers['access-control-allow-origin'], '*');
			assert.match(r.headers['access-control-expose-headers'], /X-RateLimit-Remaining/);
			assert.equal(await stored(`cors.allowed.${origin}`), 1);
		}
	});

	test('issue 3 "with an allowlist set, a request from another Origin → 403"', async () => {
		for (const origin of ['https://evil.example', 'https://app.example:8443', 'http://app.example',
			'https://app.example.evil.example', 'null']) {
			const r = await post(listed, origin, 'cors.refused');
			assert.equal(r.status, 403, `${origin}: ${r.body}`);
			assert.equal(r.json.error, 'origin_not_allowed');
			assert.notEqual(r.headers['access-control-allow-origin'], origin);
		}
		assert.equal(await stored('cors.refused'), 0);
	});

	test('refusals of the key itself (401) are readable by the page: the Origin is echoed', async () => {
		const r = await post('cup_sdk_' + 'A'.repeat(38), APP, 'cors.badkey');
		assert.equal(r.status, 401, r.body);
		assert.equal(r.headers['access-control-allow-origin'], APP);
		assert.match(r.headers['access-control-expose-headers'], /Retry-After/);
		assert.match(r.headers.vary, /Origin/);
	});

	test('no Origin (a server-side SDK) is allowed with an allowlisted key, and nothing is echoed', async () => {
		const r = await post(listed, null, 'cors.server.side');
		assert.equal(r.status, 202, r.body);
		assert.equal(r.headers['access-control-allow-origin'], undefined);
		assert.match(r.headers.vary, /Origin/);
		assert.equal(await stored('cors.server.side'), 1);
	});

	test('a key without an allowlist takes any Origin and echoes it', async () => {
		const r = await post(open, 'https://anything.example', 'cors.open');
		assert.equal(r.status, 202, r.body);
		assert.equal(r.headers['access-control-allow-origin'], 'https://anything.example');
		assert.equal(await stored('cors.open'), 1);
	});

	test('an allowlist change applies at once (NOTIFY)', async () => {
		assert.equal((await post(open, 'https://late.example', 'cors.late.before')).status, 202);
		await psql(cluster.url, `UPDATE sdk_keys SET allowed_origins = '{${APP}}' WHERE allowed_origins = '{}'`);
		let r;
		for (let i = 0; i < 40; i++) {
			r = await post(open, 'https://late.example', 'cors.late.after');
			if (r.status === 403)
				break;
			await new Promise((res) => setTimeout(res, 50));
		}
		assert.equal(r.status, 403, r.body);
	});
});
