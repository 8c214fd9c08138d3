import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Orm } from '../../db/orm';
import { callDefiner, inTenant } from '../../db/tenant-transaction';
import { InputError, NotFoundError } from '../../db/errors';
import { TenantSchema, type Tenant } from './tenant.entity';
import { createAccountIn, type AccountWithToken } from './account.service';
import { SCOPES } from './scopes';

const tenantInput = z.object({
  slug: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'slug must be lowercase letters, digits and dashes (at most 63)'),
  name: z.string().trim().min(1).max(200).optional(),
  timezone: z
    .string()
    .refine(isTimeZone, 'timezone must be an IANA time zone such as Europe/Paris')
    .optional(),
});
export type CreateTenantInput = z.input<typeof tenantInput>;

export type CreatedTenant = { tenant: Tenant } & AccountWithToken;

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

export class TenantService {
  constructor(private readonly deps: { orm: Orm }) {}

  /** A tenant and its owner account (every scope) in one transaction; the owner token is returned once. */
  async create(input: CreateTenantInput): Promise<CreatedTenant> {
    const parsed = tenantInput.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InputError(issue.message, issue.path.join('.'));
    }
    const { slug, name, timezone } = parsed.data;
    const id = randomUUID();
    return inTenant(this.deps.orm, id, async (em) => {
      const tenant = em.create(TenantSchema, { id, slug, name: name ?? slug, timezone: timezone ?? 'UTC' } as Tenant);
      await em.persist(tenant).flush();
      const owner = await createAccountIn(em, id, {
        name: 'Owner',
        description: `Owner of tenant ${slug}, created with the tenant`,
        scopes: [...SCOPES],
      });
      return { tenant, ...owner };
    });
  }

  async idOf(slug: string): Promise<string | null> {
    const rows = await callDefiner<{ id: string | null }>(this.deps.orm, 'select runlane_tenant_id(?) as id', [slug]);
    return rows[0]?.id ?? null;
  }

  async get(tenantId: string): Promise<Tenant> {
    const tenant = await inTenant(this.deps.orm, tenantId, (em) => em.findOne(TenantSchema, { id: tenantId }));
    if (!tenant) throw new NotFoundError('Tenant');
    return tenant;
  }
}
