import { invalid } from './errors.js';

const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `90s`, `15m`, `26h`, `7d`, `2w` into milliseconds; `field` names the input in the error. */
export function parseDuration(text: string, field: string): number {
  const m = /^(\d{1,9})([smhdw])$/.exec(text.trim());
  if (m === null) {
    throw invalid('invalid_duration', `${field} must be a number followed by s, m, h, d or w (e.g. 26h or 7d), got "${text}".`, { field });
  }
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}
