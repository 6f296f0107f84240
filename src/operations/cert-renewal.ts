import { PACING_WINDOW_MS, recentStarts, renewalBudget, renewalRange } from '../core/cert-renewal.js';
import { conflict, isCupsError } from '../core/errors.js';
import type { RolloutStore } from '../registry/index.js';
import { audited, type Actor, type OperationContext } from './context.js';
import type { StationCa } from './credential-rotate.js';
import { issueCredentials } from './credentials.js';
import { checkRolloutClaims } from './rollout-claims.js';

/** The identity the audit log names for renewals the server starts by itself. */
export const RENEWAL_ACTOR: Actor = { name: 'server:certificate-renewal', keyId: null, role: 'admin', via: 'server', remoteAddress: null };

/** What a renewal pass needs: the stores, the clock, and the station CA that issues. */
export interface RenewalDeps extends Omit<OperationContext, 'actor'> {
  readonly rollouts: RolloutStore;
  /** Read at each pass, so a CA created or renewed after start is used. */
  readonly stationCa: () => Promise<StationCa>;
}

export interface RenewalPolicy {
  /** Renew a station's certificate once it expires within this many milliseconds. */
  readonly beforeMs: number;
  /** At most this many renewals start in any minute (per server). */
  readonly maxPerMinute: number;
  /** Lifetime of the new certificates in days; the station default without it. */
  readonly validDays?: number;
}

export interface Renewed {
  readonly eui: string;
  /** The certificate the station holds now, retired once it authenticates with the new one. */
  readonly replaces: string;
  readonly replacesNotAfter: Date;
  readonly fingerprint: string;
  readonly notAfter: Date;
  readonly crc: number;
}

export interface RenewalPass {
  readonly renewed: readonly Renewed[];
  /** Stations due but not renewed, with why (held by a rollout, renewed meanwhile by another replica). */
  readonly skipped: readonly { readonly eui: string; readonly reason: string }[];
  /** Renewals left for later passes by the pacing. */
  readonly deferred: boolean;
}

/**
 * One renewal pass: every mtls station whose active CUPS certificate expires
 * within `beforeMs` and has no CUPS rotation pending gets a new certificate of
 * the station CA as its desired credential, with a rotation towards it, like
 * `station rotate`: the station fetches it at its next call, and the old one is
 * retired once the station authenticates with the new one, so nothing locks it
 * out. Paced by `starts` (start times of this server's recent renewals, kept by
 * the caller and appended to here). A station held by a rotation rollout is left
 * to it. Another replica renewing the same station at the same moment is
 * refused inside the transaction (the rotation it started is pending), so each
 * station is renewed once. Each renewal is audited as the server.
 */
export async function renewExpiringCertificates(deps: RenewalDeps, policy: RenewalPolicy, starts: number[]): Promise<RenewalPass> {
  const now = deps.clock();
  const budget = renewalBudget(starts, now.getTime(), policy.maxPerMinute);
  // Drop what the window no longer needs, so the list stays as short as the pacing.
  starts.splice(0, starts.length, ...recentStarts(starts, now.getTime()));
  // Held stations are skipped without using the budget: read a few more than it allows.
  const candidates = await deps.fleet.findRenewalCandidates({ ...renewalRange(now, policy.beforeMs), limit: budget === 0 ? 1 : budget * 2 + 10 });
  if (budget === 0) return { renewed: [], skipped: [], deferred: candidates.length > 0 };
  if (candidates.length === 0) return { renewed: [], skipped: [], deferred: false };
  const ctx = { ...deps, actor: RENEWAL_ACTOR };
  const held = new Set((await checkRolloutClaims(ctx, candidates.map((c) => c.eui), { kind: 'credentials', category: 'cups' }, 'renewal', true)).map((h) => h.eui));
  const ca = await deps.stationCa();
  const renewed: Renewed[] = [];
  const skipped: { eui: string; reason: string }[] = [];
  for (const c of candidates) {
    if (renewed.length >= budget) return { renewed, skipped, deferred: true };
    if (held.has(c.eui)) {
      skipped.push({ eui: c.eui, reason: 'held by a credential rotation rollout' });
      continue;
    }
    try {
      const issued = await issueCredentials(
        deps,
        {
          eui: c.eui,
          kind: 'certificate',
          credentials: [{ category: 'cups', trust: ca.caCert }],
          ...(ca.ca === undefined ? {} : { ca: ca.ca }),
          ...(policy.validDays === undefined ? {} : { validDays: policy.validDays }),
          guard: ({ auth }) => {
            if (auth.rotations.some((r) => r.category === 'cups')) throw conflict('renewal_pending', `station ${c.eui} already has a CUPS credential rotation pending`);
            if (auth.mode !== 'mtls') throw conflict('renewal_pending', `station ${c.eui} no longer authenticates with a certificate (mode ${auth.mode})`);
          },
        },
        // Written in the transaction that makes the new certificate the desired one.
        ([cred]) =>
          audited(ctx, 'credential.renew', c.eui, {
            category: 'cups',
            fingerprint: cred?.fingerprint ?? null,
            notAfter: cred?.notAfter?.toISOString() ?? null,
            crc: cred?.crc ?? null,
            replaces: c.fingerprint,
            replacesNotAfter: c.notAfter.toISOString(),
          }),
      );
      starts.push(deps.clock().getTime());
      const cred = issued.credentials[0];
      const r: Renewed = { eui: c.eui, replaces: c.fingerprint, replacesNotAfter: c.notAfter, fingerprint: cred?.fingerprint as string, notAfter: cred?.notAfter as Date, crc: cred?.crc as number };
      renewed.push(r);
    } catch (e) {
      // Changed since it was read (another replica renewed it, an operator rotated or removed it): not this pass's.
      if (!isCupsError(e) || !['renewal_pending', 'station_not_found'].includes(e.code)) throw e;
      skipped.push({ eui: c.eui, reason: e.message });
    }
  }
  return { renewed, skipped, deferred: false };
}

export interface CertificateRenewal {
  stop(): Promise<void>;
}

/**
 * Runs renewExpiringCertificates every `intervalMs` (one pass at a time) in a
 * server. A failed pass is logged and retried at the next; renewals are logged.
 */
export function startCertificateRenewal(
  deps: RenewalDeps,
  policy: RenewalPolicy,
  logger: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void },
  intervalMs: number,
): CertificateRenewal {
  const starts: number[] = [];
  let running: Promise<void> | undefined;
  let stopped = false;
  const pass = (): void => {
    if (stopped || running !== undefined) return;
    running = renewExpiringCertificates(deps, policy, starts)
      .then((p) => {
        for (const r of p.renewed) logger.info({ eui: r.eui, fingerprint: r.fingerprint, notAfter: r.notAfter.toISOString(), replaces: r.replaces, replacesNotAfter: r.replacesNotAfter.toISOString() }, 'station certificate renewed: offered on its next call');
        if (p.deferred) logger.info({ maxPerMinute: policy.maxPerMinute }, 'more station certificates are due for renewal: paced to the next minute');
      })
      .catch((e: unknown) => logger.warn({ err: e }, 'station certificate renewal pass failed; retrying at the next one'))
      .finally(() => {
        running = undefined;
      });
  };
  // A pass at most every pacing window would leave budget unused; at least every interval.
  const timer = setInterval(pass, Math.min(intervalMs, PACING_WINDOW_MS));
  timer.unref();
  pass();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
