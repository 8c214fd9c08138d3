import type { Logger } from '../../src/platform/log';
import type { WorkerClient } from './client';
import type { RunnerOptions } from './runners';
import type { WorkspaceCache } from './workspace-cache';

/** Every interval of the worker, in milliseconds (seed-systems §2.4 defaults in brackets). */
export type WorkerTimings = {
  /** Idle poll base: base × 2^min(idle−1, 2) [2 000]. */
  pollMs: number;
  /** [30 000] */
  heartbeatMs: number;
  /** Log flush period while a step runs [1 000]. */
  logFlushMs: number;
  /** `GET …/cancelled` period while a step runs [5 000]. */
  cancelPollMs: number;
  /** SIGTERM → SIGKILL grace of a stopped step [10 000]. */
  killGraceMs: number;
  /** How long `stop()` lets running steps finish before killing them [30 000]. */
  drainMs: number;
  /** Register back-off: min(base × 2^attempt, max) [1 000, 60 000]. */
  registerBackoffBaseMs: number;
  registerBackoffMaxMs: number;
  /** First retry delay of a step report (complete) the server could not take [1 000]. */
  retryBaseMs: number;
  /** Per HTTP request [30 000]. */
  requestTimeoutMs: number;
};

export const DEFAULT_TIMINGS: WorkerTimings = {
  pollMs: 2_000,
  heartbeatMs: 30_000,
  logFlushMs: 1_000,
  cancelPollMs: 5_000,
  killGraceMs: 10_000,
  drainMs: 30_000,
  registerBackoffBaseMs: 1_000,
  registerBackoffMaxMs: 60_000,
  retryBaseMs: 1_000,
  requestTimeoutMs: 30_000,
};

/** What the pieces executing work share. */
export type WorkerContext = {
  client: WorkerClient;
  log: Logger;
  /** The id of the current registration (it changes when the worker registers again). */
  workerId(): string;
  cache: WorkspaceCache;
  timings: WorkerTimings;
  runners: RunnerOptions;
};
