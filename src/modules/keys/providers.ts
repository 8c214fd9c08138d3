import { OutboundError } from '../../platform/outbound/safe-fetch';
import { InputError } from '../../db/errors';

/**
 * Integration providers: what a tenant may store a key for, which metadata each needs, and how a
 * key is verified against the provider's cheapest "is this token valid" call.
 *
 * Everything provider-specific lives in `providerTable`; `validateProviderMetadata` and
 * `verifyIntegrationKey` are generic and only read that table.
 */

export const PROVIDERS = ['cloudflare', 'github', 'netdata', 'postmark', 'outstand'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** Base URLs from configuration (`Config.providerUrls`); netdata has none, its URL is the tenant's. */
export type ProviderUrls = { cloudflare: string; github: string; postmark: string; outstand: string };

export type VerifyResult =
  | { outcome: 'valid' }
  | { outcome: 'rejected'; reason: 'auth_failed'; detail: string }
  | { outcome: 'unavailable'; reason: 'provider_unavailable'; detail: string };

export type VerifyOptions = {
  urls: ProviderUrls;
  timeoutMs: number;
  /**
   * Requests to the operator-configured provider APIs go through this one function (default:
   * the global fetch). Never call the global fetch directly from this module.
   */
  fetch?: typeof fetch;
  /**
   * Requests to tenant-supplied base URLs (netdata's `metadata.base_url`) go through this one,
   * which must be the outbound guard's safe fetch: the tenant chooses where it points.
   */
  tenantFetch: (input: string | URL, init?: RequestInit) => Promise<Response>;
};

export type MetadataOptions = { allowHttp?: boolean };

/** Serialised metadata above this size is refused. */
export const MAX_METADATA_BYTES = 16 * 1024;
/** Provider answers are read up to this many bytes; the rest is discarded. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

const USER_AGENT = 'Runlane-IntegrationKeyVerifier/1 (+self-hosted control plane)';

// ---------------------------------------------------------------------------------------------
// The table's vocabulary

type ProbeRequest = { method: 'GET'; path: string; headers: Record<string, string> };

/** What a spec's reader sees: the status, headers and (capped) body of the provider's answer. */
type ProbeResponse = {
  status: number;
  headers: Headers;
  /** Parsed body, or undefined when the body is empty, not JSON, or was cut at the size cap. */
  json: unknown;
};

type Verdict = { outcome: 'valid' } | { outcome: 'rejected'; detail: string } | { outcome: 'unavailable'; detail: string };

type MetadataField = {
  required: boolean;
  /** Returns the normalised value, or throws a message (a string) for the caller. */
  parse(value: unknown, options: Required<MetadataOptions>): unknown;
};

type BaseUrlSource = { from: 'config'; key: keyof ProviderUrls } | { from: 'metadata'; field: string };

export type ProviderSpec = {
  /** Human name used in details. */
  label: string;
  baseUrl: BaseUrlSource;
  /** Known metadata fields; unknown fields are kept as given. */
  metadata: Record<string, MetadataField>;
  request(key: string, metadata: Record<string, unknown>): ProbeRequest;
  /**
   * Reads an answer that is not a redirect, not 408/429 and not 5xx (those are outages for
   * every provider and never reach this function).
   */
  read(res: ProbeResponse): Verdict;
};

const valid = (): Verdict => ({ outcome: 'valid' });
const rejected = (detail: string): Verdict => ({ outcome: 'rejected', detail });
const unavailable = (detail: string): Verdict => ({ outcome: 'unavailable', detail });

export const isProvider = (value: unknown): value is Provider =>
  typeof value === 'string' && (PROVIDERS as readonly string[]).includes(value);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A provider-written string, made safe to show: one line, printable, short ('' when absent). */
function clip(message: unknown): string {
  if (typeof message !== 'string') return '';
  // eslint-disable-next-line no-control-regex
  const clean = message.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return clean.length > 160 ? `${clean.slice(0, 157)}...` : clean;
}

/** `: message` for appending a provider's message to a sentence, or '' when there is none. */
const quote = (message: unknown) => (clip(message) ? `: ${clip(message)}` : '');

const sentence = (s: string) => (/[.!?]$/.test(s) ? s : `${s}.`);

/** 2xx without a JSON body: the provider (or something in front of it) is not answering properly. */
const notJson = (label: string, status: number) =>
  unavailable(`${label} answered HTTP ${status} without the expected JSON body.`);

const unexpected = (label: string, status: number) =>
  unavailable(`${label} answered with unexpected HTTP ${status}; the key was not judged.`);

// ---------------------------------------------------------------------------------------------
// Metadata fields

function httpsUrlField(label: string): MetadataField {
  return {
    required: true,
    parse(value, { allowHttp }) {
      if (typeof value !== 'string' || !value.trim()) throw `${label} is required and must be a URL string`;
      if (value.length > 2048) throw `${label} must be at most 2048 characters`;
      let url: URL;
      try {
        url = new URL(value.trim());
      } catch {
        throw `${label} must be an absolute URL such as https://app.netdata.cloud`;
      }
      if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
        throw `${label} must be an https:// URL`;
      }
      if (url.username || url.password) throw `${label} must not contain credentials`;
      if (url.search || url.hash) throw `${label} must not contain a query string or fragment`;
      // Origin plus path, without trailing slashes: provider paths are appended to it.
      return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    },
  };
}

const cloudflareAccountId: MetadataField = {
  required: false,
  parse(value) {
    // Cloudflare account identifiers are 32 hexadecimal characters.
    if (typeof value !== 'string' || !/^[0-9a-fA-F]{32}$/.test(value.trim())) {
      throw 'account_id must be a Cloudflare account ID (32 hexadecimal characters)';
    }
    return value.trim().toLowerCase();
  },
};

// ---------------------------------------------------------------------------------------------
// The table

const bearer = (key: string) => ({ Authorization: `Bearer ${key}`, Accept: 'application/json', 'User-Agent': USER_AGENT });

export const providerTable: Record<Provider, ProviderSpec> = {
  /**
   * Cloudflare "Verify Token": GET /client/v4/user/tokens/verify, or for account-owned tokens
   * (metadata.account_id given) GET /client/v4/accounts/{account_id}/tokens/verify.
   * 200 {"success":true,"result":{"status":"active"}} is valid; any other status ("disabled",
   * "expired") and 401/403 {"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}]}
   * are rejections.
   */
  cloudflare: {
    label: 'Cloudflare',
    baseUrl: { from: 'config', key: 'cloudflare' },
    metadata: { account_id: cloudflareAccountId },
    request: (key, metadata) => ({
      method: 'GET',
      path:
        typeof metadata.account_id === 'string'
          ? `/client/v4/accounts/${encodeURIComponent(metadata.account_id)}/tokens/verify`
          : '/client/v4/user/tokens/verify',
      headers: bearer(key),
    }),
    read: ({ status, json }) => {
      const errors = isObject(json) && Array.isArray(json.errors) ? json.errors : [];
      const firstError = isObject(errors[0]) ? errors[0].message : undefined;
      if (status === 401 || status === 403) return rejected(sentence(`Cloudflare rejected the token (HTTP ${status})${quote(firstError)}`));
      if (status >= 200 && status < 300) {
        if (!isObject(json)) return notJson('Cloudflare', status);
        if (json.success !== true) return rejected(sentence(`Cloudflare did not accept the token${quote(firstError)}`));
        const tokenStatus = isObject(json.result) ? json.result.status : undefined;
        if (tokenStatus === 'active') return valid();
        return rejected(sentence(`Cloudflare reports the token as ${clip(tokenStatus) || 'not active'}`));
      }
      // 400 with success:false is how Cloudflare answers a malformed token.
      if (status === 400 && isObject(json) && json.success === false) {
        return rejected(sentence(`Cloudflare rejected the token (HTTP 400)${quote(firstError)}`));
      }
      return unexpected('Cloudflare', status);
    },
  },

  /**
   * GitHub "Get the authenticated user": GET /user. GitHub requires a User-Agent; the API version
   * header pins the REST contract. 401 {"message":"Bad credentials"} is a rejection. A 403 is a
   * rate limit (not the key's fault) when x-ratelimit-remaining is 0 or retry-after is set
   * (secondary rate limits); any other 403 is a rejection.
   */
  github: {
    label: 'GitHub',
    baseUrl: { from: 'config', key: 'github' },
    metadata: {},
    request: (key) => ({
      method: 'GET',
      path: '/user',
      headers: {
        Authorization: `Bearer ${key}`,
        Accept: 'application/vnd.github+json',
        'X-GitHub-Api-Version': '2022-11-28',
        'User-Agent': USER_AGENT,
      },
    }),
    read: ({ status, headers, json }) => {
      const message = isObject(json) ? json.message : undefined;
      if (status >= 200 && status < 300) return isObject(json) ? valid() : notJson('GitHub', status);
      if (status === 401) return rejected(sentence(`GitHub rejected the token (HTTP 401)${quote(message)}`));
      if (status === 403) {
        if (headers.get('x-ratelimit-remaining') === '0' || headers.has('retry-after')) {
          return unavailable('GitHub rate limit reached; try verifying again later.');
        }
        return rejected(sentence(`GitHub refused the token (HTTP 403)${quote(message)}`));
      }
      return unexpected('GitHub', status);
    },
  },

  /**
   * Netdata Cloud API: GET {base_url}/api/v2/spaces with a Bearer API token (lists the spaces the
   * token can see). The base URL is the tenant's (Netdata Cloud or a self-hosted deployment), so
   * this request is the reason every call goes through the injectable fetch.
   */
  netdata: {
    label: 'Netdata',
    baseUrl: { from: 'metadata', field: 'base_url' },
    metadata: { base_url: httpsUrlField('base_url') },
    request: (key) => ({ method: 'GET', path: '/api/v2/spaces', headers: bearer(key) }),
    read: ({ status, json }) => {
      if (status >= 200 && status < 300) return json !== undefined ? valid() : notJson('Netdata', status);
      if (status === 401 || status === 403) {
        const message = isObject(json) ? (json.errorMessage ?? json.message) : undefined;
        return rejected(sentence(`Netdata rejected the token (HTTP ${status})${quote(message)}`));
      }
      return unexpected('Netdata', status);
    },
  },

  /**
   * Postmark "Get the server": GET /server with X-Postmark-Server-Token (Postmark ignores
   * Authorization). 401, or 422 with ErrorCode 10 ("bad or missing API token"), is a rejection.
   */
  postmark: {
    label: 'Postmark',
    baseUrl: { from: 'config', key: 'postmark' },
    metadata: {},
    request: (key) => ({
      method: 'GET',
      path: '/server',
      headers: { 'X-Postmark-Server-Token': key, Accept: 'application/json', 'User-Agent': USER_AGENT },
    }),
    read: ({ status, json }) => {
      const message = isObject(json) ? json.Message : undefined;
      const errorCode = isObject(json) ? json.ErrorCode : undefined;
      if (status >= 200 && status < 300) return isObject(json) ? valid() : notJson('Postmark', status);
      if (status === 401 || status === 403 || (status === 422 && errorCode === 10)) {
        return rejected(sentence(`Postmark rejected the server token (HTTP ${status})${quote(message)}`));
      }
      // ErrorCode 100 is Postmark's "maintenance".
      if (errorCode === 100) return unavailable('Postmark is down for maintenance; try verifying again later.');
      return unexpected('Postmark', status);
    },
  },

  /**
   * Outstand (unified social media API): GET /v1/social-accounts?limit=1 with a Bearer API key —
   * the smallest documented read. ASSUMPTION TO CONFIRM: Outstand documents no dedicated
   * token-introspection endpoint, and the 401/403 answers for a bad key are inferred from its
   * `{"success":false,"error":...}` error shape rather than documented.
   */
  outstand: {
    label: 'Outstand',
    baseUrl: { from: 'config', key: 'outstand' },
    metadata: {},
    request: (key) => ({ method: 'GET', path: '/v1/social-accounts?limit=1', headers: bearer(key) }),
    read: ({ status, json }) => {
      const message = isObject(json) ? (json.message ?? json.error) : undefined;
      if (status >= 200 && status < 300) {
        if (!isObject(json)) return notJson('Outstand', status);
        return json.success === false ? rejected(sentence(`Outstand did not accept the key${quote(message)}`)) : valid();
      }
      if (status === 401 || status === 403) return rejected(sentence(`Outstand rejected the key (HTTP ${status})${quote(message)}`));
      return unexpected('Outstand', status);
    },
  },
};

// ---------------------------------------------------------------------------------------------
// Metadata validation

/** Returns the provider's normalised metadata, or throws InputError naming the offending field. */
/** The metadata field that holds a tenant-chosen base URL, if the provider has one. */
export function tenantUrlField(provider: Provider): string | null {
  const source = providerTable[provider].baseUrl;
  return source.from === 'metadata' ? source.field : null;
}

export function validateProviderMetadata(
  provider: Provider,
  metadata: unknown,
  options: MetadataOptions = {},
): Record<string, unknown> {
  if (!isProvider(provider)) throw new InputError(`provider must be one of ${PROVIDERS.join(', ')}`, 'provider');
  const spec = providerTable[provider];
  if (!isObject(metadata)) throw new InputError('metadata must be a JSON object', 'metadata');
  let serialised: string | undefined;
  try {
    serialised = JSON.stringify(metadata);
  } catch {
    throw new InputError('metadata must be a JSON object', 'metadata');
  }
  if (serialised === undefined || Buffer.byteLength(serialised, 'utf8') > MAX_METADATA_BYTES) {
    throw new InputError(`metadata must be at most ${MAX_METADATA_BYTES} bytes as JSON`, 'metadata');
  }
  // A JSON round trip drops undefined values and anything that is not plain data.
  const normalised = JSON.parse(serialised) as Record<string, unknown>;
  const resolved = { allowHttp: options.allowHttp ?? false };
  for (const [field, rule] of Object.entries(spec.metadata)) {
    const value = normalised[field];
    if (value === undefined || value === null) {
      if (rule.required) throw new InputError(`metadata.${field} is required for ${provider}`, `metadata.${field}`);
      delete normalised[field];
      continue;
    }
    try {
      normalised[field] = rule.parse(value, resolved);
    } catch (problem) {
      if (typeof problem !== 'string') throw problem;
      throw new InputError(`metadata.${problem}`, `metadata.${field}`);
    }
  }
  return normalised;
}

// ---------------------------------------------------------------------------------------------
// Verification

/** Reads at most `cap` bytes of the body; flags (and stops at) anything longer. */
async function readCapped(res: Response, cap: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > cap) {
      chunks.push(value.subarray(0, cap - size));
      await reader.cancel().catch(() => undefined);
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

function parseJson(text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Removes the key, and any run of 8+ characters copied from it, from a detail sentence. Details
 * quote provider messages, and a provider may echo (part of) the token back.
 */
export function redactKey(detail: string, key: string): string {
  if (!key) return detail;
  const out = detail.split(key).join('[redacted]');
  const window = Math.min(8, key.length);
  if (window < 4 || out.length < window) return out;
  const pieces = new Set<string>();
  for (let i = 0; i + window <= key.length; i++) pieces.add(key.slice(i, i + window));
  const covered = new Array<boolean>(out.length).fill(false);
  let any = false;
  for (let i = 0; i + window <= out.length; i++) {
    if (pieces.has(out.slice(i, i + window))) {
      covered.fill(true, i, i + window);
      any = true;
    }
  }
  if (!any) return out;
  let result = '';
  for (let i = 0; i < out.length; i++) {
    if (!covered[i]) result += out[i];
    else if (i === 0 || !covered[i - 1]) result += '[redacted]';
  }
  return result;
}

function resolveBaseUrl(spec: ProviderSpec, metadata: Record<string, unknown>, urls: ProviderUrls): string | undefined {
  const raw = spec.baseUrl.from === 'config' ? urls[spec.baseUrl.key] : metadata[spec.baseUrl.field];
  if (typeof raw !== 'string') return undefined;
  try {
    const url = new URL(raw);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  } catch {
    return undefined;
  }
  return raw.replace(/\/+$/, '');
}

const isTimeout = (err: unknown) => err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');

/**
 * Calls the provider's verify endpoint once. `valid` and `rejected` are the provider's judgement
 * of the key; `unavailable` (5xx, 408, 429, rate limits, redirects, timeouts, connection errors,
 * answers that cannot be read) says nothing about the key and must not mark it invalid.
 * `detail` never contains the key.
 */
export async function verifyIntegrationKey(
  input: { provider: Provider; key: string; metadata: Record<string, unknown> },
  options: VerifyOptions,
): Promise<VerifyResult> {
  const verdict = await probe(input, options);
  if (verdict.outcome === 'valid') return { outcome: 'valid' };
  const detail = redactKey(verdict.detail, input.key);
  return verdict.outcome === 'rejected'
    ? { outcome: 'rejected', reason: 'auth_failed', detail }
    : { outcome: 'unavailable', reason: 'provider_unavailable', detail };
}

async function probe(
  input: { provider: Provider; key: string; metadata: Record<string, unknown> },
  options: VerifyOptions,
): Promise<Verdict> {
  if (!isProvider(input.provider)) return unavailable('Unknown provider; the key was not checked.');
  const spec = providerTable[input.provider];
  const metadata = isObject(input.metadata) ? input.metadata : {};
  const base = resolveBaseUrl(spec, metadata, options.urls);
  if (!base) {
    return unavailable(
      spec.baseUrl.from === 'metadata'
        ? `${spec.label} metadata.${spec.baseUrl.field} is missing or not a valid URL; the key was not checked.`
        : `${spec.label} API URL is not configured; the key was not checked.`,
    );
  }
  const request = spec.request(input.key, metadata);
  // The one and only network call: tenant-chosen URLs through the outbound guard, never
  // following redirects, bounded by the timeout.
  const doFetch = spec.baseUrl.from === 'metadata' ? options.tenantFetch : (options.fetch ?? fetch);
  const signal = AbortSignal.timeout(options.timeoutMs);
  const deadline = new Promise<never>((_, reject) => {
    const fire = () => reject(signal.reason instanceof Error ? signal.reason : new DOMException('timed out', 'TimeoutError'));
    if (signal.aborted) fire();
    else signal.addEventListener('abort', fire, { once: true });
  });
  deadline.catch(() => undefined);

  let res: Response;
  try {
    // Racing the deadline too: an injected fetch that ignores the signal still cannot hang us.
    res = await Promise.race([
      doFetch(`${base}${request.path}`, { method: request.method, headers: request.headers, redirect: 'manual', signal }),
      deadline,
    ]);
  } catch (err) {
    if (isTimeout(err)) return unavailable(`${spec.label} did not answer within ${options.timeoutMs} ms.`);
    if (err instanceof OutboundError) return unavailable(`${spec.label} was not called: ${err.message}`);
    return unavailable(`${spec.label} could not be reached; try verifying again later.`);
  }

  const status = res.status;
  const discard = () => void res.body?.cancel().catch(() => undefined);
  if (res.type === 'opaqueredirect' || (status >= 300 && status < 400)) {
    discard();
    return unavailable(`${spec.label} answered HTTP ${status || 302} pointing to another location, which is not followed.`);
  }
  if (status >= 500 || status === 429 || status === 408) {
    discard();
    return unavailable(
      status === 429
        ? `${spec.label} rate limit reached (HTTP 429); try verifying again later.`
        : `${spec.label} is unavailable (HTTP ${status}); try verifying again later.`,
    );
  }

  let body: { text: string; truncated: boolean };
  try {
    body = await Promise.race([readCapped(res, MAX_RESPONSE_BYTES), deadline]);
  } catch (err) {
    discard();
    if (isTimeout(err)) return unavailable(`${spec.label} did not finish answering within ${options.timeoutMs} ms.`);
    return unavailable(`${spec.label} answer could not be read; try verifying again later.`);
  }
  const json = body.truncated ? undefined : parseJson(body.text);
  return spec.read({ status, headers: res.headers, json });
}
