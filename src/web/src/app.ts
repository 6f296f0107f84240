import { ApiError, type Me } from './api.js';
import { h } from './dom.js';
import { visible } from './text.js';

/** What every page gets: who is signed in, navigation, and the shared dialogs. */
export interface AppContext {
  readonly me: Me;
  /** True when the key may change things (operator or admin); the API enforces it regardless. */
  readonly canChange: boolean;
  go(hash: string): void;
  /** Asks before a destructive action; resolves true when confirmed. */
  confirm(question: string, action: string): Promise<boolean>;
  /** Announces an outcome in the status line (read out by screen readers). */
  notify(message: string, kind?: 'ok' | 'error'): void;
  /** Runs an action, announcing its error if it fails (or the text it resolves to, else "done"); refreshes the page after. */
  act(what: string, run: () => Promise<unknown>): Promise<void>;
}

/** A page: its element, and a refresh the app calls on a timer to keep it live. */
export interface Page {
  readonly title: string;
  readonly el: HTMLElement;
  refresh(): Promise<void>;
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.message} (${e.code})`;
  return e instanceof Error ? e.message : String(e);
}

/** A modal confirmation on <dialog>: focus trapped, Escape cancels, the safe choice focused first. */
export function confirmDialog(question: string, action: string): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const ok = h('button', { type: 'button', class: 'danger' }, action);
    const dialog = h('dialog', { 'aria-labelledby': 'confirm-q', class: 'confirm' }, h('p', { id: 'confirm-q' }, visible(question)), h('div', { class: 'actions' }, cancel, ok));
    const done = (value: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    cancel.addEventListener('click', () => done(false));
    ok.addEventListener('click', () => done(true));
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
