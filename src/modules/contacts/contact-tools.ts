import { z } from 'zod';
import { InputError, NotFoundError } from '../../db/errors';
import { ToolInputError, type AgentTool } from '../../platform/agent-tools';
import type { Contact } from './contact.entity';
import type { ContactService, DuplicateCandidate } from './contact.service';

/** What the model sees of a contact: snake_case, like the REST records. */
export function contactToolJson(c: Contact) {
  return {
    id: c.id,
    external_id: c.externalId ?? null,
    name: c.name ?? null,
    email: c.email ?? null,
    phone: c.phone ?? null,
    company: c.company ?? null,
    created_at: c.createdAt.toISOString(),
  };
}

function candidateJson(c: DuplicateCandidate) {
  return {
    contact_a: c.contactA,
    contact_b: c.contactB,
    score: c.score,
    signals: c.signals,
    a: contactToolJson(c.a),
    b: contactToolJson(c.b),
  };
}

/** Validates a tool's arguments; anything wrong becomes a ToolInputError the model can act on. */
function argsOf<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw new ToolInputError(`Unknown argument: ${issue.keys.join(', ')}.`);
  const path = issue.path.map(String).join('.');
  throw new ToolInputError(path ? `${path}: ${issue.message}` : issue.message);
}

/** Service refusals the model caused (a bad cursor, an unknown id) are its to fix. */
async function asToolErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof InputError) {
      // The service names its own fields (after, contactA); say it in the tool's words.
      const message = err.message.replace(/^contactA\b/, 'contact_a').replace(/^contactB\b/, 'contact_b');
      throw new ToolInputError(err.field === 'after' ? 'cursor is not one list_contacts returned; start again without a cursor.' : message);
    }
    if (err instanceof NotFoundError) {
      throw new ToolInputError(
        err.entity === 'Contact' ? 'One of the contact ids does not name a contact of this tenant; use ids from list_contacts.' : err.message,
      );
    }
    throw err;
  }
}

const integer = (min: number, max: number) =>
  z.number({ message: `must be an integer from ${min} to ${max}` }).int(`must be an integer from ${min} to ${max}`).min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

const listArgs = z
  .object({
    cursor: z.string({ message: 'must be a string from next_cursor' }).min(1, 'must not be empty').nullish(),
    limit: integer(1, 100).default(50),
  })
  .strict();

const candidateArgs = z
  .object({
    limit: integer(1, 100).default(25),
    min_score: z.number({ message: 'must be a number from 0 to 1' }).min(0, 'must be at least 0').max(1, 'must be at most 1').default(0.5),
    cursor: z.string({ message: 'must be a string from next_cursor' }).min(1, 'must not be empty').nullish(),
  })
  .strict();

const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const contactId = z.string({ message: 'must be a contact id (UUID)' }).regex(new RegExp(UUID_PATTERN), 'must be a contact id (UUID)');

const proposeArgs = z
  .object({
    contact_a: contactId,
    contact_b: contactId,
    reason: z.string({ message: 'must be a string' }).trim().min(1, 'must not be empty').max(2000, 'must be at most 2000 characters'),
    confidence: z.number({ message: 'must be a number from 0 to 1' }).min(0, 'must be at least 0').max(1, 'must be at most 1'),
  })
  .strict();

/** The contact_deduper blueprint's built-in tools, bound to the run's tenant through the context. */
export function contactTools(contacts: ContactService): AgentTool[] {
  return [
    {
      name: 'list_contacts',
      description: [
        "Lists the tenant's contacts, newest first, one page at a time.",
        'Each contact has id, external_id, name, email, phone, company and created_at (null when unknown).',
        'To read the next page, call again with cursor set to the next_cursor of the previous answer;',
        'next_cursor is null on the last page.',
      ].join(' '),
      inputSchema: {
        type: 'object',
        properties: {
          cursor: { type: 'string', minLength: 1, description: 'The next_cursor of the previous page; omit for the first page.' },
          limit: { type: 'integer', minimum: 1, maximum: 100, default: 50, description: 'Contacts per page.' },
        },
        required: [],
        additionalProperties: false,
      },
      async execute(input, context) {
        const args = argsOf(listArgs, input);
        const page = await asToolErrors(() => contacts.list(context.tenantId, { first: args.limit, after: args.cursor ?? null }));
        return { contacts: page.nodes.map(contactToolJson), next_cursor: page.hasNextPage ? page.endCursor : null };
      },
    },
    {
      name: 'find_duplicate_candidates',
      description: [
        'Finds pairs of contacts that are likely the same person, best first, leaving out pairs already proposed.',
        'signals says why: "email" (same address, ignoring case and spaces), "phone" (same number, ignoring',
        'formatting and country prefix) and "name" (similar names, any word order). score is 0 to 1:',
        'a shared email alone gives 0.9, a shared phone alone 0.7, identical names alone 0.85; several signals give more.',
        'A candidate is only a hint: check both records (a and b) before proposing a merge, and never merge on a',
        'shared company alone. Use next_cursor to skip past candidates you decided not to propose.',
      ].join(' '),
      inputSchema: {
        type: 'object',
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: 100, default: 25, description: 'Candidates to return.' },
          min_score: { type: 'number', minimum: 0, maximum: 1, default: 0.5, description: 'Leave out pairs scoring below this.' },
          cursor: { type: 'string', minLength: 1, description: 'The next_cursor of the previous answer, to see the following candidates.' },
        },
        required: [],
        additionalProperties: false,
      },
      async execute(input, context) {
        const args = argsOf(candidateArgs, input);
        const page = await asToolErrors(() =>
          contacts.duplicateCandidates(context.tenantId, { limit: args.limit, minScore: args.min_score, after: args.cursor ?? null }),
        );
        return { candidates: page.candidates.map(candidateJson), next_cursor: page.nextCursor };
      },
    },
    {
      name: 'propose_merge',
      description: [
        'Proposes that two contacts are the same person, for a human to review; nothing is merged yet.',
        'Propose only when the records clearly describe one person. Proposing the same pair again, in either',
        'order, changes nothing and answers created: false with the existing proposal_id.',
      ].join(' '),
      inputSchema: {
        type: 'object',
        properties: {
          contact_a: { type: 'string', pattern: UUID_PATTERN, description: 'The id of one contact.' },
          contact_b: { type: 'string', pattern: UUID_PATTERN, description: 'The id of the other contact; must differ from contact_a.' },
          reason: { type: 'string', minLength: 1, maxLength: 2000, description: 'One sentence: why these two records are the same person.' },
          confidence: { type: 'number', minimum: 0, maximum: 1, description: 'How sure you are, from 0 to 1.' },
        },
        required: ['contact_a', 'contact_b', 'reason', 'confidence'],
        additionalProperties: false,
      },
      async execute(input, context) {
        const args = argsOf(proposeArgs, input);
        if (args.contact_a.toLowerCase() === args.contact_b.toLowerCase()) {
          throw new ToolInputError('contact_a and contact_b must be two different contacts.');
        }
        const { proposal, created } = await asToolErrors(() =>
          contacts.proposeMerge(context.tenantId, {
            contactA: args.contact_a,
            contactB: args.contact_b,
            reason: args.reason,
            confidence: args.confidence,
            runId: context.runId,
          }),
        );
        return { proposal_id: proposal.id, created };
      },
    },
  ];
}
