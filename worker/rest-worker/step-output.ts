/**
 * What a step's process says about its result (seed-systems §2.4): the last valid
 * `OUTPUT: {json}` (or `OUTPUT:{json}`) stdout line is its output, and a failure carries the tail of
 * its stderr.
 */

const PREFIX = 'OUTPUT:';
export const STDERR_TAIL_BYTES = 2 * 1024;

/** The JSON of an `OUTPUT:` line, or undefined when the line is not one or its JSON is invalid. */
export function parseOutputLine(line: string): unknown {
  const trimmed = line.trim();
  if (!trimmed.startsWith(PREFIX)) return undefined;
  const json = trimmed.slice(PREFIX.length).trim();
  if (!json) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

/** Watches stdout lines; the last valid `OUTPUT:` line wins, invalid ones are ignored. */
export class OutputCollector {
  private value: unknown = null;

  line(line: string): void {
    const parsed = parseOutputLine(line);
    if (parsed !== undefined) this.value = parsed;
  }

  get output(): unknown {
    return this.value;
  }
}

/** Keeps the last 2 KiB of stderr. */
export class StderrTail {
  private text = '';

  line(line: string): void {
    this.text += `${line}\n`;
    if (this.text.length > STDERR_TAIL_BYTES * 2) this.text = this.text.slice(-STDERR_TAIL_BYTES * 2);
  }

  get tail(): string {
    const trimmed = this.text.replace(/\n$/, '');
    const bytes = Buffer.from(trimmed);
    if (bytes.length <= STDERR_TAIL_BYTES) return trimmed;
    return bytes.subarray(bytes.length - STDERR_TAIL_BYTES).toString('utf8').replace(/^\uFFFD+/, '');
  }
}

/** The error a step reports when its process exits non-zero. */
export function exitError(exitCode: number, stderrTail: string): string {
  return `Exit code: ${exitCode}\nStderr: ${stderrTail}`;
}
