import { invalid } from '../core/errors.js';

/**
 * Parses `key=value` label assignments as typed in a flag or a query string;
 * with `allowRemove`, `key=` means remove the label (null).
 */
export function parseLabelAssignments(values: readonly string[] | undefined, allowRemove: boolean): Record<string, string | null> {
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

/** `key=value` labels that must all hold (a target selection): no removals. */
export function parseLabelArgs(values: readonly string[] | undefined): Record<string, string> {
  return parseLabelAssignments(values, false) as Record<string, string>;
}
