import { createHash, createSign, createVerify, randomUUID, type KeyObject } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobStore } from '../blobs/types.js';
import { conflict, invalid, notFound } from '../core/errors.js';
import type { FaultHook } from '../core/fault-hook.js';
import { isDowngrade } from '../core/versions.js';
import type { NewAuditEntry, OperatorRegistry } from '../registry/index.js';
import type { FirmwareSignature, Station, StationRegistry } from '../registry/types.js';
import { isDerSignatureForStation, keyCrc, publicKeyFromSigKey, sigKeyFromPublicKey } from '../signing/index.js';

export interface FirmwareDeps {
  readonly registry: OperatorRegistry;
  readonly blobs: BlobStore;
  readonly clock: () => Date;
  readonly faults?: FaultHook;
}

/** The update's bytes. `open` is called at most twice: once to name the blob by its hash, once to store it. */
export interface FirmwareSource {
  /** Names the source in messages (a file path). */
  readonly label: string;
  readonly size: number;
  open(): Readable;
}

/**
 * The update's bytes as one stream that can be read only once (an upload's
 * request body): stored while hashed and verified, in one pass.
 */
export interface FirmwareStream {
  /** Names the source in messages. */
  readonly label: string;
  readonly stream: Readable;
  /** The length announced (Content-Length), when known: any other length stores nothing. */
  readonly size?: number;
  /**
   * The SHA-256 (hex) announced, when known: names the blob, so bytes already
   * stored are recognised and not stored twice; other bytes store nothing.
   * Without it the blob gets a name of its own (the hash is known only at the end).
   */
  readonly sha256?: string;
}

/** A detached DER signature the operator made (openssl dgst -sha512 -sign). */
export interface GivenSignature {
  readonly keyCrc: number;
  readonly signature: Buffer;
  /** Names it in messages (a file path). */
  readonly label: string;
}

/** An update to store with its signatures: what an upgrade and a library upload both take. */
export interface SignedUpdateInput {
  /** The package version the update writes into version.txt. */
  readonly package: string;
  readonly source: FirmwareSource | FirmwareStream;
  readonly signatures?: readonly GivenSignature[];
  /** sig-N.key (64 bytes) for signatures whose key is not registered. */
  readonly publicKeys?: readonly Buffer[];
  /** Private keys to sign with now. */
  readonly signWith?: readonly KeyObject[];
  readonly onProgress?: (bytes: number) => void;
}

export interface FirmwareUpgradeInput extends SignedUpdateInput {
  readonly stations?: readonly string[];
  /** Every station carrying all of these labels. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly maxOffers: number;
  readonly allowDowngrade?: boolean;
}

export interface FirmwareUpgradeResult {
  readonly package: string;
  readonly blob: string;
  readonly size: number;
  readonly sha256: string;
  /** False when the same bytes were already stored (and verified again). */
  readonly uploaded: boolean;
  readonly keyCrcs: readonly number[];
  readonly stations: readonly string[];
}

/**
 * Stores a signed update once and targets stations at it. Signatures are
 * verified, and `signWith` signatures made, over the very bytes that go into the
 * blob store, while they stream in; the blob becomes visible only when those
 * bytes have the hash it is named by and every signature verifies, and stations
 * are targeted (in one transaction) only after that. A file changed between
 * reads is refused with nothing stored or targeted.
 */
export async function upgradeFirmware(
  deps: FirmwareDeps,
  input: FirmwareUpgradeInput,
  /** The audit row of the targeting, written in its transaction. */
  audit: (result: FirmwareUpgradeResult) => NewAuditEntry | null,
): Promise<FirmwareUpgradeResult> {
  const pkg = validatePackage(input.package);
  if (!Number.isInteger(input.maxOffers) || input.maxOffers < 1) throw invalid('invalid_max_offers', `--max-offers must be a whole number ≥ 1, got "${input.maxOffers}"`);
  const checks = await signatureChecks(deps.registry, input);
  const targets = await selectStations(deps.registry, input.stations ?? [], input.labels ?? {});
  const refused = targets.filter((s) => input.allowDowngrade !== true && isDowngrade(s.reported?.package ?? null, pkg));
  if (refused.length > 0) {
    throw invalid('downgrade_refused', `package ${pkg} is lower than what ${refused.map((s) => `${s.eui} reports (${s.reported?.package})`).join(', ')}; pass --allow-downgrade to do it anyway`);
  }

  const stored = await storeVerifiedFirmware(deps, { ...input, checks });
  const { blob, sha256, size, signatures: done } = stored;
  await deps.faults?.('blob-stored');
  const now = deps.clock();
  const keys = done.map((x) => x.keyCrc).join(',');
  const result = { package: pkg, blob, size, sha256, uploaded: stored.uploaded, keyCrcs: done.map((x) => x.keyCrc), stations: targets.map((s) => s.eui) };
  await deps.registry.setFirmwareTargets(
    targets.map((s) => ({
      eui: s.eui,
      target: { package: pkg, blob, size, sha256, signatures: done, maxOffers: input.maxOffers, fromPackage: s.reported?.package ?? null, requestedAt: now },
      events: [{ type: 'config' as const, message: `firmware target ${pkg} (${size} bytes, sha256 ${sha256.slice(0, 16)}…, keys ${keys})` }],
    })),
    now,
    deps.faults,
    () => audit(result),
  );
  return result;
}

/** An update in the blob store under its hash, with the signatures verified (or made) over its stored bytes. */
export interface StoredFirmware {
  readonly blob: string;
  readonly sha256: string;
  readonly size: number;
  readonly signatures: FirmwareSignature[];
  /** False when the same bytes were already stored (and verified again). */
  readonly uploaded: boolean;
}

/**
 * Stores an update once, verified: the checks of `upgradeFirmware` without
 * targeting anyone (the firmware library calls it). `checks` may be given when
 * already built from the input.
 */
export async function storeVerifiedFirmware(
  deps: Pick<FirmwareDeps, 'registry' | 'blobs'>,
  input: Omit<SignedUpdateInput, 'package'> & {
    readonly checks?: readonly Check[];
    /** Blobs already holding bytes with this hash (library entries), to store a streamed upload once. */
    readonly storedAs?: (sha256: string) => Promise<readonly string[]>;
  },
): Promise<StoredFirmware> {
  const { source } = input;
  const checks = input.checks ?? (await signatureChecks(deps.registry, input));
  if ('stream' in source) return storeStreamed(deps.blobs, source, checks, input.onProgress, input.storedAs);
  // The first read only names the blob; nothing it saw is trusted.
  const sha256 = await hashOf(source.open());
  const blob = `sha256-${sha256}`;
  const reused = await verifyStored(deps.blobs, blob, sha256, checks);
  let signatures = reused;
  if (signatures === undefined) {
    const pass = streamChecks(checks);
    await deps.blobs.put('fwupgrades', blob, Readable.from(pass.feed(source.open())), {
      size: source.size,
      ...(input.onProgress === undefined ? {} : { onProgress: input.onProgress }),
      beforeCommit: ({ sha256: stored }) => {
        if (stored !== sha256) {
          throw conflict('file_changed', `${source.label} changed while it was read (sha256 ${stored}, first read ${sha256}); nothing was stored, try again`);
        }
        signatures = pass.finish(source.label);
      },
    });
  }
  return { blob, sha256, size: source.size, signatures: signatures as FirmwareSignature[], uploaded: reused === undefined };
}

/**
 * One pass over a stream read once: the bytes go straight into the blob store's
 * staged write while they are hashed and the signatures computed over them; the
 * blob becomes visible only if, once every byte is written, the hash is the one
 * announced and every signature verifies. A refusal, a short body or a client
 * gone mid-upload leaves nothing stored (the store abandons the staged write).
 */
async function storeStreamed(
  blobs: BlobStore,
  source: FirmwareStream,
  checks: readonly Check[],
  onProgress?: (bytes: number) => void,
  storedAs?: (sha256: string) => Promise<readonly string[]>,
): Promise<StoredFirmware> {
  const declared = source.sha256?.toLowerCase();
  if (declared !== undefined && !/^[0-9a-f]{64}$/.test(declared)) throw invalid('invalid_sha256', `sha256 must be 64 hex digits, got "${source.sha256}"`);
  const mismatch = (got: string) => invalid('sha256_mismatch', `${source.label} has sha256 ${got}, not the ${declared} announced; nothing was stored`);
  if (declared !== undefined) {
    const blob = `sha256-${declared}`;
    const reused = await verifyStored(blobs, blob, declared, checks);
    if (reused !== undefined) {
      // The same bytes are stored and verify; the body is read through only to
      // check it is what was announced.
      const got = await hashOf(source.stream);
      if (got !== declared) throw mismatch(got);
      const info = await blobs.stat('fwupgrades', blob);
      return { blob, sha256: declared, size: info?.size ?? source.size ?? 0, signatures: reused, uploaded: false };
    }
  }
  const blob = declared === undefined ? `upload-${randomUUID()}` : `sha256-${declared}`;
  const pass = streamChecks(checks);
  let signatures: FirmwareSignature[] = [];
  const result = await blobs.put('fwupgrades', blob, Readable.from(pass.feed(source.stream)), {
    ...(source.size === undefined ? {} : { size: source.size }),
    ...(onProgress === undefined ? {} : { onProgress }),
    beforeCommit: ({ sha256: stored }) => {
      if (declared !== undefined && stored !== declared) throw mismatch(stored);
      signatures = pass.finish(source.label);
    },
  });
  if (declared === undefined) {
    // Named before its hash was known: when the same bytes are already stored
    // (and still verify) under their hash or another upload's name, keep that
    // one file and drop this copy.
    for (const named of new Set([`sha256-${result.sha256}`, ...((await storedAs?.(result.sha256)) ?? [])])) {
      const reused = await verifyStored(blobs, named, result.sha256, checks);
      if (reused === undefined) continue;
      await blobs.delete('fwupgrades', blob);
      return { blob: named, sha256: result.sha256, size: result.size, signatures: reused, uploaded: false };
    }
  }
  return { blob, sha256: result.sha256, size: result.size, signatures, uploaded: true };
}

/** A signature to verify with a public key, or a key to sign with. */
type Check =
  | { readonly kind: 'verify'; readonly keyCrc: number; readonly key: KeyObject; readonly signature: Buffer; readonly label: string }
  | { readonly kind: 'sign'; readonly keyCrc: number; readonly key: KeyObject };

async function signatureChecks(registry: Pick<StationRegistry, 'getSigningKey'>, input: Pick<FirmwareUpgradeInput, 'signatures' | 'publicKeys' | 'signWith'>): Promise<Check[]> {
  const given = new Map<number, Buffer>((input.publicKeys ?? []).map((k) => [keyCrc(k), k]));
  const checks: Check[] = [];
  for (const s of input.signatures ?? []) {
    if (!isDerSignatureForStation(s.signature)) throw invalid('invalid_signature', `--signature ${s.label} is not a DER ECDSA signature of 8..128 bytes`);
    let sigKey = given.get(s.keyCrc);
    if (sigKey === undefined) {
      const registered = await registry.getSigningKey(s.keyCrc);
      if (registered === undefined) throw notFound('signing_key_not_found', `no signing key with CRC ${s.keyCrc} is registered; run "bscups keys add sig-N.key" or pass --public-key`);
      sigKey = Buffer.from(registered.publicKey, 'hex');
    }
    checks.push({ kind: 'verify', keyCrc: s.keyCrc, key: publicKeyFromSigKey(sigKey), signature: s.signature, label: s.label });
  }
  for (const key of input.signWith ?? []) checks.push({ kind: 'sign', keyCrc: keyCrc(sigKeyFromPublicKey(key)), key });
  if (checks.length === 0) throw invalid('unsigned_firmware', 'give --signature FILE --key-crc CRC, or --sign-with sig-N.pem');
  const crcs = checks.map((c) => c.keyCrc);
  if (new Set(crcs).size !== crcs.length) throw invalid('duplicate_key', `two signatures use the same key CRC (${crcs.join(', ')})`);
  return checks;
}

/** Verifiers and signers fed by the same chunks that are stored. */
function streamChecks(checks: readonly Check[]) {
  const states = checks.map((c) => ({ check: c, hash: c.kind === 'verify' ? createVerify('sha512') : createSign('sha512') }));
  return {
    async *feed(stream: Readable): AsyncGenerator<Buffer> {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        for (const s of states) s.hash.update(chunk);
        yield chunk;
      }
    },
    /** The signatures to record; throws when one given does not verify. */
    finish(label: string): FirmwareSignature[] {
      return states.map(({ check, hash }) => {
        if (check.kind === 'sign') {
          return { keyCrc: check.keyCrc, signature: (hash as ReturnType<typeof createSign>).sign({ key: check.key, dsaEncoding: 'der' }).toString('base64') };
        }
        if (!(hash as ReturnType<typeof createVerify>).verify({ key: check.key, dsaEncoding: 'der' }, check.signature)) {
          throw invalid('signature_mismatch', `--signature ${check.label} does not verify ${label} with key ${check.keyCrc}; nothing was stored`);
        }
        return { keyCrc: check.keyCrc, signature: check.signature.toString('base64') };
      });
    },
  };
}

/**
 * An update already stored under this name is read back and checked like a new
 * upload: its bytes must still hash to its name and the signatures must verify
 * over them. Undefined when it is absent or damaged (then it is stored again).
 */
async function verifyStored(blobs: BlobStore, blob: string, sha256: string, checks: readonly Check[]): Promise<FirmwareSignature[] | undefined> {
  const read = await blobs.get('fwupgrades', blob);
  if (read === undefined) return undefined;
  const pass = streamChecks(checks);
  const hash = createHash('sha256');
  for await (const chunk of pass.feed(read.stream)) hash.update(chunk);
  if (hash.digest('hex') !== sha256) return undefined;
  return pass.finish(`the stored ${blob}`);
}

async function hashOf(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

export function validatePackage(value: string): string {
  const v = value.trim();
  if (v === '' || v.length > 64 || /[\s\x00-\x1f]/.test(v)) throw invalid('invalid_package', `--package must be 1..64 printable characters without spaces, got "${value}"`);
  return v;
}

async function selectStations(registry: Pick<StationRegistry, 'getStation' | 'listStations'>, euis: readonly string[], labels: Readonly<Record<string, string>>): Promise<Station[]> {
  if (euis.length === 0 && Object.keys(labels).length === 0) throw invalid('no_targets', 'say which stations: --station EUI… or --label key=value');
  const byEui = new Map<string, Station>();
  for (const eui of euis) {
    const s = await registry.getStation(eui);
    if (s === undefined) throw notFound('station_not_found', `station ${eui} is not registered; nothing was changed`);
    byEui.set(eui, s);
  }
  if (Object.keys(labels).length > 0) {
    const found = await registry.listStations({ labels });
    if (found.length === 0) throw notFound('no_stations', `no station has labels ${JSON.stringify(labels)}; nothing was changed`);
    for (const s of found) byEui.set(s.eui, s);
  }
  return [...byEui.values()];
}
