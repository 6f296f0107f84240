/**
 * Text a station or an operator chose (names, labels, what stations report,
 * audit details) may carry terminal escapes (clear the screen, rewrite a line),
 * a newline that forges a table row, or a bidirectional override that reverses
 * what follows it. Shown to a human, such characters are written as escapes
 * (`\x1b`, `\n`, `\u202e`) so the reader sees they are there: the CLI's tables
 * and notes and the dashboard both use this one rule (JSON keeps the raw value).
 * Pure and free of Node APIs: the dashboard's bundle imports it too.
 */

// C0 and C1 controls, DEL, line separators, and the bidirectional marks and overrides that reorder what the eye reads.
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every invisible or reordering character written as an escape. */
export function visible(text: string): string {
  return text.replace(INVISIBLE, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}
