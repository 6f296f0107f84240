import type { ReportedState } from './model.js';

/** Whether a station's new report equals the stored one (null: nothing stored yet). */
export function sameReported(a: ReportedState | null, b: ReportedState): boolean {
  return (
    a !== null &&
    a.cupsUri === b.cupsUri &&
    a.tcUri === b.tcUri &&
    a.cupsCredCrc === b.cupsCredCrc &&
    a.tcCredCrc === b.tcCredCrc &&
    a.station === b.station &&
    a.model === b.model &&
    a.package === b.package &&
    a.keys.length === b.keys.length &&
    a.keys.every((k, i) => k === b.keys[i])
  );
}
