// Dynamic Client Registration (RFC 7591): REQUIREMENTS B25, B30, C19-C23,
// C39, D16, D18, D22, E7, E17, E19.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup, request } from './lib/harness.mjs';
import { CURSOR_URIS, OAuthFixture, sha256hex } from './oauth_fixture.mjs';

let f;

before(async () => {
	// The test runner is a trusted proxy, so each registration can come from
	// its own client IP (X-Forwarded-For) and only the rate-limit test
	// spends one IP's allowance.
	f = await OAuthFixture.start({ env: { CUPD_TRUSTED_PROXIES: '127.0.0.1/32' } });
});
after(cleanup);

let ipSeq = 0;
const nextIp = () => `10.1.${Math.floor(++ipSeq / 250)}.${ipSeq % 250 + 1}`;

const reg = (body, { path = '/oauth/register', raw, ip = nextIp() } = {}) => request({
	port: f.srv.port, method: 'POST', path, headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
	body: raw ?? JSON.stringify(body),
});

function assertRfc7591Error(r, error) {
	assert.equal(r.status, 400, r.body);
	assert.equal(r.json.error, error, r.body);
	assert.equal(typeof r.json.error_description, 'string');
	assert.equal(r.headers['cache-control'], 'no-store');
}

describe('public clients', () => {
	test('D16, E7, C22, B30: Cursor registers with its three redirect URIs and no application_type', async () => {
		const r = await reg({ client_name: 'Cursor', redirect_uris: CURSOR_URIS, token_endpoint_auth_method: 'none',
			grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] });
		assert.equal(r.status, 201, r.body);
		assert.equal(r.headers['cache-control'], 'no-store', 'C19');
		assert.equal(r.headers['access-control-allow-origin'], '*', 'C39');
		const c = r.json;
		assert.match(c.client_id, /^cupc_[A-Za-z0-9_-]{32}$/);
		assert.deepEqual(c.redirect_uris, CURSOR_URIS, 'C19: redirect_uris echoed in order');
		assert.equal(c.token_endpoint_auth_method, 'none', 'E17: echoed');
		assert.equal(c.client_secret, undefined, 'E17: no secret for none');
		assert.equal(c.client_secret_expires_at, undefined);
		assert.deepEqual(c.grant_types, ['authorization_code', 'refresh_token']);
		assert.deepEqual(c.response_types, ['code']);
		assert.equal(c.client_name, 'Cursor');
		assert.ok(Math.abs(c.client_id_issued_at - Date.now() / 1000) < 60, 'client_id_issued_at is now');
		const row = await f.sql(`SELECT registered_via || ' ' || token_endpoint_auth_method || ' ' ||
			(client_secret_hash IS NULL) || ' ' || cardinality(redirect_uris) FROM oauth_clients
			WHERE client_id = '${c.client_id}'`);
		assert.equal(row, 'dcr none true 3');
	});

	test('D18, D22: mcp-remote and Inspector style registrations (loopback, native)', async () => {
		const mr = await reg({ client_name: 'MCP CLI Proxy', client_uri: 'https://github.com/modelcontextprotocol/mcp-cli',
			software_id: '2e6dc280-f3c3-4e01-99a7-8181dbd1d23d', software_version: '0.15.1',
			redirect_uris: ['http://localhost:3335/oauth/callback'], token_endpoint_auth_method: 'none',
			grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] });
		assert.equal(mr.status, 201, mr.body);
		assert.equal(mr.json.client_uri, 'https://github.com/modelcontextprotocol/mcp-cli');
		assert.equal(mr.json.software_id, '2e6dc280-f3c3-4e01-99a7-8181dbd1d23d');
		assert.equal(mr.json.software_version, '0.15.1');
		const insp = await reg({ client_name: 'MCP Inspector', application_type: 'native',
			redirect_uris: ['http://localhost:6274/oauth/callback', 'http://localhost:6274/oauth/callback/debug'],
			token_endpoint_auth_method: 'none' });
		assert.equal(insp.status, 201, insp.body);
		assert.equal(insp.json.application_type, 'native');
	});

	test('C21, C37, E19, D10: unknown members and unknown scopes are ignored, not rejected', async () => {
		const r = await reg({ redirect_uris: ['https://claude.ai/api/mcp/auth_callback'], token_endpoint_auth_method: 'none',
			scope: 'claudeai openid email profile read', resource: 'https://cupd.example/mcp',
			frobnicate: { deep: [1, 2] }, contacts: ['x@example.com'] });
		assert.equal(r.status, 201, r.body);
		assert.equal(r.json.scope, 'read', 'unknown scope words dropped');
		assert.equal(r.json.resource, undefined);
		assert.equal(r.json.frobnicate, undefined);
		const only = await reg({ redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
			token_endpoint_auth_method: 'none', scope: 'claudeai' });
		assert.equal(only.status, 201);
		assert.equal(only.json.scope, undefined, 'nothing known: no scope registered (authorize defaults it)');
	});

	test('C19: registration without scope, client_name or grant_types gets the defaults echoed', async () => {
		const r = await reg({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none' });
		assert.equal(r.status, 201);
		assert.deepEqual(r.json.grant_types, ['authorization_code', 'refresh_token']);
		assert.deepEqual(r.json.response_types, ['code']);
		assert.equal(r.json.client_name, undefined);
	});

	test('B24: /register is an alias', async () => {
		const r = await reg({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none' },
			{ path: '/register' });
		assert.equal(r.status, 201);
		assert.match(r.json.client_id, /^cupc_/);
	});
});

describe('confidential clients', () => {
	test('C20, E17: client_secret_post and _basic get a 256-bit secret once, stored as SHA-256 only', async () => {
		for (const method of ['client_secret_post', 'client_secret_basic']) {
			const r = await reg({ redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
				token_endpoint_auth_method: method });
			assert.equal(r.status, 201, r.body);
			assert.equal(r.json.token_endpoint_auth_method, method);
			assert.match(r.json.client_secret, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
			assert.equal(r.json.client_secret_expires_at, 0);
			const stored = await f.sql(`SELECT encode(client_secret_hash, 'hex') || ' ' || metadata::text
				FROM oauth_clients WHERE client_id = '${r.json.client_id}'`);
			assert.ok(stored.startsWith(sha256hex(r.json.client_secret)), 'SHA-256 stored');
			assert.ok(!stored.includes(r.json.client_secret), 'the secret itself is not stored');
		}
	});

	test('C20: token_endpoint_auth_method omitted means client_secret_basic (RFC 7591 default)', async () => {
		const r = await reg({ redirect_uris: ['https://claude.ai/api/mcp/auth_callback'] });
		assert.equal(r.status, 201);
		assert.equal(r.json.token_endpoint_auth_method, 'client_secret_basic');
		assert.ok(r.json.client_secret);
	});

	test('C21: an unsupported token_endpoint_auth_method is invalid_client_metadata', async () => {
		assertRfc7591Error(await reg({ redirect_uris: ['https://a.example/cb'],
			token_endpoint_auth_method: 'private_key_jwt' }), 'invalid_client_metadata');
	});
});

describe('redirect URI validation', () => {
	test('C5, C22: one forbidden URI rejects the whole registration with invalid_redirect_uri', async () => {
		for (const bad of ['javascript:alert(1)', 'data:text/html,hi', 'file:///etc/passwd', 'vbscript:x',
			'http://evil.example/cb', 'https://claude.ai/cb#fragment', 'not a uri', '/relative', '']) {
			const r = await reg({ redirect_uris: ['https://claude.ai/api/mcp/auth_callback', bad],
				token_endpoint_auth_method: 'none' });
			assertRfc7591Error(r, 'invalid_redirect_uri');
		}
		const count = await f.sql("SELECT count(*) FROM oauth_clients WHERE 'http://evil.example/cb' = ANY (redirect_uris)");
		assert.equal(count, '0');
	});

	test('C23: at most 10 redirect URIs of at most 2048 characters; redirect_uris required', async () => {
		const ten = Array.from({ length: 10 }, (_, i) => `https://app.example/cb${i}`);
		assert.equal((await reg({ redirect_uris: ten, token_endpoint_auth_method: 'none' })).status, 201);
		assertRfc7591Error(await reg({ redirect_uris: [...ten, 'https://app.example/x'],
			token_endpoint_auth_method: 'none' }), 'invalid_redirect_uri');
		assertRfc7591Error(await reg({ redirect_uris: [`https://app.example/${'a'.repeat(2048)}`],
			token_endpoint_auth_method: 'none' }), 'invalid_redirect_uri');
		assertRfc7591Error(await reg({ token_endpoint_auth_method: 'none' }), 'invalid_redirect_uri');
		assertRfc7591Error(await reg({ redirect_uris: [], token_endpoint_auth_method: 'none' }), 'invalid_redirect_uri');
		assertRfc7591Error(await reg({ redirect_uris: 'https://app.example/cb' }), 'invalid_redirect_uri');
	});

	test('C21: malformed bodies are invalid_client_metadata', async () => {
		assertRfc7591Error(await reg(null, { raw: 'not json' }), 'invalid_client_metadata');
		assertRfc7591Error(await reg(null, { raw: '[1,2]' }), 'invalid_client_metadata');
		assertRfc7591Error(await reg({ redirect_uris: ['https://a.example/cb'], grant_types: ['client_credentials'] }),
			'invalid_client_metadata');
		assertRfc7591Error(await reg({ redirect_uris: ['https://a.example/cb'], client_name: 'x'.repeat(201) }),
			'invalid_client_metadata');
	});
});

describe('CORS and garbage collection', () => {
	test('C39: OPTIONS preflight allows POST with Authorization, Content-Type and MCP-Protocol-Version', async () => {
		for (const p of ['/oauth/register', '/register']) {
			const r = await request({ port: f.srv.port, method: 'OPTIONS', path: p });
			assert.equal(r.status, 204);
			assert.equal(r.headers['access-control-allow-origin'], '*');
			assert.equal(r.headers['access-control-allow-methods'], 'POST, OPTIONS');
			for (const h of ['Authorization', 'Content-Type', 'MCP-Protocol-Version'])
				assert.match(r.headers['access-control-allow-headers'], new RegExp(h));
		}
	});

	test('C23: registrations older than 7 days that never got a grant are removed by later registrations', async () => {
		const stale = await f.register({ client_name: 'stale' });
		const used = await f.register({ client_name: 'used' });
		await f.issueCode(used); // a grant exists: this client stays
		await f.sql(`UPDATE oauth_clients SET created_at = now() - interval '8 days'
			WHERE client_id IN ('${stale.client_id}', '${used.client_id}')`);
		await f.register({ client_name: 'trigger' });
		const left = await f.sql(`SELECT string_agg(client_name, ',' ORDER BY client_name) FROM oauth_clients
			WHERE client_id IN ('${stale.client_id}', '${used.client_id}')`);
		assert.equal(left, 'used');
	});
});

describe('rate limit', () => {
	test('C23: registration is limited per client IP (429 after the per-minute allowance)', async () => {
		// 30 per minute per IP and instance; the window is aligned to the wall
		// clock, so within 61 attempts a 429 must come whatever the phase.
		const body = { redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none' };
		let limited = null, ok = 0;
		for (let i = 0; i < 61 && !limited; i++) {
			const r = await reg(body, { ip: '192.0.2.7' });
			if (r.status === 429)
				limited = r;
			else
				assert.equal(r.status, 201, r.body), ok++;
		}
		assert.ok(limited, 'a 429 came');
		assert.ok(ok >= 1 && ok <= 60, `${ok} registrations before the limit`);
		assert.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After');
		assert.equal(limited.headers['access-control-allow-origin'], '*');
		// Sized for shared egress: the limit is per client IP, others still register.
		assert.equal((await reg(body, { ip: '192.0.2.8' })).status, 201);
	});
});

describe('shutdown', () => {
	test('cupd exits 0 on SIGTERM with no sanitizer report', () => f.stopClean());
});
