import { api, storeKey, type Me } from '../api.js';
import { errorText } from '../app.js';
import { field, h } from '../dom.js';

/** The key is checked against the API before it is kept; it is kept for this browser tab only. */
export function signInPage(onSignedIn: (me: Me) => void): HTMLElement {
  const input = h('input', { type: 'password', name: 'apiKey', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'bsk_…' });
  const error = h('p', { class: 'error', role: 'alert' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'bscups dashboard'),
    h('p', null, 'Sign in with an API key. "npm start" prints an admin key on the first start; "bscups apikey create" makes more.'),
    field('API key', input, 'Kept only until this tab is closed; sent only in the Authorization header.'),
    error,
    button,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const key = input.value.trim();
    if (key === '') return;
    button.disabled = true;
    error.textContent = '';
    api<Me>('GET', '/me', undefined, key).then(
      (me) => {
        storeKey(key);
        input.value = '';
        onSignedIn(me);
      },
      (err: unknown) => {
        button.disabled = false;
        error.textContent = `Sign-in refused: ${errorText(err)}`;
        input.focus();
      },
    );
  });
  queueMicrotask(() => input.focus());
  return h('main', { id: 'main', class: 'center' }, form);
}
