/** A validated update-info request (PROTOCOL.md section 1). */
export interface UpdateInfoRequest {
  /** Station EUI, canonical: 16 uppercase hex digits. */
  readonly router: string;
  readonly cupsUri: string | null;
  readonly tcUri: string | null;
  /** Unsigned 32-bit CRC of the station's CUPS credential files. */
  readonly cupsCredCrc: number;
  /** Unsigned 32-bit CRC of the station's TC credential files. */
  readonly tcCredCrc: number;
  readonly station: string;
  readonly model: string;
  /** Contents of version.txt, or null when the station has none. */
  readonly package: string | null;
  /** Unsigned CRC-32s of sig-0.key, sig-1.key, ... in order. */
  readonly keys: readonly number[];
}

/** The firmware part of a response: signature plus the update length (bytes follow separately). */
export interface FirmwareSegment {
  /** CRC-32 of the sig-N.key that verifies `signature`. */
  readonly keyCrc: number;
  /** DER ECDSA signature, 8..128 bytes. */
  readonly signature: Uint8Array;
}

/** What an update-info response carries, before the update bytes (PROTOCOL.md section 2). */
export interface UpdateInfoResponseHead {
  readonly cupsUri?: string;
  readonly tcUri?: string;
  readonly cupsCred?: Uint8Array;
  readonly tcCred?: Uint8Array;
  readonly firmware?: FirmwareSegment;
  /** Length of the update that follows the head; 0 for none. */
  readonly updateLength: number;
}

/** A response decoded by a client (the simulator, tests). */
export interface DecodedResponse {
  readonly cupsUri: string | null;
  readonly tcUri: string | null;
  readonly cupsCred: Buffer | null;
  readonly tcCred: Buffer | null;
  readonly keyCrc: number | null;
  readonly signature: Buffer | null;
  readonly update: Buffer | null;
}

/** A credential blob split by the station's own rules (PROTOCOL.md 4.1). */
export interface CredentialParts {
  /** DER CA certificate (SEQUENCE). */
  readonly trust: Buffer;
  /** DER client certificate, or null. */
  readonly cert: Buffer | null;
  /** DER client key (SEC1 EC or PKCS#1 RSA), or null. */
  readonly key: Buffer | null;
  /** Token header lines (e.g. "Authorization: Bearer x\r\n"), or null. */
  readonly token: string | null;
}
