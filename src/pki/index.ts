export { createCa, issueServerCert, issueStationCert, DEFAULT_VALID_DAYS, STATION_URI_PREFIX } from './issue.js';
export { loadIssuedCert } from './issued-cert.js';
export { certificateFingerprint } from './fingerprint.js';
export { euiFromCertificate } from './eui-from-certificate.js';
export { stationCredentialFiles, trustOnlyFiles, assertStationDer } from './station-files.js';
export type {
  IssuedCert,
  CreateCaOptions,
  ServerCertOptions,
  StationCertOptions,
  StationCredentialFiles,
  TrustOnlyFiles,
  PeerCertificateLike,
  ValidityOptions,
} from './types.js';
export { issueStationToken, tokenSecretHash, bearerSecret, type IssuedToken } from './station-token.js';
