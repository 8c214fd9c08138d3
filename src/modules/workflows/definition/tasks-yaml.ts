import { isScalar, type Node } from 'yaml';
import { checkTemplateSyntax, INLINE_ACTION_KEYS, parseAction, type ActionContext } from './actions-yaml';
import { formatDuration, parseDuration } from './duration';
import { checkFlow, type StepSource } from './flow-checks';
import { parseInputFields } from './input-schema';
import type { ActionDef, TaskDef, TaskMode } from './types';
import type { Entry, YamlSource } from './yaml-source';

export const TASK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const STEP_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const TASK_KEYS = ['flow', 'mode', 'timeout', 'input', 'description', 'name', 'folder'];
/** Accepted so seed 001 files load, but not acted on yet. */
const IGNORED_TASK_KEYS = ['on_success', 'on_error'];
const STEP_KEYS = ['action', 'depends_on', 'input', 'continue_on_failure', 'when', 'timeout', 'description', 'name'];
const MAX_STEP_TIMEOUT = 24 * 3600;
const MAX_TASK_TIMEOUT = 7 * 24 * 3600;

export type ParsedTask = {
  /** Undefined when the task has errors (already reported). */
  task?: TaskDef;
  /** Actions written inside steps, hoisted as `_inline:{task}:{step}`. */
  inlineActions: ActionDef[];
  /** Each step's `action:` reference and where it is written, checked once every file is read. */
  actionRefs: { step: string; action: string; node: Node }[];
};

/**
 * A mapping being read: its entries by key, unknown keys already reported, and whether anything
 * in it has failed (every problem is reported, so parsing goes on after the first).
 */
class MappingCheck {
  ok = true;
  readonly byKey: Map<string, Entry>;

  constructor(
    private readonly src: YamlSource,
    private readonly label: string,
    entries: Entry[],
    unknownKey: (key: string) => string | null,
  ) {
    this.byKey = new Map(entries.map((e) => [e.key, e]));
    for (const e of entries) {
      const problem = unknownKey(e.key);
      if (problem) this.fail(e.keyNode, problem);
    }
  }

  fail(node: Node, message: string): void {
    this.src.error(node, message);
    this.ok = false;
  }

  /** The string under `key`, if the key is there (a non-string is reported). */
  text(key: string): string | undefined {
    const e = this.byKey.get(key);
    const value = e && this.src.string(e, `"${key}" of ${this.label}`);
    if (e && value === undefined) this.ok = false;
    return value;
  }
}

/**
 * One task under `tasks:`. Its action references are returned even when it has errors, so an
 * unknown action is reported along with them.
 */
export function parseTask(ctx: ActionContext, name: string, entry: Entry): ParsedTask {
  const { src } = ctx;
  const label = `task "${name}"`;
  const parsed: ParsedTask = { inlineActions: [], actionRefs: [] };
  const entries = src.entries(entry.value, label, entry.keyNode);
  if (!entries) return parsed;
  const check = new MappingCheck(src, label, entries, (key) =>
    TASK_KEYS.includes(key) || IGNORED_TASK_KEYS.includes(key) ? null : `unknown key "${key}" in ${label} (expected ${TASK_KEYS.join(', ')})`,
  );
  const { byKey } = check;

  const task: TaskDef = { name, mode: 'distributed', input: {}, flow: [] };
  const displayName = check.text('name');
  const description = check.text('description') ?? displayName;
  if (description !== undefined) task.description = description;
  const folder = check.text('folder');
  if (folder !== undefined) task.folder = folder.replace(/^\/+|\/+$/g, '');
  const mode = check.text('mode');
  if (mode !== undefined && mode !== 'distributed' && mode !== 'local') check.fail(src.valueAt(byKey.get('mode')!), `mode of ${label} must be distributed or local, not "${mode}"`);
  else if (mode !== undefined) task.mode = mode as TaskMode;
  const timeout = byKey.get('timeout');
  if (timeout) {
    const seconds = readTimeout(src, timeout, label, MAX_TASK_TIMEOUT);
    if (seconds === undefined) check.ok = false;
    else task.timeoutSeconds = seconds;
  }
  const input = byKey.get('input');
  if (input) {
    const fields = parseInputFields(src, input, label);
    if (fields) task.input = fields;
    else check.ok = false;
  }

  const flowEntry = byKey.get('flow');
  if (!flowEntry) {
    check.fail(entry.keyNode, `${label} needs a "flow" (its steps)`);
    return parsed;
  }
  const stepEntries = src.entries(flowEntry.value, `the flow of ${label}`, flowEntry.keyNode);
  if (!stepEntries) return parsed;
  if (stepEntries.length === 0) {
    check.fail(src.valueAt(flowEntry), `the flow of ${label} has no steps`);
    return parsed;
  }

  const steps: StepSource[] = [];
  for (const stepEntry of stepEntries) {
    if (!STEP_NAME.test(stepEntry.key)) {
      check.fail(stepEntry.keyNode, `step name "${stepEntry.key}" in ${label} must start with a letter or digit and hold only letters, digits, _ and - (up to 64)`);
      continue;
    }
    const step = parseStep(ctx, name, stepEntry, parsed);
    if (step) steps.push(step);
    else check.ok = false;
  }
  // The flow is checked even when a step was refused, so one upload reports every error; a
  // refused step still counts as existing, so depending on it is not reported twice.
  const flowOk = checkFlow(src, label, steps, new Set(stepEntries.map((e) => e.key)));
  if (check.ok && flowOk) {
    task.flow = steps.map((s) => s.def);
    parsed.task = task;
  }
  return parsed;
}

function parseStep(ctx: ActionContext, taskName: string, entry: Entry, parsed: ParsedTask): StepSource | undefined {
  const { src } = ctx;
  const name = entry.key;
  const label = `step "${name}"`;
  const entries = src.entries(entry.value, label, entry.keyNode);
  if (!entries) return undefined;
  const check = new MappingCheck(src, label, entries, (key) =>
    STEP_KEYS.includes(key) || INLINE_ACTION_KEYS.includes(key) ? null : `unknown key "${key}" in ${label}`,
  );
  const { byKey } = check;

  const step: StepSource = {
    def: { name, action: '', input: {}, dependsOn: [], continueOnFailure: false },
    keyNode: entry.keyNode,
    dependsOn: [],
    templates: [],
  };

  const actionEntry = byKey.get('action');
  const inlineEntries = entries.filter((e) => INLINE_ACTION_KEYS.includes(e.key));
  if (actionEntry && inlineEntries.length > 0) {
    check.fail(inlineEntries[0]!.keyNode, `${label} has both "action" and an inline action ("${inlineEntries[0]!.key}"); use one or the other`);
  } else if (actionEntry) {
    const action = src.string(actionEntry, `"action" of ${label}`);
    if (action === undefined) check.ok = false;
    else {
      step.def.action = action;
      parsed.actionRefs.push({ step: name, action, node: src.valueAt(actionEntry) });
    }
  } else if (inlineEntries.length > 0) {
    const actionName = `_inline:${taskName}:${name}`;
    const action = parseAction(ctx, actionName, inlineEntries, entry.keyNode, true);
    if (action) parsed.inlineActions.push(action);
    else check.ok = false;
    step.def.action = actionName;
  } else {
    check.fail(entry.keyNode, `${label} needs an "action", or an inline action with a "type"`);
  }

  const displayName = check.text('name');
  const description = check.text('description') ?? displayName;
  if (description !== undefined) step.def.description = description;

  const dependsOn = byKey.get('depends_on');
  if (dependsOn) {
    const items = src.stringList(dependsOn, `depends_on of ${label}`);
    if (!items) check.ok = false;
    for (const item of items ?? []) {
      if (step.dependsOn.some((d) => d.value === item.value)) continue;
      step.dependsOn.push(item);
      step.def.dependsOn.push(item.value);
    }
  }

  const input = byKey.get('input');
  if (input) {
    let templatesOk = true;
    const value = src.json(input.value, `input of ${label}`, (text, node) => {
      if (!text.includes('{')) return;
      if (checkTemplateSyntax(src, text, node, `input of ${label}`)) step.templates.push({ text, node, what: `input of ${label}` });
      else templatesOk = false;
    });
    if (value === undefined || !templatesOk) check.ok = false;
    else if (typeof value !== 'object' || value === null || Array.isArray(value)) check.fail(src.valueAt(input), `input of ${label} must be a mapping`);
    else step.def.input = value as Record<string, unknown>;
  }

  const continueOnFailure = byKey.get('continue_on_failure');
  if (continueOnFailure) {
    const value = src.boolean(continueOnFailure, `continue_on_failure of ${label}`);
    if (value === undefined) check.ok = false;
    else step.def.continueOnFailure = value;
  }

  const when = byKey.get('when');
  if (when) {
    const value = src.string(when, `"when" of ${label} (a template such as "{{ input.flag }}")`);
    if (value === undefined) check.ok = false;
    else {
      step.def.when = value;
      const node = src.valueAt(when);
      const syntax = checkTemplateSyntax(src, value, node, `"when" of ${label}`);
      if (!syntax) check.ok = false;
      // Without an expression the condition never changes; a bare `input.flag` is a common slip.
      else if (syntax.expressions === 0) check.fail(node, `"when" of ${label} has no {{ … }} expression, so it is always ${JSON.stringify(value)}; write "{{ ${value.trim() || 'input.flag'} }}"`);
      else step.templates.push({ text: value, node, what: `"when" of ${label}` });
    }
  }

  const timeout = byKey.get('timeout');
  if (timeout) {
    const seconds = readTimeout(src, timeout, label, MAX_STEP_TIMEOUT);
    if (seconds === undefined) check.ok = false;
    else step.def.timeoutSeconds = seconds;
  }
  return check.ok ? step : undefined;
}

function readTimeout(src: YamlSource, entry: Entry, label: string, max: number): number | undefined {
  const node = src.resolve(entry.value);
  const seconds = isScalar(node) ? parseDuration(node.value) : null;
  if (seconds === null) {
    src.error(src.valueAt(entry), `timeout of ${label} must be a duration such as "30s", "5m", "1h30m", "2d" or a number of seconds`);
    return undefined;
  }
  if (seconds === 0 || seconds > max) {
    src.error(src.valueAt(entry), `timeout of ${label} must be between 1s and ${formatDuration(max)}`);
    return undefined;
  }
  return seconds;
}
