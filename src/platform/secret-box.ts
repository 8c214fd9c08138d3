import type { Orm } from '../db/orm';
import { callDefiner, inTenant, type SqlExecutor } from '../db/tenant-transaction';
import {
  DecryptionError,
  dataKeyVersionOf,
  decryptValue,
  encryptValue,
  findMasterKey,
  newDataKey,
  unwrapDataKey,
  wrapDataKey,
  type MasterKeyring,
  type SecretLocation,
} from './crypto';

type DataKeyRow = { version: number; wrapped_key: Buffer; master_key_id: string };

/**
 * Encrypts and decrypts tenant secrets inside the caller's tenant transaction. Each tenant has
 * one data key (created on first use), wrapped by the master key; unwrapped data keys are
 * cached per process, so the master key is used once per tenant and process.
 */
export class SecretBox {
  private readonly dataKeys = new Map<string, Buffer>();

  constructor(private readonly keyring: MasterKeyring) {}

  async encrypt(em: SqlExecutor, at: SecretLocation, plaintext: string): Promise<Buffer> {
    const { version, key } = await this.currentDataKey(em, at.tenantId);
    return encryptValue(key, version, at, plaintext);
  }

  async decrypt(em: SqlExecutor, at: SecretLocation, ciphertext: Buffer): Promise<string> {
    const version = dataKeyVersionOf(ciphertext);
    const key = await this.dataKey(em, at.tenantId, version);
    return decryptValue(key, at, ciphertext);
  }

  /**
   * Rewraps every tenant data key not yet wrapped by the current master key. Each key is
   * rewrapped in its own transaction, so an interrupted run loses nothing and the next run
   * carries on where it stopped. Ciphertexts of values are not touched.
   */
  async rewrapAll(orm: Orm, onProgress?: (done: number) => void): Promise<number> {
    const current = this.keyring.current;
    let done = 0;
    for (;;) {
      const batch = await callDefiner<{ tenant_id: string; version: number }>(
        orm,
        'select tenant_id, version from runlane_data_keys_to_rewrap(?, ?)',
        [current.id, 100],
      );
      if (batch.length === 0) return done;
      for (const { tenant_id: tenantId, version } of batch) {
        await inTenant(orm, tenantId, async (em) => {
          const [row] = await em.execute<DataKeyRow[]>(
            'select version, wrapped_key, master_key_id from tenant_data_keys where version = ? for update',
            [version],
          );
          if (!row || row.master_key_id === current.id) return;
          const key = this.unwrap(tenantId, row);
          await em.execute(
            'update tenant_data_keys set wrapped_key = ?, master_key_id = ?, rewrapped_at = now() where version = ?',
            [wrapDataKey(current, tenantId, version, key), current.id, version],
          );
        });
        done++;
        onProgress?.(done);
      }
    }
  }

  private async currentDataKey(em: SqlExecutor, tenantId: string): Promise<{ version: number; key: Buffer }> {
    let [row] = await em.execute(
      'select version, wrapped_key, master_key_id from tenant_data_keys order by version desc limit 1',
    );
    if (!row) {
      const key = newDataKey();
      const current = this.keyring.current;
      // Two first encryptions may race; the loser reads the winner's key.
      await em.execute(
        `insert into tenant_data_keys (tenant_id, version, wrapped_key, master_key_id) values (?, 1, ?, ?)
         on conflict (tenant_id, version) do nothing`,
        [tenantId, wrapDataKey(current, tenantId, 1, key), current.id],
      );
      [row] = await em.execute(
        'select version, wrapped_key, master_key_id from tenant_data_keys where version = 1',
      );
    }
    return { version: row!.version, key: this.remember(tenantId, row!) };
  }

  private async dataKey(em: SqlExecutor, tenantId: string, version: number): Promise<Buffer> {
    const cached = this.dataKeys.get(`${tenantId}:${version}`);
    if (cached) return cached;
    const [row] = await em.execute(
      'select version, wrapped_key, master_key_id from tenant_data_keys where version = ?',
      [version],
    );
    if (!row) throw new DecryptionError(`no data key version ${version} for this tenant`);
    return this.remember(tenantId, row);
  }

  private remember(tenantId: string, row: DataKeyRow): Buffer {
    const cacheKey = `${tenantId}:${row.version}`;
    let key = this.dataKeys.get(cacheKey);
    if (!key) {
      key = this.unwrap(tenantId, row);
      this.dataKeys.set(cacheKey, key);
    }
    return key;
  }

  private unwrap(tenantId: string, row: DataKeyRow): Buffer {
    const master = findMasterKey(this.keyring, row.master_key_id);
    if (!master) {
      throw new DecryptionError(
        `data key is wrapped by master key ${row.master_key_id}, which is neither RUNLANE_MASTER_KEY nor in RUNLANE_PREVIOUS_MASTER_KEYS`,
      );
    }
    return unwrapDataKey(master, tenantId, row.version, row.wrapped_key);
  }
}
