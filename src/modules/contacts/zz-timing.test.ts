import { it } from 'vitest';
import { startTestServer } from '../../../test/support/app';
it('timing', async () => {
  const server = await startTestServer();
  const c = server.app.services.contacts;
  const bulk = (await server.tenant()).tenantId;
  const t2 = (await server.tenant()).tenantId;
  const a = { tenantId: bulk, name: 'x', scopes: new Set<string>() };
  await c.import(a, Array.from({ length: 5000 }, (_, i) => ({ name: `Bulk Person ${i}` })));
  for (const t of [t2, t2, bulk]) {
    const s = performance.now();
    const r = await c.duplicateCandidates(t, { minScore: 0 });
    console.log(t === bulk ? 'bulk' : 'empty', performance.now() - s, r.candidates.length);
  }
  await server.close();
}, 120000);
