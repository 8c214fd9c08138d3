import { renderValue, templateContext } from '../../src/modules/workflows/definition/templates';
import type { ActionSpec, LocalStep } from './protocol';

export type RenderedStep = { input: Record<string, unknown>; spec: ActionSpec };

/**
 * What the server does at claim time for a distributed step, done by the worker for a local-mode
 * job, the same way (WorkerProtocolService.claim): the step's `input` renders against the job's
 * input and the outputs so far; then every field of the action except its input and output schemas
 * renders with `input` = the job input overlaid with that step input. Throws `TemplateError` when a
 * template cannot render.
 */
export function renderLocalStep(step: LocalStep, jobInput: Record<string, unknown>, outputs: Record<string, unknown>): RenderedStep {
  const rendered = renderValue(step.input ?? {}, templateContext(jobInput, outputs));
  const input: Record<string, unknown> = isObject(rendered) ? rendered : {};
  const { input: inputSchema, output: outputSchema, ...rest } = step.action_spec;
  const spec = renderValue(rest, templateContext({ ...jobInput, ...input }, outputs)) as ActionSpec;
  if (inputSchema !== undefined) spec.input = inputSchema;
  if (outputSchema !== undefined) spec.output = outputSchema;
  return { input, spec };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
