import { api, enc, type Item, type Point } from '../api.js';
import { bytes, errorBox, fill, h, toast, when } from '../dom.js';
import { confirmationStep, openModal, showIn } from '../dialog.js';

/**
 * Two steps: choose what to restore into, then review. replaceDisks is destructive: the API first answers
 * 409 ConfirmationRequired with a token; the wizard shows what will happen and sends the token on confirm.
 */
export function openRestoreWizard(item: Item, p: Point, opener: HTMLElement): void {
  const m = openModal('wiz-title', opener);
  // Where the disks come from: as the API's default, the point's source snapshots while they exist (instant),
  // else the backup storage.
  let source = 'auto';
  // What step 1 chose, shown again when the user comes Back from step 2.
  let mode = 'newDisks';
  let rgValue = `${item.resourceGroup}-restore`;

  const step1 = (): void => {
    const rg = h('input', { id: 'target-rg', name: 'targetResourceGroup', type: 'text', value: rgValue, 'aria-describedby': 'rg-help' });
    const form = h('form', {},
      h('h2', { id: 'wiz-title' }, `Restore ${item.vmName} from ${when(p.createdAt)}`),
      h('p', { class: 'hint' }, `Step 1 of 2 · ${p.consistency} · ${p.disks.length} disk(s), ${bytes(p.sizeBytes)}`),
      h('fieldset', {}, h('legend', {}, 'Restore into'),
        h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'mode', value: 'newDisks', checked: mode === 'newDisks' }), ' New disks (the VM is not touched)'),
        h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'mode', value: 'replaceDisks', checked: mode === 'replaceDisks', 'data-needs': 'restoreReplaceDisks' }), ' Replace the VM’s disks (destructive)')),
      h('fieldset', {}, h('legend', {}, 'Restore from'),
        h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'source', value: 'auto', checked: source === 'auto' }), ' Snapshots if they still exist, else the backup storage'),
        h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'source', value: 'snapshot', disabled: !p.instantRestore }),
          p.instantRestore ? ` Snapshots only (instant${p.instantRestoreUntil ? `, until ${when(p.instantRestoreUntil)}` : ''})` : ' Snapshots only (not available: the snapshots are gone)'),
        h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'source', value: 'vault', checked: source === 'vault' }), ' Backup storage (copies every byte)')),
      h('div', { class: 'field', id: 'rg-field' }, h('label', { for: 'target-rg' }, 'Target resource group'), rg,
        h('p', { id: 'rg-help', class: 'hint' }, 'New managed disks are created here, in the VM’s subscription and region.')),
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', onclick: m.close }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Next')));
    const rgField = (): void => { (form.querySelector('#rg-field') as HTMLElement).hidden = (new FormData(form).get('mode') !== 'newDisks'); };
    form.addEventListener('change', rgField);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      mode = String(new FormData(form).get('mode'));
      source = String(new FormData(form).get('source') ?? source);
      rgValue = rg.value;
      step2(mode, mode === 'newDisks' ? rg.value.trim() || undefined : undefined);
    });
    showIn(m, form);
    rgField();
    (form.querySelector('input[name=mode]:checked') as HTMLElement).focus();
  };

  const send = (mode: string, targetResourceGroup?: string, confirmationToken?: string) =>
    api<{ jobId: string }>('POST', `items/${enc(item.itemKey)}/recoveryPoints/${enc(p.pointId)}/restore`, { mode, targetResourceGroup, confirmationToken, source });

  const started = (jobId: string): void => {
    toast(`Restore of ${item.vmName} started.`);
    m.close();
    location.hash = `#/jobs/${enc(jobId)}`;
  };

  const sourceLine = (): string => source === 'vault' ? 'The data is copied from the backup storage.'
    : source === 'snapshot' ? 'Disks are created from the point’s snapshots (nothing is copied through the app).'
    : p.instantRestore ? 'Disks are created from the point’s snapshots while they exist (nothing is copied through the app), else copied from the backup storage.'
    : 'The point’s snapshots are gone: the data is copied from the backup storage.';

  const step2 = (mode: string, targetResourceGroup?: string): void => {
    const status = h('div', { 'aria-live': 'assertive' });
    const what = mode === 'newDisks'
      ? [`${p.disks.length} new managed disk(s) are created in resource group ${targetResourceGroup ?? item.resourceGroup} and filled with this recovery point.`, 'The VM and its current disks are not changed.', sourceLine()]
      : [`The disks of ${item.vmName} are replaced by disks restored from this recovery point.`, 'A running VM is deallocated, its disks swapped, and started again. The current disks are kept (detached), not deleted.', 'Data written after this point is no longer on the VM’s disks.', sourceLine()];
    const confirm = h('button', { type: 'button', class: mode === 'newDisks' ? 'primary' : 'danger' }, mode === 'newDisks' ? 'Start restore' : 'Review replacement');
    showIn(m,
      h('h2', { id: 'wiz-title', tabindex: -1 }, mode === 'newDisks' ? 'Restore to new disks' : 'Replace the VM’s disks'),
      h('p', { class: 'hint' }, `Step 2 of 2 · point of ${when(p.createdAt)}`),
      h('ul', { class: 'what-happens' }, ...what.map((w) => h('li', {}, w))),
      status,
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', onclick: step1 }, 'Back'), h('button', { type: 'button', onclick: m.close }, 'Cancel'), confirm));
    confirm.addEventListener('click', async () => {
      confirm.disabled = true;
      try {
        started((await send(mode, targetResourceGroup)).jobId);
      } catch (err) {
        confirm.disabled = false;
        if (!confirmationStep(status, err, `Yes, replace the disks of ${item.vmName}`, async (token) => started((await send(mode, undefined, token)).jobId))) return void fill(status, errorBox(err));
        confirm.remove();
      }
    });
  };
  step1();
}
