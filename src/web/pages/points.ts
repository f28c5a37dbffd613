import { api, ApiError, enc, type Item, type Point } from '../api.js';
import { badge, bytes, errorBox, fill, h, pageHeader, toast, when } from '../dom.js';

export async function pointsPage(main: HTMLElement, _params: URLSearchParams, path: string[]): Promise<() => void> {
  const itemKey = path[1]!;
  const [item, points] = await Promise.all([
    api<Item>('GET', `items/${enc(itemKey)}`), api<{ items: Point[] }>('GET', `items/${enc(itemKey)}/recoveryPoints`)]);
  const status = h('div', { 'aria-live': 'polite' });
  const backup = h('button', { type: 'button', class: 'primary' }, 'Back up now');
  backup.addEventListener('click', async () => {
    try {
      const r = await api<{ jobId: string }>('POST', `items/${enc(itemKey)}/backup`, {});
      toast(`Backup of ${item.vmName} started.`);
      location.hash = `#/jobs/${enc(r.jobId)}`;
    } catch (err) { fill(status, errorBox(err)); }
  });
  main.replaceChildren(
    pageHeader(`Recovery points of ${item.vmName}`, backup, h('a', { class: 'button', href: `#/jobs?itemKey=${enc(itemKey)}` }, 'Jobs of this VM')),
    h('p', { class: 'hint' }, badge(item.state), ` ${item.resourceGroup} · ${item.location} · ${item.osType} · policy ${item.policyName ?? 'none'} · ${item.disks.length} disk(s), ${bytes(item.disks.reduce((n, d) => n + d.sizeBytes, 0))}`),
    status,
    points.items.length === 0 ? h('p', { class: 'empty' }, 'No recovery points yet. Back up now, or wait for the policy’s next run.') :
      h('table', { class: 'data' },
        h('caption', { class: 'sr-only' }, `Recovery points of ${item.vmName}, newest first`),
        h('thead', {}, h('tr', {}, ...['Created', 'Consistency', 'State', 'Size', 'Changed', 'Uploaded', 'Expires', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, ...points.items.map((p) => h('tr', { 'data-point': p.pointId },
          h('th', { scope: 'row' }, when(p.createdAt)), h('td', {}, p.consistency.replace(/([a-z])([A-Z])/g, '$1 $2')), h('td', {}, badge(p.state)),
          h('td', {}, bytes(p.sizeBytes)), h('td', {}, bytes(p.changedBytes)), h('td', {}, bytes(p.bytesUploaded)), h('td', {}, when(p.expiresAt)),
          h('td', {}, p.state === 'Available' ? h('button', { type: 'button', onclick: (e: Event) => openWizard(item, p, e.currentTarget as HTMLElement) }, 'Restore…') : null))))));
  return () => document.querySelector('dialog.wizard')?.remove();
}

/**
 * Two steps: choose what to restore into, then review. replaceDisks is destructive: the API first answers
 * 409 ConfirmationRequired with a token; the wizard shows what will happen and sends the token on confirm.
 */
function openWizard(item: Item, p: Point, opener: HTMLElement): void {
  document.querySelector('dialog.wizard')?.remove();
  const dlg = h('dialog', { class: 'wizard', 'aria-labelledby': 'wiz-title' });
  const close = (): void => { dlg.close(); dlg.remove(); opener.focus(); };
  dlg.addEventListener('cancel', (e) => { e.preventDefault(); close(); });
  document.body.append(dlg);

  const step1 = (): void => {
    const rg = h('input', { id: 'target-rg', name: 'targetResourceGroup', type: 'text', value: `${item.resourceGroup}-restore`, 'aria-describedby': 'rg-help' });
    const form = h('form', {},
      h('h2', { id: 'wiz-title' }, `Restore ${item.vmName} from ${when(p.createdAt)}`),
      h('p', { class: 'hint' }, `Step 1 of 2 · ${p.consistency} · ${p.disks.length} disk(s), ${bytes(p.sizeBytes)}`),
      h('fieldset', {}, h('legend', {}, 'Restore into'),
        h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'mode', value: 'newDisks', checked: true }), ' New disks (the VM is not touched)'),
        h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'mode', value: 'replaceDisks' }), ' Replace the VM’s disks (destructive)')),
      h('div', { class: 'field', id: 'rg-field' }, h('label', { for: 'target-rg' }, 'Target resource group'), rg,
        h('p', { id: 'rg-help', class: 'hint' }, 'New managed disks are created here, in the VM’s subscription and region.')),
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', onclick: close }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Next')));
    form.addEventListener('change', () => { (form.querySelector('#rg-field') as HTMLElement).hidden = (new FormData(form).get('mode') !== 'newDisks'); });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const mode = String(new FormData(form).get('mode'));
      void step2(mode, mode === 'newDisks' ? rg.value.trim() || undefined : undefined);
    });
    fill(dlg, form);
    if (!dlg.open) dlg.showModal();
    (form.querySelector('input[name=mode]:checked') as HTMLElement).focus();
  };

  const send = (mode: string, targetResourceGroup?: string, confirmationToken?: string) =>
    api<{ jobId: string }>('POST', `items/${enc(item.itemKey)}/recoveryPoints/${enc(p.pointId)}/restore`, { mode, targetResourceGroup, confirmationToken });

  const started = (jobId: string): void => {
    toast(`Restore of ${item.vmName} started.`);
    close();
    location.hash = `#/jobs/${enc(jobId)}`;
  };

  const step2 = async (mode: string, targetResourceGroup?: string): Promise<void> => {
    const status = h('div', { 'aria-live': 'assertive' });
    const what = mode === 'newDisks'
      ? [`${p.disks.length} new managed disk(s) are created in resource group ${targetResourceGroup ?? item.resourceGroup} and filled with this recovery point.`, 'The VM and its current disks are not changed.']
      : [`The disks of ${item.vmName} are replaced by disks restored from this recovery point.`, 'A running VM is deallocated, its disks swapped, and started again. The current disks are kept (detached), not deleted.', 'Data written after this point is no longer on the VM’s disks.'];
    const confirm = h('button', { type: 'button', class: mode === 'newDisks' ? 'primary' : 'danger' }, mode === 'newDisks' ? 'Start restore' : 'Review replacement');
    fill(dlg,
      h('h2', { id: 'wiz-title', tabindex: -1 }, mode === 'newDisks' ? 'Restore to new disks' : 'Replace the VM’s disks'),
      h('p', { class: 'hint' }, `Step 2 of 2 · point of ${when(p.createdAt)}`),
      h('ul', { class: 'what-happens' }, ...what.map((w) => h('li', {}, w))),
      status,
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', onclick: step1 }, 'Back'), h('button', { type: 'button', onclick: close }, 'Cancel'), confirm));
    (dlg.querySelector('#wiz-title') as HTMLElement).focus();
    confirm.addEventListener('click', async () => {
      confirm.disabled = true;
      try {
        started((await send(mode, targetResourceGroup)).jobId);
      } catch (err) {
        confirm.disabled = false;
        const token = err instanceof ApiError && err.code === 'ConfirmationRequired' ? err.details?.confirmationToken : undefined;
        if (typeof token !== 'string') return void fill(status, errorBox(err));
        // The API agreed to the request and asks for the second step: say exactly what will happen, then resend.
        const yes = h('button', { type: 'button', class: 'danger' }, `Yes, replace the disks of ${item.vmName}`);
        fill(status, h('div', { class: 'confirm', role: 'alert' },
          h('p', {}, h('strong', {}, 'Confirmation required: '), (err as ApiError).message),
          // The API's recommended action is for scripts (resend with the token): the button below does it.
          h('p', {}, `Confirming sends the request again with the app's one-time confirmation token, valid until ${when(String((err as ApiError).details?.expiresAt ?? ''))}.`),
          yes));
        confirm.remove();
        yes.addEventListener('click', async () => {
          yes.disabled = true;
          try { started((await send(mode, undefined, token)).jobId); } catch (e2) { yes.disabled = false; fill(status, errorBox(e2)); }
        });
        yes.focus();
      }
    });
  };
  step1();
}
