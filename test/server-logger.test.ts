import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createServerLogger } from '../src/http/logger.js';

/** A destination that says whether it is a terminal, as process.stdout does. */
function sink(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  }) as Writable & { isTTY: boolean; text: () => string };
  w.isTTY = isTTY;
  w.text = () => chunks.join('');
  return w;
}

describe('server log format', () => {
  it('auto: one readable line on a terminal, JSON lines elsewhere', () => {
    const tty = sink(true);
    createServerLogger({ level: 'info', format: 'auto', destination: tty }).warn({ eui: '0016C001FF10A235', bytesSent: 1024 }, 'firmware download cut off');
    const line = tty.text();
    expect(line.trimEnd().split('\n')).toHaveLength(1);
    expect(line).toMatch(/WARN.*firmware download cut off.*"bytesSent":1024/);
    expect(() => JSON.parse(line) as unknown).toThrow();

    const pipe = sink(false);
    createServerLogger({ level: 'info', format: 'auto', destination: pipe }).info({ eui: 'X' }, 'update-info');
    expect(JSON.parse(pipe.text())).toMatchObject({ level: 30, eui: 'X', msg: 'update-info' });
  });

  it('an explicit format wins over the terminal check', () => {
    const tty = sink(true);
    createServerLogger({ level: 'info', format: 'json', destination: tty }).info('x');
    expect(JSON.parse(tty.text())).toMatchObject({ msg: 'x' });
    const pipe = sink(false);
    createServerLogger({ level: 'info', format: 'pretty', destination: pipe }).info('y');
    expect(pipe.text()).toMatch(/^\[[^\]]+\] INFO: y\n$/);
  });
});
