import { describe, expect, it } from 'vitest';
import { serializeError } from './log';

describe('error serialisation for logs', () => {
  it('drops the SQL statement and its parameters from driver errors', () => {
    const err = Object.assign(
      new Error(`insert into "accounts" ("token_hash") values ('${'a'.repeat(64)}') - duplicate key value violates unique constraint`),
      { code: '23505' },
    );
    const out = serializeError(err);
    expect(out).toEqual({ type: 'Error', message: 'duplicate key value violates unique constraint', code: '23505', stack: undefined });
    expect(JSON.stringify(out)).not.toContain('aaaa');
  });

  it('keeps ordinary errors whole', () => {
    const out = serializeError(new TypeError('boom'));
    expect(out).toMatchObject({ type: 'TypeError', message: 'boom' });
    expect(out.stack).toContain('boom');
  });
});
