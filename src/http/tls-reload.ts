import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { readTlsMaterial, secureContextOptions, type ServerCertificateInfo, type TlsFilePaths, type TlsFlags } from './tls-files.js';

/** Swaps a running server's certificate without dropping the process or open connections. */
export interface TlsReloader {
  /** Re-reads the files and installs them for new connections; on unusable files keeps the old context and throws. */
  reload(trigger: string): Promise<ServerCertificateInfo>;
  /** Emits `reloaded` (ServerCertificateInfo) and `reload-failed` (Error) after each attempt. */
  readonly events: EventEmitter;
  /** Stops watching the files. */
  close(): void;
}

/** Writers replace a certificate and its key in two steps; wait for both before reading. */
const SETTLE_MS = 150;

/**
 * Watches the directories of the TLS files (a file replaced by rename, as
 * certificate tools do, would end a watch on the file itself) and reloads after
 * they settle. Reloads run one at a time.
 */
export function watchTlsFiles(server: TlsServer, paths: TlsFilePaths, logger: Logger, flags?: TlsFlags): TlsReloader {
  const events = new EventEmitter();
  let chain: Promise<unknown> = Promise.resolve();

  const reload = (trigger: string): Promise<ServerCertificateInfo> => {
    const attempt = chain.then(async () => {
      try {
        const material = await readTlsMaterial(paths, flags);
        server.setSecureContext(secureContextOptions(material));
        logger.info({ trigger, certificate: material.info }, 'server certificate reloaded');
        events.emit('reloaded', material.info);
        return material.info;
      } catch (e) {
        logger.error({ trigger, err: e }, 'server certificate reload failed; still serving the previous one');
        events.emit('reload-failed', e);
        throw e;
      }
    });
    chain = attempt.catch(() => undefined);
    return attempt;
  };

  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      reload('file change').catch(() => undefined);
    }, SETTLE_MS);
    timer.unref();
  };

  const files = [paths.cert, paths.key, ...(paths.clientCa === undefined ? [] : [paths.clientCa])].map((f) => resolve(f));
  const byDir = new Map<string, Set<string>>();
  for (const file of files) {
    const names = byDir.get(dirname(file)) ?? new Set<string>();
    names.add(basename(file));
    byDir.set(dirname(file), names);
  }
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    try {
      const watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (name === null || names.has(name.toString())) schedule();
      });
      watcher.on('error', (e) => logger.warn({ err: e, dir }, 'stopped watching TLS files; reload with SIGHUP'));
      watchers.push(watcher);
    } catch (e) {
      logger.warn({ err: e, dir }, 'cannot watch TLS files for changes; reload with SIGHUP');
    }
  }

  return {
    reload,
    events,
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
