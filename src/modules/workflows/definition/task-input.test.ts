import { describe, expect, it } from 'vitest';
import { resolveTaskInput, valueTypeProblem } from './task-input';
import type { InputField } from './types';

const fields: Record<string, InputField> = {
  name: { type: 'string', required: false, default: 'World' },
  count: { type: 'integer', required: true },
  env: { type: 'string', required: false, options: ['dev', 'prod'] },
  region: { type: 'string', required: false, options: ['eu'], allowCustom: true },
  config: { type: 'object', required: false, default: { retries: 2 } },
};

describe('resolveTaskInput', () => {
  it('fills defaults, keeps given values and passes undeclared keys through', () => {
    const result = resolveTaskInput(fields, { count: 2, extra: { a: 1 } });
    expect(result).toEqual({ ok: true, input: { name: 'World', count: 2, extra: { a: 1 }, config: { retries: 2 } } });
  });

  it('treats null and undefined input as an empty object', () => {
    expect(resolveTaskInput({ name: fields.name! }, null)).toEqual({ ok: true, input: { name: 'World' } });
    expect(resolveTaskInput({}, undefined)).toEqual({ ok: true, input: {} });
  });

  it('uses the default for an explicit null', () => {
    expect(resolveTaskInput(fields, { count: 1, name: null })).toMatchObject({ ok: true, input: { name: 'World' } });
  });

  it('does not share default objects between jobs', () => {
    const first = resolveTaskInput(fields, { count: 1 });
    if (!first.ok) throw new Error('expected ok');
    (first.input.config as { retries: number }).retries = 99;
    expect(resolveTaskInput(fields, { count: 1 })).toMatchObject({ input: { config: { retries: 2 } } });
  });

  it('reports every problem: non-object input, missing required, wrong types, options', () => {
    expect(resolveTaskInput(fields, [1])).toEqual({ ok: false, problems: ['input must be a JSON object, not an array'] });
    expect(resolveTaskInput(fields, 'x')).toMatchObject({ ok: false });
    const result = resolveTaskInput(fields, { name: 5, count: 2.5, env: 'staging', region: 'us' });
    expect(result).toEqual({
      ok: false,
      problems: ['input "name" must be a string, not 5', 'input "count" must be an integer, not 2.5', 'input "env" must be one of "dev", "prod", not "staging"'],
    });
    expect(resolveTaskInput(fields, {})).toEqual({ ok: false, problems: ['input "count" is required'] });
  });
});

describe('valueTypeProblem', () => {
  it.each([
    ['string', 'x'],
    ['text', 'long\ntext'],
    ['integer', 3],
    ['integer', -4],
    ['number', 2.5],
    ['boolean', false],
    ['date', '2024-02-29'],
    ['datetime', '2025-02-12T10:56:45Z'],
    ['datetime', '2025-02-12T10:56:45.123+01:00'],
    ['datetime', '2025-02-12T10:56'],
    ['object', { a: 1 }],
    ['array', [1]],
  ] as const)('accepts a %s %j', (type, value) => {
    expect(valueTypeProblem(type, value)).toBeNull();
  });

  it.each([
    ['string', 1],
    ['integer', 1.5],
    ['integer', '3'],
    ['number', Number.NaN],
    ['number', '2'],
    ['boolean', 'true'],
    ['date', '2023-02-29'],
    ['date', '2024-1-5'],
    ['date', '2024-01-05T00:00:00Z'],
    ['datetime', '2025-02-12'],
    ['datetime', '2025-02-12T25:00:00Z'],
    ['datetime', 'yesterday'],
    ['object', [1]],
    ['object', null],
    ['array', { 0: 1 }],
  ] as const)('refuses a %s %j', (type, value) => {
    expect(valueTypeProblem(type, value)).toMatch(/^must be /);
  });
});
