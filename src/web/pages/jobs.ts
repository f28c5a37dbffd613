import { api, ApiError, enc, TERMINAL, type Job } from '../api.js';
import { badge, bytes, duration, errorBox, fill, h, pageHeader, progressBar, toast, vmNameOf, when } from '../dom.js';
import { verifyFindings } from './point-actions.js';

// The web imports nothing from core by design; test/unit/kinds.test.ts keeps this list equal to JOB_TYPES.
export const TYPES = ['Backup', 'Restore', 'Register', 'ConfigureProtection', 'Export', 'Import', 'Verify', 'Mount', 'Discovery'];
const STATUSES = ['Queued', 'InProgress', 'Completed', 'CompletedWithWarnings', 'Failed', 'Cancelling', 'Cancelled'];
const REFRESH_MS = 1500;

function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

function select(id: string, label: string, values: string[], current: string | null): HTMLElement[] {
  return [
    h(
      'div',
      { class: 'fgroup' },
      h('label', { for: id }, label),
      h('select', { id, name: id }, h('option', { value: '' }, 'Any'), ...values.map((v) => h('option', { value: v, selected: v === current }, v))),
    ),
  ];
}

async function cancel(job: Job, status: HTMLElement, reload: () => Promise<void>): Promise<void> {
  try {
    await api('POST', `jobs/${enc(job.jobId)}/cancel`);
    toast(`Cancellation of ${job.type} job requested.`);
    await reload();
  } catch (err) {
    fill(status, errorBox(err));
  }
}

/** Words for a job's progress; a finished job says what it moved (a restore writes only the used ranges). */
export function progressText(j: Job): string {
  const p = j.progress;
  const moved = p.bytesDone > 0 ? `${bytes(p.bytesDone)} copied` : '';
  if (j.status.startsWith('Completed')) return ['done', moved].filter(Boolean).join(' · ');
  if (j.status === 'Failed' || j.status === 'Cancelled') return [j.status.toLowerCase(), moved].filter(Boolean).join(' · ');
  const of = p.bytesTotal > 0 ? `${bytes(p.bytesDone)} of ${bytes(p.bytesTotal)}` : moved;
  const segs = p.segmentsTotal > 0 ? `${p.segmentsDone} of ${p.segmentsTotal} segments` : '';
  return [`${p.percent ?? 0}%`, of, segs].filter(Boolean).join(' · ');
}

function progressCells(j: Job): HTMLElement[] {
  const p = j.progress;
  return [
    h('td', { class: 'progress-cell' }, progressBar(j.status.startsWith('Completed') ? 100 : p.percent, `Progress of ${j.type} ${vmNameOf(j.itemKey)}`), h('span', { class: 'hint' }, progressText(j))),
    h('td', {}, p.throughputBytesPerSecond ? `${bytes(p.throughputBytesPerSecond)}/s` : '-'),
    h('td', {}, TERMINAL.has(j.status) ? '-' : duration(p.etaSeconds)),
  ];
}

function errorRow(j: Job, cols: number): HTMLElement | null {
  if (!j.error && j.warnings.length === 0) return null;
  return h(
    'tr',
    { class: 'error-row' },
    h(
      'td',
      { colspan: cols },
      j.error ? h('div', { class: 'error' }, h('p', {}, h('strong', {}, `${j.error.code}: `), j.error.message), h('p', {}, h('strong', {}, 'Recommended action: '), j.error.recommendedAction)) : null,
      j.warnings.length ? h('ul', { class: 'warnings' }, ...j.warnings.map((w) => h('li', {}, w))) : null,
    ),
  );
}

export async function jobsPage(main: HTMLElement, params: URLSearchParams): Promise<() => void> {
  const status = h('div', { 'aria-live': 'polite' });
  const table = h('div', {});
  let timer: number | undefined;
  let stopped = false;
  const query = new URLSearchParams();
  for (const k of ['type', 'status', 'itemKey', 'from', 'to']) {
    const v = params.get(k);
    if (v) query.set(k, v);
  }
  query.set('top', '50');

  const fromInput = h('input', { id: 'from', name: 'from', type: 'datetime-local', value: toLocalInput(params.get('from')) });
  const toInput = h('input', { id: 'to', name: 'to', type: 'datetime-local', value: toLocalInput(params.get('to')) });
  const itemInput = h('input', { id: 'itemKey', name: 'itemKey', type: 'text', value: params.get('itemKey') ?? '', placeholder: 'vm;subscription;group;name', size: 22 });
  const filters = h(
    'form',
    { class: 'toolbar filters', 'aria-label': 'Job filters' },
    ...select('type', 'Type', TYPES, params.get('type')),
    ...select('status', 'Status', STATUSES, params.get('status')),
    h('div', { class: 'fgroup' }, h('label', { for: 'itemKey' }, 'Item'), itemInput),
    h('div', { class: 'fgroup' }, h('label', { for: 'from' }, 'From'), fromInput),
    h('div', { class: 'fgroup' }, h('label', { for: 'to' }, 'To'), toInput),
    h('div', { class: 'fgroup buttons' }, h('button', { type: 'submit' }, 'Apply'), h('a', { href: '#/jobs', class: 'button' }, 'Clear')),
  );
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    const fd = new FormData(filters);
    for (const [k, v] of fd.entries()) {
      const val = String(v).trim();
      if (!val) continue;
      q.set(k, k === 'from' || k === 'to' ? new Date(val).toISOString() : val);
    }
    location.hash = `#/jobs?${q.toString()}`;
  });

  async function load(): Promise<void> {
    window.clearTimeout(timer);
    const r = await api<{ items: Job[]; continuation?: string }>('GET', `jobs?${query.toString()}`);
    if (stopped) return;
    const cols = 9;
    fill(
      table,
      r.items.length === 0
        ? h('p', { class: 'empty' }, 'No jobs match these filters.')
        : h(
            'table',
            { class: 'data jobs' },
            h('caption', { class: 'sr-only' }, 'Jobs, newest first'),
            h('thead', {}, h('tr', {}, ...['Type', 'Item', 'Status', 'Created', 'Progress', 'Throughput', 'ETA', 'Trigger', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
            ...r.items.map((j) =>
              h(
                'tbody',
                { 'data-job': j.jobId },
                h(
                  'tr',
                  {},
                  h('th', { scope: 'row' }, h('a', { href: `#/jobs/${enc(j.jobId)}` }, j.type)),
                  h('td', {}, vmNameOf(j.itemKey)),
                  h('td', {}, badge(j.status)),
                  h('td', {}, when(j.createdAt)),
                  ...progressCells(j),
                  h('td', {}, j.trigger ?? '-'),
                  h('td', {}, !j.cancellable ? null : h('button', { type: 'button', 'data-needs': 'cancelJob', onclick: () => void cancel(j, status, load) }, 'Cancel')),
                ),
                errorRow(j, cols),
              ),
            ),
          ),
      r.continuation ? h('p', { class: 'hint' }, 'Showing the newest 50; narrow the filters to see older jobs.') : null,
    );
    if (r.items.some((j) => !TERMINAL.has(j.status))) timer = window.setTimeout(() => void load().catch((e) => fill(status, errorBox(e))), REFRESH_MS);
  }

  main.replaceChildren(pageHeader('Jobs', h('button', { type: 'button', onclick: () => void load().catch((e) => fill(status, errorBox(e))) }, 'Refresh')), filters, status, table);
  await load();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}

/** One job, refreshed until it ends: where the operator lands after starting a backup or a restore. */
export async function jobPage(main: HTMLElement, _params: URLSearchParams, path: string[]): Promise<() => void> {
  const jobId = path[1]!;
  const status = h('div', { 'aria-live': 'polite' });
  const body = h('div', {});
  let timer: number | undefined;
  let stopped = false;

  async function load(): Promise<void> {
    window.clearTimeout(timer);
    const j = await api<Job & { disks?: { name: string; sizeBytes: number; full: boolean; segments: number }[] }>('GET', `jobs/${enc(jobId)}`);
    if (stopped) return;
    const rows: [string, unknown][] = [
      ['Status', badge(j.status)],
      ['Item', vmNameOf(j.itemKey)],
      ['Trigger', j.trigger ?? '-'],
      ['Phase', j.phase ?? '-'],
      ['Created', when(j.createdAt)],
      ['Started', when(j.startedAt)],
      ['Ended', when(j.endedAt)],
      ['Throughput', j.progress.throughputBytesPerSecond ? `${bytes(j.progress.throughputBytesPerSecond)}/s` : '-'],
      ['ETA', TERMINAL.has(j.status) ? '-' : duration(j.progress.etaSeconds)],
      ['Consistency', j.consistency?.replace(/([a-z])([A-Z])/g, '$1 $2') ?? '-'],
    ];
    const title = document.getElementById('page-title');
    if (title) title.textContent = `${j.type} job · ${vmNameOf(j.itemKey)}`;
    rows.push(['Job id', h('span', { class: 'mono' }, j.jobId)]);
    // A restore's result lists the disks it made; a verify's, what it found on each disk of the point.
    const restored = j.type === 'Restore' ? ((j.result.disks as { diskId: string }[] | undefined) ?? []) : [];
    const findings = j.type === 'Verify' ? verifyFindings(j) : null;
    fill(
      body,
      h(
        'div',
        { class: 'card' },
        progressBar(j.status.startsWith('Completed') ? 100 : j.progress.percent, `Progress of this ${j.type} job`),
        h('p', { class: 'hint' }, progressText(j)),
        h('dl', { class: 'facts' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k.toLowerCase() }, v as Node | string)])),
        j.cancellable ? h('button', { type: 'button', 'data-needs': 'cancelJob', onclick: () => void cancel(j, status, load) }, 'Cancel job') : null,
        j.status === 'Cancelling' ? h('p', { class: 'hint', role: 'status' }, 'Cancellation requested: the job stops at its next checkpoint.') : null,
      ),
      j.error ? errorBox(new ApiError(0, j.error.code, j.error.message, j.error.recommendedAction)) : null,
      j.warnings.length ? h('div', { class: 'card' }, h('h2', {}, 'Warnings'), h('ul', {}, ...j.warnings.map((w) => h('li', {}, w)))) : null,
      j.disks?.length
        ? h(
            'div',
            { class: 'card' },
            h('h2', {}, 'Disks'),
            h('ul', {}, ...j.disks.map((d) => h('li', {}, `${d.name}: ${bytes(d.sizeBytes)}, ${d.full ? 'full copy' : 'incremental'}, ${d.segments} segment(s)`))),
          )
        : null,
      findings ? h('div', { class: 'card' }, h('h2', {}, `Verification: ${String(j.result.state ?? '-')}`), findings) : null,
      restored.length ? h('div', { class: 'card' }, h('h2', {}, 'Restored disks'), h('ul', {}, ...restored.map((d) => h('li', { class: 'mono' }, d.diskId)))) : null,
      newVmCard(j.result.newVm as { vmId: string; nicId: string; powerState?: string } | undefined),
      j.itemKey
        ? h('p', {}, h('a', { href: `#/items/${enc(j.itemKey)}` }, `Recovery points of ${vmNameOf(j.itemKey)}`), ' · ', h('a', { href: `#/jobs?itemKey=${enc(j.itemKey)}` }, 'All jobs of this item'))
        : null,
    );
    if (!TERMINAL.has(j.status)) timer = window.setTimeout(() => void load().catch((e) => fill(status, errorBox(e))), REFRESH_MS);
  }

  main.replaceChildren(pageHeader(`Job ${jobId}`, h('a', { class: 'button', href: '#/jobs' }, 'All jobs')), status, body);
  await load();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}

/** A restore to a new VM: the VM and NIC it made (or, on a failed job, had planned and then deleted). */
function newVmCard(vm: { vmId: string; nicId: string; powerState?: string } | undefined): HTMLElement | null {
  if (!vm) return null;
  return h(
    'div',
    { class: 'card', 'data-new-vm': vm.vmId },
    h('h2', {}, 'New VM'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'VM'),
      h('dd', { class: 'mono' }, vm.vmId),
      h('dt', {}, 'Network interface'),
      h('dd', { class: 'mono' }, vm.nicId),
      h('dt', {}, 'Power state'),
      h('dd', {}, vm.powerState ?? '-'),
    ),
  );
}
