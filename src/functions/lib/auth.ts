import type { HttpRequest } from '@azure/functions';
import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../../core/config';

/**
 * The function can't see which host key was used, so "admin" here means the caller sent the key configured
 * in VMBACKUP_ADMIN_KEY (operators set it to the host's master key). Without it, destructive routes always
 * take the two-step confirmation.
 */
export function isAdminRequest(req: HttpRequest, config: Pick<Config, 'adminKey'>): boolean {
  const admin = config.adminKey;
  const sent = req.headers.get('x-functions-key') ?? req.query.get('code');
  if (!admin || !sent) return false;
  const a = Buffer.from(admin), b = Buffer.from(sent);
  return a.length === b.length && timingSafeEqual(a, b);
}
