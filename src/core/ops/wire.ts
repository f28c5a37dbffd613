import type { Deps } from '../jobs/deps';
import type { AlertChannel } from '../ports/alerts';
import type { Telemetry } from '../ports/telemetry';
import { alertOnJobEnd } from './alerts';

/**
 * Deps with telemetry and alerting attached: the job-end hook raises the failed-job alerts, and the
 * recovery-point age gauge reads the items' newest points. The composition root calls it; so do tests.
 */
export function withOps<D extends Deps>(deps: D, o: { telemetry?: Telemetry; channel?: AlertChannel }): D {
  const out: D = { ...deps, telemetry: o.telemetry ?? deps.telemetry, alertChannel: o.channel ?? deps.alertChannel };
  out.onJobEnded = (job) => alertOnJobEnd(out, job);
  out.telemetry?.observePointAges(async () => {
    const items = await out.repos.items.all({ where: { state: 'Protected' } });
    return items.flatMap((i) => (i.lastBackupAt ? [{ itemKey: i.itemKey, lastPointAt: i.lastBackupAt }] : []));
  }, out.clock);
  return out;
}
