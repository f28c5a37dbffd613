import { api, enc, type Item, type Point } from '../api.js';
import { badge, bytes, errorBox, fill, h, pageHeader, toast, when } from '../dom.js';
import { openRestoreWizard } from './restore-wizard.js';
import { openStopProtection } from './stop-protection.js';
import { openDeletePoint, undelete, verify } from './point-actions.js';

const STOPPED = new Set(['ProtectionStopped', 'ProtectionStoppedDataDeleted']);

/** An item's recovery points and what can be done with them and with the item's protection. */
export async function pointsPage(main: HTMLElement, _params: URLSearchParams, path: string[]): Promise<() => void> {
  const itemKey = path[1]!;
  const status = h('div', { 'aria-live': 'polite' });
  const head = h('div', {});
  const body = h('div', {});
  const timers = new Set<number>();
  let stopped = false;
  const later = (fn: () => void, ms: number): void => {
    if (stopped) return;
    const t = window.setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  // Soft-deleted points are listed on request; after a delete (or a stop that deleted data) they are shown.
  let showDeleted: boolean | undefined;

  async function load(): Promise<void> {
    const [item, points] = await Promise.all([api<Item>('GET', `items/${enc(itemKey)}`), api<{ items: Point[] }>('GET', `items/${enc(itemKey)}/recoveryPoints?includeDeleted=true`)]);
    if (stopped) return;
    showDeleted ??= item.state === 'ProtectionStoppedDataDeleted';
    const deleted = points.items.filter((p) => p.state === 'SoftDeleted').length;
    const shown = points.items.filter((p) => showDeleted || p.state !== 'SoftDeleted');
    const reload = (): Promise<void> => load().catch((e) => void fill(status, errorBox(e)));

    const actions: HTMLElement[] = [];
    if (item.state !== 'ProtectionStoppedDataDeleted') {
      const backup = h('button', { type: 'button', class: 'primary', 'data-needs': 'backupNow' }, 'Back up now');
      backup.addEventListener('click', async () => {
        try {
          const r = await api<{ jobId: string }>('POST', `items/${enc(itemKey)}/backup`, {});
          toast(`Backup of ${item.vmName} started.`);
          location.hash = `#/jobs/${enc(r.jobId)}`;
        } catch (err) {
          fill(status, errorBox(err));
        }
      });
      actions.push(backup);
    }
    actions.push(h('a', { class: 'button', href: `#/jobs?itemKey=${enc(itemKey)}` }, 'Jobs of this VM'));
    if (!STOPPED.has(item.state)) {
      actions.push(
        h(
          'button',
          {
            type: 'button',
            'data-needs': 'stopProtection',
            onclick: (e: Event) =>
              openStopProtection(item, e.currentTarget as HTMLElement, async () => {
                showDeleted = undefined;
                fill(status);
                await reload();
              }),
          },
          'Stop protection…',
        ),
      );
    }
    const toggle = h('input', { type: 'checkbox', id: 'show-deleted', checked: showDeleted });
    toggle.addEventListener('change', () => {
      showDeleted = toggle.checked;
      void reload();
    });

    fill(
      head,
      pageHeader(`Recovery points of ${item.vmName}`, ...actions),
      h(
        'p',
        { class: 'hint', id: 'item-facts' },
        badge(item.state),
        ` ${item.resourceGroup} · ${item.location} · ${item.osType} · policy ${item.policyName ?? 'none'} · ${item.disks.length} disk(s), ${bytes(item.disks.reduce((n, d) => n + d.sizeBytes, 0))}`,
      ),
      STOPPED.has(item.state)
        ? h('p', { class: 'hint' }, 'Protection is stopped: no scheduled backup runs. To resume, select the VM on ', h('a', { href: '#/vms' }, 'Virtual machines'), ' and protect it with a policy.')
        : null,
    );
    fill(
      body,
      deleted > 0 || showDeleted ? h('div', { class: 'toolbar' }, h('label', { class: 'radio' }, toggle, ` Show soft-deleted points (${deleted})`)) : null,
      shown.length === 0
        ? h(
            'p',
            { class: 'empty' },
            points.items.length ? 'Every recovery point is soft-deleted. Show them to undelete one.' : 'No recovery points yet. Back up now, or wait for the policy’s next run.',
          )
        : h(
            'table',
            { class: 'data' },
            h('caption', { class: 'sr-only' }, `Recovery points of ${item.vmName}, newest first`),
            h('thead', {}, h('tr', {}, ...['Created', 'Consistency', 'State', 'Size', 'Changed', 'Uploaded', 'Expires', 'Verified', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
            h(
              'tbody',
              {},
              ...shown.map((p) =>
                h(
                  'tr',
                  { 'data-point': p.pointId, 'data-state': p.state },
                  h('th', { scope: 'row' }, when(p.createdAt)),
                  h('td', {}, p.consistency.replace(/([a-z])([A-Z])/g, '$1 $2'), p.disksConsistentSet === false ? h('span', { class: 'hint' }, ' · disks taken independently') : null),
                  h('td', {}, badge(p.state)),
                  h('td', {}, bytes(p.sizeBytes)),
                  h('td', {}, bytes(p.changedBytes)),
                  h('td', {}, bytes(p.bytesUploaded)),
                  h('td', {}, p.state === 'SoftDeleted' ? `deleted ${when(p.deletedAt)}` : when(p.expiresAt)),
                  h('td', {}, when(p.verifiedAt)),
                  h('td', {}, h('div', { class: 'row-actions' }, ...pointActions(item, p))),
                ),
              ),
            ),
          ),
    );
  }

  function pointActions(item: Item, p: Point): HTMLElement[] {
    const reload = (): Promise<void> => load().catch((e) => void fill(status, errorBox(e)));
    const named = (label: string): string => `${label} the point of ${when(p.createdAt)}`;
    if (p.state === 'SoftDeleted')
      return [h('button', { type: 'button', 'data-needs': 'undeleteRecoveryPoint', 'aria-label': named('Undelete'), onclick: () => void undelete(item, p, status, reload) }, 'Undelete')];
    const out: HTMLElement[] = [];
    if (p.state === 'Available') {
      out.push(h('button', { type: 'button', 'data-needs': 'restore', onclick: (e: Event) => openRestoreWizard(item, p, e.currentTarget as HTMLElement) }, 'Restore…'));
      out.push(
        h(
          'button',
          {
            type: 'button',
            'data-needs': 'verifyRecoveryPoint',
            'aria-label': named('Verify'),
            onclick: (e: Event) => {
              (e.currentTarget as HTMLButtonElement).disabled = true;
              void verify(item, p, status, later, reload);
            },
          },
          'Verify',
        ),
      );
    }
    out.push(
      h(
        'button',
        {
          type: 'button',
          'data-needs': 'deleteRecoveryPoint',
          'aria-label': named('Delete'),
          onclick: (e: Event) =>
            openDeletePoint(item, p, e.currentTarget as HTMLElement, status, async () => {
              showDeleted = true;
              await reload();
            }),
        },
        'Delete…',
      ),
    );
    return out;
  }

  await load();
  main.replaceChildren(head, status, body);
  return () => {
    stopped = true;
    for (const t of timers) window.clearTimeout(t);
    document.querySelector('dialog.wizard')?.remove();
  };
}
