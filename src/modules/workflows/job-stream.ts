import { NotFoundError } from '../../db/errors';
import type { LiveLogs } from '../logs/live-log';
import type { LogLine } from '../logs/log-lines';
import type { Job } from './job';
import { jobChannel } from './job-channels';
import type { JobService } from './job.service';
import { TERMINAL_JOB } from './orchestrator';

const ended = (status: string) => TERMINAL_JOB.has(status as Job['status']);

/** Live views of jobs (jobLogs, jobUpdates, the REST log stream), through LiveLogs. */
export class JobStreamService {
  constructor(private readonly deps: { live: LiveLogs; jobs: JobService }) {}

  /** The job's log (one step's, when given) after `afterSeq`, then live; ends once the job has ended and every line is sent. */
  logs(tenantId: string, jobId: string, afterSeq: number, step: string | null = null): AsyncGenerator<LogLine> {
    return this.deps.live.follow(
      {
        tenantId,
        source: 'job',
        id: jobId,
        channel: jobChannel(jobId),
        status: async () => (await this.deps.jobs.find(tenantId, jobId))?.status ?? null,
        ended,
        step,
      },
      afterSeq,
    );
  }

  /** The job now, then after every status, step or log change; ends with its final state. */
  updates(tenantId: string, jobId: string): AsyncGenerator<Job> {
    return this.deps.live.updates(
      jobChannel(jobId),
      () => this.deps.jobs.find(tenantId, jobId),
      (job) => ended(job.status),
      () => new NotFoundError('Job'),
    );
  }
}
