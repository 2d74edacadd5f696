// mcp_oauth_flow.test.mjs: an MCP client connected through the real OAuth
// flow, end to end. The official MCP TypeScript SDK's auth() discovers and
// registers; Playwright drives Debian's Chromium through sign-in and the
// consent page; a loopback HTTP server receives the code; then the SDK
// Client + StreamableHTTPClientTransport (with that OAuthClientProvider)
// initializes, lists and calls every tool, reads resources, gets the
// prompt, refreshes its token in the middle of the session and keeps the
// session, and after the AI Connection is revoked (DELETE
// /api/v1/connections/{id} with an admin API Token) its next call fails
// with 401.
// Issue 5 "End-to-end"; REQUIREMENTS A26, A29, A45-A52, B6, B7, B34, C24, D5.
//
// Every request goes to 127.0.0.1: the browser refuses any other host.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { chromium } from 'playwright-core';

import { cleanup, request, runCli, startCluster, startCupd } from '../integration/lib/harness.mjs';

const CHROMIUM = process.env.CUPD_CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 15000;
const TOOLS = ['whoami', 'list_projects', 'list_services', 'get_service', 'get_dependency_graph', 'list_incidents',
	'get_incident', 'list_runbooks', 'get_runbook', 'search', 'acknowledge_incident', 'add_incident_note',
	'update_incident_status'];

function within(promise, ms, what) {
	let timer;
	return Promise.race([promise.finally(() => clearTimeout(timer)),
		new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms); })]);
}

/** The client's loopback redirect URI; resolves code() with the first callback's query. */
async function loopback() {
	let resolveHit;
	const hit = new Promise((r) => { resolveHit = r; });
	const server = http.createServer((req, res) => {
		const u = new URL(req.url, 'http://127.0.0.1');
		if (u.pathname === '/callback')
			resolveHit(Object.fromEntries(u.searchParams));
		res.writeHead(200, { 'content-type': 'text/plain' });
		res.end('You can close this window.');
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	return { url: `http://127.0.0.1:${server.address().port}/callback`, hit: (ms) => within(hit, ms, 'the redirect'),
		close: () => new Promise((r) => server.close(r)) };
}

/** An in-memory OAuthClientProvider; the test opens the authorization URL itself. */
class Provider {
	constructor(redirect) {
		this.redirect = redirect;
		this.st = randomBytes(12).toString('base64url');
		this.saved = {};
		this.history = [];
	}
	get redirectUrl() { return this.redirect; }
	get clientMetadata() {
		return { client_name: 'cupd MCP e2e client', redirect_uris: [this.redirect], token_endpoint_auth_method: 'none',
			grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] };
	}
	state() { return this.st; }
	clientInformation() { return this.saved.client; }
	saveClientInformation(c) { this.saved.client = c; }
	tokens() { return this.saved.tokens; }
	saveTokens(t) { this.saved.tokens = t; this.history.push(t); }
	redirectToAuthorization(u) { this.authorizationUrl = u; }
	saveCodeVerifier(v) { this.saved.verifier = v; }
	codeVerifier() { return this.saved.verifier; }
	saveDiscoveryState(s) { this.saved.discovery = s; }
	discoveryState() { return this.saved.discovery; }
}

const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

let srv, cluster, password, adminToken, profile;

before(async () => {
	cluster = await startCluster();
	const dir = await mkdtemp(path.join(os.tmpdir(), 'cupd-e2e-mcp-oauth-'));
	const kek = randomBytes(32).toString('hex');
	const env = { DATABASE_URL: cluster.url, CUPD_KEY_ENCRYPTION_KEY: kek };
	for (const args of [['migrate'], ['seed-demo', '--password-file', path.join(dir, 'pw')]]) {
		const r = await runCli(args, { env });
		assert.equal(r.code, 0, r.stderr);
	}
	password = (await readFile(path.join(dir, 'pw'), 'utf8')).trim();
	const t = await runCli(['token', 'create', '--org', 'demo', '--user', 'demo@example.com', '--name', 'e2e admin',
		'--scopes', 'admin'], { env });
	assert.equal(t.code, 0, t.stderr);
	adminToken = t.stdout.trim();
	srv = await startCupd({ cluster, env: { CUPD_KEY_ENCRYPTION_KEY: kek, CUPD_ACCESS_LOG: 'off' } });
	profile = await mkdtemp(path.join(os.tmpdir(), 'cupd-e2e-mcp-chromium-'));
});

after(async () => {
	if (profile)
		await rm(profile, { recursive: true, force: true });
	if (srv) {
		const r = await srv.stop('SIGTERM');
		assert.doesNotMatch(srv.stderr(), /Sanitizer|runtime error:/);
		assert.equal(r.code, 0);
	}
	await cleanup();
});

/** A person signs in and approves in Chromium; returns the authorization code. */
async function approveInBrowser(authorizationUrl, cb) {
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM, headless: true, timeout: STEP_MS,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync'],
	});
	try {
		context.setDefaultTimeout(STEP_MS);
		await context.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1'
			? route.continue() : route.abort()));
		const page = context.pages()[0] ?? await context.newPage();
		await page.goto(authorizationUrl.href);
		await page.getByLabel('Email').fill('demo@example.com');
		await page.getByLabel('Password').fill(password);
		await page.getByRole('button', { name: 'Sign in' }).click();
		await page.getByRole('button', { name: 'Approve', exact: true }).click();
		const q = await cb.hit(STEP_MS);
		assert.ok(q.code, `the redirect carries a code: ${JSON.stringify(q)}`);
		return q.code;
	} finally {
		await context.close().catch(() => {});
	}
}

test('OAuth-connected SDK client: every tool, resources, prompt, refresh mid-session, revocation → 401',
	{ timeout: 180000 }, async () => {
		const serverUrl = `${srv.base}/mcp`;
		const cb = await loopback();
		const provider = new Provider(cb.url);
		try {
			// 1. Discovery, registration, consent in the browser, code → tokens.
			assert.equal(await within(auth(provider, { serverUrl }), STEP_MS, 'auth() start'), 'REDIRECT');
			assert.equal(provider.authorizationUrl.searchParams.get('resource'), serverUrl);
			const code = await approveInBrowser(provider.authorizationUrl, cb);
			assert.equal(await within(auth(provider, { serverUrl, authorizationCode: code }), STEP_MS, 'auth() code'),
				'AUTHORIZED');
			const first = provider.tokens();
			const gid = claimsOf(first.access_token).gid;
			assert.ok(gid, 'the access token names its grant (AI Connection)');

			// 2. The SDK client on that provider.
			const statuses = [];
			const transport = new StreamableHTTPClientTransport(new URL(serverUrl), {
				authProvider: provider,
				fetch: async (url, init) => {
					const res = await fetch(url, init);
					if (String(url).startsWith(serverUrl))
						statuses.push(`${init?.method ?? 'GET'} ${res.status}`);
					return res;
				},
			});
			const client = new Client({ name: 'cupd-e2e-oauth', version: '1.0.0' });
			await within(client.connect(transport), STEP_MS, 'connect');
			const session = transport.sessionId;
			assert.ok(session);

			const me = (await client.callTool({ name: 'whoami', arguments: {} })).structuredContent;
			assert.equal(me.credential.kind, 'connection');
			assert.equal(me.credential.id, gid);
			assert.equal(me.credential.name, 'cupd MCP e2e client');
			const tools = (await client.listTools()).tools.map((t) => t.name).sort();
			assert.deepEqual(tools, [...TOOLS].sort(), 'the consent granted read and write');

			const incidents = (await client.callTool({ name: 'list_incidents', arguments: {} })).structuredContent.data;
			const runbooks = (await client.callTool({ name: 'list_runbooks', arguments: {} })).structuredContent.data;
			const open = incidents.find((i) => i.status !== 'resolved');
			const args = {
				whoami: {}, list_projects: {}, list_services: { project: 'web-app' }, get_service: { service: 'github' },
				get_dependency_graph: {}, list_incidents: { severity: 'major' }, get_incident: { incident_id: open.id },
				list_runbooks: {}, get_runbook: { runbook_id: runbooks[0].id }, search: { q: 'stripe' },
				acknowledge_incident: { incident_id: open.id },
				add_incident_note: { incident_id: open.id, body: 'Looked at from an OAuth-connected client.' },
				update_incident_status: { incident_id: open.id, status: 'identified' },
			};
			for (const name of TOOLS) {
				const res = await client.callTool({ name, arguments: args[name] });
				assert.ok(!res.isError, `${name}: ${JSON.stringify(res.content)}`);
			}
			const { resources } = await client.listResources();
			assert.ok(resources.length >= 5);
			for (const r of resources.slice(0, 5))
				assert.equal((await client.readResource({ uri: r.uri })).contents[0].uri, r.uri);
			const prompt = await client.getPrompt({ name: 'triage_incident', arguments: { incident_id: open.id } });
			assert.match(prompt.messages[0].content.text, new RegExp(open.title));

			// 3. A token refresh in the middle of the session: same session, new access token.
			assert.equal(await within(auth(provider, { serverUrl }), STEP_MS, 'auth() refresh'), 'AUTHORIZED');
			const second = provider.tokens();
			assert.notEqual(second.access_token, first.access_token);
			assert.equal(claimsOf(second.access_token).gid, gid, 'same AI Connection');
			assert.ok(!(await client.callTool({ name: 'whoami', arguments: {} })).isError);
			assert.equal(transport.sessionId, session, 'the session outlived the refresh');
			assert.ok(!statuses.includes('POST 401'), statuses.join());
			const audit = await request({ port: srv.port, path: '/api/v1/audit-events?limit=50',
				headers: { authorization: `Bearer ${adminToken}` } });
			assert.ok(audit.json.data.some((e) => e.action === 'incident.note' && e.actor.kind === 'connection'
				&& e.actor.id === gid), 'the note is audited as the connection');

			// 4. The connection is revoked (settings page / REST): the next call fails with 401.
			const del = await request({ port: srv.port, method: 'DELETE', path: `/api/v1/connections/${gid}`,
				headers: { authorization: `Bearer ${adminToken}` } });
			assert.equal(del.status, 200, del.body);
			await assert.rejects(within(client.callTool({ name: 'whoami', arguments: {} }), STEP_MS, 'call after revoke'));
			assert.ok(statuses.includes('POST 401'), `a 401 after revocation: ${statuses.join()}`);
			await client.close().catch(() => {});
		} finally {
			await cb.close();
		}
	});
