import { isScalar, isSeq, type Node } from 'yaml';
import { fieldValueProblem, valueTypeProblem } from './task-input';
import type { InputField, InputFieldType } from './types';
import type { Entry, YamlSource } from './yaml-source';

const TYPES: InputFieldType[] = ['string', 'text', 'integer', 'number', 'boolean', 'date', 'datetime', 'object', 'array'];
const FIELD_KEYS = ['type', 'required', 'default', 'description', 'options', 'allow_custom', 'secret', 'name', 'order'];
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;

/**
 * An `input:` schema of an action or a task: field name → `{type, required, default, …}`.
 * `name` (a display label) and `order` (UI ordering) are accepted but not kept.
 */
export function parseInputFields(src: YamlSource, entry: Entry, owner: string): Record<string, InputField> | undefined {
  const fields = src.entries(entry.value, `the input of ${owner}`, entry.keyNode);
  if (!fields) return undefined;
  const out: Record<string, InputField> = {};
  let ok = true;
  for (const field of fields) {
    const parsed = parseField(src, field, `input "${field.key}" of ${owner}`);
    if (!FIELD_NAME.test(field.key)) {
      src.error(field.keyNode, `input name "${field.key}" of ${owner} must start with a letter or _ and hold only letters, digits, _ and -`);
      ok = false;
    }
    if (parsed) out[field.key] = parsed;
    else ok = false;
  }
  return ok ? out : undefined;
}

function parseField(src: YamlSource, field: Entry, what: string): InputField | undefined {
  const entries = src.entries(field.value, what, field.keyNode);
  if (!entries) return undefined;
  const byKey = new Map(entries.map((e) => [e.key, e]));
  let ok = true;
  for (const e of entries) {
    if (!FIELD_KEYS.includes(e.key)) {
      src.error(e.keyNode, `unknown key "${e.key}" in ${what} (expected ${FIELD_KEYS.join(', ')})`);
      ok = false;
    }
  }

  let type: InputFieldType = 'string';
  const typeEntry = byKey.get('type');
  if (typeEntry) {
    const t = src.string(typeEntry, `the type of ${what}`);
    if (t !== undefined && !TYPES.includes(t as InputFieldType)) {
      src.error(src.valueAt(typeEntry), `unknown type "${t}" for ${what} (expected ${TYPES.join(', ')})`);
      return undefined;
    }
    if (t === undefined) return undefined;
    type = t as InputFieldType;
  }
  const result: InputField = { type, required: false };
  const flag = (key: string) => {
    const e = byKey.get(key);
    if (!e) return undefined;
    const value = src.boolean(e, `"${key}" of ${what}`);
    if (value === undefined) ok = false;
    return value;
  };
  result.required = flag('required') ?? false;
  const allowCustom = flag('allow_custom');
  if (allowCustom !== undefined) result.allowCustom = allowCustom;
  const secret = flag('secret');
  if (secret !== undefined) result.secret = secret;
  for (const key of ['description', 'name'] as const) {
    const e = byKey.get(key);
    const text = e && src.string(e, `"${key}" of ${what}`);
    if (e && text === undefined) ok = false;
    if (key === 'description' && text !== undefined) result.description = text;
  }
  const order = byKey.get('order');
  if (order) {
    const node = src.resolve(order.value);
    if (!isScalar(node) || !Number.isInteger(node.value)) {
      src.error(src.valueAt(order), `"order" of ${what} must be a whole number`);
      ok = false;
    }
  }

  const options = byKey.get('options');
  if (options) {
    const node = src.resolve(options.value);
    if (!isSeq(node) || node.items.length === 0) {
      src.error(src.valueAt(options), `"options" of ${what} must be a non-empty list`);
      ok = false;
    } else {
      const values: unknown[] = [];
      for (const item of node.items as Node[]) {
        const value = src.json(item, `an option of ${what}`);
        const problem = value === undefined ? null : valueTypeProblem(type, value);
        if (problem) {
          src.error(src.resolve(item) ?? node, `option ${JSON.stringify(value)} of ${what} ${problem}`);
          ok = false;
        }
        values.push(value);
      }
      result.options = values;
    }
  }

  const fallback = byKey.get('default');
  if (fallback) {
    const value = src.json(fallback.value, `the default of ${what}`);
    // A null default means "no default", as an absent one does.
    if (value !== null && value !== undefined) {
      const problem = fieldValueProblem(result, value);
      if (problem) {
        src.error(src.valueAt(fallback), `the default of ${what} ${problem}`);
        ok = false;
      } else result.default = value;
    } else if (value === undefined) ok = false;
  }
  return ok ? result : undefined;
}
