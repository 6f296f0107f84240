import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStationBody } from './station-body.js';

// A real node:http server that answers with what readStationBody made of the request.
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    readStationBody(req, 64, (error, body) => {
      res.setHeader('connection', 'close');
      res.end(JSON.stringify(error === undefined ? { body: body ?? '(none)' } : { code: error.code }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/update-info`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const post = async (contentType: string | undefined, body: string | undefined): Promise<unknown> => {
  const res = await fetch(url, { method: 'POST', headers: contentType === undefined ? {} : { 'content-type': contentType }, ...(body === undefined ? {} : { body }) });
  return res.json();
};

describe('readStationBody', () => {
  it.each([
    ['application/json', '{"a":1}', { body: { a: 1 } }],
    ['Application/JSON; charset=utf-8', '{"a":2}', { body: { a: 2 } }],
    // Some CUPS clients send another type; the body is JSON either way.
    ['text/plain', '{"a":3}', { body: { a: 3 } }],
    ['application/json', '\ufeff{"a":4}', { body: { a: 4 } }],
    ['not a media type', '{"a":5}', { code: 'unsupported_media_type' }],
    ['application/json', '', { code: 'invalid_request' }],
    ['application/json', '{"a":', { code: 'invalid_request' }],
    ['text/plain', '{"a":', { code: 'invalid_json' }],
    ['application/json', `{"a":"${'x'.repeat(100)}"}`, { code: 'body_too_large' }],
  ])('Content-Type %j, body %j', async (contentType, body, expected) => {
    expect(await post(contentType, body)).toEqual(expected);
  });

  it('a request without a body or a Content-Type has none', async () => {
    expect(await post(undefined, undefined)).toEqual({ body: '(none)' });
  });
});
