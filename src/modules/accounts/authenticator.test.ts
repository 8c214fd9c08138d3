import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrm, type Orm } from '../../db/orm';
import { InProcessBus } from '../../platform/bus';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { entities } from '../entities';
import { AccountService } from './account.service';
import { Authenticator } from './authenticator';
import { TenantService } from './tenant.service';

let db: TestDatabase;
let orm: Orm;
const bus = new InProcessBus();

beforeAll(async () => {
  db = await createTestDatabase();
  orm = await createOrm({ url: db.appUrl, poolSize: 4, entities });
});
afterAll(async () => {
  await orm?.close(true);
  await db?.drop();
});

describe('authenticator', () => {
  it('loads a token once however many requests arrive together', async () => {
    const { token } = await new TenantService({ orm }).create({ slug: 'herd' });
    const auth = new Authenticator({ orm, bus, cacheMs: 60_000 });
    let loads = 0;
    const load = (auth as unknown as { load: (...args: unknown[]) => Promise<unknown> }).load.bind(auth);
    (auth as unknown as { load: unknown }).load = (...args: unknown[]) => {
      loads++;
      return load(...args);
    };
    const principals = await Promise.all(Array.from({ length: 50 }, () => auth.authenticate(token, { ip: '10.0.0.1', method: 'authorization' })));
    expect(new Set(principals.map((p) => p.accountId)).size).toBe(1);
    expect(loads).toBe(1);
  });

  it('does not cache a load that raced an account change', async () => {
    const created = await new TenantService({ orm }).create({ slug: 'racer' });
    const accounts = new AccountService({ orm, bus });
    const auth = new Authenticator({ orm, bus, cacheMs: 60_000 });
    await auth.start();
    const inFlight = auth.authenticate(created.token, { ip: null, method: 'authorization' });
    await accounts.revoke(created.tenant.id, created.account.id);
    await inFlight.catch(() => undefined);
    await expect(auth.authenticate(created.token, { ip: null, method: 'authorization' })).rejects.toThrow('Missing or invalid token');
    await auth.stop();
  });
});
