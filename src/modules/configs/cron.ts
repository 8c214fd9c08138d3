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
