/** What a server child runs; passed as JSON in argv so the child needs no other setup. */
export type ServerSpec =
  /** The product: `serve()` over a registry and a blob store the parent prepared; HTTPS with `tls`. */
  /** `allowUnauthenticated: false` is a production server: every station must present its credential (default true, a test setup). */
  | { readonly kind: 'cups'; readonly database: string; readonly blobs: string; readonly logLevel: string; readonly tls?: TlsFiles; readonly allowUnauthenticated?: boolean }
  /** The ceiling: bare node:http (node:https with `tls`) answering fixed bytes (hex) with a Content-Length. */
  | { readonly kind: 'bare-bytes'; readonly bodyHex: string; readonly tls?: TlsFiles }
  /** The streaming ceiling: bare node:http piping a file from disk with a Content-Length. */
  | { readonly kind: 'bare-file'; readonly path: string };

/** PEM files of a server certificate and its key. */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

/** Resource use of the server process, measured inside it. */
export interface ServerStats {
  /** User + system CPU time since the process started, in microseconds. */
  readonly cpuMicros: number;
  readonly rss: number;
  /** Highest RSS sampled (every 10 ms) since the last reset. */
  readonly sampledPeakRss: number;
  /** VmHWM from /proc: the kernel's lifetime peak RSS; null off Linux. */
  readonly vmHwm: number | null;
  /** The child's monotonic clock (process.hrtime) in µs: the clock its V8 CPU profile is stamped with. */
  readonly monoMicros: number;
  /** TLS handshakes that resumed a session (bare HTTPS only; null elsewhere): must stay 0, stations never resume. */
  readonly resumedHandshakes: number | null;
}

export type ChildMessage =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'stats'; readonly id: number; readonly stats: ServerStats }
  | { readonly type: 'failed'; readonly message: string };

export type ParentMessage =
  | { readonly type: 'stats'; readonly id: number; readonly resetPeak: boolean }
  | { readonly type: 'stop' };
