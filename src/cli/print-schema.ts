import { readFileSync, writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { graphqlSchema } from '../http/schema';

// `npm run schema` writes schema.graphql from the Pothos code; `--check` fails when it is stale.
const path = new URL('../../schema.graphql', import.meta.url);
const printed = `${printSchema(graphqlSchema())}\n`;

if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(path, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (committed !== printed) {
    process.stderr.write('schema.graphql is stale: run `npm run schema` and commit the result.\n');
    process.exit(1);
  }
  process.stdout.write('schema.graphql is current.\n');
} else {
  writeFileSync(path, printed);
  process.stdout.write('Wrote schema.graphql\n');
}
