import { api, ApiError, enc, TERMINAL, type Item, type Job, type Point } from '../api.js';
import { errorBox, fill, h, progressBar, toast, when } from '../dom.js';
import { dialogActions, openModal, showIn } from '../dialog.js';

const REFRESH_MS = 1500;

interface VerifyResult {
  state?: string;
  disks?: { diskKey: string; ok: boolean; problem?: string }[];
}

/** What a verify job found, disk by disk, in the operator's words. */
export function verifyFindings(j: Job): HTMLElement | null {
  const r = j.result as VerifyResult;
  if (!r.disks?.length) return null;
  return h('ul', { class: 'verify-disks' }, ...r.disks.map((d) => h('li', {}, h('strong', {}, d.diskKey), d.ok ? ': every block matches the manifest' : `: ${d.problem ?? 'does not match'}`)));
}

/**
 * Verify runs as a job (the API answers 202): the page follows it in `status` until it ends, then `done`
 * redraws the table, where the point shows its verification date, or Corrupt. `later` schedules the next look
 * and does nothing once the operator has left the page.
 */
export async function verify(item: Item, p: Point, status: HTMLElement, later: (fn: () => void, ms: number) => void, done: () => Promise<void>): Promise<void> {
  const label = `the recovery point of ${when(p.createdAt)}`;
  let jobId: string;
  try {
    jobId = (await api<{ jobId: string }>('POST', `items/${enc(item.itemKey)}/recoveryPoints/${enc(p.pointId)}/verify`)).jobId;
  } catch (err) {
    fill(status, errorBox(err));
    return;
  }
  const link = (): HTMLElement => h('a', { href: `#/jobs/${enc(jobId)}` }, 'Verify job');
  const follow = async (): Promise<void> => {
    let j: Job;
    try {
      j = await api<Job>('GET', `jobs/${enc(jobId)}`);
    } catch (err) {
      fill(status, errorBox(err));
      return;
    }
    if (!TERMINAL.has(j.status)) {
      fill(
        status,
        h(
          'div',
          { class: 'card verify' },
          h('p', {}, `Verifying ${label}: reading every block and checking it against the manifest… `, link()),
          progressBar(j.progress.percent, `Progress of verifying ${label}`),
        ),
      );
      later(() => void follow(), REFRESH_MS);
      return;
    }
    await done();
    if (j.status === 'Completed') {
      fill(status, h('div', { class: 'card verify', role: 'status' }, h('p', { class: 'ok-text' }, `Verified ${label}: it can be restored as backed up. `, link()), verifyFindings(j)));
    } else {
      const e = j.error ?? { code: j.status, message: `The verify job ended ${j.status}.`, recommendedAction: 'Open the job for details.' };
      fill(status, h('div', { class: 'verify' }, errorBox(new ApiError(0, e.code, e.message, e.recommendedAction)), verifyFindings(j), h('p', {}, link())));
    }
  };
  toast(`Verification of ${label} started.`);
  await follow();
}

/** Delete is a soft delete: the dialog says so, since the API takes it in one step. */
export function openDeletePoint(item: Item, p: Point, opener: HTMLElement, status: HTMLElement, done: () => Promise<void>): void {
  const m = openModal('del-title', opener);
  const inDialog = h('div', { 'aria-live': 'assertive' });
  const go = h('button', { type: 'button', class: 'danger' }, 'Delete recovery point');
  go.addEventListener('click', async () => {
    go.disabled = true;
    try {
      await api('DELETE', `items/${enc(item.itemKey)}/recoveryPoints/${enc(p.pointId)}`);
      m.close();
      toast(`Recovery point of ${when(p.createdAt)} moved to soft delete.`);
      fill(status);
      await done();
    } catch (err) {
      go.disabled = false;
      fill(inDialog, errorBox(err));
    }
  });
  showIn(
    m,
    h('h2', { id: 'del-title', tabindex: -1 }, `Delete the recovery point of ${when(p.createdAt)}?`),
    h(
      'ul',
      { class: 'what-happens' },
      h('li', {}, `The point of ${item.vmName} moves to soft delete: it can no longer be restored or verified.`),
      h('li', {}, 'It can be undeleted from this page until the app’s soft-delete period ends (14 days unless configured otherwise); then it is purged for good.'),
    ),
    inDialog,
    dialogActions(m, go),
  );
}

export async function undelete(item: Item, p: Point, status: HTMLElement, done: () => Promise<void>): Promise<void> {
  try {
    await api('POST', `items/${enc(item.itemKey)}/recoveryPoints/${enc(p.pointId)}/undelete`);
    toast(`Recovery point of ${when(p.createdAt)} is available again.`);
    fill(status);
    await done();
  } catch (err) {
    fill(status, errorBox(err));
  }
}
