import { InputError } from './errors';

/** Keyset pagination over (created_at desc, id desc): stable while rows are added. */
export type PageArgs = { first?: number | null; after?: string | null };
export type Page<T> = { nodes: T[]; hasNextPage: boolean; endCursor: string | null; cursorOf: (node: T) => string };

export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 50;

export type Keyset = { createdAt: Date; id: string };

export function encodeCursor(key: Keyset): string {
  return Buffer.from(JSON.stringify([key.createdAt.toISOString(), key.id])).toString('base64url');
}

export function decodeCursor(cursor: string): Keyset {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(createdAt);
    if (Number.isNaN(date.getTime()) || typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id)) throw new Error();
    return { createdAt: date, id };
  } catch {
    throw new InputError('The cursor is not one this API issued.', 'after');
  }
}

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new InputError(`first must be between 1 and ${MAX_PAGE_SIZE}.`, 'first');
  }
  return first;
}

/** The filter that selects rows strictly after a cursor in (created_at desc, id desc) order. */
export function afterFilter(after: string | null | undefined): object {
  if (!after) return {};
  const key = decodeCursor(after);
  return {
    $or: [{ createdAt: { $lt: key.createdAt } }, { createdAt: key.createdAt, id: { $lt: key.id } }],
  };
}

/** afterFilter for plain SQL (`?` placeholders); null when there is no cursor. */
export function afterCondition(after: string | null | undefined): { sql: string; params: unknown[] } | null {
  if (!after) return null;
  const key = decodeCursor(after);
  return { sql: '(created_at, id) < (?::timestamptz, ?::uuid)', params: [key.createdAt, key.id] };
}

/** Builds a page from rows fetched with limit size + 1. */
export function toPage<T extends Keyset>(rows: T[], size: number): Page<T> {
  const nodes = rows.slice(0, size);
  const last = nodes.at(-1);
  return {
    nodes,
    hasNextPage: rows.length > size,
    endCursor: last ? encodeCursor(last) : null,
    cursorOf: encodeCursor,
  };
}
