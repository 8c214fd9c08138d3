import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gql, startTestServer, type TestServer } from '../../../test/support/app';

let server: TestServer;
let owner: Awaited<ReturnType<TestServer['tenant']>>;
let other: Awaited<ReturnType<TestServer['tenant']>>;

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.tenant();
  other = await server.tenant();
});
afterAll(() => server?.close());

const IMPORT = `mutation($contacts: [ContactInput!]!) {
  importContacts(contacts: $contacts) {
    __typename
    ... on ImportContactsPayload { inserted updated }
    ... on InputError { code message field }
  }
}`;
const CONTACTS = `query($first: Int, $after: String) {
  contacts(first: $first, after: $after) {
    edges { cursor node { id uuid externalId name email phone company createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const PROPOSALS = `query($first: Int, $after: String) {
  mergeProposals(first: $first, after: $after) {
    edges { node { id uuid reason confidence status runId createdAt contactA { uuid name email } contactB { uuid name email } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** A token of the owner's tenant holding only `scopes`. */
async function tokenWith(scopes: string[]): Promise<string> {
  const { body } = await gql(
    server.url,
    owner.token,
    `mutation($input: CreateAccountInput!) { createAccount(input: $input) { ... on AccountWithToken { token } ... on Error { message } } }`,
    { input: { name: `limited ${scopes.join(' ')} ${Math.random()}`, scopes } },
  );
  expect(body.data.createAccount.token).toEqual(expect.any(String));
  return body.data.createAccount.token;
}

describe('contacts over GraphQL', () => {
  it('imports contacts, upserting by externalId', async () => {
    const first = await gql(server.url, owner.token, IMPORT, {
      contacts: [
        { externalId: 'crm-1', name: 'Ada Lovelace', email: 'ada@example.com', company: 'Engines' },
        { externalId: 'crm-2', name: 'Ada King', email: 'ADA@example.com' },
        { name: 'Charles Babbage', phone: '+44 20 7946 0958' },
      ],
    });
    expect(first.body).toEqual({ data: { importContacts: { __typename: 'ImportContactsPayload', inserted: 3, updated: 0 } } });
    const again = await gql(server.url, owner.token, IMPORT, { contacts: [{ externalId: 'crm-1', name: 'Ada Lovelace', email: 'ada@example.com', phone: '555 0100' }] });
    expect(again.body.data.importContacts).toEqual({ __typename: 'ImportContactsPayload', inserted: 0, updated: 1 });
  });

  it('answers a refused import as an InputError naming the contact and field', async () => {
    const { body } = await gql(server.url, owner.token, IMPORT, { contacts: [{ name: 'Fine' }, { name: 'Broken', email: 'broken' }] });
    expect(body.errors).toBeUndefined();
    expect(body.data.importContacts).toEqual({
      __typename: 'InputError',
      code: 'INVALID_REQUEST',
      field: 'contacts.1.email',
      message: 'contacts.1.email must look like an email address',
    });
    const nothing = await gql(server.url, owner.token, IMPORT, { contacts: [{ company: 'Only a company' }] });
    expect(nothing.body.data.importContacts).toMatchObject({ __typename: 'InputError', field: 'contacts.0' });
  });

  it('lists contacts newest first as a connection of Relay nodes', async () => {
    const { body } = await gql(server.url, owner.token, CONTACTS, { first: 2 });
    expect(body.errors).toBeUndefined();
    const { edges, pageInfo } = body.data.contacts;
    expect(edges).toHaveLength(2);
    expect(pageInfo.hasNextPage).toBe(true);
    const rest = await gql(server.url, owner.token, CONTACTS, { first: 10, after: pageInfo.endCursor });
    const all = [...edges, ...rest.body.data.contacts.edges].map((e: { node: Record<string, unknown> }) => e.node);
    expect(all.map((c) => c.name).sort()).toEqual(['Ada King', 'Ada Lovelace', 'Charles Babbage']);
    expect(all.find((c) => c.externalId === 'crm-1')).toMatchObject({ email: 'ada@example.com', phone: '555 0100', company: null });

    // node(id) resolves a Contact by its global id and by its UUID.
    const ada = all.find((c) => c.externalId === 'crm-1')!;
    for (const id of [ada.id, ada.uuid]) {
      const node = await gql(server.url, owner.token, `query($id: ID!) { node(id: $id) { __typename ... on Contact { name } } }`, { id });
      expect(node.body.data.node).toEqual({ __typename: 'Contact', name: 'Ada Lovelace' });
    }
    const foreign = await gql(server.url, other.token, `query($id: ID!) { node(id: $id) { id } }`, { id: ada.id });
    expect(foreign.body.data.node).toBeNull();
    expect((await gql(server.url, other.token, CONTACTS, {})).body.data.contacts.edges).toEqual([]);
  });

  it('lists merge proposals with their contacts', async () => {
    const contacts = server.app.services.contacts;
    const page = await contacts.list(owner.tenantId, {});
    const [x, y, z] = page.nodes;
    const runId = '6f1c7f3e-8d1b-4d59-9f5b-2f5a8d1e0c11';
    const p1 = await contacts.proposeMerge(owner.tenantId, { contactA: x!.id, contactB: y!.id, reason: 'Same email.', confidence: 0.9, runId });
    const p2 = await contacts.proposeMerge(owner.tenantId, { contactA: z!.id, contactB: x!.id, reason: 'Hunch.', confidence: 0.25 });

    const findMany = vi.spyOn(contacts, 'findMany');
    const { body } = await gql(server.url, owner.token, PROPOSALS, {});
    expect(body.errors).toBeUndefined();
    // All four ends of the two proposals come from one batched lookup.
    expect(findMany).toHaveBeenCalledTimes(1);
    expect([...findMany.mock.calls[0]![1]].sort()).toEqual([x!.id, y!.id, z!.id].sort());
    findMany.mockRestore();
    const nodes = body.data.mergeProposals.edges.map((e: { node: unknown }) => e.node);
    expect(nodes.map((n: { uuid: string }) => n.uuid)).toEqual([p2.proposal.id, p1.proposal.id]);
    const byId = new Map([x!, y!, z!].map((c) => [c.id, c]));
    for (const [node, proposal] of [
      [nodes[0], p2.proposal],
      [nodes[1], p1.proposal],
    ] as const) {
      expect(node).toMatchObject({
        reason: proposal.reason,
        confidence: proposal.confidence,
        status: 'PROPOSED',
        runId: proposal.runId ?? null,
        contactA: { uuid: proposal.contactA, name: byId.get(proposal.contactA)!.name },
        contactB: { uuid: proposal.contactB, name: byId.get(proposal.contactB)!.name },
      });
      expect(node.contactA.uuid < node.contactB.uuid).toBe(true);
    }
    expect(nodes[1]).toMatchObject({ runId, confidence: 0.9 });

    const node = await gql(server.url, owner.token, `query($id: ID!) { node(id: $id) { __typename ... on MergeProposal { reason } } }`, { id: nodes[0].id });
    expect(node.body.data.node).toEqual({ __typename: 'MergeProposal', reason: 'Hunch.' });
    expect((await gql(server.url, other.token, PROPOSALS, {})).body.data.mergeProposals.edges).toEqual([]);
  });

  it('needs agents:read to read and agents:write to import', async () => {
    const reader = await tokenWith(['agents:read']);
    const nobody = await tokenWith(['auth:read']);

    const denied = await gql(server.url, nobody, CONTACTS, {});
    expect(denied.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'agents:read' });
    const deniedProposals = await gql(server.url, nobody, PROPOSALS, {});
    expect(deniedProposals.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'agents:read' });

    expect((await gql(server.url, reader, CONTACTS, {})).body.errors).toBeUndefined();
    const readOnlyImport = await gql(server.url, reader, IMPORT, { contacts: [{ name: 'Sneaky' }] });
    expect(readOnlyImport.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'agents:write' });
    const anonymous = await gql(server.url, null, IMPORT, { contacts: [{ name: 'Sneaky' }] });
    expect(anonymous.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    const names = (await server.app.services.contacts.list(owner.tenantId, {})).nodes.map((c) => c.name);
    expect(names).not.toContain('Sneaky');
  });
});
