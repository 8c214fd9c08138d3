import type { CommandArgs } from './index';
import { CliError } from './runtime';
import { operatorFor, withOperatorApp } from './operator';
import { accountJson, print, tokenNotice } from './present';
import { DomainError } from '../db/errors';

const USAGE = 'Usage: runlane account create|list|rotate … (runlane --help)';

export async function accountCommand(args: CommandArgs): Promise<number> {
  const [sub, id] = args.positionals;
  const v = args.values;
  if (!sub || !['create', 'list', 'rotate'].includes(sub)) throw new CliError(USAGE, 2);
  if (sub === 'create' && (!v.name || !v.scopes)) throw new CliError('account create needs --name and --scopes', 2);
  if (sub === 'rotate' && !id) throw new CliError('Usage: runlane account rotate <account-id>', 2);
  let expiresAt: Date | undefined;
  if (typeof v['expires-at'] === 'string') {
    expiresAt = new Date(v['expires-at']);
    if (Number.isNaN(expiresAt.getTime())) throw new CliError('--expires-at must be an ISO-8601 date and time', 2);
  }
  return withOperatorApp(async (app) => {
    const actor = await operatorFor(app, v.tenant as string | undefined);
    try {
      if (sub === 'list') {
        const rows = [];
        let after: string | null = null;
        do {
          const page = await app.services.accounts.list(actor.tenantId, { first: 200, after });
          rows.push(...page.nodes);
          after = page.hasNextPage ? page.endCursor : null;
        } while (after);
        if (v.json) print(rows.map(accountJson));
        else for (const a of rows) process.stdout.write(`${a.id}  ${a.status.padEnd(8)} ${a.name}  [${a.scopes.join(' ')}]\n`);
        return 0;
      }
      const result =
        sub === 'create'
          ? await app.services.accounts.create(actor, {
              name: v.name as string,
              description: v.description as string | undefined,
              owner: v.owner as string | undefined,
              scopes: String(v.scopes).split(/[\s,]+/).filter(Boolean),
              expiresAt,
            })
          : await app.services.accounts.rotate(actor.tenantId, id!);
      if (v.json) print({ account: accountJson(result.account), token: result.token });
      else process.stdout.write(`Account ${result.account.name} (${result.account.id}).\n${tokenNotice(result.token)}\n`);
      return 0;
    } catch (err) {
      if (err instanceof DomainError) throw new CliError(err.message);
      throw err;
    }
  });
}
