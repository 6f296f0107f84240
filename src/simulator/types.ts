import type { DecodedResponse, UpdateInfoRequest } from '../protocol/types.js';
import type { AppliedPart } from './apply.js';
import type { UpdateReport } from './firmware.js';

/** How to build a simulated station. */
export interface SimulatedStationOptions {
  /** The station's home folder (cups.uri, cups.trust, sig-0.key, ...). */
  readonly home: string;
  /** The router EUI in any form parseEui accepts; sent as ID6. */
  readonly eui: string;
  /** Platform name reported as `model`; default `linux`. */
  readonly model?: string;
  /** Version string reported as `station`; default `2.0.6(<model>/bscups-sim) <creation time>`. */
  readonly stationVersion?: string;
  /** Whole-exchange timeout, re-armed on every received chunk; default 60 s like the station. */
  readonly timeoutMs?: number;
  /** Wait for update.bin to exit and report its exit code; default true (the real station detaches). */
  readonly waitForUpdate?: boolean;
  /** Receives the station-style log lines; default: discarded. */
  readonly log?: (line: string) => void;
}

/** The raw answer as read off the socket. */
export interface RawExchangeResponse {
  /** Header names lowercased. */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** True when the server sent Transfer-Encoding: chunked (which real stations cannot read). */
  readonly chunked: boolean;
}

/** Everything one exchange did. */
export interface ExchangeResult {
  /** HTTP status; 0 when no response head was read (bad URI, connection or TLS failure, timeout). */
  readonly status: number;
  /** True when the station would count the exchange as a success. */
  readonly ok: boolean;
  /** Why the exchange failed (for a non-200: the response body text). */
  readonly error?: string;
  /** The request as sent, built from the home folder. */
  readonly request: UpdateInfoRequest;
  readonly rawResponse?: RawExchangeResponse;
  readonly response?: DecodedResponse;
  /** Parts written to the home folder: 'cupsUri', 'tcUri', 'cupsCred', 'tcCred', 'update'. */
  readonly applied: AppliedPart[];
  /** True when the body was exactly the 14 zero bytes. */
  readonly nothingToChange: boolean;
  /** What happened to a firmware update, when the response carried one. */
  readonly update?: UpdateReport;
}

/** Bounds for `SimulatedStation.run`. */
export interface RunOptions {
  /** Do exactly one exchange. */
  readonly once?: boolean;
  /** Fixed delay between exchanges; default: the station's own schedule (schedule.ts: 24 h while its LNS connection works, 450 s when it is refused, 60 s otherwise). */
  readonly intervalMs?: number;
  /** With the station's own schedule: every delay multiplied by this (e.g. 0.001: 450 s becomes 450 ms), so tests run the real rhythm in seconds. Default 1. */
  readonly timeScale?: number;
  /** With the station's own schedule: take the LNS (TC) connection as working without trying it. Default: a TCP connection to tc.uri's host and port is tried after each exchange. */
  readonly tcOk?: boolean;
  /** Stop after this many exchanges. */
  readonly maxExchanges?: number;
  /** Stop (and cut a pending exchange short) when aborted. */
  readonly signal?: AbortSignal;
}

/** A LoRa Basics Station emulator bound to one home folder. */
export interface SimulatedStation {
  readonly home: string;
  /** Canonical EUI (16 uppercase hex digits). */
  readonly eui: string;
  /** One full exchange: build the request from the home folder, send it, apply the answer. */
  exchange(options?: { signal?: AbortSignal }): Promise<ExchangeResult>;
  /** Repeated exchanges on the station's schedule, bounded by `once`, `maxExchanges` or `signal`. */
  run(options: RunOptions): Promise<ExchangeResult[]>;
}
