import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { FirmwareStream } from '../../operations/firmware-upload.js';

/**
 * An upload's request body as a firmware stream, read once straight into the
 * blob store: never buffered or spooled, so an hours-long 4 GB upload holds
 * only a chunk in memory. Content-Length, when sent, is the length required.
 */
export function uploadedBody(req: FastifyRequest, sha256: string | undefined): FirmwareStream {
  const length = Number(req.headers['content-length']);
  return {
    label: 'the uploaded body',
    stream: req.body as Readable,
    ...(Number.isSafeInteger(length) && length >= 0 && req.headers['content-length'] !== undefined ? { size: length } : {}),
    ...(sha256 === undefined ? {} : { sha256 }),
  };
}
