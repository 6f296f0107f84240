// Random bytes and JSON thrown at every parser: the only thing allowed to escape is a CupsError.
import { describe, expect, it } from 'vitest';
import { PROTOCOL_EXAMPLE, seededRandom } from './support/fixtures.js';
import { CupsError } from '../src/core/errors.js';
import { decodeResponse, encodeResponse, parseCredentialBlob, parseEui, parseUpdateInfoRequest } from '../src/protocol/index.js';


const rnd = seededRandom(0xc0ffee);
const int = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
const bytes = (max: number): Buffer => Buffer.from(Array.from({ length: int(max + 1) }, () => int(256)));

const INTERESTING_NUMBERS = [0, -0, -1, 1.5, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 64, -(2 ** 63), 1e308, Number.NaN, Number.POSITIVE_INFINITY, Number.MIN_VALUE];
const INTERESTING_STRINGS = ['', ' ', '::', '::1', '1::', '16:c001:ff10:a235', '0016C001FF10A235', '00-16-C0-01-FF-10-A2-35', 'http://h:1', '\u0000', '\ud800', 'é', 'x'.repeat(300), '__proto__', 'constructor'];

function randomJson(depth = 0): unknown {
  switch (int(depth > 2 ? 5 : 7)) {
    case 0:
      return null;
    case 1:
      return rnd() < 0.5;
    case 2:
      return rnd() < 0.5 ? pick(INTERESTING_NUMBERS) : (rnd() - 0.5) * 10 ** int(20);
    case 3:
      return rnd() < 0.5 ? pick(INTERESTING_STRINGS) : bytes(20).toString('latin1');
    case 4:
      return int(10) === 0 ? BigInt(int(1000)) - 10n : undefined;
    case 5:
      return Array.from({ length: int(5) }, () => randomJson(depth + 1));
    default: {
      const obj: Record<string, unknown> = {};
      for (let i = int(5); i > 0; i--) obj[pick([...FIELDS, 'extra', '__proto__'])] = randomJson(depth + 1);
      return obj;
    }
  }
}

const FIELDS = ['router', 'cupsUri', 'tcUri', 'cupsCredCrc', 'tcCredCrc', 'station', 'model', 'package', 'keys'] as const;
// The section 1 example as JSON sends it: router as ID6.
const VALID = { ...PROTOCOL_EXAMPLE, router: '16:c001:ff10:a235', keys: [...PROTOCOL_EXAMPLE.keys] };

/** Runs fn; passes if it returns or throws a CupsError, fails on anything else. */
function onlyCupsErrors<T>(fn: () => T, input: unknown): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof CupsError)) {
      throw new Error(`non-CupsError ${String(e)} for input ${typeof input === 'object' ? JSON.stringify(input, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) : String(input)}`);
    }
    expect(e.code).toMatch(/^[a-z_]+$/);
    expect(e.message.length).toBeGreaterThan(10);
    return undefined;
  }
}

function checkRequest(req: ReturnType<typeof parseUpdateInfoRequest> | undefined): void {
  if (!req) return;
  expect(req.router).toMatch(/^[0-9A-F]{16}$/);
  for (const crc of [req.cupsCredCrc, req.tcCredCrc, ...req.keys]) expect(Number.isInteger(crc) && crc >= 0 && crc <= 0xffffffff).toBe(true);
}

describe('fuzz: parseUpdateInfoRequest', () => {
  it('random bytes and text never throw anything but CupsError', () => {
    for (let i = 0; i < 3000; i++) {
      const input = bytes(200);
      checkRequest(onlyCupsErrors(() => parseUpdateInfoRequest(input), input));
      const text = input.toString('latin1');
      checkRequest(onlyCupsErrors(() => parseUpdateInfoRequest(text), text));
    }
  });

  it('random JSON values never throw anything but CupsError', () => {
    for (let i = 0; i < 3000; i++) {
      const value = randomJson();
      checkRequest(onlyCupsErrors(() => parseUpdateInfoRequest(value), value));
    }
  });

  it('a valid request with one to three fields replaced by random values', () => {
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const body: Record<string, unknown> = { ...VALID };
      for (let k = 1 + int(3); k > 0; k--) body[pick(FIELDS)] = randomJson(1);
      const req = onlyCupsErrors(() => parseUpdateInfoRequest(body), body);
      checkRequest(req);
      if (req) accepted++;
      const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
      if (text !== undefined) checkRequest(onlyCupsErrors(() => parseUpdateInfoRequest(text), text));
    }
    // The mutation must sometimes leave a valid request, or the test explores nothing but errors.
    expect(accepted).toBeGreaterThan(0);
  });
});

describe('fuzz: decodeResponse', () => {
  it('random bytes never throw anything but CupsError', () => {
    for (let i = 0; i < 5000; i++) {
      const input = bytes(i < 2500 ? 20 : 400);
      onlyCupsErrors(() => decodeResponse(input), input);
    }
  });

  it('mutated and truncated valid responses never throw anything but CupsError', () => {
    const valid = encodeResponse(
      { cupsUri: 'http://a:1', tcUri: 'ws://b:2', cupsCred: Buffer.alloc(40, 3), tcCred: Buffer.alloc(10, 4), firmware: { keyCrc: 7, signature: Buffer.alloc(70, 5) } },
      Buffer.alloc(50, 6),
    );
    let decoded = 0;
    for (let i = 0; i < 5000; i++) {
      const copy = Buffer.from(valid.subarray(0, rnd() < 0.3 ? int(valid.length + 1) : valid.length));
      for (let k = int(4); k > 0 && copy.length > 0; k--) copy[int(copy.length)] = int(256);
      const out = onlyCupsErrors(() => decodeResponse(copy), copy.toString('hex'));
      if (out) {
        decoded++;
        if (out.signature) expect(out.signature.length).toBeLessThanOrEqual(128);
      }
    }
    expect(decoded).toBeGreaterThan(0);
  });
});

describe('fuzz: parseCredentialBlob and parseEui', () => {
  it('random and mutated blobs never throw anything but CupsError', () => {
    const valid = Buffer.concat([Buffer.from([0x30, 0x82, 0x00, 0x90]), Buffer.alloc(0x90, 1), Buffer.alloc(4), Buffer.from([0x30, 0x05]), Buffer.alloc(5, 2)]);
    for (let i = 0; i < 3000; i++) {
      let input: Buffer;
      if (rnd() < 0.5) {
        input = bytes(64);
      } else {
        input = Buffer.from(valid.subarray(0, rnd() < 0.2 ? int(valid.length + 1) : valid.length));
        for (let k = int(3); k > 0 && input.length > 0; k--) input[int(input.length)] = pick([0, 0x30, 0x81, 0x82, 0xff, int(256)]);
      }
      const parts = onlyCupsErrors(() => parseCredentialBlob(input), input.toString('hex'));
      if (parts) expect(parts.trust[0]).toBe(0x30);
    }
  });

  it('random values never make parseEui throw anything but CupsError', () => {
    for (let i = 0; i < 3000; i++) {
      const value = rnd() < 0.5 ? randomJson(2) : bytes(24).toString('latin1');
      const eui = onlyCupsErrors(() => parseEui(value, 'router'), value);
      if (eui !== undefined) expect(eui).toMatch(/^[0-9A-F]{16}$/);
    }
  });
});
