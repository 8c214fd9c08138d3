import { lexicographicSortSchema, type GraphQLSchema } from 'graphql';
import { builder } from '../graphql/builder';
import '../graphql/scalars';
import '../graphql/errors';
import '../graphql/node';
// Every module's schema file, for its side effect of registering types and fields.
import '../modules/accounts/accounts.schema';
import '../modules/apps/apps.schema';
import '../modules/approvals/approvals.schema';
import '../modules/audit/audit.schema';
import '../modules/configs/configs.schema';
import '../modules/contacts/contacts.schema';
import '../modules/keys/keys.schema';
import '../modules/logs/logs.schema';
import '../modules/logs/streams.schema';
import '../modules/runs/runs.schema';
import '../modules/workers/workers.schema';
import '../modules/workflows/workflows.schema';

let schema: GraphQLSchema | undefined;

/** The assembled schema, sorted so that `schema.graphql` diffs stay readable. */
export function graphqlSchema(): GraphQLSchema {
  schema ??= lexicographicSortSchema(builder.toSchema());
  return schema;
}
