#!/usr/bin/env node
// The published entry point: load TypeScript through tsx, then hand over to the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
