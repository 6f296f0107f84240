import { describe, expect, it } from 'vitest';
import { decodeResponse, encodeResponse } from '../protocol/index.js';
import { decodeBody } from './decode-body.js';

const update = Buffer.from('#!/bin/sh\necho hi\n');
const signature = Buffer.from('3006020101020101', 'hex');
const bodies: [string, Buffer][] = [
  ['nothing to change', Buffer.alloc(14)],
  ['URIs only', encodeResponse({ cupsUri: 'http://127.0.0.1:6091', tcUri: 'ws://127.0.0.1:6092' })],
  ['signed update', encodeResponse({ tcUri: 'ws://h:1', firmware: { keyCrc: 0x12345678, signature } }, update)],
  ['update with trailing bytes', Buffer.concat([encodeResponse({}, update), Buffer.from('tail')])],
];

describe('decodeBody', () => {
  it.each(bodies)('decodes %s like decodeResponse', (_name, body) => {
    expect(decodeBody(body)).toEqual(decodeResponse(body));
  });

  it('returns the update as a view into the body, not a copy', () => {
    const body = encodeResponse({}, update);
    const decoded = decodeBody(body);
    expect(decoded.update?.buffer).toBe(body.buffer);
  });

  it.each([
    ['2-byte body', Buffer.alloc(2)],
    ['truncated update', encodeResponse({}, update).subarray(0, 20)],
    ['bad sigLen', Buffer.concat([Buffer.alloc(6), Buffer.from([3, 0, 0, 0]), Buffer.alloc(12)])],
  ])('throws the decodeResponse error for a %s', (_name, body) => {
    expect(() => decodeBody(body)).toThrow((() => {
      try {
        decodeResponse(body);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('decodeResponse accepted a malformed body');
    })());
  });
});
