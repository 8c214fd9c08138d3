import { DomainError, InputError } from '../../db/errors';
import type { DefinitionError } from './definition/types';

/** An uploaded workspace whose workflow files are invalid: every problem, with file, line and column. */
export class WorkspaceInvalidError extends InputError {
  constructor(readonly problems: DefinitionError[]) {
    const shown = problems.slice(0, 5).map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);
    const more = problems.length > shown.length ? ` (and ${problems.length - shown.length} more)` : '';
    super(`The workspace's workflow files are invalid: ${shown.join('; ')}${more}`, 'archive');
    this.name = 'WorkspaceInvalidError';
  }
}

/** A claimed step's templates did not render: the step has failed, and the worker gets a 422. */
export class StepRenderError extends DomainError {
  readonly code = 'UNPROCESSABLE_ENTITY';
  constructor(
    readonly step: string,
    reason: string,
  ) {
    super(`Step ${step} could not be rendered: ${reason}`);
    this.name = 'StepRenderError';
  }
}
