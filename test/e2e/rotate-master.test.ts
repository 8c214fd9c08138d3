import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrm, type Orm } from '../../src/db/orm';
import { inTenant } from '../../src/db/tenant-transaction';
import { entities } from '../../src/modules/entities';
import { TenantService } from '../../src/modules/accounts/tenant.service';
import { keyring } from '../../src/platform/crypto';
import { SecretBox } from '../../src/platform/secret-box';
import { createTestDatabase, type TestDatabase } from '../support/database';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '../../bin/runlane.mjs');
let db: TestDatabase;
let orm: Orm;
let dataDir: string;
let tenantId: string;
const at = (id: string) => ({ tenantId: id, table: 'integration_keys', rowId: 'r', column: 'key_ciphertext' });

beforeAll(async () => {
  db = await createTestDatabase();
  orm = await createOrm({ url: db.appUrl, poolSize: 2, entities });
  tenantId = (await new TenantService({ orm }).create({ slug: 'rotating' })).tenant.id;
  dataDir = await mkdtemp(join(tmpdir(), 'runlane-keys-'));
});
afterAll(async () => {
  await orm?.close(true);
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function cliEnv(extra: Record<string, string>) {
  return { PATH: process.env.PATH!, DATABASE_URL: db.appUrl, RUNLANE_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...extra };
}

describe('runlane keys rotate-master', () => {
  it('with the local key file: swaps in a new key and keeps every secret readable', async () => {
    const oldKey = randomBytes(32);
    await writeFile(join(dataDir, 'master.key'), `${oldKey.toString('base64')}\n`, { mode: 0o600 });
    const sealed = await inTenant(orm, tenantId, (em) => new SecretBox(keyring(oldKey)).encrypt(em, at(tenantId), 'ghp_secret'));

    const { stdout } = await run(process.execPath, [cli, 'keys', 'rotate-master'], { env: cliEnv({}) });
    expect(stdout).toMatch(/Rewrapped 1 tenant data key/);
    const newKey = Buffer.from((await readFile(join(dataDir, 'master.key'), 'utf8')).trim(), 'base64');
    expect(newKey.equals(oldKey)).toBe(false);
    await expect(access(join(dataDir, 'master.key.previous'))).rejects.toThrow();
    const opened = await inTenant(orm, tenantId, (em) => new SecretBox(keyring(newKey)).decrypt(em, at(tenantId), sealed));
    expect(opened).toBe('ghp_secret');
  });

  it('with RUNLANE_MASTER_KEY: needs the previous key named, then rewraps', async () => {
    const current = Buffer.from((await readFile(join(dataDir, 'master.key'), 'utf8')).trim(), 'base64');
    const next = randomBytes(32);
    const refused = await run(process.execPath, [cli, 'keys', 'rotate-master'], { env: cliEnv({ RUNLANE_MASTER_KEY: next.toString('base64') }) }).catch((e) => e);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/RUNLANE_PREVIOUS_MASTER_KEYS/);
    const { stdout } = await run(process.execPath, [cli, 'keys', 'rotate-master'], {
      env: cliEnv({ RUNLANE_MASTER_KEY: next.toString('base64'), RUNLANE_PREVIOUS_MASTER_KEYS: current.toString('base64') }),
    });
    expect(stdout).toContain(keyring(next).current.id);
    expect(stdout).not.toContain(next.toString('base64'));
  });
});
