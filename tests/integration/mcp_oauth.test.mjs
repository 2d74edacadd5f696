// mcp_oauth.test.mjs: /mcp with OAuth access tokens from cupd's own
// authorization server (grant + code stored as the consent step stores
// them, redeemed at the real /oauth/token): tools as the AI Connection,
// scopes and the step-up challenge, usage counted per connection, a session
// that outlives a token refresh, and revocation taking effect at once.
// REQUIREMENTS A26, B6, B9, B10, B34, E18; issue 5 "Authorization at /mcp"
// (last_used_at, last IP and tool calls per connection per day, batched).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { request, waitFor } from './lib/harness.mjs';
import { McpClient, READ_TOOLS, WRITE_TOOLS, oauthToken, startMcpFixture } from './mcp_fixture.mjs';

let f;

before(async () => { f = await startMcpFixture({ env: { CUPD_USAGE_FLUSH_MS: '200' } }); });
after(async () => { await f?.finish(); });

const challenge = () => `Bearer resource_metadata="${f.srv.base}/.well-known/oauth-protected-resource/mcp", scope="read write"`;

test('E18/B34: an access token from cupd\'s own AS works at /mcp and acts as the AI Connection', async () => {
	const t = await oauthToken(f);
	const c = new McpClient(f.srv.port, t.access_token);
	await c.initialize();
	const names = (await c.result('tools/list')).tools.map((x) => x.name).sort();
	assert.deepEqual(names, [...READ_TOOLS, ...WRITE_TOOLS].sort());
	const me = (await c.call('whoami')).structuredContent;
	assert.equal(me.credential.kind, 'connection');
	assert.equal(me.credential.id, t.grantId);
	assert.equal(me.credential.name, 'MCP integration client');
	assert.equal(me.user.id, f.ids.demoUser);

	// A write tool audits as the connection.
	const inc = (await f.get(f.read, '/api/v1/incidents?status=open')).data[0];
	const note = await c.call('add_incident_note', { incident_id: inc.id, body: 'note via OAuth' });
	assert.ok(!note.isError, JSON.stringify(note));
	const row = await f.sql(`SELECT actor_kind || ' ' || actor_id || ' ' || actor_user_id FROM audit_events
		WHERE action = 'incident.note' AND metadata->>'note_id' = '${note.structuredContent.id}'`);
	assert.equal(row, `connection ${t.grantId} ${f.ids.demoUser}`);

	// Usage of the connection: last_used_at, last IP, requests and tool calls per day (batched).
	await c.call('whoami');
	const usage = await waitFor(async () => {
		const u = JSON.parse(await f.sql(`SELECT json_build_object('last', g.last_used_at, 'ip', host(g.last_ip),
			'calls', (SELECT sum(tool_calls) FROM oauth_grant_usage x WHERE x.grant_id = g.id),
			'requests', (SELECT sum(requests) FROM oauth_grant_usage x WHERE x.grant_id = g.id))
			FROM oauth_grants g WHERE g.id = '${t.grantId}'`));
		return u.calls >= 3 ? u : null;
	}, { timeoutMs: 5000, what: 'batched usage of the connection' });
	assert.ok(usage.last, 'last_used_at');
	assert.equal(usage.ip, '127.0.0.1');
	assert.equal(usage.calls, 3, 'three tool calls');
	assert.ok(usage.requests >= 6, 'every request counts');

	// The MCP client's own User-Agent (not the approving browser's) is what
	// the AI Connections page names the client family from (issue 6).
	const r = await request({
		port: f.srv.port, method: 'POST', path: '/mcp',
		headers: { authorization: `Bearer ${t.access_token}`, 'content-type': 'application/json',
			accept: 'application/json, text/event-stream', 'user-agent': 'Claude-User' },
		body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
			params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
	});
	assert.equal(r.status, 200, r.body);
	await waitFor(async () => (await f.sql(`SELECT user_agent FROM oauth_grants WHERE id = '${t.grantId}'`))
		=== 'Claude-User', { timeoutMs: 5000, what: 'the MCP client\'s User-Agent on the connection' });
});

test('B9/B10: a read-only connection lists only read tools; a write tool → 403 insufficient_scope', async () => {
	const t = await oauthToken(f, { scope: 'read' });
	const c = new McpClient(f.srv.port, t.access_token);
	await c.initialize();
	const names = (await c.result('tools/list')).tools.map((x) => x.name).sort();
	assert.deepEqual(names, [...READ_TOOLS].sort());
	const r = await c.post({ jsonrpc: '2.0', id: 1, method: 'tools/call',
		params: { name: 'update_incident_status', arguments: { incident_id: '00000000-0000-0000-0000-000000000000',
			status: 'resolved' } } });
	assert.equal(r.status, 403, r.body);
	const h = r.headers['www-authenticate'];
	assert.match(h, /^Bearer error="insufficient_scope", scope="read write", resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource\/mcp"/);
});

test('A26: a session follows the connection through a token refresh, not to another credential', async () => {
	const t = await oauthToken(f);
	const c = new McpClient(f.srv.port, t.access_token);
	await c.initialize();
	const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: t.refresh_token,
		client_id: t.client.client_id, resource: `${f.srv.base}/mcp` }).toString();
	const rr = await request({ port: f.srv.port, method: 'POST', path: '/oauth/token',
		headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, timeoutMs: 10000 });
	assert.equal(rr.status, 200, rr.body);
	assert.notEqual(rr.json.access_token, t.access_token);
	c.token = rr.json.access_token;
	assert.deepEqual(await c.result('ping'), {}, 'same session after the refresh');
	const apiToken = await c.post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { token: f.admin });
	assert.equal(apiToken.status, 404, 'the same user\'s API Token does not get the session');
	const other = await oauthToken(f);
	const o = await c.post({ jsonrpc: '2.0', id: 2, method: 'ping' }, { token: other.access_token });
	assert.equal(o.status, 404, 'another connection of the same user does not either');
});

test('revoking the AI Connection ends its access at once: the next call → 401 invalid_token', async () => {
	const t = await oauthToken(f);
	const c = new McpClient(f.srv.port, t.access_token);
	await c.initialize();
	assert.ok(!(await c.call('whoami')).isError);
	const d = await f.api(f.admin, 'DELETE', `/api/v1/connections/${t.grantId}`);
	assert.equal(d.status, 200, d.body);
	const r = await c.post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami' } });
	assert.equal(r.status, 401, r.body);
	assert.ok(r.headers['www-authenticate'].startsWith(`${challenge()}, error="invalid_token"`), r.headers['www-authenticate']);
});

test('B6: a token for another resource, or a tampered one, is 401 invalid_token', async () => {
	const t = await oauthToken(f);
	const [h, p, s] = t.access_token.split('.');
	const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
	claims.aud = 'https://elsewhere.example/mcp';
	const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
	for (const tok of [forged, `${t.access_token.slice(0, -4)}AAAA`]) {
		const r = await new McpClient(f.srv.port, tok).post({ jsonrpc: '2.0', id: 1, method: 'initialize',
			params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
		assert.equal(r.status, 401, r.body);
		assert.match(r.headers['www-authenticate'], /error="invalid_token"/);
	}
});
