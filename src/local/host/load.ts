import Module from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Binding {
  type: string;
  direction: 'in' | 'out';
  name: string;
  [key: string]: unknown;
}

export interface Registration {
  name: string;
  bindings: Record<string, Binding>;
  handler: (input: unknown, context: unknown) => unknown;
  trigger: Binding;
}

const registrations: Registration[] = [];
let installed = false;

/**
 * The real worker provides the module `@azure/functions-core`; the `@azure/functions` library asks it for
 * `registerFunction(metadata, handler)` at every app.http/timer/storageQueue call. Providing it here, before
 * the app loads, gives this host the same registrations and binding metadata the real host receives.
 */
function installCoreShim(): void {
  if (installed) return;
  installed = true;
  const core = {
    registerFunction(metadata: { name: string; bindings: Record<string, Binding> }, handler: Registration['handler']) {
      const trigger = Object.entries(metadata.bindings).find(([, b]) => b.direction === 'in' && /Trigger$/.test(b.type));
      if (!trigger) throw new Error(`function ${metadata.name} has no trigger binding`);
      registrations.push({ name: metadata.name, bindings: metadata.bindings, handler, trigger: { ...trigger[1], name: trigger[0] } });
      return { dispose() {} };
    },
    setProgrammingModel() {},
    registerHook() {
      return { dispose() {} };
    },
    log(level: string, _category: string, message: string) {
      if (level === 'error' || level === 'warning') console.error(`[worker ${level}] ${message}`);
    },
  };
  const mod = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const original = mod._load;
  mod._load = function load(request: string, parent: unknown, isMain: boolean) {
    if (request === '@azure/functions-core') return core;
    return original.call(this, request, parent, isMain);
  };
}

/** Expands the package.json `main` glob (`*` in names, `**` for any depth) the way the worker does. */
export function expandMain(appDir: string, pattern: string): string[] {
  const parts = pattern.split('/').filter(Boolean);
  const walk = (dir: string, i: number): string[] => {
    if (i === parts.length) return [dir];
    const part = parts[i]!;
    if (part === '**') {
      const here = walk(dir, i + 1);
      const deeper = readdirSync(dir)
        .filter((e) => statSync(path.join(dir, e)).isDirectory())
        .flatMap((e) => walk(path.join(dir, e), i));
      return [...here, ...deeper];
    }
    if (!part.includes('*')) {
      const p = path.join(dir, part);
      try {
        statSync(p);
        return walk(p, i + 1);
      } catch {
        return [];
      }
    }
    const re = new RegExp(`^${part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    return readdirSync(dir)
      .filter((e) => re.test(e))
      .sort()
      .flatMap((e) => walk(path.join(dir, e), i + 1));
  };
  return walk(appDir, 0).filter((f) => statSync(f).isFile());
}

export function loadApp(appDir: string): Registration[] {
  installCoreShim();
  const pkg = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8')) as { main?: string };
  if (!pkg.main) throw new Error(`${appDir}/package.json has no "main": the host cannot find the app's entry files`);
  const files = expandMain(path.resolve(appDir), pkg.main);
  if (files.length === 0) throw new Error(`no files match "main": "${pkg.main}" (did you run the build?)`);
  const start = registrations.length;
  for (const f of files) require(f);
  return registrations.slice(start);
}

/** `%NAME%` in binding properties comes from the app settings, as in the real host. */
export function resolveSetting(value: string, settings: Record<string, string | undefined>): string {
  return value.replace(/%([^%]+)%/g, (_m, name: string) => {
    const v = settings[name];
    if (v === undefined || v === '') throw new Error(`the app setting '${name}' is referenced by a binding but is not set`);
    return v;
  });
}
