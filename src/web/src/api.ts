/**
 * The dashboard's only path to data: the admin API on the same origin. The key
 * lives in sessionStorage (gone when the tab closes) and travels only in the
 * Authorization header: never in a URL, never in a cookie the browser would
 * attach by itself, so another site cannot make requests in the operator's name.
 */

const KEY = 'bscups.apiKey';

export type Role = 'viewer' | 'operator' | 'admin';

export interface Me {
  readonly name: string;
  readonly role: Role;
  /** The key's id (null for the unauthenticated local mode). */
  readonly keyId?: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, key);
}

/** Called when the key stops working (revoked, expired): the app shows the sign-in again. */
let onUnauthenticated: () => void = () => undefined;
export function whenUnauthenticated(f: () => void): void {
  onUnauthenticated = f;
}

export async function api<T>(method: string, path: string, body?: unknown, key = storedKey()): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'omit',
    cache: 'no-store',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const parsed: unknown = text === '' ? null : JSON.parse(text);
  if (!res.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    if (res.status === 401 && key === storedKey()) onUnauthenticated();
    throw new ApiError(res.status, error?.code ?? 'http_error', error?.message ?? `HTTP ${res.status}`);
  }
  return parsed as T;
}

export const get = <T>(path: string) => api<T>('GET', path);

/** A query string from defined values; arrays repeat the parameter. */
export function query(params: Record<string, string | readonly string[] | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of typeof v === 'string' ? [v] : v) q.append(k, one);
  }
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}
