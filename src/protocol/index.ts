/** The CUPS wire format (PROTOCOL.md sections 1-4, 5.1): pure functions, no I/O. */
export type { CredentialParts, DecodedResponse, FirmwareSegment, UpdateInfoRequest, UpdateInfoResponseHead } from './types.js';
export { crc32 } from './crc32.js';
export { formatId6, parseEui, parseId6 } from './eui.js';
export { MAX_STATION_URI_LENGTH, validateCupsUri, validateTcUri } from './uri.js';
export {
  MAX_KEYS,
  MAX_REPORTED_URI_LENGTH,
  MAX_TEXT_FIELD_LENGTH,
  UPDATE_INFO_PATH,
  encodeStationHttpRequest,
  encodeStationRequestBody,
  parseUpdateInfoRequest,
  stationKeyCrcs,
} from './request.js';
export {
  MAX_CREDENTIAL_BYTES,
  MAX_SEGMENT_LENGTH,
  MAX_SIGNATURE_BYTES,
  MAX_URI_BYTES,
  MIN_SIGNATURE_BYTES,
  NOTHING_TO_CHANGE,
  decodeResponse,
  encodeResponse,
  encodeResponseHead,
} from './response.js';
export {
  authModeOf,
  buildCredentialBlob,
  credentialCrc,
  derElementLength,
  loadPrivateKey,
  normaliseStationKey,
  parseCredentialBlob,
  serialiseCredentialParts,
  stationCredentialCrc,
  stationDerLength,
  stationFilesOf,
  toDer,
  validateToken,
  type AuthMode,
  type CredentialElement,
  type StationCredentialFiles,
} from './credentials.js';
