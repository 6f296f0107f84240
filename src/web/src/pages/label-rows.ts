import { h } from '../dom.js';

/**
 * Labels edited as key/value rows: a value may hold any text (commas, "=",
 * spaces), so nothing is split. `read()` gives the rows as a map (rows with an
 * empty key are ignored).
 */
export function labelRows(): { el: HTMLElement; set(labels: Record<string, string>): void; read(): Record<string, string> } {
  const rows = h('div', { class: 'label-rows' });
  let n = 0;
  const addRow = (key = '', value = '') => {
    const i = ++n;
    const k = h('input', { type: 'text', autocomplete: 'off', value: key, 'aria-label': `Label ${i} key`, placeholder: 'key', 'data-part': 'key' });
    const v = h('input', { type: 'text', autocomplete: 'off', value, 'aria-label': `Label ${i} value`, placeholder: 'value', 'data-part': 'value' });
    const remove = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Remove label ${i}` }, '×');
    const row = h('div', { class: 'label-row' }, k, v, remove);
    remove.addEventListener('click', () => row.remove());
    rows.append(row);
    return k;
  };
  const add = h('button', { type: 'button', class: 'secondary small' }, 'Add label');
  add.addEventListener('click', () => addRow().focus());
  const el = h('fieldset', { class: 'labels-edit' }, h('legend', null, 'Labels'), rows, add);
  return {
    el,
    set(labels) {
      rows.replaceChildren();
      n = 0;
      for (const [k, v] of Object.entries(labels)) addRow(k, v);
    },
    read() {
      const out: Record<string, string> = {};
      for (const row of rows.querySelectorAll('.label-row')) {
        const k = (row.querySelector('[data-part="key"]') as HTMLInputElement).value.trim();
        const v = (row.querySelector('[data-part="value"]') as HTMLInputElement).value;
        if (k !== '') out[k] = v;
      }
      return out;
    },
  };
}
