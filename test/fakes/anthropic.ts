/**
 * A local fake of the Anthropic API that speaks its wire format, for tests.
 *
 * What it serves (everything under /v1, JSON unless said otherwise):
 *   GET  /v1/models                 list, paginated like the real one (limit, after_id, before_id)
 *   GET  /v1/models/{id}            one model, or 404 not_found_error
 *   POST /v1/messages/count_tokens  { input_tokens }
 *   POST /v1/messages               a Message, or with `stream: true` the SSE event sequence
 *                                   (message_start, content_block_start, ping, content_block_delta,
 *                                   content_block_stop, message_delta, message_stop)
 *
 * Authentication: the key is read from `Authorization: Bearer <key>` (what @anthropic-ai/sdk 1.12
 * sends for `apiKey`) or `x-api-key: <key>` (what the HTTP API documents and older SDKs send). What
 * the key gets is decided by its behaviour (`setKeyBehaviour` or the `keys` map):
 *   'valid'                  served normally
 *   { status, body, headers } that exact error response, on every request
 *   'hang'                   the request is read and recorded, then never answered
 *   'drop'                   the socket is destroyed without a response
 * A key with no behaviour gets 401 authentication_error "invalid x-api-key", as the real API does.
 *
 * Replies to POST /v1/messages are scriptable per key: `script(key, [...])` queues replies that are
 * used one per request (text, tool_use blocks, an error, 'hang', 'drop', or any of these after a
 * delay); with the queue empty the
 * fake answers a short text message. The error-body helpers (`anthropicErrors`) build the bodies
 * that docs.anthropic.com/en/api/errors documents, with a `request_id` and the matching header.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// ---------------------------------------------------------------------------------------------
// Error bodies
// ---------------------------------------------------------------------------------------------

/** The error `type` values the API documents, with their HTTP status. */
export const ERROR_STATUS = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
} as const;

export type AnthropicErrorType = keyof typeof ERROR_STATUS;

export type AnthropicErrorBody = {
  type: 'error';
  error: { type: string; message: string; details?: { error_code: string; [k: string]: unknown } };
  request_id: string;
};

/** Any HTTP error response the fake can send. `body` may be any JSON value or a raw string. */
export type FakeErrorResponse = { status: number; body: unknown; headers?: Record<string, string> };

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function randomId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let out = prefix;
  for (const b of bytes) out += BASE62[b % 62];
  return out;
}

export const requestId = (): string => randomId('req_');

/** `{"type":"error","error":{"type":…,"message":…},"request_id":"req_…"}` with its documented status. */
export function anthropicError(
  type: AnthropicErrorType,
  message: string,
  options: { status?: number; headers?: Record<string, string>; errorCode?: string } = {},
): FakeErrorResponse {
  const body: AnthropicErrorBody = {
    type: 'error',
    error: { type, message, ...(options.errorCode ? { details: { error_code: options.errorCode } } : {}) },
    request_id: requestId(),
  };
  return { status: options.status ?? ERROR_STATUS[type], body, headers: options.headers };
}

export const MESSAGES = {
  invalidKey: 'invalid x-api-key',
  keyDisabled: 'This API key has been disabled.',
  keyRevoked: 'API key has been revoked',
  keyExpired: 'API key expired',
  creditBalanceTooLow:
    'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
  spendLimitReached:
    'You have reached your specified API usage limits. You will regain access on 2026-08-01 at 00:00 UTC.',
} as const;

/** One builder per documented error (and the known message variants). */
export const anthropicErrors = {
  invalidRequest: (message = 'messages: Field required') => anthropicError('invalid_request_error', message),
  /** 400 invalid_request_error, the prepaid-credits case. */
  creditBalanceTooLow: () => anthropicError('invalid_request_error', MESSAGES.creditBalanceTooLow),
  authentication: (message: string = MESSAGES.invalidKey) => anthropicError('authentication_error', message),
  keyDisabled: () => anthropicError('authentication_error', MESSAGES.keyDisabled),
  keyRevoked: () => anthropicError('authentication_error', MESSAGES.keyRevoked),
  keyExpired: () => anthropicError('authentication_error', MESSAGES.keyExpired),
  billing: (message = 'There is an issue with your billing or payment information.') => anthropicError('billing_error', message),
  permission: (message = 'Your API key does not have permission to use the specified resource.') =>
    anthropicError('permission_error', message),
  notFound: (message = 'Not found') => anthropicError('not_found_error', message),
  requestTooLarge: (message = 'Request exceeds the maximum allowed number of bytes.') => anthropicError('request_too_large', message),
  rateLimit: (options: { retryAfterSeconds?: number; message?: string } = {}) =>
    anthropicError(
      'rate_limit_error',
      options.message ?? 'Number of request tokens has exceeded your per-minute rate limit.',
      options.retryAfterSeconds === undefined ? {} : { headers: { 'retry-after': String(options.retryAfterSeconds) } },
    ),
  /**
   * The monthly spend/usage limit. `errorCode` adds the structured `details.error_code` that the
   * 2026 API sends (and that the SDK turns into EnforcedSpendLimitReachedError).
   */
  spendLimitReached: (options: { status?: 400 | 429; errorCode?: boolean } = {}) =>
    anthropicError(options.status === 400 ? 'invalid_request_error' : 'rate_limit_error', MESSAGES.spendLimitReached, {
      ...(options.errorCode ? { errorCode: 'enforced_spend_limit_reached' } : {}),
    }),
  api: (message = 'Internal server error') => anthropicError('api_error', message),
  timeout: (message = 'Request timeout') => anthropicError('timeout_error', message),
  overloaded: (message = 'Overloaded') => anthropicError('overloaded_error', message),
};

// ---------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------

export type FakeContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id?: string; name: string; input: Record<string, unknown> };

export type FakeUsage = {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
};

export type FakeMessageReply = {
  content: FakeContentBlock[];
  /** Defaults to 'tool_use' when a tool_use block is present, else 'end_turn'. */
  stopReason?: 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal';
  /** Overrides the computed usage, field by field. */
  usage?: Partial<FakeUsage>;
  /** Defaults to the request's model. */
  model?: string;
};

/** One scripted answer to POST /v1/messages. */
export type FakeReply = FakeMessageReply | { error: FakeErrorResponse } | { delayMs: number; then: FakeReply } | 'hang' | 'drop';

export const textReply = (text: string, extra: Omit<FakeMessageReply, 'content'> = {}): FakeMessageReply => ({
  content: [{ type: 'text', text }],
  ...extra,
});

export const toolUseReply = (
  name: string,
  input: Record<string, unknown>,
  extra: Omit<FakeMessageReply, 'content'> & { text?: string; id?: string } = {},
): FakeMessageReply => {
  const { text, id, ...rest } = extra;
  return {
    content: [...(text ? [{ type: 'text' as const, text }] : []), { type: 'tool_use', id, name, input }],
    ...rest,
  };
};

export type Behaviour = 'valid' | 'hang' | 'drop' | FakeErrorResponse;

export type RecordedRequest = {
  method: string;
  /** Path without the query string, e.g. `/v1/models`. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, the raw string when it is not JSON, undefined when empty. */
  body: unknown;
  /** The key found in `Authorization: Bearer` or `x-api-key`, or null. */
  apiKey: string | null;
};

export type FakeModel = { id: string; display_name: string; created_at: string };

export const DEFAULT_MODELS: FakeModel[] = [
  // Ids the installed SDK knows and does not flag as deprecated (it warns on claude-sonnet-4-5).
  { id: 'claude-haiku-4-5-20251001', display_name: 'Claude Haiku 4.5', created_at: '2025-10-15T00:00:00Z' },
  { id: 'claude-sonnet-4-6', display_name: 'Claude Sonnet 4.6', created_at: '2026-02-17T00:00:00Z' },
  { id: 'claude-opus-4-8', display_name: 'Claude Opus 4.8', created_at: '2026-06-01T00:00:00Z' },
];

export const DEFAULT_REPLY_TEXT = 'Hello from the fake Anthropic API.';

export interface FakeAnthropic {
  /** Base URL, for `baseURL` / ANTHROPIC_BASE_URL (no trailing slash, no /v1). */
  readonly url: string;
  /** Every request received, in order (including those that hang or are dropped). */
  readonly requests: RecordedRequest[];
  /** Behaviour per API key; a key absent here gets 401 authentication_error. */
  readonly keys: Map<string, Behaviour>;
  /** Models served by /v1/models, newest last is fine; the list answers newest first like the API. */
  models: FakeModel[];
  setKeyBehaviour(key: string, behaviour: Behaviour): void;
  /** Queue replies for POST /v1/messages made with this key (one reply per request). */
  script(key: string, replies: FakeReply[]): void;
  /**
   * Answers POST /v1/messages made with this key by looking at the request, once its script is
   * used up: for many concurrent runs on one key, where a queue's order would be a race.
   */
  respond(key: string, responder: (request: { messages: { role: string; content: unknown }[] }) => FakeReply): void;
  /** Requests to one path (and method, GET by default for /v1/models*, POST otherwise). */
  requestsTo(path: string, method?: string): RecordedRequest[];
  /** Forget recorded requests, scripts and key behaviours; models back to the defaults. */
  reset(): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

function keyFrom(headers: IncomingHttpHeaders): string | null {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match) return match[1]!.trim();
  }
  const xKey = headers['x-api-key'];
  if (typeof xKey === 'string' && xKey.trim()) return xKey.trim();
  return null;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(raw: string): unknown {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** A rough, deterministic token count: a quarter of the characters of the JSON. */
function estimateTokens(value: unknown): number {
  if (value === undefined) return 0;
  return Math.max(1, Math.ceil(JSON.stringify(value).length / 4));
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const id =
    body && typeof body === 'object' && typeof (body as { request_id?: unknown }).request_id === 'string'
      ? (body as { request_id: string }).request_id
      : requestId();
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'request-id': id,
    ...headers,
  });
  res.end(payload);
}

function sendError(res: ServerResponse, error: FakeErrorResponse): void {
  sendJson(res, error.status, error.body, error.headers);
}

type MessageRequest = {
  model?: unknown;
  max_tokens?: unknown;
  messages?: unknown;
  system?: unknown;
  tools?: unknown;
  stream?: unknown;
};

function buildMessage(reply: FakeMessageReply, request: MessageRequest) {
  const content = reply.content.map((block) =>
    block.type === 'text'
      ? { type: 'text' as const, text: block.text, citations: null }
      : {
          type: 'tool_use' as const,
          id: block.id ?? randomId('toolu_'),
          name: block.name,
          input: block.input,
          caller: { type: 'direct' as const },
        },
  );
  const usage: FakeUsage = {
    input_tokens: estimateTokens({ system: request.system, messages: request.messages, tools: request.tools }),
    output_tokens: estimateTokens(reply.content),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    ...reply.usage,
  };
  return {
    id: randomId('msg_'),
    type: 'message' as const,
    role: 'assistant' as const,
    model: reply.model ?? (typeof request.model === 'string' ? request.model : 'claude-sonnet-4-6'),
    content,
    stop_reason: reply.stopReason ?? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn'),
    stop_sequence: null,
    usage: { ...usage, service_tier: 'standard' as const },
  };
}

/** Splits a string into a few pieces, so deltas arrive in more than one event. */
function chunks(text: string, size = 12): string[] {
  if (!text) return [''];
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function streamMessage(res: ServerResponse, message: ReturnType<typeof buildMessage>): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'request-id': requestId(),
  });
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

  const { usage } = message;
  send('message_start', {
    type: 'message_start',
    message: {
      ...message,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usage, output_tokens: 1 },
    },
  });
  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '', citations: null } });
      if (index === 0) send('ping', { type: 'ping' });
      for (const text of chunks(block.text)) {
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
      }
    } else {
      send('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id: block.id, name: block.name, input: {}, caller: block.caller },
      });
      for (const partial_json of chunks(JSON.stringify(block.input))) {
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } });
      }
    }
    send('content_block_stop', { type: 'content_block_stop', index });
  });
  send('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: message.stop_reason, stop_sequence: null },
    usage: {
      input_tokens: usage.input_tokens,
      output_tokens: usage.output_tokens,
      cache_creation_input_tokens: usage.cache_creation_input_tokens,
      cache_read_input_tokens: usage.cache_read_input_tokens,
    },
  });
  send('message_stop', { type: 'message_stop' });
  res.end();
}

export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  const requests: RecordedRequest[] = [];
  const keys = new Map<string, Behaviour>();
  const scripts = new Map<string, FakeReply[]>();
  const responders = new Map<string, (request: MessageRequest) => FakeReply>();
  let models = [...DEFAULT_MODELS];

  /** Answers with an error, destroys the socket ('drop'), or never answers ('hang'). */
  function interrupt(req: IncomingMessage, res: ServerResponse, what: 'hang' | 'drop' | FakeErrorResponse): void {
    if (what === 'hang') return; // never answered; close() destroys the socket
    if (what === 'drop') {
      req.socket.destroy();
      return;
    }
    sendError(res, what);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const raw = await readBody(req);
    const body = parseBody(raw);
    const apiKey = keyFrom(req.headers);
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname.replace(/\/+$/, '') || '/';
    requests.push({ method, path, query: Object.fromEntries(url.searchParams), headers: req.headers, body, apiKey });

    if (apiKey === null) return sendError(res, anthropicErrors.authentication('x-api-key header is required'));
    const behaviour = keys.get(apiKey);
    if (behaviour === undefined) return sendError(res, anthropicErrors.authentication());
    if (behaviour !== 'valid') return interrupt(req, res, behaviour);
    if (!req.headers['anthropic-version']) {
      return sendError(res, anthropicErrors.invalidRequest('anthropic-version: header is required'));
    }

    if (method === 'GET' && path === '/v1/models') return listModels(res, url.searchParams);
    const modelMatch = /^\/v1\/models\/([^/]+)$/.exec(path);
    if (method === 'GET' && modelMatch) {
      const id = decodeURIComponent(modelMatch[1]!);
      const model = models.find((m) => m.id === id);
      return model ? sendJson(res, 200, modelInfo(model)) : sendError(res, anthropicErrors.notFound(`model: ${id}`));
    }
    if (method === 'POST' && path === '/v1/messages/count_tokens') {
      const problem = validateMessageRequest(body, false);
      if (problem) return sendError(res, anthropicErrors.invalidRequest(problem));
      const request = body as MessageRequest;
      return sendJson(res, 200, { input_tokens: estimateTokens({ system: request.system, messages: request.messages, tools: request.tools }) });
    }
    if (method === 'POST' && path === '/v1/messages') {
      const problem = validateMessageRequest(body, true);
      if (problem) return sendError(res, anthropicErrors.invalidRequest(problem));
      const request = body as MessageRequest;
      const answer = (reply: FakeReply): void => {
        if (reply === 'hang' || reply === 'drop') return interrupt(req, res, reply);
        if ('delayMs' in reply) {
          setTimeout(() => answer(reply.then), reply.delayMs);
          return;
        }
        if ('error' in reply) return interrupt(req, res, reply.error);
        const message = buildMessage(reply, request);
        return request.stream === true ? streamMessage(res, message) : sendJson(res, 200, message);
      };
      return answer(scripts.get(apiKey)?.shift() ?? responders.get(apiKey)?.(request) ?? textReply(DEFAULT_REPLY_TEXT));
    }
    return sendError(res, anthropicErrors.notFound('Not Found'));
  }

  function modelInfo(model: FakeModel) {
    return { type: 'model' as const, ...model };
  }

  function listModels(res: ServerResponse, params: URLSearchParams): void {
    const limit = Math.min(Math.max(Number(params.get('limit') ?? 20) || 20, 1), 1000);
    // The API lists the most recently released first.
    const all = [...models].sort((a, b) => b.created_at.localeCompare(a.created_at));
    let start = 0;
    let end = all.length;
    const afterId = params.get('after_id');
    const beforeId = params.get('before_id');
    if (afterId) start = all.findIndex((m) => m.id === afterId) + 1;
    if (beforeId) end = Math.max(0, all.findIndex((m) => m.id === beforeId));
    const page = beforeId ? all.slice(Math.max(start, end - limit), end) : all.slice(start, Math.min(end, start + limit));
    const data = page.map(modelInfo);
    const hasMore = beforeId ? end - limit > start : start + limit < end;
    sendJson(res, 200, { data, has_more: hasMore, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
  }

  function validateMessageRequest(body: unknown, needsMaxTokens: boolean): string | null {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return 'Request body must be a JSON object';
    const request = body as MessageRequest;
    if (typeof request.model !== 'string' || !request.model) return 'model: Field required';
    if (needsMaxTokens && typeof request.max_tokens !== 'number') return 'max_tokens: Field required';
    if (!Array.isArray(request.messages)) return 'messages: Field required';
    return null;
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendError(res, anthropicErrors.api());
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    keys,
    get models() {
      return models;
    },
    set models(value: FakeModel[]) {
      models = value;
    },
    setKeyBehaviour(key, behaviour) {
      keys.set(key, behaviour);
    },
    script(key, replies) {
      scripts.set(key, [...(scripts.get(key) ?? []), ...replies]);
    },
    respond(key, responder) {
      responders.set(key, responder as (request: MessageRequest) => FakeReply);
    },
    requestsTo(path, method) {
      const wanted = method ?? (path.startsWith('/v1/models') ? 'GET' : 'POST');
      return requests.filter((r) => r.path === path && r.method === wanted.toUpperCase());
    },
    reset() {
      requests.length = 0;
      keys.clear();
      scripts.clear();
      responders.clear();
      models = [...DEFAULT_MODELS];
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
