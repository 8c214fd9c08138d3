import { readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../src/platform/log';
import { errorText, isAuthFailure, isStatus, WorkerClient } from './client';
import { DEFAULT_TIMINGS, type WorkerContext, type WorkerTimings } from './context';
import { SHUTTING_DOWN, StepStop } from './execute-step';
import { findExecutable } from './interpreters';
import { runLocalJob } from './local-job';
import { isLocalJob, type Claim } from './protocol';
import { runClaimedStep } from './run-claimed-step';
import { Slots } from './slots';
import { inheritedEnv } from './step-env';
import { idleDelay, registerDelay, sleep } from './timing';
import { safeName, WorkspaceCache } from './workspace-cache';

export type RestWorkerOptions = {
  /** Base URL of the Runlane server, e.g. http://localhost:4000. */
  server: string;
  /** An account token with `worker:execute`. Sent as a bearer token, never logged or passed to steps. */
  token: string;
  /** Default: the host name. */
  name?: string;
  /** Default: ["script"]. */
  tags?: string[];
  /** Steps (or local-mode jobs) at once. Default 4. */
  concurrency?: number;
  /** Default: `<tmpdir>/runlane-worker-<name>`. */
  cacheDir?: string;
  /** Workspace revisions kept per workspace. Default 2. */
  keepRevisions?: number;
  timings?: Partial<WorkerTimings>;
  /** The docker CLI: a path, null for "this worker has no docker", or undefined to look it up on PATH. */
  dockerBinary?: string | null;
  /** Image for `script` actions with runner `docker` that name none. */
  runnerImage?: string;
  /** The worker's own variables steps may inherit (PATH, HOME, LANG, TMPDIR); default: from the process. */
  baseEnv?: Record<string, string | undefined>;
  /** Reported at registration. Default: the package version. */
  version?: string;
  logger?: Logger;
};

export type RestWorker = {
  /** The current registration's id; null until registered. */
  readonly workerId: string | null;
  /** Settles when the worker has stopped: resolves after `stop()`, rejects with WorkerFatalError. */
  readonly done: Promise<void>;
  /** Steps and local jobs running now. */
  running(): number;
  /**
   * Stops claiming, lets running steps finish for `drainMs`, then kills the rest and reports them
   * failed ("worker shutting down"). Resolves once everything is reported; never rejects.
   */
  stop(): Promise<void>;
};

/** The worker cannot go on (its token is refused). */
export class WorkerFatalError extends Error {
  override name = 'WorkerFatalError';
}

export const DEFAULT_RUNNER_IMAGE = 'node:20-bookworm-slim';

/**
 * `runlane worker-agent` as a library: registers, heartbeats, claims with back-off within
 * `concurrency` slots, runs what it claims, and drains on `stop()` (seed-systems §2.4).
 */
export function startRestWorker(options: RestWorkerOptions): RestWorker {
  const timings: WorkerTimings = { ...DEFAULT_TIMINGS, ...options.timings };
  const name = options.name?.trim() || hostname();
  const tags = options.tags?.length ? [...new Set(options.tags)] : ['script'];
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const log = options.logger ?? createLogger('info', 'runlane-worker', 2);
  const baseEnv = options.baseEnv ?? inheritedEnv();
  const client = new WorkerClient({ server: options.server, token: options.token, requestTimeoutMs: timings.requestTimeoutMs });
  const cache = new WorkspaceCache({
    root: options.cacheDir ?? join(tmpdir(), `runlane-worker-${safeName(name)}`),
    client,
    keep: options.keepRevisions,
    onError: (err) => log.warn({ error: errorText(err) }, 'workspace cache cleanup failed'),
  });
  const dockerBinary = options.dockerBinary === undefined ? findExecutable('docker', baseEnv.PATH) : options.dockerBinary;

  let workerId: string | null = null;
  let registering: Promise<string | null> | null = null;
  let fatal: WorkerFatalError | null = null;
  const stopping = new AbortController();
  const shutdown = new AbortController();
  const slots = new Slots(concurrency);
  const inFlight = new Set<Promise<void>>();

  const ctx: WorkerContext = {
    client,
    log,
    workerId: () => workerId ?? '',
    cache,
    timings,
    runners: {
      local: { baseEnv },
      docker: { dockerBinary, runnerImage: options.runnerImage ?? DEFAULT_RUNNER_IMAGE, baseEnv },
    },
  };

  const register = async (): Promise<string | null> => {
    const version = options.version ?? packageVersion();
    for (let attempt = 1; !stopping.signal.aborted; attempt++) {
      try {
        const id = await client.register({ name, tags, version });
        workerId = id;
        log.info({ workerId: id, name, tags, concurrency, docker: !!dockerBinary }, 'worker registered');
        return id;
      } catch (err) {
        if (isAuthFailure(err)) {
          fatal = new WorkerFatalError(`the server refused the worker token (${(err as Error).message}); check --token and that its account holds worker:execute`);
          log.error({ error: errorText(err) }, 'registration refused');
          stopping.abort();
          return null;
        }
        const delay = registerDelay(attempt, timings.registerBackoffBaseMs, timings.registerBackoffMaxMs);
        log.warn({ error: errorText(err), attempt, retryInMs: delay }, 'registration failed; retrying');
        await sleep(delay, stopping.signal);
      }
    }
    return null;
  };
  const reRegister = (): Promise<string | null> => {
    registering ??= register().finally(() => {
      registering = null;
    });
    return registering;
  };

  const heartbeats = (async () => {
    while (!stopping.signal.aborted) {
      await sleep(timings.heartbeatMs, stopping.signal);
      if (stopping.signal.aborted || !workerId || registering) continue;
      try {
        await client.heartbeat(workerId);
      } catch (err) {
        if (isStatus(err, 404)) {
          log.warn({ workerId }, 'the server does not know this worker any more; registering again');
          await reRegister();
        } else {
          log.warn({ error: errorText(err) }, 'heartbeat failed');
        }
      }
    }
  })();

  const dispatch = (claim: Claim) => {
    const work = isLocalJob(claim) ? runLocalJob(ctx, claim, shutdown.signal) : runClaimedStep(ctx, claim, shutdown.signal);
    const tracked: Promise<void> = work
      .catch((err) => log.error({ err, jobId: claim.job_id }, 'execution failed'))
      .finally(() => {
        inFlight.delete(tracked);
        slots.release();
      });
    inFlight.add(tracked);
  };

  const pollLoop = async () => {
    let idle = 0;
    while (!stopping.signal.aborted) {
      if (!(await slots.acquire(stopping.signal))) break;
      if (registering) await registering;
      if (stopping.signal.aborted || !workerId) {
        slots.release();
        break;
      }
      let claim: Claim | null;
      try {
        claim = await client.claim(workerId, tags);
      } catch (err) {
        slots.release();
        if (isStatus(err, 422)) {
          log.warn({ error: errorText(err) }, 'the server failed the claimed step (render error)');
          continue;
        }
        idle++;
        log.warn({ error: errorText(err), retryInMs: idleDelay(idle, timings.pollMs) }, 'claim failed');
        // Runlane answers 404 when it does not know the worker (its data was reset): register again.
        if (isStatus(err, 404)) await reRegister();
        await sleep(idleDelay(idle, timings.pollMs), stopping.signal);
        continue;
      }
      if (!claim) {
        slots.release();
        idle++;
        await sleep(idleDelay(idle, timings.pollMs), stopping.signal);
        continue;
      }
      idle = 0;
      log.info({ jobId: claim.job_id, step: claim.step_name, mode: isLocalJob(claim) ? 'local' : 'distributed' }, 'claimed');
      dispatch(claim);
    }
  };

  const drain = async () => {
    if (inFlight.size === 0) return;
    log.info({ running: inFlight.size, drainMs: timings.drainMs }, 'waiting for running steps');
    const all = Promise.all([...inFlight]);
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([all.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timings.drainMs)))]);
    clearTimeout(timer);
    if (!drained) {
      log.warn({ running: inFlight.size }, 'drain time over; stopping running steps');
      shutdown.abort(new StepStop(SHUTTING_DOWN));
      await Promise.all([...inFlight]);
    }
  };

  const done = (async () => {
    try {
      if (await register()) await pollLoop();
    } finally {
      stopping.abort();
      await drain();
      await heartbeats;
      log.info('worker stopped');
    }
    if (fatal) throw fatal;
  })();
  // `done` is awaited by stop() and by the CLI; keep an unobserved failure from crashing a library user.
  done.catch(() => {});

  return {
    get workerId() {
      return workerId;
    },
    done,
    running: () => inFlight.size,
    stop: async () => {
      stopping.abort();
      await done.catch(() => {});
    },
  };
}

let cachedVersion: string | null = null;
function packageVersion(): string {
  if (cachedVersion) return cachedVersion;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    cachedVersion = pkg.version ?? '0.0.0';
  } catch {
    cachedVersion = '0.0.0';
  }
  return cachedVersion;
}
