import type { CommandArgs } from './index';
import { CliError } from './runtime';
import { withOperatorApp } from './operator';
import { accountJson, print, tenantJson, tokenNotice } from './present';
import { DomainError } from '../db/errors';

export async function tenantCommand(args: CommandArgs): Promise<number> {
  const [sub, slug] = args.positionals;
  if (sub !== 'create' || !slug) throw new CliError('Usage: runlane tenant create <slug> [--name N] [--timezone TZ] [--json]', 2);
  return withOperatorApp(async (app) => {
    try {
      const created = await app.services.tenants.create({
        slug,
        name: args.values.name as string | undefined,
        timezone: args.values.timezone as string | undefined,
      });
      if (args.values.json) {
        print({ tenant: tenantJson(created.tenant), account: accountJson(created.account), token: created.token });
      } else {
        process.stdout.write(
          `Created tenant ${created.tenant.slug} (${created.tenant.id}) with owner account ${created.account.id}.\n${tokenNotice(created.token)}\n`,
        );
      }
      return 0;
    } catch (err) {
      if (err instanceof DomainError) throw new CliError(err.message);
      throw err;
    }
  });
}
