import { z } from 'zod';

export const registerParams = z.object({
  vmId: z.string().min(1),
  policyName: z.string().min(1).optional(),
});
export type RegisterParams = z.infer<typeof registerParams>;

export const protectParams = z.object({ policyName: z.string().min(1) });
export type ProtectParams = z.infer<typeof protectParams>;
