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
