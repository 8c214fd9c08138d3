/**
 * Checks an Anthropic API key before it is stored, and classifies Anthropic API failures into the
 * categories an operator can act on (shared with the agent run loop).
 *
 * The probe lists one model (GET /v1/models?limit=1): it needs a working key, costs no tokens and
 * leaves nothing behind. The SDK's retries are off (one request, the classifier decides), its
 * logging is off, and the whole call is bounded by `timeoutMs`.
 *
 * Facts about @anthropic-ai/sdk 1.12 this relies on (read from its source):
 * - `apiKey` is sent as `Authorization: Bearer <key>`, with `anthropic-version: 2026-10-21`.
 * - A non-2xx answer throws an `APIError` subclass with `.status`, `.headers`, `.error` (the parsed
 *   body, `{type:'error', error:{type, message, details?}, request_id}`), `.type`, `.apiMessage`
 *   and `.errorCode` (`error.details.error_code`, e.g. `enforced_spend_limit_reached`).
 * - `err.message` is built from the response body (the whole body as JSON when it has no top-level
 *   `message`), so it is never copied into our messages: they are written here from the status,
 *   the error type and the provider's `error.message`, then redacted.
 * - No answer within `timeout` → `APIConnectionTimeoutError`; refused/reset/DNS →
 *   `APIConnectionError` with the fetch error as `cause`; an aborted `signal` → `APIUserAbortError`.
 *   An error event inside an SSE stream is an `APIError` with no status but with `.type`.
 */
import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';

export type KeyProbeCategory =
  | 'invalid_key'
  | 'revoked_or_expired'
  | 'insufficient_permissions'
  | 'quota_exhausted'
  | 'rate_limited'
  | 'provider_unavailable';

export type KeyProbeFailure = {
  category: KeyProbeCategory;
  message: string;
  transient: boolean;
  retryAfterSeconds?: number;
};

export type KeyProbeResult = { valid: true } | ({ valid: false } & KeyProbeFailure);

export type ClassifyContext = {
  /** The key that was used: any trace of it is removed from the message. */
  apiKey?: string;
  /** The time limit that applied, for the timeout message. */
  timeoutMs?: number;
};

/** Status for an error type, when only the type is known (an `error` event inside an SSE stream). */
const STATUS_BY_TYPE: Record<string, number> = {
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
};

/** `error.details.error_code` values that mean the organization cannot spend any more. */
const QUOTA_CODES = new Set([
  'enforced_spend_limit_reached',
  'contract_spend_limit_reached',
  'linked_organization_spend_limit_reached',
  'linked_organization_billing_unavailable',
]);

/** 401 wording for a key that existed but no longer works. */
const REVOKED_TEXT = /revoked|disabled|expired|deactivated|suspended|deleted|no longer (?:valid|active)/i;
/** Wording of the prepaid-credit and spend-limit answers (400 invalid_request_error or 429). */
const QUOTA_TEXT = /credit balance|purchase credits|plans? (?:&|and) billing|billing|spend(?:ing)? limit|usage limit|insufficient (?:credit|funds|balance)|quota/i;
/** On a 429, only a spend/usage limit is terminal; a plain rate limit mentions none of these. */
const SPEND_LIMIT_TEXT = /credit balance|spend(?:ing)? limit|usage limit|monthly limit|regain access on/i;

export function classifyAnthropicError(err: unknown, context: ClassifyContext = {}): KeyProbeFailure {
  const result = classify(err, context);
  return { ...result, message: redact(result.message, context.apiKey) };
}

function classify(err: unknown, context: ClassifyContext): KeyProbeFailure {
  // Subclasses first: the connection errors are APIErrors without a status.
  if (err instanceof APIConnectionTimeoutError) return timedOut(context.timeoutMs);
  if (err instanceof APIUserAbortError) {
    return { category: 'provider_unavailable', transient: true, message: 'The request to Anthropic was aborted before it completed.' };
  }
  if (err instanceof APIConnectionError) return unreachable(err.cause);
  if (err instanceof APIError) {
    const type = typeof err.type === 'string' ? err.type : bodyField(err.error, 'type');
    const status = typeof err.status === 'number' ? err.status : type ? STATUS_BY_TYPE[type] : undefined;
    const apiMessage = typeof err.apiMessage === 'string' ? err.apiMessage : bodyField(err.error, 'message');
    const errorCode = typeof err.errorCode === 'string' ? err.errorCode : null;
    return classifyResponse({ status, type, errorCode, apiMessage, headers: err.headers });
  }
  // Not from the SDK: fetch and AbortSignal errors reaching us directly.
  if (isAbortLike(err)) return timedOut(context.timeoutMs);
  return unreachable(err);
}

type ResponseFacts = {
  status: number | undefined;
  type: string | null;
  errorCode: string | null;
  apiMessage: string | null;
  headers: Headers | undefined;
};

function classifyResponse({ status, type, errorCode, apiMessage, headers }: ResponseFacts): KeyProbeFailure {
  const label = [status, type].filter(Boolean).join(' ') || 'error';
  const said = apiMessage ? `: ${clip(apiMessage)}` : '';
  const detail = `(${label}${said})`;
  const retryAfterSeconds = parseRetryAfter(headers);
  const withRetryAfter = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
  const text = apiMessage ?? '';

  if (errorCode && QUOTA_CODES.has(errorCode)) {
    return { category: 'quota_exhausted', transient: false, message: `The Anthropic account has no credit or has reached its spend limit ${detail}.` };
  }
  if (errorCode === 'ramp_limit_exceeded') {
    return { category: 'rate_limited', transient: true, ...withRetryAfter, message: `Anthropic is limiting how fast usage can grow; retry later ${detail}.` };
  }
  if (errorCode === 'organization_on_hold') {
    return { category: 'insufficient_permissions', transient: false, message: `Anthropic has put the organization that owns this key on hold ${detail}.` };
  }

  if (status === 401 || type === 'authentication_error') {
    return REVOKED_TEXT.test(text)
      ? { category: 'revoked_or_expired', transient: false, message: `The Anthropic API key has been revoked, disabled or has expired ${detail}.` }
      : { category: 'invalid_key', transient: false, message: `Anthropic rejected the API key as invalid ${detail}.` };
  }
  if (status === 403 || type === 'permission_error') {
    return { category: 'insufficient_permissions', transient: false, message: `The Anthropic API key lacks the permissions this needs ${detail}.` };
  }
  if (status === 402 || type === 'billing_error') {
    return { category: 'quota_exhausted', transient: false, message: `The Anthropic account has a billing problem ${detail}.` };
  }
  if (status === 429 || type === 'rate_limit_error') {
    // A monthly spend/usage limit also comes back as 429, but waiting minutes does not lift it.
    return SPEND_LIMIT_TEXT.test(text)
      ? { category: 'quota_exhausted', transient: false, message: `The Anthropic account has reached its spend limit ${detail}.` }
      : { category: 'rate_limited', transient: true, ...withRetryAfter, message: `Anthropic is rate limiting this key; retry later ${detail}.` };
  }
  if ((status === 400 || type === 'invalid_request_error') && QUOTA_TEXT.test(text)) {
    return { category: 'quota_exhausted', transient: false, message: `The Anthropic account is out of credit or over its spend limit ${detail}.` };
  }
  if (
    (status !== undefined && (status >= 500 || status === 408 || status === 409)) ||
    type === 'api_error' ||
    type === 'overloaded_error' ||
    type === 'timeout_error'
  ) {
    const what =
      status === 529 || type === 'overloaded_error' ? 'Anthropic is temporarily overloaded'
      : status === 504 || status === 408 || type === 'timeout_error' ? 'Anthropic timed out answering'
      : status === 502 || status === 503 ? 'Anthropic is temporarily unavailable'
      : 'Anthropic had an internal error';
    return { category: 'provider_unavailable', transient: true, ...withRetryAfter, message: `${what} ${detail}.` };
  }
  // Any other answer (a 404 from a wrong ANTHROPIC_BASE_URL or a proxy, a 400 about the request, a
  // 413): the key was not judged, so it must not be reported as bad, and it is no outage to wait
  // out either — repeating the same request gets the same answer. Hence provider_unavailable, but
  // not transient: the endpoint configuration needs a look.
  return {
    category: 'provider_unavailable',
    transient: false,
    message: `Unexpected response ${status ?? '(no status)'} from Anthropic ${detail}.`,
  };
}

function timedOut(timeoutMs: number | undefined): KeyProbeFailure {
  return {
    category: 'provider_unavailable',
    transient: true,
    message: timeoutMs === undefined ? 'Anthropic did not answer in time.' : `Anthropic did not answer within ${timeoutMs} ms.`,
  };
}

/** Network failures: the reason comes from error codes only, never from error message text. */
function unreachable(cause: unknown): KeyProbeFailure {
  const codes = errorCodes(cause);
  const has = (...wanted: string[]) => wanted.some((c) => codes.includes(c));
  if (has('ERR_INVALID_URL')) {
    return { category: 'provider_unavailable', transient: false, message: 'Could not reach Anthropic: the base URL is not a valid URL.' };
  }
  const reason =
    has('ECONNREFUSED') ? 'the connection was refused'
    : has('ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED') ? 'the connection was closed before an answer arrived'
    : has('ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME') ? 'the host name could not be resolved'
    : has('ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT') ? 'the connection timed out'
    : has('EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN') ? 'the network is unreachable'
    : codes.some((c) => c.startsWith('ERR_TLS') || c.includes('CERT') || c.startsWith('ERR_SSL')) ? 'the TLS handshake failed'
    : 'the connection failed';
  return { category: 'provider_unavailable', transient: true, message: `Could not reach Anthropic: ${reason}.` };
}

/** `code` (and `errno` strings) along the `cause` chain. */
function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current && typeof current === 'object'; depth++) {
    const { code, cause, errors } = current as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string') codes.push(code);
    // Happy-eyeballs connection attempts fail as an AggregateError.
    if (Array.isArray(errors)) for (const inner of errors) codes.push(...errorCodes(inner));
    current = cause;
  }
  return codes;
}

function isAbortLike(err: unknown): boolean {
  const name = err && typeof err === 'object' ? (err as { name?: unknown }).name : undefined;
  return name === 'AbortError' || name === 'TimeoutError';
}

function bodyField(body: unknown, field: 'type' | 'message'): string | null {
  if (!body || typeof body !== 'object') return null;
  const inner = (body as { error?: unknown }).error;
  if (!inner || typeof inner !== 'object') return null;
  const value = (inner as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : null;
}

/** `retry-after` as delta-seconds or an HTTP date; `retry-after-ms` as a fallback. */
function parseRetryAfter(headers: Headers | undefined): number | undefined {
  if (!headers || typeof headers.get !== 'function') return undefined;
  const value = headers.get('retry-after')?.trim();
  if (value) {
    if (/^\d+(?:\.\d+)?$/.test(value)) return Math.ceil(Number(value));
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - Date.now()) / 1000));
  }
  const ms = headers.get('retry-after-ms')?.trim();
  if (ms && /^\d+(?:\.\d+)?$/.test(ms)) return Math.ceil(Number(ms) / 1000);
  return undefined;
}

/** One line, at most 200 characters, no trailing period (the sentence adds its own). */
function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim().replace(/\.+$/, '');
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/**
 * Removes any trace of the key: the key itself (shown as its last four characters), any word that
 * shares eight or more consecutive characters with it (a proxy echoing part of a header), and
 * anything shaped like an Anthropic key.
 */
export function redact(text: string, apiKey?: string): string {
  let out = text;
  if (apiKey) {
    out = out.split(apiKey).join(`…${apiKey.slice(-4)}`);
    out = out.replace(/[A-Za-z0-9_-]{8,}/g, (word) => {
      for (let i = 0; i + 8 <= word.length; i++) if (apiKey.includes(word.slice(i, i + 8))) return '[redacted]';
      return word;
    });
  }
  return out.replace(/sk-ant-[A-Za-z0-9_-]+/g, '[redacted]');
}

/** Checks a key with one free call (GET /v1/models?limit=1). Never throws, never logs. */
export async function probeAnthropicKey(apiKey: string, options: { baseUrl?: string; timeoutMs: number }): Promise<KeyProbeResult> {
  if (!apiKey) return { valid: false, category: 'invalid_key', transient: false, message: 'No API key was given.' };
  // The key goes into a header: whitespace or control/non-ASCII characters cannot be a real key
  // and would make fetch throw before any request.
  if (!/^[\x21-\x7e]+$/.test(apiKey)) {
    return { valid: false, category: 'invalid_key', transient: false, message: 'The API key contains spaces or characters that are not allowed.' };
  }
  const timeoutMs = Math.max(1, Math.floor(options.timeoutMs));
  const context: ClassifyContext = { apiKey, timeoutMs };
  const deadline = AbortSignal.timeout(timeoutMs);

  let outcome: { ok: true } | { ok: false; err: unknown } | 'deadline';
  try {
    const client = new Anthropic({
      apiKey,
      baseURL: options.baseUrl || undefined,
      maxRetries: 0,
      timeout: timeoutMs,
      logLevel: 'off',
    });
    const request = client.models.list({ limit: 1 }, { signal: deadline }).then(
      () => ({ ok: true }) as const,
      (err: unknown) => ({ ok: false, err }) as const,
    );
    // The overall bound: whatever the SDK is doing (reading a body that stalls, say), the probe
    // answers once the deadline passes.
    const expired = new Promise<'deadline'>((resolve) => {
      if (deadline.aborted) resolve('deadline');
      else deadline.addEventListener('abort', () => resolve('deadline'), { once: true });
    });
    outcome = await Promise.race([request, expired]);
  } catch (err) {
    // The constructor can throw (a malformed baseURL, say).
    outcome = { ok: false, err };
  }

  if (outcome === 'deadline') return { valid: false, ...timedOut(timeoutMs) };
  if (outcome.ok) return { valid: true };
  if (deadline.aborted && (outcome.err instanceof APIUserAbortError || isAbortLike(outcome.err))) {
    return { valid: false, ...timedOut(timeoutMs) };
  }
  return { valid: false, ...classifyAnthropicError(outcome.err, context) };
}
