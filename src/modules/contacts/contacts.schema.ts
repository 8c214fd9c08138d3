import { dataloaderGetter } from '@pothos/plugin-dataloader';
import { builder } from '../../graphql/builder';
import { principalOf, type GraphQLContext } from '../../graphql/context';
import { registerNodeLoader } from '../../graphql/node';
import { connectionOf } from '../../graphql/connection';
import { InputError, NotFoundError } from '../../db/errors';
import { actorOf } from '../../platform/auth';
import type { Contact } from './contact.entity';
import type { MergeProposal } from './merge-proposal.entity';
import type { ContactService, ImportResult } from './contact.service';

declare module '../../platform/services' {
  interface Services {
    contacts: ContactService;
  }
}

const read = { scope: 'agents:read' } as const;
const write = { scope: 'agents:write' } as const;

registerNodeLoader('Contact', async (ctx, id) => (await ctx.services.contacts.findMany(principalOf(ctx).tenantId, [id]))[0] ?? null);
registerNodeLoader('MergeProposal', async (ctx, id) => (await ctx.services.contacts.findProposals(principalOf(ctx).tenantId, [id]))[0] ?? null);

const MergeProposalStatusEnum = builder.enumType('MergeProposalStatus', { values: ['PROPOSED', 'ACCEPTED', 'REJECTED'] as const });

export const ContactRef = builder.node(builder.objectRef<Contact>('Contact'), {
  description: 'A contact of the tenant, as imported.',
  authScopes: read,
  id: { resolve: (c) => c.id },
  loadMany: (ids, ctx) => ctx.services.contacts.findMany(principalOf(ctx).tenantId, ids),
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    externalId: t.exposeString('externalId', { nullable: true, description: 'The id in the system the contact came from.' }),
    name: t.exposeString('name', { nullable: true }),
    email: t.exposeString('email', { nullable: true }),
    phone: t.exposeString('phone', { nullable: true }),
    company: t.exposeString('company', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

// Both ends of every proposal on a page come from one batched query per request.
const contactLoader = dataloaderGetter<string, Contact, string>(
  undefined,
  (ids, ctx) =>
    (ctx as GraphQLContext).services.contacts
      .findMany(principalOf(ctx as GraphQLContext).tenantId, ids)
      .then((rows) => rows.map((c) => c ?? new NotFoundError('Contact'))),
  undefined,
  false,
);

export const MergeProposalRef = builder.node(builder.objectRef<MergeProposal>('MergeProposal'), {
  description: 'A suggestion that two contacts describe the same person, made by an agent run or a person.',
  authScopes: read,
  id: { resolve: (p) => p.id },
  loadMany: (ids, ctx) => ctx.services.contacts.findProposals(principalOf(ctx).tenantId, ids),
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    contactA: t.field({
      type: ContactRef,
      description: 'The contact with the smaller UUID of the pair.',
      resolve: (p, _args, ctx) => contactLoader(ctx).load(p.contactA),
    }),
    contactB: t.field({ type: ContactRef, resolve: (p, _args, ctx) => contactLoader(ctx).load(p.contactB) }),
    reason: t.exposeString('reason'),
    confidence: t.float({ description: '0 to 1, three decimals.', resolve: (p) => Number(p.confidence) }),
    status: t.field({ type: MergeProposalStatusEnum, resolve: (p) => p.status.toUpperCase() as 'PROPOSED' }),
    runId: t.expose('runId', { type: 'UUID', nullable: true, description: 'The agent run that proposed the merge.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const ContactInputRef = builder.inputType('ContactInput', {
  description: 'At least one of name, email or phone. A contact whose externalId exists already is updated.',
  fields: (t) => ({
    externalId: t.string({ description: 'At most 200 characters.' }),
    name: t.string({ description: 'At most 300 characters.' }),
    email: t.string({ description: 'At most 320 characters.' }),
    phone: t.string({ description: 'At most 50 characters.' }),
    company: t.string({ description: 'At most 300 characters.' }),
  }),
});

const ImportContactsPayloadRef = builder.objectRef<ImportResult>('ImportContactsPayload').implement({
  fields: (t) => ({
    inserted: t.exposeInt('inserted'),
    updated: t.exposeInt('updated', { description: 'Contacts matched by externalId and replaced.' }),
  }),
});

builder.queryFields((t) => ({
  contacts: t.connection({
    type: ContactRef,
    authScopes: read,
    description: 'The tenant’s contacts, newest first.',
    resolve: async (_root, args, ctx) => connectionOf(await ctx.services.contacts.list(principalOf(ctx).tenantId, args), args),
  }, { name: 'ContactConnection' }, { name: 'ContactEdge' }),
  mergeProposals: t.connection({
    type: MergeProposalRef,
    authScopes: read,
    description: 'Proposed merges of duplicate contacts, newest first.',
    resolve: async (_root, args, ctx) => connectionOf(await ctx.services.contacts.proposals(principalOf(ctx).tenantId, args), args),
  }, { name: 'MergeProposalConnection' }, { name: 'MergeProposalEdge' }),
}));

builder.mutationFields((t) => ({
  importContacts: t.field({
    type: ImportContactsPayloadRef,
    authScopes: write,
    description: 'Imports up to 5,000 contacts, all or nothing; contacts with a known externalId are updated.',
    args: { contacts: t.arg({ type: [ContactInputRef], required: true }) },
    errors: { types: [InputError], directResult: true, union: { name: 'ImportContactsResult' } },
    resolve: (_root, { contacts }, ctx) => ctx.services.contacts.import(actorOf(principalOf(ctx)), contacts),
  }),
}));
