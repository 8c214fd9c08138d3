/**
 * Tool-name globs as guardrail rules write them: anchored at both ends, `*` matches any run of
 * characters (none included), every other character is literal.
 *
 * Matching splits the glob at its stars and finds the pieces in order with `indexOf` rather
 * than building a RegExp: the tool name comes from the model, and a backtracking regex over a
 * glob with many stars could take polynomial time on a long name.
 */
export type ToolMatcher = (tool: string) => boolean;

const MAX_CACHED = 1_000;
const cache = new Map<string, ToolMatcher>();

function compile(glob: string): ToolMatcher {
  const pieces = glob.split('*');
  if (pieces.length === 1) return (tool) => tool === glob;
  const head = pieces[0]!;
  const tail = pieces[pieces.length - 1]!;
  const middle = pieces.slice(1, -1).filter((piece) => piece !== '');
  return (tool) => {
    if (tool.length < head.length + tail.length || !tool.startsWith(head) || !tool.endsWith(tail)) return false;
    const end = tool.length - tail.length;
    let from = head.length;
    // Taking each piece at its leftmost place leaves the most room for the pieces after it.
    for (const piece of middle) {
      const at = tool.indexOf(piece, from);
      if (at < 0 || at + piece.length > end) return false;
      from = at + piece.length;
    }
    return true;
  };
}

/** The matcher of one glob, compiled once and kept (the oldest of more than 1,000 is dropped). */
export function toolGlobMatcher(glob: string): ToolMatcher {
  let matcher = cache.get(glob);
  if (!matcher) {
    matcher = compile(glob);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(glob, matcher);
  }
  return matcher;
}

/** For a list of globs: the first that matches a tool name, or undefined when none does. */
export function firstMatchingGlob(globs: readonly string[]): (tool: string) => string | undefined {
  const matchers = globs.map((glob) => [glob, toolGlobMatcher(glob)] as const);
  return (tool) => matchers.find(([, matches]) => matches(tool))?.[0];
}
