// server.mjs: a minimal MCP server on the official TypeScript SDK, the
// baseline of tests/bench/mcp_bench.sh. Stateless Streamable HTTP
// (McpServer + StreamableHTTPServerTransport, a new pair per request as the
// SDK's stateless example does), JSON responses, and a bearer check with
// jose (HS256 on a test secret, issuer and audience checked) in front.
// It serves one tool, whoami, answering the same shape as cupd's.
//
// Environment: PORT (default 18099), BENCH_JWT_SECRET (required), and
// BENCH_AUDIENCE (default http://127.0.0.1:<PORT>/mcp).
import http from 'node:http';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { jwtVerify } from 'jose';
import { z } from 'zod';

const PORT = Number(process.env.PORT ?? 18099);
const SECRET = new TextEncoder().encode(process.env.BENCH_JWT_SECRET ?? '');
const AUDIENCE = process.env.BENCH_AUDIENCE ?? `http://127.0.0.1:${PORT}/mcp`;
if (SECRET.length < 32) {
	console.error('server.mjs: set BENCH_JWT_SECRET (at least 32 bytes)');
	process.exit(2);
}

const entity = z.object({ id: z.string(), slug: z.string(), name: z.string() });
const outputSchema = {
	org: entity,
	user: z.object({ id: z.string(), email: z.string(), name: z.string(), role: z.string().nullable() }),
	credential: z.object({ kind: z.string(), id: z.string(), name: z.string().nullable(), scope: z.string() }),
};

function serverFor(claims) {
	const server = new McpServer({ name: 'ts-bench', version: '1.0.0' });
	server.registerTool('whoami', {
		title: 'Who am I',
		description: 'The organization, user and credential this connection acts as.',
		inputSchema: {},
		outputSchema,
		annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
	}, async () => {
		const doc = {
			org: { id: claims.org, slug: 'demo', name: 'Demo' },
			user: { id: claims.sub, email: 'demo@example.com', name: 'Demo User', role: 'owner' },
			credential: { kind: 'connection', id: claims.jti ?? 'bench', name: 'bench', scope: claims.scope ?? 'read' },
		};
		return { content: [{ type: 'text', text: JSON.stringify(doc) }], structuredContent: doc };
	});
	return server;
}

function readBody(req) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		let size = 0;
		req.on('data', (c) => {
			size += c.length;
			if (size > 4 * 1024 * 1024)
				reject(new Error('body too large'));
			chunks.push(c);
		});
		req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		req.on('error', reject);
	});
}

function deny(res, status, error) {
	res.writeHead(status, {
		'content-type': 'application/json',
		'www-authenticate': `Bearer error="${error}"`,
	});
	res.end(JSON.stringify({ error }));
}

http.createServer(async (req, res) => {
	try {
		if (req.url === '/healthz') {
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end('{"status":"ok"}');
			return;
		}
		if (req.url !== '/mcp' || req.method !== 'POST') {
			res.writeHead(405, { allow: 'POST' });
			res.end();
			return;
		}
		const auth = req.headers.authorization ?? '';
		if (!/^Bearer /i.test(auth)) {
			deny(res, 401, 'invalid_request');
			return;
		}
		let claims;
		try {
			({ payload: claims } = await jwtVerify(auth.slice(7), SECRET, { algorithms: ['HS256'], audience: AUDIENCE,
				issuer: 'http://127.0.0.1' }));
		} catch {
			deny(res, 401, 'invalid_token');
			return;
		}
		const body = JSON.parse(await readBody(req));
		const server = serverFor(claims);
		const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
		res.on('close', () => {
			transport.close();
			server.close();
		});
		await server.connect(transport);
		await transport.handleRequest(req, res, body);
	} catch (e) {
		if (!res.headersSent) {
			res.writeHead(500, { 'content-type': 'application/json' });
			res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: String(e.message ?? e) } }));
		}
	}
}).listen(PORT, '127.0.0.1', () => console.log(`ts-bench MCP server on 127.0.0.1:${PORT}`));
