import { Migration0001Foundation } from './0001_foundation';

// Explicit, ordered list: the migrator never globs the file system.
export const migrations = [{ name: '0001_foundation', class: Migration0001Foundation }];
