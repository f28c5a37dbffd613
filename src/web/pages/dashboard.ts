import { api, enc, type Item, type Point } from '../api.js';
import { badge, bytes, h, pageHeader, s } from '../dom.js';

interface Dashboard {
  protectedItems: { total: number; byState: Record<string, number> };
  jobsLast24h: { total: number; byStatus: Record<string, number> };
  storage: { recoveryPoints: number; logicalBytes: number; storedBytes: number };
}

const DAYS_CHARTED = 14;

export async function dashboardPage(main: HTMLElement): Promise<() => void> {
  const [d, items] = await Promise.all([api<Dashboard>('GET', 'dashboard'), api<{ items: Item[] }>('GET', 'items')]);
  const points = (
    await Promise.all(
      items.items.map((i) =>
        api<{ items: Point[] }>('GET', `items/${enc(i.itemKey)}/recoveryPoints`)
          .then((r) => r.items)
          .catch(() => [] as Point[]),
      ),
    )
  ).flat();
  const since = new Date(Date.now() - 86_400_000).toISOString();
  const by = d.jobsLast24h.byStatus;
  const n = (...k: string[]): number => k.reduce((a, x) => a + (by[x] ?? 0), 0);
  const jobLink = (label: string, count: number, status: string, tone: string) =>
    h('li', {}, h('a', { class: `stat ${tone}`, href: `#/jobs?status=${status}&from=${enc(since)}` }, h('span', { class: 'num' }, count), h('span', {}, label)));
  const stored = d.storage.storedBytes,
    logical = d.storage.logicalBytes;
  const ratio = logical > 0 ? stored / logical : 0;

  main.replaceChildren(
    pageHeader('Dashboard'),
    h(
      'div',
      { class: 'grid' },
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'h-items' },
        h('h2', { id: 'h-items' }, 'Protected items'),
        h('p', { class: 'big' }, d.protectedItems.total, h('span', { class: 'unit' }, d.protectedItems.total === 1 ? ' item' : ' items')),
        Object.keys(d.protectedItems.byState).length === 0
          ? h('p', { class: 'hint' }, 'Nothing is protected yet. ', h('a', { href: '#/vms' }, 'Discover and protect VMs'), '.')
          : h('ul', { class: 'states' }, ...Object.entries(d.protectedItems.byState).map(([k, v]) => h('li', {}, badge(k), ' ', h('strong', {}, v)))),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'h-jobs' },
        h('h2', { id: 'h-jobs' }, 'Jobs in the last 24 hours'),
        h(
          'ul',
          { class: 'stats' },
          jobLink('succeeded', n('Completed', 'CompletedWithWarnings'), 'Completed', 'ok'),
          jobLink('failed', n('Failed'), 'Failed', 'bad'),
          jobLink('in progress', n('Queued', 'InProgress', 'Cancelling'), 'InProgress', 'info'),
        ),
        h('p', { class: 'hint' }, `${d.jobsLast24h.total} job${d.jobsLast24h.total === 1 ? '' : 's'} in all. `, h('a', { href: `#/jobs?from=${enc(since)}` }, 'See them all')),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'h-storage' },
        h('h2', { id: 'h-storage' }, 'Storage'),
        h('p', { class: 'big' }, bytes(stored), h('span', { class: 'unit' }, ` stored of ${bytes(logical)} logical`)),
        h(
          'div',
          { class: 'bar wide', role: 'meter', 'aria-label': 'Stored bytes as a share of logical size', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(ratio * 100) },
          sized(ratio),
        ),
        h(
          'p',
          { class: 'hint' },
          `${d.storage.recoveryPoints} recovery point${d.storage.recoveryPoints === 1 ? '' : 's'}; incremental copies store ${logical > 0 ? Math.round(ratio * 1000) / 10 : 0}% of their logical size.`,
        ),
      ),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'h-chart' }, h('h2', { id: 'h-chart' }, `Recovery points created, last ${DAYS_CHARTED} days`), chart(points)),
  );
  return () => {};
}

function sized(ratio: number): HTMLElement {
  const f = h('div', { class: 'fill' });
  f.style.width = `${Math.min(100, Math.max(ratio > 0 ? 1 : 0, ratio * 100))}%`;
  return f;
}

/** One bar per day in the browser's time zone, with a table of the same numbers for screen readers. */
function chart(points: Point[]): HTMLElement {
  const days: { label: string; start: number; count: number }[] = [];
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  for (let i = DAYS_CHARTED - 1; i >= 0; i--) {
    const d = new Date(today);
    d.setDate(d.getDate() - i);
    days.push({ label: d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }), start: d.getTime(), count: 0 });
  }
  for (const p of points) {
    const t = new Date(p.createdAt).getTime();
    for (let i = days.length - 1; i >= 0; i--)
      if (t >= days[i]!.start) {
        days[i]!.count++;
        break;
      }
  }
  const W = 1100,
    H = 190,
    pad = 32,
    max = Math.max(1, ...days.map((d) => d.count));
  const bw = (W - pad * 2) / days.length;
  const svg = s(
    'svg',
    { viewBox: `0 0 ${W} ${H + 30}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title' },
    s('title', { id: 'chart-title' }, `Recovery points per day: ${points.length} in all`),
  );
  for (const tick of [...new Set([0, Math.round(max / 2), max])]) {
    const y = H - (tick / max) * (H - 20);
    svg.append(s('line', { x1: pad, x2: W - pad, y1: y, y2: y, class: 'grid-line' }), s('text', { x: pad - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, String(tick)));
  }
  days.forEach((d, i) => {
    const bh = (d.count / max) * (H - 20);
    const x = pad + i * bw + bw * 0.15;
    svg.append(s('rect', { x, y: H - bh, width: bw * 0.7, height: bh, class: 'bar-rect', rx: 2 }, s('title', {}, `${d.label}: ${d.count}`)));
    if (d.count > 0) svg.append(s('text', { x: x + bw * 0.35, y: H - bh - 4, 'text-anchor': 'middle', class: 'value' }, String(d.count)));
    if (i % 2 === days.length % 2 || i === days.length - 1) svg.append(s('text', { x: x + bw * 0.35, y: H + 18, 'text-anchor': 'middle', class: 'axis' }, d.label));
  });
  const table = h(
    'table',
    { class: 'sr-only' },
    h('caption', {}, 'Recovery points per day'),
    h('tr', {}, h('th', { scope: 'col' }, 'Day'), h('th', { scope: 'col' }, 'Points')),
    ...days.map((d) => h('tr', {}, h('td', {}, d.label), h('td', {}, d.count))),
  );
  return h('figure', { class: 'chart-wrap' }, svg, table);
}
