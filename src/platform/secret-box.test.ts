import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createOrm, type Orm } from '../db/orm';
import { inTenant } from '../db/tenant-transaction';
import { entities } from '../modules/entities';
import { TenantService } from '../modules/accounts/tenant.service';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { DecryptionError, keyring } from './crypto';
import { SecretBox } from './secret-box';

let db: TestDatabase;
let orm: Orm;
const tenants: string[] = [];
const k1 = randomBytes(32);
const k2 = randomBytes(32);

beforeAll(async () => {
  db = await createTestDatabase();
  orm = await createOrm({ url: db.appUrl, poolSize: 4, entities });
  const service = new TenantService({ orm });
  for (let i = 0; i < 3; i++) tenants.push((await service.create({ slug: `sb-${i}` })).tenant.id);
});
afterAll(async () => {
  await orm?.close(true);
  await db?.drop();
});

const where = (tenantId: string, rowId = 'row-1') => ({ tenantId, table: 'integration_keys', rowId, column: 'key_ciphertext' });

async function seal(box: SecretBox, tenantId: string, plaintext: string, rowId = 'row-1') {
  return inTenant(orm, tenantId, (em) => box.encrypt(em, where(tenantId, rowId), plaintext));
}

async function unseal(box: SecretBox, tenantId: string, ciphertext: Buffer, rowId = 'row-1') {
  return inTenant(orm, tenantId, (em) => box.decrypt(em, where(tenantId, rowId), ciphertext));
}

async function wrappedBy(): Promise<string[]> {
  const client = new pg.Client({ connectionString: db.adminUrl });
  await client.connect();
  try {
    return (await client.query('select master_key_id from tenant_data_keys order by tenant_id')).rows.map((r) => r.master_key_id);
  } finally {
    await client.end();
  }
}

describe('secret box', () => {
  const sealed = new Map<string, Buffer>();

  it('creates one data key per tenant on first use and round-trips values', async () => {
    const box = new SecretBox(keyring(k1));
    for (const tenantId of tenants) {
      const ciphertext = await seal(box, tenantId, `secret-of-${tenantId}`);
      sealed.set(tenantId, ciphertext);
      expect(await unseal(box, tenantId, ciphertext)).toBe(`secret-of-${tenantId}`);
      await seal(box, tenantId, 'another value', 'row-2');
    }
    expect(await wrappedBy()).toEqual(tenants.map(() => keyring(k1).current.id));
    // A fresh process (empty cache) reads the same values.
    const fresh = new SecretBox(keyring(k1));
    expect(await unseal(fresh, tenants[0]!, sealed.get(tenants[0]!)!)).toBe(`secret-of-${tenants[0]}`);
  });

  it('refuses a ciphertext copied to another row or tenant', async () => {
    const box = new SecretBox(keyring(k1));
    const ciphertext = sealed.get(tenants[0]!)!;
    await expect(unseal(box, tenants[0]!, ciphertext, 'row-2')).rejects.toThrow(DecryptionError);
    await expect(unseal(box, tenants[1]!, ciphertext)).rejects.toThrow(DecryptionError);
  });

  it('rotates the master key: rewraps data keys only, resumably, and every secret stays readable', async () => {
    const rotating = new SecretBox(keyring(k2, [k1]));
    // Interrupted after the first data key…
    await expect(
      rotating.rewrapAll(orm, () => {
        throw new Error('power cut');
      }),
    ).rejects.toThrow('power cut');
    const partway = await wrappedBy();
    expect(partway.filter((id) => id === keyring(k2).current.id)).toHaveLength(1);
    // …and resumed: the rest, and nothing twice.
    expect(await rotating.rewrapAll(orm)).toBe(2);
    expect(await rotating.rewrapAll(orm)).toBe(0);
    expect(new Set(await wrappedBy())).toEqual(new Set([keyring(k2).current.id]));

    const onlyNew = new SecretBox(keyring(k2));
    for (const tenantId of tenants) expect(await unseal(onlyNew, tenantId, sealed.get(tenantId)!)).toBe(`secret-of-${tenantId}`);
    // The old key alone no longer opens anything.
    const onlyOld = new SecretBox(keyring(k1));
    await expect(unseal(onlyOld, tenants[0]!, sealed.get(tenants[0]!)!)).rejects.toThrow(/neither RUNLANE_MASTER_KEY/);
  });
});
