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
