import { api, ApiError, enc, type Item } from '../api.js';
import { errorBox, fill, h, pageHeader, s, toast } from '../dom.js';
import { confirmationStep, dialogActions, openModal, showIn } from '../dialog.js';
import { NEW_POLICY, policyFields, readPolicy, syncVisibility, type PolicyJson } from './policy-form.js';

interface Preview {
  timeZone: string;
  nextRuns: { at: string; local: string }[];
  retainedAfterOneYear: { count: number; scheduledCount: number; byTier: Record<string, number>; points: { at: string; local: string; expiresAt: string; tiers: string[] }[] };
}

function scheduleText(p: PolicyJson): string {
  const sc = p.schedule;
  if (sc.frequency === 'Hourly') return `every ${sc.intervalHours} h from ${sc.windowStart} for ${sc.windowHours} h`;
  if (sc.frequency === 'Weekly') return `${sc.daysOfWeek.map((d: string) => d.slice(0, 3)).join(', ')} at ${sc.times.join(', ')}`;
  return `daily at ${sc.times.join(', ')}`;
}
function retentionText(r: PolicyJson): string {
  return [`daily ${r.dailyDays} d`, r.weekly && `weekly ${r.weekly.weeks} w`, r.monthly && `monthly ${r.monthly.months} mo`, r.yearly && `yearly ${r.yearly.years} y`].filter(Boolean).join(' · ');
}

export async function policiesPage(main: HTMLElement, params: URLSearchParams): Promise<() => void> {
  const editing = params.get('edit');
  if (editing || params.get('new')) {
    const p = editing ? await api<PolicyJson>('GET', `policies/${enc(editing)}`) : NEW_POLICY;
    return editor(main, p, !!editing);
  }
  const [list, items] = await Promise.all([api<{ items: PolicyJson[] }>('GET', 'policies'), api<{ items: Item[] }>('GET', 'items')]);
  const users = (name: string): Item[] => items.items.filter((i) => i.policyName === name);
  // The list again, in place: the hash does not change, so the router would not redraw it.
  const redraw = (): void => void policiesPage(main, params).catch((err) => main.replaceChildren(pageHeader('Policies'), errorBox(err)));
  main.replaceChildren(
    pageHeader('Policies', h('a', { class: 'button primary', href: '#/policies?new=1', 'data-needs': 'createPolicy' }, 'New policy')),
    list.items.length === 0
      ? h('p', { class: 'empty' }, 'No policies yet. A policy says when backups run and how long recovery points are kept.')
      : h(
          'table',
          { class: 'data' },
          h('caption', { class: 'sr-only' }, 'Backup policies'),
          h('thead', {}, h('tr', {}, ...['Name', 'Time zone', 'Schedule', 'Retention', 'Consistency', 'Protects', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            {},
            ...list.items.map((p) =>
              h(
                'tr',
                { 'data-policy': p.name },
                h('th', { scope: 'row' }, p.name),
                h('td', {}, p.timeZone),
                h('td', {}, scheduleText(p)),
                h('td', {}, retentionText(p.retention)),
                h('td', {}, (p.consistency?.mode ?? 'CrashConsistent').replace(/([a-z])([A-Z])/g, '$1 $2')),
                h(
                  'td',
                  {},
                  users(p.name).length
                    ? users(p.name)
                        .map((i) => i.vmName)
                        .join(', ')
                    : '-',
                ),
                h(
                  'td',
                  {},
                  h(
                    'div',
                    { class: 'row-actions' },
                    h('a', { class: 'button', href: `#/policies?edit=${enc(p.name)}`, 'aria-label': `Edit ${p.name}`, 'data-needs': 'updatePolicy' }, 'Edit'),
                    h(
                      'button',
                      {
                        type: 'button',
                        'aria-label': `Delete ${p.name}`,
                        'data-needs': 'deletePolicy',
                        onclick: (e: Event) => openDeletePolicy(p.name, users(p.name), e.currentTarget as HTMLElement, redraw),
                      },
                      'Delete…',
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
  );
  return () => document.querySelector('dialog.wizard')?.remove();
}

/**
 * Deleting a policy is destructive for the API: its first answer asks for confirmation. A policy that still
 * protects items is refused by the API (PolicyInUse); the dialog says so up front and shows the API's answer.
 */
function openDeletePolicy(name: string, users: Item[], opener: HTMLElement, redraw: () => void): void {
  const m = openModal('delpol-title', opener);
  const status = h('div', { 'aria-live': 'assertive' });
  const go = h('button', { type: 'button', class: 'danger' }, 'Review deletion');
  const send = (token?: string) => api('DELETE', `policies/${enc(name)}${token ? `?confirmationToken=${enc(token)}` : ''}`);
  const deleted = (): void => {
    m.close();
    toast(`Policy ${name} deleted.`);
    redraw();
  };
  go.addEventListener('click', async () => {
    go.disabled = true;
    try {
      await send();
      deleted();
    } catch (err) {
      go.disabled = false;
      if (
        !confirmationStep(status, err, `Yes, delete policy ${name}`, async (token) => {
          await send(token);
          deleted();
        })
      )
        return void fill(status, errorBox(err));
      go.remove();
    }
  });
  showIn(
    m,
    h('h2', { id: 'delpol-title', tabindex: -1 }, `Delete policy ${name}?`),
    h(
      'ul',
      { class: 'what-happens' },
      h('li', {}, 'The policy’s schedule and retention rules are removed. Recovery points already taken keep their expiry dates.'),
      users.length
        ? h(
            'li',
            {},
            h('strong', {}, `It still protects ${users.map((i) => i.vmName).join(', ')}. `),
            'The app refuses to delete a policy in use: protect those VMs with another policy or stop their protection first.',
          )
        : h('li', {}, 'No item is protected by it.'),
    ),
    status,
    dialogActions(m, go),
  );
}

function editor(main: HTMLElement, p: PolicyJson, isEdit: boolean): () => void {
  const status = h('div', { 'aria-live': 'polite' });
  const preview = h('div', { class: 'preview-body' });
  const form = h(
    'form',
    { class: 'policy-form', 'aria-label': 'Policy' },
    policyFields(p, isEdit),
    status,
    h(
      'div',
      { class: 'form-actions' },
      h('a', { class: 'button', href: '#/policies' }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary', 'data-needs': isEdit ? 'updatePolicy' : 'createPolicy' }, isEdit ? 'Save policy' : 'Create policy'),
    ),
  );
  let timer: number | undefined;
  let seq = 0;

  const refresh = async (): Promise<void> => {
    const mine = ++seq;
    try {
      const r = await api<Preview>('POST', 'policies/preview', readPolicy(form, p));
      if (mine === seq) fill(preview, previewView(r));
    } catch (err) {
      if (mine !== seq) return;
      const issues = err instanceof ApiError ? (err.details?.issues as string[] | undefined) : undefined;
      fill(
        preview,
        h('div', { class: 'error', role: 'status' }, h('p', {}, 'The preview appears when the policy is valid:'), issues ? h('ul', {}, ...issues.map((i) => h('li', {}, i))) : errorBox(err)),
      );
    }
  };
  form.addEventListener('input', () => {
    syncVisibility(form);
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void refresh(), 250);
  });
  form.addEventListener('change', () => {
    syncVisibility(form);
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void refresh(), 50);
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = readPolicy(form, p);
    try {
      if (isEdit) await api('PUT', `policies/${enc(p.name)}`, body);
      else await api('POST', 'policies', body);
      toast(`Policy ${body.name} saved.`);
      location.hash = '#/policies';
    } catch (err) {
      fill(status, errorBox(err));
      status.querySelector<HTMLElement>('[role=alert]')?.focus();
    }
  });
  main.replaceChildren(
    pageHeader(isEdit ? `Edit policy ${p.name}` : 'New policy'),
    h(
      'div',
      { class: 'split' },
      form,
      h('aside', { class: 'card preview', 'aria-labelledby': 'preview-title' }, h('h2', { id: 'preview-title' }, 'Live preview'), h('div', { 'aria-live': 'polite' }, preview)),
    ),
  );
  syncVisibility(form);
  void refresh();
  return () => {
    window.clearTimeout(timer);
    seq++;
  };
}

const TIER_ORDER = ['yearly', 'monthly', 'weekly', 'daily'];

function previewView(r: Preview): HTMLElement {
  const k = r.retainedAfterOneYear;
  return h(
    'div',
    {},
    h('h3', {}, `Next runs (${r.timeZone})`),
    h('ol', { class: 'runs' }, ...r.nextRuns.slice(0, 8).map((x) => h('li', {}, h('time', { datetime: x.at }, x.local)))),
    h('h3', {}, 'Kept after one year'),
    h('p', { class: 'kept' }, h('strong', {}, k.count), ` of ${k.scheduledCount} points the schedule creates over the next year are still kept at its end.`),
    h('ul', { class: 'tiers' }, ...TIER_ORDER.filter((t) => k.byTier[t]).map((t) => h('li', {}, h('span', { class: `dot ${t}` }), ` ${t}: ${k.byTier[t]}`))),
    timeline(k.points),
  );
}

/** The points kept, placed on the coming year; colour and row by their longest tier. */
function timeline(points: Preview['retainedAfterOneYear']['points']): SVGElement {
  const W = 420,
    H = 96,
    now = Date.now(),
    span = 365 * 86_400_000;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'timeline', role: 'img', 'aria-label': `${points.length} kept points over the next year` });
  svg.append(s('line', { x1: 10, x2: W - 10, y1: H - 20, y2: H - 20, class: 'grid-line' }));
  for (let m = 0; m <= 12; m += 3) {
    const x = 10 + ((W - 20) * m) / 12;
    const d = new Date(now + (span * m) / 12);
    svg.append(s('text', { x, y: H - 4, 'text-anchor': m === 0 ? 'start' : m === 12 ? 'end' : 'middle', class: 'axis' }, d.toLocaleDateString(undefined, { month: 'short', year: 'numeric' })));
  }
  for (const p of points) {
    const tier = TIER_ORDER.find((t) => p.tiers.includes(t)) ?? 'daily';
    const x = 10 + ((W - 20) * (new Date(p.at).getTime() - now)) / span;
    const y = 12 + TIER_ORDER.indexOf(tier) * 14;
    svg.append(s('circle', { cx: Math.max(10, Math.min(W - 10, x)), cy: y, r: 4, class: `dot ${tier}` }, s('title', {}, `${p.local}: ${p.tiers.join(', ')}`)));
  }
  return svg;
}
