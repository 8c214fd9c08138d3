import type { Page, PageArgs } from '../db/pagination';

/** A keyset page in the shape Pothos relay connections resolve. */
export function connectionOf<T>(page: Page<T>, args: PageArgs) {
  return {
    edges: page.nodes.map((node) => ({ node, cursor: page.cursorOf(node) })),
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: Boolean(args.after),
      startCursor: page.nodes[0] ? page.cursorOf(page.nodes[0]) : null,
      endCursor: page.endCursor,
    },
  };
}
