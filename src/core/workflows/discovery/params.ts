import { z } from 'zod';

/** Discovery takes no input: it lists every configured subscription. */
export const discoveryParams = z.object({});
