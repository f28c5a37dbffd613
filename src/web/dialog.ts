import { ApiError } from './api.js';
import { errorBox, fill, h, when } from './dom.js';

export interface Modal {
  dlg: HTMLDialogElement;
  close(): void;
}

/**
 * One modal dialog at a time. Escape and "Cancel" close it and give the focus back to the control that opened
 * it, so a keyboard user lands where they were.
 */
export function openModal(titleId: string, opener: HTMLElement | null): Modal {
  document.querySelector('dialog.wizard')?.remove();
  const dlg = h('dialog', { class: 'wizard', 'aria-labelledby': titleId });
  const close = (): void => {
    dlg.close();
    dlg.remove();
    opener?.focus();
  };
  dlg.addEventListener('cancel', (e) => {
    e.preventDefault();
    close();
  });
  document.body.append(dlg);
  return { dlg, close };
}

/** Shows the dialog (if not yet shown) with this content and focuses its title. */
export function showIn(m: Modal, ...content: HTMLElement[]): void {
  fill(m.dlg, ...content);
  if (!m.dlg.open) m.dlg.showModal();
  m.dlg.querySelector<HTMLElement>('h2')?.focus();
}

/**
 * The API's second step for a destructive call: its first answer is 409 ConfirmationRequired with a one-time
 * token. When `err` is that answer, `status` shows what the API said and a button that resends with the token,
 * and this returns true; any other error is for the caller to show.
 */
export function confirmationStep(status: HTMLElement, err: unknown, yesLabel: string, resend: (token: string) => Promise<void>): boolean {
  const token = err instanceof ApiError && err.code === 'ConfirmationRequired' ? err.details?.confirmationToken : undefined;
  if (typeof token !== 'string') return false;
  const yes = h('button', { type: 'button', class: 'danger' }, yesLabel);
  fill(
    status,
    h(
      'div',
      { class: 'confirm', role: 'alert' },
      h('p', {}, h('strong', {}, 'Confirmation required: '), (err as ApiError).message),
      // The API's recommended action is for scripts (resend with the token): the button below does it.
      h('p', {}, `Confirming sends the request again with the app's one-time confirmation token, valid until ${when(String((err as ApiError).details?.expiresAt ?? ''))}.`),
      yes,
    ),
  );
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    try {
      await resend(token);
    } catch (e2) {
      yes.disabled = false;
      fill(status, errorBox(e2));
    }
  });
  yes.focus();
  return true;
}

/** The dialog's buttons row: "Cancel" closes it, then the given actions. */
export function dialogActions(m: Modal, ...actions: HTMLElement[]): HTMLElement {
  return h('div', { class: 'dialog-actions' }, h('button', { type: 'button', onclick: m.close }, 'Cancel'), ...actions);
}
