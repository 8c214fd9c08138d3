import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError as SdkMcpError } from '@modelcontextprotocol/sdk/types.js';

/**
 * Why talking to a tenant's MCP server failed. Every error leaving the MCP client is an McpError
 * with one of these reasons and a short message fit to show the tenant (never a credential).
 */
export type McpFailure =
  | 'unreachable'
  | 'timeout'
  | 'http_error'
  | 'unauthorized'
  | 'protocol_error'
  | 'too_large'
  | 'too_many_tools'
  | 'cancelled';

export class McpError extends Error {
  readonly reason: McpFailure;

  constructor(reason: McpFailure, message: string) {
    super(message);
    this.name = 'McpError';
    this.reason = reason;
  }
}

const MAX_MESSAGE_CHARS = 300;

/** Where an error happened, for the classification and the wording. */
export interface ErrorContext {
  /** Values that must never appear in a message (the credential). */
  secrets: readonly string[];
  /** The deadline that was in force, for "no answer within N ms". */
  deadlineMs: number;
}

/** Replaces every secret with [redacted], collapses whitespace and bounds the length. */
export function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join('[redacted]');
  }
  out = out.replace(/\s+/g, ' ').trim();
  if (out.length > MAX_MESSAGE_CHARS) out = `${out.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
  return out;
}

/** The safe fetch's OutboundError reasons, mapped onto ours. Unknown reasons count as unreachable. */
const OUTBOUND_REASONS: Record<string, McpFailure> = {
  headers_timeout: 'timeout',
  body_timeout: 'timeout',
  connect_timeout: 'timeout',
  timeout: 'timeout',
  response_too_large: 'too_large',
  redirect_refused: 'unreachable',
  private_address: 'unreachable',
  scheme_not_allowed: 'unreachable',
  unresolvable: 'unreachable',
  connection_failed: 'unreachable',
  invalid_url: 'unreachable',
  credentials_in_url: 'unreachable',
  // The request was aborted from our side (the session closed under it).
  aborted: 'cancelled',
};

const UNDICI_CODES: Record<string, [McpFailure, string]> = {
  UND_ERR_HEADERS_TIMEOUT: ['timeout', 'the MCP server sent no response headers in time'],
  UND_ERR_BODY_TIMEOUT: ['timeout', 'the MCP server stopped sending its response'],
  UND_ERR_CONNECT_TIMEOUT: ['timeout', 'connecting to the MCP server timed out'],
  UND_ERR_RES_EXCEEDED_MAX_SIZE: ['too_large', 'the MCP server response is too large'],
  UND_ERR_SOCKET: ['unreachable', 'the connection to the MCP server failed'],
  ECONNREFUSED: ['unreachable', 'the MCP server refused the connection'],
  ECONNRESET: ['unreachable', 'the MCP server reset the connection'],
  ENOTFOUND: ['unreachable', 'the MCP server host name does not resolve'],
  EAI_AGAIN: ['unreachable', 'the MCP server host name does not resolve'],
  EHOSTUNREACH: ['unreachable', 'the MCP server host is unreachable'],
  ENETUNREACH: ['unreachable', 'the MCP server network is unreachable'],
  ETIMEDOUT: ['timeout', 'connecting to the MCP server timed out'],
  EPIPE: ['unreachable', 'the connection to the MCP server broke'],
};

function* causeChain(err: unknown): Generator<unknown> {
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    yield current;
    current = typeof current === 'object' ? (current as { cause?: unknown }).cause : undefined;
  }
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  return String(err);
}

function isZodError(err: unknown): err is { issues: { path?: PropertyKey[]; message?: string }[] } {
  return (
    typeof err === 'object' &&
    err !== null &&
    Array.isArray((err as { issues?: unknown }).issues) &&
    ((err as { name?: unknown }).name === 'ZodError' || (err as { name?: unknown }).name === '$ZodError')
  );
}

function describeZod(err: { issues: { path?: PropertyKey[]; message?: string }[] }): string {
  const first = err.issues[0];
  if (!first) return 'the message does not match the MCP schema';
  const path = (first.path ?? []).map(String).join('.');
  return `${path ? `${path}: ` : ''}${first.message ?? 'invalid'}`;
}

/** A parse failure of something the server sent: JSON syntax or JSON-RPC/MCP shape. */
export function isParseError(err: unknown): boolean {
  return err instanceof SyntaxError || isZodError(err);
}

/**
 * Turns anything thrown while talking to an MCP server into an McpError. Does not know about
 * deadlines and cancellation (the caller checks its signals first).
 */
export function toMcpError(err: unknown, ctx: ErrorContext): McpError {
  const make = (reason: McpFailure, message: string) => new McpError(reason, redact(message, ctx.secrets));
  if (err instanceof McpError) return make(err.reason, err.message);

  // The safe fetch (or anything shaped like it) anywhere in the cause chain.
  for (const link of causeChain(err)) {
    const reason = typeof link === 'object' && link !== null ? (link as { reason?: unknown }).reason : undefined;
    if (typeof reason === 'string' && link instanceof Error) {
      return make(OUTBOUND_REASONS[reason] ?? 'unreachable', link.message || reason.replace(/_/g, ' '));
    }
  }

  if (err instanceof StreamableHTTPError) {
    const code = err.code ?? 0;
    if (code === 401 || code === 403) return make('unauthorized', `HTTP ${code} from the MCP server`);
    if (code >= 300 && code < 400) {
      return make('unreachable', `the MCP server answered with a redirect (HTTP ${code}); redirects are not followed`);
    }
    if (code === -1) {
      // "Unexpected content type: ..."
      return make('protocol_error', `invalid response: ${err.message.replace(/^Streamable HTTP error:\s*/, '')}`);
    }
    if (code >= 400) return make('http_error', `HTTP ${code} from the MCP server`);
    return make('protocol_error', err.message.replace(/^Streamable HTTP error:\s*/, ''));
  }

  if (err instanceof SdkMcpError) {
    if (err.code === ErrorCode.RequestTimeout) return make('timeout', `no answer within ${ctx.deadlineMs} ms`);
    if (err.code === ErrorCode.ConnectionClosed && /connection closed/i.test(err.message)) {
      return make('unreachable', 'the connection to the MCP server closed');
    }
    // A JSON-RPC error the server answered with.
    const text = err.message.replace(/^MCP error -?\d+:\s*/, '');
    return make('protocol_error', `the MCP server answered with error ${err.code}: ${text}`);
  }

  if (err instanceof SyntaxError) return make('protocol_error', 'invalid JSON-RPC: the response is not valid JSON');
  if (isZodError(err)) return make('protocol_error', `invalid JSON-RPC: ${describeZod(err)}`);

  for (const link of causeChain(err)) {
    const code = typeof link === 'object' && link !== null ? (link as { code?: unknown }).code : undefined;
    if (typeof code === 'string' && UNDICI_CODES[code]) {
      const [reason, message] = UNDICI_CODES[code];
      return make(reason, message);
    }
  }

  const message = messageOf(err);
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) {
    return make('timeout', `no answer within ${ctx.deadlineMs} ms`);
  }
  if (err instanceof TypeError && /fetch failed|network|socket/i.test(message)) {
    return make('unreachable', 'could not reach the MCP server');
  }
  if (/protocol version is not supported|invalid initialize result/i.test(message)) {
    return make('protocol_error', message);
  }
  return make('protocol_error', message || 'unexpected failure talking to the MCP server');
}
