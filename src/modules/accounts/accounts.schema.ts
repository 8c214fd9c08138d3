import { builder } from '../../graphql/builder';
import { actorOf } from '../../platform/auth';
import { principalOf } from '../../graphql/context';
import { connectionOf } from '../../graphql/connection';
import { commonErrors } from '../../graphql/errors';
import { entityId, optionalEntityId } from '../../graphql/ids';
import { registerNodeLoader } from '../../graphql/node';
import { ConflictError, InputError, NotFoundError } from '../../db/errors';
import { effectiveStatus, type Account } from './account.entity';
import type { AccountService, AccountWithToken } from './account.service';
import type { Tenant } from './tenant.entity';
import type { TenantService } from './tenant.service';
import { SCOPES } from './scopes';
import { tokenHint } from './token';

declare module '../../platform/services' {
  interface Services {
    accounts: AccountService;
    tenants: TenantService;
  }
}

registerNodeLoader('Account', (ctx, id) =>
  ctx.services.accounts.find(principalOf(ctx).tenantId, id),
);

const AccountStatusEnum = builder.enumType('AccountStatus', {
  values: ['ACTIVE', 'PAUSED', 'REVOKED', 'EXPIRED'] as const,
});

const AuthMethodEnum = builder.enumType('AuthMethod', {
  values: ['AUTHORIZATION', 'X_RUNLANE_TOKEN', 'WEBSOCKET'] as const,
});

function authMethodValue(method: string | null | undefined) {
  return method ? (method.toUpperCase().replaceAll('-', '_') as 'AUTHORIZATION') : null;
}

export const TenantRef = builder.objectRef<Tenant>('Tenant').implement({
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    slug: t.exposeString('slug'),
    name: t.exposeString('name'),
    timezone: t.exposeString('timezone'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const AccountRef = builder.node(builder.objectRef<Account>('Account'), {
  description: 'A service account: a named token with scopes, owned by the tenant.',
  authScopes: { scope: 'accounts:read' },
  id: { resolve: (account) => account.id },
  loadMany: (ids, ctx) => ctx.services.accounts.findMany(principalOf(ctx).tenantId, ids),
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    owner: t.exposeString('owner', { nullable: true }),
    scopes: t.exposeStringList('scopes'),
    status: t.field({
      type: AccountStatusEnum,
      resolve: (a) => effectiveStatus(a).toUpperCase() as 'ACTIVE',
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    tokenHint: t.string({
      description: 'First 12 and last 4 characters of the current token; the token itself is never shown again.',
      resolve: (a) => tokenHint(a.tokenPrefix, a.tokenLast4),
    }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    lastUsedIp: t.exposeString('lastUsedIp', { nullable: true }),
    lastAuthMethod: t.field({
      type: AuthMethodEnum,
      nullable: true,
      resolve: (a) => authMethodValue(a.lastAuthMethod),
    }),
    rotatedAt: t.expose('rotatedAt', { type: 'DateTime', nullable: true }),
    pausedAt: t.expose('pausedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const AccountWithTokenRef = builder.objectRef<AccountWithToken>('AccountWithToken').implement({
  description: 'The only type that ever carries a token: returned once, by createAccount and rotateAccountToken.',
  fields: (t) => ({
    account: t.field({ type: AccountRef, resolve: (r) => r.account }),
    token: t.exposeString('token'),
  }),
});

const DeletedAccountRef = builder.objectRef<Account>('DeletedAccount').implement({
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The UUID of the account that no longer exists.' }),
    name: t.exposeString('name'),
  }),
});

type ViewerShape = ReturnType<typeof principalOf> & { tenant: Tenant };

const ViewerRef = builder.objectRef<ViewerShape>('Viewer').implement({
  description: 'The caller: its account, tenant and scopes.',
  fields: (t) => ({
    accountId: t.exposeID('accountId', { description: 'UUID of the calling account.' }),
    accountName: t.exposeString('accountName'),
    tenant: t.field({ type: TenantRef, resolve: (v) => v.tenant }),
    scopes: t.stringList({ resolve: (v) => [...v.scopes].sort() }),
    availableScopes: t.stringList({ resolve: () => [...SCOPES] }),
    authMethod: t.field({ type: AuthMethodEnum, resolve: (v) => authMethodValue(v.authMethod)! }),
    tokenFingerprint: t.exposeString('tokenFingerprint'),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    authScopes: { authenticated: true },
    resolve: async (_root, _args, ctx) => {
      const principal = principalOf(ctx);
      return { ...principal, tenant: await ctx.services.tenants.get(principal.tenantId) };
    },
  }),
  account: t.field({
    type: AccountRef,
    nullable: true,
    description: 'One account by global id or UUID; null when this tenant has no such account.',
    authScopes: { scope: 'accounts:read' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => {
      const uuid = optionalEntityId(String(id), 'Account');
      return uuid ? ctx.services.accounts.find(principalOf(ctx).tenantId, uuid) : null;
    },
  }),
  accounts: t.connection({
    type: AccountRef,
    authScopes: { scope: 'accounts:read' },
    resolve: async (_root, args, ctx) => {
      const page = await ctx.services.accounts.list(principalOf(ctx).tenantId, args);
      return connectionOf(page, args);
    },
  }, { name: 'AccountConnection' }, { name: 'AccountEdge' }),
}));

const CreateAccountInput = builder.inputType('CreateAccountInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    description: t.string(),
    owner: t.string(),
    scopes: t.stringList({ required: true }),
    expiresAt: t.field({ type: 'DateTime' }),
  }),
});

const UpdateAccountInput = builder.inputType('UpdateAccountInput', {
  description: 'Only the fields given change; null clears description, owner or expiresAt.',
  fields: (t) => ({
    name: t.string(),
    description: t.string(),
    owner: t.string(),
    scopes: t.stringList(),
    expiresAt: t.field({ type: 'DateTime' }),
  }),
});

const write = { scope: 'accounts:write' } as const;
const idArg = (t: { arg: { id: (o: { required: true }) => any } }) => ({ id: t.arg.id({ required: true }) });


function accountMutation(
  name: string,
  description: string,
  run: (service: AccountService, tenantId: string, id: string) => Promise<Account>,
) {
  builder.mutationField(name, (t) =>
    t.field({
      type: AccountRef,
      description,
      authScopes: write,
      args: idArg(t),
      errors: { types: [NotFoundError, ConflictError], directResult: true, union: { name: `${cap(name)}Result` } },
      resolve: (_root, { id }, ctx) =>
        run(ctx.services.accounts, principalOf(ctx).tenantId, entityId(String(id), 'Account')),
    }),
  );
}

function cap(s: string): string {
  return s[0]!.toUpperCase() + s.slice(1);
}

builder.mutationFields((t) => ({
  createAccount: t.field({
    type: AccountWithTokenRef,
    description: 'Creates an account and reveals its token once. Scopes must be ones the caller holds.',
    authScopes: write,
    args: { input: t.arg({ type: CreateAccountInput, required: true }) },
    errors: { types: [InputError, ConflictError], directResult: true, union: { name: 'CreateAccountResult' } },
    resolve: (_root, { input }, ctx) => ctx.services.accounts.create(actorOf(principalOf(ctx)), input),
  }),
  rotateAccountToken: t.field({
    type: AccountWithTokenRef,
    description: 'Issues a new token (revealed once); the old token stops working at once.',
    authScopes: write,
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'RotateAccountTokenResult' } },
    resolve: (_root, { id }, ctx) =>
      ctx.services.accounts.rotate(principalOf(ctx).tenantId, entityId(String(id), 'Account')),
  }),
  updateAccount: t.field({
    type: AccountRef,
    authScopes: write,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateAccountInput, required: true }) },
    errors: { types: commonErrors, directResult: true, union: { name: 'UpdateAccountResult' } },
    resolve: (_root, { id, input }, ctx) =>
      ctx.services.accounts.update(actorOf(principalOf(ctx)), entityId(String(id), 'Account'), {
        ...(input.name != null ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.owner !== undefined ? { owner: input.owner } : {}),
        ...(input.scopes != null ? { scopes: input.scopes } : {}),
        ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
      }),
  }),
  deleteAccount: t.field({
    type: DeletedAccountRef,
    authScopes: write,
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'DeleteAccountResult' } },
    resolve: (_root, { id }, ctx) =>
      ctx.services.accounts.delete(principalOf(ctx).tenantId, entityId(String(id), 'Account')),
  }),
}));

accountMutation('pauseAccount', 'Pauses the account: its token is refused until resumed.', (s, tenant, id) =>
  s.pause(tenant, id),
);
accountMutation('resumeAccount', 'Resumes a paused account.', (s, tenant, id) => s.resume(tenant, id));
accountMutation('revokeAccount', 'Revokes the token for good; rotate to issue a new one.', (s, tenant, id) =>
  s.revoke(tenant, id),
);
