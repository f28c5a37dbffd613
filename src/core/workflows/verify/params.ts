import { z } from 'zod';

export const verifyParams = z.object({ pointId: z.string().min(1) });
export type VerifyParams = z.infer<typeof verifyParams>;
