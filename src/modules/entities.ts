import { AccountSchema } from './accounts/account.entity';
import { TenantSchema } from './accounts/tenant.entity';

/** Every entity the ORM knows; the composition root hands this list to createOrm. */
export const entities = [TenantSchema, AccountSchema];
