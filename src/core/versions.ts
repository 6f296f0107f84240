import semver from 'semver';

/** True when both versions are semantic versions and `to` is lower than `from`; anything else is not a downgrade. */
export function isDowngrade(from: string | null, to: string): boolean {
  if (from === null) return false;
  const a = semver.valid(from);
  const b = semver.valid(to);
  return a !== null && b !== null && semver.lt(b, a);
}

/** A library package as far as its order goes: its version and when it was uploaded. */
export interface VersionedPackage {
  readonly package: string;
  readonly createdAt: Date;
}

/**
 * The newest of `packages`: the highest semantic version when every one is a
 * semantic version (uploaded later wins a tie such as `2.1.0` and `v2.1.0`);
 * otherwise the one uploaded last, since free-form versions have no order of
 * their own. Undefined for none.
 */
export function newestPackage<P extends VersionedPackage>(packages: readonly P[]): P | undefined {
  const allSemver = packages.every((p) => semver.valid(p.package) !== null);
  let best: P | undefined;
  for (const p of packages) {
    if (best === undefined) {
      best = p;
      continue;
    }
    const cmp = allSemver ? semver.compare(p.package, best.package) : 0;
    if (cmp > 0 || (cmp === 0 && laterUpload(p, best))) best = p;
  }
  return best;
}

function laterUpload(a: VersionedPackage, b: VersionedPackage): boolean {
  const d = a.createdAt.getTime() - b.createdAt.getTime();
  return d > 0 || (d === 0 && a.package > b.package);
}
