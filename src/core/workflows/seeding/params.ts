import { z } from 'zod';

/** ports/packages.ts PackageLocation, as a job row stores it. */
const packageLocation = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('container'), container: z.string().min(1), prefix: z.string().optional() }),
  z.object({ kind: z.literal('folder'), path: z.string().min(1) }),
]);

export const exportParams = z.object({
  location: packageLocation,
  /** The recovery point exported; absent: a first backup, taken from the VM. */
  pointId: z.string().min(1).optional(),
  /** Set by the export itself when it takes the first backup's snapshots: the package's point time. */
  sourceTime: z.string().optional(),
});
export type ExportParams = z.infer<typeof exportParams>;

export const importParams = z.object({ location: packageLocation });
export type ImportParams = z.infer<typeof importParams>;

/** What both seeding kinds share: where the package is. */
export const seedingParams = z.object({ location: packageLocation });

/** What an import's steps read back from its own result (the rest of it is for the caller). */
export const importResult = z.object({
  /** The shards are written: a redelivery goes straight to the commit. */
  written: z.boolean().optional(),
  /** Per disk, the blob snapshot of each shard, recorded once so a redelivery does not take a second set. */
  shardSnapshots: z.record(z.string(), z.array(z.string())).optional(),
});
