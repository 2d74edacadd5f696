// Refresh tokens: rotation, the 60 s grace window, reuse detection:
// REQUIREMENTS C24-C27, B41, B44, E10, D15.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup } from './lib/harness.mjs';
import { OAuthFixture, claimsOf, sha256hex } from './oauth_fixture.mjs';

let f, pub, conf;

before(async () => {
	f = await OAuthFixture.start();
	pub = await f.register({ client_name: 'Claude Code' });
	conf = await f.register({ client_name: 'Confidential', token_endpoint_auth_method: 'client_secret_post' });
});
after(cleanup);

function assertOAuthError(r, status, error) {
	assert.equal(r.status, status, `${r.status} ${r.body}`);
	assert.equal(r.json.error, error, r.body);
	assert.equal(r.headers['cache-control'], 'no-store');
}

const hashOf = (t) => sha256hex(t);

describe('rotation', () => {
	test('C24, B44: each refresh rotates: new refresh token, old one spent, same grant, new access token', async () => {
		const t0 = await f.exchange(pub);
		const r1 = await f.refresh(pub, t0.refresh_token);
		assert.equal(r1.status, 200, r1.body);
		assert.deepEqual(Object.keys(r1.json).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope',
			'token_type']);
		assert.notEqual(r1.json.refresh_token, t0.refresh_token);
		assert.match(r1.json.refresh_token, /^cupr_[A-Za-z0-9_-]{43}$/);
		assert.notEqual(r1.json.access_token, t0.access_token);
		assert.equal(claimsOf(r1.json.access_token).gid, t0.grantId, 'same family (grant)');
		assert.equal(r1.json.scope, 'read write');
		const rows = await f.sql(`SELECT string_agg((spent_at IS NOT NULL)::text, ',' ORDER BY created_at)
			FROM oauth_refresh_tokens WHERE grant_id = '${t0.grantId}'`);
		assert.equal(rows, 'true,false', 'old spent, new live, both in the grant');
		// The new one works, and its successor again.
		const r2 = await f.refresh(pub, r1.json.refresh_token);
		assert.equal(r2.status, 200, r2.body);
		const r3 = await f.refresh(pub, r2.json.refresh_token);
		assert.equal(r3.status, 200, r3.body);
		// C27: only hashes are stored.
		assert.equal(await f.sql(`SELECT count(*) FROM oauth_refresh_tokens
			WHERE token_hash = decode('${hashOf(r3.json.refresh_token)}', 'hex')`), '1');
	});

	test('C26, E10, D15: the same spent token within 60 s gets the same successor, byte for byte', async () => {
		const t0 = await f.exchange(pub);
		const a = await f.refresh(pub, t0.refresh_token);
		const b = await f.refresh(pub, t0.refresh_token);
		const c = await f.refresh(pub, t0.refresh_token);
		for (const r of [a, b, c])
			assert.equal(r.status, 200, r.body);
		assert.equal(b.json.refresh_token, a.json.refresh_token);
		assert.equal(c.json.refresh_token, a.json.refresh_token);
		assert.notEqual(b.json.access_token, a.json.access_token, 'each answer has a fresh access token');
		assert.equal(await f.sql(`SELECT count(*) FROM oauth_refresh_tokens WHERE grant_id = '${t0.grantId}'`), '2',
			'one successor, no second family');
		// The successor is the live token and works.
		const d = await f.refresh(pub, a.json.refresh_token);
		assert.equal(d.status, 200, d.body);
	});

	test('C25, E10: a spent token after its successor was used is reuse: invalid_grant and the family is dead',
		async () => {
			const t0 = await f.exchange(pub);
			const r1 = await f.refresh(pub, t0.refresh_token);
			const r2 = await f.refresh(pub, r1.json.refresh_token); // the successor is used
			assert.equal(r2.status, 200);
			const reuse = await f.refresh(pub, t0.refresh_token);
			assertOAuthError(reuse, 400, 'invalid_grant');
			// Every token of the family is dead now, including the newest.
			assertOAuthError(await f.refresh(pub, r2.json.refresh_token), 400, 'invalid_grant');
			assertOAuthError(await f.refresh(pub, r1.json.refresh_token), 400, 'invalid_grant');
			const g = await f.sql(`SELECT revoked_reason FROM oauth_grants WHERE id = '${t0.grantId}'`);
			assert.equal(g, 'refresh_reuse');
			assert.equal(await f.sql(`SELECT count(*) FROM audit_events WHERE action = 'connection.refresh_reuse'
				AND target_id = '${t0.grantId}'`), '1', 'audited');
		});

	test('C25, C26: after the 60 s window the spent token is reuse too', async () => {
		const t0 = await f.exchange(pub);
		const r1 = await f.refresh(pub, t0.refresh_token);
		assert.equal(r1.status, 200);
		await f.sql(`UPDATE oauth_refresh_tokens SET spent_at = now() - interval '61 seconds'
			WHERE token_hash = decode('${hashOf(t0.refresh_token)}', 'hex')`);
		assertOAuthError(await f.refresh(pub, t0.refresh_token), 400, 'invalid_grant');
		assertOAuthError(await f.refresh(pub, r1.json.refresh_token), 400, 'invalid_grant');
	});

	test('C27: an idle-expired refresh token is invalid_grant (and not reuse: the grant lives)', async () => {
		const t0 = await f.exchange(pub);
		await f.sql(`UPDATE oauth_refresh_tokens SET idle_expires_at = now() - interval '1 second'
			WHERE grant_id = '${t0.grantId}'`);
		assertOAuthError(await f.refresh(pub, t0.refresh_token), 400, 'invalid_grant');
		assert.equal(await f.sql(`SELECT revoked_at IS NULL FROM oauth_grants WHERE id = '${t0.grantId}'`), 't');
	});

	test('C27: refresh tokens die with their grant (absolute lifetime, revocation)', async () => {
		const t0 = await f.exchange(pub);
		await f.sql(`UPDATE oauth_grants SET expires_at = now() - interval '1 second' WHERE id = '${t0.grantId}'`);
		assertOAuthError(await f.refresh(pub, t0.refresh_token), 400, 'invalid_grant');
		const t1 = await f.exchange(pub);
		await f.sql(`UPDATE oauth_grants SET revoked_at = now(), revoked_reason = 'user' WHERE id = '${t1.grantId}'`);
		assertOAuthError(await f.refresh(pub, t1.refresh_token), 400, 'invalid_grant');
	});

	test('C27: idle expiry of a new refresh token is 30 days, capped by the grant', async () => {
		const t0 = await f.exchange(pub);
		const days = await f.sql(`SELECT round(extract(epoch FROM idle_expires_at - now()) / 86400)
			FROM oauth_refresh_tokens WHERE grant_id = '${t0.grantId}'`);
		assert.equal(days, '30');
		const t1 = await f.exchange(pub, { grantDays: 5 });
		const capped = await f.sql(`SELECT round(extract(epoch FROM idle_expires_at - now()) / 86400)
			FROM oauth_refresh_tokens WHERE grant_id = '${t1.grantId}'`);
		assert.equal(capped, '5');
	});
});

describe('refresh parameters', () => {
	test('C24: scope may narrow; a wider or unknown scope is invalid_scope and spends nothing', async () => {
		const t0 = await f.exchange(pub, { scope: 'read write' });
		assertOAuthError(await f.refresh(pub, t0.refresh_token, { extra: { scope: 'read write admin' } }), 400,
			'invalid_scope');
		assertOAuthError(await f.refresh(pub, t0.refresh_token, { extra: { scope: 'read claudeai' } }), 400,
			'invalid_scope');
		assert.equal(await f.sql(`SELECT count(*) FROM oauth_refresh_tokens WHERE grant_id = '${t0.grantId}'
			AND spent_at IS NOT NULL`), '0', 'nothing spent');
		const narrow = await f.refresh(pub, t0.refresh_token, { extra: { scope: 'read' } });
		assert.equal(narrow.status, 200, narrow.body);
		assert.equal(narrow.json.scope, 'read');
		assert.equal(claimsOf(narrow.json.access_token).scope, 'read');
		// The refresh token keeps the grant's scope (RFC 6749 §6).
		const again = await f.refresh(pub, narrow.json.refresh_token);
		assert.equal(again.json.scope, 'read write');
	});

	test('C24, B31, B41: resource must be this server\'s (the SDK sends it on refresh); else invalid_target', async () => {
		const t0 = await f.exchange(pub);
		assertOAuthError(await f.token(pub, { grant_type: 'refresh_token', refresh_token: t0.refresh_token,
			resource: 'https://evil.example/mcp' }), 400, 'invalid_target');
		const ok = await f.token(pub, { grant_type: 'refresh_token', refresh_token: t0.refresh_token });
		assert.equal(ok.status, 200, 'resource omitted is fine');
	});

	test('C25: a refresh token presented by another client is invalid_grant and does not kill the grant', async () => {
		const t0 = await f.exchange(pub);
		const other = await f.register({ client_name: 'Thief' });
		assertOAuthError(await f.refresh(other, t0.refresh_token), 400, 'invalid_grant');
		assert.equal((await f.refresh(pub, t0.refresh_token)).status, 200);
	});

	test('B41: missing, unknown and garbage refresh tokens', async () => {
		assertOAuthError(await f.token(pub, { grant_type: 'refresh_token' }), 400, 'invalid_request');
		assertOAuthError(await f.refresh(pub, 'cupr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), 400, 'invalid_grant');
		assertOAuthError(await f.refresh(pub, 'x'.repeat(600)), 400, 'invalid_grant');
	});

	test('B42: a client registered without refresh_token may not use the grant (unauthorized_client)', async () => {
		const noRefresh = await f.register({ client_name: 'NoRefresh', grant_types: ['authorization_code'] });
		assertOAuthError(await f.refresh(noRefresh, 'cupr_whatever'), 400, 'unauthorized_client');
	});

	test('C17: confidential clients refresh with either secret method', async () => {
		const t0 = await f.exchange(conf, { how: 'post' });
		const r1 = await f.refresh(conf, t0.refresh_token, { how: 'basic' });
		assert.equal(r1.status, 200, r1.body);
		const r2 = await f.refresh(conf, r1.json.refresh_token, { how: 'post' });
		assert.equal(r2.status, 200, r2.body);
		assertOAuthError(await f.refresh(conf, r2.json.refresh_token, { how: 'none' }), 401, 'invalid_client');
	});

	test('AI Connections: a refresh records last_used_at and the client IP on the grant', async () => {
		const t0 = await f.exchange(pub);
		await f.sql(`UPDATE oauth_grants SET last_used_at = NULL, last_ip = NULL WHERE id = '${t0.grantId}'`);
		assert.equal((await f.refresh(pub, t0.refresh_token)).status, 200);
		assert.equal(await f.sql(`SELECT (last_used_at IS NOT NULL) || ' ' || host(last_ip) FROM oauth_grants
			WHERE id = '${t0.grantId}'`), 'true 127.0.0.1');
	});
});

describe('shutdown', () => {
	test('cupd exits 0 on SIGTERM with no sanitizer report', () => f.stopClean());
});
