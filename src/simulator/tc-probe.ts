import { connect } from 'node:net';

/** What a TC connection attempt found (see schedule.ts TcOutcome), without speaking WebSocket. */
export type TcProbe = 'connected' | 'refused' | 'unanswered';

/**
 * Tries a TCP connection to the TC URI's host and port, as the station's TC
 * engine does first: accepted is taken as a working LNS connection (the
 * simulator does not speak the LNS protocol), refused, reset or a name that
 * does not resolve as the failure that sends a real station back to CUPS on the
 * 450 s beat, no answer within `timeoutMs` as a host that drops packets.
 */
export function probeTc(tcUri: string, timeoutMs = 5_000): Promise<TcProbe> {
  let host: string;
  let port: number;
  try {
    const url = new URL(tcUri);
    host = url.hostname.replace(/^\[|\]$/g, '');
    port = Number(url.port);
  } catch {
    return Promise.resolve('refused');
  }
  if (!(port > 0)) return Promise.resolve('refused');
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (outcome: TcProbe): void => {
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(timeoutMs, () => done('unanswered'));
    socket.once('connect', () => done('connected'));
    socket.once('error', () => done('refused'));
  });
}
