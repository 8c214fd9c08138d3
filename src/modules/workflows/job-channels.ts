import type { PublishedLogLine } from '../runs/run-channels';

/** Every status, step and log change of one job (jobLogs, jobUpdates and the REST log stream read these). */
export const jobChannel = (jobId: string) => `jobs.${jobId}`;
export type JobChanged = { jobId: string; status: string; logSeq?: number; lines?: PublishedLogLine[] };
