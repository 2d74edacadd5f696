// Issue 2, "Router with path parameters and method matching (405 with Allow
// for a known path and wrong method, 404 JSON otherwise) ... one error shape
// for APIs" and "Tests must include ... unknown route/method".
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup, rawRequest, request, startCluster, startCupd } from './lib/harness.mjs';

let cluster, srv;

before(async () => {
	cluster = await startCluster();
	srv = await startCupd({ cluster, workers: 2 });
});
after(cleanup);

function assertErrorShape(r, error) {
	assert.match(r.headers['content-type'] ?? '', /^application\/json/, 'JSON content type');
	assert.ok(r.json, `body is JSON: ${r.body}`);
	assert.deepEqual(Object.keys(r.json).sort(), ['error', 'error_description']);
	assert.equal(r.json.error, error);
	assert.equal(typeof r.json.error_description, 'string');
	assert.ok(r.json.error_description.length > 0, 'error_description is not empty');
}

async function assertStillServes() {
	const r = await request({ port: srv.port, path: '/healthz' });
	assert.equal(r.status, 200, 'server still answers /healthz');
	assert.equal(srv.exitInfo(), null, `cupd is still running; stderr:\n${srv.stderr()}`);
}

describe('unknown routes', () => {
	test('issue 2 "404 JSON otherwise": unknown paths get 404 {error, error_description}', async () => {
		for (const p of ['/nope', '/api/v1/nothing-here', '/healthz/extra', '/healthzz', '/HEALTHZ',
			'//healthz', '/healthz/', '/', '/%68ealthz']) {
			for (const method of ['GET', 'POST']) {
				const r = await request({ port: srv.port, method, path: p });
				assert.equal(r.status, 404, `${method} ${p}`);
				assertErrorShape(r, 'not_found');
				assert.equal(r.headers.allow, undefined, `${method} ${p}: no Allow on 404`);
			}
		}
	});

	test('issue 2: a debug route does not exist unless CUPD_DEBUG_ROUTES=on', async () => {
		const r = await request({ port: srv.port, path: '/debug/sleep?seconds=0' });
		assert.equal(r.status, 404);
		assertErrorShape(r, 'not_found');
	});
});

describe('wrong methods', () => {
	test('issue 2 "405 with Allow for a known path and wrong method"', async () => {
		const cases = [['POST', '/healthz'], ['DELETE', '/readyz'], ['PUT', '/metrics'],
			['PATCH', '/healthz'], ['OPTIONS', '/readyz']];
		for (const [method, p] of cases) {
			const r = await request({ port: srv.port, method, path: p, body: method === 'GET' ? undefined : '' });
			assert.equal(r.status, 405, `${method} ${p}`);
			assert.equal(r.headers.allow, 'GET, HEAD', `${method} ${p}: Allow`);
			assertErrorShape(r, 'method_not_allowed');
			assert.match(r.json.error_description, new RegExp(method), 'the description names the method');
		}
	});

	test('issue 2: a method evhttp does not know gets 501 (not allowed into the router)', async () => {
		// evhttp_set_allowed_methods answers unknown methods itself (STACK.md §2).
		const r = await rawRequest({ port: srv.port, data: 'BREW /healthz HTTP/1.1\r\nHost: t\r\n\r\n' });
		assert.equal(r.status, 501, r.text);
		await assertStillServes();
	});
});

describe('malformed requests', () => {
	test('issue 2: malformed request lines get 4xx and the server keeps serving', async () => {
		const bad = [
			'GARBAGE\r\n\r\n',
			'GET\r\n\r\n',
			'GET /healthz HTTP/9.9\r\nHost: t\r\n\r\n',
			'GET /healthz HTTP/1.1 extra\r\nHost: t\r\n\r\n',
			'GET /healthz HTTP/1.1\r\nNo colon header\r\n\r\n',
			'\x00\x01\x02\x03\r\n\r\n',
			'GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\n',
			'GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n',
		];
		for (const data of bad) {
			const r = await rawRequest({ port: srv.port, data, timeoutMs: 3000 });
			const what = JSON.stringify(data);
			// evhttp answers each with its own 400 page and closes; never a hang, 2xx or 5xx.
			assert.equal(r.status, 400, `${what}: got ${JSON.stringify(r.text.slice(0, 80))}`);
			assert.ok(r.closed, `${what}: connection closed`);
		}
		await assertStillServes();
	});

	test('issue 2: a request target that is not an absolute path gets the 404 JSON', async () => {
		for (const target of ['healthz', '*']) {
			const r = await rawRequest({ port: srv.port, data: `GET ${target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n` });
			assert.equal(r.status, 404, `${target}: ${r.text}`);
			assert.equal(JSON.parse(r.body).error, 'not_found');
		}
		await assertStillServes();
	});

	test('issue 2: a client that disconnects half-way does not hurt the server', async () => {
		const partial = ['GET /healthz HTTP/1.1\r\nHost:', 'POST /healthz HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc', 'G'];
		for (const data of partial)
			await rawRequest({ port: srv.port, data, timeoutMs: 200, endAfterWrite: true });
		await assertStillServes();
	});
});
