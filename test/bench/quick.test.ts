import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface Report {
  quick: boolean;
  scenarios: { id: string; title: string }[];
  rows: { scenario: string; figure: string; value: string; n: number; target?: string; met?: boolean }[];
}

function runQuickBench(out: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join('dist', 'bench', 'run.js'), '--quick', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

const RESULTS = path.join('bench', 'results');
const snapshotOfResults = (): string[] => (existsSync(RESULTS) ? readdirSync(RESULTS).map((f) => `${f} ${statSync(path.join(RESULTS, f)).mtimeMs}`).sort() : []);

// The smoke run of `npm run bench -- --quick`: it must finish without errors and report every scenario with
// numbers. Speed is what the bench measures, so nothing here depends on how fast it ran.
describe('quick benchmark', () => {
  it('runs every scenario, exits 0 and writes numeric rows as JSON and markdown', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'bench-quick-'));
    const before = snapshotOfResults();
    try {
      const { code, stderr } = await runQuickBench(out);
      expect(code, stderr.slice(-2000)).toBe(0);
      const files = readdirSync(out);
      const json = files.find((f) => f.endsWith('-quick.json'));
      expect(json).toBeDefined();
      expect(files).toContain(json!.replace(/\.json$/, '.md'));
      const report = JSON.parse(readFileSync(path.join(out, json!), 'utf8')) as Report;
      expect(report.quick).toBe(true);
      for (const id of ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13']) {
        expect(report.scenarios.map((s) => s.id)).toContain(id);
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
  }, 900_000);
});
