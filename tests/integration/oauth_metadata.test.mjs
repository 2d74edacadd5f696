// Discovery documents and the JWKS: REQUIREMENTS B1-B24, C31, C38, E2, E3,
// E8, E22, and the 503 of an authorization server without signing keys.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup, request, startCupd } from './lib/harness.mjs';
import { OAuthFixture } from './oauth_fixture.mjs';

// An issuer unlike the listen address: every URL must come from it (C31).
const PUBLIC = 'https://cupd.example.test';
let f;

before(async () => {
	f = await OAuthFixture.start({ publicUrl: PUBLIC });
});
after(cleanup);

const get = (path, headers = {}) => request({ port: f.srv.port, path, headers });

describe('protected resource metadata (RFC 9728)', () => {
	test('B2, B3, B12, E3: the same document at the root and the path-inserted URL', async () => {
		const docs = [];
		for (const p of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
			const r = await get(p);
			assert.equal(r.status, 200, p);
			assert.match(r.headers['content-type'], /^application\/json/);
			assert.deepEqual(r.json, {
				resource: `${PUBLIC}/mcp`,
				authorization_servers: [PUBLIC],
				scopes_supported: ['read', 'write', 'admin'],
				bearer_methods_supported: ['header'],
				resource_name: 'CheckUpstream MCP',
			});
			assert.ok(!r.json.scopes_supported.includes('offline_access'), 'B12: no offline_access');
			docs.push(r.body);
		}
		assert.equal(docs[0], docs[1]);
	});
});

describe('authorization server metadata (RFC 8414)', () => {
	test('B13, B18, B19, B20, B21, B22, E8: every field clients read; issuer is CUPD_PUBLIC_URL exactly', async () => {
		const r = await get('/.well-known/oauth-authorization-server');
		assert.equal(r.status, 200);
		const m = r.json;
		assert.equal(m.issuer, PUBLIC, 'B18: byte-identical issuer, no trailing slash');
		assert.equal(m.authorization_endpoint, `${PUBLIC}/oauth/authorize`);
		assert.equal(m.token_endpoint, `${PUBLIC}/oauth/token`);
		assert.equal(m.registration_endpoint, `${PUBLIC}/oauth/register`);
		assert.equal(m.revocation_endpoint, `${PUBLIC}/oauth/revoke`);
		assert.equal(m.introspection_endpoint, `${PUBLIC}/oauth/introspect`);
		assert.equal(m.jwks_uri, `${PUBLIC}/oauth/jwks.json`);
		assert.deepEqual(m.response_types_supported, ['code']);
		assert.deepEqual(m.response_modes_supported, ['query']);
		assert.deepEqual(m.grant_types_supported, ['authorization_code', 'refresh_token']);
		assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
		assert.deepEqual(m.token_endpoint_auth_methods_supported, ['none', 'client_secret_post', 'client_secret_basic']);
		assert.deepEqual(m.revocation_endpoint_auth_methods_supported,
			['none', 'client_secret_post', 'client_secret_basic']);
		assert.deepEqual(m.introspection_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post']);
		assert.deepEqual(m.scopes_supported, ['read', 'write', 'admin']);
		assert.equal(m.authorization_response_iss_parameter_supported, true);
		assert.equal(typeof m.service_documentation, 'string');
		for (const [k, v] of Object.entries(m))
			if (k.endsWith('_endpoint') || k.endsWith('_uri') || k === 'service_documentation')
				assert.ok(v.startsWith(`${PUBLIC}/`), `B22: ${k} is absolute under the issuer`);
		assert.equal(m.client_id_metadata_document_supported, true, 'B26: CIMD advertised once it works');
	});

	test('C31: Host and X-Forwarded-* never change the issuer', async () => {
		const r = await get('/.well-known/oauth-authorization-server',
			{ host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' });
		assert.equal(r.json.issuer, PUBLIC);
		assert.ok(!r.body.includes('evil.example'));
	});

	test('B23: openid-configuration is a valid OIDC document with S256', async () => {
		const r = await get('/.well-known/openid-configuration');
		assert.equal(r.status, 200);
		const m = r.json;
		assert.equal(m.issuer, PUBLIC);
		assert.equal(m.jwks_uri, `${PUBLIC}/oauth/jwks.json`);
		assert.deepEqual(m.subject_types_supported, ['public']);
		assert.deepEqual(m.id_token_signing_alg_values_supported, ['ES256']);
		assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
		assert.deepEqual(m.response_types_supported, ['code']);
		assert.equal(m.authorization_endpoint, `${PUBLIC}/oauth/authorize`);
		assert.equal(m.token_endpoint, `${PUBLIC}/oauth/token`);
	});
});

describe('every discovery URL', () => {
	const PATHS = ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp',
		'/.well-known/oauth-authorization-server', '/.well-known/openid-configuration', '/oauth/jwks.json'];

	test('B2, B14, E2, C38: no auth, JSON, CORS *, never a redirect; B17: MCP-Protocol-Version ignored', async () => {
		for (const p of PATHS) {
			const plain = await get(p);
			const probed = await get(p, { 'mcp-protocol-version': '2025-11-25', accept: 'application/json',
				origin: 'https://inspector.example' });
			for (const r of [plain, probed]) {
				assert.equal(r.status, 200, p);
				assert.match(r.headers['content-type'], /^application\/json/, p);
				assert.equal(r.headers['access-control-allow-origin'], '*', `${p}: CORS`);
				assert.equal(r.headers['access-control-allow-credentials'], undefined, `${p}: no credentials`);
				assert.equal(r.headers.location, undefined);
			}
			assert.equal(plain.body, probed.body, `${p}: same document with the header`);
		}
	});

	test('C38: OPTIONS preflight answers 204 with GET, OPTIONS and MCP-Protocol-Version allowed', async () => {
		for (const p of PATHS) {
			const r = await request({ port: f.srv.port, method: 'OPTIONS', path: p, headers: {
				origin: 'https://inspector.example', 'access-control-request-method': 'GET',
				'access-control-request-headers': 'mcp-protocol-version' } });
			assert.equal(r.status, 204, p);
			assert.equal(r.headers['access-control-allow-origin'], '*');
			assert.equal(r.headers['access-control-allow-methods'], 'GET, OPTIONS');
			assert.match(r.headers['access-control-allow-headers'], /MCP-Protocol-Version/);
			assert.match(r.headers['access-control-allow-headers'], /Accept/);
		}
	});

	test('B2: a POST to a metadata URL is 405 JSON, not an HTML fallback', async () => {
		const r = await request({ port: f.srv.port, method: 'POST', path: '/.well-known/oauth-authorization-server',
			body: '' });
		assert.equal(r.status, 405);
		assert.ok(r.json, 'JSON body');
	});
});

describe('JWKS', () => {
	test('DESIGN §2: /oauth/jwks.json lists the ES256 signing key with a short cache lifetime', async () => {
		const r = await get('/oauth/jwks.json');
		assert.equal(r.status, 200);
		assert.match(r.headers['cache-control'], /max-age=(\d+)/);
		assert.ok(Number(/max-age=(\d+)/.exec(r.headers['cache-control'])[1]) <= 600, 'short');
		assert.equal(r.json.keys.length, 1);
		const k = r.json.keys[0];
		assert.equal(k.kty, 'EC');
		assert.equal(k.crv, 'P-256');
		assert.equal(k.alg, 'ES256');
		assert.equal(k.use, 'sig');
		assert.equal(k.kid, (await f.signingKey()).kid);
		assert.match(k.x, /^[A-Za-z0-9_-]{43}$/);
		assert.match(k.y, /^[A-Za-z0-9_-]{43}$/);
		assert.equal(k.d, undefined, 'never the private part');
	});
});

describe('without CUPD_KEY_ENCRYPTION_KEY', () => {
	test('token, registration, revocation, introspection and JWKS answer 503 temporarily_unavailable', async () => {
		const bare = await startCupd({ cluster: f.cluster, env: { CUPD_ACCESS_LOG: 'off' } });
		for (const p of ['/oauth/token', '/token', '/oauth/revoke', '/oauth/introspect']) {
			const r = await request({ port: bare.port, method: 'POST', path: p,
				headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token' });
			assert.equal(r.status, 503, p);
			assert.equal(r.json.error, 'temporarily_unavailable', p);
			assert.equal(r.headers['cache-control'], 'no-store', p);
		}
		const reg = await request({ port: bare.port, method: 'POST', path: '/oauth/register',
			headers: { 'content-type': 'application/json' }, body: '{"redirect_uris":["https://a.example/cb"]}' });
		assert.equal(reg.status, 503);
		assert.equal(reg.json.error, 'temporarily_unavailable');
		assert.equal((await request({ port: bare.port, path: '/oauth/jwks.json' })).status, 503);
		// Discovery itself is configuration, not keys: it still answers.
		assert.equal((await request({ port: bare.port, path: '/.well-known/oauth-authorization-server' })).status, 200);
		const stopped = await bare.stop();
		assert.equal(stopped.code, 0);
		assert.doesNotMatch(bare.stderr(), /Sanitizer|runtime error:/);
	});
});

describe('shutdown', () => {
	test('cupd exits 0 on SIGTERM with no sanitizer report', () => f.stopClean());
});
