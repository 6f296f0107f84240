/** A minimal admin API client over a real socket (global fetch), for tests. */

/** Answers are checked by the tests' assertions, not by types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface ApiAnswer<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly text: string;
}

export function adminClient(baseUrl: string) {
  return async function call<T = Json>(method: string, path: string, key?: string, body?: unknown): Promise<ApiAnswer<T>> {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // HTML and other text stay text
    }
    return { status: res.status, body: parsed as T, text };
  };
}
