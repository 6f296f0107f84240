import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createRefusalLog } from './refusal-log.js';

/** A logger that keeps its lines and lets a test await the next one. */
function recordingLogger(): { logger: FastifyBaseLogger; lines: { msg: string; fields: Record<string, unknown> }[]; next: () => Promise<void> } {
  const lines: { msg: string; fields: Record<string, unknown> }[] = [];
  let wake: (() => void) | undefined;
  const push = (fields: Record<string, unknown>, msg: string): void => {
    lines.push({ msg, fields });
    wake?.();
  };
  const logger = { warn: push, info: push } as unknown as FastifyBaseLogger;
  return { logger, lines, next: () => new Promise<void>((resolve) => (wake = resolve)) };
}

describe('coalesced refusal lines', () => {
  it('writes a flood as one line per reason and source per interval, with the count', async () => {
    const { logger, lines, next } = recordingLogger();
    const log = createRefusalLog(logger, 50);
    for (let i = 0; i < 5000; i++) log.refused('warn', 'refused', 'token_invalid', i % 2 === 0 ? '192.0.2.1' : '192.0.2.2', { eui: 'AA' });
    // The first of each source at once.
    expect(lines.map((l) => l.fields.remoteAddress)).toEqual(['192.0.2.1', '192.0.2.2']);
    const flushed = next();
    await flushed;
    // The interval's end: one line per source with the rest counted.
    while (lines.length < 4) await next();
    expect(lines.slice(2).map((l) => [l.fields.remoteAddress, l.fields.refused])).toEqual([
      ['192.0.2.1', 2499],
      ['192.0.2.2', 2499],
    ]);
    log.flush();
    expect(lines).toHaveLength(4);
  });

  it('folds more sources than it holds into one line, losing no count', () => {
    const { logger, lines } = recordingLogger();
    const log = createRefusalLog(logger, 60_000);
    for (let i = 0; i < 3000; i++) log.refused('info', 'refused', 'credentials_required', `10.0.${i >> 8}.${i & 255}`, {});
    log.flush();
    const total = lines.reduce((sum, l) => sum + (typeof l.fields.refused === 'number' ? l.fields.refused : 1), 0);
    expect(total).toBe(3000);
    expect(lines.length).toBeLessThanOrEqual(1002);
  });
});
