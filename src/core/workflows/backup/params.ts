import { z } from 'zod';

/** A backup's input: the schedule slot it stands for, or the retention an on-demand backup asked for. */
export const backupParams = z.object({
  /** ISO time of the schedule slot (scheduled backups). */
  slot: z.string().optional(),
  /** ISO time the point is kept until (on-demand backups); absent: the policy's retention. */
  retainUntil: z.string().optional(),
});
export type BackupParams = z.infer<typeof backupParams>;
