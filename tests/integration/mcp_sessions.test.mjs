// mcp_sessions.test.mjs: MCP sessions live in PostgreSQL, so a session
// made on one cupd keeps working on a second instance on the same database
// and after a restart, and a DELETE on one instance ends it on all.
// REQUIREMENTS A29, A31, A26, E11 (mcp-remote and some Claude Code builds
// never re-initialize after a 404).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { startCupd, waitFor } from './lib/harness.mjs';
import { assertCleanExit } from './rest_fixture.mjs';
import { McpClient, startMcpFixture } from './mcp_fixture.mjs';

let f, second;

before(async () => {
	f = await startMcpFixture();
	second = await startCupd({ cluster: f.cluster, env: f.env });
});
after(async () => {
	if (second && !second.exitInfo())
		assertCleanExit(second, await second.stop('SIGTERM'));
	await f?.finish();
});

test('A29: a session made on one instance works on another instance on the same database', async () => {
	const c = new McpClient(f.srv.port, f.read);
	await c.initialize({ version: '2025-06-18' });
	const me = (await c.call('whoami', undefined, { port: second.port })).structuredContent;
	assert.equal(me.org.slug, 'demo');
	const r = await c.post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { port: second.port });
	assert.equal(r.status, 200, r.body);
	assert.equal(r.headers['mcp-session-id'], c.session);
	// Bound to its credential there too (A26).
	const other = await c.post({ jsonrpc: '2.0', id: 2, method: 'ping' }, { port: second.port, token: f.write });
	assert.equal(other.status, 404);
});

test('A29/E11: a session survives a restart of cupd', async () => {
	const c = new McpClient(f.srv.port, f.read);
	await c.initialize();
	assert.deepEqual(await c.result('ping'), {});
	assertCleanExit(f.srv, await f.srv.stop('SIGTERM'));
	f.srv = await startCupd({ cluster: f.cluster, env: f.env, port: f.srv.port });
	const res = await c.call('list_services', { limit: 1 });
	assert.ok(!res.isError, JSON.stringify(res));
	assert.equal(res.structuredContent.data.length, 1);
	assert.deepEqual(await c.result('ping', undefined, { port: second.port }), {});
});

test('A31: DELETE on one instance ends the session on the other too', async () => {
	const c = new McpClient(f.srv.port, f.read);
	await c.initialize();
	assert.deepEqual(await c.result('ping', undefined, { port: second.port }), {}, 'cached on the second instance');
	const d = await f.api(f.read, 'DELETE', '/mcp', undefined, { headers: { 'mcp-session-id': c.session } });
	assert.equal(d.status, 204);
	await waitFor(async () => (await c.post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { port: second.port })).status === 404,
		{ timeoutMs: 3000, what: 'the second instance to drop the ended session' });
});

test('A29: an idle-expired session is 404 (the client re-initializes)', async () => {
	const c = new McpClient(f.srv.port, f.read);
	await c.initialize();
	await f.sql("UPDATE mcp_sessions SET idle_expires_at = now() - interval '1 second' "
		+ "WHERE created_at = (SELECT max(created_at) FROM mcp_sessions)");
	// A third instance has nothing cached: it must ask the database.
	const third = await startCupd({ cluster: f.cluster, env: f.env });
	try {
		const r = await c.post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { port: third.port });
		assert.equal(r.status, 404, r.body);
		assert.equal(r.json.error.code, -32001);
	} finally {
		assertCleanExit(third, await third.stop('SIGTERM'));
	}
});
