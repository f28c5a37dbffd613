import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EmulatorState, Grant } from '../arm/state';

export type SasProblem = 'AuthenticationFailed' | 'AuthorizationPermissionMismatch';

/**
 * SAS URLs as grantAccess returns them. A disk: `<data endpoint>/md-<grant>/abcd?sv&sr=b&si&sp&se&sig`. A
 * snapshot, in the shape Azure gives incremental snapshots (Azure/azure-powershell#15375; AZURE-FIDELITY M3):
 * `<data endpoint>/<family container>/abcd?snapshot=<ts>&sv&sr=bs&si=<policy>&sig`, one container and one blob
 * name for every snapshot of a disk, told apart by `snapshot=`, with permission and expiry held by the stored
 * access policy that `si` names, not by the URL. Storage allows at most 5 stored access policies per container
 * (includes/storage-blob-scale-targets.md), and grantAccess allows SAS on at most 5 snapshots of a family at a time
 * (includes/virtual-machines-disks-incremental-snapshots-restrictions.md); the emulator keeps one policy per
 * snapshot (a re-grant renews it: Azure's behaviour here is unverified, AZURE-FIDELITY Appendix B.2), so the
 * family limit enforced in ComputeResources.grantSnapshot also bounds the policies.
 * Signatures are HMACs with a key only the emulator knows.
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

  /** Snapshot id -> its `snapshot=` timestamp, unique within its family. */
  private stamps = new Map<string, string>();

  static familyContainer(sourceDiskId: string): string {
    return `md-${createHash('sha256').update(sourceDiskId.toLowerCase()).digest('hex').slice(0, 12)}`;
  }

  private stampOf(snapshotId: string, createdAtMs: number): string {
    const key = snapshotId.toLowerCase();
    const known = this.stamps.get(key);
    if (known) return known;
    const taken = new Set(this.stamps.values());
    // Blob snapshot times have 100 ns resolution: two snapshots in one millisecond still get distinct stamps.
    let ticks = 0;
    let ts: string;
    do ts = new Date(createdAtMs).toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}${String(ticks++).padStart(4, '0')}Z`);
    while (taken.has(ts));
    this.stamps.set(key, ts);
    return ts;
  }

  private signSnapshot(container: string, snapshot: string, si: string): string {
    return createHmac('sha256', this.key).update(`bs\n${container}\n${snapshot}\n${si}`).digest('base64');
  }

  /** Read access to an incremental snapshot through its family's container (see the class comment). */
  issueSnapshot(snapshotId: string, sourceDiskId: string, createdAtMs: number, seconds: number): string {
    const expiresAt = this.clock() + seconds * 1000;
    const live = this.state.grantsOf(snapshotId).find((g) => g.expiresAt > this.clock());
    const id = live?.id ?? randomBytes(12).toString('hex');
    this.state.grants.set(id, { id, resourceId: snapshotId, access: 'Read', expiresAt });
    this.log({ id, resourceId: snapshotId, access: 'Read', expiresAt, issuedAt: this.clock(), seconds });
    const container = SasIssuer.familyContainer(sourceDiskId);
    const snapshot = this.stampOf(snapshotId, createdAtMs);
    const q = new URLSearchParams({ snapshot, sv: '2018-11-09', sr: 'bs', si: id, sig: this.signSnapshot(container, snapshot, id) });
    return `${this.dataEndpoint()}/${container}/abcd?${q.toString()}`;
  }

  issue(resourceId: string, access: 'Read' | 'Write', seconds: number): string {
    const id = randomBytes(12).toString('hex');
    const expiresAt = this.clock() + seconds * 1000;
    this.state.grants.set(id, { id, resourceId, access, expiresAt });
    this.log({ id, resourceId, access, expiresAt, issuedAt: this.clock(), seconds });
    const sp = access === 'Write' ? 'rw' : 'r';
    const se = new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const q = new URLSearchParams({ sv: '2018-03-28', sr: 'b', si: `md-${id}`, sp, se, sig: this.sign(id, sp, se) });
    return `${this.dataEndpoint()}/md-${id}/abcd?${q.toString()}`;
  }

  /**
   * The audit log of every grant (tests check that each was revoked). A long-running stack (`npm start`) would
   * keep it forever and search it on every revoke, so past MAX_GRANT_LOG entries the oldest revoked ones go.
   */
  private log(rec: GrantLogEntry): void {
    const log = this.state.grantLog;
    log.push(rec);
    if (log.length <= MAX_GRANT_LOG) return;
    let drop = Math.ceil(MAX_GRANT_LOG / 10);
    this.state.grantLog = log.filter((g) => !(drop > 0 && g.revokedAt !== undefined && drop-- > 0));
  }

  revokeAll(resourceId: string): void {
    for (const g of this.state.grantsOf(resourceId)) {
      this.state.grants.delete(g.id);
      for (const rec of this.state.grantLog) if (rec.id === g.id && rec.revokedAt === undefined) rec.revokedAt = this.clock();
    }
  }

  /** Checks a data-plane request's SAS; returns the grant or why it fails. */
  verify(pathname: string, query: URLSearchParams, needWrite: boolean): Grant | SasProblem {
    if (query.has('snapshot')) return this.verifySnapshot(pathname, query, needWrite);
    const m = /^\/md-([0-9a-f]+)\/abcd$/.exec(pathname);
    const sig = query.get('sig'),
      sp = query.get('sp'),
      se = query.get('se');
    if (!m || !sig || !sp || !se) return 'AuthenticationFailed';
    const want = Buffer.from(this.sign(m[1]!, sp, se));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return 'AuthenticationFailed';
    const grant = this.state.grants.get(m[1]!);
    if (!grant || Date.parse(se) <= this.clock() || grant.expiresAt <= this.clock()) return 'AuthenticationFailed';
    if (needWrite && (!sp.includes('w') || grant.access !== 'Write')) return 'AuthorizationPermissionMismatch';
    return grant;
  }

  private verifySnapshot(pathname: string, query: URLSearchParams, needWrite: boolean): Grant | SasProblem {
    const m = /^\/(md-[0-9a-f]+)\/abcd$/.exec(pathname);
    const snapshot = query.get('snapshot'),
      si = query.get('si'),
      sig = query.get('sig');
    if (!m || !snapshot || !si || !sig || query.get('sr') !== 'bs') return 'AuthenticationFailed';
    const want = Buffer.from(this.signSnapshot(m[1]!, snapshot, si));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return 'AuthenticationFailed';
    const grant = this.state.grants.get(si);
    if (!grant || grant.expiresAt <= this.clock() || this.stamps.get(grant.resourceId.toLowerCase()) !== snapshot) return 'AuthenticationFailed';
    if (needWrite) return 'AuthorizationPermissionMismatch';
    return grant;
  }

  /** Stored access policies live on a family's container (Storage allows 5 per container). */
  policiesOn(container: string): number {
    let n = 0;
    for (const g of this.state.grants.values()) {
      const s = g.expiresAt > this.clock() ? this.state.snapshot(g.resourceId) : undefined;
      if (s && SasIssuer.familyContainer(s.sourceDiskId) === container) n++;
    }
    return n;
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

const MAX_GRANT_LOG = 100_000;
type GrantLogEntry = EmulatorState['grantLog'][number];
