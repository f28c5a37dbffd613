import { api, enc, type Item, type Point, type Vm } from '../api.js';
import { errorBox, fill, h, toast, when } from '../dom.js';
import { dialogActions, showIn, type Modal } from '../dialog.js';

const REFRESH_MS = 1500;

interface MountDisk {
  diskKey: string;
  sourceName: string;
  lun: number;
  caching: string;
}
interface Mount {
  mountId: string;
  state: string;
  jobStatus: string;
  helperVmId: string;
  disks?: MountDisk[];
  expiresAt?: string;
  unmountReason?: string;
  commands: string[];
  error?: { message: string; recommendedAction?: string };
}

/**
 * The restore wizard's "Mount for file recovery" mode: choose the helper VM (one of the discovered VMs in the
 * point's region, or any VM id) and how long, then follow the mount in the dialog: the disks at their LUNs, the
 * commands to read the files, the deadline, and a button that unmounts now.
 */
export async function mountStep(m: Modal, item: Item, p: Point, back: () => void): Promise<void> {
  const vms = await api<{ items: Vm[] }>('GET', 'vms')
    .then((r) => r.items.filter((v) => v.location === item.location && v.id !== item.vmId))
    .catch(() => [] as Vm[]);
  const vmId = h('input', { id: 'helper-vm', name: 'helperVmId', type: 'text', list: 'helper-vms', required: true, value: vms[0]?.id ?? '', 'aria-describedby': 'helper-help' });
  const minutes = h('input', { id: 'mount-minutes', name: 'durationMinutes', type: 'number', min: 1, max: 10080, value: 60, required: true });
  const status = h('div', { 'aria-live': 'assertive' });
  const form = h(
    'form',
    {},
    h('h2', { id: 'wiz-title', tabindex: -1 }, 'Mount for file recovery'),
    h('p', { class: 'hint' }, `Step 2 of 2 · point of ${when(p.createdAt)} · ${p.disks.length} disk(s)`),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'helper-vm' }, 'Helper VM'),
      vmId,
      h('datalist', { id: 'helper-vms' }, ...vms.map((v) => h('option', { value: v.id }, `${v.name} (${v.resourceGroup}, ${v.powerState})`))),
      h('p', { id: 'helper-help', class: 'hint' }, `A running or stopped VM in ${item.location} (and the zone of zonal disks) with a free LUN per disk. The disks are created in its resource group.`),
    ),
    h('div', { class: 'field' }, h('label', { for: 'mount-minutes' }, 'Keep mounted for (minutes)'), minutes),
    h(
      'ul',
      { class: 'what-happens' },
      h('li', {}, 'The point’s disks are created (from its snapshots while they exist, else from the backup storage) and attached with read-only host caching.'),
      h('li', {}, 'At the deadline, or when you unmount, they are detached and deleted. The protected VM is not touched.'),
    ),
    status,
    h(
      'div',
      { class: 'dialog-actions' },
      h('button', { type: 'button', onclick: back }, 'Back'),
      h('button', { type: 'button', onclick: m.close }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary' }, 'Mount'),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const submit = form.querySelector('button[type=submit]') as HTMLButtonElement;
    submit.disabled = true;
    try {
      const r = await api<Mount>('POST', `items/${enc(item.itemKey)}/recoveryPoints/${enc(p.pointId)}/mount`, { helperVmId: vmId.value.trim(), durationMinutes: Number(minutes.value) });
      toast(`Mounting the point of ${when(p.createdAt)}.`);
      follow(m, r.mountId);
    } catch (err) {
      submit.disabled = false;
      fill(status, errorBox(err));
    }
  });
  showIn(m, form);
}

function follow(m: Modal, mountId: string): void {
  const view = (x: Mount): HTMLElement[] => {
    const out: HTMLElement[] = [h('h2', { id: 'wiz-title', tabindex: -1 }, 'Mount for file recovery'), h('p', { 'data-field': 'mount-state' }, x.state)];
    if (x.error) out.push(h('div', { class: 'error', role: 'alert' }, h('p', {}, x.error.message), h('p', {}, x.error.recommendedAction ?? '')));
    if (x.state === 'Mounted') {
      out.push(
        h('p', {}, `Until ${when(x.expiresAt)} on ${x.helperVmId.split('/').pop()}.`),
        h('ul', { class: 'mount-disks' }, ...(x.disks ?? []).map((d) => h('li', {}, `LUN ${d.lun}: ${d.sourceName} (caching ${d.caching})`))),
        h('pre', { class: 'mount-commands' }, x.commands.join('\n')),
      );
    }
    if (x.state === 'Unmounted') out.push(h('p', {}, `The disks were detached and deleted (${x.unmountReason ?? ''}).`));
    const unmount = h('button', { type: 'button', class: 'danger', disabled: x.state !== 'Mounted' && x.state !== 'Mounting' }, 'Unmount now');
    const said = h('div', { 'aria-live': 'assertive' });
    unmount.addEventListener('click', async () => {
      unmount.disabled = true;
      try {
        await api('POST', `mounts/${enc(mountId)}/unmount`);
      } catch (err) {
        fill(said, errorBox(err));
      }
    });
    out.push(said, dialogActions(m, unmount));
    return out;
  };
  let shown = '';
  const tick = async (): Promise<void> => {
    if (!m.dlg.isConnected) return;
    try {
      const x = await api<Mount>('GET', `mounts/${enc(mountId)}`);
      // Redrawn when the state changes only: a redraw moves the focus to the title.
      if (x.state + x.jobStatus !== shown) showIn(m, ...view(x));
      shown = x.state + x.jobStatus;
      if (x.state === 'Unmounted' || x.jobStatus === 'Failed' || x.jobStatus === 'Cancelled') return;
    } catch (err) {
      showIn(m, errorBox(err));
      return;
    }
    setTimeout(() => void tick(), REFRESH_MS);
  };
  void tick();
}
