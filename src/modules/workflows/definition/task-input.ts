import type { InputField, InputFieldType } from './types';

export type TaskInputResult = { ok: true; input: Record<string, unknown> } | { ok: false; problems: string[] };

/**
 * The input a job of a task starts with: `given` checked against the task's fields, defaults
 * filled in. Keys the task does not declare are kept, as seed 001 passes them through (webhook
 * bodies, for one, carry more than a task declares). Reports every problem, not just the first.
 */
export function resolveTaskInput(fields: Record<string, InputField>, given: unknown): TaskInputResult {
  if (given !== null && given !== undefined && !isObject(given)) {
    return { ok: false, problems: [`input must be a JSON object, not ${describe(given)}`] };
  }
  const input: Record<string, unknown> = { ...(given ?? {}) };
  const problems: string[] = [];
  for (const [name, field] of Object.entries(fields)) {
    const value = input[name];
    // An explicit null asks for the default as much as an absent key does.
    if (value === undefined || value === null) {
      if (field.default !== undefined) input[name] = structuredClone(field.default);
      else if (field.required) problems.push(`input "${name}" is required`);
      continue;
    }
    const problem = fieldValueProblem(field, value);
    if (problem) problems.push(`input "${name}" ${problem}`);
  }
  return problems.length ? { ok: false, problems } : { ok: true, input };
}

/** Why `value` does not fit `field` (type, then options), or null; e.g. `must be an integer, not 2.5`. */
export function fieldValueProblem(field: Pick<InputField, 'type' | 'options' | 'allowCustom'>, value: unknown): string | null {
  const typeProblem = valueTypeProblem(field.type, value);
  if (typeProblem) return typeProblem;
  if (field.options && field.options.length > 0 && !field.allowCustom && !field.options.some((option) => sameValue(option, value))) {
    return `must be one of ${field.options.map((o) => JSON.stringify(o)).join(', ')}, not ${JSON.stringify(value)}`;
  }
  return null;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$/;

/** Why `value` is not of `type`, or null. */
export function valueTypeProblem(type: InputFieldType, value: unknown): string | null {
  const expected = (what: string) => `must be ${what}, not ${describe(value)}`;
  switch (type) {
    case 'string':
    case 'text':
      return typeof value === 'string' ? null : expected('a string');
    case 'integer':
      return Number.isSafeInteger(value) ? null : expected('an integer');
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : expected('a number');
    case 'boolean':
      return typeof value === 'boolean' ? null : expected('true or false');
    case 'date':
      return typeof value === 'string' && isCalendarDate(DATE.exec(value)) ? null : expected('a date (YYYY-MM-DD)');
    case 'datetime': {
      const m = typeof value === 'string' ? DATETIME.exec(value) : null;
      const valid = !!m && isCalendarDate(m) && Number(m[4]) < 24 && Number(m[5]) < 60 && !Number.isNaN(Date.parse(value as string));
      return valid ? null : expected('an ISO 8601 date and time (e.g. 2025-02-12T10:56:45Z)');
    }
    case 'object':
      return isObject(value) ? null : expected('an object');
    case 'array':
      return Array.isArray(value) ? null : expected('an array');
  }
}

function isCalendarDate(m: RegExpExecArray | null): boolean {
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}
