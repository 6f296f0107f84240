import type { ReportedState } from './model.js';

/** Whether a station's new report equals the stored one (null: nothing stored yet). */
export function sameReported(a: ReportedState | null, b: ReportedState): boolean {
  if (a === null || a.keys.length !== b.keys.length) return false;
  // A loop, not every(): this runs on every up-to-date poll and should allocate nothing.
  for (let i = 0; i < a.keys.length; i++) if (a.keys[i] !== b.keys[i]) return false;
  return (
    a.cupsUri === b.cupsUri &&
    a.tcUri === b.tcUri &&
    a.cupsCredCrc === b.cupsCredCrc &&
    a.tcCredCrc === b.tcCredCrc &&
    a.station === b.station &&
    a.model === b.model &&
    a.package === b.package
  );
}
