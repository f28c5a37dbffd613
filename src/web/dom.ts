import { ApiError } from './api.js';

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

/** A tiny element builder: attributes set as given, `on*` keys add listeners, false/null children are skipped. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

const SVG = 'http://www.w3.org/2000/svg';
export function s(tag: string, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

export function bytes(n: number | undefined): string {
  if (n === undefined || n === null) return '-';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0,
    x = n;
  while (x >= 1024 && i < u.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x >= 100 || i === 0 || Number.isInteger(x) ? Math.round(x) : x.toFixed(1)} ${u[i]}`;
}

export function duration(sec: number | undefined): string {
  if (sec === undefined || sec === null) return '-';
  if (sec < 60) return `${Math.round(sec)} s`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min ${Math.round(sec % 60)} s`;
  return `${Math.floor(sec / 3600)} h ${Math.round((sec % 3600) / 60)} min`;
}

export function when(iso: string | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function vmNameOf(itemKey: string | undefined): string {
  return itemKey ? (itemKey.split(';').pop() ?? itemKey) : '-';
}

const TONE: Record<string, string> = {
  Completed: 'ok',
  Protected: 'ok',
  Available: 'ok',
  CompletedWithWarnings: 'warn',
  ProtectionPending: 'warn',
  Registered: 'info',
  Failed: 'bad',
  Corrupt: 'bad',
  Cancelled: 'muted',
  Cancelling: 'warn',
  InProgress: 'info',
  Queued: 'muted',
  NotRegistered: 'muted',
  ProtectionStopped: 'muted',
  ProtectionStoppedDataDeleted: 'muted',
  SoftDeleted: 'muted',
};
export function badge(state: string): HTMLElement {
  return h('span', { class: `badge ${TONE[state] ?? 'muted'}` }, state.replace(/([a-z])([A-Z])/g, '$1 $2'));
}

/** An API error as the operator needs it: what happened and what to do. */
export function errorBox(err: unknown): HTMLElement {
  const e = err instanceof ApiError ? err : new ApiError(0, 'Error', (err as Error)?.message ?? String(err));
  return h(
    'div',
    { class: 'error', role: 'alert' },
    h('p', {}, h('strong', {}, `${e.code}: `), e.message),
    e.recommendedAction ? h('p', {}, h('strong', {}, 'Recommended action: '), e.recommendedAction) : null,
  );
}

export function progressBar(percent: number | undefined, label: string): HTMLElement {
  const p = Math.max(0, Math.min(100, percent ?? 0));
  const fillEl = h('div', { class: 'fill' });
  // Set through the CSSOM: the page's CSP forbids inline style attributes.
  fillEl.style.width = `${p}%`;
  return h(
    'div',
    {
      class: 'bar',
      role: 'progressbar',
      'aria-label': label,
      'aria-valuemin': 0,
      'aria-valuemax': 100,
      'aria-valuenow': Math.round(p),
      'aria-valuetext': percent === undefined ? 'not started' : `${p}%`,
    },
    fillEl,
  );
}

let toastTimer: number | undefined;
export function toast(message: string): void {
  const t = document.getElementById('toast');
  if (!t) return;
  t.textContent = message;
  t.classList.add('show');
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => t.classList.remove('show'), 6000);
}

/** Replaces a container's content and returns it, so a page can redraw one region. */
export function fill(el: HTMLElement, ...children: Child[]): HTMLElement {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function pageHeader(title: string, ...actions: Child[]): HTMLElement {
  return h('div', { class: 'page-head' }, h('h1', { id: 'page-title', tabindex: -1 }, title), h('div', { class: 'actions' }, ...actions));
}
