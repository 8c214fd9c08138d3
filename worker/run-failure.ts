import type { FailureCategory } from '../src/modules/runs/agent-run.entity';

/** Ends a run as failed with a category of DESIGN §3 and a detail for the operator (no secrets). */
export class RunFailure extends Error {
  constructor(
    readonly category: FailureCategory,
    readonly detail: string,
  ) {
    super(`${category}: ${detail}`);
    this.name = 'RunFailure';
  }
}

/** The run was cancelled (or its lease lost, or the worker is stopping): stop, write nothing. */
export class RunAborted extends Error {
  constructor(readonly reason: unknown) {
    super('run aborted');
    this.name = 'RunAborted';
  }
}

/**
 * The run waits, without its lease, for something outside it: a person's decision on a tool call
 * (an approval) or a workflow job it started; the journal already moved it to 'waiting'.
 */
export class RunWaiting extends Error {
  constructor(readonly waitingFor: { approvalId: string } | { jobId: string }) {
    super('approvalId' in waitingFor ? 'run waiting for approval' : 'run waiting for a workflow job');
    this.name = 'RunWaiting';
  }
}

/** A guardrail deferred the run (quiet hours): it goes back to the queue until `until`. */
export class RunDeferred extends Error {
  constructor(
    readonly until: Date,
    readonly reason: string,
  ) {
    super(`run deferred until ${until.toISOString()}`);
    this.name = 'RunDeferred';
  }
}
