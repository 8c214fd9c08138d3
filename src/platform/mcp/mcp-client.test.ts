import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostileMcpServer, type HostileMode } from '../../../test/fakes/hostile-mcp-server';
import { startFakeMcpServer, type FakeMcpServer, type FakeMcpServerOptions } from '../../../test/fakes/mcp-server';
import { createSafeFetch, type SafeFetch } from '../outbound/safe-fetch';
import { listMcpTools, McpError, McpSession, type McpAuth, type McpEndpoint, type McpFailure, type McpTool } from './mcp-client';

const TOOLS: McpTool[] = [
  { name: 'echo', description: 'Answers its arguments', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } },
  { name: 'search', title: 'Search', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } },
  { name: 'sleep', inputSchema: { type: 'object', properties: { ms: { type: 'number' } } } },
];

const BEARER: McpAuth = { type: 'bearer', token: 'bearer-secret-0123456789' };
const HEADER: McpAuth = { type: 'header', name: 'X-Api-Key', value: 'header-secret-9876543210' };
const NONE: McpAuth = { type: 'none' };

/** A safe fetch that also records the content type of every answer. */
type RecordingFetch = SafeFetch & { contentTypes: string[] };

let safeFetch: SafeFetch;
const servers: { close(): Promise<void> }[] = [];

beforeAll(() => {
  safeFetch = createSafeFetch({ policy: { allowHttp: true, allowPrivate: true } });
});

afterAll(async () => {
  await Promise.allSettled(servers.map((s) => s.close()));
  await safeFetch.close();
});

async function fake(options: FakeMcpServerOptions): Promise<FakeMcpServer> {
  const server = await startFakeMcpServer(options);
  servers.push(server);
  return server;
}

function recording(inner: SafeFetch): RecordingFetch {
  const contentTypes: string[] = [];
  const fetch = async (input: string | URL, init?: RequestInit) => {
    const response = await inner(input, init);
    contentTypes.push(response.headers.get('content-type') ?? '');
    return response;
  };
  return Object.assign(fetch, { close: () => inner.close(), contentTypes });
}

async function failure(promise: Promise<unknown>, reason: McpFailure): Promise<McpError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected an McpError').toBeInstanceOf(McpError);
  expect((err as McpError).reason, (err as McpError).message).toBe(reason);
  return err as McpError;
}

async function eventually(check: () => boolean, ms = 2_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const credentialOf = (auth: McpAuth, headers: Record<string, string | undefined>) =>
  auth.type === 'bearer' ? headers.authorization : auth.type === 'header' ? headers[auth.name.toLowerCase()] : headers.authorization;
const expectedCredential = (auth: McpAuth) => (auth.type === 'bearer' ? `Bearer ${auth.token}` : auth.type === 'header' ? auth.value : undefined);
const jsonRpcMethod = (body: unknown) => (body as { method?: string } | undefined)?.method;

describe.each([
  { stateful: true, json: true, auth: BEARER },
  { stateful: true, json: false, auth: HEADER },
  { stateful: false, json: true, auth: NONE },
  { stateful: false, json: false, auth: BEARER },
])('stateful=$stateful json=$json auth=$auth.type', ({ stateful, json, auth }) => {
  let server: FakeMcpServer;
  beforeAll(async () => {
    server = await fake({ stateful, json, auth, tools: TOOLS });
  });
  const endpoint = (fetch: McpEndpoint['fetch'] = safeFetch): McpEndpoint => ({ url: server.url, auth, fetch });

  it('lists the tools, with the credential on every request', async () => {
    const fetch = recording(safeFetch);
    const before = server.requests.length;
    expect(await listMcpTools(endpoint(fetch))).toEqual(TOOLS);

    const requests = server.requests.slice(before);
    const methods = requests.map((r) => jsonRpcMethod(r.body) ?? r.method);
    expect(methods).toEqual(['initialize', 'notifications/initialized', 'tools/list', ...(stateful ? ['DELETE'] : [])]);
    for (const r of requests) expect(credentialOf(auth, r.headers)).toBe(expectedCredential(auth));
    if (auth.type === 'none') expect(requests.every((r) => r.headers.authorization === undefined)).toBe(true);
    // The answers really came as JSON or as SSE.
    expect(fetch.contentTypes[0]).toContain(json ? 'application/json' : 'text/event-stream');
    // After initialize: the negotiated protocol version, and the session id when the server gave one.
    for (const r of requests.slice(1)) expect(r.headers['mcp-protocol-version']).toBeTruthy();
    const sessionIds = new Set(requests.slice(1).map((r) => r.headers['mcp-session-id']));
    if (stateful) {
      expect(sessionIds.size).toBe(1);
      expect([...sessionIds][0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(requests[0]!.headers['mcp-session-id']).toBeUndefined();
      expect(server.sessions).toBe(0); // the DELETE ended it
    } else {
      expect([...sessionIds]).toEqual([undefined]);
    }
  });

  it('calls tools in an open session, then terminates it', async () => {
    const before = server.requests.length;
    const session = await McpSession.open(endpoint(), { deadlineMs: 5_000 });
    try {
      expect(session.sessionId !== undefined).toBe(stateful);
      expect((await session.listTools()).map((t) => t.name)).toEqual(['echo', 'search', 'sleep']);
      const result = await session.callTool('echo', { text: 'hi', n: 1 }, { deadlineMs: 2_000 });
      expect(result).toEqual({ content: [{ type: 'text', text: '{"text":"hi","n":1}' }], isError: false });
      expect(await session.callTool('fail', {}, { deadlineMs: 2_000 })).toMatchObject({ isError: true });
      expect(server.calls.slice(-2)).toEqual([
        { name: 'echo', args: { text: 'hi', n: 1 } },
        { name: 'fail', args: {} },
      ]);
      // A JSON-RPC error answer (unknown tool) is a protocol error.
      await failure(session.callTool('nope', {}, { deadlineMs: 2_000 }), 'protocol_error');
    } finally {
      await session.close();
      await session.close(); // idempotent
    }
    const requests = server.requests.slice(before);
    const deletes = requests.filter((r) => r.method === 'DELETE');
    if (stateful) {
      expect(deletes).toHaveLength(1);
      expect(deletes[0]!.headers['mcp-session-id']).toBe(requests[1]!.headers['mcp-session-id']);
      expect(server.sessions).toBe(0);
    } else {
      expect(deletes).toHaveLength(0);
    }
    // No standalone GET stream is ever opened.
    expect(requests.some((r) => r.method === 'GET')).toBe(false);
    await failure(session.callTool('echo', {}, { deadlineMs: 1_000 }), 'unreachable');
  });

  it('a call past its deadline is a timeout, and the server sees it cancelled', async () => {
    const session = await McpSession.open(endpoint(), { deadlineMs: 5_000 });
    try {
      const cancelledBefore = server.cancellations.length;
      const started = Date.now();
      const err = await failure(session.callTool('sleep', { ms: 5_000 }, { deadlineMs: 200 }), 'timeout');
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(err.message).toBe('no answer within 200 ms');
      await eventually(() => server.cancellations.length > cancelledBefore);
      expect(server.cancellations.at(-1)!.afterMs).toBeLessThan(1_000);
      // The SDK sent notifications/cancelled for the call (stateless servers see the POST dropped as well).
      const call = server.requests.findLast((r) => jsonRpcMethod(r.body) === 'tools/call');
      const callId = (call!.body as { id: number }).id;
      await eventually(() =>
        server.requests.some(
          (r) => jsonRpcMethod(r.body) === 'notifications/cancelled' && (r.body as { params: { requestId: number } }).params.requestId === callId,
        ),
      );
      // The session is still usable afterwards.
      expect((await session.callTool('echo', { again: true }, { deadlineMs: 2_000 })).isError).toBe(false);
    } finally {
      await session.close();
    }
  });

  it('a call aborted by the caller is cancelled', async () => {
    const session = await McpSession.open(endpoint(), { deadlineMs: 5_000 });
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const started = Date.now();
      const err = await failure(session.callTool('sleep', { ms: 5_000 }, { deadlineMs: 5_000, signal: controller.signal }), 'cancelled');
      expect(err.message).toBe('cancelled');
      expect(Date.now() - started).toBeLessThan(1_000);
      await eventually(() => server.requests.some((r) => jsonRpcMethod(r.body) === 'notifications/cancelled'));
    } finally {
      await session.close();
    }
  });
});

describe('credentials', () => {
  it('a wrong bearer token is unauthorized, and the message never repeats it', async () => {
    const server = await fake({ stateful: true, json: true, auth: BEARER, tools: TOOLS });
    const wrong: McpAuth = { type: 'bearer', token: 'wrong-token-SECRET-abcdef' };
    const err = await failure(listMcpTools({ url: server.url, auth: wrong, fetch: safeFetch }), 'unauthorized');
    expect(err.message).toBe('HTTP 401 from the MCP server');
    expect(err.message).not.toContain('wrong-token-SECRET-abcdef');
    expect(server.authFailures).toBe(1);
  });

  it('a wrong custom header is unauthorized, and the message never repeats it', async () => {
    const server = await fake({ stateful: false, json: false, auth: HEADER, tools: TOOLS });
    const wrong: McpAuth = { type: 'header', name: 'X-Api-Key', value: 'wrong-header-SECRET-xyz' };
    const err = await failure(listMcpTools({ url: server.url, auth: wrong, fetch: safeFetch }), 'unauthorized');
    expect(err.message).not.toContain('wrong-header-SECRET-xyz');
    expect(server.authFailures).toBe(1);
    // Missing credential entirely.
    await failure(listMcpTools({ url: server.url, auth: NONE, fetch: safeFetch }), 'unauthorized');
    expect(server.authFailures).toBe(2);
  });

  it('refuses a custom auth header the transport owns, or one that is not a valid header', async () => {
    const fetch = async () => {
      throw new Error('must not be called');
    };
    const url = 'http://127.0.0.1:9/mcp';
    await failure(listMcpTools({ url, auth: { type: 'header', name: 'Mcp-Session-Id', value: 'x' }, fetch }), 'unreachable');
    const err = await failure(listMcpTools({ url, auth: { type: 'header', name: 'X-Key', value: 'line\nbreak-secret' }, fetch }), 'unreachable');
    expect(err.message).not.toContain('break-secret');
  });

  it('no message carries the credential, even when the error text from the server echoes it', async () => {
    // A fetch that fails with the credential in its message (like a careless proxy would).
    const leaky = async (_input: string | URL, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      throw Object.assign(new Error(`connection refused while sending ${headers.get('authorization')}`), { reason: 'connection_failed' });
    };
    const err = await failure(listMcpTools({ url: 'http://127.0.0.1:9/mcp', auth: BEARER, fetch: leaky }), 'unreachable');
    expect(err.message).toContain('[redacted]');
    expect(err.message).not.toContain((BEARER as { token: string }).token);
  });
});

describe('pagination and limits', () => {
  const seven = Array.from({ length: 7 }, (_, i) => ({ name: `tool_${i}`, inputSchema: { type: 'object' } }));

  it('follows nextCursor through all pages', async () => {
    const server = await fake({ stateful: true, json: false, tools: seven, pageSize: 3 });
    expect(await listMcpTools({ url: server.url, auth: NONE, fetch: safeFetch })).toEqual(seven);
    const pages = server.requests.filter((r) => jsonRpcMethod(r.body) === 'tools/list');
    expect(pages).toHaveLength(3);
    expect(pages.map((r) => (r.body as { params?: { cursor?: string } }).params?.cursor !== undefined)).toEqual([false, true, true]);
  });

  it('more tools or pages than allowed is too_many_tools', async () => {
    const server = await fake({ stateful: false, json: true, tools: seven, pageSize: 3 });
    const endpoint = { url: server.url, auth: NONE, fetch: safeFetch };
    await failure(listMcpTools(endpoint, { maxTools: 6 }), 'too_many_tools');
    await failure(listMcpTools(endpoint, { maxPages: 2 }), 'too_many_tools');
    expect(await listMcpTools(endpoint, { maxPages: 3, maxTools: 7 })).toHaveLength(7);
  });

  it('a catalog larger than maxCatalogBytes is too_large', async () => {
    const big = [{ name: 'big', description: 'x'.repeat(5_000), inputSchema: { type: 'object' } }];
    const server = await fake({ stateful: false, json: true, tools: big });
    await failure(listMcpTools({ url: server.url, auth: NONE, fetch: safeFetch }, { maxCatalogBytes: 4_096 }), 'too_large');
  });

  it('a server that repeats its cursor is a protocol error, not a loop', async () => {
    const server = await fake({ stateful: true, json: true, tools: seven, loopCursor: true });
    const err = await failure(listMcpTools({ url: server.url, auth: NONE, fetch: safeFetch }), 'protocol_error');
    expect(err.message).toMatch(/pagination loops/);
    // Page 1 hands out the cursor, page 2 hands out the same one again: stop there.
    expect(server.requests.filter((r) => jsonRpcMethod(r.body) === 'tools/list')).toHaveLength(2);
  });

  it('an invalid tool is a protocol error naming it, nothing is dropped silently', async () => {
    const server = await fake({ stateful: false, json: true, tools: TOOLS });
    const endpoint = { url: server.url, auth: NONE, fetch: safeFetch };
    server.setTools([TOOLS[0]!, { name: '', inputSchema: {} }]);
    expect((await failure(listMcpTools(endpoint), 'protocol_error')).message).toMatch(/tool #1 .*name/);
    server.setTools([TOOLS[0]!, TOOLS[1]!, { name: 'no_schema' } as McpTool]);
    expect((await failure(listMcpTools(endpoint), 'protocol_error')).message).toMatch(/tool #2 \("no_schema"\) has no inputSchema/);
    server.setTools([{ name: 'x'.repeat(129), inputSchema: {} }]);
    await failure(listMcpTools(endpoint), 'protocol_error');
    server.setTools([TOOLS[0]!, TOOLS[0]!]);
    expect((await failure(listMcpTools(endpoint), 'protocol_error')).message).toMatch(/repeats a tool name/);
  });

  it('setTools between two listings shows the new list', async () => {
    const server = await fake({ stateful: true, json: true, tools: TOOLS });
    const endpoint = { url: server.url, auth: NONE, fetch: safeFetch };
    expect((await listMcpTools(endpoint)).map((t) => t.name)).toEqual(['echo', 'search', 'sleep']);
    server.setTools([{ name: 'fresh', inputSchema: { type: 'object' } }]);
    expect(await listMcpTools(endpoint)).toEqual([{ name: 'fresh', inputSchema: { type: 'object' } }]);
  });
});

describe('hostile servers (with the safe fetch)', () => {
  let hostileFetch: SafeFetch;
  beforeAll(() => {
    hostileFetch = createSafeFetch({
      policy: { allowHttp: true, allowPrivate: true },
      connectTimeoutMs: 300,
      headersTimeoutMs: 300,
      bodyTimeoutMs: 300,
      maxResponseBytes: 1024 * 1024,
    });
  });
  afterAll(async () => {
    await hostileFetch.close();
  });

  const cases: [HostileMode, 'initialize' | 'tools/list', McpFailure][] = [
    ['slow-headers', 'initialize', 'timeout'],
    ['slow-headers', 'tools/list', 'timeout'],
    ['endless-sse', 'initialize', 'timeout'],
    ['endless-sse', 'tools/list', 'timeout'],
    ['huge-body', 'initialize', 'too_large'],
    ['huge-body', 'tools/list', 'too_large'],
    ['huge-sse', 'initialize', 'too_large'],
    ['huge-sse', 'tools/list', 'too_large'],
    ['malformed-json-rpc', 'initialize', 'protocol_error'],
    ['malformed-json-rpc', 'tools/list', 'protocol_error'],
    ['wrong-shape', 'initialize', 'protocol_error'],
    ['wrong-shape', 'tools/list', 'protocol_error'],
    ['malformed-sse', 'initialize', 'protocol_error'],
    ['malformed-sse', 'tools/list', 'protocol_error'],
    ['sse-no-answer', 'initialize', 'protocol_error'],
    ['sse-no-answer', 'tools/list', 'protocol_error'],
    ['not-json', 'initialize', 'protocol_error'],
    ['http-500', 'initialize', 'http_error'],
    ['http-500', 'tools/list', 'http_error'],
    ['redirect', 'initialize', 'unreachable'],
  ];

  it.each(cases)('%s (on %s) → %s, promptly', async (mode, on, reason) => {
    const server = await startHostileMcpServer(mode, { on });
    servers.push(server);
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    const err = await failure(listMcpTools({ url: server.url, auth: BEARER, fetch: hostileFetch }, { deadlineMs: 1_000 }), reason);
    const elapsed = Date.now() - started;
    // Nothing waits longer than the deadline (plus a little slack); what can fail early does.
    expect(elapsed).toBeLessThan(reason === 'timeout' ? 1_500 : 1_000);
    expect(err.message.length).toBeLessThanOrEqual(300);
    expect(err.message).not.toContain((BEARER as { token: string }).token);
    if (mode.startsWith('huge')) {
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(50 * 1024 * 1024);
      expect(server.bytesWritten).toBeLessThan(40 * 1024 * 1024); // the server was stopped, not drained
    }
    await server.close();
  });

  it('the client alone (plain fetch) is still bounded by its deadline', async () => {
    for (const mode of ['slow-headers', 'endless-sse'] as const) {
      const server = await startHostileMcpServer(mode);
      servers.push(server);
      const started = Date.now();
      const err = await failure(listMcpTools({ url: server.url, auth: NONE, fetch: globalThis.fetch }, { deadlineMs: 400 }), 'timeout');
      expect(err.message).toBe('no answer within 400 ms');
      expect(Date.now() - started).toBeLessThan(1_000);
      await server.close();
    }
  });

  it('the caller can cancel a probe stuck on a hostile server', async () => {
    const server = await startHostileMcpServer('endless-sse', { on: 'tools/list' });
    servers.push(server);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    await failure(listMcpTools({ url: server.url, auth: NONE, fetch: hostileFetch }, { deadlineMs: 5_000 }, controller.signal), 'cancelled');
    await server.close();
  });

  it('a session on a hostile server: calls fail cleanly, close() is bounded and never throws', async () => {
    for (const mode of ['slow-headers', 'endless-sse', 'huge-body', 'http-500'] as const) {
      const server = await startHostileMcpServer(mode, { on: 'tools/list' });
      servers.push(server);
      const session = await McpSession.open({ url: server.url, auth: HEADER, fetch: hostileFetch }, { deadlineMs: 1_000 });
      expect(session.sessionId).toBe('hostile-session');
      const expected = { 'slow-headers': 'timeout', 'endless-sse': 'timeout', 'huge-body': 'too_large', 'http-500': 'http_error' } as const;
      await failure(session.callTool('echo', {}, { deadlineMs: 500 }), expected[mode]);
      const started = Date.now();
      await expect(session.close()).resolves.toBeUndefined(); // the DELETE misbehaves too
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(server.methods).toContain('DELETE');
      await server.close();
    }
  });

  it('a closed port is unreachable', async () => {
    const server = await startHostileMcpServer('http-500');
    const url = server.url;
    await server.close();
    await failure(listMcpTools({ url, auth: NONE, fetch: hostileFetch }, { deadlineMs: 1_000 }), 'unreachable');
  });
});
