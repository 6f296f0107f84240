import { get } from '../api.js';
import type { AppContext, Page } from '../app.js';
import { fill, h, table, time } from '../dom.js';
import { bytes, crcHex, u } from '../text.js';
import type { FirmwarePackage } from '../types.js';

export function firmwarePage(_ctx: AppContext): Page {
  const list = h('div');
  const el = h(
    'section',
    { 'aria-labelledby': 'fw-title' },
    h('h1', { id: 'fw-title' }, 'Firmware library'),
    h('p', { class: 'meta' }, 'Packages are uploaded once, verified over the stored bytes ("bscups firmware upload" or PUT /api/v1/firmware/{package}).'),
    list,
  );
  return {
    title: 'Firmware',
    el,
    async refresh() {
      const pkgs = await get<FirmwarePackage[]>('/firmware');
      fill(
        list,
        table(
          ['Package', 'Size', 'Models', 'Signing key CRCs', 'SHA-256', 'Uploaded'],
          pkgs.map((p) => [h('span', { class: 'mono' }, u(p.package)), h('span', { class: 'nowrap' }, bytes(p.size)), p.models.length === 0 ? 'any' : p.models.map((m, i) => [i === 0 ? '' : ', ', u(m, 'clip')]), h('span', { class: 'mono' }, p.keyCrcs.map(crcHex).join(', ')), h('span', { class: 'mono fp', title: p.sha256 }, `${p.sha256.slice(0, 16)}…`), [time(p.createdAt), ' by ', u(p.createdBy)]]),
          'Firmware packages',
          'The library is empty.',
        ),
      );
    },
  };
}
