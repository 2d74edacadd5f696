// The token endpoint's authorization_code grant and client authentication:
// REQUIREMENTS C8-C18, B31-B33, B42, E9, D3, D10, D12.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup, request, waitFor } from './lib/harness.mjs';
import { OAuthFixture, UUID_RE, challengeOf, claimsOf, headerOf, newVerifier } from './oauth_fixture.mjs';

let f, pub, basic, post;

before(async () => {
	f = await OAuthFixture.start();
	pub = await f.register({ client_name: 'Public', redirect_uris: ['https://claude.ai/api/mcp/auth_callback',
		'http://localhost/callback'] });
	basic = await f.register({ client_name: 'Basic', token_endpoint_auth_method: 'client_secret_basic' });
	post = await f.register({ client_name: 'Post', token_endpoint_auth_method: 'client_secret_post' });
});
after(cleanup);

function assertOAuthError(r, status, error) {
	assert.equal(r.status, status, `${r.status} ${r.body}`);
	assert.match(r.headers['content-type'], /^application\/json/);
	assert.equal(r.json.error, error, r.body);
	assert.equal(r.headers['cache-control'], 'no-store', 'C14: no-store on errors');
	assert.equal(r.headers['pragma'], 'no-cache');
}

const codeParams = (c, extra = {}) => ({ grant_type: 'authorization_code', code: c.code, code_verifier: c.verifier,
	redirect_uri: c.redirectUri, ...extra });

describe('authorization_code', () => {
	test('C13, B42, E9: success has exactly {access_token, token_type, expires_in, refresh_token, scope}', async () => {
		const c = await f.issueCode(pub);
		const r = await f.token(pub, codeParams(c, { resource: f.resource }));
		assert.equal(r.status, 200, r.body);
		assert.equal(r.headers['cache-control'], 'no-store');
		assert.equal(r.headers.pragma, 'no-cache');
		assert.equal(r.headers['access-control-allow-origin'], '*', 'C39');
		assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope',
			'token_type']);
		assert.equal(r.json.token_type, 'Bearer');
		assert.equal(r.json.scope, 'read write');
		assert.ok(r.json.expires_in > 3500 && r.json.expires_in <= 3600, `default 60 min: ${r.json.expires_in}`);
		assert.match(r.json.refresh_token, /^cupr_[A-Za-z0-9_-]{43}$/, 'B42: refresh token without offline_access');
		// The access token: ES256 JWT with kid and the claims of DESIGN §2.
		const h = headerOf(r.json.access_token);
		assert.equal(h.alg, 'ES256');
		assert.equal(h.kid, (await f.signingKey()).kid);
		const cl = claimsOf(r.json.access_token);
		assert.equal(cl.iss, f.issuer);
		assert.equal(cl.aud, f.resource, 'B31: audience is the MCP resource');
		assert.equal(cl.sub, f.ids.alice);
		assert.equal(cl.client_id, pub.client_id);
		assert.equal(cl.scope, 'read write');
		assert.equal(cl.gid, c.grantId);
		assert.equal(cl.org, f.ids.org);
		assert.ok(cl.jti && cl.jti.length >= 16);
		assert.equal(cl.exp - cl.iat, r.json.expires_in);
		// Stored hashed only (C27), first use recorded on the grant.
		const stored = await f.sql(`SELECT count(*) FROM oauth_refresh_tokens WHERE grant_id = '${c.grantId}'`);
		assert.equal(stored, '1');
		assert.equal(await f.sql(`SELECT last_used_at IS NOT NULL FROM oauth_grants WHERE id = '${c.grantId}'`), 't');
	});

	test('D12: token issuance is logged with the grant, never with a secret', async () => {
		const t = await f.exchange(pub);
		await waitFor(() => f.srv.stderr().includes(t.grantId), { what: 'issuance log line' });
		const log = f.srv.stderr();
		assert.ok(!log.includes(t.access_token) && !log.includes(t.refresh_token) && !log.includes(t.code),
			'no token or code in the log');
	});

	test('B33: without resource the MCP resource is the audience; B32: trailing slash and case tolerated', async () => {
		const c1 = await f.issueCode(pub);
		const r1 = await f.token(pub, codeParams(c1));
		assert.equal(r1.status, 200, r1.body);
		assert.equal(claimsOf(r1.json.access_token).aud, f.resource);
		const c2 = await f.issueCode(pub);
		const r2 = await f.token(pub, codeParams(c2, { resource: [`${f.resource}/`, f.resource.toUpperCase()
			.replace('/MCP', '/mcp')] }));
		assert.equal(r2.status, 200, r2.body);
	});

	test('C10, B32: a resource other than this server\'s is invalid_target (and spends nothing)', async () => {
		const c = await f.issueCode(pub);
		assertOAuthError(await f.token(pub, codeParams(c, { resource: 'https://evil.example/mcp' })), 400,
			'invalid_target');
		assertOAuthError(await f.token(pub, codeParams(c, { resource: [f.resource, 'https://other.example/'] })), 400,
			'invalid_target');
		// The code was not consumed by the refused requests.
		assert.equal((await f.token(pub, codeParams(c))).status, 200);
	});

	test('C10: a code authorized for another resource is invalid_target', async () => {
		const c = await f.issueCode(pub, { resource: 'https://elsewhere.example/mcp' });
		assertOAuthError(await f.token(pub, codeParams(c)), 400, 'invalid_target');
	});

	test('C7, C10, C11: PKCE wrong, missing, malformed or "plain" (verifier = challenge) is refused', async () => {
		const c = await f.issueCode(pub);
		assertOAuthError(await f.token(pub, codeParams(c, { code_verifier: undefined })), 400, 'invalid_request');
		assertOAuthError(await f.token(pub, codeParams(c, { code_verifier: 'short' })), 400, 'invalid_grant');
		assertOAuthError(await f.token(pub, codeParams(c, { code_verifier: `${'a'.repeat(42)}!` })), 400,
			'invalid_grant');
		// Missing and malformed verifiers are refused before the code is touched:
		assert.equal(await f.sql(`SELECT used_at IS NULL FROM oauth_codes WHERE grant_id = '${c.grantId}'`), 't');
		// The plain method: the verifier equals the challenge (43 valid characters).
		const plain = await f.issueCode(pub);
		const challenge = challengeOf(plain.verifier);
		assertOAuthError(await f.token(pub, codeParams(plain, { code_verifier: challenge })), 400, 'invalid_grant');
		const wrong = await f.issueCode(pub);
		assertOAuthError(await f.token(pub, codeParams(wrong, { code_verifier: newVerifier() })), 400, 'invalid_grant');
	});

	test('C9, C10: the code is single use even after a PKCE failure', async () => {
		const c = await f.issueCode(pub);
		assertOAuthError(await f.token(pub, codeParams(c, { code_verifier: newVerifier() })), 400, 'invalid_grant');
		assertOAuthError(await f.token(pub, codeParams(c)), 400, 'invalid_grant');
	});

	test('C9: a replayed code is invalid_grant AND revokes what it issued (introspection, registry, audit)', async () => {
		const conf = await f.register({ client_name: 'Replay', token_endpoint_auth_method: 'client_secret_post' });
		const c = await f.issueCode(conf);
		const first = await f.token(conf, codeParams(c), { how: 'post' });
		assert.equal(first.status, 200, first.body);
		const active = await f.introspect(conf, first.json.access_token, { how: 'post' });
		assert.equal(active.json.active, true, 'active before the replay');
		const replay = await f.token(conf, codeParams(c), { how: 'post' });
		assertOAuthError(replay, 400, 'invalid_grant');
		// The access token of the first redemption is refused at once ...
		const after1 = await f.introspect(conf, first.json.access_token, { how: 'post' });
		assert.deepEqual(after1.json, { active: false });
		// ... its refresh token is dead ...
		assertOAuthError(await f.refresh(conf, first.json.refresh_token, { how: 'post' }), 400, 'invalid_grant');
		// ... and the registry shows the connection revoked for code replay.
		const list = await f.api(f.tokens.aliceAdmin, 'GET', '/api/v1/connections');
		const conn = list.json.data.find((x) => x.id === c.grantId);
		assert.equal(conn.status, 'revoked');
		assert.equal(conn.revoked_reason, 'code_replay');
		assert.equal(await f.sql(`SELECT count(*) FROM audit_events WHERE action = 'connection.code_replay'
			AND target_id = '${c.grantId}'`), '1');
	});

	test('C8: an expired code is invalid_grant', async () => {
		const c = await f.issueCode(pub);
		await f.sql(`UPDATE oauth_codes SET expires_at = now() - interval '1 second' WHERE grant_id = '${c.grantId}'`);
		const r = await f.token(pub, codeParams(c));
		assertOAuthError(r, 400, 'invalid_grant');
		assert.match(r.json.error_description, /expired/);
		assertOAuthError(await f.token(pub, codeParams({ ...c, code: 'no-such-code' })), 400, 'invalid_grant');
	});

	test('C10: redirect_uri must be identical to the authorization request\'s when it was sent there', async () => {
		const c = await f.issueCode(pub);
		assertOAuthError(await f.token(pub, codeParams(c, { redirect_uri: 'https://claude.ai/api/mcp/auth_callback/' })),
			400, 'invalid_grant');
		// A code presented with the wrong bindings is spent (treated as compromised).
		assertOAuthError(await f.token(pub, codeParams(c)), 400, 'invalid_grant');
		const c2 = await f.issueCode(pub);
		assertOAuthError(await f.token(pub, codeParams(c2, { redirect_uri: undefined })), 400, 'invalid_grant');
		// Loopback: the port may differ at authorize, never at the token endpoint (byte-identical here).
		const c3 = await f.issueCode(pub, { redirectUri: 'http://localhost:4711/callback' });
		assertOAuthError(await f.token(pub, codeParams(c3, { redirect_uri: 'http://localhost:4712/callback' })), 400,
			'invalid_grant');
		const c3b = await f.issueCode(pub, { redirectUri: 'http://localhost:4711/callback' });
		const ok3 = await f.token(pub, codeParams(c3b));
		assert.equal(ok3.status, 200, ok3.body);
		// Not sent at authorize (C4): may be omitted, or repeated identically.
		const c4 = await f.issueCode(pub, { redirectSent: false });
		const ok4 = await f.token(pub, codeParams(c4, { redirect_uri: undefined }));
		assert.equal(ok4.status, 200, ok4.body);
	});

	test('C10: a code issued to another client is invalid_grant', async () => {
		const c = await f.issueCode(pub);
		const other = await f.register({ client_name: 'Other' });
		assertOAuthError(await f.token(other, codeParams(c)), 400, 'invalid_grant');
	});

	test('C1, C12: repeated parameters, missing grant_type, other grants and non-form bodies', async () => {
		const c = await f.issueCode(pub);
		const dup = `grant_type=authorization_code&code=${c.code}&code=${c.code}&code_verifier=${c.verifier}`
			+ `&client_id=${pub.client_id}`;
		assertOAuthError(await f.post('/oauth/token', dup), 400, 'invalid_request');
		assertOAuthError(await f.post('/oauth/token', { client_id: pub.client_id }), 400, 'invalid_request');
		for (const gt of ['password', 'client_credentials', 'implicit', 'urn:ietf:params:oauth:grant-type:device_code'])
			assertOAuthError(await f.post('/oauth/token', { grant_type: gt, client_id: pub.client_id }), 400,
				'unsupported_grant_type');
		const json = await request({ port: f.srv.port, method: 'POST', path: '/oauth/token',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(codeParams(c, { client_id: pub.client_id })) });
		assertOAuthError(json, 400, 'invalid_request');
		assertOAuthError(await f.post('/oauth/token', 'a=%zz'), 400, 'invalid_request');
		const get = await request({ port: f.srv.port, path: '/oauth/token' });
		assert.equal(get.status, 405, 'C12: POST only');
	});

	test('B24, C16: /token is an alias and nothing redirects', async () => {
		const c = await f.issueCode(pub);
		const r = await f.token(pub, codeParams(c), { path: '/token' });
		assert.equal(r.status, 200, r.body);
		assert.equal(r.headers.location, undefined);
	});

	test('B42: a client registered without refresh_token gets no refresh token', async () => {
		const noRefresh = await f.register({ client_name: 'NoRefresh', grant_types: ['authorization_code'] });
		const c = await f.issueCode(noRefresh);
		const r = await f.token(noRefresh, codeParams(c));
		assert.equal(r.status, 200, r.body);
		assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
	});

	test('B43: CUPD_ACCESS_TOKEN_MINUTES sets the lifetime, capped by the grant\'s absolute expiry', async () => {
		const c = await f.issueCode(pub, { grantDays: 0 });
		await f.sql(`UPDATE oauth_grants SET expires_at = now() + interval '10 minutes' WHERE id = '${c.grantId}'`);
		const r = await f.token(pub, codeParams(c));
		assert.equal(r.status, 200, r.body);
		assert.ok(r.json.expires_in <= 600 && r.json.expires_in > 590, `capped: ${r.json.expires_in}`);
	});
});

describe('client authentication', () => {
	test('C17: client_secret_basic and client_secret_post both work for any confidential client', async () => {
		for (const client of [basic, post])
			for (const how of ['basic', 'post']) {
				const c = await f.issueCode(client);
				const r = await f.token(client, codeParams(c), { how });
				assert.equal(r.status, 200, `${client.client_name} via ${how}: ${r.body}`);
			}
	});

	test('C17: two methods at once are invalid_request', async () => {
		const c = await f.issueCode(basic);
		const a = OAuthFixture.auth(basic, 'basic');
		const r = await f.post('/oauth/token', { ...codeParams(c), client_id: basic.client_id,
			client_secret: basic.client_secret }, { headers: a.headers });
		assertOAuthError(r, 400, 'invalid_request');
	});

	test('C14, C15, C18: unknown client or wrong secret is 401 invalid_client (+ Basic challenge)', async () => {
		const c = await f.issueCode(basic);
		const wrongBasic = await f.token({ ...basic, client_secret: 'wrong' }, codeParams(c), { how: 'basic' });
		assertOAuthError(wrongBasic, 401, 'invalid_client');
		assert.match(wrongBasic.headers['www-authenticate'], /^Basic /);
		const wrongPost = await f.token({ ...basic, client_secret: 'wrong' }, codeParams(c), { how: 'post' });
		assertOAuthError(wrongPost, 401, 'invalid_client');
		assert.equal(wrongPost.headers['www-authenticate'], undefined);
		const unknown = await f.token({ client_id: 'cupc_doesnotexist' }, codeParams(c), { how: 'none' });
		assertOAuthError(unknown, 401, 'invalid_client');
		const unknownBasic = await f.token({ client_id: 'cupc_doesnotexist', client_secret: 'x' }, codeParams(c),
			{ how: 'basic' });
		assertOAuthError(unknownBasic, 401, 'invalid_client');
		assert.match(unknownBasic.headers['www-authenticate'], /^Basic /);
		// A confidential client without its secret, and no client at all.
		assertOAuthError(await f.token(basic, codeParams(c), { how: 'none' }), 401, 'invalid_client');
		assertOAuthError(await f.post('/oauth/token', codeParams(c)), 401, 'invalid_client');
		assertOAuthError(await f.post('/oauth/token', codeParams(c), { headers: { authorization: 'Basic !!!' } }), 401,
			'invalid_client');
		// None of this consumed the code.
		assert.equal((await f.token(basic, codeParams(c), { how: 'basic' })).status, 200);
	});

	test('C18: Basic credentials are URL-decoded after base64', async () => {
		const c = await f.issueCode(basic);
		// encodeURIComponent of our alphabet is the identity; encode '_' and '-' on purpose.
		const enc = (s) => s.replace(/_/g, '%5F').replace(/-/g, '%2D');
		const cred = Buffer.from(`${enc(basic.client_id)}:${enc(basic.client_secret)}`).toString('base64');
		const r = await f.post('/oauth/token', codeParams(c), { headers: { authorization: `Basic ${cred}` } });
		assert.equal(r.status, 200, r.body);
	});

	test('C17: a public client presenting a secret is refused', async () => {
		const c = await f.issueCode(pub);
		assertOAuthError(await f.token({ ...pub, client_secret: 'anything' }, codeParams(c), { how: 'post' }), 401,
			'invalid_client');
	});

	test('C15: a deleted registration gets 401 invalid_client so the client re-registers', async () => {
		const gone = await f.register({ client_name: 'Gone' });
		const c = await f.issueCode(gone);
		await f.sql(`DELETE FROM oauth_clients WHERE client_id = '${gone.client_id}'`);
		assertOAuthError(await f.token(gone, codeParams(c)), 401, 'invalid_client');
	});

	test('B27, B29: a metadata-document client_id that cannot be used is invalid_client, not a server error',
		async () => {
			// A private address is refused before any connection (SSRF), so no network is needed.
			const r = await f.post('/oauth/token', { grant_type: 'authorization_code', code: 'x',
				code_verifier: newVerifier(), client_id: 'https://10.0.0.1/client.json' });
			assertOAuthError(r, 401, 'invalid_client');
			assert.match(r.json.error_description, /metadata document/);
		});

	test('C39: OPTIONS on the token endpoint is a permissive preflight', async () => {
		const r = await request({ port: f.srv.port, method: 'OPTIONS', path: '/oauth/token' });
		assert.equal(r.status, 204);
		assert.equal(r.headers['access-control-allow-origin'], '*');
		assert.equal(r.headers['access-control-allow-methods'], 'POST, OPTIONS');
		assert.match(r.headers['access-control-allow-headers'], /Authorization/);
		assert.match(r.headers['access-control-allow-headers'], /MCP-Protocol-Version/);
	});

	test('UUID shape of grant ids in tokens', async () => {
		const t = await f.exchange(pub);
		assert.match(claimsOf(t.access_token).gid, UUID_RE);
	});
});

describe('shutdown', () => {
	test('cupd exits 0 on SIGTERM with no sanitizer report', () => f.stopClean());
});
