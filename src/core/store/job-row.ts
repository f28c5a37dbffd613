import type { Job, JobLease, JobLeaseHold } from '../domain/model';
import type { Entity } from '../ports/tables';

/** How a collection splits its document over the row: what goes into the JSON document, and extra columns. */
export interface RowCodec<T> {
  encode(doc: T): { doc: object; columns: Record<string, string> };
  decode(doc: Record<string, unknown>, entity: Entity): T;
}

const LEASES: readonly JobLease[] = ['planner', 'runner', 'finisher'];

/**
 * A job row keeps its leases in a `leases` column beside the document, so the params stay the kind's input.
 * Rows written before that kept each lease inside params (`planner`, `plannerUntil`, `runner`, `runnerUntil`):
 * they are read as leases, and the next write of the row stores them in the new place.
 */
export const jobRowCodec: RowCodec<Job> = {
  encode(job) {
    const { leases, ...doc } = job;
    return { doc, columns: { leases: leases && Object.keys(leases).length ? JSON.stringify(leases) : '' } };
  },
  decode(doc, entity) {
    const job = doc as unknown as Job;
    const column = typeof entity.leases === 'string' && entity.leases ? (JSON.parse(entity.leases) as Job['leases']) : undefined;
    const leases: Partial<Record<JobLease, JobLeaseHold>> = { ...legacyLeases(job), ...column };
    if (Object.keys(leases).length) job.leases = leases;
    return job;
  },
};

/** Takes the leases an older version wrote into params out of them. */
function legacyLeases(job: Job): Partial<Record<JobLease, JobLeaseHold>> {
  const found: Partial<Record<JobLease, JobLeaseHold>> = {};
  const params = job.params;
  if (!params || typeof params !== 'object') return found;
  for (const lease of LEASES) {
    if (!(lease in params) && !(`${lease}Until` in params)) continue;
    const holder = params[lease];
    if (typeof holder === 'string' && holder) found[lease] = { holder, until: Number(params[`${lease}Until`] ?? 0) };
    delete params[lease];
    delete params[`${lease}Until`];
  }
  return found;
}
