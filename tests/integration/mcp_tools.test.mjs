// mcp_tools.test.mjs: tools/list and tools/call over real HTTP against the
// demo data: the tool list's shape and names, every tool called with valid
// arguments and its structuredContent checked against its outputSchema,
// argument errors as isError results, unknown tools, scopes and the 403
// step-up, pagination, audit rows attributed to the token, last_used_at,
// and isolation from another organization.
// REQUIREMENTS A45-A52, A48, B9, B10, E13; DESIGN §3 (tools are adapters
// over the API layer: results equal the REST API's).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { waitFor } from './lib/harness.mjs';
import {
	McpClient, READ_TOOLS, WRITE_TOOLS, assertResponseShape, assertValid, schemaErrors, startMcpFixture,
} from './mcp_fixture.mjs';

let f, port;
let reader, writer, admin, eve;
let tools;              // name → Tool, as the write token lists them
let ids;                // demo object ids

before(async () => {
	f = await startMcpFixture({ env: { CUPD_USAGE_FLUSH_MS: '200' } });
	port = f.srv.port;
	[reader, writer, admin, eve] = [f.read, f.write, f.admin, f.eve].map((t) => new McpClient(port, t));
	for (const c of [reader, writer, admin, eve])
		await c.initialize();
	tools = Object.fromEntries((await writer.result('tools/list')).tools.map((t) => [t.name, t]));
	const incidents = await f.get(f.read, '/api/v1/incidents?limit=200');
	const runbooks = await f.get(f.read, '/api/v1/runbooks?limit=200');
	const services = await f.get(f.read, '/api/v1/services?limit=200');
	ids = {
		open: incidents.data.find((i) => i.status !== 'resolved').id,
		resolved: incidents.data.find((i) => i.status === 'resolved').id,
		runbook: runbooks.data[0].id,
		stripe: services.data.find((s) => s.slug === 'stripe').id,
	};
});
after(async () => { await f?.finish(); });

/** Calls name and checks the result against the tool's outputSchema (A51). */
async function valid(client, name, args) {
	const sc = await client.ok(name, args);
	assertValid(tools[name].outputSchema, sc, `${name}(${JSON.stringify(args ?? {})})`);
	return sc;
}

/** Calls name and expects an isError result whose text matches re (A52). */
async function toolError(client, name, args, re) {
	const res = await client.call(name, args);
	assert.equal(res.isError, true, `${name}(${JSON.stringify(args)}) should fail: ${JSON.stringify(res)}`);
	assert.equal(res.content[0].type, 'text');
	if (re)
		assert.match(res.content[0].text, re);
	assert.equal(res.structuredContent, undefined);
	return res.content[0].text;
}

describe('tools/list (A45-A47, E13)', () => {
	test('A45/A47: the shape of every tool', async () => {
		const list = await writer.result('tools/list');
		assert.deepEqual(Object.keys(list), ['tools'], 'one page: no nextCursor member (A48)');
		assert.deepEqual(list.tools.map((t) => t.name).sort(), [...READ_TOOLS, ...WRITE_TOOLS].sort());
		for (const t of list.tools) {
			assert.equal(typeof t.title, 'string', t.name);
			assert.ok(t.description.length > 20, `${t.name}: a useful description`);
			assert.equal(t.inputSchema.type, 'object', t.name);
			assert.equal(t.inputSchema.additionalProperties, false, `${t.name}: closed inputSchema`);
			for (const r of t.inputSchema.required ?? [])
				assert.ok(t.inputSchema.properties[r], `${t.name}: required ${r} is a property`);
			assert.equal(t.outputSchema.type, 'object', `${t.name}: outputSchema root is an object`);
			// Both schemas use only what the checker (and cupd's mcp_schema_check) understands.
			schemaErrors(t.inputSchema, {});
			const a = t.annotations;
			for (const k of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'])
				assert.equal(typeof a[k], 'boolean', `${t.name}.${k}`);
			assert.equal(a.readOnlyHint, READ_TOOLS.includes(t.name), `${t.name}: readOnlyHint`);
			if (a.readOnlyHint)
				assert.equal(a.destructiveHint, false, `${t.name}: a read is not destructive`);
		}
		assert.equal(tools.acknowledge_incident.annotations.idempotentHint, true);
		assert.equal(tools.add_incident_note.annotations.idempotentHint, false);
		assert.equal(tools.update_incident_status.annotations.destructiveHint, true);
	});

	test('A46/E13: every name is snake_case, at most 40 characters, and short enough for Cursor', async () => {
		for (const name of Object.keys(tools)) {
			assert.match(name, /^[a-z0-9_]{1,40}$/, name);
			assert.match(name, /^[a-zA-Z0-9_-]{1,64}$/, name);
			assert.ok(`cupd_${name}`.length <= 60, `${name}: server + tool name within 60 characters`);
		}
	});

	test('B9/B10: a read token lists only read tools; write and admin tokens list all', async () => {
		const r = (await reader.result('tools/list')).tools.map((t) => t.name);
		assert.deepEqual(r.sort(), [...READ_TOOLS].sort());
		const a = (await admin.result('tools/list')).tools.map((t) => t.name);
		assert.deepEqual(a.sort(), Object.keys(tools).sort(), 'admin ⊇ write (scope hierarchy)');
		const bad = await writer.rpc('tools/list', { cursor: 'nope' });
		assert.equal(bad.error.code, -32602, 'a cursor we never issued (A48)');
	});
});

describe('tools/call: every tool, valid results (A50, A51)', () => {
	test('A51: every read tool answers structuredContent that matches its outputSchema', async () => {
		const me = await valid(reader, 'whoami');
		assert.equal(me.org.slug, 'demo');
		assert.equal(me.credential.kind, 'api_token');
		assert.equal(me.credential.scope, 'read');
		const projects = await valid(reader, 'list_projects');
		assert.deepEqual(projects.data.map((p) => p.slug).sort(), ['billing-worker', 'web-app']);
		assert.equal(projects.next_cursor, undefined, 'last page: next_cursor omitted');
		const services = await valid(reader, 'list_services');
		assert.equal(services.data.length, 5);
		const degraded = await valid(reader, 'list_services', { status: 'degraded' });
		assert.deepEqual(degraded.data.map((s) => s.slug), ['github']);
		const billing = await valid(reader, 'list_services', { project: 'billing-worker' });
		assert.deepEqual(billing.data.map((s) => s.slug).sort(), ['aws-s3', 'sendgrid', 'stripe', 'twilio']);
		const q = await valid(reader, 'list_services', { q: 'payments' });
		assert.deepEqual(q.data.map((s) => s.slug), ['stripe']);
		const stripe = await valid(reader, 'get_service', { service: 'stripe' });
		assert.equal(stripe.status, 'partial_outage');
		assert.ok(stripe.timeline.length >= 2, 'recent timeline');
		assert.deepEqual(await valid(reader, 'get_service', { service: ids.stripe }), stripe, 'by id = by slug');
		const short = await valid(reader, 'get_service', { service: 'stripe', timeline_limit: 1 });
		assert.equal(short.timeline.length, 1);
		const graph = await valid(reader, 'get_dependency_graph');
		assert.equal(graph.projects.length, 2);
		assert.equal(graph.services.length, 5);
		const incidents = await valid(reader, 'list_incidents');
		assert.equal(incidents.data.length, 2);
		for (const args of [{ status: 'open' }, { status: 'resolved' }, { service: 'stripe' }, { severity: 'critical' },
			{ since: '2000-01-01T00:00:00Z' }, { status: 'investigating', service: ids.stripe, severity: 'major' }])
			assert.ok((await valid(reader, 'list_incidents', args)).data.length >= 1, JSON.stringify(args));
		const inc = await valid(reader, 'get_incident', { incident_id: ids.open });
		assert.ok(inc.notes.length >= 1 && inc.note_count === inc.notes.length, 'with notes');
		const runbooks = await valid(reader, 'list_runbooks');
		assert.equal(runbooks.data.length, 3);
		assert.equal((await valid(reader, 'list_runbooks', { q: 'SendGrid' })).data.length, 1);
		assert.equal((await valid(reader, 'list_runbooks', { service: 'aws-s3' })).data.length, 1);
		const rb = await valid(reader, 'get_runbook', { runbook_id: ids.runbook });
		assert.ok(rb.body.length > 100);
		const hits = await valid(reader, 'search', { q: 'stripe' });
		assert.ok(hits.data.some((h) => h.type === 'incident') && hits.data.some((h) => h.type === 'runbook'));
		assert.equal(hits.next_cursor, undefined, 'null next_cursor is omitted');
		assert.equal((await valid(reader, 'search', { q: 'stripe', limit: 1 })).data.length, 1);
	});

	test('DESIGN §3: tool results are the REST API\'s documents', async () => {
		assert.deepEqual(await valid(reader, 'get_incident', { incident_id: ids.open }),
			await f.get(f.read, `/api/v1/incidents/${ids.open}`));
		assert.deepEqual(await valid(reader, 'get_runbook', { runbook_id: ids.runbook }),
			await f.get(f.read, `/api/v1/runbooks/${ids.runbook}`));
		assert.deepEqual(await valid(reader, 'get_dependency_graph'), await f.get(f.read, '/api/v1/dependency-graph'));
		const rest = await f.get(f.read, '/api/v1/services?limit=50');
		const tool = await valid(reader, 'list_services');
		assert.deepEqual(tool.data, rest.data);
	});

	test('A48: list tools page with the API\'s opaque cursor until next_cursor is absent', async () => {
		const seen = [];
		let cursor, pages = 0;
		do {
			const page = await valid(reader, 'list_services', cursor ? { limit: 2, cursor } : { limit: 2 });
			assert.ok(page.data.length <= 2);
			seen.push(...page.data.map((s) => s.slug));
			cursor = page.next_cursor;
			if (cursor)
				assert.equal(page.data.length, 2, 'a page with a next_cursor is full');
			assert.ok(++pages < 10);
		} while (cursor);
		assert.equal(seen.length, 5);
		assert.equal(new Set(seen).size, 5, 'no service twice');
		const p1 = await valid(reader, 'list_incidents', { limit: 1 });
		const p2 = await valid(reader, 'list_incidents', { limit: 1, cursor: p1.next_cursor });
		assert.notEqual(p1.data[0].id, p2.data[0].id);
		assert.equal(p2.next_cursor, undefined);
		await toolError(reader, 'list_services', { cursor: 'not-a-cursor' }, /cursor/);
	});

	test('A50/A51: the write tools, and their audit rows attributed to the token', async () => {
		const me = await valid(writer, 'whoami');
		const created = await f.api(f.write, 'POST', '/api/v1/incidents',
			{ title: 'Twilio SMS delayed', service: 'twilio', severity: 'minor' });
		assert.equal(created.status, 201, created.body);
		ids.open = created.json.id;
		const acked = await valid(writer, 'acknowledge_incident', { incident_id: ids.open });
		assert.equal(acked.id, ids.open);
		assert.ok(acked.acknowledged_at);
		const again = await valid(writer, 'acknowledge_incident', { incident_id: ids.open });
		assert.equal(again.acknowledged_at, acked.acknowledged_at, 'idempotent');
		const note = await valid(writer, 'add_incident_note', { incident_id: ids.open, body: 'Seen from MCP: **retrying**.' });
		assert.equal(note.incident_id, ids.open);
		assert.equal(note.body, 'Seen from MCP: **retrying**.');
		const upd = await valid(writer, 'update_incident_status', { incident_id: ids.open, status: 'identified' });
		assert.equal(upd.incident.status, 'identified');
		assert.equal(upd.note, undefined);
		const res = await valid(writer, 'update_incident_status',
			{ incident_id: ids.open, status: 'resolved', note: 'Stripe recovered; queue drained.' });
		assert.equal(res.incident.status, 'resolved');
		assert.ok(res.incident.resolved_at);
		assert.equal(res.note.body, 'Stripe recovered; queue drained.');
		const reopened = await valid(writer, 'update_incident_status', { incident_id: ids.open, status: 'monitoring' });
		assert.equal(reopened.incident.resolved_at, null, 'reopening clears resolved_at');
		const full = await valid(writer, 'get_incident', { incident_id: ids.open });
		assert.ok(full.notes.some((n) => n.body === 'Stripe recovered; queue drained.'));

		const rows = JSON.parse(await f.sql(`SELECT coalesce(json_agg(json_build_object('action', action,
			'actor_kind', actor_kind, 'actor_id', actor_id, 'user', actor_user_id) ORDER BY created_at, id), '[]')
			FROM audit_events WHERE target_kind = 'incident' AND target_id = '${ids.open}'`));
		const actions = rows.map((r) => r.action);
		assert.deepEqual(actions.filter((a) => a === 'incident.acknowledge').length, 1, 'one acknowledge row');
		assert.ok(actions.includes('incident.note') && actions.includes('incident.update'), actions.join());
		assert.equal(rows.length, 7, actions.join()); // create (REST), ack, note, 3 updates, note
		for (const r of rows) {
			assert.equal(r.actor_kind, 'api_token');
			assert.equal(r.actor_id, me.credential.id, 'attributed to the token');
			assert.equal(r.user, f.ids.demoUser);
		}
	});

	test('last_used_at of the token moves with MCP use (batched)', async () => {
		const me = await valid(writer, 'whoami');
		await f.sql(`UPDATE api_tokens SET last_used_at = NULL WHERE id = '${me.credential.id}'`);
		await valid(writer, 'whoami');
		const at = await waitFor(async () => f.sql(`SELECT last_used_at FROM api_tokens WHERE id = '${me.credential.id}'`),
			{ timeoutMs: 5000, what: 'last_used_at' });
		assert.ok(at, 'last_used_at set');
	});
});

describe('tool errors (A52)', () => {
	test('A52: unknown tool or malformed call → -32602', async () => {
		for (const params of [{ name: 'no_such_tool' }, {}, { name: 7 }, { name: 'whoami', arguments: [] },
			{ name: 'whoami', arguments: 'x' }, { name: 'list.services' }]) {
			const m = await writer.rpc('tools/call', params);
			assertResponseShape(m);
			assert.equal(m.error?.code, -32602, JSON.stringify(params));
		}
	});

	test('A52: argument errors are isError results with an actionable message', async () => {
		await toolError(reader, 'get_incident', {}, /Missing required argument incident_id/);
		await toolError(reader, 'get_incident', { incident_id: 5 }, /incident_id must be of type string/);
		await toolError(reader, 'whoami', { extra: 1 }, /Unknown argument extra/);
		await toolError(reader, 'list_services', { status: 'on_fire' }, /status must be one of/);
		await toolError(reader, 'list_services', { limit: 0 }, /limit/);
		await toolError(reader, 'list_services', { limit: 201 }, /limit/);
		await toolError(reader, 'list_services', { limit: 'ten' }, /limit/);
		await toolError(reader, 'search', { q: '' }, /q/);
		await toolError(reader, 'search', { q: 'x'.repeat(201) }, /q/);
		await toolError(reader, 'list_incidents', { since: 'yesterday' }, /since/);
		await toolError(reader, 'list_services', { project: 'NOT A SLUG!' }, /project/);
		await toolError(writer, 'add_incident_note', { incident_id: ids.resolved, body: 'x'.repeat(10001) }, /body/);
		await toolError(writer, 'add_incident_note', { incident_id: ids.resolved, body: 'bell \u0007' }, /body/);
		await toolError(writer, 'update_incident_status', { incident_id: ids.resolved, status: 'closed' }, /status/);
		for (const [name, key] of [['get_incident', 'incident_id'], ['get_runbook', 'runbook_id']]) {
			for (const id of ['not-a-uuid', '00000000-0000-0000-0000-000000000000', "' OR 1=1 --"])
				await toolError(reader, name, { [key]: id }, /Not found/);
		}
		await toolError(reader, 'get_service', { service: 'no-such-service' }, /Not found/);
	});

	test('B9: a read token calling a write tool → HTTP 403 insufficient_scope with the step-up challenge', async () => {
		const r = await reader.post({ jsonrpc: '2.0', id: 'w', method: 'tools/call',
			params: { name: 'acknowledge_incident', arguments: { incident_id: ids.resolved } } });
		assert.equal(r.status, 403, r.body);
		const h = r.headers['www-authenticate'];
		assert.match(h, /^Bearer error="insufficient_scope"/);
		assert.match(h, /scope="read write"/);
		assert.match(h, new RegExp(`resource_metadata="${f.srv.base}/\\.well-known/oauth-protected-resource/mcp"`));
		assert.equal(r.json.id, 'w');
		assert.equal(r.json.error.code, -32000);
		// Inside a batch the call alone fails, as a JSON-RPC error in the 200 array.
		const b = await reader.post([{ jsonrpc: '2.0', id: 1, method: 'tools/call',
			params: { name: 'add_incident_note', arguments: { incident_id: ids.resolved, body: 'x' } } },
		{ jsonrpc: '2.0', id: 2, method: 'ping' }]);
		assert.equal(b.status, 200, b.body);
		assert.equal(b.json[0].error.code, -32000);
		assert.equal(b.json[0].error.data.required_scope, 'read write');
		assert.deepEqual(b.json[1].result, {});
		const inc = await f.get(f.read, `/api/v1/incidents/${ids.resolved}`);
		assert.ok(!inc.notes.some((n) => n.body === 'x'), 'nothing was written');
	});
});

describe('isolation from other organizations', () => {
	test('ids of another org are not found, lists show only the caller\'s org', async () => {
		await toolError(eve, 'get_incident', { incident_id: ids.open }, /Not found/);
		await toolError(eve, 'get_runbook', { runbook_id: ids.runbook }, /Not found/);
		await toolError(eve, 'get_service', { service: ids.stripe }, /Not found/);
		await toolError(eve, 'get_service', { service: 'stripe' }, /Not found/);
		await toolError(eve, 'acknowledge_incident', { incident_id: ids.resolved }, /Not found/);
		await toolError(eve, 'add_incident_note', { incident_id: ids.resolved, body: 'from eve' }, /Not found/);
		await toolError(eve, 'update_incident_status', { incident_id: ids.resolved, status: 'investigating' }, /Not found/);
		for (const name of ['list_services', 'list_incidents', 'list_runbooks', 'list_projects'])
			assert.deepEqual((await valid(eve, name)).data, [], name);
		assert.deepEqual((await valid(eve, 'search', { q: 'stripe' })).data, []);
		const inc = await f.get(f.read, `/api/v1/incidents/${ids.resolved}`);
		assert.equal(inc.status, 'resolved', 'unchanged');
		assert.ok(!inc.notes.some((n) => n.body === 'from eve'));
		assert.equal(await f.sql(`SELECT count(*) FROM audit_events WHERE org_id = '${f.ids.demoOrg}'
			AND actor_id IN (SELECT id::text FROM api_tokens WHERE org_id = '${f.ids.otherOrg}')`), '0');
	});
});
