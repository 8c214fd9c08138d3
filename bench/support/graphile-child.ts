/**
 * One graphile-worker process for bench:runs: `run()` with a single no-op task, the baseline that
 * Runlane's worker processes are compared with. Started with child_process.fork.
 *
 * Env in:  BENCH_GW_URL (connection string; its schema is migrated by the parent first),
 *          BENCH_GW_CONCURRENCY (jobs at once in this process), BENCH_GW_POOL (maxPoolSize),
 *          BENCH_GW_POLL_MS (pollInterval: the safety net; new jobs arrive by LISTEN/NOTIFY).
 * IPC out: { type: 'ready' } once the runner is started, or { type: 'error', message };
 *          { type: 'count', id, done } and { type: 'report', id, jobs } as answers.
 * IPC in:  { type: 'count', id }: how many jobs ran so far;
 *          { type: 'report', id }: every job that ran: id, attempts, start and end times
 *          (epoch ms with sub-millisecond precision, the same clock as the parent's);
 *          { type: 'stop' }: stops the runner (gracefully) and exits 0.
 *
 * The task does nothing but note the time it started and ended: graphile-worker's own cost of
 * taking a job, running it and completing it is what is measured.
 */
import { Logger, run, type Runner, type Task } from 'graphile-worker';

export type GwJobRecord = { id: string; attempts: number; startMs: number; endMs: number };
export type GwChildMessage =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'count'; id: number; done: number }
  | { type: 'report'; id: number; jobs: GwJobRecord[] };
export type GwParentMessage = { type: 'stop' } | { type: 'count'; id: number } | { type: 'report'; id: number };

const now = (): number => performance.timeOrigin + performance.now();
const jobs: GwJobRecord[] = [];

const noop: Task = (_payload, helpers) => {
  const startMs = now();
  jobs.push({ id: String(helpers.job.id), attempts: helpers.job.attempts, startMs, endMs: now() });
};

// Warnings and errors only, on stderr (graphile-worker logs every job at info).
const logger = new Logger((scope) => (level: string, message: string) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`[graphile-worker ${scope.label ?? ''}] ${level}: ${message}\n`);
});

let runner: Runner | undefined;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await runner?.stop().catch(() => undefined);
  }
  process.exit(code);
}

function intEnv(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('graphile-child must be started with child_process.fork (IPC channel).');
  const connectionString = process.env.BENCH_GW_URL;
  if (!connectionString) throw new Error('BENCH_GW_URL is required.');
  runner = await run({
    connectionString,
    concurrency: intEnv('BENCH_GW_CONCURRENCY', 32),
    maxPoolSize: intEnv('BENCH_GW_POOL', 34),
    pollInterval: intEnv('BENCH_GW_POLL_MS', 1_000),
    noHandleSignals: true,
    logger,
    taskList: { noop },
  });
  process.send({ type: 'ready' } satisfies GwChildMessage);
}

process.on('message', (message: GwParentMessage) => {
  if (message?.type === 'stop') void stop(0);
  else if (message?.type === 'count') process.send?.({ type: 'count', id: message.id, done: jobs.length } satisfies GwChildMessage);
  else if (message?.type === 'report') process.send?.({ type: 'report', id: message.id, jobs } satisfies GwChildMessage);
});
process.on('disconnect', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

main().catch((err: unknown) => {
  process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies GwChildMessage);
  void stop(1);
});
