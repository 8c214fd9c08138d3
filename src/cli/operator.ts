import { createApp, type App } from '../app';
import { SCOPES } from '../modules/accounts/scopes';
import type { Actor } from '../modules/accounts/account.service';
import { CliError, configOrExit, keyringFor, openDatabase, quietLoggerFor } from './runtime';

/**
 * Administrative commands run as the operator of the installation: a short-lived app on the
 * same database, acting for one tenant with every scope.
 */
export async function withOperatorApp<T>(work: (app: App) => Promise<T>): Promise<T> {
  const config = configOrExit();
  const log = quietLoggerFor(config);
  const keyring = await keyringFor(config, log);
  const db = await openDatabase(config, log);
  try {
    const app = await createApp({ config, databaseUrl: db.appUrl, keyring, log });
    try {
      return await work(app);
    } finally {
      await app.close();
    }
  } finally {
    await db.close();
  }
}

export async function operatorFor(app: App, slug: string | undefined): Promise<Actor> {
  const tenantSlug = slug ?? app.config.defaultTenant;
  const tenantId = await app.services.tenants.idOf(tenantSlug);
  if (!tenantId) throw new CliError(`No tenant with slug "${tenantSlug}".`);
  return { tenantId, name: 'operator (cli)', scopes: new Set(SCOPES) };
}
