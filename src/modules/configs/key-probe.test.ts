import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import Anthropic, { APIConnectionError, APIError } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  anthropicError,
  anthropicErrors,
  DEFAULT_REPLY_TEXT,
  MESSAGES,
  startFakeAnthropic,
  textReply,
  toolUseReply,
  type Behaviour,
  type FakeAnthropic,
} from '../../../test/fakes/anthropic';
import { classifyAnthropicError, probeAnthropicKey, type KeyProbeResult } from './key-probe';

let fake: FakeAnthropic;

beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(async () => {
  await fake?.close();
});
beforeEach(() => {
  fake.reset();
});

let counter = 0;
/** A realistic-looking key, unique per test, whose secret part must never surface. */
function newKey(): string {
  counter += 1;
  return `sk-ant-api03-SECRETSECRET${String(counter).padStart(4, '0')}xQ9_kLmN-pQrStUvWxYz-AbCd${counter}`;
}

function expectKeyAbsent(text: string, key: string): void {
  expect(text).not.toContain(key);
  expect(text).not.toContain('SECRETSECRET');
  // No run of more than 4 consecutive characters of the key beyond its documented "sk-ant-" prefix.
  const secret = key.slice('sk-ant-api03-'.length);
  for (let i = 0; i + 5 <= secret.length; i++) expect(text).not.toContain(secret.slice(i, i + 5));
}

async function probeWith(behaviour: Behaviour | null, timeoutMs = 5_000): Promise<{ key: string; result: KeyProbeResult }> {
  const key = newKey();
  if (behaviour !== null) fake.setKeyBehaviour(key, behaviour);
  const result = await probeAnthropicKey(key, { baseUrl: fake.url, timeoutMs });
  if (!result.valid) expectKeyAbsent(result.message, key);
  return { key, result };
}

/** The probe made exactly one free request, GET /v1/models?limit=1, authenticated as the SDK does. */
function expectSingleModelsRequest(key: string): void {
  expect(fake.requests).toHaveLength(1);
  const [request] = fake.requests;
  expect(request!.method).toBe('GET');
  expect(request!.path).toBe('/v1/models');
  expect(request!.query).toEqual({ limit: '1' });
  expect(request!.apiKey).toBe(key);
  // @anthropic-ai/sdk 1.12 sends the key as a Bearer token, not as x-api-key.
  expect(request!.headers.authorization).toBe(`Bearer ${key}`);
  expect(request!.headers['x-api-key']).toBeUndefined();
  expect(request!.headers['anthropic-version']).toBe('2026-10-21');
  expect(request!.headers['x-stainless-retry-count']).toBe('0');
}

describe('probeAnthropicKey', () => {
  it('accepts a working key with one GET /v1/models and nothing that costs tokens', async () => {
    const { key, result } = await probeWith('valid');
    expect(result).toEqual({ valid: true });
    expectSingleModelsRequest(key);
    expect(fake.requestsTo('/v1/messages')).toHaveLength(0);
    expect(fake.requestsTo('/v1/messages/count_tokens')).toHaveLength(0);
  });

  it('401 authentication_error → invalid_key (terminal)', async () => {
    const { key, result } = await probeWith(null); // unknown to the fake → 401 "invalid x-api-key"
    expect(result).toMatchObject({ valid: false, category: 'invalid_key', transient: false });
    expect(result).not.toHaveProperty('retryAfterSeconds');
    if (!result.valid) expect(result.message).toContain('invalid x-api-key');
    expectSingleModelsRequest(key);
  });

  it.each([
    ['disabled', anthropicErrors.keyDisabled(), MESSAGES.keyDisabled],
    ['revoked', anthropicErrors.keyRevoked(), MESSAGES.keyRevoked],
    ['expired', anthropicErrors.keyExpired(), MESSAGES.keyExpired],
  ])('401 for a %s key → revoked_or_expired (terminal)', async (_name, behaviour, text) => {
    const { key, result } = await probeWith(behaviour);
    expect(result).toMatchObject({ valid: false, category: 'revoked_or_expired', transient: false });
    if (!result.valid) expect(result.message).toContain(text.replace(/\.$/, ''));
    expectSingleModelsRequest(key);
  });

  it('403 permission_error → insufficient_permissions (terminal)', async () => {
    const { key, result } = await probeWith(anthropicErrors.permission());
    expect(result).toMatchObject({ valid: false, category: 'insufficient_permissions', transient: false });
    expectSingleModelsRequest(key);
  });

  it('402 billing_error → quota_exhausted (terminal)', async () => {
    const { key, result } = await probeWith(anthropicErrors.billing());
    expect(result).toMatchObject({ valid: false, category: 'quota_exhausted', transient: false });
    expectSingleModelsRequest(key);
  });

  it('400 "credit balance is too low" → quota_exhausted (terminal)', async () => {
    const { key, result } = await probeWith(anthropicErrors.creditBalanceTooLow());
    expect(result).toMatchObject({ valid: false, category: 'quota_exhausted', transient: false });
    if (!result.valid) expect(result.message).toContain('credit balance is too low');
    expectSingleModelsRequest(key);
  });

  it('429 rate_limit_error with retry-after 7 → rate_limited, transient, retryAfterSeconds 7', async () => {
    const { key, result } = await probeWith(anthropicErrors.rateLimit({ retryAfterSeconds: 7 }));
    expect(result).toMatchObject({ valid: false, category: 'rate_limited', transient: true, retryAfterSeconds: 7 });
    expectSingleModelsRequest(key); // no SDK retry despite the retry-after header
  });

  it('429 without retry-after → rate_limited without retryAfterSeconds', async () => {
    const { result } = await probeWith(anthropicErrors.rateLimit());
    expect(result).toMatchObject({ valid: false, category: 'rate_limited', transient: true });
    expect(result).not.toHaveProperty('retryAfterSeconds');
  });

  it('429 saying the spend/usage limit was reached → quota_exhausted (terminal)', async () => {
    const { key, result } = await probeWith(anthropicErrors.spendLimitReached());
    expect(result).toMatchObject({ valid: false, category: 'quota_exhausted', transient: false });
    expectSingleModelsRequest(key);
  });

  it('429 with error_code enforced_spend_limit_reached → quota_exhausted, whatever the wording', async () => {
    const { result } = await probeWith(
      anthropicError('rate_limit_error', 'Monthly threshold crossed.', { errorCode: 'enforced_spend_limit_reached' }),
    );
    expect(result).toMatchObject({ valid: false, category: 'quota_exhausted', transient: false });
  });

  it('400 saying the usage limit was reached → quota_exhausted', async () => {
    const { result } = await probeWith(anthropicErrors.spendLimitReached({ status: 400 }));
    expect(result).toMatchObject({ valid: false, category: 'quota_exhausted', transient: false });
  });

  it('500 api_error → provider_unavailable (transient)', async () => {
    const { key, result } = await probeWith(anthropicErrors.api());
    expect(result).toMatchObject({ valid: false, category: 'provider_unavailable', transient: true });
    expectSingleModelsRequest(key); // no SDK retry on 5xx
  });

  it('529 overloaded_error → provider_unavailable (transient)', async () => {
    const { key, result } = await probeWith(anthropicErrors.overloaded());
    expect(result).toMatchObject({ valid: false, category: 'provider_unavailable', transient: true });
    if (!result.valid) expect(result.message).toContain('overloaded');
    expectSingleModelsRequest(key);
  });

  it.each([502, 503, 504])('%i from a gateway (non-JSON body) → provider_unavailable (transient)', async (status) => {
    const { result } = await probeWith({ status, body: '<html>Bad gateway</html>', headers: { 'retry-after': '30' } });
    expect(result).toMatchObject({ valid: false, category: 'provider_unavailable', transient: true, retryAfterSeconds: 30 });
  });

  it('404 (a wrong base URL) → provider_unavailable "Unexpected response 404", not the key\'s fault, not transient', async () => {
    const { result } = await probeWith(anthropicErrors.notFound());
    expect(result).toMatchObject({ valid: false, category: 'provider_unavailable', transient: false });
    if (!result.valid) expect(result.message).toMatch(/^Unexpected response 404 from Anthropic/);
  });

  it('another 400 invalid_request_error → provider_unavailable "Unexpected response 400"', async () => {
    const { result } = await probeWith(anthropicErrors.invalidRequest('limit: Input should be less than or equal to 1000'));
    expect(result).toMatchObject({ valid: false, category: 'provider_unavailable', transient: false });
    if (!result.valid) expect(result.message).toMatch(/^Unexpected response 400 from Anthropic/);
  });

  it('a server that never answers → provider_unavailable (transient) within the time limit', async () => {
    const started = Date.now();
    const { key, result } = await probeWith('hang', 300);
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ valid: false, category: 'provider_unavailable', transient: true });
    if (!result.valid) expect(result.message).toContain('300 ms');
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1_000);
    expectSingleModelsRequest(key); // the SDK's timeout retry is off too
  });

  it('a dropped connection → provider_unavailable (transient)', async () => {
    const { key, result } = await probeWith('drop');
    expect(result).toMatchObject({ valid: false, category: 'provider_unavailable', transient: true });
    if (!result.valid) expect(result.message).toMatch(/^Could not reach Anthropic/);
    expectSingleModelsRequest(key);
  });

  it('a refused connection (closed port) → provider_unavailable (transient)', async () => {
    const port = await closedPort();
    const key = newKey();
    const result = await probeAnthropicKey(key, { baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2_000 });
    expect(result).toMatchObject({ valid: false, category: 'provider_unavailable', transient: true });
    if (!result.valid) {
      expect(result.message).toBe('Could not reach Anthropic: the connection was refused.');
      expectKeyAbsent(result.message, key);
    }
  });

  it('never repeats the key, even when the provider (or a proxy) echoes it', async () => {
    const key = newKey();
    fake.setKeyBehaviour(key, {
      status: 401,
      body: {
        type: 'error',
        error: { type: 'authentication_error', message: `invalid x-api-key ${key} (prefix ${key.slice(0, 30)}, tail ${key.slice(14)})` },
        request_id: 'req_011CTestEcho',
      },
    });
    const result = await probeAnthropicKey(key, { baseUrl: fake.url, timeoutMs: 5_000 });
    expect(result).toMatchObject({ valid: false, category: 'invalid_key' });
    if (!result.valid) {
      expectKeyAbsent(result.message, key);
      expect(result.message).toContain(`…${key.slice(-4)}`);
    }
  });

  it('rejects an empty key or one with whitespace without calling Anthropic', async () => {
    expect(await probeAnthropicKey('', { baseUrl: fake.url, timeoutMs: 1_000 })).toMatchObject({ valid: false, category: 'invalid_key' });
    const spaced = await probeAnthropicKey('sk-ant-api03-SECRET SECRET', { baseUrl: fake.url, timeoutMs: 1_000 });
    expect(spaced).toMatchObject({ valid: false, category: 'invalid_key', transient: false });
    if (!spaced.valid) expect(spaced.message).not.toContain('SECRET');
    expect(fake.requests).toHaveLength(0);
  });
});

describe('classifyAnthropicError (shared with the run loop)', () => {
  it('classifies an error event inside a stream (an APIError with a type but no status)', () => {
    const body = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };
    const err = new APIError(undefined, body, undefined, new Headers(), 'overloaded_error');
    expect(classifyAnthropicError(err)).toMatchObject({ category: 'provider_unavailable', transient: true });
    const auth = new APIError(undefined, { type: 'error', error: { type: 'authentication_error', message: 'API key expired' } }, undefined, new Headers());
    expect(classifyAnthropicError(auth)).toMatchObject({ category: 'revoked_or_expired', transient: false });
  });

  it('reads retry-after as an HTTP date and retry-after-ms', () => {
    const inTen = new Date(Date.now() + 10_000).toUTCString();
    const dated = APIError.generate(429, anthropicErrors.rateLimit().body as object, undefined, new Headers({ 'retry-after': inTen }));
    const got = classifyAnthropicError(dated);
    expect(got.category).toBe('rate_limited');
    expect(got.retryAfterSeconds).toBeGreaterThanOrEqual(9);
    expect(got.retryAfterSeconds).toBeLessThanOrEqual(11);
    const ms = APIError.generate(529, anthropicErrors.overloaded().body as object, undefined, new Headers({ 'retry-after-ms': '1500' }));
    expect(classifyAnthropicError(ms)).toMatchObject({ category: 'provider_unavailable', retryAfterSeconds: 2 });
  });

  it('treats errors from outside the SDK as the provider being unreachable', () => {
    expect(classifyAnthropicError(new DOMException('The operation timed out.', 'TimeoutError'), { timeoutMs: 50 })).toEqual({
      category: 'provider_unavailable',
      transient: true,
      message: 'Anthropic did not answer within 50 ms.',
    });
    const dns = new APIConnectionError({ cause: Object.assign(new TypeError('fetch failed'), { cause: { code: 'ENOTFOUND' } }) });
    expect(classifyAnthropicError(dns)).toMatchObject({
      category: 'provider_unavailable',
      transient: true,
      message: 'Could not reach Anthropic: the host name could not be resolved.',
    });
  });

  it('redacts anything shaped like an Anthropic key even without knowing the key', () => {
    const err = APIError.generate(401, { type: 'error', error: { type: 'authentication_error', message: 'bad key sk-ant-api03-abcdefghijkl' } }, undefined, new Headers());
    const got = classifyAnthropicError(err);
    expect(got.category).toBe('invalid_key');
    expect(got.message).not.toContain('abcdefghijkl');
  });
});

describe('fake Anthropic API (wire format, through the real SDK)', () => {
  const client = (key: string) => new Anthropic({ apiKey: key, baseURL: fake.url, maxRetries: 0, logLevel: 'off' });

  it('serves the models list, paginated, and single models', async () => {
    const key = newKey();
    fake.setKeyBehaviour(key, 'valid');
    const page = await client(key).models.list({ limit: 2 });
    expect(page.data).toHaveLength(2);
    expect(page.data[0]).toMatchObject({ type: 'model', id: expect.stringMatching(/^claude-/), display_name: expect.any(String) });
    expect(page.has_more).toBe(true);
    expect(page.last_id).toBe(page.data[1]!.id);
    const all = [];
    for await (const model of client(key).models.list({ limit: 1 })) all.push(model.id);
    expect(all).toHaveLength(fake.models.length);
    const one = await client(key).models.retrieve(all[0]!);
    expect(one.id).toBe(all[0]);
    await expect(client(key).models.retrieve('claude-nope')).rejects.toMatchObject({ status: 404, type: 'not_found_error' });
  });

  it('answers a non-streaming message with text and a usage block', async () => {
    const key = newKey();
    fake.setKeyBehaviour(key, 'valid');
    const message = await client(key).messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn', model: 'claude-sonnet-4-6' });
    expect(message.content).toEqual([{ type: 'text', text: DEFAULT_REPLY_TEXT, citations: null }]);
    expect(message.usage).toMatchObject({
      input_tokens: expect.any(Number),
      output_tokens: expect.any(Number),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
    expect(fake.requestsTo('/v1/messages')[0]!.body).toMatchObject({ max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] });
  });

  it('streams scripted replies (text, then tool_use) as documented SSE events', async () => {
    const key = newKey();
    fake.setKeyBehaviour(key, 'valid');
    fake.script(key, [
      textReply('A longer answer, split over several deltas.', { usage: { input_tokens: 11, output_tokens: 22, cache_read_input_tokens: 5 } }),
      toolUseReply('lookup_order', { orderId: 'ord_42', verbose: true }, { text: 'Let me check.', id: 'toolu_fixed' }),
    ]);
    const params = { model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Hi' }] };

    const types: string[] = [];
    const stream = await client(key).messages.create({ ...params, stream: true });
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      if (event.type === 'message_delta') expect(event.usage.output_tokens).toBe(22);
    }
    expect(text).toBe('A longer answer, split over several deltas.');
    expect(types[0]).toBe('message_start');
    expect(types.at(-1)).toBe('message_stop');
    expect(types).toEqual(expect.arrayContaining(['content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta']));

    const final = await client(key).messages.stream(params).finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'Let me check.' });
    expect(final.content[1]).toMatchObject({ type: 'tool_use', id: 'toolu_fixed', name: 'lookup_order', input: { orderId: 'ord_42', verbose: true } });
    expect(final.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: expect.any(Number) });
  });

  it('counts tokens, and plays scripted errors the SDK turns into its error classes', async () => {
    const key = newKey();
    fake.setKeyBehaviour(key, 'valid');
    const counted = await client(key).messages.countTokens({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'Hello there' }] });
    expect(counted.input_tokens).toBeGreaterThan(0);

    fake.script(key, [{ error: anthropicErrors.rateLimit({ retryAfterSeconds: 3 }) }, { error: anthropicErrors.overloaded() }]);
    const params = { model: 'claude-sonnet-4-6', max_tokens: 8, messages: [{ role: 'user' as const, content: 'x' }] };
    const first = await client(key).messages.create(params).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(Anthropic.RateLimitError);
    expect(classifyAnthropicError(first)).toMatchObject({ category: 'rate_limited', retryAfterSeconds: 3 });
    const second = await client(key).messages.create(params).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(Anthropic.OverloadedError);
    expect((second as APIError).requestID).toMatch(/^req_/);
  });

  it('accepts x-api-key as well, and requires anthropic-version', async () => {
    const key = newKey();
    fake.setKeyBehaviour(key, 'valid');
    const ok = await fetch(`${fake.url}/v1/models`, { headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01' } });
    expect(ok.status).toBe(200);
    const noVersion = await fetch(`${fake.url}/v1/models`, { headers: { 'x-api-key': key } });
    expect(noVersion.status).toBe(400);
    const unknown = await fetch(`${fake.url}/v1/models`, { headers: { 'x-api-key': 'sk-ant-nope', 'anthropic-version': '2023-06-01' } });
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error', message: 'invalid x-api-key' },
      request_id: expect.stringMatching(/^req_/),
    });
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
