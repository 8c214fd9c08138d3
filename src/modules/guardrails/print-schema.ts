import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { guardrailJsonSchemaText } from './rules';

// `npm run guardrails:schema` rewrites the published rule schema; rules.test.ts fails while it is stale.
const path = fileURLToPath(new URL('../../../docs/guardrail-rules.schema.json', import.meta.url));
writeFileSync(path, guardrailJsonSchemaText());
process.stdout.write(`Wrote ${path}\n`);
