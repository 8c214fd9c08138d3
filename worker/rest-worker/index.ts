/** The reference REST worker (`runlane worker-agent`, DESIGN §5): speaks only HTTP to a Runlane server. */
export { startRestWorker, WorkerFatalError, DEFAULT_RUNNER_IMAGE, type RestWorker, type RestWorkerOptions } from './worker';
export { DEFAULT_TIMINGS, type WorkerTimings } from './context';
export { WorkerClient, ApiError, TransportError } from './client';
export type { Claim, StepClaim, LocalJobClaim, LocalStep, ActionSpec, LogLine, StepResult } from './protocol';
