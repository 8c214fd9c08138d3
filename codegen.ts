import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for Runlane's own GraphQL clients (tests, CLI), generated from the committed
// schema.graphql, never from a running server.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/documents/**/*.graphql'],
  generates: {
    'test/documents/generated.ts': {
      plugins: ['typescript', 'typescript-operations', 'typed-document-node'],
      config: {
        scalars: { DateTime: 'string', Date: 'string', JSON: 'unknown', UUID: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
