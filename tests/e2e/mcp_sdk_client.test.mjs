// mcp_sdk_client.test.mjs: the official MCP TypeScript SDK client
// (@modelcontextprotocol/sdk Client + StreamableHTTPClientTransport, the
// version package.json pins) against the real cupd with an API Token in a
// static Authorization header (requestInit.headers), the way CI jobs,
// Claude Code's --header and env-var configs connect: initialize, list and
// call every tool (the SDK validates each structuredContent against the
// tool's outputSchema with Ajv, A51), resources and templates, the prompt,
// the 403 step-up for a read token, and session termination.
// Issue 5 "End-to-end"; REQUIREMENTS A11, A22, A25, A31, A40, A45-A52, B9.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { cleanup, psql, request, runCli, startCluster, startCupd } from '../integration/lib/harness.mjs';

const READ_TOOLS = ['whoami', 'list_projects', 'list_services', 'get_service', 'get_dependency_graph',
	'list_incidents', 'get_incident', 'list_runbooks', 'get_runbook', 'search'];
const WRITE_TOOLS = ['acknowledge_incident', 'add_incident_note', 'update_incident_status'];

let srv, cluster, tokens = {};

async function cli(args) {
	const r = await runCli(args, { env: { DATABASE_URL: cluster.url } });
	assert.equal(r.code, 0, `cupd ${args.join(' ')}: ${r.stderr}`);
	return r.stdout.trim();
}

before(async () => {
	cluster = await startCluster();
	await cli(['migrate']);
	const dir = await mkdtemp(path.join(os.tmpdir(), 'cupd-e2e-mcp-'));
	await cli(['seed-demo', '--password-file', path.join(dir, 'pw')]);
	for (const scope of ['read', 'write'])
		tokens[scope] = await cli(['token', 'create', '--org', 'demo', '--user', 'demo@example.com', '--name',
			`e2e ${scope}`, '--scopes', scope]);
	srv = await startCupd({ cluster, env: { CUPD_ACCESS_LOG: 'off', CUPD_RATE_API_TOKEN_PER_MIN: '100000',
		CUPD_KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex') } });
});

after(async () => {
	if (srv) {
		const r = await srv.stop('SIGTERM');
		assert.doesNotMatch(srv.stderr(), /Sanitizer|runtime error:/);
		assert.equal(r.code, 0);
	}
	await cleanup();
});

/** A connected SDK client; statuses records every HTTP status it saw. */
async function connect(token) {
	const statuses = [];
	const client = new Client({ name: 'cupd-e2e', version: '1.0.0' });
	const transport = new StreamableHTTPClientTransport(new URL(`${srv.base}/mcp`), {
		requestInit: { headers: { Authorization: `Bearer ${token}` } },
		fetch: async (url, init) => {
			const res = await fetch(url, init);
			statuses.push(`${init?.method ?? 'GET'} ${res.status}`);
			return res;
		},
	});
	await client.connect(transport);
	return { client, transport, statuses };
}

/** Valid arguments for every tool, from the demo data. */
async function argumentsFor(client) {
	const incidents = (await client.callTool({ name: 'list_incidents', arguments: {} })).structuredContent.data;
	const runbooks = (await client.callTool({ name: 'list_runbooks', arguments: {} })).structuredContent.data;
	const open = incidents.find((i) => i.status !== 'resolved');
	return {
		whoami: {},
		list_projects: { limit: 1 },
		list_services: { status: 'operational', limit: 2 },
		get_service: { service: 'stripe', timeline_limit: 3 },
		get_dependency_graph: {},
		list_incidents: { status: 'open' },
		get_incident: { incident_id: open.id },
		list_runbooks: { q: 'stripe' },
		get_runbook: { runbook_id: runbooks[0].id },
		search: { q: 'sendgrid' },
		acknowledge_incident: { incident_id: open.id },
		add_incident_note: { incident_id: open.id, body: 'From the MCP SDK e2e test.' },
		update_incident_status: { incident_id: open.id, status: 'monitoring', note: 'Watching the error rate.' },
	};
}

test('SDK client with an API Token: initialize, every tool, resources, prompt, then terminate', { timeout: 60000 },
	async () => {
		const { client, transport, statuses } = await connect(tokens.write);
		assert.equal(client.getServerVersion().name, 'cupd');
		assert.equal(transport.protocolVersion, '2025-11-25', 'negotiated the SDK\'s latest version');
		assert.match(transport.sessionId, /^[\x21-\x7e]{43,}$/);
		const caps = client.getServerCapabilities();
		assert.ok(caps.tools && caps.resources && caps.prompts);

		const { tools } = await client.listTools();
		assert.deepEqual(tools.map((t) => t.name).sort(), [...READ_TOOLS, ...WRITE_TOOLS].sort());
		const args = await argumentsFor(client);
		for (const t of tools) {
			// callTool validates structuredContent against the outputSchema it cached at listTools (Ajv).
			const res = await client.callTool({ name: t.name, arguments: args[t.name] });
			assert.ok(!res.isError, `${t.name}: ${JSON.stringify(res.content)}`);
			assert.equal(typeof res.structuredContent, 'object', t.name);
			assert.equal(res.content[0].type, 'text');
		}
		// The SDK opens its GET stream in the background after initialized: 405, and it carried on (A22).
		assert.ok(statuses.includes('GET 405'), statuses.join());
		const bad = await client.callTool({ name: 'get_incident', arguments: { incident_id: 'nope' } });
		assert.equal(bad.isError, true, 'tool errors come back as results (A52)');
		await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), /-32602|Unknown tool/);

		const { resources } = await client.listResources();
		assert.equal(resources.length, 5);
		for (const r of resources) {
			const { contents } = await client.readResource({ uri: r.uri });
			assert.equal(contents[0].uri, r.uri);
			assert.equal(contents[0].mimeType, r.mimeType);
			assert.ok(contents[0].text.length > 0);
		}
		const { resourceTemplates } = await client.listResourceTemplates();
		assert.equal(resourceTemplates.length, 2);
		await assert.rejects(client.readResource({ uri: 'cupd://runbooks/00000000-0000-0000-0000-000000000000' }),
			/-32002|Resource not found/);

		const { prompts } = await client.listPrompts();
		assert.deepEqual(prompts.map((p) => p.name), ['triage_incident']);
		const inc = resources.find((r) => r.uri.startsWith('cupd://incidents/'));
		const prompt = await client.getPrompt({ name: 'triage_incident',
			arguments: { incident_id: inc.uri.split('/').pop() } });
		assert.equal(prompt.messages[0].role, 'user');
		assert.match(prompt.messages[0].content.text, /get_service/);
		assert.deepEqual(await client.ping(), {});

		const sid = transport.sessionId;
		await transport.terminateSession();
		assert.ok(statuses.includes('DELETE 204'), statuses.join());
		const after = await request({ port: srv.port, method: 'POST', path: '/mcp', timeoutMs: 5000,
			headers: { authorization: `Bearer ${tokens.write}`, 'content-type': 'application/json',
				accept: 'application/json', 'mcp-session-id': sid },
			body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) });
		assert.equal(after.status, 404, 'the terminated session is gone (A31)');
		await client.close();
		const audit = await psql(cluster.url, "SELECT count(*) FROM audit_events WHERE action LIKE 'incident.%' "
			+ "AND actor_kind = 'api_token'");
		assert.ok(Number(audit) >= 3, 'the write tools audited as the token');
	});

test('SDK client with a read token: write tools are not listed; calling one fails with 403 insufficient_scope',
	{ timeout: 30000 }, async () => {
		const { client, statuses } = await connect(tokens.read);
		const names = (await client.listTools()).tools.map((t) => t.name).sort();
		assert.deepEqual(names, [...READ_TOOLS].sort());
		await assert.rejects(client.callTool({ name: 'acknowledge_incident',
			arguments: { incident_id: '00000000-0000-0000-0000-000000000000' } }), /403|insufficient_scope|scope/i);
		assert.ok(statuses.includes('POST 403'), statuses.join());
		await client.close();
	});
