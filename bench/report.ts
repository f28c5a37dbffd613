import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchLevel, Row } from './context';

export interface Report {
  /** True for any run shorter than the full one (--quick and --smoke), so older readers never take it for one. */
  quick: boolean;
  /** Which shorter run; reports written before --smoke existed have none (read `quick` then). */
  level?: BenchLevel;
  date: string;
  /** Where Azurite kept its data during the run. */
  azurite: 'memory' | 'files';
  machine: { cpus: number; model?: string; memGiB: number; node: string; loadAvg: number[] };
  scenarios: { id: string; title: string; seconds: number }[];
  rows: Row[];
}

export function machine(): Report['machine'] {
  return { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 1024 ** 3), node: process.version, loadAvg: os.loadavg().map((l) => Number(l.toFixed(2))) };
}

/** The level of a report, also of one written before reports named it. */
export const levelOf = (report: Pick<Report, 'quick' | 'level'>): BenchLevel => report.level ?? (report.quick ? 'quick' : 'full');
const suffix = (report: Report): string => (levelOf(report) === 'full' ? '' : `-${levelOf(report)}`);

const verdict = (r: Row): string => (r.target ? `${r.target}: ${r.met ? 'met' : 'NOT met'}` : '');

export function table(rows: Row[]): string {
  const lines = rows.map((r) => [r.scenario, r.figure, r.value, verdict(r)]);
  const width = [0, 0, 0, 0];
  for (const l of lines) l.forEach((c, i) => (width[i] = Math.max(width[i]!, c.length)));
  return lines
    .map((l) =>
      l
        .map((c, i) => c.padEnd(width[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A markdown table that docs/BENCHMARKS.md can include verbatim. */
export function markdown(report: Report): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const m = report.machine;
  const head = [
    `Run of ${report.date}${levelOf(report) === 'full' ? '' : ` (--${levelOf(report)})`}${levelOf(report) === 'smoke' ? ', a smoke test: its figures mean nothing,' : ''} on ${m.cpus} x ${m.model ?? 'CPU'}, ${m.memGiB} GiB, Node ${m.node}; Azurite data in ${report.azurite}; load average at the end ${m.loadAvg.join(' / ')}.`,
    '',
    '| Scenario | Figure | Value | Target |',
    '|---|---|---|---|',
  ];
  const body = report.rows.map((r) => `| ${esc(r.scenario)} | ${esc(r.figure.trim())} | ${esc(r.value)} | ${esc(verdict(r))} |`);
  return `${[...head, ...body].join('\n')}\n`;
}

/** Writes <date>[-quick|-smoke].json and .md into `dir`; returns the two paths. */
export function writeReport(report: Report, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${report.date}${suffix(report)}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(report));
  return [`${base}.json`, `${base}.md`];
}
