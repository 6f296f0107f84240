import { describe, expect, it } from 'vitest';
import type { Station } from '../types.js';
import { RegistryMemory } from './registry-memory.js';

const EUI = '0016C001FF10A235';
const station = (tcUri: string): Station =>
  ({ eui: EUI, desired: { cupsUri: null, tcUri, cupsCred: null, tcCred: null } }) as unknown as Station;

describe('registry memory generations', () => {
  it('keeps a record read with no change since its read began', () => {
    const m = new RegistryMemory();
    m.setLive(true);
    m.putStation(station('ws://a:1'), m.stamp());
    expect(m.station(EUI)?.desired.tcUri).toBe('ws://a:1');
  });

  it('never keeps a read that raced a change to its station, and keeps the next one', () => {
    const m = new RegistryMemory();
    m.setLive(true);
    const before = m.stamp();
    m.forget(EUI, 's'); // a write committed while the read was in flight
    m.putStation(station('ws://old:1'), before);
    expect(m.station(EUI)).toBeUndefined();
    m.putStation(station('ws://new:1'), m.stamp());
    expect(m.station(EUI)?.desired.tcUri).toBe('ws://new:1');
  });

  it('a change to another station does not spoil a read', () => {
    const m = new RegistryMemory();
    m.setLive(true);
    const before = m.stamp();
    m.forget('0016C001FF10A236', 'b');
    m.putStation(station('ws://a:1'), before);
    expect(m.station(EUI)).toBeDefined();
  });

  it('keeps nothing while the feed is down, nor any read begun before it came back', () => {
    const m = new RegistryMemory();
    m.setLive(true);
    m.putStation(station('ws://a:1'), m.stamp());
    m.setLive(false);
    expect(m.station(EUI)).toBeUndefined();
    const during = m.stamp();
    m.putStation(station('ws://a:1'), during);
    expect(m.station(EUI)).toBeUndefined();
    m.setLive(true);
    m.putStation(station('ws://a:1'), during);
    expect(m.station(EUI)).toBeUndefined();
    m.putStation(station('ws://a:1'), m.stamp());
    expect(m.station(EUI)).toBeDefined();
  });

  it('forgetting auth drops the token index of the station, leaving its twin', () => {
    const m = new RegistryMemory();
    m.setLive(true);
    const token = { id: 't1', eui: EUI, category: 'cups', status: 'active', credCrc: 1, createdAt: new Date(0), retiredAt: null, retiredReason: null } as const;
    m.putStation(station('ws://a:1'), m.stamp());
    m.putAuth({ auth: { eui: EUI, mode: 'token', certificates: [], tokens: [token], rotations: [] }, tokens: new Map([['ab'.repeat(32), token]]) }, m.stamp());
    expect(m.token('ab'.repeat(32))?.id).toBe('t1');
    m.forget(EUI, 'a');
    expect(m.token('ab'.repeat(32))).toBeUndefined();
    expect(m.auth(EUI)).toBeUndefined();
    expect(m.station(EUI)).toBeDefined();
  });
});
