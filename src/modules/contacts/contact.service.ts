import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Orm } from '../../db/orm';
import { inTenant } from '../../db/tenant-transaction';
import { InputError, NotFoundError } from '../../db/errors';
import { afterFilter, pageSize, toPage, type Page, type PageArgs } from '../../db/pagination';
import { isUuid } from '../../db/ids';
import type { Actor } from '../../platform/auth';
import { recordAudit } from '../audit/audit.service';
import { ContactSchema, type Contact } from './contact.entity';
import { MergeProposalSchema, type MergeProposal } from './merge-proposal.entity';

export const MAX_IMPORT = 5000;

// ---------------------------------------------------------------------------------------------
// Input validation
// ---------------------------------------------------------------------------------------------

// Messages are predicates; `parse` prefixes them with the path (`contacts.3.email must …`).
const text = (max: number) =>
  z
    .string({ message: 'must be a string' })
    .trim()
    .max(max, `must be at most ${max} characters`)
    .refine((v) => !v.includes('\0'), 'must not contain NUL characters')
    .nullish()
    // Blank means absent: an empty string is no name, no email.
    .transform((v) => (v ? v : null));

// Deliberately loose: one @, something before it, a dot in the domain, no whitespace.
const PLAUSIBLE_EMAIL = /^[^\s@]+@[^\s@.][^\s@]*\.[^\s@]+$/;

const contactInput = z
  .object(
    {
      externalId: text(200),
      name: text(300),
      email: text(320).refine((v) => v === null || PLAUSIBLE_EMAIL.test(v), 'must look like an email address'),
      phone: text(50).refine((v) => v === null || /[0-9]/.test(v), 'must contain digits'),
      company: text(300),
    },
    { message: 'must be an object' },
  )
  .strict()
  .refine((c) => c.name !== null || c.email !== null || c.phone !== null, 'needs at least one of name, email or phone');

const importInput = z.object({
  contacts: z
    .array(contactInput, { message: 'must be a list of contacts' })
    .max(MAX_IMPORT, `must hold at most ${MAX_IMPORT} contacts per import`)
    .superRefine((contacts, ctx) => {
      // One row per external id: the upsert could not apply two rows to the same contact.
      const seen = new Map<string, number>();
      contacts.forEach((c, i) => {
        if (c.externalId === null) return;
        const first = seen.get(c.externalId);
        if (first === undefined) seen.set(c.externalId, i);
        else ctx.addIssue({ code: 'custom', path: [i, 'externalId'], message: `repeats the externalId of contacts.${first}` });
      });
    }),
});

export type ContactInput = {
  externalId?: string | null;
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  company?: string | null;
};

const proposeInput = z
  .object({
    contactA: z.string({ message: 'must be a contact id' }).trim().toLowerCase(),
    contactB: z.string({ message: 'must be a contact id' }).trim().toLowerCase(),
    reason: z
      .string({ message: 'is required' })
      .trim()
      .min(1, 'must not be empty')
      .max(2000, 'must be at most 2000 characters')
      .refine((v) => !v.includes('\0'), 'must not contain NUL characters'),
    confidence: z.number({ message: 'must be a number between 0 and 1' }).min(0, 'must be at least 0').max(1, 'must be at most 1'),
    runId: z.string({ message: 'must be a UUID' }).trim().toLowerCase().refine(isUuid, 'must be a UUID').nullish(),
  })
  .strict();

export type ProposeMergeInput = {
  contactA: string;
  contactB: string;
  reason: string;
  /** 0..1; stored with three decimals. */
  confidence: number;
  runId?: string | null;
};

const candidatesInput = z
  .object({
    limit: z.number({ message: 'must be an integer' }).int('must be an integer').min(1, 'must be at least 1').max(200, 'must be at most 200').default(25),
    minScore: z.number({ message: 'must be a number' }).min(0, 'must be at least 0').max(1, 'must be at most 1').default(0.5),
    after: z.string({ message: 'must be a cursor' }).nullish(),
  })
  .strict();

export type DuplicateCandidatesArgs = { limit?: number; minScore?: number; after?: string | null };

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const field = [path, issue.keys[0]].filter(Boolean).join('.');
      throw new InputError(`${field} is not a known field`, field);
    }
    throw new InputError(`${path || 'input'} ${issue.message}`, path || undefined);
  }
  return parsed.data;
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

export type ImportResult = { inserted: number; updated: number };
export type DuplicateSignal = 'email' | 'phone' | 'name';
export type DuplicateCandidate = {
  /** The pair, ordered contactA < contactB as proposals store it. */
  contactA: string;
  contactB: string;
  /** 0..1, four decimals; see the weights below. */
  score: number;
  signals: DuplicateSignal[];
  a: Contact;
  b: Contact;
};
export type DuplicateCandidatePage = { candidates: DuplicateCandidate[]; nextCursor: string | null };
export type ProposedMerge = { proposal: MergeProposal; created: boolean };

// ---------------------------------------------------------------------------------------------
// Duplicate detection
// ---------------------------------------------------------------------------------------------

/** Score of a shared normalized email. */
const EMAIL_WEIGHT = 0.9;
/** Score of a shared phone number (family lines make it weaker than an email). */
const PHONE_WEIGHT = 0.7;
/** A name-similarity signal scores NAME_WEIGHT × similarity; identical names alone give 0.85. */
const NAME_WEIGHT = 0.85;
/** Below this similarity two names are not a signal at all ("John Smith" vs "Mary Smith" is 0.375). */
const NAME_FLOOR = 0.5;
/** An email or phone shared by more contacts than this is a shared mailbox or switchboard: no signal. */
const MAX_KEY_GROUP = 10;
/** Within one block, each contact is compared with this many following contacts (sorted neighbourhood). */
const WINDOW = 10;

/*
 * Candidate pairs are computed in one SQL statement; no contact list is loaded into Node.
 *
 * 1. Blocking. Comparing every pair is quadratic, so each contact gets a few blocking keys and only
 *    contacts sharing a key are compared:
 *      e  its normalized email;
 *      p  its phone key: the last 10 digits of `phone_normalized` when it has at least 7, so
 *         "+1 (555) 010-2030" and "555-010-2030", or "+44 20 7946 0958" and "020 7946 0958", match.
 *         An email or phone key held by more than MAX_KEY_GROUP contacts (info@, a switchboard) is
 *         neither a key nor a signal: it says nothing about a person;
 *      n  the name's words, sorted: the same words in any order ("Smith Mary Ann" / "Mary Ann Smith");
 *      w  twice: first 3 letters of the last word + first letter of the first word, and first 3
 *         letters of the first word + first letter of the last word. Two names share one of these
 *         unless both have a typo within their first three letters: "Jon Smith" / "John Smith" share
 *         "smi j", "John Smyth" / "John Smith" share "joh s", "Smith John" / "John Smith" share both.
 *    Within a block, contacts are sorted by name and each is paired with the next WINDOW of them
 *    (lead() over the block: the "sorted neighbourhood" method). A small block is compared in full;
 *    a huge one (300 "John Smith"s, 5,000 "Bulk Person N") costs O(n · WINDOW) instead of O(n²), its
 *    most alike names being neighbours. So work is bounded by about 4 · WINDOW pairs per contact.
 * 2. Name similarity, without pg_trgm: each word is padded as pg_trgm does ("  john ") and cut into
 *    character trigrams with generate_series, one distinct array per contact; similarity is the
 *    Jaccard index of the two trigram sets, |A ∩ B| / |A ∪ B|. Word order does not matter and a typo
 *    costs a few trigrams ("Jon Smith" / "John Smith" is 0.615, "John Smith" / "Mary Smith" 0.375).
 * 3. Score. Signals combine like independent evidence: 1 − (1 − e)(1 − p)(1 − n), e = 0.9 for a
 *    shared email, p = 0.7 for a shared phone, n = 0.85 × similarity when names are at least 0.5
 *    similar. Email alone 0.9, phone alone 0.7, identical names alone 0.85, email + same name 0.985.
 *    Pairs with a proposal already (any status) are left out; order is score desc, then the pair.
 *
 * The planner cannot estimate the CTEs and set-returning functions (it expects 28 contacts and 1,000
 * words a name), so the statement runs with JIT and nested loops off: otherwise it spends seconds
 * compiling, or nests loops over tens of thousands of pairs. Measured: 10,000 contacts in about a
 * second on a small machine.
 */
const leads = Array.from({ length: WINDOW }, (_, i) => `lead(id, ${i + 1}) over w`).join(', ');
const CANDIDATES_SQL = `
with params as (
  select ?::numeric as min_score, ?::numeric as after_score, ?::uuid as after_a, ?::uuid as after_b
),
base as (
  select id,
         email_normalized as email,
         count(email_normalized) over (partition by email_normalized) as email_holders,
         phone_key as phone,
         count(phone_key) over (partition by phone_key) as phone_holders,
         name_normalized as name,
         regexp_split_to_array(name_normalized, ' +') as words
    from (select c.*, case when length(c.phone_normalized) >= 7 then right(c.phone_normalized, 10) end as phone_key
            from contacts c) c
),
blocks as (
  select id, name, 'e' || email as k from base where email_holders between 2 and ${MAX_KEY_GROUP}
  union
  select id, name, 'p' || phone from base where phone_holders between 2 and ${MAX_KEY_GROUP}
  union
  select id, name, 'n' || array_to_string(array(select w from unnest(words) w order by w), ' ') from base where name is not null
  union
  select id, name, 'w' || left(words[cardinality(words)], 3) || ' ' || left(words[1], 1) from base where name is not null
  union
  select id, name, 'w' || left(words[1], 3) || ' ' || left(words[cardinality(words)], 1) from base where name is not null
),
neighbours as (
  select id, array[${leads}] as next from blocks window w as (partition by k order by name, id)
),
pairs as (
  select distinct least(nb.id, n) as a, greatest(nb.id, n) as b
    from neighbours nb cross join lateral unnest(nb.next) as n
   where n is not null
),
grams as (
  select b.id,
         array(select distinct substr('  ' || w || ' ', i, 3)
                 from unnest(b.words) as w, generate_series(1, length(w) + 1) as i) as g
    from base b
   where b.name is not null and b.id in (select a from pairs union select b from pairs)
),
scored as (
  select p.a, p.b,
         coalesce(ka.email = kb.email and ka.email_holders <= ${MAX_KEY_GROUP}, false) as email,
         coalesce(ka.phone = kb.phone and ka.phone_holders <= ${MAX_KEY_GROUP}, false) as phone,
         coalesce(s.common::float8 / (cardinality(ga.g) + cardinality(gb.g) - s.common), 0) as similarity
    from pairs p
    join base ka on ka.id = p.a
    join base kb on kb.id = p.b
    left join grams ga on ga.id = p.a
    left join grams gb on gb.id = p.b
    cross join lateral (select count(*) as common from unnest(ga.g) as x where x = any (gb.g)) s
),
ranked as (
  select a, b, email, phone, similarity >= ${NAME_FLOOR} as name,
         round((1 - (1 - case when email then ${EMAIL_WEIGHT} else 0 end)
                  * (1 - case when phone then ${PHONE_WEIGHT} else 0 end)
                  * (1 - case when similarity >= ${NAME_FLOOR} then ${NAME_WEIGHT} * similarity else 0 end))::numeric, 4) as score
    from scored
)
select r.a, r.b, r.score, r.email, r.phone, r.name
  from ranked r
 cross join params
 where (r.email or r.phone or r.name)
   and r.score >= params.min_score
   and not exists (select 1 from merge_proposals mp where mp.contact_a = r.a and mp.contact_b = r.b)
   and (params.after_score is null
        or r.score < params.after_score
        or (r.score = params.after_score and (r.a, r.b) > (params.after_a, params.after_b)))
 order by r.score desc, r.a, r.b
 limit ?
`;

type CandidateRow = { a: string; b: string; score: string; email: boolean; phone: boolean; name: boolean };
type CandidateKey = { score: string; a: string; b: string };

function encodeCandidateCursor(key: CandidateKey): string {
  return Buffer.from(JSON.stringify([key.score, key.a, key.b])).toString('base64url');
}

function decodeCandidateCursor(cursor: string): CandidateKey {
  try {
    const [score, a, b] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string, string];
    if (typeof score !== 'string' || !/^\d(\.\d{1,4})?$/.test(score) || !isUuid(a) || !isUuid(b)) throw new Error();
    return { score, a, b };
  } catch {
    throw new InputError('The cursor is not one this API issued.', 'after');
  }
}

// ---------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------

export type ContactServiceDeps = { orm: Orm };

export class ContactService {
  constructor(private readonly deps: ContactServiceDeps) {}

  /**
   * Imports up to MAX_IMPORT contacts in one transaction: all or nothing. A contact whose
   * externalId already exists in the tenant is updated (its name, email, phone and company are
   * replaced by the imported values); every other contact is inserted.
   */
  async import(actor: Actor, contacts: ContactInput[]): Promise<ImportResult> {
    // Refuse an oversize batch before validating each of its contacts.
    if (Array.isArray(contacts) && contacts.length > MAX_IMPORT) {
      throw new InputError(`contacts must hold at most ${MAX_IMPORT} contacts per import`, 'contacts');
    }
    const data = parse(importInput, { contacts });
    if (data.contacts.length === 0) return { inserted: 0, updated: 0 };
    const rows = data.contacts.map((c) => ({
      external_id: c.externalId,
      name: c.name,
      email: c.email,
      phone: c.phone,
      company: c.company,
    }));
    return inTenant(this.deps.orm, actor.tenantId, async (em) => {
      // xmax = 0 tells a freshly inserted row from one the ON CONFLICT branch updated.
      const [counts] = await em.execute<{ inserted: number; updated: number }[]>(
        `with upserted as (
           insert into contacts (tenant_id, id, external_id, name, email, phone, company, created_at)
           select ?::uuid, gen_random_uuid(), r.external_id, r.name, r.email, r.phone, r.company, ?::timestamptz
             from jsonb_to_recordset(?::jsonb) as r(external_id text, name text, email text, phone text, company text)
           on conflict (tenant_id, external_id) where external_id is not null
           do update set name = excluded.name, email = excluded.email, phone = excluded.phone, company = excluded.company
           returning (xmax = 0) as inserted
         )
         select count(*) filter (where inserted)::int as inserted, count(*) filter (where not inserted)::int as updated from upserted`,
        // created_at from Node, in milliseconds like every keyset cursor (now() has microseconds).
        [actor.tenantId, new Date(), JSON.stringify(rows)],
      );
      const result = { inserted: counts!.inserted, updated: counts!.updated };
      // Counts only: contact data is personal data and stays out of the audit log.
      recordAudit(em, actor, { action: 'contact.import', targetType: 'contact', detail: { ...result, total: rows.length } });
      await em.flush();
      return result;
    });
  }

  /** Newest first. */
  async list(tenantId: string, args: PageArgs): Promise<Page<Contact>> {
    const size = pageSize(args.first);
    const rows = await inTenant(this.deps.orm, tenantId, (em) =>
      em.find(ContactSchema, afterFilter(args.after), { orderBy: { createdAt: 'desc', id: 'desc' }, limit: size + 1 }),
    );
    return toPage(rows, size);
  }

  async get(tenantId: string, id: string): Promise<Contact> {
    const [contact] = await this.findMany(tenantId, [id]);
    if (!contact) throw new NotFoundError('Contact');
    return contact;
  }

  /** In the order of `ids`; null where an id is malformed or names no contact of this tenant. */
  async findMany(tenantId: string, ids: readonly string[]): Promise<(Contact | null)[]> {
    const wanted = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
    const rows = wanted.length
      ? await inTenant(this.deps.orm, tenantId, (em) => em.find(ContactSchema, { id: { $in: wanted } }))
      : [];
    const byId = new Map(rows.map((c) => [c.id, c]));
    return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
  }

  /** Likely duplicate pairs without a proposal yet, best first; see CANDIDATES_SQL for how. */
  async duplicateCandidates(tenantId: string, args: DuplicateCandidatesArgs = {}): Promise<DuplicateCandidatePage> {
    const { limit, minScore, after } = parse(candidatesInput, args);
    const key = after ? decodeCandidateCursor(after) : null;
    const { rows, byId } = await inTenant(this.deps.orm, tenantId, async (em) => {
      // Local to this transaction: see the note above CANDIDATES_SQL.
      await em.execute('set local jit = off');
      await em.execute('set local enable_nestloop = off');
      const found = await em.execute<CandidateRow[]>(CANDIDATES_SQL, [minScore, key?.score ?? null, key?.a ?? null, key?.b ?? null, limit + 1]);
      const ids = [...new Set(found.slice(0, limit).flatMap((r) => [r.a, r.b]))];
      const records = ids.length ? await em.find(ContactSchema, { id: { $in: ids } }) : [];
      return { rows: found, byId: new Map(records.map((c) => [c.id, c])) };
    });
    const page = rows.slice(0, limit);
    const candidates = page.flatMap((r) => {
      const a = byId.get(r.a);
      const b = byId.get(r.b);
      // Deleted between the two statements: simply not a candidate any more.
      if (!a || !b) return [];
      const signals = (['email', 'phone', 'name'] as const).filter((s) => r[s]);
      return [{ contactA: r.a, contactB: r.b, score: Number(r.score), signals, a, b }];
    });
    const last = page.at(-1);
    return {
      candidates,
      nextCursor: rows.length > limit && last ? encodeCandidateCursor({ score: String(last.score), a: last.a, b: last.b }) : null,
    };
  }

  /**
   * Records that two contacts look like one person. Idempotent per pair, in either order: the
   * first proposal wins and later ones answer it with `created: false`.
   */
  async proposeMerge(tenantId: string, input: ProposeMergeInput): Promise<ProposedMerge> {
    const data = parse(proposeInput, input);
    if (data.contactA === data.contactB) throw new InputError('contactA and contactB must be two different contacts.', 'contactB');
    for (const field of ['contactA', 'contactB'] as const) if (!isUuid(data[field])) throw new NotFoundError('Contact');
    const [a, b] = data.contactA < data.contactB ? [data.contactA, data.contactB] : [data.contactB, data.contactA];
    return inTenant(this.deps.orm, tenantId, async (em) => {
      if ((await em.count(ContactSchema, { id: { $in: [a, b] } })) !== 2) throw new NotFoundError('Contact');
      const inserted = await em.execute<{ id: string }[]>(
        `insert into merge_proposals (tenant_id, id, run_id, contact_a, contact_b, reason, confidence, created_at)
         values (?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (tenant_id, contact_a, contact_b) do nothing
         returning id`,
        [tenantId, randomUUID(), data.runId ?? null, a, b, data.reason, data.confidence, new Date()],
      );
      const proposal = await em.findOneOrFail(MergeProposalSchema, { contactA: a, contactB: b });
      return { proposal, created: inserted.length === 1 };
    });
  }

  /** Newest first. */
  async proposals(tenantId: string, args: PageArgs): Promise<Page<MergeProposal>> {
    const size = pageSize(args.first);
    const rows = await inTenant(this.deps.orm, tenantId, (em) =>
      em.find(MergeProposalSchema, afterFilter(args.after), { orderBy: { createdAt: 'desc', id: 'desc' }, limit: size + 1 }),
    );
    return toPage(rows, size);
  }

  /** In the order of `ids`; null where an id names no proposal of this tenant. */
  async findProposals(tenantId: string, ids: readonly string[]): Promise<(MergeProposal | null)[]> {
    const wanted = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
    const rows = wanted.length
      ? await inTenant(this.deps.orm, tenantId, (em) => em.find(MergeProposalSchema, { id: { $in: wanted } }))
      : [];
    const byId = new Map(rows.map((p) => [p.id, p]));
    return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
  }
}
