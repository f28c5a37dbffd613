import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConflictError } from '../errors';
import type { Deps } from '../jobs/deps';

const TTL_MS = 5 * 60_000;
// Without a configured secret, tokens are valid on the instance that issued them only.
const fallbackSecret = randomBytes(32).toString('hex');

function sign(deps: Deps, action: string, target: string, expires: number): string {
  return createHmac('sha256', deps.config.confirmationSecret ?? fallbackSecret)
    .update(`${action}\n${target}\n${expires}`)
    .digest('base64url');
}

/**
 * Destructive operations take two steps: the first call answers 409 ConfirmationRequired with a token bound
 * to the action and its target; repeating the call with that token within 5 minutes carries it out.
 */
export function requireConfirmation(deps: Deps, action: string, target: string, token: string | undefined, isAdmin: boolean): void {
  if (isAdmin) return;
  if (token) {
    const [exp, sig] = token.split('.');
    const expires = Number(exp);
    if (sig && Number.isFinite(expires) && expires > deps.clock().getTime()) {
      const want = Buffer.from(sign(deps, action, target, expires));
      const got = Buffer.from(sig);
      if (want.length === got.length && timingSafeEqual(want, got)) return;
    }
  }
  const expires = deps.clock().getTime() + TTL_MS;
  throw new ConflictError(
    token ? 'ConfirmationInvalid' : 'ConfirmationRequired',
    token ? 'The confirmation token is invalid or expired.' : `This operation (${action}) is destructive and needs confirmation.`,
    'Send the same request again with "confirmationToken" set to the token in error.details within 5 minutes, or use the admin key.',
    { confirmationToken: `${expires}.${sign(deps, action, target, expires)}`, expiresAt: new Date(expires).toISOString() },
  );
}
