import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Orm } from '../../db/orm';
import { inTenant, type TenantEm } from '../../db/tenant-transaction';
import { ConflictError, InputError, NotFoundError } from '../../db/errors';
import { isUuid } from '../../db/ids';
import { afterFilter, pageSize, toPage, type Page, type PageArgs } from '../../db/pagination';
import type { Actor } from '../../platform/auth';
import type { Bus } from '../../platform/bus';
import { AccountSchema, effectiveStatus, type Account } from './account.entity';
import { isScope, type Scope } from './scopes';
import { issueToken } from './token';

/** Published after commit whenever a token's validity or grants may have changed. */
export const ACCOUNT_CHANGED = 'accounts.changed';
export type AccountChanged = { tenantId: string; accountId: string; change: string };

export type { Actor };

export type AccountWithToken = { account: Account; token: string };

const scopesInput = z.array(z.string()).max(64);

const createInput = z.object({
  name: z.string().trim().min(1, 'name is required').max(120),
  description: z.string().max(1000).nullish(),
  owner: z.string().trim().max(200).nullish(),
  scopes: scopesInput,
  expiresAt: z.date().nullish(),
});
export type CreateAccountInput = z.input<typeof createInput>;

const updateInput = z.object({
  name: z.string().trim().min(1, 'name cannot be empty').max(120).optional(),
  description: z.string().max(1000).nullish(),
  owner: z.string().trim().max(200).nullish(),
  scopes: scopesInput.optional(),
  expiresAt: z.date().nullish(),
});
export type UpdateAccountInput = z.input<typeof updateInput>;

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InputError(issue.message, issue.path.join('.') || undefined);
  }
  return result.data;
}

function checkScopes(requested: string[], actor: Actor): Scope[] {
  const unique = [...new Set(requested)];
  for (const scope of unique) {
    if (!isScope(scope)) throw new InputError(`Unknown scope: ${scope}`, 'scopes');
    if (!actor.scopes.has(scope)) {
      throw new InputError(`You cannot grant a scope you do not hold: ${scope}`, 'scopes');
    }
  }
  return (unique as Scope[]).sort();
}

function checkExpiry(expiresAt: Date | null | undefined): void {
  if (expiresAt && expiresAt.getTime() <= Date.now()) {
    throw new InputError('expiresAt must be in the future.', 'expiresAt');
  }
}

export class AccountService {
  constructor(private readonly deps: { orm: Orm; bus: Bus; onPublishError?: (err: unknown) => void }) {}

  async create(actor: Actor, input: CreateAccountInput): Promise<AccountWithToken> {
    const data = parse(createInput, input);
    const scopes = checkScopes(data.scopes, actor);
    checkExpiry(data.expiresAt);
    return inTenant(this.deps.orm, actor.tenantId, (em) =>
      createAccountIn(em, actor.tenantId, { ...data, scopes }),
    );
  }

  async list(tenantId: string, args: PageArgs): Promise<Page<Account>> {
    const size = pageSize(args.first);
    const where = afterFilter(args.after);
    const rows = await inTenant(this.deps.orm, tenantId, (em) =>
      em.find(AccountSchema, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: size + 1 }),
    );
    return toPage(rows, size);
  }

  async get(tenantId: string, id: string): Promise<Account> {
    const account = await this.find(tenantId, id);
    if (!account) throw new NotFoundError('Account');
    return account;
  }

  /** Null when the id is malformed or belongs to no account of this tenant. */
  async find(tenantId: string, id: string): Promise<Account | null> {
    if (!isUuid(id)) return null;
    return inTenant(this.deps.orm, tenantId, (em) => em.findOne(AccountSchema, { id }));
  }

  async findMany(tenantId: string, ids: readonly string[]): Promise<(Account | null)[]> {
    const valid = ids.filter(isUuid);
    const rows = valid.length
      ? await inTenant(this.deps.orm, tenantId, (em) => em.find(AccountSchema, { id: { $in: valid } }))
      : [];
    const byId = new Map(rows.map((a) => [a.id, a]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  async update(actor: Actor, id: string, input: UpdateAccountInput): Promise<Account> {
    const data = parse(updateInput, input);
    const scopes = data.scopes ? checkScopes(data.scopes, actor) : undefined;
    checkExpiry(data.expiresAt);
    return this.change(actor.tenantId, id, 'updated', (account) => {
      if (data.name !== undefined) account.name = data.name;
      if (data.description !== undefined) account.description = data.description ?? null;
      if (data.owner !== undefined) account.owner = data.owner ?? null;
      if (data.expiresAt !== undefined) account.expiresAt = data.expiresAt ?? null;
      if (scopes) account.scopes = scopes;
    });
  }

  /** A new token; the old one stops working at once. Like the seed, rotation also un-pauses and un-revokes. */
  async rotate(tenantId: string, id: string): Promise<AccountWithToken> {
    let token = '';
    const account = await this.change(tenantId, id, 'rotated', (a) => {
      const issued = issueToken();
      token = issued.token;
      Object.assign(a, {
        tokenHash: issued.hash,
        tokenPrefix: issued.prefix,
        tokenLast4: issued.last4,
        rotatedAt: new Date(),
        status: 'active',
        pausedAt: null,
        revokedAt: null,
      });
    });
    return { account, token };
  }

  async pause(tenantId: string, id: string): Promise<Account> {
    return this.change(tenantId, id, 'paused', (a) => {
      if (a.status === 'revoked') throw new ConflictError('A revoked account cannot be paused.');
      if (a.status === 'active') Object.assign(a, { status: 'paused', pausedAt: new Date() });
    });
  }

  async resume(tenantId: string, id: string): Promise<Account> {
    return this.change(tenantId, id, 'resumed', (a) => {
      if (a.status === 'revoked') {
        throw new ConflictError('A revoked account cannot be resumed; rotate it to issue a new token.');
      }
      if (a.status === 'paused') Object.assign(a, { status: 'active', pausedAt: null });
    });
  }

  async revoke(tenantId: string, id: string): Promise<Account> {
    return this.change(tenantId, id, 'revoked', (a) => {
      if (a.status !== 'revoked') Object.assign(a, { status: 'revoked', revokedAt: new Date() });
    });
  }

  async delete(tenantId: string, id: string): Promise<Account> {
    if (!isUuid(id)) throw new NotFoundError('Account');
    const account = await inTenant(this.deps.orm, tenantId, async (em) => {
      const found = await em.findOne(AccountSchema, { id });
      if (!found) throw new NotFoundError('Account');
      await em.remove(found).flush();
      return found;
    });
    await this.announce({ tenantId, accountId: account.id, change: 'deleted' });
    return account;
  }

  private async change(
    tenantId: string,
    id: string,
    change: string,
    mutate: (account: Account) => void,
  ): Promise<Account> {
    if (!isUuid(id)) throw new NotFoundError('Account');
    const account = await inTenant(this.deps.orm, tenantId, async (em) => {
      const found = await em.findOne(AccountSchema, { id });
      if (!found) throw new NotFoundError('Account');
      mutate(found);
      await em.flush();
      return found;
    });
    await this.announce({ tenantId, accountId: account.id, change });
    return account;
  }

  private async announce(message: AccountChanged): Promise<void> {
    try {
      await this.deps.bus.publish(ACCOUNT_CHANGED, message);
    } catch (err) {
      // The change is committed; other processes fall back to their cache expiry.
      this.deps.onPublishError?.(err);
    }
  }
}

/** Inserts an account inside an existing tenant transaction (also used when a tenant is created). */
export async function createAccountIn(
  em: TenantEm,
  tenantId: string,
  data: { name: string; description?: string | null; owner?: string | null; scopes: Scope[]; expiresAt?: Date | null },
): Promise<AccountWithToken> {
  const issued = issueToken();
  const account = em.create(AccountSchema, {
    tenantId,
    id: randomUUID(),
    name: data.name,
    description: data.description ?? null,
    owner: data.owner ?? null,
    scopes: data.scopes,
    status: 'active',
    expiresAt: data.expiresAt ?? null,
    tokenHash: issued.hash,
    tokenPrefix: issued.prefix,
    tokenLast4: issued.last4,
  } as Account);
  await em.persist(account).flush();
  return { account, token: issued.token };
}

export { effectiveStatus };
