import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { localActor } from '../../src/operations/context.js';
import type { RolloutContext } from '../../src/operations/firmware-library.js';
import { registerStation } from '../../src/operations/stations.js';
import type { Runtime } from '../../src/runtime.js';
import { createSimulatedStation, initStationHome, type ExchangeResult, type SimulatedStation } from '../../src/simulator/index.js';

/**
 * Simulated fleets for rollout tests: stations registered through the
 * operations layer, each with its own home folder, polling a real server.
 */

/** An update script that writes `version` into version.txt, or exits 1 when the station's home holds a `fail` file. */
export function updateScript(version: string): string {
  return `#!/bin/sh\n[ -f "$STATION_HOME/fail" ] && exit 1\nprintf '%s\\n' ${version} > "$STATION_HOME/version.txt"\nexit 0\n`;
}

export function operationContext(rt: Runtime): RolloutContext {
  return { registry: rt.registry, fleet: rt.fleet, access: rt.access, rollouts: rt.rollouts, blobs: rt.blobs, clock: () => new Date(), actor: localActor() };
}

export interface FleetStation extends SimulatedStation {
  /** Makes the next update scripts fail on this station. */
  failUpdates(): Promise<void>;
}

export interface FleetOptions {
  readonly url: string;
  readonly dir: string;
  readonly count: number;
  /** EUI prefix: 6 hex digits; stations are <prefix>0000000001… */
  readonly prefix: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly sigKey: Buffer;
  readonly version?: string;
  readonly tcUri?: string;
  /** Model of station i (default linux). */
  readonly model?: (i: number) => string;
  /** The server each station polls (for replica tests); default `url`. */
  readonly cupsUri?: (i: number) => string;
}

export async function createFleet(ctx: RolloutContext, o: FleetOptions): Promise<FleetStation[]> {
  const out: FleetStation[] = [];
  for (let i = 0; i < o.count; i++) {
    const eui = `${o.prefix}${(i + 1).toString(16).toUpperCase().padStart(10, '0')}`;
    const home = join(o.dir, eui);
    await mkdir(home, { recursive: true });
    await initStationHome(home, { cupsUri: o.cupsUri?.(i) ?? o.url, version: o.version ?? '1.0.0', sigKeys: [o.sigKey], ...(o.tcUri === undefined ? {} : { tcUri: o.tcUri }) });
    await registerStation(ctx, { eui, labels: o.labels, ...(o.tcUri === undefined ? {} : { tcUri: o.tcUri }) });
    const st = createSimulatedStation({ home, eui, model: o.model?.(i) ?? 'linux', timeoutMs: 20_000 });
    out.push(Object.assign(st, { failUpdates: () => writeFile(join(home, 'fail'), '') }));
  }
  return out;
}

/** One exchange of every station, a few at a time; results by EUI. */
export async function pollRound(stations: readonly SimulatedStation[], concurrency = 8): Promise<Map<string, ExchangeResult>> {
  const results = new Map<string, ExchangeResult>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < stations.length) {
      const st = stations[next++] as SimulatedStation;
      results.set(st.eui, await st.exchange());
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, stations.length) }, worker));
  return results;
}

/**
 * Awaits a condition, running `step` (typically one poll round) between checks;
 * fails with `what` after `timeoutMs`. A condition that needs wall time (a
 * deadline) is checked again after a short pause rather than a fixed sleep.
 */
export async function until(what: string, cond: () => Promise<boolean>, step: () => Promise<unknown>, timeoutMs = 45_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await step();
    await new Promise((r) => setTimeout(r, 20));
  }
}
