// web_settings_connections.test.mjs: Settings → Credentials → AI
// Connections against the real cupd and real OAuth grants (dynamic
// registration, consent page, code exchange): grouping by client, verified
// or not, the client family, plain-word scopes, last use, last IP and tool
// calls; who sees what (owners everything, a member their own); Revoke and
// Revoke all take effect on the tool's very next MCP request. Issue 6.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { cleanup, request, startCupd, waitFor } from './lib/harness.mjs';
import { KEK, csrfOf, stopClean } from './web_fixture.mjs';
import { MEMBER_EMAIL, MEMBER_PASSWORD, Settings, assertPageShape, mainOf, post, postForms } from './web_settings_fixture.mjs';

const TAB = '/settings/credentials?tab=connections';

let s, owner, member;

before(async () => {
	s = await Settings.start();
	owner = await s.signIn();
	member = await s.signIn(MEMBER_EMAIL, MEMBER_PASSWORD);
});

after(async () => {
	if (s)
		await stopClean(s.srv);
	await cleanup();
});

/** The client card of name in html (from its <article> to the next). */
function card(html, name) {
	const main = mainOf(html);
	const i = main.indexOf(`>${name}</h3>`);
	assert.ok(i >= 0, `no card for ${name}`);
	const start = main.lastIndexOf('<article', i);
	return main.slice(start, main.indexOf('</article>', i));
}

/** initialize, then tools/call whoami on one MCP session; returns the statuses. */
async function useTool(accessToken) {
	const accept = { accept: 'application/json, text/event-stream' };
	const init = await s.api(accessToken, 'POST', '/mcp', { jsonrpc: '2.0', id: 1, method: 'initialize', params: {
		protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }, accept);
	assert.equal(init.status, 200, init.body);
	const sid = init.headers['mcp-session-id'];
	const h = { ...accept, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
	await s.api(accessToken, 'POST', '/mcp', { jsonrpc: '2.0', method: 'notifications/initialized' }, h);
	const call = await s.api(accessToken, 'POST', '/mcp', { jsonrpc: '2.0', id: 2, method: 'tools/call',
		params: { name: 'whoami', arguments: {} } }, h);
	assert.equal(call.status, 200, call.body);
}

test('no connections: an empty state that explains how to connect Claude Desktop, Claude Code and Cursor',
	async () => {
		const r = await s.page(owner, TAB);
		assertPageShape(r.body, 'connections empty');
		assert.match(r.body, /No AI tools connected/);
		for (const word of ['Claude Desktop', 'Claude Code', 'Cursor', `${s.srv.base}/mcp`,
			`claude mcp add --transport http checkupstream ${s.srv.base}/mcp`])
			assert.ok(r.body.includes(word), word);
		assert.deepEqual(postForms(r.body), []);
	});

test('connections are grouped by client with family, verification, scopes, last use, IP and tool calls', async () => {
	const a1 = await s.connect(owner, { name: 'Claude Code' });
	const a2 = await s.connect(owner, { name: 'Claude Code' });
	const desk = await s.connect(owner, { name: '<b>Desk</b>', userAgent:
		'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 Claude/0.10.0 Chrome/130.0 Electron/33.0 Safari/537.36' });
	const proxy = await s.connect(owner, { name: 'MCP CLI Proxy' });
	assert.equal(a1.clientId === a2.clientId, false, 'two registrations, two clients');
	await useTool(desk.accessToken);

	const r = await waitFor(async () => {
		const p = await s.page(owner, TAB);
		return /Tool calls \(30 days\)" class="num">1</.test(p.body) && p;
	}, { timeoutMs: 5000, what: 'the tool call counted on the page' });
	assertPageShape(r.body, 'connections');
	const d = card(r.body, '&lt;b&gt;Desk&lt;/b&gt;');
	assert.doesNotMatch(r.body, /<b>Desk<\/b>/, 'client names are escaped');
	assert.match(d, /Unverified/);
	assert.match(d, /dynamic registration/);
	assert.match(d, /class="family">Claude Desktop</);
	assert.match(d, /1 session · 1 tool call in the last 30 days/);
	assert.match(d, /Write: read, and change incidents/, 'scopes in plain words');
	assert.match(d, /Last IP" *>127\.0\.0\.1|data-label="Last IP">127\.0\.0\.1/);
	assert.match(d, /data-label="Last used"><time datetime="[^"]+"[^>]*>(just now|\d+ (minute|second)s? ago)/);
	assert.match(d, /Approved from Chrome on macOS|Approved from macOS/);
	assert.match(card(r.body, 'MCP CLI Proxy'), /class="family">mcp-remote</);
	const cc = [...mainOf(r.body).matchAll(/>Claude Code<\/h3>/g)];
	assert.equal(cc.length, 2, 'each registration is its own client card');
	assert.match(card(r.body, 'Claude Code'), /class="family">Claude Code</);
	for (const g of [a1, a2, desk, proxy])
		assert.ok(postForms(r.body).includes(`/settings/connections/${g.gid}/revoke`));
});

test('Revoke one session: that tool gets 401 on its next call, the others keep working', async () => {
	const x = await s.connect(owner, { name: 'Cursor' });
	const y = await s.connect(owner, { name: 'VS Code' });
	assert.equal(await s.mcpInit(x.accessToken), 200);
	const page = await s.page(owner, TAB);
	const t0 = performance.now();
	const r = await s.submit(owner, page.body, `/settings/connections/${x.gid}/revoke`);
	assert.equal(r.status, 303);
	assert.equal(r.headers.location, `${TAB}&org=demo&done=connection-revoked`);
	assert.equal(await s.mcpInit(x.accessToken), 401);
	const ms = performance.now() - t0;
	assert.ok(ms < 1000, `revoked and refused within ${ms} ms`);
	assert.equal(await s.mcpInit(y.accessToken), 200);
	const after = await s.page(owner, r.headers.location);
	assert.match(after.body, /The AI Connection was revoked/);
	assert.ok(!postForms(after.body).includes(`/settings/connections/${x.gid}/revoke`), 'revoked sessions are gone');
	const rest = await s.api(s.admin, 'GET', '/api/v1/connections?status=revoked');
	assert.ok(rest.json.data.some((c) => c.id === x.gid && c.revoked_reason === 'user'));
});

test('a member sees only their own connections and may revoke them; not anyone else\'s', async () => {
	const mine = await s.connect(member, { name: 'Member Tool' });
	const ownerConn = await s.connect(owner, { name: 'Owner Only Tool' });
	const mp = await s.page(member, TAB);
	assertPageShape(mp.body, 'member connections');
	assert.match(mp.body, />Member Tool<\/h3>/);
	assert.doesNotMatch(mp.body, /Owner Only Tool|Claude Code/);
	assert.doesNotMatch(mp.body, /demo@example\.com<\/span><br>/);
	const op = await s.page(owner, TAB);
	assert.match(card(op.body, 'Member Tool'), new RegExp(MEMBER_EMAIL.replace('.', '\\.')));

	const csrf = csrfOf(member.get('cupd_session'));
	const r = await post(s.srv, member, `/settings/connections/${ownerConn.gid}/revoke`, { csrf, org: 'demo' });
	assert.equal(r.status, 403);
	assert.equal(await s.mcpInit(ownerConn.accessToken), 200);

	const ok = await s.submit(member, mp.body, `/settings/connections/${mine.gid}/revoke`);
	assert.equal(ok.status, 303);
	assert.equal(await s.mcpInit(mine.accessToken), 401);
});

test('Revoke all: an owner ends every session of a client in the org; a member ends their own', async () => {
	// Two sessions of one client: the owner's and the member's (same client id).
	const first = await s.connect(owner, { name: 'Shared Tool' });
	const client = (await s.api(s.admin, 'GET', '/api/v1/connections?status=active')).json.data
		.find((c) => c.id === first.gid).client;
	const second = await s.connect(member, { clientId: first.clientId });
	const third = await s.connect(owner, { clientId: first.clientId });
	const page = await s.page(owner, TAB);
	assert.match(card(page.body, 'Shared Tool'), /3 sessions/);
	const r = await s.submit(owner, page.body, `/settings/connections/clients/${client.id}/revoke`);
	assert.equal(r.status, 303);
	assert.match(r.headers.location, /done=client-revoked/);
	for (const t of [first, second, third])
		assert.equal(await s.mcpInit(t.accessToken), 401);
	assert.doesNotMatch((await s.page(owner, TAB)).body, />Shared Tool<\/h3>/);

	// The member's Revoke all touches only their own sessions.
	const own = await s.connect(member, { name: 'Member Shared' });
	const ownersToo = await s.connect(owner, { clientId: own.clientId });
	const mclient = (await s.api(s.admin, 'GET', '/api/v1/connections?status=active')).json.data
		.find((c) => c.id === own.gid).client;
	const mp = await s.page(member, TAB);
	const mr = await s.submit(member, mp.body, `/settings/connections/clients/${mclient.id}/revoke`);
	assert.equal(mr.status, 303);
	assert.equal(await s.mcpInit(own.accessToken), 401);
	assert.equal(await s.mcpInit(ownersToo.accessToken), 200, 'the owner\'s session of that client stays');
	// Again: nothing left of theirs → 404 page.
	const again = await post(s.srv, member, `/settings/connections/clients/${mclient.id}/revoke`,
		{ csrf: csrfOf(member.get('cupd_session')), org: 'demo' });
	assert.equal(again.status, 404);
});

test('two instances: within a second of the 303 the other instance refuses the revoked session and token', async () => {
	const other = await startCupd({ cluster: s.w.cluster, env: { CUPD_KEY_ENCRYPTION_KEY: KEK, CUPD_ACCESS_LOG: 'off',
		CUPD_PUBLIC_URL: s.srv.base, // one deployment behind a load balancer: the same issuer and audience
		CUPD_RATE_IP_PER_MIN: '100000' } });
	try {
		// A balancer forwards the public Host to whichever instance it picks.
		const host = new URL(s.srv.base).host;
		const initOn = async (port, token) => (await request({ port, method: 'POST', path: '/mcp', timeoutMs: 10000,
			headers: { host, authorization: `Bearer ${token}`, 'content-type': 'application/json',
				accept: 'application/json, text/event-stream' },
			body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18',
				capabilities: {}, clientInfo: { name: 't', version: '1' } } }) })).status;
		const c = await s.connect(owner, { name: 'Two Instances' });
		assert.equal(await initOn(other.port, c.accessToken), 200, 'the other instance knows the session');
		const t = await s.api(s.admin, 'POST', '/api/v1/api-tokens', { name: 'two instances', scope: 'read' });
		const whoamiOn = async (port) => (await request({ port, path: '/api/v1/whoami',
			headers: { host, authorization: `Bearer ${t.json.token}` } })).status;
		assert.equal(await whoamiOn(other.port), 200, 'and caches the token');

		let page = await s.page(owner, TAB);
		let r = await s.submit(owner, page.body, `/settings/connections/${c.gid}/revoke`);
		assert.equal(r.status, 303);
		// app_notify_barrier waits for this instance's listener only; the other
		// one applies the same NOTIFY at about the same moment, so allow it a
		// moment (the bound is a second) and report how long it took.
		const t0 = performance.now();
		let tries = 0;
		await waitFor(async () => (++tries, await initOn(other.port, c.accessToken) === 401),
			{ timeoutMs: 1000, intervalMs: 5, what: 'the other instance refusing the session' });
		const ms = performance.now() - t0;
		console.log(`other instance refused the revoked session ${ms.toFixed(1)} ms after the 303 (attempt ${tries})`);

		page = await s.page(owner, `/settings/api-tokens/${t.json.id}/revoke`);
		r = await s.submit(owner, page.body, `/settings/api-tokens/${t.json.id}/revoke`);
		assert.equal(r.status, 303);
		await waitFor(async () => await whoamiOn(other.port) === 401,
			{ timeoutMs: 1000, intervalMs: 5, what: 'the other instance refusing the token' });
	} finally {
		await stopClean(other);
	}
});
