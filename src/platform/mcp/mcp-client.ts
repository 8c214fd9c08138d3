import { AsyncLocalStorage } from 'node:async_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { isParseError, McpError, toMcpError, type ErrorContext } from './mcp-errors';

export { McpError, type McpFailure } from './mcp-errors';

/**
 * Client for tenants' MCP servers (Streamable HTTP), built on the official SDK's Client and
 * StreamableHTTPClientTransport. The servers are untrusted: every operation is bounded by a
 * deadline (and the caller's signal), every failure becomes an McpError with a message fit for the
 * tenant, and the credential never appears in one. The HTTP itself goes through the fetch the caller
 * passes (the SSRF-safe fetch in production, which also caps response sizes and stalls).
 *
 * What this adds around the SDK (see McpSession for the details):
 * - one deadline/cancellation signal per operation, applied to the SDK request (so it sends
 *   notifications/cancelled) AND to the HTTP requests the operation makes (so the abandoned POST is
 *   torn down too; the SDK only aborts those when the whole transport closes);
 * - errors the SDK only reports through `onerror` (an SSE response stream that breaks, is too large,
 *   carries invalid JSON-RPC, or ends without the answer) fail the operation at once with the real
 *   cause, instead of leaving it to run into its deadline;
 * - no standalone GET SSE stream: the SDK opens one after `notifications/initialized`; Runlane
 *   declares no client capabilities, wants no idle connection to an untrusted server, so the GET is
 *   answered locally with 405 ("not offered"), which the SDK accepts silently.
 */

export type McpAuth = { type: 'bearer'; token: string } | { type: 'header'; name: string; value: string } | { type: 'none' };

export interface McpTool {
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

export type McpFetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface McpEndpoint {
  url: string;
  auth: McpAuth;
  fetch: McpFetch;
}

export interface McpLimits {
  deadlineMs: number;
  maxPages: number;
  maxTools: number;
  maxCatalogBytes: number;
}

export const DEFAULT_MCP_LIMITS: Readonly<McpLimits> = Object.freeze({
  deadlineMs: 15_000,
  maxPages: 20,
  maxTools: 500,
  maxCatalogBytes: 2 * 1024 * 1024,
});

export interface McpToolResult {
  content: unknown[];
  structuredContent?: unknown;
  isError: boolean;
}

export const MCP_CLIENT_INFO = Object.freeze({ name: 'runlane', version: '0.1.0' });

/** How long closing a session may spend on the DELETE that terminates it. */
const CLOSE_MS = 2_000;
/** How long the notifications/cancelled POST may take (the operation's own signal is already aborted). */
const CANCEL_NOTIFICATION_MS = 2_000;
/** A response stream that ended: wait this long for the SDK to hand its last events over. */
const STREAM_END_GRACE_MS = 25;
const MAX_TOOL_NAME_CHARS = 128;
const MAX_CURSOR_CHARS = 4_096;
/** Headers the transport sets itself; a custom auth header must not override them. */
const RESERVED_HEADERS = new Set([
  'accept',
  'content-type',
  'content-length',
  'host',
  'connection',
  'transfer-encoding',
  'last-event-id',
  'mcp-session-id',
  'mcp-protocol-version',
]);

// ---------------------------------------------------------------------------------------------
// Deadlines and operations

class Deadline {
  readonly signal: AbortSignal;
  private readonly expiresAt: number;

  constructor(readonly ms: number) {
    this.signal = AbortSignal.timeout(Math.max(1, ms));
    this.expiresAt = Date.now() + ms;
  }

  remainingMs(): number {
    return Math.max(0, this.expiresAt - Date.now());
  }
}

/**
 * One public operation (open, listTools, callTool, close): its signal aborts on the deadline, on the
 * caller's signal, or when something fails it from the side (a broken response stream).
 */
class Operation {
  readonly signal: AbortSignal;
  private readonly failer = new AbortController();
  private failure: { error: unknown } | undefined;
  settled = false;

  constructor(
    readonly deadline: Deadline,
    private readonly userSignal: AbortSignal | undefined,
  ) {
    this.signal = AbortSignal.any([deadline.signal, this.failer.signal, ...(userSignal ? [userSignal] : [])]);
  }

  /** Fails the operation with `error` as its cause, unless it already ended. */
  fail(error: unknown): void {
    if (this.settled || this.signal.aborted) return;
    this.failure = { error };
    this.failer.abort(error);
  }

  /** Request options for the SDK: our signal, and its own timer never later than our deadline. */
  requestOptions(): { signal: AbortSignal; timeout: number } {
    return { signal: this.signal, timeout: Math.max(1, this.deadline.remainingMs()) };
  }

  /** The McpError to throw for `err`, knowing why our signal aborted. */
  resolveError(err: unknown, ctx: ErrorContext): McpError {
    if (err instanceof McpError) return toMcpError(err, ctx);
    if (this.failure) return toMcpError(this.failure.error, ctx);
    if (this.userSignal?.aborted) return new McpError('cancelled', 'cancelled');
    if (this.deadline.signal.aborted) return new McpError('timeout', `no answer within ${this.deadline.ms} ms`);
    return toMcpError(err, ctx);
  }
}

/** The operation on whose behalf the SDK is sending (it calls fetch inside our async context). */
const currentOperation = new AsyncLocalStorage<Operation>();

// ---------------------------------------------------------------------------------------------
// Helpers

function authHeaders(auth: McpAuth): Record<string, string> {
  switch (auth.type) {
    case 'bearer':
      return { Authorization: `Bearer ${auth.token}` };
    case 'header':
      return { [auth.name]: auth.value };
    case 'none':
      return {};
  }
}

function secretsOf(auth: McpAuth): string[] {
  switch (auth.type) {
    case 'bearer':
      return [auth.token];
    case 'header':
      return [auth.value];
    case 'none':
      return [];
  }
}

function parseJson(body: unknown): unknown {
  if (typeof body !== 'string') return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** Ids of the JSON-RPC requests in a POST body (a message or a batch). */
function requestIdsOf(message: unknown): (string | number)[] {
  const messages = Array.isArray(message) ? message : [message];
  const ids: (string | number)[] = [];
  for (const m of messages) {
    if (typeof m !== 'object' || m === null) continue;
    const { id, method } = m as { id?: unknown; method?: unknown };
    if (typeof method === 'string' && (typeof id === 'string' || typeof id === 'number')) ids.push(id);
  }
  return ids;
}

function isCancelledNotification(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { method?: unknown }).method === 'notifications/cancelled';
}

function idKey(id: string | number): string {
  return `${typeof id}:${id}`;
}

function isEventStream(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase() === 'text/event-stream';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Resolves with `promise`, or rejects once `signal` aborts, whichever comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function protocolError(message: string): McpError {
  return new McpError('protocol_error', message);
}

function describeTool(index: number, raw: unknown): string {
  const name = isPlainObject(raw) && typeof raw.name === 'string' && raw.name.length <= MAX_TOOL_NAME_CHARS ? ` ("${raw.name}")` : '';
  return `tool #${index}${name}`;
}

/** Minimal validation: anything off is a protocol error naming the tool; nothing is dropped. */
function validateTool(raw: unknown, index: number): McpTool {
  const what = describeTool(index, raw);
  if (!isPlainObject(raw)) throw protocolError(`invalid tools/list result: ${what} is not an object`);
  const { name, title, description, inputSchema, annotations } = raw;
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_TOOL_NAME_CHARS) {
    throw protocolError(`invalid tools/list result: ${what} has no valid name (a non-empty string of at most ${MAX_TOOL_NAME_CHARS} characters)`);
  }
  if (!isPlainObject(inputSchema)) throw protocolError(`invalid tools/list result: ${what} has no inputSchema object`);
  if (title !== undefined && typeof title !== 'string') throw protocolError(`invalid tools/list result: ${what} has a non-string title`);
  if (description !== undefined && typeof description !== 'string') {
    throw protocolError(`invalid tools/list result: ${what} has a non-string description`);
  }
  if (annotations !== undefined && !isPlainObject(annotations)) {
    throw protocolError(`invalid tools/list result: ${what} has non-object annotations`);
  }
  const tool: McpTool = { name, inputSchema };
  if (title !== undefined) tool.title = title;
  if (description !== undefined) tool.description = description;
  if (annotations !== undefined) tool.annotations = annotations;
  return tool;
}

/** The SDK parses results with this; the shape is checked by hand for better messages. */
const AnyResultSchema = z.record(z.string(), z.unknown());

function resolveLimits(limits: Partial<McpLimits> | undefined): McpLimits {
  const out = { ...DEFAULT_MCP_LIMITS };
  for (const key of Object.keys(out) as (keyof McpLimits)[]) {
    const value = limits?.[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Session

/** Per-session bookkeeping of the fetch wrapper and the transport hooks. */
class SessionState {
  /** Operations in progress on this session. */
  readonly active = new Set<Operation>();
  /** Request ids whose SSE response stream we watch, and those of them that got their answer. */
  readonly watched = new Set<string>();
  readonly answered = new Set<string>();
}

/**
 * Wraps the caller's fetch: never follows redirects, ties each request to the current operation's
 * signal (except notifications/cancelled, sent when that signal has already fired), answers the standalone GET stream locally with 405, and watches SSE response
 * streams so a broken or answerless stream fails the operation that is waiting for it.
 */
function wrapFetch(inner: McpFetch, state: SessionState): McpFetch {
  return async (input, init) => {
    const method = (init?.method ?? 'GET').toUpperCase();
    if (method === 'GET' && !new Headers(init?.headers).has('last-event-id')) {
      // The standalone server-to-client stream: not wanted (see the file comment). A GET with
      // Last-Event-ID resumes a request's stream and goes through like a POST.
      return new Response(null, { status: 405, statusText: 'Method Not Allowed' });
    }
    const op = currentOperation.getStore();
    const message = method === 'POST' ? parseJson(init?.body) : undefined;
    let extra: AbortSignal | undefined;
    if (isCancelledNotification(message)) extra = AbortSignal.timeout(CANCEL_NOTIFICATION_MS);
    else if (op) extra = op.signal;
    const signals = [init?.signal, extra].filter((s): s is AbortSignal => s !== undefined && s !== null);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    const response = await inner(input, { ...init, redirect: 'manual', ...(signal ? { signal } : {}) });
    const ids = requestIdsOf(message);
    if (op && ids.length > 0 && response.ok && response.body && isEventStream(response)) {
      return watchStream(response, response.body, op, ids, state);
    }
    return response;
  };
}

function watchStream(
  response: Response,
  source: ReadableStream<Uint8Array>,
  op: Operation,
  ids: (string | number)[],
  state: SessionState,
): Response {
  const keys = ids.map(idKey);
  for (const key of keys) state.watched.add(key);
  const forget = () => {
    for (const key of keys) {
      state.watched.delete(key);
      state.answered.delete(key);
    }
  };
  const reader = source.getReader();
  const decoder = new TextDecoder();
  let tail = '';
  // An event id means the server may resume the stream elsewhere (the SDK then reconnects).
  let resumable = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        forget();
        op.fail(err);
        controller.error(err);
        return;
      }
      if (chunk.done) {
        controller.close();
        setTimeout(() => {
          const unanswered = keys.some((key) => !state.answered.has(key));
          forget();
          if (unanswered && !resumable) op.fail(protocolError('the MCP server closed the response stream without answering'));
        }, STREAM_END_GRACE_MS).unref();
        return;
      }
      if (!resumable) {
        const text = tail + decoder.decode(chunk.value, { stream: true });
        resumable = /(^|[\r\n])id:/.test(text);
        tail = text.slice(-4);
      }
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      forget();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** An open session, for agent runs calling several tools. */
export class McpSession {
  private closed = false;
  /** Runs after the session closed: the owner of the fetch releases its connections here. */
  private onClosed: (() => Promise<void>) | undefined;

  private constructor(
    private readonly client: Client,
    private readonly transport: StreamableHTTPClientTransport,
    private readonly state: SessionState,
    private readonly secrets: readonly string[],
  ) {}

  static async open(
    endpoint: McpEndpoint,
    options: { deadlineMs: number; signal?: AbortSignal; onClosed?: () => Promise<void> },
  ): Promise<McpSession> {
    const session = await McpSession.openWithin(endpoint, new Deadline(options.deadlineMs), options.signal);
    session.onClosed = options.onClosed;
    return session;
  }

  /** The session id the server gave (stateful servers), if any. */
  get sessionId(): string | undefined {
    return this.transport.sessionId;
  }

  /** @internal open() with a deadline shared with what follows (listMcpTools). */
  static async openWithin(endpoint: McpEndpoint, deadline: Deadline, signal?: AbortSignal): Promise<McpSession> {
    const secrets = secretsOf(endpoint.auth);
    let url: URL;
    try {
      url = new URL(endpoint.url);
    } catch {
      throw new McpError('unreachable', 'the MCP server URL is not a valid URL');
    }
    if (endpoint.auth.type === 'header') {
      const name = endpoint.auth.name.toLowerCase();
      if (RESERVED_HEADERS.has(name)) throw new McpError('unreachable', `the auth header name ${endpoint.auth.name} is reserved by the MCP transport`);
    }
    try {
      new Headers(authHeaders(endpoint.auth));
    } catch {
      // Not echoed: undici's message may quote the value.
      throw new McpError('unreachable', 'the auth header is not a valid HTTP header');
    }
    const state = new SessionState();
    let transport: StreamableHTTPClientTransport;
    try {
      transport = new StreamableHTTPClientTransport(url, {
        fetch: wrapFetch(endpoint.fetch, state),
        requestInit: { headers: authHeaders(endpoint.auth), redirect: 'manual' },
      });
    } catch (err) {
      throw toMcpError(err, { secrets, deadlineMs: deadline.ms });
    }
    // Set before connect: the SDK's Protocol chains handlers that are already there.
    transport.onmessage = (message: JSONRPCMessage) => {
      if ('id' in message && !('method' in message) && (typeof message.id === 'string' || typeof message.id === 'number')) {
        const key = idKey(message.id);
        if (state.watched.has(key)) state.answered.add(key);
      }
    };
    transport.onerror = (error: Error) => {
      // Invalid JSON / JSON-RPC in an SSE stream only reaches onerror; fail whoever waits on it.
      if (!isParseError(error)) return;
      const op = currentOperation.getStore();
      if (op) op.fail(error);
      else for (const active of state.active) active.fail(error);
    };
    const client = new Client({ ...MCP_CLIENT_INFO }, { capabilities: {} });
    const session = new McpSession(client, transport, state, secrets);
    const op = new Operation(deadline, signal);
    try {
      await session.run(op, () => client.connect(transport, op.requestOptions()));
    } catch (err) {
      await session.closeWithin(0);
      throw op.resolveError(err, session.context(deadline.ms));
    }
    return session;
  }

  listTools(limits?: Partial<McpLimits>, signal?: AbortSignal): Promise<McpTool[]> {
    const resolved = resolveLimits(limits);
    return this.listWithin(resolved, new Deadline(resolved.deadlineMs), signal);
  }

  /** @internal listTools() under a deadline shared with open() (listMcpTools). */
  async listWithin(limits: McpLimits, deadline: Deadline, signal?: AbortSignal): Promise<McpTool[]> {
    const op = new Operation(deadline, signal);
    try {
      this.assertOpen();
      return await this.run(op, async () => {
        const tools: McpTool[] = [];
        const names = new Set<string>();
        const cursors = new Set<string>();
        let bytes = 2; // "[]"
        let cursor: string | undefined;
        for (let page = 1; ; page++) {
          if (page > limits.maxPages) {
            throw new McpError('too_many_tools', `the MCP server has more than ${limits.maxPages} pages of tools`);
          }
          const params = cursor === undefined ? {} : { cursor };
          const result = await this.client.request({ method: 'tools/list', params }, AnyResultSchema, op.requestOptions());
          if (!Array.isArray(result.tools)) throw protocolError(`invalid tools/list result: no tools array (page ${page})`);
          for (const raw of result.tools) {
            const index = tools.length;
            if (index >= limits.maxTools) throw new McpError('too_many_tools', `the MCP server has more than ${limits.maxTools} tools`);
            const tool = validateTool(raw, index);
            if (names.has(tool.name)) throw protocolError(`invalid tools/list result: ${describeTool(index, raw)} repeats a tool name`);
            bytes += Buffer.byteLength(JSON.stringify(tool)) + (index > 0 ? 1 : 0);
            if (bytes > limits.maxCatalogBytes) {
              throw new McpError('too_large', `the tool catalog is larger than ${limits.maxCatalogBytes} bytes`);
            }
            names.add(tool.name);
            tools.push(tool);
          }
          const next = result.nextCursor;
          if (next === undefined || next === null || next === '') return tools;
          if (typeof next !== 'string') throw protocolError(`invalid tools/list result: nextCursor is not a string (page ${page})`);
          if (next.length > MAX_CURSOR_CHARS) throw protocolError(`invalid tools/list result: nextCursor is too long (page ${page})`);
          if (cursors.has(next)) throw protocolError(`invalid tools/list result: pagination loops (cursor repeated on page ${page})`);
          cursors.add(next);
          cursor = next;
        }
      });
    } catch (err) {
      throw op.resolveError(err, this.context(deadline.ms));
    }
  }

  async callTool(
    name: string,
    args: Record<string, unknown>,
    options: { deadlineMs: number; signal?: AbortSignal },
  ): Promise<McpToolResult> {
    const deadline = new Deadline(options.deadlineMs);
    const op = new Operation(deadline, options.signal);
    try {
      this.assertOpen();
      const result = await this.run(op, () =>
        this.client.request({ method: 'tools/call', params: { name, arguments: args } }, AnyResultSchema, op.requestOptions()),
      );
      const { content, structuredContent, isError } = result;
      if (content !== undefined && !Array.isArray(content)) throw protocolError('invalid tools/call result: content is not an array');
      if (isError !== undefined && typeof isError !== 'boolean') throw protocolError('invalid tools/call result: isError is not a boolean');
      const out: McpToolResult = { content: content ?? [], isError: isError ?? false };
      if (structuredContent !== undefined) out.structuredContent = structuredContent;
      return out;
    } catch (err) {
      throw op.resolveError(err, this.context(deadline.ms));
    }
  }

  /** Terminates the session (DELETE with its id, if the server gave one) and closes the transport. Never throws. */
  close(): Promise<void> {
    return this.closeWithin(CLOSE_MS);
  }

  /** @internal close(), giving the DELETE at most `ms` (none when 0). */
  async closeWithin(ms: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (ms >= 1 && this.transport.sessionId !== undefined) {
      const op = new Operation(new Deadline(ms), undefined);
      try {
        await this.run(op, () => untilAborted(this.transport.terminateSession(), op.signal));
      } catch {
        // Best effort: the server forgets idle sessions on its own.
      }
    }
    try {
      await this.client.close();
    } catch {
      // never throws
    }
    this.state.watched.clear();
    this.state.answered.clear();
    await this.onClosed?.().catch(() => undefined);
  }

  private assertOpen(): void {
    if (this.closed) throw new McpError('unreachable', 'the MCP session is closed');
  }

  private context(deadlineMs: number): ErrorContext {
    return { secrets: this.secrets, deadlineMs };
  }

  private async run<T>(op: Operation, fn: () => Promise<T>): Promise<T> {
    this.state.active.add(op);
    try {
      return await currentOperation.run(op, fn);
    } finally {
      op.settled = true;
      this.state.active.delete(op);
    }
  }
}

/**
 * Probes an MCP server: opens a session, lists all its tools (following nextCursor), closes it.
 * The whole thing, close included, is bounded by `limits.deadlineMs` and `signal`.
 */
export async function listMcpTools(endpoint: McpEndpoint, limits?: Partial<McpLimits>, signal?: AbortSignal): Promise<McpTool[]> {
  const resolved = resolveLimits(limits);
  const deadline = new Deadline(resolved.deadlineMs);
  const session = await McpSession.openWithin(endpoint, deadline, signal);
  try {
    return await session.listWithin(resolved, deadline, signal);
  } finally {
    await session.closeWithin(Math.min(CLOSE_MS, deadline.remainingMs()));
  }
}

