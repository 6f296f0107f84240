import { parseDuration } from './duration.js';
import { invalid } from './errors.js';

/**
 * When a rollout may act: a scheduled start, and time windows in a time zone
 * (`Mon-Fri 01:00-05:00 Europe/Berlin`) outside which it makes no offer. Pure:
 * local wall time comes from Intl (the zone database Node ships), so a window
 * follows its zone's daylight-saving changes (01:00-05:00 on the night clocks
 * go forward is three real hours).
 */

/** A window as parsed: days of the week it opens on, local minutes of day, and the zone. */
export interface TimeWindow {
  /** 0 = Sunday … 6 = Saturday, as Date.getUTCDay. The days the window opens on. */
  readonly days: readonly number[];
  /** Local minute of day it opens, 0..1439. */
  readonly start: number;
  /** Local minute of day it closes, 1..1440; below `start`: it closes the next day. */
  readonly end: number;
  readonly zone: string;
  /** The window in its normal spelling. */
  readonly text: string;
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const EXAMPLE = 'e.g. "Mon-Fri 01:00-05:00 Europe/Berlin" or "daily 22:00-02:00 UTC"';

/** Parses `--start-at`: an ISO 8601 time with its offset (or Z), or a duration from now (`2h`, `3d`). */
export function parseStartAt(text: string, now: Date): Date {
  const t = text.trim();
  if (/^\d{1,9}[smhdw]$/.test(t)) return new Date(now.getTime() + parseDuration(t, '--start-at'));
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/i.exec(t);
  if (iso === null) {
    const local = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/.test(t);
    throw invalid(
      'invalid_start_at',
      local
        ? `--start-at "${text}" has no time zone: add Z (UTC) or an offset, e.g. ${t.includes('T') ? t : `${t}T02:00`}Z or ${t.includes('T') ? t : `${t}T02:00`}+01:00`
        : `--start-at must be an ISO 8601 time with its offset (2026-12-08T02:00Z, 2026-12-08T02:00+01:00) or a duration from now (90m, 2h, 3d), got "${text}"`,
      { field: 'startAt' },
    );
  }
  const at = new Date(t);
  const [y, mo, d] = t.slice(0, 10).split('-').map(Number) as [number, number, number];
  const real = new Date(Date.UTC(y, mo - 1, d));
  if (Number.isNaN(at.getTime()) || real.getUTCMonth() !== mo - 1 || real.getUTCDate() !== d || Number(t.slice(11, 13)) > 23 || Number(t.slice(14, 16)) > 59) throw invalid('invalid_start_at', `--start-at "${text}" is not a real date and time`, { field: 'startAt' });
  if (at.getTime() <= now.getTime()) {
    throw invalid('start_at_past', `--start-at ${at.toISOString()} is not in the future (now ${now.toISOString()}); leave --start-at out to start at once`, { field: 'startAt' });
  }
  return at;
}

/** Parses one `--window`: `DAYS HH:MM-HH:MM ZONE`, days as `Mon-Fri`, `Sat,Sun`, `Fri-Mon` or `daily`. */
export function parseWindow(text: string): TimeWindow {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 3) throw invalid('invalid_window', `--window needs days, hours and a time zone, ${EXAMPLE}; got "${text}"`, { field: 'window' });
  const [dayText, hourText, zone] = parts as [string, string, string];
  const days = parseDays(dayText, text);
  const hours = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(hourText);
  if (hours === null) throw invalid('invalid_window', `--window hours must be HH:MM-HH:MM (24-hour clock), ${EXAMPLE}; got "${hourText}" in "${text}"`, { field: 'window' });
  const start = minuteOfDay(Number(hours[1]), Number(hours[2]), false, text);
  const end = minuteOfDay(Number(hours[3]), Number(hours[4]), true, text);
  if (start === end) throw invalid('invalid_window', `--window "${text}" opens and closes at the same time; for all day write 00:00-24:00`, { field: 'window' });
  if (!validZone(zone)) throw invalid('invalid_window', `--window time zone "${zone}" is not one this server knows; use an IANA name such as Europe/Berlin, America/New_York or UTC`, { field: 'window' });
  return { days, start, end, zone, text: `${formatDays(days)} ${hourText} ${zone}` };
}

function parseDays(text: string, whole: string): number[] {
  if (/^(daily|every-day)$/i.test(text)) return [0, 1, 2, 3, 4, 5, 6];
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const range = item.split('-');
    const ends = range.map((d) => DAY_NAMES.findIndex((n) => n.toLowerCase() === d.toLowerCase()));
    if (range.length > 2 || ends.some((i) => i === -1)) {
      throw invalid('invalid_window', `--window days must be Mon, Tue, Wed, Thu, Fri, Sat, Sun, ranges like Mon-Fri, lists like Sat,Sun, or daily; got "${text}" in "${whole}"`, { field: 'window' });
    }
    const from = ends[0] as number;
    const to = ends[ends.length - 1] as number;
    for (let d = from; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === to) break;
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** Monday first, runs of three days or more as ranges: `Mon-Fri`, `Sat,Sun`, `Mon,Wed-Fri`. */
function formatDays(days: readonly number[]): string {
  if (days.length === 7) return 'daily';
  const week = [1, 2, 3, 4, 5, 6, 0].filter((d) => days.includes(d));
  const runs: number[][] = [];
  for (const d of week) {
    const last = runs[runs.length - 1];
    const prev = last?.[last.length - 1];
    if (last !== undefined && prev !== undefined && (prev + 1) % 7 === d) last.push(d);
    else runs.push([d]);
  }
  return runs.map((r) => (r.length >= 3 ? `${DAY_NAMES[r[0] as number]}-${DAY_NAMES[r[r.length - 1] as number]}` : r.map((d) => DAY_NAMES[d]).join(','))).join(',');
}

function minuteOfDay(h: number, m: number, isEnd: boolean, whole: string): number {
  if ((h === 24 && m === 0 && isEnd) || (h < 24 && m < 60)) return h * 60 + m;
  throw invalid('invalid_window', `--window "${whole}": ${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')} is not a time of day (00:00 to 23:59; 24:00 only as an end)`, { field: 'window' });
}

const formats = new Map<string, Intl.DateTimeFormat>();

function validZone(zone: string): boolean {
  try {
    formatFor(zone);
    return true;
  } catch {
    return false;
  }
}

/** The value cached under `key`, made once per process. */
function cached<V>(cache: Map<string, V>, key: string, make: () => V): V {
  let v = cache.get(key);
  if (v === undefined) {
    v = make();
    cache.set(key, v);
  }
  return v;
}

function formatFor(zone: string): Intl.DateTimeFormat {
  return cached(formats, zone, () => new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', weekday: 'short', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' }));
}

/** Local wall time of an instant in a zone. */
export interface WallTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  /** 0 = Sunday. */
  readonly weekday: number;
  /** Minute of the local day. */
  readonly minute: number;
}

export function wallTime(at: Date, zone: string): WallTime {
  const p: Record<string, string> = {};
  for (const part of formatFor(zone).formatToParts(at)) p[part.type] = part.value;
  return {
    year: Number(p['year']),
    month: Number(p['month']),
    day: Number(p['day']),
    weekday: DAY_NAMES.indexOf(p['weekday'] as (typeof DAY_NAMES)[number]),
    minute: Number(p['hour']) * 60 + Number(p['minute']),
  };
}

/** Whether `at` lies inside the window (by the zone's wall clock at that instant). */
export function inWindow(w: TimeWindow, at: Date): boolean {
  const t = wallTime(at, w.zone);
  if (w.start < w.end) return w.days.includes(t.weekday) && t.minute >= w.start && t.minute < w.end;
  // Overnight: opens on one of its days, closes the next morning.
  return (w.days.includes(t.weekday) && t.minute >= w.start) || (w.days.includes((t.weekday + 6) % 7) && t.minute < w.end);
}

/** True without windows; else whether any window is open at `at`. */
export function windowsOpen(windows: readonly TimeWindow[], at: Date): boolean {
  return windows.length === 0 || windows.some((w) => inWindow(w, at));
}

/** Offset of the zone from UTC at `at`, ms (positive east of Greenwich). */
function offsetMs(zone: string, at: number): number {
  const t = wallTime(new Date(at), zone);
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, Math.floor(t.minute / 60), t.minute % 60);
  return asUtc - Math.floor(at / 60_000) * 60_000;
}

/**
 * The instant a local wall time happens in the zone: the first of the two when
 * clocks go back, the end of the gap (about) when they go forward and it never happens.
 */
function instantOf(zone: string, year: number, month: number, day: number, minute: number): number {
  const naive = Date.UTC(year, month - 1, day, 0, minute);
  const first = naive - offsetMs(zone, naive);
  const second = naive - offsetMs(zone, first);
  const third = naive - offsetMs(zone, second);
  const real = [first, second, third].filter((t) => {
    const w = wallTime(new Date(t), zone);
    return w.day === day && w.minute === minute;
  });
  return real.length > 0 ? Math.min(...real) : Math.max(first, second);
}

/**
 * The first instant at or after `from` when a window is open (`from` itself without
 * windows). Looks 8 days ahead, which covers every weekly pattern.
 */
export function nextWindowOpen(windows: readonly TimeWindow[], from: Date): Date {
  if (windowsOpen(windows, from)) return from;
  let best = Number.POSITIVE_INFINITY;
  for (const w of windows) {
    const today = wallTime(from, w.zone);
    for (let d = -1; d <= 8; d++) {
      const date = new Date(Date.UTC(today.year, today.month - 1, today.day + d));
      if (!w.days.includes(date.getUTCDay())) continue;
      const at = instantOf(w.zone, date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), w.start);
      if (at > from.getTime() && at < best && inWindow(w, new Date(at))) best = at;
    }
  }
  return Number.isFinite(best) ? new Date(best) : from;
}

/**
 * Whether a station that calls every `intervalMs` from `lastCallAt` will make a call
 * inside a window within the next `horizonMs` (at most 64 calls looked at).
 */
export function callsFallInWindows(windows: readonly TimeWindow[], lastCallAt: Date, intervalMs: number, horizonMs: number): boolean {
  if (windows.length === 0) return true;
  const calls = Math.min(64, Math.max(1, Math.floor(horizonMs / intervalMs)));
  for (let k = 0; k <= calls; k++) if (windowsOpen(windows, new Date(lastCallAt.getTime() + k * intervalMs))) return true;
  return false;
}

/** `HH:MM` of an instant's local time in the zone. */
export function clockTime(at: Date, zone: string): string {
  const m = wallTime(at, zone).minute;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

const parsed = new Map<string, TimeWindow>();

/** The windows of a rollout's plan, parsed (each text once per process). */
export function planWindows(plan: { readonly windows?: readonly string[] }): TimeWindow[] {
  return (plan.windows ?? []).map((text) => cached(parsed, text, () => parseWindow(text)));
}

/** A member whose station's calls fall outside every window of its rollout. */
export interface WindowMiss {
  readonly eui: string;
  /** When it last called. */
  readonly lastCallAt: Date;
  /** Its learned interval between regular calls. */
  readonly intervalMs: number;
  /** Its usual call time of day, `HH:MM` in the first window's zone. */
  readonly usualCallTime: string;
  readonly zone: string;
}

/** The rhythm of a station as windows need it: its last call and its health (core/health.ts). */
export interface StationRhythm {
  readonly lastSeenAt: Date | null;
  readonly health: { readonly state: string; readonly intervalMs: number } | null;
}

/** A week: every weekly window pattern repeats within it. */
const WEEK_MS = 7 * 86_400_000;

/**
 * The stations whose calls miss every window: a healthy station calls at about
 * the same time every day (PROTOCOL.md 8), so one whose last call and the calls
 * of the coming week at its learned interval all fall outside the windows will
 * not be offered the change unless it calls early (a restart, a failing LNS).
 * A station failing its LNS (back every 450 s or 60 s), silent past its interval
 * and grace, or never seen, is not counted: its rhythm says nothing of the kind.
 */
export function windowMisses(windows: readonly TimeWindow[], stations: ReadonlyMap<string, StationRhythm>, now: Date, defaultIntervalMs: number, graceMs: number): WindowMiss[] {
  const first = windows[0];
  if (first === undefined) return [];
  const out: WindowMiss[] = [];
  for (const [eui, r] of stations) {
    if (r.lastSeenAt === null || r.health?.state === 'lns_failing') continue;
    const intervalMs = r.health?.intervalMs ?? defaultIntervalMs;
    if (intervalMs < 3_600_000 || now.getTime() - r.lastSeenAt.getTime() > intervalMs + graceMs) continue;
    if (callsFallInWindows(windows, r.lastSeenAt, intervalMs, WEEK_MS)) continue;
    out.push({ eui, lastCallAt: r.lastSeenAt, intervalMs, usualCallTime: clockTime(r.lastSeenAt, first.zone), zone: first.zone });
  }
  return out.sort((a, b) => (a.eui < b.eui ? -1 : 1));
}
