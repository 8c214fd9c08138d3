/**
 * bench:logs — live log delivery: subscribers across 2 API processes while lines are written,
 * beside a baseline in the same run that moves the same lines through Redis pub/sub to plain
 * WebSockets with no GraphQL and no PostgreSQL.
 *
 *   npm run bench:logs
 *   BENCH_RUNS=10 BENCH_LINES_PER_SECOND=40 npm run bench:logs   (100 subscribers per run)
 *
 * Goal (issue 7): with 1,000 concurrent subscribers across 2 API processes while 2,000 lines per
 * second are written, the p99 delivery latency is within 3× the baseline's.
 *
 * Runlane: a fresh database, 2 `runlane api` processes (bin/runlane.mjs, the published entry
 * point) on Redis, a tenant (`runlane tenant create bench --json`), the `custom` agent config and
 * BENCH_RUNS queued runs, claimed by a writer process (bench/support/log-writer-child.ts) that
 * writes their log through RunJournal.log — a transaction per batch, then the bus message after
 * the commit, as a worker does. BENCH_SUBSCRIBERS graphql-ws subscribers of runLogs, evenly over
 * the runs and the two API processes, in BENCH_SUBSCRIBER_PROCS processes of their own
 * (bench/support/log-subscribers-child.ts).
 * Baseline: 2 fan-out processes (bench/support/ws-fanout-child.ts: ioredis SUBSCRIBE → `ws`
 * frames), the same writer publishing the same message shape straight to Redis, the same
 * subscribers as plain WebSockets. The two systems run one after the other, never at once.
 *
 * Every line carries its write time; a subscriber's delivery latency is its receive time − that.
 * Every subscriber checks that it got each line of its run exactly once and in order; a gap, a
 * repeat, a line still missing after the drain or a subscription that ended early makes the
 * measurement invalid (exit 1). Otherwise it exits 0, goal met or not.
 *
 * Env: RUNLANE_BENCH_ADMIN_URL (superuser URL, default postgres://postgres@127.0.0.1:5432/postgres),
 *      REDIS_URL (default redis://127.0.0.1:6379), BENCH_SUBSCRIBERS (1000), BENCH_RUNS (500: 2
 *      subscribers per run, one on each server process), BENCH_LINES_PER_SECOND (2000 in all),
 *      BENCH_DURATION (10 s measured), BENCH_WARMUP (2 s of the same load before, not measured),
 *      BENCH_BATCH_MS (10: one batch every 10 ms, the runs in turn), BENCH_SUBSCRIBER_PROCS (2),
 *      BENCH_DRAIN_TIMEOUT (30 s), BENCH_ONLY (runlane|baseline), BENCH_CPU_PROF (a directory:
 *      every child writes a V8 CPU profile there).
 * Other Runlane settings in the env (DATABASE_POOL_SIZE, RUNLANE_SUBSCRIBER_BUFFER_LINES, …)
 * reach the Runlane processes and the writer. bench/README.md says exactly what is measured.
 */
import { cpus as cpuList, loadavg } from 'node:os';
import { loadConfig } from '../src/config/config';
import { ensureRoles } from '../src/db/provision';
import { LatencyHistogram } from './support/latency-histogram';
import type { SubscribersCommand, SubscribersMessage, SubscribersReport, SubscribersStatus, Target } from './support/log-subscribers-child';
import type { WriterCommand, WriterLoaded, WriterMessage } from './support/log-writer-child';
import type { FanoutMessage } from './support/ws-fanout-child';
import {
  adminQuery,
  adminUrl,
  benchDatabase,
  createRunlaneDatabase,
  createTenant,
  dropLeftoverBenchDatabases,
  forkChild,
  freePort,
  intEnv,
  now,
  redisUrl,
  runBench,
  runlane,
  runlaneEnv,
  sleep,
  stopChild,
  waitHttp,
  type Forked,
  type Proc,
} from './support/harness';
import { commandCpuMs, kernelThreadsCpuMs, kernelThreadsDeltaMs, machineBusyMs, postgresCpuDeltaMs, postgresProcessesCpuMs, processCpuMs } from './support/proc-cpu';

const subscriberCount = intEnv('BENCH_SUBSCRIBERS', 1_000);
const runCount = intEnv('BENCH_RUNS', 500);
const rate = intEnv('BENCH_LINES_PER_SECOND', 2_000);
const duration = intEnv('BENCH_DURATION', 10);
const batchMs = intEnv('BENCH_BATCH_MS', 10);
const warmup = intEnv('BENCH_WARMUP', 2, 0);
const subscriberProcs = intEnv('BENCH_SUBSCRIBER_PROCS', 2);
const drainTimeoutS = intEnv('BENCH_DRAIN_TIMEOUT', 30);
const only = process.env.BENCH_ONLY as 'runlane' | 'baseline' | undefined;
if (only && only !== 'runlane' && only !== 'baseline') throw new Error('BENCH_ONLY must be runlane or baseline.');
if (subscriberCount < runCount) throw new Error('BENCH_SUBSCRIBERS must be at least BENCH_RUNS (every run needs a subscriber).');

/** Connections of each Runlane process (DATABASE_POOL_SIZE, or Runlane's default for this machine). */
const dbPoolSize = loadConfig(process.env).database.poolSize;

const GOAL_P99_RATIO = 3;
/** Other work taking more than this share of a core during a phase gets a warning under the table. */
const BUSY_MACHINE = 0.25;
const API_PROCESSES = 2;
const ATTACH_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 120_000;

// ---------------------------------------------------------------- child processes

/**
 * The next message of `type` from a child (matching `id` when given); rejects when the child
 * reports an error, exits, or nothing comes within the timeout.
 */
function nextMessage<M extends { type: string }>(forked: Forked<unknown>, type: M['type'], timeoutMs: number, id?: number): Promise<M> {
  const { child, name } = forked;
  return new Promise((resolvePromise, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: M & { id?: number; message?: string }) => {
      if (message.type === 'error') {
        done();
        reject(new Error(`${name} failed:\n${message.message}`));
      } else if (message.type === type && (id === undefined || message.id === id)) {
        done();
        resolvePromise(message);
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      done();
      reject(new Error(`${name} exited (code ${code}, signal ${signal}) while the bench waited for '${type}'`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${name}: no '${type}' after ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function command<C>(forked: Forked<unknown>, message: C): void {
  if (!forked.child.connected) throw new Error(`${forked.name} is gone`);
  forked.child.send(message as object);
}

// ---------------------------------------------------------------- measurement

type CpuSnapshot = {
  at: number;
  procs: Record<string, number | null>;
  pg: ReturnType<typeof postgresProcessesCpuMs>;
  redis: number;
  machine: number | null;
  kernel: ReturnType<typeof kernelThreadsCpuMs>;
};
type CpuRow = { name: string; ms: number };

/** CPU of named groups of processes (a group's figure is the sum of its processes), the bench database's PostgreSQL backends and redis-server. */
function snapshotCpu(groups: Record<string, (number | undefined)[]>, dbs: string[]): CpuSnapshot {
  const procs: Record<string, number | null> = {};
  for (const [name, pids] of Object.entries(groups)) {
    let sum: number | null = 0;
    for (const pid of pids) {
      const ms = pid === process.pid ? selfCpuMs() : processCpuMs(pid);
      sum = ms === null || sum === null ? null : sum + ms;
    }
    procs[name] = sum;
  }
  return { at: now(), procs, pg: postgresProcessesCpuMs(dbs), redis: commandCpuMs('redis-server'), machine: machineBusyMs(), kernel: kernelThreadsCpuMs() };
}

function selfCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1_000;
}

type CpuWindow = {
  rows: CpuRow[];
  windowS: number;
  /** Busy time of the machine outside the rows, ms. */
  others: number | null;
  /** Of `others`, the kernel's own threads, and the busiest of them. */
  kernel: { ms: number; busiest: string | null };
};

function cpuDelta(before: CpuSnapshot, after: CpuSnapshot, withPostgres: boolean): CpuWindow {
  const rows: CpuRow[] = [];
  for (const name of Object.keys(before.procs)) {
    const a = after.procs[name];
    const b = before.procs[name];
    if (a != null && b != null) rows.push({ name, ms: a - b });
  }
  const pgCpu = postgresCpuDeltaMs(before.pg, after.pg);
  if (withPostgres) rows.push({ name: 'postgres backends (bench db)', ms: pgCpu.ours });
  rows.push({ name: 'postgres background (WAL, …)', ms: pgCpu.background });
  rows.push({ name: 'redis-server', ms: after.redis - before.redis });
  const ours = rows.reduce((sum, r) => sum + r.ms, 0);
  const machine = after.machine !== null && before.machine !== null ? after.machine - before.machine : null;
  return {
    rows,
    windowS: (after.at - before.at) / 1_000,
    others: machine === null ? null : Math.max(0, machine - ours),
    kernel: kernelThreadsDeltaMs(before.kernel, after.kernel),
  };
}

type PhaseResult = {
  system: 'runlane' | 'baseline';
  subscribers: number;
  /** Measured lines written, and received by subscribers in all (each line once per subscriber of its run). */
  written: number;
  expectedDeliveries: number;
  delivered: number;
  latency: LatencyHistogram;
  /** The latency less the line's write call: from the commit (Runlane) or PUBLISH (baseline) to receipt. */
  afterWrite: LatencyHistogram;
  writeMs: LatencyHistogram;
  lateMs: LatencyHistogram;
  batches: number;
  writerWallS: number;
  /** From the end of the writes until every subscriber had its last line, s. */
  drainS: number;
  gaps: number;
  duplicates: number;
  misrouted: number;
  missing: number;
  incomplete: number;
  endedEarly: number;
  problems: string[];
  errors: string[];
  connectS: number;
  cpu: CpuWindow;
};

type PhaseSetup = {
  system: PhaseResult['system'];
  /** The writer's environment (mode, database, Redis). */
  writerEnv: NodeJS.ProcessEnv;
  /** Where a subscriber of run `runId` on server process `server` (0 or 1) connects. */
  url: (runId: string, server: number) => string;
  token: string;
  /** Server processes whose CPU counts, by row name. */
  servers: Record<string, number | undefined>;
  database?: string;
  /** The lines each run holds now by another account than the writer's (the database), to cross-check. */
  verify?: (linesPerRun: Record<string, number>) => Promise<string[]>;
};

/**
 * Subscriber i follows run i mod R on server process (i + ⌊i / R⌋) mod 2 (so the subscribers of a
 * run alternate between the two, and so do the runs when there is one subscriber each), from
 * subscriber process ⌊i · P / N⌋.
 */
function layout(runIds: string[], url: PhaseSetup['url']): Target[][] {
  const groups: Target[][] = Array.from({ length: subscriberProcs }, () => []);
  for (let i = 0; i < subscriberCount; i++) {
    const run = i % runIds.length;
    const server = (i + Math.floor(i / runIds.length)) % API_PROCESSES;
    groups[Math.floor((i * subscriberProcs) / subscriberCount)]!.push({ url: url(runIds[run]!, server), runId: runIds[run]!, run });
  }
  return groups;
}

/** Subscribers of each run (as layout spreads them). */
const subscribersOfRun = (run: number) => Math.floor(subscriberCount / runCount) + (run < subscriberCount % runCount ? 1 : 0);

async function measure(setup: PhaseSetup): Promise<PhaseResult> {
  const label = setup.system;
  const writer = forkChild<Extract<WriterMessage, { type: 'ready' }>>(`${label}-writer`, 'support/log-writer-child.ts', {
    ...setup.writerEnv,
    BENCH_RUNS: String(runCount),
  });
  const subs = Array.from({ length: subscriberProcs }, (_, i) =>
    forkChild<{ type: 'ready' }>(`${label}-subscribers-${i + 1}`, 'support/log-subscribers-child.ts', { ...process.env }),
  );
  const { runIds } = await writer.ready;
  await Promise.all(subs.map((s) => s.ready));

  // Connect every subscriber; then one line per run; once each subscriber has it, it is attached.
  const connectStarted = now();
  const groups = layout(runIds, setup.url);
  const connected = subs.map((s) => nextMessage<Extract<SubscribersMessage, { type: 'connected' }>>(s, 'connected', CONNECT_TIMEOUT_MS));
  subs.forEach((s, i) => command<SubscribersCommand>(s, { type: 'start', mode: setup.system, token: setup.token, targets: groups[i]! }));
  const counts = await Promise.all(connected);
  const failed = counts.reduce((sum, c) => sum + c.failed, 0);
  if (failed) throw new Error(`${failed} of ${subscriberCount} ${label} subscribers could not connect`);
  const primed = nextMessage(writer, 'primed', CONNECT_TIMEOUT_MS);
  command<WriterCommand>(writer, { type: 'prime' });
  await primed;
  let statusId = 0;
  for (const until = Date.now() + ATTACH_TIMEOUT_MS; ; ) {
    const statuses = await Promise.all(
      subs.map((s) => {
        const id = ++statusId;
        const answer = nextMessage<SubscribersStatus>(s, 'status', 10_000, id);
        command<SubscribersCommand>(s, { type: 'status', id });
        return answer;
      }),
    );
    const attached = statuses.reduce((sum, st) => sum + st.attached, 0);
    const gone = statuses.reduce((sum, st) => sum + st.failed, 0);
    if (gone) throw new Error(`${gone} ${label} subscriptions ended before the load`);
    if (attached === subscriberCount) break;
    if (Date.now() > until) {
      const waiting = statuses.flatMap((st) => st.waiting).slice(0, 5);
      throw new Error(
        `only ${attached} of ${subscriberCount} ${label} subscribers received the first line of their run within ${ATTACH_TIMEOUT_MS / 1000} s; ` +
          `still waiting: ${waiting.join(', ')}`,
      );
    }
    await sleep(100);
  }
  const connectS = (now() - connectStarted) / 1_000;
  console.log(
    `  ${label}: ${subscriberCount} subscribers connected and attached in ${connectS.toFixed(1)} s; ` +
      `${rate} lines/s for ${warmup} s of warm-up + ${duration} s measured…`,
  );

  const groupsOfPids = {
    ...Object.fromEntries(Object.entries(setup.servers).map(([name, pid]) => [name, [pid]])),
    writer: [writer.child.pid],
    [`subscribers (${subscriberProcs} process${subscriberProcs > 1 ? 'es' : ''})`]: subs.map((s) => s.child.pid),
    'bench (orchestrator)': [process.pid],
  };
  const dbs = setup.database ? [setup.database] : [];
  const measuring = nextMessage(writer, 'measuring', (warmup + 30) * 1_000);
  const loadedAnswer = nextMessage<WriterLoaded>(writer, 'loaded', (warmup + duration + 120) * 1_000);
  command<WriterCommand>(writer, { type: 'load', rate, warmupS: warmup, durationS: duration, batchMs });
  await measuring;
  const before = snapshotCpu(groupsOfPids, dbs);
  const loaded = await loadedAnswer;
  const writesEnded = now();
  const reports = await Promise.all(
    subs.map((s) => {
      const answer = nextMessage<SubscribersReport>(s, 'report', (drainTimeoutS + 30) * 1_000);
      command<SubscribersCommand>(s, { type: 'expect', linesPerRun: loaded.linesPerRun, timeoutMs: drainTimeoutS * 1_000, batchWrites: loaded.batchWrites });
      return answer;
    }),
  );
  const drainS = (now() - writesEnded) / 1_000;
  const after = snapshotCpu(groupsOfPids, dbs);
  await Promise.all([writer, ...subs].map((f) => stopChild(f.child)));
  const problems: string[] = [];
  if (setup.verify) problems.push(...(await setup.verify(loaded.linesPerRun)));

  const latency = new LatencyHistogram();
  for (const r of reports) latency.add(r.latency);
  const afterWrite = new LatencyHistogram();
  for (const r of reports) afterWrite.add(r.afterWrite);
  const writeMs = new LatencyHistogram();
  writeMs.add(loaded.writeMs);
  const lateMs = new LatencyHistogram();
  lateMs.add(loaded.lateMs);
  const sum = (key: keyof Pick<SubscribersReport, 'gaps' | 'duplicates' | 'misrouted' | 'missing' | 'incomplete' | 'endedEarly' | 'measured'>) =>
    reports.reduce((total, r) => total + r[key], 0);
  // Each measured line of a run is expected once by each subscriber of that run.
  const expectedDeliveries = runIds.reduce((total, id, run) => total + subscribersOfRun(run) * loaded.measuredPerRun[id]!, 0);
  const result: PhaseResult = {
    system: setup.system,
    subscribers: subscriberCount,
    written: loaded.measured,
    expectedDeliveries,
    delivered: sum('measured'),
    latency,
    afterWrite,
    writeMs,
    lateMs,
    batches: loaded.batches,
    writerWallS: loaded.wallS,
    drainS,
    gaps: sum('gaps'),
    duplicates: sum('duplicates'),
    misrouted: sum('misrouted'),
    missing: sum('missing'),
    incomplete: sum('incomplete'),
    endedEarly: sum('endedEarly'),
    problems,
    errors: [...new Set([...loaded.errors, ...reports.flatMap((r) => r.errors)])].slice(0, 8),
    connectS,
    cpu: cpuDelta(before, after, setup.system === 'runlane'),
  };
  if (result.gaps) problems.push(`${result.gaps} lines skipped (gaps)`);
  if (result.duplicates) problems.push(`${result.duplicates} lines received twice`);
  if (result.misrouted) problems.push(`${result.misrouted} lines of another run or not the writer's`);
  if (result.missing) problems.push(`${result.missing} lines not delivered to ${result.incomplete} subscribers within ${drainTimeoutS} s after the writes`);
  if (result.endedEarly) problems.push(`${result.endedEarly} subscriptions ended before their last line`);
  if (result.delivered !== expectedDeliveries && !result.missing && !result.gaps)
    problems.push(`${result.delivered} measured deliveries, expected ${expectedDeliveries}`);
  if (loaded.errors.length) problems.push(`writer errors: ${loaded.errors.join(' | ')}`);
  return result;
}

// ---------------------------------------------------------------- Runlane

async function benchRunlane(): Promise<PhaseResult> {
  const database = benchDatabase();
  const { dbAdminUrl, appUrl } = await createRunlaneDatabase(database);

  const env = runlaneEnv(appUrl);
  const ports: number[] = [];
  const apis: Proc[] = [];
  for (let i = 1; i <= API_PROCESSES; i++) {
    const port = await freePort();
    ports.push(port);
    apis.push(runlane(`api-${i}`, ['api'], { ...env, PORT: String(port) }));
  }
  const tenantToken = createTenant(env);
  await Promise.all(apis.map((api, i) => waitHttp(api, `http://127.0.0.1:${ports[i]}/healthz`)));
  const token = await tenantToken();

  const call = async (method: string, path: string, body: unknown, expect: number): Promise<any> => {
    const res = await fetch(`http://127.0.0.1:${ports[0]}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== expect) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
  await call('PUT', '/api/v1/agent-configs/custom', { system_prompt: 'Be brief.' }, 200);
  // Queued runs and no worker: the bench's writer claims them, as a worker would.
  let enqueued = 0;
  await Promise.all(
    Array.from({ length: Math.min(8, runCount) }, async () => {
      while (enqueued < runCount) await call('POST', '/api/v1/agents/custom/runs', { input: { prompt: `bench:logs run ${++enqueued}` } }, 201);
    }),
  );

  try {
    return await measure({
      system: 'runlane',
      writerEnv: { ...env, BENCH_WRITER_MODE: 'runlane' },
      url: (_runId, server) => `ws://127.0.0.1:${ports[server]}/graphql`,
      token,
      servers: Object.fromEntries(apis.map((api, i) => [`runlane api ${i + 1}`, api.child.pid])),
      database,
      // The journal's own count of each run's lines (agent_runs.log_seq) must be what the writer wrote.
      verify: async (linesPerRun) => {
        const rows = await adminQuery<{ id: string; log_seq: string; lines: string }>(
          dbAdminUrl,
          `select r.id, r.log_seq, count(l.seq) as lines
             from agent_runs r left join log_lines l on l.source = 'run' and l.source_id = r.id
            where r.id = any($1::uuid[]) group by r.id, r.log_seq`,
          [Object.keys(linesPerRun)],
        );
        const problems: string[] = [];
        for (const row of rows) {
          const wrote = linesPerRun[row.id];
          if (Number(row.log_seq) !== wrote || Number(row.lines) !== wrote)
            problems.push(`run ${row.id}: the writer wrote ${wrote} lines, the database holds ${row.lines} (log_seq ${row.log_seq})`);
        }
        if (rows.length !== Object.keys(linesPerRun).length) problems.push(`${Object.keys(linesPerRun).length - rows.length} runs not found`);
        return problems;
      },
    });
  } finally {
    await Promise.all(apis.map((api) => stopChild(api.child)));
  }
}

// ---------------------------------------------------------------- baseline

async function benchBaseline(): Promise<PhaseResult> {
  const servers = Array.from({ length: API_PROCESSES }, (_, i) =>
    forkChild<Extract<FanoutMessage, { type: 'ready' }>>(`ws-fanout-${i + 1}`, 'support/ws-fanout-child.ts', { ...process.env, REDIS_URL: redisUrl }),
  );
  try {
    const ports = (await Promise.all(servers.map((s) => s.ready))).map((r) => r.port);
    return await measure({
      system: 'baseline',
      writerEnv: { ...process.env, BENCH_WRITER_MODE: 'baseline', REDIS_URL: redisUrl },
      url: (runId, server) => `ws://127.0.0.1:${ports[server]}/runs/${runId}`,
      token: '',
      servers: Object.fromEntries(servers.map((s, i) => [`ws fan-out server ${i + 1}`, s.child.pid])),
    });
  } finally {
    await Promise.all(servers.map((s) => stopChild(s.child)));
  }
}

// ---------------------------------------------------------------- report

function pad(text: string, width: number, right = true): string {
  return right ? text.padStart(width) : text.padEnd(width);
}
const fmt = (v: number | undefined, digits = 1) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b ? undefined : a / b);
const cpuTotal = (r: PhaseResult) => r.cpu.rows.reduce((sum, row) => sum + row.ms, 0);
/** CPU µs per delivered line (a line received by one subscriber). */
const perDelivery = (ms: number, r: PhaseResult) => (r.delivered ? (ms * 1_000) / r.delivered : Number.NaN);

function printCpu(r: PhaseResult): void {
  const { rows, windowS, others } = r.cpu;
  const total = cpuTotal(r);
  console.log(
    `  CPU during the ${r.system === 'runlane' ? 'Runlane' : 'baseline'} load (${windowS.toFixed(1)} s from the first write to the last delivery; ` +
      `${cpuList().length} cores = ${(cpuList().length * 100).toFixed(0)}%):`,
  );
  const kernel = { name: '  of which kernel threads', ms: r.cpu.kernel.ms, note: r.cpu.kernel.busiest ? `  most: ${r.cpu.kernel.busiest}` : '' };
  const lines: (CpuRow & { note?: string })[] = [
    ...rows,
    { name: 'total of the above', ms: total },
    ...(others === null ? [] : [{ name: 'everything else on the machine', ms: others }, kernel]),
  ];
  for (const row of lines) {
    console.log(
      `    ${pad(row.name, 34, false)}${pad(`${(row.ms / 1_000).toFixed(2)} s`, 9)}${pad(`${((row.ms / 1_000 / windowS) * 100).toFixed(0)}%`, 7)}` +
        `${pad(`${fmt(perDelivery(row.ms, r), 2)} µs/line`, 17)}${row.note ?? ''}`,
    );
  }
}

function phaseLine(r: PhaseResult): void {
  console.log(
    `  ${r.system}: ${r.delivered}/${r.expectedDeliveries} deliveries, p50 ${fmt(r.latency.percentile(50), 2)} ms, p99 ${fmt(r.latency.percentile(99), 2)} ms, ` +
      `max ${fmt(r.latency.max, 2)} ms; last line ${r.drainS.toFixed(2)} s after the last write${r.problems.length ? `; INVALID: ${r.problems.join('; ')}` : ''}`,
  );
}

function rounded(r: PhaseResult | undefined) {
  if (!r) return null;
  const ms = (v: number) => (Number.isFinite(v) ? Number(v.toFixed(3)) : null);
  const d = (h: LatencyHistogram) => ({ p50: ms(h.percentile(50)), p90: ms(h.percentile(90)), p99: ms(h.percentile(99)), p999: ms(h.percentile(99.9)), max: ms(h.max), mean: ms(h.mean()), n: h.n });
  return {
    subscribers: r.subscribers,
    linesWritten: r.written,
    deliveries: r.delivered,
    expectedDeliveries: r.expectedDeliveries,
    latencyMs: d(r.latency),
    negativeLatencies: r.latency.negative,
    afterWriteMs: d(r.afterWrite),
    writeCallMs: d(r.writeMs),
    writerLateMs: d(r.lateMs),
    batches: r.batches,
    writerWallS: Number(r.writerWallS.toFixed(2)),
    drainS: Number(r.drainS.toFixed(2)),
    connectS: Number(r.connectS.toFixed(1)),
    gaps: r.gaps,
    duplicates: r.duplicates,
    misrouted: r.misrouted,
    missing: r.missing,
    endedEarly: r.endedEarly,
    problems: r.problems,
    cpuWindowS: Number(r.cpu.windowS.toFixed(2)),
    cpuS: Object.fromEntries(r.cpu.rows.map((row) => [row.name, Number((row.ms / 1_000).toFixed(2))])),
    cpuUsPerDelivery: Object.fromEntries(r.cpu.rows.map((row) => [row.name, Number(perDelivery(row.ms, r).toFixed(3))])),
    cpuUsPerDeliveryTotal: Number(perDelivery(cpuTotal(r), r).toFixed(3)),
    otherCpuS: r.cpu.others === null ? null : Number((r.cpu.others / 1_000).toFixed(2)),
    kernelThreadsCpuS: Number((r.cpu.kernel.ms / 1_000).toFixed(2)),
    busiestKernelThread: r.cpu.kernel.busiest,
  };
}

function report(ours: PhaseResult | undefined, base: PhaseResult | undefined): void {
  console.log('');
  console.log(
    `bench:logs — ${subscriberCount} subscribers (${runCount} runs × ~${Math.round(subscriberCount / runCount)}) across ${API_PROCESSES} server processes, ` +
      `${rate} lines/s (a batch every ${batchMs} ms, the runs in turn) for ${duration} s after ${warmup} s of warm-up, ${cpuList().length} CPUs, node ${process.version}`,
  );
  const col = 16;
  console.log(`${pad('', 46, false)}${pad('Runlane', col)}${pad('baseline', col)}${pad('ratio', 10)}`);
  const line = (label: string, a: number | undefined, b: number | undefined, digits = 2, withRatio = true) => {
    const r = withRatio ? ratio(a, b) : undefined;
    console.log(`${pad(label, 46, false)}${pad(fmt(a, digits), col)}${pad(fmt(b, digits), col)}${pad(r === undefined ? '—' : fmt(r, 2), 10)}`);
  };
  const text = (label: string, a: string, b: string) => console.log(`${pad(label, 46, false)}${pad(a, col)}${pad(b, col)}`);
  const pct = (r: PhaseResult | undefined, p: number) => r?.latency.percentile(p);
  text('lines written (measured)', ours ? String(ours.written) : '—', base ? String(base.written) : '—');
  text('deliveries / expected', ours ? `${ours.delivered}/${ours.expectedDeliveries}` : '—', base ? `${base.delivered}/${base.expectedDeliveries}` : '—');
  text(
    'gaps / repeats / missing',
    ours ? `${ours.gaps} / ${ours.duplicates} / ${ours.missing}` : '—',
    base ? `${base.gaps} / ${base.duplicates} / ${base.missing}` : '—',
  );
  line('delivery latency p50 ms (write → received)', pct(ours, 50), pct(base, 50));
  line('delivery latency p90 ms', pct(ours, 90), pct(base, 90));
  line('delivery latency p99 ms', pct(ours, 99), pct(base, 99));
  line('delivery latency p99.9 ms', pct(ours, 99.9), pct(base, 99.9));
  line('delivery latency max ms', ours?.latency.max, base?.latency.max);
  line('write call p50 ms (journal.log / PUBLISH)', ours?.writeMs.percentile(50), base?.writeMs.percentile(50));
  line('write call p99 ms', ours?.writeMs.percentile(99), base?.writeMs.percentile(99));
  line('after the write p50 ms (return → received)', ours?.afterWrite.percentile(50), base?.afterWrite.percentile(50));
  line('after the write p99 ms', ours?.afterWrite.percentile(99), base?.afterWrite.percentile(99));
  line('writer: batch start late p99 ms', ours?.lateMs.percentile(99), base?.lateMs.percentile(99), 2, false);
  line('last delivery after the last write, s', ours?.drainS, base?.drainS);
  line('CPU µs per delivered line, all processes', ours && perDelivery(cpuTotal(ours), ours), base && perDelivery(cpuTotal(base), base));
  line('CPU s in all (first write → last delivery)', ours && cpuTotal(ours) / 1_000, base && cpuTotal(base) / 1_000);
  for (const r of [ours, base]) {
    if (!r) continue;
    if (r.problems.length) console.log(`  ${r.system}: MEASUREMENT INVALID: ${r.problems.join('; ')}`);
    if (r.errors.length) console.log(`  ${r.system}: errors: ${r.errors.join(' | ')}`);
    if (r.latency.negative) console.log(`  ${r.system}: ${r.latency.negative} negative latencies (clock skew between processes) counted as 0`);
  }
  if (ours && base && (ours.problems.length || base.problems.length)) {
    console.log(`goal p99 delivery latency ≤ ${GOAL_P99_RATIO}× the baseline's: not judged, the measurement is invalid`);
  } else if (ours && base) {
    const r = ratio(pct(ours, 99), pct(base, 99))!;
    console.log(
      `goal p99 delivery latency ≤ ${GOAL_P99_RATIO}× the baseline's: ${r <= GOAL_P99_RATIO ? 'GOAL MET' : 'GOAL MISSED'} — ` +
        `${fmt(pct(ours, 99), 2)} ms vs ${fmt(pct(base, 99), 2)} ms = ${fmt(r, 2)}×`,
    );
  }
  for (const r of [ours, base]) {
    const busy = r && r.cpu.others !== null ? r.cpu.others / 1_000 / r.cpu.windowS : 0;
    if (r && busy > BUSY_MACHINE)
      console.log(
        `  ${r.system}: other work on the machine took ${(busy * 100).toFixed(0)}% of a core during this load: ` +
          `the latencies are not comparable with those of a quiet machine`,
      );
  }
  console.log('');
  for (const r of [ours, base]) if (r) printCpu(r);
  console.log(`  load average now: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (figures are only comparable on an otherwise idle machine)`);
  console.log('');
  console.log(
    JSON.stringify({
      bench: 'logs',
      at: new Date().toISOString(),
      node: process.version,
      cpus: cpuList().length,
      subscribers: subscriberCount,
      runs: runCount,
      linesPerSecond: rate,
      durationS: duration,
      batchMs,
      warmupS: warmup,
      subscriberProcesses: subscriberProcs,
      databasePoolSize: dbPoolSize,
      runlane: rounded(ours),
      baseline: rounded(base),
      p50Ratio: ours && base ? Number((ratio(pct(ours, 50), pct(base, 50)) ?? Number.NaN).toFixed(3)) : null,
      p99Ratio: ours && base ? Number((ratio(pct(ours, 99), pct(base, 99)) ?? Number.NaN).toFixed(3)) : null,
      goalP99Ratio: GOAL_P99_RATIO,
      valid: ![ours, base].some((r) => r && r.problems.length),
      goalMet: ours && base && !ours.problems.length && !base.problems.length ? (ratio(pct(ours, 99), pct(base, 99)) ?? Infinity) <= GOAL_P99_RATIO : null,
      loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
    }),
  );
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  await dropLeftoverBenchDatabases();
  console.log(
    `bench:logs: PostgreSQL ${new URL(adminUrl).host}, Redis ${new URL(redisUrl).host}, ${cpuList().length} CPUs, ` +
      `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`,
  );
  let ours: PhaseResult | undefined;
  let base: PhaseResult | undefined;
  if (only !== 'baseline') {
    await ensureRoles(adminUrl);
    console.log(`  runlane: ${API_PROCESSES} api processes and the writer (${dbPoolSize} database connections each at most), ${runCount} runs, ${subscriberCount} graphql-ws subscribers in ${subscriberProcs} processes…`);
    ours = await benchRunlane();
    phaseLine(ours);
  }
  if (only !== 'runlane') {
    console.log(`  baseline: ${API_PROCESSES} ws fan-out processes on Redis, ${runCount} runs, ${subscriberCount} plain WebSocket subscribers in ${subscriberProcs} processes…`);
    base = await benchBaseline();
    phaseLine(base);
  }
  report(ours, base);
  return [ours, base].some((r) => r && r.problems.length) ? 1 : 0;
}

await runBench('bench:logs', main);
