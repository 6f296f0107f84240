import { connect } from 'node:net';

export interface RawResponse {
  readonly raw: Buffer;
  readonly statusLine: string;
  readonly status: number;
  /** Header names lowercased; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Sends raw bytes on a fresh TCP connection and reads until the server closes or the declared body is complete. */
export function rawExchange(port: number, request: Buffer | string, host = '127.0.0.1'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    const finish = () => {
      socket.destroy();
      try {
        resolve(parse(Buffer.concat(chunks)));
      } catch (e) {
        reject(e as Error);
      }
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (responseComplete(Buffer.concat(chunks))) finish();
    });
    socket.on('end', finish);
    socket.on('error', reject);
    socket.write(request);
  });
}

function parse(raw: Buffer): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no header end in ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`);
  const [statusLine = '', ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  return { raw, statusLine, status: Number(statusLine.split(' ')[1]), headers, body: raw.subarray(end + 4) };
}

/** Whether `received` holds a whole HTTP response: headers plus the body its Content-Length declares. */
export function responseComplete(received: Buffer): boolean {
  const end = received.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const len = /\r\ncontent-length:\s*(\d+)/i.exec(received.subarray(0, end).toString('latin1'));
  return len !== null && received.length >= end + 4 + Number(len[1]);
}
