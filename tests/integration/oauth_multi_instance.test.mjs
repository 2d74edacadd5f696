// Two cupd instances on one database: concurrent refreshes (REQUIREMENTS
// C26, E10, D15), revocation everywhere within a second (DESIGN §5, the
// issue's "revocation across two instances"), key rotation without breaking
// live tokens (DESIGN §2, "key rotation without breaking live tokens").
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup, now, request, waitFor } from './lib/harness.mjs';
import { OAuthFixture, claimsOf, headerOf } from './oauth_fixture.mjs';

let f, a, b, client;

before(async () => {
	// One deployment behind a balancer: both instances share CUPD_PUBLIC_URL
	// (issuer and audience), the database and the key encryption key.
	f = await OAuthFixture.start({ instances: 2, publicUrl: 'https://cupd.example.test' });
	[a, b] = f.servers;
	client = await f.register({ client_name: 'Shared', token_endpoint_auth_method: 'client_secret_post' });
});
after(cleanup);

const introspect = (srv, token) => f.introspect(client, token, { srv, how: 'post' });

describe('concurrent refreshes', () => {
	test('C26, E10, D15: 50 concurrent refreshes of one token over two instances → one successor, zero errors',
		async () => {
			const t = await f.exchange(client, { how: 'post' });
			const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
				f.refresh(client, t.refresh_token, { srv: i % 2 ? b : a, how: 'post' })));
			const failures = results.filter((r) => r.status !== 200);
			assert.deepEqual(failures.map((r) => `${r.status} ${r.body}`), [], 'zero errors');
			const successors = new Set(results.map((r) => r.json.refresh_token));
			assert.equal(successors.size, 1, 'exactly one distinct successor');
			const access = new Set(results.map((r) => r.json.access_token));
			assert.equal(access.size, 50, 'every answer carries its own access token');
			assert.equal(await f.sql(`SELECT count(*) FROM oauth_refresh_tokens WHERE grant_id = '${t.grantId}'`), '2');
			assert.equal(await f.sql(`SELECT revoked_at IS NULL FROM oauth_grants WHERE id = '${t.grantId}'`), 't');
			// The successor works on either instance, and the family lives on.
			const [succ] = successors;
			const next = await f.refresh(client, succ, { srv: b, how: 'post' });
			assert.equal(next.status, 200, next.body);
			assert.equal((await introspect(a, next.json.access_token)).json.active, true);
		});

	test('C25: reuse detected on one instance kills the family on both', async () => {
		const t = await f.exchange(client, { how: 'post' });
		const r1 = await f.refresh(client, t.refresh_token, { srv: a, how: 'post' });
		const r2 = await f.refresh(client, r1.json.refresh_token, { srv: b, how: 'post' });
		assert.equal(r2.status, 200);
		const reuse = await f.refresh(client, t.refresh_token, { srv: b, how: 'post' });
		assert.equal(reuse.json.error, 'invalid_grant');
		await waitFor(async () => !(await introspect(a, r2.json.access_token)).json.active,
			{ timeoutMs: 1000, intervalMs: 20, what: 'instance A to see the revocation' });
		assert.equal((await introspect(b, r2.json.access_token)).json.active, false);
	});
});

describe('revocation across instances', () => {
	test('DESIGN §5: a connection revoked through A is inactive on A at once and on B within 1 s', async () => {
		const t = await f.exchange(client, { how: 'post' });
		// Both instances have verified (and cached) the token.
		assert.equal((await introspect(a, t.access_token)).json.active, true);
		assert.equal((await introspect(b, t.access_token)).json.active, true);
		const del = await f.api(f.tokens.aliceAdmin, 'DELETE', `/api/v1/connections/${t.grantId}`, { srv: a });
		assert.equal(del.status, 200, del.body);
		const t0 = now();
		assert.equal((await introspect(a, t.access_token)).json.active, false, 'A: no propagation delay');
		await waitFor(async () => !(await introspect(b, t.access_token)).json.active,
			{ timeoutMs: 1000, intervalMs: 10, what: 'instance B to see the revocation' });
		const ms = now() - t0;
		assert.ok(ms < 1000, `B saw it after ${ms.toFixed(0)} ms`);
		assert.equal((await f.refresh(client, t.refresh_token, { srv: b, how: 'post' })).json.error, 'invalid_grant');
	});

	test('C28: /oauth/revoke on B ends the connection on A within 1 s', async () => {
		const t = await f.exchange(client, { how: 'post' });
		assert.equal((await introspect(a, t.access_token)).json.active, true);
		const r = await f.post('/oauth/revoke', { client_id: client.client_id, client_secret: client.client_secret,
			token: t.refresh_token }, { srv: b });
		assert.equal(r.status, 200);
		await waitFor(async () => !(await introspect(a, t.access_token)).json.active,
			{ timeoutMs: 1000, intervalMs: 10, what: 'instance A to see the revocation' });
	});
});

describe('signing key rotation', () => {
	test('DESIGN §2: cupd keys rotate: both keys in the JWKS, old tokens stay valid, new ones use the new key',
		async () => {
			const before1 = await f.exchange(client, { how: 'post' });
			const oldKid = headerOf(before1.access_token).kid;
			const r = await f.cli(['keys', 'rotate'], '', { CUPD_KEY_ENCRYPTION_KEY: f.kek });
			assert.match(r.stderr, /rotated/);
			for (const srv of [a, b])
				await waitFor(async () => (await request({ port: srv.port, path: '/oauth/jwks.json' })).json.keys.length === 2,
					{ timeoutMs: 3000, what: `instance ${srv.port} to reload its keys` });
			const jwks = (await request({ port: a.port, path: '/oauth/jwks.json' })).json;
			assert.ok(jwks.keys.some((k) => k.kid === oldKid), 'the retired key still verifies');
			const newKid = jwks.keys.find((k) => k.kid !== oldKid).kid;
			// The old token was never verified before: both instances check it with the retired key now.
			for (const srv of [a, b])
				assert.equal((await introspect(srv, before1.access_token)).json.active, true, `old token on ${srv.port}`);
			// New tokens are signed with the new key, on both instances.
			for (const srv of [a, b]) {
				const next = await f.refresh(client, before1.refresh_token, { srv, how: 'post' });
				assert.equal(next.status, 200, next.body);
				assert.equal(headerOf(next.json.access_token).kid, newKid);
				assert.equal((await introspect(srv === a ? b : a, next.json.access_token)).json.active, true);
				assert.equal(claimsOf(next.json.access_token).gid, before1.grantId);
			}
		});
});

describe('shutdown', () => {
	test('cupd exits 0 on SIGTERM with no sanitizer report', () => f.stopClean());
});
