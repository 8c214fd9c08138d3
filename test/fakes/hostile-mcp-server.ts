import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * Misbehaving "MCP servers" on raw node:http, at http://127.0.0.1:<port>/mcp.
 *
 *   slow-headers        never answers (no status line, no headers)
 *   endless-sse         200 text/event-stream, then a keep-alive comment every 50 ms, forever, never the result
 *   huge-body           200 application/json, 50 MB of JSON-ish garbage streamed fast, no Content-Length
 *   huge-sse            the same as one never-ending SSE `data:` line
 *   malformed-json-rpc  200 application/json `{"jsonrpc":"2.0","id":<id>,"result":` (truncated)
 *   wrong-shape         200 application/json, a JSON-RPC result of the wrong shape
 *   malformed-sse       200 text/event-stream, one event whose data is truncated JSON, then keep-alives
 *   sse-no-answer       200 text/event-stream, a comment, then the stream ends without the result
 *   not-json            200 text/html
 *   http-500            500 text/plain
 *   redirect            302 to a metadata-service address
 *
 * `on: 'tools/list'` answers initialize (with an Mcp-Session-Id) and notifications properly and
 * misbehaves on every other request (tools/list, tools/call, the DELETE that ends the session)
 * instead; the default misbehaves from the first POST. close() destroys every open socket so
 * nothing lingers.
 */
export type HostileMode =
  | 'slow-headers'
  | 'endless-sse'
  | 'huge-body'
  | 'huge-sse'
  | 'malformed-json-rpc'
  | 'wrong-shape'
  | 'malformed-sse'
  | 'sse-no-answer'
  | 'not-json'
  | 'http-500'
  | 'redirect';

export interface HostileMcpServer {
  url: string;
  /** Bytes of garbage written so far (huge-* modes). */
  readonly bytesWritten: number;
  /** Requests received, by JSON-RPC method (or HTTP method when there is none). */
  methods: string[];
  close(): Promise<void>;
}

const HUGE_BYTES = 50 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'x');

async function readJson(req: IncomingMessage): Promise<{ id?: unknown; method?: unknown } | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: unknown; method?: unknown };
  } catch {
    return undefined;
  }
}

export async function startHostileMcpServer(mode: HostileMode, options: { on?: 'initialize' | 'tools/list' } = {}): Promise<HostileMcpServer> {
  const on = options.on ?? 'initialize';
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const methods: string[] = [];
  let bytesWritten = 0;

  function every(ms: number, res: ServerResponse, fn: () => void): void {
    const timer = setInterval(() => {
      if (res.destroyed || res.writableEnded) {
        clearInterval(timer);
        timers.delete(timer);
        return;
      }
      fn();
    }, ms);
    timers.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      timers.delete(timer);
    });
  }

  async function streamGarbage(res: ServerResponse, prefix: string): Promise<void> {
    res.write(prefix);
    while (bytesWritten < HUGE_BYTES && !res.destroyed) {
      bytesWritten += CHUNK.length;
      if (!res.write(CHUNK)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    if (!res.destroyed) res.end(']}}');
  }

  function misbehave(res: ServerResponse, id: unknown): void {
    const idJson = JSON.stringify(id ?? 0);
    switch (mode) {
      case 'slow-headers':
        return; // never answers
      case 'endless-sse':
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write(': hello\n\n');
        every(50, res, () => res.write(': keepalive\n\n'));
        return;
      case 'huge-body':
        res.writeHead(200, { 'content-type': 'application/json' });
        void streamGarbage(res, `{"jsonrpc":"2.0","id":${idJson},"result":{"tools":["`);
        return;
      case 'huge-sse':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        void streamGarbage(res, `event: message\ndata: {"jsonrpc":"2.0","id":${idJson},"result":{"tools":["`);
        return;
      case 'malformed-json-rpc':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"jsonrpc":"2.0","id":${idJson},"result":`);
        return;
      case 'wrong-shape':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"jsonrpc":"2.0","id":${idJson},"result":{"tools":"all of them","protocolVersion":42}}`);
        return;
      case 'malformed-sse':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`event: message\ndata: {"jsonrpc":"2.0","id":${idJson},"result":\n\n`);
        every(50, res, () => res.write(': keepalive\n\n'));
        return;
      case 'sse-no-answer':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(': nothing to see here\n\n');
        return;
      case 'not-json':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>Welcome to nginx!</body></html>');
        return;
      case 'http-500':
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal server error');
        return;
      case 'redirect':
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
        res.end();
        return;
    }
  }

  const http = createServer((req, res) => {
    void (async () => {
      const message = req.method === 'POST' ? await readJson(req) : undefined;
      const method = typeof message?.method === 'string' ? message.method : (req.method ?? '?');
      methods.push(method);
      if (on === 'tools/list') {
        if (method === 'initialize') {
          res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'hostile-session' });
          res.end(
            JSON.stringify({
              jsonrpc: '2.0',
              id: message?.id,
              result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'hostile', version: '0' } },
            }),
          );
          return;
        }
        if (method.startsWith('notifications/')) {
          res.writeHead(202).end();
          return;
        }
        if (req.method === 'GET') {
          res.writeHead(405).end();
          return;
        }
      }
      misbehave(res, message?.id);
    })().catch(() => res.destroy());
  });
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    get bytesWritten() {
      return bytesWritten;
    },
    methods,
    async close() {
      for (const timer of timers) clearInterval(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
