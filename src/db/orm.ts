import { MikroORM, type EntitySchema } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { migrations } from '../../migrations/index';

export type Orm = MikroORM;

export type OrmOptions = {
  url: string;
  poolSize: number;
  entities: EntitySchema<any, any>[];
  applicationName?: string;
  /** SET ROLE at connection start (migrations connect as a superuser and act as the owner). */
  role?: string;
};

/** One ORM per process and connection string; everything else forks its EntityManager. */
export async function createOrm(options: OrmOptions): Promise<Orm> {
  return MikroORM.init({
    clientUrl: options.url,
    entities: options.entities,
    discovery: { warnWhenNoEntities: false },
    extensions: [Migrator],
    migrations: { migrationsList: migrations, tableName: 'runlane_migrations', silent: true, allOrNothing: true, snapshot: false },
    pool: { min: 0, max: options.poolSize, idleTimeoutMillis: 30_000 },
    driverOptions: {
      connection: {
        application_name: options.applicationName ?? 'runlane',
        ...(options.role ? { options: `-c role=${options.role}` } : {}),
      },
    },
    // A global EntityManager would share state across requests and tenants.
    allowGlobalContext: false,
    debug: false,
    ensureDatabase: false,
  });
}
