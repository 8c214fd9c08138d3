/**
 * What the benches share: settings from the env, the registry of child processes, databases and
 * other things to close, the cleanup that runs on exit, failure or Ctrl-C, bench databases,
 * forking children and starting `runlane` processes, and the bench's main wrapper.
 */
import { spawn, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDatabase, dropDatabase, migrate, ROLES, withDatabase } from '../../src/db/provision';

/** bench/: the files given to forkChild are relative to it. */
const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(benchDir, '..');

// ---------------------------------------------------------------- settings

export function intEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min} (got ${raw}).`);
  return value;
}

export const adminUrl = process.env.RUNLANE_BENCH_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
export const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
export const cpuProfDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
const masterKey = randomBytes(32).toString('base64');

/** Wall-clock ms with sub-millisecond precision, the clock PostgreSQL's now() reads too. */
export const now = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- cleanup

let benchName = 'bench';
const children = new Set<ChildProcess>();
const databases: string[] = [];
const closers = new Set<() => Promise<void>>();
let cleaning: Promise<void> | undefined;

/** Registers something to close on cleanup; the returned function closes it now instead. */
export function closeLater(close: () => Promise<void>): () => Promise<void> {
  closers.add(close);
  return async () => {
    closers.delete(close);
    await close();
  };
}

/** Closes what closeLater registered (the latest first), stops the children, drops the databases. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const close of [...closers].reverse()) await close().catch(() => undefined);
    closers.clear();
    await Promise.all([...children].map((child) => stopChild(child)));
    for (const name of databases.splice(0)) {
      await dropDatabase(adminUrl, name).catch((err: unknown) => {
        console.error(`${benchName}: could not drop database ${name}: ${(err as Error).message}`);
      });
    }
  })();
  return cleaning;
}

/**
 * Runs a bench's main with the cleanup around it (also on SIGINT/SIGTERM), prints where the CPU
 * profiles went (BENCH_CPU_PROF), and exits with main's code (1 when it throws).
 */
export async function runBench(
  name: string,
  main: () => Promise<number>,
  profiles = (dir: string) => `CPU profiles of the child processes in ${dir}/<process>/ (open in Chrome DevTools)`,
): Promise<never> {
  benchName = name;
  // `on`, not `once`: tsx relays Ctrl-C to this process again when it is not acknowledged within
  // 30 ms, and a second signal without a listener would exit at once, skipping the cleanup.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (cleaning) return;
      console.error(`\n${name}: ${signal}, cleaning up…`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  let exitCode = 1;
  try {
    exitCode = await main();
  } catch (err) {
    if (!cleaning) console.error(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    exitCode = 1;
  } finally {
    await cleanup();
  }
  if (cpuProfDir) console.log(profiles(cpuProfDir));
  process.exit(exitCode);
}

// ---------------------------------------------------------------- databases

/** A client of url for the time of fn. */
async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function adminQuery<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return withClient(url, async (client) => (await client.query<T>(sql, params)).rows);
}

// Every bench database is runlane_bench_<pid>_<hex>, so a leftover can be traced to its process.
const DB_PREFIX = 'runlane_bench_';

/** A fresh name for a database of this bench process, dropped on cleanup. */
export function benchDatabase(): string {
  const name = `${DB_PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
  databases.push(name);
  return name;
}

/** Creates and migrates a Runlane database; its URLs as the superuser and as the application role. */
export async function createRunlaneDatabase(name: string): Promise<{ dbAdminUrl: string; appUrl: string }> {
  await createDatabase(adminUrl, name);
  await migrate(withDatabase(adminUrl, name), ROLES.owner);
  return { dbAdminUrl: withDatabase(adminUrl, name), appUrl: withDatabase(adminUrl, name, ROLES.app, '') };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Drops bench databases left behind by a run that was killed outright (SIGKILL, OOM), but only
 * when their process is gone from this machine and nothing is connected to them.
 */
export async function dropLeftoverBenchDatabases(): Promise<void> {
  const stale = await withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ datname: string; connections: number }>(
      `select d.datname, (select count(*) from pg_stat_activity a where a.datname = d.datname)::int as connections
         from pg_database d where d.datname like $1`,
      [`${DB_PREFIX}%`],
    );
    return rows
      .filter((row) => {
        const pid = Number(/^runlane_bench_(\d+)_[0-9a-f]+$/.exec(row.datname)?.[1]);
        return Number.isInteger(pid) && row.connections === 0 && !pidAlive(pid);
      })
      .map((row) => row.datname);
  });
  for (const name of stale) {
    console.log(`${benchName}: dropping ${name}, left behind by an interrupted run`);
    await dropDatabase(adminUrl, name);
  }
}

// ---------------------------------------------------------------- child processes

export function stopChild(child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolvePromise();
    });
    if (child.connected) child.send({ type: 'stop' });
    else child.kill('SIGTERM');
  });
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  // An IPC write racing the child's exit surfaces here; the exit itself is reported elsewhere.
  child.on('error', () => undefined);
  return child;
}

/** A port that was free a moment ago (the Runlane processes take theirs from the environment). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePromise(port));
    });
  });
}

/**
 * With BENCH_CPU_PROF: node writes a V8 CPU profile of the process to <dir>/<name>/ when it exits.
 * One directory per process: the tsx loader thread writes a (small) profile of its own beside the
 * main thread's.
 */
function profileArgs(name: string): string[] {
  if (!cpuProfDir) return [];
  const dir = join(cpuProfDir, name.replace(/[^\w.-]+/g, '-'));
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

export type Proc = { name: string; child: ChildProcess; output: () => string };

/** `runlane <args>` through the published entry point; its output is relayed with a prefix. */
export function runlane(name: string, args: string[], env: NodeJS.ProcessEnv, relay = true): Proc {
  const child = track(
    spawn(process.execPath, [...profileArgs(name), join(root, 'bin/runlane.mjs'), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let tail = '';
  const onData = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const text = chunk.toString();
    tail = (tail + text).slice(-20_000);
    if (relay) for (const line of text.split('\n').filter(Boolean)) process.stderr.write(`[${name} ${stream}] ${line}\n`);
  };
  child.stdout!.on('data', onData('stdout'));
  child.stderr!.on('data', onData('stderr'));
  return { name, child, output: () => tail };
}

/** The environment of the Runlane processes of a bench: production mode on the database at appUrl and Redis. */
export function runlaneEnv(appUrl: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RUNLANE_ENV: 'production',
    DATABASE_URL: appUrl,
    REDIS_URL: redisUrl,
    RUNLANE_MASTER_KEY: masterKey,
    RUNLANE_DATA_DIR: join(tmpdir(), `runlane-bench-${process.pid}`),
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    ...extra,
  };
  delete env.DATABASE_OWNER_URL;
  return env;
}

/** Starts `runlane tenant create bench --json`; the function returned waits for it and gives the tenant's token. */
export function createTenant(env: NodeJS.ProcessEnv): () => Promise<string> {
  const cli = runlane('tenant', ['tenant', 'create', 'bench', '--json'], env, false);
  const exit = new Promise<number | null>((r) => cli.child.once('exit', (code) => r(code)));
  return async () => {
    if ((await exit) !== 0) throw new Error(`runlane tenant create failed:\n${cli.output()}`);
    return (JSON.parse(cli.output()) as { token: string }).token;
  };
}

/** Polls url until it answers 200; fails as soon as the process exits. */
export async function waitHttp(proc: Proc, url: string, timeoutMs = 90_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${proc.name} exited (code ${proc.child.exitCode}, signal ${proc.child.signalCode}) before it was ready:\n${proc.output()}`);
    }
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${proc.name} not ready after ${timeoutMs / 1000} s:\n${proc.output()}`);
    await sleep(100);
  }
}

export type Forked<M> = { name: string; child: ChildProcess; ready: Promise<M> };

/**
 * Forks bench/<file> through tsx with an IPC channel; `ready` is its { type: 'ready' } message,
 * and rejects on { type: 'error', message } or an exit before it.
 */
export function forkChild<M extends { type: string }>(name: string, file: string, env: NodeJS.ProcessEnv): Forked<M> {
  const child = track(
    fork(join(benchDir, file), [], { cwd: root, execArgv: ['--import', 'tsx', ...profileArgs(name)], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const ready = new Promise<M>((resolvePromise, reject) => {
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Error(`${name} (${file}) exited before it was ready (code ${code}, signal ${signal})`));
    child.once('exit', onExit);
    child.on('message', (message: M & { message?: string }) => {
      if (message.type === 'ready') {
        child.off('exit', onExit);
        resolvePromise(message);
      } else if (message.type === 'error') {
        child.off('exit', onExit);
        reject(new Error(`${name} (${file}) failed to start:\n${message.message}`));
      }
    });
  });
  return { name, child, ready };
}

let requestIds = 0;

/** Sends `message` with a fresh id and waits for the child's answer of `type` with the same id. */
export function ask<A extends { type: string }>(child: ChildProcess, message: { type: string }, type: A['type'], who: string): Promise<A> {
  const id = ++requestIds;
  return new Promise((resolvePromise, reject) => {
    const onMessage = (answer: A & { id?: number }) => {
      if (answer.type === type && answer.id === id) {
        child.off('message', onMessage);
        resolvePromise(answer);
      }
    };
    child.on('message', onMessage);
    if (!child.connected) {
      child.off('message', onMessage);
      reject(new Error(`the ${who} child is gone`));
      return;
    }
    child.send({ ...message, id });
  });
}
