import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { DefinitionError } from './types';

/**
 * Position-aware reading of one parsed workflow file. The definition is read from the YAML syntax
 * tree rather than from `toJS()` output so that every error can point at the exact key or value
 * it is about. Readers report what is wrong and return undefined, so one pass finds every error.
 */

export type Loc = { file: string; line: number; column: number };

/** One `key: value` of a mapping; `value` is null for `key:` with nothing after it. */
export type Entry = { key: string; keyNode: Node; value: Node | null };

/**
 * How many nodes one file may expand to. Aliases are expanded where they are used, so a few lines
 * of nested aliases could otherwise expand to billions of nodes ("billion laughs").
 */
const NODE_BUDGET = 200_000;

export class YamlSource {
  private budget = NODE_BUDGET;
  /** `Alias.resolve` searches the whole document, so each alias is resolved once. */
  private readonly aliases = new Map<Node, Node | null>();

  constructor(
    readonly file: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly errors: DefinitionError[],
  ) {}

  loc(at: Node | Loc): Loc {
    if (!isNode(at)) return at;
    const { line, col } = this.lines.linePos(at.range?.[0] ?? 0);
    return { file: this.file, line, column: col };
  }

  error(at: Node | Loc, message: string): void {
    this.errors.push({ ...this.loc(at), message });
  }

  /** Counts expanded nodes against the file's budget; reports once when it runs out. */
  private spend(count: number, at: Node | null, what: string): boolean {
    if (this.budget < 0) return false;
    this.budget -= count;
    if (this.budget >= 0) return true;
    this.error(at ?? { file: this.file, line: 1, column: 1 }, `${what} expands to more than ${NODE_BUDGET} values (nested aliases?)`);
    return false;
  }

  /** Where to report a problem with an entry's value: the value, or its key when the value is empty. */
  valueAt(entry: Entry): Node {
    const v = entry.value;
    return v && !(isScalar(v) && v.value === null && v.range?.[0] === v.range?.[1]) ? v : entry.keyNode;
  }

  /** Follows aliases (`*name`); reports an unknown one. */
  resolve(node: Node | null): Node | null {
    if (!node || !isAlias(node)) return node;
    if (this.aliases.has(node)) return this.aliases.get(node)!;
    const target = (node.resolve(this.doc) as Node | undefined) ?? null;
    if (!target) this.error(node, `unknown alias *${node.source}`);
    this.aliases.set(node, target);
    return target;
  }

  /** The entries of a mapping in file order, merge keys (`<<: *base`) expanded; undefined if not a mapping. */
  entries(node: Node | null, what: string, at?: Node): Entry[] | undefined {
    const map = this.resolve(node);
    if (!isMap(map)) {
      this.error(map ?? at ?? node ?? this.doc.contents ?? { file: this.file, line: 1, column: 1 }, `${what} must be a mapping, not ${kindOf(map)}`);
      return undefined;
    }
    if (!this.spend(map.items.length, map, what)) return undefined;
    const explicit: Entry[] = [];
    const merged: Entry[][] = [];
    for (const pair of map.items) {
      const keyNode = pair.key as Node | null;
      const value = (pair.value as Node | null) ?? null;
      if (isScalar(keyNode) && typeof keyNode.value === 'symbol') {
        // A merge key: the mapping(s) it names fill in the keys not written here.
        const sources = isSeq(this.resolve(value)) ? ((this.resolve(value) as { items: Node[] }).items ?? []) : [value];
        const fromSources: Entry[] = [];
        for (const source of sources) fromSources.push(...(this.entries(source, 'a merge key (<<) source', keyNode) ?? []));
        merged.push(fromSources);
        explicit.push({ key: '<<', keyNode, value });
        continue;
      }
      const key = isScalar(keyNode) && ['string', 'number', 'boolean'].includes(typeof keyNode.value) ? String(keyNode.value) : undefined;
      if (key === undefined || !keyNode) {
        this.error(keyNode ?? map, `${what}: keys must be plain names, not ${kindOf(keyNode)}`);
        continue;
      }
      explicit.push({ key, keyNode, value });
    }
    if (merged.length === 0) return explicit;
    const written = new Set(explicit.map((e) => e.key));
    const out: Entry[] = [];
    let next = 0;
    for (const entry of explicit) {
      if (entry.key !== '<<') {
        out.push(entry);
        continue;
      }
      for (const m of merged[next++]!) {
        if (!written.has(m.key)) {
          written.add(m.key);
          out.push(m);
        }
      }
    }
    return out;
  }

  string(entry: Entry, what: string): string | undefined {
    const node = this.resolve(entry.value);
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    this.error(this.valueAt(entry), `${what} must be a string, not ${kindOf(node)}`);
    return undefined;
  }

  boolean(entry: Entry, what: string): boolean | undefined {
    const node = this.resolve(entry.value);
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    this.error(this.valueAt(entry), `${what} must be true or false, not ${kindOf(node)}`);
    return undefined;
  }

  /** A list of strings, with each item's node so callers can point at a single bad item. */
  stringList(entry: Entry, what: string): { value: string; node: Node }[] | undefined {
    const node = this.resolve(entry.value);
    if (!isSeq(node)) {
      this.error(this.valueAt(entry), `${what} must be a list of strings, not ${kindOf(node)}`);
      return undefined;
    }
    const items: { value: string; node: Node }[] = [];
    let ok = true;
    for (const raw of node.items as Node[]) {
      const item = this.resolve(raw);
      if (isScalar(item) && typeof item.value === 'string') items.push({ value: item.value, node: item });
      else {
        this.error(item ?? raw ?? node, `${what} must hold only strings, not ${kindOf(item)}`);
        ok = false;
      }
    }
    return ok ? items : undefined;
  }

  /**
   * The value as plain JSON (aliases and merge keys applied). `onString` sees every string with its
   * node, so templates can be checked where they are written. Undefined after reporting a
   * non-JSON value (e.g. `!!binary`).
   */
  json(node: Node | null, what: string, onString?: (text: string, node: Node) => void, depth = 0): unknown {
    const resolved = this.resolve(node);
    if (!this.spend(1, node, what)) return undefined;
    if (depth > 64) {
      this.error(node ?? { file: this.file, line: 1, column: 1 }, `${what} is nested too deeply`);
      return undefined;
    }
    if (resolved === null) return null;
    if (isScalar(resolved)) {
      const v = resolved.value;
      if (typeof v === 'string') onString?.(v, resolved);
      if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) {
        if (typeof v === 'number' && !Number.isFinite(v)) {
          this.error(resolved, `${what}: ${resolved.source} is not a JSON number`);
          return undefined;
        }
        return v;
      }
      this.error(resolved, `${what}: ${resolved.tag ?? 'this value'} is not JSON (use a string, number, true/false, null, list or mapping)`);
      return undefined;
    }
    if (isSeq(resolved)) return (resolved.items as Node[]).map((item) => this.json(item, what, onString, depth + 1));
    if (isMap(resolved)) {
      const out: Record<string, unknown> = {};
      for (const entry of this.entries(resolved, what) ?? []) out[entry.key] = this.json(entry.value, what, onString, depth + 1);
      return out;
    }
    this.error(resolved, `${what} is not JSON`);
    return undefined;
  }
}

function isNode(value: Node | Loc): value is Node {
  return !('file' in value && 'line' in value);
}

/** How error messages name a node's kind: "a list", "a mapping", `"abc"`, `42`. */
export function kindOf(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'empty';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'empty (null)';
    if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  }
  return 'an unsupported value';
}
