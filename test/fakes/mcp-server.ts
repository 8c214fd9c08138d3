import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  isInitializeRequest,
  ListToolsRequestSchema,
  McpError as SdkMcpError,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { McpAuth, McpTool } from '../../src/platform/mcp/mcp-client';

/**
 * A well-behaved MCP server built with the official SDK (low-level `Server` +
 * `StreamableHTTPServerTransport`) on a plain node:http server at http://127.0.0.1:<port>/mcp.
 *
 *   stateful  a session per initialize (Mcp-Session-Id), transports kept by id, DELETE ends it;
 *             stateless: a fresh Server + transport per POST, GET/DELETE answer 405.
 *   json      enableJsonResponse (application/json answers) instead of SSE answers.
 *   auth      the credential the server insists on (401 + authFailures++ otherwise; the 401 body
 *             echoes what it got, so tests can check the client never repeats it).
 *   pageSize  tools/list pagination (opaque base64 cursors); loopCursor: the server answers every
 *             page with the same nextCursor (a pagination loop).
 *
 * Tools it can call, listed or not: `echo` (answers its arguments as JSON text), `sleep` (waits
 * args.ms, honouring cancellation, which it records in `cancellations`), `fail` (isError: true).
 */

export interface FakeMcpServerOptions {
  stateful: boolean;
  json: boolean;
  auth?: McpAuth;
  tools: McpTool[];
  pageSize?: number;
  loopCursor?: boolean;
}

export interface FakeMcpRequest {
  method: string;
  headers: Record<string, string | undefined>;
  body?: unknown;
}

export interface FakeMcpServer {
  url: string;
  setTools(tools: McpTool[]): void;
  calls: { name: string; args: Record<string, unknown> }[];
  requests: FakeMcpRequest[];
  readonly authFailures: number;
  /** Tool calls whose handler saw its abort signal fire (notifications/cancelled, or the POST dropped). */
  cancellations: { name: string; afterMs: number }[];
  /** Open sessions (stateful mode). */
  readonly sessions: number;
  close(): Promise<void>;
}

const LOOP_CURSOR = 'loop';

function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return 0;
  try {
    const { offset } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { offset?: unknown };
    return typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 ? offset : undefined;
  } catch {
    return undefined;
  }
}

function flattenHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export async function startFakeMcpServer(options: FakeMcpServerOptions): Promise<FakeMcpServer> {
  let tools = [...options.tools];
  const calls: FakeMcpServer['calls'] = [];
  const requests: FakeMcpRequest[] = [];
  const cancellations: FakeMcpServer['cancellations'] = [];
  let authFailures = 0;
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const servers = new Set<Server>();
  const sockets = new Set<Socket>();

  function buildServer(): Server {
    const server = new Server({ name: 'fake-mcp', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async (request) => {
      const cursor = request.params?.cursor;
      if (options.loopCursor && cursor === LOOP_CURSOR) return { tools: [], nextCursor: LOOP_CURSOR };
      const offset = decodeCursor(cursor);
      if (offset === undefined) throw new SdkMcpError(ErrorCode.InvalidParams, 'invalid cursor');
      const size = options.pageSize ?? Math.max(1, tools.length);
      const page = tools.slice(offset, offset + size) as Tool[];
      if (options.loopCursor) return { tools: page, nextCursor: LOOP_CURSOR };
      return offset + size < tools.length ? { tools: page, nextCursor: encodeCursor(offset + size) } : { tools: page };
    });
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const name = request.params.name;
      const args = (request.params.arguments ?? {}) as Record<string, unknown>;
      calls.push({ name, args });
      switch (name) {
        case 'echo':
          return { content: [{ type: 'text' as const, text: JSON.stringify(args) }] };
        case 'fail':
          return { content: [{ type: 'text' as const, text: 'it failed' }], isError: true };
        case 'sleep': {
          const ms = typeof args.ms === 'number' ? args.ms : 0;
          const started = Date.now();
          const cancelled = await new Promise<boolean>((resolve) => {
            if (extra.signal.aborted) return resolve(true);
            const timer = setTimeout(() => resolve(false), ms);
            extra.signal.addEventListener(
              'abort',
              () => {
                clearTimeout(timer);
                resolve(true);
              },
              { once: true },
            );
          });
          if (cancelled) cancellations.push({ name, afterMs: Date.now() - started });
          return { content: [{ type: 'text' as const, text: cancelled ? 'cancelled' : `slept ${ms} ms` }] };
        }
        default:
          throw new SdkMcpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
      }
    });
    servers.add(server);
    server.onclose = () => servers.delete(server);
    return server;
  }

  function authorized(req: IncomingMessage): { ok: boolean; got: string | undefined } {
    const auth = options.auth ?? { type: 'none' };
    switch (auth.type) {
      case 'none':
        return { ok: true, got: undefined };
      case 'bearer': {
        const got = req.headers.authorization;
        return { ok: got === `Bearer ${auth.token}`, got };
      }
      case 'header': {
        const raw = req.headers[auth.name.toLowerCase()];
        const got = Array.isArray(raw) ? raw.join(', ') : raw;
        return { ok: got === auth.value, got };
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.method === 'POST' ? await readBody(req) : '';
    let body: unknown;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        requests.push({ method: req.method ?? '', headers: flattenHeaders(req) });
        return sendJson(res, 400, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
      }
    }
    requests.push({ method: req.method ?? '', headers: flattenHeaders(req), ...(body !== undefined ? { body } : {}) });

    const { ok, got } = authorized(req);
    if (!ok) {
      authFailures++;
      // Echoes the credential it got, like some careless servers do.
      return sendJson(
        res,
        401,
        { jsonrpc: '2.0', error: { code: -32001, message: `Unauthorized: wrong credential ${got ?? '(none)'}` }, id: null },
        { 'www-authenticate': 'Bearer realm="fake"' },
      );
    }

    if (!options.stateful) {
      if (req.method !== 'POST') {
        return sendJson(res, 405, { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null }, { allow: 'POST' });
      }
      const server = buildServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: options.json });
      // When the client goes away, closing the server aborts its in-flight handlers.
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }

    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const transport = transports.get(sessionId);
      if (!transport) return sendJson(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      await transport.handleRequest(req, res, body);
      return;
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        enableJsonResponse: options.json,
        onsessioninitialized: (id) => {
          transports.set(id, transport);
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) transports.delete(transport.sessionId);
      };
      const server = buildServer();
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    return sendJson(res, 400, { jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: no valid session id' }, id: null });
  }

  const http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/mcp') return sendJson(res, 404, { error: 'not found' });
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null });
      else res.destroy();
    });
  });
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    setTools(next) {
      tools = [...next];
    },
    calls,
    requests,
    get authFailures() {
      return authFailures;
    },
    cancellations,
    get sessions() {
      return transports.size;
    },
    async close() {
      await Promise.allSettled([...transports.values()].map((t) => t.close()));
      await Promise.allSettled([...servers].map((s) => s.close()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
