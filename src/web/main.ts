import { api, ApiError, forgetKey, getKey, setKey } from './api.js';
import { errorBox, fill, h } from './dom.js';
import { dashboardPage } from './pages/dashboard.js';
import { vmsPage } from './pages/vms.js';
import { policiesPage } from './pages/policies.js';
import { jobsPage, jobPage } from './pages/jobs.js';
import { pointsPage } from './pages/points.js';
import { setMe, signedIn, watchNeeds, type Me } from './session.js';
import { reportPage } from './pages/report.js';

/** A page draws into `main` and returns what stops its refresh timers when the operator leaves. */
export type Page = (main: HTMLElement, params: URLSearchParams, path: string[]) => Promise<(() => void) | void>;

const NAV: { hash: string; label: string }[] = [
  { hash: '#/dashboard', label: 'Dashboard' },
  { hash: '#/vms', label: 'Virtual machines' },
  { hash: '#/policies', label: 'Policies' },
  { hash: '#/jobs', label: 'Jobs' },
  { hash: '#/report', label: 'Report' },
];

const main = document.getElementById('main') as HTMLElement;
let cleanup: (() => void) | void;
let renderSeq = 0;

function parseHash(): { path: string[]; params: URLSearchParams } {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(2) : 'dashboard';
  const [p, q] = raw.split('?');
  return { path: (p ?? '').split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(q ?? '') };
}

/** The header's "signed in as": a principal's name and roles, or the key; its button forgets or signs out. */
function showWho(m: Me | undefined): void {
  const who = document.getElementById('whoami')!;
  const forget = document.getElementById('forget')!;
  who.textContent = !m ? '' : `${m.kind === 'key' ? 'Key' : 'Signed in as'} ${m.name} · ${m.roles.length ? m.roles.join(', ') : 'no vmbackup role'}`;
  forget.hidden = !m || (m.kind === 'principal' && m.authMode !== 'entra');
  forget.textContent = m?.kind === 'principal' ? 'Sign out' : 'Forget key';
}

function keyForm(message?: unknown, loginUrl?: string): void {
  document.body.classList.add('signed-out');
  setMe(undefined);
  showWho(undefined);
  const input = h('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'key-help' });
  const status = h('div', { 'aria-live': 'polite' }, message ? errorBox(message) : null);
  const form = h(
    'form',
    { class: 'card key-form', 'aria-labelledby': 'key-title' },
    h('h1', { id: 'key-title' }, 'Sign in to vmbackup'),
    // Easy Auth's sign-in endpoint (https://learn.microsoft.com/azure/app-service/configure-authentication-customize-sign-in-out).
    loginUrl ? h('p', {}, h('a', { class: 'button primary', href: loginUrl }, 'Sign in with Microsoft Entra ID')) : null,
    loginUrl ? h('p', { class: 'hint' }, 'Or, for automation accounts, a key:') : null,
    h('label', { for: 'key' }, 'Function key'),
    input,
    h('p', { id: 'key-help', class: 'hint' }, 'The key is kept for this browser tab only (session storage) and sent as x-functions-key.'),
    h('button', { type: 'submit', class: 'primary' }, 'Continue'),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const m = await api<Me>('GET', 'me', undefined, input.value.trim());
      setKey(input.value.trim());
      setMe(m);
      showWho(m);
      document.body.classList.remove('signed-out');
      if (!location.hash.startsWith('#/')) location.hash = '#/dashboard';
      await render();
    } catch (err) {
      fill(status, errorBox(err));
      input.focus();
    }
  });
  fill(main, form);
  input.focus();
}

async function render(): Promise<void> {
  const seq = ++renderSeq;
  if (typeof cleanup === 'function') cleanup();
  cleanup = undefined;
  if (!signedIn()) {
    // A principal (App Service Authentication) needs no key; without one and without a key, the form.
    try {
      const m = await api<Me>('GET', 'me');
      if (seq !== renderSeq) return;
      setMe(m);
      showWho(m);
      document.body.classList.remove('signed-out');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        if (getKey()) forgetKey();
        return keyForm(err.code === 'AuthenticationRequired' || err.code === 'Unauthorized' ? undefined : err, err.details?.loginUrl as string | undefined);
      }
      fill(main, h('h1', { id: 'page-title', tabindex: -1 }, 'Something went wrong'), errorBox(err));
      return;
    }
  }
  const { path, params } = parseHash();
  const top = path[0] ?? 'dashboard';
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#nav a')) {
    if (a.getAttribute('href') === `#/${top}` || (top === 'items' && a.getAttribute('href') === '#/vms')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const page: Page =
    top === 'vms'
      ? vmsPage
      : top === 'policies'
        ? policiesPage
        : top === 'jobs' && path[1]
          ? jobPage
          : top === 'jobs'
            ? jobsPage
            : top === 'items'
              ? pointsPage
              : top === 'report'
                ? reportPage
                : dashboardPage;
  main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  try {
    const c = await page(main, params, path);
    if (seq !== renderSeq) {
      if (typeof c === 'function') c();
      return;
    }
    cleanup = c;
    document.title = `${document.getElementById('page-title')?.textContent ?? 'vmbackup'} · vmbackup`;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      forgetKey();
      return keyForm(err, err.details?.loginUrl as string | undefined);
    }
    fill(main, h('h1', { id: 'page-title', tabindex: -1 }, 'Something went wrong'), errorBox(err));
  }
}

function shell(): void {
  watchNeeds();
  const nav = document.getElementById('nav')!;
  fill(nav, ...NAV.map((n) => h('li', {}, h('a', { href: n.hash }, n.label))));
  document.getElementById('forget')!.addEventListener('click', () => {
    // Easy Auth's sign-out endpoint ends the platform session; a key is only forgotten here.
    if (signedIn()?.kind === 'principal') {
      location.href = '/.auth/logout?post_logout_redirect_uri=/api/ui/';
      return;
    }
    forgetKey();
    setMe(undefined);
    void render();
  });
  document.getElementById('skip')!.addEventListener('click', (e) => {
    e.preventDefault();
    (document.getElementById('page-title') ?? main).focus();
  });
  window.addEventListener('hashchange', () => {
    if (!location.hash.startsWith('#/')) return;
    void render().then(() => document.getElementById('page-title')?.focus({ preventScroll: true }));
  });
}

shell();
void render();
