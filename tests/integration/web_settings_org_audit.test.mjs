// web_settings_org_audit.test.mjs: Settings → Organization (public badges
// with preview and Markdown snippet, members and roles) and Settings →
// Audit log (filters by action and actor, cursor pages) against the real
// cupd. Issue 6.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup, request, waitFor } from './lib/harness.mjs';
import { addUser, csrfOf, stopClean } from './web_fixture.mjs';
import {
	MEMBER_EMAIL, MEMBER_PASSWORD, Settings, assertPageShape, mainOf, post, postForms, unescape,
} from './web_settings_fixture.mjs';

const ORG = '/settings/organization';
const AUDIT = '/settings/audit';

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

const badge = () => request({ port: s.srv.port, path: '/api/v1/badge/demo' });
const previewAlt = (html) => /<img id="badge-preview" src="data:image\/svg\+xml;base64,([^"]+)" alt="([^"]+)"/.exec(html);

describe('Organization', () => {
	test('badge preview, Markdown snippet and the members list; owners get forms, members none', async () => {
		const r = await s.page(owner, ORG);
		assertPageShape(r.body, 'organization');
		const m = previewAlt(r.body);
		assert.ok(m, 'an inline preview of the badge');
		const svg = Buffer.from(m[1], 'base64').toString('utf8');
		const pub = await badge();
		assert.equal(svg, pub.body, 'the preview is exactly what the public URL serves');
		assert.ok(unescape(r.body).includes(`[![CheckUpstream status](${s.srv.base}/api/v1/badge/demo)](${s.srv.base})`));
		assert.match(r.body, /id="badge-state">On</);
		assert.ok(postForms(r.body).includes('/settings/organization/badges'));
		assert.ok(postForms(r.body).includes(`/settings/organization/members/${s.ids.member}/role`));
		assert.match(r.body, /member@example\.com/);

		const mr = await s.page(member, ORG);
		assertPageShape(mr.body, 'organization (member)');
		assert.deepEqual(postForms(mr.body), []);
		assert.match(mr.body, /member@example\.com/);
		assert.match(mr.body, /Only owners and admins can change roles/);
		assert.ok(previewAlt(mr.body), 'members see the badge preview too');
	});

	test('turning public badges off and on: the preview, the public badge and the audit log follow', async () => {
		let page = await s.page(owner, ORG);
		const t0 = performance.now();
		let r = await s.submit(owner, page.body, '/settings/organization/badges');
		assert.equal(r.status, 303);
		assert.equal(r.headers.location, `${ORG}?org=demo&done=badges-off`);
		assert.equal(await s.sql("SELECT public_badges FROM orgs WHERE slug = 'demo'"), 'f');
		page = await s.page(owner, r.headers.location);
		assert.match(page.body, /id="badge-state">Off</);
		assert.match(previewAlt(page.body)[2], /upstreams private/);
		assert.match(page.body, /Public badges are off/);
		await waitFor(async () => /private/.test((await badge()).body), { timeoutMs: 7000, what: 'the public badge' });
		const ms = performance.now() - t0;
		assert.ok(ms < 7000, `public badge private after ${ms} ms`);

		r = await s.submit(owner, page.body, '/settings/organization/badges');
		assert.match(r.headers.location, /done=badges-on/);
		page = await s.page(owner, ORG);
		assert.doesNotMatch(previewAlt(page.body)[2], /private/);
		await waitFor(async () => !/private/.test((await badge()).body), { timeoutMs: 7000, what: 'badge back on' });

		const audit = await s.page(owner, `${AUDIT}?action=org.update`);
		assert.equal((mainOf(audit.body).match(/<code class="small">org\.update<\/code>/g) ?? []).length, 2);
	});

	test('roles: an owner promotes a member, who then sees the credential lists; the last owner stays', async () => {
		let page = await s.page(owner, ORG);
		let r = await s.submit(owner, page.body, `/settings/organization/members/${s.ids.member}/role`, { role: 'admin' });
		assert.equal(r.status, 303);
		const rest = await s.api(s.admin, 'GET', '/api/v1/members');
		assert.equal(rest.json.data.find((m) => m.id === s.ids.member).role, 'admin');
		const now = await s.page(member, '/settings/credentials?tab=api-tokens');
		assert.match(now.body, /Generate API Token/, 'the new role applies to the next request');

		// An admin (not an owner) is offered no "owner" and cannot make one.
		const ap = await s.page(member, ORG);
		assert.doesNotMatch(ap.body, /<option value="owner"/);
		r = await post(s.srv, member, `/settings/organization/members/${s.ids.member}/role`,
			{ csrf: csrfOf(member.get('cupd_session')), org: 'demo', role: 'owner' });
		assert.equal(r.status, 403);

		page = await s.page(owner, ORG);
		r = await s.submit(owner, page.body, `/settings/organization/members/${s.ids.member}/role`, { role: 'member' });
		assert.equal(r.status, 303);
		r = await s.submit(owner, page.body, `/settings/organization/members/${s.ids.demoUser}/role`, { role: 'admin' });
		assert.equal(r.status, 409, 'the last owner cannot step down');
		assert.match(r.body, /owner/i);
		assert.equal((await s.page(member, '/settings/credentials?tab=api-tokens')).body.includes('Owners and admins only'),
			true);
	});
});

describe('Audit log', () => {
	test('lists events with actors by email; filters by action (exact and prefix) and actor', async () => {
		await s.api(s.admin, 'POST', '/api/v1/api-tokens', { name: 'audited <i>x</i>', scope: 'read' });
		const r = await s.page(owner, AUDIT);
		assertPageShape(r.body, 'audit');
		assert.match(r.body, /Signed in/);
		assert.match(r.body, /API Token created/);
		assert.match(r.body, /demo@example\.com/);
		assert.doesNotMatch(r.body, /<i>x<\/i>/, 'metadata is escaped');
		assert.match(r.body, /audited &lt;i&gt;x&lt;\/i&gt;/);

		const only = await s.page(owner, `${AUDIT}?action=${encodeURIComponent('api_token.*')}`);
		const actions = [...mainOf(only.body).matchAll(/<code class="small">([a-z_.]+)<\/code>/g)].map((m) => m[1]);
		assert.ok(actions.length > 0);
		assert.ok(actions.every((a) => a.startsWith('api_token.')), actions.join());
		assert.match(only.body, /value="api_token\.\*"/, 'the filter stays in the form');

		const byMember = await s.page(owner, `${AUDIT}?actor=${s.ids.member}`);
		const rows = mainOf(byMember.body).match(/<tr>\n<td data-label="When">/g) ?? [];
		assert.ok(rows.length >= 1, 'the member signed in');
		const tbody = /<tbody>([\s\S]*)<\/tbody>/.exec(byMember.body)[1];
		assert.doesNotMatch(tbody, /API Token created/);
		assert.ok(!tbody.includes('demo@example.com'), 'only the member\'s events');
		assert.match(byMember.body, new RegExp(`<option value="${s.ids.member}" selected>`));

		const none = await s.page(owner, `${AUDIT}?action=nothing.like.this`);
		assert.match(none.body, /No events match this filter/);
		const bad = await s.page(owner, `${AUDIT}?action=${encodeURIComponent('<bad>')}`, 400);
		assert.match(bad.body, /role="alert"/);
		assert.doesNotMatch(bad.body, /<bad>/);
	});

	test('cursor pages: 50 a page, "Older" until the end, no event twice; a bad cursor is a 400 page', async () => {
		for (let i = 0; i < 60; i++)
			await s.api(s.admin, 'POST', '/api/v1/api-tokens', { name: `bulk ${i}`, scope: 'read' });
		const seen = new Set();
		let p = `${AUDIT}?action=api_token.create`;
		let pages = 0;
		for (;;) {
			const r = await s.page(owner, p);
			pages++;
			const times = [...mainOf(r.body).matchAll(/<tr>\n<td data-label="When"><time datetime="([^"]+)"/g)];
			assert.ok(times.length <= 50);
			const names = [...mainOf(r.body).matchAll(/&quot;name&quot;: &quot;([^&]+)&quot;/g)].map((m) => m[1]);
			for (const n of names) {
				assert.ok(!seen.has(n), `${n} twice`);
				seen.add(n);
			}
			const older = /<a class="btn" href="([^"]+)">Older<\/a>/.exec(r.body);
			if (!older)
				break;
			p = unescape(older[1]);
			assert.match(p, /action=api_token\.create/, 'the filter follows the pages');
		}
		assert.ok(pages >= 2);
		for (let i = 0; i < 60; i++)
			assert.ok(seen.has(`bulk ${i}`), `bulk ${i} listed`);
		await s.page(owner, `${AUDIT}?cursor=garbage`, 400);
	});

	test('a member sees a notice, not the log; another org sees none of this org\'s events', async () => {
		const r = await s.page(member, AUDIT);
		assert.match(r.body, /Owners and admins only/);
		assert.doesNotMatch(mainOf(r.body), /<table/);
		await addUser(s.w.cliEnv, { email: 'olga@example.com', org: 'other', role: 'owner', password: 'olga pw 12345678' });
		const olga = await s.signIn('olga@example.com', 'olga pw 12345678');
		const o = await s.page(olga, AUDIT);
		assert.match(o.body, /Other Org/);
		assert.doesNotMatch(o.body, /demo@example\.com|bulk 1/);
	});
});

describe('several organizations', () => {
	test('the switcher, ?org=, the remembered org, and the role of each org', async () => {
		await addUser(s.w.cliEnv, { email: 'multi@example.com', org: 'demo', role: 'member', password: 'multi pw 12345678' });
		await addUser(s.w.cliEnv, { email: 'multi@example.com', org: 'other', role: 'owner', password: 'multi pw 12345678' });
		const jar = await s.signIn('multi@example.com', 'multi pw 12345678');
		let r = await s.page(jar, '/settings/credentials?tab=api-tokens');
		assertPageShape(r.body, 'multi');
		assert.match(r.body, /Settings · Demo Org <span class="role-chip">member<\/span>/, 'first org by name');
		assert.match(r.body, /<select id="org-switch" name="org"><option value="demo" selected>Demo Org<\/option><option value="other">Other Org<\/option>/);
		assert.match(r.body, /<input type="hidden" name="tab" value="api-tokens">/, 'switching keeps the tab');
		assert.deepEqual(postForms(r.body), []);

		r = await s.page(jar, '/settings/credentials?tab=api-tokens&org=other');
		assert.match(r.body, /Settings · Other Org <span class="role-chip">owner<\/span>/);
		assert.match(r.body, /Generate API Token/);
		assert.match(r.headers['set-cookie']?.join(';') ?? '', /cupd_org=other; Path=\/settings/);
		r = await s.page(jar, ORG);
		assert.match(r.body, /Settings · Other Org/, 'the org is remembered');
		assert.ok(postForms(r.body).includes('/settings/organization/badges'));

		// A form posts to the org it was rendered for, whatever the cookie says.
		r = await s.submit(jar, r.body, '/settings/organization/badges');
		assert.equal(r.status, 303);
		assert.equal(r.headers.location, `${ORG}?org=other&done=badges-off`);
		assert.equal(await s.sql("SELECT public_badges FROM orgs WHERE slug = 'other'"), 'f');
		assert.equal(await s.sql("SELECT public_badges FROM orgs WHERE slug = 'demo'"), 't');
		const demoAsMember = await post(s.srv, jar, '/settings/organization/badges',
			{ csrf: csrfOf(jar.get('cupd_session')), org: 'demo', public_badges: 'off' });
		assert.equal(demoAsMember.status, 403, 'a member of demo, whatever they are elsewhere');
		assert.equal(await s.sql("SELECT public_badges FROM orgs WHERE slug = 'demo'"), 't');
	});
});
