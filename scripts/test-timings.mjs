// Reads a vitest JSON report (`npm test -- --reporter=default --reporter=json --outputFile.json=F`) and says how
// the suite stands against its targets: wall time, the slowest tests, and each file's smallest timeout against its
// longest test (the suite's rule: every timeout at least 3x the measured time). Exits 1 when a file breaks the rule.
// Usage: node scripts/test-timings.mjs F [--top 10]
import { readFileSync } from 'node:fs';
import path from 'node:path';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/test-timings.mjs <vitest-json-report> [--top N]');
  process.exit(2);
}
const top = Number(rest[rest.indexOf('--top') + 1] ?? 10) || 10;
const report = JSON.parse(readFileSync(file, 'utf8'));
const config = readFileSync(new URL('../vitest.config.mts', import.meta.url), 'utf8');
const defaultTimeout = Number(/testTimeout:\s*([\d_]+)/.exec(config)?.[1]?.replaceAll('_', '') ?? 5000);

// Explicit timeouts in a test file: a number closing an it/test/describe call (`}, 120_000)`) or `timeout: N`.
function timeoutsIn(source) {
  const found = [...source.matchAll(/\}\s*,\s*([\d_]{4,})\s*\)/g), ...source.matchAll(/timeout:\s*([\d_]{4,})/g)].map((m) => Number(m[1].replaceAll('_', '')));
  return found.length > 0 ? found : [defaultTimeout];
}

const tests = [];
const files = [];
for (const f of report.testResults) {
  const rel = path.relative(process.cwd(), f.name);
  const durations = f.assertionResults.map((a) => ({ file: rel, name: a.title, ms: a.duration ?? 0, status: a.status }));
  tests.push(...durations);
  const longest = Math.max(0, ...durations.map((d) => d.ms));
  const smallest = Math.min(...timeoutsIn(readFileSync(f.name, 'utf8')));
  files.push({ file: rel, longest, smallest, ratio: longest > 0 ? smallest / longest : Number.POSITIVE_INFINITY });
}
const wall = (Math.max(...report.testResults.map((f) => f.endTime)) - report.startTime) / 1000;
console.log(`${report.numTotalTests} tests in ${report.testResults.length} files: ${report.numPassedTests} passed, ${report.numFailedTests} failed; wall ${wall.toFixed(0)} s`);
console.log(`slowest ${top}:`);
for (const t of tests.sort((a, b) => b.ms - a.ms).slice(0, top)) console.log(`  ${(t.ms / 1000).toFixed(1).padStart(6)} s  ${t.file} > ${t.name}`);
const tight = files.filter((f) => f.ratio < 3).sort((a, b) => a.ratio - b.ratio);
const least = files.sort((a, b) => a.ratio - b.ratio)[0];
console.log(`smallest timeout / longest test, per file: lowest ${least ? `${least.ratio.toFixed(1)}x (${least.file})` : 'n/a'}; files under 3x: ${tight.length}`);
for (const f of tight) console.log(`  ${f.ratio.toFixed(1)}x  ${f.file}: longest ${(f.longest / 1000).toFixed(1)} s, timeout ${(f.smallest / 1000).toFixed(0)} s`);
process.exit(tight.length > 0 ? 1 : 0);
