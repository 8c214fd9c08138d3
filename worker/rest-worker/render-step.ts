import { renderValue, templateContext } from '../../src/modules/workflows/definition/templates';
import type { ActionSpec, LocalStep } from './protocol';

/** Action fields that may hold templates (Strøm renders env, cmd, script, source, manifest, image). */
const RENDERED_SPEC_FIELDS = ['script', 'source', 'cmd', 'env', 'image', 'entrypoint', 'command', 'workdir', 'manifest'] as const;

export type RenderedStep = { input: Record<string, unknown>; spec: ActionSpec };

/**
 * What the server does at claim time for a distributed step, done by the worker for a local-mode
 * job (Strøm's `worker_api/rendering.rs`): the step's `input` renders against the job's input and the
 * outputs so far; fields of the action's input schema the step left out come from the job input,
 * then from their defaults; the action's templated fields then render with `input` = that step input.
 * Throws `TemplateError` when a template cannot render.
 */
export function renderLocalStep(step: LocalStep, jobInput: Record<string, unknown>, outputs: Record<string, unknown>): RenderedStep {
  const raw = step.input ?? {};
  const rendered = Object.keys(raw).length ? renderValue(raw, templateContext(jobInput, outputs)) : {};
  const input: Record<string, unknown> = isObject(rendered) ? { ...rendered } : {};
  const schema = isObject(step.action_spec.input) ? step.action_spec.input : {};
  for (const [field, def] of Object.entries(schema)) {
    if (Object.hasOwn(input, field)) continue;
    if (Object.hasOwn(jobInput, field) && jobInput[field] !== null && jobInput[field] !== undefined) input[field] = jobInput[field];
    else if (isObject(def) && def.default !== undefined) input[field] = def.default;
  }
  const specContext = templateContext(input, outputs);
  const spec: ActionSpec = { ...step.action_spec };
  for (const field of RENDERED_SPEC_FIELDS) {
    if (spec[field] !== undefined && spec[field] !== null) (spec as Record<string, unknown>)[field] = renderValue(spec[field], specContext);
  }
  return { input, spec };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
