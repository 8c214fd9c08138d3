import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../test/support/app';
import { startFakeAnthropic, textReply, toolUseReply, type FakeAnthropic } from '../test/fakes/anthropic';
import { SCOPES } from '../src/modules/accounts/scopes';
import { AgentPool } from './agent-pool';

// The contact_deduper blueprint end to end: imported contacts, the model (scripted) asks the
// database for duplicate candidates, proposes a merge, and answers; every step is costed.
let fake: FakeAnthropic;
let server: TestServer;
let pool: AgentPool;

beforeAll(async () => {
  fake = await startFakeAnthropic();
  server = await startTestServer({ env: { ANTHROPIC_BASE_URL: fake.url, RUNLANE_RUN_POLL_MS: '100' } });
  pool = new AgentPool(server.app, 2);
  await pool.start();
});
afterAll(async () => {
  await pool?.stop(0);
  await server?.close();
  await fake?.close();
});

describe('contact_deduper', () => {
  it('finds a duplicate pair through its tools and proposes one merge; the run’s cost is the sum of its steps', async () => {
    const t = await server.tenant();
    const actor = { tenantId: t.tenantId, name: 'owner', scopes: new Set<string>(SCOPES) };
    const key = `sk-ant-api03-deduper-${'0'.repeat(22)}`;
    fake.setKeyBehaviour(key, 'valid');
    await server.app.services.agentConfigs.put(actor, 'contact_deduper', {});
    await server.app.services.agentConfigs.setByokKey(actor, 'contact_deduper', key);
    const imported = await gql(
      server.url,
      t.token,
      `mutation($c: [ContactInput!]!) { importContacts(contacts: $c) { __typename ... on ImportContactsPayload { inserted updated } } }`,
      {
        c: [
          { externalId: 'c1', name: 'Ada Lovelace', email: 'ada@example.com', phone: '+44 20 7946 0958' },
          { externalId: 'c2', name: 'Ada Lovelace', email: 'ADA@example.com ', company: 'Analytical Engines' },
          { externalId: 'c3', name: 'Charles Babbage', email: 'charles@example.com' },
        ],
      },
    );
    expect(imported.body.data.importContacts).toEqual({ __typename: 'ImportContactsPayload', inserted: 3, updated: 0 });
    const contacts = (await server.app.services.contacts.list(t.tenantId, { first: 10 })).nodes;
    const ada = contacts.filter((c) => c.name === 'Ada Lovelace').map((c) => c.id).sort();
    fake.script(key, [
      toolUseReply('find_duplicate_candidates', {}, { id: 'toolu_find', usage: { input_tokens: 900, output_tokens: 40 } }),
      toolUseReply('propose_merge', { contact_a: ada[0], contact_b: ada[1], reason: 'Same name and email.', confidence: 0.95 }, { id: 'toolu_merge', usage: { input_tokens: 1500, output_tokens: 60 } }),
      textReply('Proposed one merge: the two Ada Lovelace records.', { usage: { input_tokens: 1700, output_tokens: 20 } }),
    ]);
    const { body } = await gql(server.url, t.token, `mutation { enqueueRun(blueprint: "contact_deduper") { __typename ... on Run { id status } } }`);
    expect(body.data.enqueueRun.status).toBe('QUEUED');
    const runId = body.data.enqueueRun.id;
    let run: any;
    for (const end = Date.now() + 15_000; Date.now() < end; ) {
      run = (await gql(server.url, t.token, `query($id: ID!) { run(id: $id) {
        status failureCategory failureDetail costUsdCents output
        steps { seq kind name inputTokens outputTokens costUsdCents isError output }
        events { type } } }`, { id: runId })).body.data.run;
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(run).toMatchObject({ status: 'SUCCEEDED', failureCategory: null, output: { text: 'Proposed one merge: the two Ada Lovelace records.' } });
    expect(run.steps.map((s: any) => [s.kind, s.name, s.isError])).toEqual([
      ['LLM', 'claude-sonnet-4-6', false],
      ['TOOL', 'find_duplicate_candidates', false],
      ['LLM', 'claude-sonnet-4-6', false],
      ['TOOL', 'propose_merge', false],
      ['LLM', 'claude-sonnet-4-6', false],
    ]);
    const llm = run.steps.filter((s: any) => s.kind === 'LLM');
    expect(llm.map((s: any) => [s.inputTokens, s.outputTokens])).toEqual([[900, 40], [1500, 60], [1700, 20]]);
    for (const s of llm) expect(s.costUsdCents).toBeGreaterThan(0);
    const sum = run.steps.reduce((acc: number, s: any) => acc + s.costUsdCents, 0);
    expect(run.costUsdCents).toBeCloseTo(sum, 6);
    expect(run.costUsdCents).toBeCloseTo(((900 + 1500 + 1700) * 3 + (40 + 60 + 20) * 15) / 1e4, 6);
    // The candidates the model saw came from the database and named the Ada pair.
    const found = JSON.stringify(run.steps[1].output);
    expect(found).toContain(ada[0]);
    expect(found).toContain(ada[1]);
    const proposals = (await gql(server.url, t.token, `{ mergeProposals(first: 10) { edges { node { reason confidence runId contactA { name } contactB { name } } } } }`)).body.data
      .mergeProposals.edges;
    expect(proposals).toEqual([
      { node: { reason: 'Same name and email.', confidence: 0.95, runId: expect.any(String), contactA: { name: 'Ada Lovelace' }, contactB: { name: 'Ada Lovelace' } } },
    ]);
    const billing = (await gql(server.url, t.token, `query($d: Date!) { billingDaily(from: $d, to: $d) { blueprint runs succeeded costUsdCents inputTokens } }`, {
      d: new Date().toISOString().slice(0, 10),
    })).body.data.billingDaily;
    expect(billing).toEqual([{ blueprint: 'contact_deduper', runs: 1, succeeded: 1, costUsdCents: expect.closeTo(sum, 6), inputTokens: 4100 }]);
  });
});
