import { api, enc, getKey } from '../api.js';
import { badge, bytes, errorBox, h, pageHeader, toast, when } from '../dom.js';

interface ItemReport {
  itemKey: string;
  vmName: string;
  policyName: string | null;
  state: string;
  lastSuccessfulBackupAt: string | null;
  rpoHours: number | null;
  rpoMet: boolean | null;
  points: { snapshotTier: number; vault: number; softDeleted: number; immutable: number };
  storedBytes: { vault: number; snapshotTier: number; estimate: true };
  monthlyCost: { vault: number; snapshotTier: number; total: number; currency: string };
}
interface Report {
  generatedAt: string;
  notes: string[];
  items: ItemReport[];
  prices: { vaultGiBMonth: number; snapshotGiBMonth: number; currency: string };
  totals: { items: number; rpoMissed: number; vaultBytes: number; snapshotTierBytes: number; monthlyCost: number };
}

const money = (n: number, currency: string): string => {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency, maximumFractionDigits: 2 }).format(n);
  } catch {
    return `${n.toFixed(2)} ${currency}`;
  }
};

/** The CSV needs the function key like every call, so it is fetched and handed to the browser as a file. */
async function downloadCsv(status: HTMLElement): Promise<void> {
  try {
    const res = await fetch(new URL('report?format=csv', new URL('../', document.baseURI)), { headers: { 'x-functions-key': getKey() ?? '' } });
    if (!res.ok) throw new Error(`The app answered ${res.status}.`);
    const url = URL.createObjectURL(await res.blob());
    const a = h('a', { href: url, download: `vmbackup-report-${new Date().toISOString().slice(0, 10)}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    toast('Report downloaded.');
  } catch (err) {
    status.replaceChildren(errorBox(err));
  }
}

function row(i: ItemReport): HTMLElement {
  const rpo = i.rpoMet === null ? h('span', { class: 'hint' }, 'no policy') : badge(i.rpoMet ? 'Met' : 'Missed');
  return h(
    'tr',
    {},
    h('th', { scope: 'row' }, h('a', { href: `#/items/${enc(i.itemKey)}` }, i.vmName)),
    h('td', {}, i.policyName ?? '—'),
    h('td', {}, i.lastSuccessfulBackupAt ? when(i.lastSuccessfulBackupAt) : 'never'),
    h('td', {}, rpo, i.rpoHours !== null ? h('span', { class: 'hint' }, ` ${i.rpoHours} h`) : null),
    h('td', { class: 'num' }, i.points.snapshotTier),
    h('td', { class: 'num' }, i.points.vault),
    h('td', { class: 'num' }, i.points.immutable),
    h('td', { class: 'num' }, bytes(i.storedBytes.vault + i.storedBytes.snapshotTier)),
    h('td', { class: 'num' }, money(i.monthlyCost.total, i.monthlyCost.currency)),
  );
}

export async function reportPage(main: HTMLElement): Promise<() => void> {
  const r = await api<Report>('GET', 'report');
  const status = h('div', { 'aria-live': 'polite' });
  const csv = h('button', { type: 'button' }, 'Download CSV');
  csv.addEventListener('click', () => void downloadCsv(status));
  const cur = r.prices.currency;
  main.replaceChildren(
    pageHeader('Backup report', csv),
    status,
    h(
      'p',
      { class: 'hint' },
      `Generated ${when(r.generatedAt)}. ${r.totals.items} item${r.totals.items === 1 ? '' : 's'}, ${r.totals.rpoMissed} missing their RPO; about ${money(r.totals.monthlyCost, cur)} a month at ${r.prices.vaultGiBMonth} (vault) and ${r.prices.snapshotGiBMonth} (snapshots) ${cur} per GiB-month.`,
    ),
    r.items.length === 0
      ? h('p', { class: 'hint' }, 'Nothing is protected yet.')
      : h(
          'table',
          { class: 'table', 'aria-label': 'Backup report per item' },
          h(
            'thead',
            {},
            h('tr', {}, ...['VM', 'Policy', 'Last successful backup', 'RPO', 'Snapshot tier', 'Vault', 'Immutable', 'Stored (est.)', 'Monthly (est.)'].map((t) => h('th', { scope: 'col' }, t))),
          ),
          h('tbody', {}, ...r.items.map(row)),
        ),
    h('ul', { class: 'hint' }, ...r.notes.map((n) => h('li', {}, n))),
  );
  return () => {};
}
