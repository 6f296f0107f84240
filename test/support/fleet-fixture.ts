import type { NewFirmwareTarget, ReportedState, StationRegistry } from '../../src/registry/types.js';
import { seededRandom } from './fixtures.js';

const MODELS = ['rpi', 'corecell', 'kerlink', 'linux'];
const PACKAGES = ['1.0.0', '1.1.0', '2.0.0', null];
const VERSIONS = ['2.0.6(rpi/std) 2022-01-18 09:00:00', '2.0.5(corecell/std) 2021-06-01 10:00:00', '2.0.6(linux/testsim) 2026-11-24 10:58:03'];
const CRED = { blob: 'x/cups.cred', crc: 1234, size: 10 };

function pick<T>(rand: () => number, values: readonly T[]): T {
  return values[Math.floor(rand() * values.length)] as T;
}

export function fixtureEui(i: number): string {
  return `58A0CBFF${i.toString(16).toUpperCase().padStart(8, '0')}`;
}

/**
 * Registers `count` stations through the registry's own API (so the label rows,
 * targets and reported state are written the way production writes them), in a
 * seeded mix that covers every sync state, label shape and filter value.
 */
export async function seedFleet(registry: StationRegistry, count: number, seed = 7, base = Date.parse('2026-11-01T00:00:00Z')): Promise<string[]> {
  const rand = seededRandom(seed);
  const euis: string[] = [];
  for (let i = 0; i < count; i++) {
    const eui = fixtureEui(i);
    euis.push(eui);
    const labels: Record<string, string> = {};
    if (rand() < 0.6) labels.site = pick(rand, ['north', 'south', 'east']);
    if (rand() < 0.3) labels.tier = pick(rand, ['gold', 'silver']);
    await registry.createStation({
      eui,
      name: rand() < 0.8 ? `${pick(rand, ['Roof', 'Barn', 'Tower'])} ${i}` : null,
      labels,
      desired: { cupsUri: 'https://cups.example:443', tcUri: rand() < 0.5 ? 'wss://lns.example:8887' : null },
    });
    if (rand() < 0.15) continue; // never seen
    const reported: ReportedState = {
      cupsUri: 'https://cups.example:443',
      tcUri: rand() < 0.8 ? 'wss://lns.example:8887' : 'wss://old.example:8887',
      cupsCredCrc: 1234,
      tcCredCrc: 2077607535,
      station: pick(rand, VERSIONS),
      model: pick(rand, MODELS),
      package: pick(rand, PACKAGES),
      keys: [],
    };
    const at = new Date(base + Math.floor(rand() * 30) * 86_400_000);
    await registry.recordExchange(eui, { at, remoteAddress: '127.0.0.1', reported, events: [{ type: 'exchange', message: 'answered' }] });
    const r = rand();
    if (r < 0.1) await registry.updateStation(eui, { problem: 'signing key missing' });
    if (rand() < 0.2) await registry.updateStation(eui, { desired: { cupsCred: rand() < 0.5 ? CRED : { ...CRED, crc: 999 } } });
    if (rand() < 0.4) {
      const target: NewFirmwareTarget = {
        package: '3.0.0',
        blob: 'fw/3.0.0.bin',
        size: 100,
        sha256: 'ab'.repeat(32),
        signatures: [],
        maxOffers: 3,
        fromPackage: reported.package,
        requestedAt: at,
      };
      await registry.setFirmwareTarget(eui, target);
      const state = pick(rand, ['pending', 'offered', 'upgraded', 'failed'] as const);
      if (state !== 'pending') await registry.updateFirmware(eui, { package: '3.0.0', state, offered: state === 'offered' });
    }
  }
  return euis;
}
