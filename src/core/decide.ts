import type { UpdateInfoRequest } from '../protocol/types.js';
import { sameReported } from './reported.js';
import type { StationAuthMode } from './station-auth-model.js';
import { heldBackProblem, needsTls } from './tls-only-credential.js';
import type {
  CredentialRef,
  ExchangeRecord,
  FirmwareSignature,
  FirmwareTarget,
  FirmwareTransition,
  NewEvent,
  ReportedState,
  Station,
} from './model.js';

/** The parts of an answer, before their bytes are loaded from the blob store. */
export interface AnswerPlan {
  readonly cupsUri?: string;
  readonly tcUri?: string;
  readonly cupsCred?: CredentialRef;
  readonly tcCred?: CredentialRef;
  readonly firmware?: { readonly target: FirmwareTarget; readonly signature: FirmwareSignature };
}

export type AnswerPart = keyof AnswerPlan;

/** What to answer and what to record for one exchange. */
export interface Decision {
  readonly answer: AnswerPlan;
  /** Problems found while deciding; joined into the station's visible problem. */
  readonly problems: readonly string[];
  readonly events: readonly NewEvent[];
  readonly firmware?: FirmwareTransition;
  readonly reported: ReportedState;
}

export interface DecideOptions {
  readonly now: Date;
  /**
   * How this exchange came: over TLS or not, and the auth mode the desired CUPS
   * credential is for (the target of the pending CUPS rotation that delivers
   * it, else null). Over plain HTTP a CUPS credential for mtls or token is held
   * back (core/tls-only-credential.ts). Absent: as over TLS, nothing held back.
   */
  readonly transport?: { readonly secure: boolean; readonly cupsCredMode: StationAuthMode | null };
}

export function reportedFrom(req: UpdateInfoRequest): ReportedState {
  return {
    cupsUri: req.cupsUri,
    tcUri: req.tcUri,
    cupsCredCrc: req.cupsCredCrc,
    tcCredCrc: req.tcCredCrc,
    station: req.station,
    model: req.model,
    package: req.package,
    keys: [...req.keys],
  };
}

/**
 * Decides the answer to an update-info request for a registered station.
 * URIs are sent when they differ from what the station reported, credentials
 * when their CRC differs, firmware when the package differs and the station
 * holds a key that one of the firmware's signatures was made with.
 */
export function decide(req: UpdateInfoRequest, station: Station, options: DecideOptions): Decision {
  const { desired } = station;
  const answer: { -readonly [K in keyof AnswerPlan]: AnswerPlan[K] } = {};
  if (desired.cupsUri !== null && desired.cupsUri !== req.cupsUri) answer.cupsUri = desired.cupsUri;
  if (desired.tcUri !== null && desired.tcUri !== req.tcUri) answer.tcUri = desired.tcUri;
  if (desired.cupsCred !== null && desired.cupsCred.crc !== req.cupsCredCrc) answer.cupsCred = desired.cupsCred;
  if (desired.tcCred !== null && desired.tcCred.crc !== req.tcCredCrc) answer.tcCred = desired.tcCred;

  const problems: string[] = [];
  const transport = options.transport;
  if (answer.cupsCred !== undefined && transport !== undefined && !transport.secure && needsTls(transport.cupsCredMode)) {
    delete answer.cupsCred;
    problems.push(heldBackProblem(transport.cupsCredMode, req.cupsUri));
  }

  const fw = decideFirmware(req, station.firmware, options.now);
  if (fw.offer !== undefined) answer.firmware = fw.offer;
  if (fw.problem !== undefined) problems.push(fw.problem);

  return {
    answer,
    problems,
    events: fw.events,
    ...(fw.transition === undefined ? {} : { firmware: fw.transition }),
    reported: reportedFrom(req),
  };
}

interface FirmwareDecision {
  offer?: { target: FirmwareTarget; signature: FirmwareSignature };
  transition?: FirmwareTransition;
  problem?: string;
  events: NewEvent[];
}

function decideFirmware(req: UpdateInfoRequest, target: FirmwareTarget | null, now: Date): FirmwareDecision {
  if (target === null) return { events: [] };
  const pkg = target.package;

  if (req.package === pkg) {
    if (target.state === 'upgraded') return { events: [] };
    return {
      transition: { package: pkg, state: 'upgraded', upgradedAt: now, lastError: null },
      events: [
        {
          type: 'firmware_upgraded',
          message: `station now reports package ${pkg}`,
          detail: { package: pkg, from: target.fromPackage, offers: target.offers },
        },
      ],
    };
  }

  if (target.state === 'failed') return { events: [] };

  if (target.offers >= target.maxOffers) {
    const lastError = `station still reports package ${JSON.stringify(req.package)} after ${target.offers} offer(s) of ${pkg}; run "bscups firmware retry ${req.router}" to offer it again`;
    return {
      transition: { package: pkg, state: 'failed', lastError },
      events: [{ type: 'firmware_failed', message: lastError, detail: { package: pkg, reported: req.package, offers: target.offers } }],
    };
  }

  const signature = pickSignature(target.signatures, req.keys);
  if (signature === undefined) return { problem: missingKeyProblem(target, req.keys), events: [] };

  // The offer is counted only once the whole update has been written (see firmwareDelivery).
  return { offer: { target, signature }, events: [] };
}

/** The problem of a firmware target none of whose signing keys the station holds. */
function missingKeyProblem(target: FirmwareTarget, keys: readonly number[]): string {
  const wanted = target.signatures.map((s) => s.keyCrc).join(', ');
  return `firmware ${target.package}: signing key CRC ${wanted} not on station; it has [${keys.join(', ')}]`;
}

/**
 * The up-to-date poll, decided without building a decision: true exactly when
 * decide() would send nothing and its exchangeRecord() would change nothing but
 * last-seen (onlyStampsLastSeen). Most polls of a fleet are of this kind and are
 * answered from memory, so this allocates nothing on that path; every other
 * case answers false and goes through decide(). decide.test.ts checks the two
 * agree over every combination of the inputs that matter.
 */
export function quietPoll(req: UpdateInfoRequest, station: Station): boolean {
  const { desired } = station;
  if (desired.cupsUri !== null && desired.cupsUri !== req.cupsUri) return false;
  if (desired.tcUri !== null && desired.tcUri !== req.tcUri) return false;
  if (desired.cupsCred !== null && desired.cupsCred.crc !== req.cupsCredCrc) return false;
  if (desired.tcCred !== null && desired.tcCred.crc !== req.tcCredCrc) return false;
  if (!sameReported(station.reported, req)) return false;
  const target = station.firmware;
  // Without a firmware problem the record would clear any problem held: quiet only when there is none.
  if (target === null) return station.problem === null;
  if (req.package === target.package) return target.state === 'upgraded' && station.problem === null;
  if (target.state === 'failed') return station.problem === null;
  // Offers used up (a transition to failed) or a signature to offer: not quiet.
  if (target.offers >= target.maxOffers || pickSignature(target.signatures, req.keys) !== undefined) return false;
  // The station lacks the signing key: quiet while that problem is already the one held (rare: builds the text).
  return station.problem === missingKeyProblem(target, req.keys);
}

/** The signature for the first of the station's keys that has one, in the station's key order. */
function pickSignature(signatures: readonly FirmwareSignature[], keys: readonly number[]): FirmwareSignature | undefined {
  for (const crc of keys) {
    const found = signatures.find((s) => s.keyCrc === crc);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Removes a part whose bytes could not be loaded (a blob missing or changed in
 * the store) and records why, so the rest of the answer still reaches the station.
 */
export function withoutPart(decision: Decision, part: AnswerPart, problem: string): Decision {
  const { [part]: _dropped, ...answer } = decision.answer;
  return { ...decision, answer, problems: [...decision.problems, problem] };
}

/** The registry record of an exchange: problem written only when it changed, events for what was sent. */
export function exchangeRecord(
  decision: Decision,
  station: Station,
  seen: { readonly at: Date; readonly remoteAddress: string | null },
): ExchangeRecord {
  const problem = decision.problems.length === 0 ? null : decision.problems.join('; ');
  const events: NewEvent[] = [...decision.events];
  if (problem !== null && problem !== station.problem) events.push({ type: 'problem', message: problem });
  const sent = sentParts(decision.answer);
  if (sent.length > 0) {
    events.push({ type: 'exchange', message: `sent ${sent.join(', ')}`, detail: { sent } });
  }
  return {
    at: seen.at,
    remoteAddress: seen.remoteAddress,
    reported: decision.reported,
    ...(problem === station.problem ? {} : { problem }),
    events,
    ...(decision.firmware === undefined ? {} : { firmware: decision.firmware }),
  };
}

/**
 * True when an exchange record would change nothing but last-seen: the report
 * equals what the station said before and there is nothing else to write, so
 * one cheap stamp replaces a transaction (most polls are of this kind).
 */
export function onlyStampsLastSeen(record: ExchangeRecord, station: Station): boolean {
  return (
    record.events.length === 0 &&
    record.problem === undefined &&
    record.firmware === undefined &&
    sameReported(station.reported, record.reported)
  );
}

/** Names of the parts an answer carries, in wire order. */
export function sentParts(answer: AnswerPlan): AnswerPart[] {
  const order: AnswerPart[] = ['cupsUri', 'tcUri', 'cupsCred', 'tcCred', 'firmware'];
  return order.filter((p) => answer[p] !== undefined);
}
