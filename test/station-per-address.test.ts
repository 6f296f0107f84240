import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeStationHttpRequest, encodeStationRequestBody } from '../src/protocol/index.js';
import { rawExchange } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest } from './support/tls-client.js';

const EUI = '0016C001FF10F001';
let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
});

/** A silent connection from `from` (any 127.x address reaches loopback on Linux); resolves once connected. */
async function holdFrom(port: number, from: string): Promise<{ socket: Socket; closed: Promise<unknown> }> {
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  socket.on('error', () => undefined);
  socket.resume();
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  return { socket, closed };
}

/** Sends a poll on an open connection and resolves with the answer's status. */
async function statusOn(socket: Socket, bytes: Buffer): Promise<number> {
  let received = '';
  socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
  socket.write(bytes);
  while (!/\r\n\r\n/.test(received)) await once(socket, 'data');
  return Number(received.slice(9, 12));
}

function poll(port: number): Buffer {
  return encodeStationHttpRequest({ host: `127.0.0.1:${port}`, body: encodeStationRequestBody(stationRequest(EUI)) });
}

describe('the optional per-address station connection cap', () => {
  it('is off by default: one address may open more connections than any per-address cap would allow', async () => {
    srv = await startTestServer({ config: { headersTimeout: 30, requestTimeout: 30 } });
    await srv.runtime.registry.createStation({ eui: EUI });
    const held = await Promise.all(Array.from({ length: 20 }, () => holdFrom(srv!.port, '127.0.0.2')));
    // The last one opened is served like the first.
    expect(await statusOn(held[19]!.socket, poll(srv.port))).toBe(200);
    expect(await statusOn(held[0]!.socket, poll(srv.port))).toBe(200);
    for (const h of held) h.socket.destroy();
  });

  it('closes connections beyond it from one address at once, while other addresses are served', async () => {
    srv = await startTestServer({ config: { maxConnectionsPerAddress: 3, headersTimeout: 30, requestTimeout: 30 } });
    await srv.runtime.registry.createStation({ eui: EUI });
    const port = srv.port;
    const serverSide = new Map<number | undefined, Socket>();
    srv.server.app.server.on('connection', (socket: Socket) => serverSide.set(socket.remotePort, socket));
    const held = await Promise.all(Array.from({ length: 3 }, () => holdFrom(port, '127.0.0.2')));
    const extra = await holdFrom(port, '127.0.0.2');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([extra.closed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('the 4th connection from one address was not closed')), 2_000)))]).finally(() =>
      clearTimeout(timer),
    );
    // Another address is not affected.
    expect((await rawExchange(port, poll(port))).status).toBe(200);
    // Room frees when the address closes one.
    const freed = once(serverSide.get(held[0]!.socket.localPort) as Socket, 'close');
    held[0]!.socket.destroy();
    await freed;
    const again = await holdFrom(port, '127.0.0.2');
    expect(await statusOn(again.socket, poll(port))).toBe(200);
    for (const h of [...held, again]) h.socket.destroy();
  });
});
