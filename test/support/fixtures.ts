import type { UpdateInfoRequest } from '../../src/protocol/types.js';

/** The example request of PROTOCOL.md section 1, as validated (router canonical). */
export const PROTOCOL_EXAMPLE: UpdateInfoRequest = Object.freeze({
  router: '0016C001FF10A235',
  cupsUri: 'http://127.0.0.1:6090',
  tcUri: null,
  cupsCredCrc: 2077607535,
  tcCredCrc: 2077607535,
  station: '2.0.6(linux/testsim) 2026-11-24 10:58:03',
  model: 'linux',
  package: '1.0.0',
  keys: Object.freeze([3157685580]),
});

/** The section 1 example with some fields replaced. */
export function exampleRequest(overrides: Partial<UpdateInfoRequest> = {}): UpdateInfoRequest {
  return { ...PROTOCOL_EXAMPLE, ...overrides };
}

/** A small deterministic PRNG (mulberry32) in [0, 1), so random tests repeat exactly. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
