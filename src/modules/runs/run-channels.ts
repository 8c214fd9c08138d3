/** Bus channels of runs; messages carry ids and statuses only, never content. */
export const RUN_CANCELLED = 'runs.cancelled';
export type RunCancelled = { tenantId: string; runId: string };

/** Every status, step, event and log change of one run (issue 7's subscriptions read these). */
export const runChannel = (runId: string) => `runs.${runId}`;
export type RunChanged = { runId: string; status: string; logSeq?: number; eventSeq?: number; lines?: PublishedLogLine[] };
/** A log line as the bus carries it (issue 7's subscribers skip the seqs they already sent). */
export type PublishedLogLine = { seq: number; ts: string; step: string; stream: string; line: string };

/** The queue's NOTIFY channel: wakes idle workers. */
export const RUN_QUEUE_CHANNEL = 'runlane_runs';
