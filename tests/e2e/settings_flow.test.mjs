// settings_flow.test.mjs: the settings pages as a person uses them, in
// Debian's Chromium driven by Playwright (playwright-core), against the real
// cupd and a throwaway PostgreSQL. Sign in; generate an API Token and use it
// on the REST API; rotate it and use both during the grace period, watch the
// old one's use show up and cut it off; revoke the new one (401); generate an
// SDK Key and send an event; connect an AI client through the real OAuth
// flow (the official MCP SDK's auth(), as in oauth_sdk_flow.test.mjs), see it
// listed with its last use, click Revoke and see its next MCP call fail with
// 401 within a second; switch public badges off and on and see the badge
// change. Along the way: a screenshot of every page (tests/artifacts/), an
// accessibility smoke check of every page (labels, one h1, heading order,
// focus order through the generate-token form), and a CSP check (no
// securitypolicyviolation event, no console error). Issue 6.
//
// Every request goes to 127.0.0.1: the browser refuses any other host.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { chromium } from 'playwright-core';

import { SOURCE_DIR, cleanup, request, runCli, startCluster, startCupd } from '../integration/lib/harness.mjs';

const CHROMIUM = process.env.CUPD_CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = path.join(SOURCE_DIR, 'tests', 'artifacts');
const STEP_MS = 15000;
const CLIENT_NAME = 'cupd e2e settings client';

/** Rejects after ms with what: every await on the network is bounded. */
function bounded(promise, ms, what) {
	let timer;
	return Promise.race([
		promise.finally(() => clearTimeout(timer)),
		new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms); }),
	]);
}

/** The client's loopback redirect URI (as in oauth_sdk_flow.test.mjs). */
async function startCallbackServer() {
	let resolveHit;
	const hit = new Promise((r) => { resolveHit = r; });
	const server = http.createServer((req, res) => {
		const url = new URL(req.url, 'http://127.0.0.1');
		if (url.pathname === '/callback')
			resolveHit(Object.fromEntries(url.searchParams));
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
		res.end('<!doctype html><title>Connected</title><p>You can close this window.</p>');
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${server.address().port}/callback`,
		next: (ms) => bounded(hit, ms, 'the redirect to the client'),
		close: () => new Promise((resolve) => server.close(resolve)),
	};
}

/** An in-memory OAuthClientProvider that hands the authorization URL to the
 *  test (the same shape as oauth_sdk_flow.test.mjs's MemoryProvider). */
class MemoryProvider {
	constructor(redirectUrl) {
		this._redirect = redirectUrl;
		this._state = randomBytes(16).toString('base64url');
		this.saved = {};
	}
	get redirectUrl() { return this._redirect; }
	get clientMetadata() {
		return { client_name: CLIENT_NAME, redirect_uris: [this._redirect], grant_types: ['authorization_code', 'refresh_token'],
			response_types: ['code'], token_endpoint_auth_method: 'none' };
	}
	state() { return this._state; }
	clientInformation() { return this.saved.client; }
	saveClientInformation(info) { this.saved.client = info; }
	tokens() { return this.saved.tokens; }
	saveTokens(t) { this.saved.tokens = t; }
	redirectToAuthorization(url) { this.authorizationUrl = url; }
	saveCodeVerifier(v) { this.saved.verifier = v; }
	codeVerifier() { return this.saved.verifier; }
	saveDiscoveryState(s) { this.saved.discovery = s; }
	discoveryState() { return this.saved.discovery; }
}

let srv, password, profile;

before(async () => {
	const kek = randomBytes(32).toString('hex');
	const cluster = await startCluster();
	const dir = await mkdtemp(path.join(os.tmpdir(), 'cupd-e2e-settings-'));
	const env = { DATABASE_URL: cluster.url, CUPD_KEY_ENCRYPTION_KEY: kek };
	for (const args of [['migrate'], ['seed-demo', '--password-file', path.join(dir, 'pw')]]) {
		const r = await runCli(args, { env });
		assert.equal(r.code, 0, r.stderr);
	}
	password = (await readFile(path.join(dir, 'pw'), 'utf8')).trim();
	srv = await startCupd({ cluster, env: { CUPD_KEY_ENCRYPTION_KEY: kek, CUPD_ACCESS_LOG: 'off',
		CUPD_USAGE_FLUSH_MS: '200', CUPD_RATE_IP_PER_MIN: '100000' } });
	profile = await mkdtemp(path.join(os.tmpdir(), 'cupd-e2e-settings-chromium-'));
	await mkdir(ARTIFACTS, { recursive: true });
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

const api = (token, method, p, body, headers = {}) => request({ port: srv.port, method, path: p, timeoutMs: 10000,
	headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
	body: body ? JSON.stringify(body) : undefined });
const whoami = async (token) => (await api(token, 'GET', '/api/v1/whoami')).status;
const mcpInit = async (token) => (await api(token, 'POST', '/mcp', { jsonrpc: '2.0', id: 1, method: 'initialize',
	params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e', version: '1' } } },
	{ accept: 'application/json, text/event-stream' })).status;

/** In the page: labels on every input, exactly one h1, no heading level
 *  skipped, a skip link. Returns a list of problems (empty = fine). */
function a11yProblems() {
	const problems = [];
	for (const el of document.querySelectorAll('input, select, textarea')) {
		if (el.type === 'hidden')
			continue;
		const named = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
		if (!named)
			problems.push(`unlabelled <${el.tagName.toLowerCase()} name=${el.name}>`);
	}
	const hs = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')];
	if (hs.filter((h) => h.tagName === 'H1').length !== 1)
		problems.push(`${hs.filter((h) => h.tagName === 'H1').length} h1 elements`);
	let level = 0;
	for (const h of hs) {
		const l = Number(h.tagName[1]);
		if (l > level + 1)
			problems.push(`h${l} "${h.textContent.trim()}" after h${level}`);
		level = l;
	}
	if (!document.querySelector('a.skip[href="#main"]'))
		problems.push('no skip link');
	for (const b of document.querySelectorAll('button, a[href]'))
		if (!b.textContent.trim() && !b.getAttribute('aria-label'))
			problems.push(`nameless ${b.tagName.toLowerCase()}`);
	return problems;
}

test('settings in Chromium: tokens, keys, AI Connections, badges; screenshots, a11y and CSP checks',
	{ timeout: 240000 }, async () => {
		const context = await chromium.launchPersistentContext(profile, {
			executablePath: CHROMIUM,
			headless: true,
			args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
				'--disable-background-networking', '--disable-component-update', '--disable-sync'],
			timeout: STEP_MS,
			viewport: { width: 1180, height: 900 },
		});
		const callback = await startCallbackServer();
		const timings = {};
		try {
			context.setDefaultTimeout(STEP_MS);
			context.setDefaultNavigationTimeout(STEP_MS);
			await context.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1'
				? route.continue() : route.abort()));
			await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.base });
			const violations = [], consoleErrors = [];
			await context.exposeBinding('__cspViolation', (_src, v) => violations.push(v));
			await context.addInitScript(() => {
				document.addEventListener('securitypolicyviolation', (e) => {
					window.__cspViolation(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
				});
			});
			const page = context.pages()[0] ?? await context.newPage();
			page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
			page.on('pageerror', (e) => consoleErrors.push(String(e)));

			const shots = [];
			async function check(name) {
				const problems = await page.evaluate(a11yProblems);
				assert.deepEqual(problems, [], `${name}: accessibility`);
				const file = path.join(ARTIFACTS, `settings-${name}.png`);
				await page.screenshot({ path: file, fullPage: true });
				shots.push(path.basename(file));
			}
			const main = () => page.locator('main').innerText();

			// ---- sign in; /settings lands on Credentials
			await page.goto(`${srv.base}/settings`);
			assert.equal(new URL(page.url()).pathname, '/login');
			await page.getByLabel('Email').fill('demo@example.com');
			await page.getByLabel('Password').fill(password);
			await page.getByRole('button', { name: 'Sign in' }).click();
			await page.getByRole('heading', { level: 1, name: 'Credentials' }).waitFor();
			assert.equal(new URL(page.url()).pathname, '/settings/credentials');
			await check('sdk-keys-empty');

			// ---- API Token: the form, keyboard order, generate, copy, use
			await page.getByRole('link', { name: 'API Tokens' }).click();
			await page.getByRole('heading', { level: 2, name: 'API Tokens' }).waitFor();
			await check('api-tokens-empty');
			await page.getByRole('link', { name: 'Generate API Token' }).click();
			await page.getByRole('heading', { level: 1, name: 'Generate API Token' }).waitFor();
			await check('api-token-form');

			// Focus order follows the DOM: Tab from the top through the form.
			await page.locator('body').focus();
			await page.evaluate(() => document.activeElement && document.activeElement.blur());
			const order = [];
			for (let i = 0; i < 40; i++) {
				await page.keyboard.press('Tab');
				const info = await page.evaluate(() => {
					const el = document.activeElement;
					const all = [...document.querySelectorAll('*')];
					return { index: all.indexOf(el), what: `${el.tagName.toLowerCase()}#${el.id || el.name || el.textContent.trim()}`,
						visible: !!(el.offsetWidth || el.offsetHeight), outline: getComputedStyle(el).outlineStyle };
				});
				if (order.length && info.index <= order[order.length - 1].index)
					break; // wrapped around
				order.push(info);
			}
			const seq = order.map((o) => o.what);
			assert.equal(seq[0], 'a#Skip to content', 'the skip link comes first');
			for (const want of ['input#name', 'input#scope-read', 'input#days', 'input#never', 'a#Cancel', 'button#Generate API Token'])
				assert.ok(seq.includes(want), `${want} is reachable by Tab: ${seq.join(' → ')}`);
			assert.ok(seq.indexOf('input#name') < seq.indexOf('input#scope-read') &&
				seq.indexOf('input#scope-read') < seq.indexOf('input#days') && seq.indexOf('input#days') < seq.indexOf('input#never') &&
				seq.indexOf('input#never') < seq.indexOf('button#Generate API Token'), `DOM order: ${seq.join(' → ')}`);
			assert.ok(!seq.includes('input#confirm-never'), 'the second confirmation stays hidden until "Never" is ticked');
			assert.ok(order.every((o) => o.visible && o.outline !== 'none'), `visible focus: ${JSON.stringify(order)}`);
			await page.getByLabel('Never expires').check();
			await page.getByLabel(/keeps working until someone revokes it/).waitFor();
			await page.getByLabel('Never expires').uncheck();

			await page.getByLabel('Name').fill('e2e token');
			await page.getByLabel('Write (includes Read)').check();
			assert.equal(await page.getByLabel('Expires after (days)').inputValue(), '90');
			await page.getByRole('button', { name: 'Generate API Token' }).click();
			await page.getByRole('heading', { level: 1, name: 'API Token generated' }).waitFor();
			const token1 = (await page.locator('#secret').innerText()).trim();
			assert.match(token1, /^cup_api_/);
			await check('api-token-created');
			await page.getByRole('button', { name: 'Copy', exact: true }).first().click();
			assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token1, 'Copy puts the token on the clipboard');
			assert.equal(await whoami(token1), 200, 'the new token works on the REST API');
			assert.equal(new URL(page.url()).searchParams.get('tab'), 'api-tokens', 'history points at the list');
			await page.reload();
			assert.ok(!(await page.content()).includes(token1), 'a reload does not show the token again');
			await page.getByRole('heading', { level: 2, name: 'API Tokens' }).waitFor();
			await check('api-tokens');

			// ---- rotate: both work in the grace window; the old one's use shows; cut it off
			await page.getByRole('link', { name: 'Rotate e2e token' }).click();
			await page.getByRole('heading', { level: 1, name: 'Rotate API Token' }).waitFor();
			assert.match(await main(), /keeps working for 24 hours/);
			await check('api-token-rotate');
			await page.getByRole('button', { name: 'Rotate and show the new token' }).click();
			await page.getByRole('heading', { level: 1, name: 'API Token rotated' }).waitFor();
			const token2 = (await page.locator('#secret').innerText()).trim();
			assert.ok(token2 !== token1 && token2.startsWith('cup_api_'));
			assert.equal(await whoami(token2), 200, 'the new token works');
			assert.equal(await whoami(token1), 200, 'the old token works during the grace period');
			await page.getByRole('link', { name: 'See whether the old token is still being used' }).click();
			await page.getByRole('heading', { level: 2, name: 'Rotation grace period' }).waitFor();
			const t0 = performance.now();
			for (;;) {
				if (/Uses since rotation\s*[1-9]/i.test(await main()))
					break;
				assert.ok(performance.now() - t0 < 10000, 'the old token\'s use shows within 10 s');
				await new Promise((r) => setTimeout(r, 250));
				await page.reload();
			}
			timings.graceUseVisibleMs = Math.round(performance.now() - t0);
			assert.match(await main(), /127\.0\.0\.1/);
			await check('api-token-grace');
			await page.getByRole('button', { name: 'Cut off the old token now' }).click();
			await page.getByRole('status').filter({ hasText: 'cut off' }).waitFor();
			assert.equal(await whoami(token1), 401, 'the old token is cut off');
			assert.equal(await whoami(token2), 200);

			// ---- revoke the new one (confirmation page) → 401
			await page.goto(`${srv.base}/settings/credentials?tab=api-tokens`);
			await page.getByRole('link', { name: 'Revoke e2e token' }).first().click();
			await page.getByRole('heading', { level: 1, name: 'Revoke API Token' }).waitFor();
			await check('api-token-revoke');
			await page.getByRole('button', { name: 'Revoke API Token' }).click();
			await page.getByRole('status').filter({ hasText: 'revoked' }).waitFor();
			assert.equal(await whoami(token2), 401, 'revoked: 401');

			// ---- SDK Key: generate (project required), send an event
			await page.getByRole('link', { name: 'SDK Keys' }).click();
			await page.getByRole('link', { name: 'Generate SDK Key' }).click();
			await page.getByRole('heading', { level: 1, name: 'Generate SDK Key' }).waitFor();
			await check('sdk-key-form');
			await page.getByLabel('Project').selectOption('web-app');
			await page.getByLabel('Name').fill('e2e web');
			await page.getByLabel(/Allowed origins/).fill('https://app.example.com');
			await page.getByRole('button', { name: 'Generate SDK Key' }).click();
			await page.getByRole('heading', { level: 1, name: 'SDK Key generated' }).waitFor();
			const key = (await page.locator('#secret').innerText()).trim();
			assert.match(key, /^cup_sdk_/);
			assert.match(await page.locator('#init-snippet').innerText(), /\/v1\/events/);
			await check('sdk-key-created');
			const ev = await api(key, 'POST', '/v1/events', { events: [{ service: 'stripe', operation: 'charges.create',
				outcome: 'ok', latency_ms: 42 }] }, { origin: 'https://app.example.com' });
			assert.equal(ev.status, 202, ev.body);
			await page.getByRole('link', { name: 'Done' }).click();
			await page.getByRole('heading', { level: 2, name: 'SDK Keys' }).waitFor();
			await check('sdk-keys');

			// ---- AI Connections: empty state, then the real OAuth flow
			await page.getByRole('link', { name: 'AI Connections' }).click();
			await page.getByText('No AI tools connected').waitFor();
			await check('connections-empty');
			const serverUrl = `${srv.base}/mcp`;
			const provider = new MemoryProvider(callback.url);
			assert.equal(await bounded(auth(provider, { serverUrl }), STEP_MS, 'auth() start'), 'REDIRECT');
			await page.goto(provider.authorizationUrl.href);
			await page.getByRole('button', { name: 'Approve', exact: true }).click();
			const cb = await callback.next(STEP_MS);
			assert.equal(await bounded(auth(provider, { serverUrl, authorizationCode: cb.code }), STEP_MS, 'auth() code'),
				'AUTHORIZED');
			const access = provider.tokens().access_token;
			assert.equal(await mcpInit(access), 200, 'the connected client calls /mcp');
			await page.goto(`${srv.base}/settings/credentials?tab=connections`);
			const card = page.locator('article').filter({ hasText: CLIENT_NAME });
			const t1 = performance.now();
			for (;;) {
				const text = await card.innerText();
				if (!/Last used\s*Never/i.test(text) && /just now|seconds? ago|minute ago/.test(text))
					break;
				assert.ok(performance.now() - t1 < 10000, `last use shows within 10 s: ${text}`);
				await new Promise((r) => setTimeout(r, 250));
				await page.reload();
			}
			const cardText = await card.innerText();
			assert.match(cardText, /Unverified/);
			assert.match(cardText, /127\.0\.0\.1/);
			await check('connections');
			await card.getByRole('button', { name: 'Revoke this session' }).click();
			const clicked = performance.now();
			await page.getByRole('status').filter({ hasText: 'revoked' }).waitFor();
			const status = await mcpInit(access);
			timings.revokeTo401Ms = Math.round(performance.now() - clicked);
			assert.equal(status, 401, 'the revoked client\'s next MCP call');
			assert.ok(timings.revokeTo401Ms < 1000, `401 within a second (${timings.revokeTo401Ms} ms)`);

			// ---- Organization: badges off and on
			await page.getByRole('link', { name: 'Organization' }).click();
			await page.getByRole('heading', { level: 1, name: 'Organization' }).waitFor();
			const altOn = await page.locator('#badge-preview').getAttribute('alt');
			assert.doesNotMatch(altOn, /private/);
			assert.match(await page.locator('#badge-markdown').innerText(), /\/api\/v1\/badge\/demo/);
			await check('organization');
			// Someone views the public badge first, so its short server cache holds "on".
			assert.doesNotMatch((await request({ port: srv.port, path: '/api/v1/badge/demo' })).body, /private/);
			await page.getByRole('button', { name: 'Turn public badges off' }).click();
			await page.getByRole('status').filter({ hasText: 'off' }).waitFor();
			assert.match(await page.locator('#badge-preview').getAttribute('alt'), /private/, 'the preview changes at once');
			const t2 = performance.now();
			for (;;) {
				const b = await request({ port: srv.port, path: '/api/v1/badge/demo' });
				if (/private/.test(b.body))
					break;
				assert.ok(performance.now() - t2 < 8000, 'the public badge turns private');
				await new Promise((r) => setTimeout(r, 200));
			}
			timings.publicBadgePrivateMs = Math.round(performance.now() - t2);
			await check('organization-badges-off');
			await page.getByRole('button', { name: 'Turn public badges on' }).click();
			await page.getByRole('status').filter({ hasText: 'on' }).waitFor();
			assert.equal(await page.locator('#badge-preview').getAttribute('alt'), altOn);

			// ---- Audit log: the filter form
			await page.getByRole('link', { name: 'Audit log' }).click();
			await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
			await check('audit');
			await page.getByLabel('Action').fill('api_token.*');
			await page.getByRole('button', { name: 'Filter' }).click();
			await page.getByRole('table').waitFor();
			const codes = await page.locator('tbody code').allInnerTexts();
			assert.ok(codes.filter((c) => /^[a-z_]+\.[a-z_]+$/.test(c)).every((c) => c.startsWith('api_token.')), codes.join());
			await check('audit-filtered');

			// ---- a phone: tables become cards, nothing scrolls sideways
			await page.setViewportSize({ width: 375, height: 800 });
			for (const [tab, name] of [['api-tokens', 'phone-api-tokens'], ['sdk-keys', 'phone-sdk-keys']]) {
				await page.goto(`${srv.base}/settings/credentials?tab=${tab}`);
				const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
				assert.ok(overflow <= 0, `${name}: ${overflow}px wider than the screen`);
				await check(name);
			}

			assert.deepEqual(violations, [], 'no Content Security Policy violations');
			assert.deepEqual(consoleErrors, [], 'no console errors');
			console.log(`screenshots (${shots.length}) in tests/artifacts/: ${shots.join(', ')}`);
			console.log(`timings: ${JSON.stringify(timings)}`);
		} finally {
			await context.close().catch(() => {});
			await callback.close();
		}
	});
