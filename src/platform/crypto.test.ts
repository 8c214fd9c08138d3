import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DecryptionError,
  dataKeyVersionOf,
  decryptValue,
  encryptValue,
  keyring,
  masterKey,
  newDataKey,
  secretHint,
  unwrapDataKey,
  wrapDataKey,
} from './crypto';

const at = { tenantId: 't1', table: 'integration_keys', rowId: 'r1', column: 'key_ciphertext' };

describe('value encryption', () => {
  it('round-trips and never repeats a ciphertext', () => {
    const key = newDataKey();
    const a = encryptValue(key, 3, at, 'sk-ant-secret');
    const b = encryptValue(key, 3, at, 'sk-ant-secret');
    expect(a.equals(b)).toBe(false);
    expect(decryptValue(key, at, a)).toBe('sk-ant-secret');
    expect(dataKeyVersionOf(a)).toBe(3);
    expect(a.includes(Buffer.from('sk-ant-secret'))).toBe(false);
  });

  it('refuses a ciphertext moved to another tenant, table, row or column', () => {
    const key = newDataKey();
    const sealed = encryptValue(key, 1, at, 'value');
    for (const moved of [
      { ...at, tenantId: 't2' },
      { ...at, table: 'agent_configs' },
      { ...at, rowId: 'r2' },
      { ...at, column: 'label' },
    ]) {
      expect(() => decryptValue(key, moved, sealed)).toThrow(DecryptionError);
    }
  });

  it('refuses a flipped bit, a truncated tag, a swapped version and the wrong key', () => {
    const key = newDataKey();
    const sealed = encryptValue(key, 1, at, 'value');
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 20]! ^= 1;
    expect(() => decryptValue(key, at, flipped)).toThrow(DecryptionError);
    expect(() => decryptValue(key, at, sealed.subarray(0, sealed.length - 4))).toThrow(DecryptionError);
    const reversioned = Buffer.from(sealed);
    reversioned.writeUInt32BE(2, 1);
    expect(() => decryptValue(key, at, reversioned)).toThrow(DecryptionError);
    expect(() => decryptValue(newDataKey(), at, sealed)).toThrow(DecryptionError);
    expect(() => decryptValue(key, at, Buffer.from('short'))).toThrow(DecryptionError);
  });
});

describe('data key wrapping', () => {
  it('unwraps only with the same master key, tenant and version', () => {
    const master = masterKey(randomBytes(32));
    const dataKey = newDataKey();
    const wrapped = wrapDataKey(master, 't1', 1, dataKey);
    expect(unwrapDataKey(master, 't1', 1, wrapped).equals(dataKey)).toBe(true);
    expect(() => unwrapDataKey(master, 't2', 1, wrapped)).toThrow(DecryptionError);
    expect(() => unwrapDataKey(master, 't1', 2, wrapped)).toThrow(DecryptionError);
    expect(() => unwrapDataKey(masterKey(randomBytes(32)), 't1', 1, wrapped)).toThrow(DecryptionError);
  });

  it('names master keys without revealing them', () => {
    const raw = randomBytes(32);
    const ring = keyring(raw, [randomBytes(32)]);
    expect(ring.current.id).toMatch(/^mk_[0-9a-f]{16}$/);
    expect(ring.current.id).not.toContain(raw.toString('hex').slice(0, 16));
    expect(ring.previous[0]!.id).not.toBe(ring.current.id);
    expect(() => masterKey(randomBytes(16))).toThrow();
  });
});

describe('hints', () => {
  it('show a recognisable prefix and the last four characters only', () => {
    expect(secretHint('sk-ant-api03-abcdefWXYZ')).toBe('sk-ant-***WXYZ');
    expect(secretHint('sk-live-abcdefXY12')).toBe('sk-live-***XY12');
    expect(secretHint('cf_live_1234567890')).toBe('***7890');
  });
});
