/**
 * Cron expressions as agent configs accept them: 5 fields (minute hour day-of-month month
 * day-of-week) or 6 with seconds first. Each field is `*`, a value, a range `a-b`, a step
 * `*\/n` or `a-b/n`, or a comma list of those; months and weekdays also take names.
 * Returns null when valid, otherwise the reason.
 */
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

type Field = { name: string; min: number; max: number; names?: string[]; namesFrom?: number };

const SECOND: Field = { name: 'second', min: 0, max: 59 };
const FIELDS: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  { name: 'day-of-week', min: 0, max: 7, names: DAYS, namesFrom: 0 },
];

function value(text: string, field: Field): number | null {
  const named = field.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + (field.namesFrom ?? 0);
  if (!/^\d{1,2}$/.test(text)) return null;
  const n = Number(text);
  return n >= field.min && n <= field.max ? n : null;
}

function checkPart(part: string, field: Field): string | null {
  const [range, step, extra] = part.split('/');
  if (extra !== undefined || range === undefined || range === '') return `${field.name}: "${part}" is not a value, range or step`;
  if (step !== undefined && !(/^\d{1,2}$/.test(step) && Number(step) >= 1 && Number(step) <= field.max)) {
    return `${field.name}: step "${step}" must be a number from 1 to ${field.max}`;
  }
  if (range === '*') return null;
  const [from, to, more] = range.split('-');
  if (more !== undefined) return `${field.name}: "${range}" is not a range`;
  const a = value(from!, field);
  if (a === null) return `${field.name}: "${from}" is outside ${field.min}-${field.max}`;
  if (to === undefined) return null;
  const b = value(to, field);
  if (b === null) return `${field.name}: "${to}" is outside ${field.min}-${field.max}`;
  if (b < a) return `${field.name}: range "${range}" runs backwards`;
  return null;
}

export function cronProblem(expression: string): string | null {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    return `expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds, got ${parts.length}`;
  }
  const fields = parts.length === 6 ? [SECOND, ...FIELDS] : FIELDS;
  for (let i = 0; i < parts.length; i++) {
    for (const piece of parts[i]!.split(',')) {
      const problem = checkPart(piece, fields[i]!);
      if (problem) return problem;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Fire times. A schedule is evaluated on the wall clock of a time zone (the tenant's, UTC by
// default): the search walks local dates and times, then maps the match to an instant.
//  - Day-of-month and day-of-week follow Vixie cron: when both are restricted (neither starts
//    with `*`) a day matching either fires; otherwise both must match. 7 is Sunday too.
//  - `a/n` means `a-max/n`.
//  - A local time skipped by a DST change (02:30 when clocks jump 02:00 → 03:00) fires at the
//    same distance after the jump (03:30); a repeated local time (01:30 when clocks fall back)
//    fires once, at its first occurrence. Every local match fires once, none twice.
// ---------------------------------------------------------------------------------------------

type Compiled = {
  seconds: boolean[];
  minutes: boolean[];
  hours: boolean[];
  days: boolean[];
  months: boolean[];
  weekdays: boolean[];
  /** Vixie's rule: both day fields restricted → either may match. */
  eitherDay: boolean;
};

function expand(text: string, field: Field): boolean[] {
  const set = new Array<boolean>(field.max + 1).fill(false);
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let from = field.min;
    let to = field.max;
    if (range !== '*') {
      const [a, b] = range!.split('-');
      from = value(a!, field)!;
      to = b !== undefined ? value(b, field)! : stepText === undefined ? from : field.max;
    }
    for (let v = from; v <= to; v += step) set[v] = true;
  }
  return set;
}

const compiledCache = new Map<string, Compiled>();

function compile(expression: string): Compiled {
  const cached = compiledCache.get(expression);
  if (cached) return cached;
  const problem = cronProblem(expression);
  if (problem) throw new Error(`Invalid cron expression "${expression}": ${problem}`);
  const parts = expression.trim().split(/\s+/);
  if (parts.length === 5) parts.unshift('0');
  const [s, mi, h, dom, mon, dow] = parts as [string, string, string, string, string, string];
  const weekdays = expand(dow, FIELDS[4]!);
  if (weekdays[7]) weekdays[0] = true;
  const compiled: Compiled = {
    seconds: expand(s, SECOND),
    minutes: expand(mi, FIELDS[0]!),
    hours: expand(h, FIELDS[1]!),
    days: expand(dom, FIELDS[2]!),
    months: expand(mon, FIELDS[3]!),
    weekdays,
    eitherDay: !dom.startsWith('*') && !dow.startsWith('*'),
  };
  if (compiledCache.size > 1_000) compiledCache.clear();
  compiledCache.set(expression, compiled);
  return compiled;
}

/** Wall-clock fields; month 1-12. */
export type Wall = { y: number; mo: number; d: number; h: number; mi: number; s: number };

const formatters = new Map<string, Intl.DateTimeFormat>();

function isUtc(timeZone: string): boolean {
  return timeZone === 'UTC' || timeZone === 'Etc/UTC';
}

export function wallOf(ms: number, timeZone: string): Wall {
  if (isUtc(timeZone)) {
    const d = new Date(ms);
    return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() };
  }
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  const f: Record<string, number> = {};
  for (const p of format.formatToParts(ms)) if (p.type !== 'literal') f[p.type] = Number(p.value);
  return { y: f.year!, mo: f.month!, d: f.day!, h: f.hour! % 24, mi: f.minute!, s: f.second! };
}

export const wallMs = (w: Wall) => Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);

/** The zone's offset from UTC at an instant, in ms. */
export function offsetAt(ms: number, timeZone: string): number {
  return wallMs(wallOf(ms, timeZone)) - Math.floor(ms / 1000) * 1000;
}

/**
 * The instants showing this wall-clock time, earliest first: one, two (clocks fell back) or,
 * when the time was skipped, the instant as far past the jump as the time is past its start.
 */
export function instantsOf(w: Wall, timeZone: string): number[] {
  const local = wallMs(w);
  if (isUtc(timeZone)) return [local];
  const DAY = 86_400_000;
  const before = offsetAt(local - DAY, timeZone);
  const after = offsetAt(local + DAY, timeZone);
  const found = [...new Set([before, after])].map((o) => local - o).filter((ms) => offsetAt(ms, timeZone) === local - ms);
  found.sort((a, b) => a - b);
  return found.length > 0 ? found : [local - before];
}

const daysIn = (y: number, mo: number) => new Date(Date.UTC(y, mo, 0)).getUTCDate();

/**
 * Long enough for the rarest expression that fires at all: 29 February on certain weekdays (a
 * step day-of-week such as `*\/3` keeps the AND rule), which may be 28 years apart.
 */
const HORIZON_YEARS = 30;

/**
 * The first fire time strictly after `after` (whole seconds), evaluated on the wall clock of
 * `timeZone` (IANA; default UTC). Null when the expression can never fire (31 February).
 * Throws on an invalid expression.
 */
export function nextFireTime(expression: string, after: Date, timeZone = 'UTC'): Date | null {
  const c = compile(expression);
  const afterMs = after.getTime();
  if (!Number.isFinite(afterMs)) throw new Error('nextFireTime: invalid date');
  const w = wallOf(Math.floor(afterMs / 1000) * 1000 + 1000, timeZone);
  const lastYear = w.y + HORIZON_YEARS;
  const nextDay = () => {
    w.d++;
    w.h = w.mi = w.s = 0;
  };
  while (w.y <= lastYear) {
    if (w.mo > 12) {
      w.y++;
      w.mo = 1;
      w.d = 1;
      w.h = w.mi = w.s = 0;
      continue;
    }
    if (!c.months[w.mo]) {
      w.mo++;
      w.d = 1;
      w.h = w.mi = w.s = 0;
      continue;
    }
    if (w.d > daysIn(w.y, w.mo)) {
      w.mo++;
      w.d = 1;
      w.h = w.mi = w.s = 0;
      continue;
    }
    const weekday = new Date(Date.UTC(w.y, w.mo - 1, w.d)).getUTCDay();
    const dayOk = c.eitherDay ? c.days[w.d] || c.weekdays[weekday] : c.days[w.d] && c.weekdays[weekday];
    if (!dayOk) {
      nextDay();
      continue;
    }
    if (w.h > 23) {
      nextDay();
      continue;
    }
    if (!c.hours[w.h]) {
      w.h++;
      w.mi = w.s = 0;
      continue;
    }
    if (w.mi > 59) {
      w.h++;
      w.mi = w.s = 0;
      continue;
    }
    if (!c.minutes[w.mi]) {
      w.mi++;
      w.s = 0;
      continue;
    }
    if (w.s > 59) {
      w.mi++;
      w.s = 0;
      continue;
    }
    if (!c.seconds[w.s]) {
      w.s++;
      continue;
    }
    // A matching wall-clock time: its first instant after `after`, if any (it may lie before
    // `after` when `after` itself is in a repeated hour).
    const at = instantsOf(w, timeZone).find((ms) => ms > afterMs);
    if (at !== undefined) return new Date(at);
    w.s++;
  }
  return null;
}

/**
 * The latest fire time in [from, until], both inclusive, or null when none. The scheduler uses
 * it to fire the most recent of several missed ticks. Looks back over growing windows from
 * `until`, so the cost depends on how recent the last fire was, not on how far back `from` is.
 */
export function latestFireTime(expression: string, from: Date, until: Date, timeZone = 'UTC'): Date | null {
  const fromMs = from.getTime();
  const untilMs = until.getTime();
  if (untilMs < fromMs) return null;
  for (let window = 60_000; ; window *= 8) {
    const start = Math.max(fromMs, untilMs - window);
    // Fire times strictly after start - 1 ms, i.e. at or after start (fire times are whole seconds).
    let latest: Date | null = null;
    for (let t = nextFireTime(expression, new Date(start - 1), timeZone); t && t.getTime() <= untilMs; t = nextFireTime(expression, t, timeZone)) {
      latest = t;
    }
    if (latest || start === fromMs) return latest;
  }
}
