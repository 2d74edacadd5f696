// mcp_transport.test.mjs: the Streamable HTTP transport at /mcp over real
// HTTP against a real PostgreSQL: methods, paths, authentication challenges,
// media types, JSON-RPC framing, batches, sessions, version header, the
// modern-probe fallback, Origin/Host checks, CORS and limits.
// REQUIREMENTS A1-A6, A8-A10, A13-A15, A25-A28, A30-A37, A40-A42, A53,
// A54, B6-B8, E1, E12, E15, E16, E21; MODERN-2026 L1.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { rawRequest, request } from './lib/harness.mjs';
import {
	LATEST, McpClient, VERSIONS, assertResponseShape, mcpHeaders, mcpPost, parseSse, startMcpFixture,
} from './mcp_fixture.mjs';

const ALLOWED_ORIGIN = 'http://localhost:6274';
let f, port, base;

before(async () => {
	f = await startMcpFixture({ env: { CUPD_MCP_ALLOWED_ORIGINS: `${ALLOWED_ORIGIN}, https://inspector.example` } });
	port = f.srv.port;
	base = f.srv.base;
});
after(async () => { await f?.finish(); });

const init = (version = LATEST, id = 1) => ({
	jsonrpc: '2.0', id, method: 'initialize',
	params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'it', version: '1' } },
});

async function session(token = f.read) {
	const c = new McpClient(port, token);
	await c.initialize();
	return c;
}

const challenge = () => `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp", scope="read write"`;

describe('endpoint and methods (A1-A3, E1)', () => {
	test('A1: POST, GET, DELETE and OPTIONS are served at /mcp', async () => {
		const c = await session();
		const g = await request({ port, method: 'GET', path: '/mcp',
			headers: { authorization: `Bearer ${f.read}`, accept: 'text/event-stream', 'mcp-session-id': c.session } });
		// A22: no server-initiated messages, so no GET stream: 405 (the SDK treats it as "no stream").
		assert.equal(g.status, 405, g.body);
		assert.equal(g.headers.allow, 'GET, POST, DELETE, OPTIONS');
		const o = await request({ port, method: 'OPTIONS', path: '/mcp' });
		assert.equal(o.status, 204);
		assert.equal(o.headers.allow, 'GET, POST, DELETE, OPTIONS');
		const d = await request({ port, method: 'DELETE', path: '/mcp',
			headers: { authorization: `Bearer ${f.read}`, 'mcp-session-id': c.session } });
		assert.equal(d.status, 204, d.body);
	});

	test('A2/E1: /mcp/ is served like /mcp, never redirected', async () => {
		const r = await mcpPost(port, f.read, init(), { path: '/mcp/' });
		assert.equal(r.status, 200, r.body);
		assert.equal(r.headers.location, undefined);
		assert.equal(r.json.result.protocolVersion, LATEST);
		const sid = r.headers['mcp-session-id'];
		const p = await mcpPost(port, f.read, { jsonrpc: '2.0', id: 2, method: 'ping' },
			{ path: '/mcp/', headers: { 'mcp-session-id': sid } });
		assert.equal(p.status, 200, p.body);
		assert.deepEqual(p.json.result, {});
		for (const method of ['GET', 'DELETE', 'OPTIONS', 'PUT']) {
			const a = await request({ port, method, path: '/mcp', headers: { authorization: `Bearer ${f.read}` } });
			const b = await request({ port, method, path: '/mcp/', headers: { authorization: `Bearer ${f.read}` } });
			assert.equal(b.status, a.status, `${method} /mcp/ vs /mcp`);
			assert.ok(b.status < 300 || b.status >= 400, `${method} /mcp/ is not a redirect`);
		}
	});

	const head = (token) => rawRequest({ port, data: `HEAD /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`
		+ `${token ? `Authorization: Bearer ${token}\r\n` : ''}Connection: close\r\n\r\n` });

	test('A3: PUT and PATCH get 405 with Allow; HEAD gets the GET status', async () => {
		for (const method of ['PUT', 'PATCH']) {
			const r = await request({ port, method, path: '/mcp', headers: mcpHeaders(f.read), body: '{}' });
			assert.equal(r.status, 405, `${method}: ${r.body}`);
			assert.equal(r.headers.allow, 'GET, POST, DELETE, OPTIONS');
		}
		for (const token of [f.read, null]) {
			const h = token ? { authorization: `Bearer ${token}` } : {};
			const g = await request({ port, method: 'GET', path: '/mcp', headers: h });
			assert.equal((await head(token)).status, g.status, `HEAD ${token ? 'with' : 'without'} a token`);
		}
	});

	// server/http.c writes the body of every answer to HEAD too (also /healthz,
	// /api/v1/whoami): a core HTTP bug, reported; this turns green once fixed.
	test('A3: HEAD answers carry no body', async () => {
		assert.equal((await head(f.read)).body, '');
	});
});

describe('authentication (A4, B6-B8, E21)', () => {
	test('A4/B6/B7: unauthenticated initialize → 401 with the exact challenge, no error="invalid_token"', async () => {
		const r = await mcpPost(port, null, init());
		assert.equal(r.status, 401, r.body);
		assert.equal(r.headers['www-authenticate'], challenge());
		assert.equal(r.headers['mcp-session-id'], undefined, 'no session before authentication');
		for (const method of ['GET', 'DELETE']) {
			const g = await request({ port, method, path: '/mcp', headers: { 'mcp-session-id': 'x'.repeat(43) } });
			assert.equal(g.status, 401, `${method}: checked before the session (A4)`);
			assert.equal(g.headers['www-authenticate'], challenge());
		}
	});

	test('A4/B6: a bad token adds error="invalid_token"; a revoked API Token → 401', async () => {
		const bad = await mcpPost(port, `cup_api_${'notarealtoken'.padEnd(38, '0')}`, init());
		assert.equal(bad.status, 401, bad.body);
		const h = bad.headers['www-authenticate'];
		assert.ok(h.startsWith(`${challenge()}, error="invalid_token"`), h);
		assert.ok(!Array.isArray(h), 'one WWW-Authenticate header (B8)');
		const jwtish = await mcpPost(port, 'eyJhbGciOiJFUzI1NiJ9.eyJ4IjoxfQ.c2ln', init());
		assert.equal(jwtish.status, 401, jwtish.body);
		assert.match(jwtish.headers['www-authenticate'], /error="invalid_token"/);

		const created = await f.api(f.admin, 'POST', '/api/v1/api-tokens', { name: 'to revoke', scope: 'read' });
		assert.equal(created.status, 201, created.body);
		const c = new McpClient(port, created.json.token);
		await c.initialize();
		assert.equal((await f.api(f.admin, 'DELETE', `/api/v1/api-tokens/${created.json.id}`)).status, 200);
		const r = await c.post({ jsonrpc: '2.0', id: 9, method: 'ping' });
		assert.equal(r.status, 401, r.body);
		assert.ok(r.headers['www-authenticate'].startsWith(`${challenge()}, error="invalid_token"`));
		const again = await mcpPost(port, created.json.token, init());
		assert.equal(again.status, 401, 'a revoked token cannot initialize either');
	});

	test('A4: an SDK Key → 403 wrong_credential_type with a helpful message', async () => {
		const k = await f.api(f.admin, 'POST', '/api/v1/sdk-keys', { project: 'web-app', name: 'mcp test key' });
		assert.equal(k.status, 201, k.body);
		const r = await mcpPost(port, k.json.key, init());
		assert.equal(r.status, 403, r.body);
		assert.equal(r.json.error, 'wrong_credential_type');
		assert.match(r.json.error_description, /API Token/);
	});
});

describe('media types (A5, A6, A11, E12)', () => {
	test('A5: Content-Type must be application/json (charset ignored), else 415', async () => {
		const c = await session();
		for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
			const r = await c.post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { headers: { 'content-type': ct } });
			assert.equal(r.status, 415, `${ct}: ${r.body}`);
		}
		const r = await c.post({ jsonrpc: '2.0', id: 1, method: 'ping' },
			{ headers: { 'content-type': 'Application/JSON; charset=utf-8' } });
		assert.equal(r.status, 200, r.body);
	});

	test('A6/A11: lenient Accept: SSE only → one event; JSON only, absent or */* → JSON; text/html → 406', async () => {
		const c = await session();
		const sse = await c.post({ jsonrpc: '2.0', id: 'sse', method: 'ping' }, { headers: { accept: 'text/event-stream' } });
		assert.equal(sse.status, 200, sse.body);
		assert.match(sse.headers['content-type'], /^text\/event-stream/);
		const lines = sse.body.split('\n');
		assert.equal(lines.filter((l) => l === 'event: message').length, 1, sse.body);
		assert.equal(lines.filter((l) => l.startsWith('data: ')).length, 1, sse.body);
		const events = parseSse(sse.body);
		assert.equal(events.length, 1);
		assertResponseShape(JSON.parse(events[0].data), 'sse');
		for (const accept of ['application/json', undefined, '*/*', 'application/json, text/event-stream']) {
			const r = await c.post({ jsonrpc: '2.0', id: 2, method: 'ping' }, { headers: { accept } });
			assert.equal(r.status, 200, `${accept}: ${r.body}`);
			assert.equal(r.headers['content-type'], 'application/json');
			assert.deepEqual(r.json, { jsonrpc: '2.0', id: 2, result: {} });
		}
		const html = await c.post({ jsonrpc: '2.0', id: 3, method: 'ping' }, { headers: { accept: 'text/html' } });
		assert.equal(html.status, 406, html.body);
	});
});

describe('JSON-RPC framing (A8-A10, A13-A15, A41, A42)', () => {
	test('A8/A9: a batch of requests and notifications → an array of responses in request order', async () => {
		const c = await session();
		const r = await c.post([
			{ jsonrpc: '2.0', id: 1, method: 'ping' },
			{ jsonrpc: '2.0', method: 'notifications/initialized' },
			{ jsonrpc: '2.0', id: 'two', method: 'tools/list' },
			{ jsonrpc: '2.0', id: 3, method: 'no/such/method' },
			{ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'whoami' } },
		]);
		assert.equal(r.status, 200, r.body);
		assert.ok(Array.isArray(r.json));
		assert.deepEqual(r.json.map((m) => m.id), [1, 'two', 3, 4]);
		r.json.forEach((m, i) => assertResponseShape(m, [1, 'two', 3, 4][i]));
		assert.deepEqual(r.json[0].result, {});
		assert.ok(Array.isArray(r.json[1].result.tools));
		assert.equal(r.json[2].error.code, -32601);
		assert.equal(r.json[3].result.structuredContent.org.slug, 'demo');
		// A single request is never answered with an array (A9).
		const one = await c.post({ jsonrpc: '2.0', id: 5, method: 'ping' });
		assert.ok(!Array.isArray(one.json));
	});

	test('A8/A37: initialize inside a batch → 400 -32600; an empty batch and > 100 messages → 400', async () => {
		const c = await session();
		const r = await mcpPost(port, f.read, [init(), { jsonrpc: '2.0', id: 2, method: 'ping' }]);
		assert.equal(r.status, 400, r.body);
		assert.equal(r.json.error.code, -32600);
		assert.equal(r.headers['mcp-session-id'], undefined, 'no session was made');
		const empty = await c.post([]);
		assert.equal(empty.status, 400, empty.body);
		assert.equal(empty.json.error.code, -32600);
		const big = await c.post(Array.from({ length: 101 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' })));
		assert.equal(big.status, 400, big.body);
		assert.equal(big.json.error.code, -32600);
		const max = await c.post(Array.from({ length: 100 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' })));
		assert.equal(max.status, 200, '100 messages are fine');
		assert.equal(max.json.length, 100);
	});

	test('A10/A42: notifications or responses only → 202 with an empty body', async () => {
		const c = await session();
		for (const body of [
			{ jsonrpc: '2.0', method: 'notifications/initialized' },
			{ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7, reason: 'x' } },
			[{ jsonrpc: '2.0', method: 'notifications/initialized' }, { jsonrpc: '2.0', method: 'notifications/x' }],
			{ jsonrpc: '2.0', id: 99, result: {} },
			{ jsonrpc: '2.0', id: 98, error: { code: -1, message: 'no' } },
		]) {
			const r = await c.post(body);
			assert.equal(r.status, 202, `${JSON.stringify(body)}: ${r.body}`);
			assert.equal(r.body, '');
		}
	});

	test('A13/A15: ids keep their JSON type and value, also beyond 2^53; never "id": null in a 200', async () => {
		const c = await session();
		for (const id of ['abc', '', '42', 0, -7, 2147483648]) {
			const r = await c.post({ jsonrpc: '2.0', id, method: 'ping' });
			assert.equal(r.status, 200, r.body);
			assertResponseShape(r.json, id);
		}
		for (const big of ['9007199254740993', '-9007199254740993', '9223372036854775807']) {
			const r = await c.post(`{"jsonrpc":"2.0","id":${big},"method":"ping"}`);
			assert.equal(r.status, 200, r.body);
			assert.ok(r.body.includes(`"id":${big}`), `id ${big} echoed exactly: ${r.body}`);
		}
		for (const body of ['{"jsonrpc":"2.0","id":1.5,"method":"ping"}', '{"jsonrpc":"2.0","id":null,"method":"ping"}',
			'{"jsonrpc":"2.0","id":{},"method":"ping"}', '{"jsonrpc":"1.0","id":1,"method":"ping"}',
			'{"id":1,"method":"ping"}', '{"jsonrpc":"2.0","id":1,"method":5}']) {
			const r = await c.post(body);
			assert.ok(r.status === 200 || r.status === 400, `${body}: ${r.status}`);
			assert.ok(!/"id":null/.test(r.body), `${body}: ${r.body}`);
			const m = Array.isArray(r.json) ? r.json[0] : r.json;
			assert.equal(m.error.code, -32600, `${body}: ${r.body}`);
		}
		const parse = await c.post('{"jsonrpc":"2.0",');
		assert.equal(parse.status, 400);
		assert.equal(parse.json.error.code, -32700);
	});

	test('A14/A41: ping → {}; unknown methods → -32601 inside a 200', async () => {
		const c = await session();
		assert.deepEqual(await c.result('ping'), {});
		for (const method of ['no/such', 'completion/complete', 'resources/subscribe', 'logging/setLevel',
			'sampling/createMessage', 'tasks/list']) {
			const m = await c.rpc(method, {});
			assert.equal(m.error.code, -32601, method);
		}
	});
});

describe('lifecycle and sessions (A25-A27, A30-A33, A40)', () => {
	test('A40: each supported version is echoed; an unknown one negotiates 2025-11-25', async () => {
		for (const v of VERSIONS) {
			const r = await mcpPost(port, f.read, init(v));
			assert.equal(r.status, 200, r.body);
			assert.equal(r.json.result.protocolVersion, v);
			assert.equal(r.headers['mcp-protocol-version'], v);
		}
		for (const v of ['1999-01-01', '2026-07-28', 'x', undefined]) {
			const body = init(v);
			if (v === undefined)
				delete body.params.protocolVersion;
			const r = await mcpPost(port, f.read, body);
			assert.equal(r.status, 200, `${v}: ${r.body}`);
			assert.equal(r.json.result.protocolVersion, LATEST, 'never 2026-07-28 in an initialize result (L3)');
		}
		const r = await mcpPost(port, f.read, init());
		const res = r.json.result;
		assert.equal(res.serverInfo.name, 'cupd');
		assert.equal(typeof res.serverInfo.version, 'string');
		assert.deepEqual(res.capabilities, { tools: { listChanged: false },
			resources: { subscribe: false, listChanged: false }, prompts: { listChanged: false } });
		assert.equal(typeof res.instructions, 'string');
	});

	test('A25/A30: the session id is ≥ 43 visible ASCII characters; initialize ignores a session header', async () => {
		const a = await mcpPost(port, f.read, init());
		const sid = a.headers['mcp-session-id'];
		assert.match(sid, /^[\x21-\x7e]{43,}$/);
		const b = await mcpPost(port, f.read, init(), { headers: { 'mcp-session-id': sid } });
		assert.equal(b.status, 200);
		assert.notEqual(b.headers['mcp-session-id'], sid, 'a new session');
		const bogus = await mcpPost(port, f.read, init(), { headers: { 'mcp-session-id': 'not-a-session' } });
		assert.equal(bogus.status, 200, 'an unknown session header on initialize is ignored');
		// Later responses repeat the session id (A30).
		const p = await mcpPost(port, f.read, { jsonrpc: '2.0', id: 1, method: 'ping' }, { headers: { 'mcp-session-id': sid } });
		assert.equal(p.headers['mcp-session-id'], sid);
	});

	test('A27: missing session → 400; unknown → 404 -32001', async () => {
		const r = await mcpPost(port, f.read, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
		assert.equal(r.status, 400, r.body);
		assert.equal(r.json.error.code, -32000);
		for (const sid of [crypto.randomBytes(32).toString('base64url'), 'short', 'x'.repeat(200)]) {
			const u = await mcpPost(port, f.read, { jsonrpc: '2.0', id: 1, method: 'tools/list' },
				{ headers: { 'mcp-session-id': sid } });
			assert.equal(u.status, 404, `${sid}: ${u.body}`);
			assert.equal(u.json.error.code, -32001);
			assert.equal(u.json.error.message, 'Session not found');
		}
	});

	test('A31: DELETE ends the session (204), after which it is 404 everywhere', async () => {
		const c = await session();
		const del = () => request({ port, method: 'DELETE', path: '/mcp',
			headers: { authorization: `Bearer ${f.read}`, 'mcp-session-id': c.session } });
		assert.equal((await del()).status, 204);
		const r = await c.post({ jsonrpc: '2.0', id: 1, method: 'ping' });
		assert.equal(r.status, 404, r.body);
		assert.equal(r.json.error.code, -32001);
		assert.equal((await del()).status, 404, 'a second DELETE');
		const none = await request({ port, method: 'DELETE', path: '/mcp', headers: { authorization: `Bearer ${f.read}` } });
		assert.equal(none.status, 400, 'DELETE without a session id');
	});

	test('A26: a session presented with another credential is unknown (404), also for DELETE', async () => {
		const c = await session(f.read);
		for (const other of [f.write, f.eve]) {
			const r = await c.post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { token: other });
			assert.equal(r.status, 404, r.body);
			const d = await request({ port, method: 'DELETE', path: '/mcp',
				headers: { authorization: `Bearer ${other}`, 'mcp-session-id': c.session } });
			assert.equal(d.status, 404, 'another credential cannot end it');
		}
		assert.deepEqual(await c.result('ping'), {}, 'still alive for its own credential');
	});

	test('A32/A33: an unsupported MCP-Protocol-Version → 400; another supported one is accepted', async () => {
		const c = await session();
		for (const v of ['1999-01-01', 'garbage', '2025-11-26']) {
			const r = await c.post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { headers: { 'mcp-protocol-version': v } });
			assert.equal(r.status, 400, `${v}: ${r.body}`);
			assert.equal(r.json.error.code, -32000);
		}
		for (const v of VERSIONS) {
			const r = await c.post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { headers: { 'mcp-protocol-version': v } });
			assert.equal(r.status, 200, `${v}: ${r.body}`);
		}
		const r = await mcpPost(port, f.read, { jsonrpc: '2.0', id: 1, method: 'ping' }, { headers: { 'mcp-session-id': c.session } });
		assert.equal(r.status, 200, 'absent header: the session version');
	});
});

describe('modern probe fallback (A28, MODERN-2026 L1)', () => {
	const probe = (extra = {}) => ({
		jsonrpc: '2.0', id: 'server-discover-probe-1', method: 'server/discover',
		params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28',
			'io.modelcontextprotocol/clientInfo': { name: 'sdk2', version: '2.4.0' },
			'io.modelcontextprotocol/clientCapabilities': {} }, ...extra },
	});

	const assertFallback = (r, what) => {
		assert.equal(r.status, 400, `${what}: ${r.status} ${r.body}`);
		assert.equal(r.headers['content-type'], 'application/json');
		const code = r.json.error.code;
		assert.ok(code === -32000 || code === -32601, `${what}: code ${code}`);
		assert.ok(code < -32022 || code > -32020, 'never -32020..-32022');
	};

	test('A28: SDK2 probe (header + _meta claim + server/discover) → 400 -32000, never 5xx', async () => {
		const r = await mcpPost(port, f.read, probe(),
			{ headers: { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'server/discover' } });
		assertFallback(r, 'SDK2 probe');
		assert.equal(r.json.error.code, -32000);
		assert.equal(r.json.id, 'server-discover-probe-1');
		// The header alone, the _meta claim alone, inside a session, and a modern tools/call.
		assertFallback(await mcpPost(port, f.read, probe()), '_meta claim only');
		assertFallback(await mcpPost(port, f.read, { jsonrpc: '2.0', id: 1, method: 'server/discover' },
			{ headers: { 'mcp-protocol-version': '2026-07-28' } }), 'header only');
		const c = await session();
		assertFallback(await c.post(probe(), { headers: { 'mcp-protocol-version': '2026-07-28' } }), 'in a session');
		assertFallback(await mcpPost(port, f.read, { jsonrpc: '2.0', id: 3, method: 'tools/call',
			params: { name: 'whoami', _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } },
		{ headers: { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'whoami' } }),
		'modern tools/call');
		// A bare server/discover (no claim): -32601 so the prober falls back too.
		const bare = await mcpPost(port, f.read, { jsonrpc: '2.0', id: 'mcp-remote-discover-1', method: 'server/discover' });
		assertFallback(bare, 'bare server/discover');
		assert.equal(bare.json.error.code, -32601);
		// The fallback then works: a legacy initialize right after.
		assert.equal((await mcpPost(port, f.read, init())).status, 200);
	});

	test('A28/A4: an unauthenticated probe still gets the 401 challenge first', async () => {
		const r = await mcpPost(port, null, probe(), { headers: { 'mcp-protocol-version': '2026-07-28' } });
		assert.equal(r.status, 401);
		assert.equal(r.headers['www-authenticate'], challenge());
	});
});

describe('Origin, Host and CORS (A34-A36, A53, A54, E15, E16)', () => {
	test('A34/E15: a foreign Origin → 403 on POST, GET and DELETE, before authentication', async () => {
		const c = await session();
		for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${port + 1}`, 'https://localhost:6274']) {
			const p = await c.post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { headers: { origin } });
			assert.equal(p.status, 403, `POST ${origin}: ${p.body}`);
			assert.equal(p.headers['access-control-allow-origin'], undefined);
			const g = await request({ port, method: 'GET', path: '/mcp', headers: { origin, authorization: `Bearer ${f.read}` } });
			assert.equal(g.status, 403, `GET ${origin}`);
			const d = await request({ port, method: 'DELETE', path: '/mcp',
				headers: { origin, authorization: `Bearer ${f.read}`, 'mcp-session-id': c.session } });
			assert.equal(d.status, 403, `DELETE ${origin}`);
			const noauth = await mcpPost(port, null, init(), { headers: { origin } });
			assert.equal(noauth.status, 403, 'checked before authentication');
		}
		assert.deepEqual(await c.result('ping'), {}, 'the session survived the refused DELETE');
		// No Origin at all (Claude's backend, Claude Code, Cursor, mcp-remote) is fine.
		const r = await c.post({ jsonrpc: '2.0', id: 2, method: 'ping' });
		assert.equal(r.status, 200);
	});

	test('A35/A54/E16: allowlisted origins and the public origin get CORS headers on 200 and on 401', async () => {
		for (const origin of [ALLOWED_ORIGIN, 'https://inspector.example', base]) {
			const ok = await mcpPost(port, f.read, init(), { headers: { origin } });
			assert.equal(ok.status, 200, `${origin}: ${ok.body}`);
			assert.equal(ok.headers['access-control-allow-origin'], origin);
			assert.match(ok.headers['access-control-expose-headers'], /Mcp-Session-Id/);
			assert.match(ok.headers['access-control-expose-headers'], /WWW-Authenticate/);
			assert.match(ok.headers['access-control-expose-headers'], /MCP-Protocol-Version/);
			const denied = await mcpPost(port, null, init(), { headers: { origin } });
			assert.equal(denied.status, 401);
			assert.equal(denied.headers['access-control-allow-origin'], origin);
			assert.match(denied.headers['access-control-expose-headers'], /WWW-Authenticate/);
		}
	});

	test('A53/A4: OPTIONS preflight needs no credential and names methods and headers', async () => {
		const r = await request({ port, method: 'OPTIONS', path: '/mcp', headers: { origin: ALLOWED_ORIGIN,
			'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, mcp-session-id' } });
		assert.equal(r.status, 204, r.body);
		assert.equal(r.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
		assert.equal(r.headers['access-control-allow-methods'], 'GET, POST, DELETE, OPTIONS');
		for (const h of ['Authorization', 'Content-Type', 'Accept', 'Mcp-Session-Id', 'MCP-Protocol-Version', 'Last-Event-ID'])
			assert.ok(r.headers['access-control-allow-headers'].split(/,\s*/).includes(h), h);
		const bad = await request({ port, method: 'OPTIONS', path: '/mcp', headers: { origin: 'http://evil.example' } });
		assert.equal(bad.status, 403);
		assert.equal(bad.headers['access-control-allow-origin'], undefined);
	});

	test('A36: a Host that does not name this server → 403; loopback names with the same port are one server', async () => {
		const body = JSON.stringify(init());
		const send = (host) => rawRequest({ port, data: `POST /mcp HTTP/1.1\r\nHost: ${host}\r\n`
			+ `Authorization: Bearer ${f.read}\r\nContent-Type: application/json\r\nAccept: application/json\r\n`
			+ `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}` });
		for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, 'attacker.localhost'])
			assert.equal((await send(host)).status, 403, host);
		for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`])
			assert.equal((await send(host)).status, 200, host);
	});
});

describe('limits (A37)', () => {
	test('A37: a body over CUPD_MAX_BODY_BYTES → 413', async () => {
		const c = await session();
		const pad = 'x'.repeat(1100 * 1024);
		// The server may answer 413 and close while the client is still writing
		// the body; then the client sees EPIPE/ECONNRESET instead of the answer.
		const r = await c.post({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad } }).catch((e) => ({ error: e }));
		if (r.error)
			assert.ok(['EPIPE', 'ECONNRESET'].includes(r.error.code), String(r.error));
		else
			assert.equal(r.status, 413, r.body?.slice(0, 200));
		assert.deepEqual(await c.result('ping'), {}, 'the server is fine afterwards');
	});
});
