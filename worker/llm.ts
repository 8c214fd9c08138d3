import Anthropic from '@anthropic-ai/sdk';
import type { Message, MessageCreateParamsNonStreaming } from '@anthropic-ai/sdk/resources/messages/messages';
import { classifyAnthropicError } from '../src/modules/configs/key-probe';
import { RunAborted, RunFailure } from './run-failure';

export type LlmCall = {
  apiKey: string;
  baseUrl?: string;
  params: MessageCreateParamsNonStreaming;
  /** Absolute deadline of the run. */
  deadlineAt: Date;
  /** Aborts on cancel, lost lease or shutdown. */
  signal: AbortSignal;
  onText: (delta: string) => void;
  onRetry: (attempt: number, detail: { category: string; message: string; delayMs: number }) => Promise<void>;
};

const MAX_BACKOFF_MS = 30_000;
/** Clients kept per (key, base URL): building one costs more CPU than a short model call. */
const MAX_CLIENTS = 256;
const clients = new Map<string, Anthropic>();

function clientFor(apiKey: string, baseUrl: string | undefined): Anthropic {
  const id = `${baseUrl ?? ''}\n${apiKey}`;
  let client = clients.get(id);
  if (client) {
    // Most recently used last, so the first entry is the one to drop.
    clients.delete(id);
  } else {
    // The SDK's own spans stay off: the run's `chat` span (run-spans.ts) is the one, without content.
    client = new Anthropic({ apiKey, baseURL: baseUrl, maxRetries: 0, logLevel: 'off', openTelemetry: false });
    if (clients.size >= MAX_CLIENTS) clients.delete(clients.keys().next().value!);
  }
  clients.set(id, client);
  return client;
}
// Key problems are the tenant's to fix; nothing else Anthropic says about a request is retryable
// or the key's fault, so it is the config (model, tools, prompt) that is wrong.
const AUTH_CATEGORIES = new Set(['invalid_key', 'revoked_or_expired', 'insufficient_permissions', 'quota_exhausted']);

/**
 * One LLM turn, streamed: the SDK's own retries are off and this loop decides. Transient errors
 * (429 with retry-after, 5xx, 529, connection) are retried with backoff while the deadline allows;
 * the rest end the run with a category.
 */
export async function callModel(call: LlmCall): Promise<Message> {
  const client = clientFor(call.apiKey, call.baseUrl);
  for (let attempt = 1; ; attempt++) {
    const remaining = call.deadlineAt.getTime() - Date.now();
    if (remaining <= 0) throw new RunFailure('timeout', 'The run reached its deadline before the model answered.');
    const deadline = AbortSignal.timeout(remaining);
    const signal = AbortSignal.any([call.signal, deadline]);
    try {
      const stream = client.messages.stream(call.params, { signal, timeout: remaining });
      stream.on('text', (delta) => call.onText(delta));
      return await stream.finalMessage();
    } catch (err) {
      if (call.signal.aborted) throw new RunAborted(call.signal.reason);
      if (deadline.aborted) throw new RunFailure('timeout', 'The run reached its deadline while the model was answering.');
      const failure = classifyAnthropicError(err, { apiKey: call.apiKey, timeoutMs: remaining });
      if (AUTH_CATEGORIES.has(failure.category)) throw new RunFailure('auth_failed', failure.message);
      if (!failure.transient) throw new RunFailure('config_error', failure.message);
      const delayMs = Math.min(MAX_BACKOFF_MS, failure.retryAfterSeconds !== undefined ? failure.retryAfterSeconds * 1000 : 500 * 2 ** (attempt - 1));
      if (Date.now() + delayMs >= call.deadlineAt.getTime()) {
        throw new RunFailure('timeout', `The model kept failing (${failure.message}) and the deadline leaves no time to retry.`);
      }
      await call.onRetry(attempt, { category: failure.category, message: failure.message, delayMs });
      await sleep(delayMs, call.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new RunAborted(signal.reason));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new RunAborted(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
