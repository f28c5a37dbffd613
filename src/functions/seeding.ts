import { app, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { QUEUES } from '../core/config';
import { runStep } from '../core/services/steps';
import { requestExport, requestImport } from '../core/services/seeding';
import { exportStep } from '../core/services/seeding-export';
import { importStep } from '../core/services/seeding-import';
import { accepted, body, route, validate } from './lib/http';
import { ExportBody, ImportBody, ItemKey } from './lib/schemas';
import { getDeps, maxDequeueCount } from './lib/runtime';

app.http('exportItem', {
  methods: ['POST'], authLevel: 'function', route: 'items/{itemKey}/export',
  handler: route(async (req, _ctx, deps) => {
    const itemKey = validate(ItemKey, req.params.itemKey);
    const b = await body(req, ExportBody);
    const job = await requestExport(deps, { itemKey, pointId: b.pointId, location: { kind: 'container', container: b.container, prefix: b.prefix } });
    return accepted(req, job.jobId);
  }),
});

app.http('importItem', {
  methods: ['POST'], authLevel: 'function', route: 'items/{itemKey}/import',
  handler: route(async (req, _ctx, deps) => {
    const itemKey = validate(ItemKey, req.params.itemKey);
    const b = await body(req, ImportBody);
    const job = await requestImport(deps, { itemKey, location: { kind: 'container', container: b.container, prefix: b.prefix } });
    return accepted(req, job.jobId);
  }),
});

const JobMessage = z.object({ jobId: z.string().min(1).max(100) });

for (const [name, queueName, run] of [['exportPackage', QUEUES.export, exportStep], ['importPackage', QUEUES.import, importStep]] as const) {
  app.storageQueue(name, {
    queueName,
    connection: 'VMBACKUP_STORAGE',
    handler: async (message: unknown, ctx: InvocationContext) => {
      const parsed = JobMessage.safeParse(message);
      if (!parsed.success) {
        ctx.error(`${name}: dropping a malformed message`);
        return;
      }
      const deps = await getDeps();
      const dequeueCount = Number(ctx.triggerMetadata?.dequeueCount ?? 1);
      await runStep(deps, parsed.data.jobId, { dequeueCount, maxDequeueCount: maxDequeueCount() }, () => run(deps, parsed.data));
    },
  });
}
