import type { HealthThresholds } from '../core/health.js';
import type { CertificateNotice, SilenceNotice, WatchedCertificate } from '../registry/webhooks/notices.js';
import type { KyselyWebhookStore } from '../registry/webhooks/webhook-store.js';
import { readCertificateLifetime, type CertificateFiles } from './certificate-lifetimes.js';

const DAY_MS = 86_400_000;

/** The expiry windows told about: 30 days ahead (the alert rule's), a week, a day. */
export const CERTIFICATE_NOTICE_WINDOWS_MS: readonly number[] = Object.freeze([30 * DAY_MS, 7 * DAY_MS, DAY_MS]);

export interface NoticeSweepOptions {
  readonly store: Pick<KyselyWebhookStore, 'noticeSilences' | 'noticeStationCertificates' | 'noticeCertificates' | 'pruneCertificateNotices'>;
  readonly clock: () => Date;
  /** The health thresholds of the server: silence is read as the health reading reads it. */
  readonly health: Pick<HealthThresholds, 'intervalMs' | 'graceMs'>;
  /** The server certificate and station CA files, when the server has them. */
  readonly files: CertificateFiles;
  readonly windowsMs?: readonly number[];
  /** Stations and certificates claimed per round (a pass runs rounds until none is left). */
  readonly batch?: number;
  readonly logger: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
}

export interface NoticePass {
  readonly silent: readonly SilenceNotice[];
  readonly certificates: readonly CertificateNotice[];
}

/**
 * One pass of the notices read off the clock: stations gone silent and
 * certificates (the stations' CUPS client certificates, the server
 * certificate, the station CA) entering an expiry window. Each is told once
 * across passes and replicas (the registry claims it), written to the webhook
 * outbox with the claim.
 */
export async function runNoticePass(o: NoticeSweepOptions): Promise<NoticePass> {
  const batch = o.batch ?? 500;
  const windows = o.windowsMs ?? CERTIFICATE_NOTICE_WINDOWS_MS;
  const now = o.clock();
  const silent: SilenceNotice[] = [];
  for (;;) {
    const round = await o.store.noticeSilences({ now, intervalMs: o.health.intervalMs, graceMs: o.health.graceMs, limit: batch });
    silent.push(...round);
    if (round.length < batch) break;
  }
  const certificates: CertificateNotice[] = [];
  for (;;) {
    const round = await o.store.noticeStationCertificates(now, windows, batch);
    certificates.push(...round);
    if (round.length < batch) break;
  }
  const files: WatchedCertificate[] = [];
  for (const [role, file, optional] of [['server', o.files.server, false], ['station_ca', o.files.stationCa, true]] as const) {
    if (file === undefined) continue;
    const c = await readCertificateLifetime(file, optional);
    if (c?.fingerprint != null && c.notAfter !== null) files.push({ role, fingerprint: c.fingerprint, notAfter: c.notAfter, subject: c.subject });
  }
  certificates.push(...(await o.store.noticeCertificates(now, windows, files)));
  await o.store.pruneCertificateNotices(now);
  return { silent, certificates };
}

export interface NoticeSweep {
  /** One pass now (tests); a pass already running is awaited instead. */
  runOnce(): Promise<NoticePass>;
  stop(): Promise<void>;
}

/** Runs runNoticePass every `intervalMs` in a server, one pass at a time; a failed pass is logged and retried at the next. */
export function startNoticeSweep(o: NoticeSweepOptions, intervalMs: number, autostart = true): NoticeSweep {
  let running: Promise<NoticePass> | undefined;
  let stopped = false;
  const runOnce = (): Promise<NoticePass> => {
    running ??= runNoticePass(o).finally(() => {
      running = undefined;
    });
    return running;
  };
  const pass = (): void => {
    if (stopped || running !== undefined) return;
    runOnce().then(
      (p) => {
        if (p.silent.length > 0) o.logger.info({ stations: p.silent.map((s) => s.eui).slice(0, 20), count: p.silent.length }, 'stations gone silent');
        for (const c of p.certificates) {
          o.logger.warn({ certificate: c.certificate.role, eui: c.certificate.eui, fingerprint: c.certificate.fingerprint, notAfter: c.certificate.notAfter.toISOString() }, 'certificate expiring');
        }
      },
      (e: unknown) => o.logger.warn({ err: e }, 'notice sweep failed; retrying at the next one'),
    );
  };
  const timer = autostart ? setInterval(pass, intervalMs) : undefined;
  timer?.unref();
  if (autostart) pass();
  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
