import { h } from '../dom.js';

export const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

// biome-ignore lint/suspicious/noExplicitAny: JSON of any shape
export type PolicyJson = Record<string, any>;

export const NEW_POLICY: PolicyJson = {
  name: '',
  timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
  schedule: { frequency: 'Daily', times: ['02:00'] },
  retention: { dailyDays: 14, weekly: { weeks: 8, dayOfWeek: 'Sunday' } },
  instantRestoreDays: 2,
  consistency: { mode: 'CrashConsistent' },
};

const num = (id: string, label: string, value: unknown, min: number, max: number): HTMLElement[] => [
  h('label', { for: id }, label),
  h('input', { id, name: id, type: 'number', min, max, step: 1, value: value === undefined ? '' : String(value), inputmode: 'numeric' }),
];
const sel = (id: string, label: string, options: [string, string][], value: unknown): HTMLElement[] => [
  h('label', { for: id }, label),
  h('select', { id, name: id }, ...options.map(([v, t]) => h('option', { value: v, selected: String(value) === v }, t))),
];
const check = (id: string, label: string, on: boolean): HTMLElement => h('label', { class: 'check' }, h('input', { type: 'checkbox', id, name: id, checked: on }), ` ${label}`);
const dayOfMonthOptions: [string, string][] = [...Array.from({ length: 31 }, (_, i) => [String(i + 1), String(i + 1)] as [string, string]), ['Last', 'Last day']];

/** The editor's fields for one policy; `readPolicy` turns them back into the API's JSON. */
export function policyFields(p: PolicyJson, editing: boolean): HTMLElement {
  const sch = p.schedule ?? {};
  const ret = p.retention ?? {};
  const zones = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  return h(
    'div',
    { class: 'policy-fields' },
    h(
      'fieldset',
      {},
      h('legend', {}, 'Policy'),
      h(
        'div',
        { class: 'row' },
        h('label', { for: 'p-name' }, 'Name'),
        h('input', { id: 'p-name', name: 'p-name', required: true, value: p.name ?? '', readonly: editing, pattern: '[A-Za-z0-9_\\-]{1,64}', 'aria-describedby': 'p-name-help' }),
        h('span', { id: 'p-name-help', class: 'hint' }, editing ? 'A policy keeps its name.' : 'Letters, digits, - and _.'),
      ),
      h(
        'div',
        { class: 'row' },
        h('label', { for: 'p-tz' }, 'Time zone'),
        h('input', { id: 'p-tz', name: 'p-tz', list: 'tz-list', value: p.timeZone ?? 'UTC', required: true }),
        h('datalist', { id: 'tz-list' }, ...['UTC', ...zones].map((z) => h('option', { value: z }))),
      ),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Schedule'),
      h(
        'div',
        { class: 'row' },
        ...sel(
          'p-freq',
          'Frequency',
          [
            ['Daily', 'Daily'],
            ['Weekly', 'Weekly'],
            ['Hourly', 'Hourly'],
          ],
          sch.frequency,
        ),
      ),
      h(
        'div',
        { class: 'row', 'data-for': 'Daily Weekly' },
        h('label', { for: 'p-times' }, 'Times'),
        h('input', { id: 'p-times', name: 'p-times', value: (sch.times ?? ['02:00']).join(', '), 'aria-describedby': 'p-times-help' }),
        h('span', { id: 'p-times-help', class: 'hint' }, 'HH:mm, comma-separated, in the policy’s time zone'),
      ),
      h('fieldset', { class: 'days', 'data-for': 'Weekly' }, h('legend', {}, 'Days of the week'), ...DAYS.map((d) => check(`p-day-${d}`, d.slice(0, 3), (sch.daysOfWeek ?? ['Sunday']).includes(d)))),
      h(
        'div',
        { class: 'row', 'data-for': 'Hourly' },
        ...sel(
          'p-interval',
          'Every',
          [1, 2, 4, 6, 8, 12].map((x) => [String(x), `${x} h`]),
          sch.intervalHours ?? 4,
        ),
        h('label', { for: 'p-wstart' }, 'Window start'),
        h('input', { id: 'p-wstart', name: 'p-wstart', type: 'time', value: sch.windowStart ?? '08:00' }),
        ...num('p-whours', 'Window hours', sch.windowHours ?? 12, 4, 24),
      ),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Retention'),
      h('div', { class: 'row' }, ...num('p-daily', 'Keep every point (days)', ret.dailyDays ?? 14, 1, 9999)),
      h(
        'div',
        { class: 'row' },
        check('p-weekly-on', 'Weekly', !!ret.weekly),
        ...num('p-weeks', 'weeks', ret.weekly?.weeks ?? 8, 1, 5163),
        ...sel(
          'p-wday',
          'first point from',
          DAYS.map((d) => [d, d]),
          ret.weekly?.dayOfWeek ?? 'Sunday',
        ),
      ),
      h(
        'div',
        { class: 'row' },
        check('p-monthly-on', 'Monthly', !!ret.monthly),
        ...num('p-months', 'months', ret.monthly?.months ?? 12, 1, 1188),
        ...sel('p-mday', 'from day', dayOfMonthOptions, ret.monthly?.dayOfMonth ?? 1),
      ),
      h(
        'div',
        { class: 'row' },
        check('p-yearly-on', 'Yearly', !!ret.yearly),
        ...num('p-years', 'years', ret.yearly?.years ?? 5, 1, 99),
        ...sel(
          'p-ymonth',
          'from',
          MONTHS.map((m, i) => [String(i + 1), m]),
          ret.yearly?.month ?? 1,
        ),
        ...sel('p-yday', 'day', dayOfMonthOptions, ret.yearly?.dayOfMonth ?? 1),
      ),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Restore and consistency'),
      h(
        'div',
        { class: 'row' },
        ...num('p-instant', 'Instant restore (days)', p.instantRestoreDays ?? 2, 1, 30),
        ...sel(
          'p-consistency',
          'Consistency',
          [
            ['CrashConsistent', 'Crash consistent'],
            ['FileSystemConsistent', 'File-system consistent'],
            ['ApplicationConsistent', 'Application consistent'],
          ],
          p.consistency?.mode ?? 'CrashConsistent',
        ),
      ),
    ),
  );
}

/** Shows only the schedule fields of the chosen frequency. */
export function syncVisibility(form: HTMLElement): void {
  const f = (form.querySelector('#p-freq') as HTMLSelectElement).value;
  for (const el of form.querySelectorAll<HTMLElement>('[data-for]')) el.hidden = !el.dataset.for!.split(' ').includes(f);
  for (const [on, ids] of [
    ['p-weekly-on', ['p-weeks', 'p-wday']],
    ['p-monthly-on', ['p-months', 'p-mday']],
    ['p-yearly-on', ['p-years', 'p-ymonth', 'p-yday']],
  ] as const) {
    const enabled = (form.querySelector(`#${on}`) as HTMLInputElement).checked;
    for (const id of ids) (form.querySelector(`#${id}`) as HTMLInputElement).disabled = !enabled;
  }
}

/** The form as the API's policy JSON; the server validates it, so values are passed on as typed. */
export function readPolicy(form: HTMLElement, base: PolicyJson): PolicyJson {
  const v = (id: string): string => (form.querySelector(`#${id}`) as HTMLInputElement).value.trim();
  const on = (id: string): boolean => (form.querySelector(`#${id}`) as HTMLInputElement).checked;
  const n = (id: string): number => (v(id) === '' ? NaN : Number(v(id)));
  const dom = (id: string): number | string => (v(id) === 'Last' ? 'Last' : Number(v(id)));
  const freq = v('p-freq');
  const times = v('p-times')
    .split(/[,\s]+/)
    .filter(Boolean);
  const schedule =
    freq === 'Hourly'
      ? { frequency: freq, intervalHours: n('p-interval'), windowStart: v('p-wstart'), windowHours: n('p-whours') }
      : freq === 'Weekly'
        ? { frequency: freq, daysOfWeek: DAYS.filter((d) => on(`p-day-${d}`)), times }
        : { frequency: freq, times };
  const retention: PolicyJson = { dailyDays: n('p-daily') };
  if (on('p-weekly-on')) retention.weekly = { weeks: n('p-weeks'), dayOfWeek: v('p-wday') };
  if (on('p-monthly-on')) retention.monthly = { months: n('p-months'), dayOfMonth: dom('p-mday') };
  if (on('p-yearly-on')) retention.yearly = { years: n('p-years'), month: n('p-ymonth'), dayOfMonth: dom('p-yday') };
  // Scripts and timeouts are not edited here; keep whatever the policy had.
  const consistency = { ...(base.consistency ?? {}), mode: v('p-consistency') };
  return { name: v('p-name'), timeZone: v('p-tz'), schedule, retention, instantRestoreDays: n('p-instant'), consistency };
}
