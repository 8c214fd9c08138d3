import { describe, expect, it } from 'vitest';
import { LineSplitter } from './line-splitter';
import { cutLine, MAX_LINE_BYTES } from './log-shipper';
import { exitError, OutputCollector, parseOutputLine, StderrTail } from './step-output';

describe('OUTPUT lines', () => {
  it('parses both spellings and ignores everything else', () => {
    expect(parseOutputLine('OUTPUT: {"a":1}')).toEqual({ a: 1 });
    expect(parseOutputLine('OUTPUT:{"a":2}')).toEqual({ a: 2 });
    expect(parseOutputLine('  OUTPUT: [1,2]  ')).toEqual([1, 2]);
    expect(parseOutputLine('OUTPUT: {not json')).toBeUndefined();
    expect(parseOutputLine('OUTPUT:')).toBeUndefined();
    expect(parseOutputLine('output: {"a":1}')).toBeUndefined();
    expect(parseOutputLine('say OUTPUT: {"a":1}')).toBeUndefined();
  });

  it('keeps the last valid one; an invalid later line does not erase it', () => {
    const c = new OutputCollector();
    expect(c.output).toBeNull();
    for (const line of ['OUTPUT: {"n":1}', 'hello', 'OUTPUT: {"n":2}', 'OUTPUT: {broken']) c.line(line);
    expect(c.output).toEqual({ n: 2 });
  });
});

describe('stderr tail and exit errors', () => {
  it('keeps the last 2 KiB of stderr', () => {
    const tail = new StderrTail();
    for (let i = 0; i < 500; i++) tail.line(`line ${i} ${'x'.repeat(20)}`);
    expect(Buffer.byteLength(tail.tail)).toBeLessThanOrEqual(2048);
    expect(tail.tail.endsWith(`line 499 ${'x'.repeat(20)}`)).toBe(true);
    expect(exitError(3, 'boom')).toBe('Exit code: 3\nStderr: boom');
  });
});

describe('line splitting', () => {
  it('splits across chunks, strips CR, decodes UTF-8 split mid-character, emits the last partial line', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const euro = Buffer.from('€');
    s.write(Buffer.from('one\r\ntw'));
    s.write(Buffer.concat([Buffer.from('o '), euro.subarray(0, 1)]));
    s.write(Buffer.concat([euro.subarray(1), Buffer.from('\nthree')]));
    s.end();
    expect(lines).toEqual(['one', 'two €', 'three']);
  });

  it('cuts an endless line instead of holding it', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), 100);
    s.write('a'.repeat(250));
    s.write('b\nnext\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^a{100}… \[line cut\]$/);
    expect(lines[1]).toBe('next');
  });

  it('cuts log lines longer than 16 KiB with a marker', () => {
    expect(cutLine('short')).toBe('short');
    const cut = cutLine('é'.repeat(MAX_LINE_BYTES));
    expect(cut).toMatch(/… \[line cut: \d+ more bytes\]$/);
    expect(Buffer.byteLength(cut.replace(/… \[line cut.*$/, ''))).toBeLessThanOrEqual(MAX_LINE_BYTES);
    expect(cut).not.toContain('\uFFFD');
  });
});
