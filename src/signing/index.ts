export type { ByteSource } from './byte-source.js';
export { isDerSignatureForStation, MAX_DER_SIGNATURE_LENGTH, MIN_DER_SIGNATURE_LENGTH } from './der-signature.js';
export {
  generateSigningKey,
  keyCrc,
  loadPrivateKey,
  publicKeyFromSigKey,
  sigKeyFromPublicKey,
  type GeneratedSigningKey,
} from './keys.js';
export { P256_SPKI_PREFIX, SIG_KEY_LENGTH } from './p256.js';
export { signBuffer, signStream } from './sign.js';
export {
  verifyWithStationKeys,
  type StationVerifyOutcome,
  type StationVerifyResult,
} from './station-verify.js';
export { verifyBuffer, verifyStream } from './verify.js';
