import { describe, expect, it } from 'vitest';
import type { UpdateInfoRequest } from '../protocol/types.js';
import { exampleRequest } from '../../test/support/fixtures.js';
import type { FirmwareTarget, Station } from './model.js';
import { decide, exchangeRecord, onlyStampsLastSeen, quietPoll, sentParts, withoutPart } from './decide.js';
import { firmwareDelivery } from './firmware-delivery.js';
import { pendingParts, syncSummary } from './sync-status.js';
import { isDowngrade } from './versions.js';

const NOW = new Date('2026-11-24T12:00:00Z');
const EUI = '0016C001FF10A235';

function request(over: Partial<UpdateInfoRequest> = {}): UpdateInfoRequest {
  return exampleRequest({ router: EUI, keys: [111], ...over });
}

function firmware(over: Partial<FirmwareTarget> = {}): FirmwareTarget {
  return {
    package: '1.0.1',
    blob: 'sha256-abc',
    size: 10,
    sha256: 'abc',
    signatures: [{ keyCrc: 111, signature: 'MEUCIQ==' }],
    state: 'pending',
    offers: 0,
    maxOffers: 3,
    fromPackage: '1.0.0',
    requestedAt: NOW,
    lastOfferedAt: null,
    upgradedAt: null,
    lastError: null,
    ...over,
  };
}

function station(over: { desired?: Partial<Station['desired']>; firmware?: FirmwareTarget | null; problem?: string | null } = {}): Station {
  return {
    eui: EUI,
    name: null,
    labels: {},
    desired: { cupsUri: null, tcUri: null, cupsCred: null, tcCred: null, ...over.desired },
    reported: null,
    lastSeenAt: null,
    lastRemoteAddress: null,
    problem: over.problem ?? null,
    firmware: over.firmware ?? null,
    createdAt: NOW,
    updatedAt: NOW,
  };
}

const cred = (crc: number) => ({ blob: `${EUI}-tc-${crc}`, crc, size: 100 });

describe('decide: URIs and credentials', () => {
  const cases: { name: string; req: Partial<UpdateInfoRequest>; desired: Partial<Station['desired']>; sent: string[] }[] = [
    { name: 'nothing desired', req: {}, desired: {}, sent: [] },
    { name: 'same cups URI', req: {}, desired: { cupsUri: 'http://127.0.0.1:6090' }, sent: [] },
    { name: 'new cups URI', req: {}, desired: { cupsUri: 'https://cups.example.com:443' }, sent: ['cupsUri'] },
    { name: 'tc URI where station has none', req: { tcUri: null }, desired: { tcUri: 'wss://lns.example.com:6887' }, sent: ['tcUri'] },
    { name: 'same tc URI', req: { tcUri: 'wss://lns.example.com:6887' }, desired: { tcUri: 'wss://lns.example.com:6887' }, sent: [] },
    { name: 'tc credential CRC differs', req: {}, desired: { tcCred: cred(42) }, sent: ['tcCred'] },
    { name: 'tc credential CRC equal', req: { tcCredCrc: 42 }, desired: { tcCred: cred(42) }, sent: [] },
    { name: 'cups credential CRC differs', req: {}, desired: { cupsCred: cred(7) }, sent: ['cupsCred'] },
    {
      name: 'everything at once',
      req: {},
      desired: { cupsUri: 'https://a.example:443', tcUri: 'wss://b.example:443', cupsCred: cred(1), tcCred: cred(2) },
      sent: ['cupsUri', 'tcUri', 'cupsCred', 'tcCred'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = decide(request(c.req), station({ desired: c.desired }), { now: NOW });
      expect(sentParts(d.answer)).toEqual(c.sent);
      expect(d.problems).toEqual([]);
    });
  }

  it('records the reported state as sent by the station', () => {
    const d = decide(request({ keys: [1, 2] }), station(), { now: NOW });
    expect(d.reported).toMatchObject({ package: '1.0.0', keys: [1, 2], cupsCredCrc: 2077607535 });
  });
});

describe('decide: firmware', () => {
  it('offers when the package differs and the station has the key, counting nothing until it is delivered', () => {
    const d = decide(request(), station({ firmware: firmware() }), { now: NOW });
    expect(d.answer.firmware?.signature.keyCrc).toBe(111);
    expect(d.firmware).toBeUndefined();
    expect(d.events).toEqual([]);
  });

  it('counts an offer only for a download written to the end; a cut-off one is its own event', () => {
    const offer = decide(request(), station({ firmware: firmware({ offers: 1 }) }), { now: NOW }).answer.firmware!;
    const done = firmwareDelivery(offer, { complete: true, bytesSent: offer.target.size });
    expect(done.offered).toBe('1.0.1');
    expect(done.events).toMatchObject([{ type: 'firmware_offered', detail: { offer: 2 } }]);
    const cut = firmwareDelivery(offer, { complete: false, bytesSent: 17 });
    expect(cut.offered).toBeUndefined();
    expect(cut.events).toMatchObject([{ type: 'firmware_interrupted', detail: { package: '1.0.1', bytesSent: 17 } }]);
  });

  it('picks the signature of the key the station holds (second of two keys)', () => {
    const fw = firmware({ signatures: [{ keyCrc: 5, signature: 'AA==' }, { keyCrc: 6, signature: 'BB==' }] });
    const d = decide(request({ keys: [9, 6] }), station({ firmware: fw }), { now: NOW });
    expect(d.answer.firmware?.signature).toEqual({ keyCrc: 6, signature: 'BB==' });
  });

  it('does not offer and records a problem when the station lacks the key, answering the rest', () => {
    const d = decide(request({ keys: [222] }), station({ firmware: firmware(), desired: { tcUri: 'wss://x.example:1' } }), { now: NOW });
    expect(d.answer.firmware).toBeUndefined();
    expect(sentParts(d.answer)).toEqual(['tcUri']);
    expect(d.problems).toEqual(['firmware 1.0.1: signing key CRC 111 not on station; it has [222]']);
    expect(d.firmware).toBeUndefined();
  });

  it('marks upgraded when the station reports the target package', () => {
    const d = decide(request({ package: '1.0.1' }), station({ firmware: firmware({ state: 'offered', offers: 1 }) }), { now: NOW });
    expect(d.answer.firmware).toBeUndefined();
    expect(d.firmware).toEqual({ package: '1.0.1', state: 'upgraded', upgradedAt: NOW, lastError: null });
  });

  it('stays quiet once upgraded', () => {
    const d = decide(request({ package: '1.0.1' }), station({ firmware: firmware({ state: 'upgraded' }) }), { now: NOW });
    expect(d.firmware).toBeUndefined();
    expect(d.events).toEqual([]);
  });

  it('fails after maxOffers offers without the package changing, and stops offering', () => {
    const d = decide(request(), station({ firmware: firmware({ state: 'offered', offers: 3 }) }), { now: NOW });
    expect(d.answer.firmware).toBeUndefined();
    expect(d.firmware?.state).toBe('failed');
    expect(d.firmware?.lastError).toContain('after 3 offer(s)');
    const again = decide(request(), station({ firmware: firmware({ state: 'failed', offers: 3 }) }), { now: NOW });
    expect(again.answer.firmware).toBeUndefined();
    expect(again.firmware).toBeUndefined();
  });

  it('offers up to maxOffers times', () => {
    const d = decide(request(), station({ firmware: firmware({ state: 'offered', offers: 2 }) }), { now: NOW });
    expect(d.answer.firmware).toBeDefined();
  });
});

describe('exchange record', () => {
  it('writes a new problem with an event, and does not repeat an unchanged one', () => {
    const s = station({ firmware: firmware() });
    const d = decide(request({ keys: [] }), s, { now: NOW });
    const rec = exchangeRecord(d, s, { at: NOW, remoteAddress: '127.0.0.1' });
    expect(rec.problem).toContain('not on station');
    expect(rec.events.map((e) => e.type)).toContain('problem');
    const s2 = station({ firmware: firmware(), problem: rec.problem ?? null });
    const rec2 = exchangeRecord(decide(request({ keys: [] }), s2, { now: NOW }), s2, { at: NOW, remoteAddress: null });
    expect(rec2.problem).toBeUndefined();
    expect(rec2.events).toEqual([]);
  });

  it('clears a problem that is gone', () => {
    const s = station({ problem: 'old' });
    const rec = exchangeRecord(decide(request(), s, { now: NOW }), s, { at: NOW, remoteAddress: null });
    expect(rec.problem).toBeNull();
  });

  it('records what was sent', () => {
    const s = station({ desired: { tcUri: 'wss://x.example:1' } });
    const rec = exchangeRecord(decide(request(), s, { now: NOW }), s, { at: NOW, remoteAddress: null });
    expect(rec.events).toEqual([{ type: 'exchange', message: 'sent tcUri', detail: { sent: ['tcUri'] } }]);
  });

  it('withoutPart drops a firmware offer when the blob is gone', () => {
    const s = station({ firmware: firmware() });
    const d = withoutPart(decide(request(), s, { now: NOW }), 'firmware', 'blob missing');
    expect(d.answer.firmware).toBeUndefined();
    expect(d.firmware).toBeUndefined();
    expect(d.events).toEqual([]);
    expect(d.problems).toEqual(['blob missing']);
  });
});

describe('onlyStampsLastSeen', () => {
  const seen = { at: NOW, remoteAddress: null };
  const known = (over: Parameters<typeof station>[0] = {}): Station => ({ ...station(over), reported: decide(request(), station(), { now: NOW }).reported });

  it('is true for a repeat poll that sends and changes nothing', () => {
    const s = known();
    expect(onlyStampsLastSeen(exchangeRecord(decide(request(), s, { now: NOW }), s, seen), s)).toBe(true);
  });

  it.each([
    ['the first report', () => station(), request()],
    ['a changed package', () => known(), request({ package: '1.0.1' })],
    ['a part was sent', () => known({ desired: { tcUri: 'wss://x.example:1' } }), request()],
    ['a firmware transition', () => known({ firmware: firmware() }), request()],
    ['a problem to clear', () => ({ ...known(), problem: 'old' }), request()],
  ] as const)('is false for %s', (_name, make, req) => {
    const s = make();
    expect(onlyStampsLastSeen(exchangeRecord(decide(req, s, { now: NOW }), s, seen), s)).toBe(false);
  });
});

describe('sync status', () => {
  it('is pending until the station reports the desired values', () => {
    const s = station({ desired: { tcUri: 'wss://x.example:1', tcCred: cred(42) } });
    expect(syncSummary(s)).toBe('never seen');
    const seen: Station = { ...s, reported: { ...decide(request({ tcUri: 'wss://x.example:1' }), s, { now: NOW }).reported } };
    expect(pendingParts(seen)).toEqual(['tcCred']);
    const synced: Station = { ...seen, reported: { ...seen.reported!, tcCredCrc: 42 } };
    expect(syncSummary(synced)).toBe('in sync');
  });
});

describe('downgrade check', () => {
  it.each([
    ['1.0.1', '1.0.0', true],
    ['1.0.0', '1.0.1', false],
    ['1.0.0', '1.0.0', false],
    [null, '0.1.0', false],
    ['2.0.6-custom', '2.0.5', true],
    ['build-7', 'build-6', false],
  ] as const)('from %s to %s → %s', (from, to, expected) => {
    expect(isDowngrade(from, to)).toBe(expected);
  });
});

describe('quietPoll', () => {
  // The memory path's predicate must say yes exactly when the full decision sends nothing and changes nothing but last-seen.
  const seen = { at: NOW, remoteAddress: null };
  const full = (req: UpdateInfoRequest, s: Station): boolean => {
    const d = decide(req, s, { now: NOW });
    return sentParts(d.answer).length === 0 && onlyStampsLastSeen(exchangeRecord(d, s, seen), s);
  };
  const req = request({ package: '1.0.0', keys: [111, 222] });
  const missingKey = (() => {
    const s = station({ firmware: firmware({ signatures: [{ keyCrc: 999, signature: 'MEUCIQ==' }] }) });
    return decide(req, s, { now: NOW }).problems[0] as string;
  })();
  const reports: [string, Station['reported']][] = [
    ['none', null],
    ['same', decide(req, station(), { now: NOW }).reported],
    ['other package', decide(request({ package: '0.9.0', keys: [111, 222] }), station(), { now: NOW }).reported],
    ['other keys', decide(request({ package: '1.0.0', keys: [222, 111] }), station(), { now: NOW }).reported],
    ['one key fewer', decide(request({ package: '1.0.0', keys: [111] }), station(), { now: NOW }).reported],
  ];
  const desires: [string, Partial<Station['desired']>][] = [
    ['nothing', {}],
    ['same tc URI', { tcUri: req.tcUri }],
    ['other tc URI', { tcUri: 'wss://lns.example.com:6887' }],
    ['same cups URI', { cupsUri: req.cupsUri }],
    ['other cups URI', { cupsUri: 'https://cups.example.com:443' }],
    ['same cups credential', { cupsCred: cred(req.cupsCredCrc) }],
    ['other tc credential', { tcCred: cred(req.tcCredCrc + 1) }],
  ];
  const targets: [string, FirmwareTarget | null][] = [
    ['no firmware', null],
    ['offer with a held key', firmware()],
    ['signing key missing', firmware({ signatures: [{ keyCrc: 999, signature: 'MEUCIQ==' }] })],
    ['offers used up', firmware({ offers: 3 })],
    ['failed', firmware({ state: 'failed' })],
    ['upgraded', firmware({ package: '1.0.0', state: 'upgraded' })],
    ['reported package now matches', firmware({ package: '1.0.0' })],
  ];
  const problems: (string | null)[] = [null, 'something else', missingKey];
  const cases = reports.flatMap((r) => desires.flatMap((d) => targets.flatMap((t) => problems.map((p) => [r, d, t, p] as const))));

  it(`agrees with decide + exchangeRecord + onlyStampsLastSeen in all ${cases.length} cases`, () => {
    let quiet = 0;
    for (const [[, reported], [, desired], [, target], problem] of cases) {
      const s: Station = { ...station({ desired, firmware: target, problem }), reported };
      const expected = full(req, s);
      expect(quietPoll(req, s), JSON.stringify({ reported, desired, target: target?.state, problem })).toBe(expected);
      if (expected) quiet++;
    }
    // The grid holds both answers, the missing-key case with its problem held among the quiet ones.
    expect(quiet).toBeGreaterThan(0);
    expect(quiet).toBeLessThan(cases.length);
    const lacking = { ...station({ firmware: targets[2]![1], problem: missingKey }), reported: reports[1]![1] };
    expect(quietPoll(req, lacking)).toBe(true);
  });
});

describe('decide: a CUPS credential that only completes over TLS (issue 17.9)', () => {
  const desired = { cupsUri: 'https://cups.example:443', cupsCred: cred(7), tcCred: cred(8) };
  const req = request({ cupsUri: 'http://127.0.0.1:6090' });
  const over = (secure: boolean, cupsCredMode: 'mtls' | 'token' | 'none' | null) => decide(req, station({ desired }), { now: NOW, transport: { secure, cupsCredMode } });

  it('holds back a certificate or token over plain HTTP, sends the rest, and says why', () => {
    for (const mode of ['mtls', 'token'] as const) {
      const d = over(false, mode);
      expect(sentParts(d.answer)).toEqual(['cupsUri', 'tcCred']);
      expect(d.problems).toEqual([expect.stringMatching(/^cupsCred not sent: .*TLS.*plain HTTP \(http:\/\/127\.0\.0\.1:6090\); serve with --tls-cert/)]);
      const record = exchangeRecord(d, station({ desired }), { at: NOW, remoteAddress: null });
      expect(record.events.filter((e) => e.type === 'problem')).toHaveLength(1);
      // Recorded once: the next poll with the same problem held writes no event for it.
      const held = station({ desired, problem: d.problems[0] as string });
      expect(exchangeRecord(over(false, mode), held, { at: NOW, remoteAddress: null }).events.filter((e) => e.type === 'problem')).toEqual([]);
    }
    expect(over(false, 'mtls').problems[0]).toMatch(/client certificate can only be used over TLS/);
  });

  it('sends it over TLS, and sends a credential for no TLS-only mode over plain HTTP', () => {
    expect(sentParts(over(true, 'mtls').answer)).toEqual(['cupsUri', 'cupsCred', 'tcCred']);
    expect(over(true, 'mtls').problems).toEqual([]);
    expect(sentParts(over(false, 'none').answer)).toEqual(['cupsUri', 'cupsCred', 'tcCred']);
    expect(sentParts(over(false, null).answer)).toEqual(['cupsUri', 'cupsCred', 'tcCred']);
  });
});
