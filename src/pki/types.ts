/**
 * A certificate together with its private key, in every encoding the rest of
 * the project needs. Plain data: it can be written to files and re-loaded with
 * `loadIssuedCert`, and a CA in this shape can issue further certificates.
 */
export interface IssuedCert {
  /** Certificate, PEM ("BEGIN CERTIFICATE"). */
  readonly certPem: string;
  /** Certificate, DER. */
  readonly certDer: Buffer;
  /** Private key, SEC1 PEM ("BEGIN EC PRIVATE KEY"), the form stations can parse. */
  readonly keyPem: string;
  /** Private key, SEC1 DER (`30 77 …` for P-256). */
  readonly keySec1Der: Buffer;
  /** SHA-256 of `certDer`, lowercase hex without colons. */
  readonly fingerprint256: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Subject distinguished name, RFC 4514 text (e.g. `CN=0016C001FF10A235`). */
  readonly subject: string;
}

/** Validity options shared by every issuing function. */
export interface ValidityOptions {
  /** Lifetime in days from `now`; each issuing function documents its default. */
  readonly validDays?: number;
  /** The clock; defaults to the current time. */
  readonly now?: Date;
}

export interface CreateCaOptions extends ValidityOptions {
  /** Subject common name; defaults to "bscups station CA". */
  readonly commonName?: string;
}

export interface ServerCertOptions extends ValidityOptions {
  /** DNS names and IP literals the server answers to; the first becomes the CN. */
  readonly names: readonly string[];
}

export interface StationCertOptions extends ValidityOptions {
  /** Station EUI in any accepted spelling (ID6, 16 hex, byte groups). */
  readonly eui: string;
  /** Explicit start of validity (tests build not-yet-valid certificates with it). */
  readonly notBefore?: Date;
  /** Explicit end of validity (tests build expired certificates with it). */
  readonly notAfter?: Date;
}

/** The credential files of a mutually authenticated station: `cups.trust`, `cups.crt`, `cups.key`. */
export interface StationCredentialFiles {
  /** CA certificate, DER. */
  readonly trust: Buffer;
  /** Station client certificate, DER. */
  readonly crt: Buffer;
  /** Station private key, SEC1 DER. */
  readonly key: Buffer;
}

/** The credential files of a server-authenticated station: only `cups.trust`. */
export interface TrustOnlyFiles {
  /** CA certificate, DER. */
  readonly trust: Buffer;
}

/** The parts of Node's `tls.TLSSocket#getPeerCertificate()` (or `crypto.X509Certificate`) that name a station. */
export interface PeerCertificateLike {
  /** Subject: an object with `CN` (TLS peer certificate) or DN text (`crypto.X509Certificate#subject`). */
  readonly subject?: string | { readonly CN?: string | readonly string[] } | undefined;
  /** Node's SAN text, e.g. `DNS:a.example, URI:urn:lora:eui:0016C001FF10A235`. */
  readonly subjectaltname?: string | undefined;
}
