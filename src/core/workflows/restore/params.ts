import { z } from 'zod';

/** A restore's input, fixed at request (restore.ts). */
export const restoreParams = z.object({
  pointId: z.string().min(1),
  mode: z.enum(['newDisks', 'replaceDisks', 'newVm']),
  targetResourceGroup: z.string().min(1),
  /** Absent on rows written before instant restore existed: the vault. */
  source: z.enum(['auto', 'snapshot', 'vault']).optional(),
  /** A new VM in another subscription or region gets its disks there too (new-vm-checks.ts). */
  targetSubscriptionId: z.string().min(1).optional(),
  targetLocation: z.string().min(1).optional(),
  /** mode newVm: the VM as planned at request time; names come from the job id at step time. */
  newVm: z.object({ subnetId: z.string().min(1), vmSize: z.string().min(1), zone: z.string().optional() }).optional(),
});
export type RestoreParams = z.infer<typeof restoreParams>;
