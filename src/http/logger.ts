import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * The server's logger: JSON lines for collectors, or one readable line per
 * entry for a person at a terminal (`auto` picks by whether stdout is one).
 * The pretty stream runs in this thread rather than a transport worker, so the
 * last lines before an exit are never lost.
 */
export function createServerLogger(options: { readonly level: string; readonly format: LogFormat; readonly destination?: NodeJS.WritableStream & { isTTY?: boolean } }): Logger {
  const destination = options.destination ?? process.stdout;
  const isTty = (destination as { isTTY?: boolean }).isTTY === true;
  const format = options.format === 'auto' ? (isTty ? 'pretty' : 'json') : options.format;
  if (format === 'json') return pino({ level: options.level }, destination);
  const stream = pretty({
    destination,
    colorize: isTty,
    singleLine: true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname',
    sync: true,
  });
  return pino({ level: options.level }, stream);
}
