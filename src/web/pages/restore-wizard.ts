import { api, enc, type Item, type Point } from '../api.js';
import { bytes, errorBox, fill, h, toast, when } from '../dom.js';
import { confirmationStep, openModal, showIn } from '../dialog.js';
import { mountStep } from './mount-wizard.js';

/** What a restore to a new VM needs besides the point: the subnet of its NIC, and optionally size and region. */
interface NewVmChoice {
  subnetId: string;
  vmSize?: string;
  targetLocation?: string;
}

/**
 * Two steps: choose what to restore into, then review. replaceDisks is destructive: the API first answers
 * 409 ConfirmationRequired with a token; the wizard shows what will happen and sends the token on confirm.
 * newVm creates a VM on the restored disks with a NIC in the subnet the user names.
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
    const form = h(
      'form',
      {},
      h('h2', { id: 'wiz-title' }, `Restore ${item.vmName} from ${when(p.createdAt)}`),
      h('p', { class: 'hint' }, `Step 1 of 2 · ${p.consistency} · ${p.disks.length} disk(s), ${bytes(p.sizeBytes)}`),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Restore into'),
        h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'mode', value: 'newDisks', checked: mode === 'newDisks' }), ' New disks (the VM is not touched)'),
        h(
          'label',
          { class: 'radio' },
          h('input', { type: 'radio', name: 'mode', value: 'replaceDisks', checked: mode === 'replaceDisks', 'data-needs': 'restoreReplaceDisks' }),
          ' Replace the VM’s disks (destructive)',
        ),
        h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'mode', value: 'newVm', checked: mode === 'newVm' }), ' A new VM (on the restored disks, the original is not touched)'),
        h(
          'label',
          { class: 'radio' },
          h('input', { type: 'radio', name: 'mode', value: 'mount', checked: mode === 'mount', 'data-needs': 'mountRecoveryPoint' }),
          ' Mount for file recovery (attach the disks to a helper VM for a while)',
        ),
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Restore from'),
        h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'source', value: 'auto', checked: source === 'auto' }), ' Snapshots if they still exist, else the backup storage'),
        h(
          'label',
          { class: 'radio' },
          h('input', { type: 'radio', name: 'source', value: 'snapshot', disabled: !p.instantRestore }),
          p.instantRestore ? ` Snapshots only (instant${p.instantRestoreUntil ? `, until ${when(p.instantRestoreUntil)}` : ''})` : ' Snapshots only (not available: the snapshots are gone)',
        ),
        h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'source', value: 'vault', checked: source === 'vault' }), ' Backup storage (copies every byte)'),
      ),
      h(
        'div',
        { class: 'field', id: 'rg-field' },
        h('label', { for: 'target-rg' }, 'Target resource group'),
        rg,
        h('p', { id: 'rg-help', class: 'hint' }, 'New managed disks (and a new VM) are created here, in the VM’s subscription.'),
      ),
      newVmFields(item),
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', onclick: m.close }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Next')),
    );
    const vmFields = form.querySelector('#vm-fields') as HTMLElement;
    const modeFields = (): void => {
      const chosen = new FormData(form).get('mode');
      (form.querySelector('#rg-field') as HTMLElement).hidden = chosen === 'replaceDisks' || chosen === 'mount';
      vmFields.hidden = chosen !== 'newVm';
      (form.querySelector('#subnet-id') as HTMLInputElement).required = chosen === 'newVm';
    };
    form.addEventListener('change', modeFields);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const data = new FormData(form);
      mode = String(data.get('mode'));
      rgValue = rg.value;
      if (mode === 'mount') return void mountStep(m, item, p, step1);
      source = String(data.get('source') ?? source);
      const text = (k: string): string | undefined => String(data.get(k) ?? '').trim() || undefined;
      const vm = mode === 'newVm' ? { subnetId: text('subnetId') ?? '', vmSize: text('vmSize'), targetLocation: text('targetLocation') } : undefined;
      step2(mode, mode !== 'replaceDisks' ? rg.value.trim() || undefined : undefined, vm);
    });
    showIn(m, form);
    modeFields();
    (form.querySelector('input[name=mode]:checked') as HTMLElement).focus();
  };

  const send = (mode: string, targetResourceGroup?: string, confirmationToken?: string, vm?: NewVmChoice) =>
    api<{ jobId: string }>('POST', `items/${enc(item.itemKey)}/recoveryPoints/${enc(p.pointId)}/restore`, { mode, targetResourceGroup, confirmationToken, source, ...vm });

  const started = (jobId: string): void => {
    toast(`Restore of ${item.vmName} started.`);
    m.close();
    location.hash = `#/jobs/${enc(jobId)}`;
  };

  const sourceLine = (): string =>
    source === 'vault'
      ? 'The data is copied from the backup storage.'
      : source === 'snapshot'
        ? 'Disks are created from the point’s snapshots (nothing is copied through the app).'
        : p.instantRestore
          ? 'Disks are created from the point’s snapshots while they exist (nothing is copied through the app), else copied from the backup storage.'
          : 'The point’s snapshots are gone: the data is copied from the backup storage.';

  const step2 = (mode: string, targetResourceGroup?: string, vm?: NewVmChoice): void => {
    const status = h('div', { 'aria-live': 'assertive' });
    const from = sourceLine();
    const rgName = targetResourceGroup ?? item.resourceGroup;
    const what =
      mode === 'newDisks'
        ? [`${p.disks.length} new managed disk(s) are created in resource group ${rgName} and filled with this recovery point.`, 'The VM and its current disks are not changed.', from]
        : mode === 'newVm'
          ? [
              `A new VM is created in resource group ${rgName}${vm?.targetLocation ? `, region ${vm.targetLocation}` : ''}, of size ${vm?.vmSize ?? 'the original’s'}, on ${p.disks.length} disk(s) restored from this recovery point, each at its original LUN.`,
              `Its network interface goes into subnet ${vm?.subnetId.split('/').pop() ?? ''} (${vm?.subnetId ?? ''}).`,
              `${item.vmName} and its disks are not changed.`,
              from,
            ]
          : [
              `The disks of ${item.vmName} are replaced by disks restored from this recovery point.`,
              'A running VM is deallocated, its disks swapped, and started again. The current disks are kept (detached), not deleted.',
              'Data written after this point is no longer on the VM’s disks.',
              from,
            ];
    const safe = mode !== 'replaceDisks';
    const confirm = h('button', { type: 'button', class: safe ? 'primary' : 'danger' }, safe ? 'Start restore' : 'Review replacement');
    showIn(
      m,
      h('h2', { id: 'wiz-title', tabindex: -1 }, mode === 'newDisks' ? 'Restore to new disks' : mode === 'newVm' ? 'Restore to a new VM' : 'Replace the VM’s disks'),
      h('p', { class: 'hint' }, `Step 2 of 2 · point of ${when(p.createdAt)}`),
      h('ul', { class: 'what-happens' }, ...what.map((w) => h('li', {}, w))),
      status,
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', onclick: step1 }, 'Back'), h('button', { type: 'button', onclick: m.close }, 'Cancel'), confirm),
    );
    confirm.addEventListener('click', async () => {
      confirm.disabled = true;
      try {
        started((await send(mode, targetResourceGroup, undefined, vm)).jobId);
      } catch (err) {
        confirm.disabled = false;
        if (!confirmationStep(status, err, `Yes, replace the disks of ${item.vmName}`, async (token) => started((await send(mode, undefined, token)).jobId))) return void fill(status, errorBox(err));
        confirm.remove();
      }
    });
  };
  step1();
}

/** The new VM's subnet (required), size and region; shown only for mode newVm. */
function newVmFields(item: Item): HTMLElement {
  const field = (id: string, name: string, label: string, attrs: Record<string, string>, help: string) =>
    h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name, type: 'text', 'aria-describedby': `${id}-help`, ...attrs }), h('p', { id: `${id}-help`, class: 'hint' }, help));
  return h(
    'div',
    { id: 'vm-fields', hidden: true },
    field(
      'subnet-id',
      'subnetId',
      'Subnet',
      { placeholder: '/subscriptions/…/virtualNetworks/<vnet>/subnets/<subnet>', class: 'mono' },
      'The resource id of the subnet the new VM’s network interface goes into; it must be in the VM’s region.',
    ),
    field('vm-size', 'vmSize', 'VM size', { placeholder: 'same as the original' }, 'Leave empty for the original VM’s size.'),
    field('target-location', 'targetLocation', 'Region', { placeholder: item.location }, 'Leave empty for the original VM’s region; the subnet must be in the region you name.'),
  );
}
