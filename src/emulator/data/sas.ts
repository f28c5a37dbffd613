import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EmulatorState, Grant } from '../arm/state';

export type SasProblem = 'AuthenticationFailed' | 'AuthorizationPermissionMismatch';

/**
 * Disk and snapshot SAS URLs as grantAccess returns them: `<data endpoint>/md-<grant>/abcd?sv&sr&sp&se&sig`.
 * The signature is an HMAC over the grant, permission and expiry with a key only the emulator knows.
 */
export class SasIssuer {
  private key = randomBytes(32);

  constructor(
    private readonly state: EmulatorState,
    private readonly dataEndpoint: () => string,
    private readonly clock: () => number,
  ) {}

  private sign(grantId: string, sp: string, se: string): string {
    return createHmac('sha256', this.key).update(`${grantId}\n${sp}\n${se}`).digest('base64');
  }

  issue(resourceId: string, access: 'Read' | 'Write', seconds: number): string {
    const id = randomBytes(12).toString('hex');
    const expiresAt = this.clock() + seconds * 1000;
    this.state.grants.set(id, { id, resourceId, access, expiresAt });
    this.state.grantLog.push({ id, resourceId, access, expiresAt, issuedAt: this.clock(), seconds });
    const sp = access === 'Write' ? 'rw' : 'r';
    const se = new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const q = new URLSearchParams({ sv: '2018-03-28', sr: 'b', si: `md-${id}`, sp, se, sig: this.sign(id, sp, se) });
    return `${this.dataEndpoint()}/md-${id}/abcd?${q.toString()}`;
  }

  revokeAll(resourceId: string): void {
    for (const g of this.state.grantsOf(resourceId)) {
      this.state.grants.delete(g.id);
      const rec = this.state.grantLog.find((r) => r.id === g.id);
      if (rec) rec.revokedAt = this.clock();
    }
  }

  /** Checks a data-plane request's SAS; returns the grant or why it fails. */
  verify(pathname: string, query: URLSearchParams, needWrite: boolean): Grant | SasProblem {
    const m = /^\/md-([0-9a-f]+)\/abcd$/.exec(pathname);
    const sig = query.get('sig'), sp = query.get('sp'), se = query.get('se');
    if (!m || !sig || !sp || !se) return 'AuthenticationFailed';
    const want = Buffer.from(this.sign(m[1]!, sp, se));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return 'AuthenticationFailed';
    const grant = this.state.grants.get(m[1]!);
    if (!grant || Date.parse(se) <= this.clock() || grant.expiresAt <= this.clock()) return 'AuthenticationFailed';
    if (needWrite && (!sp.includes('w') || grant.access !== 'Write')) return 'AuthorizationPermissionMismatch';
    return grant;
  }

  /** Snapshots of one disk with an open SAS (Azure allows at most five). */
  openSnapshotsOf(diskId: string): number {
    const ids = new Set<string>();
    for (const g of this.state.grants.values()) {
      if (g.expiresAt <= this.clock()) continue;
      const s = this.state.snapshot(g.resourceId);
      if (s && s.sourceDiskId.toLowerCase() === diskId.toLowerCase()) ids.add(s.id.toLowerCase());
    }
    return ids.size;
  }
}
