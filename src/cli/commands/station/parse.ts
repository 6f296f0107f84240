import { invalid } from '../../../core/errors.js';
import { parseEui, validateCupsUri, validateTcUri } from '../../../protocol/index.js';

/** Parses an EUI argument in any accepted spelling to the canonical form. */
export function euiArg(value: string): string {
  return parseEui(value, 'EUI');
}

/** Parses repeated --label k=v (and k= to remove, where allowed). */
export function parseLabels(values: readonly string[] | undefined, allowRemove: boolean): Record<string, string | null> {
  const labels: Record<string, string | null> = {};
  for (const v of values ?? []) {
    const m = /^([A-Za-z0-9_.\-/]{1,63})=(.{0,256})$/s.exec(v);
    if (m === null) throw invalid('invalid_label', `label "${v}" must look like key=value (key: letters, digits, _ . - /, at most 63 characters)`);
    const [, key, value] = m as unknown as [string, string, string];
    if (value === '' && !allowRemove) throw invalid('invalid_label', `label "${key}" has no value`);
    labels[key] = value === '' ? null : value;
  }
  return labels;
}

export function cupsUriOption(value: string | undefined): string | undefined {
  return value === undefined ? undefined : validateCupsUri(value, '--cups-uri');
}

export function tcUriOption(value: string | undefined): string | undefined {
  return value === undefined ? undefined : validateTcUri(value, '--tc-uri');
}
