/**
 * The log writer of bench:logs, in its own process so its CPU is measured apart. Every line it
 * writes is a small JSON text carrying the moment it was handed over (`t`, wall-clock ms with
 * sub-millisecond precision: performance.timeOrigin + performance.now()), so a subscriber on the
 * same machine computes the delivery latency as its receive time − t.
 *
 * Modes (BENCH_WRITER_MODE):
 *   runlane  — claims BENCH_RUNS queued runs of the bench database (runlane_runs_claim, as a
 *              worker does; DATABASE_URL as runlane_app) and writes through each run's RunJournal
 *              .log(lines): one transaction per batch, then the journal publishes the lines on the
 *              Redis bus (REDIS_URL) after the commit. `t` is taken right before journal.log().
 *   baseline — no database: PUBLISHes the same message shape the bus would
 *              (`{o, m: {runId, status, logSeq, eventSeq, lines: [{seq, ts, step, stream, line}]}}`
 *              on `runlane:runs.<runId>`) straight to Redis with ioredis, for BENCH_RUNS random run
 *              ids, numbering the lines itself. `t` is taken right before PUBLISH.
 *
 * IPC out: { type: 'ready', runIds } once it holds its runs (or { type: 'error', message });
 *          { type: 'primed' } after the 'prime' lines; { type: 'measuring' } when the measured part
 *          of the load begins; { type: 'loaded', ... } when the load is written (see WriterLoaded).
 * IPC in:  { type: 'prime' } writes one line (`w: 1`) to every run: a subscriber that has it is
 *          attached (Runlane's subscription attaches to the bus before it reads the backlog);
 *          { type: 'load', rate, warmupS, durationS, batchMs } writes `rate` lines/s in all for
 *          `warmupS` s (warm-up lines, `w: 1`), then for `durationS` s (measured): one batch every
 *          `batchMs`, the runs taking turns, each batch carrying rate × batchMs / 1000 lines. A
 *          run writes one batch at a time (its lines stay in order); a batch whose turn came while
 *          its run's previous one was still being written waits for it, and a writer behind
 *          schedule catches up at once. `t` is taken when the batch's write begins.
 *          { type: 'stop' } exits 0.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/config';
import { createOrm, type Orm } from '../../src/db/orm';
import { callDefiner } from '../../src/db/tenant-transaction';
import { entities } from '../../src/modules/entities';
import { RunJournal } from '../../src/modules/runs/run-journal';
import { runChannel, type RunChanged } from '../../src/modules/runs/run-channels';
import { createBus, type Bus } from '../../src/platform/bus';
import type { Lease } from '../../src/platform/lease-queue';
import { LatencyHistogram, type HistogramData } from './latency-histogram';

export type WriterLoaded = {
  type: 'loaded';
  /** Lines written per run, warm-up included (= the last seq in baseline mode). */
  linesPerRun: Record<string, number>;
  /** Measured lines written per run and in all. */
  measuredPerRun: Record<string, number>;
  measured: number;
  batches: number;
  /** Wall time from the first measured batch's turn to the end of the last batch, s. */
  wallS: number;
  /** Duration of each write call (journal.log or PUBLISH), ms. */
  writeMs: HistogramData;
  /** Each measured batch as [run, its first line number, lines, write call ms]: what lets a subscriber tell the write from the delivery. */
  batchWrites: [number, number, number, number][];
  /** How late measured batches began to be written against their turn (a writer that cannot keep up), ms. */
  lateMs: HistogramData;
  errors: string[];
};
export type WriterMessage =
  | { type: 'ready'; runIds: string[] }
  | { type: 'primed' }
  | { type: 'measuring' }
  | WriterLoaded
  | { type: 'error'; message: string };
export type WriterCommand =
  | { type: 'prime' }
  | { type: 'load'; rate: number; warmupS: number; durationS: number; batchMs: number }
  | { type: 'stop' };

const mode = process.env.BENCH_WRITER_MODE;
/** A worker process's connections: the Runlane setting (DATABASE_POOL_SIZE, or its default for this machine). */
const poolSize = loadConfig().database.poolSize;
const runCount = Number(process.env.BENCH_RUNS ?? 10);
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
/** Long enough that no lease expires during a bench (no worker sweeps here anyway). */
const LEASE_SECONDS = 3_600;
/** Lines of ordinary length: the JSON figures plus filler, about 90 bytes each. */
const FILLER = 'bench log line: lorem ipsum dolor sit amet';

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function send(message: WriterMessage): void {
  process.send?.(message);
}

type Sink = { runIds: string[]; write(run: number, lines: string[]): Promise<void>; close(): Promise<void> };

async function runlaneSink(): Promise<Sink> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is required in runlane mode.');
  const orm: Orm = await createOrm({ url, poolSize, entities, applicationName: 'runlane-bench-writer' });
  const bus: Bus = createBus(redisUrl, (err) => process.stderr.write(`[writer] bus error: ${err.message}\n`));
  const rows = await callDefiner<{ tenant_id: string; id: string; lease_token: string }>(
    orm,
    'select tenant_id, id, lease_token from runlane_runs_claim(?, ?, ?)',
    [`bench-writer:${process.pid}`, runCount, LEASE_SECONDS],
  );
  if (rows.length !== runCount) throw new Error(`claimed ${rows.length} runs, expected ${runCount}`);
  const journals = rows.map((row) => {
    const lease: Lease = { tenantId: row.tenant_id, id: row.id, token: row.lease_token };
    return new RunJournal({ orm, bus, onPublishError: (err) => process.stderr.write(`[writer] publish failed: ${String(err)}\n`) }, lease);
  });
  return {
    runIds: journals.map((j) => j.lease.id),
    write: (run, lines) => journals[run]!.log(lines.map((line) => ({ stream: 'stdout', step: 'bench', line }))),
    close: async () => {
      await bus.close();
      await orm.close(true);
    },
  };
}

async function baselineSink(): Promise<Sink> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  await redis.ping();
  const origin = randomUUID();
  const runIds = Array.from({ length: runCount }, () => randomUUID());
  const seqs = runIds.map(() => 0);
  return {
    runIds,
    write: async (run, lines) => {
      const runId = runIds[run]!;
      const first = seqs[run]! + 1;
      seqs[run]! += lines.length;
      const ts = new Date().toISOString();
      const message: RunChanged = {
        runId,
        status: 'running',
        logSeq: seqs[run]!,
        eventSeq: 0,
        lines: lines.map((line, i) => ({ seq: first + i, ts, step: 'bench', stream: 'stdout', line })),
      };
      await redis.publish(`runlane:${runChannel(runId)}`, JSON.stringify({ o: origin, m: message }));
    },
    close: async () => {
      redis.disconnect();
    },
  };
}

let sink: Sink | undefined;
const written: number[] = [];
const lineNumbers: number[] = [];
const errors: string[] = [];

/** The next line of a run: its number k within the run, the write time t, whether it is measured. */
function line(run: number, t: number, warmUp: boolean): string {
  const k = ++lineNumbers[run]!;
  return JSON.stringify(warmUp ? { t, r: run, k, w: 1, p: FILLER } : { t, r: run, k, p: FILLER });
}

/** Measured batches as WriterLoaded['batchWrites'] describes them. */
const batchWrites: WriterLoaded['batchWrites'] = [];

async function write(run: number, count: number, warmUp: boolean, writeMs?: LatencyHistogram): Promise<void> {
  const started = now();
  const firstK = lineNumbers[run]! + 1;
  const lines = Array.from({ length: count }, () => line(run, started, warmUp));
  try {
    await sink!.write(run, lines);
    written[run]! += lines.length;
  } catch (err) {
    if (errors.length < 5) errors.push(err instanceof Error ? err.message : String(err));
  } finally {
    const ms = now() - started;
    writeMs?.record(ms);
    if (writeMs) batchWrites.push([run, firstK, count, ms]);
  }
}

async function prime(): Promise<void> {
  const runs = sink!.runIds.length;
  // A few at a time: as many as the writer's connections.
  const width = Math.min(runs, poolSize);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < runs) await write(next++, 1, true);
    }),
  );
}

async function load(rate: number, warmupS: number, durationS: number, batchMs: number): Promise<WriterLoaded> {
  const runs = sink!.runIds.length;
  const perTick = (rate * batchMs) / 1_000;
  const warmTicks = Math.round((warmupS * 1_000) / batchMs);
  const ticks = warmTicks + Math.round((durationS * 1_000) / batchMs);
  /** Lines of tick j: the whole lines that fell due by its end, less those of the ticks before. */
  const linesOf = (j: number) => Math.floor((j + 1) * perTick) - Math.floor(j * perTick);
  const writeMs = new LatencyHistogram();
  const lateMs = new LatencyHistogram();
  const chains: Promise<void>[] = sink!.runIds.map(() => Promise.resolve());
  const measuredPerRun = sink!.runIds.map(() => 0);
  let batches = 0;
  let lastEnd = 0;
  const start = now() + 20;
  const measuredFrom = start + warmTicks * batchMs;
  let j = 0;
  while (j < ticks) {
    await sleep(start + j * batchMs - now());
    for (; j < ticks && start + j * batchMs <= now(); j++) {
      if (j === warmTicks) send({ type: 'measuring' });
      const run = j % runs;
      const count = linesOf(j);
      if (count === 0) continue;
      const turn = start + j * batchMs;
      const warmUp = j < warmTicks;
      if (!warmUp) measuredPerRun[run]! += count;
      chains[run] = chains[run]!.then(async () => {
        if (!warmUp) lateMs.record(now() - turn);
        await write(run, count, warmUp, warmUp ? undefined : writeMs);
        if (!warmUp) {
          batches++;
          lastEnd = Math.max(lastEnd, now());
        }
      });
    }
  }
  await Promise.all(chains);
  return {
    type: 'loaded',
    linesPerRun: Object.fromEntries(sink!.runIds.map((id, run) => [id, written[run]!])),
    measuredPerRun: Object.fromEntries(sink!.runIds.map((id, run) => [id, measuredPerRun[run]!])),
    measured: measuredPerRun.reduce((a, b) => a + b, 0),
    batches,
    wallS: (lastEnd - measuredFrom) / 1_000,
    writeMs: writeMs.toJSON(),
    batchWrites,
    lateMs: lateMs.toJSON(),
    errors,
  };
}

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await sink?.close().catch(() => undefined);
  }
  process.exit(code);
}

process.on('message', (message: WriterCommand) => {
  const fail = (err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  if (message?.type === 'stop') void stop(0);
  if (message?.type === 'prime') prime().then(() => send({ type: 'primed' }), fail);
  if (message?.type === 'load') load(message.rate, message.warmupS, message.durationS, message.batchMs).then(send, fail);
});
process.on('disconnect', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

async function main(): Promise<void> {
  if (!process.send) throw new Error('log-writer-child must be started with child_process.fork (IPC channel).');
  if (mode === 'runlane') sink = await runlaneSink();
  else if (mode === 'baseline') sink = await baselineSink();
  else throw new Error('BENCH_WRITER_MODE must be runlane or baseline.');
  written.push(...sink.runIds.map(() => 0));
  lineNumbers.push(...sink.runIds.map(() => 0));
  send({ type: 'ready', runIds: sink.runIds });
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  void stop(1);
});
