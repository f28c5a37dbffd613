import { api, ApiError, forgetKey, getKey, setKey } from './api.js';
import { errorBox, fill, h } from './dom.js';
import { dashboardPage } from './pages/dashboard.js';
import { vmsPage } from './pages/vms.js';
import { policiesPage } from './pages/policies.js';
import { jobsPage, jobPage } from './pages/jobs.js';
import { pointsPage } from './pages/points.js';
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

function keyForm(message?: unknown): void {
  document.body.classList.add('signed-out');
  const input = h('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'key-help' });
  const status = h('div', { 'aria-live': 'polite' }, message ? errorBox(message) : null);
  const form = h('form', { class: 'card key-form', 'aria-labelledby': 'key-title' },
    h('h1', { id: 'key-title' }, 'Sign in to vmbackup'),
    h('label', { for: 'key' }, 'Function key'),
    input,
    h('p', { id: 'key-help', class: 'hint' }, 'The key is kept for this browser tab only (session storage) and sent as x-functions-key.'),
    h('button', { type: 'submit', class: 'primary' }, 'Continue'),
    status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('GET', 'dashboard', undefined, input.value.trim());
      setKey(input.value.trim());
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
  if (!getKey()) return keyForm();
  const { path, params } = parseHash();
  const top = path[0] ?? 'dashboard';
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#nav a')) {
    if (a.getAttribute('href') === `#/${top}` || (top === 'items' && a.getAttribute('href') === '#/vms')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const page: Page = top === 'vms' ? vmsPage : top === 'policies' ? policiesPage : top === 'jobs' && path[1] ? jobPage
    : top === 'jobs' ? jobsPage : top === 'items' ? pointsPage : top === 'report' ? reportPage : dashboardPage;
  main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  try {
    const c = await page(main, params, path);
    if (seq !== renderSeq) { if (typeof c === 'function') c(); return; }
    cleanup = c;
    document.title = `${document.getElementById('page-title')?.textContent ?? 'vmbackup'} · vmbackup`;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { forgetKey(); return keyForm(err); }
    fill(main, h('h1', { id: 'page-title', tabindex: -1 }, 'Something went wrong'), errorBox(err));
  }
}

function shell(): void {
  const nav = document.getElementById('nav')!;
  fill(nav, ...NAV.map((n) => h('li', {}, h('a', { href: n.hash }, n.label))));
  document.getElementById('forget')!.addEventListener('click', () => { forgetKey(); void render(); });
  document.getElementById('skip')!.addEventListener('click', (e) => { e.preventDefault(); (document.getElementById('page-title') ?? main).focus(); });
  window.addEventListener('hashchange', () => {
    if (!location.hash.startsWith('#/')) return;
    void render().then(() => document.getElementById('page-title')?.focus({ preventScroll: true }));
  });
}

shell();
void render();
