import type { InvocationContext } from '@azure/functions';
import { loadConfig, type Config } from '../../core/config';
import { createAzureDeps, ensureResources } from '../../core/composition';
import type { Deps } from '../../core/jobs/deps';
import { redact } from '../../core/redact';
import type { Logger } from '../../core/ports/logger';
import { KINDS } from '../../core/workflows/kinds';

let cached: Promise<Deps> | undefined;

const consoleLogger: Logger = {
  info: (msg, data) => console.log(redact(`${msg} ${data ? JSON.stringify(data) : ''}`)),
  warn: (msg, data) => console.warn(redact(`${msg} ${data ? JSON.stringify(data) : ''}`)),
  error: (msg, data) => console.error(redact(`${msg} ${data ? JSON.stringify(data) : ''}`)),
};

/**
 * The deps of one invocation, logging through its InvocationContext: the host sends those lines to Application
 * Insights as traces tied to the invocation (the failed-job alert rule in infra/azuredeploy.json reads them).
 */
export async function depsFor(ctx: InvocationContext): Promise<Deps> {
  const deps = await getDeps();
  const line = (msg: string, data?: Record<string, unknown>) => redact(`${msg} ${data ? JSON.stringify(data) : ''}`);
  return { ...deps, log: { info: (m, d) => ctx.log(line(m, d)), warn: (m, d) => ctx.warn(line(m, d)), error: (m, d) => ctx.error(line(m, d)) } };
}

/** Built once per worker from the app settings; a bad setting fails every call with the full list. */
export function getDeps(): Promise<Deps> {
  cached ??= (async () => {
    const config: Config = loadConfig(process.env);
    const deps = createAzureDeps(config, { log: consoleLogger });
    await ensureResources(deps, [...KINDS.queues]);
    return deps;
  })().catch((err) => {
    cached = undefined; // try again on the next call: storage may come up later
    throw err;
  });
  return cached;
}
