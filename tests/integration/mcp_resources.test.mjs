// mcp_resources.test.mjs: runbooks and incidents as MCP resources, and the
// triage_incident prompt, over real HTTP: resources/list with its opaque
// cursor, resources/templates/list, resources/read of both kinds, -32002 for
// unknown and other-org uris, prompts/list and prompts/get with its errors.
// REQUIREMENTS A41, A48, A39 (-32602, -32002 within the implementation
// range); MCP 2025-11-25 server/resources and server/prompts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { McpClient, startMcpFixture } from './mcp_fixture.mjs';

let f, reader, eve, incident, runbook;

before(async () => {
	f = await startMcpFixture();
	reader = new McpClient(f.srv.port, f.read);
	eve = new McpClient(f.srv.port, f.eve);
	await reader.initialize();
	await eve.initialize();
	incident = (await f.get(f.read, '/api/v1/incidents?status=open')).data[0];
	runbook = (await f.get(f.read, '/api/v1/runbooks')).data[0];
});
after(async () => { await f?.finish(); });

/** Every resources/list page from the first; checks each page's shape. */
async function listAll(client) {
	const all = [];
	let cursor, pages = 0;
	do {
		const page = await client.result('resources/list', cursor ? { cursor } : {});
		assert.ok(Array.isArray(page.resources));
		assert.ok(page.resources.length <= 50, 'page size');
		if ('nextCursor' in page)
			assert.equal(typeof page.nextCursor, 'string', 'nextCursor is a string, never null (A48)');
		all.push(...page.resources);
		cursor = page.nextCursor;
		assert.ok(++pages < 20, 'pagination ends');
	} while (cursor);
	return { all, pages };
}

describe('resources (A48)', () => {
	test('resources/list: every runbook and incident once, with uri, name, title and mimeType', async () => {
		const { all, pages } = await listAll(reader);
		assert.equal(pages, 1);
		const runbooks = all.filter((r) => r.uri.startsWith('cupd://runbooks/'));
		const incidents = all.filter((r) => r.uri.startsWith('cupd://incidents/'));
		assert.equal(runbooks.length, 3);
		assert.equal(incidents.length, 2);
		for (const r of all) {
			assert.match(r.uri, /^cupd:\/\/(runbooks|incidents)\/[0-9a-f-]{36}$/);
			assert.equal(typeof r.name, 'string');
			assert.equal(typeof r.title, 'string');
			assert.equal(r.mimeType, r.uri.startsWith('cupd://runbooks/') ? 'text/markdown' : 'application/json');
		}
		assert.ok(incidents.some((r) => r.uri === `cupd://incidents/${incident.id}` && r.title === incident.title));
		assert.deepEqual((await listAll(eve)).all, [], 'another org sees none of them');
	});

	test('A48: bad cursors → -32602', async () => {
		for (const cursor of ['garbage', 'rb:garbage', 'in:%%%', 5, '', null]) {
			const m = await reader.rpc('resources/list', { cursor });
			assert.equal(m.error?.code, -32602, JSON.stringify(cursor));
		}
	});

	test('A48: many runbooks and incidents page through with opaque cursors, each once', async () => {
		await f.sql(`INSERT INTO runbooks (org_id, title, body)
			SELECT '${f.ids.demoOrg}', 'Generated runbook ' || g, 'Step ' || g FROM generate_series(1, 70) g`);
		await f.sql(`INSERT INTO incidents (org_id, title, created_at)
			SELECT '${f.ids.demoOrg}', 'Generated incident ' || g, now() - make_interval(secs => g)
			FROM generate_series(1, 40) g`);
		const { all, pages } = await listAll(reader);
		assert.equal(all.length, 3 + 70 + 2 + 40);
		assert.equal(new Set(all.map((r) => r.uri)).size, all.length, 'no resource twice');
		assert.equal(pages, 3);
		const first = all.findIndex((r) => r.uri.startsWith('cupd://incidents/'));
		assert.ok(all.slice(first).every((r) => r.uri.startsWith('cupd://incidents/')), 'runbooks, then incidents');
	});

	test('resources/templates/list names both uri templates', async () => {
		const t = await reader.result('resources/templates/list');
		assert.deepEqual(t.resourceTemplates.map((x) => [x.uriTemplate, x.mimeType]), [
			['cupd://runbooks/{id}', 'text/markdown'], ['cupd://incidents/{id}', 'application/json']]);
		for (const x of t.resourceTemplates)
			assert.equal(typeof x.name, 'string');
		assert.equal((await reader.rpc('resources/templates/list', { cursor: 'x' })).error.code, -32602);
	});

	test('resources/read: a runbook as markdown, an incident as JSON with its notes', async () => {
		const uri = `cupd://runbooks/${runbook.id}`;
		const rb = await reader.result('resources/read', { uri });
		assert.equal(rb.contents.length, 1);
		assert.equal(rb.contents[0].uri, uri);
		assert.equal(rb.contents[0].mimeType, 'text/markdown');
		const full = await f.get(f.read, `/api/v1/runbooks/${runbook.id}`);
		assert.equal(rb.contents[0].text, full.body, 'the body, which already starts with its title');
		const iuri = `cupd://incidents/${incident.id}`;
		const inc = await reader.result('resources/read', { uri: iuri });
		assert.equal(inc.contents[0].mimeType, 'application/json');
		assert.deepEqual(JSON.parse(inc.contents[0].text), await f.get(f.read, `/api/v1/incidents/${incident.id}`));
		// A runbook without a heading gets its title as one.
		const plain = await f.api(f.write, 'POST', '/api/v1/runbooks', { title: 'Plain', body: 'Just do it.' });
		const p = await reader.result('resources/read', { uri: `cupd://runbooks/${plain.json.id}` });
		assert.equal(p.contents[0].text, '# Plain\n\nJust do it.');
	});

	test('resources/read: unknown, malformed and other-org uris → -32002; no uri → -32602', async () => {
		for (const uri of ['cupd://runbooks/00000000-0000-0000-0000-000000000000', 'cupd://incidents/nope',
			'cupd://services/stripe', 'https://example.com/x', 'cupd://runbooks/', `cupd://runbooks/${runbook.id}/x`,
			'x'.repeat(5000)]) {
			const m = await reader.rpc('resources/read', { uri });
			assert.equal(m.error?.code, -32002, uri.slice(0, 60));
			assert.equal(m.error.message, 'Resource not found');
		}
		for (const uri of [`cupd://runbooks/${runbook.id}`, `cupd://incidents/${incident.id}`]) {
			const m = await eve.rpc('resources/read', { uri });
			assert.equal(m.error?.code, -32002, `another org: ${uri}`);
			assert.equal(m.error.data.uri, uri);
		}
		for (const params of [{}, { uri: 5 }, undefined])
			assert.equal((await reader.rpc('resources/read', params)).error?.code, -32602);
	});
});

describe('prompts', () => {
	test('prompts/list: triage_incident with its required argument', async () => {
		const p = await reader.result('prompts/list');
		assert.deepEqual(Object.keys(p), ['prompts']);
		assert.equal(p.prompts.length, 1);
		const t = p.prompts[0];
		assert.equal(t.name, 'triage_incident');
		assert.equal(typeof t.description, 'string');
		assert.deepEqual(t.arguments.map((a) => [a.name, a.required]), [['incident_id', true]]);
		assert.equal((await reader.rpc('prompts/list', { cursor: 'x' })).error.code, -32602);
	});

	test('prompts/get: one user message embedding the incident and naming the tools', async () => {
		const r = await reader.result('prompts/get', { name: 'triage_incident', arguments: { incident_id: incident.id } });
		assert.match(r.description, new RegExp(incident.title));
		assert.equal(r.messages.length, 1);
		const m = r.messages[0];
		assert.equal(m.role, 'user');
		assert.equal(m.content.type, 'text');
		const json = /```json\n([\s\S]*?)\n```/.exec(m.content.text);
		assert.ok(json, 'the incident as a JSON block');
		assert.deepEqual(JSON.parse(json[1]), await f.get(f.read, `/api/v1/incidents/${incident.id}`));
		for (const tool of ['get_service', 'list_incidents', 'get_runbook', 'update_incident_status'])
			assert.ok(m.content.text.includes(tool), tool);
	});

	test('prompts/get: unknown prompt, missing argument, unknown or other-org incident → -32602', async () => {
		for (const params of [{ name: 'nope', arguments: { incident_id: incident.id } }, { arguments: {} },
			{ name: 'triage_incident' }, { name: 'triage_incident', arguments: {} },
			{ name: 'triage_incident', arguments: { incident_id: 5 } },
			{ name: 'triage_incident', arguments: { incident_id: '00000000-0000-0000-0000-000000000000' } },
			{ name: 'triage_incident', arguments: { incident_id: 'not-an-id' } }]) {
			const m = await reader.rpc('prompts/get', params);
			assert.equal(m.error?.code, -32602, JSON.stringify(params));
		}
		const m = await eve.rpc('prompts/get', { name: 'triage_incident', arguments: { incident_id: incident.id } });
		assert.equal(m.error?.code, -32602, 'another org\'s incident is unknown');
	});
});
