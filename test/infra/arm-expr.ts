import { createHash } from 'node:crypto';

/**
 * A small evaluator for the ARM template expressions infra/azuredeploy.json uses, so the tests can check what a
 * deployment would set (the app settings loadConfig reads, the roles assigned) rather than only that a key is
 * present. Grammar and functions as documented in
 * https://learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions and
 * .../template-functions; an unknown function is an error, so a misspelt one fails the test.
 * Deployment-time values (resource group, subscription, reference()) are stand-ins.
 */
export interface ArmScope {
  parameters: Record<string, unknown>;
  variables: Record<string, unknown>;
  copyIndex?: Record<string, number>;
}

type Fn = (args: unknown[], scope: ArmScope) => unknown;

const hash = (...parts: unknown[]): string => createHash('sha256').update(parts.map(String).join('|')).digest('hex');
const SUB = '11111111-2222-3333-4444-555555555555';
const RG = 'vmbackup-rg';

const FUNCTIONS: Record<string, Fn> = {
  parameters: ([n], s) => {
    if (!(String(n) in s.parameters)) throw new Error(`no parameter '${n}'`);
    return s.parameters[String(n)];
  },
  variables: ([n], s) => {
    if (!(String(n) in s.variables)) throw new Error(`no variable '${n}'`);
    return s.variables[String(n)];
  },
  copyIndex: ([n], s) => s.copyIndex?.[String(n ?? '')] ?? 0,
  format: ([f, ...a]) => String(f).replace(/\{(\d+)\}/g, (_m, i: string) => String(a[Number(i)])),
  concat: (a) => (a.every(Array.isArray) ? (a as unknown[][]).flat() : a.map(String).join('')),
  join: ([a, sep]) => (a as unknown[]).join(String(sep)),
  string: ([v]) => (typeof v === 'string' ? v : JSON.stringify(v)),
  toLower: ([v]) => String(v).toLowerCase(),
  uniqueString: (a) => hash(...a).slice(0, 13),
  guid: (a) => hash('guid', ...a).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/, '$1-$2-$3-$4-$5'),
  newGuid: () => hash('new', Math.random()).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/, '$1-$2-$3-$4-$5'),
  resourceGroup: () => ({ id: `/subscriptions/${SUB}/resourceGroups/${RG}`, name: RG, location: 'westeurope' }),
  subscription: () => ({ id: `/subscriptions/${SUB}`, subscriptionId: SUB }),
  environment: () => ({ name: 'AzureCloud', suffixes: { storage: 'core.windows.net' } }),
  resourceId: ([type, ...names]) => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/${type}/${names.join('/')}`,
  subscriptionResourceId: ([type, ...names]) => `/subscriptions/${SUB}/providers/${type}/${names.join('/')}`,
  reference: ([id]) => ({ ConnectionString: `InstrumentationKey=${hash(id).slice(0, 8)}`, identity: { principalId: hash('principal', id).slice(0, 36) } }),
  createArray: (a) => a,
  union: (a) => (a.every(Array.isArray) ? [...new Set((a as unknown[][]).flat())] : Object.assign({}, ...a)),
  if: ([c, t, f]) => (c ? t : f),
  not: ([v]) => !v,
  empty: ([v]) => v === '' || v == null || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v as object).length === 0),
  length: ([v]) => (Array.isArray(v) || typeof v === 'string' ? v.length : Object.keys(v as object).length),
};

export const FUNCTION_NAMES = Object.keys(FUNCTIONS);

/** True when a JSON string value is an expression (a leading `[[` escapes a literal bracket). */
export const isExpression = (v: string): boolean => v.startsWith('[') && v.endsWith(']') && !v.startsWith('[[');

export function evaluate(value: string, scope: ArmScope): unknown {
  if (!isExpression(value)) return value.startsWith('[[') ? value.slice(1) : value;
  const src = value.slice(1, -1);
  let i = 0;
  const ws = () => {
    while (/\s/.test(src[i] ?? '')) i++;
  };
  const expect = (ch: string) => {
    ws();
    if (src[i] !== ch) throw new Error(`expected '${ch}' at ${i} in ${value}`);
    i++;
  };
  const primary = (): unknown => {
    ws();
    if (src[i] === "'") {
      let out = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new Error(`unterminated string in ${value}`);
        if (src[i] === "'" && src[i + 1] === "'") {
          out += "'";
          i += 2;
          continue;
        }
        if (src[i] === "'") {
          i++;
          return out;
        }
        out += src[i++];
      }
    }
    const num = /^-?\d+/.exec(src.slice(i));
    if (num) {
      i += num[0].length;
      return Number(num[0]);
    }
    const id = /^[A-Za-z_][\w]*/.exec(src.slice(i));
    if (!id) throw new Error(`unexpected '${src[i]}' at ${i} in ${value}`);
    i += id[0].length;
    if (id[0] === 'true' || id[0] === 'false') return id[0] === 'true';
    const fn = FUNCTIONS[id[0]];
    if (!fn) throw new Error(`unknown function '${id[0]}' in ${value}`);
    expect('(');
    const args: unknown[] = [];
    ws();
    if (src[i] !== ')') {
      for (;;) {
        args.push(access());
        ws();
        if (src[i] === ',') {
          i++;
          continue;
        }
        break;
      }
    }
    expect(')');
    return fn(args, scope);
  };
  const access = (): unknown => {
    let v = primary();
    for (;;) {
      ws();
      if (src[i] === '.') {
        i++;
        const name = /^[A-Za-z_]\w*/.exec(src.slice(i))![0];
        i += name.length;
        v = (v as Record<string, unknown>)[name];
      } else if (src[i] === '[') {
        i++;
        const k = access();
        expect(']');
        v = (v as Record<string, unknown>)[k as string];
      } else return v;
    }
  };
  const v = access();
  ws();
  if (i !== src.length) throw new Error(`trailing text at ${i} in ${value}`);
  return v;
}

/** The template's variables in order, `copy` arrays included, as the deployment would compute them. */
export function evaluateVariables(template: { variables?: Record<string, unknown> }, parameters: Record<string, unknown>): Record<string, unknown> {
  const scope: ArmScope = { parameters, variables: {} };
  const deep = (v: unknown): unknown =>
    typeof v === 'string' ? evaluate(v, scope) : Array.isArray(v) ? v.map(deep) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)])) : v;
  for (const [k, v] of Object.entries(template.variables ?? {})) {
    if (k !== 'copy') scope.variables[k] = deep(v);
  }
  for (const c of (template.variables?.copy ?? []) as { name: string; count: string; input: string }[]) {
    const n = evaluate(c.count, scope) as number;
    scope.variables[c.name] = Array.from({ length: n }, (_, idx) => evaluate(c.input, { ...scope, copyIndex: { [c.name]: idx } }));
  }
  return scope.variables;
}

/** Parameter values: the given ones, else each parameter's default evaluated. */
export function resolveParameters(template: { parameters?: Record<string, { defaultValue?: unknown }> }, given: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(template.parameters ?? {})) {
    const d = p.defaultValue;
    const evalDeep = (v: unknown): unknown => (typeof v === 'string' ? evaluate(v, { parameters: out, variables: {} }) : Array.isArray(v) ? v.map(evalDeep) : v);
    out[k] = k in given ? given[k] : evalDeep(d);
  }
  return out;
}
