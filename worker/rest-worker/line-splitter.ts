import { StringDecoder } from 'node:string_decoder';

/** A line longer than this is cut while reading (the log shipper cuts at 16 KiB on its own). */
export const MAX_READ_LINE_CHARS = 1024 * 1024;

/**
 * Turns a byte stream into lines (`\n` or `\r\n`), decoding UTF-8 across chunk boundaries. A line
 * that grows past `maxChars` is emitted cut and the rest of it, up to the next newline, is dropped,
 * so one endless line cannot exhaust memory.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private discarding = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxChars = MAX_READ_LINE_CHARS,
  ) {}

  write(chunk: Buffer | string): void {
    this.consume(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
  }

  /** The stream ended: emit a last line without a newline. */
  end(): void {
    this.consume(this.decoder.end());
    if (this.partial && !this.discarding) this.emit(this.partial);
    this.partial = '';
    this.discarding = false;
  }

  private consume(text: string): void {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const piece = text.slice(start, nl);
      if (this.discarding) this.discarding = false;
      else this.emit(this.partial + piece);
      this.partial = '';
      start = nl + 1;
    }
    if (this.discarding) return;
    this.partial += text.slice(start);
    if (this.partial.length > this.maxChars) {
      this.emit(`${this.partial.slice(0, this.maxChars)}… [line cut]`);
      this.partial = '';
      this.discarding = true;
    }
  }

  private emit(line: string): void {
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}
