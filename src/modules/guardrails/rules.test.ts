import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { guardrailJsonSchemaText } from './rules';

describe('published rule schema', () => {
  it('docs/guardrail-rules.schema.json is current (npm run guardrails:schema rewrites it)', () => {
    const published = readFileSync(new URL('../../../docs/guardrail-rules.schema.json', import.meta.url), 'utf8');
    expect(published).toBe(guardrailJsonSchemaText());
  });
});
