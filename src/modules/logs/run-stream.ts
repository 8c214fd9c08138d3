import { NotFoundError } from '../../db/errors';
import type { AgentRun } from '../runs/agent-run.entity';
import { runChannel } from '../runs/run-channels';
import type { RunService } from '../runs/run.service';
import type { LogLine } from './log-lines';
import type { LiveLogs } from './live-log';

const ENDED = new Set(['succeeded', 'failed', 'cancelled']);

/** Live views of runs (issue 7): a run's log lines and its state, through LiveLogs. */
export class RunStreamService {
  constructor(private readonly deps: { live: LiveLogs; runs: RunService }) {}

  /** The log after `afterSeq`: the backlog, then live lines; ends once the run has ended and all its lines are sent. */
  logs(tenantId: string, runId: string, afterSeq: number): AsyncGenerator<LogLine> {
    return this.deps.live.follow(
      {
        tenantId,
        source: 'run',
        id: runId,
        channel: runChannel(runId),
        status: async () => (await this.deps.runs.find(tenantId, runId))?.status ?? null,
        ended: (status) => ENDED.has(status),
      },
      afterSeq,
    );
  }

  /** The run now, then again after every change; ends with its final state. */
  updates(tenantId: string, runId: string): AsyncGenerator<AgentRun> {
    return this.deps.live.updates(
      runChannel(runId),
      () => this.deps.runs.find(tenantId, runId),
      (run) => ENDED.has(run.status),
      () => new NotFoundError('Run'),
    );
  }
}
