import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/app';
import { InputError } from '../../db/errors';
import type { Actor } from '../../platform/auth';
import type { ContactInput, ContactService, DuplicateCandidate } from './contact.service';

let server: TestServer;
let contacts: ContactService;

const actorFor = (tenantId: string): Actor => ({ tenantId, name: 'importer', scopes: new Set() });

beforeAll(async () => {
  server = await startTestServer();
  contacts = server.app.services.contacts;
});
afterAll(() => server?.close());

/** A fresh tenant holding `input`; answers its id and the contact id of each externalId. */
async function tenantWith(input: ContactInput[]): Promise<{ tenantId: string; id: (externalId: string) => string }> {
  const tenantId = (await server.tenant()).tenantId;
  await contacts.import(actorFor(tenantId), input);
  const ids = new Map<string, string>();
  for (let after: string | null = null; ; ) {
    const page = await contacts.list(tenantId, { first: 200, after });
    for (const c of page.nodes) if (c.externalId) ids.set(c.externalId, c.id);
    if (!page.hasNextPage) break;
    after = page.endCursor;
  }
  return { tenantId, id: (e) => ids.get(e)! };
}

/** The candidates as [externalIdA, externalIdB] (in stored order), score and signals. */
const summary = (cs: DuplicateCandidate[]) =>
  cs.map((c) => ({ pair: [c.a.externalId, c.b.externalId].sort().join('+'), score: c.score, signals: c.signals }));

describe('duplicate candidates', () => {
  let tenant: Awaited<ReturnType<typeof tenantWith>>;

  beforeAll(async () => {
    tenant = await tenantWith([
      { externalId: 'ada', name: 'Ada Lovelace', email: 'ada@example.com' },
      { externalId: 'ada2', name: 'Augusta King', email: '  ADA@Example.com ' },
      { externalId: 'cb', name: 'Charles Babbage', phone: '+1 (555) 010-2030' },
      { externalId: 'cb2', name: 'Chuck B', phone: '555.010.2030' },
      { externalId: 'jon', name: 'Jon Smith' },
      { externalId: 'john', name: 'John Smith' },
      { externalId: 'smithj', name: 'Smith, John' },
      { externalId: 'mary', name: 'Mary Smith' },
      { externalId: 'gh1', name: 'Grace Hopper', email: 'grace@navy.mil', phone: '555 123 4567' },
      { externalId: 'gh2', name: 'Grace B. Hopper', email: 'Grace@Navy.mil', phone: '(555) 123-4567' },
      { externalId: 'short1', name: 'Alan Short', phone: '12-34' },
      { externalId: 'short2', name: 'Brenda Tall', phone: '1234' },
      // A shared mailbox is no evidence: twelve different people, one address.
      ...['Ann Ash', 'Bob Birch', 'Cy Cedar', 'Di Dogwood', 'Ed Elm', 'Flo Fir', 'Gus Gum', 'Hal Hazel', 'Ivy Ironwood', 'Jo Juniper', 'Kit Kauri', 'Lu Larch'].map(
        (name, i) => ({ externalId: `mbx${i}`, name, email: 'info@corp.example' }),
      ),
    ]);
  });

  it('finds shared emails, phones and similar names, best first, each pair ordered', async () => {
    const { candidates, nextCursor } = await contacts.duplicateCandidates(tenant.tenantId, { limit: 50, minScore: 0 });
    expect(nextCursor).toBeNull();
    // Ties are ordered by contact id, which is random: compare them by name.
    const byScoreThenName = summary(candidates).sort((x, y) => y.score - x.score || x.pair.localeCompare(y.pair));
    expect(summary(candidates).map((c) => c.score)).toEqual(byScoreThenName.map((c) => c.score));
    expect(byScoreThenName).toEqual([
      { pair: 'gh1+gh2', score: 0.9921, signals: ['email', 'phone', 'name'] },
      { pair: 'ada+ada2', score: 0.9, signals: ['email'] },
      { pair: 'john+smithj', score: 0.85, signals: ['name'] },
      { pair: 'cb+cb2', score: 0.7, signals: ['phone'] },
      { pair: 'john+jon', score: 0.5231, signals: ['name'] },
      { pair: 'jon+smithj', score: 0.5231, signals: ['name'] },
    ]);
    for (const c of candidates) {
      expect(c.contactA < c.contactB).toBe(true);
      expect([c.a.id, c.b.id]).toEqual([c.contactA, c.contactB]);
    }
    const ada = candidates.find((c) => c.signals.join() === 'email')!;
    expect([ada.a.name, ada.b.name].sort()).toEqual(['Ada Lovelace', 'Augusta King']);
  });

  it('honours minScore and pages with a cursor', async () => {
    const strong = await contacts.duplicateCandidates(tenant.tenantId, { minScore: 0.8 });
    expect(summary(strong.candidates).map((c) => c.pair)).toEqual(['gh1+gh2', 'ada+ada2', 'john+smithj']);
    // Defaults: limit 25, minScore 0.5.
    expect((await contacts.duplicateCandidates(tenant.tenantId)).candidates).toHaveLength(6);

    const all = await contacts.duplicateCandidates(tenant.tenantId, { limit: 50 });
    const paged: DuplicateCandidate[] = [];
    let after: string | null = null;
    do {
      const page = await contacts.duplicateCandidates(tenant.tenantId, { limit: 2, after });
      expect(page.candidates.length).toBeLessThanOrEqual(2);
      paged.push(...page.candidates);
      after = page.nextCursor;
    } while (after);
    expect(summary(paged)).toEqual(summary(all.candidates));
  });

  it('leaves out pairs that already have a proposal, whichever way round they were proposed', async () => {
    await contacts.proposeMerge(tenant.tenantId, { contactA: tenant.id('cb2'), contactB: tenant.id('cb'), reason: 'Same phone.', confidence: 0.7 });
    await contacts.proposeMerge(tenant.tenantId, { contactA: tenant.id('john'), contactB: tenant.id('jon'), reason: 'Typo.', confidence: 0.6 });
    const { candidates } = await contacts.duplicateCandidates(tenant.tenantId, { limit: 50 });
    expect(summary(candidates).map((c) => c.pair)).toEqual(['gh1+gh2', 'ada+ada2', 'john+smithj', 'jon+smithj']);
    // Proposals of other pairs change nothing else.
    expect(candidates.map((c) => c.score)).toEqual([0.9921, 0.9, 0.85, 0.5231]);
  });

  it('refuses bad arguments', async () => {
    for (const [args, field] of [
      [{ limit: 0 }, 'limit'],
      [{ limit: 201 }, 'limit'],
      [{ limit: 2.5 }, 'limit'],
      [{ minScore: 1.5 }, 'minScore'],
      [{ minScore: -1 }, 'minScore'],
      [{ after: 'not-a-cursor' }, 'after'],
      [{ after: Buffer.from('["2","x","y"]').toString('base64url') }, 'after'],
      [{ colour: 'red' }, 'colour'],
    ] as const) {
      const err = await contacts.duplicateCandidates(tenant.tenantId, args as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(args)).toBeInstanceOf(InputError);
      expect((err as InputError).field).toBe(field);
    }
  });
});

describe('duplicate candidates at scale', () => {
  it('scores 5,000 generated contacts in SQL within a few seconds and finds the planted duplicates', async () => {
    // A deterministic PRNG (mulberry32) so a failure reproduces.
    let seed = 42;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
    const first = 'james mary john patricia robert jennifer michael linda william elizabeth david barbara richard susan joseph jessica thomas sarah charles karen christopher nancy daniel lisa matthew betty anthony margaret mark sandra donald ashley steven kimberly paul emily andrew donna joshua michelle kenneth dorothy kevin carol brian amanda george melissa edward deborah ronald stephanie timothy rebecca jason sharon jeffrey laura ryan cynthia jacob kathleen gary amy nicholas shirley eric angela jonathan helen stephen anna larry brenda justin pamela scott nicole brandon emma benjamin samantha samuel katherine gregory christine frank debra alexander rachel raymond catherine patrick carolyn jack janet dennis ruth'.split(' ');
    const last = 'smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis robinson walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker cruz edwards collins reyes stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard ramos kim cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price alvarez castillo sanders patel myers long ross foster jimenez powell jenkins perry russell sullivan bell coleman butler henderson barnes gonzales fisher vasquez simmons romero jordan patterson alexander hamilton graham reynolds griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar stevens murray ford castro marshall owens harrison fernandez mcdonald woods washington kennedy wells vargas henry chen freeman webb tucker guzman burns crawford olson simpson porter hunter gordon mendez silva shaw snyder mason dixon munoz hunt hicks holmes palmer wagner black robertson boyd rose stone salazar fox warren mills meyer rice schmidt garza daniels ferguson nichols stephens soto weaver'.split(' ');
    const cap = (w: string) => w[0]!.toUpperCase() + w.slice(1);
    const input: ContactInput[] = Array.from({ length: 4990 }, (_, i) => {
      const [f, l] = [pick(first), pick(last)];
      return {
        externalId: `gen-${i}`,
        name: `${cap(f)} ${cap(l)}`,
        email: random() < 0.8 ? `${f}.${l}.${i}@example.com` : null,
        phone: random() < 0.6 ? `+1 555 ${String(Math.floor(random() * 1e7)).padStart(7, '0')}` : null,
        company: `Company ${i % 300}`,
      };
    });
    // Planted: the same people again, as a second system would have exported them.
    input.push(
      { externalId: 'p-1', name: 'Zebulon Quartermaine', email: 'zq@planted.example' },
      { externalId: 'p-1b', name: 'Quartermaine, Zebulon', email: 'ZQ@planted.example' },
      { externalId: 'p-2', name: 'Octavia Fairweather', phone: '+1 202 555 0175' },
      { externalId: 'p-2b', name: 'Octavia Fairwether', phone: '(202) 555-0175' },
      { externalId: 'p-3', name: 'Bartholomew Ignatius Crane' },
      { externalId: 'p-3b', name: 'Bartholomew Crane' },
      { externalId: 'p-4', name: 'Wilhelmina Stroud', email: 'w.stroud@planted.example' },
      { externalId: 'p-4b', name: 'Willhelmina Stroud', email: 'w.stroud@planted.example' },
      { externalId: 'p-5', name: 'Thaddeus Okonkwo-Brightwater' },
      { externalId: 'p-5b', name: 'Thadeus Okonkwo Brightwater' },
    );
    const tenant = { tenantId: (await server.tenant()).tenantId };
    expect(await contacts.import(actorFor(tenant.tenantId), input)).toEqual({ inserted: 5000, updated: 0 });

    const started = performance.now();
    const firstPage = await contacts.duplicateCandidates(tenant.tenantId, { limit: 200, minScore: 0.5 });
    const elapsed = performance.now() - started;
    console.log(`duplicateCandidates over 5,000 contacts: ${Math.round(elapsed)} ms`);
    expect(elapsed).toBeLessThan(8000);
    expect(firstPage.candidates).toHaveLength(200);

    // Identical names are common among 5,000 random people, so the planted pairs (0.57 to 1.0) may
    // sit on later pages: read them all.
    const all = [...firstPage.candidates];
    for (let after = firstPage.nextCursor; after; ) {
      const page = await contacts.duplicateCandidates(tenant.tenantId, { limit: 200, minScore: 0.5, after });
      all.push(...page.candidates);
      after = page.nextCursor;
    }
    const found = new Map(summary(all).map((c) => [c.pair, c]));
    for (const pair of ['p-1+p-1b', 'p-2+p-2b', 'p-3+p-3b', 'p-4+p-4b', 'p-5+p-5b']) expect(found.has(pair), pair).toBe(true);
    expect(found.get('p-1+p-1b')).toMatchObject({ score: 0.985, signals: ['email', 'name'] });
    expect(found.get('p-3+p-3b')).toMatchObject({ score: 0.5667, signals: ['name'] });
    expect(found.size).toBe(all.length);
    const scores = all.map((c) => c.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    expect(Math.min(...scores)).toBeGreaterThanOrEqual(0.5);
  }, 60_000);
});
