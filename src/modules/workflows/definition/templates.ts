/**
 * A small Tera-like template renderer for workflow files (seed 001 uses Tera): `{{ expr }}`
 * expressions with dotted paths, literals, a few filters, comparisons and `not`/`and`/`or`;
 * `{# comments #}`; `{{-`/`-}}` whitespace control. Statements (`{% … %}`) are not supported, so
 * a template cannot loop or run for long: rendering is linear in the template and its values.
 */

export type TemplateContext = Record<string, unknown>;

export class TemplateError extends Error {
  override name = 'TemplateError';
}

type Expr =
  | { kind: 'literal'; value: unknown }
  | { kind: 'path'; root: string; segments: (string | number)[] }
  | { kind: 'filter'; name: FilterName; input: Expr; args: FilterArg[] }
  | { kind: 'not'; operand: Expr }
  | { kind: 'logic'; op: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'compare'; op: CompareOp; left: Expr; right: Expr };

type FilterArg = { name?: string; value: Expr };
type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
type Segment = { kind: 'text'; text: string } | { kind: 'expr'; expr: Expr; source: string };

const FILTERS = ['default', 'upper', 'lower', 'trim', 'json', 'json_encode', 'length'] as const;
type FilterName = (typeof FILTERS)[number];

/** Renders every `{{ expr }}` of `text` against `context`. */
export function renderTemplate(text: string, context: TemplateContext): string {
  let result = '';
  for (const segment of parseTemplate(text)) {
    result += segment.kind === 'text' ? segment.text : toText(evaluateDefined(segment, context));
  }
  return result;
}

/**
 * Renders every string inside `value` (object keys are left alone). A string that is exactly one
 * expression keeps its value's JSON type, so `count: "{{ input.count }}"` stays a number and a
 * step can hand another step's whole output on.
 */
export function renderValue(value: unknown, context: TemplateContext): unknown {
  if (typeof value === 'string') {
    const segments = parseTemplate(value);
    const only = segments.length === 1 ? segments[0] : undefined;
    if (only?.kind === 'expr') return evaluateDefined(only, context);
    return renderTemplate(value, context);
  }
  if (Array.isArray(value)) return value.map((item) => renderValue(item, context));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = renderValue(item, context);
    return out;
  }
  return value;
}

/** Template names of steps: `say-hello` is `say_hello`, since `-` would read as a minus. */
export function templateName(stepName: string): string {
  return stepName.replace(/-/g, '_');
}

/** The render context of a step: `input`, and `<step>.output` for every finished step. */
export function templateContext(input: Record<string, unknown>, stepOutputs: Record<string, unknown>): TemplateContext {
  const context: TemplateContext = {};
  for (const [step, output] of Object.entries(stepOutputs)) context[templateName(step)] = { output };
  context.input = input;
  return context;
}

/** Seed 001's truthiness of a rendered `when`. */
export function isTruthy(rendered: string): boolean {
  return !['', 'false', '0', 'null', 'none'].includes(rendered.trim().toLowerCase());
}

/** A step's `when`: rendered as a template, then judged by `isTruthy`. */
export function evaluateWhen(expr: string, context: TemplateContext): boolean {
  return isTruthy(renderTemplate(expr, context));
}

/**
 * Parses `text` (throwing `TemplateError` on a syntax error or an unknown filter) and returns the
 * variable paths it reads, e.g. `input.name`, `say_hello.output.greeting`; dynamic parts
 * (`x[y]`) end a path. Lets upload-time validation refuse a template before any job runs it.
 */
export function checkTemplate(text: string): { references: string[]; expressions: number } {
  const references = new Set<string>();
  const visit = (expr: Expr): void => {
    switch (expr.kind) {
      case 'literal':
        return;
      case 'path':
        references.add([expr.root, ...expr.segments].join('.'));
        return;
      case 'filter':
        visit(expr.input);
        for (const arg of expr.args) visit(arg.value);
        return;
      case 'not':
        visit(expr.operand);
        return;
      case 'logic':
      case 'compare':
        visit(expr.left);
        visit(expr.right);
        return;
    }
  };
  let expressions = 0;
  for (const segment of parseTemplate(text)) {
    if (segment.kind !== 'expr') continue;
    expressions++;
    visit(segment.expr);
  }
  return { references: [...references], expressions };
}

// ---- template text → segments ----

function parseTemplate(text: string): Segment[] {
  const segments: Segment[] = [];
  let pos = 0;
  let trimStart = false;
  const pushText = (chunk: string, trimEnd: boolean) => {
    let t = trimStart ? chunk.trimStart() : chunk;
    if (trimEnd) t = t.trimEnd();
    if (t) segments.push({ kind: 'text', text: t });
  };
  for (;;) {
    const open = findOpening(text, pos);
    if (open < 0) {
      pushText(text.slice(pos), false);
      return segments;
    }
    const kind = text[open + 1];
    const trimEnd = text[open + 2] === '-';
    pushText(text.slice(pos, open), trimEnd);
    if (kind === '%') throw new TemplateError(`statements ({% … %}) are not supported, only {{ … }} expressions (at character ${open + 1})`);
    if (kind === '#') {
      const close = text.indexOf('#}', open + 2);
      if (close < 0) throw new TemplateError(`unclosed comment {# (at character ${open + 1})`);
      trimStart = text[close - 1] === '-';
      pos = close + 2;
      continue;
    }
    const close = findExpressionEnd(text, open + 2);
    if (close < 0) throw new TemplateError(`unclosed {{ (at character ${open + 1}): every {{ needs a matching }}`);
    const bodyStart = open + (trimEnd ? 3 : 2);
    trimStart = text[close - 1] === '-' && close - 1 >= bodyStart;
    const body = text.slice(bodyStart, trimStart ? close - 1 : close);
    const source = text.slice(open, close + 2);
    segments.push({ kind: 'expr', expr: parseExpression(body, source), source });
    pos = close + 2;
  }
}

function findOpening(text: string, from: number): number {
  for (let i = text.indexOf('{', from); i >= 0; i = text.indexOf('{', i + 1)) {
    const next = text[i + 1];
    if (next === '{' || next === '%' || next === '#') return i;
  }
  return -1;
}

/** Index of the `}}` closing an expression, skipping `}}` inside string literals. */
function findExpressionEnd(text: string, from: number): number {
  let quote: string | null = null;
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '}' && text[i + 1] === '}') return i;
    else if (c === '{' && text[i + 1] === '{') return -1;
  }
  return -1;
}

// ---- expression text → Expr ----

type Token =
  | { kind: 'ident'; value: string; pos: number }
  | { kind: 'number'; value: number; pos: number }
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'op'; value: string; pos: number }
  | { kind: 'end'; value: ''; pos: number };

const OPERATORS = ['==', '!=', '<=', '>=', '<', '>', '.', '|', '(', ')', '[', ']', ',', '='];

function tokenize(body: string, source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < body.length) {
    const c = body[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i))!;
      tokens.push({ kind: 'ident', value: m[0], pos: i });
      i += m[0].length;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(body[i + 1] ?? '') && !endsOperand(tokens))) {
      // After a `.`, digits are an array index: `x.0.1` is two segments, not the float 0.1.
      const afterDot = tokens.at(-1)?.kind === 'op' && tokens.at(-1)?.value === '.';
      const m = (afterDot ? /^[0-9]+/ : /^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/).exec(body.slice(i))!;
      tokens.push({ kind: 'number', value: Number(m[0]), pos: i });
      i += m[0].length;
    } else if (c === '"' || c === "'" || c === '`') {
      let value = '';
      let j = i + 1;
      for (; j < body.length && body[j] !== c; j++) {
        if (body[j] === '\\' && j + 1 < body.length) {
          const escaped = body[++j]!;
          value += ({ n: '\n', t: '\t', r: '\r' } as Record<string, string>)[escaped] ?? escaped;
        } else value += body[j];
      }
      if (j >= body.length) throw new TemplateError(`unterminated string in ${source}`);
      tokens.push({ kind: 'string', value, pos: i });
      i = j + 1;
    } else {
      const op = OPERATORS.find((o) => body.startsWith(o, i));
      if (!op) {
        const previous = tokens.at(-1);
        if (c === '-' && previous?.kind === 'ident') {
          throw new TemplateError(`unexpected "-" in ${source}: names cannot contain hyphens (step "a-b" is a_b in templates)`);
        }
        throw new TemplateError(`unexpected "${c}" in ${source}`);
      }
      tokens.push({ kind: 'op', value: op, pos: i });
      i += op.length;
    }
  }
  tokens.push({ kind: 'end', value: '', pos: body.length });
  return tokens;
}

function endsOperand(tokens: Token[]): boolean {
  const last = tokens.at(-1);
  return !!last && (last.kind !== 'op' || last.value === ')' || last.value === ']');
}

function parseExpression(body: string, source: string): Expr {
  const tokens = tokenize(body, source);
  if (tokens.length === 1) throw new TemplateError(`empty expression ${source}`);
  let at = 0;
  const peek = () => tokens[at]!;
  const describe = (t: Token) => (t.kind === 'end' ? 'the end of the expression' : `"${t.value}"`);
  const fail = (message: string): never => {
    throw new TemplateError(`${message} in ${source}`);
  };
  const isOp = (value: string) => peek().kind === 'op' && peek().value === value;
  const isWord = (value: string) => peek().kind === 'ident' && peek().value === value;
  const expectOp = (value: string) => {
    if (!isOp(value)) fail(`expected "${value}" but found ${describe(peek())}`);
    at++;
  };

  const parseOr = (): Expr => {
    let left = parseAnd();
    while (isWord('or')) {
      at++;
      left = { kind: 'logic', op: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): Expr => {
    let left = parseNot();
    while (isWord('and')) {
      at++;
      left = { kind: 'logic', op: 'and', left, right: parseNot() };
    }
    return left;
  };
  const parseNot = (): Expr => {
    if (isWord('not')) {
      at++;
      return { kind: 'not', operand: parseNot() };
    }
    return parseCompare();
  };
  const parseCompare = (): Expr => {
    const left = parseFiltered();
    const t = peek();
    if (t.kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.value)) {
      at++;
      return { kind: 'compare', op: t.value as CompareOp, left, right: parseFiltered() };
    }
    return left;
  };
  const parseFiltered = (): Expr => {
    let input = parsePrimary();
    while (isOp('|')) {
      at++;
      const t = peek();
      if (t.kind !== 'ident') fail(`expected a filter name after "|" but found ${describe(t)}`);
      at++;
      const name = t.value as string;
      if (!(FILTERS as readonly string[]).includes(name)) fail(`unknown filter "${name}" (known: ${FILTERS.join(', ')})`);
      const args: FilterArg[] = [];
      if (isOp('(')) {
        at++;
        while (!isOp(')')) {
          const next = tokens[at + 1];
          if (peek().kind === 'ident' && next?.kind === 'op' && next.value === '=') {
            const argName = peek().value as string;
            at += 2;
            args.push({ name: argName, value: parseOr() });
          } else args.push({ value: parseOr() });
          if (!isOp(')')) expectOp(',');
        }
        at++;
      }
      if (name === 'default' && args.length !== 1) fail('default needs one argument, e.g. default(value="x")');
      input = { kind: 'filter', name: name as FilterName, input, args };
    }
    return input;
  };
  const parsePrimary = (): Expr => {
    const t = peek();
    at++;
    if (t.kind === 'number' || t.kind === 'string') return { kind: 'literal', value: t.value };
    if (t.kind === 'op' && t.value === '(') {
      const inner = parseOr();
      expectOp(')');
      return inner;
    }
    if (t.kind !== 'ident') return fail(`expected a value but found ${describe(t)}`);
    if (t.value === 'true' || t.value === 'True') return { kind: 'literal', value: true };
    if (t.value === 'false' || t.value === 'False') return { kind: 'literal', value: false };
    if (['and', 'or', 'not'].includes(t.value)) return fail(`expected a value but found "${t.value}"`);
    const segments: (string | number)[] = [];
    for (;;) {
      if (isOp('.')) {
        at++;
        const s = peek();
        if (s.kind !== 'ident' && s.kind !== 'number') fail(`expected a name after "." but found ${describe(s)}`);
        segments.push(s.value as string | number);
        at++;
      } else if (isOp('[')) {
        at++;
        const s = peek();
        if (s.kind !== 'string' && s.kind !== 'number') fail(`expected a string or an index inside [ ] but found ${describe(s)}`);
        segments.push(s.value as string | number);
        at++;
        expectOp(']');
      } else break;
    }
    return { kind: 'path', root: t.value, segments };
  };

  const expr = parseOr();
  if (peek().kind !== 'end') fail(`unexpected ${describe(peek())}`);
  return expr;
}

// ---- evaluation ----

/** Stands for a variable that is not in the context, so `default` can replace it. */
class Missing {
  constructor(readonly message: string) {}
}

function evaluateDefined(segment: Extract<Segment, { kind: 'expr' }>, context: TemplateContext): unknown {
  let value: unknown;
  try {
    value = evaluate(segment.expr, context);
  } catch (err) {
    if (err instanceof TemplateError) throw new TemplateError(`${err.message} in ${segment.source}`);
    throw err;
  }
  if (value instanceof Missing) throw new TemplateError(`${value.message} in ${segment.source}`);
  return value;
}

function evaluate(expr: Expr, context: TemplateContext): unknown {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'path':
      return lookup(expr, context);
    case 'filter':
      return applyFilter(expr, context);
    case 'not':
      return !truthy(defined(evaluate(expr.operand, context)));
    case 'logic': {
      const left = truthy(defined(evaluate(expr.left, context)));
      if (expr.op === 'and' ? !left : left) return left;
      return truthy(defined(evaluate(expr.right, context)));
    }
    case 'compare':
      return compare(expr.op, defined(evaluate(expr.left, context)), defined(evaluate(expr.right, context)));
  }
}

function defined(value: unknown): unknown {
  if (value instanceof Missing) throw new TemplateError(value.message);
  return value;
}

function lookup(path: Extract<Expr, { kind: 'path' }>, context: TemplateContext): unknown {
  if (!Object.hasOwn(context, path.root)) {
    const known = Object.keys(context).sort().join(', ') || 'nothing';
    return new Missing(`"${path.root}" is not defined (available: ${known})`);
  }
  let value: unknown = context[path.root];
  let walked = path.root;
  for (const segment of path.segments) {
    const next = child(value, segment);
    if (next === undefined) {
      const full = [path.root, ...path.segments].join('.');
      return new Missing(`"${full}" is not defined ("${walked}" has no "${segment}")`);
    }
    value = next;
    walked += `.${segment}`;
  }
  return value;
}

function child(value: unknown, segment: string | number): unknown {
  if (Array.isArray(value)) {
    const index = typeof segment === 'number' ? segment : /^[0-9]+$/.test(segment) ? Number(segment) : NaN;
    return Number.isInteger(index) && index < value.length ? value[index] : undefined;
  }
  if (isPlainObject(value)) {
    const key = String(segment);
    return Object.hasOwn(value, key) ? value[key] : undefined;
  }
  return undefined;
}

function applyFilter(expr: Extract<Expr, { kind: 'filter' }>, context: TemplateContext): unknown {
  const input = evaluate(expr.input, context);
  if (expr.name === 'default') {
    // Tera's default replaces a missing variable; null is treated the same, since a step's
    // optional output field is more often null than absent.
    return input instanceof Missing || input === null ? defined(evaluate(expr.args[0]!.value, context)) : input;
  }
  const value = defined(input);
  switch (expr.name) {
    case 'upper':
      return toText(value).toUpperCase();
    case 'lower':
      return toText(value).toLowerCase();
    case 'trim':
      return toText(value).trim();
    case 'json':
    case 'json_encode': {
      const pretty = expr.args.some((a) => a.name === 'pretty' && truthy(defined(evaluate(a.value, context))));
      return JSON.stringify(value ?? null, null, pretty ? 2 : undefined);
    }
    case 'length':
      if (typeof value === 'string' || Array.isArray(value)) return value.length;
      if (isPlainObject(value)) return Object.keys(value).length;
      throw new TemplateError(`length needs a string, an array or an object, not ${typeName(value)}`);
  }
}

function compare(op: CompareOp, left: unknown, right: unknown): boolean {
  if (op === '==') return deepEqual(left, right);
  if (op === '!=') return !deepEqual(left, right);
  const comparable = (typeof left === 'number' && typeof right === 'number') || (typeof left === 'string' && typeof right === 'string');
  if (!comparable) throw new TemplateError(`cannot compare ${typeName(left)} ${op} ${typeName(right)}`);
  const l = left as number | string;
  const r = right as number | string;
  return op === '<' ? l < r : op === '<=' ? l <= r : op === '>' ? l > r : l >= r;
}

/** Tera's truthiness inside expressions (the rendered `when` uses `isTruthy`). */
function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (isPlainObject(value)) return Object.keys(value).length > 0;
  return !!value;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
