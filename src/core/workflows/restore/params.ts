import { z } from 'zod';

/** A restore's input, fixed at request (restore.ts). */
export const restoreParams = z.object({
  pointId: z.string().min(1),
  mode: z.enum(['newDisks', 'replaceDisks']),
  targetResourceGroup: z.string().min(1),
  /** Absent on rows written before instant restore existed: the vault. */
  source: z.enum(['auto', 'snapshot', 'vault']).optional(),
});
export type RestoreParams = z.infer<typeof restoreParams>;
