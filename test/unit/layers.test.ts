import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isIsolated } from '../support/isolation';

/**
 * The dependency direction, read from the imports themselves (type imports included): functions -> core;
 * inside core, each floor imports only floors below it (or its own); core never reaches the local stack,
 * the emulator or the Functions library. A violation names the file and the import.
 */
const FLOORS: [string, number][] = [
  ['src/core/domain', 1],
  ['src/core/config.ts', 1],
  ['src/core/errors.ts', 1],
  ['src/core/redact.ts', 1],
  ['src/core/ports', 2],
  ['src/core/engine', 3],
  ['src/core/store', 3],
  ['src/core/jobs', 4],
  ['src/core/adapters', 4],
  ['src/core/workflows', 5],
  ['src/core/views', 5],
  ['src/core/ops', 5],
  ['src/core/composition.ts', 5],
];
const floorOf = (f: string): number | undefined => FLOORS.find(([p]) => f === p || f.startsWith(`${p}/`))?.[1];
// Workflows may use one another's services (restore reads points, seeding snapshots like backup), views read workflows.
const SAME_FLOOR_OK = (from: string, to: string): boolean => floorOf(from) === floorOf(to);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = path.join(dir, e);
    return statSync(p).isDirectory() ? files(p) : /\.ts$/.test(e) ? [p] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)|^import\s+'([^']+)'/g;

function importsOf(file: string): { spec: string; target?: string }[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(IMPORT)].map((m) => {
    const spec = (m[1] ?? m[2] ?? m[3])!;
    if (!spec.startsWith('.')) return { spec };
    const base = path.normalize(path.join(path.dirname(file), spec.replace(/\.js$/, '')));
    const target = [`${base}.ts`, path.join(base, 'index.ts')].find((c) => {
      try {
        return statSync(c).isFile();
      } catch {
        return false;
      }
    });
    return { spec, target };
  });
}

const SRC = files('src');
const graph = new Map(SRC.map((f) => [f, importsOf(f)]));

describe('layers', () => {
  it('src/core imports no Functions library, no local stack and no emulator', () => {
    const bad = [...graph].flatMap(([f, imps]) =>
      f.startsWith('src/core') ? imps.filter((i) => i.spec.startsWith('@azure/functions') || /src\/(local|emulator|functions)\//.test(i.target ?? '')).map((i) => `${f} -> ${i.spec}`) : [],
    );
    expect(bad).toEqual([]);
  });

  it('only adapters and the composition root import Azure SDKs', () => {
    const sdk = /^@azure\/(storage-|data-tables|arm-|identity|core-rest-pipeline)/;
    const bad = [...graph].flatMap(([f, imps]) =>
      f.startsWith('src/core') && !f.startsWith('src/core/adapters/azure') && f !== 'src/core/composition.ts' ? imps.filter((i) => sdk.test(i.spec)).map((i) => `${f} -> ${i.spec}`) : [],
    );
    expect(bad).toEqual([]);
  });

  it('only the OpenTelemetry adapter imports a telemetry SDK; core speaks to the Telemetry port', () => {
    const otel = /^(@opentelemetry\/|@azure\/monitor-)/;
    const bad = [...graph].flatMap(([f, imps]) => (f.startsWith('src/') && !f.startsWith('src/core/adapters/otel/') ? imps.filter((i) => otel.test(i.spec)).map((i) => `${f} -> ${i.spec}`) : []));
    expect(bad).toEqual([]);
  });

  it('inside core, every import points to a lower floor or the same one', () => {
    const bad: string[] = [];
    for (const [f, imps] of graph) {
      const from = floorOf(f);
      if (!f.startsWith('src/core') || from === undefined) continue;
      for (const i of imps) {
        if (!i.target?.startsWith('src/core')) continue;
        const to = floorOf(i.target);
        if (to === undefined || to > from || (to === from && !SAME_FLOOR_OK(f, i.target))) bad.push(`${f} (floor ${from}) -> ${i.target} (floor ${to})`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('src/emulator is an independent oracle: it imports nothing of the app', () => {
    const bad = [...graph].flatMap(([f, imps]) => (f.startsWith('src/emulator') ? imps.filter((i) => i.target && !i.target.startsWith('src/emulator')).map((i) => `${f} -> ${i.target}`) : []));
    expect(bad).toEqual([]);
  });

  it('src/functions and src/core never import the local stack or the emulator', () => {
    const bad = [...graph].flatMap(([f, imps]) => (/^src\/(core|functions)\//.test(f) ? imps.filter((i) => /^src\/(local|emulator)\//.test(i.target ?? '')).map((i) => `${f} -> ${i.target}`) : []));
    expect(bad).toEqual([]);
  });

  it('has no import cycle anywhere under src/ (type imports included)', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string): void => {
      state.set(f, 'open');
      stack.push(f);
      for (const i of graph.get(f) ?? []) {
        if (!i.target || !graph.has(i.target)) continue;
        if (state.get(i.target) === 'open') cycles.push([...stack.slice(stack.indexOf(i.target)), i.target].join(' -> '));
        else if (!state.has(i.target)) visit(i.target);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
  it('test files that share a process reach neither the Functions app nor the in-process host', () => {
    // The route and queue files register on import, and the host's loader and host run them: module state.
    const loadsApp = (f: string): boolean => (f.startsWith('src/functions/') && !f.startsWith('src/functions/lib/')) || f === 'src/local/host/load.ts' || f === 'src/local/host/host.ts';
    const imports = new Map<string, string[]>();
    const reach = (f: string): string[] => {
      if (!imports.has(f))
        imports.set(
          f,
          importsOf(f).flatMap((i) => (i.target ? [i.target] : [])),
        );
      return imports.get(f)!;
    };
    const offenders = files('test')
      .filter((f) => f.endsWith('.test.ts') && !isIsolated(f))
      .flatMap((file) => {
        const seen = new Set<string>([file]);
        const queue = [file];
        while (queue.length > 0) {
          for (const t of reach(queue.pop()!)) {
            if (seen.has(t)) continue;
            if (loadsApp(t)) return [`${file} reaches ${t}: add it to test/support/isolation.ts`];
            seen.add(t);
            queue.push(t);
          }
        }
        return [];
      });
    expect(offenders).toEqual([]);
  });
});
