/**
 * The fake Anthropic API (test/fakes/anthropic.ts) in its own process, for bench:runs: the worker
 * processes' LLM turns land here, so its CPU is measured apart from the load generator's.
 *
 * Env in:  BENCH_FAKE_KEYS — comma-separated API keys that get the 'valid' behaviour (every
 *          POST /v1/messages answers the fake's default short text message at once).
 * IPC out: { type: 'ready', url } once listening, or { type: 'error', message }.
 * IPC in:  { type: 'stop' } closes the server and exits 0.
 *
 * The fake records every request for the tests' assertions; here that list is emptied every
 * second, so thousands of runs do not pile up in memory.
 */
import { startFakeAnthropic, type FakeAnthropic } from '../../test/fakes/anthropic';

export type FakeChildMessage = { type: 'ready'; url: string } | { type: 'error'; message: string };
export type FakeParentMessage = { type: 'stop' };

let fake: FakeAnthropic | undefined;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await fake?.close().catch(() => undefined);
  }
  process.exit(code);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('fake-anthropic-child must be started with child_process.fork (IPC channel).');
  fake = await startFakeAnthropic();
  for (const key of (process.env.BENCH_FAKE_KEYS ?? '').split(',').filter(Boolean)) fake.setKeyBehaviour(key, 'valid');
  const recorded = fake.requests;
  setInterval(() => {
    recorded.length = 0;
  }, 1_000).unref();
  process.send({ type: 'ready', url: fake.url } satisfies FakeChildMessage);
}

process.on('message', (message: FakeParentMessage) => {
  if (message?.type === 'stop') void stop(0);
});
process.on('disconnect', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

main().catch((err: unknown) => {
  process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies FakeChildMessage);
  void stop(1);
});
