import { z } from 'zod';

/** A mount's input, fixed at request (mount.ts). */
export const mountParamsSchema = z.object({
  pointId: z.string().min(1),
  helperVmId: z.string().min(1),
  durationMinutes: z.number().int().positive(),
});
export type MountParams = z.infer<typeof mountParamsSchema>;
