import { createHash, randomUUID } from 'node:crypto';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/app';
import { adminQuery } from '../../../test/support/database';
import { ToolInputError, type AgentTool, type ToolContext } from '../../platform/agent-tools';
import { contactTools } from './contact-tools';

let server: TestServer;
let tools: Map<string, AgentTool>;
let context: ToolContext;
let otherContext: ToolContext;

beforeAll(async () => {
  server = await startTestServer();
  tools = new Map(contactTools(server.app.services.contacts).map((t) => [t.name, t]));
  const tenantId = (await server.tenant()).tenantId;
  const runId = randomUUID();
  context = { tenantId, runId, callId: `${runId}:1`, signal: new AbortController().signal };
  otherContext = { tenantId: (await server.tenant()).tenantId, runId, callId: `${runId}:1`, signal: new AbortController().signal };
  await server.app.services.contacts.import({ tenantId, name: 'test', scopes: new Set() }, [
    // Sixty unrelated people: hex names share no more than a trigram or two.
    ...Array.from({ length: 60 }, (_, i) => {
      const hex = createHash('sha256').update(String(i)).digest('hex');
      return { externalId: `c${i}`, name: `${hex.slice(0, 7)} ${hex.slice(7, 16)}`, email: `${hex.slice(16, 24)}@example.com` };
    }),
    { externalId: 'ada', name: 'Ada Lovelace', email: 'ada@example.com', company: 'Engines' },
    { externalId: 'ada2', name: 'Ada King Lovelace', email: 'ADA@example.com' },
  ]);
});
afterAll(() => server?.close());

const run = (name: string, input: Record<string, unknown>, ctx = context) => tools.get(name)!.execute(input, ctx);

/** The ToolInputError message a call is refused with. */
async function refused(name: string, input: Record<string, unknown>, ctx = context): Promise<string> {
  const err = await run(name, input, ctx).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, JSON.stringify(input)).toBeInstanceOf(ToolInputError);
  return (err as Error).message;
}

describe('the contact tools', () => {
  it('are the three built-in tools, each with a strict JSON Schema and a description', () => {
    expect([...tools.keys()]).toEqual(['list_contacts', 'find_duplicate_candidates', 'propose_merge']);
    const ajv = new Ajv({ strict: true });
    for (const tool of tools.values()) {
      expect(tool.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
      expect(tool.description.length).toBeGreaterThan(80);
      expect(tool.inputSchema).toMatchObject({ type: 'object', additionalProperties: false });
      expect(Array.isArray(tool.inputSchema.required)).toBe(true);
      expect(() => ajv.compile(tool.inputSchema)).not.toThrow();
    }
    expect(tools.get('propose_merge')!.inputSchema.required).toEqual(['contact_a', 'contact_b', 'reason', 'confidence']);
    const validate = ajv.compile(tools.get('propose_merge')!.inputSchema);
    expect(validate({ contact_a: randomUUID(), contact_b: randomUUID(), reason: 'r', confidence: 0.5 })).toBe(true);
    expect(validate({ contact_a: 'x', contact_b: randomUUID(), reason: 'r', confidence: 0.5 })).toBe(false);
    expect(validate({ contact_a: randomUUID(), contact_b: randomUUID(), reason: 'r', confidence: 0.5, extra: 1 })).toBe(false);
  });

  it('list_contacts pages through the tenant’s contacts with next_cursor', async () => {
    const first = (await run('list_contacts', {})) as { contacts: Record<string, unknown>[]; next_cursor: string | null };
    expect(first.contacts).toHaveLength(50);
    expect(first.contacts[0]).toEqual({
      id: expect.any(String),
      external_id: expect.any(String),
      name: expect.any(String),
      email: expect.toSatisfy((v: unknown) => v === null || typeof v === 'string'),
      phone: null,
      company: expect.toSatisfy((v: unknown) => v === null || typeof v === 'string'),
      created_at: expect.any(String),
    });
    expect(JSON.parse(JSON.stringify(first))).toEqual(first);
    const second = (await run('list_contacts', { cursor: first.next_cursor, limit: 100 })) as typeof first;
    expect(second.contacts).toHaveLength(12);
    expect(second.next_cursor).toBeNull();
    const ids = new Set([...first.contacts, ...second.contacts].map((c) => c.id));
    expect(ids.size).toBe(62);

    expect(((await run('list_contacts', {}, otherContext)) as typeof first).contacts).toEqual([]);
  });

  it('list_contacts refuses bad arguments as a ToolInputError', async () => {
    expect(await refused('list_contacts', { limit: 0 })).toMatch(/^limit: /);
    expect(await refused('list_contacts', { limit: 101 })).toMatch(/^limit: /);
    expect(await refused('list_contacts', { limit: '10' })).toMatch(/^limit: /);
    expect(await refused('list_contacts', { limit: 1.5 })).toMatch(/^limit: /);
    expect(await refused('list_contacts', { cursor: 42 })).toMatch(/^cursor: /);
    expect(await refused('list_contacts', { cursor: 'made-up' })).toMatch(/cursor/);
    expect(await refused('list_contacts', { page: 2 })).toMatch(/Unknown argument: page/);
  });

  it('find_duplicate_candidates answers snake_case pairs with both records', async () => {
    const out = (await run('find_duplicate_candidates', {})) as { candidates: Record<string, any>[]; next_cursor: string | null };
    expect(out.candidates).toHaveLength(1);
    const [c] = out.candidates;
    expect(c).toMatchObject({ score: expect.any(Number), signals: ['email', 'name'] });
    expect(c!.contact_a < c!.contact_b).toBe(true);
    expect([c!.a.id, c!.b.id]).toEqual([c!.contact_a, c!.contact_b]);
    expect([c!.a.name, c!.b.name].sort()).toEqual(['Ada King Lovelace', 'Ada Lovelace']);
    expect(out.next_cursor).toBeNull();
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);

    expect(((await run('find_duplicate_candidates', { min_score: 0.99, limit: 5 })) as typeof out).candidates).toEqual([]);
    expect(await refused('find_duplicate_candidates', { min_score: 2 })).toMatch(/^min_score: /);
    expect(await refused('find_duplicate_candidates', { limit: 0 })).toMatch(/^limit: /);
    expect(await refused('find_duplicate_candidates', { minScore: 0.5 })).toMatch(/Unknown argument: minScore/);
    expect(await refused('find_duplicate_candidates', { cursor: 'nope' })).toMatch(/cursor/);
    expect(((await run('find_duplicate_candidates', {}, otherContext)) as typeof out).candidates).toEqual([]);
  });

  it('propose_merge is idempotent per pair, records the run, and refuses what the model got wrong', async () => {
    const {
      candidates: [c],
    } = (await run('find_duplicate_candidates', {})) as { candidates: { contact_a: string; contact_b: string }[] };
    const args = { contact_a: c!.contact_b, contact_b: c!.contact_a, reason: 'Same email address, same surname.', confidence: 0.95 };
    const first = (await run('propose_merge', args)) as { proposal_id: string; created: boolean };
    expect(first).toEqual({ proposal_id: expect.any(String), created: true });
    const again = await run('propose_merge', { ...args, contact_a: c!.contact_a, contact_b: c!.contact_b }, { ...context, runId: randomUUID() });
    expect(again).toEqual({ proposal_id: first.proposal_id, created: false });
    const rows = await adminQuery(server.db, 'select run_id, contact_a, contact_b, confidence from merge_proposals where tenant_id = $1', [context.tenantId]);
    expect(rows).toEqual([{ run_id: context.runId, contact_a: c!.contact_a, contact_b: c!.contact_b, confidence: '0.950' }]);
    // Proposed pairs are no longer candidates.
    expect(((await run('find_duplicate_candidates', {})) as { candidates: unknown[] }).candidates).toEqual([]);

    expect(await refused('propose_merge', { ...args, contact_b: args.contact_a })).toMatch(/two different contacts/);
    expect(await refused('propose_merge', { ...args, contact_b: args.contact_a.toUpperCase() })).toMatch(/two different contacts/);
    expect(await refused('propose_merge', { ...args, contact_b: randomUUID() })).toMatch(/does not name a contact/);
    expect(await refused('propose_merge', { ...args, contact_b: 'ada2' })).toMatch(/^contact_b: /);
    expect(await refused('propose_merge', { ...args, confidence: 1.5 })).toMatch(/^confidence: /);
    expect(await refused('propose_merge', { ...args, confidence: 'high' })).toMatch(/^confidence: /);
    expect(await refused('propose_merge', { ...args, reason: ' ' })).toMatch(/^reason: /);
    expect(await refused('propose_merge', { ...args, reason: 'r'.repeat(2001) })).toMatch(/^reason: /);
    const { reason: _omitted, ...noReason } = args;
    expect(await refused('propose_merge', noReason)).toMatch(/^reason: /);
    expect(await refused('propose_merge', { ...args, run_id: randomUUID() })).toMatch(/Unknown argument: run_id/);
    // Another tenant's run cannot propose on these ids.
    expect(await refused('propose_merge', args, otherContext)).toMatch(/does not name a contact/);
    const count = await adminQuery(server.db, 'select count(*)::int as n from merge_proposals');
    expect(count[0].n).toBe(1);
  });
});
