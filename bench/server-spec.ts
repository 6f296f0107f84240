/** What a server child runs; passed as JSON in argv so the child needs no other setup. */
export type ServerSpec =
  /** The product: `serve()` over a registry and a blob store the parent prepared. */
  | { readonly kind: 'cups'; readonly database: string; readonly blobs: string; readonly logLevel: string }
  /** The ceiling: bare node:http answering fixed bytes (hex) with a Content-Length. */
  | { readonly kind: 'bare-bytes'; readonly bodyHex: string }
  /** The streaming ceiling: bare node:http piping a file from disk with a Content-Length. */
  | { readonly kind: 'bare-file'; readonly path: string };

/** Resource use of the server process, measured inside it. */
export interface ServerStats {
  /** User + system CPU time since the process started, in microseconds. */
  readonly cpuMicros: number;
  readonly rss: number;
  /** Highest RSS sampled (every 10 ms) since the last reset. */
  readonly sampledPeakRss: number;
  /** VmHWM from /proc: the kernel's lifetime peak RSS; null off Linux. */
  readonly vmHwm: number | null;
}

export type ChildMessage =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'stats'; readonly id: number; readonly stats: ServerStats }
  | { readonly type: 'failed'; readonly message: string };

export type ParentMessage =
  | { readonly type: 'stats'; readonly id: number; readonly resetPeak: boolean }
  | { readonly type: 'stop' };
