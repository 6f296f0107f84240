import semver from 'semver';

/** True when both versions are semantic versions and `to` is lower than `from`; anything else is not a downgrade. */
export function isDowngrade(from: string | null, to: string): boolean {
  if (from === null) return false;
  const a = semver.valid(from);
  const b = semver.valid(to);
  return a !== null && b !== null && semver.lt(b, a);
}
