// Introspection (RFC 7662), revocation (RFC 7009), token validation and
// the AI Connections registry: REQUIREMENTS C28, C29, B34, B35, and the
// issue's "Revoking a connection stops its access tokens ... and kills its
// refresh tokens".
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { cleanup, request } from './lib/harness.mjs';
import { OAuthFixture, UUID_RE, b64url, claimsOf, es256, hs256, jws } from './oauth_fixture.mjs';

let f, conf, basic, pub;

before(async () => {
	f = await OAuthFixture.start();
	conf = await f.register({ client_name: 'Confidential', token_endpoint_auth_method: 'client_secret_post' });
	basic = await f.register({ client_name: 'Basic', token_endpoint_auth_method: 'client_secret_basic' });
	pub = await f.register({ client_name: 'Public' });
});
after(cleanup);

const INACTIVE = { active: false };
const ACTIVE_KEYS = ['active', 'aud', 'client_id', 'exp', 'gid', 'iat', 'iss', 'scope', 'sub', 'token_type'];

describe('introspection', () => {
	test('C29: active access and refresh tokens read {active, scope, client_id, sub, exp, iat, aud, iss, token_type}',
		async () => {
			const t = await f.exchange(conf, { how: 'post' });
			for (const how of ['post', 'basic']) {
				const a = await f.introspect(conf, t.access_token, { how });
				assert.equal(a.status, 200, a.body);
				assert.equal(a.headers['cache-control'], 'no-store');
				assert.deepEqual(Object.keys(a.json).sort(), ACTIVE_KEYS);
				const cl = claimsOf(t.access_token);
				assert.deepEqual(a.json, { active: true, scope: 'read write', client_id: conf.client_id, sub: f.ids.alice,
					exp: cl.exp, iat: cl.iat, aud: f.resource, iss: f.issuer, token_type: 'Bearer', gid: t.grantId });
			}
			const r = await f.introspect(conf, t.refresh_token, { how: 'post' });
			assert.deepEqual(Object.keys(r.json).sort(), ACTIVE_KEYS);
			assert.equal(r.json.active, true);
			assert.equal(r.json.gid, t.grantId);
			assert.equal(r.json.sub, f.ids.alice);
			assert.ok(r.json.exp > Date.now() / 1000 + 29 * 86400, 'refresh exp = idle expiry');
		});

	test('C29: everything else is exactly {"active":false}: garbage, spent, another client\'s token', async () => {
		const t = await f.exchange(conf, { how: 'post' });
		for (const tok of ['garbage', 'cupr_nothing', 'a.b.c', `${t.access_token}x`, 'x'.repeat(5000)]) {
			const r = await f.introspect(conf, tok, { how: 'post' });
			assert.equal(r.status, 200);
			assert.deepEqual(r.json, INACTIVE, tok.slice(0, 20));
			assert.equal(r.body, '{"active":false}');
		}
		const r1 = await f.refresh(conf, t.refresh_token, { how: 'post' });
		assert.deepEqual((await f.introspect(conf, t.refresh_token, { how: 'post' })).json, INACTIVE, 'spent');
		assert.equal((await f.introspect(conf, r1.json.refresh_token, { how: 'post' })).json.active, true);
		// Another confidential client learns nothing about this client's tokens.
		assert.deepEqual((await f.introspect(basic, r1.json.access_token)).json, INACTIVE);
		assert.deepEqual((await f.introspect(basic, r1.json.refresh_token)).json, INACTIVE);
	});

	test('C29: the caller must authenticate as a confidential client: otherwise 401', async () => {
		const t = await f.exchange(conf, { how: 'post' });
		const none = await f.post('/oauth/introspect', { token: t.access_token });
		assert.equal(none.status, 401);
		assert.equal(none.json.error, 'invalid_client');
		const publicClient = await f.introspect(pub, t.access_token);
		assert.equal(publicClient.status, 401, 'public clients cannot introspect');
		const wrong = await f.introspect({ ...basic, client_secret: 'nope' }, t.access_token, { how: 'basic' });
		assert.equal(wrong.status, 401);
		assert.match(wrong.headers['www-authenticate'], /^Basic /);
		const apiToken = await f.post('/oauth/introspect', { token: t.access_token },
			{ headers: { authorization: `Bearer ${f.tokens.aliceAdmin}` } });
		assert.equal(apiToken.status, 401, 'API Tokens are not introspection credentials');
		const noToken = await f.post('/oauth/introspect', { client_id: conf.client_id, client_secret: conf.client_secret });
		assert.equal(noToken.status, 400);
		assert.equal(noToken.json.error, 'invalid_request');
	});
});

describe('B34: token validation (tokens crafted here with node:crypto)', () => {
	let key, grant, base;
	before(async () => {
		key = await f.signingKey();
		grant = await f.exchange(conf, { how: 'post' });
		const now = Math.floor(Date.now() / 1000);
		base = { iss: f.issuer, sub: f.ids.alice, aud: f.resource, client_id: conf.client_id, scope: 'read',
			iat: now, exp: now + 600, jti: 'forged-jti-0001', gid: grant.grantId, org: f.ids.org };
	});
	const intro = async (tok) => (await f.introspect(conf, tok, { how: 'post' })).json;

	test('control: a token signed with the real key and right claims is active (the forgeries below are meaningful)',
		async () => {
			const ok = jws({ alg: 'ES256', kid: key.kid, typ: 'JWT' }, base, es256(key.key));
			assert.equal((await intro(ok)).active, true);
		});

	test('B34, B35: another audience, another issuer, expired, not yet valid: inactive', async () => {
		const now = Math.floor(Date.now() / 1000);
		const sign = (claims) => jws({ alg: 'ES256', kid: key.kid, typ: 'JWT' }, { ...base, ...claims }, es256(key.key));
		for (const [what, claims] of [
			['wrong audience', { aud: 'https://other.example/mcp' }],
			['audience = issuer', { aud: f.issuer }],
			['wrong issuer', { iss: 'https://evil.example' }],
			['expired beyond leeway', { iat: now - 7200, exp: now - 120 }],
			['not yet valid', { iat: now + 600, exp: now + 1200 }],
			['nbf in the future', { nbf: now + 600 }],
			['missing gid', { gid: undefined }],
		])
			assert.deepEqual(await intro(sign(claims)), INACTIVE, what);
	});

	test('B34: alg none, HS256 keyed with the public key (algorithm confusion), tampering, unknown kid', async () => {
		assert.deepEqual(await intro(jws({ alg: 'none', kid: key.kid, typ: 'JWT' }, base, null)), INACTIVE, 'alg none');
		assert.deepEqual(await intro(jws({ alg: 'none', typ: 'JWT' }, base, null)), INACTIVE, 'alg none, no kid');
		const confused = jws({ alg: 'HS256', kid: key.kid, typ: 'JWT' }, base, hs256(Buffer.from(key.publicPem)));
		assert.deepEqual(await intro(confused), INACTIVE, 'HS256 with the public key as secret');
		const other = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
		assert.deepEqual(await intro(jws({ alg: 'ES256', kid: key.kid, typ: 'JWT' }, base, es256(other))), INACTIVE,
			'signed with another key');
		assert.deepEqual(await intro(jws({ alg: 'ES256', kid: 'unknown-kid-123', typ: 'JWT' }, base, es256(key.key))),
			INACTIVE, 'unknown kid');
		const good = jws({ alg: 'ES256', kid: key.kid, typ: 'JWT' }, base, es256(key.key));
		const [h, p, s] = good.split('.');
		const tampered = `${h}.${b64url(JSON.stringify({ ...base, scope: 'read write admin' }))}.${s}`;
		assert.deepEqual(await intro(tampered), INACTIVE, 'payload changed after signing');
		assert.deepEqual(await intro(`${h}.${p}.`), INACTIVE, 'signature stripped');
		assert.deepEqual(await intro(jws({ alg: 'ES384', kid: key.kid }, base, es256(key.key))), INACTIVE, 'ES384');
	});
});

describe('revocation (RFC 7009)', () => {
	const revoke = (client, token, { how, extra = {} } = {}) => {
		const a = OAuthFixture.auth(client, how);
		return f.post('/oauth/revoke', { ...a.params, token, ...extra }, { headers: a.headers });
	};

	test('C28: revoking a refresh token revokes its grant: the access tokens die too', async () => {
		const t = await f.exchange(conf, { how: 'post' });
		const r = await revoke(conf, t.refresh_token, { how: 'post', extra: { token_type_hint: 'refresh_token' } });
		assert.equal(r.status, 200, r.body);
		assert.equal(r.headers['cache-control'], 'no-store');
		assert.equal(r.headers['access-control-allow-origin'], '*');
		assert.deepEqual((await f.introspect(conf, t.access_token, { how: 'post' })).json, INACTIVE);
		assert.deepEqual((await f.introspect(conf, t.refresh_token, { how: 'post' })).json, INACTIVE);
		assert.equal((await f.refresh(conf, t.refresh_token, { how: 'post' })).json.error, 'invalid_grant');
		assert.equal(await f.sql(`SELECT revoked_reason FROM oauth_grants WHERE id = '${t.grantId}'`),
			'token_revocation');
	});

	test('C28: revoking an access token ends its connection; a wrong hint does not matter', async () => {
		const t = await f.exchange(pub);
		const r = await revoke(pub, t.access_token, { extra: { token_type_hint: 'refresh_token' } });
		assert.equal(r.status, 200, r.body);
		assert.equal((await f.refresh(pub, t.refresh_token)).json.error, 'invalid_grant');
		const rows = await f.sql(`SELECT count(*) FROM audit_events WHERE action = 'connection.revoke'
			AND target_id = '${t.grantId}'`);
		assert.equal(rows, '1');
	});

	test('C28: unknown, garbage, already revoked and unknown-hint tokens all answer 200', async () => {
		const t = await f.exchange(pub);
		for (const [tok, hint] of [['cupr_unknown', undefined], ['garbage', 'foo_bar'], [t.refresh_token, 'weird'],
			[t.refresh_token, undefined], [t.access_token, 'access_token']]) {
			const r = await revoke(pub, tok, { extra: { token_type_hint: hint } });
			assert.equal(r.status, 200, `${tok.slice(0, 12)} ${hint}: ${r.body}`);
		}
	});

	test('C28: a client cannot revoke another client\'s tokens (200, nothing happens)', async () => {
		const t = await f.exchange(conf, { how: 'post' });
		assert.equal((await revoke(pub, t.refresh_token)).status, 200);
		assert.equal((await revoke(pub, t.access_token)).status, 200);
		assert.equal((await f.introspect(conf, t.access_token, { how: 'post' })).json.active, true);
		assert.equal((await f.refresh(conf, t.refresh_token, { how: 'post' })).status, 200);
	});

	test('C28: the caller authenticates like at the token endpoint; token is required', async () => {
		const t = await f.exchange(conf, { how: 'post' });
		const bad = await revoke({ ...conf, client_secret: 'x' }, t.refresh_token, { how: 'post' });
		assert.equal(bad.status, 401);
		assert.equal(bad.json.error, 'invalid_client');
		const missing = await f.post('/oauth/revoke', { client_id: pub.client_id });
		assert.equal(missing.status, 400);
		assert.equal(missing.json.error, 'invalid_request');
		const pre = await request({ port: f.srv.port, method: 'OPTIONS', path: '/oauth/revoke' });
		assert.equal(pre.status, 204);
		assert.equal(pre.headers['access-control-allow-methods'], 'POST, OPTIONS');
	});
});

describe('AI Connections registry', () => {
	test('GET /api/v1/connections: admins see the org, members their own; fields of each connection', async () => {
		const mine = await f.exchange(pub, { user: f.ids.bob });
		await f.sql(`INSERT INTO oauth_grant_usage (grant_id, day, tool_calls, requests) VALUES
			('${mine.grantId}', current_date, 7, 9), ('${mine.grantId}', current_date - 40, 100, 100)`);
		const admin = await f.api(f.tokens.aliceAdmin, 'GET', '/api/v1/connections?limit=200');
		assert.equal(admin.status, 200, admin.body);
		const ids = admin.json.data.map((c) => c.id);
		assert.ok(ids.includes(mine.grantId), 'admin sees bob\'s');
		assert.ok(admin.json.data.some((c) => c.user.id === f.ids.alice), 'and alice\'s');
		const bob = await f.api(f.tokens.bobRead, 'GET', '/api/v1/connections?limit=200');
		assert.equal(bob.status, 200);
		assert.ok(bob.json.data.length >= 1);
		assert.ok(bob.json.data.every((c) => c.user.id === f.ids.bob), 'members see only their own');
		const c = bob.json.data.find((x) => x.id === mine.grantId);
		assert.match(c.id, UUID_RE);
		assert.deepEqual(c.user, { id: f.ids.bob, email: 'bob@example.com' });
		assert.equal(c.client.client_id, pub.client_id);
		assert.equal(c.client.name, 'Public');
		assert.equal(c.client.verified, false);
		assert.equal(c.client.registered_via, 'dcr');
		assert.deepEqual(c.scopes, ['read', 'write']);
		assert.equal(c.resource, f.resource);
		assert.equal(c.status, 'active');
		assert.equal(c.revoked_at, null);
		assert.equal(c.last_ip, '127.0.0.1');
		assert.ok(c.last_used_at);
		assert.equal(c.tool_calls_30d, 7, 'only the last 30 days count');
		for (const k of ['created_at', 'expires_at', 'user_agent'])
			assert.ok(k in c, k);
	});

	test('filters and pagination', async () => {
		const active = await f.api(f.tokens.aliceAdmin, 'GET', '/api/v1/connections?status=active&limit=200');
		assert.ok(active.json.data.every((c) => c.status === 'active'));
		const revoked = await f.api(f.tokens.aliceAdmin, 'GET', '/api/v1/connections?status=revoked&limit=200');
		assert.ok(revoked.json.data.length >= 1 && revoked.json.data.every((c) => c.status === 'revoked'));
		const bobs = await f.api(f.tokens.aliceAdmin, 'GET', `/api/v1/connections?user=${f.ids.bob}&limit=200`);
		assert.ok(bobs.json.data.every((c) => c.user.id === f.ids.bob));
		const bad = await f.api(f.tokens.aliceAdmin, 'GET', '/api/v1/connections?status=weird');
		assert.equal(bad.status, 400);
		// Pages of one, newest first, no repeats.
		const seen = new Set();
		let cursor = null, last = null, pages = 0;
		do {
			const r = await f.api(f.tokens.aliceAdmin, 'GET',
				`/api/v1/connections?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
			assert.equal(r.status, 200, r.body);
			for (const c of r.json.data) {
				assert.ok(!seen.has(c.id));
				seen.add(c.id);
				if (last)
					assert.ok(c.created_at <= last, 'newest first');
				last = c.created_at;
			}
			cursor = r.json.next_cursor;
		} while (cursor && ++pages < 500);
		const total = await f.sql(`SELECT count(*) FROM oauth_grants WHERE org_id = '${f.ids.org}'`);
		assert.equal(seen.size, Number(total));
	});

	test('DELETE /api/v1/connections/{id}: the owner (write) revokes; tokens stop at once; audited', async () => {
		const t = await f.exchange(conf, { user: f.ids.bob, how: 'post' });
		assert.equal((await f.introspect(conf, t.access_token, { how: 'post' })).json.active, true);
		const ro = await f.api(f.tokens.bobRead, 'DELETE', `/api/v1/connections/${t.grantId}`);
		assert.equal(ro.status, 403, 'read scope cannot revoke');
		const r = await f.api(f.tokens.bobWrite, 'DELETE', `/api/v1/connections/${t.grantId}`);
		assert.equal(r.status, 200, r.body);
		assert.equal(r.json.status, 'revoked');
		assert.equal(r.json.revoked_reason, 'user');
		assert.ok(r.json.revoked_at);
		assert.deepEqual((await f.introspect(conf, t.access_token, { how: 'post' })).json, INACTIVE);
		assert.equal((await f.refresh(conf, t.refresh_token, { how: 'post' })).json.error, 'invalid_grant');
		assert.equal(await f.sql(`SELECT actor_kind || ' ' || action || ' ' || actor_user_id FROM audit_events
			WHERE action = 'connection.revoke' AND target_id = '${t.grantId}'`), `api_token connection.revoke ${f.ids.bob}`);
		// Idempotent.
		const again = await f.api(f.tokens.bobWrite, 'DELETE', `/api/v1/connections/${t.grantId}`);
		assert.equal(again.status, 200);
		assert.equal(again.json.revoked_at, r.json.revoked_at);
	});

	test('DELETE: someone else\'s needs admin scope; other orgs and bad ids are 404', async () => {
		const alices = await f.exchange(pub, { user: f.ids.alice });
		const bobs = await f.exchange(pub, { user: f.ids.bob });
		const forbidden = await f.api(f.tokens.bobWrite, 'DELETE', `/api/v1/connections/${alices.grantId}`);
		assert.equal(forbidden.status, 403, forbidden.body);
		assert.equal(await f.sql(`SELECT revoked_at IS NULL FROM oauth_grants WHERE id = '${alices.grantId}'`), 't');
		const byAdmin = await f.api(f.tokens.aliceAdmin, 'DELETE', `/api/v1/connections/${bobs.grantId}`);
		assert.equal(byAdmin.status, 200, byAdmin.body);
		assert.equal(byAdmin.json.revoked_reason, 'admin');
		await f.cli(['org', 'add', '--slug', 'other', '--name', 'Other']);
		await f.cli(['user', 'add', '--email', 'eve@example.com', '--org', 'other', '--role', 'owner'],
			'eve password 1234567\n');
		const eve = await f.sql("SELECT id FROM users WHERE email = 'eve@example.com'");
		const otherOrg = await f.sql("SELECT id FROM orgs WHERE slug = 'other'");
		const eves = await f.exchange(pub, { user: eve, org: otherOrg });
		const list = await f.api(f.tokens.aliceAdmin, 'GET', '/api/v1/connections?limit=200');
		assert.ok(!list.json.data.some((c) => c.id === eves.grantId), 'another org\'s connection is not listed');
		for (const id of [eves.grantId, '00000000-0000-0000-0000-000000000000', 'not-a-uuid', "1' OR '1'='1"]) {
			const r = await f.api(f.tokens.aliceAdmin, 'DELETE', `/api/v1/connections/${encodeURIComponent(id)}`);
			assert.equal(r.status, 404, id);
		}
		assert.equal(await f.sql(`SELECT revoked_at IS NULL FROM oauth_grants WHERE id = '${eves.grantId}'`), 't');
		const sdk = await f.api('cup_sdk_whatever', 'GET', '/api/v1/connections');
		assert.ok(sdk.status === 401 || sdk.status === 403);
	});
});

describe('shutdown', () => {
	test('cupd exits 0 on SIGTERM with no sanitizer report', () => f.stopClean());
});
