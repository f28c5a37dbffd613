import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface Report {
  quick: boolean;
  level?: string;
  scenarios: { id: string; title: string; seconds: number }[];
  rows: { scenario: string; figure: string; value: string; n: number; target?: string; met?: boolean }[];
}

function runSmokeBench(out: string, only: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const args = [path.join('dist', 'bench', 'run.js'), '--smoke', '--only', only.join(','), '--out', out];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

const RESULTS = path.join('bench', 'results');
const snapshotOfResults = (): string[] =>
  existsSync(RESULTS)
    ? readdirSync(RESULTS)
        .map((f) => `${f} ${statSync(path.join(RESULTS, f)).mtimeMs}`)
        .sort()
    : [];

/** Every scenario id the bench defines, read from its sources so a new scenario cannot be left out here. */
const SCENARIO_IDS = readdirSync(path.join('bench', 'scenarios'))
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
  .flatMap((f) => [...readFileSync(path.join('bench', 'scenarios', f), 'utf8').matchAll(/^\s{2}id: '(\d+)'/gm)].map((m) => m[1]!));

// The smoke run in groups, so no one test runs long. Grouped by the seconds each scenario took at --smoke on a
// loaded 2-core machine (the report's `seconds`, plus some 6 s a run to start Azurite and the emulator), some
// 20-45 s a group under a load average of 10-14, well under that idle. 1, 4, 5 and 8 share one full backup, so
// they stay together.
const GROUPS: readonly (readonly string[])[] = [
  ['1', '3', '4', '5', '8'],
  ['6', '7', '9', '10', '12'],
  ['2', '11', '13'],
];

// The smoke run of `npm run bench -- --smoke`: every scenario's code path once at its smallest sizes. It must
// finish without errors and report every scenario with numbers; its figures mean nothing, and speed is what the
// bench measures, so nothing here depends on how fast it ran.
describe('smoke benchmark', () => {
  it('the groups below cover every scenario once', () => {
    expect(SCENARIO_IDS.length).toBeGreaterThanOrEqual(13);
    expect(GROUPS.flat().sort()).toEqual([...SCENARIO_IDS].sort());
  });

  for (const group of GROUPS) {
    it(`runs scenarios ${group.join(', ')}, exits 0 and writes numeric rows as JSON and markdown`, { timeout: 120_000 }, async () => {
      const out = mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
      const before = snapshotOfResults();
      try {
        const { code, stderr } = await runSmokeBench(out, group);
        expect(code, stderr.slice(-2000)).toBe(0);
        const files = readdirSync(out);
        const json = files.find((f) => f.endsWith('-smoke.json'));
        expect(json).toBeDefined();
        expect(files).toContain(json!.replace(/\.json$/, '.md'));
        const report = JSON.parse(readFileSync(path.join(out, json!), 'utf8')) as Report;
        // Shorter than a full run (what readers of `quick` need to know), and which one.
        expect(report.quick).toBe(true);
        expect(report.level).toBe('smoke');
        expect(report.scenarios.map((s) => s.id).sort()).toEqual([...group].sort());
        for (const id of group) {
          const rows = report.rows.filter((r) => r.scenario.startsWith(`${id} `));
          expect(rows.length, `rows of scenario ${id}`).toBeGreaterThan(0);
          for (const r of rows) {
            expect(Number.isFinite(r.n), `${r.scenario}: ${r.figure} = ${r.value}`).toBe(true);
            if (r.target !== undefined) expect(typeof r.met).toBe('boolean');
          }
        }
        const md = readFileSync(path.join(out, json!.replace(/\.json$/, '.md')), 'utf8');
        expect(md).toContain('| Scenario | Figure | Value | Target |');
        expect(md.split('\n').filter((l) => l.startsWith('| ')).length).toBe(report.rows.length + 1);
        expect(snapshotOfResults(), 'bench/results must be left alone when --out is given').toEqual(before);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  }
});
