import { Writable } from 'node:stream';

/** A pino destination keeping the server's JSON log lines, with a way to await one. */
export class LogLines extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly #waiting: { test: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const text of chunk.toString().split('\n')) {
      if (text.trim() === '') continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      this.lines.push(line);
      for (const w of this.#waiting.filter((x) => x.test(line))) {
        this.#waiting.splice(this.#waiting.indexOf(w), 1);
        w.resolve(line);
      }
    }
    done();
  }
  next(test: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.#waiting.push({ test, resolve }));
  }
}
