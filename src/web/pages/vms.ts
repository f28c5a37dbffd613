import { api, ApiError, enc, TERMINAL, type Item, type Job, type Vm } from '../api.js';
import { badge, errorBox, fill, h, pageHeader, toast, when } from '../dom.js';

export async function vmsPage(main: HTMLElement): Promise<() => void> {
  const status = h('div', { 'aria-live': 'polite', class: 'status-region' });
  const body = h('div', {});
  let timer: number | undefined;
  // Kept across refreshes, which happen every few seconds while protection is pending.
  const selected = new Set<string>();
  // The jobs of the last bulk action, followed here until they end so a failure is seen where it was caused.
  let started: { jobId: string; vm: string }[] = [];
  const progress = h('ul', { class: 'started', 'aria-label': 'Protection jobs' });

  async function load(): Promise<void> {
    const [vms, items, policies] = await Promise.all([api<{ items: Vm[] }>('GET', 'vms'), api<{ items: Item[] }>('GET', 'items'), api<{ items: { name: string }[] }>('GET', 'policies')]);
    const itemByKey = new Map(items.items.map((i) => [i.itemKey, i]));
    for (const id of [...selected]) if (!vms.items.some((v) => v.id === id)) selected.delete(id);
    const count = h('span', { id: 'selected-count' }, '0 selected');
    const policySel = h(
      'select',
      { id: 'bulk-policy', name: 'policy' },
      ...(policies.items.length ? policies.items.map((p) => h('option', { value: p.name }, p.name)) : [h('option', { value: '' }, 'No policies yet')]),
    );
    const go = h('button', { type: 'submit', class: 'primary', disabled: true, 'data-needs': 'registerVms' }, 'Register and protect');
    const update = (): void => {
      count.textContent = `${selected.size} selected`;
      go.disabled = selected.size === 0 || !policySel.value;
    };
    const bulk = h(
      'form',
      { class: 'toolbar', 'aria-label': 'Bulk protection' },
      count,
      h('label', { for: 'bulk-policy' }, 'Policy'),
      policySel,
      go,
      policies.items.length ? null : h('a', { href: '#/policies?new=1' }, 'Create a policy first'),
    );
    bulk.addEventListener('submit', (e) => {
      e.preventDefault();
      void protect(
        vms.items.filter((v) => selected.has(v.id)),
        policySel.value,
        itemByKey,
      );
    });
    policySel.addEventListener('change', update);

    const all = h('input', { type: 'checkbox', id: 'select-all', 'aria-label': 'Select all virtual machines' });
    const boxes: HTMLInputElement[] = [];
    all.addEventListener('change', () => {
      for (const b of boxes) {
        b.checked = all.checked;
        b.dispatchEvent(new Event('change'));
      }
    });
    const rows = vms.items.map((v) => {
      const item = itemByKey.get(v.itemKey);
      const box = h('input', { type: 'checkbox', 'aria-label': `Select ${v.name}`, value: v.id, checked: selected.has(v.id) });
      box.addEventListener('change', () => {
        if (box.checked) selected.add(v.id);
        else selected.delete(v.id);
        update();
      });
      boxes.push(box);
      const actions: HTMLElement[] = [];
      if (item && item.state !== 'Registered') actions.push(h('a', { class: 'button', href: `#/items/${enc(v.itemKey)}` }, 'Recovery points'));
      if (item && (item.state === 'Protected' || item.state === 'ProtectionPending'))
        actions.push(h('button', { type: 'button', 'data-needs': 'backupNow', onclick: () => void backup(v, item) }, 'Back up now'));
      return h(
        'tr',
        {},
        h('td', {}, box),
        h('th', { scope: 'row' }, v.name),
        h('td', {}, v.resourceGroup),
        h('td', {}, v.location),
        h('td', {}, v.osType),
        h('td', {}, v.powerState ?? '-'),
        h('td', {}, badge(v.registration)),
        h('td', {}, v.policyName ?? '-'),
        h('td', {}, item?.lastBackupAt ? when(item.lastBackupAt) : '-'),
        h('td', {}, h('div', { class: 'row-actions' }, ...actions)),
      );
    });
    fill(
      body,
      bulk,
      vms.items.length === 0
        ? h('p', { class: 'empty' }, 'No virtual machines discovered yet. Use “Discover VMs” to scan the configured subscriptions.')
        : h(
            'table',
            { class: 'data' },
            h('caption', { class: 'sr-only' }, 'Discovered virtual machines'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, all),
                ...['Name', 'Resource group', 'Location', 'OS', 'Power', 'Protection', 'Policy', 'Last backup', 'Actions'].map((c) => h('th', { scope: 'col' }, c)),
              ),
            ),
            h('tbody', {}, ...rows),
          ),
    );
    update();
    // Registration and protection run as jobs: keep the states fresh while any is pending.
    window.clearTimeout(timer);
    const jobs = await Promise.all(started.map((s) => api<Job>('GET', `jobs/${enc(s.jobId)}`).then((j) => ({ ...s, j }))));
    fill(
      progress,
      ...jobs.map(({ vm, j }) =>
        h(
          'li',
          {},
          h('strong', {}, vm),
          ` · ${j.type} `,
          badge(j.status),
          ' ',
          h('a', { href: `#/jobs/${enc(j.jobId)}` }, 'details'),
          j.error ? errorBox(new ApiError(0, j.error.code, j.error.message, j.error.recommendedAction)) : null,
        ),
      ),
    );
    if (jobs.some(({ j }) => !TERMINAL.has(j.status)) || items.items.some((i) => i.busy)) timer = window.setTimeout(() => void load().catch(() => {}), 1500);
  }

  // Discovery runs as a job (an HTTP call may not outlive 230 s on Azure): the page follows it, then reloads the list.
  let discoveryTimer: number | undefined;
  async function discover(btn: HTMLButtonElement): Promise<void> {
    btn.disabled = true;
    fill(status, h('p', {}, 'Discovering…'));
    try {
      const r = await api<{ jobId: string }>('POST', 'discovery');
      await followDiscovery(btn, r.jobId);
    } catch (err) {
      fill(status, errorBox(err));
      btn.disabled = false;
    }
  }

  async function followDiscovery(btn: HTMLButtonElement, jobId: string): Promise<void> {
    const j = await api<Job>('GET', `jobs/${enc(jobId)}`);
    if (!TERMINAL.has(j.status)) {
      fill(status, h('p', {}, 'Discovering… ', badge(j.status), ' ', h('a', { href: `#/jobs/${enc(jobId)}` }, 'details')));
      discoveryTimer = window.setTimeout(
        () =>
          void followDiscovery(btn, jobId).catch((err: unknown) => {
            fill(status, errorBox(err));
            btn.disabled = false;
          }),
        1000,
      );
      return;
    }
    btn.disabled = false;
    const r = j.result as { vms?: number; autoRegistered?: unknown[] };
    fill(
      status,
      j.error
        ? errorBox(new ApiError(0, j.error.code, j.error.message, j.error.recommendedAction))
        : h('p', { class: 'ok-text' }, `Found ${r.vms ?? 0} virtual machine(s); ${r.autoRegistered?.length ?? 0} registered by their vmbackup-policy tag.`),
    );
    await load();
  }

  async function protect(vms: Vm[], policyName: string, itemByKey: Map<string, Item>): Promise<void> {
    const unregistered = vms.filter((v) => !itemByKey.has(v.itemKey) || v.registration === 'NotRegistered');
    const registered = vms.filter((v) => !unregistered.includes(v));
    try {
      const jobs: { jobId: string; itemKey: string }[] = [];
      if (unregistered.length) jobs.push(...(await api<{ jobs: { jobId: string; itemKey: string }[] }>('POST', 'items/register', { vmIds: unregistered.map((v) => v.id), policyName })).jobs);
      if (registered.length) jobs.push(...(await api<{ jobs: { jobId: string; itemKey: string }[] }>('POST', 'items/protect', { itemKeys: registered.map((v) => v.itemKey), policyName })).jobs);
      started = jobs.map((j) => ({ jobId: j.jobId, vm: vms.find((v) => v.itemKey === j.itemKey)?.name ?? j.itemKey }));
      selected.clear();
      fill(
        status,
        h(
          'p',
          { class: 'ok-text' },
          `${jobs.length} job(s) started to protect ${vms.map((v) => v.name).join(', ')} with policy ${policyName}. `,
          h('a', { href: '#/jobs' }, 'Follow them on the jobs page'),
          '.',
        ),
      );
      await load();
    } catch (err) {
      fill(status, errorBox(err));
    }
  }

  async function backup(v: Vm, item: Item): Promise<void> {
    try {
      const r = await api<{ jobId: string }>('POST', `items/${enc(item.itemKey)}/backup`, {});
      toast(`Backup of ${v.name} started.`);
      location.hash = `#/jobs/${enc(r.jobId)}`;
    } catch (err) {
      fill(status, errorBox(err));
    }
  }

  const discoverBtn = h('button', { type: 'button', class: 'primary', 'data-needs': 'discover' }, 'Discover VMs');
  discoverBtn.addEventListener('click', () => void discover(discoverBtn));
  main.replaceChildren(pageHeader('Virtual machines', discoverBtn), status, progress, body);
  await load();
  return () => {
    window.clearTimeout(timer);
    window.clearTimeout(discoveryTimer);
  };
}
