import { api, enc, type Item } from '../api.js';
import { errorBox, fill, h, toast } from '../dom.js';
import { confirmationStep, dialogActions, openModal, showIn } from '../dialog.js';

/**
 * Stop protection, keeping or deleting the data. Deleting is the API's destructive kind: its first answer asks
 * for confirmation, and the dialog resends with the token once the operator has read what will happen.
 */
export function openStopProtection(item: Item, opener: HTMLElement, done: () => Promise<void>): void {
  const m = openModal('stop-title', opener);
  const status = h('div', { 'aria-live': 'assertive' });
  const retain = h('input', { type: 'radio', name: 'deleteData', value: 'retain', id: 'stop-retain', checked: true });
  const del = h('input', { type: 'radio', name: 'deleteData', value: 'delete', id: 'stop-delete', 'data-needs': 'stopProtectionDeleteData' });
  const go = h('button', { type: 'submit', class: 'primary' }, 'Stop protection');
  const form = h(
    'form',
    {},
    h('h2', { id: 'stop-title', tabindex: -1 }, `Stop protection of ${item.vmName}`),
    h('p', { class: 'hint' }, `Policy ${item.policyName ?? 'none'}. No scheduled backup runs after this; the VM itself is not touched.`),
    h(
      'fieldset',
      {},
      h('legend', {}, 'The recovery points'),
      h('label', { class: 'radio' }, retain, ' Retain them'),
      h('p', { class: 'hint', id: 'retain-help' }, 'They stay restorable, each until its own expiry date (the newest is always kept). Protect the VM again later to resume backups.'),
      h('label', { class: 'radio' }, del, ' Delete them (destructive)'),
      h(
        'p',
        { class: 'hint', id: 'delete-help' },
        'Every recovery point moves to soft delete: none can be restored, but each can be undeleted until the app’s soft-delete period ends (14 days unless configured otherwise), then it is purged.',
      ),
    ),
    status,
    dialogActions(m, go),
  );
  form.addEventListener('change', () => {
    go.className = del.checked ? 'danger' : 'primary';
    go.textContent = del.checked ? 'Review deletion' : 'Stop protection';
    go.hidden = false;
    fill(status);
  });
  const send = (deleteData: boolean, confirmationToken?: string) => api<Item>('POST', `items/${enc(item.itemKey)}/stop`, { deleteData, confirmationToken });
  const stopped = async (deleted: boolean): Promise<void> => {
    toast(deleted ? `Protection of ${item.vmName} stopped; its recovery points are soft-deleted.` : `Protection of ${item.vmName} stopped; its recovery points are kept.`);
    m.close();
    await done();
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const deleteData = del.checked;
    go.disabled = true;
    try {
      await send(deleteData);
      await stopped(deleteData);
    } catch (err) {
      go.disabled = false;
      if (
        !confirmationStep(status, err, `Yes, stop protection and delete the recovery points of ${item.vmName}`, async (token) => {
          await send(true, token);
          await stopped(true);
        })
      ) {
        fill(status, errorBox(err));
        return;
      }
      go.hidden = true;
    }
  });
  showIn(m, form);
  retain.focus();
}
